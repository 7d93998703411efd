"""The energy report: one input for every model, priced component by component, verdicts only where they hold.

`build_report` prices every model's workload (the deployed SNN, the float SNN, each ANN) on every
profile that prices its side, under both input policies, maps the SNN onto each chip, and forms one
comparison per (SNN profile, ANN model, ANN profile) and policy (`toolchain.energy.compare`). The
verdict policy is "zeros_skipped" (top-level `input_policy`); the "dense" comparisons are reported
beside it. Which SNN a profile prices: the deployed network's counts, except on a logic profile of 16
or more bits (fp32), which prices the float model's own counts. `write_report` saves energy.json,
energy.md, energy.png (energy by component per model and profile) and front.png (AUC against energy
per classification), every file written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from toolchain.core.fileio import atomic_path, write_json, write_text
from toolchain.counts.workload import POLICIES, POLICY_TEXT
from toolchain.energy.breakeven import RateCurve
from toolchain.energy.compare import compare, headline
from toolchain.energy.mapping import map_network
from toolchain.energy.price import COMPONENT_TEXT, COMPONENTS, LABEL, price

PRIMARY = "zeros_skipped"
OP_TEXT = {"graded": "MAC-like", "binary": "AC", "none": "none"}


def snn_model_for(profile, snn_models: dict[str, Any]) -> str:
    """The SNN workload a profile prices: the float model's on an fp32 (>= 16-bit) logic profile, else the deployed one."""
    if profile.kind == "logic" and (profile.precision_bits or 0) >= 16 and "snn_float" in snn_models:
        return "snn_float"
    return "snn_deployed" if "snn_deployed" in snn_models else next(iter(snn_models))


def build_report(network: dict[str, Any], shape, models: list[dict[str, Any]], profiles: list, *,
                 counts: list[dict[str, Any]] = (), anns: dict[str, Any] | None = None,
                 onnx_checks: dict[str, Any] | None = None, shared_input: dict[str, Any] | None = None,
                 policy: str = PRIMARY) -> dict[str, Any]:
    """Price `models` (workloads) on every profile and assemble the report (plain data).

    network: {"name", "source", ...} for the header; shape: the deployed SNN's NetworkShape (chip
    mapping); counts: the SNNs' raw counts (activity tables); anns: the ANNs' raw MAC counts."""
    by_name = {p.name: p for p in profiles}
    snn_profiles = [p for p in profiles if p.kind in ("neuromorphic", "logic")]
    ann_profiles = [p for p in profiles if p.kind in ("ann", "logic")]
    snns = {w["model"]: w for w in models if w["kind"] == "snn"}
    ann_models = [w for w in models if w["kind"] == "ann"]
    mapping = {p.name: map_network(shape, p) for p in profiles if p.kind == "neuromorphic"}
    energy: dict[str, dict[str, dict[str, Any]]] = {}
    comparisons: dict[str, list[dict[str, Any]]] = {}
    for pol in POLICIES:
        table: dict[str, dict[str, Any]] = {}
        curves = {}
        for p in snn_profiles:
            w = snns[snn_model_for(p, snns)]
            table.setdefault(w["model"], {})[p.name] = price(w, p, pol, mapping.get(p.name))
            curves[p.name] = RateCurve(w, p, pol, mapping.get(p.name))
        for w in ann_models:
            for p in ann_profiles:
                table.setdefault(w["model"], {})[p.name] = price(w, p, pol)
        energy[pol] = table
        rows = []
        for s in snn_profiles:
            sw = snns[snn_model_for(s, snns)]
            for aw in ann_models:
                for a in ann_profiles:
                    rows.append(compare(s, sw, table[sw["model"]][s.name], a, aw, table[aw["model"]][a.name],
                                        mapping.get(s.name), curves[s.name]))
        comparisons[pol] = rows
    titles = {w["model"]: w.get("title", w["model"]) for w in models}
    return {
        "label": LABEL, "network": network, "input_policy": policy, "policy_text": POLICY_TEXT,
        "shared_input": shared_input or {},
        "headline": headline(comparisons[policy], titles, policy, by_name),
        "comparisons": comparisons[policy], "comparisons_by_policy": comparisons,
        "models": {w["model"]: w for w in models}, "counts": list(counts), "ann": anns or {},
        "onnx_checks": onnx_checks or {}, "mapping": mapping, "energy": energy,
        "profiles": {p.name: {"title": p.title, "kind": p.kind, "node": p.node, "notes": p.notes,
                              "technology": p.technology, "evidence_level": p.evidence_level,
                              "included": p.included, "excluded": p.excluded, "file": str(p.path),
                              "anchors": [a.cite() for a in p.anchors.values()]}
                     for p in profiles},
    }


