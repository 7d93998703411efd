"""Post-training quantisation: the documented mappings, ranges respected, float behaviour kept."""

import numpy as np
import pytest

from tests.float_factory import float_net
from toolchain.core.errors import ConfigError
from toolchain.emulator import simulate
from toolchain.frontends.reference import simulate_float
from toolchain.ir import limits as L
from toolchain.quantize import QuantConfig, quantize


@pytest.mark.parametrize("netx_compatible", [True, False])
@pytest.mark.parametrize("dc_input", ["graded_once", "graded_every_step"])
def test_quantised_network_keeps_float_behaviour(netx_compatible, dc_input):
    rng = np.random.default_rng(11)
    net = float_net(rng, sizes=(60, 48, 24, 2), num_steps=20, bias=True)
    calib, test = rng.random((200, 60)), rng.random((300, 60))
    ir, report = quantize(net, calib, QuantConfig(netx_compatible=netx_compatible, dc_input=dc_input))
    assert ir.input.encoding == dc_input
    emu = simulate(ir, test, track_ranges=True)
    ref = simulate_float(net, test)
    agree = np.mean(emu.decisions == ref.decisions)
    assert agree >= 0.9, agree
    for i, (a, b) in enumerate(zip(emu.layer_spikes, ref.layer_spikes)):
        # per-layer spike totals within 5 % of the float model's
        assert abs(int(a.sum()) - int(b.sum())) <= 0.05 * max(int(b.sum()), 20), i
    for r in emu.meta["ranges"]:
        assert r["u_wraps"] == 0
    for layer, fl, rec in zip(ir.layers, net.layers, report["layers"]):
        assert layer.dv == round((1 - fl.beta) * 4096)
        assert layer.vth == round(fl.threshold * layer.scale)
        assert rec["weight_clipped_fraction"] == 0.0
        lo, hi = L.weight_range(layer.weight_bits)
        assert layer.weight.min() >= lo and layer.weight.max() <= hi
        assert max(abs(layer.weight.min()), layer.weight.max()) >= hi // 2  # the range is used
        if netx_compatible:
            assert layer.weight_exp >= 0 and layer.bias_exp >= 6
    assert ir.layers[0].du == (0 if dc_input == "graded_once" else 4095)
    assert all(layer.du == 4095 for layer in ir.layers[1:])


def test_graded_input_is_scaled_down_to_keep_the_current_in_24_bits():
    rng = np.random.default_rng(2)
    net = float_net(rng, sizes=(400, 32, 2), num_steps=10)
    net.layers[0].weight *= 20  # a strong input layer: |W x| far beyond the 24-bit current at 8+8 bits
    calib = rng.random((100, 400))
    ir_netx, rep_netx = quantize(net, calib, QuantConfig(netx_compatible=True))
    ir_exp, _ = quantize(net, calib, QuantConfig(netx_compatible=False))
    assert ir_netx.layers[0].weight_exp == 0 and (rep_netx["input_bits"] < 8 or ir_netx.layers[0].weight_bits < 8)
    assert rep_netx["warnings"] == []
    assert ir_exp.layers[0].weight_exp < 0 and ir_exp.input.bits == 8
    for ir in (ir_netx, ir_exp):
        assert all(r["u_wraps"] == 0 for r in simulate(ir, calib, track_ranges=True).meta["ranges"])


def test_rate_encoding_quantises_to_binary_input_spikes():
    rng = np.random.default_rng(4)
    net = float_net(rng, sizes=(30, 20, 2), num_steps=16, encoding="rate")
    ir, _ = quantize(net, rng.random((50, 30)))
    assert ir.input.encoding == "spikes" and ir.input.spike_encoder == "rate" and ir.input.bits == 1
    x = rng.random((100, 30))
    assert np.mean(simulate(ir, x).decisions == simulate_float(net, x).decisions) >= 0.9


def test_bad_quantise_options_are_refused():
    with pytest.raises(ConfigError, match="'weight_bits': 12"):
        QuantConfig(weight_bits=12).validate()
    with pytest.raises(ConfigError, match="'dc_input'"):
        QuantConfig(dc_input="sometimes").validate()


def test_netx_compatibility_falls_back_to_a_weight_exponent_with_a_warning():
    rng = np.random.default_rng(3)
    net = float_net(rng, sizes=(4000, 16, 2), num_steps=8)
    net.layers[0].weight = np.abs(net.layers[0].weight)  # 4000 same-sign inputs: |W x| ~ 2000 max|W|
    calib = rng.random((50, 4000))
    ir, report = quantize(net, calib, QuantConfig(netx_compatible=True, min_weight_bits=6))
    assert ir.layers[0].weight_exp < 0
    assert len(report["warnings"]) == 1 and "layer 0" in report["warnings"][0] and "netx" in report["warnings"][0]
    assert all(r["u_wraps"] == 0 for r in simulate(ir, calib, track_ranges=True).meta["ranges"])
