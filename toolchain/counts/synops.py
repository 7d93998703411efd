"""Effective and dense synaptic operations per layer per step.

Effective (NeuroBench SynapticOperations "Effective_ACs/MACs"): every nonzero input event times the
number of nonzero weights it drives (its fan-out). Dense (NeuroBench "Dense"): every input times
every weight, zeros included, at every step the layer is evaluated.
"""

from __future__ import annotations

import numpy as np

from toolchain.counts.input_ops import input_layer_ops


def effective_synops(topo, sim) -> tuple[list[np.ndarray], list[str]]:
    """(ops int64 [B, T] per layer, kind per layer): layer 1 per the encoding, deeper layers ACs."""
    first, kind = input_layer_ops(topo, sim)
    ops, kinds = [first], [kind]
    for layer in range(1, len(topo.masks)):
        s = np.asarray(sim.layer_spikes[layer - 1], dtype=np.float32)
        fan = topo.fanouts[layer].astype(np.float32)
        # float32 is exact here: each partial sum is an integer < n_in * n_out < 2**24 per clip-step
        exact = s.shape[2] * topo.masks[layer].shape[0] < 2 ** 24
        per = s @ fan if exact else s.astype(np.float64) @ fan.astype(np.float64)
        ops.append(np.rint(per).astype(np.int64))
        kinds.append("binary")
    return ops, kinds


def dense_synops(topo) -> list[np.ndarray]:
    """Dense ops per clip, int64 [T] per layer: n_in x n_out at every step the layer is evaluated
    (layer 1 with "graded_once" only at the first step)."""
    out = []
    for layer, mask in enumerate(topo.masks):
        per = np.full(topo.num_steps, mask.size, dtype=np.int64)
        if layer == 0 and topo.encoding == "graded_once":
            per[1:] = 0
        out.append(per)
    return out
