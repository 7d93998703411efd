"""Run folders: safetensors + config + manifest; load_run refuses truncated or modified files."""

import json

import numpy as np
import pytest
import torch

from tests.test_train_helpers import blobs, config, split
from toolchain.core.errors import ArtifactError
from toolchain.train import load_run
from toolchain.train.checkpoint import save_run
from toolchain.train.loop import summary, train_model
from toolchain.train.run import roc_data


def _write_run(folder, **tables):
    x, y = blobs()
    cfg = config(x, y, **tables)
    tr, va = split(y)
    out = train_model(cfg, x, y, tr, va)
    metrics = {"name": "t", "kind": out.model.kind, **summary(out), "history": out.fit.history}
    save_run(folder, cfg, out.model, {"train_indices": tr.tolist(), "val_indices": va.tolist()},
             metrics, roc_data(y[va], out.fit.best_eval.scores))
    return out.model, cfg, x, va


@pytest.fixture(scope="module")
def snn_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "snn"
    model, cfg, x, va = _write_run(folder, model={"beta": "learnable"}, train={"epochs": 2})
    return folder, model, cfg, x, va


def test_load_run_gives_back_the_trained_model(snn_run):
    folder, model, cfg, x, va = snn_run
    run = load_run(folder)
    assert run.kind == "snn" and run.model.training is False
    assert np.array_equal(run.val_indices, va)
    assert run.config["model"] == cfg["model"] and run.config["resolved"]["sizes"] == [80, 24, 2]
    assert run.input_shape == (8, 10)
    with torch.no_grad():
        assert torch.equal(run.model(torch.from_numpy(x[:20])), model(torch.from_numpy(x[:20])))
    net = run.model.to_float_network()
    assert [round(layer.beta, 6) for layer in net.layers] == \
        [round(b, 6) for b in torch.sigmoid(model.beta_logit.detach()).tolist()]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert run.metrics["weights_sha256"] == manifest["files"]["model.safetensors"]["sha256"]
    for name in ("metrics.json", "roc.json", "training_curve.png", "split.json", "config.json"):
        assert (folder / name).stat().st_size > 0


@pytest.mark.parametrize("damage", ["flip", "truncate", "config", "manifest"])
def test_load_run_refuses_a_damaged_run(snn_run, tmp_path, damage):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(snn_run[0], folder)
    weights = folder / "model.safetensors"
    if damage == "flip":
        data = bytearray(weights.read_bytes())
        data[-5] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif damage == "config":
        cfg = json.loads((folder / "config.json").read_text())
        cfg["model"]["threshold"] = 2.0
        (folder / "config.json").write_text(json.dumps(cfg))
    else:
        (folder / "manifest.json").unlink()
    with pytest.raises(ArtifactError) as err:
        load_run(folder)
    expected = {"flip": "model.safetensors", "truncate": "model.safetensors",
                "config": "config.json", "manifest": "manifest.json"}[damage]
    assert expected in str(err.value)


def test_ann_run_round_trip(tmp_path):
    model, _, x, _ = _write_run(tmp_path / "ann", model={"kind": "ann_mlp"}, train={"epochs": 1})
    run = load_run(tmp_path / "ann")
    assert run.kind == "ann_mlp"
    with torch.no_grad():
        assert torch.equal(run.model(torch.from_numpy(x[:5])), model(torch.from_numpy(x[:5])))
