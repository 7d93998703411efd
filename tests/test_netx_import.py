"""Real lava-dl networks nobody here wrote (../shared/data/lava-dl: PilotNet LIF, a CUBA MNIST MLP),
imported as IRs: the emulator equals stock netx on Lava for every population's spikes, u and v at
every step; our netx export of the imported IR is what netx builds from the original; what cannot
map is refused naming the layer."""

import h5py
import numpy as np
import pytest

from export.lava_runtime import from_lava_layout
from export.netx import NetxImportError, read_netx, run_netx, write_netx
from toolchain.core.shared import shared_data
from toolchain.emulator import Emulator

DATA = shared_data("lava-dl")  # ../shared/data/lava-dl beside the checkout
PILOTNET, MNIST = DATA / "pilotnet_lif.net", DATA / "mnist_cuba.net"

pytestmark = pytest.mark.lava


def _assert_equal(emu, nx):
    assert len(emu.layer_spikes) == len(nx.layer_spikes)
    for i, (a, b) in enumerate(zip(emu.layer_spikes, nx.layer_spikes)):
        bad = np.argwhere(a != b)
        assert bad.size == 0, f"population {i}: spikes differ first at (clip, step, neuron) {bad[0]}"
        for var in ("v", "u"):
            assert np.array_equal(emu.meta[var][i].astype(np.int64), nx.meta[var][i].astype(np.int64)), f"{var} of {i}"


def test_mnist_mlp_emulator_equals_stock_netx_and_our_export(tmp_path):
    ir = read_netx(MNIST, num_steps=8)
    assert ir.kinds == ["dense", "dense", "dense"] and ir.input.encoding == "spikes" and ir.input.n_in == 784
    rng = np.random.default_rng(0)
    inp = rng.random((3, 8, 784)) < 0.3
    emu = Emulator(ir).run(inp, record_v=True)
    assert all(s.any() for s in emu.layer_spikes)
    _assert_equal(emu, run_netx(MNIST, ir, inp, record=True))
    ours = write_netx(ir, tmp_path / "mnist_again.net")
    again = read_netx(ours, num_steps=8)
    assert [la.params() for la in again.layers] == [la.params() for la in ir.layers]
    assert np.array_equal(run_netx(ours, ir, inp).layer_spikes[-1], emu.layer_spikes[-1])


def test_pilotnet_lif_emulator_equals_stock_netx_every_layer_every_step(tmp_path):
    ir = read_netx(PILOTNET, num_steps=16)  # lava-dl's own test: 16-step samples (reset_interval 16)
    assert ir.kinds == ["input"] + ["conv"] * 5 + ["flatten"] + ["dense"] * 4
    assert ir.input.encoding == "bias" and tuple(ir.input.shape) == (3, 66, 200)
    image = np.load(DATA / "pilotnet_lif_image.npy")  # [200, 66, 3]: Lava's (X, Y, C), the input layer's bias
    x = from_lava_layout(image[None], (3, 66, 200))
    emu = Emulator(ir).run(x, record_v=True)
    # the input population's spikes are lava-dl's own recording of this frame (input.npy, 24 steps)
    ref = from_lava_layout(np.moveaxis(np.load(DATA / "pilotnet_lif_input_spikes.npy"), -1, 0), (3, 66, 200))
    assert np.array_equal(emu.layer_spikes[0][0], ref[:16])
    assert all(s.any() for s in emu.layer_spikes[:-1])  # every population but the integrating readout spikes
    _assert_equal(emu, run_netx(PILOTNET, ir, x, record=True))
    # our export of the imported IR is the same network for netx: it reads back to the same IR, and
    # netx builds blocks with the same weights and neuron parameters from both files
    ours = write_netx(ir, tmp_path / "pilotnet_again.net")
    assert [la.params() for la in read_netx(ours, num_steps=16).layers] == [la.params() for la in ir.layers]
    from export.netx import load_netx

    a, b = load_netx(PILOTNET, ir), load_netx(ours, ir)
    for pa, pb in zip(a.layers, b.layers):
        for name in ("weight", "weights"):
            if hasattr(pa, "synapse") and hasattr(pa.synapse, name):
                assert np.array_equal(getattr(pa.synapse, name).init, getattr(pb.synapse, name).init)
        for var in ("vth", "du", "dv", "bias_mant", "bias_exp"):  # netx may store a scalar for a constant
            va, vb = np.asarray(getattr(pa.neuron, var).init), np.asarray(getattr(pb.neuron, var).init)
            shape = np.broadcast_shapes(va.shape, vb.shape)
            assert np.array_equal(np.broadcast_to(va, shape), np.broadcast_to(vb, shape)), var


def _tiny(tmp_path, name, mutate):
    path = tmp_path / f"{name}.net"
    with h5py.File(path, "w") as f:
        for i, (n_in, n_out) in enumerate(((4, 3), (3, 2))):
            g = f.create_group(f"layer/{i}")
            g["type"], g["shape"], g["weight"] = np.bytes_("dense"), np.array([n_out]), np.ones((n_out, n_in))
            n = g.create_group("neuron")
            n["type"], n["iDecay"], n["vDecay"], n["vThMant"], n["refDelay"] = np.bytes_("CUBA"), 4096, 0, 10, 1
        mutate(f)
    return path


@pytest.mark.parametrize("name,mutate,expected", [
    ("pool", lambda f: (f["layer/1"].__delitem__("type"), f["layer/1"].__setitem__("type", np.bytes_("pool"))),
     "layer 1 \\(pool\\)"),
    ("delay", lambda f: f["layer/1"].__setitem__("delay", np.ones(2)), "layer 1 .*'delay'"),
    ("sdnn", lambda f: (f["layer/0/neuron"].__delitem__("type"),
                        f["layer/0/neuron"].__setitem__("type", np.bytes_("SDNN"))), "layer 0 .*SDNN"),
])
def test_what_cannot_map_is_refused_naming_the_layer(tmp_path, name, mutate, expected):
    with pytest.raises(NetxImportError, match=expected):
        read_netx(_tiny(tmp_path, name, mutate), num_steps=4)


def test_import_options_are_checked_naming_the_value():
    """An unknown input encoding, a step count below 1, and a bias encoding for a network whose first
    layer is not an input population are refused (they were once taken: 'bogus' imported as spikes)."""
    from toolchain.core.errors import ConfigError
    from toolchain.deploy import deploy_netx

    with pytest.raises(ConfigError, match="input encoding 'bogus' is not 'bias' or 'spikes'"):
        deploy_netx(PILOTNET, input_encoding="bogus")
    with pytest.raises(ConfigError, match="num_steps 0 must be >= 1"):
        read_netx(PILOTNET, num_steps=0)
    with pytest.raises(NetxImportError, match="'bias' needs an input layer to drive, and layer 0 is 'dense'"):
        read_netx(MNIST, num_steps=4, input_encoding="bias")
    assert read_netx(PILOTNET, input_encoding="spikes").input.encoding == "spikes"
    assert read_netx(PILOTNET).input.encoding == "bias"
