"""A deployment on disk: the quantise folder's file names, and finding and loading them.

A quantise folder holds `network.ndir` (the IR), `float_network.safetensors` (the float network it
came from) and `quantization.json` (the quantiser's record); every command that takes "Q" accepts
that folder or the IR file itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from toolchain.core.errors import ArtifactError
from toolchain.frontends.float_net import FloatNetwork, load_float_network
from toolchain.ir import NetworkIR, load_ir

IR_FILE, FLOAT_FILE, REPORT_FILE = "network.ndir", "float_network.safetensors", "quantization.json"


def resolve_ir_path(q: str | os.PathLike) -> Path:
    """The IR file of a quantise folder (holding network.ndir), or `q` itself when it is a file."""
    q = Path(q)
    path = q / IR_FILE if q.is_dir() else q
    if not path.is_file():
        raise ArtifactError(f"{q}: no IR found (expected an IR file or a folder holding {IR_FILE})")
    return path


def load_deployment(q: str | os.PathLike) -> tuple[NetworkIR, FloatNetwork | None]:
    """(IR, the float network beside it or None) of a quantise folder or IR file; both verified."""
    path = resolve_ir_path(q)
    float_path = path.parent / FLOAT_FILE
    return load_ir(path), (load_float_network(float_path) if float_path.is_file() else None)
