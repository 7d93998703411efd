"""The comparison a reproduction writes: our median-AUC tables beside the published ones, the
learning failures per cell, per-fold validation-accuracy curves, and a computed verdict.

Cells: a cell's value is the sweep's median validation AUC over its folds that finished without
a learning failure (toolchain.train.sweep.seed_tables); a cell whose folds all failed has no
value (shown "failed") and counts as a collapse where the verdict asks about one. The difference
is ours minus published, for the cells both grids hold.

Verdict on the seed study's findings (each "holds", "partly", "does not hold" or "no verdict",
with the numbers it was decided on):
- representation matters: in every (beta, num_steps >= 10) cell finished in both
  representations, the 2D median exceeds the 1D median by at least REPRESENTATION_MARGIN
  (holds), in some of them (partly), in none (does not hold);
- 2D collapses at num_steps = 1: for every beta row, the 2D cell at num_steps = 1 lies at least
  COLLAPSE_DROP below the median of that row's 2D cells at num_steps >= 10, or all its folds
  failed (holds), for some rows (partly), for none (does not hold);
- intermittent 1D learning failures: some 1D cell has both failed and successful folds, i.e.
  identical hyperparameters learn on one fold and fail on another (holds); 1D failures only
  where every fold of a cell failed (partly); no 1D failure (does not hold).
"""

from __future__ import annotations

import io
import math
import statistics
from pathlib import Path
from typing import Any

from toolchain.train.sweep import label

REPRESENTATION_MARGIN = 0.05  # AUC: 2D must beat 1D by this much in a cell to count
COLLAPSE_DROP = 0.05  # AUC: a num_steps = 1 cell this far below its row's num_steps >= 10 cells
WAVEFORM, SPECTROGRAM = "waveform", "spectrogram"
KIND_KEY = "representation.kind"


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def compare(study, cfg: dict, published: dict, tables: list[dict], trials, rows: dict) -> dict:
    """{"study", "source", "tables": [...], "failures": [...], "verdict": [...]}.

    Each table: representation, title, rows_key/cols_key, rows, cols, and cells [row][col] of
    {"ours", "n_ok", "n_failed", "n_pending", "text", "published", "diff"}.
    """
    pub_rows = [label(v) for v in published["rows"]]
    pub_cols = [label(v) for v in published["cols"]]
    out_tables = []
    for table in tables:
        rep = table["fixed"].get(KIND_KEY)
        pub = published["tables"].get(rep) if (table["rows_key"], table["cols_key"]) == (
            published["rows_key"], published["cols_key"]) else None
        cells = []
        for rl, line in zip(table["rows"], table["cells"]):
            out_line = []
            for cl, cell in zip(table["cols"], line):
                value = None
                if pub is not None and rl in pub_rows and cl in pub_cols:
                    value = pub["values"][pub_rows.index(rl)][pub_cols.index(cl)]
                ours = cell["median"] if _finite(cell["median"]) else None
                out_line.append({"ours": ours, "n_ok": cell["n_ok"], "n_failed": cell["n_failed"],
                                 "n_pending": cell["n_pending"], "text": cell["text"],
                                 "published": value,
                                 "diff": ours - value if ours is not None and value is not None else None})
            cells.append(out_line)
        out_tables.append({"representation": rep, "name": study.names.get(rep, str(rep)),
                           "title": table["title"], "fixed": table["fixed"],
                           "rows_key": table["rows_key"], "cols_key": table["cols_key"],
                           "rows": table["rows"], "cols": table["cols"], "cells": cells,
                           "heatmap": table.get("heatmap")})
    failures = []
    for t in trials:
        row = rows.get(t.id)
        if row is not None and row["status"] != "ok":
            failures.append({"representation": t.params.get(KIND_KEY), "params": t.params,
                             "fold": t.fold + 1, "kind": row["failure"]["kind"],
                             "epoch": row["failure"]["epoch"], "reason": row["failure"]["reason"]})
    result = {"study": study.name, "title": study.title, "source": published["source"],
              "published_failures": published["failures"], "tables": out_tables,
              "failures": failures}
    result["verdict"] = verdict(result, published)
    return result


