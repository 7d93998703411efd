"""Nothing of the user's is deleted or replaced, and output paths and sizes are checked before any
work: the pipeline's output folder vs the data folder, a user's folders and stale-looking folders
in it, train/quantize --out over a user's files, run names that are paths, outputs inside a file, a
read-only folder, a full disk, and sizes beyond the machine (num_steps = 10**9)."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.test_pipeline import TINY
from toolchain.core.errors import ConfigError, OutputError
from toolchain.pipeline.runner import prepare
from toolchain.pipeline.stage import STAGE_MARKER, Stage, clean_stale, execute

ROOT = Path(__file__).resolve().parents[1]
RUN_TOML = """
name = "{name}"
[data]
path = "{data}"
[model]
hidden = [8]
num_steps = {steps}
"""


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "toolchain", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _kaggle(root: Path) -> Path:
    """A user's data folder in the Kaggle layout (the pipeline never reads it in these tests)."""
    (root / "data" / "train").mkdir(parents=True)
    (root / "data" / "train.csv").write_text("clip_name,label\ntrain1.aiff,1\n")
    (root / "data" / "train" / "train1.aiff").write_bytes(b"FORM")
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _pipe(tmp_path: Path) -> Path:
    cfg = tmp_path / "pipe.toml"
    cfg.write_text(TINY)
    return cfg


@pytest.mark.parametrize("where", ["same", "inside", "contains"])
def test_pipeline_refuses_an_output_folder_overlapping_the_data(tmp_path, where):
    data = _kaggle(tmp_path / "K")
    before = _tree(data)
    out = {"same": data, "inside": data / "runs", "contains": tmp_path}[where]
    with pytest.raises(OutputError, match="the data set") as err:
        prepare(None, out, data=str(data))
    assert err.value.path == str(out)
    assert _tree(data) == before and not (data / "runs").exists()


def test_cli_pipeline_with_out_equal_to_data_keeps_the_data(tmp_path):
    data = _kaggle(tmp_path / "K")
    before = _tree(data)
    proc = _cli("pipeline", "--data", data, "--out", data, "--json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    err = json.loads(proc.stdout)
    assert err["kind"] == "OutputError" and err["path"] == str(data) and "is the data set" in err["error"]
    assert _tree(data) == before


def test_pipeline_never_deletes_a_users_folders_in_out(tmp_path):
    out = tmp_path / "out"
    for name in ("report", "export", "data", ".tmp-notes", ".old-backup"):
        (out / name).mkdir(parents=True)
        (out / name / "mine.txt").write_text(name)
    before = _tree(out)
    with pytest.raises(OutputError, match=r"out/data exists and was not written by neurodeploy pipeline"):
        prepare(_pipe(tmp_path), out)
    assert clean_stale(out) == []  # a .tmp-/.old- folder without the pipeline's marker is not stale
    (out / ".tmp-report-0123abcd").mkdir()
    (out / ".tmp-report-0123abcd" / STAGE_MARKER).write_text("")
    assert clean_stale(out) == [out / ".tmp-report-0123abcd"]  # one the pipeline left behind is
    with pytest.raises(OutputError, match="report exists and was not written"):
        execute(Stage("report", lambda work, inputs: {"n": 1}), out, {})
    assert _tree(out) == before


def test_a_stage_replaces_only_its_own_folder(tmp_path):
    def run(work, inputs):
        (work / "result.txt").write_text("v")
        return {"n": 1}

    execute(Stage("s", run), tmp_path, {})
    (tmp_path / "s" / "manifest.json").write_text("{ tampered")  # still ours: the marker is there
    execute(Stage("s", run), tmp_path, {})
    assert (tmp_path / "s" / "result.txt").read_text() == "v"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_train_and_quantize_refuse_to_overwrite_a_users_files_before_any_work(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(RUN_TOML.format(name="r", data=tmp_path / "no-data-needed", steps=4))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"my": "notes"}')
    (mine / "network.ndir").write_text("my file")
    t0 = time.time()
    proc = _cli("train", "--config", cfg, "--out", mine)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "holds config.json, not written by neurodeploy" in proc.stderr and "--force" in proc.stderr
    proc = _cli("quantize", tmp_path / "no-run", "--out", mine, "--json")
    assert proc.returncode == 2 and json.loads(proc.stdout)["path"] == str(mine / "network.ndir")
    assert (mine / "config.json").read_text() == '{"my": "notes"}' and (mine / "network.ndir").read_text() == "my file"
    # an output inside a file: refused before training starts (the data set is never even opened)
    afile = tmp_path / "afile"
    afile.write_text("x")
    proc = _cli("train", "--config", cfg, "--out", afile / "run")
    assert proc.returncode == 2 and f"{afile} is a file, not a folder" in proc.stderr
    assert time.time() - t0 < 120 and afile.read_text() == "x"


def test_force_replaces_and_own_folders_are_reused(tmp_path):
    from toolchain.train.checkpoint import RUN_MARKER, claim_run_folder

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "metrics.json").write_text("{}")
    with pytest.raises(OutputError, match="metrics.json"):
        claim_run_folder(folder)
    assert claim_run_folder(folder, force=True) == folder and (folder / RUN_MARKER).is_file()
    claim_run_folder(folder)  # now it is neurodeploy's own: a rerun may replace its files
    other = tmp_path / "notes"
    other.mkdir()
    (other / "README").write_text("unrelated files do not block a run folder")
    claim_run_folder(other)


