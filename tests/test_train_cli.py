"""`neurodeploy train` end to end on a small synthetic data set: run folder, load_run, the same
inputs and validation split for deployment, and a learning failure reported as such."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from toolchain.train import load_run

ROOT = Path(__file__).resolve().parents[1]

RUN_TOML = """
[data]
path = "{data}"
val_fraction = 0.25
[representation]
kind = "spectrogram"
[model]
kind = "{kind}"
hidden = [32]
num_steps = 6
threshold = {threshold}
[train]
epochs = 4
batch_size = 16
lr = 2e-3
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from toolchain.data import synthesize

    return synthesize(tmp_path_factory.mktemp("whales") / "synth", 64, seed=2, progress=False)


def _train(tmp_path, data, kind="snn", threshold=1.0, *extra):
    cfg = tmp_path / "run.toml"
    cfg.write_text(RUN_TOML.format(data=data, kind=kind, threshold=threshold))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "toolchain", "train", "--config", str(cfg),
                           "--out", str(out), "--json", *extra], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    return proc, out


def test_train_writes_a_run_that_deployment_can_reload(tmp_path, data):
    proc, out = _train(tmp_path, data)
    assert proc.returncode in (0, 1), proc.stderr
    result = json.loads(proc.stdout)
    assert result["run"] == str(out) and result["kind"] == "snn"
    assert (proc.returncode == 1) == (result["failure"] is not None)
    run = load_run(out)
    assert run.kind == "snn" and run.config["representation"]["kind"] == "spectrogram"
    assert run.config["resolved"]["sizes"] == [105 * 135, 32, 2]
    assert len(run.val_indices) == result["n_val"] == 16
    inputs = run.load_inputs()
    assert inputs.features.shape == (64, 105, 135)
    with torch.no_grad():
        counts = run.model(torch.from_numpy(inputs.features[run.val_indices]))
    scores = (counts[:, 1] - counts[:, 0]).numpy()
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(inputs.labels[run.val_indices], scores) == pytest.approx(run.metrics["val_auc"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]) == metrics["epochs_run"] and metrics["history"][0]["firing_rates"]
    roc = json.loads((out / "roc.json").read_text())
    assert roc["fpr"][0] == 0 and roc["tpr"][-1] == 1


def test_a_network_that_cannot_fire_is_reported_as_a_learning_failure(tmp_path, data):
    proc, out = _train(tmp_path, data, "snn", 1e9, "--set", "retries=1", "--set", "model.init_rate=0")
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    assert result["failure"]["reason"] == "output layer silent from epoch 1 (hidden layer 1 silent too)"
    assert [a["seed"] for a in result["attempts"]] == [0, 1]
    assert json.loads((out / "metrics.json").read_text())["failure"]["kind"] == "silent_output"


def test_bad_config_is_one_clear_line(tmp_path, data):
    proc, _ = _train(tmp_path, data, "snn", 1.0, "--set", "model.num_steps=0")
    assert proc.returncode == 2
    assert "model.num_steps = 0 must be >= 1" in proc.stderr and "Traceback" not in proc.stderr
