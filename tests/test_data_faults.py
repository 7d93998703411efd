"""Hostile data (issue 9): every bad input is built here, and each test fails on the old loader.

Bounded memory for absurd headers, per-item faults listed as problems (never a traceback, never
opening a FIFO), huge float samples refused, content fingerprints, a decode cache that retries,
verifies and falls back, and process pools that neither print tracebacks nor outlive the parent.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from tests.data_helpers import aiff, cache_dir, kaggle_folder, pcm  # noqa: F401  (cache_dir: fixture)
from toolchain.core.errors import DataError
from toolchain.data import check_dataset, load_clips, synthesize
from toolchain.data.audio import MAX_ABS_SAMPLE, decode_clip
from toolchain.data.layouts import Reader, ReaderSpec
from toolchain.represent import make_features

pytestmark = pytest.mark.usefixtures("cache_dir")
ROOT = Path(__file__).resolve().parents[1]


def _kinds(report_or_clips) -> dict[str, str]:
    probs = report_or_clips["problems"] if isinstance(report_or_clips, dict) else [
        p.to_dict() for p in report_or_clips.problems]
    return {p["file"]: p["kind"] for p in probs}


def _messages(report: dict) -> str:
    return "\n".join(p["message"] for p in report["problems"])


@contextlib.contextmanager
def _deadline(seconds: int):
    """Fail (instead of hanging) if the block blocks, e.g. in open() on a FIFO."""
    def expire(signum, frame):
        raise TimeoutError(f"blocked for more than {seconds} s")

    before = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


@contextlib.contextmanager
def _unprivileged():
    """Run the block without root's right to read anything (tests run as root): effective uid
    'nobody', so chmod 000 really makes a file unreadable. A no-op for a normal user."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.fixture
