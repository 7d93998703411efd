"""Quantisation-aware fine-tuning: trains through the roundings and leaves the weights on the quantiser's grid."""

import numpy as np
import torch

from models import SNNMLP
from toolchain.quantize import QuantConfig, quantize
from toolchain.quantize.qat import qat_finetune


def test_qat_leaves_weights_on_the_grid_and_keeps_the_best_epoch():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    x = rng.random((160, 20)).astype(np.float32)
    y = (x[:, :5].mean(axis=1) > 0.5).astype(np.int64)
    model = SNNMLP([20, 16, 2], beta=0.9, num_steps=8, input_shape=(20,))
    history = qat_finetune(model, x[:120], y[:120], x[120:], y[120:], weight_bits=5, input_bits=6, epochs=3, lr=1e-2)
    assert len(history["history"]) == 3
    assert history["val_auc_best"] >= history["val_auc_before"]
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
