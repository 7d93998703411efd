"""One-file artifacts: named numpy arrays + a JSON header + a content digest, in safetensors.

The header is stored in the safetensors metadata under `kind` (e.g. "neurodeploy_ir"), and
"digest" holds the SHA-256 of the header JSON and every tensor (name and bytes), so a truncated or
edited file is refused with one clear message naming the file. No pickle is involved.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from toolchain.core.errors import ArtifactError
from toolchain.core.fileio import atomic_path


def _digest(header_json: str, tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(header_json.encode())
    for key in sorted(tensors):
        h.update(key.encode())
        h.update(np.ascontiguousarray(tensors[key]).tobytes())
    return h.hexdigest()


def canonical_header(path: str | os.PathLike) -> None:
    """Rewrite a safetensors file's JSON header with its metadata keys sorted, in place.

    safetensors writes its metadata map in a random order per process, so the same tensors and
    metadata give different bytes on every run; sorted, a file is byte-reproducible (artifact
    hashes then only change when the content does). The header keeps its length: only the order
    of its entries changes.
    """
    import struct

    with open(path, "r+b") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        raw = fh.read(n)
        head = json.loads(raw)
        if "__metadata__" in head:
            head["__metadata__"] = dict(sorted(head["__metadata__"].items()))
        text = json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode()
        if len(text) <= n:
            fh.seek(8)
            fh.write(text + b" " * (n - len(text)))


def save(path: str | os.PathLike, kind: str, header: dict[str, Any], tensors: dict[str, np.ndarray]) -> Path:
    """Write `tensors` and `header` to `path` atomically, with a digest over both."""
    from safetensors.numpy import save_file

    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    header_json = json.dumps(header, sort_keys=True)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={kind: header_json, "digest": _digest(header_json, tensors)})
        canonical_header(tmp)
    return Path(path)


def load(path: str | os.PathLike, kind: str, what: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read (header, tensors) from `path`; `what` names the artifact in error messages ("IR file")."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{what} {path} does not exist")
    try:
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:  # safetensors raises its own error types for truncated/garbled files
        raise ArtifactError(f"{what} {path} is truncated or unreadable ({type(exc).__name__}: {exc})") from None
    if kind not in meta or "digest" not in meta:
        raise ArtifactError(f"{what} {path} has no '{kind}' header: it is not a {what.lower()}")
    if _digest(meta[kind], tensors) != meta["digest"]:
        raise ArtifactError(f"{what} {path} is corrupt or was modified: its content digest does not match")
    try:
        header = json.loads(meta[kind])
    except ValueError as exc:
        raise ArtifactError(f"{what} {path}: malformed header ({exc})") from None
    return header, tensors
