"""`neurodeploy energy` end to end on a small IR: report files, the layer-1 line, chips, estimates, errors."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from export.onnx_export import export_onnx
from hardware_profiles import ProfileError
from toolchain.cli import app
from toolchain.core.errors import ConfigError, DataError
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
    res = _run(quantised, "--data", quantised / "features.npy", "--clips", 4, "--ann", quantised / "ann.onnx",
               "-p", "loihi", "-p", "loihi2", "-p", "horowitz45nm_int8", "-p", "cpu", "--out", out, "--json")
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["label"].startswith("ESTIMATE")
    assert {p.name for p in out.iterdir()} == {"energy.json", "energy.md", "energy.png"}
    assert (out / "energy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    counts = rep["counts"][0]
    assert counts["backend"] == "emulator" and counts["clips"] == 4 and counts["layers"][0]["op_kind"] == "graded"
    assert set(rep["snn_energy"]) == {"loihi", "loihi2", "horowitz45nm_int8"}
    assert set(rep["ann_energy"]) == {"horowitz45nm_int8", "cpu"}
    assert len(rep["breakeven"]) == 6
    assert rep["ann"]["dense_macs"] == N_IN * 16 + 16 * 2 and rep["ann"]["effective_macs"] is not None
    assert rep["mapping"]["loihi"]["chips"] == 1 and "input encoding" in rep["mapping"]["loihi"]["failed"]
    for e in rep["snn_energy"].values():
        lo, hi = e["total_J"]
        assert 0 < lo <= hi and e["sources"]
    md = (out / "energy.md").read_text()
    assert "| 1 (input: graded_once, once per classification) |" in md
    assert "ESTIMATE" in md and "Davies et al." in md and "Horowitz" in md


def test_energy_needs_data_and_known_profiles(quantised):
    res = _run(quantised, "-p", "loihi")
    assert isinstance(res.exception, ConfigError) and "--data" in str(res.exception)
    res = _run(quantised, "--data", quantised / "features.npy", "-p", "loihi9")
    assert isinstance(res.exception, ProfileError) and "loihi9" in str(res.exception)
    np.save(quantised / "wrong.npy", np.zeros((2, 7)))
    res = _run(quantised, "--data", quantised / "wrong.npy")
    assert isinstance(res.exception, DataError) and "7 values per clip" in str(res.exception)


def test_report_shows_float_counts_beside_the_deployed_ones(tmp_path):
    """Quantisation's effect on activity: a second count set (the float model's) is reported, not priced."""
    from hardware_profiles import load_profile
    from toolchain.core.result import SimResult
    from toolchain.counts import ann_macs_from_sizes, count_classification, topology_from_weights
    from toolchain.energy import build_report, write_report

    topo = topology_from_weights([np.ones((2, 3)), np.ones((1, 2))], "graded_every_step", 2)
    spikes = [np.ones((1, 2, 2), bool), np.zeros((1, 2, 1), bool)]
    emu = count_classification(topo, SimResult("emulator", np.ones((1, 3)), spikes))
    flt = count_classification(topo, SimResult("float", np.ones((1, 3)), [spikes[0] & False, spikes[1]]))
    rep = build_report({"name": "t"}, topo.shape(), emu, ann_macs_from_sizes(topo.sizes),
                       [load_profile("loihi2"), load_profile("gpu")], compare_counts=[flt])
    assert [c["backend"] for c in rep["counts"]] == ["emulator", "float"]
    md = write_report(rep, tmp_path)["markdown"].read_text()
    assert "Counts per classification (emulator" in md and "Counts per classification (float" in md
