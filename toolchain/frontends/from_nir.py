"""Bring your own NIR graph: a chain Input -> [Flatten] -> (Linear | Affine -> LIF | CubaLIF | IF)+ -> Output.

NIR's neurons are continuous-time; they are discretised with forward Euler at step `dt`
(default 1e-4 s, snntorch's convention, used by its export_to_nir / import_from_nir):
- LIF:     tau dv/dt = (v_leak - v) + r I      ->  beta = 1 - dt/tau,  input gain dt*r/tau,
           and a constant bias (dt/tau) * v_leak per step.
- IF:      v += r I per step (no leak)          ->  beta = 1, input gain r. Discrete simulators that
           export IF (Sinabs' IAF, Rockpool) write it as a per-step integrator, so no dt is applied.
- CubaLIF: tau_syn dI/dt = -I + w_in x; tau_mem dv/dt = (v_leak - v) + r I
           ->  alpha = 1 - dt/tau_syn, beta = 1 - dt/tau_mem, input gain (dt/tau_syn) w_in * (dt/tau_mem) r.
Input gains are folded into the preceding Linear's rows (per neuron), so per-neuron r / w_in are
fine; per-neuron tau or v_threshold within one layer, v_reset != 0, recurrent edges, branches and
other node types are refused naming the node. Every neuron resets to zero after a spike (NIR has
no subtractive reset; a graph written by neurodeploy records the true mechanism in its metadata,
which is honoured when present).
"""

from __future__ import annotations

import os

import numpy as np

from toolchain.core.errors import ArtifactError, ConfigError
from toolchain.core.vocab import RESETS
from toolchain.frontends.float_net import FloatLayer, FloatNetwork
from toolchain.frontends.from_snntorch import MappingError

DEFAULT_DT = 1e-4


def _uniform(values, what: str, key: str) -> float:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size and not np.allclose(arr, arr[0], rtol=1e-6, atol=0):
        raise MappingError(f"NIR node '{key}': per-neuron {what} ({arr.min():.6g}..{arr.max():.6g}) cannot map "
                           f"onto Loihi, where one LIF process has one {what}")
    return float(arr[0]) if arr.size else 0.0


