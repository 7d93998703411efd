"""NetworkIR: a quantised feed-forward SNN in Loihi fixed point, independent of any back end.

Fixed-point meaning (exactly what `toolchain.emulator` computes and Lava's bit-accurate models do),
per layer, per time step t = 1..num_steps, for every neuron, with integer state u, v (24 bit):

    acc[t] = W @ s_in[t]                                  (int; W = `weight`, integer mantissas)
    a[t]   = acc[t] << weight_exp   (or floor(acc / 2**-weight_exp) when weight_exp < 0)
    u[t]   = wrap24( trunc(u[t-1] * (4095 - du) / 4096) + (a[t] << 6) )
    v[t]   = sat24( trunc(v[t-1] * (4096 - dv) / 4096) + u[t] + (bias_mant << bias_exp)
                    [- s[t-1] * (vth << 6)   for reset "subtract"] )
    s[t]   = v[t] > (vth << 6);   reset "zero": v[t] = 0 where s[t]

trunc() rounds toward zero; du=4095 gives a memoryless current (u = 64 a), du=0 a current that
decays by 1/4096 per step (Lava adds 1 to du: there is no exactly non-decaying current).

Units: one activation unit `a` equals `scale` / (float current unit); u and v are in units of
a/64 (the 6-bit left shifts). So a float membrane value m corresponds to v = 64 * scale * m and
the float threshold theta to vth = round(theta * scale).

Input (`InputSpec.encoding`):
- "graded_once": the input vector x in [0, 1] is sent once, as integers x_int = round(x * scale)
  of `bits` bits, at the first step of each classification; layer 1 has du = 0 and holds it as a
  current (one layer of synaptic operations per classification instead of one per step).
- "graded_every_step": x_int is sent at every step; layer 1 has du = 4095.
- "spikes": binary input spike trains (rate or latency code produced on the host by
  `toolchain.represent.encoding`), bits = 1.
Readout: the spike count of the last layer over num_steps; the class is its argmax (ties -> 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCHEMA_VERSION = 1


@dataclass
class InputSpec:
    """How the input vector reaches layer 1."""

    n_in: int
    encoding: str = "graded_once"
    bits: int = 8  # graded payload bits (1 for spikes)
    scale: float = 255.0  # x_int = round(clip(x, 0, 1) * scale); 1 for spikes
    shape: tuple[int, ...] = ()  # the feature's natural shape, e.g. (105, 135); n_in = prod(shape)
    spike_encoder: str | None = None  # "rate" | "latency" when encoding == "spikes"

    @property
    def graded(self) -> bool:
        return self.encoding != "spikes"


class DenseShape:
    """n_in / n_out of a layer holding `weight` [n_out, n_in] (float or integer)."""

    weight: np.ndarray

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])


@dataclass
class LayerIR(DenseShape):
    """One Dense (synapses) + LIF (neurons) layer in Loihi fixed point."""

    name: str
    weight: np.ndarray  # int32 [n_out, n_in] weight mantissas
    bias_mant: np.ndarray  # int32 [n_out]; effective bias in v units = bias_mant << bias_exp
    weight_exp: int = 0
    weight_bits: int = 8
    bias_exp: int = 6
    du: int = 4095
    dv: int = 0
    vth: int = 1
    reset: str = "zero"
    scale: float = 1.0  # activation units per float current unit (informational, for dequantising)

    def params(self) -> dict[str, Any]:
        """Scalar fields (everything but the arrays), for headers and reports."""
        return {
            "name": self.name, "n_in": self.n_in, "n_out": self.n_out,
            "weight_exp": int(self.weight_exp), "weight_bits": int(self.weight_bits),
            "bias_exp": int(self.bias_exp), "du": int(self.du), "dv": int(self.dv),
            "vth": int(self.vth), "reset": self.reset, "scale": float(self.scale),
        }


@dataclass
class NetworkIR:
    """A whole quantised network: input spec, layers, time steps, provenance."""

    name: str
    num_steps: int
    input: InputSpec
    layers: list[LayerIR]
    metadata: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def sizes(self) -> list[int]:
        """Neurons per stage, input first: e.g. [14175, 4096, 512, 64, 2]."""
        return [self.input.n_in] + [layer.n_out for layer in self.layers]

    @property
    def n_out(self) -> int:
        return self.layers[-1].n_out

    def header(self) -> dict[str, Any]:
        """Everything but the arrays, as plain JSON-able data."""
        return {
            "schema_version": self.schema_version,
            "name": self.name,
            "num_steps": int(self.num_steps),
            "input": {
                "n_in": int(self.input.n_in), "encoding": self.input.encoding,
                "bits": int(self.input.bits), "scale": float(self.input.scale),
                "shape": [int(s) for s in self.input.shape],
                "spike_encoder": self.input.spike_encoder,
            },
            "layers": [layer.params() for layer in self.layers],
            "metadata": self.metadata,
        }
