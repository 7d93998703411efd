"""neurodeploy commands: train, sweep, reproduce, bench train."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from toolchain.cli.app import (
    JSON_OPTION,
    PROGRESS_OPTION,
    app,
    bench_app,
    console,
    emit,
    err_console,
)

CONFIG_OPTION = typer.Option(None, "--config", "-c", help="TOML config file.")
PRESET_OPTION = typer.Option(None, "--preset", help="Packaged preset instead of --config "
                             "(snn-2d, snn-1d, snn-conv, snn-rec, ann-mlp, cnn, caid2025, sweep-demo).")
DATA_OPTION = typer.Option(None, "--data", help="Data set path (replaces data.path).")
SET_OPTION = typer.Option([], "--set", help="Override a config key, e.g. --set model.num_steps=10 "
                          "(repeatable; the value is TOML).")


def _rates(rates: list | None) -> str:
    return "/".join(f"{r:.3f}" for r in rates) if rates else "-"


@app.command()
def train(
    config: Optional[Path] = CONFIG_OPTION,
    preset: Optional[str] = PRESET_OPTION,
    data: Optional[str] = DATA_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default: runs/<name>). A folder "
                                       "holding files of a run's names that neurodeploy did not write is refused."),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda (replaces device)."),
    set_: List[str] = SET_OPTION,
    force: bool = typer.Option(False, "--force", help="Replace files of a run's names (config.json, model.safetensors, "
                               "...) in --out even though neurodeploy did not write them."),
    no_progress: bool = PROGRESS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Train one model (SNN, ANN MLP or CNN) and write a run folder.

    Exit status 1 when the run ends in a learning failure (silent output, AUC at chance, NaN).
    """
    from toolchain.train.runtime import enable_huge_pages

    enable_huge_pages()  # before torch is imported
    from toolchain.train import train_run, validate
    from toolchain.train.checkpoint import claim_run_folder
    from toolchain.train.config import read_config

    overrides = list(set_) + ([f'device="{device}"'] if device else [])
    raw, where = read_config(config, preset=preset, data=data, overrides=overrides)
    cfg = validate(raw, where)
    run_dir = out or Path("runs") / cfg["name"]
    claim_run_folder(run_dir, force=force, what="--out" if out else "run folder")  # before any work
    metrics = train_run(cfg, run_dir, progress=not no_progress and not as_json, where=where)
    result = {"run": str(run_dir), **{k: v for k, v in metrics.items() if k != "history"}}

    def render(r: dict) -> None:
        console.print(f"run folder: [bold]{escape(r['run'])}[/]  ({r['kind']}, {r['n_params']:,} parameters, "
                      f"{r['n_train']} train / {r['n_val']} validation clips)")
        auc = "n/a" if r["val_auc"] is None else f"{r['val_auc']:.4f}"
        acc = "n/a" if r["val_accuracy"] is None else f"{r['val_accuracy']:.3f}"
        console.print(f"validation AUC [bold]{auc}[/]  accuracy {acc}  "
                      f"(best epoch {r['best_epoch']} of {r['epochs_run']}; {r['seconds']:.0f} s, "
                      f"{r['train_samples_per_s']:.1f} training samples/s)")
        if r["firing_rates"]:
            console.print(f"firing rates per layer (spikes/neuron/step): {_rates(r['firing_rates'])}")
        if len(r["attempts"]) > 1:
            console.print(f"attempts: {len(r['attempts'])} (seeds {[a['seed'] for a in r['attempts']]})")
        if r["failure"]:
            console.print(f"[bold red]learning failure:[/] {escape(r['failure']['reason'])}")

    emit(result, as_json, render)
    if metrics["failure"]:
        raise typer.Exit(1)


