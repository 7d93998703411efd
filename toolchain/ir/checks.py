"""Design-rule checks on a NetworkIR: each a small function returning the problems it finds.

A problem names the layer and the field ("layer 'fc2' field 'vth': 140000 outside 0..131071").
`validate(ir)` runs every check in CHECKS and raises one IRError listing all problems.
Add a rule by appending a function to CHECKS.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from toolchain.core.errors import ArtifactError
from toolchain.core.vocab import IR_ENCODINGS as INPUT_ENCODINGS
from toolchain.core.vocab import RESETS, SPIKE_ENCODERS
from toolchain.ir import limits as L
from toolchain.ir.graph import SCHEMA_VERSION, NetworkIR


class IRError(ArtifactError):
    """The IR breaks a hardware range or is inconsistent; the message lists every problem."""


def _where(i: int, ir: NetworkIR) -> str:
    return f"layer {i} ('{ir.layers[i].name}')"


def check_schema(ir: NetworkIR) -> list[str]:
    if ir.schema_version != SCHEMA_VERSION:
        return [f"schema_version {ir.schema_version!r} is not supported (this neurodeploy reads "
                f"version {SCHEMA_VERSION})"]
    return []


def check_structure(ir: NetworkIR) -> list[str]:
    out = []
    if not isinstance(ir.num_steps, (int, np.integer)) or ir.num_steps < 1:
        out.append(f"field 'num_steps': {ir.num_steps!r} must be an integer >= 1")
    if not ir.layers:
        out.append("field 'layers': the network has no layers")
    if ir.input.shape and int(np.prod(ir.input.shape)) != ir.input.n_in:
        out.append(f"input field 'shape': {list(ir.input.shape)} does not hold n_in={ir.input.n_in} values")
    n_prev = ir.input.n_in
    for i, layer in enumerate(ir.layers):
        if layer.weight.ndim != 2:
            out.append(f"{_where(i, ir)} field 'weight': expected a 2-D [n_out, n_in] matrix, got shape {layer.weight.shape}")
            continue
        if layer.n_in != n_prev:
            out.append(f"{_where(i, ir)} field 'weight': shape {tuple(layer.weight.shape)} expects {layer.n_in} "
                       f"inputs but the previous stage has {n_prev} outputs")
        if layer.bias_mant.shape != (layer.n_out,):
            out.append(f"{_where(i, ir)} field 'bias_mant': shape {tuple(layer.bias_mant.shape)} != ({layer.n_out},)")
        n_prev = layer.n_out
    return out


def check_integer_arrays(ir: NetworkIR) -> list[str]:
    out = []
    for i, layer in enumerate(ir.layers):
        for field in ("weight", "bias_mant"):
            arr = getattr(layer, field)
            if not np.issubdtype(arr.dtype, np.integer):
                out.append(f"{_where(i, ir)} field '{field}': dtype {arr.dtype} is not an integer type")
    return out


def _range(name: str, value: int, lo: int, hi: int, where: str) -> list[str]:
    if not (lo <= int(value) <= hi):
        return [f"{where} field '{name}': {int(value)} outside {lo}..{hi}"]
    return []


def check_neuron_ranges(ir: NetworkIR) -> list[str]:
    out = []
    for i, layer in enumerate(ir.layers):
        w = _where(i, ir)
        out += _range("du", layer.du, 0, L.DECAY_MAX, w)
        out += _range("dv", layer.dv, 0, L.DECAY_MAX, w)
        out += _range("vth", layer.vth, 0, L.VTH_MAX, w)
        out += _range("bias_exp", layer.bias_exp, L.BIAS_EXP_MIN, L.BIAS_EXP_MAX, w)
        if layer.reset not in RESETS:
            out.append(f"{w} field 'reset': {layer.reset!r} is not one of {RESETS}")
        if layer.bias_mant.size and np.issubdtype(layer.bias_mant.dtype, np.integer):
            lo, hi = int(layer.bias_mant.min()), int(layer.bias_mant.max())
            if lo < L.BIAS_MANT_MIN or hi > L.BIAS_MANT_MAX:
                out.append(f"{w} field 'bias_mant': values {lo}..{hi} outside {L.BIAS_MANT_MIN}..{L.BIAS_MANT_MAX}")
    return out


def check_weight_ranges(ir: NetworkIR) -> list[str]:
    out = []
    for i, layer in enumerate(ir.layers):
        w = _where(i, ir)
        out += _range("weight_bits", layer.weight_bits, L.WEIGHT_BITS_MIN, L.WEIGHT_BITS_MAX, w)
        out += _range("weight_exp", layer.weight_exp, L.WEIGHT_EXP_MIN, L.WEIGHT_EXP_MAX, w)
        if layer.weight.size and np.issubdtype(layer.weight.dtype, np.integer) \
                and L.WEIGHT_BITS_MIN <= layer.weight_bits <= L.WEIGHT_BITS_MAX:
            lo, hi = L.weight_range(layer.weight_bits)
            wmin, wmax = int(layer.weight.min()), int(layer.weight.max())
            if wmin < lo or wmax > hi:
                out.append(f"{w} field 'weight': values {wmin}..{wmax} outside {lo}..{hi} "
                           f"({layer.weight_bits}-bit signed)")
    return out


def check_input(ir: NetworkIR) -> list[str]:
    spec, out = ir.input, []
    if spec.encoding not in INPUT_ENCODINGS:
        out.append(f"input field 'encoding': {spec.encoding!r} is not one of {INPUT_ENCODINGS}")
    if spec.encoding == "spikes":
        if spec.spike_encoder not in SPIKE_ENCODERS:
            out.append(f"input field 'spike_encoder': {spec.spike_encoder!r} is not one of {SPIKE_ENCODERS}")
    else:
        out += _range("bits", spec.bits, L.INPUT_BITS_MIN, L.INPUT_BITS_MAX, "input")
        if not (0 < spec.scale <= 2 ** int(spec.bits) - 1):
            out.append(f"input field 'scale': {spec.scale} must be in (0, 2**bits - 1 = {2 ** int(spec.bits) - 1}]")
    if spec.encoding == "graded_once" and ir.layers and ir.layers[0].du != 0:
        out.append(f"layer 0 ('{ir.layers[0].name}') field 'du': {ir.layers[0].du} but input encoding "
                   "'graded_once' needs du=0 to hold the input current")
    return out


def check_accumulator(ir: NetworkIR) -> list[str]:
    """Worst-case |W @ s| << weight_exp must fit Lava's int32 accumulator (and so is exact in float64)."""
    out = []
    for i, layer in enumerate(ir.layers):
        if layer.weight.ndim != 2 or not np.issubdtype(layer.weight.dtype, np.integer):
            continue
        x_max = (2 ** int(ir.input.bits) - 1) if (i == 0 and ir.input.graded) else 1
        worst = int(np.abs(layer.weight.astype(np.int64)).sum(axis=1).max(initial=0)) * x_max
        worst <<= max(int(layer.weight_exp), 0)
        if worst > L.ACCUM_MAX:
            out.append(f"{_where(i, ir)} field 'weight': worst-case accumulated input {worst} exceeds the "
                       f"int32 accumulator ({L.ACCUM_MAX})")
    return out


CHECKS: list[Callable[[NetworkIR], list[str]]] = [
    check_schema,
    check_structure,
    check_integer_arrays,
    check_neuron_ranges,
    check_weight_ranges,
    check_input,
    check_accumulator,
]


def problems(ir: NetworkIR) -> list[str]:
    """All problems every design rule finds (empty when the IR is deployable)."""
    found: list[str] = []
    for check in CHECKS:
        found += check(ir)
        if check is check_schema and found:
            break  # an unknown schema makes the other fields meaningless
    return found


def validate(ir: NetworkIR, source: str = "IR") -> NetworkIR:
    """Return `ir` unchanged, or raise IRError naming every layer/field out of range."""
    found = problems(ir)
    if found:
        raise IRError(f"{source}: " + "; ".join(found))
    return ir
