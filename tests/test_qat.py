"""Quantisation-aware fine-tuning: trains through the roundings and leaves the weights on the quantiser's grid."""

import numpy as np
import pytest
import torch

from models import SNNMLP
from toolchain.quantize import QuantConfig, quantize
from toolchain.quantize.qat import _fake_quant_input, qat_finetune


def _fake_quant_auc(model, x, y, input_bits):
    """Validation AUC of `model` through the input quantiser (its weights are on the grid already)."""
    from toolchain.core.metrics import auc, class_score

    with torch.no_grad():
        counts = model(_fake_quant_input(torch.from_numpy(x), input_bits))
    return auc(y, class_score(counts).numpy())


def test_qat_leaves_weights_on_the_grid_and_keeps_the_best_epoch():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    x = rng.random((160, 20)).astype(np.float32)
    y = (x[:, :5].mean(axis=1) > 0.5).astype(np.int64)
    model = SNNMLP([20, 16, 2], beta=0.9, num_steps=8, input_shape=(20,))
    history = qat_finetune(model, x[:120], y[:120], x[120:], y[120:], weight_bits=5, input_bits=6, epochs=3, lr=1e-2)
    assert len(history["history"]) == 3
    # the weights kept are those of the best epoch: the returned model scores that epoch's AUC, and
    # that AUC is the best of the start and every epoch (not, say, the last epoch's)
    aucs = [history["val_auc_before"]] + [h["val_auc_fake_quant"] for h in history["history"]]
    assert history["val_auc_best"] == max(aucs)
    assert _fake_quant_auc(model, x[120:], y[120:], input_bits=6) == pytest.approx(history["val_auc_best"], abs=1e-12)
    assert not any(torch.nn.utils.parametrize.is_parametrized(fc) for fc in model.fc)
    for fc in model.fc:  # each weight is an integer multiple of max|W| / (2**(bits-1) - 1)
        w = fc.weight.detach().double().numpy()
        levels = w * 15 / np.abs(w).max()
        assert np.allclose(levels, np.round(levels), atol=1e-4)
    net = model.to_float_network()
    ir, _ = quantize(net, x[:64], QuantConfig(weight_bits=5))
    for layer, fc in zip(ir.layers, model.fc):  # post-training quantisation then reproduces them exactly
        w = fc.weight.detach().double().numpy()
        assert np.array_equal(layer.weight, np.rint(w * 15 / np.abs(w).max()).astype(np.int32))


def test_qat_returns_the_best_epochs_weights_not_the_last():
    """Validation labels inverted: fine-tuning on the training labels makes the validation AUC worse
    epoch after epoch, so the best weights are the starting ones and QAT must hand those back."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    x = rng.random((160, 20)).astype(np.float32)
    y = (x[:, :5].mean(axis=1) > 0.5).astype(np.int64)
    model = SNNMLP([20, 16, 2], beta=0.9, num_steps=8, input_shape=(20,))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    history = qat_finetune(model, x[:120], y[:120], x[120:], 1 - y[120:], weight_bits=5, input_bits=6,
                           epochs=6, lr=1e-2)
    epochs = [h["val_auc_fake_quant"] for h in history["history"]]
    assert max(epochs) < history["val_auc_before"] == history["val_auc_best"]  # the premise: it got worse
    assert _fake_quant_auc(model, x[120:], 1 - y[120:], input_bits=6) == pytest.approx(history["val_auc_before"])
    for fc, key in zip(model.fc, [k for k in start if k.endswith("weight")]):  # the start, on the grid
        w0 = start[key].double().numpy()
        assert np.allclose(fc.weight.detach().double().numpy(), np.round(w0 * 15 / np.abs(w0).max()) * np.abs(w0).max() / 15,
                           atol=1e-6)
