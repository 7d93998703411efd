"""Project wiring: install paths share one constraints file, the CLI entry point works."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_and_makefile_install_from_the_same_constraints_file():
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    make_c = re.search(r"^CONSTRAINTS := (\S+)", makefile, re.M).group(1)
    assert re.search(r"pip install -c \$\(CONSTRAINTS\)", makefile)
    docker_c = re.findall(r"pip install [^\n]*-c (\S+)", dockerfile)
    assert docker_c == [make_c], (docker_c, make_c)
    assert f"COPY pyproject.toml {make_c}" in dockerfile
    assert dockerfile.startswith("#") and "FROM python:3.10-slim" in dockerfile


def test_constraints_pin_every_runtime_dependency_exactly():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt line is not an exact pin: {line!r}"
            pins[name.lower().replace("_", "-")] = version
    for dep in ["lava-nc", "lava-dl", "torch", "snntorch", "numpy", "scipy", "scikit-learn", "h5py",
                "soundfile", "onnx", "onnxruntime", "nir", "typer", "rich", "matplotlib", "ray"]:
        assert dep in pins, f"{dep} missing from constraints.txt"
    assert pins["lava-nc"] == "0.10.0" and pins["lava-dl"] == "0.6.0" and pins["torch"] == "2.3.1"
    assert pins["numpy"].startswith("1.")


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    first_cmds = re.findall(r"^\s*(make \w+)", readme, re.M)[:2]
    assert first_cmds == ["make demo", "make test"]
    ci = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines()
          if ln.strip() and not ln.startswith("#") and not ln.startswith(("set ", "cd "))]
    assert ci == ["make test"]


def test_version_command():
    out = subprocess.run([sys.executable, "-m", "toolchain", "--version"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    from toolchain import __version__
    assert out.stdout.strip() == f"neurodeploy {__version__}"
