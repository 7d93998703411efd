"""The float network every front end produces and the quantiser consumes.

A FloatNetwork is a chain of layers of four kinds, matching the IR's (`toolchain.ir.kinds`):
`FloatLayer` (dense, "dense"), `FloatConv` (1-D / 2-D convolution, "conv"), `FloatRec` (dense
input plus all-to-all recurrence from the layer's own previous spikes, snntorch's RLeaky,
"dense_rec") and `FloatFlatten` (shape only, "flatten"). Every kind but flatten feeds one layer of
snntorch-`Leaky` neurons (discrete-time LIF) with its current I[t]:

    dense:      I[t] = W @ x[t] + b
    conv:       I[t] = conv(W, x[t]) + b[channel]        (torch's cross-correlation, channels first)
    dense_rec:  I[t] = W @ x[t] + V @ s[t-1] + b         (s[-1] = 0; b includes V's own bias)

    cur[t] = alpha * cur[t-1] + I[t]                                  (alpha = 0: no current memory)
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
from typing import Any, ClassVar, Literal

import numpy as np

from toolchain.ir.graph import DenseShape

Reset = Literal["zero", "subtract"]
Encoding = Literal["dc", "rate", "latency"]


@dataclass
class FloatLayer(DenseShape):
    """One Linear + Leaky layer in float (the units of the trained model)."""

    kind: ClassVar[str] = "dense"
    has_neurons: ClassVar[bool] = True

    weight: np.ndarray  # float [n_out, n_in]
    bias: np.ndarray | None  # float [n_out] or None
    beta: float  # membrane decay per step, in (0, 1]
    threshold: float  # spike when mem > threshold
    reset: Reset = "zero"
    name: str = ""
    alpha: float = 0.0  # synaptic current decay per step, in [0, 1); 0 = the current is this step's input only

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.n_in,)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.n_out,)

    def extra(self) -> dict[str, Any]:
        """Kind-specific scalars for the stored header."""
        return {}


@dataclass
class FloatRec(FloatLayer):
    """Linear + RLeaky (all-to-all): V = `weight_rec` [n_out, n_out] acts on the previous step's spikes."""

    kind: ClassVar[str] = "dense_rec"

    weight_rec: np.ndarray | None = None


@dataclass
class FloatConv(FloatLayer):
    """Conv1d / Conv2d + Leaky: `weight` [C_out, C_in/groups, *kernel], `bias` [C_out] (per channel),
    input (C, L) or (C, H, W)."""

    kind: ClassVar[str] = "conv"

    input_shape: tuple[int, ...] = ()
    stride: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)
    dilation: tuple[int, ...] = (1, 1)
    groups: int = 1

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.input_shape)

    @property
    def out_shape(self) -> tuple[int, ...]:
        from toolchain.ir.kinds.conv import conv_out_size

        k = self.weight.shape[2:]
        return (int(self.weight.shape[0]),) + tuple(
            conv_out_size(n, kk, s, p, d) for n, kk, s, p, d in zip(self.in_shape[1:], k, self.stride, self.padding,
                                                                    self.dilation))

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))

    def extra(self) -> dict[str, Any]:
        return {"input_shape": list(self.in_shape), "stride": list(self.stride), "padding": list(self.padding),
                "dilation": list(self.dilation), "groups": int(self.groups)}


@dataclass
class FloatFlatten:
    """Shape only: (C, H, W) -> (C*H*W,), channels first."""

    kind: ClassVar[str] = "flatten"
    has_neurons: ClassVar[bool] = False

    shape: tuple[int, ...]
    name: str = "flatten"

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(self.shape)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (int(np.prod(self.shape)),)

    @property
    def n_in(self) -> int:
        return int(np.prod(self.shape))

    n_out = n_in


FLOAT_KINDS = {cls.kind: cls for cls in (FloatLayer, FloatConv, FloatRec, FloatFlatten)}


@dataclass
class FloatNetwork:
    """An SNN in float, with everything needed to simulate and quantise it."""

    layers: list
    num_steps: int
    encoding: Encoding = "dc"
    input_shape: tuple[int, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def spiking(self) -> list[FloatLayer]:
        """The layers with neurons (what simulation results hold one spike array each for)."""
        return [layer for layer in self.layers if layer.has_neurons]

    @property
    def sizes(self) -> list[int]:
        return [self.n_in] + [layer.n_out for layer in self.spiking]


KIND = "neurodeploy_float_network"


def save_float_network(net: FloatNetwork, path) -> None:
    """Write the float network (weights float32, scalars in the header) atomically with a digest."""
    from toolchain.core import tensorfile

    tensors, layers = {}, []
    for i, layer in enumerate(net.layers):
        if not layer.has_neurons:
            layers.append({"kind": layer.kind, "name": layer.name, "shape": [int(v) for v in layer.shape]})
            continue
        tensors[f"layers.{i}.weight"] = np.asarray(layer.weight, dtype=np.float32)
        if layer.bias is not None:
            tensors[f"layers.{i}.bias"] = np.asarray(layer.bias, dtype=np.float32)
        if getattr(layer, "weight_rec", None) is not None:
            tensors[f"layers.{i}.weight_rec"] = np.asarray(layer.weight_rec, dtype=np.float32)
        layers.append({"kind": layer.kind, "beta": float(layer.beta), "threshold": float(layer.threshold),
                       "reset": layer.reset, "name": layer.name, "alpha": float(layer.alpha), **layer.extra()})
    header = {"num_steps": int(net.num_steps), "encoding": net.encoding,
              "input_shape": [int(s) for s in net.input_shape], "layers": layers, "metadata": net.metadata}
    tensorfile.save(path, KIND, header, tensors)


def _layer_from(lp: dict, tensors: dict, i: int):
    kind = lp.get("kind", "dense")
    if kind == "flatten":
        return FloatFlatten(shape=tuple(lp["shape"]), name=lp.get("name", "flatten"))
    kw = dict(weight=tensors[f"layers.{i}.weight"], bias=tensors.get(f"layers.{i}.bias"), beta=lp["beta"],
              threshold=lp["threshold"], reset=lp["reset"], name=lp["name"], alpha=lp.get("alpha", 0.0))
    if kind == "dense_rec":
        kw["weight_rec"] = tensors[f"layers.{i}.weight_rec"]
    if kind == "conv":
        kw.update(input_shape=tuple(lp["input_shape"]), stride=tuple(lp["stride"]), padding=tuple(lp["padding"]),
                  dilation=tuple(lp["dilation"]), groups=int(lp["groups"]))
    return FLOAT_KINDS[kind](**kw)


def load_float_network(path) -> FloatNetwork:
    """Read a float network written by `save_float_network` (digest verified)."""
    from toolchain.core import tensorfile
    from toolchain.core.errors import ArtifactError

    head, tensors = tensorfile.load(path, KIND, "Float network file")
    try:
        layers = [_layer_from(lp, tensors, i) for i, lp in enumerate(head["layers"])]
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"Float network file {path}: malformed ({type(exc).__name__}: {exc})") from None
    return FloatNetwork(layers=layers, num_steps=int(head["num_steps"]), encoding=head["encoding"],
                        input_shape=tuple(head["input_shape"]), metadata=head.get("metadata", {}))
