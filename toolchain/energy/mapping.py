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
- every core of a dense layer receives all n_in inputs as distinct input axons (fan-in), and each of
  its neurons' spikes goes to every core of the next layer (fan-out: neurons on the core x the
  destination cores; the last layer sends to one off-chip sink).
Per layer kind (PLANNERS, one planner each; a kind the IR gains is mapped by adding its planner):
- dense: as above.
- dense_rec: a dense layer whose cores also receive the layer's own n_out neurons as input axons
  (fan-in n_in + n_out, each with its list); its spikes go to the next layer and to its own cores.
- conv (toolchain.energy.conv_mapping): a core holds a box of the output (whole channels and rows,
  split along the columns, as Lava's compiler placed PilotNet) and receives the inputs that reach it;
  where the chip shares convolutional weights (`resources.conv_weight_sharing`) the box's kernel is
  stored once per core, else every input axon keeps expanded synapse lists. A spike goes to the
  cores whose boxes it feeds (1 to a few), not to every core of the layer.
- input: an input population, neurons only (no synapses; under "bias" no input axons).
Each rule is a small function returning records {name, passed, value, limit, detail}; passed is None
when the profile does not publish the limit, or publishes only a range the value lies inside ("unknown").
Core counts are uncertain when a resource used in the accounting is an unpublished stand-in or a stated
lower bound (`caveats`, one line each): the chip count, and so static energy and latency, rest on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

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
    name: str = ""
    axons_in: int = 0  # input axons of the fullest core (dense: n_in; recurrent: n_in + n_out)
    dest_cores: float = 0.0  # mean over this layer's input neurons of the layer's cores a spike reaches
    dest_cores_max: int = 0
    synapses: int = 0  # synapse entries stored over all cores
    block: str = ""  # what a core holds (conv: channels x rows x columns)
    storage: str = ""  # how the synapses are stored (for the memory check's detail)
    recurrent: bool = False

    @property
    def label(self) -> str:
        return f"layer {self.index + 1}" + (f", {self.name}" if self.name else "")


@dataclass(frozen=True)
class ListFormat:
    """How synapse lists are stored (see module docstring); the defaults mean dense weights, no overhead."""

    header_bits: int = 0
    max_entries: int | None = None
    word_bits: int = 1
    state_bits: int = 0  # per neuron, when the core memory also holds neuron state

    def _rounded(self, n, weight_bits: int):
        return -(-(n * weight_bits + self.header_bits) // self.word_bits) * self.word_bits

    def list_bits(self, entries: int, weight_bits: int) -> int:
        """Memory bits of one input axon's `entries` synapses on one core."""
        if entries <= 0:
            return 0
        per = self.max_entries or entries
        full, rem = divmod(entries, per)
        return full * self._rounded(per, weight_bits) + (self._rounded(rem, weight_bits) if rem else 0)

    def list_bits_array(self, entries: np.ndarray, weight_bits: int) -> np.ndarray:
        """`list_bits` of every element of an int array of entry counts."""
        e = np.asarray(entries, dtype=np.int64)
        if self.max_entries is None:
            return np.where(e > 0, self._rounded(e, weight_bits), 0)
        full, rem = np.divmod(e, self.max_entries)
        return full * self._rounded(self.max_entries, weight_bits) + np.where(rem > 0, self._rounded(rem, weight_bits), 0)


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


def _largest_k(cap: int, fits: Callable[[int], bool]) -> int:
    """The largest k in [0, cap] with fits(k) (core memory grows with k: bisection)."""
    lo, hi = 0, cap
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _plan_lists(index: int, ls, profile, axons: int) -> LayerPlan:
    """A layer whose every core receives `axons` input axons, each with a synapse list to all of the
    core's k neurons (dense and dense_rec)."""
    n_out, bits = ls.n_out, ls.weight_bits
    n_max = _limit(profile, "neurons_per_core")
    mem = _limit(profile, "synaptic_memory_per_core")
    fmt = list_format(profile)
    cap = min(n_out, int(n_max)) if n_max is not None else n_out
    k = cap if mem is None else _largest_k(cap, lambda k: dense_core_bits(axons, k, bits, fmt) <= mem)
    common = dict(name=ls.name, axons_in=axons, recurrent=ls.recurrent, synapses=axons * n_out,
                  storage=f"{axons} input axons" + (f" ({ls.n_in} + {n_out} recurrent)" if ls.recurrent else ""))
    if k <= 0:
        return LayerPlan(index, ls.kind, ls.n_in, n_out, bits, 0, 0, "does not fit",
                         dense_core_bits(axons, 1, bits, fmt), axons * bits, **common)
    used = dense_core_bits(axons, k, bits, fmt)
    cores = math.ceil(n_out / k)
    bound = ("fits in one core" if k >= n_out else
             "neurons per core" if n_max is not None and k == int(n_max) else "synaptic memory")
    return LayerPlan(index, ls.kind, ls.n_in, n_out, bits, min(k, n_out), cores, bound, used, axons * bits * min(k, n_out),
                     dest_cores=float(cores), dest_cores_max=cores, **common)


def plan_dense(index: int, ls, profile, shape=None) -> LayerPlan:
    """Neurons per core and cores of a dense layer: the largest k whose core memory fits."""
    return _plan_lists(index, ls, profile, ls.n_in)


def plan_dense_rec(index: int, ls, profile, shape=None) -> LayerPlan:
    """A recurrent dense layer: every core also receives the layer's own n_out neurons as input axons
    (fan-in n_in + n_out), each with a list to the core's neurons."""
    return _plan_lists(index, ls, profile, ls.n_in + ls.n_out)


def plan_input(index: int, ls, profile, shape=None) -> LayerPlan:
    """An input population: neurons only (no synapses), state charged where the core memory is shared.
    Under "bias" it has no input axons; under "spikes" each neuron has one."""
    n_max = _limit(profile, "neurons_per_core")
    mem = _limit(profile, "synaptic_memory_per_core")
    fmt = list_format(profile)
    cap = min(ls.n_out, int(n_max)) if n_max is not None else ls.n_out
    k = cap if mem is None or not fmt.state_bits else min(cap, int(mem) // fmt.state_bits)
    axons = 0 if shape is not None and shape.encoding == "bias" else k
    common = dict(name=ls.name, axons_in=axons, storage="no synapses (neurons only)")
    if k <= 0:
        return LayerPlan(index, ls.kind, ls.n_in, ls.n_out, 0, 0, 0, "does not fit", fmt.state_bits, 0, **common)
    cores = math.ceil(ls.n_out / k)
    bound = ("fits in one core" if cores == 1 else
             "neurons per core" if n_max is not None and k == int(n_max) else "synaptic memory")
    return LayerPlan(index, ls.kind, ls.n_in, ls.n_out, 0, k, cores, bound, k * fmt.state_bits, 0,
                     dest_cores=1.0 if axons else 0.0, dest_cores_max=1 if axons else 0, **common)


def conv_sharing(profile) -> tuple[bool, str]:
    """(whether the chip stores a conv kernel once per core, why we think so)."""
    c = profile.get("resources.conv_weight_sharing")
    if c is None or not c.known:
        return False, "conv weight sharing not published for this chip: synapses expanded per input axon"
    return bool(c.lo), f"resources.conv_weight_sharing = {c.raw} ({c.evidence}: {c.stand_in or c.source})"


def plan_conv(index: int, ls, profile, shape=None) -> LayerPlan:
    """A conv layer (toolchain.energy.conv_mapping): boxes of its output per core, kernel stored once per
    core where the chip shares conv weights, expanded synapse lists where it does not."""
    from toolchain.energy.conv_mapping import Geometry2D, plan_boxes

    geo = Geometry2D.of(ls)
    shared, _ = conv_sharing(profile)
    n_max = _limit(profile, "neurons_per_core")
    axons = profile.known("resources.axons_in_per_core")  # its certain upper end: a box beyond it cannot fit
    box, bound = plan_boxes(geo, cap=None if n_max is None else int(n_max), mem=_limit(profile, "synaptic_memory_per_core"),
                            weight_bits=ls.weight_bits, fmt=list_format(profile), shared=shared,
                            axons_max=None if axons is None else int(axons.hi))
    storage = ("kernel of the core's channels stored once (conv weight sharing)" if shared
               else "expanded synapse lists per input axon (no conv weight sharing)")
    if box is None:
        from toolchain.energy.conv_mapping import tile

        one = tile(geo, 1, 1, 1, weight_bits=ls.weight_bits, fmt=list_format(profile), shared=shared)
        return LayerPlan(index, "conv", ls.n_in, ls.n_out, ls.weight_bits, 0, 0, "does not fit", one.core_bits,
                         one.weight_only_bits, name=ls.name, axons_in=one.axons_in, storage=storage, block="1 neuron")
    return LayerPlan(index, "conv", ls.n_in, ls.n_out, ls.weight_bits, box.neurons, box.cores, bound, box.core_bits,
                     box.weight_only_bits, name=ls.name, axons_in=box.axons_in, dest_cores=box.dest_mean,
                     dest_cores_max=box.dest_max, synapses=box.stored_synapses, block=box.describe(), storage=storage)


# layer kind -> planner(index, LayerShape, profile, NetworkShape) -> LayerPlan
PLANNERS: dict[str, Callable[..., LayerPlan]] = {"dense": plan_dense, "dense_rec": plan_dense_rec, "conv": plan_conv,
                                                  "input": plan_input}


def plan_layers(shape, profile) -> list[LayerPlan]:
    """Neurons per core and cores per layer for `shape` (a NetworkShape) on `profile`."""
    plans = []
    for i, ls in enumerate(shape.layer_shapes):
        if ls.kind not in PLANNERS:
            raise ConfigError(f"chip mapping: layer {i + 1}{' (' + ls.name + ')' if ls.name else ''} is a {ls.kind!r} "
                              f"layer and no planner maps that kind (known: {', '.join(PLANNERS)})")
        plans.append(PLANNERS[ls.kind](i, ls, profile, shape))
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
    return [_record(f"neurons per core ({p.label})", None if lim is None else p.neurons_per_core <= lim,
                    p.neurons_per_core, lim, f"{p.n_out} neurons on {p.cores} cores"
                    + (f" (a core holds {p.block})" if p.block else ""))
            for p in plans]


def check_synaptic_memory(shape, profile, plans) -> list[dict]:
    mem = _limit(profile, "synaptic_memory_per_core")
    fmt = list_format(profile)
    out = []
    for p in plans:
        k = max(p.neurons_per_core, 1)
        detail = (f"{k} neuron(s){' (' + p.block + ')' if p.block else ''}, {p.storage}: {p.core_bits} bits"
                  + (f" ({fmt.header_bits}-bit header per list of <= {fmt.max_entries}, {fmt.word_bits}-bit words;"
                     f" {p.weight_only_bits} bits of weights alone)" if fmt.header_bits or fmt.word_bits > 1 else "")
                  + (f" incl. {k} x {fmt.state_bits} bits of neuron state (shared core memory)" if fmt.state_bits else "")
                  + ("" if p.neurons_per_core else ": one neuron's synapses exceed a core's memory"))
        out.append(_record(f"synaptic memory per core, bits ({p.label})",
                           None if mem is None else p.core_bits <= mem, p.core_bits, mem, detail))
    return out


def check_fan_in(shape, profile, plans) -> list[dict]:
    out = []
    for p in plans:
        passed, lim, note = _against(profile, "axons_in_per_core", p.axons_in)
        if p.kind == "conv":
            detail = f"the fullest core of {p.label} receives {p.axons_in} of its {p.n_in} inputs"
        elif p.kind == "input":
            detail = f"{p.label} is driven {'by a bias: no input axons' if not p.axons_in else 'by one input axon per neuron'}"
        else:
            detail = f"each core of {p.label} receives all {p.n_in} inputs" + (
                f" and the layer's own {p.n_out} neurons (recurrent)" if p.recurrent else "")
        if passed is False:
            detail += ("; needs fan-in splitting into partial sums per neuron, which changes the network "
                       "(the chip count assumes it could be done)")
        out.append(_record(f"input axons per core ({p.label})", passed, p.axons_in, lim,
                           f"{detail}{'; ' + note if note else ''}"))
    return out


def destinations(plans: list[LayerPlan]) -> list[tuple[float, int]]:
    """Per layer, (mean, max) cores one of its spikes is sent to: the cores of the next layer that its
    synapses reach (every core of a dense layer, the cores whose boxes it feeds for a conv layer), plus
    the layer's own cores if it is recurrent; the last layer sends to one off-chip sink."""
    out = []
    for k, p in enumerate(plans):
        nxt = (plans[k + 1].dest_cores, plans[k + 1].dest_cores_max) if k + 1 < len(plans) else (1.0, 1)
        own = p.cores if p.recurrent else 0
        out.append((nxt[0] + own, nxt[1] + own))
    return out


def check_fan_out(shape, profile, plans) -> list[dict]:
    out = []
    for p, (_, most) in zip(plans, destinations(plans)):
        edges = max(p.neurons_per_core, 1) * max(most, 1)
        passed, lim, note = _against(profile, "axons_out_per_core", edges)
        out.append(_record(f"output axons per core ({p.label})", passed, edges, lim,
                           f"{max(p.neurons_per_core, 1)} neurons x {most} destination core(s) at most"
                           f"{' (incl. its own cores: recurrent)' if p.recurrent else ''}"
                           f"{'; ' + note if note else ''}"))
    return out


def check_weight_bits(shape, profile, plans) -> list[dict]:
    hi, lo = _limit(profile, "weight_bits_max"), _limit(profile, "weight_bits_min")
    bits = [p.weight_bits for p in plans if p.kind != "input"] or [0]
    need = max(bits)
    passed = None if hi is None else (need <= hi and (lo is None or min(bits) >= lo))
    return [_record("weight bits", passed, need, hi, f"the network's weights use {need} bits")]


def check_input_encoding(shape, profile, plans) -> list[dict]:
    graded = _limit(profile, "graded_spikes")
    if shape.encoding == "spikes":
        return [_record("input encoding", True, "spikes", "binary spikes", "binary input spikes")]
    if shape.encoding == "bias":
        return [_record("input encoding", True, "bias", "per-neuron bias", "the input population is driven by a "
                        "per-clip bias written by the host (nothing is sent as spikes; the write is not priced)")]
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
                            ("synapses_per_chip", sum(p.synapses for p in plans), "synapses")):
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


def mapping_caveats(profile, plans: list[LayerPlan] = ()) -> list[str]:
    """Why the core counts are uncertain: memory-accounting resources that are stand-ins or lower bounds,
    and (when the network has conv layers) how the chip stores convolutional synapses."""
    out = []
    if any(p.kind == "conv" for p in plans):
        c = profile.get("resources.conv_weight_sharing")
        _, why = conv_sharing(profile)
        if c is None or not c.known:
            out.append(f"conv layers: {why} (the conv layers' core counts are stand-ins)")
        elif c.evidence == "unpublished" or c.note:
            out.append(f"conv layers: {why}" + (f"; {c.note}" if c.note else ""))
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
                    "bound_by": p.bound_by, "core_bits": p.core_bits, "weight_only_bits": p.weight_only_bits,
                    "name": p.name, "axons_in": p.axons_in, "dest_cores": p.dest_cores, "block": p.block,
                    "storage": p.storage, "recurrent": p.recurrent}
                   for p in plans],
        "cores": cores, "cores_per_chip": _limit(profile, "cores_per_chip"),
        "chips": chips_for(plans, profile), "checks": checks, "fits": not failed, "failed": failed,
        "status": "fails" if failed else ("unverified" if unknown else "fits"),
        "not_checked": unknown, "caveats": mapping_caveats(profile, plans),
        "assumptions": ("one layer per core; synapse lists per input axon with "
                        + (f"a {fmt.header_bits}-bit header per list of <= {fmt.max_entries} weights, rounded to "
                           f"{fmt.word_bits}-bit words (nengo-loihi block.py accounting)"
                           if fmt.header_bits or fmt.word_bits > 1 else "no list overhead (not published)")
                        + (f"; {fmt.state_bits} bits of neuron state per neuron in the same memory" if fmt.state_bits
                           else "")
                        + "; every core of a dense layer receives all its inputs (a recurrent one also its own "
                        "neurons); a conv layer's core holds a box of its output and receives the inputs that reach "
                        "it, its kernel stored once per core where the chip shares conv weights, else expanded; "
                        "an input population holds neurons only"),
    }
