"""Whole-network emulation: layer by layer over all time steps, in chunks of clips.

Because the network is feed-forward, layer l's spikes for every step can be computed before layer
l+1 starts: each layer is one exact matrix product over all (step, clip) pairs followed by the LIF
time loop over clips and neurons. With "graded_once" (and "graded_every_step", whose per-step sum
is the same number every step) layer 1's product is computed once per clip.
The Dense delay of Lava (one step per layer) is not modelled: results are indexed by the step of
the classification, which is how the Lava runner reports them too.
"""

from __future__ import annotations

import time

import numpy as np

from toolchain.core.result import SimResult, concat
from toolchain.emulator.dense import accumulate, prepare
from toolchain.emulator.lif import lif_layer
from toolchain.ir.graph import NetworkIR
from toolchain.represent.encoding import encode_for_ir


class Emulator:
    """An IR with its weights laid out for exact BLAS products (prepare once, run many batches)."""

    def __init__(self, ir: NetworkIR):
        self.ir = ir
        self.prepared = []
        for i, layer in enumerate(ir.layers):
            max_in = (2 ** int(ir.input.bits) - 1) if (i == 0 and ir.input.graded) else 1
            self.prepared.append(prepare(layer.weight, layer.weight_exp, max_in))
        self.bias = [(layer.bias_mant.astype(np.int64) << int(layer.bias_exp)).astype(np.float64)
                     for layer in ir.layers]

    def _chunk(self, inp: np.ndarray, record_v: bool, stats: list | None):
        ir, T = self.ir, self.ir.num_steps
        spikes_all, v_all, s_in = [], [], None
        for i, layer in enumerate(ir.layers):
            kw = dict(du=layer.du, dv=layer.dv, vth=layer.vth, bias=self.bias[i], reset=layer.reset,
                      record_v=record_v, stats=None if stats is None else stats[i])
            if i == 0 and ir.input.graded:
                a = accumulate(self.prepared[0], inp)  # [B, n]: the same sum at every step it is sent
                s, v = lif_layer(a, T, once=ir.input.encoding == "graded_once", **kw)
            else:
                src = np.swapaxes(inp, 0, 1) if i == 0 else s_in  # time-major [T, B, n_in]
                flat = src.reshape(T * src.shape[1], src.shape[2])
                a = accumulate(self.prepared[i], flat).reshape(T, src.shape[1], -1)
                s, v = lif_layer(a, T, **kw)
            spikes_all.append(s)
            v_all.append(v)
            s_in = s
        return spikes_all, v_all

    def _run_chunks(self, chunks, n: int, record_v: bool, track_ranges: bool, progress) -> SimResult:
        """Emulate encoded chunks (iterable of arrays, clips in order) and join them into one SimResult."""
        from toolchain.core.budget import check_simulation

        check_simulation(f"emulating '{self.ir.name}'", self.ir.num_steps, n, self.ir.sizes,
                         keys="the IR's num_steps, the number of clips")
        t0 = time.perf_counter()
        stats = [{} for _ in self.ir.layers] if track_ranges else None
        parts, vs_all, done = [], [], 0
        for sl in chunks:
            spikes, vs = self._chunk(sl, record_v, stats)
            parts.append(SimResult(backend="emulator", input=sl, layer_spikes=[np.swapaxes(s, 0, 1) for s in spikes]))
            if record_v:
                vs_all.append([np.swapaxes(v, 0, 1) for v in vs])
            done += sl.shape[0]
            if progress:
                progress(min(done, n))
        result = concat(parts)
        if record_v:
            result.meta["v"] = [np.concatenate([v[i] for v in vs_all]) for i in range(len(self.ir.layers))]
        result.meta.update(encoding=self.ir.input.encoding, num_steps=self.ir.num_steps,
                           seconds=time.perf_counter() - t0)
        if stats is not None:
            result.meta["ranges"] = stats
        return result

    def run(self, inp: np.ndarray, *, chunk: int = 64, record_v: bool = False, track_ranges: bool = False,
            progress=None) -> SimResult:
        """Emulate on already-encoded input (`toolchain.represent.encoding.encode_for_ir`).

        inp: graded int [B, n_in] or spikes bool [B, T, n_in]. Returns a SimResult with
        layer_spikes bool [B, T, n_l]; with record_v, meta["v"] holds v per layer [B, T, n_l].
        With track_ranges, meta["ranges"] holds per layer the largest |u| (before the 24-bit wrap)
        and |v| (before saturation) reached, and how many neuron-steps wrapped or saturated.
        `progress` is an optional callable(n_done) for progress bars.
        """
        chunks = (inp[start:start + chunk] for start in range(0, inp.shape[0], chunk))
        return self._run_chunks(chunks, inp.shape[0], record_v, track_ranges, progress)

    def simulate(self, x: np.ndarray, seed: int = 0, *, chunk: int = 64, record_v: bool = False,
                 track_ranges: bool = False, progress=None) -> SimResult:
        """Emulate on features x float [B, n_in] in [0, 1] (encoded per the IR's InputSpec).

        Input is encoded chunk by chunk (spike trains depend only on (seed, clip index), so they are
        the trains that encoding everything at once would give).
        """
        chunks = (encode_for_ir(self.ir, x[start:start + chunk], seed, start)
                  for start in range(0, x.shape[0], chunk))
        return self._run_chunks(chunks, x.shape[0], record_v, track_ranges, progress)


def run_encoded(ir: NetworkIR, inp: np.ndarray, **kw) -> SimResult:
    """Emulate `ir` on encoded input (see Emulator.run)."""
    return Emulator(ir).run(inp, **kw)


def simulate(ir: NetworkIR, x: np.ndarray, seed: int = 0, **kw) -> SimResult:
    """Emulate `ir` on features x [B, n_in] in [0, 1] (see Emulator.simulate)."""
    return Emulator(ir).simulate(x, seed, **kw)
