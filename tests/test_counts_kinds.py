"""Counts per layer kind from real emulator runs equal a brute-force count on expanded dense matrices.

Each conv layer is expanded into its dense matrix [n_out, n_in] by applying torch's conv1d/conv2d
to every unit input (column j = the layer's response to input j alone), and its structural matrix
(which synapses exist at all) by the same with an all-ones kernel; a recurrent layer keeps W and
W_rec. The brute-force count then loops over clips, steps and inputs: effective ops = sum over
events of the nonzero entries of their column (plus, for dense_rec, the previous step's own spikes
times the nonzero entries of W_rec's column), active neurons = rows with a nonzero entry on an
event, dense ops = structural synapses per step evaluated. The connection objects compute the same
numbers without expanding anything (toolchain/counts/connections.py).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.ir_factory import calibrate_thresholds, random_conv_ir, random_rec_ir
from toolchain.counts import count_classification, neurobench_view, topology_from_ir
from toolchain.emulator import simulate
from toolchain.ir import DenseRec, InputSpec, LayerIR, NetworkIR


def _expand_conv(layer, kernel: np.ndarray) -> np.ndarray:
    """Dense [n_out, n_in] of a conv layer with `kernel`, by torch's convolution of every unit input."""
    nd = kernel.ndim - 2
    eye = torch.eye(layer.n_in, dtype=torch.float64).reshape(layer.n_in, *layer.in_shape)
    conv = F.conv1d if nd == 1 else F.conv2d
    out = conv(eye, torch.from_numpy(kernel.astype(np.float64)), stride=layer.stride, padding=layer.padding,
               dilation=layer.dilation, groups=layer.groups)
    return out.reshape(layer.n_in, -1).T.numpy()


def _expanded(ir):
    """Per population: (nonzero matrix, structural matrix, recurrent nonzero matrix or None)."""
    out = []
    for layer in ir.spiking:
        if layer.kind == "conv":
            w = np.asarray(layer.weight)
            out.append((_expand_conv(layer, w) != 0, _expand_conv(layer, np.ones_like(w)) != 0, None))
        else:
            w = np.asarray(layer.weight)
            rec = np.asarray(layer.weight_rec) != 0 if layer.kind == "dense_rec" else None
            out.append((w != 0, np.ones_like(w, dtype=bool), rec))
    return out


def _brute(ir, sim):
    """(effective ops, recurrent ops, active updates) per layer, summed over clips; dense ops per clip."""
    T, mats = ir.num_steps, _expanded(ir)
    B = sim.layer_spikes[0].shape[0]
    eff, rec_ops, active, dense = [], [], [], []
    x = np.asarray(sim.input)
    for li, (nz, struct, rec) in enumerate(mats):
        e = r = a = 0
        for b in range(B):
            for t in range(T):
                if li == 0 and ir.input.graded:
                    held = [j for j in range(nz.shape[1]) if x[b, j] != 0]
                    sent = held if (t == 0 or ir.input.encoding == "graded_every_step") else []
                else:
                    src = x[b, t] if li == 0 else sim.layer_spikes[li - 1][b, t]
                    held = sent = [j for j in range(nz.shape[1]) if src[j]]
                e += sum(int(nz[:, j].sum()) for j in sent)
                reached = nz[:, held].any(axis=1) if held else np.zeros(nz.shape[0], bool)
                if rec is not None and t > 0:
                    own = [j for j in range(rec.shape[1]) if sim.layer_spikes[li][b, t - 1, j]]
                    r += sum(int(rec[:, j].sum()) for j in own)
                    reached = reached | (rec[:, own].any(axis=1) if own else False)
                a += int(reached.sum())
        per_step = int(struct.sum())
        steps = 1 if (li == 0 and ir.input.encoding == "graded_once") else T
        n_rec = rec.shape[0] ** 2 if rec is not None else 0
        eff.append(e + r)
        rec_ops.append(r)
        active.append(a)
        dense.append(per_step * steps + n_rec * T)
    return eff, rec_ops, active, dense, mats


