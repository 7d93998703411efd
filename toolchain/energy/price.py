"""Energy per classification: exact counts x published per-event constants, as [lo, hi] ranges.

Every figure here is an ESTIMATE: counts are exact, the constants come from papers (simulated,
measured at system level, or stand-ins where unpublished) and carry their sources.
Components: "input" (layer 1's synaptic work: the encoding's graded ops or input spikes, or the
ANN's first-layer MACs), "synaptic" (deeper layers' synaptic ops or MACs, weight reads, spike
routing), "neuron" (neuron updates, or the ANN's activations), "static" (static power x latency).
Counts are >= 0 and constants >= 0, so lo = count x constant.lo and hi = count x constant.hi.

SNN side (neuromorphic or logic profile):
- synaptic ops of layer l: binary ops x energy.synop, graded ops x energy.graded_synop;
- weight reads (profiles with energy.memory_read_64b): one read of bits/64 words per synaptic op;
- spike routing (energy.spike_out): every emitted spike;
- neurons: active x neuron_update_active + inactive x neuron_update_inactive (or all x neuron_update);
- static: chips x static_per_chip x latency, latency = num_steps x time_per_step, or, from the
  per-op times, per step the busiest core (its share of the layer's synaptic ops and neuron updates,
  spread evenly over the layer's cores) plus the barrier sync (one chip: t_barrier; several chips:
  [t_barrier upper end, t_barrier_multichip upper end]).
- an all-in profile (TrueNorth) is priced with its all-in terms alone: nothing is added on top.
ANN side (ann or logic profile): dense MACs x energy.mac (ANN hardware does not skip zeros; the
zero-skipping figure with effective MACs is reported beside it), one weight read per MAC where the
profile has memory reads, activations x energy.activation. No static term: system-level figures
already contain it, logic figures have none.
"""

from __future__ import annotations

from typing import Any

from toolchain.core.errors import ConfigError

COMPONENTS = ("input", "synaptic", "neuron", "static")
LABEL = "ESTIMATE: exact operation counts priced with published per-operation constants (see sources)"


def _term(component: str, label: str, count: float, const, *, factor: float = 1.0, scales: bool = False,
          layer: int | None = None) -> dict[str, Any]:
    per = [const.lo * factor, const.hi * factor]
    return {"component": component, "term": label, "count": float(count), "constant": const.key,
            "per_event_J": per, "energy_J": [count * per[0], count * per[1]], "scales_with_rate": scales,
            "layer": layer}


def _summarise(profile, side: str, terms: list[dict], warnings: list[str], **extra) -> dict[str, Any]:
    comps = {c: [0.0, 0.0] for c in COMPONENTS}
    for t in terms:
        comps[t["component"]][0] += t["energy_J"][0]
        comps[t["component"]][1] += t["energy_J"][1]
    used = dict.fromkeys(t["constant"] for t in terms)
    sources = [profile.constants[k].cite() for k in used if k in profile.constants]
    return {"profile": profile.name, "title": profile.title, "kind": profile.kind, "side": side,
            "node": profile.node, "label": LABEL, "components_J": comps,
            "total_J": [sum(v[0] for v in comps.values()), sum(v[1] for v in comps.values())],
            "terms": terms, "warnings": warnings, "sources": sources, **extra}


def latency_s(counts: dict[str, Any], profile, mapping: dict[str, Any] | None) -> tuple[float, float] | None:
    """Seconds per classification [lo, hi] under the profile's time model, or None if unknown."""
    T = counts["num_steps"]
    step = profile.known("timing.time_per_step")
    if step is not None:
        return T * step.lo, T * step.hi
    need = [profile.known(f"timing.{k}") for k in ("t_synop", "t_neuron_update_active",
                                                   "t_neuron_update_inactive", "t_barrier")]
    if any(c is None for c in need) or mapping is None or mapping.get("chips") is None:
        return None
    t_syn, t_act, t_inact, t_bar = need
    multi = profile.known("timing.t_barrier_multichip")
    barrier = (t_bar.lo, t_bar.hi) if mapping["chips"] == 1 else (t_bar.hi, (multi or t_bar).hi)
    cores = [la["cores"] for la in mapping["layers"]]
    total = [0.0, 0.0]
    for t in range(T):
        for k, pick in enumerate((lambda c: c.lo, lambda c: c.hi)):
            busiest = 0.0
            for la, n_cores in zip(counts["layers"], cores):
                syn = la["effective_synops"]["per_step"][t]
                act = la["active_neuron_updates"]["per_step"][t]
                work = syn * pick(t_syn) + act * pick(t_act) + (la["n_out"] - act) * pick(t_inact)
                busiest = max(busiest, work / n_cores)
            total[k] += busiest + barrier[k]
    return total[0], total[1]


