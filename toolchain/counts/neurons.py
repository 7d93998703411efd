"""Neuron updates: every neuron at every step, and the active ones.

A time-stepped neuromorphic core updates every mapped neuron at every step. "Active" here means the
neuron received at least one synaptic event that step (an input event on a nonzero weight); with
"graded_once" the layer-1 current is held, so a layer-1 neuron that received input at the first
step stays active at every step. Membrane-value changes (NeuroBench MembraneUpdates) need membrane
traces and are counted in `membrane.py`.
"""

from __future__ import annotations

import numpy as np

_CHUNK = 1024  # output neurons per block (bounds the float mask to 4 * 1024 * n_in bytes)


def _received(events: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Count, per row of `events` bool [M, n_in], the outputs with >= 1 event on a nonzero weight."""
    ev = events.astype(np.float32)
    total = np.zeros(ev.shape[0], dtype=np.int64)
    for start in range(0, mask.shape[0], _CHUNK):
        block = mask[start:start + _CHUNK].astype(np.float32)
        total += ((ev @ block.T) > 0).sum(axis=1)
    return total


def neuron_updates(topo, sim) -> list[dict[str, np.ndarray]]:
    """Per layer {"total": int64 [T] per clip, "active": int64 [B, T]}."""
    out = []
    T = topo.num_steps
    x = np.asarray(sim.input)
    for layer, mask in enumerate(topo.masks):
        n_out = mask.shape[0]
        total = np.full(T, n_out, dtype=np.int64)
        if layer == 0 and topo.graded:
            per = _received(x != 0, mask)  # [B]
            active = np.repeat(per[:, None], T, axis=1)  # held (once) or resent (every step)
        else:
            src = x if layer == 0 else np.asarray(sim.layer_spikes[layer - 1])
            B = src.shape[0]
            active = _received(src.reshape(B * T, -1), mask).reshape(B, T)
        out.append({"total": total, "active": active})
    return out
