"""NIR Conv1d / Conv2d / Flatten: our export is read back by nir.read, by our importer and by snntorch's
import_from_nir with the same spikes; snntorch's own export_to_nir of a conv network imports with the
spikes of the snntorch model, and deploys through `neurodeploy quantize --nir` and verifies on Lava."""

import json
import warnings
from pathlib import Path

import nir
import numpy as np
import pytest
import snntorch as snn
import torch
from torch import nn

from export.nir_export import to_nir, write_nir
from models import run_snntorch
from tests.float_factory import float_conv_net, float_rec_net
from toolchain.core.errors import ConfigError
from toolchain.frontends.from_nir import from_nir
from toolchain.frontends.from_snntorch import MappingError
from toolchain.frontends.reference import simulate_float

STEPS = 10


def _snntorch_conv_net(seed: int = 0) -> nn.Sequential:
    """Conv2d + Leaky, Conv2d + Leaky, Flatten, Linear + Leaky on a 1 x 9 x 8 input, built the way
    snntorch 1.0's export_to_nir accepts it (per-neuron beta / threshold of the layer's shape; zero
    reset, the only reset NIR has)."""
    torch.manual_seed(seed)

    def leaky(shape):
        return snn.Leaky(beta=torch.full(shape, 0.8), threshold=torch.full(shape, 0.6), init_hidden=True,
                         reset_mechanism="zero")

    net = nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), leaky((3, 5, 4)),
                        nn.Conv2d(3, 4, 2, bias=False), leaky((4, 4, 3)),
                        nn.Flatten(), nn.Linear(48, 2), leaky((2,)))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.mul_(2.5).add_(0.02)
    return net


def _export_snntorch(net: nn.Module, path: Path) -> Path:
    from snntorch.export_nir import export_to_nir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nirtorch's deprecation notice
        graph = export_to_nir(net, torch.zeros(1, 1, 9, 8), ignore_dims=[0])
    nir.write(str(path), graph)
    return path


@pytest.mark.parametrize("input_shape", [(1, 12, 10), (2, 16)], ids=["conv2d", "conv1d"])
def test_conv_network_round_trips_through_nir(tmp_path, input_shape):
    rng = np.random.default_rng(21)
    net = float_conv_net(rng, input_shape=input_shape)
    path, _ = write_nir(net, tmp_path / "conv.nir")
    graph = nir.read(str(path))
    conv = nir.Conv2d if len(input_shape) == 3 else nir.Conv1d
    assert [type(graph.nodes[k]) for k in ("fc0", "fc1", "flat2", "fc3")] == [conv, conv, nir.Flatten, nir.Linear]
    assert tuple(graph.nodes["flat2"].input_type["input"]) == net.layers[2].shape
    back = from_nir(graph, net.num_steps)
    assert [layer.kind for layer in back.layers] == ["conv", "conv", "flatten", "dense"]
    assert [layer.in_shape for layer in back.layers] == [layer.in_shape for layer in net.layers]
    x = rng.random((6, int(np.prod(input_shape))))
    ours, theirs = simulate_float(net, x).layer_spikes, simulate_float(back, x).layer_spikes
    for a, b in zip(ours, theirs):
        assert a.any() and np.array_equal(a, b)


def test_snntorch_import_from_nir_runs_our_conv_export_with_the_same_spikes(tmp_path):
    from snntorch.import_nir import import_from_nir

    rng = np.random.default_rng(22)
    net = float_conv_net(rng, input_shape=(1, 12, 10), num_steps=STEPS)
    path, _ = write_nir(net, tmp_path / "conv.nir")
    model = import_from_nir(nir.read(str(path)))
    x = rng.random((3, 120)).astype(np.float32)
    expected = simulate_float(net, x, dtype=torch.float32).layer_spikes[-1]
    with torch.no_grad():
        for i in range(len(x)):  # unbatched: nirtorch maps NIR's Flatten(start_dim=0) literally
            for m in model.modules():
                if isinstance(m, snn.SpikingNeuron):
                    m.reset_mem()
            state, outs = None, []
            for _ in range(STEPS):
                out, state = model(torch.from_numpy(x[i].reshape(1, 12, 10)), state)
                outs.append(out.numpy() > 0)
            assert np.array_equal(np.stack(outs), expected[i])
    assert expected.any()


