"""Counts from real emulator runs equal a plain-loop count of the same spikes, for every encoding;
the same spikes from another back end (Lava, float) give the same counts."""

import numpy as np
import pytest

from toolchain.core.result import SimResult
from toolchain.counts import count_classification, topology_from_ir
from toolchain.emulator import simulate
from toolchain.ir import InputSpec, LayerIR, NetworkIR

SIZES = [12, 8, 5, 2]
T = 6


def _ir(encoding: str) -> NetworkIR:
    rng = np.random.default_rng(3)
    layers = []
    for i in range(3):
        w = rng.integers(-40, 90, size=(SIZES[i + 1], SIZES[i])).astype(np.int32)
        w[rng.random(w.shape) < 0.3] = 0
        layers.append(LayerIR(name=f"fc{i + 1}", weight=w, bias_mant=np.zeros(SIZES[i + 1], np.int32),
                              du=0 if (i == 0 and encoding == "graded_once") else 4095, dv=300, vth=600))
    spec = InputSpec(n_in=SIZES[0], encoding=encoding, bits=1 if encoding == "spikes" else 8,
                     scale=1.0 if encoding == "spikes" else 255.0,
                     spike_encoder="rate" if encoding == "spikes" else None)
    return NetworkIR(name="t", num_steps=T, input=spec, layers=layers)


def _loop_counts(ir: NetworkIR, sim: SimResult):
    """Independent count with explicit loops: (effective ops per layer, active updates per layer), summed over clips."""
    B = sim.layer_spikes[0].shape[0]
    eff = [0] * len(ir.layers)
    active = [0] * len(ir.layers)
    for b in range(B):
        for t in range(T):
            for li, layer in enumerate(ir.layers):
                if li == 0 and ir.input.graded:
                    sends = t == 0 or ir.input.encoding == "graded_every_step"
                    events = [j for j in range(layer.n_in) if sim.input[b, j] != 0]
                    held = events  # a held (graded_once) current keeps its neurons active
                    events = events if sends else []
                else:
                    src = sim.input[b, t] if li == 0 else sim.layer_spikes[li - 1][b, t]
                    events = held = [j for j in range(layer.n_in) if src[j]]
                for j in events:
                    eff[li] += sum(1 for i in range(layer.n_out) if layer.weight[i, j] != 0)
                active[li] += sum(1 for i in range(layer.n_out) if any(layer.weight[i, j] != 0 for j in held))
    return eff, active


@pytest.mark.parametrize("encoding", ["graded_once", "graded_every_step", "spikes"])
def test_emulator_counts_equal_plain_loops(encoding):
    ir = _ir(encoding)
    x = np.random.default_rng(5).random((3, SIZES[0]))
    x[:, :3] = 0
    sim = simulate(ir, x, seed=1, record_v=True)
    assert sum(int(s.sum()) for s in sim.layer_spikes[:-1]) > 0, "the test network must spike"
    c = count_classification(topology_from_ir(ir), sim)
    eff, active = _loop_counts(ir, sim)
    assert [la["effective_synops"]["sum_over_clips"] for la in c["layers"]] == eff
    assert [la["active_neuron_updates"]["sum_over_clips"] for la in c["layers"]] == active
    assert [la["spikes"]["sum_over_clips"] for la in c["layers"]] == [int(s.sum()) for s in sim.layer_spikes]
    assert c["layers"][0]["op_kind"] == ("binary" if encoding == "spikes" else "graded")
    assert c["totals"]["membrane_updates"] is not None  # from the emulator's recorded v
    for la in c["layers"]:
        assert la["effective_synops"]["mean"] <= la["dense_synops"]
        assert la["effective_synops"]["p5"] <= la["effective_synops"]["mean"] <= la["effective_synops"]["p95"]


def test_same_spikes_from_another_backend_give_the_same_counts():
    ir = _ir("graded_once")
    sim = simulate(ir, np.random.default_rng(2).random((2, SIZES[0])))
    lava = SimResult(backend="lava", input=sim.input.copy(), layer_spikes=[s.copy() for s in sim.layer_spikes])
    topo = topology_from_ir(ir)
    a, b = count_classification(topo, sim), count_classification(topo, lava)
    assert (a["backend"], b["backend"]) == ("emulator", "lava")
    assert a["layers"] == b["layers"] and a["totals"] == b["totals"]
