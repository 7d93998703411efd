"""The float network every front end produces and the quantiser consumes.

A FloatNetwork is a feed-forward stack of fully connected layers, each followed by one layer of
snntorch-`Leaky` neurons (discrete-time LIF):

    cur[t] = alpha * cur[t-1] + W @ x[t] + b                          (alpha = 0: no current memory)
    mem[t] = beta * mem[t-1] * (1 - s[t-1]) + cur[t]                  (reset "zero")
    mem[t] = beta * mem[t-1] + cur[t] - s[t-1] * threshold            (reset "subtract")
    s[t]   = mem[t] > threshold

with mem[0] = 0. With alpha = 0 that is snntorch's `Leaky(reset_delay=True)` (its default); with alpha > 0 it is
snntorch's `Synaptic` (a current-based, CUBA, neuron): the reset decided at
step t is applied at step t+1, which for the zero reset gives exactly Loihi's "spike, then v = 0".
The output of the network is the spike count of the last layer over `num_steps`.

Input encodings (x[t] for layer 1; the raw input is a vector in [0, 1]):
- "dc": x[t] = input at every step (the seed study's choice: the input is a constant current).
- "rate": x[t] ~ Bernoulli(input), independent per step.
- "latency": one spike per input at step round((1 - input) * (num_steps - 1)) (inputs of 0 never spike).
The random/latency spike trains are produced by `toolchain.represent.encoding` so the float model, the
emulator and Lava see the same trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from toolchain.ir.graph import DenseShape

Reset = Literal["zero", "subtract"]
Encoding = Literal["dc", "rate", "latency"]


@dataclass
class FloatLayer(DenseShape):
    """One Linear + Leaky layer in float (the units of the trained model)."""

    weight: np.ndarray  # float [n_out, n_in]
    bias: np.ndarray | None  # float [n_out] or None
    beta: float  # membrane decay per step, in (0, 1]
    threshold: float  # spike when mem > threshold
    reset: Reset = "zero"
    name: str = ""
    alpha: float = 0.0  # synaptic current decay per step, in [0, 1); 0 = the current is this step's input only


@dataclass
class FloatNetwork:
    """A feed-forward SNN in float, with everything needed to simulate and quantise it."""

    layers: list[FloatLayer]
    num_steps: int
    encoding: Encoding = "dc"
    input_shape: tuple[int, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def sizes(self) -> list[int]:
        return [self.n_in] + [layer.n_out for layer in self.layers]


KIND = "neurodeploy_float_network"


def save_float_network(net: FloatNetwork, path) -> None:
    """Write the float network (weights float32, scalars in the header) atomically with a digest."""
    from toolchain.core import tensorfile

    tensors, layers = {}, []
    for i, layer in enumerate(net.layers):
        tensors[f"layers.{i}.weight"] = np.asarray(layer.weight, dtype=np.float32)
        if layer.bias is not None:
            tensors[f"layers.{i}.bias"] = np.asarray(layer.bias, dtype=np.float32)
        layers.append({"beta": float(layer.beta), "threshold": float(layer.threshold), "reset": layer.reset,
                       "name": layer.name, "alpha": float(layer.alpha)})
    header = {"num_steps": int(net.num_steps), "encoding": net.encoding,
              "input_shape": [int(s) for s in net.input_shape], "layers": layers, "metadata": net.metadata}
    tensorfile.save(path, KIND, header, tensors)


def load_float_network(path) -> FloatNetwork:
    """Read a float network written by `save_float_network` (digest verified)."""
    from toolchain.core import tensorfile

    head, tensors = tensorfile.load(path, KIND, "Float network file")
    layers = [FloatLayer(weight=tensors[f"layers.{i}.weight"], bias=tensors.get(f"layers.{i}.bias"),
                         beta=lp["beta"], threshold=lp["threshold"], reset=lp["reset"], name=lp["name"],
                         alpha=lp.get("alpha", 0.0))
              for i, lp in enumerate(head["layers"])]
    return FloatNetwork(layers=layers, num_steps=int(head["num_steps"]), encoding=head["encoding"],
                        input_shape=tuple(head["input_shape"]), metadata=head.get("metadata", {}))
