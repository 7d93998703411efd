"""The deployable intermediate representation (IR): one quantised network that every back end reads.

    graph.py   NetworkIR / LayerIR / InputSpec dataclasses and their fixed-point meaning
    limits.py  the numeric ranges Loihi (and Lava's bit-accurate models) impose
    checks.py  design-rule checks: small functions, each returning the problems it finds
    io.py      save / load one file (safetensors + JSON header, schema version, content digest)
"""

from toolchain.ir.graph import SCHEMA_VERSION, InputSpec, LayerIR, NetworkIR
from toolchain.ir.io import load_ir, save_ir

__all__ = ["SCHEMA_VERSION", "InputSpec", "LayerIR", "NetworkIR", "load_ir", "save_ir"]
