"""Design-rule checks on a NetworkIR against a Target: each a small function returning the problems it finds.

A problem names the layer and the field ("layer 2 ('fc2') field 'vth': 140000 outside 0..131071").
`validate(ir, target=...)` runs every check in CHECKS and raises one IRError listing all problems.
Add a rule by appending a function to CHECKS; a kind's own rules live in its module
(`toolchain.ir.kinds.<kind>.checks`), run here by `check_kinds`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from toolchain.core.errors import ArtifactError
from toolchain.core.vocab import IR_ENCODINGS, SPIKE_ENCODERS
from toolchain.ir.graph import SCHEMA_VERSION, NetworkIR
from toolchain.ir.kinds import KINDS, Input
from toolchain.ir.kinds.base import prod
from toolchain.ir.target import DEFAULT, Target


class IRError(ArtifactError):
    """The IR breaks a hardware range or is inconsistent; the message lists every problem."""


def _where(i: int, ir: NetworkIR) -> str:
    return f"layer {i} ('{ir.layers[i].name}')"


def check_schema(ir: NetworkIR, target: Target) -> list[str]:
    if ir.schema_version != SCHEMA_VERSION:
        return [f"schema_version {ir.schema_version!r} is not supported (this neurodeploy reads "
                f"version {SCHEMA_VERSION})"]
    return []


def check_structure(ir: NetworkIR, target: Target) -> list[str]:
    """Known kinds, one chain of matching shapes, at least one population of neurons."""
    out = []
    if not isinstance(ir.num_steps, (int, np.integer)) or ir.num_steps < 1:
        out.append(f"field 'num_steps': {ir.num_steps!r} must be an integer >= 1")
    if not ir.layers:
        return out + ["field 'layers': the network has no layers"]
    if ir.input.shape and prod(ir.input.shape) != ir.input.n_in:
        out.append(f"input field 'shape': {list(ir.input.shape)} does not hold n_in={ir.input.n_in} values")
    shape = tuple(ir.input.shape) or (ir.input.n_in,)
    for i, layer in enumerate(ir.layers):
        w = _where(i, ir)
        if type(layer).kind not in KINDS or KINDS[type(layer).kind] is not type(layer):
            out.append(f"{w}: kind {layer.kind!r} is not a registered layer kind ({', '.join(KINDS)})")
            return out
        if layer.kind not in target.kinds:
            out.append(f"{w}: kind {layer.kind!r} is not supported by target '{target.name}'")
        if isinstance(layer, Input) and i != 0:
            out.append(f"{w}: an 'input' population can only be the first layer")
        try:
            need, have = layer.in_shape, layer.n_in
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            out.append(f"{w}: malformed shape fields ({exc})")
            return out
        exact = layer.kind in ("conv", "flatten", "input")  # dense flattens any input of its size
        if exact and tuple(need) != tuple(shape):
            out.append(f"{w} field '{'shape' if layer.kind != 'conv' else 'input_shape'}': expects input "
                       f"{list(need)} but the previous stage gives {list(shape)}")
        elif not exact and have != prod(shape):
            out.append(f"{w} field 'weight': shape {tuple(layer.weight.shape)} expects {have} inputs but the "
                       f"previous stage has {prod(shape)} outputs")
        if layer.has_neurons and layer.bias_mant.shape != (layer.n_out,):
            out.append(f"{w} field 'bias_mant': shape {tuple(layer.bias_mant.shape)} != ({layer.n_out},)")
        out += layer.checks(target, w)
        shape = layer.out_shape
    if not ir.spiking:
        out.append("field 'layers': the network has no population of neurons")
    elif not ir.layers[-1].has_neurons:
        out.append(f"{_where(len(ir.layers) - 1, ir)}: the network must end with neurons (its readout)")
    return out


def check_integer_arrays(ir: NetworkIR, target: Target) -> list[str]:
    out = []
    for i, layer in enumerate(ir.layers):
        for field in layer.tensor_names:
            arr = getattr(layer, field)
            if not np.issubdtype(np.asarray(arr).dtype, np.integer):
                out.append(f"{_where(i, ir)} field '{field}': dtype {np.asarray(arr).dtype} is not an integer type")
    return out


def _range(name: str, value: int, lo: int, hi: int, where: str) -> list[str]:
    if not (lo <= int(value) <= hi):
        return [f"{where} field '{name}': {int(value)} outside {lo}..{hi}"]
    return []


def check_neuron_ranges(ir: NetworkIR, target: Target) -> list[str]:
    out = []
    for i, layer in enumerate(ir.layers):
        if not layer.has_neurons:
            continue
        w = _where(i, ir)
        out += _range("du", layer.du, 0, target.decay_max, w)
        out += _range("dv", layer.dv, 0, target.decay_max, w)
        out += _range("vth", layer.vth, 0, target.vth_max, w)
        out += _range("bias_exp", layer.bias_exp, *target.bias_exp, w)
        if layer.reset not in target.resets:
            out.append(f"{w} field 'reset': {layer.reset!r} is not one of {target.resets}"
                       + (f" ({', '.join(target.constraints)})" if target.constraints else ""))
        if layer.bias_mant.size and np.issubdtype(layer.bias_mant.dtype, np.integer):
            lo, hi = int(layer.bias_mant.min()), int(layer.bias_mant.max())
            if lo < target.bias_mant[0] or hi > target.bias_mant[1]:
                out.append(f"{w} field 'bias_mant': values {lo}..{hi} outside {target.bias_mant[0]}..{target.bias_mant[1]}")
    return out


def check_input(ir: NetworkIR, target: Target) -> list[str]:
    spec, out = ir.input, []
    if spec.encoding not in IR_ENCODINGS:
        return [f"input field 'encoding': {spec.encoding!r} is not one of {IR_ENCODINGS}"]
    first = ir.layers[0] if ir.layers else None
    if spec.encoding == "spikes":
        if spec.spike_encoder is not None and spec.spike_encoder not in SPIKE_ENCODERS:
            out.append(f"input field 'spike_encoder': {spec.spike_encoder!r} is not one of {SPIKE_ENCODERS} "
                       "(or none: spike trains given as they are)")
    elif spec.encoding == "bias":
        if not isinstance(first, Input):
            out.append("input field 'encoding': 'bias' needs an 'input' population as the first layer "
                       f"(the first layer is {first.kind if first else 'missing'})")
    else:
        out += _range("bits", spec.bits, *target.input_bits, "input")
        if not (0 < spec.scale <= 2 ** int(spec.bits) - 1):
            out.append(f"input field 'scale': {spec.scale} must be in (0, 2**bits - 1 = {2 ** int(spec.bits) - 1}]")
        if isinstance(first, Input):
            out.append("input field 'encoding': graded input into an 'input' population is not supported "
                       "(use a dense or conv first layer, or the 'spikes' / 'bias' encodings)")
    if spec.encoding == "graded_once" and first is not None and first.has_neurons and first.du != 0:
        out.append(f"layer 0 ('{first.name}') field 'du': {first.du} but input encoding "
                   "'graded_once' needs du=0 to hold the input current")
    return out


def max_input(ir: NetworkIR, i: int) -> int:
    """Largest |value| layer i receives per input element: the graded payload for a synaptic
    first layer with graded input, else 1 (binary spikes)."""
    first_synaptic = next((j for j, layer in enumerate(ir.layers) if layer.kind != "flatten"), 0)
    if i == first_synaptic and ir.input.graded:
        return 2 ** int(ir.input.bits) - 1
    return 1


def check_accumulator(ir: NetworkIR, target: Target) -> list[str]:
    """Worst-case sums must fit the synapse's accumulator: int32 for Dense (after << weight_exp),
    the exact unwrapped range of Lava's float32 / 24-bit Conv for conv."""
    out = []
    for i, layer in enumerate(ir.layers):
        weight = getattr(layer, "weight", None)
        if weight is None or not np.issubdtype(np.asarray(weight).dtype, np.integer):
            continue
        worst = layer.worst_sum(max_input(ir, i))
        if layer.kind == "conv":
            if worst > target.conv_accum_max:
                out.append(f"{_where(i, ir)} field 'weight': worst-case accumulated input {worst} exceeds "
                           f"{target.conv_accum_max} (Lava's Conv sums in float32 and wraps to 24 bits)")
            continue
        worst <<= max(int(layer.weight_exp), 0)
        if worst > target.accum_max:
            out.append(f"{_where(i, ir)} field 'weight': worst-case accumulated input {worst} exceeds the "
                       f"int32 accumulator ({target.accum_max})")
    return out


CHECKS: list[Callable[[NetworkIR, Target], list[str]]] = [
    check_schema,
    check_structure,
    check_integer_arrays,
    check_neuron_ranges,
    check_input,
    check_accumulator,
]
_STOP_AFTER = {check_schema, check_structure}  # later rules assume a known schema and matching shapes


def problems(ir: NetworkIR, target: Target | None = None) -> list[str]:
    """All problems every design rule finds against `target` (default: the Loihi core); empty when deployable."""
    target = target or DEFAULT
    found: list[str] = []
    for check in CHECKS:
        found += check(ir, target)
        if check in _STOP_AFTER and found:
            break
    return found


def validate(ir: NetworkIR, source: str = "IR", target: Target | None = None) -> NetworkIR:
    """Return `ir` unchanged, or raise IRError naming every layer/field out of range."""
    found = problems(ir, target)
    if found:
        raise IRError(f"{source}: " + "; ".join(found))
    return ir


__all__ = ["CHECKS", "IRError", "max_input", "problems", "validate"]
