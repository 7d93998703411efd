"""Bring your own snntorch network: `nn.Sequential` (or a module) of torch synapses + snntorch neurons.

Accepted shape, in registration order of the module's children (nested containers are flattened):

    [nn.Flatten | nn.Identity]*  ((nn.Conv1d | nn.Conv2d) snn.Leaky)*  [nn.Flatten]
        (nn.Linear (snn.Leaky | snn.RLeaky))+

- Linear + Leaky -> FloatLayer ("dense"); Conv1d / Conv2d + Leaky -> FloatConv ("conv": torch's
  layout, zero padding, stride, dilation, groups; one bias per output channel); nn.Flatten after
  a conv layer -> FloatFlatten (channels first, torch's order).
- Linear + RLeaky -> FloatRec ("dense_rec"): all_to_all=True with its `recurrent` nn.Linear
  (V = recurrent.weight; recurrent.bias is folded into the layer bias, since both are added every
  step), or all_to_all=False with V one-to-one (a scalar or one value per neuron: the diagonal
  matrix diag(V), exact). RLeaky's "subtract" reset maps, and its "zero" reset with
  reset_delay=False; with the default reset_delay=True snntorch 1.0's RLeaky zero reset also
  discards the input of the step after a spike, which Loihi's LIF does not do (refused).
- A conv first layer needs `input_shape`: (C, L) / (C, H, W), or (L,) / (H, W) for one channel.

One scalar beta and threshold per neuron layer (a per-neuron tensor is accepted when all its
values are equal), reset_mechanism "zero" or "subtract", learnable beta/threshold allowed (their
current values are taken). Anything that cannot map onto the IR's layer kinds is refused naming
the layer: pooling (Loihi's Conv process has none: use a stride), convolutional recurrence
(RLeaky with conv2d_channels), RLeaky's delayed zero reset, other neuron types (RSynaptic, Synaptic, ...),
per-neuron beta or threshold, reset "none", graded spikes, inhibition, state quantisation, padding
modes other than zeros, asymmetric "same" padding, a Linear on an unflattened conv output, two
synapses in a row, a synapse without a neuron after it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from toolchain.core.errors import ConfigError
from toolchain.core.vocab import FLOAT_ENCODINGS as ENCODINGS
from toolchain.frontends.float_net import (
    FloatConv,
    FloatFlatten,
    FloatLayer,
    FloatNetwork,
    FloatRec,
)


class MappingError(ConfigError):
    """The network has a part that cannot be deployed as the IR's layer kinds on Loihi."""


def _flat_children(module: nn.Module) -> list[tuple[str, nn.Module]]:
    out = []
    for name, child in module.named_children():
        if isinstance(child, (nn.Sequential, nn.ModuleList)):
            out += [(f"{name}.{n}", c) for n, c in _flat_children(child)]
        else:
            out.append((name, child))
    return out


def _scalar(t, what: str, where: str) -> float:
    arr = np.asarray(t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t, dtype=np.float64).ravel()
    if arr.size == 0:
        raise MappingError(f"{where}: {what} is empty")
    if not np.allclose(arr, arr[0], rtol=0, atol=1e-12):
        raise MappingError(f"{where}: per-neuron {what} (values {arr.min():.4g}..{arr.max():.4g}) cannot map onto "
                           f"Loihi: one LIF process has a single {what}; use one value per layer")
    return float(arr[0])


