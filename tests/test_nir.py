"""NIR export: read back by nir.read, by our importer and by snntorch's import_from_nir, same float outputs."""

import warnings

import nir
import numpy as np
import pytest
import torch

from export.nir_export import write_nir
from tests.float_factory import float_net
from toolchain.frontends.from_nir import from_nir
from toolchain.frontends.from_snntorch import MappingError
from toolchain.frontends.reference import simulate_float


def _run_import_from_nir(graph, x: np.ndarray, T: int) -> np.ndarray:
    from snntorch.import_nir import import_from_nir

    model = import_from_nir(graph)
    state, outs = None, []
    with torch.no_grad():
        for _ in range(T):
            out, state = model(torch.from_numpy(x.astype(np.float32)), state)
            outs.append(out.numpy() > 0)
    return np.stack(outs, axis=1)


def test_nir_round_trip_gives_the_same_float_outputs(tmp_path):
    rng = np.random.default_rng(8)
    net = float_net(rng, sizes=(16, 24, 12, 3), num_steps=20, bias=True)
    x = rng.random((64, 16)).astype(np.float32)
    original = simulate_float(net, x, dtype=torch.float32, chunk=64)
    path, notes = write_nir(net, tmp_path / "net.nir")
    graph = nir.read(str(path))
    assert [type(graph.nodes[k]).__name__ for k in ("fc0", "lif0", "fc2", "lif2")] == ["Affine", "LIF", "Affine", "LIF"]
    ours = simulate_float(from_nir(graph, 20), x, dtype=torch.float32, chunk=64)
    for a, b in zip(original.layer_spikes, ours.layer_spikes):
        assert np.array_equal(a, b)
    theirs = _run_import_from_nir(graph, x, 20)
    assert theirs.sum() > 0
    assert np.array_equal(theirs, original.layer_spikes[-1])
    assert any("float model only" in n for n in notes)


def test_subtractive_reset_is_recorded_and_warned(tmp_path):
    rng = np.random.default_rng(9)
    net = float_net(rng, sizes=(8, 6, 2), reset="subtract")
    with pytest.warns(UserWarning, match="subtraction"):
        path, _ = write_nir(net, tmp_path / "sub.nir")
    graph = nir.read(str(path))
    assert graph.nodes["lif0"].metadata["reset_mechanism"] == "subtract"
    back = from_nir(graph, net.num_steps)
    assert [layer.reset for layer in back.layers] == ["subtract", "subtract"]
    x = rng.random((20, 8))
    assert np.array_equal(simulate_float(net, x).layer_spikes[-1], simulate_float(back, x).layer_spikes[-1])


def _graph(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_unmappable_nir_graphs_are_refused_naming_the_node():
    w = np.ones((3, 3), dtype=np.float32)
    lif = lambda **kw: nir.LIF(tau=np.full(3, 1e-3), r=np.full(3, 10.0), v_leak=np.zeros(3),  # noqa: E731
                               v_threshold=np.ones(3), v_reset=np.zeros(3), **kw)
    inp, out = nir.Input(input_type={"input": np.array([3])}), nir.Output(output_type={"output": np.array([3])})
    recurrent = _graph({"input": inp, "fc": nir.Linear(weight=w), "lif": lif(), "rec": nir.Linear(weight=w),
                        "output": out},
                       [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")])
    with pytest.raises(MappingError, match="node 'lif'"):
        from_nir(recurrent, 5)
    per_neuron = _graph({"input": inp, "fc": nir.Linear(weight=w),
                         "lif": nir.LIF(tau=np.array([1e-3, 2e-3, 1e-3]), r=np.full(3, 10.0), v_leak=np.zeros(3),
                                        v_threshold=np.ones(3), v_reset=np.zeros(3)), "output": out},
                        [("input", "fc"), ("fc", "lif"), ("lif", "output")])
    with pytest.raises(MappingError, match="node 'lif': per-neuron tau"):
        from_nir(per_neuron, 5)
    reset = _graph({"input": inp, "fc": nir.Linear(weight=w),
                    "lif": nir.LIF(tau=np.full(3, 1e-3), r=np.full(3, 10.0), v_leak=np.zeros(3),
                                   v_threshold=np.ones(3), v_reset=np.full(3, 0.5)), "output": out},
                   [("input", "fc"), ("fc", "lif"), ("lif", "output")])
    with pytest.raises(MappingError, match="v_reset"):
        from_nir(reset, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        li = _graph({"input": inp, "fc": nir.Linear(weight=w),
                     "li": nir.LI(tau=np.full(3, 1e-3), r=np.full(3, 10.0), v_leak=np.zeros(3)), "output": out},
                    [("input", "fc"), ("fc", "li"), ("li", "output")])
    with pytest.raises(MappingError, match="node 'li': type LI is not supported"):
        from_nir(li, 5)
