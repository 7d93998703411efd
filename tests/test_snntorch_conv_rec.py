"""snntorch front end for conv and recurrent networks: Conv1d / Conv2d + Leaky, Flatten, Linear +
RLeaky map onto FloatConv / FloatFlatten / FloatRec and compute what the user's own snntorch model
computes; what cannot map is refused naming the layer."""

import numpy as np
import pytest
import snntorch as snn
import torch
from torch import nn

from models import run_snntorch, snntorch_sequential
from toolchain.frontends.float_net import FloatConv, FloatFlatten, FloatLayer, FloatRec
from toolchain.frontends.from_snntorch import MappingError, from_snntorch

STEPS = 10


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _lively(model: nn.Module, gain: float = 2.5) -> nn.Module:
    """Scale the synapses up from torch's init so every layer fires on inputs in [0, 1]."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
                m.weight.mul_(gain).add_(0.02)
    return model


def _leaky(reset="zero", **kw):
    return snn.Leaky(beta=0.8, threshold=0.6, reset_mechanism=reset, init_hidden=True, **kw)


def _same_counts(model: nn.Module, x: torch.Tensor, **kw):
    """The user's model stepped in Python vs our plain loop rebuilt from the FloatNetwork alone."""
    net = from_snntorch(model, STEPS, input_shape=tuple(x.shape[1:]), **kw)
    theirs = run_snntorch(model, x.unsqueeze(0), STEPS)
    ours = run_snntorch(snntorch_sequential(net), x.flatten(1).unsqueeze(0), STEPS)
    assert theirs.sum() > 0
    assert torch.equal(ours, theirs)
    return net


@torch.no_grad()
def test_conv2d_network_maps_with_flatten_order_and_padding():
    model = _lively(nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1), _leaky(),
        nn.Conv2d(4, 6, (3, 2), stride=(1, 2), bias=False), _leaky("subtract"),
        nn.Flatten(), nn.Linear(6 * 5 * 3, 12), _leaky(), nn.Linear(12, 2), _leaky()))
    x = torch.rand(5, 1, 13, 11)
    net = _same_counts(model, x)
    assert [type(layer) for layer in net.layers] == [FloatConv, FloatConv, FloatFlatten, FloatLayer, FloatLayer]
    c1, c2, flat = net.layers[:3]
    assert c1.in_shape == (1, 13, 11) and c1.padding == (1, 1) and c1.out_shape == (4, 7, 6)
    assert c2.stride == (1, 2) and c2.bias is None and c2.reset == "subtract" and flat.shape == (6, 5, 3)
    assert net.n_in == 13 * 11


@torch.no_grad()
def test_conv1d_same_padding_groups_and_dilation_map():
    model = _lively(nn.Sequential(
        nn.Conv1d(2, 4, 3, padding="same", dilation=2, groups=2), _leaky(),
        nn.Flatten(), nn.Linear(4 * 17, 2), _leaky()))
    net = _same_counts(model, torch.rand(5, 2, 17))
    conv = net.layers[0]
    assert conv.padding == (2,) and conv.dilation == (2,) and conv.groups == 2 and conv.out_shape == (4, 17)


@torch.no_grad()
def test_rleaky_all_to_all_maps_with_its_recurrent_bias_folded():
    model = _lively(nn.Sequential(
        nn.Linear(8, 12), snn.RLeaky(beta=0.8, threshold=0.6, linear_features=12, init_hidden=True),
        nn.Linear(12, 2), _leaky()), gain=1.5)
    with torch.no_grad():
        model[1].recurrent.bias.fill_(0.05)
    net = _same_counts(model, torch.rand(6, 8))
    rec = net.layers[0]
    assert isinstance(rec, FloatRec) and rec.reset == "subtract"
    assert np.allclose(rec.bias, model[0].bias.double().numpy() + 0.05)
    assert np.array_equal(rec.weight_rec, model[1].recurrent.weight.double().numpy())


@torch.no_grad()
def test_rleaky_zero_reset_at_the_spike_maps():
    model = _lively(nn.Sequential(
        nn.Linear(8, 12), snn.RLeaky(beta=0.8, threshold=0.6, linear_features=12, init_hidden=True,
                                     reset_mechanism="zero", reset_delay=False),
        nn.Linear(12, 2), _leaky()), gain=1.5)
    net = _same_counts(model, torch.rand(6, 8))
    assert net.layers[0].kind == "dense_rec" and net.layers[0].reset == "zero"


@torch.no_grad()
def test_rleaky_one_to_one_maps_to_a_diagonal_recurrence():
    v = torch.linspace(-0.5, 0.5, 12)
    model = _lively(nn.Sequential(
        nn.Linear(8, 12), snn.RLeaky(beta=0.8, threshold=0.6, V=v, all_to_all=False, init_hidden=True),
        nn.Linear(12, 2), _leaky()), gain=1.5)
    net = _same_counts(model, torch.rand(6, 8))
    assert np.array_equal(net.layers[0].weight_rec, np.diag(v.double().numpy()))


def test_unmappable_conv_and_recurrent_networks_are_refused_naming_the_layer():
    conv = lambda **kw: nn.Conv2d(1, 2, 3, **kw)  # noqa: E731
    cases = [
        (nn.Sequential(conv(), _leaky(), nn.MaxPool2d(2)), (1, 8, 8), "layer 2 .*MaxPool2d.*stride"),
        (nn.Sequential(conv(), _leaky(), nn.AvgPool2d(2)), (1, 8, 8), "layer 2 .*pooling"),
        (nn.Sequential(conv(), snn.RLeaky(beta=0.9, conv2d_channels=2, kernel_size=3)), (1, 8, 8),
         "layer 1 .*convolutional recurrence"),
        (nn.Sequential(nn.Linear(4, 3), snn.RLeaky(beta=0.9, conv2d_channels=3, kernel_size=3)), (4,),
         "layer 1 .*Conv2d recurrence"),
        (nn.Sequential(conv(padding_mode="reflect", padding=1), _leaky()), (1, 8, 8), "layer 0 .*padding_mode 'reflect'"),
        (nn.Sequential(nn.Conv2d(1, 2, 2, padding="same"), _leaky()), (1, 8, 8), "layer 0 .*asymmetrically"),
        (nn.Sequential(conv(), _leaky(), nn.Linear(6, 2), _leaky()), (1, 8, 8), "layer 2 .*nn.Flatten before it"),
        (nn.Sequential(conv(), _leaky()), (), "layer 0 .*needs the input shape"),
        (nn.Sequential(conv(), _leaky()), (3, 8, 8), "layer 0 .*1 input channels"),
        (nn.Sequential(conv(), snn.Synaptic(alpha=0.5, beta=0.9)), (1, 8, 8), "layer 1 .*Synaptic is not supported"),
        (nn.Sequential(nn.Linear(4, 3), snn.RSynaptic(alpha=0.5, beta=0.9, linear_features=3)), (4,),
         "layer 1 .*RSynaptic is not supported"),
    ]
    for model, shape, pattern in cases:
        with pytest.raises(MappingError, match=pattern):
            from_snntorch(model, 5, input_shape=shape)
