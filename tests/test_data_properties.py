"""Property tests (Hypothesis) for the data layer's outside input: train.csv, the folder / zip
layout detection and clip headers. Whatever the bytes, the answer is a data set, listed
problems or a DataError naming the path -- never another exception, never a huge allocation."""

from __future__ import annotations

import io
import shutil
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.data_helpers import aiff, pcm
from toolchain.core.errors import DataError
from toolchain.data import check_dataset, load_clips
from toolchain.data.audio import MAX_ABS_SAMPLE, N_SAMPLES, decode_clip

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
NAMES = ["train1.aiff", "train2.aiff", "train3.aiff", "train4.aiff"]
VALID_CSV = "clip_name,label\n" + "".join(f"{n},{i % 2}\n" for i, n in enumerate(NAMES))


@pytest.fixture(scope="module")
def folder():
    """A Kaggle folder with four real clips; each example rewrites its train.csv."""
    root = Path(tempfile.mkdtemp(prefix="nd-props-"))
    (root / "data" / "train").mkdir(parents=True)
    for i, name in enumerate(NAMES):
        (root / "data" / "train" / name).write_bytes(aiff(pcm(i)))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _outcome(path) -> str:
    """'ok' (a usable data set), 'unusable' (fatal problems listed) or 'refused' (DataError)."""
    try:
        report = check_dataset(path, cache=False)
    except DataError as exc:
        assert str(exc)
        return "refused"
    assert isinstance(report["problems"], list)
    for p in report["problems"]:
        assert p["message"] and p["kind"] and isinstance(p["fatal"], bool)
    if report["fatal"]:
        with pytest.raises(DataError):
            load_clips(path, cache=False, progress=False)
        return "unusable"
    clips = load_clips(path, cache=False, progress=False)
    assert clips.audio.shape == (report["clips"], N_SAMPLES) == (len(clips.names), N_SAMPLES)
    assert set(clips.names) <= set(NAMES) and set(np.unique(clips.labels)) <= {0, 1}
    return "ok"


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_as_train_csv(folder, data):
    (folder / "data" / "train.csv").write_bytes(data)
    _outcome(folder)


_EDITS = st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace", "duplicate_line"]),
                            st.integers(0, 10_000),
                            st.sampled_from([",", "\n", "\r", '"', "\x00", "\udce9", "é", "0", "1", "2",
                                             " ", "train1.aiff", "label", "clip_name", "\t", "\ufeff"])),
                  min_size=1, max_size=6)


@SETTINGS
@given(_EDITS)
def test_random_edits_of_a_valid_train_csv(folder, edits):
    text = VALID_CSV
    for op, at, piece in edits:
        at %= len(text) + 1
        if op == "insert":
            text = text[:at] + piece + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + len(piece):]
        elif op == "replace":
            text = text[:at] + piece + text[at + 1:]
        else:
            lines = text.splitlines(keepends=True) or [""]
            text += lines[at % len(lines)]
    (folder / "data" / "train.csv").write_bytes(text.encode("utf-8", "surrogateescape"))
    _outcome(folder)


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


MEMBERS = {"data/train.csv": VALID_CSV.encode(),
           **{f"data/train/{n}": aiff(pcm(i)) for i, n in enumerate(NAMES)}}
GOOD_ZIP = _zip(MEMBERS)
NESTED_ZIP = _zip({"whale_data.zip": _zip(MEMBERS, zipfile.ZIP_STORED)}, zipfile.ZIP_STORED)


@SETTINGS
@given(base=st.sampled_from(["plain", "nested"]), cut=st.integers(0, 10**6),
       flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=4),
       suffix=st.sampled_from([".zip", ".bin"]))
def test_damaged_zips(tmp_path_factory, base, cut, flips, suffix):
    data = bytearray(GOOD_ZIP if base == "plain" else NESTED_ZIP)
    for at, xor in flips:
        data[at % len(data)] ^= xor
    data = bytes(data[:len(data) - cut % (len(data) + 1)]) if cut % 3 else bytes(data)
    path = tmp_path_factory.mktemp("zip") / ("whale_data" + suffix)
    path.write_bytes(data)
    if _outcome(path) == "refused":
        assert not data.startswith(b"PK") and suffix != ".zip"  # a zip-like file is diagnosed


@SETTINGS
@given(st.binary(max_size=300), st.sampled_from(["whale_data.zip", "train.csv", "x"]))
def test_any_bytes_as_the_data_set_path(tmp_path_factory, data, name):
    path = tmp_path_factory.mktemp("any") / name
    path.write_bytes(data)
    _outcome(path)


HEADER = aiff(pcm(7))[:64]


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 63), st.integers(0, 255)), min_size=1, max_size=6),
       st.sampled_from([0, 100, 4000, 20_000]))
def test_damaged_aiff_headers_never_raise_or_allocate_much(edits, tail):
    head = bytearray(HEADER)
    for at, value in edits:
        head[at] = value
    data = bytes(head) + aiff(pcm(7))[64:64 + tail * 2]
    tracemalloc.start()
    try:
        x, info, problems = decode_clip(data, "train7.aiff")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"{peak / 2**20:.0f} MiB for a {len(data)}-byte clip"
    if x is None:
        assert any(p.action == "skipped" for p in problems)
    else:
        assert x.shape == (N_SAMPLES,) and x.dtype == np.float32
        assert np.isfinite(x).all() and float(np.abs(x).max()) <= MAX_ABS_SAMPLE
