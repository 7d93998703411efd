"""Bring your own snntorch network: `nn.Sequential` (or a module) of `nn.Linear` + `snn.Leaky`.

Accepted shape, in registration order of the module's children (nested containers are flattened):
    [nn.Flatten | nn.Identity]*  (nn.Linear, snn.Leaky)+
with one scalar beta and threshold per Leaky (a per-neuron tensor is accepted when all its values
are equal), reset_mechanism "zero" or "subtract", and learnable beta/threshold allowed (their
current values are taken). Anything that cannot map onto one Loihi Dense + LIF process per layer
is refused naming the layer: recurrent neurons (RLeaky, RSynaptic), other neuron types, per-neuron
beta or threshold, reset "none", graded spikes, inhibition, state quantisation, two Linear layers
in a row, a Linear without a neuron after it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from toolchain.core.errors import ConfigError
from toolchain.core.vocab import FLOAT_ENCODINGS as ENCODINGS
from toolchain.frontends.float_net import FloatLayer, FloatNetwork


class MappingError(ConfigError):
    """The network has a part that cannot be deployed as Loihi Dense + LIF layers."""


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


def _leaky_params(leaky: nn.Module, where: str) -> dict:
    import snntorch as snn

    if isinstance(leaky, (snn.RLeaky, snn.RSynaptic)):
        raise MappingError(f"{where}: {type(leaky).__name__} has recurrent weights; only feed-forward "
                           "Linear + Leaky layers are supported")
    if type(leaky) is not snn.Leaky:
        raise MappingError(f"{where}: neuron type {type(leaky).__name__} is not supported (use snn.Leaky)")
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


def from_snntorch(model: nn.Module, num_steps: int, encoding: str = "dc",
                  input_shape: tuple[int, ...] = (), name: str = "snntorch") -> FloatNetwork:
    """Describe an snntorch Linear + Leaky network as a FloatNetwork (see module docstring)."""
    import snntorch as snn

    if encoding not in ENCODINGS:
        raise ConfigError(f"encoding {encoding!r} is not one of {ENCODINGS}")
    if num_steps < 1:
        raise ConfigError(f"num_steps must be >= 1, got {num_steps}")
    children = _flat_children(model) if not isinstance(model, snn.SpikingNeuron) else [("0", model)]
    layers: list[FloatLayer] = []
    pending: tuple[str, nn.Linear] | None = None
    for idx, (cname, child) in enumerate(children):
        where = f"layer {idx} ('{cname}', {type(child).__name__})"
        if isinstance(child, (nn.Flatten, nn.Identity)) and not layers and pending is None:
            continue
        if isinstance(child, nn.Linear):
            if pending is not None:
                raise MappingError(f"{where}: two Linear layers in a row; fold them into one or add a Leaky between")
            pending = (cname, child)
        elif isinstance(child, snn.SpikingNeuron):
            if pending is None:
                raise MappingError(f"{where}: a neuron layer without a Linear layer before it")
            params = _leaky_params(child, where)
            lname, lin = pending
            layers.append(FloatLayer(
                weight=lin.weight.detach().cpu().double().numpy(),
                bias=None if lin.bias is None else lin.bias.detach().cpu().double().numpy(),
                name=lname, **params))
            pending = None
        else:
            raise MappingError(f"{where}: module type {type(child).__name__} is not supported "
                               "(expected nn.Linear and snn.Leaky, optionally nn.Flatten first)")
    if pending is not None:
        raise MappingError(f"layer '{pending[0]}' (Linear): the network ends with a Linear layer without "
                           "a neuron after it (the output must be spiking Leaky neurons)")
    if not layers:
        raise MappingError("the network has no Linear + Leaky layers")
    for a, b in zip(layers[:-1], layers[1:]):
        if a.n_out != b.n_in:
            raise MappingError(f"layer '{b.name}': expects {b.n_in} inputs but '{a.name}' has {a.n_out} outputs")
    return FloatNetwork(layers=layers, num_steps=num_steps, encoding=encoding,
                        input_shape=tuple(input_shape) or (layers[0].n_in,),
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
