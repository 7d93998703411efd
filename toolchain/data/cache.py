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

Integrity: meta.json records each array's shape, dtype and SHA-256 (of its C-order bytes) and a
`checksum` (SHA-256 of the rest of meta.json, canonical JSON). `load` recomputes both while
reading (one pass over the bytes), and an entry that does not match -- edited, damaged, or
written before checksums existed -- is ignored with a warning (logger "neurodeploy.data"), so
the caller rebuilds and overwrites it. The array digests double as content fingerprints (see
`toolchain.data.loader`: ClipSet.content_sha256) without hashing anything twice.

A cache folder that cannot be created or written is not an error: the entry is not written,
one warning per folder and process says so, and work goes on without a cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import numpy as np

from toolchain.core.fileio import _json_default, atomic_path, write_json

CACHE_ENV = "NEURODEPLOY_CACHE"
CACHE_DIRNAME = ".neurodeploy-cache"
READ_CHUNK = 16 << 20  # bytes read (and hashed) at a time when loading an array
log = logging.getLogger("neurodeploy.data")
_unwritable: set[str] = set()  # cache folders already warned about in this process


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
    return hashlib.sha256(_canonical(obj)).hexdigest()[:32]


def entry_dir(root: Path, kind: str, key: str) -> Path:
    return root / f"{kind}-{key}"


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default).encode()


def array_digest(arr: np.ndarray) -> str:
    """Hex SHA-256 of the array's C-order bytes (what `save` writes after the .npy header)."""
    return hashlib.sha256(np.ascontiguousarray(arr).reshape(-1).view(np.uint8)).hexdigest()


def seal(arrays: dict[str, np.ndarray], meta: dict) -> dict:
    """`meta` plus "arrays" ({name: [shape, dtype, sha256]}) and "checksum" (over the rest)."""
    out = json.loads(_canonical({k: v for k, v in meta.items() if k != "checksum"}))
    out["arrays"] = {name: [list(a.shape), str(a.dtype), array_digest(a)] for name, a in arrays.items()}
    out["checksum"] = hashlib.sha256(_canonical(out)).hexdigest()
    return out


def _warn_unwritable(folder: Path, exc: OSError) -> None:
    root = str(folder.parent)
    if root not in _unwritable:
        _unwritable.add(root)
        log.warning("cannot write the cache in %s (%s: %s); continuing without a cache (set $%s "
                    "to a writable folder)", root, exc.__class__.__name__, exc.strerror or exc,
                    CACHE_ENV)


def save(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> bool:
    """Write arrays (.npy, atomically) then meta.json (sealed, atomically, last) into `folder`.

    Returns False (after one warning per cache folder) when the folder cannot be written."""
    sealed = meta if "checksum" in meta else seal(arrays, meta)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, arr in arrays.items():
            with atomic_path(folder / f"{name}.npy") as tmp:
                np.save(tmp, np.ascontiguousarray(arr), allow_pickle=False)
        write_json(folder / "meta.json", sealed)
    except OSError as exc:
        _warn_unwritable(folder, exc)
        return False
    return True


def _read_npy(path: Path, shape: list, dtype: str) -> tuple[np.ndarray, str]:
    """The array in .npy file `path` (which must hold `shape` / `dtype`, C order, no objects)
    and the SHA-256 of its data bytes, hashed chunk by chunk as they are read."""
    fmt = np.lib.format
    with open(path, "rb") as fh:
        version = fmt.read_magic(fh)
        read_header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f".npy format version {version}")
        got_shape, fortran, got_dtype = read_header(fh)
        if list(got_shape) != shape or str(got_dtype) != dtype or fortran or got_dtype.hasobject:
            raise ValueError(f"holds {list(got_shape)} {got_dtype}, meta.json says {shape} {dtype}")
        arr = np.empty(got_shape, dtype=got_dtype)
        buf = memoryview(arr.reshape(-1).view(np.uint8))
        h = hashlib.sha256()
        pos = 0
        # one thread hashes chunk k while this one reads chunk k + 1 (both release the GIL)
        with ThreadPoolExecutor(1) as hasher:
            while pos < len(buf):
                n = fh.readinto(buf[pos:pos + READ_CHUNK])
                if not n:
                    raise ValueError(f"ends after {pos} of {len(buf)} data bytes")
                hasher.submit(h.update, buf[pos:pos + n])
                pos += n
    return arr, h.hexdigest()


def load(folder: Path) -> tuple[dict[str, np.ndarray], dict] | None:
    """The arrays and meta of a complete entry whose checksums match, or None.

    None silently when there is no entry (or an interrupted write left no meta.json); None with
    a warning when the entry is damaged or edited (the caller rebuilds it)."""
    try:
        text = (folder / "meta.json").read_text()
    except OSError:  # no entry, or an interrupted write
        return None
    try:
        meta = json.loads(text)
        if not isinstance(meta, dict) or "checksum" not in meta:
            raise ValueError("no checksum (written by an older neurodeploy)")
        if hashlib.sha256(_canonical({k: v for k, v in meta.items() if k != "checksum"})
                          ).hexdigest() != meta["checksum"]:
            raise ValueError("meta.json does not match its checksum")
        arrays = {}
        for name, (shape, dtype, digest) in meta["arrays"].items():
            arr, got = _read_npy(folder / f"{name}.npy", shape, dtype)
            if got != digest:
                raise ValueError(f"{name}.npy does not match its checksum")
            arrays[name] = arr
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("cache entry %s is damaged or was edited (%s); ignoring it and rebuilding it",
                    folder, exc)
        return None
    return arrays, meta


def dataset_id(source: str | os.PathLike, split: str, sample_rate: int, n_samples: int) -> dict:
    """What identifies one data set split across its versions (stored in every entry's meta)."""
    return {"source": str(Path(source).expanduser().resolve()), "variant": f"{split}/{sample_rate}/{n_samples}"}


def prune(root: Path, ident: dict, clips_key: str) -> None:
    """Delete the clip and feature entries of earlier versions of the data set `ident`
    (entries whose meta matches `ident` but was built from another decode key)."""
    try:
        folders = [*root.glob("clips-*"), *root.glob("features-*")] if root.is_dir() else []
    except OSError:
        return
    for folder in folders:
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            continue
        if (isinstance(meta, dict) and all(meta.get(k) == v for k, v in ident.items())
                and meta.get("clips_key") != clips_key):
            shutil.rmtree(folder, ignore_errors=True)


def clear(root: Path) -> None:
    """Remove every cache entry under `root` (the folder itself stays)."""
    if root.is_dir():
        for folder in root.iterdir():
            if folder.is_dir() and (folder.name.startswith("clips-")
                                    or folder.name.startswith("features-")):
                shutil.rmtree(folder, ignore_errors=True)
