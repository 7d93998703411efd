"""Comparisons: one per (SNN profile, ANN model, ANN profile) and input policy, with a verdict only where it holds.

Basis of a pair (from the two profiles):
    "same_technology"      both sides priced with the same technology model (the same `technology`
                           identifier: one logic profile pricing both, same precision, same memory model)
    "device_measurements"  both profiles' figures are device-level measurements (evidence_level)
    "unlike"               anything else (e.g. pre-silicon per-op figures against CPU per-op figures)
Verdict: `snn_cheaper` / `ann_cheaper` / `undecided` only on the same basis, with every figure complete;
`no_verdict`, with the reasons, when the pair is unlike, the network does not map (or a mapping check
cannot be decided), or either total is a lower bound (a component not priced, a lower-bound constant,
stand-in counts). On the same technology the constants' ends go together (SNN lo vs ANN lo, hi vs hi):
cheaper at both ends is cheaper, else undecided; on device measurements the ranges must not overlap.
"""

from __future__ import annotations

from typing import Any

from toolchain.energy.breakeven import RateCurve, breakeven

VERDICTS = ("snn_cheaper", "ann_cheaper", "undecided", "no_verdict")
BASES = ("same_technology", "device_measurements", "unlike")


def basis(snn_profile, ann_profile) -> str:
    """The basis of a pair of profiles (see module docstring)."""
    if snn_profile.technology and snn_profile.technology == ann_profile.technology:
        return "same_technology"
    if snn_profile.evidence_level == ann_profile.evidence_level == "device_measurement":
        return "device_measurements"
    return "unlike"


def verdict(kind: str, snn: dict[str, Any], ann: dict[str, Any],
            mapping: dict[str, Any] | None) -> tuple[str, str]:
    """(verdict, reason) for priced SNN `snn` against priced ANN `ann` on basis `kind`."""
    reasons = []
    if kind == "unlike":
        reasons.append(f"unlike pair ({snn['evidence_level']} vs {ann['evidence_level']}, different technology "
                       "models)")
    if mapping is not None and mapping["status"] != "fits":
        checks = mapping["failed"] or mapping["not_checked"]
        what = ", ".join(checks) if len(checks) <= 3 else f"{len(checks)} checks"
        reasons.append(f"the network {'does not map' if mapping['status'] == 'fails' else 'is not shown to map'} "
                       f"onto {snn['profile']} ({'failed' if mapping['status'] == 'fails' else 'limit unknown'}: {what})")
    if mapping is not None and mapping.get("caveats"):
        reasons.append(f"{snn['profile']}'s core counts rest on stand-ins ({len(mapping['caveats'])} caveat(s))")
    for side, e in (("SNN", snn), ("ANN", ann)):
        if e["lower_bound"]:
            reasons.append(f"the {side} total on {e['profile']} is a lower bound ({'; '.join(e['lower_bound'])})")
    if reasons:
        return "no_verdict", " ".join(r[0].upper() + r[1:] + "." for r in reasons)
    s, a = snn["total_J"], ann["total_J"]
    excluded = [k for k, c in snn["components"].items() if c["status"] == "excluded"]
    scope = f"; {', '.join(excluded)} excluded on both sides (dynamic energy)" if excluded else ""
    if kind == "same_technology":
        lower = [s[k] < a[k] for k in (0, 1)]
        higher = [s[k] > a[k] for k in (0, 1)]
        how = f"same technology ({snn['profile']}), constants' ends taken together{scope}"
    else:
        lower, higher = [s[1] < a[0]], [s[0] > a[1]]
        how = "device-level measurements on both sides, ranges compared"
    if all(lower):
        return "snn_cheaper", f"SNN cheaper at every end of the constants' ranges: {how}."
    if all(higher):
        return "ann_cheaper", f"ANN cheaper at every end of the constants' ranges: {how}."
    return "undecided", f"the ranges cross: {how}."


