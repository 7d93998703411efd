"""Chip mapping: the cores and chips a network needs on a neuromorphic profile, as design-rule checks.

Placement model (stated, simple, and the same for every chip):
- a core holds neurons of one layer only, and every synapse of a neuron lives in the neuron's core,
  stored densely as weights x weight bits (list/index overhead ignored, so counts are lower bounds);
- neurons per core of layer l = min(neurons_per_core, floor(synaptic_memory_per_core / (n_in x bits)));
  cores_l = ceil(n_out / that); chips = ceil(sum of cores / cores_per_chip);
- every core of layer l receives all n_in inputs as distinct input axons (fan-in), and sends each
  of its neurons' spikes to every core of layer l+1 (fan-out edges = neurons on the core x cores of
  layer l+1; the last layer sends to one off-chip sink).
Each rule is a small function returning records {name, passed, value, limit, detail}; passed is
None when the profile does not publish the limit ("not checked"). Add a rule by appending to RULES.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from toolchain.core.errors import ConfigError


@dataclass
class LayerPlan:
    """Where one layer goes: neurons per core (the most any core holds) and cores used."""

    index: int
    n_in: int
    n_out: int
    weight_bits: int
    neurons_per_core: int  # 0 when one neuron's synapses do not fit in a core
    cores: int
    bound_by: str  # "neurons per core" | "synaptic memory" | "fits in one core" | "does not fit"


def _limit(profile, key: str) -> int | float | None:
    """A published resource limit in bits/counts (an int when integral), or None if unpublished."""
    c = profile.known(f"resources.{key}")
    if c is None:
        return None
    return int(c.lo) if float(c.lo).is_integer() else c.lo


def plan_layers(shape, profile) -> list[LayerPlan]:
    """Neurons per core and cores per layer for `shape` (a NetworkShape) on `profile`."""
    n_max = _limit(profile, "neurons_per_core")
    mem = _limit(profile, "synaptic_memory_per_core")
    plans = []
    for i, (n_in, n_out, bits) in enumerate(shape.layers):
        by_mem = int(mem // (n_in * bits)) if mem is not None else None
        caps = [c for c in (int(n_max) if n_max is not None else None, by_mem) if c is not None]
        per_core = min(caps) if caps else n_out
        if per_core <= 0:
            plans.append(LayerPlan(i, n_in, n_out, bits, 0, 0, "does not fit"))
            continue
        if per_core >= n_out:
            plans.append(LayerPlan(i, n_in, n_out, bits, n_out, 1, "fits in one core"))
            continue
        bound = "synaptic memory" if by_mem is not None and (n_max is None or by_mem < n_max) else "neurons per core"
        plans.append(LayerPlan(i, n_in, n_out, bits, per_core, math.ceil(n_out / per_core), bound))
    return plans


def _record(name: str, passed: bool | None, value, limit, detail: str) -> dict[str, Any]:
    return {"name": name, "passed": passed, "value": value, "limit": limit, "detail": detail}


def check_neurons_per_core(shape, profile, plans) -> list[dict]:
    lim = _limit(profile, "neurons_per_core")
    return [_record(f"neurons per core (layer {p.index + 1})", None if lim is None else p.neurons_per_core <= lim,
                    p.neurons_per_core, lim, f"{p.n_out} neurons on {p.cores} cores")
            for p in plans]


def check_synaptic_memory(shape, profile, plans) -> list[dict]:
    mem = _limit(profile, "synaptic_memory_per_core")
    out = []
    for p in plans:
        need = p.n_in * p.weight_bits * max(p.neurons_per_core, 1)
        detail = (f"{max(p.neurons_per_core, 1)} neuron(s) x {p.n_in} inputs x {p.weight_bits} bits"
                  + ("" if p.neurons_per_core else ": one neuron's fan-in exceeds a core's synaptic memory"))
        out.append(_record(f"synaptic memory per core, bits (layer {p.index + 1})",
                           None if mem is None else need <= mem, need, mem, detail))
    return out


def check_fan_in(shape, profile, plans) -> list[dict]:
    lim = _limit(profile, "axons_in_per_core")
    out = []
    for p in plans:
        detail = f"each core of layer {p.index + 1} receives all {p.n_in} inputs"
        if lim is not None and p.n_in > lim:
            detail += (f"; needs fan-in splitting into {math.ceil(p.n_in / lim)} partial sums per neuron, "
                       "which changes the network (chip count below assumes it could be done)")
        out.append(_record(f"input axons per core (layer {p.index + 1})",
                           None if lim is None else p.n_in <= lim, p.n_in, lim, detail))
    return out


def check_fan_out(shape, profile, plans) -> list[dict]:
    lim = _limit(profile, "axons_out_per_core")
    out = []
    for k, p in enumerate(plans):
        targets = plans[k + 1].cores if k + 1 < len(plans) else 1
        edges = max(p.neurons_per_core, 1) * max(targets, 1)
        out.append(_record(f"output axons per core (layer {p.index + 1})", None if lim is None else edges <= lim,
                           edges, lim, f"{max(p.neurons_per_core, 1)} neurons x {targets} destination core(s)"))
    return out


def check_weight_bits(shape, profile, plans) -> list[dict]:
    hi, lo = _limit(profile, "weight_bits_max"), _limit(profile, "weight_bits_min")
    need = max(shape.weight_bits)
    passed = None if hi is None else (need <= hi and (lo is None or min(shape.weight_bits) >= lo))
    return [_record("weight bits", passed, need, hi, f"the network's weights use {need} bits")]


def check_input_encoding(shape, profile, plans) -> list[dict]:
    graded = _limit(profile, "graded_spikes")
    if shape.encoding == "spikes":
        return [_record("input encoding", True, "spikes", "binary spikes", "binary input spikes")]
    detail = f"input '{shape.encoding}' sends {shape.input_bits}-bit graded values"
    if graded is not None and not graded:
        detail += "; this chip has no graded spikes (spike-encode the input instead)"
    limit = None if graded is None else ("graded spikes" if graded else "binary spikes only")
    return [_record("input encoding", None if graded is None else bool(graded), shape.encoding, limit, detail)]


def check_chip_totals(shape, profile, plans) -> list[dict]:
    chips = chips_for(plans, profile)
    if chips is None:
        return []
    out = []
    for key, need, what in (("neurons_per_chip", sum(shape.sizes[1:]), "neurons"),
                            ("synapses_per_chip", sum(p.n_in * p.n_out for p in plans), "synapses")):
        lim = _limit(profile, key)
        if lim is None:
            continue
        out.append(_record(f"{what} per chip x {chips} chip(s)", need <= lim * chips, need, lim * chips,
                           f"{need} {what} on {chips} chip(s) of {int(lim)}"))
    return out


RULES: list[Callable] = [check_neurons_per_core, check_synaptic_memory, check_fan_in, check_fan_out,
                         check_weight_bits, check_input_encoding, check_chip_totals]


def chips_for(plans: list[LayerPlan], profile) -> int | None:
    """Chips needed, or None when some layer cannot be placed at all."""
    if any(p.cores == 0 for p in plans):
        return None
    per_chip = _limit(profile, "cores_per_chip")
    cores = sum(p.cores for p in plans)
    return max(1, math.ceil(cores / per_chip)) if per_chip else 1


def map_network(shape, profile) -> dict[str, Any]:
    """Cores per layer, cores, chips, and every design-rule record for `shape` on `profile`."""
    if profile.kind != "neuromorphic":
        raise ConfigError(f"profile {profile.name!r} is of kind {profile.kind!r}: chip mapping needs a "
                          "neuromorphic profile")
    plans = plan_layers(shape, profile)
    checks = [rec for rule in RULES for rec in rule(shape, profile, plans)]
    placeable = all(p.cores for p in plans)
    cores = sum(p.cores for p in plans) if placeable else None
    failed = [c["name"] for c in checks if c["passed"] is False]
    return {
        "profile": profile.name, "title": profile.title,
        "layers": [{"layer": p.index + 1, "n_in": p.n_in, "n_out": p.n_out, "weight_bits": p.weight_bits,
                    "neurons_per_core": p.neurons_per_core, "cores": p.cores, "bound_by": p.bound_by}
                   for p in plans],
        "cores": cores, "cores_per_chip": _limit(profile, "cores_per_chip"),
        "chips": chips_for(plans, profile), "checks": checks, "fits": not failed, "failed": failed,
        "not_checked": [c["name"] for c in checks if c["passed"] is None],
        "assumptions": "one layer per core; dense weights x bits per core (no list overhead: lower bound); "
                       "every core of a layer receives all its inputs",
    }
