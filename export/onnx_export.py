"""The ANN baseline as ONNX: export with torch.onnx.export, run with onnxruntime, compare with torch.

`export_run_onnx(run_dir, out)` is what `neurodeploy export RUN --format onnx` calls.
The exported graph has one input "input" and one output "logits", both with a dynamic batch axis,
so the same file runs any number of clips. The file is written atomically (`toolchain.core.fileio`).
MACs are then counted from the graph by `toolchain.counts.ann_macs_from_onnx`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from toolchain.core.errors import ArtifactError, ConfigError, DataError
from toolchain.core.fileio import atomic_path
from toolchain.core.vocab import ANN_KINDS

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def export_onnx(model, example_input, path: str | os.PathLike) -> Path:
    """Export a torch module (eval mode, batch axis dynamic) to ONNX at `path`; returns the path."""
    import torch

    model.eval()
    example = torch.as_tensor(np.asarray(example_input), dtype=torch.float32) \
        if not isinstance(example_input, torch.Tensor) else example_input.detach().float()
    with atomic_path(path) as tmp, torch.no_grad():
        torch.onnx.export(model, (example,), str(tmp), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True)
    return Path(path)


def onnx_input_shape(path: str | os.PathLike) -> list[int]:
    """The per-example input shape of an ONNX model (its first input, batch dimension dropped)."""
    import onnx

    return [d.dim_value for d in onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim][1:]


def run_onnx(path: str | os.PathLike, inputs) -> np.ndarray:
    """Outputs of the ONNX model at `path` on `inputs` (float32), with onnxruntime on the CPU."""
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
        raise ArtifactError(f"ONNX file {path} cannot be loaded by onnxruntime ({type(exc).__name__}: {exc})") from None
    return sess.run(None, {sess.get_inputs()[0].name: np.asarray(inputs, dtype=np.float32)})[0]


def check_onnx(path: str | os.PathLike, model, inputs, atol: float = 1e-5) -> dict[str, Any]:
    """Run `inputs` through onnxruntime and through `model` (torch) and compare the outputs.

    Returns {"ok", "max_abs_diff", "atol", "clips", "output_shape", "onnxruntime"}; ok is True when
    every output agrees within atol (absolute, in logit units).
    """
    import onnxruntime as ort
    import torch

    x = np.asarray(inputs, dtype=np.float32)
    got = run_onnx(path, x)
    model.eval()
    with torch.no_grad():
        want = model(torch.from_numpy(x)).detach().cpu().numpy()
    if got.shape != want.shape:
        return {"ok": False, "max_abs_diff": None, "atol": atol, "clips": int(x.shape[0]),
                "output_shape": list(got.shape), "onnxruntime": ort.__version__,
                "detail": f"shape {list(got.shape)} from onnxruntime vs {list(want.shape)} from torch"}
    diff = float(np.abs(got - want).max()) if got.size else 0.0
    return {"ok": bool(diff <= atol), "max_abs_diff": diff, "atol": atol, "clips": int(x.shape[0]),
            "output_shape": list(got.shape), "onnxruntime": ort.__version__}


def export_run_onnx(run_dir: str | os.PathLike, out: str | os.PathLike, inputs=None, atol: float = 1e-4) -> dict[str, Any]:
    """Export a trained ANN baseline run (kind "ann_mlp" or "cnn") to ONNX at `out` and check it.

    inputs: clips to compare onnxruntime with torch on, [B, *input_shape] or [B, n_in] (reshaped to
    the run's input shape); default 8 seeded uniform clips in [0, 1]. Raises ArtifactError when the
    outputs differ by more than `atol`. Returns {"onnx", "run", "kind", "input_shape", "onnx_check"}.
    """
    from toolchain.train import load_run

    run = load_run(run_dir)
    if run.kind not in ANN_KINDS:
        raise ConfigError(f"{run_dir}: run kind {run.kind!r} is not an ANN baseline ({' or '.join(ANN_KINDS)}); "
                          "SNN runs export to lava, netx or nir")
    shape = tuple(run.input_shape)
    x = np.random.default_rng(0).random((8, *shape)) if inputs is None else np.asarray(inputs)
    if int(np.prod(x.shape[1:])) != int(np.prod(shape)):
        raise DataError(f"{run_dir}: the run takes {list(shape)} per clip, the inputs have {list(x.shape[1:])}")
    x = x.reshape(x.shape[0], *shape).astype(np.float32)
    path = export_onnx(run.model, x[:1], out)
    check = check_onnx(path, run.model, x, atol=atol)
    if not check["ok"]:
        raise ArtifactError(f"{path}: onnxruntime and torch outputs differ by {check['max_abs_diff']} "
                            f"(> atol {atol}) on {check['clips']} clip(s)")
    return {"onnx": str(path), "run": str(run_dir), "kind": run.kind, "input_shape": list(shape),
            "onnx_check": check}
