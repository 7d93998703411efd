"""Verdict rules: a verdict only on the same basis with every figure complete; no verdict when the network
does not map or a total is a lower bound (each case changes one thing in an otherwise verdict-giving pair);
the headline sentence is computed from the comparisons."""

import numpy as np
import pytest

from hardware_profiles import load_profile
from toolchain.core.result import SimResult
from toolchain.counts import count_classification, topology_from_weights
from toolchain.counts.workload import ann_workload, snn_workload
from toolchain.energy import build_report
from toolchain.energy.report import fmt_range

CHIP = """
[profile]
name = "chip"
kind = "neuromorphic"
title = "A chip built in technology T"
node = "T"
technology = "T"
[energy.synop]
value = 1
unit = "pJ"
evidence = "measured"
scope = "per-term"
source = "test"
[energy.graded_synop]
value = 2
unit = "pJ"
evidence = "measured"
scope = "per-term"
source = "test"{graded_bound}
[energy.neuron_update]
value = 1
unit = "pJ"
evidence = "measured"
scope = "per-term"
source = "test"
[energy.spike_message]
value = 1
unit = "pJ"
evidence = "measured"
scope = "per-term"
source = "test"
[timing.time_per_step]
value = 1
unit = "us"
evidence = "measured"
source = "test"
[resources.cores_per_chip]
value = 4
unit = "count"
evidence = "spec"
source = "test"
[resources.synaptic_memory_per_core]
value = {memory}
unit = "bits"
evidence = "spec"
source = "test"
[resources.neurons_per_core]
value = 8
unit = "count"
evidence = "spec"
source = "test"
[resources.axons_in_per_core]
value = 8
unit = "count"
evidence = "spec"
source = "test"
[resources.axons_out_per_core]
value = 8
unit = "count"
evidence = "spec"
source = "test"
[resources.weight_bits_max]
value = 8
unit = "bits"
evidence = "spec"
source = "test"
[resources.graded_spikes]
value = true
unit = "flag"
evidence = "spec"
source = "test"
[included]
weight_reads = "energy.synop"
accumulator = "energy.synop"
state = "energy.neuron_update"
dram = "none"
{static}
"""
ANN_PROFILE = """
[profile]
name = "asic"
kind = "ann"
title = "An ANN accelerator built in technology T"
node = "T"
technology = "T"
[energy.mac]
value = {mac}
unit = "pJ"
evidence = "measured"
scope = "per-term"
source = "test"
[energy.activation]
value = 0.1
unit = "pJ"
evidence = "measured"
scope = "per-term"
source = "test"
[timing.latency_batch1]
value = 1
unit = "us"
evidence = "measured"
source = "test"
[included]
weight_reads = "energy.mac"
dram = "none"
state = "energy.mac"
static = "energy.mac"
"""
STATIC = "static = \"energy.neuron_update\""
W1, W2 = np.array([[1, 0, 2], [0, 0, 3]]), np.array([[4, -5]])
ANN = {"source": "by hand", "activations": 2, "relu_outputs": [2], "samples": 1,
       "layers": [{"name": "fc1", "op": "Gemm", "weights": 6, "nonzero_weights": 6, "dense_macs": 6,
                   "effective_macs": 4.0, "inputs": 3, "outputs": 2},
                  {"name": "fc2", "op": "Gemm", "weights": 2, "nonzero_weights": 2, "dense_macs": 2,
                   "effective_macs": 1.0, "inputs": 2, "outputs": 1}]}


def _report(tmp_path, *, memory=4096, static=STATIC, graded_bound="", mac=10, extra=()):
    chip, asic = tmp_path / "chip.toml", tmp_path / "asic.toml"
    chip.write_text(CHIP.format(memory=memory, static=static, graded_bound=graded_bound))
    asic.write_text(ANN_PROFILE.format(mac=mac))
    topo = topology_from_weights([W1, W2], "graded_every_step", 2, weight_bits=8, input_bits=8)
    sim = SimResult("emulator", np.array([[5, 7, 0]]), [np.array([[[1, 0], [1, 1]]], bool), np.array([[[0], [1]]], bool)])
    snn = snn_workload(count_classification(topo, sim), model="snn_deployed", source="hand", auc=0.9, topo=topo)
    ann = ann_workload(ANN, model="ann_mlp", title="the ANN MLP", auc=0.95)
    return build_report({"name": "t"}, topo.shape(), [snn, ann],
                        [load_profile(chip), load_profile(asic), *map(load_profile, extra)])


