"""The float model as a NIR graph (`nir.write`), readable by `nir.read` and snntorch's `import_from_nir`.

Layers use snntorch's own NIR convention (dt = 1e-4 s, forward Euler):
Linear/Affine (dense) or Conv1d/Conv2d (conv: torch's weight layout, stride, padding, dilation,
groups, input_shape = the spatial input shape, bias zeros when the layer has none, as snntorch
writes it), then LIF(tau = dt/(1-beta), r = tau/dt, v_leak = 0, v_threshold, v_reset = 0), so the
input gain dt*r/tau is exactly 1; IF when beta = 1; CubaLIF (tau_syn = dt/(1-alpha), w_in = tau_syn/dt)
when the layer has a synaptic current. Parameters are per-neuron arrays of the layer's shape ((C, H, W)
after a conv; nir 1.0.8 infers types from them). A flatten layer is a Flatten(start_dim 0) of its
(C, H, W) input (NIR shapes have no batch axis). A recurrent (dense_rec) layer is refused: its
recurrence would need a NIR cycle, which neurodeploy does not write yet.

What NIR cannot say is recorded and warned about: NIR's neurons reset to v_reset (no subtractive
reset), so a "subtract" layer is written as a LIF whose node metadata says reset_mechanism =
"subtract" (neurodeploy's NIR importer honours it; other tools will reset to zero); and NIR is a
float format: the Loihi fixed-point network (weights, decays, thresholds as integers) lives in the
neurodeploy IR, not here. The graph's metadata records dt, encoding and num_steps.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from toolchain.core.errors import ConfigError
from toolchain.core.fileio import atomic_path
from toolchain.frontends.float_net import FloatNetwork

DT = 1e-4


def _neuron(layer, n, dt: float):
    """The NIR neuron node of a layer; `n` is its neuron count or shape (parameters get that shape)."""
    import nir

    meta = {"reset_mechanism": layer.reset}
    full = lambda v: np.full(n, float(v))  # noqa: E731
    if layer.alpha:
        tau_syn, tau_mem = dt / (1 - layer.alpha), (dt / (1 - layer.beta) if layer.beta < 1 else np.inf)
        return nir.CubaLIF(tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(tau_mem / dt),
                           v_leak=full(0), v_threshold=full(layer.threshold), v_reset=full(0),
                           w_in=full(tau_syn / dt), metadata=meta)
    if layer.beta >= 1.0:
        return nir.IF(r=full(1.0), v_threshold=full(layer.threshold), v_reset=full(0), metadata=meta)
    tau = dt / (1.0 - layer.beta)
    return nir.LIF(tau=full(tau), r=full(tau / dt), v_leak=full(0), v_threshold=full(layer.threshold),
                   v_reset=full(0), metadata=meta)


def _dense(layer):
    import nir

    w = np.asarray(layer.weight, dtype=np.float32)
    return (nir.Affine(weight=w, bias=np.asarray(layer.bias, dtype=np.float32))
            if layer.bias is not None else nir.Linear(weight=w))


def _conv(layer):
    import nir

    w = np.asarray(layer.weight, dtype=np.float32)
    bias = np.zeros(w.shape[0], np.float32) if layer.bias is None else np.asarray(layer.bias, dtype=np.float32)
    spatial = tuple(int(v) for v in layer.in_shape[1:])
    if len(spatial) == 1:  # nir.Conv1d takes plain ints
        return nir.Conv1d(input_shape=spatial[0], weight=w, stride=int(layer.stride[0]), padding=int(layer.padding[0]),
                          dilation=int(layer.dilation[0]), groups=int(layer.groups), bias=bias)
    return nir.Conv2d(input_shape=spatial, weight=w, stride=tuple(layer.stride), padding=tuple(layer.padding),
                      dilation=tuple(layer.dilation), groups=int(layer.groups), bias=bias)


_SYNAPSES = {"dense": _dense, "conv": _conv}  # the synapse node each writable layer kind becomes


def to_nir(net: FloatNetwork, dt: float = DT):
    """(NIRGraph, warnings) for the float network."""
    import nir

    notes = []
    first = net.layers[0]
    nodes = {"input": nir.Input(input_type={"input": np.array(first.in_shape if first.kind == "conv" else [net.n_in])})}
    edges, prev = [], "input"
    for i, layer in enumerate(net.layers):
        if layer.kind == "flatten":
            nodes[f"flat{i}"] = nir.Flatten(input_type={"input": np.array(layer.in_shape)}, start_dim=0, end_dim=-1)
            edges.append((prev, f"flat{i}"))
            prev = f"flat{i}"
            continue
        if layer.kind not in _SYNAPSES:
            raise ConfigError(f"layer {i} ('{layer.name}') is a {layer.kind} layer, which the NIR export cannot write "
                              f"(it writes {', '.join(sorted(_SYNAPSES))} and flatten layers)")
        nodes[f"fc{i}"] = _SYNAPSES[layer.kind](layer)
        nodes[f"lif{i}"] = _neuron(layer, layer.out_shape, dt)
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
        if layer.reset == "subtract":
            notes.append(f"layer {i} ('{layer.name}') resets by subtraction, which NIR cannot express: its "
                         "node resets to zero in NIR semantics; metadata reset_mechanism='subtract' records it")
    nodes["output"] = nir.Output(output_type={"output": np.array(net.layers[-1].out_shape)})
    edges.append((prev, "output"))
    notes.append("NIR holds the float model only: Loihi quantisation (integer weights, decays, thresholds) "
                 "is in the neurodeploy IR")
    meta = {"neurodeploy_dt": dt, "encoding": net.encoding, "num_steps": int(net.num_steps),
            "quantisation": "none (float model); fixed point is in the neurodeploy IR",
            "reset_mechanisms": ",".join(layer.reset for layer in net.spiking)}
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)
    graph.infer_types()
    return graph, notes


def write_nir(net: FloatNetwork, path: str | os.PathLike, dt: float = DT) -> tuple[Path, list[str]]:
    """Write the float network to a .nir file atomically; returns (path, warnings) and warns."""
    import nir

    graph, notes = to_nir(net, dt)
    with atomic_path(path) as tmp:
        nir.write(str(tmp), graph)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return Path(path), notes
