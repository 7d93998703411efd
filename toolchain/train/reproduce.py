"""`neurodeploy reproduce STUDY --data PATH --out DIR [--quick]`: a published grid study, rerun.

A study (registry `STUDIES`) is a sweep preset holding the published grid, the published
median-AUC tables (a preset file typed in from the publication, with its source), and a quick
plan (a smaller grid, fewer folds and clips, smaller hidden layers) that keeps the study's shape.
The grid runs through `toolchain.train.sweep.run_sweep` (Ray Tune, resumable: DIR/sweep/trials
holds one row per finished trial, and rerunning the same command runs only the rest), then
`toolchain.train.reproduce_report` compares: our tables beside the published ones with the
per-cell difference, the learning failures per cell with their reasons, per-fold validation
accuracy curves, and a verdict on each of the study's findings computed from the results.

caid2025 (Martin, Maximin, Averty, CAID 2025: SNN MLPs on the raw waveform (1D) and on
spectrograms (2D)): full grid beta {0.7, 0.8, 0.9, 0.95, learnable} x num_steps {1, 10, 20, 30,
40, 50} x 5 folds x {1D, 2D} = 300 trials at the seed's layer sizes (preset caid2025). Quick:
beta {0.7, 0.9, learnable} x num_steps {1, 10, 20} x 3 folds x {1D, 2D} = 54 trials on a
3000-clip stratified subset with hidden layers 1024-64 and at most 10 epochs (patience 3).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolchain.core.errors import ConfigError
from toolchain.core.fileio import write_json, write_text
from toolchain.train.config import preset_path, read_config, read_toml, validate


@dataclass(frozen=True)
class Study:
    """A reproducible grid study: `preset` (a sweep preset with the published grid), `published`
    (a preset file: source, rows/cols keys and values, [tables.<representation>] values, the
    failures the publication shows), `names` (representation kind -> how the study names it), and
    the quick plan: grid values, folds, clip subset and `--set`-style overrides."""

    name: str
    title: str
    preset: str
    published: str
    names: dict[str, str]
    quick_grid: dict[str, list] = field(default_factory=dict)
    quick_folds: int = 3
    quick_clips: int = 3000
    quick_set: tuple[str, ...] = ()


STUDIES = {
    "caid2025": Study(
        name="caid2025",
        title="CAID 2025: Spiking Neural Networks for energy-efficient audio signals "
              "classification: representation matters (Martin, Maximin, Averty)",
        preset="caid2025", published="caid2025-published",
        names={"waveform": "1D (raw waveform)", "spectrogram": "2D (spectrogram)"},
        quick_grid={"model.beta": [0.7, 0.9, "learnable"], "model.num_steps": [1, 10, 20]},
        quick_folds=3, quick_clips=3000,
        quick_set=("model.hidden=[1024, 64]", "train.epochs=10", "train.patience=3")),
}


def get_study(name: str) -> Study:
    if name not in STUDIES:
        raise ConfigError(f"no study {name!r} to reproduce (known: {', '.join(sorted(STUDIES))})")
    return STUDIES[name]


def load_published(study: Study) -> dict:
    """The published tables as {"source", "rows_key", "cols_key", "rows", "cols", "failures",
    "tables": {representation: [[value per col] per row]}}, checked for shape."""
    path = preset_path(study.published)
    raw = read_toml(path)
    for key in ("source", "rows_key", "cols_key", "rows", "cols", "tables"):
        if key not in raw:
            raise ConfigError(f"{path}: published results need {key!r}")
    for rep, table in raw["tables"].items():
        values = table.get("values")
        if (not isinstance(values, list) or len(values) != len(raw["rows"])
                or any(len(line) != len(raw["cols"]) for line in values)):
            raise ConfigError(f"{path}: tables.{rep}.values must be {len(raw['rows'])} rows of "
                              f"{len(raw['cols'])} values")
    raw.setdefault("failures", [])
    return raw


def plan(study: Study, data: str, *, quick: bool = False, config: str | Path | None = None,
         overrides: list[str] | tuple[str, ...] = ()) -> tuple[dict, str]:
    """The raw sweep config of a reproduction: the study's preset (or `config`, a sweep config
    file in its place), the data path, the quick plan when `quick`, then `overrides`."""
    quick_set = list(study.quick_set) if quick else []
    if quick:
        quick_set += [f"sweep.folds={study.quick_folds}", f"data.subset={study.quick_clips}"]
    raw, where = read_config(config, preset=None if config else study.preset, data=data,
                             overrides=quick_set + list(overrides))
    if quick:
        raw = copy.deepcopy(raw)
        for key, values in study.quick_grid.items():
            if key not in raw.get("sweep", {}).get("grid", {}):
                raise ConfigError(f"{where}: the quick plan varies {key!r}, which its sweep.grid lacks")
            raw["sweep"]["grid"][key] = list(values)
        where = f"{where} (quick)"
    cfg = validate(raw, where, sweep=True)
    if "representation.kind" not in cfg["sweep"]["grid"]:
        raise ConfigError(f"{where}: a reproduction compares representations: sweep.grid needs "
                          "\"representation.kind\"")
    return raw, where


def reproduce(name: str, data: str, out: str | Path, *, quick: bool = False,
              config: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
              address: str | None = None, progress: bool = True) -> dict:
    """Run (or resume) the study's grid into out/sweep and write the comparison into out:
    reproduce.md, reproduce.json, the sweep's heatmaps and curves_<representation>.png.
    Returns the comparison (see toolchain.train.reproduce_report.compare)."""
    from toolchain.train.reproduce_report import compare, write_report
    from toolchain.train.sweep import TrialStore, expand, run_sweep

    study = get_study(name)
    raw, where = plan(study, data, quick=quick, config=config, overrides=overrides)
    published = load_published(study)
    out = Path(out)
    t0 = time.perf_counter()
    summary = run_sweep(raw, out / "sweep", where=where, address=address, progress=progress)
    wall = time.perf_counter() - t0
    cfg = validate(raw, where, sweep=True)
    trials = expand(raw, where)
    rows = TrialStore(out / "sweep" / "trials").finished()
    result = compare(study, cfg, published, summary["tables"], trials, rows)
    result["run"] = {"quick": quick, "data": str(data), "out": str(out), "where": where,
                     "trials": summary["trials"], "finished_before": summary["finished_before"],
                     "ran_now": summary["ran_now"], "failed": summary["failed"],
                     "wall_s_this_invocation": round(wall, 1),
                     "trial_seconds_total": round(sum(r.get("seconds") or 0.0 for r in rows.values()), 1),
                     "n_clips": _n_clips(rows, trials), "grid": cfg["sweep"]["grid"],
                     "folds": cfg["sweep"]["folds"], "fold_kind": cfg["sweep"]["fold_kind"],
                     "when": cfg["sweep"]["when"], "base": _base_settings(cfg)}
    write_report(result, trials, rows, out, sweep_dir=out / "sweep")
    write_json(out / "reproduce.json", result)
    write_text(out / "reproduce.md", result["markdown"])
    return result


def _n_clips(rows: dict[str, dict], trials) -> int | None:
    for t in trials:
        if t.id in rows:
            return t.config.get("data", {}).get("subset") or None
    return None


def _base_settings(cfg: dict) -> dict[str, Any]:
    """The settings every trial shares (what the report states beside the grid)."""
    model, train = cfg["model"], cfg["train"]
    return {"hidden": model["hidden"], "reset": model["reset"], "encoding": model["encoding"],
            "threshold": model["threshold"], "slope": model["slope"], "init_rate": model["init_rate"],
            "epochs": train["epochs"], "patience": train["patience"], "lr": train["lr"],
            "batch_size": train["batch_size"], "scheduler": train["scheduler"],
            "subset": cfg["data"]["subset"], "seed": cfg["seed"]}
