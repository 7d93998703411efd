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


def test_a_positive_is_its_negative_recording_plus_the_call():
    cfg = SynthConfig(confounder_prob=0, positive_confounder_prob=0)
    f = np.fft.rfftfreq(4000, 1 / 2000)
    for i in range(8):
        neg = generate_clip(5, i, 0, cfg).astype(np.int64)
        call = generate_clip(5, i, 1, cfg).astype(np.int64) - neg
        if np.abs(neg).max() >= 32767 or np.abs(call + neg).max() >= 32767:
            continue  # clipped at full scale: not a plain sum any more
        loud = np.flatnonzero(np.abs(call) > 1)  # int16 rounding of the two sums: +-1
        assert loud.size and (loud[-1] - loud[0]) / 2000 <= 1.0, i  # one call, <= 1 s
        power = np.abs(np.fft.rfft(call.astype(float))) ** 2
        assert power[(f >= 50) & (f <= 250)].sum() > 0.6 * power.sum(), i  # energy in the up-call band


def test_recordings_differ_in_ambient_level_and_loud_calls_show_in_the_clip_energy():
    quiet = SynthConfig(tonal_prob=0, click_prob=0, confounder_prob=0, positive_confounder_prob=0)
    levels = [20 * np.log10(np.sqrt(np.mean((generate_clip(1, i, 0, quiet) / 32768) ** 2))) for i in range(60)]
    assert 10 < max(levels) - min(levels) <= 2 * quiet.noise_spread_db + 1
    assert abs(np.median(levels) - quiet.noise_dbfs) < 3
    loud = SynthConfig(snr_db_min=30, snr_db_max=35, tonal_prob=0, click_prob=0, confounder_prob=0,
                       positive_confounder_prob=0)
    gain = [np.mean(generate_clip(2, i, 1, loud).astype(float) ** 2) / np.mean(generate_clip(2, i, 0, loud).astype(float) ** 2)
            for i in range(10)]
    assert min(gain) > 10  # a 30 dB call over 0.5-1 s of the 2 s clip: > 10 dB more energy


def test_every_knob_is_a_cli_option_documented_with_its_default():
    from dataclasses import fields

    from toolchain.cli.data_cmds import SYNTH_KNOBS
    from toolchain.data import synth

    assert sorted(f for f, _ in SYNTH_KNOBS.values()) == sorted(f.name for f in fields(SynthConfig))
    defaults = SynthConfig()
    for flag, (name, text) in SYNTH_KNOBS.items():
        assert text.endswith(f"[{getattr(defaults, name):g}]"), flag
        assert name in synth.__doc__, name
    with pytest.raises(ConfigError, match="noise_slope_min"):
        SynthConfig(noise_slope_min=2.0, noise_slope_max=1.0)
    with pytest.raises(ConfigError, match="highpass_hz"):
        SynthConfig(highpass_hz=-1)
