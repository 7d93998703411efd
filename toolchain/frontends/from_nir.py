"""Bring your own NIR graph: a chain
    Input -> [Flatten] -> (Conv1d | Conv2d -> neuron)* -> [Flatten] -> (Linear | Affine -> neuron)+ -> Output
with neuron = LIF | CubaLIF | IF. Conv nodes become FloatConv (NIR's Conv is torch's: weight
[C_out, C_in/groups, *kernel], stride, padding (ints or "same" / "valid"), dilation, groups, one
bias per output channel; `input_shape` may be None, then it comes from the node before), a
Flatten after conv layers becomes FloatFlatten (channels first; start_dim 0, NIR's shapes having
no batch axis).

NIR's neurons are continuous-time; they are discretised with forward Euler at step `dt`
(default 1e-4 s, snntorch's convention, used by its export_to_nir / import_from_nir):
- LIF:     tau dv/dt = (v_leak - v) + r I      ->  beta = 1 - dt/tau,  input gain dt*r/tau,
           and a constant bias (dt/tau) * v_leak per step.
- IF:      v += r I per step (no leak)          ->  beta = 1, input gain r. Discrete simulators that
           export IF (Sinabs' IAF, Rockpool) write it as a per-step integrator, so no dt is applied.
- CubaLIF: tau_syn dI/dt = -I + w_in x; tau_mem dv/dt = (v_leak - v) + r I
           ->  alpha = 1 - dt/tau_syn, beta = 1 - dt/tau_mem, input gain (dt/tau_syn) w_in * (dt/tau_mem) r.
Input gains are folded into the preceding Linear's rows (per neuron), so per-neuron r / w_in are
fine there; after a conv they are folded into each output channel's filter, so they (and v_leak)
may vary per channel but not per position (a conv has one bias per channel: a per-position bias
is refused). Per-neuron tau or v_threshold within one layer, v_reset != 0, recurrent edges,
branches and other node types (pooling among them) are refused naming the node. Every neuron resets to zero after a spike (NIR has
no subtractive reset; a graph written by neurodeploy records the true mechanism in its metadata,
which is honoured when present).
"""

from __future__ import annotations

import os

import numpy as np

from toolchain.core.errors import ArtifactError, ConfigError
from toolchain.core.vocab import RESETS
from toolchain.frontends.float_net import FloatConv, FloatFlatten, FloatLayer, FloatNetwork
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
    layers: list = []
    pending = None
    input_shape: tuple[int, ...] = ()
    shape: tuple[int, ...] | None = None  # one sample's activation shape at this point of the chain
    for key in _chain(graph):
        node = graph.nodes[key]
        if isinstance(node, nir.Input):
            input_shape = tuple(int(s) for s in np.ravel(node.input_type["input"]))
            shape = input_shape
        elif isinstance(node, nir.Output):
            continue
        elif isinstance(node, nir.Flatten):
            shape = _flatten(node, key, shape, layers, pending is not None)
        elif isinstance(node, (nir.Linear, nir.Affine, nir.Conv1d, nir.Conv2d)):
            if pending is not None:
                raise MappingError(f"NIR node '{key}': two synapse nodes in a row ('{pending[0]}' then '{key}')")
            pending = (key, node, _synapse_shape(node, key, shape))
        elif isinstance(node, (nir.LIF, nir.IF, nir.CubaLIF)):
            if pending is None:
                raise MappingError(f"NIR node '{key}' ({type(node).__name__}): a neuron without a Linear/Affine/"
                                   "Conv before it")
            layers.append(_neuron_layer(node, key, *pending, dt))
            pending = None
            shape = layers[-1].out_shape
        else:
            raise MappingError(f"NIR node '{key}': type {type(node).__name__} is not supported "
                               "(Linear, Affine, Conv1d, Conv2d, Flatten, LIF, CubaLIF, IF)")
    if pending is not None:
        raise MappingError(f"NIR node '{pending[0]}': the graph ends with a synapse node without neurons after it")
    if not layers:
        raise MappingError("NIR graph has no synapse + neuron layers")
    if layers[0].kind == "conv":
        input_shape = layers[0].in_shape
    elif int(np.prod(input_shape or (0,))) != layers[0].n_in:
        input_shape = (layers[0].n_in,)
    return FloatNetwork(layers=layers, num_steps=num_steps, encoding=encoding, input_shape=input_shape,
                        metadata={"frontend": "nir", "nir_dt": dt})


