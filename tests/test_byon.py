"""Bring your own network: a hand-built snntorch nn.Sequential and a NIR file written by snntorch's
export_to_nir are deployed and verified on Lava (emulator == Lava, spike for spike)."""

import nir
import numpy as np
import pytest
import torch
from torch import nn

from tests.float_factory import sequential
from toolchain.deploy import deploy_nir, deploy_snntorch
from toolchain.frontends.from_snntorch import MappingError, from_snntorch, snntorch_to_nir
from toolchain.ir import load_ir

pytestmark = pytest.mark.lava


def _check(report):
    assert report["ok"], report
    assert all(row["exact"] and row["spikes_emulator"] > 0 for row in report["emulator_vs_lava"])
    assert report["float_vs_quantised"]["decision_agreement"] >= 0.8


def test_hand_built_sequential_deploys_and_verifies_on_lava(tmp_path):
    rng = np.random.default_rng(5)
    model = sequential(rng, sizes=(24, 32, 16, 2), reset="subtract")
    dep = deploy_snntorch(model, torch.rand(100, 24, generator=torch.Generator().manual_seed(0)), num_steps=12)
    folder = dep.save(tmp_path / "q")
    assert load_ir(folder / "network.ndir").layers[0].reset == "subtract"
    _check(dep.verify(rng.random((6, 24))))


def test_snntorch_export_to_nir_file_deploys_and_verifies_on_lava(tmp_path):
    from snntorch.export_nir import export_to_nir

    rng = np.random.default_rng(6)
    # snntorch 1.0.0 + nir 1.0.8: export_to_nir needs per-neuron-shaped beta/threshold and unbatched sample data
    model = sequential(rng, sizes=(20, 16, 2), per_neuron=True, flatten=False)
    graph = export_to_nir(model, torch.zeros(20))
    nir.write(str(tmp_path / "snntorch.nir"), graph)
    dep = deploy_nir(tmp_path / "snntorch.nir", rng.random((100, 20)), num_steps=10)
    _check(dep.verify(rng.random((5, 20))))


def test_scalar_beta_networks_export_through_the_repaired_extractor(tmp_path):
    rng = np.random.default_rng(7)
    model = sequential(rng, sizes=(20, 16, 2), flatten=False)  # scalar beta: snntorch's export_to_nir fails on nir 1.0.8
    nir.write(str(tmp_path / "m.nir"), snntorch_to_nir(model, 20))
    dep = deploy_nir(tmp_path / "m.nir", rng.random((80, 20)), num_steps=10)
    direct = deploy_snntorch(model, rng.random((80, 20)), num_steps=10)
    assert [layer.beta for layer in dep.float_net.layers] == pytest.approx([layer.beta for layer in direct.float_net.layers])
    _check(dep.verify(rng.random((4, 20))))


def test_unmappable_snntorch_networks_are_refused_naming_the_layer():
    import snntorch as snn

    cases = [
        (nn.Sequential(nn.Linear(4, 3), snn.RLeaky(beta=0.9, linear_features=3, reset_mechanism="zero")),
         "layer 1 .*RLeaky with reset_mechanism 'zero' and reset_delay=True"),
        (nn.Sequential(nn.Linear(4, 3), snn.Leaky(beta=torch.rand(3) * 0.5 + 0.2)), "layer 1 .*per-neuron beta"),
        (nn.Sequential(nn.Linear(4, 3), snn.Leaky(beta=0.9, threshold=torch.tensor([1.0, 2.0, 1.0]))),
         "layer 1 .*per-neuron threshold"),
        (nn.Sequential(nn.Linear(4, 3), snn.Synaptic(alpha=0.5, beta=0.9)), "layer 1 .*Synaptic is not supported"),
        (nn.Sequential(nn.Linear(4, 3), snn.Leaky(beta=0.9, reset_mechanism="none")), "reset_mechanism 'none'"),
        (nn.Sequential(nn.Linear(4, 3), nn.ReLU()), "layer 1 .*ReLU is not supported"),
        (nn.Sequential(nn.Linear(4, 3), snn.Leaky(beta=0.9), nn.Linear(3, 2)), "ends with a Linear"),
    ]
    for model, pattern in cases:
        with pytest.raises(MappingError, match=pattern):
            from_snntorch(model, 5)
