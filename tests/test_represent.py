"""Representations: spectrogram geometry from first principles, normalisation, exact re-creation."""

import numpy as np
import pytest
from scipy.signal import spectrogram as scipy_spectrogram

from tests.data_helpers import cache_dir  # noqa: F401  (cache_dir: fixture)
from toolchain.core.errors import ConfigError
from toolchain.data import load_clips, synthesize
from toolchain.represent import (
    BLOCK,
    TASK,
    SpectrogramConfig,
    WaveformConfig,
    features_from_audio,
    make_features,
    representation_from_dict,
    spectrogram,
    to_dict,
    waveform,
)

FS, NFFT, HOP = 2000, 512, 26

pytestmark = pytest.mark.usefixtures("cache_dir")


def chirp(f0: float, rate: float) -> np.ndarray:
    """sin(2 pi (f0 t + rate t^2 / 2)): instantaneous frequency f0 + rate * t Hz, 2 s at 2 kHz."""
    t = np.arange(4000) / FS
    return np.sin(2 * np.pi * (f0 * t + rate * t**2 / 2)).astype(np.float32)


@pytest.mark.parametrize("scale", ["linear", "log"])
@pytest.mark.parametrize("f0,rate", [(60.0, 140.0), (380.0, -170.0)])
def test_chirp_peaks_at_the_bin_and_frame_its_parameters_predict(scale, f0, rate):
    s = spectrogram(chirp(f0, rate), SpectrogramConfig(scale=scale))
    assert s.shape == (105, 135) and s.dtype == np.float32
    checked_bins = checked_frames = 0
    for frame in range(135):
        centre = (frame * HOP + NFFT / 2) / FS
        exact = (f0 + rate * centre) * NFFT / FS
        if abs(exact % 1 - 0.5) > 0.1:  # not a tie between two bins
            assert s[:, frame].argmax() == round(exact), (frame, exact)
            checked_bins += 1
    for k in range(3, 103):
        exact = ((k * FS / NFFT - f0) / rate * FS - NFFT / 2) / HOP
        if 0 <= exact <= 134 and abs(exact % 1 - 0.5) > 0.1:
            assert s[k].argmax() == round(exact), (k, exact)
            checked_frames += 1
    assert checked_bins > 100 and checked_frames > 30


def test_default_geometry_is_the_seed_studys_105_by_135():
    cfg = SpectrogramConfig()
    assert cfg.bins == (0, 104) and cfg.shape(4000) == (105, 135)
    assert 104 * FS / NFFT == pytest.approx(406.25)
    assert SpectrogramConfig(scale="mel", n_mels=40).shape(4000) == (40, 135)
    assert SpectrogramConfig(nfft=256, hop=64, fmax_hz=1000).shape(4000) == (129, 59)


def test_linear_power_equals_scipy_spectrogram_per_clip():
    rng = np.random.default_rng(0)
    audio = rng.standard_normal((3, 4000)).astype(np.float32) * 0.1
    ours = spectrogram(audio, SpectrogramConfig(scale="linear"))
    for clip, mine in zip(audio, ours):
        _, _, p = scipy_spectrogram(clip.astype(np.float64), FS, window="hamming", nperseg=NFFT,
                                    noverlap=NFFT - HOP, detrend=False, scaling="density")
        p = p[:105]
        np.testing.assert_allclose(mine, (p - p.min()) / (p.max() - p.min()), atol=2e-5)


def test_per_clip_normalisation_spans_0_to_1_and_is_independent_of_level_blocks_and_threads():
    rng = np.random.default_rng(1)
    n = TASK + BLOCK + 3  # crosses block and task boundaries
    audio = rng.standard_normal((n, 4000)).astype(np.float32) * 0.05
    whole = spectrogram(audio, workers=3)
    assert whole.shape == (n, 105, 135)
    assert np.allclose(whole.min(axis=(1, 2)), 0) and np.allclose(whole.max(axis=(1, 2)), 1)
    assert np.array_equal(whole, spectrogram(audio, workers=1))
    np.testing.assert_allclose(whole[-1], spectrogram(audio[-1]), atol=1e-6)
    np.testing.assert_allclose(spectrogram(audio[:2] * 8), whole[:2], atol=1e-5)
    silent = spectrogram(np.zeros(4000, np.float32))
    assert silent.shape == (105, 135) and not silent.any()


