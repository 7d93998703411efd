"""A tiny network worked by hand: counts, every energy component, chip count, verdict, break-even.

Network 3 -> 2 -> 1, input sent as graded values at every step ("graded_every_step"), T = 2, one clip.

    W1 = [[1, 0, 2],      fan-out of input j = nonzero entries of column j:  j0: 1, j1: 0, j2: 2
          [0, 0, 3]]
    W2 = [[4, -5]]        fan-out: n0: 1, n1: 1
    input x = [5, 7, 0]   (nonzero: j0, j1)
    layer-1 spikes: t0 [1, 0], t1 [1, 1];  layer-2 spikes: t0 [0], t1 [1]

Counts per classification
    layer 1 (input) graded ops: per step j0 -> 1 + j1 -> 0 = 1; x 2 steps            = 2 (dense 3 x 2 x 2 = 12)
    layer 2 ACs: t0 one spike (n0, fan-out 1) = 1; t1 n0 + n1 = 2                     = 3 (dense 2 x 1 x 2 = 4)
    spikes: layer 1: 3, layer 2: 1; neuron updates (2 + 1) x 2 = 6; active: layer 1 n0 at both steps
    (W1[1, j0] = W1[1, j1] = 0) = 2, layer 2 = 2 (so 2 inactive, both in layer 1)

Loihi (hardware_profiles/loihi.toml), pJ ranges [lo, hi]
    compute:  2 graded ops x [23.6, 35.5] (a stated lower bound) + 3 ACs x [23.6, 35.5] = [118.0, 177.5]
    neuron:   4 active x [72.8, 81] + 2 inactive x [51.2, 52]                         = [393.6, 428.0]
    routing:  (3 layer-1 spikes x 1 destination core + 1 layer-2 spike x 1 sink) x 76.8 = 307.2
    weight reads, accumulator, state: included in the synaptic-op / neuron-update figures
    chips:    1 core per layer (lists: 2 x 8 + 10 -> 64 bits per axon), 2 cores -> 1 chip
    latency:  per step the busiest core: layer 1 = 1 op x 3.5 + 1 active x 8.4 + 1 inactive x 5.3
              = 17.2 ns (layer 2: 11.9 ns at t0, 2 x 3.5 + 8.4 = 15.4 ns at t1), plus the one-chip
              barrier [113, 465] ns: 2 x [130.2, 482.2]                               = [260.4, 964.4] ns
    static:   1 chip x 0.104375 W x [260.4, 964.4] ns                                 = [27179.25, 100659.25]
    total:    [118 + 393.6 + 307.2 + 27179.25, 177.5 + 428 + 307.2 + 100659.25]        = [27998.05, 101571.95]

45 nm int8 (horowitz45nm_int8), zeros skipped; 8-bit weights read at 8/64 of a [10, 100] pJ word,
32-bit partial sums and 48-bit neuron state in a [10, 20] pJ local memory
    SNN compute:  2 x 0.3 + 3 x 0.1                                                   = 0.9
        weight reads: (2 + 3) fetches x 1/8 x [10, 100]                               = [6.25, 62.5]
        accumulator: 5 events x 2 x 32/64 x [10, 20]                                  = [50, 100]
        state: 6 neuron-steps x 2 x 48/64 x [10, 20]                                  = [90, 180]
        neuron: 6 x [3.4, 6.5]                                                        = [20.4, 39.0]
        total                                                                          = [167.55, 382.4]
    ANN (3 -> 2 -> 1 ReLU MLP on the same input: 2 nonzero inputs x 2 = 4 effective MACs in layer 1,
        one nonzero ReLU output x 1 = 1 in layer 2; dense 6 + 2 = 8):
        compute: 5 x 0.3 = 1.5; weight reads: 5 x 1/8 x [10, 100] = [6.25, 62.5]; accumulator: n/a
        (output-stationary); state: 3 outputs x 2 x 8/64 x [10, 20] = [7.5, 15]; ReLU: 2 x 0.1 = 0.2
        total                                                                          = [15.45, 79.2]
    verdict: same technology, SNN dearer at both ends -> ann_cheaper.
    break-even: at rate 0 the SNN does layer 1 only: 0.6 + 2/8 x [10, 100] + 2 x [10, 20] + [90, 180]
        + [20.4, 39] = [133.5, 284.6] > [15.45, 79.2] -> no break-even rate in [0, 1].
    dense policy: SNN compute 12 x 0.3 + 4 x 0.1 = 4.0, weight reads 16/8 x [10, 100] = [20, 200], no
        accumulator, state and neuron as above: [134.4, 423.0]; ANN compute 8 x 0.3 = 2.4, reads
        8/8 x [10, 100], state [7.5, 15], ReLU 0.2: [20.1, 117.6].
"""

import numpy as np
import pytest

from hardware_profiles import load_profile
from toolchain.core.result import SimResult
from toolchain.counts import count_classification, neurobench_view, topology_from_weights
from toolchain.counts.workload import ann_workload, snn_workload
from toolchain.energy import RateCurve, breakeven, map_network, price, verdict

