"""Atomic artifact writing and content hashing.

Every artifact is written to a temporary file in the destination folder and renamed into place
(`os.replace`), so a reader sees either the previous complete file or the new complete file,
never a half-written one. A failure while writing (disk full, permission) leaves the previous
artifact untouched and removes the temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `dest`; on success rename it onto `dest`.

    Use for writers that want a file name (h5py, safetensors, matplotlib, nir.write).
    The temporary name keeps the destination's suffix so format-sniffing writers behave.
    Where the file system refuses the file (the folder cannot be made, no permission, disk full,
    a folder in the way), OutputError names `dest` and the reason; `dest` is left as it was.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=f".tmp{dest.suffix}", dir=dest.parent)
    except OSError as exc:
        raise _unwritable(dest, exc) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except OSError as exc:
            if exc.errno not in _REFUSALS:
                raise
            raise _unwritable(dest, exc) from None
        try:
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp_path, dest)
        except OSError as exc:
            raise _unwritable(dest, exc) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


# what the file system says when it will not take a file (the writer's other OSErrors stay as raised)
_REFUSALS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG)


def _unwritable(dest: Path, exc: OSError) -> Exception:
    """The user-facing error for an output that the file system refused (inside a file, an existing
    folder in the way, no permission, disk full): OutputError naming the path and the reason."""
    from toolchain.core.errors import OutputError

    if isinstance(exc, FileExistsError) and exc.filename and Path(exc.filename).is_file():
        reason = f"{exc.filename} is a file, not a folder"
    else:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(dest) else ""
        reason = f"{exc.strerror or exc}{where}"
    return OutputError(f"cannot write {dest}: {reason}; nothing there was replaced", path=dest)


def write_bytes(dest: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `dest` atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def write_text(dest: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 `text` to `dest` atomically."""
    return write_bytes(dest, text.encode("utf-8"))


def write_json(dest: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented, strict JSON to `dest` atomically (numpy scalars/arrays converted;
    NaN / Infinity written as null and listed, see `strict_json`)."""
    return write_text(dest, dumps_json(obj, indent=2) + "\n")


NON_FINITE_KEY = "non_finite_as_null"


def strict_json(obj: Any) -> Any:
    """`obj` with every NaN / +-Infinity float replaced by None (strict JSON has no such tokens).

    When `obj` is a dict and something was replaced, it gains NON_FINITE_KEY: {"where.in[obj]":
    "NaN" | "Infinity" | "-Infinity"}, so a reader can tell a null that was not a number from one
    that was never there.
    """
    import math

    import numpy as np

    found: dict[str, str] = {}

    def walk(o: Any, where: str) -> Any:
        if isinstance(o, np.ndarray):
            o = o.tolist()
        elif isinstance(o, np.generic):
            o = o.item()
        if isinstance(o, float):
            if math.isfinite(o):
                return o
            found[where or "."] = "NaN" if o != o else ("Infinity" if o > 0 else "-Infinity")
            return None
        if isinstance(o, dict):
            return {k: walk(v, f"{where}.{k}" if where else str(k)) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(o)]
        return o

    out = walk(obj, "")
    if found and isinstance(out, dict):
        out[NON_FINITE_KEY] = found
    return out


def dumps_json(obj: Any, **kw: Any) -> str:
    """json.dumps of strict_json(obj): never a NaN or Infinity token (numpy and paths converted)."""
    return json.dumps(strict_json(obj), allow_nan=False, default=_json_default, **kw)


def write_npz(dest: str | os.PathLike, arrays: dict[str, Any]) -> Path:
    """Write named arrays as an .npz (numpy's own format, no pickles) atomically and byte-reproducibly:
    the zip members carry a fixed timestamp (np.savez stamps the current time)."""
    import io
    import zipfile

    import numpy as np

    with atomic_path(dest) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, buf.getvalue())
    return Path(dest)


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()
