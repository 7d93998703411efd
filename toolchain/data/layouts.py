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

What cannot be read is a listed `Problem` naming the path, never an exception: a folder that
cannot be listed, an entry that is not a regular file (a directory named like a clip, a FIFO, a
device, a socket, a symlink loop or a dangling link: examined with stat, never opened), a file
name that is not UTF-8, an encrypted zip member, one compressed with a method zipfile cannot
read or larger than MAX_MEMBER_BYTES, a truncated or corrupt zip (outer or inner), and in the
CSV: a row that is not UTF-8, holds a NUL byte or a field over csv's 128 kB limit, a clip listed
twice (with the same label: the repeat is ignored; with opposite labels: the clip is left out
and both lines are named). The CSV itself being unreadable, not a file, UTF-16 or over
MAX_CSV_BYTES makes the data set unusable (a fatal problem naming it).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import re
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from toolchain.core.errors import DataError
from toolchain.data.problems import Problem

AUDIO_SUFFIXES = (".aiff", ".aif")
KAGGLE_ZIPS = ("whale_data.zip", "whale-detection-challenge.zip")
MAX_DEPTH = 3  # how deep a folder is listed (data/train/x.aiff is depth 3)
MAX_NESTING = 3  # zips inside zips followed at most
MAX_MEMBER_BYTES = 256 << 20  # largest zip member read into memory (a Kaggle clip is ~8 kB)
SMALL_FILE_BYTES = 1 << 20  # folder files up to this size are read whole (faster to decode)
MAX_CSV_BYTES = 64 << 20  # largest train.csv read (30,000 Kaggle rows are ~0.6 MB)
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
               zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}
_OTHER_METHODS = {1: "shrink", 6: "implode", 9: "deflate64", 93: "zstd", 95: "xz", 96: "jpeg",
                  97: "wavpack", 98: "ppmd", 99: "AES-encrypted"}
# what zipfile raises on damaged input (RuntimeError: encrypted; NotImplementedError: method)
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
              struct.error, ValueError, OSError)
_REDUX_LABEL = re.compile(r"_([01])$")


class ClipReadError(OSError):
    """A clip (or CSV) that cannot be read; `kind` is the Problem kind to report."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind

    def __str__(self) -> str:
        return self.args[0]


class _Unusable(Exception):
    """Raised inside open_layout: the data set cannot be used; carries the fatal Problem."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def _why(exc: BaseException) -> str:
    """'ErrorClass: what' without the path (the caller names the path)."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{exc.__class__.__name__}: {text}"


def printable(rel: str) -> str:
    """`rel` with bytes that are not UTF-8 (surrogate-escaped by os.scandir) shown as \\xNN."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def describe_mode(mode: int) -> str:
    """'a directory', 'a FIFO', ... for an st_mode that is not a regular file."""
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


