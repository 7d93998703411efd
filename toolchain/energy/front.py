"""The accuracy-energy front of a sweep folder: where the SNN's accuracy is bought, cell by cell.

For every grid cell of a `neurodeploy sweep` folder (sweep.json, trials/*.json): the median validation
AUC over its finished folds (as tables.md) and its energy per classification on each SNN profile, as a
table of (cell, AUC, energy per profile), a companion table of energy per cell laid out as the seed-style
AUC tables (rows x cols per combination of the other grid keys), and a plot (AUC against energy).

Counts of a cell are ESTIMATED, cheaply, since a sweep keeps no trained model: the input layer exactly
as the deployment would send it (x_int = round(x x 255), 8-bit graded_once, of the first `clips`
clips of the sweep's data and representation; every float weight is nonzero, so each nonzero input
drives all n_1 neurons), the hidden layers from the firing rates each trial recorded on its validation
fold (mean over the cell's finished folds): layer l's ops = rate_{l-1} x n_{l-1} x n_l per step, its
spikes rate_l x n_l per step, its active neurons n_l x (1 - (1 - rate_{l-1})^{n_{l-1}}). Weights and
state are priced as the deployed fixed-point network's (8-bit weights, 48-bit u/v state). The report
says so on every table.
"""

from __future__ import annotations

import itertools
import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from toolchain.core.errors import ArtifactError, ConfigError
from toolchain.core.fileio import write_json, write_text
from toolchain.counts.workload import CUBA_STATE_BITS, POLICIES

ESTIMATE = ("estimated from the trials' recorded firing rates (float model, validation folds; every float "
            "weight nonzero) and the input layer's nonzero 8-bit inputs on {clips} clip(s) of the sweep's data")


def _steps(T: int, first: float) -> list[float]:
    return [first] + [0.0] * (T - 1)


def estimated_workload(sizes: list[int], num_steps: int, rates: list[float], nonzero_inputs: float, *,
                       weight_bits: int = 8, model: str = "snn_cell", source: str = "") -> dict[str, Any]:
    """An SNN workload (toolchain.counts.workload) from layer sizes, per-layer firing rates (spikes per
    neuron per step) and the mean number of nonzero graded inputs per clip (see module docstring)."""
    if len(rates) != len(sizes) - 1:
        raise ValueError(f"{len(rates)} firing rates for {len(sizes) - 1} layers")
    T = int(num_steps)
    layers = []
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        if i == 0:
            eff, dense = nonzero_inputs * n_out, float(n_in * n_out)
            ops_steps = {"zeros_skipped": _steps(T, eff), "dense": _steps(T, dense)}
            active = [float(n_out) if nonzero_inputs > 0 else 0.0] * T
            op = "graded"
        else:
            per = rates[i - 1] * n_in * n_out
            ops_steps = {"zeros_skipped": [per] * T, "dense": [float(n_in * n_out)] * T}
            active = [n_out * (1.0 - (1.0 - rates[i - 1]) ** n_in)] * T
            op = "binary"
        la = {"name": f"layer{i + 1}", "kind": "dense", "n_in": n_in, "n_out": n_out, "weights": n_in * n_out,
              "nonzero_weights": n_in * n_out, "weight_bits": weight_bits, "op": op,
              "ops": {p: float(sum(v)) for p, v in ops_steps.items()}, "ops_per_step": ops_steps,
              "outputs": float(n_out * T), "state_bits": CUBA_STATE_BITS, "neuron_steps": float(n_out * T),
              "active_neuron_steps": float(sum(active)), "active_per_step": active,
              "spikes": rates[i] * n_out * T, "spikes_per_step": [rates[i] * n_out] * T, "activations": 0.0}
        la["weight_fetches"] = {p: la["ops"][p] for p in POLICIES}
        la["effective_ops"], la["dense_ops"] = la["ops"]["zeros_skipped"], la["ops"]["dense"]
        layers.append(la)
    return {"model": model, "title": model, "kind": "snn", "source": source, "backend": "estimate",
            "num_steps": T, "encoding": "graded_once", "auc": None, "clips": None, "exact": False,
            "inexact": [], "layers": layers}


