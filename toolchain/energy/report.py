"""The energy report: counts, chip mapping, energy per classification, break-even, sources.

`build_report` prices one set of SNN counts (and optionally more count sets, e.g. the float model's,
shown for comparison) on every profile and returns plain data; `write_report` saves it as
energy.json, energy.md and energy.png (stacked bars of energy per classification by component, SNN
vs ANN per profile; per-layer activity), every file written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from toolchain.core.fileio import atomic_path, write_json, write_text
from toolchain.energy.breakeven import breakeven
from toolchain.energy.mapping import map_network
from toolchain.energy.price import COMPONENTS, LABEL, price_ann, price_snn


def build_report(network: dict[str, Any], shape, counts: dict[str, Any], ann: dict[str, Any], profiles: list,
                 compare_counts: list[dict[str, Any]] = (), onnx_check: dict[str, Any] | None = None) -> dict[str, Any]:
    """Price `counts` (the deployed network's) and `ann` on every profile and assemble the report.

    network: {"name", "source", ...} for the header; shape: the NetworkShape for chip mapping;
    compare_counts: further count sets (e.g. the float model's) reported beside, not priced.
    """
    snn_profiles = [p for p in profiles if p.kind in ("neuromorphic", "logic")]
    ann_profiles = [p for p in profiles if p.kind in ("ann", "logic")]
    mapping = {p.name: map_network(shape, p) for p in profiles if p.kind == "neuromorphic"}
    snn = {p.name: price_snn(counts, p, mapping.get(p.name)) for p in snn_profiles}
    annp = {p.name: price_ann(ann, p) for p in ann_profiles}
    pairs = [breakeven(counts, snn[s.name], s, annp[a.name], mapping.get(s.name))
             for s in snn_profiles for a in ann_profiles]
    return {
        "label": LABEL, "network": network,
        "counts": [counts, *compare_counts], "ann": ann | ({"onnx_check": onnx_check} if onnx_check else {}),
        "mapping": mapping, "snn_energy": snn, "ann_energy": annp, "breakeven": pairs,
        "profiles": {p.name: {"title": p.title, "kind": p.kind, "node": p.node, "notes": p.notes,
                              "file": str(p.path), "anchors": [a.cite() for a in p.anchors.values()]}
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


def fmt_range(r: list[float] | None, fmt=fmt_j) -> str:
    if r is None:
        return "n/a"
    return fmt(r[0]) if math.isclose(r[0], r[1], rel_tol=1e-9) else f"{fmt(r[0])} - {fmt(r[1])}"


def _num(x: float | None) -> str:
    return "n/a" if x is None else (f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}")


def render_markdown(rep: dict[str, Any]) -> str:
    """The report as markdown: every energy labelled as an estimate, sources cited at the end."""
    net, c = rep["network"], rep["counts"][0]
    md = [f"# Energy per classification: {net.get('name', 'network')}", "",
          f"> **{rep['label']}.** Counts are exact for the {c['clips']} clip(s) simulated; energies are estimates "
          "whose ranges come from the constants' ranges. Static power is included where published.", "",
          "## Network", "",
          f"- source: `{net.get('source', '')}`",
          f"- sizes: {' - '.join(map(str, c['sizes']))}; weight bits: {c['weight_bits']}",
          f"- input encoding: `{c['encoding']}` (graded values sent {c['input_layer']['sent']}); "
          f"num_steps: {c['num_steps']}", ""]
    for counts in rep["counts"]:
        md += _counts_section(counts)
    md += _ann_section(rep["ann"])
    md += _mapping_section(rep["mapping"])
    md += _energy_section(rep)
    md += _breakeven_section(rep["breakeven"])
    md += _sources_section(rep)
    return "\n".join(md) + "\n"


def _counts_section(c: dict[str, Any]) -> list[str]:
    md = [f"## Counts per classification ({c['backend']}, mean over {c['clips']} clip(s); [p5, p95] over clips)", "",
          "| layer | n_in -> n_out | op | effective synaptic ops | dense synaptic ops | spikes | spike rate "
          "| neuron updates | active updates |",
          "|---|---|---|---|---|---|---|---|---|"]
    for i, la in enumerate(c["layers"]):
        name = f"{i + 1} (input: {c['encoding']}, {c['input_layer']['sent']})" if i == 0 else str(i + 1)
        e = la["effective_synops"]
        md.append(f"| {name} | {la['n_in']} -> {la['n_out']} | {'MAC-like' if la['op_kind'] == 'graded' else 'AC'} "
                  f"| {_num(e['mean'])} [{_num(e['p5'])}, {_num(e['p95'])}] | {_num(la['dense_synops'])} "
                  f"| {_num(la['spikes']['mean'])} | {la['spike_rate']:.4f} | {_num(la['neuron_updates'])} "
                  f"| {_num(la['active_neuron_updates']['mean'])} |")
    t = c["totals"]
    md += ["", f"Totals: graded (MAC-like) ops {_num(t['effective_synops_graded'])}, binary ops (AC) "
           f"{_num(t['effective_synops_binary'])}, dense ops {_num(t['dense_synops'])}, spikes {_num(t['spikes'])}, "
           f"neuron updates {_num(t['neuron_updates'])} (active {_num(t['active_neuron_updates'])}), activation "
           f"sparsity {t['activation_sparsity']:.4f}, membrane updates {_num(t['membrane_updates'])}.",
           "NeuroBench names: Effective_MACs = graded ops, Effective_ACs = binary ops, Dense = dense ops "
           "(with `graded_once` our layer-1 ops are 1/num_steps of NeuroBench's, which recomputes layer 1 every step).", ""]
    return md


def _ann_section(ann: dict[str, Any]) -> list[str]:
    md = ["## ANN baseline", "", f"- {ann['source']}",
          f"- dense MACs {_num(ann['dense_macs'])}, effective MACs {_num(ann['effective_macs'])}, "
          f"activations {_num(ann['activations'])}, parameters {_num(ann['parameters'])}"]
    chk = ann.get("onnx_check")
    if chk:
        md.append(f"- onnxruntime vs torch on {chk['clips']} clip(s): max |diff| {chk['max_abs_diff']} "
                  f"(atol {chk['atol']}): {'equal' if chk['ok'] else 'DIFFERENT'}")
    md += ["", "| layer | op | dense MACs | effective MACs |", "|---|---|---|---|"]
    md += [f"| {la['name']} | {la['op']} | {_num(la['dense_macs'])} | {_num(la['effective_macs'])} |"
           for la in ann["layers"]]
    return md + [""]


def _mapping_section(mapping: dict[str, Any]) -> list[str]:
    md = ["## Chip mapping", ""]
    for name, m in mapping.items():
        cores = ", ".join(f"{la['cores']}" for la in m["layers"])
        md += [f"### {m['title']} (`{name}`): {m['chips'] if m['chips'] is not None else 'cannot map'} chip(s), "
               f"{m['cores'] if m['cores'] is not None else 'n/a'} cores (per layer: {cores})", "",
               f"Assumptions: {m['assumptions']}.", "", "| check | result | value | limit | detail |",
               "|---|---|---|---|---|"]
        for ck in m["checks"]:
            res = {True: "pass", False: "**FAIL**", None: "not checked (limit unpublished)"}[ck["passed"]]
            md.append(f"| {ck['name']} | {res} | {ck['value']} | {ck['limit']} | {ck['detail']} |")
        md.append("")
    return md


def _energy_section(rep: dict[str, Any]) -> list[str]:
    md = ["## Energy per classification (estimates)", "",
          "| side | profile | input (layer 1) | synaptic | neuron | static | total | latency |",
          "|---|---|---|---|---|---|---|---|"]
    warnings = []
    for side, table in (("SNN", rep["snn_energy"]), ("ANN", rep["ann_energy"])):
        for name, e in table.items():
            comps = " | ".join(fmt_range(e["components_J"][k]) for k in COMPONENTS)
            lat = e.get("latency_s")
            lat_s = "n/a" if not lat else fmt_range(lat, fmt_s)
            md.append(f"| {side} | {name} | {comps} | **{fmt_range(e['total_J'])}** | {lat_s} |")
            warnings += [f"{side} {name}: {w}" for w in e["warnings"]]
            if e.get("zero_skipping_total_J"):
                warnings.append(f"ANN {name}: with zero-skipping hardware (effective MACs) the total would be "
                                f"{fmt_range(e['zero_skipping_total_J'])}")
    md += [""] + [f"- {w}" for w in warnings] + [""]
    return md


def _breakeven_section(pairs: list[dict[str, Any]]) -> list[str]:
    md = ["## Break-even spike rate (estimates)", "",
          "Rate = spikes per neuron per step of the layers that drive synaptic ops; the SNN costs "
          "F + rate x S1 (see `toolchain/energy/breakeven.py`).", "",
          "| SNN profile | ANN profile | SNN total | ANN total | measured rate | break-even rate | verdict |",
          "|---|---|---|---|---|---|---|"]
    for p in pairs:
        br = p.get("breakeven_rate")
        br_s = "n/a" if br is None else fmt_range(br, lambda r: f"{r:.4g}")
        mark = " (like for like)" if p["like_for_like"] else ""
        rate = "n/a" if p["measured_rate"] is None else f"{p['measured_rate']:.4f}"
        md.append(f"| {p['snn_profile']}{mark} | {p['ann_profile']} | {fmt_range(p['snn_J'])} | {fmt_range(p['ann_J'])} "
                  f"| {rate} | {br_s} | {p['verdict']} |")
    return md + [""]


def _sources_section(rep: dict[str, Any]) -> list[str]:
    md = ["## Constants and sources", ""]
    seen = {}
    for table in (rep["snn_energy"], rep["ann_energy"]):
        for name, e in table.items():
            seen.setdefault(name, {})
            for s in e["sources"]:
                seen[name][s["key"]] = s
    for name, consts in seen.items():
        info = rep["profiles"][name]
        md += [f"### {info['title']} (`{name}`, {info['node']})", ""]
        if info.get("notes"):
            md += [info["notes"], ""]
        for s in consts.values():
            extra = f"; scope {s['scope']}" if s.get("scope") else ""
            extra += f"; stand-in: {s['stand_in']}" if s.get("stand_in") else ""
            md.append(f"- `{s['key']}` = {s['value']} {s['unit']} ({s['evidence']}{extra}). Source: {s['source']}")
        for a in info["anchors"]:
            md.append(f"- context only, not summed: `{a['key']}` = {a['value']} {a['unit']} ({a['evidence']}). "
                      f"Source: {a['source']}")
        md.append("")
    return md


def plot_report(rep: dict[str, Any], path: str | Path) -> Path:
    """energy.png: stacked energy per classification by component (log scale, whiskers = total range)
    for every priced profile, and per-layer activity (spike rate, effective synaptic ops)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = [(f"SNN\n{n}", e) for n, e in rep["snn_energy"].items()] + \
              [(f"ANN\n{n}", e) for n, e in rep["ann_energy"].items()]
    fig, axes = plt.subplots(1, 3, figsize=(max(10, 1.1 * len(entries) + 8), 4.8),
                             gridspec_kw={"width_ratios": [max(len(entries), 1), 2, 2]})
    ax = axes[0]
    colors = {"input": "#d62728", "synaptic": "#1f77b4", "neuron": "#2ca02c", "static": "#7f7f7f"}
    labelled = set()
    for x, (_, e) in enumerate(entries):
        bottom = 0.0
        for comp in COMPONENTS:
            lo, hi = e["components_J"][comp]
            mid = (lo + hi) / 2
            if mid > 0:
                ax.bar(x, mid, bottom=bottom, color=colors[comp], label=None if comp in labelled else comp)
                labelled.add(comp)
                bottom += mid
        lo, hi = e["total_J"]
        if hi > 0:
            ax.errorbar(x, (lo + hi) / 2, yerr=[[(lo + hi) / 2 - lo], [hi - (lo + hi) / 2]], color="k", capsize=3)
    ax.set_yscale("log")
    ax.set_xticks(range(len(entries)), [lbl for lbl, _ in entries], fontsize=7)
    ax.set_ylabel("J per classification (estimate)")
    ax.set_title("Energy per classification by component")
    ax.legend(fontsize=7)
    for counts in rep["counts"]:
        layers = range(1, len(counts["layers"]) + 1)
        axes[1].plot(layers, [la["spike_rate"] for la in counts["layers"]], marker="o", label=counts["backend"])
        axes[2].plot(layers, [max(la["effective_synops"]["mean"], 1e-3) for la in counts["layers"]], marker="o",
                     label=counts["backend"])
    axes[1].set_title("Spike rate per layer")
    axes[1].set_xlabel("LIF layer")
    axes[1].set_ylabel("spikes / neuron / step")
    axes[2].set_title("Effective synaptic ops per layer")
    axes[2].set_xlabel("layer (1 = input layer)")
    axes[2].set_yscale("log")
    for a in axes[1:]:
        a.legend(fontsize=7)
    fig.suptitle(f"{rep['network'].get('name', '')}: estimates from published constants", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return Path(path)


def write_report(rep: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write energy.json, energy.md and energy.png into `out_dir`; returns their paths."""
    out = Path(out_dir)
    return {"json": write_json(out / "energy.json", rep), "markdown": write_text(out / "energy.md", render_markdown(rep)),
            "png": plot_report(rep, out / "energy.png")}