@pytest.mark.parametrize("name", ["../../x", "/abs/x", "..", ".hidden", "a/b"])
def test_a_run_name_that_is_a_path_is_refused(tmp_path, name):
    from toolchain.train.config import load_config

    cfg = tmp_path / "run.toml"
    cfg.write_text(RUN_TOML.format(name=name, data=tmp_path, steps=4))
    with pytest.raises(ConfigError, match="name = .* must be a plain folder name"):
        load_config(cfg)
    with pytest.raises(ConfigError, match="a run name must be a plain folder name"):
        prepare(_write(tmp_path, TINY.replace("[runs.ann_mlp]", f'[runs."{name}"]')), tmp_path / "o")


def _write(folder: Path, text: str) -> Path:
    (folder / "p2.toml").write_text(text)
    return folder / "p2.toml"


def test_read_only_folder_and_full_disk_are_refused_before_the_work(tmp_path, monkeypatch):
    from toolchain.core import outputs

    real_access = os.access
    monkeypatch.setattr(outputs.os, "access", lambda p, mode: False if Path(p) == tmp_path else real_access(p, mode))
    with pytest.raises(OutputError, match=f"the folder {tmp_path} is not writable"):
        outputs.check_writable(tmp_path / "run")
    monkeypatch.setattr(outputs.os, "access", real_access)
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(100 << 30, 100 << 30, 5 << 20))
    with pytest.raises(OutputError, match=r"need ~\d+ MiB and the file system of .* has 5 MiB free"):
        prepare(_pipe(tmp_path), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_sizes_beyond_the_machine_are_refused_naming_the_key(tmp_path):
    from toolchain.train.config import load_config

    cfg = tmp_path / "run.toml"
    cfg.write_text(RUN_TOML.format(name="r", data=tmp_path, steps=10 ** 9))
    with pytest.raises(ConfigError, match=r"needs ~.* GiB of memory, this machine has .* GiB \(check model.num_steps"):
        load_config(cfg)
    cfg.write_text(RUN_TOML.format(name="r", data=tmp_path, steps=4).replace("[8]", "[100000000]"))
    with pytest.raises(ConfigError, match="this machine has"):
        load_config(cfg)
    load_config(cfg, overrides=["model.hidden=[4096, 512, 64]", "model.num_steps=50"])  # the seed's size fits
    with pytest.raises(ConfigError, match="num_steps"):
        prepare(_write(tmp_path, TINY.replace('"model.num_steps=6"', '"model.num_steps=1000000000"')), tmp_path / "o")


def test_an_ir_or_nir_with_absurd_num_steps_is_refused_not_run(tmp_path):
    from export.nir_export import write_nir
    from tests.float_factory import float_net
    from toolchain.emulator import Emulator
    from toolchain.quantize import QuantConfig, quantize

    rng = np.random.default_rng(0)
    net = float_net(rng, sizes=(6, 5, 2), num_steps=4)
    ir, _ = quantize(net, rng.random((8, 6)), QuantConfig())
    ir.num_steps = 10 ** 9
    t0 = time.time()
    with pytest.raises(ConfigError, match="this machine has"):
        Emulator(ir).simulate(rng.random((4, 6)))
    write_nir(net, tmp_path / "n.nir")
    np.save(tmp_path / "x.npy", rng.random((8, 6)))
    proc = _cli("quantize", "--nir", tmp_path / "n.nir", "--num-steps", 10 ** 9, "--calib-npy", tmp_path / "x.npy",
                "--out", tmp_path / "q")
    assert proc.returncode == 2 and "--num-steps" in proc.stderr and "this machine has" in proc.stderr, proc.stderr
    assert time.time() - t0 < 120


def test_calibration_features_with_nan_or_out_of_range_values_are_refused(tmp_path):
    from toolchain.core.errors import DataError
    from toolchain.deploy.features import load_npy_features

    x = np.random.default_rng(0).random((10, 6))
    good = tmp_path / "good.npy"
    np.save(good, x)
    assert np.array_equal(load_npy_features(str(good), 6), x)
    for value, index, what in ((np.nan, (3, 2), "not a finite number"), (1.5, (7, 0), "outside"), (-0.1, (0, 5), "outside")):
        bad = x.copy()
        bad[index] = value
        np.save(tmp_path / "bad.npy", bad)
        with pytest.raises(DataError, match=rf"bad.npy: the value at index \[{index[0]}, {index[1]}\] .*{what}"):
            load_npy_features(str(tmp_path / "bad.npy"), 6)


def test_count_options_are_validated(tmp_path):
    for args, flag in ((("simulate", "q", "--data", "d", "--clips", "-3"), "--clips"),
                       (("verify", "q", "--data", "d", "--clips", "0"), "--clips"),
                       (("quantize", "r", "--out", tmp_path / "o", "--calib", "0"), "--calib"),
                       (("quantize", "r", "--out", tmp_path / "o", "--qat-epochs", "-1"), "--qat-epochs")):
        proc = _cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert f"Invalid value for '{flag}'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_a_pipeline_run_cannot_set_its_own_data_path(tmp_path):
    text = TINY.replace('"train.epochs=2", "train.batch_size=32"]\n\n[runs.ann_mlp]',
                        '"train.epochs=2", "train.batch_size=32", "data.path=/elsewhere"]\n\n[runs.ann_mlp]')
    assert text != TINY
    with pytest.raises(ConfigError, match=r"runs\.snn_\w+\.set = 'data.path=/elsewhere': every run of a pipeline trains on the one data set"):
        prepare(_write(tmp_path, text), tmp_path / "o")



def test_every_output_option_is_checked_before_the_work(tmp_path):
    """An output path inside a file is refused up front (exit 2, naming it), by the commands that once
    ran a benchmark or a network first and then failed with an internal error on the write."""
    from toolchain.core.shared import shared_data

    afile = tmp_path / "afile"
    afile.write_text("x")
    net = shared_data("lava-dl") / "pilotnet_lif.net"
    q = tmp_path / "q"
    assert _cli("import", net, "--out", q).returncode == 0
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 66, 200), dtype=np.int32))
    cases = {
        "simulate --save-spikes": ("simulate", q, "--inputs", tmp_path / "x.npy", "--save-spikes", afile / "s.npz"),
        "export --out": ("export", q, "--format", "netx", "--out", afile / "x.net"),
        "import --out": ("import", net, "--out", afile / "q"),
        "bench simulate --out": ("bench", "simulate", "--out", afile / "r.json"),
        "bench detect --out": ("bench", "detect", "--out", afile / "r.json"),
        "bench data --out": ("bench", "data", "--out", afile / "b"),
        "detect-compare --out": ("detect-compare", tmp_path, tmp_path, "--out", afile / "c.json"),
    }
    for what, args in cases.items():
        t0 = time.time()
        proc = _cli(*args)
        assert proc.returncode == 2 and f"{afile} is a file, not a folder" in proc.stderr, (what, proc.stderr)
        assert "Traceback" not in proc.stderr and time.time() - t0 < 60, what
    assert afile.read_text() == "x"
    # a user's files in --out are not replaced by an import either
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "quantization.json").write_text("my notes")
    proc = _cli("import", net, "--out", mine)
    assert proc.returncode == 2 and "holds quantization.json, not written by neurodeploy" in proc.stderr
    assert (mine / "quantization.json").read_text() == "my notes" and not (mine / "network.ndir").exists()


def test_a_write_the_file_system_refuses_is_an_output_error_and_keeps_the_old_file(tmp_path):
    from toolchain.core.fileio import write_bytes

    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OutputError, match=f"cannot write {afile}/y: {afile} is a file, not a folder"):
        write_bytes(afile / "y", b"new")
    folder = tmp_path / "folder"
    (folder / "inner").mkdir(parents=True)
    with pytest.raises(OutputError, match=f"cannot write {folder}: .*nothing there was replaced"):
        write_bytes(folder, b"new")  # a folder where the file would go: os.replace refuses
    assert (folder / "inner").is_dir() and afile.read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "folder"]  # no temporary left behind