def _cells(cfg: dict, trials: list, rows: dict[str, dict]) -> list[dict[str, Any]]:
    """One entry per grid cell: params, its trials' finished rows, median AUC, mean firing rates."""
    cells: dict[str, dict[str, Any]] = {}
    for t in trials:
        key = json.dumps(t.params, sort_keys=True, default=str)
        cell = cells.setdefault(key, {"params": t.params, "config": t.config, "trials": [], "rows": []})
        cell["trials"].append(t.id)
        if t.id in rows:
            cell["rows"].append(rows[t.id])
    out = []
    for cell in cells.values():
        ok = [r for r in cell["rows"] if r["status"] == "ok" and r.get("firing_rates")]
        cell["n_ok"], cell["n_failed"] = len(ok), sum(r["status"] != "ok" for r in cell["rows"])
        cell["n_pending"] = len(cell["trials"]) - len(cell["rows"])
        cell["auc"] = statistics.median(r["val_auc"] for r in ok) if ok else None
        cell["rates"] = [float(np.mean(v)) for v in zip(*(r["firing_rates"] for r in ok))] if ok else None
        out.append(cell)
    return out


def sweep_front(sweep_dir: str | Path, profiles: list, *, clips: int = 8, progress: bool = False) -> dict[str, Any]:
    """The front of the sweep in `sweep_dir` priced on `profiles` (the SNN-side ones are used)."""
    from toolchain.counts import NetworkShape
    from toolchain.energy.mapping import map_network
    from toolchain.energy.price import price
    from toolchain.train.config import RESOLVED_KEY
    from toolchain.train.inputs import load_inputs, resolve
    from toolchain.train.sweep import TrialStore, expand, label

    sweep_dir = Path(sweep_dir)
    plan_path = sweep_dir / "sweep.json"
    if not plan_path.is_file():
        raise ArtifactError(f"{sweep_dir}: no sweep.json (not a `neurodeploy sweep` output folder)")
    cfg = json.loads(plan_path.read_text())["config"]
    if cfg["model"]["kind"] != "snn":
        raise ConfigError(f"{plan_path}: the sweep trains {cfg['model']['kind']!r} models; the front prices SNNs")
    if clips < 1:
        raise ConfigError(f"--clips {clips}: must be >= 1")
    trials = expand(cfg, str(plan_path))
    rows = TrialStore(sweep_dir / "trials").finished()
    snn_profiles = [p for p in profiles if p.kind in ("neuromorphic", "logic")]
    if not snn_profiles:
        raise ConfigError("the front needs at least one profile that prices SNNs (neuromorphic or logic)")
    inputs: dict[str, Any] = {}
    entries, used = [], clips
    for cell in _cells(cfg, trials, rows):
        key = json.dumps({"data": cell["config"]["data"], "rep": cell["config"]["representation"]},
                         sort_keys=True, default=str)
        if key not in inputs:
            inputs[key] = load_inputs(cell["config"], progress=progress)
        inp = inputs[key]
        resolved = resolve(cell["config"], inp)[RESOLVED_KEY]
        x = inp.features[:clips].reshape(min(clips, len(inp.features)), -1)
        used = min(used, x.shape[0])
        nonzero = float(np.count_nonzero(np.rint(np.clip(x, 0, 1) * 255)) / x.shape[0])
        name = ", ".join(f"{k.split('.')[-1]}={label(v)}" for k, v in cell["params"].items())
        entry = {"cell": name, "params": cell["params"], "auc": cell["auc"], "n_ok": cell["n_ok"],
                 "n_failed": cell["n_failed"], "n_pending": cell["n_pending"], "rates": cell["rates"],
                 "sizes": resolved["sizes"], "num_steps": cell["config"]["model"]["num_steps"],
                 "nonzero_inputs": nonzero, "energy": {}}
        if cell["rates"] is not None:
            work = estimated_workload(resolved["sizes"], entry["num_steps"], cell["rates"], nonzero, model=name,
                                      source=ESTIMATE.format(clips=x.shape[0]))
            shape = NetworkShape(tuple(resolved["sizes"]), (8,) * (len(resolved["sizes"]) - 1), "graded_once", 8)
            for p in snn_profiles:
                mapping = map_network(shape, p) if p.kind == "neuromorphic" else None
                e = price(work, p, "zeros_skipped", mapping)
                entry["energy"][p.name] = {"J": e["total_J"], "lower_bound": bool(e["lower_bound"]),
                                           "mapping": None if mapping is None else mapping["status"]}
        entries.append(entry)
    return {"sweep": str(sweep_dir), "estimate": ESTIMATE.format(clips=used), "input_policy": "zeros_skipped",
            "profiles": [p.name for p in snn_profiles], "cells": entries,
            "tables": _energy_tables(cfg, entries, [p.name for p in snn_profiles])}