def open_regular(path: str | os.PathLike) -> tuple[int, int]:
    """(read-only file descriptor, size in bytes) of `path`, which must be a regular file
    (symlinks followed).

    Checked with stat before opening, so a FIFO or device is never opened (opening a FIFO
    blocks until a writer appears; reading /dev/zero never ends), and again with fstat on the
    descriptor, opened O_NONBLOCK so that even a FIFO swapped in between cannot block the open
    (O_NONBLOCK changes nothing for the regular file that is then read). Raises ClipReadError
    ("not_a_file") or OSError."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ClipReadError("not_a_file", f"is {describe_mode(st.st_mode)}, not a regular file")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ClipReadError("not_a_file", f"is {describe_mode(st.st_mode)}, not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def _read_fd(fd: int, size: int) -> bytes:
    """All bytes of the file open at `fd` (expected `size`), from its current offset."""
    parts = [os.read(fd, max(size, 1))]
    while parts[-1]:
        parts.append(os.read(fd, 1 << 20))
    return b"".join(parts)


def member_fault(info: zipfile.ZipInfo) -> tuple[str, str] | None:
    """(kind, what is wrong) for a zip member that cannot be read, else None."""
    if info.flag_bits & 0x1:
        return "encrypted", "is encrypted (a password-protected zip member cannot be read)"
    if info.compress_type not in ZIP_METHODS:
        name = _OTHER_METHODS.get(info.compress_type, "unknown")
        return "compression", (f"uses zip compression method {info.compress_type} ({name}), which "
                               f"cannot be read (readable: {', '.join(ZIP_METHODS.values())})")
    if info.file_size > MAX_MEMBER_BYTES:
        return "too_large", (f"is {info.file_size} bytes uncompressed, over the "
                             f"{MAX_MEMBER_BYTES >> 20} MiB limit for one zip member")
    return None


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


def _open_zip(spec: ReaderSpec) -> zipfile.ZipFile:
    if spec.length >= 0:
        return zipfile.ZipFile(_Slice(spec.path, spec.offset, spec.length))
    os.close(open_regular(spec.path)[0])  # refuses a FIFO or device without reading it
    return zipfile.ZipFile(spec.path)


class Reader:
    """Reads clips for a `ReaderSpec` (open one per process). Every failure to read a clip is
    an OSError (ClipReadError with a Problem kind for encrypted / unsupported / not a file)."""

    def __init__(self, spec: ReaderSpec):
        self.spec = spec
        self._zip: zipfile.ZipFile | None = None
        if spec.kind == "zip":
            try:
                self._zip = _open_zip(spec)
            except ClipReadError:
                raise
            except ZIP_ERRORS as exc:
                raise ClipReadError("unreadable", f"zip {spec.path} cannot be read ({_why(exc)})") from None

    def _member(self, file: str) -> bytes:
        assert self._zip is not None
        try:
            info = self._zip.getinfo(file)
        except KeyError:
            raise ClipReadError("missing_file", "is not in the zip") from None
        fault = member_fault(info)
        if fault:
            raise ClipReadError(*fault)
        try:
            return self._zip.read(info)
        except ZIP_ERRORS as exc:
            raise ClipReadError("unreadable", f"cannot be read from the zip ({_why(exc)})") from None

    @contextlib.contextmanager
    def clip(self, file: str) -> Iterator[bytes | int]:
        """Within the block: the clip's bytes (a zip member, or a folder file of at most
        SMALL_FILE_BYTES), or an open file descriptor of a larger folder file (so that only
        the frames needed are read)."""
        if self._zip is not None:
            yield self._member(file)
            return
        fd, size = open_regular(os.path.join(self.spec.path, file))
        try:
            yield _read_fd(fd, size) if size <= SMALL_FILE_BYTES else fd
        finally:
            os.close(fd)

    def read(self, file: str) -> bytes:
        """The whole file's bytes."""
        if self._zip is not None:
            return self._member(file)
        fd, size = open_regular(os.path.join(self.spec.path, file))
        try:
            return _read_fd(fd, size)
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class _Tree:
    """The files of a folder or zip: relative posix path -> (size, mtime_ns or CRC-32); `bad`:
    relative path -> (Problem kind, what it is: "is a FIFO ...") of entries that cannot be read;
    `unlisted`: folders (relative, "." = root) that could not be listed -> why."""

    spec: ReaderSpec
    files: dict[str, tuple[int, int]]
    identity: list  # folder: resolved path; zip: resolved path, size, mtime_ns
    bad: dict[str, tuple[str, str]] = field(default_factory=dict)
    unlisted: dict[str, str] = field(default_factory=dict)

    def fingerprint(self, rels) -> list:
        return self.identity + [[r, *self.files[r]] for r in sorted(set(rels)) if r in self.files]

    def problems(self) -> list[Problem]:
        return [Problem(printable(rel), "unreadable", f"{printable(rel)}: cannot list this folder "
                        f"({why})", action="not read") for rel, why in self.unlisted.items()]

    def absent(self, rel: str, where: str) -> Problem:
        """The problem for `rel`, named at `where`, that is not a readable file of the tree."""
        if rel in self.bad:
            kind, what = self.bad[rel]
            return Problem(printable(rel), kind, f"{where}: {printable(rel)} {what}")
        for folder, why in self.unlisted.items():
            if folder == "." or rel.startswith(folder + "/"):
                return Problem(rel, "unreadable", f"{where}: {rel} cannot be read: folder "
                               f"{folder} cannot be listed ({why})")
        return Problem(rel, "missing_file", f"{where}: {rel} listed but not found")

    def bad_in(self, folder: str | None, exclude=()) -> list[Problem]:
        """Problems for the unreadable audio-named entries directly inside `folder` (None: every
        unreadable entry named like a data file), except names in `exclude`."""
        prefix = f"{folder}/" if folder else ""
        return [Problem(printable(r), kind, f"{printable(r)} {what}")
                for r, (kind, what) in sorted(self.bad.items(), key=lambda kv: _natural_key(kv[0]))
                if (folder is None and _named_like_data(r.rsplit("/", 1)[-1]))
                or (folder is not None and r.startswith(prefix) and "/" not in r[len(prefix):]
                    and _is_audio(r) and r.rsplit("/", 1)[-1] not in exclude)]


