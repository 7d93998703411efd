"""Verification: the same clips through the float snntorch model, the emulator and Lava.

Emulator vs Lava must agree exactly (equal integers: every neuron's spike at every step).
Float vs quantised is a measured difference (decisions, AUC, per-layer activity), not a
requirement of equality: quantisation is allowed to change some spikes.
"""

from __future__ import annotations

import numpy as np

from toolchain.core.metrics import auc
from toolchain.core.result import SimResult
from toolchain.emulator import run_encoded
from toolchain.frontends.float_net import FloatNetwork
from toolchain.frontends.reference import simulate_float
from toolchain.ir.graph import NetworkIR
from toolchain.represent.encoding import encode_for_ir


def layer_agreement(a: SimResult, b: SimResult) -> list[dict]:
    """Per layer: exact equality, fraction of equal (clip, step, neuron) entries, spike totals, first mismatch."""
    rows = []
    for i, (sa, sb) in enumerate(zip(a.layer_spikes, b.layer_spikes)):
        equal = sa == sb
        bad = np.argwhere(~equal)
        rows.append({"layer": i, "exact": bool(equal.all()), "agreement": float(equal.mean()),
                     "mismatches": int(bad.shape[0]), f"spikes_{a.backend}": int(sa.sum()),
                     f"spikes_{b.backend}": int(sb.sum()),
                     "first_mismatch": None if bad.size == 0 else [int(v) for v in bad[0]]})
    return rows


def compare_float(float_res: SimResult, quant: SimResult, labels=None) -> dict:
    """Decision agreement, AUCs and per-layer firing rates of float vs quantised runs."""
    out = {
        "decision_agreement": float(np.mean(float_res.decisions == quant.decisions)),
        "firing_rate_float": [float(s.mean()) for s in float_res.layer_spikes],
        "firing_rate_quantised": [float(s.mean()) for s in quant.layer_spikes],
    }
    if labels is not None:
        out["auc_float"] = auc(labels, float_res.scores())
        out["auc_quantised"] = auc(labels, quant.scores())
        out["accuracy_float"] = float(np.mean(float_res.decisions == labels))
        out["accuracy_quantised"] = float(np.mean(quant.decisions == labels))
    return out


def verify(ir: NetworkIR, float_net: FloatNetwork | None, x: np.ndarray, labels=None, seed: int = 0,
           lava: bool = True, backends: tuple[str, ...] | None = None) -> dict:
    """Run the emulator and every requested back end (`export.registry`) on input x; the report dict.

    x: features [N, n_in] in [0, 1] (or the IR's own input form: spike trains, biases). `backends`
    names the back ends to compare with the emulator (default: "lava" when lava=True); each runs only
    if it can express the IR (else its problems are reported). report["ok"] is True when every
    compared back end equals the emulator for every neuron at every step, False when one differs,
    and None when nothing was compared (not verified).
    """
    from export.registry import BACKENDS

    names = tuple(backends) if backends is not None else (("lava",) if lava else ())
    inp = encode_for_ir(ir, x, seed)
    emu = run_encoded(ir, inp)
    report: dict = {"clips": int(inp.shape[0]), "num_steps": ir.num_steps, "encoding": ir.input.encoding,
                    "emulator_seconds": emu.meta["seconds"], "backends": {}}
    compared = []
    for name in names:
        backend = BACKENDS[name]
        problems = backend.problems(ir)
        if problems or backend.run is None:
            report["backends"][name] = {"compared": False, "problems": problems or ["it cannot run a network"]}
            continue
        res = backend.run(ir, inp, False)
        rows = layer_agreement(emu, res)
        counts_equal = bool(np.array_equal(emu.counts, res.counts))
        report["backends"][name] = {"compared": True, "layers": rows, "output_counts_equal": counts_equal,
                                    "seconds": res.meta["seconds"],
                                    "exact": all(r["exact"] for r in rows) and counts_equal}
        compared.append(report["backends"][name]["exact"])
        if name == "lava":
            report["lava_seconds"] = res.meta["seconds"]
            report["emulator_vs_lava"] = rows
            report["output_counts_equal"] = counts_equal
    if float_net is not None:
        flo = simulate_float(float_net, x, seed=seed)
        report["float_vs_quantised"] = compare_float(flo, emu, labels)
        report["float_vs_quantised_layers"] = layer_agreement(flo, emu)
    elif labels is not None:
        report["auc_quantised"] = auc(labels, emu.scores())
    report["ok"] = all(compared) if compared else None
    return report
