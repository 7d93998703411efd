"""The bit-exact emulator equals Lava's fixed-point simulation, spike for spike, on real Lava runs.

Every comparison is integer equality of every neuron's spike (and membrane v) at every step, on
Lava's own PyLifModelBitAcc / LIFReset / Dense models (and our subtractive-reset model).
"""

import numpy as np
import pytest

from tests.ir_factory import calibrate_thresholds, random_input, random_ir
from toolchain.emulator import run_encoded
from toolchain.ir import InputSpec, LayerIR, NetworkIR
from toolchain.ir import limits as L
from toolchain.ir.checks import validate

pytestmark = pytest.mark.lava

SHAPES = [[5, 4, 3], [12, 9, 6, 2], [20, 16, 2], [7, 11, 5, 4, 2]]
CASES = [(shape, enc, reset, seed)
         for seed, shape in enumerate(SHAPES)
         for enc in ("graded_once", "graded_every_step", "spikes")
         for reset in ("zero", "subtract")]


def assert_same(emu, lava):
    assert len(emu.layer_spikes) == len(lava.layer_spikes)
    for i, (a, b) in enumerate(zip(emu.layer_spikes, lava.layer_spikes)):
        assert a.shape == b.shape
        mismatch = np.argwhere(a != b)
        assert mismatch.size == 0, f"layer {i}: first spike mismatch at (clip, step, neuron) {mismatch[0]}"
    for i, (a, b) in enumerate(zip(emu.meta["v"], lava.meta["v"])):
        assert np.array_equal(a.astype(np.int64), b.astype(np.int64)), f"layer {i}: v differs"


@pytest.mark.parametrize("shape,encoding,reset,seed", CASES)
def test_random_networks_emulator_equals_lava(shape, encoding, reset, seed):
    from export.lava_graph import run_lava

    rng = np.random.default_rng(1000 + seed * 7 + len(encoding) + len(reset))
    ir = random_ir(rng, shape, num_steps=int(rng.integers(3, 9)), encoding=encoding, reset=reset,
                   weight_bits=int(rng.choice([4, 8, 9])), spike_encoder="rate")
    inp = random_input(rng, ir, batch=3)
    calibrate_thresholds(ir, inp)
    validate(ir)
    emu = run_encoded(ir, inp, record_v=True)
    for i, s in enumerate(emu.layer_spikes):  # a comparison of silent networks would prove little
        assert s.any(), f"layer {i} never spikes: the test network is not exercising anything"
    assert_same(emu, run_lava(ir, inp, record_v=True))


def _edge_ir(encoding: str, reset: str) -> NetworkIR:
    """Weights at the 9-bit edges, extreme decays, bias and thresholds, and a current that wraps."""
    w0 = np.array([[255, -256, 255, -256], [255, 255, 255, 255], [-256, -256, 255, 0]], dtype=np.int32)
    w1 = np.array([[255, -256, 255], [-256, 255, 1]], dtype=np.int32)
    layers = [
        LayerIR(name="edge0", weight=w0, bias_mant=np.array([4095, -4096, 0], dtype=np.int32), weight_exp=2 if encoding == "spikes" else 0,
                weight_bits=9, bias_exp=7, du=0 if encoding == "graded_once" else 4095, dv=0, vth=0, reset=reset),
        LayerIR(name="edge1", weight=w1, bias_mant=np.array([-4096, 4095], dtype=np.int32), weight_exp=7, weight_bits=9, bias_exp=0,
                du=0, dv=4095, vth=L.VTH_MAX, reset=reset),
    ]
    spec = InputSpec(n_in=4, encoding=encoding, bits=1 if encoding == "spikes" else 8,
                     scale=1.0 if encoding == "spikes" else 255.0,
                     spike_encoder="latency" if encoding == "spikes" else None)
    return NetworkIR("edges", 6, spec, layers)


@pytest.mark.parametrize("encoding", ["graded_once", "graded_every_step", "spikes"])
@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_range_edges_emulator_equals_lava(encoding, reset):
    from export.lava_graph import run_lava

    ir = validate(_edge_ir(encoding, reset))
    rng = np.random.default_rng(7)
    if encoding == "spikes":
        inp = np.ones((2, 6, 4), dtype=bool)
        inp[1, ::2] = False
    else:
        inp = np.array([[255, 0, 255, 255], [255, 255, 255, 255]], dtype=np.int32)
    # The 24-bit current wrap must really happen here: |a| << 6 exceeds 2**23.
    a0 = (inp if inp.ndim == 2 else inp.any(axis=1)).astype(np.int64) @ ir.layers[0].weight.T.astype(np.int64)
    assert np.abs(a0 * 64 * 2 ** max(ir.layers[0].weight_exp, 0)).max() > L.STATE_MAX or encoding == "spikes"
    del rng
    emu = run_encoded(ir, inp, record_v=True)
    assert_same(emu, run_lava(ir, inp, record_v=True))


def test_counts_from_lava_equal_counts_from_the_emulator():
    from export.lava_graph import run_lava
    from toolchain.counts import count_classification, topology_from_ir

    rng = np.random.default_rng(77)
    ir = random_ir(rng, [16, 12, 4], num_steps=6, encoding="graded_once")
    inp = random_input(rng, ir, batch=3)
    calibrate_thresholds(ir, inp)
    topo = topology_from_ir(ir)
    emu = count_classification(topo, run_encoded(ir, inp))
    lava = count_classification(topo, run_lava(ir, inp))
    assert (emu.pop("backend"), lava.pop("backend")) == ("emulator", "lava")
    assert emu == lava
    assert emu["layers"][1]["spikes"]["mean"] > 0
