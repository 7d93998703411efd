"""The accuracy-energy front of a sweep folder: cells' median AUCs beside their estimated energy, the energy
table laid out as the sweep's AUC tables, files written and read back; one cell checked by hand."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hardware_profiles import load_profile
from toolchain.cli import app
from toolchain.core.fileio import write_json
from toolchain.energy.front import estimated_workload, sweep_front
from toolchain.energy.price import price
from toolchain.train.config import read_config, validate
from toolchain.train.sweep import TrialStore, expand

SWEEP = """
seed = 0
[data]
path = "{data}"
[representation]
kind = "spectrogram"
scale = "linear"
[model]
hidden = [16]
[train]
epochs = 1
[sweep]
folds = 2
[sweep.grid]
"model.beta" = [0.8, 0.9]
"model.num_steps" = [4, 8]
"""


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    """A sweep folder as `neurodeploy sweep` leaves it: sweep.json (validated config, the trials) and one
    result row per finished trial (two cells finished, one with a failed fold, one cell pending)."""
    from toolchain.data import synthesize

    root = tmp_path_factory.mktemp("front")
    data = synthesize(root / "whales", 40, seed=2, progress=False)
    (root / "sweep.toml").write_text(SWEEP.format(data=data))
    raw, where = read_config(root / "sweep.toml")
    cfg, trials = validate(raw, where, sweep=True), expand(raw, where)
    out = root / "sweep"
    write_json(out / "sweep.json", {"config": cfg, "trials": [{"id": t.id, "params": t.params, "fold": t.fold}
                                                              for t in trials]})
    store = TrialStore(out / "trials")
    rows = {(0.8, 4): [(0.70, [0.2, 0.1]), (0.80, [0.4, 0.3])], (0.9, 8): [(0.90, [0.1, 0.05]), None],
            (0.9, 4): [(0.60, [0.3, 0.2]), (0.62, [0.3, 0.2])]}
    for t in trials:
        got = rows.get((t.params["model.beta"], t.params["model.num_steps"]))
        if got is None:
            continue  # pending
        r = got[t.fold]
        store.write({"trial_id": t.id, "params": t.params, "fold": t.fold,
                     "status": "ok" if r else "failed", "val_auc": r[0] if r else None,
                     "firing_rates": r[1] if r else None, "failure": None if r else {"reason": "silent output"}})
    return out


def test_front_of_a_sweep_by_hand(sweep_dir):
    profiles = [load_profile(p) for p in ("horowitz45nm_int8", "loihi2", "cpu")]
    front = sweep_front(sweep_dir, profiles, clips=3)
    assert front["profiles"] == ["horowitz45nm_int8", "loihi2"]  # the SNN-side ones
    cells = {(c["params"]["model.beta"], c["params"]["model.num_steps"]): c for c in front["cells"]}
    a = cells[(0.8, 4)]
    assert a["auc"] == pytest.approx(0.75) and a["rates"] == pytest.approx([0.3, 0.2]) and a["n_ok"] == 2
    assert cells[(0.9, 8)]["n_failed"] == 1 and cells[(0.9, 8)]["auc"] == pytest.approx(0.90)
    assert cells[(0.8, 8)]["rates"] is None and cells[(0.8, 8)]["n_pending"] == 2
    # the cell by hand: 14175 spectrogram inputs -> 16 -> 2, T = 4, hidden rate 0.3: layer 2 does
    # 0.3 x 16 x 2 = 9.6 ops per step; layer 1 does (nonzero 8-bit inputs) x 16 ops once
    assert a["sizes"] == [14175, 16, 2]
    w = estimated_workload(a["sizes"], 4, [0.3, 0.2], a["nonzero_inputs"])
    assert w["layers"][1]["ops"]["zeros_skipped"] == pytest.approx(9.6 * 4)
    assert w["layers"][0]["ops"]["zeros_skipped"] == pytest.approx(a["nonzero_inputs"] * 16)
    assert a["energy"]["horowitz45nm_int8"]["J"] == pytest.approx(price(w, profiles[0], "zeros_skipped")["total_J"])
    t = next(t for t in front["tables"] if t["profile"] == "horowitz45nm_int8")
    assert (t["rows_key"], t["cols_key"], t["rows"], t["cols"]) == ("model.beta", "model.num_steps", ["0.8", "0.9"], ["4", "8"])
    assert t["cells"][0][1] == "pending" and t["cells"][0][0].startswith(("1", "2", "3", "4", "5", "6", "7", "8", "9"))


def test_energy_front_command_writes_the_files(sweep_dir, tmp_path):
    res = CliRunner().invoke(app, ["energy-front", str(sweep_dir), "-p", "horowitz45nm_int8", "--clips", "2",
                                   "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    back = json.loads((tmp_path / "energy_front.json").read_text())
    assert back["cells"] and back["estimate"].startswith("estimated from the trials' recorded firing rates")
    md = (tmp_path / "energy_front.md").read_text()
    assert "| model.beta \\ model.num_steps | 4 | 8 |" in md and "ESTIMATE" in md
    assert (tmp_path / "energy_front.png").read_bytes()[:4] == b"\x89PNG"
    assert np.isfinite(back["cells"][0]["nonzero_inputs"])
