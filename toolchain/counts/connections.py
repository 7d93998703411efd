"""Per-layer connections: what operation counts need from one layer, per layer kind, exactly and
without expanding a convolution into a dense matrix.

One connection per layer with neurons (the IR's `spiking` layers; the float model's likewise). A
`flatten` node has none: every population is stored flattened channels first, so the next layer's
input index is already the flattened one. Every count is an exact integer:

    fanout             int64 [n_in]: nonzero synapses one event of input j drives (its effective fan-out)
    synapses           synapses of the layer, zero weights included (NeuroBench's Dense per evaluation)
    nonzero_synapses   fanout.sum() (+ the recurrent ones)
    stored_weights     weights held in memory (a conv kernel once); nonzero_weights: those != 0
    reachable          outputs with >= 1 nonzero synapse
    ops(events)        per row of events [M, n_in] (nonzero = an event): sum of the events' fan-outs
    reach(events)      bool [M, n_out]: outputs with >= 1 event on a nonzero synapse
    geometry()         the LayerShape chip mapping needs

Kinds (CONNECTIONS, one builder each; the same builder reads an IR layer or a float-model layer):
- dense: W [n_out, n_in]; fan-out of j = count_nonzero(W[:, j]).
- conv: a kernel [C_out, C_in/g, kH, kW] (1-D: [C_out, C_in/g, k]) with stride, padding, dilation,
  groups. Input (c, y, x) reaches output (o, yo, xo) through tap (i, j) when y = yo*sy + i*dy - py and
  x = xo*sx + j*dx - px (torch's cross-correlation), o in c's group. Its fan-out is the number of
  nonzero taps times output channels at the VALID output positions (padding drops out): the transposed
  convolution of the nonzero-kernel mask, computed tap by tap in int64. `reach` is the convolution of
  the events with the nonzero mask (float32 sums of 0/1 values, exact below 2**24 terms per output).
  This is NeuroBench's SynapticOperations for Conv: it binarises input and kernel and sums the layer
  applied to them (effective) or to all-ones (Dense, whose zero padding contributes nothing).
- dense_rec: W [n_out, n_in] on the input plus W_rec [n_out, n_out] on the layer's own spikes of the
  previous step (s[-1] = 0): ops = W's fan-out of the input events + W_rec's fan-out of its own
  previous spikes (`rec_ops`), Dense = n_in x n_out + n_out x n_out per step. That is how NeuroBench
  2.3.0 counts snntorch's RLeaky(all_to_all=True): its connection-layer search recurses into the
  RLeaky module and hooks the `recurrent` nn.Linear, whose input at each step is the previous spikes.
- input: a population driven directly by the network input (or by a per-clip bias): no synapses,
  no ops; `reach` is the identity (a neuron is driven when its own input value is nonzero).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from toolchain.counts.shapes import LayerShape

_CHUNK = 1024  # output neurons per dense block (bounds the float mask to 4 * 1024 * n_in bytes)
_ROWS = 4096  # event rows per conv block
_ELEMS = 1 << 24  # and at most this many input or output values per block
F32_EXACT = 2 ** 24


def _rows_dot(events: np.ndarray, fan: np.ndarray) -> np.ndarray:
    """Exact int64 sum over each row's nonzero events of their fan-outs."""
    ev = np.asarray(events).reshape(events.shape[0], -1) != 0
    bound = int(fan.max(initial=0)) * fan.size
    dtype = np.float32 if bound < F32_EXACT else np.float64  # integer sums below 2**24 / 2**53 are exact
    return np.rint(ev.astype(dtype) @ fan.astype(dtype)).astype(np.int64)


