"""A tiny network worked by hand: counts, energies and chip count, every expected number written out.

Network 3 -> 2 -> 1, input sent as graded values at every step ("graded_every_step"), T = 2, one clip.

    W1 = [[1, 0, 2],      fan-out of input j = nonzero entries of column j:  j0: 1, j1: 0, j2: 2
          [0, 0, 3]]
    W2 = [[4, -5]]        fan-out: n0: 1, n1: 1
    input x = [5, 7, 0]   (nonzero: j0, j1)
    layer-1 spikes: t0 [1, 0], t1 [1, 1];  layer-2 spikes: t0 [0], t1 [1]

Counts per classification
    layer 1 (input) graded ops: per step j0 -> 1 + j1 -> 0 = 1; x 2 steps            = 2
    layer 1 dense ops: 3 x 2 x 2                                                      = 12
    layer 2 ACs: t0 one spike (n0, fan-out 1) = 1; t1 n0 + n1 = 2                     = 3
    layer 2 dense ops: 2 x 1 x 2                                                      = 4
    spikes: layer 1: 3, layer 2: 1                                                    = 4
    neuron updates: (2 + 1) x 2                                                       = 6
    active (>= 1 synaptic event that step): layer 1: n0 only (W1[1, j0] = W1[1, j1] = 0),
        each step -> 2; layer 2: n0's spike reaches it (W2 = 4) at t0 and t1 -> 2      = 4 (2 inactive)
    activation sparsity: 1 - 4 spikes / 6 outputs                                     = 1/3

Loihi (hardware_profiles/loihi.toml), pJ ranges [lo, hi]
    input:    2 graded ops x [23.6, 35.5] (Loihi 1 stand-in: one synaptic op)         = [47.2, 71.0]
    synaptic: 3 ACs x [23.6, 35.5] = [70.8, 106.5]; 4 spikes x [1.7, 76.8] = [6.8, 307.2]
                                                                                      = [77.6, 413.7]
    neuron:   4 active x [72.8, 81] + 2 inactive x [51.2, 52] = [291.2 + 102.4, 324 + 104]
                                                                                      = [393.6, 428.0]
    chips:    each layer fits one core (2 and 1 neurons; 3 x 8 and 2 x 8 bits per neuron), 2 cores
              of 128 -> 1 chip
    latency:  per step the busiest core: layer 1 = 1 op x 3.5 + 1 active x 8.4 + 1 inactive x 5.3
              = 17.2 ns (layer 2: 11.9 ns at t0, 2 x 3.5 + 8.4 = 15.4 ns at t1), plus the one-chip
              barrier [113, 465] ns: 2 x [130.2, 482.2]                               = [260.4, 964.4] ns
    static:   1 chip x 0.104375 W x [260.4, 964.4] ns                                 = [27179.25, 100659.25]
    total:    [47.2 + 77.6 + 393.6 + 27179.25, 71.0 + 413.7 + 428.0 + 100659.25]     = [27697.65, 101571.95]

ANN baseline: the same-topology ReLU MLP 3-2-1: 6 + 2 = 8 dense MACs, 2 activations.
    cpu (all-in 8.6 nJ per op): (8 + 2) x 8.6 nJ                                      = 86 nJ
    45 nm int8: MACs 8 x [0.23, 0.3] = [1.84, 2.4]; weight reads 8 x 8/64 words x [10, 100] = [10, 100];
              activations 2 x [0.03, 0.1] = [0.06, 0.2]                               = [11.9, 102.6]
SNN on 45 nm int8 (same precision, same memory model):
    input:    2 x [0.23, 0.3] + 2 x 1/8 x [10, 100] = [0.46 + 2.5, 0.6 + 25]          = [2.96, 25.6]
    synaptic: 3 x [0.03, 0.1] + 3 x 1/8 x [10, 100] = [0.09 + 3.75, 0.3 + 37.5]       = [3.84, 37.8]
    neuron:   6 x [0.29, 3.4]                                                         = [1.74, 20.4]
Break-even, int8 like for like: fixed F = input + neuron = [4.70, 46.0]; at rate 1 layer 2 does
    2 nonzero synapses x 2 steps = 4 ops: S1 = 4 x [0.03, 0.1] + 4/8 x [10, 100] = [5.12, 50.4].
    Same constants on both sides, so low ends go together: (11.9 - 4.70) / 5.12 = 1.40625 and
    (102.6 - 46.0) / 50.4 = 1.123...: r* in [1.123, 1.406], above 1 spike per neuron per step,
    so the SNN is cheaper at any rate; measured rate = layer-1 spikes 3 / (2 neurons x 2 steps) = 0.75.
"""

import numpy as np
import pytest

from hardware_profiles import load_profile
from toolchain.core.result import SimResult
from toolchain.counts import (
    ann_macs_from_sizes,
    count_classification,
    neurobench_view,
    topology_from_weights,
)
from toolchain.energy import breakeven, map_network, price_ann, price_snn