def _by_rep(result: dict, rep: str) -> list[dict]:
    """Tables of one representation whose other fixed grid keys are all the same (the first
    combination): [table] or []."""
    tables = [t for t in result["tables"] if t["representation"] == rep]
    return tables[:1]


def _cell_map(table: dict, key: str = "ours") -> dict[tuple[str, str], Any]:
    return {(r, c): cell[key] for r, line in zip(table["rows"], table["cells"])
            for c, cell in zip(table["cols"], line)}


def _steps(col: str) -> int | None:
    try:
        return int(col)
    except ValueError:
        return None


def _published_map(published: dict, rep: str) -> dict[tuple[str, str], float]:
    table = published["tables"].get(rep)
    if table is None:
        return {}
    return {(label(r), label(c)): table["values"][i][j]
            for i, r in enumerate(published["rows"]) for j, c in enumerate(published["cols"])}


def _representation_finding(result: dict, published: dict) -> dict:
    name = "representation matters (2D > 1D at num_steps >= 10)"
    one, two = _by_rep(result, WAVEFORM), _by_rep(result, SPECTROGRAM)
    if not one or not two or one[0]["rows_key"] != two[0]["rows_key"]:
        return {"finding": name, "status": "no verdict", "evidence": "the grid lacks one of the two representations"}
    a, b = _cell_map(one[0]), _cell_map(two[0])
    pairs = [(k, a[k], b[k]) for k in a if k in b and _finite(a[k]) and _finite(b[k])
             and (_steps(k[1]) or 0) >= 10]
    if not pairs:
        return {"finding": name, "status": "no verdict",
                "evidence": "no (beta, num_steps >= 10) cell finished without failures in both representations"}
    gaps = [y - x for _, x, y in pairs]
    wins = sum(g >= REPRESENTATION_MARGIN for g in gaps)
    status = "holds" if wins == len(pairs) else ("does not hold" if wins == 0 else "partly")
    pa, pb = _published_map(published, WAVEFORM), _published_map(published, SPECTROGRAM)
    pub_gaps = [pb[k] - pa[k] for k, _, _ in pairs if k in pa and k in pb]
    evidence = (f"2D beats 1D by >= {REPRESENTATION_MARGIN} AUC in {wins} of {len(pairs)} cells "
                f"(median gap {statistics.median(gaps):+.3f}, range {min(gaps):+.3f} to {max(gaps):+.3f})")
    if pub_gaps:
        evidence += f"; published median gap over the same cells {statistics.median(pub_gaps):+.3f}"
    return {"finding": name, "status": status, "evidence": evidence,
            "gaps": {f"{k[0]}|{k[1]}": g for (k, _, _), g in zip(pairs, gaps)}}


def _collapse_finding(result: dict, published: dict) -> dict:
    name = "2D collapses at num_steps = 1"
    two = _by_rep(result, SPECTROGRAM)
    if not two or "1" not in two[0]["cols"]:
        return {"finding": name, "status": "no verdict", "evidence": "the grid has no 2D cell at num_steps = 1"}
    table = two[0]
    cells = {(r, c): cell for r, line in zip(table["rows"], table["cells"]) for c, cell in zip(table["cols"], line)}
    pub = _published_map(published, SPECTROGRAM)
    drops, parts, judged = [], [], 0
    for r in table["rows"]:
        one = cells[(r, "1")]
        rest = [cells[(r, c)]["ours"] for c in table["cols"] if (_steps(c) or 0) >= 10 and _finite(cells[(r, c)]["ours"])]
        if not rest or (one["ours"] is None and not one["n_failed"]):
            continue
        judged += 1
        ref = statistics.median(rest)
        if one["ours"] is None:
            drops.append(True)
            parts.append(f"beta {r}: every fold failed (others {ref:.3f})")
            continue
        drop = ref - one["ours"]
        drops.append(drop >= COLLAPSE_DROP)
        text = f"beta {r}: {one['ours']:.3f} vs {ref:.3f} (drop {drop:+.3f}"
        pub_rest = [pub[(r, c)] for c in table["cols"] if (_steps(c) or 0) >= 10 and (r, c) in pub]
        if (r, "1") in pub and pub_rest:
            text += f"; published {statistics.median(pub_rest) - pub[(r, '1')]:+.3f}"
        parts.append(text + ")")
    if not judged:
        return {"finding": name, "status": "no verdict",
                "evidence": "no beta row has both a finished num_steps = 1 cell and a num_steps >= 10 cell"}
    n = sum(drops)
    status = "holds" if n == judged else ("does not hold" if n == 0 else "partly")
    return {"finding": name, "status": status,
            "evidence": f"{n} of {judged} beta rows drop by >= {COLLAPSE_DROP} AUC at num_steps = 1: " + "; ".join(parts)}