def _is_audio(name: str) -> bool:
    return name.lower().endswith(AUDIO_SUFFIXES)


def _named_like_data(name: str) -> bool:
    """Whether a folder entry's name says it should be a file neurodeploy reads."""
    return _is_audio(name) or name == "train.csv" or name in KAGGLE_ZIPS


def _dir_tree(root: Path) -> _Tree:
    files: dict[str, tuple[int, int]] = {}
    bad: dict[str, tuple[str, str]] = {}
    unlisted: dict[str, str] = {}

    def walk(folder: Path, prefix: str, depth: int) -> None:
        try:
            with os.scandir(folder) as it:
                listing = list(it)
        except OSError as exc:
            unlisted[prefix.rstrip("/") or "."] = _why(exc)
            return
        for de in listing:
            if de.name.startswith("."):
                continue
            rel = prefix + de.name
            if printable(rel) != rel:
                bad[rel] = ("bad_name", "has a file name that is not UTF-8 (rename it)")
                continue
            try:
                st = os.stat(de.path)  # follows symlinks; never opens
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    bad[rel] = ("symlink", "is a symlink loop (too many levels of symbolic links)")
                elif exc.errno == errno.ENOENT:
                    bad[rel] = ("symlink", "is a dangling symlink (its target does not exist)")
                else:
                    bad[rel] = ("unreadable", f"cannot be examined ({_why(exc)})")
                continue
            if stat.S_ISREG(st.st_mode):
                files[rel] = (st.st_size, st.st_mtime_ns)
            elif stat.S_ISDIR(st.st_mode):
                if _named_like_data(de.name):
                    bad[rel] = ("not_a_file", "is a directory, not a file")
                if depth < MAX_DEPTH:
                    walk(Path(de.path), rel + "/", depth + 1)
            else:
                bad[rel] = ("not_a_file", f"is {describe_mode(st.st_mode)}, not a regular file "
                                          "(never opened)")

    walk(root, "", 1)
    return _Tree(ReaderSpec("dir", str(root)), files, [str(root.resolve())], bad, unlisted)


def _corrupt_zip(rel: str, exc: BaseException, size: int | None = None) -> _Unusable:
    held = f"{size} bytes; " if size is not None else ""
    return _Unusable(Problem(rel, "corrupt_zip", f"{rel}: truncated or corrupt zip file ({held}"
                             f"{_why(exc)}); was a download or copy cut short?", fatal=True,
                             action="refused"))


def _zip_tree(spec: ReaderSpec, identity: list, rel: str) -> _Tree:
    """The members of the zip `spec`; raises _Unusable naming `rel` when it cannot be read."""
    files: dict[str, tuple[int, int]] = {}
    bad: dict[str, tuple[str, str]] = {}
    try:
        with _open_zip(spec) as zf:
            infos = zf.infolist()
    except ZIP_ERRORS as exc:
        raise _corrupt_zip(rel, exc, spec.length if spec.length >= 0 else None) from None
    for info in infos:
        name = info.filename
        if info.is_dir():
            name = name.rstrip("/")
            if _named_like_data(name.rsplit("/", 1)[-1]):
                bad[name] = ("not_a_file", "is a directory in the zip, not a file")
            continue
        fault = member_fault(info)
        if fault:
            bad[name] = fault
        else:
            files[name] = (info.file_size, info.CRC)
    return _Tree(spec, files, identity, bad)


