"""Membrane updates (NeuroBench MembraneUpdates): how often a neuron's membrane value changes.

NeuroBench counts, per spiking layer, every neuron at the first step plus, at each later step, the
neurons whose membrane after the step differs from before it. Given traces mem[b, t, i] (the
membrane after step t; before step t+1 it is unchanged), that is
    n at t = 0,   count(mem[:, t] != mem[:, t-1]) at t >= 1.
Traces come from the float model (snntorch `mem`) or from the emulator (`record_v`, v after reset).
"""

from __future__ import annotations

import numpy as np


def membrane_updates(traces: list[np.ndarray]) -> list[np.ndarray]:
    """Membrane updates int64 [B, T] per layer, from membrane traces [B, T, n] per layer."""
    out = []
    for mem in traces:
        mem = np.asarray(mem)
        per = np.empty(mem.shape[:2], dtype=np.int64)
        per[:, 0] = mem.shape[2]
        per[:, 1:] = np.count_nonzero(mem[:, 1:] != mem[:, :-1], axis=2)
        out.append(per)
    return out
