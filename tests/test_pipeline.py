"""The pipeline end to end on a tiny configuration: resume after an interrupt, tamper detection,
up-front rejection of absurd configurations, and artifacts that survive failed writes."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolchain.core.errors import ConfigError
from toolchain.pipeline.runner import prepare, run_pipeline

TINY = """
[data]
synth_clips = 120
synth_seed = 3

[runs.snn_2d]
preset = "snn-2d"
set = ["model.hidden=[24]", "model.num_steps=6", "train.epochs=2", "train.batch_size=32"]

[runs.snn_1d]
preset = "snn-1d"
set = ["model.hidden=[24]", "model.num_steps=6", "train.epochs=2", "train.batch_size=32"]

[runs.ann_mlp]
preset = "ann-mlp"
set = ["model.hidden=[24]", "train.epochs=2", "train.batch_size=32"]

[quantize]
calib = 32

[verify]
clips = 2

[energy]
profiles = ["loihi", "loihi2", "cpu"]
clips = 8

[report]
bootstrap = 50
"""

STAGES = ["data", "train_snn_2d", "train_snn_1d", "train_ann_mlp", "quantize", "export", "verify", "evaluate", "energy", "report"]


def _config(tmp_path: Path, text: str = TINY) -> Path:
    path = tmp_path / "pipe.toml"
    path.write_text(text)
    return path


def _cli(*args, **kw):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # SIGINT at its default in the child, so Python installs its Ctrl-C handler there even when this
    # test runs in a background job (a shell starts those with SIGINT ignored, and children inherit it)
    return subprocess.Popen([sys.executable, "-m", "toolchain", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kw)


@pytest.mark.lava
def test_interrupted_pipeline_resumes_to_the_same_report(tmp_path):
    cfg = _config(tmp_path)
    # an uninterrupted run, in process
    full = run_pipeline(cfg, tmp_path / "full")
    assert all(full["stages"][s]["ran"] for s in STAGES)
    assert full["stages"]["verify"]["summary"]["ok"] is True
    report = (tmp_path / "full" / "report" / "report.md").read_text()
    assert "Representation gap (the seed study's comparison): snn_2d (spectrogram) vs snn_1d (raw waveform): " in report
    assert (tmp_path / "full" / "report" / "report.html").stat().st_size > 10_000
    # the verification table and verdict say what verify.json found, layer by layer
    ver = json.loads((tmp_path / "full" / "verify" / "verify.json").read_text())
    rows = [line for line in report.splitlines() if re.match(r"\| \d+ \| \*\*(yes|NO)\*\* \|", line)]
    assert [("**yes**" in line) for line in rows] == [r["exact"] for r in ver["emulator_vs_lava"]]
    assert [line.split("|")[4].strip() for line in rows] == [str(r["spikes_emulator"]) for r in ver["emulator_vs_lava"]]
    assert [line.split("|")[5].strip() for line in rows] == [str(r["spikes_lava"]) for r in ver["emulator_vs_lava"]]
    assert all(r["exact"] for r in ver["emulator_vs_lava"]) and "Verdict: **emulator = Lava**" in report

    # the same pipeline, interrupted with SIGINT once the first training stage has landed
    out = tmp_path / "resumed"
    proc = _cli("pipeline", "--config", str(cfg), "--out", str(out))
    deadline = time.time() + 300
    while not (out / "train_snn_2d" / "manifest.json").exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    text = proc.stdout.read()
    assert proc.returncode == 130 and "interrupted: rerun the same command to resume" in text, text[-2000:]
    assert "Traceback" not in text
    assert not (out / "report").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]  # no half-written stage left behind
    done_before = {s for s in STAGES if (out / s / "manifest.json").exists()}
    assert {"data", "train_snn_2d"} <= done_before

    resumed = run_pipeline(cfg, out)
    for s in STAGES:
        assert resumed["stages"][s]["ran"] == (s not in done_before), s
    assert (out / "report" / "report.md").read_text() == report

    # tampering with a finished artifact is detected: that stage (and what reads it) runs again
    ir = out / "quantize" / "network.ndir"
    data = bytearray(ir.read_bytes())
    data[-5] ^= 0xFF
    ir.write_bytes(bytes(data))
    again = run_pipeline(cfg, out)
    assert not again["stages"]["train_snn_2d"]["ran"] and again["stages"]["quantize"]["ran"]
    assert (out / "report" / "report.md").read_text() == report

    # redoing a stage whose result does not change leaves every later stage as it was: artifacts are
    # byte-reproducible (safetensors headers, npz timestamps, no timings in stage files)
    before = {s: json.loads((out / s / "manifest.json").read_text())["artifacts"] for s in STAGES}
    forced = run_pipeline(cfg, out, force=("quantize",))
    assert [s for s in STAGES if forced["stages"][s]["ran"]] == ["quantize"]
    assert json.loads((out / "quantize" / "manifest.json").read_text())["artifacts"] == before["quantize"]


@pytest.mark.parametrize("text,message", [
    (TINY.replace("synth_clips = 120", "synth_clips = 5"), "data.synth_clips = 5 is outside"),
    (TINY.replace("calib = 32", "calib = 32\nweight_bits = 20"), "'weight_bits': 20"),
    (TINY.replace('"model.num_steps=6"', '"model.num_steps=0"'), "num_steps"),
    (TINY.replace('"model.hidden=[24]", "model', '"model.beta=1.5", "model'), "beta"),
    (TINY + "\n[deploy]\nrun = \"ann_mlp\"\n", "must be an SNN"),
    (TINY + "\n[verfy]\nclips = 3\n", "unknown section [verfy]"),
    (TINY.replace('profiles = ["loihi"', 'profiles = ["loihi3"'), "loihi3"),
])
def test_absurd_configurations_are_rejected_before_any_work(tmp_path, text, message):
    out = tmp_path / "out"
    t0 = time.time()
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        prepare(_config(tmp_path, text), out)
    assert time.time() - t0 < 30
    assert not out.exists()


def test_cli_rejects_a_bad_config_with_one_line(tmp_path):
    cfg = _config(tmp_path, TINY.replace("clips = 2", "clips = 0"))
    proc = _cli("pipeline", "--config", str(cfg), "--out", str(tmp_path / "o"))
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "verify.clips = 0 is outside 1..10000" in text and "Traceback" not in text


def test_representation_gap_is_a_paired_bootstrap_of_the_auc_difference():
    import numpy as np

    from toolchain.pipeline.metrics import auc_difference_with_ci

    rng = np.random.default_rng(0)
    labels = (np.arange(400) % 4 == 0).astype(int)
    good = labels + rng.normal(0, 0.5, 400)
    poor = labels + rng.normal(0, 3.0, 400)
    same = auc_difference_with_ci(labels, good, good, resamples=100)
    assert same["diff"] == 0.0 and same["ci"] == [0.0, 0.0]
    gap = auc_difference_with_ci(labels, good, poor, resamples=200)
    assert gap["diff"] > 0.2 and 0 < gap["ci"][0] < gap["diff"] < gap["ci"][1]
    assert auc_difference_with_ci(np.zeros(10), good[:10], poor[:10])["diff"] is None


CONV = TINY.replace("[quantize]", """[runs.snn_conv]
preset = "snn-conv"
set = ["model.channels=[2]", "model.kernel=[9]", "model.stride=[8]", "model.hidden=[8]", "model.num_steps=4",
       "train.epochs=1", "train.batch_size=32"]

