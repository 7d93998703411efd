"""Resumable, atomic pipeline stages.

A stage writes everything into a fresh temporary folder beside its final folder; only when it has
finished are its files hashed into `manifest.json` and the folder renamed into place. So a stage
folder either holds a complete, hashed set of artifacts or does not exist: an interrupted run
(Ctrl-C, kill, disk full) leaves at most a temporary folder, removed at the next start, and never a
half-written artifact a later stage could read.

A stage is skipped when its folder's manifest records the same config hash and the same input
hashes (the manifests of the stages it reads) and every artifact still matches its SHA-256;
otherwise (or with --force) it runs again. The manifest also records the package versions.
A manifest that is not one (unreadable, a field missing or of the wrong type, an artifact path
leaving the folder) counts as "not run": the stage runs again.

Nothing the pipeline did not write is ever deleted or replaced: every staging folder holds the
marker file STAGE_MARKER from its creation (so it stays in the finished stage folder); only
folders carrying it (or a valid stage manifest) are removed as stale or replaced by a new run.
Anything else in the way is refused naming the path (`check_stage_folders`, before any work).
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

from toolchain.core.errors import ArtifactError, OutputError
from toolchain.core.fileio import sha256_file, write_json

MANIFEST = "manifest.json"
STAGE_MARKER = ".neurodeploy-stage"
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
MANIFEST_FIELDS = {"stage": str, "config_hash": str, "input_hashes": dict, "artifacts": dict, "summary": dict}
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


def _safe_relative(rel: object) -> bool:
    p = Path(str(rel))
    return isinstance(rel, str) and bool(rel) and not p.is_absolute() and ".." not in p.parts


def manifest_problem(man: object, name: str | None = None) -> str | None:
    """Why `man` is not a valid stage manifest (of stage `name`), or None when it is one."""
    if not isinstance(man, dict):
        return "manifest is not a JSON object"
    for key, typ in MANIFEST_FIELDS.items():
        if not isinstance(man.get(key), typ):
            return f"manifest field '{key}' is missing or not a {typ.__name__}"
    if name is not None and man["stage"] != name:
        return f"manifest is of stage '{man['stage']}', not '{name}'"
    if not man["artifacts"]:
        return "manifest lists no artifacts"
    for rel, digest in man["artifacts"].items():
        if not _safe_relative(rel) or rel == MANIFEST or not isinstance(digest, str):
            return f"manifest artifact entry {rel!r} is not a file of the stage folder with its SHA-256"
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in man["input_hashes"].items()):
        return "manifest field 'input_hashes' is not a table of hashes"
    return None


def _manifest_json(folder: Path) -> object:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def read_manifest(folder: Path) -> dict | None:
    """The stage folder's manifest, or None when absent, unreadable or not a valid manifest."""
    man = _manifest_json(folder)
    return man if manifest_problem(man, folder.name) is None else None


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
            raise ArtifactError(f"stage '{name}' has no valid manifest in {folder}; run the pipeline again",
                                path=folder / MANIFEST)
        out[name] = config_hash(man["artifacts"])
    return out


def is_current(folder: Path, stage: Stage, inputs: dict[str, Path]) -> tuple[bool, str]:
    """(up to date?, why not)."""
    if not (folder / MANIFEST).exists():
        return False, "not run yet"
    man = _manifest_json(folder)
    why = "manifest unreadable" if man is None else manifest_problem(man, stage.name)
    if why:
        return False, f"{why}: tampered or damaged"
    if man.get("config_hash") != config_hash(stage.config):
        return False, "configuration changed"
    if man.get("input_hashes") != input_hashes(inputs):
        return False, "inputs changed"
    bad = verify_artifacts(folder, man)
    if bad:
        return False, f"artifacts changed or missing: {', '.join(bad[:3])}"
    return True, "up to date"


def written_by_pipeline(folder: Path) -> bool:
    """Whether `folder` is provably a pipeline stage folder (its marker or a valid manifest), so the
    pipeline may delete or replace it."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    return (folder / STAGE_MARKER).is_file() or manifest_problem(_manifest_json(folder)) is None


def check_stage_folders(out: Path, names: list[str]) -> None:
    """Refuse, before any work, a stage folder name in `out` taken by something the pipeline did not write."""
    for name in names:
        p = out / name
        if (p.exists() or p.is_symlink()) and not written_by_pipeline(p):
            raise OutputError(f"{p} exists and was not written by neurodeploy pipeline (no {MANIFEST} or "
                              f"{STAGE_MARKER} of a stage in it): the '{name}' stage would replace it; move it "
                              "away or choose another --out (nothing was changed)", path=p)


def clean_stale(out: Path) -> list[Path]:
    """Remove the temporary / old stage folders an interrupted run left (only those with the marker);
    returns them."""
    removed = []
    if out.is_dir():
        for p in sorted(out.iterdir()):
            if p.name.startswith((TMP_PREFIX, OLD_PREFIX)) and written_by_pipeline(p):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def execute(stage: Stage, out: Path, inputs: dict[str, Path]) -> dict:
    """Run `stage` into a temporary folder, hash its files, then swap it into out/<name>."""
    final = out / stage.name
    if (final.exists() or final.is_symlink()) and not written_by_pipeline(final):
        check_stage_folders(out, [stage.name])
    work = out / f"{TMP_PREFIX}{stage.name}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    (work / STAGE_MARKER).write_text(f"neurodeploy pipeline stage '{stage.name}'\n")
    t0 = time.time()
    try:
        summary = stage.run(work, inputs)
        artifacts = {str(p.relative_to(work)): sha256_file(p) for p in sorted(work.rglob("*"))
                     if p.is_file() and str(p.relative_to(work)) not in (MANIFEST, STAGE_MARKER)}
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