@app.command()
def sweep(
    config: Optional[Path] = CONFIG_OPTION,
    preset: Optional[str] = PRESET_OPTION,
    data: Optional[str] = DATA_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Sweep folder (default: sweeps/<name>)."),
    address: Optional[str] = typer.Option(None, "--address", help="Join this Ray cluster (e.g. "
                                          "ray://host:10001 or auto) instead of starting a local Ray."),
    set_: List[str] = SET_OPTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count trials (total, finished, pending)."),
    no_progress: bool = PROGRESS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Grid search x K-fold CV on Ray Tune; resumable (rerun the same command); seed-style tables."""
    from toolchain.train.runtime import enable_huge_pages

    enable_huge_pages()  # before torch is imported
    from toolchain.train.config import read_config, validate
    from toolchain.train.sweep import run_sweep

    raw, where = read_config(config, preset=preset, data=data, overrides=list(set_))
    sweep_dir = out or Path("sweeps") / validate(raw, where, sweep=True)["name"]
    try:
        result = run_sweep(raw, sweep_dir, where=where, address=address,
                           progress=not no_progress and not as_json, dry_run=dry_run)
    except KeyboardInterrupt:
        err_console.print(f"finished trials are kept in {escape(str(sweep_dir))}/trials", highlight=False)
        raise

    def render(r: dict) -> None:
        console.print(f"sweep folder: [bold]{escape(r['out'])}[/]  trials: {r['trials']} "
                      f"({r['finished_before']} finished before, {r['pending']} to run)")
        if dry_run:
            return
        console.print(f"ran {r['ran_now']} trials; {r['failed']} learning failures")
        console.print(Path(r["tables_md"]).read_text(), markup=False, highlight=False)

    emit(result, as_json, render)


@app.command()
def reproduce(
    study: str = typer.Argument(..., help="Study to reproduce: caid2025."),
    data: str = typer.Option(..., "--data", help="Data set (Kaggle folder / zip, or `neurodeploy data synth` output)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: reproduce.md / .json, PNGs, sweep/."),
    quick: bool = typer.Option(False, "--quick", help="The study's reduced plan (caid2025: 3 betas incl. "
                               "learnable x num_steps 1/10/20 x 3 folds x 1D and 2D on 3000 clips, "
                               "hidden 1024-64, <= 10 epochs; at most 45 min on 2 CPU cores)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A sweep config in place of the "
                                          "study's preset (its grid must vary representation.kind)."),
    address: Optional[str] = typer.Option(None, "--address", help="Join this Ray cluster instead of a local Ray."),
    estimate: bool = typer.Option(False, "--estimate", help="Train nothing: time a few batches of every "
                                  "(representation, num_steps) cell on this machine and extrapolate the grid's cost."),
    estimate_clips: int = typer.Option(30000, "--estimate-clips", help="Clips the estimate assumes (the plan's "
                                       "data.subset when it has one; 30000 = the Kaggle training set)."),
    set_: List[str] = SET_OPTION,
    no_progress: bool = PROGRESS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Rerun a published grid study (on Ray Tune, resumable) and compare with its published tables.

    Writes our median-AUC tables beside the published ones with the per-cell difference, the
    learning failures per cell, per-fold validation-accuracy curves and a computed verdict on the
    study's findings. Interrupt at any time; the same command resumes without rerunning finished trials.
    """
    from toolchain.train.runtime import enable_huge_pages, sigterm_as_interrupt

    enable_huge_pages()  # before torch is imported
    if estimate:
        return _estimate(study, data, quick, config, list(set_), estimate_clips, as_json)
    from toolchain.train.reproduce import reproduce as run_reproduce

    sigterm_as_interrupt()
    try:
        result = run_reproduce(study, data, out, quick=quick, config=config, overrides=list(set_),
                               address=address, progress=not no_progress and not as_json)
    except KeyboardInterrupt:
        err_console.print(f"[yellow]interrupted[/]: finished trials are kept in {out}/sweep/trials; "
                          "run the same command again to resume")
        raise typer.Exit(130) from None
    result = {k: v for k, v in result.items() if k != "markdown"} | {"report": str(out / "reproduce.md")}

    def render(r: dict) -> None:
        console.print(Path(r["report"]).read_text(), markup=False, highlight=False)

    emit(result, as_json, render)


def _estimate(study: str, data: str, quick: bool, config, overrides: list[str], clips: int, as_json: bool) -> None:
    from toolchain.train.config import validate
    from toolchain.train.grid_cost import estimate
    from toolchain.train.reproduce import get_study, plan

    raw, where = plan(get_study(study), data, quick=quick, config=config, overrides=overrides)
    subset = validate(raw, where, sweep=True)["data"]["subset"]
    result = estimate(raw, where, n_clips=subset or clips)

    def render(r: dict) -> None:
        console.print(f"{r['trials']} trials on {r['n_clips']} clips ({r['folds']} folds: {r['n_train']} train / "
                      f"{r['n_val']} validation clips), {r['threads_per_trial']} torch thread(s) per trial, "
                      f"{r['concurrent_trials']} trials at a time; {r['machine']['processor']}, "
                      f"{r['machine']['cpus']} CPUs, load average {r['machine']['load_average'][0]:.1f}")
        console.print("representation  steps  network                   train batch  eval batch  epoch    "
                      "trial (typ.)  trial (max)  trials")
        for c in r["cells"]:
            net = "-".join(map(str, c["sizes"]))
            console.print(f"{c['representation']:14s}  {c['num_steps']:5d}  {net:24s}  {c['train_batch_s']:9.3f} s  "
                          f"{c['eval_batch_s']:8.3f} s  {c['epoch_s'] / 60:5.1f} min  {c['trial_s_typical'] / 60:9.1f} min  "
                          f"{c['trial_s_max'] / 60:8.1f} min  {c['trials']:6d}")
        console.print(f"grid: [bold]{r['grid_hours_typical']:.1f} h[/] at a typical min({r['typical_epochs']}, max) "
                      f"epochs per trial, {r['grid_hours_max']:.1f} h if every trial runs its maximum epochs "
                      f"(timed: {r['timed_batches']} batches per cell, extrapolated; training only: data loading, "
                      "weight calibration and Ray start-up not included)")

    emit(result, as_json, render)


@bench_app.command("train")
def bench_train_cmd(
    batch: int = typer.Option(64, "--batch", min=1, help="Samples per batch."),
    num_steps: int = typer.Option(50, "--num-steps", min=1, help="Time steps per sample."),
    plain_batches: int = typer.Option(2, "--plain-batches", min=1, help="Timed batches of the plain loop."),
    fast_batches: int = typer.Option(5, "--fast-batches", min=1, help="Timed batches of the fast loop."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Benchmark this training preset's SNN "
                                         "(e.g. snn-conv, snn-rec) at its own size and steps instead of "
                                         "the seed 2D MLP (--num-steps is then the preset's)."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda: where both loops train."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Training samples/s: plain per-step snntorch loop vs neurodeploy's fast loop (seed 2D net or a preset)."""
    from toolchain.train.runtime import enable_huge_pages

    enable_huge_pages()  # before torch is imported
    from toolchain.bench.train import bench_train

    result = bench_train(batch=batch, num_steps=num_steps, plain_batches=plain_batches,
                         fast_batches=fast_batches, preset=preset, device=device)

    def render(r: dict) -> None:
        net = r["network"] if isinstance(r["network"], str) else "-".join(str(s) for s in r["network"])
        console.print(f"network {net}, batch {r['batch']}, {r['num_steps']} steps, "
                      f"{r['threads']} torch threads, on {r['gpu'] or r['device']}; same output counts: "
                      f"{r['same_output_counts']}"
                      + ("" if r["same_output_counts"] else f" ({r['differing_output_counts']} of "
                                                            f"{r['output_counts']} differ)"))
        for name in ("plain", "fast"):
            s = r[name]
            console.print(f"  {name:5s} {s['seconds_per_batch']:8.3f} s/batch  "
                          f"{s['samples_per_s']:8.1f} samples/s  ({s['batches']} batches)")
        console.print(f"  ratio [bold]{r['ratio']:.1f}x[/]")

    emit(result, as_json, render)