def price_snn(counts: dict[str, Any], profile, mapping: dict[str, Any] | None = None) -> dict[str, Any]:
    """Energy per classification of the SNN whose counts are `counts` (`count_classification`)."""
    if profile.kind == "ann":
        raise ConfigError(f"profile {profile.name!r} prices ANNs only (kind 'ann'); use a neuromorphic or logic profile for the SNN")
    terms: list[dict] = []
    warnings: list[str] = []
    mem = None if profile.all_in else profile.known("energy.memory_read_64b")
    synop = profile.known("energy.synop")
    for i, la in enumerate(counts["layers"]):
        comp = "input" if i == 0 else "synaptic"
        graded = la["op_kind"] == "graded"
        const = profile.known("energy.graded_synop") if graded else synop
        if const is None:
            const = synop
            warnings.append(f"{profile.name} has no energy.graded_synop: layer {i + 1}'s graded ops priced as binary synaptic ops")
        n = la["effective_synops"]["mean"]
        what = "graded ops (weight x payload)" if graded else "synaptic ops (AC)"
        terms.append(_term(comp, f"layer {i + 1} {what}", n, const, scales=i > 0, layer=i + 1))
        if mem is not None:
            bits = profile.precision_bits or counts["weight_bits"][i]
            terms.append(_term(comp, f"layer {i + 1} weight reads ({bits}-bit weights)", n, mem,
                               factor=bits / 64, scales=i > 0, layer=i + 1))
    latency = None
    if profile.all_in:
        warnings.append(f"{profile.name}'s energy figures are all-in: neuron updates, routing and static power "
                        "are inside them and are not added")
    else:
        spike = profile.known("energy.spike_out")
        if spike is not None:
            for i, la in enumerate(counts["layers"]):
                terms.append(_term("synaptic", f"layer {i + 1} spikes routed", la["spikes"]["mean"], spike,
                                   scales=True, layer=i + 1))
        terms += _neuron_terms(counts, profile, warnings)
        latency = latency_s(counts, profile, mapping)
        static = profile.get("power.static_per_chip")
        if static is not None:
            chips = (mapping or {}).get("chips")
            if not static.known:
                warnings.append(f"{profile.name}: static power is unpublished and not priced; the total is a lower bound")
            elif chips is None or latency is None:
                warnings.append(f"{profile.name}: static power not priced (no chip count or no time model)")
            else:
                terms.append({"component": "static", "term": f"static power x latency ({chips} chip(s))",
                              "count": float(chips), "constant": static.key,
                              "per_event_J": [static.lo * latency[0], static.hi * latency[1]],
                              "energy_J": [chips * static.lo * latency[0], chips * static.hi * latency[1]],
                              "scales_with_rate": False, "layer": None})
    return _summarise(profile, "snn", terms, warnings, latency_s=list(latency) if latency else None,
                      chips=(mapping or {}).get("chips"), counts_backend=counts.get("backend"))


def _neuron_terms(counts: dict[str, Any], profile, warnings: list[str]) -> list[dict]:
    act = profile.known("energy.neuron_update_active")
    inact = profile.known("energy.neuron_update_inactive")
    every = profile.known("energy.neuron_update")
    terms = []
    for i, la in enumerate(counts["layers"]):
        total = la["neuron_updates"]
        if act is not None and inact is not None:
            active = la["active_neuron_updates"]["mean"]
            terms.append(_term("neuron", f"layer {i + 1} active neuron updates", active, act, layer=i + 1))
            terms.append(_term("neuron", f"layer {i + 1} inactive neuron updates", total - active, inact, layer=i + 1))
        elif every is not None:
            terms.append(_term("neuron", f"layer {i + 1} neuron updates", total, every, layer=i + 1))
    if not terms:
        warnings.append(f"{profile.name} publishes no neuron-update energy: neuron updates not priced")
    return terms


def price_ann(ann: dict[str, Any], profile) -> dict[str, Any]:
    """Energy per classification of the ANN whose MACs are `ann` (`ann_macs_from_onnx` / `_from_sizes`)."""
    if profile.kind == "neuromorphic":
        raise ConfigError(f"profile {profile.name!r} is neuromorphic: it prices the SNN, not the ANN baseline")
    mac = profile.known("energy.mac")
    mem = None if profile.all_in else profile.known("energy.memory_read_64b")
    bits = profile.precision_bits or 32
    terms, warnings = [], []

    def layer_terms(key: str) -> list[dict]:
        out = []
        for i, la in enumerate(ann["layers"]):
            comp = "input" if i == 0 else "synaptic"
            out.append(_term(comp, f"layer {i + 1} MACs ({la['op']})", la[key], mac, layer=i + 1))
            if mem is not None:
                out.append(_term(comp, f"layer {i + 1} weight reads ({bits}-bit weights)", la[key], mem,
                                 factor=bits / 64, layer=i + 1))
        return out

    terms += layer_terms("dense_macs")
    act = profile.known("energy.activation")
    if act is not None:
        terms.append(_term("neuron", "activations (ReLU outputs)", ann["activations"], act))
    else:
        warnings.append(f"{profile.name} has no activation energy: activations not priced")
    zero_skip = None
    if ann.get("effective_macs") is not None:
        zs = layer_terms("effective_macs")
        zero_skip = [sum(t["energy_J"][0] for t in zs), sum(t["energy_J"][1] for t in zs)]
        if act is not None:
            zero_skip = [zero_skip[0] + terms[-1]["energy_J"][0], zero_skip[1] + terms[-1]["energy_J"][1]]
    return _summarise(profile, "ann", terms, warnings, ann_source=ann["source"],
                      zero_skipping_total_J=zero_skip)
