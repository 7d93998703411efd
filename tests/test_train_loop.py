"""Training loop: learns, is deterministic, flags learning failures, retries with another seed."""

import math

import numpy as np
import pytest

from tests.devices import DEVICES
from tests.test_train_helpers import blobs, config, split
from toolchain.train.diagnostics import diagnose
from toolchain.train.loop import train_model


def test_snn_learns_and_is_deterministic():
    x, y = blobs()
    cfg = config(x, y)
    tr, va = split(y)
    a = train_model(cfg, x, y, tr, va)
    b = train_model(cfg, x, y, tr, va)
    assert a.fit.best_eval.auc > 0.9
    assert a.fit.failure is None and len(a.attempts) == 1
    assert [h["train_loss"] for h in a.fit.history] == [h["train_loss"] for h in b.fit.history]
    assert [h["val_auc"] for h in a.fit.history] == [h["val_auc"] for h in b.fit.history]
    rates = a.fit.history[-1]["firing_rates"]
    assert len(rates) == 2 and all(0 < r < 1 for r in rates)
    assert a.model.training is False


@pytest.mark.parametrize("kind", ["ann_mlp", "cnn"])
def test_ann_baselines_learn(kind):
    x, y = blobs()
    model = {"kind": kind, "channels": [8], "kernel": 3, "cnn_hidden": 8}
    cfg = config(x, y, model=model, train={"epochs": 4})
    tr, va = split(y)
    out = train_model(cfg, x, y, tr, va)
    assert out.model.kind == kind
    assert out.fit.best_eval.auc > 0.9 and out.fit.failure is None
    assert out.fit.history[0]["firing_rates"] is None


def test_a_network_that_cannot_fire_is_a_learning_failure_not_an_auc_of_half():
    x, y = blobs()
    cfg = config(x, y, model={"threshold": 1e6, "init_rate": 0.0}, train={"epochs": 3}, retries=1)
    tr, va = split(y)
    out = train_model(cfg, x, y, tr, va)
    assert out.fit.best_eval.auc == 0.5
    assert out.fit.failure == {"kind": "silent_output", "epoch": 1,
                               "reason": "output layer silent from epoch 1 (hidden layer 1 silent too)"}
    assert [a["seed"] for a in out.attempts] == [0, 1]
    assert all(a["failure"]["kind"] == "silent_output" for a in out.attempts)


def test_silent_default_init_is_rescaled_to_fire():
    x, y = blobs()
    x = np.where(x > 0.6, x - 0.4, x * 0.05).astype(np.float32)  # sparse, like a linear spectrogram
    tr, va = split(y)
    model = {"threshold": 4.0, "init_rate": 0.0}
    silent = train_model(config(x, y, model=model, train={"epochs": 2}), x, y, tr, va)
    assert silent.fit.failure["kind"] == "silent_output"
    fired = train_model(config(x, y, model={**model, "init_rate": 0.1}, train={"epochs": 4}), x, y, tr, va)
    assert fired.fit.failure is None and fired.fit.best_eval.auc > 0.75
    assert all(s > 1 for s in fired.attempts[0]["init_scales"])


def _history(aucs, out_rates=None, losses=None):
    out_rates = out_rates or [0.1] * len(aucs)
    losses = losses or [0.5] * len(aucs)
    return [{"epoch": i + 1, "train_loss": losses[i], "val_loss": 0.5, "val_auc": a,
             "firing_rates": [0.2, r]} for i, (a, r) in enumerate(zip(aucs, out_rates))]


def test_diagnose_reasons_and_epochs():
    assert diagnose(_history([0.6, 0.8, 0.85])) is None
    silent = diagnose(_history([0.7, 0.5, 0.8, 0.5, 0.5], out_rates=[0.1, 0.0, 0.1, 0.0, 0.0]))
    assert silent["reason"] == "output layer silent from epoch 4" and silent["epoch"] == 4
    nan = diagnose(_history([0.7, 0.7, 0.7], losses=[0.5, math.nan, 0.4]))
    assert nan["reason"] == "loss became NaN at epoch 2"
    chance = diagnose(_history([0.5, 0.503, 0.49]))
    assert chance["kind"] == "chance_auc"
    assert chance["reason"] == "validation AUC stayed at 0.5 (best 0.503 in 3 epochs)"