def _dense_reach(events: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """bool [M, n_out]: outputs with >= 1 event of `events` [M, n_in] on a nonzero entry of mask [n_out, n_in]."""
    dtype = np.float32 if mask.shape[1] < F32_EXACT else np.float64
    ev = (np.asarray(events).reshape(events.shape[0], -1) != 0).astype(dtype)
    out = np.empty((ev.shape[0], mask.shape[0]), dtype=bool)
    for start in range(0, mask.shape[0], _CHUNK):
        block = mask[start:start + _CHUNK].astype(dtype)
        out[:, start:start + _CHUNK] = (ev @ block.T) > 0
    return out


@dataclass
class Connection:
    """The synapses in front of one population (see module docstring)."""

    kind: ClassVar[str] = ""
    recurrent: ClassVar[bool] = False

    name: str
    weight_bits: int
    fanout: np.ndarray = field(init=False, repr=False)

    @property
    def n_in(self) -> int:
        raise NotImplementedError

    @property
    def n_out(self) -> int:
        raise NotImplementedError

    @property
    def nonzero_synapses(self) -> int:
        return int(self.fanout.sum())

    def ops(self, events: np.ndarray) -> np.ndarray:
        """int64 [M]: effective ops of event rows [M, n_in] (each event x its nonzero fan-out)."""
        return _rows_dot(events, self.fanout)

    def geometry(self) -> LayerShape:
        return LayerShape(self.kind, self.n_in, self.n_out, int(self.weight_bits), name=self.name)


@dataclass
class DenseConnection(Connection):
    """All-to-all: mask [n_out, n_in] = W != 0."""

    kind: ClassVar[str] = "dense"

    mask: np.ndarray = field(repr=False, default=None)

    def __post_init__(self) -> None:
        self.mask = np.asarray(self.mask, dtype=bool)
        if self.mask.ndim != 2:
            raise ValueError(f"layer {self.name!r}: a dense weight must be [n_out, n_in], got {self.mask.shape}")
        self.fanout = self.mask.sum(axis=0, dtype=np.int64)

    @property
    def n_in(self) -> int:
        return int(self.mask.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.mask.shape[0])

    @property
    def synapses(self) -> int:
        return self.n_in * self.n_out

    @property
    def stored_weights(self) -> int:
        return int(self.mask.size)

    @property
    def nonzero_weights(self) -> int:
        return int(self.mask.sum())

    @property
    def reachable(self) -> int:
        return int(self.mask.any(axis=1).sum())

    def reach(self, events: np.ndarray) -> np.ndarray:
        return _dense_reach(events, self.mask)


@dataclass
class DenseRecConnection(DenseConnection):
    """Dense input mask [n_out, n_in] plus recurrent mask [n_out, n_out] on the previous step's own spikes."""

    kind: ClassVar[str] = "dense_rec"
    recurrent: ClassVar[bool] = True

    rec_mask: np.ndarray = field(repr=False, default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.rec_mask = np.asarray(self.rec_mask, dtype=bool)
        if self.rec_mask.shape != (self.n_out, self.n_out):
            raise ValueError(f"layer {self.name!r}: the recurrent weight must be [{self.n_out}, {self.n_out}], "
                             f"got {self.rec_mask.shape}")
        self.rec_fanout = self.rec_mask.sum(axis=0, dtype=np.int64)

    @property
    def synapses(self) -> int:
        return self.n_in * self.n_out + self.n_out * self.n_out

    @property
    def nonzero_synapses(self) -> int:
        return int(self.fanout.sum() + self.rec_fanout.sum())

    @property
    def stored_weights(self) -> int:
        return int(self.mask.size + self.rec_mask.size)

    @property
    def nonzero_weights(self) -> int:
        return int(self.mask.sum() + self.rec_mask.sum())

    @property
    def reachable(self) -> int:
        return int((self.mask.any(axis=1) | self.rec_mask.any(axis=1)).sum())

    def rec_ops(self, own: np.ndarray) -> np.ndarray:
        """int64 [M]: W_rec's effective ops of the layer's own previous-step spikes [M, n_out]."""
        return _rows_dot(own, self.rec_fanout)

    def reach_rec(self, own: np.ndarray) -> np.ndarray:
        return _dense_reach(own, self.rec_mask)


def _as_2d(t, one: int) -> tuple[int, int]:
    t = tuple(int(v) for v in t)
    return (one, t[0]) if len(t) == 1 else (t[0], t[1])


def tap_positions(n_in: int, n_out: int, tap: int, stride: int, pad: int, dil: int) -> tuple[np.ndarray, np.ndarray]:
    """(output indices, input indices) along one axis where tap `tap` of every output lands inside the input."""
    o = np.arange(n_out)
    i = o * stride + tap * dil - pad
    ok = (i >= 0) & (i < n_in)
    return o[ok], i[ok]


@dataclass
class ConvConnection(Connection):
    """Convolution: mask [C_out, C_in/groups, *kernel] = kernel != 0 over `in_shape` (C, H, W) or (C, L)."""

    kind: ClassVar[str] = "conv"

    mask: np.ndarray = field(repr=False, default=None)
    in_shape: tuple[int, ...] = ()
    stride: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)
    dilation: tuple[int, ...] = (1, 1)
    groups: int = 1

    def __post_init__(self) -> None:
        from toolchain.ir.kinds.conv import conv_out_size

        self.mask = np.asarray(self.mask, dtype=bool)
        nd = self.mask.ndim - 2
        if nd not in (1, 2) or len(self.in_shape) != nd + 1:
            raise ValueError(f"layer {self.name!r}: kernel {self.mask.shape} does not fit input {self.in_shape}")
        self.in_shape = tuple(int(v) for v in self.in_shape)
        self.out_shape = (int(self.mask.shape[0]),) + tuple(
            conv_out_size(n, k, s, p, d) for n, k, s, p, d in
            zip(self.in_shape[1:], self.mask.shape[2:], self.stride, self.padding, self.dilation))
        self._k2 = self.mask if nd == 2 else self.mask[:, :, None, :]
        self._in2 = self.in_shape if nd == 2 else (self.in_shape[0], 1, self.in_shape[1])
        self._out2 = self.out_shape if nd == 2 else (self.out_shape[0], 1, self.out_shape[1])
        self._s2, self._p2, self._d2 = _as_2d(self.stride, 1), _as_2d(self.padding, 0), _as_2d(self.dilation, 1)
        self.fanout = self._transposed(self._k2).reshape(-1)
        self.synapses = int(self._transposed(np.ones_like(self._k2)).sum())

    def _taps(self):
        """(i, j, (out rows, in rows), (out cols, in cols)) for every kernel tap that lands in the input."""
        (_, H, W), (_, Ho, Wo) = self._in2, self._out2
        for i in range(self._k2.shape[2]):
            rows = tap_positions(H, Ho, i, self._s2[0], self._p2[0], self._d2[0])
            for j in range(self._k2.shape[3]):
                cols = tap_positions(W, Wo, j, self._s2[1], self._p2[1], self._d2[1])
                if rows[0].size and cols[0].size:
                    yield i, j, rows, cols

    def _transposed(self, mask: np.ndarray) -> np.ndarray:
        """int64 (C, H, W): per input neuron, the synapses of `mask` it drives at valid output positions."""
        C, H, W = self._in2
        g, cg, cog = int(self.groups), C // int(self.groups), self._out2[0] // int(self.groups)
        fan = np.zeros((C, H, W), dtype=np.int64)
        for i, j, (_, iy), (_, ix) in self._taps():
            per_channel = mask[:, :, i, j].reshape(g, cog, cg).sum(axis=1, dtype=np.int64).reshape(C)
            fan[:, iy[:, None], ix[None, :]] += per_channel[:, None, None]
        return fan

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def stored_weights(self) -> int:
        return int(self.mask.size)

    @property
    def nonzero_weights(self) -> int:
        return int(self.mask.sum())

    @property
    def reachable(self) -> int:
        reach = np.zeros(self._out2, dtype=bool)
        for i, j, (oy, _), (ox, _) in self._taps():
            nz = np.flatnonzero(self._k2[:, :, i, j].any(axis=1))
            reach[np.ix_(nz, oy, ox)] = True
        return int(reach.sum())

    def reach(self, events: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        terms = int(np.prod(self._k2.shape[1:]))
        np_dtype, dtype = (np.float32, torch.float32) if terms < F32_EXACT else (np.float64, torch.float64)
        w = torch.from_numpy(self._k2.astype(np_dtype))
        ev = np.asarray(events).reshape(events.shape[0], -1)
        out = np.empty((ev.shape[0], self.n_out), dtype=bool)
        rows = max(1, min(_ROWS, _ELEMS // max(self.n_in, self.n_out)))
        for start in range(0, ev.shape[0], rows):
            x = torch.from_numpy((ev[start:start + rows] != 0).astype(np_dtype)).reshape(-1, *self._in2)
            y = F.conv2d(x, w, stride=self._s2, padding=self._p2, dilation=self._d2, groups=int(self.groups))
            out[start:start + rows] = (y > 0).reshape(x.shape[0], -1).numpy()
        return out

    def geometry(self) -> LayerShape:
        return LayerShape(self.kind, self.n_in, self.n_out, int(self.weight_bits), name=self.name,
                          in_shape=self.in_shape, out_shape=self.out_shape,
                          kernel=tuple(int(k) for k in self.mask.shape[2:]),
                          stride=tuple(int(v) for v in self.stride), padding=tuple(int(v) for v in self.padding),
                          dilation=tuple(int(v) for v in self.dilation), groups=int(self.groups))


@dataclass
class InputConnection(Connection):
    """A population driven directly by the network input (or a per-clip bias): no synapses."""

    kind: ClassVar[str] = "input"

    shape: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.fanout = np.zeros(self.n_in, dtype=np.int64)

    @property
    def n_in(self) -> int:
        return int(np.prod(self.shape))

    n_out = n_in
    synapses = 0
    stored_weights = 0
    nonzero_weights = 0

    @property
    def reachable(self) -> int:
        return self.n_out

    def reach(self, events: np.ndarray) -> np.ndarray:
        return np.asarray(events).reshape(events.shape[0], -1) != 0

    def geometry(self) -> LayerShape:
        return LayerShape(self.kind, self.n_in, self.n_out, 0, name=self.name, in_shape=tuple(self.shape),
                          out_shape=tuple(self.shape))


def _dense(layer, bits: int) -> Connection:
    return DenseConnection(name=layer.name, weight_bits=bits, mask=np.asarray(layer.weight) != 0)


def _dense_rec(layer, bits: int) -> Connection:
    return DenseRecConnection(name=layer.name, weight_bits=bits, mask=np.asarray(layer.weight) != 0,
                              rec_mask=np.asarray(layer.weight_rec) != 0)


def _conv(layer, bits: int) -> Connection:
    return ConvConnection(name=layer.name, weight_bits=bits, mask=np.asarray(layer.weight) != 0,
                          in_shape=tuple(layer.in_shape), stride=tuple(layer.stride), padding=tuple(layer.padding),
                          dilation=tuple(layer.dilation), groups=int(layer.groups))


def _input(layer, bits: int) -> Connection:
    return InputConnection(name=layer.name, weight_bits=0, shape=tuple(layer.out_shape))


# layer kind -> builder(layer of the IR or of the float model, weight bits) -> Connection; None: no synapses
CONNECTIONS: dict[str, Callable[[Any, int], Connection] | None] = {
    "dense": _dense, "conv": _conv, "dense_rec": _dense_rec, "input": _input, "flatten": None,
}


def build_connections(layers, weight_bits: Callable[[Any], int]) -> list[Connection]:
    """One connection per layer with neurons of `layers` (IR or float layers, in order)."""
    out = []
    for i, layer in enumerate(layers):
        kind = getattr(layer, "kind", "dense")
        name = getattr(layer, "name", "") or f"layer{i + 1}"
        if kind not in CONNECTIONS:
            raise ValueError(f"layer {i + 1} ({name!r}) is a {kind!r} layer: no connection counts that kind "
                             f"(known: {', '.join(CONNECTIONS)})")
        builder = CONNECTIONS[kind]
        if builder is None:
            continue
        conn = builder(layer, weight_bits(layer))
        conn.name = name
        out.append(conn)
    return out