PJ = 1e-12
W1 = np.array([[1, 0, 2], [0, 0, 3]])
W2 = np.array([[4, -5]])
ANN = {"source": "by hand", "activations": 2, "relu_outputs": [2], "samples": 1,
       "layers": [{"name": "fc1", "op": "Gemm", "weights": 6, "nonzero_weights": 6, "dense_macs": 6,
                   "effective_macs": 4.0, "inputs": 3, "outputs": 2},
                  {"name": "fc2", "op": "Gemm", "weights": 2, "nonzero_weights": 2, "dense_macs": 2,
                   "effective_macs": 1.0, "inputs": 2, "outputs": 1}]}


def _sim():
    l1 = np.array([[[1, 0], [1, 1]]], dtype=bool)  # [B=1, T=2, 2]
    l2 = np.array([[[0], [1]]], dtype=bool)
    return SimResult(backend="emulator", input=np.array([[5, 7, 0]]), layer_spikes=[l1, l2])


def _counts(encoding="graded_every_step"):
    topo = topology_from_weights([W1, W2], encoding, 2, weight_bits=8, input_bits=8)
    return topo, count_classification(topo, _sim())


def _work():
    topo, c = _counts()
    return topo, snn_workload(c, model="snn_deployed", source="hand", topo=topo)


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


def test_loihi_components_chip_count_and_latency_by_hand():
    topo, w = _work()
    loihi = load_profile("loihi")
    m = map_network(topo.shape(), loihi)
    assert [la["cores"] for la in m["layers"]] == [1, 1] and m["cores"] == 2 and m["chips"] == 1
    e = price(w, loihi, "zeros_skipped", m)
    comp = e["components"]
    _close(comp["compute"]["J"], [118.0, 177.5])
    _close(comp["neuron"]["J"], [393.6, 428.0])
    _close(comp["routing"]["J"], [307.2, 307.2])
    assert [comp[k]["status"] for k in ("weight_reads", "accumulator", "state", "dram")] == ["included"] * 4
    assert e["latency_s"] == pytest.approx([260.4e-9, 964.4e-9])
    _close(comp["static"]["J"], [27179.25, 100659.25])
    _close(e["total_J"], [27998.05, 101571.95])
    assert e["edp_Js"] == pytest.approx([27998.05e-12 * 260.4e-9, 101571.95e-12 * 964.4e-9])
    assert e["lower_bound"] == ["energy.graded_synop is a stated lower bound"]


def test_like_for_like_int8_components_verdict_and_breakeven_by_hand():
    _, w = _work()
    int8 = load_profile("horowitz45nm_int8")
    s = price(w, int8, "zeros_skipped")
    c = s["components"]
    _close(c["compute"]["J"], [0.9, 0.9])
    _close(c["weight_reads"]["J"], [6.25, 62.5])
    _close(c["accumulator"]["J"], [50, 100])
    _close(c["state"]["J"], [90, 180])
    _close(c["neuron"]["J"], [20.4, 39.0])
    assert c["dram"]["J"] == [0.0, 0.0] and c["static"]["status"] == "excluded" and c["routing"]["status"] == "included"
    _close(s["total_J"], [167.55, 382.4])
    assert s["lower_bound"] == [] and s["latency_s"] is None and s["edp_Js"] is None  # unknown, never 0
    aw = ann_workload(ANN, model="ann_mlp")
    a = price(aw, int8, "zeros_skipped")
    assert a["components"]["accumulator"]["status"] == "n/a"
    _close(a["components"]["state"]["J"], [7.5, 15])
    _close(a["total_J"], [15.45, 79.2])
    assert verdict("same_technology", s, a, None)[0] == "ann_cheaper"
    b = breakeven(RateCurve(w, int8, "zeros_skipped", None), a["total_J"], True)
    _close(b["snn_J_at_rate0"], [133.5, 284.6])
    assert b["breakeven_rate"] is None and b["statement"].startswith("no break-even rate in [0, 1]: the SNN costs more")
    _close(price(w, int8, "dense")["total_J"], [134.4, 423.0])
    _close(price(aw, int8, "dense")["total_J"], [20.1, 117.6])


def test_breakeven_rate_solves_the_repriced_curve():
    """Against an ANN costing E_snn(0.25) exactly, the break-even rate is 0.25 (each end on its own)."""
    _, w = _work()
    int8 = load_profile("horowitz45nm_int8")
    curve = RateCurve(w, int8, "zeros_skipped", None)
    b = breakeven(curve, curve(0.25), True)
    assert b["breakeven_rate"] == pytest.approx([0.25, 0.25], abs=1e-6)
    assert curve(0.0)[0] < curve(0.25)[0] < curve(1.0)[0]  # E_snn grows with the rate


def test_truenorth_all_in_adds_nothing():
    topo, w = _work()
    tn = load_profile("truenorth")
    e = price(w, tn, "zeros_skipped", map_network(topo.shape(), tn))
    _close(e["total_J"], [(2 + 3) * 26.0, (2 + 3) * 26.0])  # synaptic events x 26 pJ, nothing else
    assert {k: c["status"] for k, c in e["components"].items() if k != "compute"} == \
        {k: "included" for k in ("weight_reads", "dram", "accumulator", "state", "neuron", "routing", "static")}
