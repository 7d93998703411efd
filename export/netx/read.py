"""Import a lava-dl netx `.net` file as a neurodeploy IR (`neurodeploy import`, `deploy_netx`).

Every layer is read by its kind's reader (`export.netx.layers.READERS`): input (a population
driven by spikes, or by each clip's bias as lava-dl's PilotNet is), conv, flatten, dense,
dense_rec; CUBA / LOIHI neurons (du = iDecay - 1, dv = vDecay, vth = vThMant, bias_exp = 6,
reset to zero, exactly as netx builds them). What has no counterpart is refused naming the layer:
pooling, averaging, concatenation, transposed convolution, complex dense, synaptic delays,
sigma-delta and resonate-and-fire neurons, a dense layer without neurons.

A .net file does not say how many steps a classification takes: `num_steps` is given (lava-dl's
own PilotNet test runs 16-step samples, `simulation/tSample` = 16 when the file records it).
The input encoding follows from the first layer: an `input` population with neurons -> "bias"
(its bias_mant is the clip's input, as in lava-dl's tests) unless `input_encoding="spikes"` is
asked for; otherwise binary spike trains given as they are ("spikes", no spike encoder).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from export.netx.files import check_netx_file
from export.netx.layers import READERS, UNSUPPORTED, NetxImportError, _text
from toolchain.core.errors import ArtifactError, ConfigError
from toolchain.ir import limits as L
from toolchain.ir.checks import validate
from toolchain.ir.graph import InputSpec, NetworkIR


def file_steps(path: str | os.PathLike) -> int | None:
    """The sample length the file records (`simulation/tSample`), if any."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "simulation/tSample" in f:
                return int(np.asarray(f["simulation/tSample"][()]).ravel()[0])
    except (OSError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise ArtifactError(f".net file {path}: cannot read simulation/tSample ({type(exc).__name__}: {exc})") from None
    return None


def read_netx(path: str | os.PathLike, num_steps: int | None = None, input_encoding: str | None = None,
              name: str | None = None) -> NetworkIR:
    """The .net file at `path` as a validated NetworkIR (see module docstring)."""
    import h5py

    if input_encoding not in (None, "bias", "spikes"):
        raise ConfigError(f"input encoding {input_encoding!r} is not 'bias' or 'spikes'")
    if num_steps is not None and int(num_steps) < 1:
        raise ConfigError(f"num_steps {num_steps} must be >= 1 (steps per classification)")
    check_netx_file(path)
    steps = num_steps or file_steps(path)
    if not steps or steps < 1:
        raise ArtifactError(f".net file {path}: it records no sample length (simulation/tSample); give num_steps")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ArtifactError(f".net file {path} is not readable HDF5 ({exc})") from None
    try:
        with f:
            if "layer" not in f:
                raise NetxImportError(f".net file {path}: no 'layer' group (not a netx network)")
            keys = sorted(f["layer"].keys(), key=lambda k: int(k) if k.isdigit() else -1)
            ctx: dict = {"shape": None}
            layers = []
            for k in keys:
                g = f["layer"][k]
                kind = _text(g["type"]) if "type" in g else "?"
                if kind in UNSUPPORTED:
                    raise NetxImportError(f".net file {path} layer {k} ({kind}): {UNSUPPORTED[kind]} has no counterpart "
                                          "in neurodeploy's IR")
                if kind not in READERS:
                    raise NetxImportError(f".net file {path} layer {k}: unknown layer type {kind!r}")
                try:
                    layer = READERS[kind](g, int(k), ctx)
                except NetxImportError as exc:
                    raise NetxImportError(f".net file {path} {exc}") from None
                except (KeyError, ValueError, TypeError) as exc:
                    raise NetxImportError(f".net file {path} layer {k} ({kind}): malformed ({type(exc).__name__}: "
                                          f"{exc})") from None
                if layer is None:  # an input layer that only states the shape
                    ctx["shape"] = ctx["input_shape"]
                    continue
                if ctx["shape"] is None:
                    ctx["shape"] = tuple(layer.in_shape)
                    ctx["network_input"] = tuple(layer.in_shape)
                layers.append(layer)
                ctx["shape"] = tuple(layer.out_shape)
    except (KeyError, OSError, RuntimeError) as exc:  # h5py on a damaged object header, link or dataset
        raise ArtifactError(f".net file {path} is damaged: HDF5 cannot read it ({type(exc).__name__}: {exc})") from None
    if not layers:
        raise NetxImportError(f".net file {path}: no layers")
    first = layers[0]
    in_shape = ctx.get("network_input") or tuple(first.in_shape)
    n_in = int(np.prod(in_shape))
    if input_encoding == "bias" and first.kind != "input":
        raise NetxImportError(f".net file {path}: input encoding 'bias' needs an input layer to drive, and layer "
                              f"0 is {first.kind!r} (the network takes spikes: leave the encoding out or give 'spikes')")
    if first.kind == "input" and (input_encoding or "bias") == "bias":
        spec = InputSpec(n_in=n_in, encoding="bias", bits=L.BIAS_MANT_BITS, scale=1.0,
                         shape=tuple(in_shape))
    else:
        spec = InputSpec(n_in=n_in, encoding="spikes", bits=1, scale=1.0, shape=tuple(in_shape), spike_encoder=None)
    meta = {"source": str(Path(path).resolve()), "frontend": "netx", "netx_input_transform": ctx.get("input_transform")}
    ir = NetworkIR(name=name or Path(path).stem, num_steps=int(steps), input=spec, layers=layers, metadata=meta)
    return validate(ir, source=f".net file {path}")
