"""Cross-validation splits of a data set in clip order.

kind="stratified": every fold keeps the class ratio. Each class's indices are shuffled with
    numpy.random.default_rng(seed), the classes are put one after the other and dealt to the folds
    round-robin, so every fold holds the same number of each class and of clips, to within one.
    Seeded: the same labels, k and seed give the same folds.
kind="blocked": fold i validates on the i-th of k contiguous blocks of clip order
    (np.array_split of 0..N-1). Neighbouring Kaggle clips are correlated in time, so random
    folds are optimistic and blocked folds are the safer estimate. The seed is not used (the
    blocks are fixed by the order); class ratios vary between blocks.

Every index appears in exactly one validation fold; train indices are the rest. All returned
index arrays are sorted int64.
"""

from __future__ import annotations

import numpy as np

from toolchain.core.errors import ConfigError
from toolchain.core.vocab import FOLD_KINDS as KINDS


def _check(labels, kind: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ConfigError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    if kind not in KINDS:
        raise ConfigError(f"fold kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return labels


def _shuffled_classes(labels: np.ndarray, seed: int) -> list[np.ndarray]:
    """For each class (ascending label), its indices in a seeded random order."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]


def make_folds(labels, k: int = 5, kind: str = "stratified",
               seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train_idx, val_idx) pairs; see the module docstring for the two kinds."""
    labels = _check(labels, kind)
    n = labels.size
    if not 2 <= k <= n:
        raise ConfigError(f"k must be between 2 and the number of clips ({n}), got {k}")
    if kind == "blocked":
        vals = np.array_split(np.arange(n), k)
    else:
        classes, counts = np.unique(labels, return_counts=True)
        if counts.min() < k:
            c = classes[counts.argmin()]
            raise ConfigError(f"stratified {k}-fold needs >= {k} clips of each class; "
                              f"label {c} has {counts.min()}")
        fold_of = np.empty(n, dtype=np.int64)
        fold_of[np.concatenate(_shuffled_classes(labels, seed))] = np.arange(n) % k
        vals = [np.flatnonzero(fold_of == i) for i in range(k)]
    all_idx = np.arange(n)
    return [(np.setdiff1d(all_idx, v).astype(np.int64), v.astype(np.int64)) for v in vals]


def holdout_split(labels, val_fraction: float = 0.2, kind: str = "stratified",
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx) with about val_fraction of the clips for validation.

    stratified: round(val_fraction * n_c) seeded-random clips of each class c.
    blocked: the last round(val_fraction * N) clips in clip order (train on the earlier part).
    """
    labels = _check(labels, kind)
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n = labels.size
    if kind == "blocked":
        n_val = round(val_fraction * n)
        val = np.arange(n - n_val, n)
    else:
        val = np.sort(np.concatenate([idx[:round(val_fraction * idx.size)]
                                      for idx in _shuffled_classes(labels, seed)]))
    if val.size in (0, n):
        raise ConfigError(f"val_fraction {val_fraction} of {n} clips leaves an empty train or "
                          "validation set")
    return np.setdiff1d(np.arange(n), val).astype(np.int64), val.astype(np.int64)
