"""`neurodeploy data baselines PATH`: how far simple models get on a data set (a difficulty check).

Four logistic regressions (scikit-learn, inputs standardised on the training folds, C as below,
at most 300 L-BFGS iterations), each scored by ROC AUC on K stratified folds (mean and standard
deviation over the folds; toolchain.data.folds with the given seed):
- "waveform": the per-clip min-max normalised waveform the 1D models see (4000 values; a linear
  model cannot use sounds of random phase, so about 0.5 is expected on any data);
- "rms_peak_crest": log RMS, log peak and log crest factor (peak / RMS) of the raw clip (what
  the clip's loudness tells);
- "fft": |FFT| of the normalised waveform minus its mean (2001 bins: the clip's spectrum);
- "spectrogram": the data layer's default representation (per-clip log spectrogram, 105 x 135,
  flattened; C = 0.01, the other three C = 1).
A data set where the spectrogram baseline reaches 1.0 is too easy to compare models on; one where
every baseline stays at 0.5 has nothing to learn.
"""

from __future__ import annotations

import time

import numpy as np

from toolchain.core.errors import ConfigError

BASELINES = ("waveform", "rms_peak_crest", "fft", "spectrogram")
C_VALUES = {"waveform": 1.0, "rms_peak_crest": 1.0, "fft": 1.0, "spectrogram": 0.01}


def _features(audio: np.ndarray, name: str) -> np.ndarray:
    from toolchain.represent import SpectrogramConfig, spectrogram, waveform

    if name == "waveform":
        return waveform(audio)
    if name == "rms_peak_crest":
        rms = np.sqrt(np.mean(np.square(audio, dtype=np.float64), axis=1)) + 1e-12
        peak = np.abs(audio).max(axis=1) + 1e-12
        return np.stack([np.log(rms), np.log(peak), np.log(peak / rms)], axis=1)
    if name == "fft":
        wf = waveform(audio)
        return np.abs(np.fft.rfft(wf - wf.mean(axis=1, keepdims=True), axis=1)).astype(np.float32)
    return spectrogram(audio, SpectrogramConfig()).reshape(len(audio), -1)


def _fold_aucs(x: np.ndarray, labels: np.ndarray, folds, c: float) -> list[float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from toolchain.core.metrics import auc

    out = []
    for train, val in folds:
        scaler = StandardScaler().fit(x[train])
        model = LogisticRegression(C=c, max_iter=300).fit(scaler.transform(x[train]), labels[train])
        value = auc(labels[val], model.decision_function(scaler.transform(x[val])))
        if value is not None:
            out.append(value)
    return out


def run_baselines(path, *, clips: int = 3000, folds: int = 3, seed: int = 0,
                  which: tuple[str, ...] = BASELINES, progress: bool = True) -> dict:
    """AUC of each baseline on the first `clips` clips of the data set at `path` (0: all)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from toolchain.data.folds import make_folds
    from toolchain.data.loader import load_clips

    unknown = sorted(set(which) - set(BASELINES))
    if unknown:
        raise ConfigError(f"unknown baseline(s) {', '.join(unknown)} (known: {', '.join(BASELINES)})")
    if clips < 0 or folds < 2:
        raise ConfigError(f"clips must be >= 0 and folds >= 2 (got {clips}, {folds})")
    data = load_clips(path, progress=progress)
    audio, labels = data.audio, np.asarray(data.labels, dtype=np.int64)
    if clips:
        audio, labels = audio[:clips], labels[:clips]
    if (labels < 0).any() or len(np.unique(labels)) < 2:
        raise ConfigError(f"{path}: baselines need labelled clips of both classes")
    splits = make_folds(labels, folds, "stratified", seed)
    out = {"path": str(path), "clips": int(len(labels)), "positives": int(labels.sum()),
           "folds": folds, "seed": seed, "baselines": {}}
    for name in which:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            aucs = _fold_aucs(_features(audio, name), labels, splits, C_VALUES[name])
        out["baselines"][name] = {"auc_mean": float(np.mean(aucs)), "auc_std": float(np.std(aucs)),
                                  "fold_aucs": aucs, "C": C_VALUES[name],
                                  "seconds": round(time.perf_counter() - t0, 1)}
    return out
