"""Training conv and recurrent SNNs: config keys validated naming the key, the presets, the loop, and
`neurodeploy train --preset snn-conv / snn-rec` writing a run that load_run rebuilds and that
deployment quantises (snn-conv: verified on Lava; snn-rec's streaming input: refused, clearly)."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from models import SNNConv, SNNRec
from tests.test_train_helpers import blobs, config, split
from toolchain.cli import app
from toolchain.core.errors import ConfigError
from toolchain.train import load_run
from toolchain.train.config import load_config
from toolchain.train.loop import train_model

BASE = '[data]\npath = "whales"\n'


@pytest.mark.parametrize("text, message", [
    ('[model]\nkind = "snn_conv"\n', "model.hidden = 'seed' names the seed study's MLP sizes; model.kind = "
                                     "'snn_conv' needs a list of sizes"),
    ('[model]\nkind = "snn_rec"\n', "model.kind = 'snn_rec' needs a list of sizes"),
    ('[model]\nkind = "snn_conv"\nhidden = [8]\nchannels = [8, 16]\nstride = [2, 2, 2]\n',
     "model.stride = [2, 2, 2] has 3 values but model.channels = [8, 16] has 2 conv layers"),
    ('[model]\nkind = "snn_conv"\nhidden = [8]\npadding = -1\n', "model.padding = -1 must be >= 0"),
    ('[model]\nkind = "snn_conv"\nhidden = [8]\nstride = [2, 0]\n', "model.stride = [2, 0] has an entry that must be >= 1"),
    ('[model]\nkind = "cnn"\nkernel = 4\n', "model.kernel = 4 must be one odd integer for model.kind = 'cnn'"),
    ('[representation]\nkind = "waveform"\n[model]\nkind = "snn_rec"\nhidden = [8]\nencoding = "frames"\n',
     "model.encoding = 'frames' feeds one row of a 2-D input per step"),
])
def test_invalid_conv_and_rec_configs_name_the_key(tmp_path, text, message):
    path = tmp_path / "run.toml"
    path.write_text(BASE + text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value) and "run.toml" in str(err.value)


def test_model_that_does_not_fit_the_data_is_refused_naming_the_keys():
    x, y = blobs()  # features [160, 8, 10]
    with pytest.raises(ConfigError, match=r"model.num_steps = 25 but model.encoding = 'frames' .* set model.num_steps = 8"):
        config(x, y, model={"kind": "snn_rec", "encoding": "frames", "num_steps": 25})
    with pytest.raises(ConfigError, match=r"model.channels / kernel / stride / padding do not fit .*conv layer 2"):
        config(x, y, model={"kind": "snn_conv", "channels": [4, 4], "kernel": [3, 5], "stride": 2})
    sizes = config(x, y, model={"kind": "snn_rec", "encoding": "frames", "num_steps": 8})["resolved"]["sizes"]
    assert sizes == [10, 24, 2]  # one frame (a row of 10) per step


@pytest.mark.parametrize("preset, kind", [("snn-conv", "snn_conv"), ("snn-rec", "snn_rec")])
def test_presets_validate(preset, kind):
    cfg = load_config(preset=preset, data="somewhere")
    assert cfg["model"]["kind"] == kind and cfg["model"]["bias"] is False and cfg["model"]["reset"] == "zero"


@pytest.mark.parametrize("model", [
    {"kind": "snn_conv", "channels": [4], "kernel": 3, "stride": 1, "hidden": [16]},
    {"kind": "snn_rec", "hidden": [24], "encoding": "frames", "num_steps": 10},
], ids=["snn_conv", "snn_rec-frames"])
def test_conv_and_recurrent_snns_learn(model):
    x, y = blobs()
    if model["kind"] == "snn_rec":  # frames: 10 steps of 8 bins, positives brighter in bins 2-3 throughout
        x = np.ascontiguousarray(x.transpose(0, 2, 1))
    cfg = config(x, y, model=model, train={"epochs": 3})
    tr, va = split(y)
    out = train_model(cfg, x, y, tr, va)
    assert out.model.kind == model["kind"] and out.fit.failure is None
    assert out.fit.best_eval.auc > 0.9
    assert all(0 < r < 1 for r in out.fit.history[-1]["firing_rates"])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from toolchain.data import synthesize

    return synthesize(tmp_path_factory.mktemp("whales") / "synth", 48, seed=3, progress=False)


def _train(data, out, preset, *sets):
    args = ["train", "--preset", preset, "--data", str(data), "--out", str(out), "--json",
            "--set", "train.epochs=1", "--set", "data.val_fraction=0.25", *[a for s in sets for a in ("--set", s)]]
    res = CliRunner().invoke(app, args)
    assert res.exit_code in (0, 1), res.output  # 1: a learning failure after one epoch is allowed
    return json.loads(res.output)


@pytest.mark.lava
def test_snn_conv_preset_trains_reloads_quantises_and_verifies_on_lava(tmp_path, data):
    from toolchain.quantize.from_run import quantize_run

    result = _train(data, tmp_path / "run", "snn-conv", "model.channels=[4, 4]", "model.hidden=[16]",
                    "model.num_steps=5")
    assert result["kind"] == "snn_conv"
    run = load_run(tmp_path / "run")
    assert isinstance(run.model, SNNConv) and run.model.conv_out_shape == (4, 15, 20)
    inputs = run.load_inputs()
    with torch.no_grad():
        counts = run.model(torch.from_numpy(inputs.features[run.val_indices]))
    from toolchain.core.metrics import auc, class_score

    assert auc(inputs.labels[run.val_indices], class_score(counts).numpy()) == pytest.approx(result["val_auc"])
    dep = quantize_run(tmp_path / "run", calib_clips=24, progress=False)
    assert dep.ir.kinds == ["conv", "conv", "flatten", "dense", "dense"]
    report = dep.verify(inputs.features[run.val_indices[:2]].reshape(2, -1), backends=("lava",))
    assert report["ok"] is True, report["backends"]


def test_snn_rec_preset_trains_reloads_and_quantises_but_its_per_clip_frames_cannot_stream(tmp_path, data):
    from toolchain.detect import detector_for
    from toolchain.quantize.from_run import quantize_run

    result = _train(data, tmp_path / "run", "snn-rec", "model.hidden=[16]", "train.batch_size=36")
    assert result["kind"] == "snn_rec"
    run = load_run(tmp_path / "run")
    assert isinstance(run.model, SNNRec) and run.input_shape == (135, 105) and run.model.num_steps == 135
    assert run.representation["kind"] == "spectrogram_frames"
    net = run.model.to_float_network()
    assert [layer.kind for layer in net.layers] == ["dense_rec", "dense"] and net.layers[0].n_in == 105
    dep = quantize_run(tmp_path / "run", progress=False)
    assert dep.ir.input.encoding == "frames" and dep.ir.input.n_in == 105 and dep.ir.num_steps == 135
    # the preset normalises each clip on its own: frames of a long recording would not be those
    with pytest.raises(ConfigError, match="normalise='per_clip' depends on the whole clip"):
        detector_for(dep.ir)
    assert np.isfinite(result["val_auc"])
