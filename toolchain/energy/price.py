"""Energy per classification: a model's workload x a profile's published constants, as [lo, hi] ranges.

Every figure is an ESTIMATE: counts are exact, the constants come from papers (simulated, measured,
published estimates, or stand-ins where unpublished) and carry their sources. Counts and constants are
>= 0, so lo = count x constant.lo and hi = count x constant.hi.

One function prices any workload (`toolchain.counts.workload`: an SNN's or an ANN's) on any profile
that prices its side, under one input policy ("zeros_skipped" or "dense"), component by component:

    compute       ops x energy per op: SNN graded ops x graded_synop, binary ops x synop; ANN MACs x mac
    weight_reads  weight fetches (per layer kind, at batch 1: see workload.LAYER_KINDS) x weight bits / 64
                  x memory_read_64b, for the layers held in on-chip SRAM
    dram          the same fetches x dram_read_64b for the layers that do not fit the profile's
                  onchip_weight_memory (layers read most often per stored bit are kept on chip)
    accumulator   SNN, zeros skipped: event-driven processing, every op is an event that reads and writes
                  its target neuron's partial sum (accumulator_bits wide; Lemaire et al. 2022 count the
                  membrane read and write per synaptic event): ops x 2 x accumulator_bits / 64 x
                  local_memory_64b. SNN, dense, and every ANN: output-stationary, partial sums stay in
                  registers and are written once (n/a; the write is in `state`)
    state         SNN: every neuron's state (u and v, state_bits) read and written at every step:
                  neuron-steps x 2 x state_bits / 64 x local_memory_64b (grows with num_steps);
                  ANN: every output activation written and read once: outputs x 2 x bits / 64 x local_memory_64b
    neuron        SNN: active x neuron_update_active + inactive x neuron_update_inactive (or all x
                  neuron_update); ANN: ReLU outputs x activation
    routing       SNN on a chip: spikes x destination cores x spike_message (needs the chip mapping: every
                  core of a dense next layer, the mean number of boxes a spike feeds for a conv one, plus
                  its own cores for a recurrent layer)
    static        static_per_chip x chips x latency (SNN on a chip); an ANN profile's static power if published
A component the profile declares [included] (its cost is inside another figure, e.g. Loihi's synaptic
op includes the synapse read; an all-in figure includes everything) or [excluded] (outside the
technology model on every side, e.g. static power in Horowitz's dynamic-energy table) is not priced and
says so. A component that applies, has work to do, and is neither priced, included nor excluded makes
the total a lower bound (`lower_bound`, with the reasons), as does a constant marked `bound = "lower"`.

Policies: under "dense" an event-driven chip (kind "neuromorphic") still processes only the spikes its
hidden layers receive (a spike that did not happen is no event); its input layer sends every value.

Latency: SNN on a chip: num_steps x time_per_step, or, from the per-op times, per step the busiest core
(its share of the layer's ops and neuron updates, spread evenly over the layer's cores) plus the barrier
(one chip: t_barrier; several: [t_barrier upper end, t_barrier_multichip upper end]). It grows with
activity, and static energy with it. ANN profiles: timing.latency_batch1 when published, else unknown
(None, never 0). Logic profiles have no time model: unknown. EDP = energy x latency where both are known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from hardware_profiles import COMPONENT_NAMES
from toolchain.core.errors import ConfigError

COMPONENTS = ("compute", *COMPONENT_NAMES)  # the profiles' [included] / [excluded] names, plus compute
COMPONENT_TEXT = {
    "compute": "synaptic ops (SNN) or MACs (ANN)",
    "weight_reads": "weight reads from on-chip SRAM",
    "dram": "weight reads from DRAM (weights beyond the on-chip SRAM)",
    "accumulator": "partial-sum read-modify-write per event",
    "state": "neuron state read/write per neuron per step (SNN) / activations written and read (ANN)",
    "neuron": "neuron updates (SNN) / activation functions (ANN)",
    "routing": "spike messages between cores",
    "static": "static power x latency",
}
LABEL = "ESTIMATE: exact operation counts priced with published per-operation constants (see sources)"


@dataclass
class _Ctx:
    work: dict[str, Any]
    profile: Any
    policy: str
    mapping: dict[str, Any] | None
    used: list = field(default_factory=list)  # constants used (for sources and bounds)

    @property
    def snn(self) -> bool:
        return self.work["kind"] == "snn"

    @property
    def event_driven(self) -> bool:
        return self.profile.kind == "neuromorphic"

    def const(self, key: str):
        c = self.profile.known(key)
        if c is not None:
            self.used.append(c)
        return c

    def ops(self, la: dict[str, Any]) -> float:
        return sum(part["ops"][self.policy_for(part)] for part in op_parts(la))

    def ops_per_step(self, la: dict[str, Any]) -> list[float]:
        per = [part["ops_per_step"][self.policy_for(part)] for part in op_parts(la)]
        return [sum(v) for v in zip(*per)]

    def policy_for(self, la: dict[str, Any]) -> str:
        """The policy a layer's (or part's) ops follow: spikes are events on an event-driven chip whatever
        the policy."""
        return "zeros_skipped" if self.event_driven and la["op"] == "binary" else self.policy

    def weight_bits(self, la: dict[str, Any]) -> int:
        if self.profile.kind == "logic":
            return int(self.profile.precision_bits)
        return int(la.get("weight_bits") or self.profile.precision_bits or 32)


def _term(component: str, label: str, count: float, const, *, factor: float = 1.0,
          layer: int | None = None) -> dict[str, Any]:
    per = [const.lo * factor, const.hi * factor]
    return {"component": component, "term": label, "count": float(count), "constant": const.key,
            "per_event_J": per, "energy_J": [count * per[0], count * per[1]], "layer": layer}


def op_parts(la: dict[str, Any]) -> list[dict[str, Any]]:
    """A layer's ops by op kind: one part, or for a recurrent layer whose feed-forward ops are not ACs
    (a graded input layer) two: those ops and the recurrent synapses' ACs (`rec_ops`)."""
    rec = la.get("rec_ops")
    if not rec or la["op"] == "binary":
        return [{"op": la["op"], "ops": la["ops"], "ops_per_step": la.get("ops_per_step", {})}]
    ff = {p: la["ops"][p] - rec[p] for p in la["ops"]}
    ff_steps = {p: [a - b for a, b in zip(la["ops_per_step"][p], la["rec_ops_per_step"][p])] for p in la["ops"]}
    return [{"op": la["op"], "ops": ff, "ops_per_step": ff_steps},
            {"op": "binary", "ops": rec, "ops_per_step": la["rec_ops_per_step"], "recurrent": True}]


