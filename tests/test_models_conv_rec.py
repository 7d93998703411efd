"""The fast conv and recurrent SNNs compute what the plain per-step snntorch loop computes: the same
output spike counts and the same gradients (conv / linear / recurrent weights, biases, learnable
beta), and their FloatNetwork describes exactly that network."""

import numpy as np
import pytest
import snntorch as snn
import torch
import torch.nn.functional as F

from models import SNNConv, SNNRec, run_snntorch, snntorch_sequential
from models.reference import LeakyRecurrent, neurons, synapses
from tests.devices import DEVICES, generator
from toolchain.frontends.float_net import FloatConv, FloatFlatten, FloatLayer, FloatRec

STEPS = 8


def _compare(model, x, rtol=1e-4):
    """Forward + backward through the fast model and the plain loop built from its FloatNetwork (on
    x's device)."""
    device = x.device.type
    plain = snntorch_sequential(model.to_float_network(), learn_beta=model.learn_beta).to(device)
    labels = (torch.arange(len(x)) % 2).to(device)
    inputs = model.encode_input(x, generator(device, 3))
    plain_counts = run_snntorch(plain, inputs, model.num_steps)
    fast_counts = model(x, generator(device, 3))
    assert torch.equal(fast_counts, plain_counts)
    assert all(r > 0 for r in model.firing_rates), "every layer must fire for the test to mean something"
    F.cross_entropy(fast_counts, labels).backward()
    F.cross_entropy(plain_counts, labels).backward()

    def close(ours, ref):
        assert ref.abs().max() > 0
        torch.testing.assert_close(ours, ref, rtol=rtol, atol=1e-5 * float(ref.abs().max()))

    for stage, ref in zip(model.layers, synapses(plain), strict=True):
        ours = getattr(stage, "synapse", stage)
        close(ours.weight.grad, ref.weight.grad)
        if ours.bias is not None:
            close(ours.bias.grad, ref.bias.grad)
    for stage, neuron in zip(model.layers, neurons(plain)):
        if hasattr(stage, "recurrent"):
            close(stage.recurrent.weight.grad, neuron.recurrent.weight.grad)
    if model.learn_beta:
        beta = torch.sigmoid(model.beta_logit.detach())
        ours = model.beta_logit.grad / (beta * (1 - beta))  # d/dbeta = d/dlogit / sigmoid'
        close(ours, torch.stack([n.beta.grad.reshape(()) for n in neurons(plain)]))
    return plain


@pytest.mark.parametrize("shape,encoding,reset", [((12, 14), "dc", "zero"), ((12, 14), "dc", "subtract"),
                                                  ((40,), "dc", "zero"), ((12, 14), "rate", "subtract")],
                         ids=["conv2d-dc-zero", "conv2d-dc-subtract", "conv1d-dc-zero", "conv2d-rate-subtract"])
