"""What commands say and how they end: user text printed literally, JSON errors and strict JSON with
--json, exit statuses kept apart (0 / 1 / 2 / 3 / 130), tampered pipeline manifests re-run their
stage, byte-reproducible artifacts, and verdicts computed from the result they state."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain.pipeline.stage import Stage, execute, is_current

ROOT = Path(__file__).resolve().parents[1]


def strict_loads(text: str):
    """json.loads that refuses NaN / Infinity tokens (strict JSON)."""
    def refuse(token):
        raise ValueError(f"non-strict JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "toolchain", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_user_text_is_printed_literally_and_json_errors_go_to_stdout(tmp_path):
    cfg = tmp_path / "p.toml"
    cfg.write_text('[xyz]\nk = 1\n[runs.a]\npreset = "snn-2d"\n')
    proc = _cli("pipeline", "--config", cfg, "--out", tmp_path / "o")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "unknown section [xyz] (expected one of" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = _cli("pipeline", "--config", cfg, "--out", tmp_path / "o", "--json")
    assert proc.returncode == 2
    err = strict_loads(proc.stdout)
    assert err["kind"] == "ConfigError" and "unknown section [xyz]" in err["error"] and set(err) == {"error", "kind", "path"}


def test_strict_json_nan_and_infinity_become_null_and_are_listed(tmp_path):
    from toolchain.core.fileio import NON_FINITE_KEY, dumps_json, write_json
    from toolchain.train.run import roc_data

    metrics = {"val_auc": float("nan"), "history": [{"train_loss": 0.5}, {"train_loss": float("inf")}],
               "rates": np.array([0.1, np.nan])}
    write_json(tmp_path / "metrics.json", metrics)
    back = strict_loads((tmp_path / "metrics.json").read_text())
    assert back["val_auc"] is None and back["history"][1]["train_loss"] is None and back["rates"] == [0.1, None]
    assert back[NON_FINITE_KEY] == {"val_auc": "NaN", "history[1].train_loss": "Infinity", "rates[1]": "NaN"}
    assert "NaN" not in dumps_json([float("nan")]) and strict_loads(dumps_json([float("-inf")])) == [None]
    roc = roc_data(np.array([0, 1, 0, 1]), np.array([np.nan] * 4))  # a run whose scores are NaN
    write_json(tmp_path / "roc.json", roc)
    assert strict_loads((tmp_path / "roc.json").read_text())["auc"] is None


def test_an_internal_error_exits_3_with_a_short_summary_and_where_to_report(monkeypatch, capsys):
    import importlib
    import signal

    import toolchain.deploy

    cli_app = importlib.import_module("toolchain.cli.app")  # the module (toolchain.cli.app is the Typer app)

    def bug(q):
        return {}["no such key"]

    monkeypatch.setattr(toolchain.deploy, "load_deployment", bug)
    monkeypatch.setattr(sys, "argv", ["neurodeploy", "export", "q", "--format", "lava", "--out", "o"])
    handler = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as ex:
            cli_app.main()
    finally:
        signal.signal(signal.SIGTERM, handler)
    assert ex.value.code == 3
    err = capsys.readouterr().err
    assert "internal error: KeyError: 'no such key'" in err and "in bug" in err
    assert "please report it on the neurodeploy issue tracker" in err and "Traceback" not in err


def test_exit_statuses_are_documented_in_help_and_readme():
    from toolchain.cli.app import EXIT_STATUSES

    help_text = " ".join(_cli("--help").stdout.split())
    for phrase in ("0 success", "1 the work's own negative outcome", "2 a user error", "3 an internal error",
                   "130 interrupted"):
        assert phrase in help_text and phrase in EXIT_STATUSES
    readme = (ROOT / "README.md").read_text()
    assert "| 3 |" in readme and "| 130 |" in readme and "rerun the same command to resume" in readme


def _stage(name, text="v", inputs=()):
    def run(work, _inputs):
        (work / "result.txt").write_text(text)
        return {"n": 1}
    return Stage(name, run, inputs, {"k": 1})


@pytest.mark.parametrize("tamper", ["not json", "[]", '{"stage": "data"}', "no artifacts", "artifacts outside",
                                    "summary a list"])
def test_a_tampered_manifest_reruns_its_stage(tmp_path, tamper):
    stage = _stage("data")
    man = execute(stage, tmp_path, {})
    assert is_current(tmp_path / "data", stage, {}) == (True, "up to date")
    edited = dict(man)
    if tamper == "no artifacts":  # judged up to date before: there was nothing left to check
        del edited["artifacts"]
    elif tamper == "artifacts outside":
        edited["artifacts"] = {"../../etc/hostname": "0" * 64}
    elif tamper == "summary a list":
        edited["summary"] = [1]
    text = {"not json": "{oops", "[]": "[]", '{"stage": "data"}': '{"stage": "data"}'}.get(tamper, json.dumps(edited))
    (tmp_path / "data" / "manifest.json").write_text(text)
    current, why = is_current(tmp_path / "data", stage, {})
    assert not current and "tampered or damaged" in why
    later = _stage("train", inputs=("data",))
    with pytest.raises(Exception, match="no valid manifest"):  # a stage reading it refuses, naming it
        execute(later, tmp_path, {"data": tmp_path / "data"})
    execute(stage, tmp_path, {})  # rerunning the stage repairs it
    assert is_current(tmp_path / "data", stage, {}) == (True, "up to date")


def test_safetensors_artifacts_are_byte_reproducible_across_processes(tmp_path):
    code = ("import sys, numpy as np; from toolchain.core import tensorfile; "
            "tensorfile.save(sys.argv[1], 'neurodeploy_ir', {'b': 1, 'a': [1, 2]}, "
            "{'w': np.arange(6, dtype=np.int32).reshape(2, 3), 'b': np.ones(2, np.float32)})")
    files = []
    for i in range(4):  # safetensors orders its metadata map differently in each process
        path = tmp_path / f"f{i}.safetensors"
        subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        files.append(path.read_bytes())
    assert all(f == files[0] for f in files)
    from toolchain.core import tensorfile

    header, tensors = tensorfile.load(tmp_path / "f0.safetensors", "neurodeploy_ir", "IR file")
    assert header == {"b": 1, "a": [1, 2]} and tensors["w"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_npz_artifacts_are_byte_reproducible(tmp_path):
    import time

    from toolchain.core.fileio import write_npz

    arrays = {"scores": np.linspace(0, 1, 5), "raster": np.eye(3, dtype=bool)}
    write_npz(tmp_path / "a.npz", arrays)
    time.sleep(2.1)  # zip timestamps have a 2 s resolution
    write_npz(tmp_path / "b.npz", arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    back = np.load(tmp_path / "a.npz", allow_pickle=False)
    assert np.array_equal(back["raster"], arrays["raster"]) and np.array_equal(back["scores"], arrays["scores"])


def test_verify_without_lava_is_not_verified(tmp_path):
    from tests.float_factory import float_net
    from toolchain.quantize import QuantConfig, quantize
    from toolchain.verify import verify

    rng = np.random.default_rng(0)
    net = float_net(rng, sizes=(6, 5, 2), num_steps=4)
    ir, _ = quantize(net, rng.random((8, 6)), QuantConfig())
    report = verify(ir, net, rng.random((3, 6)), lava=False)
    assert report["ok"] is None and report["verdict"].startswith("not verified") and "emulator_vs_lava" not in report


def test_verdicts_in_reports_are_computed_from_the_results():
    from toolchain.pipeline.report import verification_phrase
    from toolchain.quantize.report import render_markdown, state_sentence

    rows = [{"layer": 0, "exact": True}, {"layer": 1, "exact": False}]
    assert verification_phrase({"ok": True, "emulator_vs_lava": rows[:1]}) == "emulator = Lava"
    assert verification_phrase({"ok": False, "emulator_vs_lava": rows}) == "emulator != Lava in layer(s) 1"
    assert verification_phrase({"ok": None}) == "not verified on Lava"
    layer = {"layer": 0, "weight_bits": 8, "weight_exp": 0, "scale": 1.0, "weight_clipped_fraction": 0.0,
             "beta": 0.9, "beta_quantised": 0.9, "threshold": 1.0, "vth": 64}
    report = {"input_encoding": "graded_once", "input_bits": 8, "config": {}, "layers": [layer, dict(layer, layer=1)],
              "evaluation": {"clips": 12, "decision_agreement": 1.0, "firing_rate_float": [0.1, 0.1],
                             "firing_rate_quantised": [0.1, 0.1],
                             "ranges": [{"u_absmax": 9e6, "v_absmax": 10.0, "u_wraps": 5, "v_saturations": 0},
                                        {"u_absmax": 10.0, "v_absmax": 10.0, "u_wraps": 0, "v_saturations": 2}]}}
    md = render_markdown(report)
    assert "**5 u wrap(s) on these 12 evaluation clips** (layer(s) 0)" in md and "2 v saturation(s)" in md
    for r in report["evaluation"]["ranges"]:
        r.update(u_wraps=0, v_saturations=0)
    assert state_sentence(report) == "No u wraps on these 12 evaluation clips. No v saturations."
    assert "not measured" in state_sentence({"layers": []})


def _commands(group, path=()):
    import click

    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, path + (name,))
        else:
            yield path + (name,), cmd


def test_help_prints_bracketed_text_as_written():
    """Shapes such as "[clips, steps, ...]" in an option's help were once read as markup tags and
    dropped from --help; every bracketed phrase of every command's help must be printed."""
    import re

    import typer
    from typer.testing import CliRunner

    from toolchain.cli.app import app

    root = typer.main.get_command(app)
    checked = 0
    for path, cmd in _commands(root):
        texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        phrases = [m for t in texts for m in re.findall(r"\[[A-Za-z#/@][^\[\]]*\]", t)]
        if not phrases:
            continue
        out = CliRunner().invoke(app, [*path, "--help"], terminal_width=400)
        assert out.exit_code == 0, out.output
        shown = " ".join(out.output.split())
        for phrase in phrases:
            assert " ".join(phrase.split()) in shown, (path, phrase)
            checked += 1
    assert checked >= 2  # at least simulate's --inputs and data synth's [synth] table
