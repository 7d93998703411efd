"""neurodeploy commands: train, sweep, bench train."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from toolchain.cli.app import JSON_OPTION, app, bench_app, console, emit, err_console

CONFIG_OPTION = typer.Option(None, "--config", "-c", help="TOML config file.")
PRESET_OPTION = typer.Option(None, "--preset", help="Packaged preset instead of --config "
                             "(snn-2d, snn-1d, snn-conv, snn-rec, ann-mlp, cnn, caid2025, sweep-demo).")
DATA_OPTION = typer.Option(None, "--data", help="Data set path (replaces data.path).")
SET_OPTION = typer.Option([], "--set", help="Override a config key, e.g. --set model.num_steps=10 "
                          "(repeatable; the value is TOML).")
PROGRESS_OPTION = typer.Option(False, "--no-progress", help="No progress bars.")


def _rates(rates: list | None) -> str:
    return "/".join(f"{r:.3f}" for r in rates) if rates else "-"


@app.command()
def train(
    config: Optional[Path] = CONFIG_OPTION,
    preset: Optional[str] = PRESET_OPTION,
    data: Optional[str] = DATA_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default: runs/<name>)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda (replaces device)."),
    set_: List[str] = SET_OPTION,
    no_progress: bool = PROGRESS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Train one model (SNN, ANN MLP or CNN) and write a run folder.

    Exit status 1 when the run ends in a learning failure (silent output, AUC at chance, NaN).
    """
    from toolchain.train.runtime import enable_huge_pages, sigterm_as_interrupt

    enable_huge_pages()  # before torch is imported
    from toolchain.train import train_run, validate
    from toolchain.train.config import read_config

    overrides = list(set_) + ([f'device="{device}"'] if device else [])
    raw, where = read_config(config, preset=preset, data=data, overrides=overrides)
    cfg = validate(raw, where)
    run_dir = out or Path("runs") / cfg["name"]
    sigterm_as_interrupt()
    metrics = train_run(cfg, run_dir, progress=not no_progress and not as_json, where=where)
    result = {"run": str(run_dir), **{k: v for k, v in metrics.items() if k != "history"}}

    def render(r: dict) -> None:
        console.print(f"run folder: [bold]{r['run']}[/]  ({r['kind']}, {r['n_params']:,} parameters, "
                      f"{r['n_train']} train / {r['n_val']} validation clips)")
        console.print(f"validation AUC [bold]{r['val_auc']:.4f}[/]  accuracy {r['val_accuracy']:.3f}  "
                      f"(best epoch {r['best_epoch']} of {r['epochs_run']}; {r['seconds']:.0f} s, "
                      f"{r['train_samples_per_s']:.1f} training samples/s)")
        if r["firing_rates"]:
            console.print(f"firing rates per layer (spikes/neuron/step): {_rates(r['firing_rates'])}")
        if len(r["attempts"]) > 1:
            console.print(f"attempts: {len(r['attempts'])} (seeds {[a['seed'] for a in r['attempts']]})")
        if r["failure"]:
            console.print(f"[bold red]learning failure:[/] {r['failure']['reason']}")

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
    from toolchain.train.runtime import enable_huge_pages, sigterm_as_interrupt

    enable_huge_pages()  # before torch is imported
    from toolchain.train.config import read_config
    from toolchain.train.sweep import run_sweep

    raw, where = read_config(config, preset=preset, data=data, overrides=list(set_))
    sweep_dir = out or Path("sweeps") / raw["name"]
    sigterm_as_interrupt()
    try:
        result = run_sweep(raw, sweep_dir, where=where, address=address,
                           progress=not no_progress and not as_json, dry_run=dry_run)
    except KeyboardInterrupt:
        err_console.print(f"[yellow]interrupted[/]: finished trials are kept in {sweep_dir}/trials; "
                          "run the same command again to resume")
        raise typer.Exit(130) from None

    def render(r: dict) -> None:
        console.print(f"sweep folder: [bold]{r['out']}[/]  trials: {r['trials']} "
                      f"({r['finished_before']} finished before, {r['pending']} to run)")
        if dry_run:
            return
        console.print(f"ran {r['ran_now']} trials; {r['failed']} learning failures")
        console.print(Path(r["tables_md"]).read_text(), markup=False, highlight=False)

    emit(result, as_json, render)


@bench_app.command("train")
def bench_train_cmd(
    batch: int = typer.Option(64, "--batch", help="Samples per batch."),
    num_steps: int = typer.Option(50, "--num-steps", help="Time steps per sample."),
    plain_batches: int = typer.Option(2, "--plain-batches", help="Timed batches of the plain loop."),
    fast_batches: int = typer.Option(5, "--fast-batches", help="Timed batches of the fast loop."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Benchmark this training preset's SNN "
                                         "(e.g. snn-conv, snn-rec) at its own size and steps instead of "
                                         "the seed 2D MLP (--num-steps is then the preset's)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Training samples/s: plain per-step snntorch loop vs neurodeploy's fast loop (seed 2D net or a preset)."""
    from toolchain.train.runtime import enable_huge_pages

    enable_huge_pages()  # before torch is imported
    from toolchain.bench.train import bench_train

    result = bench_train(batch=batch, num_steps=num_steps, plain_batches=plain_batches,
                         fast_batches=fast_batches, preset=preset)

    def render(r: dict) -> None:
        net = r["network"] if isinstance(r["network"], str) else "-".join(str(s) for s in r["network"])
        console.print(f"network {net}, batch {r['batch']}, {r['num_steps']} steps, "
                      f"{r['threads']} torch threads; same output counts: {r['same_output_counts']}")
        for name in ("plain", "fast"):
            s = r[name]
            console.print(f"  {name:5s} {s['seconds_per_batch']:8.3f} s/batch  "
                          f"{s['samples_per_s']:8.1f} samples/s  ({s['batches']} batches)")
        console.print(f"  ratio [bold]{r['ratio']:.1f}x[/]")

    emit(result, as_json, render)