def fmt_j(x: float | None) -> str:
    """Energy in joules with an SI prefix ("12.3 uJ")."""
    if x is None:
        return "n/a"
    if x == 0:
        return "0"
    for unit, scale in (("J", 1.0), ("mJ", 1e-3), ("uJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12)):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x / 1e-15:.3g} fJ"


def fmt_s(x: float) -> str:
    """Seconds with an SI prefix ("28.2 us")."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x / 1e-9:.3g} ns"


def fmt_js(x: float) -> str:
    """An energy-delay product in J s."""
    return f"{x:.3g} J s"


def fmt_range(r: list[float] | None, fmt=fmt_j) -> str:
    if r is None:
        return "unknown"
    return fmt(r[0]) if math.isclose(r[0], r[1], rel_tol=1e-9) else f"{fmt(r[0])} - {fmt(r[1])}"


def _num(x: float | None) -> str:
    return "n/a" if x is None else (f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}")


def _total(e: dict[str, Any]) -> str:
    return ("≥ " if e["lower_bound"] else "") + fmt_range(e["total_J"])


def render_markdown(rep: dict[str, Any]) -> str:
    """The report as markdown: the headline first, every energy labelled an estimate, sources at the end."""
    net = rep["network"]
    md = [f"# Energy per classification: {net.get('name', 'network')}", "",
          f"**Headline (estimate).** {rep['headline']}", "",
          f"> **{rep['label']}.** Counts are exact for the clip(s) simulated; energies are estimates whose ranges "
          "come from the constants' ranges. '≥' marks a total that is a lower bound (a cost not priced).", ""]
    for check in rep.get("silicon", []):
        from toolchain.energy.silicon import render_check

        md += render_check(check)
    md += _input_section(rep)
    for pol in (rep["input_policy"], *[p for p in POLICIES if p != rep["input_policy"]]):
        md += _comparisons_section(rep, pol)
    md += _breakeven_section(rep, rep["input_policy"])
    for pol in (rep["input_policy"], *[p for p in POLICIES if p != rep["input_policy"]]):
        md += _components_section(rep, pol)
    md += _front_section(rep)
    md += _workload_section(rep)
    for counts in rep["counts"]:
        md += _activity_section(counts)
    md += _mapping_section(rep["mapping"])
    md += _sources_section(rep)
    return "\n".join(md) + "\n"


def _input_section(rep: dict[str, Any]) -> list[str]:
    si = rep["shared_input"]
    md = ["## One input, one policy", ""]
    if si:
        md.append(f"- {si['note']}; {si['nonzero_fraction']:.1%} of the {si['n_in']} input values are nonzero "
                  f"(mean over {si['clips']} clip(s)).")
    md += [f"- verdict policy `{rep['input_policy']}` ({rep['policy_text'][rep['input_policy']]}); also shown: "
           + ", ".join(f"`{p}` ({rep['policy_text'][p]})" for p in POLICIES if p != rep["input_policy"]) + ".",
           "- basis: `same_technology` (one technology model prices both sides), `device_measurements` (both "
           "sides measured on devices) or `unlike`; only the first two get a verdict, and only when nothing is a "
           "lower bound and the network maps.",
           "- the fp32 logic profile prices the float SNN's own counts; every other SNN profile the deployed network's. "
           "ANNs priced on int8 logic are assumed to keep their float AUC when quantised (not evaluated).", ""]
    return md


def _comparisons_section(rep: dict[str, Any], pol: str) -> list[str]:
    md = [f"## Comparisons (input policy: `{pol}`)", "",
          "| SNN profile | SNN model | ANN model | ANN profile | basis | SNN energy | ANN energy | SNN / ANN "
          "| SNN latency | ANN latency | SNN EDP | ANN EDP | verdict | reason |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in rep["comparisons_by_policy"][pol]:
        ratio = c["ratio_snn_over_ann"]
        lb = lambda flag: "≥ " if flag else ""  # noqa: E731
        md.append(f"| {c['snn_profile']} | {c['snn_model']} | {c['ann_model']} | {c['ann_profile']} | {c['basis']} "
                  f"| {lb(c['snn_lower_bound'])}{fmt_range(c['snn_energy_j'])} "
                  f"| {lb(c['ann_lower_bound'])}{fmt_range(c['ann_energy_j'])} "
                  f"| {fmt_range(ratio, lambda v: f'{v:.3g}x') if ratio else 'n/a'} "
                  f"| {fmt_range(c['snn_latency_s'], fmt_s)} | {fmt_range(c['ann_latency_s'], fmt_s)} "
                  f"| {fmt_range(c['snn_edp_js'], fmt_js)} | {fmt_range(c['ann_edp_js'], fmt_js)} "
                  f"| **{c['verdict']}** | {c['reason']} |")
    return md + [""]


def _breakeven_section(rep: dict[str, Any], pol: str) -> list[str]:
    md = [f"## Break-even spike rate (input policy: `{pol}`)", "",
          "Rate = spikes per neuron per step of every LIF layer; at each rate the SNN is repriced in full "
          "(hidden-layer ops, spikes, neuron updates, and the latency and static energy they cause); see "
          "`toolchain/energy/breakeven.py`. Shown for the pairs with a basis (same technology or device measurements).", "",
          "| SNN profile | ANN model | ANN profile | measured rate | SNN at rate 0 | SNN at rate 1 | ANN | break-even |",
          "|---|---|---|---|---|---|---|---|"]
    for c in rep["comparisons_by_policy"][pol]:
        if c["basis"] == "unlike":
            continue
        b = c["breakeven"]
        rate = "n/a" if b["measured_rate"] is None else f"{b['measured_rate']:.4f}"
        md.append(f"| {c['snn_profile']} | {c['ann_model']} | {c['ann_profile']} | {rate} | {fmt_range(b['snn_J_at_rate0'])} "
                  f"| {fmt_range(b['snn_J_at_rate1'])} | {fmt_range(b['ann_J'])} | {b['statement']} |")
    return md + [""]


_CELL = {"included": "incl.", "excluded": "excl.", "n/a": "n/a", "not priced": "**not priced**"}


def _components_section(rep: dict[str, Any], pol: str) -> list[str]:
    md = [f"## Energy by component (input policy: `{pol}`)", "",
          "| model | profile | " + " | ".join(COMPONENTS) + " | total | latency | EDP |",
          "|---|---|" + "---|" * (len(COMPONENTS) + 3)]
    notes = []
    for model, table in rep["energy"][pol].items():
        for name, e in table.items():
            cells = [fmt_range(c["J"]) if c["status"] == "priced" else _CELL[c["status"]]
                     for c in (e["components"][k] for k in COMPONENTS)]
            md.append(f"| {model} | {name} | " + " | ".join(cells) + f" | **{_total(e)}** "
                      f"| {fmt_range(e['latency_s'], fmt_s)} | {fmt_range(e['edp_Js'], fmt_js)} |")
            if pol == rep["input_policy"]:
                notes += [f"{model} on {name}: {k} {c['status']}: {c['note']}" for k, c in e["components"].items()
                          if c["status"] == "not priced" or (k == "dram" and c["J"] and c["J"][1] > 0)]
    md += ["", "Components: " + "; ".join(f"`{k}` = {v}" for k, v in COMPONENT_TEXT.items()) + ". `incl.`: inside "
           "another figure of the profile; `excl.`: outside the profile's technology model on every side (see sources)."]
    md += [""] + [f"- {n}" for n in notes] + [""]
    return md


def front_rows(rep: dict[str, Any], pol: str | None = None) -> list[dict[str, Any]]:
    """AUC against energy per classification: one row per (model, profile) priced under `pol`."""
    pol = pol or rep["input_policy"]
    rows = []
    for model, table in rep["energy"][pol].items():
        w = rep["models"][model]
        for name, e in table.items():
            rows.append({"model": model, "kind": w["kind"], "auc": w.get("auc"), "profile": name,
                         "energy_J": e["total_J"], "lower_bound": bool(e["lower_bound"]),
                         "technology": e["technology"]})
    return rows


def _front_section(rep: dict[str, Any]) -> list[str]:
    pol = rep["input_policy"]
    rows = front_rows(rep, pol)
    profiles = list(dict.fromkeys(r["profile"] for r in rows))
    md = [f"## Accuracy-energy front (input policy: `{pol}`)", "",
          "Energy per classification of each model on each profile that prices it, beside its held-out AUC "
          "(plot: front.png). Only entries on the same technology are comparable with each other.", "",
          "| model | AUC | " + " | ".join(profiles) + " |", "|---|---|" + "---|" * len(profiles)]
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = {r["profile"]: r for r in rows if r["model"] == model}
        auc = rep["models"][model].get("auc")
        cells = [("≥ " if mine[p]["lower_bound"] else "") + fmt_range(mine[p]["energy_J"]) if p in mine else "—"
                 for p in profiles]
        md.append(f"| {model} | {'n/a' if auc is None else f'{auc:.3f}'} | " + " | ".join(cells) + " |")
    return md + [""]


def _workload_section(rep: dict[str, Any]) -> list[str]:
    md = ["## Counts per model and layer (per classification)", "",
          "| model | layer | kind | op | n_in -> n_out | effective ops (`zeros_skipped`) | dense ops (`dense`) "
          "| weight fetches (zeros skipped) | outputs written |",
          "|---|---|---|---|---|---|---|---|---|"]
    for model, w in rep["models"].items():
        for la in w["layers"]:
            op = {"graded": "graded (MAC-like)", "binary": "AC", "mac": "MAC", "none": "none (no synapses)"}[la["op"]]
            md.append(f"| {model} | {la['name']} | {la['kind']} | {op} | {la['n_in']} -> {la['n_out']} "
                      f"| {_num(la['effective_ops'])} | {_num(la['dense_ops'])} "
                      f"| {_num(la['weight_fetches']['zeros_skipped'])} | {_num(la['outputs'])} |")
    md.append("")
    for model, w in rep["models"].items():
        md.append(f"- `{model}`: {w['source']}" + (f" (clips: {w['clips']})" if w.get("clips") else "")
                  + ("".join(f"; {x}" for x in w["inexact"])))
    for name, chk in rep.get("onnx_checks", {}).items():
        if chk:
            md.append(f"- `{name}`: onnxruntime vs torch on {chk['clips']} clip(s): max |diff| {chk['max_abs_diff']} "
                      f"(atol {chk['atol']}): {'equal' if chk['ok'] else 'DIFFERENT'}")
    return md + [""]


def _activity_section(c: dict[str, Any]) -> list[str]:
    md = [f"## Spiking activity ({c['backend']}, mean over {c['clips']} clip(s); [p5, p95] over clips)", "",
          "| layer | n_in -> n_out | op | effective synaptic ops | dense synaptic ops | spikes | spike rate "
          "| neuron updates | active updates |",
          "|---|---|---|---|---|---|---|---|---|"]
    for i, la in enumerate(c["layers"]):
        name = f"{i + 1} (input: {c['encoding']}, {c['input_layer']['sent']})" if i == 0 else str(i + 1)
        e = la["effective_synops"]
        md.append(f"| {name} | {la['n_in']} -> {la['n_out']} | {OP_TEXT[la['op_kind']]} "
                  f"| {_num(e['mean'])} [{_num(e['p5'])}, {_num(e['p95'])}] | {_num(la['dense_synops'])} "
                  f"| {_num(la['spikes']['mean'])} | {la['spike_rate']:.4f} | {_num(la['neuron_updates'])} "
                  f"| {_num(la['active_neuron_updates']['mean'])} |")
    t = c["totals"]
    md += ["", f"Activation sparsity {t['activation_sparsity']:.4f}, membrane updates {_num(t['membrane_updates'])}. "
           "NeuroBench names: Effective_MACs = graded ops, Effective_ACs = binary ops, Dense = dense ops "
           "(with `graded_once` our layer-1 ops are 1/num_steps of NeuroBench's, which recomputes layer 1 every step).", ""]
    return md


def _mapping_section(mapping: dict[str, Any]) -> list[str]:
    md = ["## Chip mapping", ""]
    for name, m in mapping.items():
        cores = ", ".join(f"{la['name'] + ' ' if la.get('name') else ''}{la['cores']}" for la in m["layers"])
        md += [f"### {m['title']} (`{name}`): {m['chips'] if m['chips'] is not None else 'cannot map'} chip(s), "
               f"{m['cores'] if m['cores'] is not None else 'n/a'} cores (per layer: {cores}); status `{m['status']}`", "",
               f"Assumptions: {m['assumptions']}."]
        md += [f"- caveat: {c}" for c in m.get("caveats", [])]
        blocks = [f"{la.get('name') or la['layer']}: {la['block']}" for la in m["layers"] if la.get("block")]
        md += [f"- a core holds (conv layers): {'; '.join(blocks)}"] if blocks else []
        md += ["", "| check | result | value | limit | detail |", "|---|---|---|---|---|"]
        for ck in m["checks"]:
            res = {True: "pass", False: "**FAIL**", None: "unknown (limit unpublished or value inside its range)"}[ck["passed"]]
            md.append(f"| {ck['name']} | {res} | {ck['value']} | {ck['limit']} | {ck['detail']} |")
        md.append("")
    return md


def _sources_section(rep: dict[str, Any]) -> list[str]:
    md = ["## Constants and sources", ""]
    seen: dict[str, dict[str, Any]] = {}
    for table in rep["energy"][rep["input_policy"]].values():
        for name, e in table.items():
            seen.setdefault(name, {})
            for s in e["sources"]:
                seen[name][s["key"]] = s
    for name, consts in seen.items():
        info = rep["profiles"][name]
        md += [f"### {info['title']} (`{name}`, {info['node']}; evidence level `{info['evidence_level']}`)", ""]
        if info.get("notes"):
            md += [info["notes"], ""]
        for s in consts.values():
            extra = f"; scope {s['scope']}" if s.get("scope") else ""
            extra += f"; {s['bound']} bound" if s.get("bound") else ""
            extra += f"; stand-in: {s['stand_in']}" if s.get("stand_in") else ""
            extra += f"; note: {s['note']}" if s.get("note") else ""
            md.append(f"- `{s['key']}` = {s['value']} {s['unit']} ({s['evidence']}{extra}). Source: {s['source']}")
        for comp, why in info.get("included", {}).items():
            md.append(f"- `{comp}` included: {why}")
        for comp, why in info.get("excluded", {}).items():
            md.append(f"- `{comp}` excluded: {why}")
        for a in info["anchors"]:
            md.append(f"- context only, not summed: `{a['key']}` = {a['value']} {a['unit']} ({a['evidence']}). "
                      f"Source: {a['source']}")
        md.append("")
    return md


def _colors() -> dict[str, str]:
    return {"compute": "#1f77b4", "weight_reads": "#ff7f0e", "dram": "#8c564b", "accumulator": "#9467bd",
            "state": "#e377c2", "neuron": "#2ca02c", "routing": "#17becf", "static": "#7f7f7f"}


def plot_report(rep: dict[str, Any], path: str | Path) -> Path:
    """energy.png: stacked energy per classification by component (log scale, whiskers = total range,
    hatched = a lower bound) of every model on every profile, under the verdict policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pol = rep["input_policy"]
    entries = [(f"{m}\n{n}", e) for m, table in rep["energy"][pol].items() for n, e in table.items()]
    fig, ax = plt.subplots(figsize=(max(8, 0.75 * len(entries) + 3), 5))
    colors, labelled = _colors(), set()
    for x, (_, e) in enumerate(entries):
        bottom = 0.0
        for comp in COMPONENTS:
            c = e["components"][comp]
            mid = (c["J"][0] + c["J"][1]) / 2 if c["J"] else 0.0
            if mid > 0:
                ax.bar(x, mid, bottom=bottom, color=colors[comp], hatch="//" if e["lower_bound"] else None,
                       label=None if comp in labelled else comp)
                labelled.add(comp)
                bottom += mid
        lo, hi = e["total_J"]
        if hi > 0:
            ax.errorbar(x, (lo + hi) / 2, yerr=[[(lo + hi) / 2 - lo], [hi - (lo + hi) / 2]], color="k", capsize=3)
    ax.set_yscale("log")
    ax.set_xticks(range(len(entries)), [lbl for lbl, _ in entries], fontsize=6, rotation=90)
    ax.set_ylabel("J per classification (estimate)")
    ax.set_title(f"{rep['network'].get('name', '')}: energy by component, input policy {pol} "
                 "(hatched: lower bound)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_front(rows: list[dict[str, Any]], path: str | Path, title: str) -> Path:
    """AUC (x) against energy per classification (y, log) per profile; a marker per model or sweep cell,
    error bars spanning the energy range; open markers are lower bounds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    profiles = list(dict.fromkeys(r["profile"] for r in rows))
    cmap = plt.get_cmap("tab10")
    for k, prof in enumerate(profiles):
        mine = [r for r in rows if r["profile"] == prof and r["auc"] is not None and r["energy_J"][1] > 0]
        for r in mine:
            lo, hi = r["energy_J"]
            mid = math.sqrt(lo * hi) if lo > 0 else hi
            ax.errorbar(r["auc"], mid, yerr=[[mid - lo], [hi - mid]], fmt="o", color=cmap(k % 10),
                        mfc="none" if r["lower_bound"] else cmap(k % 10), capsize=2,
                        label=prof if r is mine[0] else None)
            ax.annotate(str(r.get("label", r["model"])), (r["auc"], mid), fontsize=6, xytext=(3, 2),
                        textcoords="offset points")
    ax.set_yscale("log")
    if not any(r["auc"] is not None for r in rows):
        ax.text(0.5, 0.5, "no AUC known for these models", ha="center", transform=ax.transAxes)
    ax.set_xlabel("ROC AUC (held-out / validation)")
    ax.set_ylabel("J per classification (estimate)")
    ax.set_title(title, fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)


def write_report(rep: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write energy.json, energy.md, energy.png and front.png into `out_dir`; returns their paths."""
    out = Path(out_dir)
    return {"json": write_json(out / "energy.json", rep), "markdown": write_text(out / "energy.md", render_markdown(rep)),
            "png": plot_report(rep, out / "energy.png"),
            "front": plot_front(front_rows(rep), out / "front.png",
                                f"{rep['network'].get('name', '')}: accuracy against energy ({rep['input_policy']})")}
