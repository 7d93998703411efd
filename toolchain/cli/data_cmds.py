"""neurodeploy commands: data (check, synth, show, baselines) and bench data."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from toolchain.cli.app import JSON_OPTION, PROGRESS_OPTION, bench_app, console, data_app, emit
from toolchain.core.errors import ConfigError
from toolchain.core.outputs import check_writable

# Knob options of `data synth`: CLI flag -> (SynthConfig field, help).
SYNTH_KNOBS = {
    "--positive-fraction": ("positive_fraction", "Fraction of up-call clips (exact count = round(f * N)); the Kaggle training set's. [0.234]"),
    "--snr-min": ("snr_db_min", "Faintest up-call: SNR in dB re the ambient noise in 50-250 Hz (calls from far away). "
                  "Lower = harder. [-10]"),
    "--snr-max": ("snr_db_max", "Loudest up-call, dB (calls close to the recorder; above ~15 dB a call dominates "
                  "the waveform). [35]"),
    "--noise-dbfs": ("noise_dbfs", "Ambient noise RMS, dB re full scale (the median recording). [-42]"),
    "--noise-spread": ("noise_spread_db", "Recordings' ambient levels vary by +- this many dB (weather, traffic). [8]"),
    "--noise-slope-min": ("noise_slope_min", "Ambient spectrum ~ 1/f^alpha, alpha drawn per recording between this "
                          "and --noise-slope-max: how much low-frequency noise below 50 Hz dominates. [0.2]"),
    "--noise-slope-max": ("noise_slope_max", "Steepest ambient spectrum (higher = more low-frequency noise, "
                          "calls less visible in the waveform). [1]"),
    "--highpass": ("highpass_hz", "Recorder high-pass: noise rolls off (2nd order) below this many Hz; 0: none. [10]"),
    "--tonal-prob": ("tonal_prob", "Probability of shipping tonals with harmonics (both classes). [0.2]"),
    "--click-prob": ("click_prob", "Probability of broadband transients / clicks (both classes). [0.15]"),
    "--confounder-prob": ("confounder_prob", "Probability a negative carries another sound: a downsweep / moan / "
                          "short, steep or out-of-band upsweep. Higher = harder. [0.4]"),
    "--positive-confounder-prob": ("positive_confounder_prob", "Same, for positives. [0.15]"),
    "--confounder-snr-min": ("confounder_snr_db_min", "Faintest other sound, dB re the ambient in 50-250 Hz. [-5]"),
    "--confounder-snr-max": ("confounder_snr_db_max", "Loudest other sound, dB. [15]"),
    "--partial-prob": ("partial_prob", "Probability a call is cut by a clip edge (40-80 % inside). Higher = harder. [0.08]"),
    "--harmonic-prob": ("harmonic_prob", "Probability a call has its 2nd harmonic. [0.3]"),
    "--onset-spread": ("onset_spread_s", "Call centre within +- this many s of the clip centre (detector-cut clips). "
                       "Higher = harder. [0.15]"),
}


def _knob_option(flag: str) -> typer.models.OptionInfo:
    return typer.Option(None, flag, help=SYNTH_KNOBS[flag][1], show_default=False)


def _read_toml_knobs(path: Path) -> dict:
    import tomli

    try:
        raw = tomli.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except tomli.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    knobs = raw.get("synth", raw)
    if not isinstance(knobs, dict):
        raise ConfigError(f"{path}: [synth] must be a table of knobs")
    return knobs


def _counts(d: dict, unit: str = "") -> str:
    return ", ".join(f"{k}{unit} x {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "none"


@data_app.command("check")
def check_cmd(
    path: Path = typer.Argument(..., help="Kaggle folder (holding data/train.csv + data/train/), "
                                "whale_data.zip, whale-detection-challenge.zip, or a redux folder."),
    split: str = typer.Option("train", "--split", help="train (labelled) or test (unlabeled)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Decode again even if cached."),
    as_json: bool = JSON_OPTION,
    no_progress: bool = PROGRESS_OPTION,
) -> None:
    """Report clips per class, durations, sample rates and every problem; exit 1 if the data set is unusable."""
    from toolchain.data import check_dataset

    report = check_dataset(str(path), split=split, cache=not no_cache, progress=not (as_json or no_progress))

    def render(r: dict) -> None:
        console.print(f"data set [bold]{escape(r['path'])}[/] (layout {r['layout']}, split {r['split']})")
        pos = f" ({100 * r['positive_fraction']:.1f} % positive)" if r["positive_fraction"] is not None else ""
        classes = ", ".join(f"label {k}: {v}" if k != "unlabeled" else f"unlabeled: {v}"
                            for k, v in sorted(r["classes"].items())) or "none"
        console.print(f"clips: {r['clips']} loaded, {r['skipped']} skipped; {classes}{pos}")
        console.print(f"sample rates: {_counts(r['sample_rates'], ' Hz')}")
        console.print(f"durations: {_counts(r['durations_s'], ' s')}")
        console.print(f"channels: {_counts(r['channels'])}; formats: {_counts(r['subtypes'])}")
        if r["problems"]:
            console.print(f"{len(r['problems'])} problem(s): {_counts(r['problem_counts'])}")
            for p in r["problems"]:
                tag = "[bold red]FATAL[/]" if p["fatal"] else f"[yellow]{escape(p['kind'])}[/]"
                console.print(f"  {tag} {escape(p['message'])} -> {escape(p['action'])}", highlight=False)
        if r["fatal"]:
            console.print("[bold red]unusable:[/] fix the fatal problem(s) above")
        else:
            console.print("[green]usable[/]" + (f": {r['skipped']} clip(s) will be skipped"
                                                 if r["skipped"] else ""))

    emit(report, as_json, render)
    if report["fatal"]:
        raise typer.Exit(1)


@data_app.command("synth", help=(
    "Write a synthetic up-call data set in the Kaggle layout (OUT/data/train.csv + "
    "OUT/data/train/trainK.aiff, 16-bit PCM AIFF, 2000 Hz, 2 s), deterministic from --seed. "
    "Each clip is one recording: ambient noise with its own level and spectral slope, shipping "
    "tonals and transients (both classes); positives add a J-shaped 80-230 Hz up-call (0.5-1 s) at "
    "an SNR in [--snr-min, --snr-max], added as it is (a loud call adds energy a waveform model can "
    "see); negatives (and a few positives) carry another sound: downsweeps, moans, short / steep / "
    "out-of-band upsweeps. Knobs below, each standing for a property of real recordings (defaults "
    "in brackets; at the defaults a logistic regression on the spectrogram reaches AUC ~0.92 and "
    "one on the normalised waveform ~0.50 (measured on 3000 clips); see `neurodeploy data baselines`). "
    "--config takes a TOML file of knobs (top level or a [synth] table, field names of "
    "toolchain.data.SynthConfig); options given here override it."))
def synth_cmd(
    out: Path = typer.Argument(..., help="Output folder (gets data/ and synth.json)."),
    clips: int = typer.Option(30000, "--clips", min=1, help="Training clips."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (same seed -> identical bytes)."),
    test_clips: int = typer.Option(0, "--test-clips", min=0, help="Unlabeled clips in data/test/."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file of knobs."),
    force: bool = typer.Option(False, "--force", help="Replace a different data set already in OUT."),
    positive_fraction: Optional[float] = _knob_option("--positive-fraction"),
    snr_db_min: Optional[float] = _knob_option("--snr-min"),
    snr_db_max: Optional[float] = _knob_option("--snr-max"),
    noise_dbfs: Optional[float] = _knob_option("--noise-dbfs"),
    noise_spread_db: Optional[float] = _knob_option("--noise-spread"),
    noise_slope_min: Optional[float] = _knob_option("--noise-slope-min"),
    noise_slope_max: Optional[float] = _knob_option("--noise-slope-max"),
    highpass_hz: Optional[float] = _knob_option("--highpass"),
    tonal_prob: Optional[float] = _knob_option("--tonal-prob"),
    click_prob: Optional[float] = _knob_option("--click-prob"),
    confounder_prob: Optional[float] = _knob_option("--confounder-prob"),
    positive_confounder_prob: Optional[float] = _knob_option("--positive-confounder-prob"),
    confounder_snr_db_min: Optional[float] = _knob_option("--confounder-snr-min"),
    confounder_snr_db_max: Optional[float] = _knob_option("--confounder-snr-max"),
    partial_prob: Optional[float] = _knob_option("--partial-prob"),
    harmonic_prob: Optional[float] = _knob_option("--harmonic-prob"),
    onset_spread_s: Optional[float] = _knob_option("--onset-spread"),
    as_json: bool = JSON_OPTION,
    no_progress: bool = PROGRESS_OPTION,
) -> None:
    import json
    import time

    from toolchain.data import SynthConfig, synthesize

    values = locals()
    given = {f: values[f] for f, _ in SYNTH_KNOBS.values()}
    knobs = _read_toml_knobs(config) if config else {}
    knobs.update({k: v for k, v in given.items() if v is not None})
    cfg = SynthConfig.from_dict(knobs)
    t0 = time.perf_counter()
    path = synthesize(out, clips, seed, n_test=test_clips, config=cfg, force=force,
                      progress=not (as_json or no_progress))
    manifest = json.loads((path / "synth.json").read_text())
    result = {"out": str(path), "seconds": round(time.perf_counter() - t0, 2), **manifest,
              "positives": round(cfg.positive_fraction * clips)}

    def render(r: dict) -> None:
        console.print(f"{r['n_clips']} clips ({r['positives']} positive) + {r['n_test']} test clips, "
                      f"seed {r['seed']}, in [bold]{r['out']}/data[/] ({r['seconds']} s)")
        console.print("knobs: " + ", ".join(f"{k}={v:g}" for k, v in r["knobs"].items()))

    emit(result, as_json, render)


@data_app.command("show")
def show_cmd(
    path: Path = typer.Argument(..., help="Data set (any layout `data check` accepts)."),
    out: Path = typer.Option(..., "--out", help="Figure file (.png, .pdf, .svg)."),
    n: int = typer.Option(4, "--n", min=1, help="Clips per class."),
    seed: int = typer.Option(0, "--seed", min=0, help="Which clips (seeded draw)."),
    split: str = typer.Option("train", "--split", help="train or test."),
    scale: str = typer.Option("log", "--scale", help="Spectrogram scale: log, linear or mel."),
    as_json: bool = JSON_OPTION,
    no_progress: bool = PROGRESS_OPTION,
) -> None:
    """Draw example spectrograms of up-calls and non-calls side by side."""
    from toolchain.data.show import show_examples

    result = show_examples(str(path), out, n_per_class=n, split=split, seed=seed,
                           params={"scale": scale}, progress=not (as_json or no_progress))

    def render(r: dict) -> None:
        console.print(f"wrote [bold]{r['out']}[/]")
        for title, names in r.items():
            if isinstance(names, list):
                console.print(f"  {title}: {', '.join(names)}")

    emit(result, as_json, render)


@data_app.command("baselines")
def baselines_cmd(
    path: Path = typer.Argument(..., help="Data set (any layout `data check` accepts)."),
    clips: int = typer.Option(3000, "--clips", help="Use the first N clips (0: all)."),
    folds: int = typer.Option(3, "--folds", help="Stratified folds."),
    seed: int = typer.Option(0, "--seed", help="Fold seed."),
    only: List[str] = typer.Option([], "--only", help="Run only this baseline (repeatable): waveform, "
                                   "rms_peak_crest, fft, spectrogram."),
    as_json: bool = JSON_OPTION,
    no_progress: bool = PROGRESS_OPTION,
) -> None:
    """Logistic-regression baselines (normalised waveform, RMS/peak/crest, |FFT|, spectrogram): how hard the data is."""
    from toolchain.data.baselines import BASELINES, run_baselines

    result = run_baselines(str(path), clips=clips, folds=folds, seed=seed,
                           which=tuple(only) or BASELINES, progress=not (as_json or no_progress))

    def render(r: dict) -> None:
        console.print(f"{r['clips']} clips ({r['positives']} positive) of {r['path']}, {r['folds']} stratified folds")
        for name, b in r["baselines"].items():
            console.print(f"  logistic regression on {name:15s} AUC {b['auc_mean']:.3f} +- {b['auc_std']:.3f}  "
                          f"({b['seconds']} s)")

    emit(result, as_json, render)


@bench_app.command("data")
def bench_data_cmd(
    clips: int = typer.Option(30000, "--clips", min=1, help="Clips to synthesise (ignored with --data)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Measure this data set instead of a synthetic one."),
    naive_clips: int = typer.Option(500, "--naive-clips", min=1, help="Clips the naive per-clip loop is timed on."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Decode processes (default: CPUs, max 4)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder to write bench-data.json into."),
    as_json: bool = JSON_OPTION,
    no_progress: bool = PROGRESS_OPTION,
) -> None:
    """Decode + spectrogram of all clips: cold (cache empty), warm (cache hit) and naive per-clip loop."""
    from toolchain.bench.data import bench_data
    from toolchain.core.fileio import write_json

    if clips < 1 or naive_clips < 1:
        raise ConfigError("--clips and --naive-clips must be >= 1")
    check_writable(out)  # before the benchmark, not after it
    result = bench_data(clips, data=str(data) if data else None, naive_clips=naive_clips,
                        workers=workers, progress=not (as_json or no_progress))
    if out:
        result["written"] = str(write_json(Path(out) / "bench-data.json", result))

    def render(r: dict) -> None:
        console.print(f"{r['clips']} clips from {r['data']} ({r['workers']} workers, {r['cpu_count']} CPUs, "
                      f"load average {r['load_average_before'][0]})"
                      + (f"; synthesis {r['synth_s']} s" if "synth_s" in r else ""))
        for name in ("cold", "warm"):
            s = r[name]
            console.print(f"  {name:5s} decode {s['decode_s']:7.2f} s  spectrogram {s['spectrogram_s']:7.2f} s  "
                          f"total {s['total_s']:7.2f} s  cpu {s['cpu_s']:7.2f} s  (cache hit: {s['cache_hit']})")
        nv = r["naive"]
        console.print(f"  naive decode {nv['decode_s']:7.2f} s  spectrogram {nv['spectrogram_s']:7.2f} s  "
                      f"total {nv['total_s']:7.2f} s  cpu {nv['cpu_s']:7.2f} s  (timed on {nv['clips_measured']} "
                      f"clips, extrapolated; max |diff| vs ours {nv['max_abs_diff']:.2g})")
        ra, t = r["ratios"], r["targets"]
        console.print(f"  ratios: naive/cold [bold]{ra['naive_over_cold']}x[/] (cpu {ra['naive_over_cold_cpu']}x), "
                      f"naive/warm [bold]{ra['naive_over_warm']}x[/], cold/warm {ra['cold_over_warm']}x")
        console.print(f"  targets (30k clips): cold <= {t['cold_s']:g} s {'OK' if t['cold_ok'] else 'MISSED'}, "
                      f"warm <= {t['warm_s']:g} s {'OK' if t['warm_ok'] else 'MISSED'}")
        if "written" in r:
            console.print(f"  wrote {r['written']}")

    emit(result, as_json, render)
