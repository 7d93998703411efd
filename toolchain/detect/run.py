"""`neurodeploy detect`: a deployed network over long recordings, to events, tables, scores, energy.

For each recording (in the order given): open it (problems said, naming the file; one that cannot
be used is skipped and the others go on), run the detector (toolchain.detect.detectors), merge
positive units into events (toolchain.detect.events) and write, into the output folder, each file
atomically as soon as the recording is done:

    <stem>.detections.selections.txt   Raven Pro selection table of the events (+ a Score column)
    <stem>.events.csv / .events.json   the events (begin, end, score, peak, units merged, decided)
    <stem>.windows.csv / .frames.csv   every unit's span and score (re-threshold without re-running)

then, over all recordings: scores and latency to detection against the truth tables
(toolchain.detect.score), the precision-recall curve (pr_curve.csv, pr_curve.png), the Lava check
(backend "lava"), energy per day (energy_per_day.csv) and everything in detect.json.

Truth tables (`truth`): one per recording, in the same order; or one table with a Begin File (or
Begin Path) column naming each row's recording. Rows naming another file are left out (said).
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from toolchain.core.errors import ConfigError, NeurodeployError
from toolchain.core.fileio import write_json, write_text
from toolchain.data.problems import Problem
from toolchain.detect.detectors import Detector, DetectorRun, detector_for, lava_check, spread
from toolchain.detect.events import Event, merge_events
from toolchain.detect.raven import Selection, read_table, write_table
from toolchain.detect.score import Counts, counts, latencies, latency_figures, plot_pr, pr_curve
from toolchain.detect.source import open_recording

BACKENDS = ("emulator", "lava")  # lava: the emulator's spikes on a sample of units are checked against Lava's
TABLE_SUFFIX = ".detections.selections.txt"


@dataclass
class DetectOptions:
    """Everything `detect` can be told besides the network, recordings and folder."""

    hop_s: float | None = None
    threshold: float = 0.0
    backend: str = "emulator"
    tolerance_s: float | None = None  # onset tolerance; default one window
    duty_cycle: float = 1.0
    battery_wh: float = 100.0
    profiles: tuple[str, ...] = ()
    energy: bool = True
    energy_units: int = 32
    lava_units: int = 4
    seed: int = 0
    block_frames: int | None = None
    detector: str | None = None

    def validate(self) -> DetectOptions:
        if self.backend not in BACKENDS:
            raise ConfigError(f"--backend {self.backend!r}: must be one of {', '.join(BACKENDS)}")
        if not np.isfinite(self.threshold):
            raise ConfigError(f"--threshold {self.threshold}: must be a finite number")
        if self.tolerance_s is not None and not self.tolerance_s >= 0:
            raise ConfigError(f"--tolerance {self.tolerance_s:g}: must be >= 0 s")
        if self.energy_units < 1 or self.lava_units < 1:
            raise ConfigError("--energy-windows and --lava-windows must be >= 1")
        return self


def _csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in columns})
    return buf.getvalue()


def _truth_for(recordings: list[Path], truth: list[Path]) -> tuple[list[list[Selection] | None], list[str]]:
    """Truth selections per recording (None when no table), and notes; read before any work."""
    if not truth:
        return [None] * len(recordings), []
    tables = [read_table(t) for t in truth]
    notes = []
    if len(tables) == len(recordings):
        out = []
        for rec, t, rows in zip(recordings, truth, tables):
            mine = [s for s in rows if s.file is None or Path(s.file).name == rec.name]
            if len(mine) < len(rows):
                notes.append(f"{t}: {len(rows) - len(mine)} row(s) name another file than {rec.name} and are left out")
            out.append(mine)
        return out, notes
    if len(tables) == 1:
        rows = tables[0]
        if rows and all(s.file is None for s in rows):
            raise ConfigError(f"--truth {truth[0]}: one table for {len(recordings)} recordings needs a Begin File "
                              "column naming each row's recording (or give one table per recording, in order)")
        out = [[s for s in rows if s.file is not None and Path(s.file).name == rec.name] for rec in recordings]
        left = len(rows) - sum(len(o) for o in out)
        if left:
            notes.append(f"{truth[0]}: {left} row(s) name none of the recordings and are left out")
        return out, notes
    raise ConfigError(f"{len(truth)} --truth tables for {len(recordings)} recordings: give one per recording "
                      "(same order) or one table with a Begin File column")


def _progress(enabled: bool, total_units: int, total_hours: float):
    """(start(label), update(units done, hours done), stop) of one stderr bar over all recordings."""
    if not enabled:
        return (lambda label: None), (lambda units, hours: None), (lambda: None)
    from rich.progress import TextColumn

    from toolchain.core.progress import stderr_progress

    bar = stderr_progress(TextColumn("{task.fields[hours]}"), transient=False)
    task = bar.add_task("detect", total=max(total_units, 1), hours=f"0.00 / {total_hours:.2f} h of audio")
    bar.start()

    def start(label: str) -> None:
        bar.update(task, description=label)

    def update(units: int, hours: float) -> None:
        bar.update(task, completed=units, hours=f"{hours:.2f} / {total_hours:.2f} h of audio")

    return start, update, bar.stop


def _events_json(rec: Path, run: DetectorRun, events: list[Event], det: Detector, threshold: float,
                 problems: list[Problem]) -> dict:
    return {"recording": str(rec), "duration_s": run.duration_s, "threshold": threshold,
            "detector": det.describe(), "problems": [p.to_dict() for p in problems],
            "events": [e.to_dict() for e in events]}


UNITS_CSV_CHUNK = 65536  # lines formatted at a time (a 24 h stream has 6.6 million frames)


def write_units_csv(path: Path, run: DetectorRun) -> Path:
    """Every unit's span and score (for re-thresholding without re-running), atomically, written in
    chunks so memory does not grow with the recording beyond the unit arrays themselves."""
    from toolchain.core.fileio import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        fh.write("begin_s,end_s,score\n")
        for a in range(0, run.scores.size, UNITS_CSV_CHUNK):
            b = a + UNITS_CSV_CHUNK
            fh.write("".join(f"{x:.6f},{y:.6f},{z:g}\n"
                             for x, y, z in zip(run.begin_s[a:b], run.end_s[a:b], run.scores[a:b])))
    return Path(path)


def _write_recording(out: Path, rec: Path, run: DetectorRun, events: list[Event], det: Detector,
                     threshold: float, problems: list[Problem]) -> dict:
    stem = rec.stem
    lo, hi = det.band_hz
    sel = [Selection(e.begin_s, e.end_s, lo, hi, score=e.score) for e in events]
    files = {"selections": write_table(out / f"{stem}{TABLE_SUFFIX}", sel),
             "events_csv": write_text(out / f"{stem}.events.csv",
                                      _csv([{"event": i, **e.to_dict()} for i, e in enumerate(events, 1)],
                                           ["event", "begin_s", "end_s", "score", "peak_s", "units", "decided_s"])),
             "events_json": write_json(out / f"{stem}.events.json",
                                       _events_json(rec, run, events, det, threshold, problems)),
             "units_csv": write_units_csv(out / f"{stem}.{det.unit}s.csv", run)}
    return {k: str(v) for k, v in files.items()}


def detect(q: str | Path, recordings: list[str | Path], out: str | Path, *, truth: list[str | Path] = (),
           options: DetectOptions | None = None, progress: bool = True,
           on_problem: Callable[[Problem], None] | None = None) -> dict:
    """Run the deployed network `q` over `recordings`; write the outputs into `out`; return the result."""
    from toolchain.deploy import resolve_ir_path
    from toolchain.ir import load_ir

    opts = (options or DetectOptions()).validate()
    t_start = time.perf_counter()
    recordings = [Path(r) for r in recordings]
    if not recordings:
        raise ConfigError("give at least one RECORDING")
    stems = [r.stem for r in recordings]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ConfigError(f"recordings {', '.join(str(r) for r in recordings if r.stem in dup)} share the name "
                          f"{dup[0]!r}: their outputs in --out would collide; rename one")
    out = Path(out)
    truth = [Path(t) for t in truth]
    clash = [t for t in truth if t.resolve().parent == out.resolve() and t.name.endswith(TABLE_SUFFIX)]
    if clash:
        raise ConfigError(f"--truth {clash[0]} would be overwritten by detect's own table; use another --out")
    ir = load_ir(resolve_ir_path(q))  # the float network beside it is not needed
    det = detector_for(ir, opts.detector, hop_s=opts.hop_s, seed=opts.seed)
    tolerance = det.describe().get("window_s", 0.0) if opts.tolerance_s is None else opts.tolerance_s
    truths, notes = _truth_for(recordings, truth)
    problems: list[Problem] = []

    def said(p: Problem) -> None:
        problems.append(p)
        if on_problem:
            on_problem(p)

    opened = []
    for path in recordings:
        rec, found = open_recording(path, det.sample_rate)
        for p in found:
            said(p)
        opened.append(rec)
    total_units = sum(det.units(r.samples_at_rate()) for r in opened if r is not None)
    total_hours = sum(r.duration_s for r in opened if r is not None) / 3600
    start_bar, update_bar, stop_bar = _progress(progress, total_units, total_hours)
    results, scored, energy_x, checks, all_latencies = [], [], [], [], []
    done_units, done_hours = 0, 0.0
    try:
        for path, rec, rec_truth in zip(recordings, opened, truths):
            if rec is None:
                results.append({"recording": str(path), "status": "skipped",
                                "problems": [p.to_dict() for p in problems if p.file == str(path)]})
                continue
            start_bar(path.name)
            base_units, base_hours = done_units, done_hours
            n_units = det.units(rec.samples_at_rate())

            def tick(seconds: float, n_units=n_units, rec=rec, base_units=base_units, base_hours=base_hours) -> None:
                frac = min(1.0, seconds / max(rec.duration_s, 1e-9))
                update_bar(base_units + int(frac * n_units), base_hours + seconds / 3600)

            t0 = time.perf_counter()
            try:
                run = det.run(rec, tick, energy_units=opts.energy_units, check_units=opts.lava_units,
                              block_frames=opts.block_frames)
            except NeurodeployError as exc:  # this recording only: the others go on
                said(Problem(str(path), "failed", f"{path}: {exc}", fatal=True))
                results.append({"recording": str(path), "status": "skipped",
                                "problems": [p.to_dict() for p in problems if p.file == str(path)]})
                continue
            wall = time.perf_counter() - t0
            for p in run.problems:
                said(p)
            done_units, done_hours = base_units + n_units, base_hours + run.duration_s / 3600
            update_bar(done_units, done_hours)
            events = merge_events(run.begin_s, run.end_s, run.scores, opts.threshold, run.duration_s)
            mine = [p for p in problems if p.file == str(path)]
            entry = {"recording": str(path), "status": "ok", "duration_s": run.duration_s,
                     "hours": run.duration_s / 3600, "units": int(run.scores.size), "events": len(events),
                     "positive_units": int(np.count_nonzero(run.scores > opts.threshold)),
                     "score_histogram": {f"{v:g}": int(c) for v, c in zip(*np.unique(run.scores, return_counts=True))},
                     "seconds": {**run.seconds, "wall": wall},
                     "hours_per_second": run.duration_s / 3600 / wall if wall > 0 else None,
                     "memory": run.memory, **run.extra, "problems": [p.to_dict() for p in mine],
                     "files": _write_recording(out, path, run, events, det, opts.threshold, mine)}
            if rec_truth is not None:
                begins = np.sort([s.begin_s for s in rec_truth])
                begins = begins[begins < run.duration_s]
                entry["truth_calls"] = int(begins.size)
                entry["scores"] = counts(events, begins, tolerance, run.duration_s / 3600).figures()
                lat = latencies(events, begins, tolerance)
                entry["scores"].update(latency_figures(lat))
                all_latencies.append(lat)
                scored.append({"begin_s": run.begin_s, "end_s": run.end_s, "scores": run.scores,
                               "duration_s": run.duration_s, "truth_begin_s": begins})
            energy_x.append(run.energy_x)
            checks.append(run.check)
            results.append(entry)
    finally:
        stop_bar()

    result = {"network": str(resolve_ir_path(q)), "detector": det.describe(), "threshold": opts.threshold,
              "threshold_units": f"spike-count score, positive when > threshold (scores are integers in "
                                 f"-{ir.num_steps}..{ir.num_steps})",
              "backend": opts.backend, "recordings": results, "notes": notes,
              "processed": sum(r["status"] == "ok" for r in results),
              "skipped": sum(r["status"] != "ok" for r in results),
              "problems": [p.to_dict() for p in problems],
              "hours": sum(r.get("hours", 0.0) for r in results),
              "events": sum(r.get("events", 0) for r in results),
              "precision": None, "recall": None, "f1": None, "false_alarms_per_hour": None, "files": {}}
    if scored:
        total = Counts()
        for r in results:
            if "scores" in r:
                s = r["scores"]
                total = total + Counts(s["true_positives"], s["false_alarms"], s["misses"], s["hours"])
        result.update(total.figures())
        result.update(latency_figures(np.concatenate(all_latencies) if all_latencies else np.zeros(0)))
        result["events"] = sum(r.get("events", 0) for r in results)
        result["tolerance_s"] = tolerance
        result["matching"] = (f"an event matches a true call when their onsets differ by at most {tolerance:g} s "
                              "(one to one, greedy by event score)")
        curve = pr_curve(scored, tolerance, include=(opts.threshold,))
        result["pr_curve"] = curve
        cols = ["threshold", "events", "true_positives", "false_alarms", "misses", "precision", "recall", "f1",
                "false_alarms_per_hour"]
        result["files"]["pr_curve_csv"] = str(write_text(out / "pr_curve.csv", _csv(curve, cols)))
        result["files"]["pr_curve_png"] = str(plot_pr(curve, opts.threshold, out / "pr_curve.png",
                                                      f"{Path(q).name}: events vs truth, onset tolerance {tolerance:g} s"))
    if opts.backend == "lava":
        result["lava"] = _lava(ir, checks, opts.lava_units)
    if opts.energy and energy_x and sum(x.shape[0] for x in energy_x):
        result["energy_per_day"] = _energy(ir, q, np.concatenate(energy_x), det, opts)
        result["files"]["energy_per_day_csv"] = str(write_text(out / "energy_per_day.csv",
                                                               energy_csv(result["energy_per_day"])))
    result["seconds"] = time.perf_counter() - t_start
    result["options"] = asdict(opts)
    result["files"]["summary"] = str(out / "detect.json")
    write_json(out / "detect.json", result)
    return result


def _lava(ir, checks: list[dict], k: int) -> dict:
    ok = [c for c in checks if c.get("input") is not None]
    if not ok:
        return {"ok": False, "units": [], "layers": [], "note": "no unit to check"}
    stream = any(c.get("stream") for c in ok)
    steps = min(c["input"].shape[1] for c in ok) if stream else None  # a stream's first frames, from rest
    inp = np.concatenate([c["input"][:, :steps] if stream else c["input"] for c in ok])
    spikes = [np.concatenate([c["spikes"][i][:, :steps] if stream else c["spikes"][i] for c in ok])
              for i in range(len(ir.spiking))]
    units = [u for c in checks for u in c["units"]]
    pick = spread(inp.shape[0], k)
    report = lava_check(ir, {"input": inp[pick], "spikes": [s[pick] for s in spikes],
                             "units": [units[i] for i in pick]})
    if stream:
        report["note"] = (f"Lava (CPU simulator) ran the first {steps} frames of {len(pick)} recording(s) as one "
                          "stream each (graded frames, no reset); their spikes are compared with the emulator's "
                          "streamed spikes of the same steps, layer by layer")
    else:
        report["note"] = (f"Lava (CPU simulator) ran {len(pick)} window(s) spread over the recordings; their spikes "
                          "are compared with the emulator's, layer by layer")
    return report


def _energy(ir, q, x: np.ndarray, det: Detector, opts: DetectOptions) -> dict:
    from hardware_profiles import list_profiles, load_profile
    from toolchain.detect.energy_day import energy_per_day
    from toolchain.energy.analyse import analyse

    profiles = [load_profile(p) for p in (opts.profiles or list_profiles())]
    x = x[spread(x.shape[0], opts.energy_units)]
    report = analyse(ir, x.astype(np.float64), profiles=profiles, seed=opts.seed, network={"source": str(q)})
    rate, unit = det.energy_rate
    day = energy_per_day(report, profiles, rate, duty_cycle=opts.duty_cycle, battery_wh=opts.battery_wh, unit=unit)
    day["windows_analysed"] = int(x.shape[0])
    day["synops_per_classification"] = _synops(report)
    return day


def _synops(report: dict) -> dict:
    """The deployed SNN's effective synaptic operations per classification in an energy report."""
    w = (report.get("models") or {}).get("snn_deployed")
    if w is None:
        return {"effective_synops": None, "source": "no deployed SNN in the energy report"}
    ops = sum(la["ops"]["zeros_skipped"] for la in w["layers"])  # recurrent ops included
    return {"effective_synops": float(ops), "num_steps": int(w["num_steps"]),
            "source": "energy report: emulator counts, zeros skipped, recurrent included"}


def energy_csv(day: dict) -> str:
    """The energy-per-day rows as CSV (ranges as lo and hi columns)."""
    rows = []
    for r in day["rows"]:
        flat = {k: r[k] for k in ("profile", "side", "kind", "classifications_per_day", "chips", "dominant",
                                  "lower_bound", "real_time")}
        for k in ("energy_per_classification_J", "classification_J_per_day", "static_J_per_day",
                  "total_J_per_day", "battery_days", "busy_fraction"):
            v = r[k] or [None, None]
            flat[f"{k}_lo"], flat[f"{k}_hi"] = v
        rows.append(flat)
    return _csv(rows, list(rows[0]) if rows else ["profile"])