@pytest.mark.parametrize("device", DEVICES)
def test_conv_fast_path_equals_plain_snntorch_loop(shape, encoding, reset, device):
    torch.manual_seed(0)
    model = SNNConv(shape, channels=(4, 6), kernel=3, stride=[2, 1], padding=[1, 0], hidden=(16,),
                    beta=0.85, learn_beta=True, threshold=0.5, slope=5.0, reset=reset,
                    encoding=encoding, num_steps=STEPS, bias=reset == "zero").to(device)
    x = torch.rand(6, *shape).to(device)
    model.calibrate(x, 0.2, generator(device, 3), iterations=12)
    plain = _compare(model, x)
    conv = torch.nn.Conv2d if len(shape) == 2 else torch.nn.Conv1d
    assert [type(m) for m in synapses(plain)][:2] == [conv, conv]


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("encoding", ["frames", "dc"])
@pytest.mark.parametrize("device", DEVICES)
def test_recurrent_fast_path_equals_plain_snntorch_loop(reset, encoding, device):
    torch.manual_seed(1)
    shape = (STEPS + 1, 10) if encoding == "frames" else (10,)
    model = SNNRec([10, 16, 12, 2], beta=0.85, learn_beta=True, threshold=0.5, slope=5.0, reset=reset,
                   encoding=encoding, num_steps=STEPS + 1, bias=True, input_shape=shape).to(device)
    with torch.no_grad():
        for stage in model.layers[:-1]:
            stage.recurrent.weight.mul_(2.0)  # recurrence strong enough to change the spikes
    x = torch.rand(6, *shape).to(device)
    model.calibrate(x, 0.2, iterations=12)
    plain = _compare(model, x)
    # "subtract" runs snntorch's own RLeaky; "zero" snn.Leaky on I + V s[t-1] (see models.reference)
    expected = snn.RLeaky if reset == "subtract" else LeakyRecurrent
    assert [type(n) for n in neurons(plain)] == [expected, expected, snn.Leaky]
    with torch.no_grad():  # the recurrence matters: without V the output differs
        counts = model(x)
        for stage in model.layers[:-1]:
            stage.recurrent.weight.zero_()
        assert not torch.equal(model(x), counts)


def test_rleaky_zero_reset_semantics():
    """Why the zero-reset reference is LeakyRecurrent: snntorch 1.0's RLeaky with the default delayed
    zero reset zeroes the whole next state, input included (Loihi and FloatRec only zero the carried
    membrane); RLeaky(reset_delay=False) spikes exactly like LeakyRecurrent."""
    torch.manual_seed(7)
    x = torch.rand(30, 4, 6)
    ours = LeakyRecurrent(6, beta=0.8, threshold=0.6, reset_mechanism="zero")
    spikes = {}
    for delay in (True, False):
        rleaky = snn.RLeaky(beta=0.8, threshold=0.6, linear_features=6, reset_mechanism="zero",
                            reset_delay=delay, init_hidden=True)
        with torch.no_grad():
            rleaky.recurrent.bias.zero_()
            ours.recurrent.weight.copy_(rleaky.recurrent.weight)
        rleaky.reset_mem()
        ours.reset_mem()
        with torch.no_grad():
            spikes[delay] = (torch.stack([rleaky(x[t]) for t in range(30)]),
                             torch.stack([ours(x[t]) for t in range(30)]))
    assert torch.equal(*spikes[False]) and spikes[False][1].sum() > 0
    assert spikes[True][0].sum() < spikes[True][1].sum()  # the delayed reset loses the inputs after spikes


def test_conv_float_network_layout():
    torch.manual_seed(2)
    model = SNNConv((21, 27), channels=(3, 5), kernel=[5, 3], stride=[2, 2], padding=[0, 1],
                    hidden=(7,), bias=True, num_steps=4)
    net = model.to_float_network()
    assert [type(layer) for layer in net.layers] == [FloatConv, FloatConv, FloatFlatten, FloatLayer, FloatLayer]
    c1, c2, flat = net.layers[:3]
    assert c1.in_shape == (1, 21, 27) and c1.out_shape == (3, 9, 12) and c1.stride == (2, 2)
    assert c2.in_shape == (3, 9, 12) and c2.padding == (1, 1) and c2.out_shape == (5, 5, 6)
    assert flat.in_shape == (5, 5, 6) and net.layers[3].n_in == 150 and net.layers[-1].n_out == 2
    assert c1.weight.shape == (3, 1, 5, 5) and c1.bias.shape == (3,)
    assert net.n_in == 21 * 27 and tuple(net.input_shape) == (1, 21, 27) and net.encoding == "dc"
    assert np.array_equal(c2.weight, model.layers[1].synapse.weight.detach().numpy())


