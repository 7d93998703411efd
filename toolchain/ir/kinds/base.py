"""What every IR layer kind has: a name, shapes, stored tensors and scalars, and its own checks.

Layout of every shape: channels first, as torch stores it. A 2-D convolutional population is
(C, H, W), a 1-D one (C, L), a dense one (n,). Spikes and states are stored flattened in that
order (neuron index c*H*W + h*W + w), which is also the order lava-dl netx's `flatten` produces
(it transposes Lava's (X, Y, C) = (W, H, C) back to (C, H, W) before flattening).

Neuron fields (every kind with neurons, Loihi fixed point; meaning in `toolchain.ir.graph`):
`bias_mant` int32 [n_out] and `bias_exp` (effective bias in v units = bias_mant << bias_exp), the
current decay `du` and voltage decay `dv` (0..4095, x/4096 per step), the threshold mantissa `vth`
(spike when v > vth << 6), the reset rule ("zero" | "subtract"), and `scale`, the activation units
per float current unit the quantiser chose (informational, for dequantising).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

NEURON_SCALARS = ("bias_exp", "du", "dv", "vth")


def prod(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if len(shape) else 1


@dataclass(kw_only=True)
class Node:
    """A step of the network: maps an input shape to an output shape."""

    kind: ClassVar[str] = ""
    has_neurons: ClassVar[bool] = False
    # Synapses that delay by one step in Lava (a Dense / Conv process sits in front of the neurons).
    delays: ClassVar[int] = 0
    tensor_names: ClassVar[tuple[str, ...]] = ()
    scalar_names: ClassVar[tuple[str, ...]] = ()
    shape_names: ClassVar[tuple[str, ...]] = ()  # tuple-valued scalars (shapes, strides, ...)

    name: str

    @property
    def in_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def out_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def n_in(self) -> int:
        return prod(self.in_shape)

    @property
    def n_out(self) -> int:
        return prod(self.out_shape)

    def tensors(self) -> dict[str, np.ndarray]:
        """The layer's arrays as stored (int32)."""
        return {k: np.asarray(getattr(self, k), dtype=np.int32) for k in self.tensor_names}

    def params(self) -> dict[str, Any]:
        """Everything but the arrays, as plain JSON-able data."""
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, "n_in": self.n_in, "n_out": self.n_out}
        for k in self.scalar_names:
            v = getattr(self, k)
            out[k] = v if isinstance(v, str) else (float(v) if isinstance(v, float) else int(v))
        for k in self.shape_names:
            out[k] = [int(v) for v in getattr(self, k)]
        return out

    @classmethod
    def from_stored(cls, params: dict[str, Any], tensors: dict[str, np.ndarray]) -> "Node":
        """Rebuild from `params()` and `tensors()` (KeyError / TypeError / ValueError when malformed)."""
        kw: dict[str, Any] = {"name": str(params["name"])}
        for k in cls.tensor_names:
            kw[k] = tensors[k]
        for k in cls.scalar_names:
            kw[k] = params[k] if isinstance(params[k], str) else (
                float(params[k]) if k == "scale" else int(params[k]))
        for k in cls.shape_names:
            kw[k] = tuple(int(v) for v in params[k])
        return cls(**kw)

    def checks(self, target, where: str) -> list[str]:
        """Kind-specific design-rule problems against `target` (a toolchain.ir.target.Target)."""
        return []

    def worst_sum(self, max_in: int) -> int:
        """Largest |accumulated input| one neuron can receive in a step when |input| <= max_in."""
        return 0


@dataclass(kw_only=True)
class NeuronLayer(Node):
    """A population of LIF neurons (one Lava LIF process), with the kind's synapses in front."""

    has_neurons: ClassVar[bool] = True
    scalar_names: ClassVar[tuple[str, ...]] = NEURON_SCALARS + ("reset", "scale")

    bias_mant: np.ndarray  # int32 [n_out]
    bias_exp: int = 6
    du: int = 4095
    dv: int = 0
    vth: int = 1
    reset: str = "zero"
    scale: float = 1.0

    def neuron_params(self) -> dict[str, Any]:
        return {"du": int(self.du), "dv": int(self.dv), "vth": int(self.vth), "bias_exp": int(self.bias_exp),
                "reset": self.reset}


@dataclass(kw_only=True)
class WeightedLayer(NeuronLayer):
    """A layer whose synapses hold integer weight mantissas shifted by a shared weight exponent."""

    scalar_names: ClassVar[tuple[str, ...]] = NeuronLayer.scalar_names + ("weight_exp", "weight_bits")
    delays: ClassVar[int] = 1

    weight: np.ndarray
    weight_exp: int = 0
    weight_bits: int = 8

    def weight_arrays(self) -> dict[str, np.ndarray]:
        """The integer weight arrays the weight-range rules apply to (name -> array)."""
        return {"weight": self.weight}

    def exp_of(self, field: str) -> int:
        """The weight exponent the sum over weight array `field` is shifted by."""
        return int(self.weight_exp)

    def checks(self, target, where: str) -> list[str]:
        out = []
        lo, hi = target.weight_bits
        if not lo <= int(self.weight_bits) <= hi:
            out.append(f"{where} field 'weight_bits': {int(self.weight_bits)} outside {lo}..{hi}")
            return out
        for field, arr in self.weight_arrays().items():
            if not arr.size or not np.issubdtype(arr.dtype, np.integer):
                continue
            wmin, wmax = int(arr.min()), int(arr.max())
            if int(self.weight_bits) == 1:
                if wmin < -1 or wmax > 1 or (wmin < 0 < wmax):
                    out.append(f"{where} field '{field}': values {wmin}..{wmax} do not fit 1-bit single-sign weights")
            else:
                wlo, whi = target.weight_range(int(self.weight_bits))
                if wmin < wlo or wmax > whi:
                    out.append(f"{where} field '{field}': values {wmin}..{wmax} outside {wlo}..{whi} "
                               f"({int(self.weight_bits)}-bit signed)")
            if target.effective_weight is not None:
                elo, ehi = target.effective_weight
                e = self.exp_of(field)
                emin, emax = (wmin << e, wmax << e) if e >= 0 else (wmin >> -e, wmax >> -e)
                if emin < elo or emax > ehi:
                    out.append(f"{where} field '{field}': effective weights (<< weight_exp) {emin}..{emax} "
                               f"outside {elo}..{ehi} ({', '.join(target.constraints)})")
        return out
