"""Effective and dense synaptic operations per layer per step.

Effective (NeuroBench SynapticOperations "Effective_ACs/MACs"): every nonzero input event times the
number of nonzero synapses it drives (its fan-out; for a conv layer at the valid output positions);
a recurrent layer adds its own previous-step spikes times their recurrent fan-out. Dense (NeuroBench
"Dense"): every input times every synapse, zeros included, at every step the layer is evaluated.
"""

from __future__ import annotations

import numpy as np

from toolchain.counts.input_ops import input_layer_ops


def own_previous(spikes: np.ndarray) -> np.ndarray:
    """A layer's own spikes of the previous step, [B, T, n] (zero at the first step): its recurrent input."""
    s = np.asarray(spikes, dtype=bool)
    out = np.zeros_like(s)
    out[:, 1:] = s[:, :-1]
    return out


def recurrent_synops(topo, sim) -> list[np.ndarray | None]:
    """Per layer, the recurrent synapses' effective ops int64 [B, T] (binary ACs), or None if not recurrent."""
    out = []
    for layer, conn in enumerate(topo.connections):
        if not conn.recurrent:
            out.append(None)
            continue
        own = own_previous(sim.layer_spikes[layer])
        B, T = own.shape[:2]
        out.append(conn.rec_ops(own.reshape(B * T, -1)).reshape(B, T))
    return out


def effective_synops(topo, sim) -> tuple[list[np.ndarray], list[str]]:
    """(ops int64 [B, T] per layer, recurrent ops included; kind of the feed-forward ops per layer):
    layer 1 per the encoding, deeper layers ACs."""
    first, kind = input_layer_ops(topo, sim)
    ops, kinds = [first], [kind]
    for layer in range(1, len(topo.connections)):
        s = np.asarray(sim.layer_spikes[layer - 1])
        B, T = s.shape[:2]
        ops.append(topo.connections[layer].ops(s.reshape(B * T, -1)).reshape(B, T))
        kinds.append("binary")
    for layer, rec in enumerate(recurrent_synops(topo, sim)):
        if rec is not None:
            ops[layer] = ops[layer] + rec
    return ops, kinds


def dense_synops(topo) -> list[np.ndarray]:
    """Dense ops per clip, int64 [T] per layer: every synapse at every step the layer is evaluated
    (layer 1's feed-forward synapses with "graded_once" only at the first step)."""
    out = []
    for layer, conn in enumerate(topo.connections):
        rec = conn.n_out * conn.n_out if conn.recurrent else 0
        per = np.full(topo.num_steps, conn.synapses - rec, dtype=np.int64)
        if layer == 0 and topo.encoding == "graded_once":
            per[1:] = 0
        out.append(per + rec)
    return out