def _check(ir, x):
    sim = simulate(ir, x, seed=3)
    assert all(int(s[:, :-1].sum()) > 0 for s in sim.layer_spikes[:-1]), "every hidden layer must spike"
    c = count_classification(topology_from_ir(ir), sim)
    eff, rec, active, dense, mats = _brute(ir, sim)
    assert [la["effective_synops"]["sum_over_clips"] for la in c["layers"]] == eff
    assert [la["active_neuron_updates"]["sum_over_clips"] for la in c["layers"]] == active
    assert [la["dense_synops"] for la in c["layers"]] == dense
    assert [(la["recurrent_synops"] or {"sum_over_clips": 0})["sum_over_clips"] for la in c["layers"]] == rec
    assert [la["nonzero_synapses"] for la in c["layers"]] == [
        int(nz.sum()) + (int(r.sum()) if r is not None else 0) for nz, _, r in mats]
    assert [la["reachable_neurons"] for la in c["layers"]] == [
        int((nz.any(axis=1) | (r.any(axis=1) if r is not None else False)).sum()) for nz, _, r in mats]
    return c


def _sparsify(ir, rng):
    """Zero about a third of every weight (so fan-outs differ from the structure) and whole kernel taps."""
    for layer in ir.spiking:
        for name in ("weight", "weight_rec"):
            w = getattr(layer, name, None)
            if w is not None:
                w[rng.random(w.shape) < 0.35] = 0
        if layer.kind == "conv" and layer.weight.shape[-1] > 1:
            layer.weight[..., 0] = 0  # a dead kernel column: some inputs lose every synapse at the edge
    return ir


@pytest.mark.parametrize("dims,encoding,seed", [(1, "spikes", 0), (2, "spikes", 1), (1, "graded_once", 2),
                                                (2, "graded_every_step", 3), (2, "spikes", 4)])
def test_conv_counts_equal_brute_force(dims, encoding, seed):
    rng = np.random.default_rng(seed)
    ir = _sparsify(random_conv_ir(rng, dims, encoding, num_steps=5), rng)
    x = rng.random((3, ir.input.n_in))
    ir = calibrate_thresholds(ir, _encoded(ir, x), quantile=0.4)
    c = _check(ir, x)
    conv = c["layers"][0]
    assert conv["kind"] == "conv" and conv["synapses"] < conv["n_in"] * conv["n_out"]  # valid positions only
    assert conv["stored_weights"] == ir.layers[0].weight.size


def _encoded(ir, x):
    from toolchain.represent.encoding import encode_for_ir

    return encode_for_ir(ir, x, 3)


@pytest.mark.parametrize("encoding,seed", [("spikes", 5), ("graded_every_step", 6)])
def test_recurrent_counts_equal_brute_force(encoding, seed):
    rng = np.random.default_rng(seed)
    ir = _sparsify(random_rec_ir(rng, [7, 9, 6, 2], encoding), rng)
    x = rng.random((3, 7))
    ir = calibrate_thresholds(ir, _encoded(ir, x), quantile=0.4)
    c = _check(ir, x)
    rec = c["layers"][1]
    assert rec["kind"] == "dense_rec" and rec["recurrent_synops"]["sum_over_clips"] > 0
    assert rec["dense_synops"] == (9 * 6 + 6 * 6) * ir.num_steps


def test_graded_recurrent_first_layer_splits_macs_and_acs():
    """A dense_rec layer fed graded input: its input ops are MACs, its own-spike ops ACs (NeuroBench decides
    by the values each connection sees: the recurrent nn.Linear gets spikes)."""
    rng = np.random.default_rng(7)
    w = rng.integers(-40, 90, size=(6, 5)).astype(np.int32)
    w[:, 1] = 0
    wr = rng.integers(-60, 90, size=(6, 6)).astype(np.int32)
    wr[rng.random(wr.shape) < 0.4] = 0
    z = np.zeros(6, np.int32)
    ir = NetworkIR(name="grec", num_steps=5, input=InputSpec(n_in=5, encoding="graded_every_step", bits=8),
                   layers=[DenseRec(name="rec", weight=w, weight_rec=wr, weight_exp=-2, bias_mant=z, dv=200, vth=40),
                           LayerIR(name="out", weight=rng.integers(-40, 90, size=(2, 6)).astype(np.int32),
                                   bias_mant=np.zeros(2, np.int32), vth=30)])
    x = rng.random((4, 5))
    c = _check(ir, x)
    la = c["layers"][0]
    assert la["op_kind"] == "graded" and la["recurrent_synops"]["mean"] > 0
    nb = neurobench_view(c)
    assert nb["Effective_MACs"] == la["effective_synops"]["mean"] - la["recurrent_synops"]["mean"]
    assert nb["Effective_ACs"] == la["recurrent_synops"]["mean"] + c["layers"][1]["effective_synops"]["mean"]
