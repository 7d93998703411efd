"""One input for every model: on a hand-made input whose zeros are chosen, the ANN MLP's layer-1 effective
MACs (real onnxruntime on the exported graph) equal the deployed SNN's layer-1 effective graded ops (real
emulator) and the float SNN's, under the zero-skipping policy; the JSON carries what scripts need.

Input x (6 features), scale 255:  [0.0, 0.5, 0.001, 1.0, 0.3, 0.0]
    x_int = round(x x 255)        = [0, 128, 0, 255, 76, 0]     (0.001 x 255 = 0.255 rounds to 0)
    nonzero inputs: 3 (positions 1, 3, 4); every layer-1 weight nonzero, 4 neurons:
    effective ops / MACs of layer 1 = 3 x 4 = 12 on every side; dense = 6 x 4 = 24.
Fed the raw float features instead (the old, unequal input), the ANN would count 4 x 4 = 16.
"""

import numpy as np
import pytest
import torch

from export.onnx_export import export_onnx
from hardware_profiles import load_profile
from toolchain.counts import ann_macs_from_onnx
from toolchain.energy.analyse import analyse
from toolchain.frontends.float_net import FloatLayer, FloatNetwork
from toolchain.ir import InputSpec, LayerIR, NetworkIR

X = np.array([[0.0, 0.5, 0.001, 1.0, 0.3, 0.0]])
W1 = np.array([[3, -2, 5, 1, 4, 2], [1, 1, -3, 2, 2, 6], [-4, 2, 2, 3, 1, 1], [2, 5, 1, -1, 3, 2]], np.int32)
W2 = np.array([[2, -1, 3, 1], [1, 2, -2, 4]], np.int32)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("same")
    ir = NetworkIR(name="same", num_steps=4, input=InputSpec(n_in=6, encoding="graded_once", scale=255.0), layers=[
        LayerIR(name="fc1", weight=W1, bias_mant=np.zeros(4, np.int32), du=0, dv=300, vth=20, weight_exp=-3),
        LayerIR(name="fc2", weight=W2, bias_mant=np.zeros(2, np.int32), du=4095, dv=300, vth=2)])
    net = FloatNetwork(layers=[FloatLayer(weight=W1 / 8.0, bias=None, beta=0.9, threshold=0.3),
                               FloatLayer(weight=W2 / 4.0, bias=None, beta=0.9, threshold=0.3)],
                       num_steps=4, encoding="dc")
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    onnx = export_onnx(mlp, torch.zeros(1, 6), root / "ann_mlp.onnx")
    profiles = [load_profile(p) for p in ("horowitz45nm_int8", "horowitz45nm_fp32", "loihi2")]
    rep = analyse(ir, X, profiles=profiles, float_net=net, anns=[{"model": "ann_mlp", "onnx": onnx}],
                  aucs={"snn_deployed": 0.8, "ann_mlp": 0.85})
    return rep, onnx


def test_layer1_effective_ops_equal_on_the_same_input(report):
    rep, onnx = report
    models = rep["models"]
    snn, flt, ann = (models[k]["layers"][0] for k in ("snn_deployed", "snn_float", "ann_mlp"))
    assert snn["effective_ops"] == flt["effective_ops"] == ann["effective_ops"] == 12
    assert snn["dense_ops"] == ann["dense_ops"] == 24 and snn["op"] == "graded" and ann["op"] == "mac"
    assert ann_macs_from_onnx(onnx, X.astype(np.float32))["layers"][0]["effective_macs"] == 16  # unequal input
    assert rep["shared_input"]["nonzero_fraction"] == pytest.approx(3 / 6)


def test_same_technology_layer1_costs_the_same_compute_and_weight_reads(report):
    """On one logic profile the two layer-1 compute and weight-read terms are equal: same ops, same constants."""
    rep, _ = report
    e = rep["energy"]["zeros_skipped"]
    for comp in ("compute", "weight_reads"):
        snn = [t for t in e["snn_deployed"]["horowitz45nm_int8"]["terms"] if t["component"] == comp and t["layer"] == 1]
        ann = [t for t in e["ann_mlp"]["horowitz45nm_int8"]["terms"] if t["component"] == comp and t["layer"] == 1]
        assert snn[0]["energy_J"] == pytest.approx(ann[0]["energy_J"]) and snn[0]["count"] == 12


def test_json_carries_comparisons_policy_and_counts(report):
    rep, _ = report
    assert rep["input_policy"] == "zeros_skipped"
    need = {"snn_profile", "ann_model", "ann_profile", "basis", "verdict", "reason", "snn_energy_j", "ann_energy_j"}
    assert len(rep["comparisons"]) == 3 * 1 * 2  # (SNN profiles) x (ANN models) x (ANN profiles)
    for c in rep["comparisons"]:
        assert need <= set(c) and c["verdict"] in ("snn_cheaper", "ann_cheaper", "undecided", "no_verdict")
        assert c["basis"] in ("same_technology", "device_measurements", "unlike") and len(c["ann_energy_j"]) == 2
    fp32 = next(c for c in rep["comparisons"] if c["snn_profile"] == c["ann_profile"] == "horowitz45nm_fp32")
    assert fp32["snn_model"] == "snn_float" and fp32["basis"] == "same_technology"  # fp32 row: the float model
    assert next(c for c in rep["comparisons"] if c["snn_profile"] == "loihi2")["snn_model"] == "snn_deployed"
    assert "AUC 0.800" in rep["headline"] and "AUC 0.850" in rep["headline"]
