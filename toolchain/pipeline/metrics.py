"""Held-out metrics of the pipeline report: AUC with a bootstrap confidence interval, accuracy."""

from __future__ import annotations

import numpy as np


def auc_with_ci(labels: np.ndarray, scores: np.ndarray, resamples: int = 1000, seed: int = 0,
                level: float = 0.95) -> dict:
    """ROC AUC, its percentile bootstrap interval over clips, and the accuracy of score > 0."""
    from toolchain.core.metrics import auc

    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    out = {"n": int(len(labels)), "accuracy": float(np.mean((scores > 0) == (labels == 1))),
           "auc": auc(labels, scores)}
    if out["auc"] is None:
        return {**out, "ci": None}
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(resamples):
        idx = rng.integers(0, len(labels), len(labels))
        value = auc(labels[idx], scores[idx])
        if value is not None:
            boots.append(value)
    alpha = (1 - level) / 2
    out["ci"] = [float(np.quantile(boots, alpha)), float(np.quantile(boots, 1 - alpha))] if boots else None
    out["ci_level"] = level
    return out


def auc_difference_with_ci(labels: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray,
                           resamples: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """AUC(a) - AUC(b) of two models scored on the same clips, with a paired percentile bootstrap
    interval (each resample draws the same clips for both models); None where undefined."""
    from toolchain.core.metrics import auc

    labels = np.asarray(labels)
    a, b = np.asarray(scores_a, dtype=np.float64), np.asarray(scores_b, dtype=np.float64)
    auc_a, auc_b = auc(labels, a), auc(labels, b)
    if auc_a is None or auc_b is None:
        return {"diff": None, "ci": None}
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(resamples):
        idx = rng.integers(0, len(labels), len(labels))
        va, vb = auc(labels[idx], a[idx]), auc(labels[idx], b[idx])
        if va is not None and vb is not None:
            boots.append(va - vb)
    alpha = (1 - level) / 2
    ci = [float(np.quantile(boots, alpha)), float(np.quantile(boots, 1 - alpha))] if boots else None
    return {"diff": auc_a - auc_b, "ci": ci, "ci_level": level}
