"""One netx `.net` writer and reader per IR layer kind (lava-dl 0.6.0's hdf5.Network layout).

netx's groups `layer/<i>` hold `type` (input | conv | flatten | dense | dense_rec), `shape`
(channels first: [C, H, W], or [n] / [n, 1, 1] for dense), the weights in torch's layout
(dense [n_out, n_in], conv [C_out, C_in/groups, kH, kW]; `weight_rec` [n, n] for dense_rec), the
conv geometry (`stride`, `padding`, `dilation` as (H, W), `groups`), an optional `bias`
(dense: per neuron, conv: per channel; in bias_exp = 6 units) and `neuron/{type, iDecay, vDecay,
vThMant, refDelay, gradedSpike}`. netx maps a CUBA / LOIHI neuron to Lava's LIF with
du = iDecay - 1, dv = vDecay, vth = vThMant, bias_exp = 6 (hdf5.py get_neuron_params), reads weights
with optimize_weight_bits (exact for integers in [-256, 254]) and applies no weight exponent to a
conv (it uses the stored integers).

Each writer raises NetxExportError naming the layer and field it cannot express; each reader
returns the IR layer (or raises NetxImportError naming the layer).
"""

from __future__ import annotations

import numpy as np

from toolchain.core.errors import ArtifactError, NeurodeployError
from toolchain.ir import limits as L
from toolchain.ir.kinds import Conv, Dense, DenseRec, Flatten, Input

NETX_BIAS_EXP = 6
NETX_WEIGHT_MIN, NETX_WEIGHT_MAX = -256, 254
NEURON_TYPES = ("CUBA", "LOIHI")
UNSUPPORTED = {"pool": "pooling", "average": "averaging", "concat": "concatenation", "convT": "transposed convolution",
               "unpool": "unpooling", "dense_comp": "complex-valued dense"}


class NetxExportError(NeurodeployError):
    """The IR uses something netx's .net format cannot express (names the layer and field)."""


class NetxImportError(ArtifactError):
    """A .net file holds something neurodeploy cannot map onto its IR (names the layer)."""


# ---- writing -------------------------------------------------------------------------------------

def _where(i: int, layer) -> str:
    return f"layer {i} ('{layer.name}', {layer.kind})"


def effective_weight(i: int, layer, field: str = "weight") -> np.ndarray:
    """W << weight_exp as netx stores it, or NetxExportError."""
    where = _where(i, layer)
    exp = layer.exp_of(field)
    if exp < 0:
        name = "weight_exp_rec" if field == "weight_rec" else "weight_exp"
        raise NetxExportError(f"{where} field '{name}': {exp} (a right-shifted sum) cannot be "
                              "expressed in a .net file; quantise with netx_compatible = true")
    w = np.asarray(getattr(layer, field), dtype=np.int64) << exp
    if w.size and (w.min() < NETX_WEIGHT_MIN or w.max() > NETX_WEIGHT_MAX):
        raise NetxExportError(f"{where} field '{field}': effective weights {w.min()}..{w.max()} exceed netx's "
                              f"{NETX_WEIGHT_MIN}..{NETX_WEIGHT_MAX}")
    return w


def netx_bias(i: int, layer) -> np.ndarray:
    """bias_mant in netx's fixed bias_exp = 6 units, or NetxExportError."""
    where = _where(i, layer)
    if layer.reset != "zero":
        raise NetxExportError(f"{where} field 'reset': '{layer.reset}' needs a custom Lava neuron; netx builds "
                              "stock LIF neurons (reset to zero). Use --format lava")
    b = np.asarray(layer.bias_mant, dtype=np.int64)
    shift = int(layer.bias_exp) - NETX_BIAS_EXP
    if shift >= 0:
        b = b << shift
    elif np.any(b % (1 << -shift)):
        raise NetxExportError(f"{where} field 'bias_exp': {layer.bias_exp} < 6 with biases not divisible by "
                              f"{1 << -shift}; netx fixes bias_exp = 6")
    else:
        b = b >> -shift
    if b.size and (b.min() < L.BIAS_MANT_MIN or b.max() > L.BIAS_MANT_MAX):
        raise NetxExportError(f"{where} field 'bias_mant': {b.min()}..{b.max()} at bias_exp 6 exceeds 13 bits")
    return b


def _write_neuron(g, layer) -> None:
    n = g.create_group("neuron")
    n.create_dataset("type", data=np.bytes_("CUBA"))
    n.create_dataset("iDecay", data=int(layer.du) + 1)
    n.create_dataset("vDecay", data=int(layer.dv))
    n.create_dataset("vThMant", data=int(layer.vth))
    n.create_dataset("refDelay", data=1)
    n.create_dataset("gradedSpike", data=False)


def _bias_dataset(g, b: np.ndarray) -> None:
    if np.any(b):
        g.create_dataset("bias", data=b.astype(np.float32))