def test_waveform_is_per_clip_min_max_or_fixed():
    audio = np.array([np.linspace(-0.25, 0.5, 4000), np.full(4000, 0.3)], dtype=np.float32)
    w = waveform(audio)
    assert w.dtype == np.float32 and w.shape == (2, 4000)
    np.testing.assert_allclose(w[0], np.linspace(0, 1, 4000), atol=1e-6)
    assert not w[1].any()
    np.testing.assert_allclose(waveform(audio, WaveformConfig("fixed"))[0], (audio[0] + 1) / 2)


def test_representation_dict_round_trip_and_errors():
    for rep in (SpectrogramConfig(scale="mel", n_mels=32, top_db=60.0), WaveformConfig("fixed")):
        assert representation_from_dict(to_dict(rep)) == rep
    assert representation_from_dict({"kind": "spectrogram", "nfft": 512.0}).nfft == 512
    for bad in ({"kind": "cochleagram"}, {"kind": "spectrogram", "nfft_size": 512},
                {"kind": "spectrogram", "scale": "cubic"}, {"kind": "spectrogram", "nfft": "big"},
                {"kind": "spectrogram", "window": "no-such-window"},
                {"kind": "spectrogram", "fmax_hz": 2000.0}, {"kind": "waveform", "normalise": "z"}):
        with pytest.raises(ConfigError):
            representation_from_dict(bad)
    with pytest.raises(ConfigError, match="norm_min"):
        spectrogram(np.zeros((1, 4000), np.float32), SpectrogramConfig(normalise="dataset"))


def test_make_features_records_what_deployment_needs_to_recreate_them(tmp_path):
    clips = load_clips(synthesize(tmp_path / "s", 12, seed=4, progress=False), progress=False)
    info: dict = {}
    feats = make_features(clips, "spectrogram", {"normalise": "dataset", "scale": "log"}, info=info)
    rep = info["representation"]
    assert feats.shape == (12, 105, 135) and info["cache_hit"] is False
    assert rep["norm_min"] < rep["norm_max"] and feats.min() == 0 and feats.max() == 1
    again = features_from_audio(clips.audio[:3], representation_from_dict(rep))
    np.testing.assert_allclose(again, feats[:3], atol=1e-6)
    wave = make_features(clips, "waveform", info=info)
    assert wave.shape == (12, 4000) and info["representation"] == {"kind": "waveform",
                                                                   "normalise": "per_clip"}
    mel = make_features(clips, "spectrogram", {"scale": "mel", "n_mels": 24})
    assert mel.shape == (12, 24, 135) and 0 <= mel.min() and mel.max() <= 1


def test_inputs_of_the_wrong_shape_are_named_by_their_per_clip_shape():
    """The file's inputs are checked on their first clip: the message gives the shape of a clip, not
    of that one-clip slice."""
    from toolchain.core.errors import DataError
    from toolchain.represent.encoding import given_biases, given_spikes

    with pytest.raises(DataError, match=r"bias input of shape \[clips, 5\] does not hold 12 values per clip"):
        given_biases(np.zeros((1, 5), np.int32), 12, -10, 10)
    with pytest.raises(DataError, match=r"spike input of shape \[clips, 4, 7\] is not \[clips, 8 steps, 7 inputs\]"):
        given_spikes(np.zeros((1, 4, 7), bool), 8, 7)
    assert given_spikes(np.zeros((2, 8, 7), bool), 8, 7).shape == (2, 8, 7)
