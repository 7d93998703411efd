"""Whole-network emulation: layer by layer over all time steps, in chunks of clips.

Because the network is feed-forward, layer l's spikes for every step can be computed before layer
l+1 starts: each layer is one exact matrix product over all (step, clip) pairs followed by the LIF
time loop vectorised over clips and neurons. With "graded_once" (and "graded_every_step", whose
per-step sum is the same number every step) layer 1's product is computed once per clip.
The Dense delay of Lava (one step per layer) is not modelled: results are indexed by the step of
the classification, which is how the Lava runner reports them too.
"""

from __future__ import annotations

import time

import numpy as np

from toolchain.emulator.dense import accumulate, prepare
from toolchain.emulator.lif import lif_layer
from toolchain.encoding import encode_for_ir
from toolchain.ir.graph import NetworkIR
from toolchain.sim_result import SimResult, concat


def _prepared(ir: NetworkIR):
    out = []
    for i, layer in enumerate(ir.layers):
        max_in = (2 ** int(ir.input.bits) - 1) if (i == 0 and ir.input.graded) else 1
        out.append(prepare(layer.weight, layer.weight_exp, max_in))
    return out


def _run_chunk(ir: NetworkIR, prepared, inp: np.ndarray, record_v: bool, stats: list | None):
    T = ir.num_steps
    spikes_all, v_all = [], []
    s_in = None
    for i, (layer, p) in enumerate(zip(ir.layers, prepared)):
        bias = (layer.bias_mant.astype(np.int64) << int(layer.bias_exp)).astype(np.float64)
        kw = dict(du=layer.du, dv=layer.dv, vth=layer.vth, bias=bias, reset=layer.reset, record_v=record_v,
                  stats=None if stats is None else stats[i])
        if i == 0 and ir.input.graded:
            a = accumulate(p, inp)  # [B, n]: the same sum at every step it is sent
            s, v = lif_layer(a, T, once=ir.input.encoding == "graded_once", **kw)
        else:
            src = np.swapaxes(inp, 0, 1) if i == 0 else s_in  # time-major [T, B, n_in]
            flat = src.reshape(T * src.shape[1], src.shape[2])
            a = accumulate(p, flat).reshape(T, src.shape[1], -1)
            s, v = lif_layer(a, T, **kw)
        spikes_all.append(s)
        v_all.append(v)
        s_in = s
    return spikes_all, v_all


def run_encoded(ir: NetworkIR, inp: np.ndarray, *, chunk: int = 64, record_v: bool = False,
                track_ranges: bool = False, progress=None) -> SimResult:
    """Emulate `ir` on already-encoded input (`toolchain.encoding.encode_for_ir`).

    inp: graded int [B, n_in] or spikes bool [B, T, n_in]. Returns a SimResult with
    layer_spikes bool [B, T, n_l]; with record_v, meta["v"] holds v per layer [B, T, n_l].
    With track_ranges, meta["ranges"] holds per layer the largest |u| (before the 24-bit wrap) and
    |v| (before saturation) reached, and how many neuron-steps wrapped or saturated.
    `progress` is an optional callable(n_done) for progress bars.
    """
    t0 = time.perf_counter()
    prepared = _prepared(ir)
    stats = [{} for _ in ir.layers] if track_ranges else None
    parts = []
    for start in range(0, inp.shape[0], chunk):
        sl = inp[start:start + chunk]
        spikes, vs = _run_chunk(ir, prepared, sl, record_v, stats)
        meta = {"v": [np.swapaxes(v, 0, 1) for v in vs]} if record_v else {}
        parts.append(SimResult(backend="emulator", input=sl,
                               layer_spikes=[np.swapaxes(s, 0, 1) for s in spikes], meta=meta))
        if progress:
            progress(min(start + chunk, inp.shape[0]))
    if record_v and len(parts) > 1:
        v_joined = [np.concatenate([p.meta["v"][i] for p in parts]) for i in range(len(ir.layers))]
    result = concat(parts) if len(parts) > 1 else parts[0]
    if record_v and len(parts) > 1:
        result.meta["v"] = v_joined
    result.meta.update(encoding=ir.input.encoding, num_steps=ir.num_steps,
                       seconds=time.perf_counter() - t0)
    if stats is not None:
        result.meta["ranges"] = stats
    return result


def simulate(ir: NetworkIR, x: np.ndarray, seed: int = 0, *, chunk: int = 64, **kw) -> SimResult:
    """Emulate `ir` on features x float [B, n_in] in [0, 1] (encoded per the IR's InputSpec).

    Spike-coded input is generated chunk by chunk (same trains as encoding everything at once).
    """
    if ir.input.graded:
        return run_encoded(ir, encode_for_ir(ir, x, seed), chunk=chunk, **kw)
    progress = kw.pop("progress", None)
    parts = []
    for start in range(0, x.shape[0], chunk):
        parts.append(run_encoded(ir, encode_for_ir(ir, x[start:start + chunk], seed, start), chunk=chunk, **kw))
        if progress:
            progress(min(start + chunk, x.shape[0]))
    result = concat(parts)
    result.meta["seconds"] = sum(p.meta["seconds"] for p in parts)
    if "ranges" in parts[0].meta:
        result.meta["ranges"] = [{k: (max if "absmax" in k else sum)(p.meta["ranges"][i][k] for p in parts)
                                  for k in parts[0].meta["ranges"][i]} for i in range(len(ir.layers))]
    return result