def _failure_finding(result: dict) -> dict:
    name = "intermittent 1D learning failures"
    one = _by_rep(result, WAVEFORM)
    if not one:
        return {"finding": name, "status": "no verdict", "evidence": "the grid has no 1D cells"}
    table = one[0]
    failed = [f for f in result["failures"] if f["representation"] == WAVEFORM]
    cells = [(r, c, cell) for r, line in zip(table["rows"], table["cells"]) for c, cell in zip(table["cols"], line)]
    mixed = [(r, c, cell) for r, c, cell in cells if cell["n_failed"] and cell["n_ok"]]
    total = sum(cell["n_ok"] + cell["n_failed"] for _, _, cell in cells)
    if not failed:
        return {"finding": name, "status": "does not hold",
                "evidence": f"no 1D learning failure in {total} finished 1D trials"}
    where = "; ".join(f"beta {r}, num_steps {c}: {cell['n_failed']} of {cell['n_ok'] + cell['n_failed']} folds"
                      for r, c, cell in mixed)
    if mixed:
        return {"finding": name, "status": "holds",
                "evidence": f"{len(failed)} of {total} 1D trials failed; {len(mixed)} cell(s) learn on some "
                            f"folds and fail on others ({where})"}
    return {"finding": name, "status": "partly",
            "evidence": f"{len(failed)} of {total} 1D trials failed, but only in cells where every fold failed"}


def verdict(result: dict, published: dict) -> list[dict]:
    """The three findings (see the module docstring), each {"finding", "status", "evidence"}."""
    return [_representation_finding(result, published), _collapse_finding(result, published),
            _failure_finding(result)]


def _fmt(v: Any, signed: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.3f}" if signed else f"{v:.3f}"


def _grid_table(out: io.StringIO, table: dict, what: str) -> None:
    out.write(f"| {table['rows_key']} \\ {table['cols_key']} | " + " | ".join(table["cols"]) + " |\n")
    out.write("|---" * (len(table["cols"]) + 1) + "|\n")
    for name, line in zip(table["rows"], table["cells"]):
        if what == "ours":
            texts = [c["text"] for c in line]
        elif what == "published":
            texts = [_fmt(c["published"]) for c in line]
        else:
            texts = [_fmt(c["diff"], signed=True) for c in line]
        out.write(f"| {name} | " + " | ".join(texts) + " |\n")