def _compute(ctx: _Ctx):
    terms, notes = [], []
    for i, la in enumerate(ctx.work["layers"]):
        for part in op_parts(la):
            if part["op"] == "none":
                continue  # an input population: no synapses
            if part["op"] == "mac":
                const, what = ctx.const("energy.mac"), "MACs"
            else:
                key = "energy.graded_synop" if part["op"] == "graded" else "energy.synop"
                const = ctx.const(key)
                if const is None:
                    const = ctx.const("energy.synop")
                    notes.append(f"no {key}: layer {i + 1}'s graded ops priced as binary synaptic ops")
                what = "graded ops (weight x payload)" if part["op"] == "graded" else "synaptic ops (AC)"
                what += " of the recurrent synapses" if part.get("recurrent") else ""
            if const is None:
                return "not priced", [], f"no energy per op for layer {i + 1}"
            pol = ctx.policy_for(part)
            terms.append(_term("compute", f"layer {i + 1} {what} [{pol}]", part["ops"][pol], const, layer=i + 1))
    return "priced", terms, "; ".join(notes)


def placement(ctx: _Ctx) -> tuple[set[int], str]:
    """(indices of layers whose weights are read from DRAM, note): the layers read most often per stored
    bit are kept in the on-chip SRAM until it is full."""
    cap = ctx.profile.known("resources.onchip_weight_memory")
    layers = ctx.work["layers"]
    stored = [la["weights"] * ctx.weight_bits(la) for la in layers]
    if cap is None:
        return set(), "no on-chip capacity published: every layer's weights assumed on chip"
    order = sorted(range(len(layers)), key=lambda i: (-la_reuse(layers[i], ctx), i))
    free, dram = cap.lo, set()
    for i in order:
        if stored[i] <= free:
            free -= stored[i]
        else:
            dram.add(i)
    total_mb = sum(stored) / 8 / 2 ** 20
    note = (f"weights {total_mb:.3g} MB vs {cap.raw} {cap.unit} on chip"
            + (f": layer(s) {', '.join(str(i + 1) for i in sorted(dram))} read from DRAM" if dram else ": all on chip"))
    return dram, note


