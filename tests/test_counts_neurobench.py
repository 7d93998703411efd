"""Our counts equal NeuroBench 2.3.0's own metrics on the same snntorch model and inputs.

NeuroBench runs its SynapticOperations, ActivationSparsity and MembraneUpdates (through its hooks
and Benchmark) on an nn.Sequential of Linear + snntorch Leaky (and, below, of Conv1d / Conv2d +
Leaky + Flatten + Linear, and of Linear + RLeaky(all_to_all) + Linear); we record the same model's
spikes and membranes independently, build a SimResult, and count with toolchain.counts.

Where the definitions coincide the numbers are equal exactly:
- Effective_MACs: a graded first-layer input (values outside {-1, 0, 1}) is a MAC per nonzero input
  per nonzero weight; ours = graded ops with the float model's "dc" input mapped to
  "graded_every_step" (NeuroBench recomputes layer 1 at every step, as that encoding sends it).
- Effective_ACs: binary inputs (spikes) x nonzero fan-out, per step.
- Dense: n_in x n_out per layer per step.
- ActivationSparsity: zero spiking-layer outputs / all outputs.
- MembraneUpdates: n at the first step plus membrane changes at later steps.
- Conv: NeuroBench binarises input and kernel and convolves (effective) or convolves all-ones
  (Dense, zero padding contributes nothing): ours = each event x its fan-out at the valid positions.
- RLeaky: NeuroBench's connection search recurses into the RLeaky module and hooks its `recurrent`
  nn.Linear, whose input at each step is the previous step's spikes: ours = dense_rec's own-spike ops.
Known differences (not exercised here, documented in toolchain.counts): NeuroBench decides MAC vs AC
from the values it sees (a graded input that happens to be all 0/1 counts as ACs; ours follows the
encoding), and with "graded_once" our layer-1 ops are 1/num_steps of its Effective_MACs.
"""

import pytest
import torch

pytest.importorskip("neurobench")
snn = pytest.importorskip("snntorch")

from neurobench.benchmarks import Benchmark  # noqa: E402
from neurobench.metrics.workload import ActivationSparsity, MembraneUpdates, SynapticOperations  # noqa: E402
from neurobench.models import SNNTorchModel  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from toolchain.core.result import SimResult  # noqa: E402
from toolchain.counts import count_classification, neurobench_view, topology_from_float  # noqa: E402
from toolchain.frontends.float_net import (  # noqa: E402
    FloatConv,
    FloatFlatten,
    FloatLayer,
    FloatNetwork,
    FloatRec,
)

B, T, N_IN = 4, 6, 8


def _net():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(N_IN, 7), snn.Leaky(beta=0.9, threshold=0.3, init_hidden=True),
        torch.nn.Linear(7, 5), snn.Leaky(beta=0.8, threshold=0.2, init_hidden=True),
        torch.nn.Linear(5, 2), snn.Leaky(beta=0.7, threshold=0.2, init_hidden=True, output=True))
    with torch.no_grad():  # zero weights, so fan-outs differ from n_out
        net[0].weight[0, 1] = 0
        net[0].weight[:, 4] = 0
        net[2].weight[1, :3] = 0
        net[4].weight[0, 2] = 0
        for layer, row in ((0, 6), (2, 4)):  # silent neurons: their membrane stays 0 after step 1
            net[layer].weight[row] = 0
            net[layer].bias[row] = 0
    return net


def _inputs(kind: str):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(B, N_IN, generator=g)
    x[:, 2] = 0
    x[0, 3] = 0
    if kind == "dc":
        return x, x[:, None, :].repeat(1, T, 1)
    spikes = (torch.rand(B, T, N_IN, generator=g) < x[:, None, :]).float()
    return spikes, spikes


def _neurobench(net, data):
    n = data.shape[0]
    bench = Benchmark(SNNTorchModel(net), DataLoader(TensorDataset(data, torch.zeros(n)), batch_size=n), [], [],
                      [[], [SynapticOperations, ActivationSparsity, MembraneUpdates]])
    return bench.run(quiet=True)