def test_recurrent_float_network_holds_v():
    torch.manual_seed(3)
    model = SNNRec([6, 9, 2], encoding="frames", num_steps=5, input_shape=(5, 6))
    net = model.to_float_network()
    assert [type(layer) for layer in net.layers] == [FloatRec, FloatLayer]
    rec = net.layers[0]
    assert rec.weight.shape == (9, 6) and rec.weight_rec.shape == (9, 9) and rec.bias is None
    assert np.array_equal(rec.weight_rec, model.layers[0].recurrent.weight.detach().numpy())
    assert net.encoding == "frames" and net.n_in == 6 and tuple(net.input_shape) == (5, 6)


def test_float_networks_round_trip_through_their_file(tmp_path):
    from toolchain.frontends.float_net import load_float_network, save_float_network

    torch.manual_seed(4)
    for i, model in enumerate([SNNConv((30,), channels=(2,), kernel=4, stride=3, hidden=(5,), bias=True),
                               SNNRec([6, 9, 2], encoding="dc", input_shape=(6,), bias=True)]):
        net = model.to_float_network()
        save_float_network(net, tmp_path / f"{i}.net")
        back = load_float_network(tmp_path / f"{i}.net")
        assert [layer.kind for layer in back.layers] == [layer.kind for layer in net.layers]
        for a, b in zip(net.spiking, back.spiking):
            assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
            assert a.in_shape == b.in_shape and a.out_shape == b.out_shape
            if a.kind == "dense_rec":
                assert np.array_equal(a.weight_rec, b.weight_rec)


@pytest.mark.parametrize("kind", ["conv", "rec"])
def test_calibrate_sets_every_layer_to_the_target_rate(kind):
    torch.manual_seed(5)
    if kind == "conv":
        model = SNNConv((16, 18), channels=(6,), kernel=3, stride=2, hidden=(12,), num_steps=10)
        x = torch.rand(32, 16, 18) * 0.02
    else:
        model = SNNRec([12, 20, 2], encoding="frames", num_steps=10, input_shape=(10, 12), bias=True)
        x = torch.rand(32, 10, 12) * 0.02
    with torch.no_grad():
        assert model(x).sum() == 0  # far too weak to make the default init fire
        scales = model.calibrate(x, 0.15)
        model(x)
    assert all(s > 1 for s in scales)
    assert [round(float(r), 2) for r in model.firing_rates] == [0.15] * len(model.layers)


def test_frames_encoding_needs_one_row_per_step():
    with pytest.raises(ValueError, match="num_steps = 7 rows"):
        SNNRec([6, 9, 2], encoding="frames", num_steps=7, input_shape=(5, 6))
    with pytest.raises(ValueError, match="leaves no output"):
        SNNConv((8, 8), channels=(2, 2), kernel=5, stride=1)


@pytest.mark.parametrize("kind", ["conv", "rec"])
def test_models_equal_the_float_reference_spike_for_spike(kind):
    """What a trained model computes is what deployment's float reference (simulate_float, the
    quantiser's calibration and verification baseline) computes from its FloatNetwork."""
    from toolchain.frontends.reference import simulate_float

    torch.manual_seed(6)
    if kind == "conv":
        model = SNNConv((12, 14), channels=(4, 6), kernel=3, stride=[2, 1], padding=[1, 0], hidden=(16,),
                        beta=0.85, threshold=0.5, reset="zero", num_steps=STEPS, bias=True)
        x = torch.rand(8, 12, 14)
    else:
        model = SNNRec([10, 16, 2], beta=0.85, threshold=0.5, reset="subtract", encoding="dc",
                       num_steps=STEPS, bias=True, input_shape=(10,))
        x = torch.rand(8, 10)
    model.calibrate(x, 0.2, iterations=12)
    with torch.no_grad():
        ours = [s.transpose(0, 1).numpy() > 0 for s in model.layer_spikes(x)]
    ref = simulate_float(model.to_float_network(), x.numpy(), dtype=torch.float32).layer_spikes
    assert len(ref) == len(ours)
    for a, b in zip(ours, ref):
        assert a.any() and np.array_equal(a, b.reshape(a.shape))