def test_zero_sum_input_layer_ignores_the_mean_level_and_stays_zero_sum_while_training():
    import torch

    x, y = blobs()
    cfg = config(x, y, model={"zero_sum_input": True})
    tr, va = split(y)
    out = train_model(cfg, x, y, tr, va)
    w = out.model.fc[0].weight.detach()
    assert float(w.sum(dim=1).abs().max()) < 1e-5 * float(w.abs().sum(dim=1).max())
    xt = torch.from_numpy(x[:8].reshape(8, -1))
    with torch.no_grad():  # layer 1's current does not see a level added to every input
        assert torch.allclose(out.model.fc[0](xt + 0.25), out.model.fc[0](xt), atol=1e-5)
        assert not torch.allclose(out.model.fc[1](torch.ones(1, 24)), torch.zeros(1, 2), atol=1e-3)
    assert out.fit.failure is None and out.fit.best_eval.auc > 0.65  # the contrast of rows 2-3 is left
    free = config(x, y)["model"]
    assert free["zero_sum_input"] is False


def test_device_auto_picks_cuda_exactly_when_torch_sees_one(monkeypatch):
    import torch

    from toolchain.core.errors import ConfigError
    from toolchain.train.loop import select_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        select_device("cuda")
    with pytest.raises(ConfigError, match="device 'tpu' is not 'auto', 'cpu' or 'cuda'"):
        select_device("tpu")


@pytest.mark.parametrize("device", DEVICES)
def test_bench_train_runs_both_loops_on_the_device_it_names(device):
    from toolchain.bench.train import bench_train

    r = bench_train(batch=4, num_steps=3, input_shape=(8,), hidden=(6,), plain_batches=1, fast_batches=1,
                    device=device)
    assert r["device"] == device and r["same_output_counts"] is True
    assert (r["gpu"] is not None) == (device == "cuda")
    assert r["plain"]["batches"] == 1 and r["ratio"] == r["fast"]["samples_per_s"] / r["plain"]["samples_per_s"]


@pytest.mark.parametrize("model", [
    {"kind": "snn"},
    {"kind": "snn_conv", "channels": [4], "kernel": 3, "stride": 1, "hidden": [16]},
    {"kind": "snn_rec", "hidden": [24], "encoding": "frames", "num_steps": 10},
    {"kind": "ann_mlp"},
    {"kind": "cnn", "channels": [8], "kernel": 3, "cnn_hidden": 8},
], ids=lambda m: m["kind"])
@pytest.mark.parametrize("device", DEVICES)
def test_training_on_a_device_learns_and_hands_back_a_cpu_model_that_scores_the_same(model, device):
    """`device = "cuda"` trains there (the config key, as `neurodeploy train --device` sets it); the
    model comes back on the CPU, where it scores the validation clips as the run measured them."""
    import torch

    from toolchain.train.loop import evaluate

    x, y = blobs()
    if model["kind"] == "snn_rec":
        x = np.ascontiguousarray(x.transpose(0, 2, 1))
    cfg = config(x, y, model=model, train={"epochs": 6}, device=device)
    tr, va = split(y)
    out = train_model(cfg, x, y, tr, va)
    assert out.fit.failure is None and out.fit.best_eval.auc > 0.9
    assert {p.device.type for p in out.model.parameters()} == {"cpu"}
    again = evaluate(out.model, torch.as_tensor(x), torch.as_tensor(y), va, batch_size=32,
                     device=torch.device("cpu"), loss=cfg["train"]["loss"], seed=0)
    # dc / frames input: no random draws; the CPU's float sums may flip a spike at the threshold
    assert abs(again.auc - out.fit.best_eval.auc) <= (0.0 if device == "cpu" else 0.02)


@pytest.mark.parametrize("device", DEVICES)
def test_the_fast_loop_equals_the_plain_loop_at_the_snn_conv_presets_size(device):
    """At the preset's real size (batch 64, 1x105x135 -> conv 8 -> conv 16 -> 64 -> 2), the fast loop's
    convolution over all T*B step-samples and the plain loop's per-step one give the same output
    counts. On CUDA that needs TF32 off (`select_device`): with torch's default (cuDNN TF32 on),
    the H200 gave different counts here."""
    import torch

    from toolchain.bench.train import bench_train

    r = bench_train(preset="snn-conv", plain_batches=1, fast_batches=1, warmup=0, device=device)
    assert r["same_output_counts"] is True and r["differing_output_counts"] == 0 and r["output_counts"] == 128
    if device == "cuda":
        assert torch.backends.cudnn.allow_tf32 is False and torch.backends.cuda.matmul.allow_tf32 is False