def _file_zip_tree(path: Path, rel: str) -> _Tree:
    st = path.stat()
    return _zip_tree(ReaderSpec("zip", str(path)), [str(path.resolve()), st.st_size, st.st_mtime_ns],
                     rel)


def _nested_zip(outer: _Tree, member: str, cleanup: list) -> _Tree:
    """The tree of zip `member` inside zip `outer`: in place if stored, else via a temp copy."""
    try:
        with _open_zip(outer.spec) as zf:
            info = zf.getinfo(member)
            if info.compress_type == zipfile.ZIP_STORED and outer.spec.length < 0:
                with open(outer.spec.path, "rb") as fh:
                    fh.seek(info.header_offset)
                    header = fh.read(30)
                if len(header) < 30 or header[:4] != b"PK\x03\x04":
                    raise zipfile.BadZipFile(f"no local header for {member}")
                name_len, extra_len = struct.unpack("<HH", header[26:30])
                offset = info.header_offset + 30 + name_len + extra_len
                spec = ReaderSpec("zip", outer.spec.path, offset, info.file_size)
            else:
                fd, tmp = tempfile.mkstemp(prefix="neurodeploy-", suffix=".zip")
                cleanup.append(lambda: os.path.exists(tmp) and os.unlink(tmp))
                with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                spec = ReaderSpec("zip", tmp)
    except ZIP_ERRORS as exc:
        raise _corrupt_zip(member, exc) from None
    return _zip_tree(spec, outer.identity + [member, info.CRC], member)


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _audio_in(tree: _Tree, folder: str, ordered: bool = True) -> list[str]:
    """Audio files directly inside `folder` ("" = root), in natural order if `ordered`."""
    prefix = f"{folder}/" if folder else ""
    out = [r for r in tree.files if r.startswith(prefix) and "/" not in r[len(prefix):]
           and _is_audio(r)]
    return sorted(out, key=_natural_key) if ordered else out


def _kaggle_base(tree: _Tree) -> str | None:
    """The folder holding train.csv or train/ / test/ audio ("data", "" ...), shallowest first."""
    candidates = set()
    for r in [*tree.files, *tree.bad]:
        parts = r.split("/")
        if parts[-1] == "train.csv":
            candidates.add("/".join(parts[:-1]))
        elif len(parts) > 1 and parts[-2] in ("train", "test") and _is_audio(r):
            candidates.add("/".join(parts[:-2]))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c.count("/") + (c != ""), c))


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _fatal(rel: str, kind: str, message: str) -> _Unusable:
    return _Unusable(Problem(rel, kind, message, fatal=True, action="refused"))


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _csv_rows(tree: _Tree, rel: str) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """(line number, fields) of each row of the CSV `rel` that parses, and a problem for each
    row that does not (NUL byte, field over csv's limit, not UTF-8). Raises _Unusable when the
    CSV as a whole cannot be read."""
    if rel in tree.bad:
        kind, what = tree.bad[rel]
        raise _fatal(rel, kind, f"{rel} {what}: the Kaggle layout needs train.csv (clip_name,label)")
    size = tree.files[rel][0]
    if size > MAX_CSV_BYTES:
        raise _fatal(rel, "too_large", f"{rel} is {size} bytes, over the {MAX_CSV_BYTES >> 20} MiB "
                     "limit for train.csv")
    try:
        with Reader(tree.spec) as reader:
            data = reader.read(rel)
    except OSError as exc:
        raise _fatal(rel, getattr(exc, "kind", "unreadable"), f"{rel}: cannot read ({_why(exc)})") from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise _fatal(rel, "encoding", f"{rel} is UTF-16 text; save it as UTF-8 (or plain ASCII)")
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig", errors="surrogateescape"), newline=""))
    rows: list[tuple[int, list[str]]] = []
    problems: list[Problem] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(rel, "bad_row", f"{rel} line {reader.line_num}: unreadable "
                                    f"row ({exc})"))
            continue
        try:
            ",".join(row).encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(exc.object[exc.start]) - 0xDC00
            problems.append(Problem(rel, "bad_row", f"{rel} line {reader.line_num}: not UTF-8 text "
                                    f"(byte 0x{byte:02x}); save {rel} as UTF-8"))
            continue
        rows.append((reader.line_num, row))
    return rows, problems


