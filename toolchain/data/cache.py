"""On-disk cache of decoded clips and computed features (numpy .npy + JSON, never pickle).

Location, first that applies:
1. `$NEURODEPLOY_CACHE` if set;
2. `.neurodeploy-cache/` beside the data set (in the folder holding the given path), if that
   folder is writable;
3. `~/.cache/neurodeploy/`.

An entry is a folder `<kind>-<key>/` holding `<array>.npy` files and `meta.json`. Every file is
written atomically and meta.json last, so an entry without meta.json (an interrupted write) is
ignored. Keys are SHA-256 digests of what the content depends on: for decoded clips the data
set's file list with sizes and mtimes (CRC-32s for zip members), the CSV, the split and the
target rate/length; for features that key plus the representation parameters. A changed,
added or removed file changes the key, so a stale entry is never read; when a new entry of a
data set is written, the entries of earlier versions of the same data set are deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np

from toolchain.core.fileio import _json_default, atomic_path, write_json

CACHE_ENV = "NEURODEPLOY_CACHE"
CACHE_DIRNAME = ".neurodeploy-cache"


def cache_root(source: str | os.PathLike) -> Path:
    """The cache folder for a data set at `source` (see the module docstring for the rule)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    parent = Path(source).expanduser().resolve().parent
    beside = parent / CACHE_DIRNAME
    if os.access(beside if beside.exists() else parent, os.W_OK):
        return beside
    return Path.home() / ".cache" / "neurodeploy"


@contextlib.contextmanager
def using_root(root: str | os.PathLike) -> Iterator[Path]:
    """Within the block, put every cache entry under `root` (sets $NEURODEPLOY_CACHE)."""
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(root)
    try:
        yield Path(root)
    finally:
        if before is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = before


def make_key(obj) -> str:
    """32-hex-digit SHA-256 of a JSON-able description of what the content depends on."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def entry_dir(root: Path, kind: str, key: str) -> Path:
    return root / f"{kind}-{key}"


def save(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write arrays (.npy, atomically) then meta.json (atomically, last) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    shapes = {}
    for name, arr in arrays.items():
        with atomic_path(folder / f"{name}.npy") as tmp:
            np.save(tmp, np.ascontiguousarray(arr), allow_pickle=False)
        shapes[name] = [list(arr.shape), str(arr.dtype)]
    write_json(folder / "meta.json", {**meta, "arrays": shapes})


def load(folder: Path) -> tuple[dict[str, np.ndarray], dict] | None:
    """The arrays and meta of a complete entry, or None (missing, incomplete or damaged)."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        arrays = {}
        for name, (shape, dtype) in meta["arrays"].items():
            arr = np.load(folder / f"{name}.npy", allow_pickle=False)
            if list(arr.shape) != shape or str(arr.dtype) != dtype:
                return None
            arrays[name] = arr
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return arrays, meta


def dataset_id(source: str | os.PathLike, split: str, sample_rate: int, n_samples: int) -> dict:
    """What identifies one data set split across its versions (stored in every entry's meta)."""
    return {"source": str(Path(source).expanduser().resolve()), "variant": f"{split}/{sample_rate}/{n_samples}"}


def prune(root: Path, ident: dict, clips_key: str) -> None:
    """Delete the clip and feature entries of earlier versions of the data set `ident`
    (entries whose meta matches `ident` but was built from another decode key)."""
    if not root.is_dir():
        return
    for folder in [*root.glob("clips-*"), *root.glob("features-*")]:
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            continue
        if all(meta.get(k) == v for k, v in ident.items()) and meta.get("clips_key") != clips_key:
            shutil.rmtree(folder, ignore_errors=True)


def clear(root: Path) -> None:
    """Remove every cache entry under `root` (the folder itself stays)."""
    if root.is_dir():
        for folder in root.iterdir():
            if folder.is_dir() and (folder.name.startswith("clips-")
                                    or folder.name.startswith("features-")):
                shutil.rmtree(folder, ignore_errors=True)
