"""`neurodeploy bench all` (`make bench`): every benchmark, one table of ratios against the naive
alternatives measured in the same run, written as markdown and JSON with the machine it ran on."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from toolchain.bench.machine import machine_info
from toolchain.core.fileio import write_json, write_text


def _rows_data(r: dict) -> list[dict]:
    n = r["clips"]
    return [
        {"benchmark": "data", "what": f"decode + spectrogram of {n} clips, cold cache",
         "ours": f"{r['cold']['total_s']:.1f} s", "naive": f"{r['naive']['total_s']:.1f} s (per-clip loop)",
         "ratio": r["ratios"]["naive_over_cold"], "target": "cold <= 60 s per 30k clips",
         "met": r["targets"]["cold_ok"]},
        {"benchmark": "data", "what": f"decode + spectrogram of {n} clips, warm cache",
         "ours": f"{r['warm']['total_s']:.2f} s", "naive": f"{r['naive']['total_s']:.1f} s (per-clip loop)",
         "ratio": r["ratios"]["naive_over_warm"], "target": "warm <= 5 s per 30k clips",
         "met": r["targets"]["warm_ok"]},
    ]


def _rows_train(r: dict) -> list[dict]:
    return [{"benchmark": "train", "what": f"SNN training, {'-'.join(map(str, r['network']))}, batch {r['batch']}, "
             f"{r['num_steps']} steps", "ours": f"{r['fast']['samples_per_s']:.1f} samples/s",
             "naive": f"{r['plain']['samples_per_s']:.2f} samples/s (plain per-step snntorch loop)",
             "ratio": round(r["ratio"], 1), "target": ">= 10x", "met": r["ratio"] >= 10}]


def _rows_simulate(r: dict) -> list[dict]:
    net = r["network"] if isinstance(r["network"], str) else "-".join(map(str, r["network"]))
    return [{"benchmark": "simulate", "what": f"classification, {net}, {r['num_steps']} steps",
             "ours": f"{r['emulator_clips_per_s']:.1f} clips/s (emulator)",
             "naive": f"{r['lava_clips_per_s_marginal']:.4f} clips/s (Lava CPU, marginal)",
             "ratio": round(r["ratio"]), "target": f">= {r['target_ratio']:.0f}x",
             "met": r["ratio"] >= r["target_ratio"] and r["spikes_equal"]}]


def _rows_detect(r: dict) -> list[dict]:
    return [{"benchmark": "detect", "what": f"detect over {r['emulator_hours'] * 60:.0f} min of audio, "
             f"{'-'.join(map(str, r['network']))}, {r['num_steps']} steps, hop {r['hop_s']:g} s",
             "ours": f"{r['emulator_hours_per_s']:.4g} h of audio/s (emulator)",
             "naive": f"{r['lava_hours_per_s_marginal']:.3g} h of audio/s (Lava CPU, marginal)",
             "ratio": round(r["ratio"]), "target": "real time (>= 1/3600 h/s) and emulator == Lava",
             "met": r["emulator_hours_per_s"] >= 1 / 3600 and r["spikes_equal"]}]


def run_all(out: str | Path, *, clips: int = 30000, progress: Callable[[str], None] = print) -> dict:
    """Run data, train, simulate and detect benchmarks; write bench.md / bench.json and the raw results."""
    from toolchain.bench.data import bench_data
    from toolchain.bench.detect import bench_detect
    from toolchain.bench.simulate import bench_simulate
    from toolchain.bench.train import bench_train

    out = Path(out)
    raw, rows = {}, []
    for name, run, to_rows in (("data", lambda: bench_data(clips, progress=False), _rows_data),
                               ("train", bench_train, _rows_train),
                               ("simulate", lambda: bench_simulate(progress=progress), _rows_simulate),
                               ("simulate-pilotnet", lambda: bench_simulate(emulator_clips=16, lava_extra_clips=1,
                                                                            network="pilotnet", progress=progress),
                                _rows_simulate),
                               ("detect", lambda: bench_detect(progress=progress), _rows_detect)):
        progress(f"bench {name} ...")
        raw[name] = run()
        write_json(out / f"bench-{name}.json", raw[name])
        rows += to_rows(raw[name])
    result = {"machine": machine_info(), "rows": rows}
    write_json(out / "bench.json", {**result, "raw": raw})
    write_text(out / "bench.md", render(result))
    return result


def render(result: dict) -> str:
    """The ratio table as markdown."""
    m = result["machine"]
    lines = ["# neurodeploy benchmarks", "",
             f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, torch threads {m['torch_threads']}, "
             f"Python {m['python']}, load average at the end {m['load_average_1min']}.", "",
             "| benchmark | what | neurodeploy | naive alternative (same run) | ratio | target | met |",
             "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['benchmark']} | {r['what']} | {r['ours']} | {r['naive']} | {r['ratio']}x | "
                     f"{r['target']} | {'yes' if r['met'] else 'no'} |")
    return "\n".join(lines) + "\n"
