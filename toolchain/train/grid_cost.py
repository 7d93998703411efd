"""`neurodeploy reproduce STUDY --estimate`: the measured cost of a reproduction's grid, extrapolated.

For each (representation, num_steps) of the plan, the plan's network (layer sizes of the
representation on the plan's clips) is timed on this machine with the training loop's own
pieces: `batches` training batches (forward + backward + Adam step, batch_size of the plan, dc
input, random features in [0, 1]) after one warm-up batch, and as many evaluation batches
(forward only, eval_batch_size). Torch runs with `threads` threads (a Ray trial gets
sweep.cpus_per_trial). Extrapolation, stated in the output:
  per epoch = ceil(train clips / batch) x train batch time + ceil(val clips / eval batch) x eval batch time
  per trial = epochs x per epoch   (epochs: the plan's maximum, and a typical count given as `typical_epochs`)
  grid      = sum over cells of (trials of the cell x per trial) / concurrent trials
where train / val clips are the plan's clips split by its K folds and the concurrent trials are
the CPU count / cpus_per_trial (max_concurrent if set). A learnable beta costs about the same as a
fixed one (one more parameter per layer) and is timed with the fixed-beta network.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from models.snn_mlp import SNNMLP, seed_sizes
from toolchain.represent import SpectrogramConfig
from toolchain.train.config import validate

INPUT_SIZE = {"waveform": 4000, "spectrogram": int(math.prod(SpectrogramConfig().shape()))}


def _median_seconds(step, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_cell(sizes: list[int], num_steps: int, batch: int, eval_batch: int, batches: int,
              seed: int = 0) -> dict:
    """Seconds per training batch and per evaluation batch of the SNN MLP `sizes`."""
    torch.manual_seed(seed)
    model = SNNMLP(sizes, beta=0.9, num_steps=num_steps, reset="subtract", encoding="dc")
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, foreach=True)
    x, y = torch.rand(batch, sizes[0]), torch.randint(0, 2, (batch,))
    xe = torch.rand(eval_batch, sizes[0])

    def train_step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    def eval_step() -> None:
        with torch.no_grad():
            model(xe)

    train_step()
    eval_step()
    return {"train_batch_s": _median_seconds(train_step, batches), "eval_batch_s": _median_seconds(eval_step, max(1, batches // 2))}


def estimate(raw: dict, where: str, *, n_clips: int, batches: int = 3, typical_epochs: int = 15,
             threads: int | None = None) -> dict:
    """The measured per-trial and whole-grid cost of the sweep config `raw` on `n_clips` clips."""
    from toolchain.train.sweep import expand, label

    cfg = validate(raw, where, sweep=True)
    trials = expand(raw, where)
    sweep = cfg["sweep"]
    threads = threads or max(1, int(sweep["cpus_per_trial"]))
    torch.set_num_threads(threads)
    concurrent = max(1, int((os.cpu_count() or 1) // sweep["cpus_per_trial"]))
    if sweep["max_concurrent"]:
        concurrent = min(concurrent, sweep["max_concurrent"])
    n_val = math.ceil(n_clips / sweep["folds"])
    n_train = n_clips - n_val
    cells: dict[tuple[str, int], dict] = {}
    for t in trials:
        rep, steps = t.config["representation"]["kind"], t.config["model"]["num_steps"]
        key = (rep, steps)
        if key not in cells:
            hidden = t.config["model"]["hidden"]
            sizes = seed_sizes(rep, INPUT_SIZE[rep]) if hidden == "seed" else [INPUT_SIZE[rep], *hidden, 2]
            train = t.config["train"]
            timing = time_cell(sizes, steps, train["batch_size"], train["eval_batch_size"], batches)
            epoch = (math.ceil(n_train / train["batch_size"]) * timing["train_batch_s"]
                     + math.ceil(n_val / train["eval_batch_size"]) * timing["eval_batch_s"])
            cells[key] = {"representation": rep, "num_steps": steps, "sizes": sizes, **timing,
                          "epoch_s": epoch, "max_epochs": train["epochs"],
                          "trial_s_typical": epoch * min(typical_epochs, train["epochs"]),
                          "trial_s_max": epoch * train["epochs"], "trials": 0}
        cells[key]["trials"] += 1
    rows = sorted(cells.values(), key=lambda c: (c["representation"], c["num_steps"]))
    total_typical = sum(c["trial_s_typical"] * c["trials"] for c in rows) / concurrent
    total_max = sum(c["trial_s_max"] * c["trials"] for c in rows) / concurrent
    return {"where": where, "trials": len(trials), "n_clips": n_clips, "n_train": n_train, "n_val": n_val,
            "folds": sweep["folds"], "threads_per_trial": threads, "concurrent_trials": concurrent,
            "typical_epochs": typical_epochs, "timed_batches": batches, "cells": rows,
            "grid_hours_typical": total_typical / 3600, "grid_hours_max": total_max / 3600,
            "grid": {k: [label(v) for v in vs] for k, vs in sweep["grid"].items()},
            "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                        "torch": torch.__version__, "load_average": list(os.getloadavg())}}
