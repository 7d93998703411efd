"""`neurodeploy energy` end to end on a small IR: report files, the layer-1 line, chips, estimates, errors."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from export.onnx_export import export_onnx
from hardware_profiles import ProfileError
from toolchain.cli import app
from toolchain.core.errors import ArtifactError, ConfigError, DataError
from toolchain.ir import InputSpec, LayerIR, NetworkIR, save_ir

N_IN = 30


@pytest.fixture(scope="module")
def quantised(tmp_path_factory):
    """A quantise-style output folder (network.ndir), features, and a matching ONNX MLP."""
    root = tmp_path_factory.mktemp("q")
    rng = np.random.default_rng(0)
    sizes, layers = [N_IN, 16, 8, 2], []
    for i in range(3):
        w = rng.integers(-40, 90, size=(sizes[i + 1], sizes[i])).astype(np.int32)
        layers.append(LayerIR(name=f"fc{i + 1}", weight=w, bias_mant=np.zeros(sizes[i + 1], np.int32),
                              du=0 if i == 0 else 4095, dv=300, vth=900))
    save_ir(NetworkIR(name="small", num_steps=8, input=InputSpec(n_in=N_IN, encoding="graded_once", shape=(5, 6)),
                      layers=layers), root / "network.ndir")
    np.save(root / "features.npy", rng.random((6, 5, 6)))
    mlp = torch.nn.Sequential(torch.nn.Linear(N_IN, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    export_onnx(mlp, torch.zeros(1, N_IN), root / "ann.onnx")
    return root


def _run(*args):
    return CliRunner().invoke(app, ["energy", *map(str, args)])


def test_energy_report_end_to_end(quantised, tmp_path):
    out = tmp_path / "report"
    res = _run(quantised, "--data", quantised / "features.npy", "--clips", 4, "--ann", f"mlp={quantised / 'ann.onnx'}",
               "--auc", "snn_deployed=0.7", "--auc", "mlp=0.75",
               "-p", "loihi", "-p", "loihi2", "-p", "horowitz45nm_int8", "-p", "cpu", "--out", out, "--json")
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["label"].startswith("ESTIMATE")
    assert {p.name for p in out.iterdir()} == {"energy.json", "energy.md", "energy.png", "front.png"}
    assert (out / "energy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    counts = rep["counts"][0]
    assert counts["backend"] == "emulator" and counts["clips"] == 4 and counts["layers"][0]["op_kind"] == "graded"
    assert set(rep["energy"]["zeros_skipped"]["snn_deployed"]) == {"loihi", "loihi2", "horowitz45nm_int8"}
    assert set(rep["energy"]["zeros_skipped"]["mlp"]) == {"horowitz45nm_int8", "cpu"}
    assert len(rep["comparisons"]) == 3 * 1 * 2 and rep["input_policy"] == "zeros_skipped"
    ann = rep["ann"]["mlp"]
    assert ann["dense_macs"] == N_IN * 16 + 16 * 2 and ann["effective_macs"] is not None
    assert rep["mapping"]["loihi"]["chips"] == 1 and "input encoding" in rep["mapping"]["loihi"]["failed"]
    for c in rep["comparisons"]:
        assert c["verdict"] == "no_verdict" or (c["snn_profile"] == c["ann_profile"] == "horowitz45nm_int8")
    assert "AUC 0.700" in rep["headline"] and "AUC 0.750" in rep["headline"]
    md = (out / "energy.md").read_text()
    assert md.index("**Headline (estimate).**") < md.index("## Comparisons (input policy: `zeros_skipped`)")
    assert "## Comparisons (input policy: `dense`)" in md and "| 1 (input: graded_once, once per classification) |" in md
    assert "ESTIMATE" in md and "Davies et al." in md and "Horowitz" in md


def test_energy_needs_data_and_known_profiles(quantised):
    res = _run(quantised, "-p", "loihi")
    assert isinstance(res.exception, ConfigError) and "--data" in str(res.exception)
    res = _run(quantised, "--data", quantised / "features.npy", "-p", "loihi9")
    assert isinstance(res.exception, ProfileError) and "loihi9" in str(res.exception)
    np.save(quantised / "wrong.npy", np.zeros((2, 7)))
    res = _run(quantised, "--data", quantised / "wrong.npy")
    assert isinstance(res.exception, DataError) and "7 values per clip" in str(res.exception)


def test_bad_ann_and_auc_options_are_refused(quantised):
    res = _run(quantised, "--data", quantised / "features.npy", "--ann", quantised / "nope.onnx")
    assert isinstance(res.exception, ArtifactError) and "nope.onnx" in str(res.exception)
    res = _run(quantised, "--data", quantised / "features.npy", "--auc", "snn_deployed=1.5")
    assert isinstance(res.exception, ConfigError) and "--auc" in str(res.exception)