def _record(net, data):
    """Our own run of the same model: spikes and membrane after every step of every spiking layer,
    flattened channels first [B, T, n]."""
    from snntorch import utils

    leaky = [m for m in net if isinstance(m, snn.SpikingNeuron)]
    spikes = {i: [] for i in range(len(leaky))}
    mems = {i: [] for i in range(len(leaky))}

    def hook(i):
        def fn(module, inp, out):
            spikes[i].append((out[0] if isinstance(out, tuple) else out).detach().clone())
            mems[i].append(module.mem.detach().clone())
        return fn

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(leaky)]
    utils.reset(net)
    with torch.no_grad():
        for t in range(T):
            net(data[:, t])
    for h in handles:
        h.remove()
    stack = lambda d, i: torch.stack(d[i], dim=1).flatten(2).numpy()  # noqa: E731  [B, T, n]
    return ([stack(spikes, i).astype(bool) for i in range(len(leaky))],
            [stack(mems, i) for i in range(len(leaky))])


def _float_network(net, encoding):
    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    return FloatNetwork(layers=[FloatLayer(weight=m.weight.detach().numpy(), bias=m.bias.detach().numpy(),
                                           beta=0.9, threshold=0.3) for m in lin],
                        num_steps=T, encoding=encoding)


@pytest.mark.parametrize("kind", ["dc", "rate"])
def test_counts_equal_neurobench(kind):
    net = _net()
    sent, data = _inputs(kind)
    theirs = _neurobench(net, data)
    layer_spikes, membranes = _record(net, data)
    assert any(s.any() for s in layer_spikes[:-1]), "the test network must spike"
    sim = SimResult(backend="float", input=sent.numpy() if kind == "dc" else sent.numpy().astype(bool),
                    layer_spikes=layer_spikes)
    ours = neurobench_view(count_classification(topology_from_float(_float_network(net, kind)), sim,
                                                membrane=membranes))
    syn = theirs["SynapticOperations"]
    if kind == "dc":
        assert syn["Effective_MACs"] > 0
    else:
        assert syn["Effective_MACs"] == 0
    # per-sample means; both sides divide the same integer totals by B
    assert ours["Effective_MACs"] * B == pytest.approx(syn["Effective_MACs"] * B, abs=0)
    assert ours["Effective_ACs"] * B == pytest.approx(syn["Effective_ACs"] * B, abs=0)
    assert ours["Dense"] == syn["Dense"]
    assert ours["ActivationSparsity"] == pytest.approx(theirs["ActivationSparsity"], abs=1e-12)
    assert ours["MembraneUpdates"] == pytest.approx(theirs["MembraneUpdates"], abs=0)
    assert ours["MembraneUpdates"] < (7 + 5 + 2) * T  # the silent neurons are not counted after step 1


def _same(ours, theirs, n):
    syn = theirs["SynapticOperations"]
    assert ours["Effective_MACs"] * n == pytest.approx(syn["Effective_MACs"] * n, abs=0)
    assert ours["Effective_ACs"] * n == pytest.approx(syn["Effective_ACs"] * n, abs=0)
    assert ours["Dense"] == syn["Dense"]
    assert ours["ActivationSparsity"] == pytest.approx(theirs["ActivationSparsity"], abs=1e-12)
    assert ours["MembraneUpdates"] == pytest.approx(theirs["MembraneUpdates"], abs=0)


