"""The streaming detector: a recurrent SNN fed one spectrogram frame per time step, never reset.

A network trained with the "spectrogram_frames" representation and the "frames" encoding (preset
snn-stream) receives frame t of the recording (105 bins) at step t, from the first frame to the
last, in one unbroken run: the bit-exact emulator is called block by block (`Emulator.stream`),
each block starting from the neuron state the previous one left, so the spikes are those of one
run over the whole recording (no windows, no resets). Memory: one block of audio and its frames.

Frames: frame t covers samples [t * hop, t * hop + nfft) at the network's sample rate (26 and 512
samples at 2 kHz: 13 ms apart, 256 ms long), with the representation's "fixed" normalisation
(constants from training), so a frame of the recording equals that frame of any clip cut from it
at a multiple of hop; after the last whole frame, any samples left start one more frame, padded
with zeros. The frame's input is x_int = round(frame * scale) (`graded_frames`).

Decision unit: the frame. Its score is the readout integrated over the last W = num_steps frames
(the network's training clip, 135 frames = 1.76 s of frame starts): the moving sum of
(call spikes - no-call spikes) of the output layer over frames t-W+1..t, an integer in -W..W
(fewer frames at the recording's start). It is the clip readout the network was trained on,
taken at every frame instead of once per clip, on state carried from the whole recording before.
The unit's span is [start of frame t-W+1, end of frame t): the audio it has heard; the decision
is available at the span's end.

Lava check: the first `check_frames` frames of each recording (the run starts at rest there, as
Lava does) run on Lava as one stream of that many steps, no reset, and every layer's spikes are
compared with the emulator's streamed spikes of the same steps.

Energy: `energy_x` holds stretches of W consecutive frames spread over the recording, each priced
as one W-step classification by the energy report (counted from rest, not from the carried state);
`energy_rate` is then stretches per second = frames per second / W. The synaptic operations of
the whole stream are also counted exactly as it runs (`StreamCounts`).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from toolchain.core.errors import ConfigError
from toolchain.detect.detectors import (
    Detector,
    DetectorRun,
    reader_problems,
    register,
    spread,
    timed,
)
from toolchain.detect.source import Recording
from toolchain.emulator import Emulator
from toolchain.ir.graph import NetworkIR

STREAM_KINDS = ("spectrogram_frames",)
NET_BLOCK_FRAMES = 8192  # frames per emulator call (bounds the spikes held at once)


class StreamCounts:
    """Effective synaptic operations of a stream, counted per step as NeuroBench does for a
    classification (`toolchain.counts.synops`): each nonzero input value / spike times its
    nonzero fan-out, plus each layer's previous-step spikes times their recurrent fan-out, with
    the previous step carried across blocks. Totals over all steps, per layer."""

    def __init__(self, ir: NetworkIR):
        from toolchain.counts import topology_from_ir

        self.topo = topology_from_ir(ir)
        self.ops = np.zeros(len(self.topo.connections), dtype=np.int64)
        self.spikes = np.zeros(len(self.topo.connections), dtype=np.int64)
        self.steps = 0
        self._last = [None] * len(self.topo.connections)

    def add(self, inp: np.ndarray, layer_spikes: list[np.ndarray]) -> None:
        """inp int [steps, n_in]; layer_spikes bool [steps, n_l] per layer, for one block."""
        conns = self.topo.connections
        src = inp
        for i, (conn, s) in enumerate(zip(conns, layer_spikes)):
            self.ops[i] += int(conn.ops(np.asarray(src).reshape(src.shape[0], -1)).sum())
            if conn.recurrent:
                prev = self._last[i] if self._last[i] is not None else np.zeros((1, s.shape[1]), dtype=bool)
                own = np.concatenate([prev, s[:-1]])
                self.ops[i] += int(conn.rec_ops(own).sum())
            self._last[i] = s[-1:].copy()
            self.spikes[i] += int(s.sum())
            src = s
        self.steps += int(inp.shape[0])

    def to_dict(self, seconds: float) -> dict:
        hours = seconds / 3600
        total = int(self.ops.sum())
        return {"steps": self.steps, "effective_synops": total, "effective_synops_per_layer": self.ops.tolist(),
                "spikes_per_layer": self.spikes.tolist(),
                "effective_synops_per_hour": total / hours if hours > 0 else None,
                "note": "counted on the whole stream as it ran (state carried, no reset)"}


@register
class StreamingDetector(Detector):
    """A "frames" network run over the whole recording, frame by frame (see module docstring)."""

    name = "streaming"
    unit = "frame"
    representations = STREAM_KINDS

    def __init__(self, ir: NetworkIR, *, hop_s: float | None = None, seed: int = 0,
                 check_frames: int = 64, net_block: int = NET_BLOCK_FRAMES):
        from toolchain.represent import SpectrogramFramesConfig, representation_from_dict

        super().__init__(ir, seed=seed)
        if hop_s is not None:
            raise ConfigError(f"--hop {hop_s:g}: network {ir.name!r} is a streaming network; it scores every "
                              "spectrogram frame and has no window to slide (leave --hop out)")
        if ir.input.encoding != "frames":
            raise ConfigError(f"network {ir.name!r} records representation 'spectrogram_frames' but takes "
                              f"{ir.input.encoding!r} input; a streaming network takes the 'frames' encoding")
        rep = representation_from_dict(ir.metadata["representation"])
        if not isinstance(rep, SpectrogramFramesConfig) or rep.normalise != "fixed":
            raise ConfigError(f"network {ir.name!r}: spectrogram normalise={rep.normalise!r} depends on the whole "
                              "clip, so frames of a recording would not be the frames it was trained on; train it "
                              "with representation.normalise = 'fixed' (preset snn-stream)")
        rows = rep.shape(rep.nfft)[1]
        if rows != ir.input.n_in:
            raise ConfigError(f"network {ir.name!r}: {ir.input.n_in} inputs per step but its representation has "
                              f"{rows}-bin frames")
        self.rep = rep
        self.W = int(ir.num_steps)
        self.check_frames = int(check_frames)
        self.net_block = int(net_block)
        self.emulator = Emulator(ir)

    @property
    def sample_rate(self) -> int:
        return int(self.rep.sample_rate)

    @property
    def frame_hop_s(self) -> float:
        return self.rep.hop / self.rep.sample_rate

    @property
    def units_per_second(self) -> float:
        return 1.0 / self.frame_hop_s

    @property
    def energy_rate(self) -> tuple[float, str]:
        return 1.0 / (self.W * self.frame_hop_s), f"{self.W}-frame block"

    @property
    def span_s(self) -> float:
        """The audio one unit's score has heard: W frame starts plus one frame length (s)."""
        return ((self.W - 1) * self.rep.hop + self.rep.nfft) / self.rep.sample_rate

    def units(self, n_samples: int) -> int:
        if n_samples <= 0:
            return 0
        if n_samples <= self.rep.nfft:
            return 1
        return 1 + -(-(n_samples - self.rep.nfft) // self.rep.hop)

    @property
    def band_hz(self) -> tuple[float, float]:
        return float(self.rep.fmin_hz), float(self.rep.fmax_hz)

    def describe(self) -> dict:
        return {"detector": self.name, "unit": self.unit, "window_s": self.span_s, "hop_s": self.frame_hop_s,
                "frame_s": self.rep.nfft / self.sample_rate, "integration_frames": self.W,
                "sample_rate": self.sample_rate, "representation": self.ir.metadata["representation"]["kind"],
                "num_steps": self.W, "band_hz": list(self.band_hz), "resets": "none (one run over the recording)",
                "score": f"moving sum over the last {self.W} frames of output spikes (call) - (no call), "
                         f"-{self.W}..{self.W}"}

    def _frames(self, reader, stats: dict):
        """(index of the first frame, frames float32 [k, rows]) of consecutive sample blocks."""
        from toolchain.represent import stream_frames

        nfft, hop = self.rep.nfft, self.rep.hop
        buf = np.zeros(0, dtype=np.float32)
        k = 0
        for block in reader:
            stats["samples"] += block.shape[0]
            buf = np.concatenate([buf, block.astype(np.float32)])
            stats["max_held"] = max(stats["max_held"], buf.shape[0])
            n = 0 if buf.shape[0] < nfft else 1 + (buf.shape[0] - nfft) // hop
            if n:
                yield k, stream_frames(buf[:(n - 1) * hop + nfft], self.rep)
                k += n
                buf = buf[n * hop:]
        if self.units(stats["samples"]) > k:  # samples after the last whole frame: one zero-padded frame
            tail = np.zeros(nfft, dtype=np.float32)
            tail[:buf.shape[0]] = buf[:nfft]
            yield k, stream_frames(tail, self.rep)

    def run(self, rec: Recording, progress: Callable[[float], None] | None = None, *,
            energy_units: int = 32, check_units: int = 4, block_frames: int | None = None) -> DetectorRun:
        from toolchain.represent.encoding import graded_frames

        n_est = self.units(rec.samples_at_rate())
        starts = spread(max(n_est - self.W + 1, 1), energy_units)  # energy stretches [s, s + W)
        reader = rec.reader(block_frames) if block_frames else rec.reader()
        stats = {"samples": 0, "max_held": 0}
        t = {"read+features": 0.0, "network": 0.0}
        diffs, energy_x, check_in, check_sp = [], [], [], None
        state, counts = None, StreamCounts(self.ir)
        spec = self.ir.input
        pending = np.zeros((0, spec.n_in), dtype=np.float32)  # frames of an energy stretch split by blocks
        pend_first = 0
        for first, feats in timed(self._frames(reader, stats), t, "read+features"):
            t1 = time.perf_counter()
            for a in range(0, feats.shape[0], self.net_block):
                x = feats[a:a + self.net_block]
                f0 = first + a
                inp = graded_frames(x[None], spec.scale, spec.n_in)
                res, state = self.emulator.stream(inp, state)
                out = res.layer_spikes[-1][0]
                diffs.append(out[:, 1].astype(np.int8) - out[:, 0].astype(np.int8))
                counts.add(inp[0], [s[0] for s in res.layer_spikes])
                if f0 < self.check_frames:
                    take = min(self.check_frames - f0, x.shape[0])
                    check_in.append(inp[0, :take])
                    part = [s[0, :take] for s in res.layer_spikes]
                    check_sp = part if check_sp is None else [np.concatenate([c, p]) for c, p in zip(check_sp, part)]
                # energy stretches: frames [s0, s0 + W) for s0 in starts; pending holds the last frames
                if not pending.shape[0]:
                    pend_first = f0
                pending = np.concatenate([pending, x])
                inside = (starts >= pend_first) & (starts + self.W <= pend_first + pending.shape[0])
                for s0 in starts[inside]:
                    energy_x.append(pending[s0 - pend_first:s0 - pend_first + self.W].reshape(-1))
                keep_from = max(0, pending.shape[0] - (self.W - 1))
                pend_first += keep_from
                pending = pending[keep_from:]
            t["network"] += time.perf_counter() - t1
            if progress:
                progress(min(stats["samples"], rec.samples_at_rate()) / self.sample_rate)
        d = np.concatenate(diffs).astype(np.int64) if diffs else np.zeros(0, dtype=np.int64)
        c = np.concatenate([[0], np.cumsum(d)])
        idx = np.arange(d.size)
        scores = (c[idx + 1] - c[np.maximum(idx + 1 - self.W, 0)]).astype(np.float64)
        hop_s, frame_s = self.frame_hop_s, self.rep.nfft / self.sample_rate
        begin = np.maximum(idx - self.W + 1, 0) * hop_s
        end = idx * hop_s + frame_s
        duration = stats["samples"] / self.sample_rate
        problems = reader_problems(rec, reader)
        check = {"units": [0] if check_in else [], "stream": True,
                 "input": np.concatenate(check_in)[None] if check_in else None,
                 "spikes": [s[None] for s in check_sp] if check_sp is not None else None}
        n_in_clip = self.W * spec.n_in
        return DetectorRun(begin, end, scores, duration,
                           np.stack(energy_x) if energy_x else np.zeros((0, n_in_clip), dtype=np.float32),
                           check, t, {"max_read_frames": reader.max_read_frames, "reader_max_held": reader.max_held,
                                      "block_frames": reader.block, "frame_buffer_max_held": stats["max_held"],
                                      "net_block_frames": self.net_block,
                                      "resampler_pad": reader.pad if reader.up != reader.down else 0},
                           problems, extra={"stream_counts": counts.to_dict(duration)})
