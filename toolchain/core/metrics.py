"""The one ROC-AUC helper and the one class-score function every stage uses.

A two-class model's output (spike counts of the SNN's two output neurons, or an ANN's two logits)
becomes one continuous score of the positive class: output[:, 1] - output[:, 0]. Spike counts are
integers in 0..num_steps, so the score is an integer in -num_steps..num_steps; logits give a float.
"""

from __future__ import annotations

import numpy as np


def class_score(outputs):
    """Positive-class score [B] of two-class outputs [B, 2] (numpy or torch): out[:, 1] - out[:, 0].

    Outputs with another number of columns are returned unchanged (a caller scoring more classes
    picks its own column).
    """
    if outputs.shape[-1] != 2:
        return outputs
    return outputs[:, 1] - outputs[:, 0]


def auc(labels, scores) -> float | None:
    """ROC AUC of `scores` against binary `labels`, or None when only one class is present
    (an AUC is undefined there; callers show "n/a", never a made-up 0.5), or when a score is NaN or
    infinite (a diverged model)."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.size == 0 or len(np.unique(labels)) < 2 or not np.isfinite(scores).all():
        return None
    return float(roc_auc_score(labels, scores))
