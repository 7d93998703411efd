"""`neurodeploy reproduce`: the study's plans, the published tables, the computed verdict, and a
real interrupted + resumed run on Ray Tune that repeats no finished trial."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_sweep import SWEEP_TOML, interrupt_after_first_row
from toolchain.core.errors import ConfigError
from toolchain.train.config import read_config, validate
from toolchain.train.reproduce import get_study, load_published, plan
from toolchain.train.reproduce_report import compare, verdict
from toolchain.train.sweep import expand, seed_tables

ROOT = Path(__file__).resolve().parents[1]

# test_sweep's tiny sweep, with the seed study's representation axis and a 1D-only setting
TINY = SWEEP_TOML.replace("folds = 3", "folds = 2").replace(
    '"model.beta" = [0.8, "learnable"]\n"model.num_steps" = [4, 8]',
    '"representation.kind" = ["waveform", "spectrogram"]\n"model.beta" = [0.9]\n"model.num_steps" = [1, 4]\n'
    '[sweep.when."representation.kind=waveform"]\n"model.zero_sum_input" = true')
assert "representation.kind" in TINY and "folds = 2" in TINY


def _tiny(tmp_path, epochs=2):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(data="/data", epochs=epochs))
    return path


def test_full_and_quick_plans_keep_the_seed_grid_shape():
    study = get_study("caid2025")
    full = expand(*plan(study, "/data"))
    assert len(full) == 2 * 5 * 6 * 5
    cfg = validate(*plan(study, "/data"), sweep=True)
    assert cfg["model"]["hidden"] == "seed" and cfg["data"]["subset"] == 0
    quick_raw, where = plan(study, "/data", quick=True)
    quick = expand(quick_raw, where)
    grid = validate(quick_raw, where, sweep=True)["sweep"]["grid"]
    assert set(grid["representation.kind"]) == {"waveform", "spectrogram"}
    assert "learnable" in grid["model.beta"] and len(grid["model.beta"]) >= 3 and 1 in grid["model.num_steps"]
    assert {t.folds for t in quick} == {3} and len(quick) == 2 * 3 * 3 * 3
    one_d = [t for t in quick if t.params["representation.kind"] == "waveform"]
    two_d = [t for t in quick if t.params["representation.kind"] == "spectrogram"]
    assert all(t.config["model"]["zero_sum_input"] for t in one_d)
    assert not any(t.config["model"]["zero_sum_input"] for t in two_d)
    assert {t.config["data"]["subset"] for t in quick} == {3000}
    with pytest.raises(ConfigError, match="no study"):
        get_study("caid2024")


def test_published_tables_are_the_talks_numbers():
    pub = load_published(get_study("caid2025"))
    assert "CAID 2025" in pub["source"]
    assert pub["tables"]["waveform"]["values"][0][4] == 0.759
    assert pub["tables"]["spectrogram"]["values"][4][0] == 0.500
    assert pub["failures"] == [{"representation": "waveform", "model.beta": 0.7, "model.num_steps": 40, "fold": 3}]


def test_sweep_when_rejects_a_condition_on_a_value_the_grid_lacks(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(TINY.format(data="/data", epochs=1).replace("kind=waveform", "kind=mel"))
    with pytest.raises(ConfigError, match="sweep.when"):
        validate(*read_config(path), sweep=True)


def _row(trial, auc=None, failed=False):
    failure = {"kind": "chance_auc", "epoch": 1, "reason": "validation AUC stayed at 0.5"} if failed else None
    return {"trial_id": trial.id, "params": trial.params, "fold": trial.fold,
            "status": "failed" if failed else "ok", "val_auc": 0.5 if failed else auc,
            "failure": failure, "seconds": 1.0, "history": []}


def _verdict(tmp_path, auc_of):
    raw, where = read_config(_tiny(tmp_path))
    cfg = validate(raw, where, sweep=True)
    trials = expand(raw, where)
    rows = {}
    for t in trials:
        auc = auc_of(t.params["representation.kind"], t.params["model.num_steps"], t.fold)
        rows[t.id] = _row(t, failed=True) if auc is None else _row(t, auc=auc)
    pub = load_published(get_study("caid2025"))
    return compare(get_study("caid2025"), cfg, pub, seed_tables(cfg, trials, rows), trials, rows), pub


def test_verdict_is_computed_from_the_cells(tmp_path):
    # 2D at 4 steps 0.9, 2D at 1 step 0.6, 1D 0.7; one 1D fold failing at 4 steps
    def seedlike(rep, steps, fold):
        if rep == "spectrogram":
            return 0.9 if steps == 4 else 0.6
        return None if (steps == 4 and fold == 1) else 0.7

    result, _ = _verdict(tmp_path, seedlike)
    found = {v["finding"]: v for v in result["verdict"]}
    # the tiny grid has no num_steps >= 10 cells: no verdict on the first two findings
    assert found["representation matters (2D > 1D at num_steps >= 10)"]["status"] == "no verdict"
    assert found["intermittent 1D learning failures"]["status"] == "holds"
    assert "1 of 4 1D trials failed" in found["intermittent 1D learning failures"]["evidence"]
    (one_d,) = [t for t in result["tables"] if t["representation"] == "waveform"]
    assert one_d["cells"][0][1]["text"] == "0.700 (1 failed)"
    # the same rows with num_steps relabelled 1 -> 1 and 4 -> 10 (as the seed grid): verdicts decided
    for t in result["tables"]:
        t["cols"] = ["1", "10"]
    found = {v["finding"]: v for v in verdict(result, load_published(get_study("caid2025")))}
    rep = found["representation matters (2D > 1D at num_steps >= 10)"]
    assert rep["status"] == "holds" and "median gap +0.200" in rep["evidence"]
    collapse = found["2D collapses at num_steps = 1"]
    assert collapse["status"] == "holds" and "0.600 vs 0.900" in collapse["evidence"]


def test_verdict_says_when_a_finding_does_not_hold(tmp_path):
    result, pub = _verdict(tmp_path, lambda rep, steps, fold: 0.8)
    for t in result["tables"]:
        t["cols"] = ["1", "10"]
    found = {v["finding"]: v["status"] for v in verdict(result, pub)}
    assert found == {"representation matters (2D > 1D at num_steps >= 10)": "does not hold",
                     "2D collapses at num_steps = 1": "does not hold",
                     "intermittent 1D learning failures": "does not hold"}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from toolchain.data import synthesize

    return synthesize(tmp_path_factory.mktemp("whales") / "synth", 40, seed=1, progress=False)


def _rows(out):
    return {p.name: p.read_bytes() for p in (out / "sweep" / "trials").glob("[!.]*.json")}


def test_interrupted_reproduce_resumes_without_repeating_finished_trials(tiny_data, tmp_path):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "toolchain", "reproduce", "caid2025", "--data", str(tiny_data),
            "--config", str(_tiny(tmp_path, epochs=15)), "--out", str(out), "--no-progress"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "log.txt"
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    interrupt_after_first_row(proc, lambda: _rows(out), log, 120)
    first = _rows(out)
    assert 1 <= len(first) < 8 and not (out / "reproduce.md").exists()
    done = subprocess.run(args + ["--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    final = _rows(out)
    assert len(final) == 8
    assert all(final[name] == data for name, data in first.items()), "a finished trial was rerun"
    assert result["run"]["finished_before"] == len(first) and result["run"]["ran_now"] == 8 - len(first)
    md = (out / "reproduce.md").read_text()
    assert "## Verdict" in md and "Published (same cells)" in md and "pending" not in md
    assert (out / "curves_waveform.png").stat().st_size > 0 and (out / "curves_spectrogram.png").stat().st_size > 0
    assert {t["representation"] for t in result["tables"]} == {"waveform", "spectrogram"}
