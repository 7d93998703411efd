"""Synthetic data set: Kaggle format, determinism, class balance, and calls that really sweep up."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tests.data_helpers import cache_dir  # noqa: F401  (cache_dir: fixture)
from toolchain.core.errors import ConfigError
from toolchain.data import SynthConfig, load_clips, synthesize
from toolchain.data.synth import generate_clip
from toolchain.represent import spectrogram

pytestmark = pytest.mark.usefixtures("cache_dir")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolchain", *args], capture_output=True, text=True)


def test_round_trip_shapes_labels_and_samples(tmp_path):
    out = synthesize(tmp_path / "s", 40, seed=3, progress=False)
    clips = load_clips(out, progress=False)
    assert clips.audio.shape == (40, 4000) and clips.audio.dtype == np.float32
    assert clips.labels.dtype == np.int8 and set(np.unique(clips.labels)) == {0, 1}
    assert int(clips.labels.sum()) == round(0.234 * 40) == 9
    assert clips.names == [f"train{i}.aiff" for i in range(1, 41)]
    assert clips.sample_rate == 2000 and not clips.skipped and not clips.problems
    csv = (out / "data" / "train.csv").read_text().splitlines()
    assert csv[0] == "clip_name,label" and csv[5] == f"train5.aiff,{clips.labels[4]}"
    raw, rate = sf.read(out / "data" / "train" / "train7.aiff", dtype="int16")
    assert rate == 2000
    assert np.array_equal(clips.audio[6], raw / np.float32(32768))
    info = sf.info(out / "data" / "train" / "train7.aiff")
    assert (info.format, info.subtype, info.channels, info.frames) == ("AIFF", "PCM_16", 1, 4000)
    head = (out / "data" / "train" / "train7.aiff").read_bytes()[:12]
    assert head[:4] == b"FORM" and head[8:] == b"AIFF"


def test_same_seed_gives_identical_bytes(tmp_path):
    a = synthesize(tmp_path / "a", 12, seed=7, progress=False)
    b = synthesize(tmp_path / "b", 12, seed=7, progress=False)
    c = synthesize(tmp_path / "c", 12, seed=8, progress=False)
    files = sorted(p.relative_to(a) for p in (a / "data").rglob("*") if p.is_file())
    assert len(files) == 13
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert (a / files[-1]).read_bytes() != (c / files[-1]).read_bytes()
    (a / files[0]).unlink()  # an incomplete set with the same settings is written again
    assert synthesize(a, 12, seed=7, progress=False) == a
    assert (a / files[0]).read_bytes() == (b / files[0]).read_bytes()


def test_positive_fraction_is_exact_and_shuffled():
    from toolchain.data.synth import draw_labels

    labels = draw_labels(30000, 0, 0.234)
    assert int(labels.sum()) == 7020
    assert 0.2 < labels[:3000].mean() < 0.27 and not np.array_equal(labels, draw_labels(30000, 1, 0.234))


def test_clean_positives_hold_a_rising_call_in_band_and_negatives_do_not():
    cfg = SynthConfig(snr_db_min=25, snr_db_max=25, partial_prob=0, confounder_prob=0,
                      positive_confounder_prob=0, tonal_prob=0, click_prob=0)
    for i in range(6):
        s = spectrogram(generate_clip(0, i, 1, cfg).astype(np.float32) / 32768)
        band = s[13:61]  # 50.8-234 Hz
        strong = band.max(axis=0) > 0.85
        ridge_hz = (band.argmax(axis=0) + 13) * 2000 / 512
        assert strong.sum() >= 15, i  # >= 0.2 s of call
        assert np.corrcoef(np.flatnonzero(strong), ridge_hz[strong])[0, 1] > 0.9, i
        assert 70 <= ridge_hz[strong].min() and ridge_hz[strong].max() <= 240
        # the call stands > 30 dB (0.375 of the 80 dB range) above the band's median; noise alone
        # peaks about 15 dB above it
        neg = spectrogram(generate_clip(0, i, 0, cfg).astype(np.float32) / 32768)[13:61]
        assert band.max() - np.median(band) > 0.4 > 0.3 > neg.max() - np.median(neg), i


def test_knobs_are_validated():
    with pytest.raises(ConfigError, match="partial_prob"):
        SynthConfig(partial_prob=1.5)
    with pytest.raises(ConfigError, match="unknown synth knob"):
        SynthConfig.from_dict({"snr": 3})


def test_synth_cli_reuses_refuses_and_forces(tmp_path):
    out = tmp_path / "cli"
    first = _cli("data", "synth", str(out), "--clips", "10", "--seed", "2", "--snr-min", "3", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["knobs"]["snr_db_min"] == 3.0
    stamp = (out / "data" / "train" / "train1.aiff").stat().st_mtime_ns
    again = _cli("data", "synth", str(out), "--clips", "10", "--seed", "2", "--snr-min", "3")
    assert again.returncode == 0 and (out / "data" / "train" / "train1.aiff").stat().st_mtime_ns == stamp
    toml = tmp_path / "knobs.toml"
    toml.write_text("[synth]\nsnr_db_min = 1.0\nclick_prob = 0.0\n")
    refused = _cli("data", "synth", str(out), "--clips", "10", "--config", str(toml))
    assert refused.returncode == 2 and "--force" in refused.stderr
    forced = _cli("data", "synth", str(out), "--clips", "10", "--config", str(toml), "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    knobs = json.loads((out / "synth.json").read_text())["knobs"]
    assert knobs["snr_db_min"] == 1.0 and knobs["click_prob"] == 0.0
    assert sorted(p.name for p in out.iterdir()) == ["data", "synth.json"]  # no staging left
    assert "--partial-prob" in _cli("data", "synth", "--help").stdout
