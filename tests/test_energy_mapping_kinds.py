"""Chip mapping per layer kind: conv (shared kernel or expanded lists), recurrent fan-in, input populations.

Hand-worked cases on tiny profiles, and the conv planner's box costs against a brute-force count on the
layer's expanded structural matrix.
"""

import types

import numpy as np
import pytest

from hardware_profiles import load_profile
from tests.test_counts_kinds import _expand_conv
from toolchain.counts import LayerShape, NetworkShape
from toolchain.energy import map_network
from toolchain.energy.conv_mapping import Geometry2D, tile
from toolchain.energy.mapping import ListFormat

CHIP = """
[profile]
name = "tiny"
kind = "neuromorphic"
title = "A chip with tiny cores"
node = "n/a"
[energy.synop]
value = 1
unit = "pJ"
evidence = "convention"
scope = "per-term"
source = "test"
[resources.cores_per_chip]
value = 64
unit = "count"
evidence = "convention"
source = "test"
"""


def _res(key, value, unit="count"):
    v = str(value).lower() if isinstance(value, bool) else value
    return f'[resources.{key}]\nvalue = {v}\nunit = "{unit}"\nevidence = "convention"\nsource = "test"\n'


def _chip(tmp_path, name, **res):
    units = {"synaptic_memory_per_core": "bits", "synapse_list_header_bits": "bits", "memory_word_bits": "bits",
             "conv_weight_sharing": "flag", "weight_bits_max": "bits"}
    f = tmp_path / f"{name}.toml"
    f.write_text(CHIP + "".join(_res(k, v, units.get(k, "count")) for k, v in res.items()))
    return load_profile(f)


def _check(m, name):
    return next(c for c in m["checks"] if c["name"] == name)


CONV_1D = LayerShape("conv", 16, 12, 4, name="c1", in_shape=(2, 8), out_shape=(2, 6), kernel=(3,), stride=(1,),
                     padding=(0,), dilation=(1,), groups=1)
LISTS = dict(neurons_per_core=4, synaptic_memory_per_core=200, synapse_list_header_bits=10,
             synapse_list_max_entries=4, memory_word_bits=16)


def test_conv_expanded_lists_by_hand(tmp_path):
    """Conv1d 2 -> 2 channels, kernel 3, length 8 -> 6, 4-bit weights; cores of <= 4 neurons and 200 bits, lists
    of <= 4 weights with a 10-bit header in 16-bit words. A core holds whole columns (2 neurons each).
    Two columns (outputs 0, 1): input positions 0..3 are hit by 1, 2, 2, 1 (output, tap) pairs, times the 2
    channels: 2, 4, 4, 2 weights per axon, for each of 2 input channels; every list 2 x 4 + 10 = 18 or
    4 x 4 + 10 = 26 bits -> one 32-bit word pair: 8 axons x 32 = 256 > 200. One column: 3 positions x 2
    channels = 6 axons of 2 weights -> 6 x 32 = 192 <= 200: 2 neurons per core, 6 cores. A spike of input
    position 0..7 reaches 1, 2, 3, 3, 3, 3, 2, 1 cores: 18 / 8 = 2.25 on average."""
    m = map_network(NetworkShape((16, 12), (4,), "spikes", 1, geometry=(CONV_1D,)),
                    _chip(tmp_path, "expanded", conv_weight_sharing=False, **LISTS))
    la = m["layers"][0]
    assert (la["neurons_per_core"], la["cores"], la["bound_by"], la["core_bits"]) == (2, 6, "synaptic memory", 192)
    assert (la["axons_in"], la["weight_only_bits"], la["dest_cores"]) == (6, 12 * 4, 2.25)
    assert la["block"] == "2 channel(s) x 1 row(s) x 1 column(s)" and "expanded" in la["storage"]
    assert _check(m, "synaptic memory per core, bits (layer 1, c1)")["passed"] is True


def test_conv_shared_kernel_by_hand(tmp_path):
    """The same layer where the chip shares conv weights: a core stores its channels' kernel once, one list per
    input channel of 2 channels x 3 taps = 6 weights -> lists of 4 and 2 (26 -> 32 and 18 -> 32 bits): 64 bits per
    input channel, 128 bits whatever the columns. The 4-neuron cap allows 2 columns: 3 cores, 8 input axons each.
    With a fan-in limit of 7 axons, 2 columns (8 axons) do not fit: 1 column per core, 6 cores."""
    shared = map_network(NetworkShape((16, 12), (4,), "spikes", 1, geometry=(CONV_1D,)),
                         _chip(tmp_path, "shared", conv_weight_sharing=True, **LISTS))
    la = shared["layers"][0]
    assert (la["neurons_per_core"], la["cores"], la["bound_by"], la["core_bits"], la["axons_in"]) == \
        (4, 3, "neurons per core", 128, 8)
    assert "stored once" in la["storage"]
    capped = map_network(NetworkShape((16, 12), (4,), "spikes", 1, geometry=(CONV_1D,)),
                         _chip(tmp_path, "fan_in", conv_weight_sharing=True, axons_in_per_core=7, **LISTS))
    la = capped["layers"][0]
    assert (la["neurons_per_core"], la["cores"], la["bound_by"], la["axons_in"]) == (2, 6, "input axons per core", 6)
    assert _check(capped, "input axons per core (layer 1, c1)")["passed"] is True


