"""Checked against silicon: `neurodeploy energy` on lava-dl's PilotNet LIF (imported with `neurodeploy import`,
one frame given with --inputs in the IR's own form) reports predicted vs measured energy, throughput and
cores (hardware_profiles/measured/pilotnet_lif_loihi2.toml), and only for that network."""

import json
from pathlib import Path

import numpy as np
import pytest
import tomli
from typer.testing import CliRunner

from hardware_profiles import ProfileError, load_profile
from toolchain.cli import app
from toolchain.core.errors import ConfigError, DataError
from toolchain.core.shared import shared_data

# ../shared/data/lava-dl beside the checkout (the first folder above this file that has it)
LAVA_DL = shared_data("lava-dl")
NET, IMAGE = LAVA_DL / "pilotnet_lif.net", LAVA_DL / "pilotnet_lif_image.npy"
MEASURED = Path(__file__).resolve().parents[1] / "hardware_profiles" / "measured" / "pilotnet_lif_loihi2.toml"


@pytest.fixture(scope="module")
def pilotnet(tmp_path_factory):
    """(Q folder, frame file, report dict, stdout) of one `neurodeploy energy` run on loihi2."""
    from export.lava_runtime import from_lava_layout

    root = tmp_path_factory.mktemp("pilotnet")
    res = CliRunner().invoke(app, ["import", str(NET), "--out", str(root / "q")])
    assert res.exit_code == 0, res.output
    frame = root / "frame.npy"
    np.save(frame, from_lava_layout(np.load(IMAGE)[None], (3, 66, 200)))
    res = CliRunner().invoke(app, ["energy", str(root / "q"), "--inputs", str(frame), "-p", "loihi2",
                                   "--out", str(root / "report")])
    assert res.exit_code == 0, res.output
    return root / "q", frame, json.loads((root / "report" / "energy.json").read_text()), res.output, root / "report"


def test_pilotnet_predicted_vs_measured(pilotnet):
    _, _, rep, out, folder = pilotnet
    measured = tomli.loads(MEASURED.read_text())["measurement"]
    (check,) = rep["silicon"]
    assert check["profile"] == "loihi2" and check["network"] == measured["network"]
    rows = {r["quantity"]: r for r in check["rows"]}
    e = rep["energy"]["zeros_skipped"]["snn_deployed"]["loihi2"]
    total = rows["energy per inference, total"]
    assert total["measured"] == pytest.approx(measured["energy_per_inference_mJ"]["total"] * 1e-3, rel=1e-12)
    assert total["predicted"] == e["total_J"]
    assert total["ratio"] == pytest.approx([p / total["measured"] for p in e["total_J"]], rel=1e-12)
    static = e["components"]["static"]["J"]
    dyn = rows["energy per inference, dynamic (total - static)"]
    assert dyn["measured"] == pytest.approx(1.093544e-3, rel=1e-12)
    assert dyn["predicted"] == pytest.approx([e["total_J"][0] - static[0], e["total_J"][1] - static[1]], rel=1e-12)
    fps = rows["throughput"]
    assert fps["measured"] == 408.91 and rep["counts"][0]["num_steps"] == measured["steps_per_sample"] == 16
    assert fps["predicted"] == pytest.approx([1 / e["latency_s"][1], 1 / e["latency_s"][0]], rel=1e-12)
    m = rep["mapping"]["loihi2"]
    assert rows["cores"]["predicted"] == [m["cores"]] * 2 and rows["cores"]["measured"] == 74
    assert [la["measured"] for la in check["layers"]] == measured["cores"]["per_layer"]
    assert [la["predicted"] for la in check["layers"]] == [la["cores"] for la in m["layers"]]
    assert sum(la["cores"] for la in m["layers"]) == m["cores"]
    # by hand: the input population 39600 / 8192 neurons per core -> 5 cores; conv1's columns are 24 x 32 = 768
    # neurons, 10 fit under the 8192 cap -> 7680 per core, ceil(99 / 10) = 10 cores; dense 2560 -> 100 with 4-bit
    # weights: lists of 64 + 36 weights = (266 -> 320) + (154 -> 192) bits x 2560 axons + 100 x 48 state bits
    # = 1,315,520 <= 192 KB: one core
    by_name = {la["name"]: la for la in m["layers"]}
    assert (by_name["input0"]["cores"], by_name["conv1"]["neurons_per_core"], by_name["conv1"]["cores"]) == (5, 7680, 10)
    assert (by_name["dense7"]["cores"], by_name["dense7"]["core_bits"]) == (1, 1_315_520)
    # routing: each layer's spikes x the mean cores of the next layer they reach x 76.8 pJ
    work = rep["models"]["snn_deployed"]["layers"]
    dest = [m["layers"][i + 1]["dest_cores"] for i in range(len(work) - 1)] + [1]
    assert e["components"]["routing"]["J"][0] == pytest.approx(
        sum(la["spikes"] * d for la, d in zip(work, dest)) * 76.8e-12, rel=1e-9)
    assert "not a calibration" in check["not_fitted"] and check["findings"]
    assert any("power.static_per_chip" in s for s in check["shared_inputs"])
    assert "Checked against silicon" in out and "Where the model is off" in out
    md = (folder / "energy.md").read_text()
    assert md.index("## Checked against silicon") < md.index("## One input, one policy")
    assert f"| cores | {m['cores']} cores | 74 cores |" in md


def test_silicon_check_is_for_that_network_only(pilotnet):
    from export.netx import read_netx
    from toolchain.energy.silicon import fingerprint, load_measurements, silicon_checks

    _, _, rep, _, _ = pilotnet
    ir = read_netx(str(NET), num_steps=16)
    (meas,) = [m for m in load_measurements() if m["name"] == "pilotnet_lif_loihi2"]
    assert fingerprint(ir) == meas["layers"]
    assert len(silicon_checks(ir, rep)) == 1
    ir.spiking[3].weight.flat[np.flatnonzero(ir.spiking[3].weight)[0]] = 0  # one weight of conv3 less
    assert fingerprint(ir) != meas["layers"] and silicon_checks(ir, rep) == []


def test_measurement_files_are_validated(tmp_path):
    from toolchain.energy.silicon import load_measurements

    text = MEASURED.read_text().replace("[measurement.cores]\ntotal = 74", "[measurement.cores_x]\ntotal = 74")
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(ProfileError, match=r"bad\.toml: measurement\.cores is missing"):
        load_measurements(tmp_path)
    assert load_profile("loihi2").anchors["anchors.pilotnet_total_per_inference"].raw == 1.661


def test_energy_inputs_are_checked(pilotnet):
    q, frame, _, _, _ = pilotnet
    res = CliRunner().invoke(app, ["energy", str(q), "--inputs", str(frame), "--data", str(frame)])
    assert isinstance(res.exception, ConfigError) and "not both" in str(res.exception)
    bad = frame.parent / "short.npy"
    np.save(bad, np.ones((1, 7), dtype=np.int32))
    res = CliRunner().invoke(app, ["energy", str(q), "--inputs", str(bad), "-p", "loihi2"])
    assert isinstance(res.exception, DataError) and "short.npy" in str(res.exception)
