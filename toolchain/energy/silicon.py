"""Checked against silicon: the estimator's prediction beside a published measurement of the same network.

A measurement file (hardware_profiles/measured/*.toml) holds what was measured on a chip for one
network (energy per inference, power, throughput, cores, with source and conditions) and names the
network by its layers (kind, output shape, nonzero weights per population, as `neurodeploy import`
reads it). When an analysed IR has exactly those layers and its report prices the measurement's
profile, the report gains a check: predicted vs measured, each with the ratio predicted / measured
([lo, hi] where the prediction is a range).

This is a check, not a calibration: no constant is fitted to a measurement. Inputs that come from the
same benchmark are named in the check (`shared_inputs`), since they make part of the agreement
circular (e.g. Loihi 2's static power is this benchmark's measured static power, so the static
energy tests only the predicted latency).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hardware_profiles import PROFILE_DIR, ProfileError

MEASURED_DIR = PROFILE_DIR / "measured"
REQUIRED = ("name", "title", "profile", "network", "source", "conditions", "steps_per_sample", "layers",
            "energy_per_inference_mJ", "throughput", "cores")
POLICY = "zeros_skipped"
# constants that come from the measured benchmark itself (not independent of the check), per profile key
SHARED_INPUTS = {
    "power.static_per_chip": "is this benchmark's measured static power, so the static energy checks only "
                             "the predicted latency",
    "resources.axons_in_per_core": "has its lower end (2,560) from Lava's compilation of this network (an "
                                   "input-axon count it placed, not a limit)",
}


def load_measurements(folder: Path = MEASURED_DIR) -> list[dict[str, Any]]:
    """Every measurement file in `folder`, validated (ProfileError naming the file and key)."""
    import tomli as tomllib

    out = []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ProfileError(f"{path.name}: cannot read it ({exc})") from None
        m = data.get("measurement")
        if not isinstance(m, dict):
            raise ProfileError(f"{path.name}: no [measurement] table")
        for key in REQUIRED:
            if key not in m:
                raise ProfileError(f"{path.name}: measurement.{key} is missing")
        if not isinstance(m["layers"], list) or not all(isinstance(v, str) for v in m["layers"]):
            raise ProfileError(f"{path.name}: measurement.layers must be a list of strings")
        per = m["cores"].get("per_layer")
        if per is not None and len(per) != len(m["layers"]):
            raise ProfileError(f"{path.name}: measurement.cores.per_layer has {len(per)} entries for "
                               f"{len(m['layers'])} layers")
        out.append({**m, "file": str(path)})
    return out


def fingerprint(ir) -> list[str]:
    """Per population of the IR: 'kind CxHxW nz=N' (kind, output shape, nonzero weights)."""
    out = []
    for layer in ir.spiking:
        nz = sum(int(np.count_nonzero(a)) for a in layer.weight_arrays().values()) if hasattr(layer, "weight_arrays") else 0
        out.append(f"{layer.kind} {'x'.join(map(str, layer.out_shape))} nz={nz}")
    return out


def _ratio(pred: list[float] | None, meas: float) -> list[float] | None:
    return None if pred is None else [pred[0] / meas, pred[1] / meas]


def _row(quantity: str, unit: str, pred, meas: float, note: str = "") -> dict[str, Any]:
    return {"quantity": quantity, "unit": unit, "predicted": pred, "measured": float(meas),
            "ratio": _ratio(pred, float(meas)), "note": note}


def check(m: dict[str, Any], ir, report: dict[str, Any]) -> dict[str, Any]:
    """Predicted vs measured for measurement `m` on the report of its network."""
    prof = m["profile"]
    e = report["energy"][POLICY]["snn_deployed"][prof]
    mapping = report["mapping"][prof]
    static = e["components"]["static"]["J"]
    total = e["total_J"]
    lower = list(e["lower_bound"])
    meas_e = m["energy_per_inference_mJ"]
    rows = [_row("energy per inference, total", "J", total, meas_e["total"] * 1e-3,
                 "a lower bound" if lower else ""),
            _row("energy per inference, dynamic (total - static)", "J",
                 None if static is None else [total[0] - static[0], total[1] - static[1]], meas_e["dynamic"] * 1e-3)]
    if static is not None:
        rows.append(_row("energy per inference, static", "J", static, (meas_e["total"] - meas_e["dynamic"]) * 1e-3,
                         "static power x predicted latency"))
    steps = int(m["steps_per_sample"])
    lat = e["latency_s"]
    same_steps = int(ir.num_steps) == steps
    fps = [1.0 / lat[1], 1.0 / lat[0]] if lat and same_steps else None
    rows.append(_row("throughput", "frames/s", fps, m["throughput"]["frames_per_s"],
                     "" if same_steps else f"not comparable: the IR runs {ir.num_steps} steps per inference, the "
                     f"measurement {steps}"))
    cores = mapping["cores"]
    rows.append(_row("cores", "cores", None if cores is None else [float(cores), float(cores)], m["cores"]["total"]))
    per = m["cores"].get("per_layer") or [None] * len(mapping["layers"])
    npc = m["cores"].get("neurons_per_core") or [None] * len(mapping["layers"])
    layers = [{"layer": la["name"] or f"layer {la['layer']}", "kind": la["kind"], "predicted": la["cores"],
               "measured": meas, "predicted_neurons_per_core": la["neurons_per_core"],
               "measured_neurons_per_core": n, "block": la["block"], "bound_by": la["bound_by"]}
              for la, meas, n in zip(mapping["layers"], per, npc)]
    profile = _profile(report, prof)
    diag = _with_measured_placement(report["models"]["snn_deployed"], profile, mapping, per, e, static)
    if diag is not None and same_steps:
        rows.append(_row("throughput with Lava's placement (diagnostic)", "frames/s",
                         [1.0 / diag["latency"][1], 1.0 / diag["latency"][0]], m["throughput"]["frames_per_s"],
                         "the same latency model with Lava's cores per layer in place of the predicted ones"))
        rows.append(_row("energy per inference, total, with Lava's placement (diagnostic)", "J", diag["total"],
                         meas_e["total"] * 1e-3, "static power x that latency; everything else as predicted"))
    used = {s["key"] for s in e["sources"]}
    if any(ck["name"].startswith("input axons per core") and ck["limit"] is not None for ck in mapping["checks"]):
        used.add("resources.axons_in_per_core")
    shared = [f"`{key}` {why}" for key, why in SHARED_INPUTS.items() if key in used]
    return {"name": m["name"], "title": m["title"], "profile": prof, "network": m["network"], "source": m["source"],
            "conditions": m["conditions"], "file": m["file"], "policy": POLICY, "rows": rows, "layers": layers,
            "lower_bound": lower, "mapping_status": mapping["status"], "caveats": mapping.get("caveats", []),
            "not_fitted": ("This is a check, not a calibration: no constant in hardware_profiles/ was fitted to "
                           "this measurement."),
            "shared_inputs": shared, "cores_note": m["cores"].get("note", ""),
            "findings": _findings(m, profile, mapping, layers, e, lat, steps, diag),
            "input_note": (f"The prediction counts the {report['network'].get('clips', '?')} input(s) given to "
                           "`neurodeploy energy`; the measured figures are averages over the benchmark's run, whose "
                           "inputs need not be these, so spike activity may differ.")}


def _profile(report: dict[str, Any], name: str):
    from hardware_profiles import load_profile

    return load_profile(report["profiles"][name]["file"])


def _with_measured_placement(work, profile, mapping, per_layer, e, static) -> dict[str, Any] | None:
    """Latency and total energy of the same model when the layers get the measured cores per layer."""
    import copy

    from toolchain.energy.price import latency_s

    if static is None or any(v is None for v in per_layer) or len(per_layer) != len(mapping["layers"]):
        return None
    placed = copy.deepcopy(mapping)
    for la, n in zip(placed["layers"], per_layer):
        la["cores"] = int(n)
    per_chip = placed.get("cores_per_chip") or sum(per_layer)
    placed["chips"] = max(1, -(-sum(per_layer) // int(per_chip)))
    lat = latency_s(work, profile, placed, POLICY)
    if lat is None:
        return None
    w = profile.known("power.static_per_chip")
    st = [placed["chips"] * w.lo * lat[0], placed["chips"] * w.hi * lat[1]]
    total = [e["total_J"][0] - static[0] + st[0], e["total_J"][1] - static[1] + st[1]]
    return {"latency": list(lat), "static": st, "total": total}


def _span(lo: float, hi: float, scale: float = 1.0) -> str:
    a, b = f"{lo * scale:.3g}", f"{hi * scale:.3g}"
    return a if a == b else f"{a} - {b}"


def _cite(profile, key: str) -> str:
    c = profile.get(key)
    if c is None:
        return f"{key}: not in the profile"
    return f"{key} = {c.raw} {c.unit} ({c.evidence}{': ' + c.stand_in if c.stand_in else ''})"


def _findings(m, profile, mapping, layers, e, lat, steps, diag) -> list[str]:
    """Where the prediction departs from the measurement, each line computed from the figures above."""
    out = []
    cap = profile.known("resources.neurons_per_core")
    placed = [la["measured_neurons_per_core"] for la in layers if la["measured_neurons_per_core"]]
    fewer = [la for la in layers if la["measured"] is not None and la["predicted"] < la["measured"]]
    if mapping["cores"] is not None and fewer:
        out.append(f"Cores: {mapping['cores']} predicted against {m['cores']['total']}. "
                   f"{len(fewer)} of {len(layers)} layers get fewer cores than Lava gave them ("
                   + ", ".join(f"{la['layer']} {la['predicted']} vs {la['measured']}" for la in fewer) + "). "
                   + (f"The model fills a core up to {int(cap.lo)} neurons ({_cite(profile, 'resources.neurons_per_core')}); "
                      f"Lava's compiler placed at most {max(placed)} neurons on any core of this network."
                      if cap is not None and placed else ""))
    for la in layers:
        if la["kind"] == "dense" and la["measured"] is not None and la["predicted"] < la["measured"]:
            out.append(f"{la['layer']}: the model fits {la['predicted_neurons_per_core']} neurons per core in "
                       f"{_cite(profile, 'resources.synaptic_memory_per_core')} with the stand-in list format; "
                       f"Lava placed {la['measured_neurons_per_core']} per core"
                       + (f" ({m['cores']['note']})" if m["cores"].get("note") else "") + ".")
    if lat:
        meas_step = 1.0 / m["throughput"]["frames_per_s"] / steps
        out.append(f"Time per step: {_span(lat[0] / steps, lat[1] / steps, 1e6)} us predicted "
                   f"(the busiest core's synaptic ops x {_cite(profile, 'timing.t_synop')}, plus its neuron "
                   f"updates and the barrier) against {meas_step * 1e6:.3g} us measured (1 / frames per second / "
                   f"{steps} steps; host I/O is not modelled)"
                   + (f"; with Lava's cores per layer the same model gives "
                      f"{_span(diag['latency'][0] / steps, diag['latency'][1] / steps, 1e6)} us" if diag else "") + ".")
    syn = profile.get("energy.synop")
    if syn is not None:
        dyn = [e["total_J"][0] - (e["components"]["static"]["J"] or [0, 0])[0],
               e["total_J"][1] - (e["components"]["static"]["J"] or [0, 0])[1]]
        comp = {k: c["J"] for k, c in e["components"].items() if c["J"] and k != "static"}
        parts = ", ".join(f"{k} {_span(v[0], v[1], 1e3)} mJ" for k, v in comp.items())
        out.append(f"Dynamic energy {_span(dyn[0], dyn[1], 1e3)} mJ predicted ({parts}) against "
                   f"{m['energy_per_inference_mJ']['dynamic']:.4g} mJ measured; the per-op energies are "
                   f"{_cite(profile, 'energy.synop')}.")
    return out


def silicon_checks(ir, report: dict[str, Any]) -> list[dict[str, Any]]:
    """A check for every measurement of this network whose profile the report prices."""
    fp = fingerprint(ir)
    priced = report["energy"][POLICY].get("snn_deployed", {})
    return [check(m, ir, report) for m in load_measurements() if m["layers"] == fp and m["profile"] in priced
            and m["profile"] in report["mapping"]]


def fmt_value(row: dict[str, Any], which: str) -> str:
    """A row's predicted or measured value with its unit ("1.23 mJ", "27 cores", "412 - 1,020 frames/s")."""
    from toolchain.energy.report import fmt_j, fmt_range

    v = row[which]
    if v is None:
        return "n/a"
    if row["unit"] == "J":
        return fmt_range(v, fmt_j) if isinstance(v, list) else fmt_j(v)
    num = lambda x: f"{x:,.4g}"  # noqa: E731
    return (fmt_range(v, num) if isinstance(v, list) else num(v)) + f" {row['unit']}"