def public_tmp():
    """A temporary folder that uid 'nobody' can enter (pytest's tmp_path is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="nd-faults-"))
    folder.chmod(0o755)
    yield folder
    for p in folder.rglob("*"):
        if not p.is_symlink():
            p.chmod(0o777)
    shutil.rmtree(folder, ignore_errors=True)


# -- 1. memory is bounded by the target length, and absurd rates are refused -------------------

def test_a_1_hz_header_is_refused_without_reading_its_1_2_million_frames(tmp_path):
    one_hz = aiff((np.arange(1_200_000) % 200 - 100).astype(np.int16), rate=1)
    kaggle_folder(tmp_path / "d", {"train1.aiff": aiff(pcm(1)), "train2.aiff": one_hz},
                  [("train1.aiff", "1"), ("train2.aiff", "0")])
    tracemalloc.start()
    try:
        clips = load_clips(tmp_path / "d", progress=False, cache=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the old loader resampled all 1.2 M frames to 2.4 G samples first (17.9 GiB of float64)
    assert peak < 4 << 20, f"peak {peak / 2**20:.1f} MiB"
    assert clips.names == ["train1.aiff"]
    (bad,) = [p for p in clips.skipped if p.file.endswith("train2.aiff")]
    assert bad.kind == "rate_out_of_range" and "1 Hz" in bad.message and "train2.aiff" in bad.message


def test_a_long_clip_reads_only_the_frames_its_2_s_need_and_gives_the_same_samples(tmp_path):
    low = pcm(3, 1_200_000)  # 100 Hz (the lowest accepted rate): 3.3 hours
    data = aiff(low, rate=100)
    tracemalloc.start()
    try:
        x, info, probs = decode_clip(data, "long.aiff")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # whole-clip resampling held 1.2 M * 20 = 24 M float64 samples (the old peak: 195 MiB)
    assert peak < 1 << 20, f"peak {peak / 2**20:.1f} MiB"
    assert info.frames == 1_200_000 and x.shape == (4000,)
    head = resample_poly(low[:1000].astype(np.float64) / 32768, 20, 1)[:4000]
    assert np.array_equal(x, head.astype(np.float32))
    assert {p.kind: p.action for p in probs}["length"] == "cropped 24000000->4000"

    stereo = pcm(4, 44100 * 30, channels=2)  # 30 s of 44.1 kHz stereo: bit-identical to the full path
    x, _, probs = decode_clip(aiff(stereo, rate=44100), "stereo.aiff")
    full = resample_poly(stereo.astype(np.float64).mean(axis=1) / 32768, 20, 441)[:4000]
    assert np.array_equal(x, full.astype(np.float32))
    assert [p.kind for p in probs] == ["stereo", "sample_rate", "length"]

    odd = decode_clip(aiff(pcm(5, 999_983 * 2 // 1000), rate=999_983), "odd.aiff")  # prime rate
    assert odd[0] is not None and "approximated" in odd[2][0].action


# -- 2. every per-item fault is a listed problem ------------------------------------------------

def test_links_fifos_devices_and_folders_named_like_clips_are_listed_and_never_opened(tmp_path, monkeypatch):
    root = kaggle_folder(tmp_path / "d", {"train1.aiff": aiff(pcm(1))},
                         [(f"train{i}.aiff", str(i % 2)) for i in range(1, 7)])
    train = root / "data" / "train"
    (train / "train2.aiff").symlink_to("train2.aiff")  # a loop
    os.mkfifo(train / "train3.aiff")
    (train / "train4.aiff").symlink_to("/dev/zero")  # a character device, endless if read
    (train / "train5.aiff").mkdir()
    (train / "train6.aiff").symlink_to(tmp_path / "gone.aiff")
    os.mkfifo(train / "train7.aiff")  # no CSV row either
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **k: (opened.append(str(p)), real_open(p, *a, **k))[1])
    with _deadline(30):
        report = check_dataset(root, cache=False)
    kinds = _kinds(report)
    assert {f: kinds[f"data/train/train{i}.aiff"] for i, f in
            [(2, "loop"), (3, "fifo"), (4, "device"), (5, "dir"), (6, "dangling"), (7, "fifo2")]} == {
        "loop": "symlink", "fifo": "not_a_file", "device": "not_a_file", "dir": "not_a_file",
        "dangling": "symlink", "fifo2": "not_a_file"}
    text = _messages(report)
    for what in ("train2.aiff is a symlink loop", "train3.aiff is a FIFO", "train4.aiff is a character device",
                 "train5.aiff is a directory", "train6.aiff is a dangling symlink"):
        assert what in text, what
    assert report["clips"] == 1 and not report["fatal"]
    assert sorted(Path(p).name for p in opened) == ["train.csv", "train1.aiff"], opened

    # the data set path itself being a FIFO: refused by name, not opened (is_zipfile would block)
    os.mkfifo(tmp_path / "pipe")
    with _deadline(30), pytest.raises(DataError, match="pipe is a FIFO"):
        check_dataset(tmp_path / "pipe")

    # a file swapped for a FIFO after listing: the reader checks again before it opens
    with _deadline(30), Reader(ReaderSpec("dir", str(train))) as reader, \
            pytest.raises(OSError, match="FIFO"):
        reader.read("train3.aiff")


def test_unreadable_folders_csv_and_clips_are_problems_naming_them(public_tmp):
    def make(name: str) -> Path:
        root = kaggle_folder(public_tmp / name, {f"train{i}.aiff": aiff(pcm(i)) for i in (1, 2)},
                             [("train1.aiff", "1"), ("train2.aiff", "0")])
        for p in [root, *root.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        return root

    cases = {"folder": "data/train", "csv": "data/train.csv", "clip": "data/train/train2.aiff",
             "root": "."}
    roots = {case: make(case) for case in cases}
    for case, rel in cases.items():
        (roots[case] / rel).chmod(0)
    with _unprivileged():
        reports = {case: check_dataset(roots[case], cache=False) for case in cases}
        with pytest.raises(DataError, match="cannot read"):
            load_clips(roots["csv"], cache=False, progress=False)
    folder = reports["folder"]
    assert folder["fatal"] and _kinds(folder)["data/train"] == "unreadable"
    assert "data/train/train1.aiff cannot be read: folder data/train cannot be listed (PermissionError" in _messages(folder)
    csv_report = reports["csv"]
    assert csv_report["fatal"] and [(p["file"], p["kind"]) for p in csv_report["problems"]] == [
        ("data/train.csv", "unreadable")]
    clip = reports["clip"]
    assert not clip["fatal"] and clip["clips"] == 1 and _kinds(clip)["data/train/train2.aiff"] == "unreadable"
    root = reports["root"]
    assert root["fatal"] and [p["kind"] for p in root["problems"]] == ["unreadable", "layout"]
    assert "cannot list this folder (PermissionError" in root["problems"][0]["message"]


def test_csv_rows_in_latin1_with_a_nul_byte_or_a_huge_field_are_listed_by_line(tmp_path):
    clips = {f"train{i}.aiff": aiff(pcm(i)) for i in range(1, 6)}
    root = kaggle_folder(tmp_path / "d", clips, [])
    (root / "data" / "train.csv").write_bytes(
        b"clip_name,label\ntrain1.aiff,1\n" + "train2é.aiff,0\n".encode("latin-1")
        + b"train3.aiff\x00,1\n" + b"train4.aiff," + b"1" * 200_000 + b"\ntrain5.aiff,0\n")
    report = check_dataset(root, cache=False)
    assert not report["fatal"] and report["clips"] == 2  # train1, train5
    bad = {p["message"].split(":")[0]: p["message"] for p in report["problems"] if p["kind"] == "bad_row"}
    assert set(bad) == {"data/train.csv line 3", "data/train.csv line 4", "data/train.csv line 5"}
    assert "not UTF-8 text (byte 0xe9)" in bad["data/train.csv line 3"]
    assert "NUL" in bad["data/train.csv line 4"] and "field limit" in bad["data/train.csv line 5"]
    assert all(len(p["message"]) < 300 for p in report["problems"])  # the 200 kB field is not echoed

    (root / "data" / "train.csv").write_bytes("clip_name,label\ntrain1.aiff,1\n".encode("utf-16"))
    report = check_dataset(root, cache=False)
    assert report["fatal"] and [p["kind"] for p in report["problems"]] == ["encoding"]
    assert "UTF-16" in report["problems"][0]["message"]


def test_repeated_rows_same_label_ignored_opposite_labels_name_both_lines(tmp_path):
    root = kaggle_folder(tmp_path / "d", {f"train{i}.aiff": aiff(pcm(i)) for i in (1, 2, 3)},
                         [("train1.aiff", "1"), ("train2.aiff", "0"), ("train3.aiff", "1"),
                          ("train1.aiff", "1"), ("train2.aiff", "1")])
    clips = load_clips(root, progress=False, cache=False)
    assert clips.names == ["train1.aiff", "train3.aiff"] and list(clips.labels) == [1, 1]
    (conflict,) = [p for p in clips.problems if p.kind == "conflicting_labels"]
    assert conflict.file == "data/train/train2.aiff" and conflict in clips.skipped
    assert "lines 3 and 6" in conflict.message and "label 0 on line 3, 1 on line 6" in conflict.message
    (dup,) = [p for p in clips.problems if p.kind == "duplicate_row"]
    assert dup.action == "row ignored" and dup not in clips.skipped and "first on line 2" in dup.message
    assert "skipped 1 of 3 clips" in clips.summary()


def test_train_csv_that_is_a_directory_is_named(tmp_path):
    root = kaggle_folder(tmp_path / "d", {"train1.aiff": aiff(pcm(1))}, [])
    (root / "data" / "train.csv").unlink()
    (root / "data" / "train.csv").mkdir()
    report = check_dataset(root, cache=False)
    assert report["fatal"] and report["problems"][0]["kind"] == "not_a_file"
    assert "data/train.csv is a directory" in report["problems"][0]["message"]


def _patch_member(data: bytes, name: str, *, flags: int | None = None, method: int | None = None) -> bytes:
    """Zip bytes with member `name`'s general-purpose flags / compression method changed in both
    its local header and its central-directory entry (what an encrypting or a deflate64 / AES
    archiver writes there; zipfile reads only these fields to decide it cannot read the member)."""
    buf = bytearray(data)
    encoded = name.encode()
    for sig, name_at, flag_at in ((b"PK\x03\x04", 30, 6), (b"PK\x01\x02", 46, 8)):
        pos = 0
        while (pos := buf.find(sig, pos)) >= 0:
            if buf[pos + name_at:pos + name_at + len(encoded)] == encoded:
                if flags is not None:
                    buf[pos + flag_at:pos + flag_at + 2] = flags.to_bytes(2, "little")
                if method is not None:
                    buf[pos + flag_at + 2:pos + flag_at + 4] = method.to_bytes(2, "little")
            pos += 4
    return bytes(buf)


def _zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_faults_encrypted_unsupported_method_corrupt_inner_and_truncated(tmp_path):
    csv = b"clip_name,label\n" + b"".join(f"train{i}.aiff,{i % 2}\n".encode() for i in (1, 2, 3))
    members = {"data/train.csv": csv, **{f"data/train/train{i}.aiff": aiff(pcm(i)) for i in (1, 2, 3)}}
    data = _zip_bytes(members)
    data = _patch_member(data, "data/train/train2.aiff", flags=0x1)
    data = _patch_member(data, "data/train/train3.aiff", method=9)  # deflate64
    (tmp_path / "whale_data.zip").write_bytes(data)
    report = check_dataset(tmp_path / "whale_data.zip", cache=False)
    assert report["clips"] == 1 and not report["fatal"]
    assert _kinds(report)["data/train/train2.aiff"] == "encrypted"
    assert _kinds(report)["data/train/train3.aiff"] == "compression"
    assert "method 9 (deflate64)" in _messages(report)

    locked = tmp_path / "locked" / "whale_data.zip"
    locked.parent.mkdir()
    locked.write_bytes(_patch_member(_zip_bytes(members), "data/train.csv", flags=0x1))
    report = check_dataset(locked, cache=False)
    assert report["fatal"] and report["problems"][0]["kind"] == "encrypted"

    garbage = b"PK\x03\x04 this was never a zip" * 20
    beside = tmp_path / "beside"  # a folder holding a damaged whale_data.zip
    beside.mkdir()
    (beside / "whale_data.zip").write_bytes(garbage)
    outer = tmp_path / "whale-detection-challenge.zip"  # a zip holding one
    outer.write_bytes(_zip_bytes({"whale_data.zip": garbage}))
    for path in (beside, outer):
        report = check_dataset(path, cache=False)
        assert report["fatal"] and report["problems"][0]["kind"] == "corrupt_zip", path
        assert report["problems"][0]["file"] == "whale_data.zip"
        assert "truncated or corrupt zip" in report["problems"][0]["message"]

    cut = tmp_path / "cut.zip"
    cut.write_bytes(_zip_bytes(members)[:-300])  # a download cut short
    out = subprocess.run([sys.executable, "-m", "toolchain", "data", "check", str(cut), "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    (problem,) = json.loads(out.stdout)["problems"]
    assert problem["kind"] == "corrupt_zip" and "cut.zip: truncated or corrupt zip" in problem["message"]
    assert "neither a folder nor a zip" not in out.stdout + out.stderr


# -- 3. huge finite samples never reach the features -------------------------------------------

def test_huge_but_finite_float_samples_are_skipped_and_named(tmp_path):
    x = np.linspace(-0.5, 0.5, 4000).astype(np.float32)
    big, loud, wav = x.copy(), 1.5 * x, x.astype(np.float64)
    big[1234] = 1e30
    wav[99] = 1e39  # finite as float64, inf as the float32 the features use
    buf = io.BytesIO()
    sf.write(buf, wav, 2000, format="WAV", subtype="DOUBLE")
    root = kaggle_folder(tmp_path / "d", {"train1.aiff": aiff(pcm(1)), "train2.aiff": aiff(big, subtype="FLOAT"),
                                          "train3.aiff": aiff(loud, subtype="FLOAT"),
                                          "train4.aiff": buf.getvalue()},
                         [("train1.aiff", "1"), ("train2.aiff", "0"), ("train3.aiff", "1"), ("train4.aiff", "0")])
    clips = load_clips(root, progress=False)
    assert clips.names == ["train1.aiff", "train3.aiff"]  # a level of 1.5 is unusual, not damage
    skipped = {p.file: p for p in clips.skipped}
    assert skipped["data/train/train2.aiff"].kind == "amplitude"
    assert "sample 1234 is 1e+30" in skipped["data/train/train2.aiff"].message
    assert skipped["data/train/train4.aiff"].kind == "nan"
    assert "not finite as float32" in skipped["data/train/train4.aiff"].message
    assert float(np.abs(clips.audio).max()) <= MAX_ABS_SAMPLE
    assert np.isfinite(make_features(clips, "spectrogram", cache=False)).all()


# -- 4. the data fingerprint covers the audio --------------------------------------------------

def _rewrite_clip(root: Path, name: str, seed: int) -> None:
    clip = root / "data" / "train" / name
    clip.write_bytes(aiff(pcm(seed)))


def test_the_data_fingerprint_sees_regenerated_audio_but_not_a_move_a_zip_or_the_cache(tmp_path):
    from toolchain.train.inputs import data_fingerprint

    data = synthesize(tmp_path / "s", 12, seed=1, progress=False)
    fp = data_fingerprint(load_clips(data, progress=False))
    assert fp.startswith("content-sha256:")
    hit = load_clips(data, progress=False)
    assert hit.cache_hit and data_fingerprint(hit) == fp
    assert data_fingerprint(load_clips(data, cache=False, progress=False)) == fp
    moved = shutil.copytree(data, tmp_path / "elsewhere")
    assert data_fingerprint(load_clips(moved, progress=False)) == fp
    zipped = tmp_path / "whale_data.zip"
    zipped.write_bytes(_zip_bytes({p.relative_to(data).as_posix(): p.read_bytes()
                                   for p in sorted((data / "data").rglob("*")) if p.is_file()},
                                  zipfile.ZIP_DEFLATED))
    assert data_fingerprint(load_clips(zipped, progress=False)) == fp
    _rewrite_clip(moved, "train5.aiff", 77)  # same names, same labels, other audio
    assert data_fingerprint(load_clips(moved, progress=False)) != fp


def test_deployment_and_quantize_refuse_other_audio_and_old_fingerprints(tmp_path):
    from toolchain.deploy.features import select_features
    from toolchain.train.checkpoint import LoadedRun
    from toolchain.train.inputs import load_inputs

    data = synthesize(tmp_path / "s", 12, seed=2, progress=False)
    cfg = {"data": {"path": str(data), "cache": True}, "representation": {"kind": "waveform"}}
    trained = load_inputs(cfg, progress=False)
    meta = {"representation": trained.representation, "data_fingerprint": trained.fingerprint,
            "val_indices": [1, 4]}
    assert select_features(meta, str(data), progress=False).note == "validation split of the training run"
    run = SimpleNamespace(config={**cfg, "resolved": {"data_fingerprint": trained.fingerprint}},
                          path=tmp_path / "run", representation=trained.representation)
    assert LoadedRun.load_inputs(run).fingerprint == trained.fingerprint

    legacy = "0" * 64  # what runs recorded before: a bare SHA-256 of names and labels
    old = select_features({**meta, "data_fingerprint": legacy}, str(data), progress=False)
    assert "older data fingerprint" in old.note and list(old.indices[:2]) == [0, 1]
    with pytest.raises(DataError, match="older data fingerprint"):
        LoadedRun.load_inputs(SimpleNamespace(**{**vars(run), "config": {
            **cfg, "resolved": {"data_fingerprint": legacy}}}))

    _rewrite_clip(data, "train3.aiff", 55)
    assert "differs" in select_features(meta, str(data), progress=False).note
    with pytest.raises(DataError, match="audio"):
        LoadedRun.load_inputs(run)  # quantize would calibrate on other audio


# -- 5. the decode cache retries, verifies and falls back --------------------------------------

def test_a_clip_unreadable_once_is_read_again_when_it_becomes_readable(public_tmp, monkeypatch):
    root = kaggle_folder(public_tmp / "d", {f"train{i}.aiff": aiff(pcm(i)) for i in (1, 2, 3)},
                         [("train1.aiff", "1"), ("train2.aiff", "0"), ("train3.aiff", "1")])
    cache = public_tmp / "cache"
    cache.mkdir(mode=0o777)
    cache.chmod(0o777)
    monkeypatch.setenv("NEURODEPLOY_CACHE", str(cache))
    for p in [root, *root.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    clip = root / "data" / "train" / "train2.aiff"
    clip.chmod(0)
    with _unprivileged():
        first = load_clips(root, progress=False)
        again = load_clips(root, progress=False)
    assert first.names == ["train1.aiff", "train3.aiff"] and again.cache_hit
    assert [p.kind for p in first.skipped] == ["unreadable"]
    clip.chmod(0o644)  # the chmod that fixed it (mtime and size unchanged)
    with _unprivileged():
        fixed = load_clips(root, progress=False)
    assert fixed.names == ["train1.aiff", "train2.aiff", "train3.aiff"] and not fixed.skipped
    assert not fixed.cache_hit and load_clips(root, progress=False).cache_hit


def test_an_edited_cache_entry_is_refused_with_a_warning_and_rebuilt(tmp_path, caplog):
    cache = Path(os.environ["NEURODEPLOY_CACHE"])  # the cache_dir fixture's folder
    data = synthesize(tmp_path / "s", 10, seed=3, progress=False)
    truth = load_clips(data, progress=False)
    (entry,) = cache.glob("clips-*")
    np.save(entry / "labels.npy", (1 - truth.labels).astype(np.int8))  # inverted labels
    with caplog.at_level(logging.WARNING, logger="neurodeploy.data"):
        served = load_clips(data, progress=False)
    assert not served.cache_hit and np.array_equal(served.labels, truth.labels)
    assert "labels.npy does not match its checksum" in caplog.text and str(entry) in caplog.text
    assert load_clips(data, progress=False).cache_hit  # rebuilt

    meta = json.loads((entry / "meta.json").read_text())
    meta["names"] = meta["names"][::-1]
    (entry / "meta.json").write_text(json.dumps(meta))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="neurodeploy.data"):
        assert load_clips(data, progress=False).names == truth.names
    assert "meta.json does not match its checksum" in caplog.text

    feats = make_features(truth, "waveform")
    (fentry,) = cache.glob("features-*")
    np.save(fentry / "features.npy", np.zeros_like(feats))
    info: dict = {}
    assert np.array_equal(make_features(truth, "waveform", info=info), feats) and not info["cache_hit"]


def test_an_unwritable_cache_folder_means_no_cache_and_one_warning(tmp_path, monkeypatch, caplog):
    data = synthesize(tmp_path / "s", 6, seed=4, progress=False)
    (tmp_path / "afile").write_text("not a folder")
    monkeypatch.setenv("NEURODEPLOY_CACHE", str(tmp_path / "afile" / "cache"))
    with caplog.at_level(logging.WARNING, logger="neurodeploy.data"):
        first = load_clips(data, progress=False)
        second = load_clips(data, progress=False)
        make_features(second, "waveform")
    assert len(first) == len(second) == 6 and not second.cache_hit
    warnings = [r for r in caplog.records if "cannot write the cache" in r.getMessage()]
    assert len(warnings) == 1 and "continuing without a cache" in warnings[0].getMessage()


# -- 6. process pools and staging folders ------------------------------------------------------

def _python(script: str) -> subprocess.CompletedProcess:
    """`script` run by this interpreter in a fresh process, with the project importable."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)

