"""Random and edge-case NetworkIRs for back-end equivalence tests (thresholds set for activity)."""

from __future__ import annotations

import numpy as np

from toolchain.emulator import run_encoded
from toolchain.ir import Conv, DenseRec, Flatten, InputSpec, LayerIR, NetworkIR
from toolchain.ir import limits as L
from toolchain.ir.kinds.base import prod


def random_ir(rng: np.random.Generator, sizes: list[int], num_steps: int, encoding: str, *,
              reset: str = "zero", weight_bits: int = 8, input_bits: int = 8, bias: bool = True,
              spike_encoder: str = "rate") -> NetworkIR:
    """A random IR whose thresholds give every layer activity (calibrated on the emulator)."""
    lo, hi = L.weight_range(weight_bits)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.integers(lo // 2, hi + 1, size=(n_out, n_in)).astype(np.int32)  # positive mean: activity
        graded = i == 0 and encoding != "spikes"
        wexp = -int(rng.integers(2, 6)) if graded else int(rng.integers(-1, 2))
        layers.append(LayerIR(
            name=f"fc{i}", weight=w,
            bias_mant=(rng.integers(-300, 300, size=n_out) if bias else np.zeros(n_out)).astype(np.int32),
            weight_exp=wexp, weight_bits=weight_bits, bias_exp=int(rng.integers(0, 4)),
            du=0 if (i == 0 and encoding == "graded_once") else int(rng.choice([4095, int(rng.integers(0, 4096))])),
            dv=int(rng.integers(0, 1500)), vth=L.VTH_MAX, reset=reset))
    spec = InputSpec(n_in=sizes[0], encoding=encoding, bits=1 if encoding == "spikes" else input_bits,
                     scale=1.0 if encoding == "spikes" else float(2 ** input_bits - 1),
                     spike_encoder=spike_encoder if encoding == "spikes" else None)
    return NetworkIR(name="random", num_steps=num_steps, input=spec, layers=layers)


def random_input(rng: np.random.Generator, ir: NetworkIR, batch: int) -> np.ndarray:
    """Encoded input for `ir`: graded ints (a frame per step for "frames") or binary spike trains."""
    if ir.input.encoding == "frames":
        return rng.integers(0, 2 ** ir.input.bits, size=(batch, ir.num_steps, ir.input.n_in)).astype(np.int32)
    if ir.input.graded:
        return rng.integers(0, 2 ** ir.input.bits, size=(batch, ir.input.n_in)).astype(np.int32)
    return rng.random((batch, ir.num_steps, ir.input.n_in)) < rng.uniform(0.2, 0.6)


def calibrate_thresholds(ir: NetworkIR, inp: np.ndarray, quantile: float = 0.5) -> NetworkIR:
    """Set each population's vth so that about (1 - quantile) of its neurons reach threshold."""
    for i, layer in enumerate(ir.spiking):
        res = run_encoded(ir, inp, record_v=True)
        peak = res.meta["v"][i].max(axis=(0, 1))  # [n] highest v (after reset) per neuron
        for _ in range(4):  # a layer driven only below zero: lift it with a positive bias
            if peak.max() > 64:
                break
            layer.bias_mant[:] = 2000
            layer.bias_exp = min(L.BIAS_EXP_MAX, layer.bias_exp + 2)
            peak = run_encoded(ir, inp, record_v=True).meta["v"][i].max(axis=(0, 1))
        vth = int(np.clip(np.quantile(peak, quantile) // 64, 0, L.VTH_MAX))
        layer.vth = vth
    return ir


def _spec(n_in: int, shape, encoding: str, input_bits: int = 6) -> InputSpec:
    spikes = encoding == "spikes"
    return InputSpec(n_in=n_in, encoding=encoding, bits=1 if spikes else input_bits,
                     scale=1.0 if spikes else float(2 ** input_bits - 1), shape=tuple(shape),
                     spike_encoder="rate" if spikes else None)


def _neurons(rng, n: int, encoding: str, first: bool, reset: str) -> dict:
    return dict(bias_mant=rng.integers(-200, 200, size=n).astype(np.int32), bias_exp=int(rng.integers(0, 4)),
                du=0 if (first and encoding == "graded_once") else int(rng.choice([4095, int(rng.integers(0, 4096))])),
                dv=int(rng.integers(0, 1500)), vth=L.VTH_MAX, reset=reset)


def random_conv_ir(rng: np.random.Generator, dims: int, encoding: str, *, reset: str = "zero",
                   num_steps: int = 5) -> NetworkIR:
    """A random conv -> conv -> flatten -> dense network, 1-D (C, L) or 2-D (C, H, W), with random
    strides, paddings, dilations, channel counts and groups (weight_exp 0, as Lava's Conv needs)."""
    c_in = int(rng.integers(1, 4))
    shape = (c_in, int(rng.integers(9, 14))) if dims == 1 else (c_in, int(rng.integers(7, 11)), int(rng.integers(7, 11)))
    layers, cur = [], shape
    for j in range(2):
        groups = int(rng.choice([1, cur[0]])) if cur[0] > 1 and j == 1 else 1
        c_out = groups * int(rng.integers(1, 4)) if groups > 1 else int(rng.integers(2, 5))
        k = tuple(int(v) for v in rng.integers(1, 4, size=dims))
        stride = tuple(int(v) for v in rng.integers(1, 3, size=dims))
        padding = tuple(int(v) for v in rng.integers(0, 2, size=dims))
        dilation = tuple(int(v) for v in rng.integers(1, 3, size=dims)) if j == 0 else (1,) * dims
        w = rng.integers(-60, 128, size=(c_out, cur[0] // groups, *k)).astype(np.int32)
        conv = Conv(name=f"conv{j}", weight=w, input_shape=cur, stride=stride, padding=padding, dilation=dilation,
                    groups=groups, weight_bits=8, bias_mant=np.zeros(1, np.int32))
        if any(n < 1 for n in conv.out_shape):
            return random_conv_ir(rng, dims, encoding, reset=reset, num_steps=num_steps)
        for key, value in _neurons(rng, conv.n_out, encoding, j == 0, reset).items():
            setattr(conv, key, value)
        layers.append(conv)
        cur = conv.out_shape
    layers.append(Flatten(name="flat", shape=cur))
    n = prod(cur)
    layers.append(LayerIR(name="fc", weight=rng.integers(-60, 128, size=(3, n)).astype(np.int32), weight_exp=0,
                          **_neurons(rng, 3, encoding, False, reset)))
    return NetworkIR(name=f"conv{dims}d", num_steps=num_steps, input=_spec(prod(shape), shape, encoding), layers=layers)


def random_rec_ir(rng: np.random.Generator, sizes: list[int], encoding: str, *, reset: str = "zero",
                  num_steps: int = 6) -> NetworkIR:
    """A dense -> dense_rec -> dense network with random recurrent weights of both signs."""
    n_in, h1, h2, n_out = sizes
    layers = [
        LayerIR(name="fc0", weight=rng.integers(-60, 128, size=(h1, n_in)).astype(np.int32),
                weight_exp=-int(rng.integers(1, 4)) if encoding != "spikes" else 0,
                **_neurons(rng, h1, encoding, True, reset)),
        DenseRec(name="rec", weight=rng.integers(-60, 128, size=(h2, h1)).astype(np.int32),
                 weight_rec=rng.integers(-128, 128, size=(h2, h2)).astype(np.int32), weight_exp=int(rng.integers(-1, 2)),
                 **_neurons(rng, h2, encoding, False, reset)),
        LayerIR(name="out", weight=rng.integers(-60, 128, size=(n_out, h2)).astype(np.int32),
                **_neurons(rng, n_out, encoding, False, reset)),
    ]
    return NetworkIR(name="rec", num_steps=num_steps, input=_spec(n_in, (n_in,), encoding), layers=layers)