def render_check(c: dict[str, Any]) -> list[str]:
    """The check as markdown lines (the report's section and the README's table)."""
    from toolchain.energy.report import fmt_range

    md = [f"## Checked against silicon: {c['title']} (profile `{c['profile']}`, input policy `{c['policy']}`)", "",
          f"Measured: {c['source']}; {c['conditions']}.", "",
          "| quantity | predicted | measured | predicted / measured |", "|---|---|---|---|"]
    for r in c["rows"]:
        ratio = fmt_range(r["ratio"], lambda v: f"{v:.3g}x") if r["ratio"] else "n/a"
        md.append(f"| {r['quantity']} | {fmt_value(r, 'predicted')} | {fmt_value(r, 'measured')} | {ratio}"
                  f"{' (' + r['note'] + ')' if r['note'] else ''} |")
    md += ["", "| layer | kind | predicted cores | measured cores (Lava) | predicted neurons per core | "
           "measured neurons per core | predicted block | bound by |", "|---|---|---|---|---|---|---|---|"]
    for la in c["layers"]:
        md.append(f"| {la['layer']} | {la['kind']} | {la['predicted']} | {la['measured']} "
                  f"| {la['predicted_neurons_per_core']} | {la['measured_neurons_per_core']} | {la['block'] or '-'} "
                  f"| {la['bound_by']} |")
    md += ["", "Where the model is off:", ""] + [f"- {f}" for f in c["findings"]]
    md += ["", f"- {c['not_fitted']}"] + [f"- Not independent: {s}." for s in c["shared_inputs"]]
    md += [f"- {c['input_note']}"]
    if c["lower_bound"]:
        md.append(f"- The predicted total is a lower bound: {'; '.join(c['lower_bound'])}.")
    if c["cores_note"]:
        md.append(f"- Lava's compiler: {c['cores_note']}.")
    md += [f"- Mapping caveat: {x}" for x in c["caveats"]]
    return md + [""]