def _kaggle_entries(tree: _Tree, base: str, split: str) -> tuple[list[Entry], list[Problem]]:
    clip_dir = _join(base, split)
    files = _audio_in(tree, clip_dir, ordered=split != "train")  # train follows the CSV
    if split != "train":
        if not files:
            return [], [*tree.bad_in(clip_dir),
                        Problem(clip_dir or ".", "missing_dir", f"no {clip_dir}/*.aiff clips found",
                                fatal=True, action="refused")]
        return [Entry(f, -1) for f in files], tree.bad_in(clip_dir)
    csv_rel = _join(base, "train.csv")
    if csv_rel not in tree.files and csv_rel not in tree.bad:
        return [], [Problem(csv_rel, "missing_csv", f"{csv_rel} not found: the Kaggle layout needs "
                            "train.csv (clip_name,label) beside train/", fatal=True, action="refused")]
    rows, problems = _csv_rows(tree, csv_rel)
    header = [h.strip().lower() for h in rows[0][1]] if rows else []
    missing = [c for c in ("clip_name", "label") if c not in header]
    if missing:
        shown = _short(",".join(rows[0][1])) if rows else "empty file"
        return [], [*problems, Problem(csv_rel, "missing_column",
                                       f"{csv_rel}: missing column(s) {', '.join(missing)} "
                                       f"(header: {shown})", fatal=True, action="refused")]
    i_name, i_label = header.index("clip_name"), header.index("label")
    entries: list[Entry] = []
    first: dict[str, tuple[int, str]] = {}  # clip name -> (line, label) of its first row
    conflicted: set[str] = set()
    for line, row in rows[1:]:
        if not any(c.strip() for c in row):
            continue
        name = row[i_name].strip() if len(row) > i_name else ""
        label = row[i_label].strip() if len(row) > i_label else ""
        rel = _join(clip_dir, name)
        where = f"{csv_rel} line {line}"
        if not name:
            problems.append(Problem(csv_rel, "bad_row", f"{where}: no clip_name ({_short(','.join(row))})"))
        elif name in first:
            line0, label0 = first[name]
            if label != label0 and {label, label0} == {"0", "1"} and name not in conflicted:
                conflicted.add(name)
                problems.append(Problem(rel, "conflicting_labels", f"{csv_rel} lines {line0} and "
                                        f"{line}: conflicting labels for {_short(rel)} (label "
                                        f"{label0} on line {line0}, {label} on line {line}); the "
                                        "clip is left out"))
            else:
                problems.append(Problem(rel, "duplicate_row", f"{where}: {_short(rel)} listed again "
                                        f"(first on line {line0})", action="row ignored"))
        elif label not in ("0", "1"):
            first[name] = (line, label)
            problems.append(Problem(rel, "bad_label", f"{where}: label {_short(label)!r} for "
                                    f"{_short(rel)} is not 0 or 1"))
        elif rel not in tree.files:
            first[name] = (line, label)
            problems.append(tree.absent(rel, where))
        else:
            first[name] = (line, label)
            entries.append(Entry(rel, int(label)))
    entries = [e for e in entries if e.name not in conflicted]
    for rel in sorted(files, key=_natural_key):
        if rel.rsplit("/", 1)[-1] not in first:
            problems.append(Problem(rel, "no_csv_row", f"{rel} has no row in {csv_rel}"))
    problems += tree.bad_in(clip_dir, exclude=first)
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
                return [Entry(f, -1) for f in unlabeled], tree.bad_in(folder)
            continue
        if not any(labels):
            continue
        entries = [Entry(f, int(m.group(1))) for f, m in zip(files, labels) if m]
        problems = [Problem(f, "bad_label", f"{f}: no _0/_1 label at the end of the file name")
                    for f, m in zip(files, labels) if not m]
        return entries, problems + tree.bad_in(folder)
    return None