def test_recurrent_fan_in_and_input_population_by_hand(tmp_path):
    """Input population (2, 3, 4) = 24 neurons under "bias" -> dense_rec 24 -> 5 -> dense 5 -> 2, 4-bit weights,
    3 neurons / 256 bits / 30 input axons / 8 output axons per core, dense storage.
    Input: neurons only, 3 per core -> 8 cores, no input axons. dense_rec: 24 + 5 = 29 input axons x k x 4 bits:
    k = 2 (232 bits; 3 needs 348) -> 3 cores; its spikes go to the next layer's 1 core and to its own 3 cores:
    2 neurons x 4 = 8 edges. A 30-input recurrent layer (+5) = 35 axons fails the fan-in rule, named."""
    chip = _chip(tmp_path, "rec", neurons_per_core=3, synaptic_memory_per_core=256, axons_in_per_core=30,
                 axons_out_per_core=8)
    geo = (LayerShape("input", 24, 24, 0, name="inp", in_shape=(2, 3, 4), out_shape=(2, 3, 4)),
           LayerShape("dense_rec", 24, 5, 4, name="rec"), LayerShape("dense", 5, 2, 4, name="out"))
    m = map_network(NetworkShape((24, 24, 5, 2), (0, 4, 4), "bias", 8, geometry=geo), chip)
    inp, rec, out = m["layers"]
    assert (inp["cores"], inp["neurons_per_core"], inp["axons_in"], inp["core_bits"]) == (8, 3, 0, 0)
    assert (rec["neurons_per_core"], rec["cores"], rec["core_bits"], rec["axons_in"]) == (2, 3, 29 * 2 * 4, 29)
    assert rec["recurrent"] and out["cores"] == 1 and m["cores"] == 12
    fan_out = _check(m, "output axons per core (layer 2, rec)")
    assert (fan_out["value"], fan_out["passed"]) == (2 * (1 + 3), True)
    assert _check(m, "input axons per core (layer 1, inp)")["value"] == 0
    assert _check(m, "input encoding")["passed"] is True and _check(m, "weight bits")["value"] == 4
    wide = map_network(NetworkShape((30, 30, 5, 2), (0, 4, 4), "bias", 8, geometry=(
        LayerShape("input", 30, 30, 0, name="inp", in_shape=(30,), out_shape=(30,)),
        LayerShape("dense_rec", 30, 5, 4, name="rec"), LayerShape("dense", 5, 2, 4, name="out"))), chip)
    assert "input axons per core (layer 2, rec)" in wide["failed"]
    assert "own 5 neurons (recurrent)" in _check(wide, "input axons per core (layer 2, rec)")["detail"]