def _flatten(node, key: str, shape, layers: list, pending: bool):
    """The shape after a NIR Flatten (a FloatFlatten is appended after conv layers)."""
    if pending:
        raise MappingError(f"NIR node '{key}': a Flatten between a synapse and its neurons is not supported")
    if shape is None:
        return None
    if node.end_dim not in (-1, len(shape) - 1) or node.start_dim not in (0, -len(shape)):
        raise MappingError(f"NIR node '{key}': Flatten(start_dim={node.start_dim}, end_dim={node.end_dim}) of "
                           f"{list(shape)} keeps more than one axis; only a full flatten (start_dim 0) maps")
    if layers and len(shape) > 1:
        layers.append(FloatFlatten(shape=tuple(shape), name=key))
    return (int(np.prod(shape)),)


def _synapse_shape(node, key: str, shape):
    """A conv node's input shape (C_in, *spatial), checked against the activation arriving there;
    for Linear / Affine, the arriving activation must be flat."""
    import nir

    w = np.asarray(node.weight)
    if not isinstance(node, (nir.Conv1d, nir.Conv2d)):
        if shape is not None and (shape[-1] != w.shape[1] or int(np.prod(shape[:-1])) != 1):  # [1, n] is [n]
            raise MappingError(f"NIR node '{key}': {type(node).__name__} takes {w.shape[1]} inputs but receives "
                               f"{list(shape)}" + (" (add a Flatten before it)" if shape and len(shape) > 1 else ""))
        return None
    dims = w.ndim - 2
    spatial = node.input_shape
    if spatial is not None:
        spatial = tuple(int(v) for v in np.atleast_1d(spatial))
    if shape is not None and len(shape) == dims and w.shape[1] * node.groups == 1:
        shape = (1,) + tuple(shape)  # an input without a channel axis feeding a 1-channel conv
    if shape is None:
        if spatial is None:
            raise MappingError(f"NIR node '{key}': {type(node).__name__} without input_shape and no shape before it")
        shape = (int(w.shape[1] * node.groups),) + spatial
    if len(shape) != dims + 1 or shape[0] != w.shape[1] * node.groups or (spatial and tuple(shape[1:]) != spatial):
        raise MappingError(f"NIR node '{key}': {type(node).__name__} (weight {list(w.shape)}, groups {node.groups}, "
                           f"input_shape {spatial}) cannot take an input of shape {list(shape)}")
    return tuple(int(v) for v in shape)


def _axis(value, dims: int, what: str, key: str) -> tuple[int, ...]:
    arr = np.atleast_1d(np.asarray(value)).astype(np.int64)
    if arr.size == 1:
        arr = np.repeat(arr, dims)
    if arr.size != dims:
        raise MappingError(f"NIR node '{key}': {what} {value!r} does not fit a {dims}-D convolution")
    return tuple(int(v) for v in arr)


