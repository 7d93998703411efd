"""The spike rate at which the SNN and the ANN cost the same energy per classification.

Model: the SNN's energy is split into terms that scale with spiking activity (deeper layers'
synaptic ops and their weight reads, spike routing) and terms that do not (the input layer's
ops, neuron updates, static power). If every LIF layer fired at the same rate r (spikes per neuron
per step), the scaling part would be r times its value at r = 1 (every neuron spiking every step:
each layer l >= 2 then performs num_steps x nonzero synapses ops and emits n_l x num_steps spikes):

    E_snn(r) = F + r * S1,        r* = (E_ann - F) / S1

with ranges from the constants: r* lo = (E_ann lo - F hi) / S1 hi, r* hi = (E_ann hi - F lo) / S1 lo.
When both sides are priced on the same profile (like for like), the same constants apply to both,
so the ends are taken together instead: r* = (E_ann - F) / S1 at the all-low and at the all-high
constants, the range spanning the two. r* <= 0 means no spike rate breaks even (the rate-independent costs alone exceed the ANN). The
measured rate is the mean rate of the layers whose spikes drive synaptic ops (all but the last).
Static power is held at its measured value (latency's dependence on r is ignored).
"""

from __future__ import annotations

import copy
from typing import Any

from toolchain.energy.price import price_snn


def measured_rate(counts: dict[str, Any]) -> float | None:
    """Spikes per neuron per step of the layers that drive synaptic ops (all LIF layers but the last)."""
    hidden = counts["layers"][:-1]
    if not hidden:
        return None
    spikes = sum(la["spikes"]["mean"] for la in hidden)
    return spikes / (sum(la["n_out"] for la in hidden) * counts["num_steps"])


def counts_at_rate_one(counts: dict[str, Any]) -> dict[str, Any]:
    """The counts if every LIF neuron spiked at every step (only the rate-scaling entries change)."""
    T = counts["num_steps"]
    out = copy.deepcopy(counts)
    for i, la in enumerate(out["layers"]):
        la["spikes"]["mean"] = float(la["n_out"] * T)
        if i > 0:
            la["effective_synops"]["mean"] = float(la["nonzero_synapses"] * T)
    return out


def _split(priced: dict[str, Any]) -> tuple[list[float], list[float]]:
    fixed, scaling = [0.0, 0.0], [0.0, 0.0]
    for t in priced["terms"]:
        acc = scaling if t["scales_with_rate"] else fixed
        acc[0] += t["energy_J"][0]
        acc[1] += t["energy_J"][1]
    return fixed, scaling


def breakeven(counts: dict[str, Any], snn_priced: dict[str, Any], snn_profile, ann_priced: dict[str, Any],
              mapping: dict[str, Any] | None = None) -> dict[str, Any]:
    """Break-even spike rate [lo, hi] of the SNN (priced on `snn_profile`) against one priced ANN."""
    rate = measured_rate(counts)
    fixed, _ = _split(snn_priced)
    _, s1 = _split(price_snn(counts_at_rate_one(counts), snn_profile, mapping))
    e_ann = ann_priced["total_J"]
    out = {"snn_profile": snn_priced["profile"], "ann_profile": ann_priced["profile"],
           "like_for_like": snn_priced["profile"] == ann_priced["profile"],
           "measured_rate": rate, "fixed_J": fixed, "per_unit_rate_J": s1, "ann_J": e_ann,
           "snn_J": snn_priced["total_J"]}
    if rate is None or s1[0] <= 0:
        out.update(breakeven_rate=None, verdict="no hidden spiking layer: the break-even rate is undefined")
        return out
    if out["like_for_like"]:
        lo, hi = sorted((e_ann[k] - fixed[k]) / s1[k] for k in (0, 1))
    else:
        lo = (e_ann[0] - fixed[1]) / s1[1]
        hi = (e_ann[1] - fixed[0]) / s1[0]
    out["breakeven_rate"] = [max(lo, 0.0), max(hi, 0.0)]
    if hi <= 0:
        verdict = ("no spike rate breaks even: the rate-independent costs (input layer, neuron updates, static) "
                   "alone exceed the ANN")
    elif lo > 1:
        verdict = "SNN estimated cheaper at every possible rate (break-even above 1 spike per neuron per step)"
    elif rate <= lo:
        verdict = f"SNN estimated cheaper: measured rate {rate:.4f} is below the break-even range"
    elif rate >= hi:
        verdict = f"ANN estimated cheaper: measured rate {rate:.4f} is above the break-even range"
    else:
        verdict = f"undecided: measured rate {rate:.4f} lies inside the break-even range"
    out["verdict"] = verdict
    return out
