"""The deployable intermediate representation (IR): one quantised network that every back end reads.

    graph.py   NetworkIR / InputSpec and the fixed-point meaning every back end implements
    kinds/     one module per layer kind (input, dense, conv, dense_rec, flatten): fields, shapes, rules
    target.py  Target: every numeric limit of the deployment target, and back ends' constraint sets
    limits.py  the numeric ranges of Lava's bit-accurate models (the defaults of Target)
    checks.py  design-rule checks: small functions, each returning the problems it finds
    io.py      save / load one file (safetensors + JSON header, schema version, content digest)
"""

from toolchain.ir.graph import SCHEMA_VERSION, InputSpec, LayerIR, NetworkIR
from toolchain.ir.io import load_ir, save_ir
from toolchain.ir.kinds import KINDS, Conv, Dense, DenseRec, Flatten, Input
from toolchain.ir.target import DEFAULT as DEFAULT_TARGET
from toolchain.ir.target import NETX as NETX_TARGET
from toolchain.ir.target import Target

__all__ = ["DEFAULT_TARGET", "KINDS", "NETX_TARGET", "SCHEMA_VERSION", "Conv", "Dense", "DenseRec", "Flatten",
           "Input", "InputSpec", "LayerIR", "NetworkIR", "Target", "load_ir", "save_ir"]
