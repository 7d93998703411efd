"""Neuron updates: every neuron at every step, and the active ones.

A time-stepped neuromorphic core updates every mapped neuron at every step. "Active" here means the
neuron received at least one synaptic event that step (an input event on a nonzero synapse, or for
a recurrent layer its own previous-step spike on a nonzero recurrent synapse); with "graded_once"
the layer-1 current is held, so a layer-1 neuron that received input at the first step stays active
at every step. An `input` population has no synapses: its neuron is active when its own input value
is nonzero (a spike that step, or under "bias" a nonzero bias, which drives it at every step).
Membrane-value changes (NeuroBench MembraneUpdates) need membrane traces and are counted in
`membrane.py`.
"""

from __future__ import annotations

import numpy as np

from toolchain.core.vocab import HELD_ENCODINGS
from toolchain.counts.synops import own_previous

_REACH_ELEMS = 1 << 24  # output flags per block of event rows


def _active(conn, events: np.ndarray, own: np.ndarray | None) -> np.ndarray:
    """int64 [M]: per row, outputs reached by events [M, n_in] or (recurrent) own spikes [M, n_out]."""
    out = np.empty(events.shape[0], dtype=np.int64)
    rows = max(1, _REACH_ELEMS // max(conn.n_out, 1))
    for start in range(0, events.shape[0], rows):
        reach = conn.reach(events[start:start + rows])
        if own is not None:
            reach |= conn.reach_rec(own[start:start + rows])
        out[start:start + rows] = reach.sum(axis=1, dtype=np.int64)
    return out


def neuron_updates(topo, sim) -> list[dict[str, np.ndarray]]:
    """Per layer {"total": int64 [T] per clip, "active": int64 [B, T]}."""
    out = []
    T = topo.num_steps
    x = np.asarray(sim.input)
    held = topo.encoding in HELD_ENCODINGS  # layer 1's input is the same at every step
    for layer, conn in enumerate(topo.connections):
        total = np.full(T, conn.n_out, dtype=np.int64)
        own = own_previous(sim.layer_spikes[layer]) if conn.recurrent else None
        if layer == 0 and held:
            base = conn.reach(x.reshape(x.shape[0], -1))  # [B, n_out]
            if own is None:
                active = np.repeat(base.sum(axis=1, dtype=np.int64)[:, None], T, axis=1)
            else:
                active = np.stack([(base | conn.reach_rec(own[:, t])).sum(axis=1, dtype=np.int64)
                                   for t in range(T)], axis=1)
        else:
            src = x if layer == 0 else np.asarray(sim.layer_spikes[layer - 1])
            B = src.shape[0]
            rec = None if own is None else own.reshape(B * T, -1)
            active = _active(conn, src.reshape(B * T, -1), rec).reshape(B, T)
        out.append({"total": total, "active": active})
    return out
