"""Random and edge-case NetworkIRs for back-end equivalence tests (thresholds set for activity)."""

from __future__ import annotations

import numpy as np

from toolchain.emulator import run_encoded
from toolchain.ir import InputSpec, LayerIR, NetworkIR
from toolchain.ir import limits as L


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
    """Encoded input for `ir`: graded ints or binary spike trains."""
    if ir.input.graded:
        return rng.integers(0, 2 ** ir.input.bits, size=(batch, ir.input.n_in)).astype(np.int32)
    return rng.random((batch, ir.num_steps, ir.input.n_in)) < rng.uniform(0.2, 0.6)


def calibrate_thresholds(ir: NetworkIR, inp: np.ndarray, quantile: float = 0.5) -> NetworkIR:
    """Set each layer's vth so that about (1 - quantile) of its neurons reach threshold."""
    for i, layer in enumerate(ir.layers):
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