def write_input(g, i, layer, ctx) -> None:
    b = netx_bias(i, layer)
    if ctx["encoding"] != "bias" and np.any(b):
        raise NetxExportError(f"{_where(i, layer)} field 'bias_mant': netx's input layer takes no neuron bias "
                              "(its 'bias' is a data transform)")
    g.create_dataset("type", data=np.bytes_("input"))
    g.create_dataset("shape", data=np.array(_chw(layer.out_shape)))
    _write_neuron(g, layer)


def _chw(shape) -> list[int]:
    shape = [int(s) for s in shape]
    return shape if len(shape) == 3 else ([shape[0], 1, shape[1]] if len(shape) == 2 else shape)


def write_dense(g, i, layer, ctx) -> None:
    w = effective_weight(i, layer)
    b = netx_bias(i, layer)
    g.create_dataset("type", data=np.bytes_("dense_rec" if layer.kind == "dense_rec" else "dense"))
    g.create_dataset("shape", data=np.array([layer.n_out]))
    g.create_dataset("weight", data=w.astype(np.float32))
    if layer.kind == "dense_rec":
        g.create_dataset("weight_rec", data=effective_weight(i, layer, "weight_rec").astype(np.float32))
    _bias_dataset(g, b)
    _write_neuron(g, layer)


def write_conv(g, i, layer, ctx) -> None:
    where = _where(i, layer)
    if layer.weight_exp != 0:
        raise NetxExportError(f"{where} field 'weight_exp': {layer.weight_exp}; netx applies none to a conv")
    b = netx_bias(i, layer).reshape(layer.out_shape[0], -1)
    if b.size and np.any(b != b[:, :1]):
        raise NetxExportError(f"{where} field 'bias_mant': differs within a channel; netx's conv bias is one "
                              "value per channel")
    w = np.asarray(layer.weight, dtype=np.int64)
    one_d = w.ndim == 3
    if one_d:
        w = w[:, :, None, :]

    def hw(v, one):
        return [one, int(v[0])] if one_d else [int(v[0]), int(v[1])]

    g.create_dataset("type", data=np.bytes_("conv"))
    g.create_dataset("shape", data=np.array(_chw(layer.out_shape)))
    g.create_dataset("weight", data=w.astype(np.float32))
    g.create_dataset("stride", data=np.array(hw(layer.stride, 1)))
    g.create_dataset("padding", data=np.array(hw(layer.padding, 0)))
    g.create_dataset("dilation", data=np.array(hw(layer.dilation, 1)))
    g.create_dataset("groups", data=int(layer.groups))
    g.create_dataset("inChannels", data=int(layer.in_shape[0]))
    g.create_dataset("outChannels", data=int(layer.out_shape[0]))
    g.create_dataset("kernelSize", data=np.array(w.shape[2:]))
    _bias_dataset(g, b[:, 0] if b.size else b)
    _write_neuron(g, layer)


def write_flatten(g, i, layer, ctx) -> None:
    g.create_dataset("type", data=np.bytes_("flatten"))
    g.create_dataset("shape", data=np.array(_chw(layer.in_shape)))


WRITERS = {"input": write_input, "dense": write_dense, "dense_rec": write_dense, "conv": write_conv,
           "flatten": write_flatten}


# ---- reading -------------------------------------------------------------------------------------

def _text(v) -> str:
    v = v[()] if hasattr(v, "shape") else v
    if isinstance(v, np.ndarray):
        v = v.ravel()[0]
    return v.decode() if isinstance(v, bytes) else str(v)


def _int(ds) -> int:
    return int(np.asarray(ds[()]).ravel()[0])


def _ints(v, what: str) -> np.ndarray:
    arr = np.asarray(v[()] if hasattr(v, "shape") else v)
    if not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.rint(arr)):
        raise NetxImportError(f"{what}: holds non-integer values (a netx network stores integers)")
    return np.rint(arr).astype(np.int64)


def read_neuron(g, where: str) -> dict:
    """LIF fields of a netx neuron group (CUBA / LOIHI), or NetxImportError naming what cannot map."""
    if "neuron" not in g:
        raise NetxImportError(f"{where}: no neuron group (netx then makes a non-spiking integrator, which "
                              "neurodeploy does not map)")
    n = g["neuron"]
    kind = _text(n["type"])
    if kind not in NEURON_TYPES:
        raise NetxImportError(f"{where} neuron type {kind!r}: only CUBA / LOIHI (LIF) neurons map onto the IR "
                              "(sigma-delta and resonate-and-fire neurons do not)")
    if "refDelay" in n and _int(n["refDelay"]) != 1:
        raise NetxImportError(f"{where} neuron field 'refDelay': {_int(n['refDelay'])}; netx builds LIF neurons "
                              "without a refractory period (refDelay = 1)")
    return {"du": _int(n["iDecay"]) - 1, "dv": _int(n["vDecay"]), "vth": _int(n["vThMant"]),
            "bias_exp": NETX_BIAS_EXP, "reset": "zero"}