def _chain(graph) -> list[str]:
    """Node keys from the Input to the Output, refusing anything that is not a simple chain."""
    import nir

    succ: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        succ.setdefault(src, []).append(dst)
    inputs = [k for k, n in graph.nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise MappingError(f"NIR graph: expected exactly one Input node, found {len(inputs)}")
    order, seen, key = [], set(), inputs[0]
    while True:
        if key in seen:
            raise MappingError(f"NIR node '{key}': part of a recurrent loop; only feed-forward graphs are supported")
        seen.add(key)
        order.append(key)
        nxt = succ.get(key, [])
        if not nxt:
            break
        if len(nxt) > 1:
            raise MappingError(f"NIR node '{key}': branches to {nxt}; only a single chain of layers is supported")
        key = nxt[0]
    unused = set(graph.nodes) - seen
    if unused:
        raise MappingError(f"NIR graph: nodes {sorted(unused)} are not on the Input -> Output chain")
    return order


def from_nir(graph_or_path, num_steps: int, encoding: str = "dc", dt: float | None = None) -> FloatNetwork:
    """Describe a NIR graph (object or .nir file) as a FloatNetwork (see module docstring)."""
    import nir

    if isinstance(graph_or_path, (str, os.PathLike)):
        try:
            graph = nir.read(str(graph_or_path))
        except Exception as exc:
            raise ArtifactError(f"NIR file {graph_or_path} could not be read ({type(exc).__name__}: {exc})") from None
    else:
        graph = graph_or_path
    meta = dict(getattr(graph, "metadata", {}) or {})
    dt = float(dt if dt is not None else meta.get("neurodeploy_dt", DEFAULT_DT))
    if dt <= 0:
        raise ConfigError(f"NIR time step dt must be > 0, got {dt}")
    layers: list[FloatLayer] = []
    pending = None
    input_shape: tuple[int, ...] = ()
    for key in _chain(graph):
        node = graph.nodes[key]
        if isinstance(node, nir.Input):
            input_shape = tuple(int(s) for s in np.ravel(node.input_type["input"]))
        elif isinstance(node, (nir.Output, nir.Flatten)):
            continue
        elif isinstance(node, (nir.Linear, nir.Affine)):
            if pending is not None:
                raise MappingError(f"NIR node '{key}': two Linear/Affine nodes in a row")
            pending = (key, np.asarray(node.weight, dtype=np.float64),
                       np.asarray(node.bias, dtype=np.float64) if isinstance(node, nir.Affine) else None)
        elif isinstance(node, (nir.LIF, nir.IF, nir.CubaLIF)):
            if pending is None:
                raise MappingError(f"NIR node '{key}' ({type(node).__name__}): a neuron without a Linear/Affine before it")
            lkey, w, b = pending
            pending = None
            layers.append(_neuron_layer(node, key, lkey, w, b, dt))
        else:
            raise MappingError(f"NIR node '{key}': type {type(node).__name__} is not supported "
                               "(Linear, Affine, LIF, CubaLIF, IF, Flatten)")
    if pending is not None:
        raise MappingError(f"NIR node '{pending[0]}': the graph ends with a Linear/Affine without neurons after it")
    if not layers:
        raise MappingError("NIR graph has no Linear + neuron layers")
    return FloatNetwork(layers=layers, num_steps=num_steps, encoding=encoding,
                        input_shape=input_shape if int(np.prod(input_shape or (0,))) == layers[0].n_in
                        else (layers[0].n_in,),
                        metadata={"frontend": "nir", "nir_dt": dt})


def _neuron_layer(node, key: str, lkey: str, w: np.ndarray, b: np.ndarray | None, dt: float) -> FloatLayer:
    import nir

    n = w.shape[0]
    if np.any(np.asarray(getattr(node, "v_reset", 0.0)) != 0):
        raise MappingError(f"NIR node '{key}': v_reset != 0; Loihi resets the membrane to 0")
    meta = dict(node.metadata or {})
    reset = str(meta.get("reset_mechanism", "zero"))
    if reset not in RESETS:
        raise MappingError(f"NIR node '{key}': metadata reset_mechanism {reset!r} is not 'zero' or 'subtract'")
    threshold = _uniform(node.v_threshold, "v_threshold", key)
    alpha, leak_bias = 0.0, np.zeros(n)
    if isinstance(node, nir.IF):
        beta, gain = 1.0, np.broadcast_to(np.asarray(node.r, dtype=np.float64), (n,))
    elif isinstance(node, nir.LIF):
        tau = _uniform(node.tau, "tau", key)
        beta = 1.0 - dt / tau
        gain = np.broadcast_to(dt * np.asarray(node.r, dtype=np.float64) / tau, (n,))
        leak_bias = np.broadcast_to(dt / tau * np.asarray(node.v_leak, dtype=np.float64), (n,))
    else:
        tau_syn, tau_mem = _uniform(node.tau_syn, "tau_syn", key), _uniform(node.tau_mem, "tau_mem", key)
        alpha, beta = 1.0 - dt / tau_syn, 1.0 - dt / tau_mem
        gain = np.broadcast_to(dt / tau_syn * np.asarray(node.w_in, dtype=np.float64)
                               * dt / tau_mem * np.asarray(node.r, dtype=np.float64), (n,))
        leak_bias = np.broadcast_to(dt / tau_mem * np.asarray(node.v_leak, dtype=np.float64), (n,))
    if not (0.0 <= beta <= 1.0 and 0.0 <= alpha < 1.0):
        raise MappingError(f"NIR node '{key}': time constants give beta={beta:.6g}, alpha={alpha:.6g} at dt={dt}; "
                           "each must lie in [0, 1] (choose dt smaller than tau)")
    weight = w * gain[:, None]
    bias = None if b is None else b * gain
    if np.any(leak_bias):
        # v_leak enters the membrane directly each step; expressed as a current it is leak/(input path gain 1)
        bias = (bias if bias is not None else np.zeros(n)) + leak_bias
    return FloatLayer(weight=weight, bias=bias, beta=beta, threshold=threshold, reset=reset,
                      name=lkey, alpha=alpha)
