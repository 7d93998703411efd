"""Save / load a NetworkIR as one file: safetensors tensors + a JSON header + a content digest.

The header (schema version, input spec, per-layer scalars, metadata) is stored in the safetensors
metadata under "neurodeploy_ir"; the integer arrays as tensors "layers.<i>.weight" /
"layers.<i>.bias_mant". "digest" is the SHA-256 of the header JSON and every tensor's bytes, so a
truncated or edited file is refused with a clear message instead of failing deep inside a back end.
Loading then runs every design-rule check (`toolchain.ir.checks`). No pickle is involved.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from toolchain.errors import ArtifactError
from toolchain.fileio import atomic_path
from toolchain.ir.checks import validate
from toolchain.ir.graph import InputSpec, LayerIR, NetworkIR

HEADER_KEY = "neurodeploy_ir"
LAYER_SCALARS = ("weight_exp", "weight_bits", "bias_exp", "du", "dv", "vth")


def _digest(header_json: str, tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(header_json.encode())
    for key in sorted(tensors):
        h.update(key.encode())
        h.update(np.ascontiguousarray(tensors[key]).tobytes())
    return h.hexdigest()


def _tensors(ir: NetworkIR) -> dict[str, np.ndarray]:
    out = {}
    for i, layer in enumerate(ir.layers):
        out[f"layers.{i}.weight"] = np.ascontiguousarray(layer.weight, dtype=np.int32)
        out[f"layers.{i}.bias_mant"] = np.ascontiguousarray(layer.bias_mant, dtype=np.int32)
    return out


def save_ir(ir: NetworkIR, path: str | os.PathLike, check: bool = True) -> Path:
    """Write `ir` to `path` atomically (validated first unless check=False, used by tests)."""
    from safetensors.numpy import save_file

    if check:
        validate(ir, source=f"refusing to save {path}")
    tensors = _tensors(ir)
    header_json = json.dumps(ir.header(), sort_keys=True)
    meta = {HEADER_KEY: header_json, "digest": _digest(header_json, tensors)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return Path(path)


def load_ir(path: str | os.PathLike, check: bool = True) -> NetworkIR:
    """Read an IR file, verify its digest and (unless check=False) every hardware range."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"IR file {path} does not exist")
    try:
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:  # safetensors raises its own error types for truncated/garbled files
        raise ArtifactError(f"IR file {path} is truncated or not an IR file ({type(exc).__name__}: {exc})") from None
    if HEADER_KEY not in meta or "digest" not in meta:
        raise ArtifactError(f"IR file {path} has no neurodeploy IR header (is it a neurodeploy IR?)")
    if _digest(meta[HEADER_KEY], tensors) != meta["digest"]:
        raise ArtifactError(f"IR file {path} is corrupt or was modified: its content digest does not match")
    try:
        head = json.loads(meta[HEADER_KEY])
        ir = _from_header(head, tensors)
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"IR file {path}: malformed header ({type(exc).__name__}: {exc})") from None
    return validate(ir, source=f"IR file {path}") if check else ir


def _from_header(head: dict, tensors: dict[str, np.ndarray]) -> NetworkIR:
    inp = head["input"]
    spec = InputSpec(n_in=int(inp["n_in"]), encoding=inp["encoding"], bits=int(inp["bits"]),
                     scale=float(inp["scale"]), shape=tuple(inp.get("shape", ())),
                     spike_encoder=inp.get("spike_encoder"))
    layers = []
    for i, lp in enumerate(head["layers"]):
        layers.append(LayerIR(
            name=lp["name"], weight=tensors[f"layers.{i}.weight"], bias_mant=tensors[f"layers.{i}.bias_mant"],
            reset=lp["reset"], scale=float(lp.get("scale", 1.0)),
            **{k: int(lp[k]) for k in LAYER_SCALARS},
        ))
    return NetworkIR(name=head["name"], num_steps=int(head["num_steps"]), input=spec, layers=layers,
                     metadata=head.get("metadata", {}), schema_version=int(head["schema_version"]))
