# neurodeploy: every target creates .venv (Python 3.10, Lava's limit) when it is missing.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONSTRAINTS := constraints.txt
# Find a Python 3.10 that really runs (a pyenv shim can exist without the version being active).
PY310 := $(shell for c in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	  if "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then echo "$$c"; break; fi; done)

.PHONY: demo test bench lint venv lock clean tools

demo: $(STAMP)
	$(VENV)/bin/neurodeploy pipeline --out demo

test: $(STAMP) tools
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(VENV)/bin/neurodeploy bench all --out bench-results

lint: $(STAMP)
	$(VENV)/bin/ruff check toolchain models export hardware_profiles tests

venv: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@if [ -z "$(PY310)" ]; then \
	  echo "error: Python 3.10 is needed (lava-nc 0.10 supports >=3.10,<3.11) and none was found." >&2; \
	  echo "  Get it with one of:" >&2; \
	  echo "    pyenv install 3.10 && pyenv local 3.10" >&2; \
	  echo "    uv python install 3.10   (then re-run make; uv puts python3.10 on PATH)" >&2; \
	  echo "    docker build -f docker/Dockerfile -t neurodeploy . && docker run --rm neurodeploy" >&2; \
	  exit 1; fi
	@[ -x $(PY) ] || $(PY310) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<25" wheel setuptools
	$(PY) -m pip install -c $(CONSTRAINTS) -e ".[dev]"
	@touch $(STAMP)

# sox writes the foreign-tool AIFF files the loader tests read back.
tools:
	@command -v sox >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -q --no-install-recommends sox >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends sox >/dev/null 2>&1; }; }; } || \
	  echo "warning: sox could not be installed; the foreign-AIFF test will fail" >&2

lock: $(STAMP)
	{ echo "# Exact versions installed and tested together on Python 3.10."; \
	  echo "# Used by every install path: Makefile (make venv) and docker/Dockerfile. Regenerate with 'make lock'."; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^neurodeploy'; } > $(CONSTRAINTS).tmp && mv $(CONSTRAINTS).tmp $(CONSTRAINTS)

clean:
	rm -rf $(VENV) demo bench-results .pytest_cache