def test_snntorch_export_to_nir_conv_network_imports_with_its_spikes(tmp_path):
    net = _snntorch_conv_net()
    graph = nir.read(str(_export_snntorch(net, tmp_path / "snntorch.nir")))
    assert any(isinstance(n, nir.Conv2d) for n in graph.nodes.values())
    back = from_nir(graph, STEPS)
    assert [layer.kind for layer in back.layers] == ["conv", "conv", "flatten", "dense"]
    assert back.layers[1].bias is None and back.layers[0].padding == (1, 1) and back.n_in == 72
    x = torch.rand(8, 1, 9, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        theirs = run_snntorch(net, x.unsqueeze(0), STEPS).numpy()
    ours = simulate_float(back, x.flatten(1).numpy(), dtype=torch.float32).layer_spikes[-1].sum(axis=1)
    assert theirs.sum() > 0 and np.array_equal(ours, theirs)


@pytest.mark.lava
def test_snntorch_conv_export_deploys_through_quantize_nir_and_verifies_on_lava(tmp_path):
    from typer.testing import CliRunner

    from toolchain.cli import app

    path = _export_snntorch(_snntorch_conv_net(), tmp_path / "snntorch.nir")
    rng = np.random.default_rng(23)
    np.save(tmp_path / "calib.npy", rng.random((80, 72)).astype(np.float32))
    np.save(tmp_path / "x.npy", rng.random((3, 72)).astype(np.float32))
    quant = CliRunner().invoke(app, ["quantize", "--nir", str(path), "--num-steps", str(STEPS), "--calib-npy",
                                     str(tmp_path / "calib.npy"), "--out", str(tmp_path / "q"), "--json"])
    assert quant.exit_code == 0, quant.output
    assert [layer["kind"] for layer in json.loads(quant.output)["layers"]][:2] == ["conv", "conv"]
    ver = CliRunner().invoke(app, ["verify", str(tmp_path / "q"), "--inputs", str(tmp_path / "x.npy"), "--json"])
    report = json.loads(ver.output)
    assert ver.exit_code == 0 and report["ok"] is True, ver.output
    lava = report["backends"]["lava"]
    assert lava["compared"] and all(row["exact"] for row in lava["layers"])
    assert sum(row["spikes_emulator"] for row in lava["layers"]) > 0


def _lif(shape):
    return nir.LIF(tau=np.full(shape, 1e-3), r=np.full(shape, 10.0), v_leak=np.zeros(shape),
                   v_threshold=np.ones(shape), v_reset=np.zeros(shape))


def test_unmappable_conv_graphs_are_refused_naming_the_node():
    w = np.ones((2, 1, 3, 3), dtype=np.float32)
    conv = nir.Conv2d(input_shape=(6, 6), weight=w, stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(2))
    inp = nir.Input(input_type={"input": np.array([1, 6, 6])})
    out = nir.Output(output_type={"output": np.array([2])})

    def chain(*nodes):
        keys = ["input", *[f"n{i}" for i in range(len(nodes))], "output"]
        graph_nodes = dict(zip(keys, [inp, *nodes, out]))
        return nir.NIRGraph(nodes=graph_nodes, edges=list(zip(keys, keys[1:])), type_check=False)

    r = np.full((2, 4, 4), 10.0)
    r[0, 0, 0] = 20.0  # one position with another input gain
    lif_r = nir.LIF(tau=np.full((2, 4, 4), 1e-3), r=r, v_leak=np.zeros((2, 4, 4)), v_threshold=np.ones((2, 4, 4)),
                    v_reset=np.zeros((2, 4, 4)))
    leak = np.zeros((2, 4, 4))
    leak[1, 2, 3] = 0.5
    lif_leak = nir.LIF(tau=np.full((2, 4, 4), 1e-3), r=np.full((2, 4, 4), 10.0), v_leak=leak,
                       v_threshold=np.ones((2, 4, 4)), v_reset=np.zeros((2, 4, 4)))
    cases = [
        (chain(conv, lif_r), "node 'n0': per-position input gain"),
        (chain(conv, lif_leak), "node 'n0': per-position v_leak"),
        (chain(conv, _lif((2, 4, 4)), nir.Linear(weight=np.ones((2, 32)))), "node 'n2': Linear .*add a Flatten"),
        (chain(conv, _lif((2, 4, 4)), nir.Flatten(input_type={"input": np.array([2, 4, 4])}, start_dim=1)),
         "node 'n2': Flatten.*start_dim 0"),
        (chain(conv, _lif((2, 4, 4)), nir.AvgPool2d(kernel_size=2, stride=2, padding=0)),
         "node 'n2': type AvgPool2d is not supported"),
    ]
    for graph, pattern in cases:
        with pytest.raises(MappingError, match=pattern):
            from_nir(graph, 5)


def test_recurrent_layers_are_refused_by_the_nir_export():
    net = float_rec_net(np.random.default_rng(24))
    with pytest.raises(ConfigError, match="layer 1 .*dense_rec.*cannot write"):
        to_nir(net)
