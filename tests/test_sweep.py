"""Sweeps: trial planning, seed-style tables with failures, and a real interrupted + resumed
`neurodeploy sweep` on Ray Tune (finished trials are not repeated, the final table is complete)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolchain.train.config import read_config
from toolchain.train.sweep import expand, seed_tables, write_results

ROOT = Path(__file__).resolve().parents[1]

SWEEP_TOML = """
seed = 0
[data]
path = "{data}"
[representation]
kind = "spectrogram"
[model]
hidden = [16]
threshold = 0.5
[train]
epochs = {epochs}
patience = {epochs}
batch_size = 16
lr = 5e-3
[sweep]
folds = 3
cpus_per_trial = 1
[sweep.grid]
"model.beta" = [0.8, "learnable"]
"model.num_steps" = [4, 8]
"""


def _sweep_file(tmp_path, data="/data", epochs=2):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP_TOML.format(data=data, epochs=epochs))
    return path


def test_trials_are_the_grid_times_the_folds_with_stable_ids(tmp_path):
    raw, where = read_config(_sweep_file(tmp_path))
    trials = expand(raw, where)
    assert len(trials) == 2 * 2 * 3
    assert [t.fold for t in trials[:3]] == [0, 1, 2]
    assert trials[0].params == {"model.beta": 0.8, "model.num_steps": 4}
    assert trials[-1].config["model"]["beta"] == "learnable"
    assert [t.id for t in expand(raw, where)] == [t.id for t in trials]
    raw2, _ = read_config(_sweep_file(tmp_path), overrides=["train.lr=1e-3"])
    assert not {t.id for t in expand(raw2, where)} & {t.id for t in trials}


def _row(trial, auc=None, failure=None):
    return {"trial_id": trial.id, "params": trial.params, "fold": trial.fold,
            "status": "failed" if failure else "ok", "val_auc": 0.5 if failure else auc,
            "val_accuracy": 0.7, "best_epoch": 1, "epochs_run": 2, "seconds": 1.0,
            "finished_at": "now", "failure": failure}


def test_tables_show_failed_and_pending_trials_as_such(tmp_path):
    raw, where = read_config(_sweep_file(tmp_path))
    from toolchain.train.config import validate

    cfg = validate(raw, where, sweep=True)
    trials = expand(raw, where)
    silent = {"kind": "silent_output", "epoch": 1, "reason": "output layer silent from epoch 1"}
    rows = {}
    for t in trials:
        beta, steps = t.params["model.beta"], t.params["model.num_steps"]
        if beta == 0.8 and steps == 4:
            rows[t.id] = _row(t, auc=[0.7, 0.9, 0.8][t.fold])
        elif beta == 0.8 and steps == 8:
            rows[t.id] = _row(t, auc=0.9, failure=silent if t.fold == 0 else None)
        elif beta == "learnable" and steps == 4:
            rows[t.id] = _row(t, failure=silent)
        elif t.fold == 0:  # learnable x 8: one fold done, two pending
            rows[t.id] = _row(t, auc=0.95)
    tables = write_results(cfg, trials, rows, tmp_path)
    (table,) = tables
    assert table["rows"] == ["0.8", "learnable"] and table["cols"] == ["4", "8"]
    texts = [[c["text"] for c in line] for line in table["cells"]]
    assert texts == [["0.800", "0.900 (1 failed)"], ["failed", "0.950 (2 pending)"]]
    md = (tmp_path / "tables.md").read_text()
    assert "| model.beta \\ model.num_steps | 4 | 8 |" in md
    assert "| learnable | failed | 0.950 (2 pending) |" in md
    assert "model.beta = learnable, model.num_steps = 4, fold 2: output layer silent from epoch 1" in md
    csv_lines = (tmp_path / "results.csv").read_text().splitlines()
    assert len(csv_lines) == 13 and sum("pending" in line for line in csv_lines) == 2
    assert (tmp_path / "heatmap_1.png").stat().st_size > 0
    assert seed_tables(cfg, trials, {})[0]["cells"][0][0]["text"] == "pending"


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from toolchain.data import synthesize

    return synthesize(tmp_path_factory.mktemp("whales") / "synth", 48, seed=1, progress=False)


def _start(args, log):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "toolchain", "sweep", *args], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def _rows(out):
    """Finished rows by file name (not the temporary files of writes in progress)."""
    return {p.name: p.read_bytes() for p in (out / "trials").glob("[!.]*.json")}


def interrupt_after_first_row(proc, rows, log: Path, timeout: float) -> str:
    """Wait until `rows()` holds a finished trial, send SIGTERM, check exit 130; returns the log."""
    deadline = time.time() + timeout
    while not rows():
        assert proc.poll() is None, f"{proc.args[3]} ended early:\n{log.read_text()}"
        assert time.time() < deadline, "no trial finished in time"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130, log.read_text()
    return log.read_text()


def test_interrupted_sweep_resumes_without_repeating_finished_trials(tiny_data, tmp_path):
    out = tmp_path / "out"
    args = ["--config", str(_sweep_file(tmp_path, tiny_data, epochs=20)), "--out", str(out),
            "--no-progress"]
    proc = _start(args, open(tmp_path / "log.txt", "w"))
    log = interrupt_after_first_row(proc, lambda: _rows(out), tmp_path / "log.txt", 180)
    assert "interrupted: rerun the same command to resume" in log and "Traceback" not in log, log[-3000:]
    first = _rows(out)
    assert 1 <= len(first) < 12
    done = subprocess.run([sys.executable, "-m", "toolchain", "sweep", *args, "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    final = _rows(out)
    assert len(final) == 12
    assert all(final[name] == data for name, data in first.items()), "a finished trial was rerun"
    assert summary["finished_before"] == len(first) and summary["ran_now"] == 12 - len(first)
    (table,) = summary["tables"]
    assert all(c["n_pending"] == 0 and c["n_ok"] + c["n_failed"] == 3 for line in table["cells"] for c in line)
    md = (out / "tables.md").read_text()
    assert "pending" not in md and "| learnable |" in md


def test_trials_reserve_a_gpu_when_cuda_is_there_so_device_auto_can_use_it():
    from toolchain.train.sweep import trial_resources

    assert trial_resources(1, None, {"auto"}, cuda_available=False) == {"cpu": 1}
    assert trial_resources(1, None, {"auto"}, cuda_available=True) == {"cpu": 1, "gpu": 1.0}
    assert trial_resources(2, None, {"cpu", "auto"}, cuda_available=True) == {"cpu": 2}
    assert trial_resources(1, 0.5, {"cuda"}, cuda_available=True) == {"cpu": 1, "gpu": 0.5}
    assert trial_resources(1, 0, {"auto"}, cuda_available=True) == {"cpu": 1}


def test_errors_of_a_lost_worker_are_told_from_a_failing_trial():
    """A trial whose actor went away with its node (unavailable, died, crashed worker, dead node),
    also as the cause of another error, is run again; an exception of the trial's own is not."""
    from ray.exceptions import (
        ActorDiedError,
        ActorUnavailableError,
        NodeDiedError,
        WorkerCrashedError,
    )

    from toolchain.train.sweep import lost_with_worker

    unavailable = ActorUnavailableError("The actor is temporarily unavailable: Socket closed", None)
    for err in (unavailable, ActorDiedError(), NodeDiedError("node gone"), WorkerCrashedError()):
        assert lost_with_worker(err)
    wrapped = RuntimeError("trial failed")
    wrapped.__cause__ = unavailable
    assert lost_with_worker(wrapped)
    assert not lost_with_worker(ValueError("bad learning rate")) and not lost_with_worker(None)