def la_reuse(la: dict[str, Any], ctx: _Ctx) -> float:
    """Weight fetches per stored weight (how often the layer's weights are read per classification)."""
    return la["weight_fetches"][ctx.policy_for(la)] / max(la["weights"], 1)


def _weight_terms(ctx: _Ctx, component: str, key: str, in_dram: bool):
    const = ctx.const(key)
    dram, note = placement(ctx)
    chosen = [i for i in range(len(ctx.work["layers"])) if (i in dram) == in_dram]
    if not chosen:
        return "priced", [], note
    if const is None:
        return "not priced", [], f"no {key} published ({note})"
    terms = []
    for i in chosen:
        la = ctx.work["layers"][i]
        bits = ctx.weight_bits(la)
        terms.append(_term(component, f"layer {i + 1} weight reads ({bits}-bit, {la['kind']}) [{ctx.policy_for(la)}]",
                           la["weight_fetches"][ctx.policy_for(la)], const, factor=bits / 64, layer=i + 1))
    return "priced", terms, note


def _weight_reads(ctx: _Ctx):
    return _weight_terms(ctx, "weight_reads", "energy.memory_read_64b", in_dram=False)


def _dram(ctx: _Ctx):
    if ctx.profile.known("resources.onchip_weight_memory") is None:
        return "not priced", [], "the profile states no on-chip weight memory, so DRAM traffic is unknown"
    return _weight_terms(ctx, "dram", "energy.dram_read_64b", in_dram=True)


def _accumulator(ctx: _Ctx):
    if not ctx.snn:
        return "n/a", [], ("an ANN engine is output-stationary: partial sums stay in registers and are written once "
                           "(state); zero inputs are skipped by gathering the nonzero ones")
    if ctx.policy == "dense" and not ctx.event_driven:
        return "n/a", [], "dense policy: output-stationary, partial sums stay in registers until written once (state)"
    local, acc = ctx.const("energy.local_memory_64b"), ctx.profile.known("resources.accumulator_bits")
    if local is None or acc is None:
        return "not priced", [], "no local-memory energy or accumulator width published"
    terms = [_term("accumulator", f"layer {i + 1} partial-sum read+write ({int(acc.lo)}-bit) per op",
                   ctx.ops(la), local, factor=2 * acc.lo / 64, layer=i + 1)
             for i, la in enumerate(ctx.work["layers"])]
    return "priced", terms, ""


def _state(ctx: _Ctx):
    local = ctx.const("energy.local_memory_64b")
    if local is None:
        return "not priced", [], "no local-memory energy published"
    terms = []
    for i, la in enumerate(ctx.work["layers"]):
        bits = la["state_bits"] or ctx.profile.precision_bits or 32
        what = (f"layer {i + 1} neuron state ({bits} bits) read+write per neuron per step" if ctx.snn
                else f"layer {i + 1} activations ({bits}-bit) written and read once")
        terms.append(_term("state", what, la["outputs"], local, factor=2 * bits / 64, layer=i + 1))
    return "priced", terms, ""


