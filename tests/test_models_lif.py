"""The fast SNN path computes the same function as the plain per-step snntorch loop:
same output spike counts and the same gradients (weights and learnable beta)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models import SNNMLP, encode, run_snntorch, snntorch_sequential
from models.lif import leaky_sequence
from tests.devices import DEVICES, generator


def _active_model(reset, learn_beta, encoding, seed=0, bias=False):
    """A small SNN whose layers all fire (weights scaled up from the default init)."""
    torch.manual_seed(seed)
    model = SNNMLP([40, 32, 24, 2], beta=0.85, learn_beta=learn_beta, threshold=0.5, slope=5.0,
                   reset=reset, encoding=encoding, num_steps=12, bias=bias)
    with torch.no_grad():
        for fc in model.fc:
            fc.weight.mul_(3.0).add_(0.05)
    return model


def _plain_and_fast(model, x, labels, encoding):
    """Forward + backward through both paths (on x's device); returns (fast counts, plain counts, plain seq)."""
    device = x.device.type
    plain = snntorch_sequential(model.to_float_network(), learn_beta=model.learn_beta).to(device)
    inputs = encode(x, encoding, model.num_steps, generator(device, 3))
    plain_counts = run_snntorch(plain, inputs, model.num_steps)
    fast_counts = model(x, generator(device, 3))
    F.cross_entropy(fast_counts, labels).backward()
    F.cross_entropy(plain_counts, labels).backward()
    return fast_counts, plain_counts, plain


@pytest.mark.parametrize("learn_beta", [False, True], ids=["fixed-beta", "learnable-beta"])
@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("encoding", ["dc", "rate", "latency"])
@pytest.mark.parametrize("device", DEVICES)
def test_fast_path_equals_plain_snntorch_loop(reset, learn_beta, encoding, device):
    model = _active_model(reset, learn_beta, encoding).to(device)
    x = torch.rand(16, 40).to(device)
    labels = (torch.arange(16) % 2).to(device)
    fast, plain_counts, plain = _plain_and_fast(model, x, labels, encoding)
    assert torch.equal(fast, plain_counts)
    assert all(r > 0 for r in model.firing_rates), "every layer must fire for the test to mean something"
    for i, fc in enumerate(model.fc):
        ref = plain[2 * i].weight.grad
        assert ref.abs().max() > 0
        torch.testing.assert_close(fc.weight.grad, ref, rtol=1e-4, atol=1e-6 * float(ref.abs().max()))
    if learn_beta:
        beta = torch.sigmoid(model.beta_logit.detach())
        ours = model.beta_logit.grad / (beta * (1 - beta))  # d/dbeta = d/dlogit / sigmoid'
        ref = torch.stack([plain[2 * i + 1].beta.grad for i in range(len(model.fc))])
        assert ref.abs().max() > 0
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-6 * float(ref.abs().max()))


@pytest.mark.parametrize("device", DEVICES)
def test_fast_path_equals_plain_with_bias(device):
    model = _active_model("zero", False, "dc", bias=True).to(device)
    x = torch.rand(8, 40).to(device)
    labels = (torch.arange(8) % 2).to(device)
    fast, plain_counts, plain = _plain_and_fast(model, x, labels, "dc")
    assert torch.equal(fast, plain_counts)
    torch.testing.assert_close(model.fc[0].bias.grad, plain[0].bias.grad, rtol=1e-4, atol=1e-7)


def test_constant_current_gradient_is_the_sum_over_steps():
    torch.manual_seed(1)
    current = (torch.rand(1, 4, 6) * 0.8).requires_grad_()
    expanded = current.detach().expand(9, 4, 6).clone().requires_grad_()
    w = torch.randn(9, 4, 6)
    (leaky_sequence(current, 0.9, 0.5, 25.0, "zero", 9) * w).sum().backward()
    (leaky_sequence(expanded, 0.9, 0.5, 25.0, "zero", 9) * w).sum().backward()
    torch.testing.assert_close(current.grad[0], expanded.grad.sum(0))


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_calibrate_sets_every_layer_to_the_target_rate(reset):
    torch.manual_seed(0)
    model = SNNMLP([50, 40, 30, 2], threshold=1.0, reset=reset, num_steps=10, bias=True)
    x = torch.rand(64, 50) * 0.02  # far too weak to make the default init fire
    with torch.no_grad():
        assert model(x).sum() == 0
        scales = model.calibrate(x, 0.15)
        model(x)
    assert all(s > 1 for s in scales)
    assert [round(float(r), 2) for r in model.firing_rates] == [0.15, 0.15, 0.15]


def test_latency_encoding_matches_the_deployment_encoder():
    from toolchain.represent.encoding import spike_trains

    x = np.random.default_rng(0).random((5, 30)).astype(np.float32)
    x[0, :5] = 0.0
    ours = encode(torch.from_numpy(x), "latency", 7).numpy().astype(bool)  # [T, B, n]
    theirs = spike_trains(x, "latency", 7, 0, 30)  # [B, T, n]
    assert np.array_equal(ours.transpose(1, 0, 2), theirs)
    assert not ours[:, 0, :5].any()
