"""A tiny deployable call detector for detection tests: a logistic regression on a small log
spectrogram, trained on synthetic clips in a second or two, written as a 2-layer SNN and quantised.

Layer 1 has two LIF neurons driven by +(w.x + b) and -(w.x + b) (the regression's decision value,
scaled), layer 2 passes neuron 0 to the "call" output and neuron 1 to the "no call" output, so the
window score (call spikes - no-call spikes) rises with the regression's evidence for a call.
"""

from __future__ import annotations

import numpy as np

from toolchain.data import synth
from toolchain.represent import SpectrogramConfig, features_from_audio, to_dict

REP = SpectrogramConfig(nfft=128, hop=64)  # 27 rows x 61 frames = 1647 inputs for a 2 s clip
KNOBS = dict(snr_db_min=8.0, snr_db_max=16.0, onset_spread_s=0.6, confounder_prob=0.3,
             positive_confounder_prob=0.1, partial_prob=0.0)


def short_recording(path):
    """Three minutes of synthetic audio at `path` with up-calls at known times (table beside it)."""
    from toolchain.data.recording import synth_recording

    man = synth_recording(path, 0.05, seed=4, calls_per_hour=200, config=synth.SynthConfig(**KNOBS),
                          progress=False, workers=1)
    assert man["calls"] >= 5
    return path


def tiny_detector(n_clips: int = 240, seed: int = 3, num_steps: int = 8):
    """(Deployment, representation dict) of the tiny detector (see module docstring)."""
    from sklearn.linear_model import LogisticRegression

    from toolchain.deploy import deploy_float
    from toolchain.frontends.float_net import FloatLayer, FloatNetwork

    cfg = synth.SynthConfig(**KNOBS)
    labels = np.arange(n_clips) % 2
    audio = np.stack([synth.generate_clip(seed, i, int(lab), cfg) for i, lab in enumerate(labels)]) / 32768.0
    x = features_from_audio(audio.astype(np.float32), REP).reshape(n_clips, -1)
    # fitted on per-clip centred features and made zero-sum, so w.x carries no common mode that
    # 8-bit weights would turn into noise (per-clip normalised clips all have about the same sum)
    lr = LogisticRegression(C=0.3, max_iter=1000).fit(x - x.mean(axis=1, keepdims=True), labels)
    w, b = lr.coef_[0] - lr.coef_[0].mean(), float(lr.intercept_[0])
    scale = 0.3 / np.std(x @ w + b)
    w1 = np.stack([w, -w]).astype(np.float32) * scale
    b1 = np.array([b, -b], dtype=np.float32) * scale
    layers = [FloatLayer(w1, b1, 0.8, 0.25, "zero", "fc0"),
              FloatLayer(np.array([[0.0, 1.5], [1.5, 0.0]], dtype=np.float32), None, 0.8, 1.0, "zero", "fc1")]
    net = FloatNetwork(layers, num_steps, "dc", REP.shape(4000), metadata={"representation": to_dict(REP)})
    return deploy_float(net, x[:128], name="tiny-detector")


def tiny_stream_detector(n_clips: int = 24, seed: int = 5):
    """(Deployment) of a tiny streaming detector: spectrogram frames (log, "fixed" normalisation
    fitted on a few synthetic clips) -> 4 recurrent LIF neurons -> 2 outputs. Hidden neuron 0 sums
    the up-call band (80-230 Hz) against the rest of the frame, neuron 1 the opposite; the "call"
    output listens to neuron 0, "no call" to neuron 1. Hand-made, not trained: for the streaming
    tests' equalities, which do not depend on how well it detects."""
    from toolchain.deploy import deploy_float
    from toolchain.frontends.float_net import FloatLayer, FloatNetwork, FloatRec
    from toolchain.represent import SpectrogramFramesConfig, fit_normalisation

    cfg = synth.SynthConfig(**KNOBS)
    labels = np.arange(n_clips) % 2
    audio = (np.stack([synth.generate_clip(seed, i, int(lab), cfg) for i, lab in enumerate(labels)])
             / 32768.0).astype(np.float32)
    rep = fit_normalisation(audio, SpectrogramFramesConfig(scale="log", normalise="fixed"))
    x = features_from_audio(audio, rep)  # [N, 135, 105]
    T, rows = x.shape[1:]
    hz = np.arange(rows) * rep.sample_rate / rep.nfft
    band = ((hz >= 80) & (hz <= 230)).astype(np.float32)
    w = band / band.sum() - (1 - band) / (1 - band).sum()
    rng = np.random.default_rng(seed)
    w1 = np.stack([w, -w, rng.normal(0, 0.02, rows), rng.normal(0, 0.02, rows)]).astype(np.float32) * 6.0
    rec = (rng.normal(0, 0.1, (4, 4)) + np.diag([0.3, 0.3, 0.0, 0.0])).astype(np.float32)
    layers = [FloatRec(weight=w1, bias=np.array([0.1, 0.1, 0.2, 0.2], dtype=np.float32), beta=0.8, threshold=0.5,
                       reset="zero", name="rec1", weight_rec=rec),
              FloatLayer(np.array([[0, 1.2, 0, 0], [1.2, 0, 0, 0]], dtype=np.float32), None, 0.8, 1.0, "zero", "fc2")]
    net = FloatNetwork(layers, T, "frames", (T, rows), metadata={"representation": to_dict(rep)})
    return deploy_float(net, x.reshape(n_clips, -1), name="tiny-stream")