def _neuron(ctx: _Ctx):
    terms = []
    if not ctx.snn:
        act = ctx.const("energy.activation")
        count = sum(la["activations"] for la in ctx.work["layers"])
        if act is None:
            return ("not priced" if count else "n/a"), [], "no activation energy published"
        return "priced", [_term("neuron", "activations (ReLU outputs)", count, act)], ""
    act, inact = ctx.const("energy.neuron_update_active"), ctx.const("energy.neuron_update_inactive")
    every = None if (act and inact) else ctx.const("energy.neuron_update")
    for i, la in enumerate(ctx.work["layers"]):
        if act is not None and inact is not None:
            terms.append(_term("neuron", f"layer {i + 1} active neuron updates", la["active_neuron_steps"], act,
                               layer=i + 1))
            terms.append(_term("neuron", f"layer {i + 1} inactive neuron updates",
                               la["neuron_steps"] - la["active_neuron_steps"], inact, layer=i + 1))
        elif every is not None:
            terms.append(_term("neuron", f"layer {i + 1} neuron updates", la["neuron_steps"], every, layer=i + 1))
        else:
            return "not priced", [], "no neuron-update energy published"
    return "priced", terms, ""


def _destinations(ctx: _Ctx) -> list[float] | None:
    """Destination cores per spike of each layer (toolchain.energy.mapping.destinations): the next layer's
    cores its synapses reach (all of a dense layer's, the mean number of boxes an input feeds for a conv
    layer), plus its own cores when recurrent; 1 sink for the last."""
    layers = (ctx.mapping or {}).get("layers")
    if not layers or any(not la["cores"] for la in layers):
        return None
    out = []
    for i, la in enumerate(layers):
        nxt = layers[i + 1].get("dest_cores", layers[i + 1]["cores"]) if i + 1 < len(layers) else 1
        out.append(float(nxt) + (la["cores"] if la.get("recurrent") else 0))
    return out


def _routing(ctx: _Ctx):
    if not ctx.snn:
        return "n/a", [], "an ANN sends no spikes"
    msg = ctx.const("energy.spike_message")
    if msg is None:
        return "not priced", [], "no spike-message energy published"
    dest = _destinations(ctx)
    if dest is None:
        return "not priced", [], "no chip mapping (the network does not map): destination cores unknown"
    terms = [_term("routing", f"layer {i + 1} spike messages (spikes x {d:.4g} destination core(s))",
                   la["spikes"] * d, msg, layer=i + 1) for i, (la, d) in enumerate(zip(ctx.work["layers"], dest))]
    return "priced", terms, "tile hops not priced (placement not modelled)"


def latency_s(work: dict[str, Any], profile, mapping: dict[str, Any] | None,
              policy: str = "zeros_skipped") -> tuple[float, float] | None:
    """Seconds per classification [lo, hi] under the profile's time model, or None if unknown."""
    if work["kind"] == "ann":
        lat = profile.known("timing.latency_batch1")
        return (lat.lo, lat.hi) if lat is not None else None
    T = work["num_steps"]
    step = profile.known("timing.time_per_step")
    if step is not None:
        return T * step.lo, T * step.hi
    need = [profile.known(f"timing.{k}") for k in ("t_synop", "t_neuron_update_active",
                                                   "t_neuron_update_inactive", "t_barrier")]
    if any(c is None for c in need) or mapping is None or mapping.get("chips") is None:
        return None
    ctx = _Ctx(work, profile, policy, mapping)
    t_syn, t_act, t_inact, t_bar = need
    multi = profile.known("timing.t_barrier_multichip")
    barrier = (t_bar.lo, t_bar.hi) if mapping["chips"] == 1 else (t_bar.hi, (multi or t_bar).hi)
    cores = [la["cores"] for la in mapping["layers"]]
    total = [0.0, 0.0]
    for t in range(T):
        for k, pick in enumerate((lambda c: c.lo, lambda c: c.hi)):
            busiest = 0.0
            for la, n_cores in zip(work["layers"], cores):
                act = la["active_per_step"][t]
                busy = (ctx.ops_per_step(la)[t] * pick(t_syn) + act * pick(t_act)
                        + (la["n_out"] - act) * pick(t_inact))
                busiest = max(busiest, busy / n_cores)
            total[k] += busiest + barrier[k]
    return total[0], total[1]