def test_pool_workers_print_no_traceback_when_the_pool_shuts_down():
    script = ("from toolchain.train.runtime import sigterm_as_interrupt\n"
              "sigterm_as_interrupt()  # what train / pipeline install; forked workers inherit it\n"
              "from toolchain.data.parallel import map_chunks\n"
              "for _ in range(3):\n"
              "    assert sum(map_chunks(len, [[0] * 1000] * 4, [1000] * 4, workers=2, progress=False)) == 4000\n")
    out = _python(script)
    assert out.returncode == 0 and out.stderr == "", out.stderr


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the workers")
def test_a_killed_synth_leaves_no_staging_behind_and_its_workers_stop(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".synth-mine").mkdir()  # a user's folder that merely looks like staging: kept
    proc = subprocess.Popen([sys.executable, "-m", "toolchain", "data", "synth", str(out), "--clips", "4000",
                             "--json"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not list(out.glob(".synth-*/data/train/*.aiff")) and proc.poll() is None:
            assert time.monotonic() < deadline, "synth wrote nothing"
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert workers, "no pool workers to watch"
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 20
    while not all(_gone(w) for w in workers):
        assert time.monotonic() < deadline, f"workers {workers} outlived their parent"
        time.sleep(0.05)
    (stage,) = [p for p in out.glob(".synth-*") if p.name != ".synth-mine"]
    marker = json.loads((stage / ".neurodeploy-staging.json").read_text())
    assert marker["pid"] == proc.pid and marker["host"] == socket.gethostname()

    synthesize(out, 5, seed=9, progress=False)  # the next run proves the staging was its own kind
    assert sorted(p.name for p in out.iterdir()) == [".synth-mine", "data", "synth.json"]
    assert stat.S_ISDIR((out / ".synth-mine").stat().st_mode)


def test_a_forked_worker_ends_silently_on_sigterm_under_the_commands_handler():
    """A process forked after `sigterm_as_interrupt()` (as every pool worker is) inherits the
    handler; SIGTERM (what Pool.terminate sends a worker that has not yet taken its sentinel) must
    end it with the default action, not a KeyboardInterrupt traceback on stderr."""
    script = ("import multiprocessing as mp, os, signal, sys, time\n"
              "from toolchain.train.runtime import sigterm_as_interrupt\n"
              "sigterm_as_interrupt()\n"
              "def idle(ready):\n"
              "    ready.set()\n"
              "    time.sleep(60)\n"
              "ctx = mp.get_context('fork')\n"
              "ready = ctx.Event()\n"
              "p = ctx.Process(target=idle, args=(ready,))\n"
              "p.start(); ready.wait(30); time.sleep(0.2)\n"
              "os.kill(p.pid, signal.SIGTERM); p.join(30)\n"
              "print(p.exitcode)\n")
    out = _python(script)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert out.stdout.strip() == str(-signal.SIGTERM)
