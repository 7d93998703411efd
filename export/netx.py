"""lava-dl netx HDF5 (.net) export of the IR, and a run through stock `lava.lib.dl.netx.hdf5.Network`.

Written layout (what netx 0.6.0's hdf5.Network reads): `layer/<i>/type` = "dense", `shape` [n_out],
`weight` [n_out, n_in] (effective integer weights W << weight_exp), `bias` (in netx's fixed
bias_exp = 6 units), `neuron/{type="CUBA", iDecay = du + 1, vDecay = dv, vThMant = vth,
refDelay = 1, gradedSpike = False}`. netx derives its own weight exponent and bit width from the
stored integers (optimize_weight_bits), reproducing sum(W * s) exactly for W in [-256, 254].

An IR is netx-exportable when every layer has weight_exp >= 0 (netx cannot shift a sum right),
W << weight_exp within [-256, 254], a subtractive reset nowhere (netx builds stock LIF/LIFReset), and
biases expressible at bias_exp = 6 within 13 bits. `neurodeploy quantize` produces such IRs by
default (netx_compatible = true); otherwise export refuses naming the layer and field.
Graded input (the IR's "graded_*" encodings) is given to netx as `input_message_bits`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from toolchain.core.errors import ArtifactError, NeurodeployError
from toolchain.core.fileio import atomic_path
from toolchain.core.result import SimResult
from toolchain.ir import limits as L
from toolchain.ir.graph import NetworkIR

NETX_BIAS_EXP = 6
NETX_WEIGHT_MIN, NETX_WEIGHT_MAX = -256, 254


class NetxExportError(NeurodeployError):
    """The IR uses something netx's .net format cannot express (names the layer and field)."""


def netx_weights_and_bias(ir: NetworkIR) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer (effective integer weight, netx bias), or NetxExportError naming what cannot be written."""
    out = []
    for i, layer in enumerate(ir.layers):
        where = f"layer {i} ('{layer.name}')"
        if layer.reset != "zero":
            raise NetxExportError(f"{where} field 'reset': '{layer.reset}' needs a custom Lava neuron; netx builds "
                                  "stock LIF neurons (reset to zero). Use --format lava")
        if layer.weight_exp < 0:
            raise NetxExportError(f"{where} field 'weight_exp': {layer.weight_exp} (a right-shifted sum) cannot be "
                                  "expressed in a .net file; quantise with netx_compatible = true")
        w = layer.weight.astype(np.int64) << layer.weight_exp
        if w.min(initial=0) < NETX_WEIGHT_MIN or w.max(initial=0) > NETX_WEIGHT_MAX:
            raise NetxExportError(f"{where} field 'weight': effective weights {w.min()}..{w.max()} exceed netx's "
                                  f"{NETX_WEIGHT_MIN}..{NETX_WEIGHT_MAX}")
        b = layer.bias_mant.astype(np.int64)
        shift = layer.bias_exp - NETX_BIAS_EXP
        if shift >= 0:
            b = b << shift
        elif np.any(b % (1 << -shift)):
            raise NetxExportError(f"{where} field 'bias_exp': {layer.bias_exp} < 6 with biases not divisible by "
                                  f"{1 << -shift}; netx fixes bias_exp = 6")
        else:
            b = b >> -shift
        if b.min(initial=0) < L.BIAS_MANT_MIN or b.max(initial=0) > L.BIAS_MANT_MAX:
            raise NetxExportError(f"{where} field 'bias_mant': {b.min()}..{b.max()} at bias_exp 6 exceeds 13 bits")
        out.append((w, b))
    return out


def _datasets_digest(f) -> str:
    """SHA-256 over every dataset's name and bytes (sorted), i.e. everything netx reads."""
    import hashlib

    import h5py

    items = []
    f.visititems(lambda name, obj: items.append((name, obj)) if isinstance(obj, h5py.Dataset) else None)
    h = hashlib.sha256()
    for name, ds in sorted(items, key=lambda t: t[0]):
        h.update(name.encode())
        h.update(np.asarray(ds[()]).tobytes())
    return h.hexdigest()