def _static(ctx: _Ctx, latency):
    static = ctx.profile.get("power.static_per_chip")
    if static is None or not static.known:
        return "not priced", [], "static power not published"
    chips = (ctx.mapping or {}).get("chips") if ctx.snn else 1
    if chips is None:
        return "not priced", [], "no chip count (the network does not map)"
    if latency is None:
        return "not priced", [], "latency unknown"
    ctx.used.append(static)
    term = {"component": "static", "term": f"static power x latency ({chips} chip(s))", "count": float(chips),
            "constant": static.key, "per_event_J": [static.lo * latency[0], static.hi * latency[1]],
            "energy_J": [chips * static.lo * latency[0], chips * static.hi * latency[1]], "layer": None}
    return "priced", [term], ""


PRICERS: dict[str, Callable[[_Ctx], tuple]] = {
    "compute": _compute, "weight_reads": _weight_reads, "dram": _dram, "accumulator": _accumulator,
    "state": _state, "neuron": _neuron, "routing": _routing,
}


def _declared(profile, comp: str) -> tuple[str, str] | None:
    if comp in profile.included:
        return "included", profile.included[comp]
    if comp in profile.excluded:
        return "excluded", profile.excluded[comp]
    if profile.all_in and comp != "compute":
        return "included", "the profile's energy figures are all-in"
    return None


def _check_side(work: dict[str, Any], profile) -> None:
    if work["kind"] == "snn" and profile.kind == "ann":
        raise ConfigError(f"profile {profile.name!r} prices ANNs only (kind 'ann'); use a neuromorphic or logic "
                          "profile for the SNN")
    if work["kind"] == "ann" and profile.kind == "neuromorphic":
        raise ConfigError(f"profile {profile.name!r} is neuromorphic: it prices the SNN, not the ANN baseline")


def price(work: dict[str, Any], profile, policy: str = "zeros_skipped",
          mapping: dict[str, Any] | None = None) -> dict[str, Any]:
    """Energy per classification of `work` on `profile` under `policy` (see module docstring)."""
    from toolchain.counts.workload import POLICIES

    if policy not in POLICIES:
        raise ConfigError(f"input policy {policy!r} is not one of {POLICIES}")
    _check_side(work, profile)
    ctx = _Ctx(work, profile, policy, mapping)
    latency = latency_s(work, profile, mapping, policy) if work["kind"] == "ann" or profile.kind == "neuromorphic" else None
    comps: dict[str, dict[str, Any]] = {}
    terms: list[dict] = []
    for comp in COMPONENTS:
        declared = _declared(profile, comp)
        if declared is not None:
            comps[comp] = {"J": None, "status": declared[0], "note": declared[1]}
            continue
        status, found, note = _static(ctx, latency) if comp == "static" else PRICERS[comp](ctx)
        terms += found
        J = [sum(t["energy_J"][0] for t in found), sum(t["energy_J"][1] for t in found)] if status == "priced" else None
        comps[comp] = {"J": J, "status": status, "note": note}
    missing = [comp for comp, c in comps.items() if c["status"] == "not priced"]
    lower = [f"not priced: {', '.join(missing)}"] if missing else []
    seen = {}
    for c in ctx.used:
        seen.setdefault(c.key, c)
    lower += [f"{c.key} is a stated lower bound" for c in seen.values()
              if c.bound == "lower" and any(t["constant"] == c.key and t["count"] > 0 for t in terms)]
    lower += [f"stand-in counts ({len(work['inexact'])} layer(s))"] if work.get("inexact") else []
    total = [sum(c["J"][0] for c in comps.values() if c["J"]), sum(c["J"][1] for c in comps.values() if c["J"])]
    scope = "; ".join(f"{comp} excluded: {c['note']}" for comp, c in comps.items() if c["status"] == "excluded")
    return {"profile": profile.name, "title": profile.title, "kind": profile.kind, "side": work["kind"],
            "model": work["model"], "policy": policy, "node": profile.node, "label": LABEL,
            "technology": profile.technology, "evidence_level": profile.evidence_level,
            "components": comps, "total_J": total, "lower_bound": lower, "scope": scope or None,
            "latency_s": list(latency) if latency else None,
            "edp_Js": [total[0] * latency[0], total[1] * latency[1]] if latency else None,
            "chips": (mapping or {}).get("chips"), "terms": terms,
            "sources": [c.cite() for c in seen.values() if any(t["constant"] == c.key for t in terms)],
            "counts_backend": work.get("backend")}
