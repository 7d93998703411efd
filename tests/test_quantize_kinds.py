"""The quantiser for conv and recurrent float networks: valid IRs whose every rule holds (conv
weight_exp 0, exact Lava sums), behaviour close to the float model, and equal to Lava when run."""

import numpy as np
import pytest

from tests.float_factory import float_conv_net, float_rec_net
from toolchain.frontends.float_net import load_float_network, save_float_network
from toolchain.frontends.reference import simulate_float
from toolchain.quantize import QuantConfig, quantize
from toolchain.verify import verify


@pytest.mark.parametrize("input_shape,encoding", [((1, 12, 10), "dc"), ((2, 16), "dc"), ((1, 10, 9), "rate")])
def test_conv_network_quantises_close_to_float(input_shape, encoding):
    rng = np.random.default_rng(11)
    net = float_conv_net(rng, input_shape=input_shape, encoding=encoding)
    x = rng.random((60, int(np.prod(input_shape))))
    ir, rep = quantize(net, x)
    assert ir.kinds == ["conv", "conv", "flatten", "dense"]
    assert all(layer.weight_exp == 0 for layer in ir.layers if layer.kind == "conv")
    flo = simulate_float(net, x)
    from toolchain.emulator import simulate

    emu = simulate(ir, x)
    for i, (a, b) in enumerate(zip(flo.layer_spikes, emu.layer_spikes)):
        assert a.any(), f"population {i} silent in the float model"
        assert np.mean(a == b) > 0.9, f"population {i}: quantised spikes too far from float"
    assert rep["layers"][0]["kind"] == "conv"


def test_recurrent_network_quantises_close_to_float():
    rng = np.random.default_rng(12)
    net = float_rec_net(rng)
    x = rng.random((60, 20))
    ir, rep = quantize(net, x)
    assert ir.kinds == ["dense", "dense_rec", "dense"]
    rec = ir.layers[1]
    assert np.abs(rec.weight_rec).max() > 0
    flo = simulate_float(net, x)
    from toolchain.emulator import simulate

    emu = simulate(ir, x)
    assert flo.layer_spikes[1].any()
    assert np.mean(flo.layer_spikes[1] == emu.layer_spikes[1]) > 0.9
    assert np.mean(flo.decisions == emu.decisions) >= 0.8


@pytest.mark.lava
def test_quantised_conv_and_recurrent_networks_verify_on_lava(tmp_path):
    rng = np.random.default_rng(13)
    for net, n_in in ((float_conv_net(rng, input_shape=(1, 8, 8), channels=(3, 4), num_steps=5), 64),
                      (float_rec_net(rng, sizes=(12, 10, 8, 2), num_steps=6), 12)):
        x = rng.random((30, n_in))
        ir, _ = quantize(net, x, QuantConfig())
        save_float_network(net, tmp_path / "f.safetensors")
        back = load_float_network(tmp_path / "f.safetensors")
        assert [la.kind for la in back.layers] == [la.kind for la in net.layers]
        rep = verify(ir, back, x[:3], backends=("lava",))
        assert rep["ok"] is True, rep["backends"]
