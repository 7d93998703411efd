"""Chip mapping of a convolutional layer: neurons per core, core memory and fan-in, from its geometry.

Placement (stated): a core holds a box of the layer's output, (channels x rows x columns), the way
Lava's Loihi 2 compiler placed lava-dl's PilotNet (shared/data/lava-dl/README.md: blocks of whole
channels and rows, split along the columns, e.g. 4 columns x 32 rows x 24 channels). Boxes of whole
channels and rows are tried first (as many columns as fit), then whole channels over fewer rows of
one column, then fewer channels of one output position. Every core receives, as input axons, the
input neurons whose synapses reach its box.

Per input axon (c, y, x) and box, the synapses it drives are separable: entries = n_rows(y) x
n_cols(x) x n_channels(c), where n_rows(y) counts the (output row in the box, kernel row) pairs that
land on input row y (stride, padding, dilation), n_cols likewise, and n_channels(c) the box's output
channels in c's group. Two storage models, chosen by the profile's `resources.conv_weight_sharing`:

- shared (the chip stores a convolutional kernel once per core and lets every input axon index it):
  the box's kernel, one synapse list per input channel holding its weights to the box's channels at
  every tap, in the profile's list format, plus neuron state where the core memory is shared;
- expanded (no sharing, or unknown): every input axon keeps its own synapse lists, `entries` weights
  in lists of the profile's format (nengo-loihi block.py accounting); a profile without list keys
  stores a dense crossbar of (input axons x neurons) weights.
Zero weights are stored like any other (as the dense planner does): the count depends on geometry
only. Boxes differ only at the edges; the fullest box decides neurons per core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Geometry2D:
    """A conv layer's geometry with 1-D layers as 2-D ones over (C, 1, L)."""

    C: int
    H: int
    W: int
    Co: int
    Ho: int
    Wo: int
    k: tuple[int, int]
    s: tuple[int, int]
    p: tuple[int, int]
    d: tuple[int, int]
    g: int

    @classmethod
    def of(cls, ls) -> "Geometry2D":
        two = len(ls.in_shape) == 3
        pair = (lambda t, one: tuple(int(v) for v in t)) if two else (lambda t, one: (one, int(t[0])))
        c, *hw = ls.in_shape
        co, *hwo = ls.out_shape
        H, W = (hw if two else (1, hw[0]))
        Ho, Wo = (hwo if two else (1, hwo[0]))
        return cls(int(c), int(H), int(W), int(co), int(Ho), int(Wo), pair(ls.kernel, 1), pair(ls.stride, 1),
                   pair(ls.padding, 0), pair(ls.dilation, 1), int(ls.groups))

    @property
    def taps(self) -> int:
        return self.k[0] * self.k[1]


def axis_counts(n_in: int, start: int, stop: int, k: int, s: int, p: int, d: int) -> np.ndarray:
    """int64 [n_in]: (output index in [start, stop), kernel index) pairs landing on each input index."""
    out = np.zeros(n_in, dtype=np.int64)
    o = np.arange(start, stop)
    for t in range(k):
        i = o * s + t * d - p
        np.add.at(out, i[(i >= 0) & (i < n_in)], 1)
    return out


def channel_counts(geo: Geometry2D, c0: int, c1: int) -> np.ndarray:
    """int64 [C]: per input channel, the output channels in [c0, c1) of its group."""
    cog, cg = geo.Co // geo.g, geo.C // geo.g
    per_group = [max(0, min(c1, (gi + 1) * cog) - max(c0, gi * cog)) for gi in range(geo.g)]
    return np.repeat(np.asarray(per_group, dtype=np.int64), cg)