PJ = 1e-12
W1 = np.array([[1, 0, 2], [0, 0, 3]])
W2 = np.array([[4, -5]])


def _sim():
    l1 = np.array([[[1, 0], [1, 1]]], dtype=bool)  # [B=1, T=2, 2]
    l2 = np.array([[[0], [1]]], dtype=bool)
    return SimResult(backend="emulator", input=np.array([[5, 7, 0]]), layer_spikes=[l1, l2])


def _counts(encoding="graded_every_step"):
    topo = topology_from_weights([W1, W2], encoding, 2, weight_bits=8, input_bits=8)
    return topo, count_classification(topo, _sim())


def _close(got, want_pj):
    assert got == pytest.approx([w * PJ for w in want_pj], rel=1e-12, abs=1e-24)


def test_counts_by_hand():
    _, c = _counts()
    l1, l2 = c["layers"]
    assert l1["op_kind"] == "graded" and l2["op_kind"] == "binary"
    assert l1["effective_synops"]["mean"] == 2 and l1["effective_synops"]["per_step"] == [1, 1]
    assert l1["dense_synops"] == 12 and l2["dense_synops"] == 4
    assert l2["effective_synops"]["mean"] == 3 and l2["effective_synops"]["per_step"] == [1, 2]
    assert (l1["spikes"]["mean"], l2["spikes"]["mean"]) == (3, 1)
    assert c["totals"]["neuron_updates"] == 6
    assert (l1["active_neuron_updates"]["mean"], l2["active_neuron_updates"]["mean"]) == (2, 2)
    assert c["totals"]["activation_sparsity"] == pytest.approx(1 / 3)
    assert neurobench_view(c) == {"Effective_MACs": 2, "Effective_ACs": 3, "Dense": 16,
                                  "ActivationSparsity": pytest.approx(1 / 3), "MembraneUpdates": None}


def test_graded_once_sends_layer_one_once():
    topo = topology_from_weights([W1, W2], "graded_once", 2)
    c = count_classification(topo, _sim())
    l1 = c["layers"][0]
    assert l1["effective_synops"]["per_step"] == [1, 0] and l1["dense_synops"] == 6
    assert l1["active_neuron_updates"]["mean"] == 2  # the held current keeps n0 active at both steps


def test_loihi_chip_count_and_energy_by_hand():
    topo, c = _counts()
    loihi = load_profile("loihi")
    m = map_network(topo.shape(), loihi)
    assert [la["cores"] for la in m["layers"]] == [1, 1] and m["cores"] == 2 and m["chips"] == 1
    e = price_snn(c, loihi, m)
    _close(e["components_J"]["input"], [47.2, 71.0])
    _close(e["components_J"]["synaptic"], [77.6, 413.7])
    _close(e["components_J"]["neuron"], [393.6, 428.0])
    assert e["latency_s"] == pytest.approx([260.4e-9, 964.4e-9])
    _close(e["components_J"]["static"], [27179.25, 100659.25])
    _close(e["total_J"], [27697.65, 101571.95])


def test_ann_and_like_for_like_int8_by_hand():
    topo, c = _counts()
    ann = ann_macs_from_sizes(topo.sizes)
    assert (ann["dense_macs"], ann["activations"]) == (8, 2)
    cpu = price_ann(ann, load_profile("cpu"))
    assert cpu["total_J"] == pytest.approx([86e-9, 86e-9])
    int8 = load_profile("horowitz45nm_int8")
    a = price_ann(ann, int8)
    _close(a["total_J"], [11.9, 102.6])
    s = price_snn(c, int8)
    _close(s["components_J"]["input"], [2.96, 25.6])
    _close(s["components_J"]["synaptic"], [3.84, 37.8])
    _close(s["components_J"]["neuron"], [1.74, 20.4])
    assert s["components_J"]["static"] == [0.0, 0.0]
    b = breakeven(c, s, int8, a)
    assert b["like_for_like"] and b["measured_rate"] == 0.75
    _close(b["fixed_J"], [4.70, 46.0])
    _close(b["per_unit_rate_J"], [5.12, 50.4])
    assert b["breakeven_rate"] == pytest.approx([(102.6 - 46.0) / 50.4, (11.9 - 4.70) / 5.12])
    assert b["verdict"].startswith("SNN estimated cheaper at every possible rate")


def test_truenorth_all_in_adds_nothing():
    topo, c = _counts()
    tn = load_profile("truenorth")
    e = price_snn(c, tn, map_network(topo.shape(), tn))
    _close(e["total_J"], [(2 + 3) * 26.0, (2 + 3) * 26.0])  # synaptic events x 26 pJ, nothing else
    assert e["components_J"]["neuron"] == [0.0, 0.0] and e["components_J"]["static"] == [0.0, 0.0]
