"""Layouts: sox-written AIFFs, zip and nested zip, the bare train.csv folder, redux, test split."""

import shutil
import subprocess
import tempfile
import zipfile

import numpy as np
import pytest

from tests.data_helpers import aiff, cache_dir, kaggle_folder, pcm  # noqa: F401  (cache_dir: fixture)
from toolchain.data import check_dataset, load_clips, synthesize

pytestmark = pytest.mark.usefixtures("cache_dir")


def test_aiff_written_by_sox_loads_to_the_same_samples(tmp_path):
    sox = shutil.which("sox")
    if sox is None:
        pytest.fail("sox is not installed: this test needs it to write AIFF files with another tool "
                    "(install with `apt-get install sox`, as `make tools` does)")
    clips = {}
    for i in range(1, 4):
        raw = tmp_path / f"clip{i}.raw"
        pcm(100 + i).astype(">i2").tofile(raw)
        out = tmp_path / f"train{i}.aiff"
        subprocess.run([sox, "-t", "raw", "-r", "2000", "-e", "signed", "-b", "16", "-c", "1", "-B",
                        str(raw), str(out)], check=True, capture_output=True)
        clips[out.name] = out.read_bytes()
    kaggle_folder(tmp_path / "sox", clips, [(n, "1") for n in clips])
    loaded = load_clips(tmp_path / "sox", progress=False)
    assert not loaded.problems
    expected = np.stack([pcm(100 + i) for i in range(1, 4)]).astype(np.float32) / np.float32(32768)
    assert np.array_equal(loaded.audio, expected)


def _zip_folder(folder, dest, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(dest, "w", compression) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
    return dest


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("layouts") / "s", 15, seed=5, n_test=4, progress=False)


def test_zip_and_nested_zip_load_the_same_clips_as_the_folder(synth, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"  # where a compressed nested zip is copied while loading
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    folder = load_clips(synth, progress=False)
    inner = _zip_folder(synth, tmp_path / "whale_data.zip")
    for outer_compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        outer = tmp_path / f"c{outer_compression}" / "whale-detection-challenge.zip"
        outer.parent.mkdir()
        with zipfile.ZipFile(outer, "w", outer_compression) as zf:
            zf.write(inner, "whale_data.zip")
        for path in (inner, outer, outer.parent):
            z = load_clips(path, progress=False)
            assert z.layout == "kaggle-zip" and z.names == folder.names, path
            assert np.array_equal(z.audio, folder.audio) and np.array_equal(z.labels, folder.labels)
    assert not list(scratch.iterdir())  # the temporary copy is gone
    assert not (tmp_path / "data").exists()  # nothing was unpacked


def test_the_folder_holding_train_csv_and_train_directly(synth):
    whole = load_clips(synth, progress=False)
    inner = load_clips(synth / "data", progress=False)
    assert inner.names == whole.names and np.array_equal(inner.audio, whole.audio)


def test_test_split_is_unlabeled_in_natural_order(synth):
    test = load_clips(synth, split="test", progress=False)
    assert test.names == ["test1.aiff", "test2.aiff", "test3.aiff", "test4.aiff"]
    assert (test.labels == -1).all() and test.audio.shape == (4, 4000)


def test_redux_layout_takes_labels_from_names_and_fixes_lengths(tmp_path):
    root = tmp_path / "redux"
    (root / "train2").mkdir(parents=True)
    (root / "test2").mkdir()
    names = ["20090328_000000_002s3ms_TRAIN10_1.aif", "20090328_000000_010s0ms_TRAIN2_0.aif",
             "20090328_000000_012s8ms_TRAIN3_1.aif"]
    lengths = [4000, 3990, 4100]
    for name, n in zip(names, lengths):
        (root / "train2" / name).write_bytes(aiff(pcm(n, n)))
    (root / "train2" / "20090328_000000_020s0ms_TRAIN4.aif").write_bytes(aiff(pcm(1)))
    (root / "test2" / "20090330_000000_015s2ms_Test0.aif").write_bytes(aiff(pcm(2)))
    clips = load_clips(root, progress=False)
    assert clips.layout == "redux" and clips.names == names and list(clips.labels) == [1, 0, 1]
    assert clips.audio.shape == (3, 4000) and not clips.audio[1, 3990:].any()
    assert np.array_equal(clips.audio[2], pcm(4100, 4100)[:4000] / np.float32(32768))
    kinds = {p.file: (p.kind, p.action) for p in clips.problems}
    assert kinds["train2/20090328_000000_010s0ms_TRAIN2_0.aif"] == ("length", "padded 3990->4000")
    assert kinds["train2/20090328_000000_012s8ms_TRAIN3_1.aif"] == ("length", "cropped 4100->4000")
    assert kinds["train2/20090328_000000_020s0ms_TRAIN4.aif"][0] == "bad_label"
    test = load_clips(root, split="test", progress=False)
    assert test.names == ["20090330_000000_015s2ms_Test0.aif"] and test.labels[0] == -1
    assert check_dataset(root)["durations_s"] == {"2.000": 1, "1.995": 1, "2.050": 1}
