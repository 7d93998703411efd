"""NetworkIR: a quantised SNN in Loihi fixed point, independent of any back end.

A network is a chain of layers of registered kinds (`toolchain.ir.kinds`: input, dense, conv,
dense_rec, flatten). Each kind defines its synaptic accumulation a[t] from its input s_in[t]
(dense: W @ s; conv: a cross-correlation; dense_rec: W @ s_in[t] + W_rec @ s[t-1]; input: the
network input itself); every kind with neurons then runs the same Loihi LIF update, exactly what
`toolchain.emulator` computes and Lava's bit-accurate models do, per time step t = 1..num_steps,
for every neuron, with integer state u, v (24 bit):

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
- "spikes": binary input spike trains [T, n_in]: made on the host from features by
  `toolchain.represent.encoding` (rate or latency code, `spike_encoder`), or given as they are
  (`spike_encoder` None, e.g. an imported lava-dl network), bits = 1.
- "bias": the first layer is an `input` population and each classification sets its bias_mant to
  the clip's input (integers, e.g. an image, as lava-dl's PilotNet does); nothing is sent.
- "frames": the input is a sequence [T, n_in] (one spectrogram frame per step); row t is sent at
  step t as integers round(x[t] * scale) of `bits` bits into a memoryless current (layer 1
  du = 4095). num_steps is the frames of one training clip; a stream runs any number of steps
  without a reset (`Emulator.stream`). `shape` is one step's input, (n_in,).
Readout: the spike count of the last layer over num_steps; the class is its argmax (ties -> 0).
Results of every back end are indexed by the step of the classification (pipeline delays removed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toolchain.core.vocab import GRADED_ENCODINGS
from toolchain.ir.kinds import Dense, NeuronLayer, Node

SCHEMA_VERSION = 2  # 2: layers carry a kind; version-1 files (all dense) still load
READABLE_VERSIONS = (1, 2)


@dataclass
class InputSpec:
    """How the input vector reaches layer 1."""

    n_in: int
    encoding: str = "graded_once"
    bits: int = 8  # graded payload bits (1 for spikes)
    scale: float = 255.0  # x_int = round(clip(x, 0, 1) * scale); 1 for spikes
    shape: tuple[int, ...] = ()  # the feature's natural shape, e.g. (105, 135); n_in = prod(shape)
    # ("frames": one step's input (n_in,); a clip is num_steps such rows)
    spike_encoder: str | None = None  # "rate" | "latency"; None: spike trains are given as they are

    @property
    def graded(self) -> bool:
        """The input arrives as graded integer payloads (not spikes, not a bias)."""
        return self.encoding in GRADED_ENCODINGS


class DenseShape:
    """n_in / n_out of a layer holding `weight` [n_out, n_in] (float or integer)."""

    weight: np.ndarray

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])


LayerIR = Dense  # the dense kind, the only one of schema version 1


@dataclass
class NetworkIR:
    """A whole quantised network: input spec, layers, time steps, provenance."""

    name: str
    num_steps: int
    input: InputSpec
    layers: list[Node]
    metadata: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def spiking(self) -> list[NeuronLayer]:
        """The layers with neurons, in order (what SimResult.layer_spikes holds, one array each)."""
        return [layer for layer in self.layers if layer.has_neurons]

    @property
    def sizes(self) -> list[int]:
        """Neurons per stage, input first: e.g. [14175, 4096, 512, 64, 2]."""
        return [self.input.n_in] + [layer.n_out for layer in self.spiking]

    @property
    def n_out(self) -> int:
        return self.spiking[-1].n_out

    @property
    def kinds(self) -> list[str]:
        return [layer.kind for layer in self.layers]

    def delays(self) -> list[int]:
        """Per spiking layer, the Lava steps between the network input and its neurons (one per
        Dense / Conv process on the way; an `input` population has none)."""
        out, d = [], 0
        for layer in self.layers:
            d += layer.delays
            if layer.has_neurons:
                out.append(d)
        return out

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
