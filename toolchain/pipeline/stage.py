"""Resumable, atomic pipeline stages.

A stage writes everything into a fresh temporary folder beside its final folder; only when it has
finished are its files hashed into `manifest.json` and the folder renamed into place. So a stage
folder either holds a complete, hashed set of artifacts or does not exist: an interrupted run
(Ctrl-C, kill, disk full) leaves at most a temporary folder, removed at the next start, and never a
half-written artifact a later stage could read.

A stage is skipped when its folder's manifest records the same config hash and the same input
hashes (the manifests of the stages it reads) and every artifact still matches its SHA-256;
otherwise (or with --force) it runs again. The manifest also records the package versions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from toolchain.core.errors import ArtifactError
from toolchain.core.fileio import sha256_file, write_json

MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
VERSIONED = ("neurodeploy", "lava-nc", "lava-dl", "torch", "snntorch", "numpy", "nir", "onnxruntime")


def config_hash(obj: Any) -> str:
    """SHA-256 of a JSON-able object with sorted keys."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def package_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for dist in VERSIONED:
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "missing"
    return out


@dataclass
class Stage:
    """One step: `run(workdir, inputs)` writes artifacts into workdir and returns a summary dict.

    inputs: names of earlier stages whose folders it reads (passed as {name: folder}).
    config: the part of the pipeline config this stage depends on (hashed).
    """

    name: str
    run: Callable[[Path, dict[str, Path]], dict]
    inputs: tuple[str, ...] = ()
    config: dict = field(default_factory=dict)
    description: str = ""


def read_manifest(folder: Path) -> dict | None:
    """The stage folder's manifest, or None when absent/unreadable."""
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def verify_artifacts(folder: Path, manifest: dict) -> list[str]:
    """Names of artifacts that are missing or whose bytes changed since the manifest was written."""
    bad = []
    for rel, digest in manifest.get("artifacts", {}).items():
        path = folder / rel
        if not path.is_file() or sha256_file(path) != digest:
            bad.append(rel)
    return bad


def input_hashes(inputs: dict[str, Path]) -> dict[str, str]:
    """Each input stage's manifest hash (its artifacts' digests), the way a stage sees its inputs."""
    out = {}
    for name, folder in inputs.items():
        man = read_manifest(folder)
        if man is None:
            raise ArtifactError(f"stage '{name}' has no manifest in {folder}; run the pipeline again")
        out[name] = config_hash(man["artifacts"])
    return out


def is_current(folder: Path, stage: Stage, inputs: dict[str, Path]) -> tuple[bool, str]:
    """(up to date?, why not)."""
    man = read_manifest(folder)
    if man is None:
        return False, "not run yet"
    if man.get("config_hash") != config_hash(stage.config):
        return False, "configuration changed"
    if man.get("input_hashes") != input_hashes(inputs):
        return False, "inputs changed"
    bad = verify_artifacts(folder, man)
    if bad:
        return False, f"artifacts changed or missing: {', '.join(bad[:3])}"
    return True, "up to date"


def clean_stale(out: Path) -> None:
    """Remove temporary/old stage folders left by an interrupted run."""
    if out.is_dir():
        for p in out.iterdir():
            if p.name.startswith((TMP_PREFIX, OLD_PREFIX)) and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)


def execute(stage: Stage, out: Path, inputs: dict[str, Path]) -> dict:
    """Run `stage` into a temporary folder, hash its files, then swap it into out/<name>."""
    final = out / stage.name
    work = out / f"{TMP_PREFIX}{stage.name}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    t0 = time.time()
    try:
        summary = stage.run(work, inputs)
        artifacts = {str(p.relative_to(work)): sha256_file(p) for p in sorted(work.rglob("*"))
                     if p.is_file() and p.name != MANIFEST}
        manifest = {"stage": stage.name, "description": stage.description, "config_hash": config_hash(stage.config),
                    "config": stage.config, "input_hashes": input_hashes(inputs),
                    "packages": package_versions(), "artifacts": artifacts, "summary": summary,
                    "seconds": round(time.time() - t0, 2), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        write_json(work / MANIFEST, manifest)
        old = out / f"{OLD_PREFIX}{stage.name}-{uuid.uuid4().hex[:8]}"
        if final.exists():
            os.replace(final, old)
        os.replace(work, final)
        shutil.rmtree(old, ignore_errors=True)
        return manifest
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
        raise