def _conv_geometry(node, key: str) -> dict:
    """stride, padding, dilation, groups of a NIR Conv1d / Conv2d as FloatConv fields."""
    w = np.asarray(node.weight)
    dims = w.ndim - 2
    dilation = _axis(node.dilation, dims, "dilation", key)
    if isinstance(node.padding, str):
        if node.padding == "valid":
            padding = (0,) * dims
        else:  # "same" (stride 1): symmetric only for odd dilated kernels
            total = [d * (k - 1) for d, k in zip(dilation, w.shape[2:])]
            if any(t % 2 for t in total):
                raise MappingError(f"NIR node '{key}': padding 'same' with an even kernel pads asymmetrically, which "
                                   "the IR's conv cannot express")
            padding = tuple(t // 2 for t in total)
    else:
        padding = _axis(node.padding, dims, "padding", key)
    return dict(stride=_axis(node.stride, dims, "stride", key), padding=padding, dilation=dilation,
                groups=int(node.groups))


def _conv_layer(node, key: str, in_shape: tuple[int, ...], gain: np.ndarray, leak_bias: np.ndarray,
                params: dict) -> FloatConv:
    """A FloatConv with the neuron's input gain and leak folded in per output channel."""
    w = np.asarray(node.weight, dtype=np.float64)
    c_out, dims = w.shape[0], w.ndim - 2
    per_channel = []
    for values, what in ((gain, "input gain (r, w_in)"), (leak_bias, "v_leak (a bias)")):
        v = values.reshape(c_out, -1)
        if not np.allclose(v, v[:, :1], rtol=1e-6, atol=0):
            raise MappingError(f"NIR node '{key}': per-position {what} after a convolution cannot map: a conv has "
                               "one value per output channel")
        per_channel.append(v[:, 0])
    gain_c, leak_c = per_channel
    bias = np.asarray(node.bias, dtype=np.float64).ravel() if getattr(node, "bias", None) is not None else np.zeros(c_out)
    bias = bias * gain_c + leak_c
    return FloatConv(weight=w * gain_c.reshape((-1,) + (1,) * (dims + 1)), bias=bias if np.any(bias) else None,
                     name=key, input_shape=in_shape, **_conv_geometry(node, key), **params)


def _per_neuron(values, n: int, what: str, key: str) -> np.ndarray:
    """A neuron parameter (scalar, [n] or shaped like the layer) as a float64 [n]."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 1:
        return np.full(n, float(arr.ravel()[0]))
    if arr.size != n:
        raise MappingError(f"NIR node '{key}': {what} has {arr.size} values for {n} neurons")
    return arr.reshape(n)


def _neuron_layer(node, key: str, lkey: str, syn, in_shape, dt: float):
    """One float layer from a synapse node (Linear / Affine / Conv) and the neuron node after it."""
    import nir

    conv = isinstance(syn, (nir.Conv1d, nir.Conv2d))
    w = np.asarray(syn.weight, dtype=np.float64)
    if conv:
        out_shape = FloatConv(weight=w, bias=None, beta=1.0, threshold=1.0, input_shape=in_shape,
                              **_conv_geometry(syn, lkey)).out_shape
        if min(out_shape[1:]) < 1:
            raise MappingError(f"NIR node '{lkey}': leaves no output on its input {list(in_shape)}")
        n = int(np.prod(out_shape))
    else:
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
        beta, gain = 1.0, _per_neuron(node.r, n, "r", key)
    elif isinstance(node, nir.LIF):
        tau = _uniform(node.tau, "tau", key)
        beta = 1.0 - dt / tau
        gain = dt * _per_neuron(node.r, n, "r", key) / tau
        leak_bias = dt / tau * _per_neuron(node.v_leak, n, "v_leak", key)
    else:
        tau_syn, tau_mem = _uniform(node.tau_syn, "tau_syn", key), _uniform(node.tau_mem, "tau_mem", key)
        alpha, beta = 1.0 - dt / tau_syn, 1.0 - dt / tau_mem
        gain = (dt / tau_syn * _per_neuron(node.w_in, n, "w_in", key)
                * dt / tau_mem * _per_neuron(node.r, n, "r", key))
        leak_bias = dt / tau_mem * _per_neuron(node.v_leak, n, "v_leak", key)
    if not (0.0 <= beta <= 1.0 and 0.0 <= alpha < 1.0):
        raise MappingError(f"NIR node '{key}': time constants give beta={beta:.6g}, alpha={alpha:.6g} at dt={dt}; "
                           "each must lie in [0, 1] (choose dt smaller than tau)")
    params = dict(beta=beta, threshold=threshold, reset=reset, alpha=alpha)
    if conv:
        return _conv_layer(syn, lkey, in_shape, gain, leak_bias, params)
    b = np.asarray(syn.bias, dtype=np.float64) if isinstance(syn, nir.Affine) else None
    weight = w * gain[:, None]
    bias = None if b is None else b * gain
    if np.any(leak_bias):
        # v_leak enters the membrane directly each step; expressed as a current it is leak/(input path gain 1)
        bias = (bias if bias is not None else np.zeros(n)) + leak_bias
    return FloatLayer(weight=weight, bias=bias, name=lkey, **params)
