"""The ANN baseline in ONNX: export, onnxruntime equals torch, MACs counted from the graph by hand."""

import numpy as np
import pytest
import torch

from export.onnx_export import check_onnx, export_onnx, run_onnx
from toolchain.core.errors import ArtifactError, ConfigError
from toolchain.counts import ann_macs_from_onnx


def _mlp():
    """4 -> 3 (ReLU) -> 2 with fixed weights:
    W1 = [[1,0,0,2],[0,0,0,1],[1,1,0,0]] (fan-out per input 2, 1, 0, 2), W2 = [[1,1,1],[0,2,0]] (1, 2, 1)."""
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with torch.no_grad():
        mlp[0].weight.copy_(torch.tensor([[1., 0, 0, 2], [0, 0, 0, 1], [1, 1, 0, 0]]))
        mlp[0].bias.zero_()
        mlp[2].weight.copy_(torch.tensor([[1., 1, 1], [0, 2, 0]]))
        mlp[2].bias.fill_(0.5)
    return mlp


def _cnn():
    """Conv2d(1 -> 2, 3x3, padding 1) on 1x4x4, ReLU, Flatten, Linear(32 -> 2); positive weights."""
    cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(32, 2))
    with torch.no_grad():
        cnn[0].weight.fill_(0.1)
        cnn[0].bias.fill_(0.1)
        cnn[3].weight.uniform_(0.1, 1.0)
    return cnn


def test_mlp_exports_runs_equal_and_counts_macs_by_hand(tmp_path):
    """x = [1, 2, 3, 0]: layer 1 effective = fan-outs of inputs 0, 1, 2 = 2 + 1 + 0 = 3;
    h = relu(W1 x) = [1, 0, 3] -> layer 2 effective = fan-outs of h0, h2 = 1 + 1 = 2.
    Dense: 4 x 3 + 3 x 2 = 18; activations: 3 ReLU outputs."""
    mlp = _mlp()
    x = np.array([[1, 2, 3, 0]], dtype=np.float32)
    path = export_onnx(mlp, torch.from_numpy(x), tmp_path / "mlp.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.onnx"]  # written atomically, no leftovers
    batch = np.random.default_rng(0).random((5, 4)).astype(np.float32)  # dynamic batch axis
    check = check_onnx(path, mlp, batch)
    assert check["ok"] and check["max_abs_diff"] <= 1e-5 and check["output_shape"] == [5, 2]
    macs = ann_macs_from_onnx(path, x)
    assert [la["dense_macs"] for la in macs["layers"]] == [12, 6]
    assert [la["effective_macs"] for la in macs["layers"]] == [3, 2]
    assert (macs["dense_macs"], macs["effective_macs"], macs["activations"], macs["parameters"]) == (18, 5, 3, 18)
    assert ann_macs_from_onnx(path)["effective_macs"] is None  # without inputs: dense only


def test_cnn_exports_runs_equal_and_counts_macs_by_hand(tmp_path):
    """Conv: 2 x 4 x 4 = 32 outputs x 9 taps = 288 dense MACs. Effective on an all-positive input:
    padded taps are zero, so per channel corners 4 x 4 + edges 8 x 6 + interior 4 x 9 = 100 -> 200.
    Linear: 32 x 2 = 64 dense; all 32 ReLU outputs are positive -> 64 effective."""
    cnn = _cnn()
    x = torch.rand(3, 1, 4, 4) + 0.1
    path = export_onnx(cnn, x[:1], tmp_path / "cnn.onnx")
    assert check_onnx(path, cnn, x.numpy())["ok"]
    macs = ann_macs_from_onnx(path, x.numpy())
    assert [(la["op"], la["dense_macs"]) for la in macs["layers"]] == [("Conv", 288), ("Gemm", 64)]
    assert [la["effective_macs"] for la in macs["layers"]] == [200, 64]
    assert macs["activations"] == 32


def test_check_onnx_reports_a_mismatch_and_bad_files_are_refused(tmp_path):
    mlp = _mlp()
    path = export_onnx(mlp, torch.zeros(1, 4), tmp_path / "mlp.onnx")
    with torch.no_grad():
        mlp[2].bias.fill_(1.5)  # torch model changed after export
    check = check_onnx(path, mlp, np.ones((2, 4), dtype=np.float32), atol=1e-5)
    assert not check["ok"] and check["max_abs_diff"] == pytest.approx(1.0)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx model")
    with pytest.raises(ArtifactError, match="bad.onnx"):
        run_onnx(bad, np.zeros((1, 4)))


class _FakeRun:
    """What `toolchain.train.load_run` returns, reduced to what the export needs."""

    def __init__(self, kind, model, input_shape):
        self.kind, self.model, self.input_shape = kind, model, input_shape


def test_export_run_onnx_checks_a_trained_ann_run(tmp_path, monkeypatch):
    import toolchain.train
    from export.onnx_export import export_run_onnx

    mlp = torch.nn.Sequential(torch.nn.Flatten(), *_mlp())  # takes [B, 2, 2] like ANNMLP takes [B, H, W]
    monkeypatch.setattr(toolchain.train, "load_run", lambda d: _FakeRun("ann_mlp", mlp, (2, 2)))
    r = export_run_onnx(tmp_path, tmp_path / "ann.onnx")
    assert r["kind"] == "ann_mlp" and r["input_shape"] == [2, 2] and r["onnx_check"]["ok"]
    assert ann_macs_from_onnx(r["onnx"])["dense_macs"] == 18
    monkeypatch.setattr(toolchain.train, "load_run", lambda d: _FakeRun("snn", mlp, (2, 2)))
    with pytest.raises(ConfigError, match="not an ANN baseline"):
        export_run_onnx(tmp_path, tmp_path / "snn.onnx")


def test_onnx_export_of_a_folder_that_is_not_a_training_run_says_what_it_is(tmp_path):
    """`export --format onnx` takes a training run; a quantise / import folder is named as one."""
    from toolchain.train.checkpoint import load_run

    q = tmp_path / "q"
    q.mkdir()
    (q / "network.ndir").write_bytes(b"")
    with pytest.raises(ArtifactError, match=r"a quantise or import folder \(it holds network.ndir\); a training run"):
        load_run(q)
    with pytest.raises(ArtifactError, match=r"not a training run folder; .* holds manifest.json"):
        load_run(tmp_path)
