"""One emulator handler per IR layer kind: its exact integer accumulation, then the LIF update.

A handler is built once per layer (`HANDLERS[kind](layer, max_input)`, weights laid out for BLAS)
and then called on each chunk of clips:

    handler.run(x, T, first, kw) -> (spikes bool [B, T, n_out] or None, (v, u) traces or (None, None), out)

x is the layer's input, clip-major: bool / int [B, T, n_in] per step, or, for the first layer of a graded
encoding, int [B, n_in] (the same payload at every step it is sent: `first` says "graded_once" or
"graded_every_step"); for an `input` population under the "bias" encoding, the clips' biases
[B, n]. `out` is what the next layer receives ([B, T, n_out]: the spikes, or for `flatten` its
input unchanged). kw holds the LIF options (record_v, stats).
"""

from __future__ import annotations

import numpy as np

from toolchain.emulator.conv import conv_accumulate, prepare_conv
from toolchain.emulator.dense import accumulate, prepare
from toolchain.emulator.events import bias_fits, conv_lif_layer, integer_input, prepare_events
from toolchain.emulator.lif import bias_driven_layer, lif_layer, lif_rec_layer


def _bias(layer) -> np.ndarray:
    return (np.asarray(layer.bias_mant, dtype=np.int64) << int(layer.bias_exp)).astype(np.float64)


def _lif_kw(layer, kw: dict) -> dict:
    return dict(du=layer.du, dv=layer.dv, vth=layer.vth, reset=layer.reset, **kw)


def _per_step(x: np.ndarray, T: int, acc) -> np.ndarray:
    """acc applied to every (clip, step) row of x [B, T, n_in] in one product: [B, T, n_out]."""
    flat = x.reshape(x.shape[0] * T, x.shape[2])
    return acc(flat).reshape(x.shape[0], T, -1)


class DenseHandler:
    """`dense`: a = (W @ s) << weight_exp (floor for a negative exponent), exact on float BLAS."""

    def __init__(self, layer, max_input: int):
        self.layer = layer
        self.prepared = prepare(layer.weight, layer.weight_exp, max_input)
        self.bias = _bias(layer)

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        return accumulate(self.prepared, x)

    def run(self, x, T, first, kw):
        if x.ndim == 2:  # graded payload [B, n_in]: the same sum at every step it is sent
            a = self.accumulate(x)
            s, v, u = lif_layer(a, T, once=first == "graded_once", bias=self.bias, **_lif_kw(self.layer, kw))
        else:
            a = _per_step(x, T, self.accumulate)
            s, v, u = lif_layer(a, T, bias=self.bias, **_lif_kw(self.layer, kw))
        return s, (v, u), s


class ConvHandler(DenseHandler):
    """`conv`: a = the exact integer cross-correlation (no weight exponent, as Lava's Conv).

    Per-step integer input (spikes, frames) runs event-driven, the sums fused with the LIF update
    (`toolchain.emulator.events`), unless range statistics are asked for; a graded payload, and
    those runs, take the im2col product (`toolchain.emulator.conv`) and then `lif_layer`."""

    def __init__(self, layer, max_input: int):
        self.layer = layer
        self.max_input = int(max_input)
        self.prepared = prepare_conv(layer, max_input)
        self.bias = _bias(layer)
        self.events = prepare_events(layer, max_input) if bias_fits(self.bias) else None

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        return conv_accumulate(self.prepared, x)

    def run(self, x, T, first, kw):
        xi = integer_input(x) if x.ndim == 3 and self.events is not None and kw.get("stats") is None else None
        if xi is not None and x.dtype != np.bool_ and xi.size and int(np.abs(xi).max()) > self.max_input:
            xi = None  # outside the range the event sums' bound was stated for
        if xi is None:
            return super().run(x, T, first, kw)
        lif = _lif_kw(self.layer, kw)
        lif.pop("stats")
        s, v, u = conv_lif_layer(self.events, x if x.dtype == np.bool_ else xi, self.bias, **lif)
        return s, (v, u), s


class DenseRecHandler(DenseHandler):
    """`dense_rec`: the feed-forward sum as dense, plus shift(W_rec @ s[t-1], weight_exp_rec) inside the
    time loop."""

    def __init__(self, layer, max_input: int):
        super().__init__(layer, max_input)
        self.w_rec = np.asarray(layer.weight_rec, dtype=np.float64)

    def run(self, x, T, first, kw):
        if x.ndim == 2:
            a = self.accumulate(x)
            a = np.broadcast_to(a[:, None, :], (a.shape[0], T, a.shape[1])).copy()
            if first == "graded_once":
                a[:, 1:] = 0
        else:
            a = _per_step(x, T, self.accumulate)
        s, v, u = lif_rec_layer(a, self.w_rec, self.layer.rec_exp, T, bias=self.bias,
                             **_lif_kw(self.layer, kw))
        return s, (v, u), s


class InputHandler:
    """`input`: neurons driven by the input itself (a = x), or by each clip's bias ("bias")."""

    def __init__(self, layer, max_input: int):
        self.layer = layer
        self.bias = _bias(layer)

    def run(self, x, T, first, kw):
        if first == "bias":  # x: bias mantissas per clip [B, n]
            s, v, u = bias_driven_layer(np.asarray(x), int(self.layer.bias_exp), T, **_lif_kw(self.layer, kw))
        else:
            s, v, u = lif_layer(np.asarray(x, dtype=np.float64), T, bias=self.bias, **_lif_kw(self.layer, kw))
        return s, (v, u), s


class FlattenHandler:
    """`flatten`: no neurons; the spikes pass on unchanged (they are stored flattened already)."""

    def __init__(self, layer, max_input: int):
        self.layer = layer

    def run(self, x, T, first, kw):
        return None, (None, None), x


HANDLERS = {"dense": DenseHandler, "conv": ConvHandler, "dense_rec": DenseRecHandler, "input": InputHandler,
            "flatten": FlattenHandler}