def _numpy(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().double().numpy()


def _leaky_params(leaky: nn.Module, where: str) -> dict:
    """beta, threshold and reset of an snn.Leaky or snn.RLeaky (refusing what does not map)."""
    import snntorch as snn

    if type(leaky) not in (snn.Leaky, snn.RLeaky):
        raise MappingError(f"{where}: neuron type {type(leaky).__name__} is not supported (use snn.Leaky, or "
                           "snn.RLeaky after a Linear layer)")
    reset = {0: "subtract", 1: "zero"}.get(int(leaky.reset_mechanism_val))
    if reset is None:
        raise MappingError(f"{where}: reset_mechanism '{leaky.reset_mechanism}' is not supported "
                           "(use 'zero' or 'subtract')")
    if reset == "subtract" and not leaky.reset_delay:
        raise MappingError(f"{where}: reset_mechanism 'subtract' with reset_delay=False subtracts before the "
                           "decay; only snntorch's default reset_delay=True is supported")
    if getattr(leaky, "inhibition", False):
        raise MappingError(f"{where}: inhibition=True (winner-take-all) is not supported")
    if float(getattr(leaky, "graded_spikes_factor", torch.tensor(1.0))) != 1.0:
        raise MappingError(f"{where}: graded_spikes_factor != 1 is not supported (Loihi LIF spikes are binary)")
    if getattr(leaky, "state_quant", False):
        raise MappingError(f"{where}: state_quant is not supported (neurodeploy quantises for Loihi itself)")
    beta = _scalar(leaky.beta.clamp(0, 1), "beta", where)
    if not 0.0 <= beta <= 1.0:
        raise MappingError(f"{where}: beta {beta} outside [0, 1]")
    return {"beta": beta, "threshold": _scalar(leaky.threshold, "threshold", where), "reset": reset}


def _recurrence(rleaky: nn.Module, n: int, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(V [n, n], the recurrent bias [n] or None) of an snn.RLeaky after a Linear of n outputs."""
    if int(rleaky.reset_mechanism_val) == 1 and rleaky.reset_delay:
        raise MappingError(f"{where}: RLeaky with reset_mechanism 'zero' and reset_delay=True cannot map: snntorch's "
                           "delayed RLeaky zero reset also discards the input of the step after a spike, which "
                           "Loihi's LIF does not do; use reset_delay=False (the reset at the spike: Loihi's "
                           "behaviour) or reset_mechanism='subtract' (snntorch's default)")
    rec = rleaky.recurrent
    if not rleaky.all_to_all:
        v = torch.as_tensor(rec.V).detach().cpu().double().numpy().ravel()
        if v.size not in (1, n):
            raise MappingError(f"{where}: one-to-one V of {v.size} values does not fit the layer's {n} neurons")
        return np.diag(np.broadcast_to(v, (n,))), None
    if not isinstance(rec, nn.Linear):
        raise MappingError(f"{where}: RLeaky with a {type(rec).__name__} recurrence (convolutional recurrence) "
                           "is not supported; only all-to-all linear recurrence (linear_features) maps")
    if rec.weight.shape != (n, n):
        raise MappingError(f"{where}: RLeaky's recurrent weights are {tuple(rec.weight.shape)}, the layer has "
                           f"{n} neurons")
    return _numpy(rec.weight), _numpy(rec.bias)


def _conv_padding(conv: nn.Module, where: str) -> tuple[int, ...]:
    dims = len(conv.kernel_size)
    if conv.padding_mode != "zeros":
        raise MappingError(f"{where}: padding_mode '{conv.padding_mode}' is not supported (Loihi pads with zeros)")
    if conv.padding == "valid":
        return (0,) * dims
    if conv.padding == "same":
        total = [d * (k - 1) for d, k in zip(conv.dilation, conv.kernel_size)]
        if any(t % 2 for t in total):
            raise MappingError(f"{where}: padding='same' with an even kernel pads asymmetrically, which the "
                               "IR's conv cannot express; pad explicitly")
        return tuple(t // 2 for t in total)
    return tuple(int(p) for p in conv.padding)


class _Walker:
    """Builds the FloatNetwork's layers from the children in order (see the module docstring)."""

    def __init__(self, input_shape: tuple[int, ...]) -> None:
        self.shape = tuple(int(v) for v in input_shape) or None  # one sample's activation shape
        self.layers: list = []
        self.pending: tuple[str, str, nn.Module] | None = None  # (where, name, synapse)

    def take(self, where: str, name: str, child: nn.Module) -> None:
        import snntorch as snn

        if isinstance(child, (nn.Flatten, nn.Identity)):
            return self.flatten(where, name, child)
        if isinstance(child, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            if self.pending is not None:
                raise MappingError(f"{where}: two synapse layers in a row ('{self.pending[1]}' then '{name}'); "
                                   "fold them into one or add a neuron layer between")
            self.pending = (where, name, child)
            return None
        if isinstance(child, snn.SpikingNeuron):
            return self.neuron(where, child)
        if isinstance(child, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
                              nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)):
            raise MappingError(f"{where}: pooling ({type(child).__name__}) is not supported: Loihi's Conv process "
                               "has no pooling; downsample with a conv stride instead")
        raise MappingError(f"{where}: module type {type(child).__name__} is not supported (expected nn.Linear, "
                           "nn.Conv1d, nn.Conv2d, nn.Flatten, snn.Leaky and snn.RLeaky)")

    def flatten(self, where: str, name: str, child: nn.Module) -> None:
        if isinstance(child, nn.Flatten) and (child.start_dim != 1 or child.end_dim != -1):
            raise MappingError(f"{where}: Flatten(start_dim={child.start_dim}, end_dim={child.end_dim}) is not "
                               "supported (only the default: everything after the batch axis)")
        if self.pending is not None:
            raise MappingError(f"{where}: a Flatten between a synapse and its neurons is not supported")
        if not self.layers:  # a flatten of the raw input: the network reads flat features anyway
            self.shape = (math.prod(self.shape),) if self.shape else None
            return
        if len(self.shape) > 1:
            self.layers.append(FloatFlatten(shape=self.shape, name=name))
            self.shape = (math.prod(self.shape),)

    def neuron(self, where: str, neuron: nn.Module) -> None:
        import snntorch as snn

        if self.pending is None:
            raise MappingError(f"{where}: a neuron layer without a synapse layer (Linear / Conv) before it")
        swhere, name, syn = self.pending
        self.pending = None
        params = _leaky_params(neuron, where)
        weight, bias = _numpy(syn.weight), _numpy(syn.bias)
        if isinstance(syn, nn.Linear):
            if self.shape is not None and len(self.shape) > 1:
                raise MappingError(f"{swhere}: a Linear layer on an unflattened {list(self.shape)} activation; "
                                   "put an nn.Flatten before it")
            if self.shape is not None and self.shape[0] != syn.in_features:
                raise MappingError(f"{swhere}: expects {syn.in_features} inputs but receives {self.shape[0]}")
            if isinstance(neuron, snn.RLeaky):
                v, v_bias = _recurrence(neuron, syn.out_features, where)
                if v_bias is not None:
                    bias = v_bias if bias is None else bias + v_bias
                self.layers.append(FloatRec(weight=weight, bias=bias, weight_rec=v, name=name, **params))
            else:
                self.layers.append(FloatLayer(weight=weight, bias=bias, name=name, **params))
            self.shape = (syn.out_features,)
            return
        if isinstance(neuron, snn.RLeaky):
            raise MappingError(f"{where}: RLeaky after a convolution (convolutional recurrence) is not supported")
        self.layers.append(self.conv(swhere, name, syn, weight, bias, params))
        self.shape = self.layers[-1].out_shape

    def conv(self, where: str, name: str, conv: nn.Module, weight, bias, params: dict) -> FloatConv:
        dims = len(conv.kernel_size)
        shape = self.shape
        if shape is None:
            raise MappingError(f"{where}: a conv first layer needs the input shape (C, H, W) or (H, W): pass "
                               "input_shape (deploy_snntorch takes it from the example inputs)")
        if len(shape) == dims and conv.in_channels == 1:
            shape = (1,) + shape
        if len(shape) != dims + 1 or shape[0] != conv.in_channels:
            raise MappingError(f"{where}: {type(conv).__name__} with {conv.in_channels} input channels cannot take "
                               f"an input of shape {list(self.shape)}")
        layer = FloatConv(weight=weight, bias=bias, name=name, input_shape=shape, stride=tuple(conv.stride),
                          padding=_conv_padding(conv, where), dilation=tuple(conv.dilation),
                          groups=int(conv.groups), **params)
        if min(layer.out_shape[1:]) < 1:
            raise MappingError(f"{where}: leaves no output on its input {list(shape)}")
        return layer


def from_snntorch(model: nn.Module, num_steps: int, encoding: str = "dc",
                  input_shape: tuple[int, ...] = (), name: str = "snntorch") -> FloatNetwork:
    """Describe an snntorch network as a FloatNetwork (see module docstring).

    `input_shape`: one sample's shape (needed when the first layer is a convolution).
    """
    import snntorch as snn

    if encoding not in ENCODINGS:
        raise ConfigError(f"encoding {encoding!r} is not one of {ENCODINGS}")
    if num_steps < 1:
        raise ConfigError(f"num_steps must be >= 1, got {num_steps}")
    children = _flat_children(model) if not isinstance(model, snn.SpikingNeuron) else [("0", model)]
    walker = _Walker(tuple(input_shape))
    for idx, (cname, child) in enumerate(children):
        walker.take(f"layer {idx} ('{cname}', {type(child).__name__})", cname, child)
    if walker.pending is not None:
        kind = type(walker.pending[2]).__name__
        raise MappingError(f"layer '{walker.pending[1]}' ({kind}): the network ends with a {kind} layer without a "
                           "neuron after it (the output must be spiking neurons)")
    layers = walker.layers
    if not any(layer.has_neurons for layer in layers):
        raise MappingError("the network has no synapse + neuron layers")
    for a, b in zip(layers[:-1], layers[1:]):
        if a.n_out != b.n_in:
            raise MappingError(f"layer '{b.name}': expects {b.n_in} inputs but '{a.name}' has {a.n_out} outputs")
    shape = layers[0].in_shape if layers[0].kind == "conv" else (tuple(input_shape) or (layers[0].n_in,))
    return FloatNetwork(layers=layers, num_steps=num_steps, encoding=encoding, input_shape=shape,
                        metadata={"source": name, "frontend": "snntorch"})


def snntorch_to_nir(model: nn.Module, n_in: int):
    """snntorch's own NIR extractor, with the node types repaired so nir 1.0.8 accepts the graph.

    snntorch 1.0.0's `export_to_nir` fails in `NIRGraph.infer_types` when a Leaky has a scalar beta
    (its LIF node's parameters, hence input type, are 0-d). This runs the same extraction
    (`nirtorch.extract_nir_graph` + `snntorch.export_nir._extract_snntorch_module`), then
    broadcasts each LIF's parameters to its layer size before inferring types. A network whose
    Leaky layers already hold per-neuron beta/threshold tensors exports with `export_to_nir` directly.
    """
    import nir
    import nirtorch
    import snntorch as snn
    from snntorch.export_nir import _extract_snntorch_module

    graph = nirtorch.extract_nir_graph(model, _extract_snntorch_module, torch.zeros(n_in),
                                       model_name="snntorch", ignore_submodules_of=[snn.RLeaky, snn.RSynaptic])
    sizes = {}
    for src, dst in graph.edges:
        node = graph.nodes[src]
        if isinstance(node, (nir.Linear, nir.Affine)):
            sizes[dst] = node.weight.shape[0]
    for key, node in list(graph.nodes.items()):
        if isinstance(node, nir.LIF) and key in sizes and np.size(node.tau) != sizes[key]:
            n = sizes[key]
            graph.nodes[key] = nir.LIF(
                tau=np.full(n, np.ravel(node.tau)[0]), r=np.full(n, np.ravel(node.r)[0]),
                v_leak=np.full(n, np.ravel(node.v_leak)[0]), v_threshold=np.full(n, np.ravel(node.v_threshold)[0]),
                v_reset=np.full(n, np.ravel(node.v_reset)[0]), metadata=node.metadata)
    graph = nir.NIRGraph(nodes=graph.nodes, edges=graph.edges, metadata=graph.metadata)
    graph.infer_types()
    return graph
