"""Save / load a NetworkIR as one file (`toolchain.core.tensorfile`: safetensors + JSON header + digest).

Tensors "layers.<i>.<name>" (int32; e.g. weight, weight_rec, bias_mant) hold each layer's arrays; the
header holds the schema version, the input spec, per-layer scalars (with the layer's `kind`) and
metadata. Loading verifies the digest and then every design-rule check (`toolchain.ir.checks`),
naming the layer and field at fault. Schema version 1 (before layer kinds: every layer dense, no
`kind` key) still loads.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from toolchain.core import tensorfile
from toolchain.core.errors import ArtifactError
from toolchain.ir.checks import IRError, validate
from toolchain.ir.graph import READABLE_VERSIONS, InputSpec, NetworkIR
from toolchain.ir.kinds import KINDS

FILE_KIND = "neurodeploy_ir"


def save_ir(ir: NetworkIR, path: str | os.PathLike, check: bool = True) -> Path:
    """Write `ir` to `path` atomically (validated first unless check=False, used by tests)."""
    if check:
        validate(ir, source=f"refusing to save {path}")
    tensors = {}
    for i, layer in enumerate(ir.layers):
        for name, arr in layer.tensors().items():
            tensors[f"layers.{i}.{name}"] = np.asarray(arr, dtype=np.int32)
    return tensorfile.save(path, FILE_KIND, ir.header(), tensors)


def load_ir(path: str | os.PathLike, check: bool = True, target=None) -> NetworkIR:
    """Read an IR file, verify its digest and (unless check=False) every rule of `target`."""
    head, tensors = tensorfile.load(path, FILE_KIND, "IR file")
    version = head.get("schema_version") if isinstance(head, dict) else None
    if version not in READABLE_VERSIONS:
        raise IRError(f"IR file {path}: schema_version {version!r} is not supported (this neurodeploy reads "
                      f"versions {', '.join(map(str, READABLE_VERSIONS))})")
    try:
        ir = _from_header(head, tensors)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ArtifactError(f"IR file {path}: malformed header ({type(exc).__name__}: {exc})") from None
    return validate(ir, source=f"IR file {path}", target=target) if check else ir


def _from_header(head: dict, tensors: dict[str, np.ndarray]) -> NetworkIR:
    version = int(head["schema_version"])
    inp = head["input"]
    spec = InputSpec(n_in=int(inp["n_in"]), encoding=inp["encoding"], bits=int(inp["bits"]),
                     scale=float(inp["scale"]), shape=tuple(int(v) for v in inp.get("shape", ())),
                     spike_encoder=inp.get("spike_encoder"))
    layers = []
    for i, lp in enumerate(head["layers"]):
        kind = lp.get("kind", "dense") if version >= 2 else "dense"
        if kind not in KINDS:
            raise ValueError(f"layer {i}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
        prefix = f"layers.{i}."
        own = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        layers.append(KINDS[kind].from_stored(lp, own))
    return NetworkIR(name=head["name"], num_steps=int(head["num_steps"]), input=spec, layers=layers,
                     metadata=head.get("metadata", {}))  # read as (upgraded to) the current schema