@pytest.mark.parametrize("dims", [1, 2])
def test_conv_counts_equal_neurobench(dims):
    """Conv (stride 2, padding 1, a zero kernel column) + Leaky -> Flatten -> Linear + Leaky, graded ("dc") input."""
    torch.manual_seed(2)
    shape = (2, 9) if dims == 1 else (2, 7, 9)
    conv = (torch.nn.Conv1d if dims == 1 else torch.nn.Conv2d)(2, 3, 3, stride=2, padding=1)
    with torch.no_grad():
        conv.weight[..., 0] = 0  # a dead kernel column
        conv.weight[1, 0] = 0
        conv.weight.mul_(3.0)
    out_shape = conv(torch.zeros(1, *shape)).shape[1:]
    n_hidden = int(torch.tensor(out_shape).prod())
    net = torch.nn.Sequential(conv, snn.Leaky(beta=0.9, threshold=0.2, init_hidden=True), torch.nn.Flatten(),
                              torch.nn.Linear(n_hidden, 2), snn.Leaky(beta=0.8, threshold=0.1, init_hidden=True,
                                                                       output=True))
    g = torch.Generator().manual_seed(3)
    x = torch.rand(B, *shape, generator=g)
    x[:, 0, ..., 1] = 0
    data = x[:, None].repeat(1, T, *([1] * len(shape)))
    theirs = _neurobench(net, data)
    layer_spikes, membranes = _record(net, data)
    assert layer_spikes[0].any()
    fnet = FloatNetwork(layers=[
        FloatConv(weight=conv.weight.detach().numpy(), bias=conv.bias.detach().numpy(), beta=0.9, threshold=0.2,
                  input_shape=shape, stride=(2,) * dims, padding=(1,) * dims, dilation=(1,) * dims),
        FloatFlatten(shape=tuple(out_shape)),
        FloatLayer(weight=net[3].weight.detach().numpy(), bias=net[3].bias.detach().numpy(), beta=0.8, threshold=0.1)],
        num_steps=T, encoding="dc")
    sim = SimResult(backend="float", input=x.reshape(B, -1).numpy(), layer_spikes=layer_spikes)
    c = count_classification(topology_from_float(fnet), sim, membrane=membranes)
    assert theirs["SynapticOperations"]["Effective_MACs"] > 0 and theirs["SynapticOperations"]["Effective_ACs"] > 0
    assert c["layers"][0]["synapses"] * T < c["layers"][0]["n_in"] * c["layers"][0]["n_out"] * T  # not a dense matrix
    _same(neurobench_view(c), theirs, B)


def test_recurrent_counts_equal_neurobench():
    """Linear + RLeaky(all_to_all) -> Linear + Leaky on rate spikes: the recurrent nn.Linear's ACs on the
    previous step's spikes are ours, per step, W_rec's fan-out of the layer's own previous spikes."""
    torch.manual_seed(4)
    rleaky = snn.RLeaky(beta=0.8, threshold=0.3, linear_features=7, init_hidden=True, all_to_all=True)
    net = torch.nn.Sequential(torch.nn.Linear(N_IN, 7), rleaky, torch.nn.Linear(7, 2),
                              snn.Leaky(beta=0.7, threshold=0.2, init_hidden=True, output=True))
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[0].weight[:, 3] = 0
        rleaky.recurrent.weight[rleaky.recurrent.weight.abs() < 0.15] = 0
        rleaky.recurrent.weight[:, 2] = 0
    sent, data = _inputs("rate")
    theirs = _neurobench(net, data)
    layer_spikes, membranes = _record(net, data)
    assert layer_spikes[0][:, :-1].any(), "the recurrent layer must spike"
    fnet = FloatNetwork(layers=[
        FloatRec(weight=net[0].weight.detach().numpy(), bias=None, beta=0.8, threshold=0.3,
                 weight_rec=rleaky.recurrent.weight.detach().numpy()),
        FloatLayer(weight=net[2].weight.detach().numpy(), bias=None, beta=0.7, threshold=0.2)],
        num_steps=T, encoding="rate")
    sim = SimResult(backend="float", input=sent.numpy().astype(bool), layer_spikes=layer_spikes)
    c = count_classification(topology_from_float(fnet), sim, membrane=membranes)
    assert c["layers"][0]["recurrent_synops"]["mean"] > 0
    _same(neurobench_view(c), theirs, B)
