"""Spikes per layer per step."""

from __future__ import annotations

import numpy as np


def spike_counts(sim) -> list[np.ndarray]:
    """Spikes emitted by each LIF layer: int64 [B, T] per layer (clip, step of the classification)."""
    return [np.asarray(s, dtype=bool).sum(axis=2, dtype=np.int64) for s in sim.layer_spikes]
