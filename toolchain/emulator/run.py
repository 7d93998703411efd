"""Whole-network emulation: layer by layer over all time steps, in chunks of clips.

Because layers only feed forward (recurrence stays inside a `dense_rec` layer), layer l's spikes
for every step can be computed before layer l+1 starts: each layer is its kind's exact product over
all (step, clip) pairs (`toolchain.emulator.kinds`) followed by the LIF time loop over clips and
neurons (a recurrent layer adds its feedback inside that loop; a convolution on per-step input
builds each step's sums from its input events inside the loop, `toolchain.emulator.events`). With "graded_once" (and
"graded_every_step", whose per-step sum is the same number every step) layer 1's product is
computed once per clip.
The Dense delay of Lava (one step per layer) is not modelled: results are indexed by the step of
the classification, which is how the Lava runner reports them too.
"""

from __future__ import annotations

import time

import numpy as np

from toolchain.core.result import SimResult
from toolchain.emulator.buffers import touched
from toolchain.emulator.kinds import HANDLERS
from toolchain.ir.checks import max_input
from toolchain.ir.graph import NetworkIR
from toolchain.represent.encoding import encode_for_ir


class Emulator:
    """An IR with every layer's handler prepared (weights laid out for exact BLAS products once)."""

    def __init__(self, ir: NetworkIR):
        self.ir = ir
        self.handlers = [HANDLERS[layer.kind](layer, max_input(ir, i)) for i, layer in enumerate(ir.layers)]

    def _chunk(self, inp: np.ndarray, record_v: bool, stats: list | None, states: list | None = None,
               outs: list | None = None):
        """Spikes and (v, u) of every spiking layer, clip-major [B, T, n], for one chunk of encoded input.

        states: one NeuronState per spiking layer to start from (and left at the state after the
        chunk's last step), or None (every clip starts at rest). outs: one contiguous bool
        [B, T, n] per spiking layer to write the spikes into (else fresh arrays)."""
        ir, T = self.ir, self.ir.num_steps
        enc = ir.input.encoding
        if enc in ("spikes", "frames"):
            x, first = inp, None  # [B, T, n_in]: binary spikes or graded frames per step
            T = x.shape[1]
        else:
            x, first = inp.reshape(inp.shape[0], -1), enc  # graded payloads or biases [B, n]
        spikes_all, v_all, k = [], [], 0
        for handler, layer in zip(self.handlers, ir.layers):
            kw = {"record_v": record_v, "stats": None if stats is None or not layer.has_neurons else stats[k]}
            if states is not None and layer.has_neurons:
                kw["state"] = states[k]
            if outs is not None and layer.has_neurons:
                kw["out"] = outs[k]
            s, v, x = handler.run(x, T, first, kw)
            if layer.kind != "flatten":
                first = None
            if s is not None:
                spikes_all.append(s)
                v_all.append(v)
                k += 1
        return spikes_all, v_all

    def _run_chunks(self, chunks, n: int, record_v: bool, track_ranges: bool, progress) -> SimResult:
        """Emulate encoded chunks (iterable of arrays, clips in order) and join them into one SimResult."""
        from toolchain.core.budget import check_simulation

        check_simulation(f"emulating '{self.ir.name}'", self.ir.num_steps, n, self.ir.sizes,
                         keys="the IR's num_steps, the number of clips")
        t0 = time.perf_counter()
        stats = [{} for _ in self.ir.spiking] if track_ranges else None
        inputs, vs_all, done, bufs = [], [], 0, None
        for sl in chunks:
            if bufs is None:  # every layer's spikes for all n clips, written in place chunk by chunk
                T = sl.shape[1] if self.ir.input.encoding in ("spikes", "frames") else self.ir.num_steps
                # not zeroed: every handler writes every spike of its `out` (tests/test_emulator_buffers.py)
                bufs = [touched((n, T, layer.n_out), np.bool_, zeroed=False) for layer in self.ir.spiking]
            _, vs = self._chunk(sl, record_v, stats, outs=[b[done:done + sl.shape[0]] for b in bufs])
            inputs.append(sl)
            if record_v:
                vs_all.append(vs)
            done += sl.shape[0]
            if progress:
                progress(min(done, n))
        if bufs is None:  # no clips
            bufs = [np.empty((0, self.ir.num_steps, layer.n_out), dtype=np.bool_) for layer in self.ir.spiking]
            inputs = [np.empty((0, self.ir.input.n_in))]
        result = SimResult(backend="emulator", input=inputs[0] if len(inputs) == 1 else np.concatenate(inputs),
                           layer_spikes=[b[:done] for b in bufs])
        if record_v:
            n = len(self.ir.spiking)
            result.meta["v"] = [np.concatenate([part[i][0] for part in vs_all]) for i in range(n)]
            result.meta["u"] = [np.concatenate([part[i][1] for part in vs_all]) for i in range(n)]
        result.meta.update(encoding=self.ir.input.encoding, num_steps=self.ir.num_steps,
                           seconds=time.perf_counter() - t0)
        if stats is not None:
            result.meta["ranges"] = stats
        return result

    def run(self, inp: np.ndarray, *, chunk: int = 64, record_v: bool = False, track_ranges: bool = False,
            progress=None) -> SimResult:
        """Emulate on already-encoded input (`toolchain.represent.encoding.encode_for_ir`).

        inp: graded int [B, n_in] or spikes bool [B, T, n_in]. Returns a SimResult with
        layer_spikes bool [B, T, n_l]; with record_v, meta["v"] and meta["u"] hold v and u per
        population [B, T, n_l] (flattened channels first).
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


    def rest_state(self, clips: int = 1) -> list:
        """Every spiking layer at rest (a stream's start): one NeuronState [clips, n_l] per layer."""
        from toolchain.emulator.lif import NeuronState

        return [NeuronState.rest((clips, layer.n_out)) for layer in self.ir.spiking]

    def stream(self, inp: np.ndarray, state: list | None = None, *, record_v: bool = False) -> tuple[SimResult, list]:
        """Continue `clips` unbroken runs by the steps of `inp`: no reset at the block's start.

        inp: encoded input of any number of steps, graded frames int [clips, steps, n_in] ("frames")
        or spikes bool [clips, steps, n_in]. state: what the previous block returned (None: at rest,
        a stream's start). Returns (SimResult with layer_spikes bool [clips, steps, n_l], the state
        after the block's last step, to pass to the next call): blocks streamed one after another
        give, step for step, the spikes of one run over their concatenation.
        """
        if self.ir.input.encoding not in ("frames", "spikes"):
            raise ValueError(f"stream() feeds one input vector per step; network {self.ir.name!r} takes "
                             f"{self.ir.input.encoding!r} input (a whole clip per classification)")
        inp = np.asarray(inp)
        if inp.ndim != 3 or inp.shape[2] != self.ir.input.n_in:
            raise ValueError(f"stream input of shape {list(inp.shape)} is not [clips, steps, {self.ir.input.n_in}]")
        state = [s.copy() for s in state] if state is not None else self.rest_state(inp.shape[0])
        t0 = time.perf_counter()
        spikes, vs = self._chunk(inp, record_v, None, state)
        result = SimResult(backend="emulator", input=inp, layer_spikes=spikes)
        if record_v:
            result.meta["v"] = [v for v, _ in vs]
            result.meta["u"] = [u for _, u in vs]
        result.meta.update(encoding=self.ir.input.encoding, num_steps=int(inp.shape[1]),
                           seconds=time.perf_counter() - t0)
        return result, state


def run_encoded(ir: NetworkIR, inp: np.ndarray, **kw) -> SimResult:
    """Emulate `ir` on encoded input (see Emulator.run)."""
    return Emulator(ir).run(inp, **kw)


def simulate(ir: NetworkIR, x: np.ndarray, seed: int = 0, **kw) -> SimResult:
    """Emulate `ir` on features x [B, n_in] in [0, 1] (see Emulator.simulate)."""
    return Emulator(ir).simulate(x, seed, **kw)