def _blocks(n: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _profiles(counts: list[np.ndarray]) -> list[np.ndarray]:
    """The distinct multisets of nonzero values among per-block count arrays (what a box's cost depends on)."""
    seen: dict[bytes, np.ndarray] = {}
    for c in counts:
        nz = np.sort(c[c > 0])
        seen.setdefault(nz.tobytes() + bytes(str(nz.size), "ascii"), nz)
    return list(seen.values())


@dataclass
class Box:
    """One tiling of the output into boxes of (channels, rows, columns), with its fullest box's cost."""

    channels: int
    rows: int
    cols: int
    cores: int
    core_bits: int  # fullest box: synapse memory (+ neuron state if shared)
    weight_only_bits: int  # that box's weights x bits alone
    axons_in: int  # most input axons any core receives
    dest_mean: float  # mean over input neurons of the cores their spikes reach
    dest_max: int
    stored_synapses: int  # synapse entries stored over all cores

    @property
    def neurons(self) -> int:
        return self.channels * self.rows * self.cols

    def describe(self) -> str:
        return f"{self.channels} channel(s) x {self.rows} row(s) x {self.cols} column(s)"


def tile(geo: Geometry2D, cb: int, rb: int, wb: int, *, weight_bits: int, fmt, shared: bool) -> Box:
    """Cost of tiling the output into boxes of (cb channels, rb rows, wb columns)."""
    ch = [channel_counts(geo, a, b) for a, b in _blocks(geo.Co, cb)]
    ny = [axis_counts(geo.H, a, b, geo.k[0], geo.s[0], geo.p[0], geo.d[0]) for a, b in _blocks(geo.Ho, rb)]
    nx = [axis_counts(geo.W, a, b, geo.k[1], geo.s[1], geo.p[1], geo.d[1]) for a, b in _blocks(geo.Wo, wb)]
    listed = bool(fmt.header_bits or fmt.word_bits > 1 or fmt.max_entries)
    worst = (-1, 0, 0)
    neurons = min(cb, geo.Co) * min(rb, geo.Ho) * min(wb, geo.Wo)  # a full box (edge boxes hold fewer)
    for cc in _profiles(ch):
        for ry in _profiles(ny):
            for rx in _profiles(nx):
                axons = cc.size * ry.size * rx.size
                if shared:
                    entries = cc * geo.taps
                    bits = int(fmt.list_bits_array(entries, weight_bits).sum()) if listed else int(entries.sum()) * weight_bits
                    weights = int(entries.sum()) * weight_bits
                else:
                    entries = cc[:, None, None] * ry[None, :, None] * rx[None, None, :]
                    weights = int(entries.sum()) * weight_bits
                    bits = int(fmt.list_bits_array(entries, weight_bits).sum()) if listed else axons * neurons * weight_bits
                bits += neurons * fmt.state_bits
                if bits > worst[0]:
                    worst = (bits, weights, axons)
    cores = len(ch) * len(ny) * len(nx)
    dest = [np.sum([c > 0 for c in arrs], axis=0) for arrs in (ch, ny, nx)]
    all_y = axis_counts(geo.H, 0, geo.Ho, geo.k[0], geo.s[0], geo.p[0], geo.d[0])
    all_x = axis_counts(geo.W, 0, geo.Wo, geo.k[1], geo.s[1], geo.p[1], geo.d[1])
    if shared:
        stored = len(ny) * len(nx) * geo.Co * (geo.C // geo.g) * geo.taps
    else:
        stored = geo.C * (geo.Co // geo.g) * int(all_y.sum()) * int(all_x.sum())
    return Box(channels=min(cb, geo.Co), rows=min(rb, geo.Ho), cols=min(wb, geo.Wo), cores=cores,
               core_bits=worst[0], weight_only_bits=worst[1], axons_in=worst[2],
               dest_mean=float(np.prod([d.mean() for d in dest])), dest_max=int(np.prod([d.max() for d in dest])),
               stored_synapses=int(stored))


def _largest(lo: int, hi: int, ok: Callable[[int], bool]) -> int:
    """The largest v in [lo, hi] with ok(v), ok monotone (True then False); lo - 1 if none."""
    if hi < lo or not ok(lo):
        return lo - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def plan_boxes(geo: Geometry2D, *, cap: int | None, mem: int | None, weight_bits: int, fmt,
               shared: bool, axons_max: int | None = None) -> tuple[Box | None, str]:
    """(the largest fitting tiling, what bounds it), or (None, "does not fit") when not even one output
    neuron's synapses fit a core. A box fits when its core memory fits and, where the chip's fan-in
    limit is known (`axons_max`: its certain upper end), its input axons do; when no box meets the
    fan-in limit, the memory alone decides (and the fan-in check fails)."""
    if axons_max is not None:
        found = plan_boxes(geo, cap=cap, mem=mem, weight_bits=weight_bits, fmt=fmt, shared=shared)
        if found[0] is not None and found[0].axons_in > axons_max:
            limited = _plan(geo, cap, mem, weight_bits, fmt, shared, axons_max)
            if limited[0] is not None:
                return limited[0], "input axons per core" if limited[1] != "fits in one core" else limited[1]
        return found
    return _plan(geo, cap, mem, weight_bits, fmt, shared, None)


def _plan(geo: Geometry2D, cap, mem, weight_bits, fmt, shared, axons_max) -> tuple[Box | None, str]:
    cap = cap if cap is not None else geo.Co * geo.Ho * geo.Wo
    cost = lambda cb, rb, wb: tile(geo, cb, rb, wb, weight_bits=weight_bits, fmt=fmt, shared=shared)  # noqa: E731

    def fits(cb, rb, wb) -> bool:
        b = cost(cb, rb, wb)
        return (mem is None or b.core_bits <= mem) and (axons_max is None or b.axons_in <= axons_max)

    column = geo.Co * geo.Ho
    levels = [(column <= cap, lambda v: (geo.Co, geo.Ho, v), min(geo.Wo, cap // max(column, 1)), geo.Wo),
              (geo.Co <= cap, lambda v: (geo.Co, v, 1), min(geo.Ho, cap // max(geo.Co, 1)), geo.Ho),
              (True, lambda v: (v, 1, 1), min(geo.Co, cap), geo.Co)]
    for allowed, box, top, full in levels:
        if not allowed or top < 1:
            continue
        v = _largest(1, top, lambda v, box=box: fits(*box(v)))
        if v < 1:
            continue
        b = cost(*box(v))
        if b.cores == 1:
            return b, "fits in one core"
        return b, ("neurons per core" if v == top and top < full else "synaptic memory")
    return None, "does not fit"
