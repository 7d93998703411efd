"""Energy per day of monitoring, and the battery life it implies, on every hardware profile.

Model (every figure an estimate with the [lo, hi] range of the energy report it comes from):

    listening time per day  L = duty_cycle x 24 h   (the monitor is powered only while listening)
    classifications per day n = L x units per second (windows: 1 / hop; frames: frames per second)
    classification energy   n x (energy per classification - its static component)
    static energy           chips x static power per chip x L
    total per day           the sum; battery life = battery energy / total per day

The energy per classification is the energy report's `total_J` (toolchain.energy, counts measured on
windows of the recordings themselves); its `static` component (static power x the latency of one
classification) is taken out, because the chip's static power is charged for the whole listening
time instead (charging both would count the busy time twice). Where a profile has no static or
idle figure the total is a lower bound and the battery life an upper bound, and the table says so:
- neuromorphic, static power unpublished (SpiNNaker 2 here): static not priced;
- all-in profiles (TrueNorth): the per-event figure holds the chip's passive power at the paper's
  operating point only; the idle power between classifications is not in it;
- logic (45 nm) profiles: operation and memory energies only, no leakage;
- ANN profiles (CPU, GPU, ARM): system-level figures hold the power drawn while computing, not the
  idle power between classifications.
The dominant term is the larger of classification and static energy when their ranges do not
overlap. Against every ANN row, the SNN's per-day classification saving is set beside its static
energy: "swamped" when static power alone costs more than the whole saving at every end of the
ranges. Real time: a classification must finish within one unit of audio (busy fraction = latency x
units per second <= 1), else the chip cannot keep up and the figures do not describe a working
monitor.
"""

from __future__ import annotations

