"""netx export: stock lava.lib.dl.netx.hdf5.Network loads the .net file and reproduces the emulator's spikes."""

import h5py
import numpy as np
import pytest

from tests.float_factory import float_net
from toolchain.core.errors import ArtifactError
from toolchain.emulator import run_encoded
from toolchain.quantize import QuantConfig, quantize
from toolchain.represent.encoding import encode_for_ir

pytestmark = pytest.mark.lava


@pytest.mark.parametrize("encoding,dc_input", [("dc", "graded_once"), ("dc", "graded_every_step"),
                                                ("rate", "graded_once")])
def test_netx_reproduces_the_emulator(tmp_path, encoding, dc_input):
    from export.netx import run_netx, write_netx

    rng = np.random.default_rng(21)
    net = float_net(rng, sizes=(40, 24, 12, 2), num_steps=10, encoding=encoding, bias=True)
    ir, _ = quantize(net, rng.random((100, 40)), QuantConfig(netx_compatible=True, dc_input=dc_input))
    path = write_netx(ir, tmp_path / "net.net")
    with h5py.File(path) as f:  # the file really is netx's layout
        assert f["layer/0/type"][()] == b"dense" and f["layer/0/neuron/type"][()] == b"CUBA"
        assert int(f["layer/0/neuron/iDecay"][()]) == ir.layers[0].du + 1
    inp = encode_for_ir(ir, rng.random((4, 40)), seed=3)
    emu = run_encoded(ir, inp)
    netx = run_netx(path, ir, inp)
    for i, (a, b) in enumerate(zip(emu.layer_spikes, netx.layer_spikes)):
        assert a.any(), f"layer {i} silent"
        assert np.array_equal(a, b), f"layer {i}: netx differs from the emulator"


def test_netx_refuses_what_it_cannot_express(tmp_path):
    from export.netx import NetxExportError, load_netx, write_netx

    rng = np.random.default_rng(1)
    sub = float_net(rng, sizes=(10, 6, 2), reset="subtract")
    ir, _ = quantize(sub, rng.random((20, 10)))
    with pytest.raises(NetxExportError, match="layer 0 .* field 'reset'"):
        write_netx(ir, tmp_path / "x.net")
    strong = float_net(rng, sizes=(300, 6, 2))
    strong.layers[0].weight *= 40
    ir, _ = quantize(strong, rng.random((20, 300)), QuantConfig(netx_compatible=False))
    with pytest.raises(NetxExportError, match="field 'weight_exp'"):
        write_netx(ir, tmp_path / "y.net")
    assert not (tmp_path / "y.net").exists()
    (tmp_path / "junk.net").write_bytes(b"not hdf5")
    with pytest.raises(ArtifactError, match="could not be loaded by netx"):
        load_netx(tmp_path / "junk.net", ir)


def test_netx_streams_graded_frames_like_the_emulator(tmp_path):
    """A "frames" network (one graded 8-bit frame per step, as the streaming presets deploy) exported
    to netx: stock netx on Lava, fed the frames as graded input messages, gives the emulator's spikes."""
    from export.netx import netx_problems, run_netx, write_netx
    from tests.ir_factory import calibrate_thresholds, random_input, random_ir

    rng = np.random.default_rng(5)
    ir = random_ir(rng, [12, 10, 3], 8, "frames", bias=False)
    ir.layers[0].weight_exp = 0  # netx derives its own exponent: the dense layers need weight_exp >= 0
    for layer in ir.layers:
        layer.bias_exp = 6
    inp = random_input(rng, ir, 3)
    ir = calibrate_thresholds(ir, inp)
    assert netx_problems(ir) == []
    emu = run_encoded(ir, inp)
    netx = run_netx(write_netx(ir, tmp_path / "frames.net"), ir, inp)
    for i, (a, b) in enumerate(zip(emu.layer_spikes, netx.layer_spikes)):
        assert a.any() and not a.all(), f"layer {i} is silent or saturated"
        assert np.array_equal(a, b), f"layer {i}: netx differs from the emulator on graded frames"