def _ratio(snn_J: list[float], ann_J: list[float], together: bool) -> list[float] | None:
    if together:
        vals = [snn_J[k] / ann_J[k] for k in (0, 1) if ann_J[k] > 0]
        return [min(vals), max(vals)] if len(vals) == 2 else None
    return [snn_J[0] / ann_J[1], snn_J[1] / ann_J[0]] if ann_J[0] > 0 else None


def compare(snn_prof, snn_work: dict[str, Any], snn_priced: dict[str, Any], ann_prof, ann_work: dict[str, Any],
            ann_priced: dict[str, Any], mapping: dict[str, Any] | None, curve: RateCurve) -> dict[str, Any]:
    """One comparison entry (the JSON's `comparisons` rows)."""
    kind = basis(snn_prof, ann_prof)
    word, reason = verdict(kind, snn_priced, ann_priced, mapping)
    together = kind == "same_technology"
    return {
        "snn_profile": snn_prof.name, "snn_model": snn_work["model"], "ann_model": ann_work["model"],
        "ann_profile": ann_prof.name, "input_policy": snn_priced["policy"], "basis": kind,
        "verdict": word, "reason": reason,
        "snn_energy_j": snn_priced["total_J"], "ann_energy_j": ann_priced["total_J"],
        "ratio_snn_over_ann": _ratio(snn_priced["total_J"], ann_priced["total_J"], together),
        "snn_latency_s": snn_priced["latency_s"], "ann_latency_s": ann_priced["latency_s"],
        "snn_edp_js": snn_priced["edp_Js"], "ann_edp_js": ann_priced["edp_Js"],
        "snn_lower_bound": bool(snn_priced["lower_bound"]), "ann_lower_bound": bool(ann_priced["lower_bound"]),
        "snn_auc": snn_work.get("auc"), "ann_auc": ann_work.get("auc"),
        "breakeven": (breakeven(curve, ann_priced["total_J"], together) if kind != "unlike" else
                      {"breakeven_rate": None, "statement": "not computed: unlike pair"}),
    }


def _money(r: list[float]) -> str:
    from toolchain.energy.report import fmt_range

    return fmt_range(r)


def _auc(x: float | None) -> str:
    return "AUC n/a" if x is None else f"AUC {x:.3f}"


VERDICT_TEXT = {"snn_cheaper": "the SNN is cheaper", "ann_cheaper": "{ann} is cheaper",
                "undecided": "neither is clearly cheaper (undecided)", "no_verdict": "no verdict"}


def headline(comparisons: list[dict[str, Any]], titles: dict[str, str], policy: str,
             profiles: dict[str, Any]) -> str:
    """One sentence: at matched technology, the deployed SNN against each ANN model (energy, AUC, verdict),
    computed from `comparisons` (those on the same technology, under `policy`, for the deployed SNN)."""
    from toolchain.counts.workload import POLICY_TEXT

    rows = [c for c in comparisons if c["basis"] == "same_technology" and c["input_policy"] == policy
            and c["snn_model"] == "snn_deployed"]
    if not rows:
        return ("No profile here prices the deployed SNN and an ANN at one technology (add a logic profile such "
                "as horowitz45nm_int8), so no like-for-like verdict is given.")
    prof = sorted({c["snn_profile"] for c in rows})[0]
    rows = [c for c in rows if c["snn_profile"] == prof]
    first = rows[0]
    parts = []
    for c in rows:
        name = titles.get(c["ann_model"], c["ann_model"])
        said = VERDICT_TEXT[c["verdict"]].format(ann=name)
        parts.append(f"{_money(c['ann_energy_j'])} for {name} ({_auc(c['ann_auc'])}): {said} (`{c['verdict']}`)")
    policy_text = POLICY_TEXT[policy].split(":")[0]
    return (f"At matched technology ({profiles[prof].title}; {policy_text} on every side), the deployed SNN "
            f"({_auc(first['snn_auc'])}) costs {_money(first['snn_energy_j'])} per classification against "
            + "; and ".join(parts) + ".")