def _brute_boxes(ls: LayerShape, cb: int, rb: int, wb: int, fmt: ListFormat, bits: int):
    """Per box of the expanded structural matrix: (list bits + state, axons); per input: cores reached."""
    layer = types.SimpleNamespace(n_in=ls.n_in, in_shape=ls.in_shape, stride=ls.stride, padding=ls.padding,
                                  dilation=ls.dilation, groups=ls.groups)
    kernel = np.ones((ls.out_shape[0], ls.in_shape[0] // ls.groups, *ls.kernel))
    struct = _expand_conv(layer, kernel) != 0  # [n_out, n_in]
    out3 = ls.out_shape if len(ls.out_shape) == 3 else (ls.out_shape[0], 1, ls.out_shape[1])
    o, y, x = np.unravel_index(np.arange(ls.n_out), out3)
    box = (o // cb) * 10**6 + (y // rb) * 10**3 + x // wb
    costs, reached = [], np.zeros(ls.n_in, dtype=np.int64)
    for b in np.unique(box):
        entries = struct[box == b].sum(axis=0)
        values, counts = np.unique(entries, return_counts=True)
        list_bits = sum(fmt.list_bits(int(e), bits) * int(n) for e, n in zip(values, counts))
        costs.append((list_bits + int((box == b).sum()) * fmt.state_bits, int((entries > 0).sum())))
        reached += entries > 0
    return costs, reached, int(struct.sum())


@pytest.mark.parametrize("seed", range(6))
def test_conv_box_costs_equal_brute_force_on_the_expanded_matrix(seed):
    rng = np.random.default_rng(seed)
    dims = 1 + seed % 2
    c_in = int(rng.integers(1, 4))
    groups = int(rng.choice([1, c_in]))
    c_out = groups * int(rng.integers(1, 3))
    in_shape = (c_in,) + tuple(int(v) for v in rng.integers(5, 10, size=dims))
    k = tuple(int(v) for v in rng.integers(1, 4, size=dims))
    st, pad, dil = (tuple(int(v) for v in rng.integers(lo, hi, size=dims)) for lo, hi in ((1, 3), (0, 2), (1, 3)))
    from toolchain.ir.kinds.conv import conv_out_size

    out_shape = (c_out,) + tuple(conv_out_size(n, kk, s, p, d) for n, kk, s, p, d in zip(in_shape[1:], k, st, pad, dil))
    assert min(out_shape) >= 1  # inputs of 5-9 against dilated kernels of at most 5: never empty
    ls = LayerShape("conv", int(np.prod(in_shape)), int(np.prod(out_shape)), 5, in_shape=in_shape, out_shape=out_shape,
                    kernel=k, stride=st, padding=pad, dilation=dil, groups=groups)
    fmt = ListFormat(header_bits=10, max_entries=int(rng.integers(2, 6)), word_bits=16, state_bits=7)
    geo = Geometry2D.of(ls)
    for cb, rb, wb in ((c_out, geo.Ho, 1), (c_out, geo.Ho, 2), (c_out, 1, 1), (max(1, c_out // 2), 1, 1)):
        got = tile(geo, cb, rb, wb, weight_bits=5, fmt=fmt, shared=False)
        costs, reached, total = _brute_boxes(ls, cb, rb, wb, fmt, 5)
        assert got.core_bits == max(c for c, _ in costs)
        assert got.axons_in == max(a for _, a in costs)
        assert got.cores == len(costs) and got.stored_synapses == total
        assert got.dest_mean == pytest.approx(reached.mean(), abs=1e-12) and got.dest_max == reached.max()


def test_loihi_profiles_say_how_they_store_conv_kernels():
    """Loihi 1: shared through population axons (nengo-loihi conv.py), charged once per core as a lower bound;
    Loihi 2: assumed (unpublished), so its conv core counts are stand-ins."""
    one, two = load_profile("loihi").get("resources.conv_weight_sharing"), load_profile("loihi2").get(
        "resources.conv_weight_sharing")
    assert one.raw is True and one.evidence == "derived" and "nengo-loihi" in one.source and "lower bound" in one.note
    assert two.raw is True and two.evidence == "unpublished" and "assumed" in two.stand_in


@pytest.mark.parametrize("kind", ["conv", "rec"])
def test_energy_report_prices_conv_and_recurrent_networks(kind):
    """A quantised conv (or recurrent) network with its float model, through `analyse`, on every kind of
    profile: each layer keeps its kind in the counts, workloads and chip mapping, and the same-topology
    ReLU network's MACs follow the layer geometry (conv: output elements x C_in/groups x kernel; recurrent:
    (n_in + n_out) x n_out)."""
    from tests.float_factory import float_conv_net, float_rec_net
    from toolchain.energy.analyse import analyse
    from toolchain.quantize import quantize

    rng = np.random.default_rng(11)
    net, n_in = (float_conv_net(rng, input_shape=(1, 12, 10), encoding="dc"), 120) if kind == "conv" else (
        float_rec_net(rng), 20)
    x = rng.random((20, n_in))
    ir, _ = quantize(net, x)
    profiles = [load_profile(p) for p in ("loihi", "loihi2", "horowitz45nm_int8", "horowitz45nm_fp32", "cpu")]
    rep = analyse(ir, x[:4], profiles=profiles, float_net=net)
    kinds = [la.kind for la in ir.spiking]
    for model in ("snn_deployed", "snn_float"):
        assert [la["kind"] for la in rep["models"][model]["layers"]] == kinds
    for m in rep["mapping"].values():
        assert [la["kind"] for la in m["layers"]] == kinds and all(la["cores"] >= 1 for la in m["layers"])
    ann = rep["ann"]["ann_same_topology"]["layers"]
    for la, layer in zip(ann, ir.spiking):
        per_out = int(np.prod(layer.weight.shape[1:])) if layer.kind == "conv" else layer.n_in + (
            layer.n_out if layer.kind == "dense_rec" else 0)
        assert la["dense_macs"] == layer.n_out * per_out
    assert rep["silicon"] == [] and rep["headline"]
