"""The input layer's synaptic operations for the chosen encoding.

- "graded_once": one graded op (weight x payload, MAC-like) per nonzero input per nonzero fan-out,
  once per classification (at the first step; the layer holds the result as a current).
- "graded_every_step": the same ops at every step.
- "spikes": one accumulate (AC) per input spike per nonzero fan-out.
- "frames": one graded op per nonzero value of each step's frame per nonzero fan-out, every step.
- an `input` population (lava-dl's input layer, under "bias" or "spikes"): no synapses, so no ops
  (kind "none"); its neurons are driven by the bias or the spikes themselves.

NeuroBench's SynapticOperations counts an analog (non-{-1, 0, 1}) first-layer input as MACs at every
call of the layer, so "graded_every_step" equals its Effective_MACs and "graded_once" is 1/num_steps
of it (our hardware sends the vector once and holds the current; a per-step snntorch model recomputes it).
"""

from __future__ import annotations

import numpy as np


def input_layer_ops(topo, sim) -> tuple[np.ndarray, str]:
    """(ops int64 [B, T], kind): kind "graded" (MAC-like), "binary" (AC) or "none" (no synapses)."""
    conn = topo.connections[0]
    x = np.asarray(sim.input)
    B, T = x.shape[0], topo.num_steps
    if conn.kind == "input":
        return np.zeros((B, T), dtype=np.int64), "none"
    if topo.encoding == "frames":  # a graded vector per step: MAC-like ops on its nonzero values
        if x.ndim != 3:
            raise ValueError(f"frame input must be [B, T, n_in], got shape {x.shape}")
        return conn.ops(x.reshape(B * T, -1)).reshape(B, T), "graded"
    if topo.graded:
        if x.ndim != 2:
            raise ValueError(f"graded input must be [B, n_in], got shape {x.shape}")
        per_send = conn.ops(x)  # [B]
        ops = np.zeros((B, T), dtype=np.int64)
        if topo.encoding == "graded_once":
            ops[:, 0] = per_send
        else:
            ops[:] = per_send[:, None]
        return ops, "graded"
    if x.ndim < 3:
        raise ValueError(f"spike input must be [B, T, n_in], got shape {x.shape}")
    return conn.ops(x.reshape(B * T, -1)).reshape(B, T), "binary"
