"""Save / load a NetworkIR as one file (`toolchain.core.tensorfile`: safetensors + JSON header + digest).

Tensors "layers.<i>.weight" / "layers.<i>.bias_mant" (int32) hold the arrays; the header holds
the schema version, the input spec, per-layer scalars and metadata. Loading verifies the digest and
then every design-rule check (`toolchain.ir.checks`), naming the layer and field at fault.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from toolchain.core import tensorfile
from toolchain.core.errors import ArtifactError
from toolchain.ir.checks import validate
from toolchain.ir.graph import InputSpec, LayerIR, NetworkIR

KIND = "neurodeploy_ir"
LAYER_SCALARS = ("weight_exp", "weight_bits", "bias_exp", "du", "dv", "vth")


def save_ir(ir: NetworkIR, path: str | os.PathLike, check: bool = True) -> Path:
    """Write `ir` to `path` atomically (validated first unless check=False, used by tests)."""
    if check:
        validate(ir, source=f"refusing to save {path}")
    tensors = {}
    for i, layer in enumerate(ir.layers):
        tensors[f"layers.{i}.weight"] = np.asarray(layer.weight, dtype=np.int32)
        tensors[f"layers.{i}.bias_mant"] = np.asarray(layer.bias_mant, dtype=np.int32)
    return tensorfile.save(path, KIND, ir.header(), tensors)


def load_ir(path: str | os.PathLike, check: bool = True) -> NetworkIR:
    """Read an IR file, verify its digest and (unless check=False) every hardware range."""
    head, tensors = tensorfile.load(path, KIND, "IR file")
    try:
        ir = _from_header(head, tensors)
        return validate(ir, source=f"IR file {path}") if check else ir
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError, IndexError) as exc:
        # a field of the wrong type or shape (checks assume the header's types): name the file
        raise ArtifactError(f"IR file {path}: malformed header ({type(exc).__name__}: {exc})") from None


def _from_header(head: dict, tensors: dict[str, np.ndarray]) -> NetworkIR:
    inp = head["input"]
    spec = InputSpec(n_in=int(inp["n_in"]), encoding=inp["encoding"], bits=int(inp["bits"]),
                     scale=float(inp["scale"]), shape=tuple(int(s) for s in inp.get("shape", ())),
                     spike_encoder=inp.get("spike_encoder"))
    layers = [
        LayerIR(name=lp["name"], weight=tensors[f"layers.{i}.weight"], bias_mant=tensors[f"layers.{i}.bias_mant"],
                reset=lp["reset"], scale=float(lp.get("scale", 1.0)), **{k: int(lp[k]) for k in LAYER_SCALARS})
        for i, lp in enumerate(head["layers"])
    ]
    return NetworkIR(name=head["name"], num_steps=int(head["num_steps"]), input=spec, layers=layers,
                     metadata=head.get("metadata", {}), schema_version=int(head["schema_version"]))
