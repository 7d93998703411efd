"""Layer kinds on real Lava runs: random conv (1-D and 2-D: strides, paddings, dilations, channel
counts, groups) and recurrent networks, emulator == Lava for every neuron's spike, u and v at every
step; and the design rules that keep Lava's Conv exact."""

import numpy as np
import pytest

from tests.ir_factory import calibrate_thresholds, random_conv_ir, random_input, random_rec_ir
from toolchain.emulator import run_encoded
from toolchain.ir import Conv, load_ir, save_ir
from toolchain.ir.checks import problems, validate

pytestmark = pytest.mark.lava


def assert_same(emu, lava):
    assert len(emu.layer_spikes) == len(lava.layer_spikes)
    for i, (a, b) in enumerate(zip(emu.layer_spikes, lava.layer_spikes)):
        assert a.shape == b.shape
        bad = np.argwhere(a != b)
        assert bad.size == 0, f"population {i}: first spike mismatch at (clip, step, neuron) {bad[0]}"
        assert np.array_equal(emu.meta["v"][i].astype(np.int64), lava.meta["v"][i].astype(np.int64)), f"v of {i}"
        assert np.array_equal(emu.meta["u"][i].astype(np.int64), lava.meta["u"][i].astype(np.int64)), f"u of {i}"


def _check(ir, rng, batch=2):
    from export.lava_graph import run_lava

    inp = random_input(rng, ir, batch=batch)
    calibrate_thresholds(ir, inp)
    validate(ir)
    emu = run_encoded(ir, inp, record_v=True)
    for i, s in enumerate(emu.layer_spikes):
        assert s.any(), f"population {i} never spikes: the test network exercises nothing"
    assert_same(emu, run_lava(ir, inp, record_v=True))
    return ir, inp


CONV_CASES = [(dims, enc, reset, seed) for seed, (dims, enc, reset) in enumerate(
    [(1, "spikes", "zero"), (2, "spikes", "zero"), (2, "graded_once", "zero"), (1, "graded_every_step", "subtract"),
     (2, "spikes", "subtract"), (2, "graded_every_step", "zero")])]


@pytest.mark.parametrize("dims,encoding,reset,seed", CONV_CASES)
def test_random_conv_networks_emulator_equals_lava(dims, encoding, reset, seed):
    rng = np.random.default_rng(500 + seed)
    ir, _ = _check(random_conv_ir(rng, dims, encoding, reset=reset), rng)
    assert ir.kinds == ["conv", "conv", "flatten", "dense"]


@pytest.mark.parametrize("encoding,reset,seed", [("spikes", "zero", 0), ("graded_once", "zero", 1),
                                                 ("graded_every_step", "subtract", 2)])
def test_random_recurrent_networks_emulator_equals_lava(encoding, reset, seed):
    rng = np.random.default_rng(900 + seed)
    ir, inp = _check(random_rec_ir(rng, [10, 8, 7, 3], encoding, reset=reset), rng, batch=3)
    # the recurrence matters: without W_rec the recurrent population spikes differently
    quiet = random_rec_ir(np.random.default_rng(900 + seed), [10, 8, 7, 3], encoding, reset=reset)
    for a, b in zip(quiet.layers, ir.layers):
        for f in ("vth", "bias_mant", "bias_exp"):
            setattr(a, f, getattr(b, f))
    quiet.layers[1].weight_rec = np.zeros_like(ir.layers[1].weight_rec)
    assert not np.array_equal(run_encoded(ir, inp).layer_spikes[1], run_encoded(quiet, inp).layer_spikes[1])


def test_kinds_round_trip_through_the_ir_file(tmp_path):
    rng = np.random.default_rng(3)
    for ir in (random_conv_ir(rng, 2, "spikes"), random_conv_ir(rng, 1, "graded_once"),
               random_rec_ir(rng, [6, 5, 4, 2], "spikes")):
        back = load_ir(save_ir(ir, tmp_path / f"{ir.name}.ndir"))
        assert back.kinds == ir.kinds
        for a, b in zip(ir.layers, back.layers):
            assert a.params() == b.params()
            for name, arr in a.tensors().items():
                assert np.array_equal(arr, b.tensors()[name])


def test_conv_rules_keep_lava_exact():
    rng = np.random.default_rng(4)
    ir = random_conv_ir(rng, 2, "graded_once")
    conv = ir.layers[0]
    assert isinstance(conv, Conv)
    conv.weight_exp = 1
    assert any("weight_exp" in p and "Conv" in p for p in problems(ir))
    conv.weight_exp = 0
    ir.input.bits, ir.input.scale = 24, float(2 ** 24 - 1)  # sums beyond float32's exact integers
    assert any("exceeds" in p and "24 bits" in p for p in problems(ir))