def _weight_bits(*arrays: np.ndarray) -> int:
    peak = max((int(np.abs(a).max(initial=0)) for a in arrays), default=0)
    signed = any(a.size and a.min() < 0 for a in arrays) and any(a.size and a.max() > 0 for a in arrays)
    bits = int(np.ceil(np.log2(peak + 1))) if peak else 1
    return max(2, bits + 1) if signed else max(1, bits + (1 if any(a.size and a.min() < 0 for a in arrays) else 0))


def _bias(g, n_out: int, where: str, per_channel: int | None = None) -> np.ndarray:
    if "bias" not in g:
        return np.zeros(n_out, dtype=np.int32)
    b = _ints(g["bias"], f"{where} field 'bias'").ravel()
    if per_channel is not None and b.size == per_channel and n_out != per_channel:
        b = np.repeat(b, n_out // per_channel)
    elif b.size == 1:
        b = np.full(n_out, int(b[0]))
    if b.size != n_out:
        raise NetxImportError(f"{where} field 'bias': {b.size} values for {n_out} neurons")
    return b.astype(np.int32)


def read_input(g, i, ctx):
    where = f"layer {i} (input)"
    shape = tuple(int(s) for s in np.asarray(g["shape"][()]).ravel())
    if "neuron" not in g:
        ctx["input_shape"] = shape
        return None  # only a shape: the network takes its input directly
    neuron = read_neuron(g, where)
    ctx["input_transform"] = {k: float(np.asarray(g[k][()]).ravel()[0]) for k in ("weight", "bias") if k in g}
    n = int(np.prod(shape))
    return Input(name=f"input{i}", shape=shape, bias_mant=np.zeros(n, dtype=np.int32), **neuron)


def _dense_weight(g, key: str, n_out: int, where: str) -> np.ndarray:
    w = _ints(g[key], f"{where} field '{key}'")
    if w.ndim == 1:
        w = w.reshape(n_out, -1)
    return w


def read_dense(g, i, ctx):
    where = f"layer {i} ({_text(g['type'])})"
    if "delay" in g:
        raise NetxImportError(f"{where} field 'delay': synaptic delays have no counterpart in the IR")
    n_out = int(np.prod(np.asarray(g["shape"][()])))
    w = _dense_weight(g, "weight", n_out, where)
    arrays = [w]
    kw = {}
    cls = Dense
    if _text(g["type"]) == "dense_rec":
        kw["weight_rec"] = _dense_weight(g, "weight_rec", n_out, where).astype(np.int32)
        arrays.append(kw["weight_rec"])
        cls = DenseRec
    for a in arrays:
        if a.size and (a.min() < NETX_WEIGHT_MIN or a.max() > NETX_WEIGHT_MAX):
            raise NetxImportError(f"{where} field 'weight': values {a.min()}..{a.max()} outside netx's exact range "
                                  f"{NETX_WEIGHT_MIN}..{NETX_WEIGHT_MAX} (netx would clip them)")
    return cls(name=f"{_text(g['type'])}{i}", weight=w.astype(np.int32), bias_mant=_bias(g, n_out, where),
               weight_exp=0, weight_bits=_weight_bits(*arrays), **kw, **read_neuron(g, where))


def read_conv(g, i, ctx):
    where = f"layer {i} (conv)"
    if "delay" in g:
        raise NetxImportError(f"{where} field 'delay': synaptic delays have no counterpart in the IR")
    w = _ints(g["weight"], f"{where} field 'weight'")
    w = w.reshape(w.shape[:4])
    out_shape = tuple(int(s) for s in np.asarray(g["shape"][()]).ravel())

    def pair(key, default):
        if key not in g:
            return (default, default)
        v = np.asarray(g[key][()]).ravel()
        return (int(v[0]), int(v[0])) if v.size == 1 else (int(v[0]), int(v[1]))

    prev = ctx["shape"]
    if len(prev) != 3:
        raise NetxImportError(f"{where}: its input has shape {list(prev)}, not (C, H, W)")
    conv = Conv(name=f"conv{i}", weight=w.astype(np.int32), input_shape=tuple(prev), stride=pair("stride", 1),
                padding=pair("padding", 0), dilation=pair("dilation", 1),
                groups=_int(g["groups"]) if "groups" in g else 1,
                bias_mant=np.zeros(1, dtype=np.int32), weight_exp=0, weight_bits=_weight_bits(w),
                **read_neuron(g, where))
    if tuple(conv.out_shape) != out_shape:
        raise NetxImportError(f"{where} field 'shape': {list(out_shape)} but its geometry gives {list(conv.out_shape)}")
    conv.bias_mant = _bias(g, conv.n_out, where, per_channel=out_shape[0])
    return conv


def read_flatten(g, i, ctx):
    return Flatten(name=f"flatten{i}", shape=tuple(ctx["shape"]))


READERS = {"input": read_input, "dense": read_dense, "dense_rec": read_dense, "conv": read_conv,
           "flatten": read_flatten}
