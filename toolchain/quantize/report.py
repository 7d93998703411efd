"""Evaluate a quantisation (float model vs emulator on held-out clips) and render the report."""

from __future__ import annotations

import numpy as np

from toolchain.emulator import Emulator
from toolchain.frontends.float_net import FloatNetwork
from toolchain.frontends.reference import simulate_float
from toolchain.ir import limits as L
from toolchain.ir.graph import NetworkIR
from toolchain.verify import compare_float


def evaluate(ir: NetworkIR, net: FloatNetwork, x: np.ndarray, labels: np.ndarray | None, seed: int = 0) -> dict:
    """Float vs quantised (emulator) on features x: AUCs, agreement, firing rates, state ranges reached."""
    flo = simulate_float(net, x, seed=seed)
    emu = Emulator(ir).simulate(x, seed, track_ranges=True)
    out = compare_float(flo, emu, labels)
    out["clips"] = int(x.shape[0])
    out["ranges"] = [{**r, "u_limit": L.STATE_MAX, "v_limit": L.V_LIMIT} for r in emu.meta["ranges"]]
    if labels is not None and out.get("auc_float") is not None:
        out["auc_drop"] = out["auc_float"] - out["auc_quantised"]
    return out


def _fmt(v, digits=4):
    if v is None:
        return "n/a"
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def render_markdown(report: dict) -> str:
    """The quantisation report as markdown: per-layer choices, state ranges, float vs quantised."""
    lines = ["# Quantisation report", "",
             f"Input: **{report['input_encoding']}**, {report['input_bits']}-bit; quantiser options: "
             + ", ".join(f"{k}={v}" for k, v in report["config"].items()), "",
             "| layer | weight bits | weight exp | scale S | clipped weights | beta -> quantised | threshold -> vth "
             "| max u reached / limit | max v reached / limit | u wraps | v saturations |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    ranges = report.get("evaluation", {}).get("ranges") or [{}] * len(report["layers"])
    for rec, rg in zip(report["layers"], ranges):
        lines.append(
            f"| {rec['layer']} | {rec['weight_bits']} | {rec['weight_exp']} | {rec['scale']:.4g} | "
            f"{rec['weight_clipped_fraction']:.2%} | {rec['beta']:.4f} -> {rec['beta_quantised']:.4f} | "
            f"{rec['threshold']:.4g} -> {rec['vth']} | {_fmt(rg.get('u_absmax'))} / {L.STATE_MAX} | "
            f"{_fmt(rg.get('v_absmax'))} / {L.V_LIMIT} | {rg.get('u_wraps', 'n/a')} | {rg.get('v_saturations', 'n/a')} |")
    ev = report.get("evaluation")
    if ev:
        lines += ["", f"## Float vs quantised (emulator), {ev['clips']} held-out clips", "",
                  "| metric | float | quantised |", "|---|---|---|"]
        if "auc_float" in ev:
            lines.append(f"| ROC AUC | {_fmt(ev['auc_float'])} | {_fmt(ev['auc_quantised'])} |")
            lines.append(f"| accuracy | {_fmt(ev['accuracy_float'])} | {_fmt(ev['accuracy_quantised'])} |")
        for i, (a, b) in enumerate(zip(ev["firing_rate_float"], ev["firing_rate_quantised"])):
            lines.append(f"| firing rate, layer {i} | {a:.4f} | {b:.4f} |")
        lines.append(f"| decision agreement | {ev['decision_agreement']:.2%} | |")
        if ev.get("auc_drop") is not None:
            lines += ["", f"AUC drop from quantisation: **{ev['auc_drop']:+.4f}**"]
    for w in report.get("warnings", []):
        lines += ["", f"**warning:** {w}"]
    lines += ["", state_sentence(report)]
    return "\n".join(lines) + "\n"


def state_sentence(report: dict) -> str:
    """What the state ranges reached say about wraps and saturations, from the evaluation's counts."""
    ev = report.get("evaluation") or {}
    ranges = ev.get("ranges")
    if not ranges or any("u_wraps" not in r for r in ranges):
        return "State ranges were not measured (no evaluation clips): u wraps and v saturations are unknown."
    wraps = [(i, int(r["u_wraps"])) for i, r in enumerate(ranges) if int(r["u_wraps"])]
    sats = sum(int(r.get("v_saturations", 0)) for r in ranges)
    where = f"on these {ev.get('clips', '?')} evaluation clips"
    if wraps:
        text = (f"**{sum(n for _, n in wraps)} u wrap(s) {where}** (layer(s) {', '.join(str(i) for i, _ in wraps)}): "
                "the 24-bit current wrapped around, so spikes there differ from an unbounded integer model; "
                "calibrate on more representative clips or use fewer weight bits.")
    else:
        text = f"No u wraps {where}."
    if sats:
        text += (f" {sats} v saturation(s) (v clamped at +-{L.V_LIMIT}; on a strongly inhibited neuron, "
                 "deeply negative v, that does not change spikes).")
    else:
        text += " No v saturations."
    return text
