"""Output folders: checked before the work starts, and never holding anything neurodeploy did not write.

Rule: a command only deletes or replaces what it can prove it wrote itself. A command that writes
into a folder (a training run, a quantise folder) claims it first with `claim_folder`: the folder
must be new, empty, or already carry the command's marker file (or be recognisably its own output,
e.g. a run folder's manifest); otherwise, if a file of one of the names it writes is there, it is
refused naming that file, unless the user passed --force (replacing is then what was asked for).
The marker is written before the first artifact, so an interrupted command's folder stays its own.

`check_writable` is the part done before any work: the path is not inside a file, not an existing
file, its nearest existing folder is writable, and that file system has the space the outputs need.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Iterable

from toolchain.core.errors import OutputError

GiB = 1 << 30
MiB = 1 << 20


def _fmt_bytes(n: float) -> str:
    return f"{n / GiB:.1f} GiB" if n >= GiB else f"{n / MiB:.0f} MiB"


def _nearest_existing(path: Path, what: str) -> Path:
    """The path itself or its closest ancestor that exists."""
    p = path
    while not p.exists():
        if p.is_symlink():
            raise OutputError(f"{what} {path}: {p} is a dangling symbolic link (or a link loop)", path=p)
        p = p.parent
    return p


def check_writable(path: str | os.PathLike | None, *, what: str = "--out", need_bytes: int = 0,
                   folder: bool = True) -> Path | None:
    """Refuse (OutputError naming the path) an output path that cannot be written; returns it
    (None, an optional output not asked for: nothing to check).

    folder: the output is a folder (an existing file there is refused); else a file (an existing
    folder there is refused). need_bytes: what the outputs will take on disk (checked against
    the free space of the file system that will hold them).
    """
    if path is None:
        return None
    path = Path(path)
    base = _nearest_existing(path.absolute(), what)
    if base != path.absolute() and not base.is_dir():
        raise OutputError(f"{what} {path}: {base} is a file, not a folder (the output would be inside it)",
                          path=path)
    if base == path.absolute():
        if folder and not path.is_dir():
            raise OutputError(f"{what} {path} is an existing file, not a folder", path=path)
        if not folder and path.is_dir():
            raise OutputError(f"{what} {path} is an existing folder, not a file", path=path)
    writable_dir = base if base.is_dir() else base.parent
    if not os.access(writable_dir, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {path}: the folder {writable_dir} is not writable", path=path)
    if need_bytes:
        free = shutil.disk_usage(writable_dir).free
        if free < need_bytes:
            raise OutputError(f"{what} {path}: the outputs need ~{_fmt_bytes(need_bytes)} and the file "
                              f"system of {writable_dir} has {_fmt_bytes(free)} free", path=path)
    return path


def claim_folder(folder: str | os.PathLike, names: Iterable[str], marker: str, *, force: bool = False,
                 recognise: Callable[[Path], bool] | None = None, what: str = "--out",
                 need_bytes: int = 0, force_flag: str = "--force") -> Path:
    """Check `folder` (check_writable), refuse it if it holds files of `names` that this command did not
    write (unless force), then create it with the marker file inside; returns the folder.

    A folder is this command's own when it holds `marker` or `recognise(folder)` is true.
    """
    folder = check_writable(folder, what=what, need_bytes=need_bytes)
    if folder.is_dir() and not force and not (folder / marker).is_file() \
            and not (recognise is not None and recognise(folder)):
        clash = sorted(n for n in names if (folder / n).exists() or (folder / n).is_symlink())
        if clash:
            raise OutputError(
                f"{what} {folder} holds {', '.join(clash)}, not written by neurodeploy (no {marker} or "
                f"manifest there); refusing to replace them: choose another folder, or pass {force_flag} "
                "to replace those files", path=folder / clash[0])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / marker).write_text("written by neurodeploy; files of its names here may be replaced by it\n")
    return folder


def _inside(a: Path, b: Path) -> bool:
    """a is b or inside b."""
    return a == b or b in a.parents


def refuse_data_overlap(out: str | os.PathLike, data: str | os.PathLike, what: str = "--out") -> None:
    """Refuse an output folder that is, contains, or is inside the data set's folder (or zip)."""
    o, d = Path(out).resolve(), Path(data).resolve()
    if _inside(o, d) or _inside(d, o):
        rel = "is" if o == d else ("is inside" if _inside(o, d) else "contains")
        raise OutputError(f"{what} {out} {rel} the data set {data}: choose an output folder outside "
                          "the data (nothing was written)", path=out)