[deploy]
also = ["snn_conv"]

[quantize]""")


@pytest.mark.lava
def test_pipeline_deploys_a_conv_snn_beside_the_mlp(tmp_path):
    res = run_pipeline(_config(tmp_path, CONV), tmp_path / "out")
    stages = res["stages"]
    assert {"quantize_snn_conv", "verify_snn_conv", "energy_snn_conv"} <= set(stages)
    assert stages["quantize_snn_conv"]["summary"]["input_encoding"] == "graded_once"
    ver = stages["verify_snn_conv"]["summary"]
    assert ver["ok"] is True and ver["layers_exact"] and all(ver["layers_exact"])
    assert {"snn_2d_loihi", "snn_conv_loihi"} <= set(stages["evaluate"]["summary"])
    q = json.loads((tmp_path / "out" / "quantize_snn_conv" / "quantization.json").read_text())
    assert [la["kind"] for la in q["layers"]][:1] == ["conv"]
    energy = json.loads((tmp_path / "out" / "energy_snn_conv" / "energy.json").read_text())
    conv = [la for la in energy["models"]["snn_deployed"]["layers"] if la["kind"] == "conv"]
    assert conv and conv[0]["synapses"] > conv[0]["weights"] > 0  # a shared kernel, expanded synapses
    report = (tmp_path / "out" / "report" / "report.md").read_text()
    table = report.split("## Deployed networks", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in table.splitlines() if line.startswith("| snn_conv |"))
    assert row.split("|")[3].strip().startswith("conv") and "**yes**" in row
    assert "## Deployment: snn_conv" in report and "Energy (estimate), snn_conv:" in report


def test_deploy_also_must_name_snn_runs(tmp_path):
    text = CONV.replace('also = ["snn_conv"]', 'also = ["ann_mlp"]')
    with pytest.raises(ConfigError, match="deploy.also: 'ann_mlp' is a ann_mlp run; a deployed run must be an SNN"):
        prepare(_config(tmp_path, text), tmp_path / "o")
    with pytest.raises(ConfigError, match="names a run twice"):
        prepare(_config(tmp_path, CONV.replace('also = ["snn_conv"]', 'also = ["snn_2d"]')), tmp_path / "o")
