"""Chip mapping: the cores and chips a network needs on a neuromorphic profile, as design-rule checks.

Placement model (stated, and the same for every chip):
- a core holds neurons of one layer only, and every synapse of a neuron lives in the neuron's core;
- synapses are stored as synapse lists, as nengo-loihi's `block.py` accounts for them (its
  `SynapseConfig.bits_per_axon`, dense weights): a core holding k neurons of a dense layer keeps, for
  each of the layer's n_in input axons, the k weights that axon drives, split into lists of at most
  `synapse_list_max_entries` weights; each list costs `synapse_list_header_bits` plus its weights and
  is rounded up to whole `memory_word_bits` words:

      list_bits(k) = sum over lists of ceil((entries x weight_bits + header) / word) x word
      core_bits(k) = n_in x list_bits(k)  [+ k x neuron_state_bits when the core memory is shared]

  A profile without the list keys stores weights densely (no header, 1-bit words).
- neurons per core = the largest k with core_bits(k) <= synaptic_memory_per_core and k <= neurons_per_core;
  cores_l = ceil(n_out / k); chips = ceil(sum of cores / cores_per_chip);
- every core of layer l receives all n_in inputs as distinct input axons (fan-in), and each of its
  neurons' spikes goes to every core of layer l+1 (fan-out: neurons on the core x cores of layer l+1;
  the last layer sends to one off-chip sink).
Each rule is a small function returning records {name, passed, value, limit, detail}; passed is None
when the profile does not publish the limit, or publishes only a range the value lies inside ("unknown").
Planners are per layer kind (PLANNERS): a kind the IR gains (conv, ...) is mapped by adding its planner.
Core counts are uncertain when a resource used in the accounting is an unpublished stand-in or a stated
lower bound (`caveats`, one line each): the chip count, and so static energy and latency, rest on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from toolchain.core.errors import ConfigError


@dataclass
class LayerPlan:
    """Where one layer goes: neurons per core (the most any core holds), cores used, memory on that core."""

    index: int
    kind: str
    n_in: int
    n_out: int
    weight_bits: int
    neurons_per_core: int  # 0 when one neuron's synapses do not fit in a core
    cores: int
    bound_by: str  # "neurons per core" | "synaptic memory" | "fits in one core" | "does not fit"
    core_bits: int  # memory used on the fullest core (lists with headers and rounding, plus shared state)
    weight_only_bits: int  # the same core's weights x bits alone (what a list-free model would charge)


@dataclass(frozen=True)
class ListFormat:
    """How synapse lists are stored (see module docstring); the defaults mean dense weights, no overhead."""

    header_bits: int = 0
    max_entries: int | None = None
    word_bits: int = 1
    state_bits: int = 0  # per neuron, when the core memory also holds neuron state

    def list_bits(self, entries: int, weight_bits: int) -> int:
        """Memory bits of one input axon's `entries` synapses on one core."""
        if entries <= 0:
            return 0
        per = self.max_entries or entries
        bits = 0
        for start in range(0, entries, per):
            n = min(per, entries - start)
            bits += -(-(n * weight_bits + self.header_bits) // self.word_bits) * self.word_bits
        return bits


def _limit(profile, key: str) -> int | float | None:
    """A published resource limit (its lower end for a range) in bits/counts, or None if unknown."""
    c = profile.known(f"resources.{key}")
    if c is None:
        return None
    return int(c.lo) if float(c.lo).is_integer() else c.lo


def list_format(profile) -> ListFormat:
    """The profile's synapse-list format (nengo-loihi accounting) and shared neuron state."""
    shared = profile.known("resources.shared_core_memory")
    return ListFormat(header_bits=int(_limit(profile, "synapse_list_header_bits") or 0),
                      max_entries=_limit(profile, "synapse_list_max_entries"),
                      word_bits=int(_limit(profile, "memory_word_bits") or 1),
                      state_bits=int(_limit(profile, "neuron_state_bits") or 0) if shared and shared.lo else 0)


def dense_core_bits(n_in: int, k: int, weight_bits: int, fmt: ListFormat) -> int:
    """Memory of a core holding k neurons of a dense layer with n_in inputs (see module docstring)."""
    return n_in * fmt.list_bits(k, weight_bits) + k * fmt.state_bits


def plan_dense(index: int, n_in: int, n_out: int, bits: int, profile) -> LayerPlan:
    """Neurons per core and cores of a dense layer: the largest k whose core memory fits (binary search:
    core_bits grows with k)."""
    n_max = _limit(profile, "neurons_per_core")
    mem = _limit(profile, "synaptic_memory_per_core")
    fmt = list_format(profile)
    cap = min(n_out, int(n_max)) if n_max is not None else n_out
    if mem is None:
        k = cap
    else:
        lo, hi = 0, cap
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if dense_core_bits(n_in, mid, bits, fmt) <= mem:
                lo = mid
            else:
                hi = mid - 1
        k = lo
    if k <= 0:
        return LayerPlan(index, "dense", n_in, n_out, bits, 0, 0, "does not fit",
                         dense_core_bits(n_in, 1, bits, fmt), n_in * bits)
    used = dense_core_bits(n_in, k, bits, fmt)
    if k >= n_out:
        return LayerPlan(index, "dense", n_in, n_out, bits, n_out, 1, "fits in one core", used, n_in * bits * k)
    bound = "neurons per core" if n_max is not None and k == int(n_max) else "synaptic memory"
    return LayerPlan(index, "dense", n_in, n_out, bits, k, math.ceil(n_out / k), bound, used, n_in * bits * k)


# layer kind -> planner(index, n_in, n_out, weight_bits, profile) -> LayerPlan
PLANNERS: dict[str, Callable[..., LayerPlan]] = {"dense": plan_dense}


def plan_layers(shape, profile) -> list[LayerPlan]:
    """Neurons per core and cores per layer for `shape` (a NetworkShape) on `profile`."""
    kinds = list(getattr(shape, "kinds", ()) or ()) or ["dense"] * len(shape.layers)
    plans = []
    for i, ((n_in, n_out, bits), kind) in enumerate(zip(shape.layers, kinds)):
        if kind not in PLANNERS:
            raise ConfigError(f"chip mapping: layer {i + 1} is a {kind!r} layer and no planner maps that kind "
                              f"(known: {', '.join(PLANNERS)})")
        plans.append(PLANNERS[kind](i, n_in, n_out, bits, profile))
    return plans


def _record(name: str, passed: bool | None, value, limit, detail: str) -> dict[str, Any]:
    return {"name": name, "passed": passed, "value": value, "limit": limit, "detail": detail}


def _against(profile, key: str, value: float) -> tuple[bool | None, Any, str]:
    """(passed, limit shown, note) of `value` against a limit that may be a published value, an
    unpublished [lo, hi] range (passed only below lo, failed only above hi, else unknown) or unknown."""
    c = profile.get(f"resources.{key}")
    if c is None or not c.known:
        return None, None, "limit unknown (unpublished)"
    if c.evidence == "unpublished" and c.is_range:
        shown = f"unknown, in [{c.raw[0]}, {c.raw[1]}]"
        if value <= c.lo:
            return True, shown, ""
        if value > c.hi:
            return False, shown, ""
        return None, shown, f"unknown: {value} lies inside the range the public record allows ({c.stand_in})"
    lim = int(c.lo) if float(c.lo).is_integer() else c.lo
    return value <= lim, lim, ""


def check_neurons_per_core(shape, profile, plans) -> list[dict]:
    lim = _limit(profile, "neurons_per_core")
    return [_record(f"neurons per core (layer {p.index + 1})", None if lim is None else p.neurons_per_core <= lim,
                    p.neurons_per_core, lim, f"{p.n_out} neurons on {p.cores} cores")
            for p in plans]


def check_synaptic_memory(shape, profile, plans) -> list[dict]:
    mem = _limit(profile, "synaptic_memory_per_core")
    fmt = list_format(profile)
    out = []
    for p in plans:
        k = max(p.neurons_per_core, 1)
        detail = (f"{k} neuron(s) x {p.n_in} input axons: {p.core_bits} bits in synapse lists"
                  + (f" ({fmt.header_bits}-bit header per list of <= {fmt.max_entries}, {fmt.word_bits}-bit words;"
                     f" {p.weight_only_bits} bits of weights alone)" if fmt.header_bits or fmt.word_bits > 1 else "")
                  + (f" incl. {k} x {fmt.state_bits} bits of neuron state (shared core memory)" if fmt.state_bits else "")
                  + ("" if p.neurons_per_core else ": one neuron's synapses exceed a core's memory"))
        out.append(_record(f"synaptic memory per core, bits (layer {p.index + 1})",
                           None if mem is None else p.core_bits <= mem, p.core_bits, mem, detail))
    return out


def check_fan_in(shape, profile, plans) -> list[dict]:
    out = []
    for p in plans:
        passed, lim, note = _against(profile, "axons_in_per_core", p.n_in)
        detail = f"each core of layer {p.index + 1} receives all {p.n_in} inputs"
        if passed is False:
            detail += ("; needs fan-in splitting into partial sums per neuron, which changes the network "
                       "(the chip count assumes it could be done)")
        out.append(_record(f"input axons per core (layer {p.index + 1})", passed, p.n_in, lim,
                           f"{detail}{'; ' + note if note else ''}"))
    return out


def check_fan_out(shape, profile, plans) -> list[dict]:
    out = []
    for k, p in enumerate(plans):
        targets = plans[k + 1].cores if k + 1 < len(plans) else 1
        edges = max(p.neurons_per_core, 1) * max(targets, 1)
        passed, lim, note = _against(profile, "axons_out_per_core", edges)
        out.append(_record(f"output axons per core (layer {p.index + 1})", passed, edges, lim,
                           f"{max(p.neurons_per_core, 1)} neurons x {targets} destination core(s)"
                           f"{'; ' + note if note else ''}"))
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
ACCOUNTING_KEYS = ("synaptic_memory_per_core", "synapse_list_header_bits", "synapse_list_max_entries",
                   "memory_word_bits", "neuron_state_bits")


def chips_for(plans: list[LayerPlan], profile) -> int | None:
    """Chips needed, or None when some layer cannot be placed at all."""
    if any(p.cores == 0 for p in plans):
        return None
    per_chip = _limit(profile, "cores_per_chip")
    cores = sum(p.cores for p in plans)
    return max(1, math.ceil(cores / per_chip)) if per_chip else 1


def mapping_caveats(profile) -> list[str]:
    """Why the core counts are uncertain: memory-accounting resources that are stand-ins or lower bounds."""
    out = []
    for key in ACCOUNTING_KEYS:
        c = profile.known(f"resources.{key}")
        if c is not None and (c.evidence == "unpublished" or c.bound == "lower"):
            out.append(f"resources.{key} = {c.raw} is {'a lower bound' if c.bound == 'lower' else 'a stand-in'}"
                       f" ({c.stand_in or c.note or c.source})")
    mem = profile.known("resources.synaptic_memory_per_core")
    shared = profile.known("resources.shared_core_memory")
    if mem is not None and shared is not None and shared.lo:
        out.append("the core memory is shared with routing tables, which are not charged")
    return out


def map_network(shape, profile) -> dict[str, Any]:
    """Cores per layer, cores, chips, and every design-rule record for `shape` on `profile`."""
    if profile.kind != "neuromorphic":
        raise ConfigError(f"profile {profile.name!r} is not a neuromorphic chip: nothing to map")
    plans = plan_layers(shape, profile)
    checks = [rec for rule in RULES for rec in rule(shape, profile, plans)]
    failed = [c["name"] for c in checks if c["passed"] is False]
    unknown = [c["name"] for c in checks if c["passed"] is None]
    cores = sum(p.cores for p in plans) if all(p.cores for p in plans) else None
    fmt = list_format(profile)
    return {
        "profile": profile.name, "title": profile.title,
        "layers": [{"layer": p.index + 1, "kind": p.kind, "n_in": p.n_in, "n_out": p.n_out,
                    "weight_bits": p.weight_bits, "neurons_per_core": p.neurons_per_core, "cores": p.cores,
                    "bound_by": p.bound_by, "core_bits": p.core_bits, "weight_only_bits": p.weight_only_bits}
                   for p in plans],
        "cores": cores, "cores_per_chip": _limit(profile, "cores_per_chip"),
        "chips": chips_for(plans, profile), "checks": checks, "fits": not failed, "failed": failed,
        "status": "fails" if failed else ("unverified" if unknown else "fits"),
        "not_checked": unknown, "caveats": mapping_caveats(profile),
        "assumptions": ("one layer per core; synapse lists per input axon with "
                        + (f"a {fmt.header_bits}-bit header per list of <= {fmt.max_entries} weights, rounded to "
                           f"{fmt.word_bits}-bit words (nengo-loihi block.py accounting)"
                           if fmt.header_bits or fmt.word_bits > 1 else "no list overhead (not published)")
                        + (f"; {fmt.state_bits} bits of neuron state per neuron in the same memory" if fmt.state_bits
                           else "")
                        + "; every core of a layer receives all its inputs"),
    }
