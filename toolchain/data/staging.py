"""Hidden staging folders that a later run can prove were made by a dead neurodeploy process.

`make_stage(parent, prefix)` creates `parent/<prefix>XXXXXXXX/` holding a marker file, MARKER,
that records who made it: the process id, its start time (Linux: clock ticks since boot, field 22
of /proc/<pid>/stat, so a reused pid is told apart) and the host name. `remove_stale(parent,
prefix)` deletes only the folders named `<prefix>*` whose marker says they were made on this
host by a process that is no longer running -- what a SIGKILL, an OOM kill or a power cut left
behind. A folder without a readable marker, or whose maker still runs (or runs on another host),
is left alone: it cannot be proven to be ours and abandoned.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

from toolchain.core.fileio import write_json

MARKER = ".neurodeploy-staging.json"
MADE_BY = "neurodeploy staging folder"


def _start_ticks(pid: int) -> int | None:
    """Process start time in clock ticks since boot (Linux), or None where unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:  # the command name (field 2) is in parentheses and may hold spaces
        return int(text[text.rindex(")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


def _alive(pid: int, started: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return True
    now = _start_ticks(pid)
    return started is None or now is None or now == started


def make_stage(parent: str | os.PathLike, prefix: str) -> Path:
    """A new empty staging folder `parent/<prefix>XXXXXXXX` carrying the marker."""
    stage = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    write_json(stage / MARKER, {"made_by": MADE_BY, "pid": os.getpid(),
                                "started": _start_ticks(os.getpid()), "host": socket.gethostname()})
    return stage


def remove_stale(parent: str | os.PathLike, prefix: str) -> list[Path]:
    """Delete the abandoned staging folders `parent/<prefix>*` (see the module docstring);
    returns those deleted."""
    removed = []
    try:
        candidates = sorted(Path(parent).glob(f"{prefix}*"))
    except OSError:
        return removed
    for folder in candidates:
        try:
            mark = json.loads((folder / MARKER).read_text())
            ours = (isinstance(mark, dict) and mark.get("made_by") == MADE_BY
                    and mark.get("host") == socket.gethostname()
                    and isinstance(mark.get("pid"), int) and mark["pid"] > 0)
        except (OSError, ValueError):
            continue
        if ours and not _alive(mark["pid"], mark.get("started")):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