def write_netx(ir: NetworkIR, path: str | os.PathLike) -> Path:
    """Write `ir` as a netx .net (HDF5) file atomically, with a digest attribute over its datasets."""
    import h5py

    layers = netx_weights_and_bias(ir)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "a") as f:
            _write_layers(f, ir, layers)
            f.attrs["neurodeploy_digest"] = _datasets_digest(f)
    return Path(path)


def _write_layers(f, ir: NetworkIR, layers) -> None:
    """The netx layout (module docstring) of `ir` into the open HDF5 file `f`."""
    f.attrs["generator"] = "neurodeploy"
    f.attrs["num_steps"] = ir.num_steps
    f.attrs["input_encoding"] = ir.input.encoding
    for i, (layer, (w, b)) in enumerate(zip(ir.layers, layers)):
        g = f.create_group(f"layer/{i}")
        g.create_dataset("type", data=np.bytes_("dense"))
        g.create_dataset("shape", data=np.array([layer.n_out]))
        g.create_dataset("weight", data=w.astype(np.float32))
        if np.any(b):
            g.create_dataset("bias", data=b.astype(np.float32))
        n = g.create_group("neuron")
        n.create_dataset("type", data=np.bytes_("CUBA"))
        n.create_dataset("iDecay", data=layer.du + 1)
        n.create_dataset("vDecay", data=layer.dv)
        n.create_dataset("vThMant", data=layer.vth)
        n.create_dataset("refDelay", data=1)
        n.create_dataset("gradedSpike", data=False)


def check_netx_file(path: str | os.PathLike) -> None:
    """Refuse a missing, unreadable, truncated or (when it carries our digest) modified .net file."""
    import h5py

    if not Path(path).is_file():
        raise ArtifactError(f".net file {path} does not exist")
    try:
        with h5py.File(path, "r") as f:
            expected = f.attrs.get("neurodeploy_digest")
            actual = _datasets_digest(f) if expected is not None else None
    except Exception as exc:  # h5py raises OSError/KeyError/... on truncated or foreign files
        raise ArtifactError(f".net file {path} could not be loaded by netx: truncated or not HDF5 "
                            f"({type(exc).__name__}: {exc})") from None
    if expected is not None and actual != expected:
        raise ArtifactError(f".net file {path} is corrupt or was modified: its dataset digest does not match")


def load_netx(path: str | os.PathLike, ir_like: NetworkIR):
    """Stock netx Network for `path` (checked first), with per-classification resets every num_steps."""
    from lava.lib.dl.netx import hdf5

    check_netx_file(path)
    try:
        return hdf5.Network(net_config=str(path), reset_interval=ir_like.num_steps, reset_offset=1,
                            input_message_bits=int(ir_like.input.bits) if ir_like.input.graded else 0)
    except Exception as exc:  # h5py/netx raise assorted errors on truncated or foreign files
        raise ArtifactError(f".net file {path} could not be loaded by netx ({type(exc).__name__}: {exc})") from None


def run_netx(path: str | os.PathLike, ir_like: NetworkIR, inp: np.ndarray) -> SimResult:
    """Run the .net file through stock netx on encoded input (same streaming and alignment as lava_graph)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    from export.lava_graph import process_spec
    from export.lava_runtime import align_layer, monitor_array, source_data

    B, T = inp.shape[0], ir_like.num_steps
    t0 = time.perf_counter()
    net = load_netx(path, ir_like)
    total = B * T + len(net.layers)
    source = RingBuffer(data=source_data(process_spec(ir_like)[0], inp))
    source.s_out.connect(net.inp)
    monitors = []
    for block in net.layers:
        mon = Monitor()
        mon.probe(block.neuron.s_out, total)
        monitors.append(mon)
    try:
        source.run(condition=RunSteps(num_steps=total), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        spikes = [align_layer(monitor_array(m, b.neuron, "s_out"), i, B, T) != 0
                  for i, (m, b) in enumerate(zip(monitors, net.layers))]
    finally:
        source.stop()
    return SimResult(backend="netx", input=inp, layer_spikes=spikes,
                     meta={"seconds": time.perf_counter() - t0, "num_steps": T})
