"""A data set with one file of each problem: `data check` names each, loading skips or repairs."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from tests.data_helpers import aiff, broken_set, cache_dir, kaggle_folder, pcm  # noqa: F401  (cache_dir: fixture)
from toolchain.core.errors import DataError
from toolchain.data import check_dataset, load_clips

pytestmark = pytest.mark.usefixtures("cache_dir")


def _check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolchain", "data", "check", *args],
                          capture_output=True, text=True)


def test_data_check_names_every_problem_with_its_file(tmp_path):
    expected = broken_set(tmp_path / "broken")
    out = _check(str(tmp_path / "broken"), "--json")
    assert out.returncode == 0, out.stderr  # clip problems are not fatal
    report = json.loads(out.stdout)
    found = {(p["file"], p["kind"]) for p in report["problems"]}
    for file, kind in {**expected["skipped"], **expected["repaired"]}.items():
        assert (file, kind) in found, (file, kind)
    for p in report["problems"]:
        assert p["file"].rsplit("/", 1)[-1] in p["message"] and not p["fatal"]
    actions = {p["file"]: p["action"] for p in report["problems"]}
    assert actions["data/train/train7.aiff"] == "resampled 44100->2000 Hz"
    assert actions["data/train/train8.aiff"] == "mixed to mono"
    assert actions["data/train/train10.aiff"] == "padded 3500->4000"
    assert all(actions[f] == "skipped" for f in expected["skipped"])
    assert report["clips"] == 7 and report["skipped"] == 8 and report["classes"] == {"0": 4, "1": 3}
    assert report["sample_rates"]["44100"] == 1 and report["channels"]["2"] == 1
    assert report["durations_s"]["1.750"] == 1

    human = _check(str(tmp_path / "broken"))
    assert human.returncode == 0
    text = " ".join(human.stdout.split())  # rich may wrap long lines
    for file in [*expected["skipped"], *expected["repaired"]]:
        assert file in text, file
    assert "7 loaded, 8 skipped" in text


def test_loading_skips_and_repairs_what_it_reports(tmp_path):
    expected = broken_set(tmp_path / "broken")
    clips = load_clips(tmp_path / "broken", progress=False)
    assert clips.names == expected["loaded"]
    assert {p.file: p.kind for p in clips.skipped} == expected["skipped"]
    assert "skipped 8 of 15 clips" in clips.summary()
    row = dict(zip(clips.names, clips.audio))
    resampled = resample_poly(pcm(7, 88200) / 32768.0, 20, 441)
    assert resampled.shape == (4000,)
    np.testing.assert_allclose(row["train7.aiff"], resampled, atol=1e-6)
    assert not [p for p in clips.problems if p.file.endswith("train7.aiff") and p.kind == "length"]
    stereo = pcm(8, channels=2).astype(np.float64) / 32768
    np.testing.assert_allclose(row["train8.aiff"], stereo.mean(axis=1), atol=1e-7)
    assert np.array_equal(row["train10.aiff"][:3500], pcm(10, 3500) / np.float32(32768))
    assert not row["train10.aiff"][3500:].any()
    assert np.array_equal(row["train1.aiff"], pcm(1) / np.float32(32768))
    assert list(clips.labels) == [1, 0, 1, 0, 1, 0, 0]


def test_fatal_problems_exit_1_and_refuse_to_load(tmp_path):
    no_csv = tmp_path / "nocsv"
    kaggle_folder(no_csv, {"train1.aiff": aiff(pcm(1))}, [])
    (no_csv / "data" / "train.csv").unlink()
    out = _check(str(no_csv))
    assert out.returncode == 1 and "data/train.csv not found" in out.stdout
    with pytest.raises(DataError, match="train.csv"):
        load_clips(no_csv, progress=False)

    bad_header = tmp_path / "header"
    kaggle_folder(bad_header, {"train1.aiff": aiff(pcm(1))}, [])
    (bad_header / "data" / "train.csv").write_text("clip,lbl\ntrain1.aiff,1\n")
    report = check_dataset(bad_header)
    assert report["fatal"] and [p["kind"] for p in report["problems"]] == ["missing_column"]
    assert "clip_name, label" in report["problems"][0]["message"]

    nothing = tmp_path / "empty"
    nothing.mkdir()
    out = _check(str(nothing), "--json")
    assert out.returncode == 1 and json.loads(out.stdout)["problems"][0]["kind"] == "layout"

    missing = _check(str(tmp_path / "does-not-exist"))
    assert missing.returncode == 2 and "data set path not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_all_clips_unusable_is_an_error_naming_them(tmp_path):
    kaggle_folder(tmp_path / "d", {"train1.aiff": b""}, [("train1.aiff", "1")])
    with pytest.raises(DataError, match="train1.aiff"):
        load_clips(tmp_path / "d", progress=False)
    assert check_dataset(tmp_path / "d")["fatal"]


def test_float_and_24_bit_clips_are_converted_and_reported(tmp_path):
    x = np.linspace(-0.5, 0.5, 4000)
    kaggle_folder(tmp_path / "d", {"train1.aiff": aiff(x.astype(np.float32), subtype="FLOAT"),
                                   "train2.aiff": aiff(x, subtype="PCM_24")},
                  [("train1.aiff", "0"), ("train2.aiff", "1")])
    clips = load_clips(tmp_path / "d", progress=False)
    assert [p.kind for p in clips.problems] == ["subtype", "subtype"]
    np.testing.assert_allclose(clips.audio, np.stack([x, x]), atol=1e-6)
    assert sf.info(tmp_path / "d" / "data" / "train" / "train2.aiff").subtype == "PCM_24"
