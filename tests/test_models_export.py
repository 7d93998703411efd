"""Deployment contracts of the models: SNN -> FloatNetwork, ANN baselines -> ONNX."""

import numpy as np
import pytest
import snntorch as snn
import torch
from torch import nn

from models import ANNMLP, SNNMLP, SpectrogramCNN, seed_sizes


def _sequential_from_float_network(net):
    """Plain snntorch, layer by layer, from the FloatNetwork alone (no neurodeploy helper)."""
    layers = []
    for layer in net.layers:
        linear = nn.Linear(layer.n_in, layer.n_out, bias=layer.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weight))
            if layer.bias is not None:
                linear.bias.copy_(torch.from_numpy(layer.bias))
        layers += [linear, snn.Leaky(beta=layer.beta, threshold=layer.threshold,
                                     reset_mechanism=layer.reset, init_hidden=True)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("learn_beta", [False, True])
@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("bias", [False, True])
def test_to_float_network_runs_the_same_in_plain_snntorch(reset, learn_beta, bias):
    torch.manual_seed(0)
    model = SNNMLP([6 * 5, 20, 12, 2], beta=0.8, learn_beta=learn_beta, threshold=0.7, reset=reset,
                   num_steps=15, bias=bias, input_shape=(6, 5))
    with torch.no_grad():
        for fc in model.fc:
            fc.weight.mul_(3.0).add_(0.05)
        if learn_beta:
            model.beta_logit.copy_(torch.tensor([0.3, 1.5, 2.5]))  # as if trained: per-layer betas
    net = model.to_float_network()
    assert net.num_steps == 15 and net.encoding == "dc" and tuple(net.input_shape) == (6, 5)
    assert [layer.reset for layer in net.layers] == [reset] * 3
    assert all(0 < layer.beta < 1 and layer.threshold == 0.7 for layer in net.layers)
    assert all((layer.bias is not None) == bias for layer in net.layers)
    if learn_beta:
        assert [round(layer.beta, 4) for layer in net.layers] == [0.5744, 0.8176, 0.9241]
    x = torch.rand(10, 6, 5)
    seq = _sequential_from_float_network(net)
    for m in seq:
        if isinstance(m, snn.Leaky):
            m.reset_mem()
    with torch.no_grad():
        counts = sum(seq(x.flatten(1)) for _ in range(net.num_steps))
        ours = model.eval()(x)
    assert ours.sum() > 0
    assert torch.equal(ours, counts)


def test_seed_presets_have_the_seed_shapes():
    assert seed_sizes("spectrogram", 105 * 135) == [14175, 4096, 512, 64, 2]
    assert seed_sizes("waveform", 4000) == [4000, 2048, 512, 64, 2]


@pytest.mark.parametrize("kind", ["ann_mlp", "cnn"])
def test_ann_baselines_export_to_onnx_and_run_the_same(kind, tmp_path):
    import onnxruntime as ort

    torch.manual_seed(0)
    if kind == "ann_mlp":
        model, x = ANNMLP([105 * 135, 32, 16, 2], input_shape=(105, 135)), torch.rand(3, 105 * 135)
    else:
        model, x = SpectrogramCNN((105, 135)), torch.rand(3, 1, 105, 135)
    assert not any("snntorch" in type(m).__module__ for m in model.modules())
    model.eval()
    path = tmp_path / f"{kind}.onnx"
    torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x5 = torch.rand(5, *x.shape[1:])
    out = sess.run(None, {"input": x5.numpy()})[0]
    assert out.shape == (5, 2)
    with torch.no_grad():
        np.testing.assert_allclose(out, model(x5).numpy(), rtol=1e-4, atol=1e-5)
