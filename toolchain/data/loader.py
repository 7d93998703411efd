"""Load a whole data set into memory (`load_clips`) and report on it (`check_dataset`).

Decoding runs in chunks of CHUNK clips, in a spawn process pool for large sets, and its result
(audio, labels, names, problems, counts of what the files held) is cached on disk (see
`toolchain.data.cache`), so the second load of 30,000 clips reads two .npy files instead of
decoding 30,000 AIFFs. A clip that cannot be used is skipped and listed in `ClipSet.skipped`;
only data-set-level problems (no CSV, missing columns, nothing to load) stop a load.

A clip that could not be read when an entry was written (kind "unreadable": permission, I/O
error) is tried again at every load that hits that entry; once it reads, the data set is decoded
again. Layout problems (CSV rows, files that are not regular files, ...) are found afresh at
every load; only per-clip decode results are cached.

`ClipSet.content_sha256` fingerprints what the features are computed from: SHA-256 over the
clip names, and the SHA-256s of the labels and of the float32 audio bytes -- the digests the
decode cache keeps for its checksums, so a warm load hashes each byte once (to verify the entry)
and a cold one once (to seal it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from toolchain.core.errors import DataError
from toolchain.data import cache as _cache
from toolchain.data.audio import N_SAMPLES, SAMPLE_RATE, ClipInfo, decode_clip, tally
from toolchain.data.layouts import ClipReadError, Layout, Reader, ReaderSpec, open_layout
from toolchain.data.parallel import map_chunks
from toolchain.data.problems import SKIPPED, Problem, skipped_summary

LOADER_VERSION = 2  # bump when decoding changes, to invalidate existing cache entries
CHUNK = 500


@dataclass
class ClipSet:
    """A decoded data set split, ready for feature extraction.

    audio: float32 [N, n_samples]; 16-bit PCM scaled to [-1, 1) (int16 / 32768).
    labels: int8 [N]: 0/1, or -1 for unlabeled (test) clips.
    names: clip file names in data-set order (CSV order for Kaggle train; natural name order
        otherwise); order matters for blocked folds.
    sample_rate: Hz (2000).
    source: the path given.
    skipped: clips left out, with why.
    problems: everything found, including repairs (resampled, padded, ...) and CSV problems.
    split: "train" or "test".
    layout: "kaggle-folder" | "kaggle-zip" | "redux".
    cache_key: identifies this exact decoded content (feature caches build on it); "" if unknown.
    cache_hit: True when this set was read from the decode cache instead of decoded.
    content_sha256: hex SHA-256 of names, labels and audio samples (see the module docstring);
        "" for an unusable data set.
    """

    audio: np.ndarray
    labels: np.ndarray
    names: list[str]
    sample_rate: int
    source: str
    skipped: list[Problem]
    problems: list[Problem]
    split: str = "train"
    layout: str = ""
    cache_key: str = ""
    cache_hit: bool = False
    stats: dict = field(default_factory=dict, repr=False)  # what the files held (see audio.tally)
    content_sha256: str = ""

    def __len__(self) -> int:
        return int(self.audio.shape[0])

    def summary(self) -> str:
        """One line: how many clips, positives, and which were skipped."""
        n_pos = int(np.count_nonzero(self.labels == 1))
        return (f"{len(self)} clips ({n_pos} positive) from {self.source}; "
                + skipped_summary(self.skipped, len(self) + len(self.skipped)))


def _decode_chunk(files: list[str], spec: ReaderSpec, sample_rate: int, n_samples: int):
    """Decode `files` (worker side): (audio [k, n], kept mask, infos, problem dicts)."""
    audio = np.zeros((len(files), n_samples), dtype=np.float32)
    kept = np.zeros(len(files), dtype=bool)
    infos: list[ClipInfo] = []
    problems: list[dict] = []

    def unreadable(file: str, exc: OSError) -> None:
        if isinstance(exc, ClipReadError):  # says what the file is: "is a FIFO, ..."
            problems.append(Problem(file, exc.kind, f"{file} {exc}").to_dict())
        else:
            problems.append(Problem(file, "unreadable", f"{file}: cannot read "
                                    f"({exc.__class__.__name__}: {exc.strerror or exc})").to_dict())

    try:
        reader = Reader(spec)
    except OSError as exc:
        for file in files:
            unreadable(file, exc)
        return audio, kept, infos, problems
    with reader:
        for i, file in enumerate(files):
            try:
                with reader.clip(file) as source:
                    x, info, probs = decode_clip(source, file, sample_rate=sample_rate,
                                                 n_samples=n_samples)
            except OSError as exc:
                unreadable(file, exc)
                continue
            problems += [p.to_dict() for p in probs]
            if info is not None:
                infos.append(info)
            if x is not None:
                audio[i] = x
                kept[i] = True
    return audio, kept, infos, problems


def _decode(layout: Layout, sample_rate: int, n_samples: int, progress: bool,
            workers: int | None) -> tuple[np.ndarray, np.ndarray, list[dict], dict]:
    files = [e.file for e in layout.entries]
    chunks = [files[i:i + CHUNK] for i in range(0, len(files), CHUNK)]
    audio = np.empty((len(files), n_samples), dtype=np.float32)
    kept = np.empty(len(files), dtype=bool)
    infos: list[ClipInfo] = []
    problems: list[dict] = []
    func = partial(_decode_chunk, spec=layout.reader, sample_rate=sample_rate, n_samples=n_samples)
    results = map_chunks(func, chunks, [len(c) for c in chunks], workers=workers,
                         description=f"decoding {len(files)} clips", progress=progress)
    for start, (a, k, inf, probs) in zip(range(0, len(files), CHUNK), results):
        audio[start:start + len(k)] = a
        kept[start:start + len(k)] = k
        infos += inf
        problems += probs
    return audio, kept, problems, tally(infos)


def _readable_again(layout: Layout, clip_problems: list[dict]) -> bool:
    """Whether a clip that was unreadable when the cache entry was written reads now."""
    files = [p["file"] for p in clip_problems if p["kind"] == "unreadable"]
    if not files:
        return False
    try:
        with Reader(layout.reader) as reader:
            for file in files:
                try:
                    reader.read(file)
                    return True
                except OSError:
                    continue
    except OSError:
        return False
    return False


def content_digest(meta: dict) -> str:
    """ClipSet.content_sha256 from a sealed decode-cache meta (names + array digests)."""
    arrays = meta["arrays"]
    return hashlib.sha256(json.dumps({"names": meta["names"], "labels": arrays["labels"],
                                      "audio": arrays["audio"]}, sort_keys=True).encode()).hexdigest()


def _scan(path, split: str, cache: bool, progress: bool, sample_rate: int, n_samples: int,
          workers: int | None) -> tuple[ClipSet, bool]:
    """Decode (or read from cache) a split. Returns (ClipSet, fatal); never raises on bad data."""
    with open_layout(path, split) as layout:
        layout_problems = [p.to_dict() for p in layout.problems]
        if layout.fatal:
            empty = ClipSet(np.zeros((0, n_samples), np.float32), np.zeros(0, np.int8), [],
                            sample_rate, str(path), [], layout.problems, split, layout.kind)
            return empty, True
        key = _cache.make_key({"v": LOADER_VERSION, "kind": layout.kind, "split": split,
                               "rate": sample_rate, "n": n_samples, "files": layout.fingerprint})
        root = _cache.cache_root(path)
        folder = _cache.entry_dir(root, "clips", key)
        hit = _cache.load(folder) if cache else None
        if hit is not None and _readable_again(layout, hit[1]["problems"]):
            hit = None
        if hit is not None:
            arrays, meta = hit
            audio, labels = arrays["audio"], arrays["labels"]
        else:
            audio, kept, clip_problems, stats = _decode(layout, sample_rate, n_samples, progress,
                                                        workers)
            if not kept.all():
                audio = audio[kept]
            labels = np.array([e.label for e in layout.entries], dtype=np.int8)[kept]
            names = [e.name for e, k in zip(layout.entries, kept) if k]
            ident = _cache.dataset_id(path, split, sample_rate, n_samples)
            arrays = {"audio": audio, "labels": labels}
            meta = _cache.seal(arrays, {**ident, "clips_key": key, "layout": layout.kind,
                                        "names": names, "problems": clip_problems, "stats": stats})
            if cache and _cache.save(folder, arrays, meta):
                _cache.prune(root, ident, key)
    probs = [Problem.from_dict(p) for p in layout_problems + meta["problems"]]
    skipped = [p for p in probs if p.action == SKIPPED]
    clips = ClipSet(audio, labels, meta["names"], sample_rate, str(path), skipped, probs, split,
                    layout.kind, key, hit is not None, meta["stats"], content_digest(meta))
    return clips, False


def load_clips(path, *, split: str = "train", cache: bool = True, progress: bool = True,
               sample_rate: int = SAMPLE_RATE, n_samples: int = N_SAMPLES,
               workers: int | None = None) -> ClipSet:
    """Load every usable clip of `split` at `path` (Kaggle folder / zip / redux layout).

    Unusable clips are skipped (see ClipSet.skipped); raises DataError only when the data set as
    a whole cannot be used (no CSV, missing columns, nothing left to load). `workers`: decode
    processes (default: CPU count, at most 4).
    """
    clips, fatal = _scan(path, split, cache, progress, sample_rate, n_samples, workers)
    if fatal:
        raise DataError("; ".join(p.message for p in clips.problems if p.fatal))
    if len(clips) == 0:
        raise DataError(f"{path}: no usable clips for split {split!r}: "
                        + skipped_summary(clips.skipped, len(clips.skipped)))
    return clips


def check_dataset(path, *, split: str = "train", cache: bool = True, progress: bool = False,
                  workers: int | None = None) -> dict:
    """The data-check report of `split` at `path` (a JSON-able dict).

    Keys: path, split, layout, clips (loaded), skipped, classes (loaded clips per label),
    positive_fraction, sample_rates / channels / subtypes / durations_s (counts of what the
    readable files held, before repair), problem_counts (per kind), problems (list of dicts),
    fatal (bool: the data set cannot be used), cache_hit, content_sha256 (see ClipSet).
    """
    clips, fatal = _scan(path, split, cache, progress, SAMPLE_RATE, N_SAMPLES, workers)
    labels, counts = np.unique(clips.labels, return_counts=True)
    classes = {("unlabeled" if int(k) < 0 else str(int(k))): int(c) for k, c in zip(labels, counts)}
    kinds: dict[str, int] = {}
    for p in clips.problems:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    problems = [p.to_dict() for p in clips.problems]
    if not fatal and len(clips) == 0:
        problems.append(Problem(".", "no_clips", f"{path}: no usable clips: all "
                                f"{len(clips.skipped)} listed clip(s) were skipped", fatal=True,
                                action="refused").to_dict())
        kinds["no_clips"] = 1
        fatal = True
    n_labeled = int(np.count_nonzero(clips.labels >= 0))
    return {
        "path": str(path), "split": split, "layout": clips.layout,
        "clips": len(clips), "skipped": len(clips.skipped), "classes": classes,
        "positive_fraction": round(classes.get("1", 0) / n_labeled, 4) if n_labeled else None,
        **{k: clips.stats.get(k, {}) for k in ("sample_rates", "channels", "subtypes", "durations_s")},
        "problem_counts": kinds,
        "problems": problems,
        "fatal": fatal,
        "cache_hit": clips.cache_hit,
        "content_sha256": clips.content_sha256,
    }
