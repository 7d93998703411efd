"""Raven Pro selection tables: write ours, read anyone's.

A selection table is tab-separated text, one header row, one row per selection (Cornell Lab's
Raven Pro 1.6 manual, "Selection tables"). Written here: Selection (1, 2, ...), View
("Spectrogram 1"), Channel (1), Begin Time (s), End Time (s) (seconds from the start of the
file), Low Freq (Hz), High Freq (Hz), then a score column and any extra columns, UTF-8, "\\n" line
ends; the file is written to a temporary name and renamed into place.

Read here: tables written by Raven or by other tools. Columns are found by name (case, spacing and
order do not matter; any other columns are kept as `extra`); only Begin Time (s) and End Time (s)
are required. Raven writes one row per view of a selection (a "Waveform 1" and a "Spectrogram 1"
row with the same Selection number); such rows are one selection (the Spectrogram row is kept,
else the first). A UTF-8 byte-order mark is skipped; a file that is not UTF-8 is read as Latin-1.
A bad table raises DataError naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from toolchain.core.errors import DataError
from toolchain.core.fileio import write_text

COLUMNS = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)")
SCORE_COLUMN = "Score"
VIEW = "Spectrogram 1"
FILE_COLUMNS = ("begin file", "begin path")  # where a multi-file table names each row's sound file


@dataclass
class Selection:
    """One selection: times in s from the start of the file, band in Hz (None when not given)."""

    begin_s: float
    end_s: float
    low_hz: float | None = None
    high_hz: float | None = None
    score: float | None = None
    file: str | None = None  # the table's Begin File / Begin Path value, when it has one
    extra: dict[str, str] = field(default_factory=dict)


def _fmt(x: float | None, digits: int) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def render_table(selections: list[Selection], score_column: str = SCORE_COLUMN) -> str:
    """The table as text (see the module docstring)."""
    with_score = any(s.score is not None for s in selections)
    extras = list(dict.fromkeys(k for s in selections for k in s.extra))
    buf = io.StringIO()
    w = csv.writer(buf, dialect="excel-tab", lineterminator="\n")
    w.writerow([*COLUMNS, *([score_column] if with_score else []), *extras])
    for i, s in enumerate(selections, 1):
        score = [] if not with_score else ["" if s.score is None else f"{s.score:g}"]
        w.writerow([i, VIEW, 1, _fmt(s.begin_s, 6), _fmt(s.end_s, 6), _fmt(s.low_hz, 1), _fmt(s.high_hz, 1),
                    *score, *(s.extra.get(k, "") for k in extras)])
    return buf.getvalue()


def write_table(path: str | os.PathLike, selections: list[Selection], score_column: str = SCORE_COLUMN) -> Path:
    """Write a selection table atomically; returns its path."""
    return write_text(path, render_table(selections, score_column))


def _key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _number(path: Path, line: int, column: str, text: str, *, optional: bool = False) -> float | None:
    text = text.strip()
    if not text and optional:
        return None
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{path}: line {line}: {column} = {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{path}: line {line}: {column} = {text!r} is not a finite number")
    return value


def read_table(path: str | os.PathLike) -> list[Selection]:
    """The selections of a Raven selection table (any tool's; see the module docstring), in file order."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the selection table ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    rows = [(n, r) for n, r in enumerate(csv.reader(io.StringIO(text), delimiter="\t"), 1) if any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"{path}: empty selection table (no header row)")
    head_line, header = rows[0]
    index = {_key(h): i for i, h in reversed(list(enumerate(header)))}
    for need in ("Begin Time (s)", "End Time (s)"):
        if _key(need) not in index:
            hint = " (is it tab-separated?)" if len(header) == 1 else ""
            raise DataError(f"{path}: no {need!r} column{hint}; columns: {', '.join(repr(h) for h in header)}")
    known = {_key(c) for c in COLUMNS} | set(FILE_COLUMNS)
    file_col = next((index[k] for k in FILE_COLUMNS if k in index), None)

    def cell(row: list[str], name: str) -> str:
        i = index.get(_key(name))
        return row[i] if i is not None and i < len(row) else ""

    out: list[Selection] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in rows[1:]:
        if len(row) > len(header):
            raise DataError(f"{path}: line {line}: {len(row)} fields but the header (line {head_line}) has {len(header)}")
        begin = _number(path, line, "Begin Time (s)", cell(row, "Begin Time (s)"))
        end = _number(path, line, "End Time (s)", cell(row, "End Time (s)"))
        if begin < 0 or end < begin:
            raise DataError(f"{path}: line {line}: Begin Time (s) = {begin:g}, End Time (s) = {end:g}: "
                            "need 0 <= begin <= end")
        sel = Selection(begin, end, _number(path, line, "Low Freq (Hz)", cell(row, "Low Freq (Hz)"), optional=True),
                        _number(path, line, "High Freq (Hz)", cell(row, "High Freq (Hz)"), optional=True),
                        file=row[file_col].strip() if file_col is not None and file_col < len(row) else None,
                        extra={h: row[i] for i, h in enumerate(header)
                               if i < len(row) and _key(h) not in known and h.strip()})
        score = sel.extra.get(SCORE_COLUMN)
        if score not in (None, ""):
            sel.score = _number(path, line, SCORE_COLUMN, score)
        number = cell(row, "Selection").strip()
        key = (number, cell(row, "Channel").strip())
        if number and key in seen:  # another view of the same selection
            if cell(row, "View").strip().casefold().startswith("spectrogram"):
                out[seen[key]] = sel
            continue
        if number:
            seen[key] = len(out)
        out.append(sel)
    return out