def _one(rep, snn="chip", ann="asic"):
    return next(c for c in rep["comparisons"] if c["snn_profile"] == snn and c["ann_profile"] == ann)


def test_same_technology_pair_gets_a_verdict_and_the_headline_states_it(tmp_path):
    """Chip: compute 2 x 2 + 3 x 1 = 7 pJ, neuron 6 x 1, messages 4 x 1, static included: 17 pJ.
    ANN: 5 effective MACs x mac + 2 ReLUs x 0.1."""
    cheap_snn = _report(tmp_path, mac=10)  # ANN 50.2 pJ
    c = _one(cheap_snn)
    assert (c["basis"], c["verdict"]) == ("same_technology", "snn_cheaper")
    assert c["snn_energy_j"] == pytest.approx([17e-12, 17e-12]) and c["ann_energy_j"] == pytest.approx([50.2e-12] * 2)
    assert c["snn_latency_s"] == pytest.approx([2e-6, 2e-6]) and c["ann_latency_s"] == pytest.approx([1e-6, 1e-6])
    assert cheap_snn["headline"] == (
        f"At matched technology (A chip built in technology T; zeros skipped on every side), the deployed SNN "
        f"(AUC 0.900) costs {fmt_range(c['snn_energy_j'])} per classification against "
        f"{fmt_range(c['ann_energy_j'])} for the ANN MLP (AUC 0.950): the SNN is cheaper (`snn_cheaper`).")
    cheap_ann = _report(tmp_path, mac=1)  # ANN 5.2 pJ: the verdict and the sentence follow the numbers
    assert _one(cheap_ann)["verdict"] == "ann_cheaper"
    assert "the ANN MLP is cheaper (`ann_cheaper`)" in cheap_ann["headline"] and "5.2 pJ" in cheap_ann["headline"]


def test_no_verdict_when_the_mapping_fails(tmp_path):
    """The same pair on a chip whose 20-bit cores cannot hold one neuron's 3 x 8 bits of synapses."""
    rep = _report(tmp_path, memory=20)
    assert rep["mapping"]["chip"]["status"] == "fails"
    c = _one(rep)
    assert c["basis"] == "same_technology" and c["verdict"] == "no_verdict"
    assert "does not map onto chip" in c["reason"]
    assert "No like-for-like" not in rep["headline"] and "no verdict" in rep["headline"]


def test_no_verdict_when_the_snn_total_is_a_lower_bound(tmp_path):
    """Unpriced static power (not published, not included) makes the SNN total a lower bound."""
    rep = _report(tmp_path, static="")
    c = _one(rep)
    assert c["snn_lower_bound"] and c["verdict"] == "no_verdict"
    assert "The SNN total on chip is a lower bound (not priced: static)" in c["reason"]


def test_no_verdict_when_a_constant_is_a_stated_lower_bound(tmp_path):
    rep = _report(tmp_path, graded_bound='\nbound = "lower"')
    c = _one(rep)
    assert c["verdict"] == "no_verdict" and "energy.graded_synop is a stated lower bound" in c["reason"]


def test_unlike_pairs_and_shipped_profiles_give_no_verdict(tmp_path):
    """Shipped chips against CPU/GPU figures are unlike; TrueNorth does not map the 8-bit network; the CPU
    total is a lower bound (no memory traffic, static power or latency in Degnan's figures)."""
    rep = _report(tmp_path, extra=("truenorth", "loihi", "cpu", "horowitz45nm_int8"))
    for c in rep["comparisons"]:
        if c["basis"] == "unlike":
            assert c["verdict"] == "no_verdict" and c["reason"].startswith("Unlike pair")
    tn = _one(rep, "truenorth", "cpu")
    assert tn["verdict"] == "no_verdict" and "does not map onto truenorth" in tn["reason"]
    assert "The ANN total on cpu is a lower bound" in tn["reason"]
    assert _one(rep, "horowitz45nm_int8", "horowitz45nm_int8")["verdict"] in ("snn_cheaper", "ann_cheaper", "undecided")
    assert {c["input_policy"] for c in rep["comparisons"]} == {"zeros_skipped"}
    assert {c["input_policy"] for c in rep["comparisons_by_policy"]["dense"]} == {"dense"}
