"""Chip mapping design-rule checks, with every expected number worked by hand."""

import pytest

from hardware_profiles import load_profile
from toolchain.core.errors import ConfigError
from toolchain.counts import NetworkShape
from toolchain.energy import map_network

SEED_2D = NetworkShape(sizes=(14175, 4096, 512, 64, 2), weight_bits=(8, 8, 8, 8), encoding="graded_once")

TINY_CHIP = """
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
[resources.neurons_per_core]
value = 3
unit = "count"
evidence = "convention"
source = "test"
[resources.synaptic_memory_per_core]
value = 64
unit = "bits"
evidence = "convention"
source = "test"
[resources.axons_in_per_core]
value = 4
unit = "count"
evidence = "convention"
source = "test"
[resources.axons_out_per_core]
value = 2
unit = "count"
evidence = "convention"
source = "test"
[resources.weight_bits_max]
value = 4
unit = "bits"
evidence = "convention"
source = "test"
[resources.cores_per_chip]
value = 2
unit = "count"
evidence = "convention"
source = "test"
"""


def _check(m, name):
    return next(c for c in m["checks"] if c["name"] == name)


def test_seed_2d_network_on_loihi_needs_4_chips():
    """128 KB = 1,048,576 bits per core. Neurons per core = floor(bits / (n_in x 8)), at most 1024:
    layer 1: 14175 x 8 = 113,400 bits per neuron -> 9 per core -> ceil(4096 / 9) = 456 cores;
    layer 2: 32,768 -> 32 per core -> 16 cores; layer 3: 4,096 -> 256 per core -> 1; layer 4: 1.
    474 cores / 128 per chip -> 4 chips. Layer 1's 14175 inputs exceed 4096 input axons per core,
    and Loihi 1 has no graded spikes: both checks fail."""
    m = map_network(SEED_2D, load_profile("loihi"))
    assert [la["neurons_per_core"] for la in m["layers"]] == [9, 32, 64, 2]
    assert [la["bound_by"] for la in m["layers"]] == ["synaptic memory"] * 2 + ["fits in one core"] * 2
    assert [la["cores"] for la in m["layers"]] == [456, 16, 1, 1]
    assert (m["cores"], m["chips"]) == (474, 4)
    assert m["failed"] == ["input axons per core (layer 1)", "input encoding"]
    assert _check(m, "input axons per core (layer 1)")["value"] == 14175


def test_seed_2d_network_on_loihi2_needs_3_chips():
    """192 KB = 1,572,864 bits per core: layer 1: 13 neurons per core -> ceil(4096 / 13) = 316 cores;
    layer 2: 48 per core -> ceil(512 / 48) = 11; layers 3, 4: 1 each. 329 / 128 -> 3 chips.
    Loihi 2's fan-in/fan-out limits are unpublished: those checks are 'not checked'."""
    m = map_network(SEED_2D, load_profile("loihi2"))
    assert [la["cores"] for la in m["layers"]] == [316, 11, 1, 1]
    assert (m["cores"], m["chips"]) == (329, 3)
    assert m["fits"] and "input axons per core (layer 1)" in m["not_checked"]


def test_small_design_rules_by_hand(tmp_path):
    """Network 4 -> 5 -> 2, 4-bit weights, on 3-neuron / 64-bit / 4-axon-in / 2-axon-out cores, 2 per chip.
    Layer 1: 4 x 4 = 16 bits per neuron -> 4 fit, capped at 3 neurons -> 2 cores (3 + 2 neurons).
    Layer 2: 5 x 4 = 20 bits -> 3 fit, 2 neurons -> 1 core. 3 cores / 2 -> 2 chips.
    Fan-in: layer 1 4 <= 4 passes, layer 2 5 > 4 fails. Fan-out: layer 1: 3 neurons x 1 next core = 3 > 2
    fails; layer 2: 2 x 1 sink = 2 passes. Memory: 3 x 16 = 48 and 2 x 20 = 40 bits <= 64 pass."""
    f = tmp_path / "tiny.toml"
    f.write_text(TINY_CHIP)
    chip = load_profile(f)
    m = map_network(NetworkShape((4, 5, 2), (4, 4), "spikes", 1), chip)
    assert [(la["neurons_per_core"], la["cores"], la["bound_by"]) for la in m["layers"]] == \
        [(3, 2, "neurons per core"), (2, 1, "fits in one core")]
    assert (m["cores"], m["chips"]) == (3, 2)
    fan_in = _check(m, "input axons per core (layer 2)")
    assert (fan_in["passed"], fan_in["value"], fan_in["limit"]) == (False, 5, 4)
    assert _check(m, "input axons per core (layer 1)")["passed"] is True
    assert _check(m, "output axons per core (layer 1)")["passed"] is False
    assert _check(m, "output axons per core (layer 2)")["passed"] is True
    assert [_check(m, f"synaptic memory per core, bits (layer {i})")["value"] for i in (1, 2)] == [48, 40]
    assert _check(m, "weight bits")["passed"] is True

    wide = map_network(NetworkShape((4, 5, 2), (5, 5), "spikes", 1), chip)
    assert _check(wide, "weight bits")["passed"] is False
    too_big = map_network(NetworkShape((4, 5, 2), (20, 20), "spikes", 1), chip)  # 80 bits per neuron > 64
    assert too_big["chips"] is None and too_big["layers"][0]["bound_by"] == "does not fit"
    assert _check(too_big, "synaptic memory per core, bits (layer 1)")["passed"] is False


def test_mapping_needs_a_neuromorphic_profile():
    with pytest.raises(ConfigError, match="neuromorphic"):
        map_network(SEED_2D, load_profile("cpu"))