def _top_tree(p: Path) -> tuple[_Tree, str]:
    """The tree at data set path `p` (a folder or a regular file) and its layout kind."""
    st = p.stat()
    if stat.S_ISDIR(st.st_mode):
        return _dir_tree(p), "kaggle-folder"
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{p} is {describe_mode(st.st_mode)}, not a folder or a zip file")
    try:
        fd = open_regular(p)[0]
    except OSError as exc:
        raise _fatal(p.name, getattr(exc, "kind", "unreadable"), f"{p}: cannot read ({_why(exc)})") from None
    with os.fdopen(fd, "rb") as fh:
        head = fh.read(4)
        is_zip = zipfile.is_zipfile(fh)
    if is_zip:
        return _file_zip_tree(p, p.name), "kaggle-zip"
    if head[:2] == b"PK" or p.suffix.lower() == ".zip":
        raise _corrupt_zip(p.name, zipfile.BadZipFile(
            "no end-of-central-directory record, where a zip lists its members"), st.st_size)
    raise DataError(f"{p} is neither a folder nor a zip file (it starts with bytes {head!r})")


def open_layout(path: str | os.PathLike, split: str = "train") -> Layout:
    """Identify the data set at `path` and list the clips of `split` ("train" or "test").

    Raises DataError if `path` does not exist or is neither a folder nor a zip-like file; an
    unrecognisable, unreadable or corrupt data set gives a Layout with a fatal problem (so `data
    check` can report it). Close the layout (or use `with`).
    """
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', not {split!r}")
    p = Path(path).expanduser()
    try:
        p.stat()
    except FileNotFoundError:
        raise DataError(f"data set path not found: {p}") from None
    except OSError as exc:
        raise DataError(f"data set path {p} cannot be examined ({_why(exc)})") from None
    cleanup: list = []
    kind = "kaggle-folder" if p.is_dir() else "kaggle-zip"
    try:
        tree, kind = _top_tree(p)
        base = _kaggle_base(tree)
        for _ in range(MAX_NESTING):  # folder -> zip -> zip stored in the zip
            if base is not None or tree.spec.length >= 0:
                break
            inner = sorted(r for r in tree.files if PurePosixPath(r).name in KAGGLE_ZIPS)
            if not inner:
                break
            if tree.spec.kind == "zip":
                tree = _nested_zip(tree, inner[0], cleanup)
            else:
                tree = _file_zip_tree(p / inner[0], inner[0])
            kind = "kaggle-zip"
            base = _kaggle_base(tree)
        problems = tree.problems()
        entries: list[Entry] = []
        if base is not None:
            entries, found = _kaggle_entries(tree, base, split)
            problems += found
        if base is not None and not any(q.kind == "missing_csv" for q in problems):
            csv_rel = [_join(base, "train.csv")] if split == "train" else []
            fp = tree.fingerprint([e.file for e in entries] + csv_rel
                                  + _audio_in(tree, _join(base, split), ordered=False))
        elif (redux := _redux_entries(tree, split)) is not None:
            kind = "redux"
            entries, found = redux
            problems = tree.problems() + found
            fp = tree.fingerprint([e.file for e in entries] + [q.file for q in found])
        else:
            fp = []
            if base is None:
                problems += tree.bad_in(None)
                problems.append(Problem(
                    ".", "layout", f"{p}: no Kaggle layout (data/train.csv + data/train/*.aiff, "
                    f"whale_data.zip) or redux *_0.aif / *_1.aif files found for split {split!r}",
                    fatal=True, action="refused"))
        if not entries and not any(q.fatal for q in problems):
            problems.append(Problem(".", "no_clips", f"{p}: no clips to load for split {split!r}",
                                    fatal=True, action="refused"))
        return Layout(kind, str(path), split, entries, problems, tree.spec, fp, cleanup)
    except _Unusable as exc:
        for fn in cleanup:
            fn()
        return Layout(kind, str(path), split, [], [exc.problem], ReaderSpec("dir", str(p)), [])
    except BaseException:
        for fn in cleanup:
            fn()
        raise


__all__ = ["ClipReadError", "Entry", "Layout", "Reader", "ReaderSpec", "open_layout", "open_regular"]