def markdown(result: dict, curves: dict[str, str]) -> str:
    run = result["run"]
    out = io.StringIO()
    out.write(f"# Reproduction: {result['title']}\n\n")
    plan = "quick plan" if run["quick"] else "full grid"
    grid = ", ".join(f"{k} {[label(v) for v in vs]}" for k, vs in run["grid"].items())
    base = run["base"]
    out.write(f"- data: `{run['data']}`" + (f" (stratified subset of {base['subset']} clips)" if base["subset"] else "")
              + "\n")
    out.write(f"- {plan}: {grid}; {run['folds']} {run['fold_kind']} folds = {run['trials']} trials "
              f"({run['finished_before']} finished before this invocation, {run['ran_now']} run now, "
              f"{run['failed']} learning failures)\n")
    out.write(f"- every trial: hidden {base['hidden']}, reset {base['reset']}, {base['encoding']} input, "
              f"threshold {base['threshold']:g}, slope {base['slope']:g}, init_rate {base['init_rate']:g}, "
              f"Adam lr {base['lr']:g}, batch {base['batch_size']}, {base['scheduler']} schedule, at most "
              f"{base['epochs']} epochs (patience {base['patience']}), seed {base['seed']}\n")
    for cond, sets in run["when"].items():
        out.write(f"- where {cond}: " + ", ".join(f"{k} = {label(v)}" for k, v in sets.items()) + "\n")
    out.write(f"- wall time of this invocation {run['wall_s_this_invocation'] / 60:.1f} min; sum of "
              f"trial times {run['trial_seconds_total'] / 60:.1f} min\n")
    out.write(f"- published: {result['source']}\n\n")
    out.write("## Verdict: the seed's findings on this data\n\n")
    for v in result["verdict"]:
        out.write(f"- **{v['finding']}: {v['status']}**. {v['evidence']}.\n")
    for table in result["tables"]:
        extra = [f"{k} = {label(v)}" for k, v in table["fixed"].items() if k != KIND_KEY]
        head = table["name"] + (f", {', '.join(extra)}" if extra else "")
        out.write(f"\n## {head}: median validation AUC\n\nOurs (median over the folds without a "
                  "learning failure):\n\n")
        _grid_table(out, table, "ours")
        out.write("\nPublished (same cells):\n\n")
        _grid_table(out, table, "published")
        out.write("\nDifference (ours - published):\n\n")
        _grid_table(out, table, "diff")
        if table.get("heatmap"):
            out.write(f"\n![heatmap](sweep/{table['heatmap']})\n")
    out.write("\n## Learning failures per cell\n\n")
    if result["failures"]:
        out.write("| representation | cell | fold | reason |\n|---|---|---|---|\n")
        for f in result["failures"]:
            cell = ", ".join(f"{k.split('.')[-1]} {label(v)}" for k, v in f["params"].items() if k != KIND_KEY)
            out.write(f"| {f['representation']} | {cell} | {f['fold']} | {f['reason']} |\n")
    else:
        out.write("No trial ended in a learning failure.\n")
    for f in result["published_failures"]:
        cell = ", ".join(f"{k.split('.')[-1]} {label(v)}" for k, v in f.items() if k not in ("representation", "fold"))
        out.write(f"\nPublished: a learning failure on fold {f['fold']} ({f['representation']}, {cell}).\n")
    out.write("\n## Training behaviour: validation accuracy per fold\n\n")
    for rep, path in curves.items():
        out.write(f"![{rep}]({path})\n\n")
    return out.getvalue()


def write_report(result: dict, trials, rows: dict, out: Path, sweep_dir: Path) -> None:
    """curves_<representation>.png for every table, then result["markdown"]."""
    from toolchain.train.plots import fold_curves

    curves = {}
    for table in result["tables"]:
        rep = table["representation"]
        grid = []
        for rl in table["rows"]:
            line = []
            for cl in table["cols"]:
                folds = []
                for t in trials:
                    if (t.params.get(KIND_KEY) == rep and label(t.params.get(table["rows_key"])) == rl
                            and label(t.params.get(table["cols_key"])) == cl
                            and all(t.params.get(k) == v for k, v in table["fixed"].items())
                            and t.id in rows):
                        row = rows[t.id]
                        folds.append({"fold": t.fold + 1, "failed": row["status"] != "ok",
                                      "epochs": [h["epoch"] for h in row["history"]],
                                      "val_accuracy": [h.get("val_accuracy") for h in row["history"]]})
                line.append(folds)
            grid.append(line)
        name = f"curves_{rep}.png"
        fold_curves(grid, table["rows"], table["cols"], out / name,
                    f"{table['name']}: validation accuracy per fold (dashed red: learning failure)",
                    table["rows_key"], table["cols_key"])
        curves[rep] = name
    result["markdown"] = markdown(result, curves)
