"""neurodeploy commands: detect, data synth-recording, bench detect."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from toolchain.cli.app import (
    JSON_OPTION,
    PROGRESS_OPTION,
    app,
    bench_app,
    console,
    data_app,
    emit,
    err_console,
)
from toolchain.core.outputs import check_writable


def _print(*args, **kw) -> None:
    """console.print, 150 columns wide when stdout is a file or pipe (tables are not squeezed to 80)."""
    from rich.console import Console

    out = console if console.is_terminal else Console(width=150)
    out.print(*args, highlight=False, **kw)


def _r(v, fmt="{:.3f}") -> str:
    return "n/a" if v is None else fmt.format(v)


def render_energy_day(day: dict) -> None:
    """The energy-per-day table and its statements (rich, on stdout)."""
    from rich.table import Table

    from toolchain.detect.energy_day import fmt_energy_range, fmt_life
    from toolchain.energy.report import fmt_range

    t = Table(title=f"Energy per day of monitoring: {day['listening_hours_per_day']:g} h listening, "
                    f"{day['classifications_per_day']:,.0f} {day['unit']}s a day, battery {day['battery_wh']:g} Wh "
                    "(estimates; >= lower bound, <= upper bound)")
    for col in ("profile", "per class.", "class. / day", "static / day", "total / day", "dominant", "battery life"):
        t.add_column(col, justify="right")
    for r in day["rows"]:
        life = fmt_range(r["battery_days"], fmt_life)
        t.add_row(f"{r['side'].upper()} {r['profile']}", fmt_energy_range(r["energy_per_classification_J"]),
                  fmt_energy_range(r["classification_J_per_day"]),
                  "not priced" if r["static_J_per_day"] is None else fmt_energy_range(r["static_J_per_day"]),
                  (">= " if r["lower_bound"] else "") + fmt_energy_range(r["total_J_per_day"]), r["dominant"],
                  ("<= " if r["lower_bound"] else "") + life)
    _print(t)
    for r in day["rows"]:
        if r["lower_bound"]:
            _print(f"  >= {r['side'].upper()} {r['profile']}: {r['lower_bound_reason']}")
    for s in day["statements"]:
        _print(f"[bold]{s}[/]")


def _render(r: dict) -> None:
    d = r["detector"]
    span = "window" if d["unit"] == "window" else f"score over the last {d.get('integration_frames')} frames"
    _print(f"network {r['network']}: {d['detector']} detector, {span} {d['window_s']:g} s, hop {d['hop_s']:g} s, "
           f"threshold {r['threshold']:g} ({r['threshold_units']})")
    for rec in r["recordings"]:
        if rec["status"] != "ok":
            _print(f"[red]skipped[/] {rec['recording']}")
            continue
        sec = rec["seconds"]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in sec.items() if k != "wall")
        _print(f"{rec['recording']}: {rec['hours']:.3f} h, {rec['units']} {d['unit']}s, {rec['events']} events "
               f"({sec['wall']:.1f} s: {stages}; {_r(rec['hours_per_second'], '{:.3g}')} h of audio / s) -> "
               f"{rec['files']['selections']}")
        if "scores" in rec:
            s = rec["scores"]
            _print(f"  vs truth ({rec['truth_calls']} calls): precision {_r(s['precision'])}, recall "
                          f"{_r(s['recall'])}, F1 {_r(s['f1'])}, false alarms / h {_r(s['false_alarms_per_hour'], '{:.2f}')}, "
                          f"median latency to detection {_r(s.get('latency_median_s'), '{:.2f}')} s")
        if rec.get("stream_counts"):
            sc = rec["stream_counts"]
            _print(f"  stream: {sc['steps']} steps in one run, {sc['effective_synops']:.4g} effective synaptic ops "
                   f"({_r(sc['effective_synops_per_hour'], '{:.4g}')} per hour of audio), spikes per layer "
                   f"{sc['spikes_per_layer']}")
    for note in r["notes"]:
        _print(f"[yellow]note:[/] {note}")
    if r.get("pr_curve"):
        from rich.table import Table

        t = Table(title=f"Precision-recall over the threshold (onset tolerance {r['tolerance_s']:g} s)")
        for col in ("threshold", "events", "TP", "FA", "missed", "precision", "recall", "F1", "FA / h"):
            t.add_column(col, justify="right")
        for p in r["pr_curve"]:
            mark = " *" if p["threshold"] == r["threshold"] else ""
            t.add_row(f"{p['threshold']:g}{mark}", str(p["events"]), str(p["true_positives"]), str(p["false_alarms"]),
                      str(p["misses"]), _r(p["precision"]), _r(p["recall"]), _r(p["f1"]),
                      _r(p["false_alarms_per_hour"], "{:.2f}"))
        _print(t)
        _print(f"[bold]precision {_r(r['precision'])}, recall {_r(r['recall'])}, F1 {_r(r['f1'])}, "
                      f"false alarms per hour {_r(r['false_alarms_per_hour'], '{:.2f}')}, median latency to "
                      f"detection {_r(r.get('latency_median_s'), '{:.2f}')} s[/] ({r['events']} events, "
                      f"{r['calls']} calls, {r['hours']:.2f} h; {r['matching']})")
    if "lava" in r:
        lv = r["lava"]
        verdict = "[green]emulator == Lava[/]" if lv["ok"] else "[red]MISMATCH emulator != Lava[/]"
        per = ", ".join(f"layer {la['layer']}: {la['mismatches']} mismatches" for la in lv["layers"])
        _print(f"Lava check on {d['unit']}s {lv['units']}: {verdict} ({per})")
    if "energy_per_day" in r:
        render_energy_day(r["energy_per_day"])
    for kind, path in r["files"].items():
        _print(f"{kind}: {path}")
    if r["skipped"]:
        _print(f"[red]{r['skipped']} recording(s) skipped[/] (see the messages above)")


@app.command()
def detect(
    q: Path = typer.Argument(..., help="A quantise folder (network.ndir + float network) or IR file of a network "
                             "trained by neurodeploy (its IR records the representation)."),
    recordings: List[Path] = typer.Argument(..., help="WAV / AIFF / FLAC recordings of any length and sample rate."),
    out: Path = typer.Option(..., "--out", help="Output folder: <stem>.detections.selections.txt (Raven), "
                             "<stem>.events.csv / .json, pr_curve.csv / .png, energy_per_day.csv, detect.json."),
    hop: Optional[float] = typer.Option(None, "--hop", help="Seconds between window starts (default half a window; "
                                        "a streaming network has no window and refuses it)."),
    threshold: float = typer.Option(0.0, "--threshold", help="A window is positive when its score (output spike "
                                    "count of the call neuron minus the no-call neuron, -num_steps..num_steps) is "
                                    "above this; 0 = the network's own decision."),
    backend: str = typer.Option("emulator", "--backend", help="emulator, or lava: also run Lava on --lava-windows "
                                "windows and check its spikes equal the emulator's (exit 1 if not)."),
    truth: List[Path] = typer.Option([], "--truth", help="Raven selection table of the true calls (repeatable: one "
                                     "per recording in order, or one with a Begin File column)."),
    tolerance: Optional[float] = typer.Option(None, "--tolerance", help="Onset tolerance in s for matching events "
                                              "to true calls (default one window)."),
    duty_cycle: float = typer.Option(1.0, "--duty-cycle", help="Fraction of each day the monitor listens (energy per day)."),
    battery_wh: float = typer.Option(100.0, "--battery-wh", help="Battery for the battery-life column, Wh."),
    profile: List[str] = typer.Option([], "--profile", "-p", help="Hardware profiles for energy per day "
                                      "(repeatable; default every shipped profile)."),
    no_energy: bool = typer.Option(False, "--no-energy", help="Skip energy per day."),
    energy_windows: int = typer.Option(32, "--energy-windows", help="Windows (spread over the recordings) whose "
                                       "operation counts price a classification."),
    lava_windows: int = typer.Option(4, "--lava-windows", help="Windows run on Lava with --backend lava."),
    seed: int = typer.Option(0, "--seed", help="Seed of rate-coded input spikes."),
    as_json: bool = JSON_OPTION,
    no_progress: bool = PROGRESS_OPTION,
) -> None:
    """Slide a deployed network over long recordings (a streaming network, e.g. preset snn-stream, runs frame by
    frame over the whole recording instead, never reset): events as Raven selection tables, scores against a
    truth table (precision, recall, F1, false alarms per hour, latency to detection, PR curve), energy per day
    of monitoring."""
    from toolchain.detect import DetectOptions
    from toolchain.detect import detect as run_detect

    opts = DetectOptions(hop_s=hop, threshold=threshold, backend=backend, tolerance_s=tolerance,
                         duty_cycle=duty_cycle, battery_wh=battery_wh, profiles=tuple(profile), energy=not no_energy,
                         energy_units=energy_windows, lava_units=lava_windows, seed=seed)

    def say(p) -> None:
        from rich.markup import escape

        colour = "red" if p.fatal else "yellow"
        text = p.message + ("" if p.fatal else f" -> {p.action}")
        err_console.print(f"[{colour}]{'skipped' if p.fatal else p.kind}:[/] {escape(text)}", highlight=False,
                          soft_wrap=True)

    result = run_detect(q, recordings, out, truth=truth, options=opts, progress=not (as_json or no_progress), on_problem=say)
    emit(result, as_json, _render)
    if result["skipped"] or ("lava" in result and not result["lava"]["ok"]):
        raise typer.Exit(1)


@data_app.command("synth-recording")
def synth_recording_cmd(
    out: Path = typer.Argument(..., help="Recording to write: .wav or .flac (16-bit PCM, mono, 2000 Hz)."),
    hours: float = typer.Option(..., "--hours", help="Length in hours."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, hours and knobs -> identical samples)."),
    calls_per_hour: float = typer.Option(30.0, "--calls-per-hour", help="Mean up-call rate (Poisson)."),
    min_gap: float = typer.Option(6.0, "--min-gap", help="Least seconds from one call onset to the next."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file of clip-generator knobs (as `data synth "
                                          "--config`: top level or a [synth] table)."),
    snr_min: Optional[float] = typer.Option(None, "--snr-min", help="Lowest call SNR, dB (clip generator's knob). [0]"),
    snr_max: Optional[float] = typer.Option(None, "--snr-max", help="Highest call SNR, dB. [12]"),
    confounder_prob: Optional[float] = typer.Option(None, "--confounder-prob", help="Probability that a 2 s background "
                                                    "slot carries a confounder (downsweep, moan, short / steep / "
                                                    "out-of-band upsweep). [0.7]"),
    as_json: bool = JSON_OPTION,
    no_progress: bool = PROGRESS_OPTION,
) -> None:
    """A long synthetic recording (the clip generator's negatives joined, its up-calls at known times) and its
    Raven selection table beside it (<stem>.Table.1.selections.txt)."""
    import time

    from toolchain.cli.data_cmds import _read_toml_knobs
    from toolchain.data import SynthConfig
    from toolchain.data.recording import synth_recording

    knobs = _read_toml_knobs(config) if config else {}
    knobs.update({k: v for k, v in (("snr_db_min", snr_min), ("snr_db_max", snr_max),
                                    ("confounder_prob", confounder_prob)) if v is not None})
    t0 = time.perf_counter()
    man = synth_recording(out, hours, seed, calls_per_hour=calls_per_hour, min_gap_s=min_gap,
                          config=SynthConfig.from_dict(knobs), progress=not (as_json or no_progress))
    man["seconds"] = round(time.perf_counter() - t0, 2)
    emit(man, as_json, lambda m: console.print(
        f"{m['hours']:g} h ({m['samples']} samples at {m['sample_rate']} Hz), {m['calls']} calls, seed {m['seed']} "
        f"-> [bold]{m['recording']}[/] and {m['table']} ({m['seconds']} s)", highlight=False))


@bench_app.command("detect")
def bench_detect_cmd(
    minutes: float = typer.Option(20.0, "--minutes", help="Minutes of synthetic audio for the emulator measurement."),
    lava_extra: int = typer.Option(2, "--lava-extra-windows", help="Extra windows in the second Lava run (marginal cost)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the result JSON here."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Hours of audio per second through detect on the emulator vs on Lava (same run, same network), with the ratio."""
    from toolchain.bench.detect import bench_detect
    from toolchain.core.fileio import write_json

    check_writable(out, folder=False)  # before the benchmark, not after it
    r = bench_detect(minutes, lava_extra, progress=(lambda s: None) if as_json else err_console.print)
    if out:
        write_json(out, r)

    def render(r: dict) -> None:
        console.print(f"network {'-'.join(map(str, r['network']))}, {r['num_steps']} steps, window {r['window_s']:g} s, "
                      f"hop {r['hop_s']:g} s")
        console.print(f"emulator: {r['emulator_hours']:.3f} h of audio in {r['emulator_seconds']:.1f} s = "
                      f"[bold]{r['emulator_hours_per_s']:.4g} h of audio / s[/] (read {r['emulator_breakdown']['read']:.1f} s, "
                      f"features {r['emulator_breakdown']['features']:.1f} s, network {r['emulator_breakdown']['network']:.1f} s)")
        console.print(f"Lava: {r['lava_seconds_per_window_marginal']:.2f} s per window (marginal) = "
                      f"{r['lava_hours_per_s_marginal']:.3g} h of audio / s; all-in {r['lava_hours_per_s_all_in']:.3g}")
        console.print(f"ratio emulator/Lava: [bold]{r['ratio']:.0f}x[/] marginal, {r['ratio_all_in']:.0f}x all-in; "
                      f"spikes equal on the Lava windows: {r['spikes_equal']}")

    emit(r, as_json, render)


def _range_fmt(r, unit: str = "J") -> str:
    if r is None:
        return "n/a"
    from toolchain.detect.energy_day import fmt_energy_range

    return fmt_energy_range(r)


def render_compare(c: dict) -> None:
    """The comparison table and its verdict sentences (rich, on stdout)."""
    from rich.table import Table

    a, b = c["a"], c["b"]
    t = Table(title=f"{c['hours']:.2f} h of audio, {c['calls']} true calls, onset tolerance {c['tolerance_s']:g} s "
                    f"({', '.join(Path(r).name for r in c['recordings'])})")
    t.add_column("figure")
    for s in (a, b):
        t.add_column(f"{s['label']}\n{s['detector']} ({s['unit']}s)", justify="right")

    def row(name, fn):
        t.add_row(name, *(fn(s) for s in (a, b)))

    row("threshold", lambda s: f"{s['threshold']:g}")
    row("events", lambda s: str(s["events"]))
    row("precision", lambda s: _r(s["precision"]))
    row("recall", lambda s: _r(s["recall"]))
    row("F1", lambda s: _r(s["f1"]))
    row("false alarms / h", lambda s: _r(s["false_alarms_per_hour"], "{:.1f}"))
    row("best F1 on the PR curve*", lambda s: "n/a" if not s["best"] else
        f"{s['best']['f1']:.3f} @ {s['best']['threshold']:g} ({s['best']['false_alarms_per_hour']:.1f} FA/h)")
    row("latency to detection, median s", lambda s: _r(s["latency_median_s"], "{:.2f}"))
    row("latency quartiles, s", lambda s: "n/a" if s["latency_q1_s"] is None else
        f"{s['latency_q1_s']:.2f}-{s['latency_q3_s']:.2f}")
    row("classifications / h", lambda s: _r(s.get("classifications_per_hour"), "{:,.0f}") +
        (f" ({s['classification_unit']}s)" if s.get("classification_unit") else ""))
    row("synaptic ops / h (energy report)", lambda s: _r(s["synops_per_hour"], "{:.3g}"))
    row("synaptic ops / h (counted on the stream)", lambda s: _r(s.get("synops_per_hour_counted"), "{:.3g}"))
    for prof in sorted(set(a["energy_per_hour"]) | set(b["energy_per_hour"])):
        row(f"{prof}: classification energy / h", lambda s, p=prof: _range_fmt(
            (s["energy_per_hour"].get(p) or {}).get("classification_J")))
        row(f"{prof}: total with static / h", lambda s, p=prof: ((">= " if (s["energy_per_hour"].get(p) or {}).get(
            "lower_bound") else "") + _range_fmt((s["energy_per_hour"].get(p) or {}).get("total_J"))))
    _print(t)
    _print("* tuned on these same recordings: an optimistic figure, not a held-out one")
    for v in c["verdicts"]:
        _print(f"[bold]{v}[/]")


@app.command("detect-compare")
def detect_compare_cmd(
    a: Path = typer.Argument(..., help="A `detect --out` folder (e.g. the windowed 2D SNN's)."),
    b: Path = typer.Argument(..., help="Another `detect --out` folder on the same recordings (e.g. the streaming SNN's)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the comparison JSON here."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Compare two detectors run on the same recordings with the same truth and tolerance: F1, latency to
    detection, synaptic operations and energy per hour of audio on every profile, with computed verdicts."""
    from toolchain.core.fileio import write_json
    from toolchain.detect.compare import compare

    check_writable(out, folder=False)
    c = compare(a, b)
    if out:
        write_json(out, c)
    emit(c, as_json, render_compare)