def _energy_tables(cfg: dict, entries: list[dict], profiles: list[str]) -> list[dict[str, Any]]:
    """Per profile, per combination of the other grid keys: energy per (rows key, cols key) cell."""
    from toolchain.train.config import get_key
    from toolchain.train.sweep import label

    sweep = cfg["sweep"]
    grid, row_key, col_key = sweep["grid"], sweep["rows"], sweep["cols"]
    axis = {k: grid.get(k, [get_key(cfg, k, None)]) for k in (row_key, col_key)}
    others = [k for k in grid if k not in (row_key, col_key)]
    tables = []
    for prof in profiles:
        for combo in itertools.product(*(grid[k] for k in others)):
            fixed = dict(zip(others, combo))
            cells = []
            for rv in axis[row_key]:
                line = []
                for cv in axis[col_key]:
                    want = {**fixed, row_key: rv, col_key: cv}
                    match = [e for e in entries if all(e["params"].get(k, want[k]) == want[k] for k in want)]
                    e = match[0] if match else None
                    line.append(_cell_text(e, prof))
                cells.append(line)
            title = ", ".join(f"{k} = {label(v)}" for k, v in fixed.items()) or "all trials"
            tables.append({"profile": prof, "title": title, "rows_key": row_key, "cols_key": col_key,
                           "rows": [label(v) for v in axis[row_key]], "cols": [label(v) for v in axis[col_key]],
                           "cells": cells})
    return tables


def _cell_text(entry: dict | None, prof: str) -> str:
    from toolchain.energy.report import fmt_range

    if entry is None:
        return "n/a"
    if entry["rates"] is None:
        return "failed" if entry["n_failed"] else "pending"
    e = entry["energy"][prof]
    return ("≥ " if e["lower_bound"] else "") + fmt_range(e["J"])


def render_front(front: dict[str, Any]) -> str:
    """energy_front.md: the front table, then the energy tables laid out as tables.md."""
    from toolchain.energy.report import fmt_range

    profs = front["profiles"]
    md = [f"# Accuracy-energy front: {front['sweep']}", "",
          f"> ESTIMATE. Energy per classification under input policy `{front['input_policy']}`, "
          f"{front['estimate']}; '≥' marks a lower bound (a cost the profile does not publish). Only cells priced "
          "on the same profile are comparable with each other.", "",
          "| cell | median AUC (folds ok) | firing rates per LIF layer | " + " | ".join(profs) + " |",
          "|---|---|---|" + "---|" * len(profs)]
    for e in sorted(front["cells"], key=lambda e: (e["auc"] is None, -(e["auc"] or 0))):
        auc = "n/a" if e["auc"] is None else f"{e['auc']:.3f} ({e['n_ok']})"
        rates = "n/a" if e["rates"] is None else "/".join(f"{r:.3f}" for r in e["rates"])
        cells = [("≥ " if e["energy"][p]["lower_bound"] else "") + fmt_range(e["energy"][p]["J"])
                 if p in e["energy"] else "n/a" for p in profs]
        md.append(f"| {e['cell']} | {auc} | {rates} | " + " | ".join(cells) + " |")
    md += ["", "Plot: energy_front.png (AUC against energy per classification, one colour per profile).", ""]
    for t in front["tables"]:
        md += [f"## Energy per classification on `{t['profile']}`: {t['title']}", "",
               f"| {t['rows_key']} \\ {t['cols_key']} | " + " | ".join(t["cols"]) + " |",
               "|---" * (len(t["cols"]) + 1) + "|"]
        md += [f"| {name} | " + " | ".join(line) + " |" for name, line in zip(t["rows"], t["cells"])]
        md.append("")
    return "\n".join(md) + "\n"


def write_front(front: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """energy_front.json, energy_front.md and energy_front.png in `out_dir`."""
    from toolchain.energy.report import plot_front

    out = Path(out_dir)
    rows = [{"model": e["cell"], "label": e["cell"], "auc": e["auc"], "profile": p, "energy_J": v["J"],
             "lower_bound": v["lower_bound"]} for e in front["cells"] for p, v in e["energy"].items()]
    return {"json": write_json(out / "energy_front.json", front),
            "markdown": write_text(out / "energy_front.md", render_front(front)),
            "png": plot_front(rows, out / "energy_front.png", f"{front['sweep']}: median AUC against energy (estimate)")}
