"""Shared helpers for the training tests (no tests here): small synthetic inputs and configs."""

import numpy as np

from toolchain.train.config import validate
from toolchain.train.inputs import Inputs, resolve


def blobs(n=160, shape=(8, 10), seed=0):
    """Features in [0, 1] where positives carry a brighter band in rows 2-3: (features, labels)."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 3 == 0).astype(np.int64)
    x = rng.random((n, *shape)).astype(np.float32) * 0.6
    x[labels == 1, 2:4, :] += 0.4
    return x, labels


def config(features, labels, **tables):
    """A validated + resolved config for `features` with [model]/[train] overrides."""
    raw = {"data": {"path": "/nonexistent"}, "name": "t", "representation": {"kind": "spectrogram"},
           "model": {"hidden": [24], "num_steps": 8, "threshold": 0.5},
           "train": {"epochs": 6, "batch_size": 32, "lr": 5e-3, "patience": 6}}
    for table, values in tables.items():
        if isinstance(values, dict):
            raw.setdefault(table, {}).update(values)
        else:
            raw[table] = values
    cfg = validate(raw, "test")
    inputs = Inputs(features, labels, [f"c{i}" for i in range(len(labels))],
                    {"kind": "spectrogram"}, "fingerprint")
    return resolve(cfg, inputs)


def split(labels):
    idx = np.arange(len(labels))
    return idx[idx % 4 != 0], idx[idx % 4 == 0]
