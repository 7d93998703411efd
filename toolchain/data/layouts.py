"""Find the clips of a data set: Kaggle folder, Kaggle zip (plain or nested), or "redux" layout.

Accepted paths (all resolve to an ordered list of `Entry`s and a picklable `ReaderSpec` that
worker processes use to read each clip's bytes):

- Kaggle folder: a folder holding `data/train.csv` (`clip_name,label`) and `data/train/*.aiff`
  (optional unlabeled `data/test/*.aiff` for split="test"), or directly the folder holding
  `train.csv` + `train/`. A folder holding only `whale_data.zip` / `whale-detection-challenge.zip`
  is read through that zip.
- Kaggle zip: `whale_data.zip` itself, read member by member with zipfile (nothing is unpacked),
  or `whale-detection-challenge.zip` holding it. A nested zip stored without compression is
  read in place (a byte range of the outer file); a compressed one is copied once to a temporary
  file (removed when the layout is closed), because compressed zip members cannot be seeked.
- Redux (ICML 2013 "right whale redux"): `.aif`/`.aiff` files with the label as the last `_` field
  of the name (`..._TRAIN0_1.aif`), no CSV, in the folder itself or in a sub-folder whose name
  starts with the split ("train2/", "test2/"). Test names carry no label.

Order: Kaggle train clips keep the CSV row order; test and redux clips are in natural name order
(test2 before test10; redux names start with the recording date-time), so neighbouring clips stay
neighbours for blocked folds. Paths in problems are relative to the given path (zip member names
for zips), e.g. "data/train/train17.aiff".
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from toolchain.core.errors import DataError
from toolchain.data.problems import Problem

AUDIO_SUFFIXES = (".aiff", ".aif")
KAGGLE_ZIPS = ("whale_data.zip", "whale-detection-challenge.zip")
MAX_DEPTH = 3  # how deep a folder is listed (data/train/x.aiff is depth 3)
_REDUX_LABEL = re.compile(r"_([01])$")


@dataclass(frozen=True)
class ReaderSpec:
    """How to read clip bytes: files under folder `path`, or members of the zip at `path`
    (the zip being bytes [offset, offset + length) of that file when length >= 0)."""

    kind: str  # "dir" | "zip"
    path: str
    offset: int = 0
    length: int = -1


@dataclass
class Entry:
    """One clip to load: `file` (relative path / member name), its name and label (-1 unlabeled)."""

    file: str
    label: int

    @property
    def name(self) -> str:
        return self.file.rsplit("/", 1)[-1]


@dataclass
class Layout:
    """The clips of one split of a data set, in data-set order, with the problems found so far."""

    kind: str  # "kaggle-folder" | "kaggle-zip" | "redux"
    source: str
    split: str
    entries: list[Entry]
    problems: list[Problem]
    reader: ReaderSpec
    fingerprint: list  # what the decode cache key is made of (names, sizes, mtimes or CRCs)
    _cleanup: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def fatal(self) -> bool:
        return any(p.fatal for p in self.problems)

    def close(self) -> None:
        while self._cleanup:
            self._cleanup.pop()()

    def __enter__(self) -> Layout:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Slice(io.RawIOBase):
    """Read-only, seekable view of bytes [offset, offset + length) of a file."""

    def __init__(self, path: str, offset: int, length: int):
        self._fh = open(path, "rb")
        self._offset, self._length, self._pos = offset, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._length}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, b) -> int:
        n = max(0, min(len(b), self._length - self._pos))
        self._fh.seek(self._offset + self._pos)
        data = self._fh.read(n)
        b[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._fh.close()
        super().close()


class Reader:
    """Reads clip bytes for a `ReaderSpec` (open one per process; `read` raises OSError or
    zipfile.BadZipFile on an unreadable member)."""

    def __init__(self, spec: ReaderSpec):
        self.spec = spec
        self._zip: zipfile.ZipFile | None = None
        if spec.kind == "zip":
            src = _Slice(spec.path, spec.offset, spec.length) if spec.length >= 0 else spec.path
            self._zip = zipfile.ZipFile(src)

    def read(self, file: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(file)
        with open(os.path.join(self.spec.path, file), "rb") as fh:
            return fh.read()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class _Tree:
    """The files of a folder or zip: relative posix path -> (size, mtime_ns or CRC-32)."""

    spec: ReaderSpec
    files: dict[str, tuple[int, int]]
    identity: list  # folder: resolved path; zip: resolved path, size, mtime_ns

    def fingerprint(self, rels) -> list:
        return self.identity + [[r, *self.files[r]] for r in sorted(set(rels)) if r in self.files]


def _dir_tree(root: Path) -> _Tree:
    files: dict[str, tuple[int, int]] = {}

    def walk(folder: Path, prefix: str, depth: int) -> None:
        with os.scandir(folder) as it:
            for de in it:
                if de.name.startswith("."):
                    continue
                rel = prefix + de.name
                if de.is_dir() and depth < MAX_DEPTH:
                    walk(Path(de.path), rel + "/", depth + 1)
                elif de.is_file():
                    st = de.stat()
                    files[rel] = (st.st_size, st.st_mtime_ns)

    walk(root, "", 1)
    return _Tree(ReaderSpec("dir", str(root)), files, [str(root.resolve())])


def _zip_tree(spec: ReaderSpec, identity: list) -> _Tree:
    with Reader(spec) as reader:
        files = {i.filename: (i.file_size, i.CRC) for i in reader._zip.infolist() if not i.is_dir()}
    return _Tree(spec, files, identity)


def _file_zip_tree(path: Path) -> _Tree:
    st = path.stat()
    return _zip_tree(ReaderSpec("zip", str(path)), [str(path.resolve()), st.st_size, st.st_mtime_ns])


def _nested_zip(outer: _Tree, member: str, cleanup: list) -> _Tree:
    """The tree of zip `member` inside zip `outer`: in place if stored, else via a temp copy."""
    with zipfile.ZipFile(outer.spec.path) as zf:
        info = zf.getinfo(member)
        if info.compress_type == zipfile.ZIP_STORED:
            with open(outer.spec.path, "rb") as fh:
                fh.seek(info.header_offset)
                header = fh.read(30)
            name_len, extra_len = struct.unpack("<HH", header[26:30])
            offset = info.header_offset + 30 + name_len + extra_len
            spec = ReaderSpec("zip", outer.spec.path, offset, info.file_size)
        else:
            fd, tmp = tempfile.mkstemp(prefix="neurodeploy-", suffix=".zip")
            cleanup.append(lambda: os.path.exists(tmp) and os.unlink(tmp))
            with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                shutil.copyfileobj(src, out, 1 << 20)
            spec = ReaderSpec("zip", tmp)
    return _zip_tree(spec, outer.identity + [member, info.CRC])


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _audio_in(tree: _Tree, folder: str, ordered: bool = True) -> list[str]:
    """Audio files directly inside `folder` ("" = root), in natural order if `ordered`."""
    prefix = f"{folder}/" if folder else ""
    out = [r for r in tree.files if r.startswith(prefix) and "/" not in r[len(prefix):]
           and r.lower().endswith(AUDIO_SUFFIXES)]
    return sorted(out, key=_natural_key) if ordered else out


def _kaggle_base(tree: _Tree) -> str | None:
    """The folder holding train.csv or train/ / test/ audio ("data", "" ...), shallowest first."""
    candidates = set()
    for r in tree.files:
        parts = r.split("/")
        if parts[-1] == "train.csv":
            candidates.add("/".join(parts[:-1]))
        elif len(parts) > 1 and parts[-2] in ("train", "test") and r.lower().endswith(AUDIO_SUFFIXES):
            candidates.add("/".join(parts[:-2]))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c.count("/") + (c != ""), c))


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _read_csv(tree: _Tree, rel: str) -> str:
    with Reader(tree.spec) as reader:
        return reader.read(rel).decode("utf-8-sig")


def _kaggle_entries(tree: _Tree, base: str, split: str) -> tuple[list[Entry], list[Problem]]:
    clip_dir = _join(base, split)
    files = _audio_in(tree, clip_dir, ordered=split != "train")  # train follows the CSV
    if split != "train":
        if not files:
            return [], [Problem(clip_dir or ".", "missing_dir", f"no {clip_dir}/*.aiff clips found",
                                fatal=True, action="refused")]
        return [Entry(f, -1) for f in files], []
    csv_rel = _join(base, "train.csv")
    if csv_rel not in tree.files:
        return [], [Problem(csv_rel, "missing_csv", f"{csv_rel} not found: the Kaggle layout needs "
                            "train.csv (clip_name,label) beside train/", fatal=True, action="refused")]
    rows = list(csv.reader(io.StringIO(_read_csv(tree, csv_rel))))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    missing = [c for c in ("clip_name", "label") if c not in header]
    if missing:
        return [], [Problem(csv_rel, "missing_column",
                            f"{csv_rel}: missing column(s) {', '.join(missing)} "
                            f"(header: {','.join(rows[0]) if rows else 'empty file'})",
                            fatal=True, action="refused")]
    i_name, i_label = header.index("clip_name"), header.index("label")
    entries: list[Entry] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        name = row[i_name].strip() if len(row) > i_name else ""
        label = row[i_label].strip() if len(row) > i_label else ""
        rel = _join(clip_dir, name)
        where = f"{csv_rel} line {line}"
        if not name:
            problems.append(Problem(csv_rel, "bad_row", f"{where}: no clip_name ({','.join(row)})"))
        elif name in seen:
            problems.append(Problem(rel, "duplicate_row", f"{where}: {rel} listed again"))
        elif label not in ("0", "1"):
            seen.add(name)
            problems.append(Problem(rel, "bad_label", f"{where}: label {label!r} for {rel} "
                                    "is not 0 or 1"))
        elif rel not in tree.files:
            seen.add(name)
            problems.append(Problem(rel, "missing_file", f"{where}: {rel} listed but not found"))
        else:
            seen.add(name)
            entries.append(Entry(rel, int(label)))
    for rel in sorted(files, key=_natural_key):
        if rel.rsplit("/", 1)[-1] not in seen:
            problems.append(Problem(rel, "no_csv_row", f"{rel} has no row in {csv_rel}"))
    return entries, problems


def _redux_entries(tree: _Tree, split: str) -> tuple[list[Entry], list[Problem]] | None:
    """Redux entries, or None if the tree does not look like the redux layout."""
    folders = [""] + sorted({str(PurePosixPath(r).parent) for r in tree.files
                             if "/" in r and PurePosixPath(r).parent.name.lower().startswith(split)})
    for folder in folders:
        files = _audio_in(tree, folder)
        labels = [_REDUX_LABEL.search(PurePosixPath(f).stem) for f in files]
        if split != "train":
            unlabeled = [f for f, m in zip(files, labels) if not m]
            if unlabeled:
                return [Entry(f, -1) for f in unlabeled], []
            continue
        if not any(labels):
            continue
        entries = [Entry(f, int(m.group(1))) for f, m in zip(files, labels) if m]
        problems = [Problem(f, "bad_label", f"{f}: no _0/_1 label at the end of the file name")
                    for f, m in zip(files, labels) if not m]
        return entries, problems
    return None


def open_layout(path: str | os.PathLike, split: str = "train") -> Layout:
    """Identify the data set at `path` and list the clips of `split` ("train" or "test").

    Raises DataError if `path` does not exist; an unrecognisable data set gives a Layout with a
    fatal "layout" problem (so `data check` can report it). Close the layout (or use `with`).
    """
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', not {split!r}")
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"data set path not found: {p}")
    cleanup: list = []
    try:
        if p.is_dir():
            tree = _dir_tree(p)
            kind = "kaggle-folder"
        elif zipfile.is_zipfile(p):
            tree = _file_zip_tree(p)
            kind = "kaggle-zip"
        else:
            raise DataError(f"{p} is neither a folder nor a zip file")
        base = _kaggle_base(tree)
        while base is None and tree.spec.length < 0:  # folder -> zip -> zip stored in the zip
            inner = sorted(r for r in tree.files if PurePosixPath(r).name in KAGGLE_ZIPS)
            if not inner:
                break
            if tree.spec.kind == "zip":
                tree = _nested_zip(tree, inner[0], cleanup)
            else:
                tree = _file_zip_tree(p / inner[0])
            kind = "kaggle-zip"
            base = _kaggle_base(tree)
        entries, problems = _kaggle_entries(tree, base, split) if base is not None else ([], [])
        if base is not None and not any(q.kind == "missing_csv" for q in problems):
            csv_rel = [_join(base, "train.csv")] if split == "train" else []
            fp = tree.fingerprint([e.file for e in entries] + csv_rel
                                  + _audio_in(tree, _join(base, split), ordered=False))
        elif (redux := _redux_entries(tree, split)) is not None:
            kind = "redux"
            entries, problems = redux
            fp = tree.fingerprint([e.file for e in entries] + [q.file for q in problems])
        else:
            fp = []
            if base is None:
                problems = [Problem(
                    ".", "layout", f"{p}: no Kaggle layout (data/train.csv + data/train/*.aiff, "
                    f"whale_data.zip) or redux *_0.aif / *_1.aif files found for split {split!r}",
                    fatal=True, action="refused")]
        if not entries and not any(q.fatal for q in problems):
            problems.append(Problem(".", "no_clips", f"{p}: no clips to load for split {split!r}",
                                    fatal=True, action="refused"))
        return Layout(kind, str(path), split, entries, problems, tree.spec, fp, cleanup)
    except BaseException:
        for fn in cleanup:
            fn()
        raise


__all__ = ["Entry", "Layout", "Reader", "ReaderSpec", "open_layout"]
