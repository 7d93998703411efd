"""Writing and checking lava-dl netx HDF5 (.net) files.

`write_netx(ir, path)` writes every layer with its kind's writer (`export.netx.layers`): input,
conv, flatten, dense, dense_rec, in netx 0.6.0's layout. netx derives its own weight exponent and
bit width from the stored integers (optimize_weight_bits), reproducing sum(W * s) exactly for W in
[-256, 254]; it fixes bias_exp = 6 and builds stock LIF / LIFReset neurons. So an IR is
netx-exportable when it meets the "netx" constraint set of its target (`toolchain.ir.target`):
weight_exp >= 0 on dense layers (and 0 on conv), W << weight_exp within [-256, 254], no subtractive
reset, biases expressible at bias_exp = 6 within 13 bits (one per channel for conv). Otherwise the
writer refuses naming the layer and field. A dense layer that reads a multi-dimensional population
gets a `flatten` layer in front of it (netx needs one). Graded input (the IR's "graded_*" encodings)
is given to netx as `input_message_bits`. Every file carries a digest over its datasets.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from export.netx.layers import WRITERS, NetxExportError
from toolchain.core.errors import ArtifactError
from toolchain.core.fileio import atomic_path
from toolchain.ir.graph import NetworkIR
from toolchain.ir.kinds import Flatten


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


def netx_problems(ir: NetworkIR) -> list[str]:
    """What the .net format cannot express of `ir` (empty when write_netx will succeed)."""
    import h5py

    try:
        with h5py.File("in-memory.net", "w", driver="core", backing_store=False) as f:
            _write_layers(f, ir)
    except NetxExportError as exc:
        return [str(exc)]
    return []


def write_netx(ir: NetworkIR, path: str | os.PathLike) -> Path:
    """Write `ir` as a netx .net (HDF5) file atomically, with a digest attribute over its datasets."""
    import h5py

    problems = netx_problems(ir)
    if problems:
        raise NetxExportError(problems[0])
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "a") as f:
            _write_layers(f, ir)
            f.attrs["neurodeploy_digest"] = _datasets_digest(f)
    return Path(path)


def _write_layers(f, ir: NetworkIR) -> None:
    """The netx layout (module docstring) of `ir` into the open HDF5 file `f`."""
    f.attrs["generator"] = "neurodeploy"
    f.attrs["num_steps"] = ir.num_steps
    f.attrs["input_encoding"] = ir.input.encoding
    ctx = {"encoding": ir.input.encoding}
    k, shape = 0, ()  # the previous layer's output shape (the network input is netx's to infer)
    for i, layer in enumerate(ir.layers):
        if layer.kind in ("dense", "dense_rec") and len(shape) > 1:
            WRITERS["flatten"](f.create_group(f"layer/{k}"), i, Flatten(name="flatten", shape=shape), ctx)
            k += 1
        WRITERS[layer.kind](f.create_group(f"layer/{k}"), i, layer, ctx)
        k += 1
        shape = tuple(layer.out_shape)


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