SECONDS_PER_DAY = 86400.0
WH = 3600.0  # J per watt-hour
_PREFIXES = (("MJ", 1e6), ("kJ", 1e3), ("J", 1.0), ("mJ", 1e-3), ("uJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12))


def fmt_energy(x: float | None) -> str:
    """Joules with an SI prefix from MJ to pJ, 3 significant digits ("20 kJ", "6.79 mJ")."""
    if x is None:
        return "n/a"
    unit, scale = next(((u, s) for u, s in _PREFIXES if abs(x) >= s), _PREFIXES[-1])
    return f"{x / scale:.3g} {unit}" if x else "0 J"


def fmt_life(days: float | None) -> str:
    """A battery life in hours, days or years (3 significant digits)."""
    if days is None:
        return "n/a"
    if days < 1:
        return f"{days * 24:.3g} h"
    return f"{days:.3g} d" if days < 365 else f"{days / 365.25:,.3g} y"


def fmt_energy_range(r: list[float] | None) -> str:
    """[lo, hi] joules: one value when equal, "6.79-10.2 mJ" when the units agree, else both in full."""
    if r is None:
        return "n/a"
    a, b = fmt_energy(r[0]), fmt_energy(r[1])
    if a == b:
        return a
    (va, ua), (vb, ub) = a.split(" "), b.split(" ")
    return f"{va}-{vb} {ua}" if ua == ub else f"{a} - {b}"


def _scale(r, k: float) -> list[float]:
    return [r[0] * k, r[1] * k]


def _lower_bound_reason(profile, side: str, chips, static) -> str | None:
    if side == "ann":
        if profile.kind == "logic":
            return "45 nm logic and memory energies only: leakage and idle power are not modelled"
        return "system-level figures hold the power drawn while computing; idle power between classifications is not in the profile"
    if profile.all_in:
        return ("all-in per-event figure: it holds passive power at the paper's operating point only; idle power "
                "between classifications is not in the profile")
    if profile.kind == "logic":
        return "45 nm logic and memory energies only: leakage and idle power are not modelled"
    if static is None or not static.known:
        return f"{profile.name} publishes no static power"
    if chips is None:
        return "the network does not map onto the chip, so its chip count (and static power) is unknown"
    return None


def _row(name: str, side: str, priced: dict, profile, units_per_day: float, listening_s: float,
         units_per_second: float, battery_j: float) -> dict:
    static_c = ((priced.get("components") or {}).get("static") or {}).get("J") or [0.0, 0.0]
    per = [priced["total_J"][0] - static_c[0], priced["total_J"][1] - static_c[1]]
    chips = priced.get("chips")
    static = profile.get("power.static_per_chip") if side == "snn" else None
    reason = _lower_bound_reason(profile, side, chips, static)
    static_day = None if reason else _scale([static.lo, static.hi], chips * listening_s)
    class_day = _scale(per, units_per_day)
    total = class_day if static_day is None else [class_day[0] + static_day[0], class_day[1] + static_day[1]]
    latency = priced.get("latency_s")
    busy = None if not latency else [latency[0] * units_per_second, latency[1] * units_per_second]
    if static_day is None:
        dominant = "classification (only one priced)"
    elif static_day[0] > class_day[1]:
        dominant = "static"
    elif class_day[0] > static_day[1]:
        dominant = "classification"
    else:
        dominant = "neither (ranges overlap)"
    return {
        "profile": name, "side": side, "model": priced.get("model"), "title": profile.title, "kind": profile.kind,
        "energy_per_classification_J": per, "classifications_per_day": units_per_day,
        "classification_J_per_day": class_day, "static_W": None if static_day is None else [static.lo, static.hi],
        "chips": chips, "static_J_per_day": static_day, "total_J_per_day": total,
        "lower_bound": reason is not None, "lower_bound_reason": reason,
        "static_share": None if static_day is None else [static_day[0] / (static_day[0] + class_day[1]),
                                                         static_day[1] / (static_day[1] + class_day[0])],
        "dominant": dominant,
        "battery_days": [battery_j / total[1] if total[1] > 0 else None,
                         battery_j / total[0] if total[0] > 0 else None],
        "latency_s": latency, "busy_fraction": busy,
        "real_time": None if busy is None else busy[1] <= 1.0,
    }


def _swamping(snn: dict, ann: dict) -> dict:
    saving = [ann["classification_J_per_day"][0] - snn["classification_J_per_day"][1],
              ann["classification_J_per_day"][1] - snn["classification_J_per_day"][0]]
    st = snn["static_J_per_day"]
    if saving[1] <= 0:
        verdict = "no saving: the SNN's classifications cost at least the ANN's"
    elif st[0] > saving[1]:
        verdict = "swamped: static power alone exceeds the whole saving"
    elif st[1] < max(saving[0], 0.0):
        verdict = "not swamped: the saving exceeds static power"
    else:
        verdict = "undecided: the ranges overlap"
    return {"snn_profile": snn["profile"], "ann_profile": ann["profile"], "saving_J_per_day": saving,
            "static_J_per_day": st, "verdict": verdict,
            "static_over_saving": [st[0] / saving[1], st[1] / saving[0]] if saving[0] > 0 else None}


def energy_per_day(report: dict, profiles: list, units_per_second: float, *, duty_cycle: float = 1.0,
                   battery_wh: float = 100.0, unit: str = "window") -> dict:
    """The energy-per-day table (see the module docstring) from an energy report (`analyse`)."""
    from toolchain.core.errors import ConfigError

    if not 0 < duty_cycle <= 1:
        raise ConfigError(f"--duty-cycle {duty_cycle:g}: must be in (0, 1] (the fraction of each day the monitor listens)")
    if battery_wh <= 0:
        raise ConfigError(f"--battery-wh {battery_wh:g}: must be > 0")
    by_name = {p.name: p for p in profiles}
    listening = duty_cycle * SECONDS_PER_DAY
    n = listening * units_per_second
    battery_j = battery_wh * WH
    policy = report.get("input_policy", "zeros_skipped")
    priced_all = [priced for per_model in report["energy"][policy].values() for priced in per_model.values()]
    deployed = [p for p in priced_all if p["side"] == "snn" and p["model"] == "snn_deployed"]
    rows = [_row(p["profile"], p["side"], p, by_name[p["profile"]], n, listening, units_per_second, battery_j)
            for p in deployed + [p for p in priced_all if p["side"] == "ann"]]
    swamps = [_swamping(s, a) for s in rows if s["side"] == "snn" and s["static_J_per_day"] is not None
              for a in rows if a["side"] == "ann"]
    return {"label": report.get("label"), "duty_cycle": duty_cycle, "listening_hours_per_day": listening / 3600,
            "unit": unit, "units_per_second": units_per_second, "classifications_per_day": n,
            "battery_wh": battery_wh, "rows": rows, "swamping": swamps, "statements": statements(rows, swamps)}


def statements(rows: list[dict], swamps: list[dict]) -> list[str]:
    """Plain sentences computed from the table: what dominates, where static swamps the savings."""
    from toolchain.energy.report import fmt_range

    out = []
    for r in rows:
        if r["side"] != "snn" or r["static_J_per_day"] is None:
            continue
        st, cl = r["static_J_per_day"], r["classification_J_per_day"]
        ratio = [st[0] / cl[1], st[1] / cl[0]] if cl[0] > 0 else None
        times = "" if ratio is None else f", {fmt_range(ratio, lambda v: f'{v:,.3g}x')} the "
        text = (f"{r['profile']}: static power alone ({fmt_range(r['static_W'], lambda v: f'{v:g} W')} x "
                f"{r['chips']} chip(s)) costs {fmt_energy_range(st)} a day{times}"
                f"{fmt_energy_range(cl)} its {r['classifications_per_day']:,.0f} classifications cost; dominant term: "
                f"{r['dominant']}.")
        mine = [s for s in swamps if s["snn_profile"] == r["profile"]]
        swamped = [s["ann_profile"] for s in mine if s["verdict"].startswith("swamped")]
        if swamped:
            best = max((s for s in mine if s["ann_profile"] in swamped), key=lambda s: s["saving_J_per_day"][1])
            text += (f" Static power swamps the per-classification saving against {', '.join(swamped)} (largest "
                     f"saving {fmt_energy(best['saving_J_per_day'][1])} a day, against {best['ann_profile']}).")
        others = [f"against {s['ann_profile']}, {s['verdict']}" for s in mine if s["ann_profile"] not in swamped]
        if others:
            joined = "; ".join(others)
            text += f" {joined[0].upper()}{joined[1:]}."
        out.append(text)
    for r in rows:
        if r["real_time"] is False:
            out.append(f"{r['profile']} ({r['side'].upper()}): one classification takes "
                       f"{fmt_range(r['latency_s'], lambda v: f'{v:.3g} s')}, busy fraction "
                       f"{fmt_range(r['busy_fraction'], lambda v: f'{v:.3g}')} > 1: it cannot keep up in real time.")
    return out
