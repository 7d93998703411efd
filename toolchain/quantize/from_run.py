"""Quantise a neurodeploy training run: calibration on its training clips, evaluation on its validation clips."""

from __future__ import annotations

from pathlib import Path

from toolchain.core.errors import ConfigError
from toolchain.core.vocab import FLOAT_TO_IR, SNN_KINDS
from toolchain.deploy import Deployment
from toolchain.quantize.ptq import QuantConfig, quantize
from toolchain.quantize.report import evaluate


def quantize_run(run_dir: str | Path, cfg: QuantConfig | None = None, calib_clips: int = 256,
                 progress: bool = True, seed: int = 0, qat_epochs: int = 0, qat_lr: float = 1e-4) -> Deployment:
    """Load the run, quantise its SNN, and evaluate float vs quantised on the validation split.

    qat_epochs > 0 first fine-tunes the model through the fixed-point roundings (toolchain.quantize.qat)
    on the run's training split; the report then holds the QAT history and the float network saved
    beside the IR is the fine-tuned one.
    """
    from toolchain.train import load_run

    run = load_run(run_dir)
    if run.kind not in SNN_KINDS:
        raise ConfigError(f"run {run_dir} holds an ANN baseline ({run.kind}); only SNN runs quantise to Loihi "
                          "(export ANN baselines with --format onnx)")
    encoding = run.config["model"]["encoding"]
    if encoding not in FLOAT_TO_IR:
        raise ConfigError(f"run {run_dir}: model.encoding {encoding!r} has no IR input encoding "
                          f"(known: {', '.join(FLOAT_TO_IR)})")
    if qat_epochs > 0 and run.kind != "snn":
        raise ConfigError(f"run {run_dir}: quantisation-aware fine-tuning supports the snn MLP only, not {run.kind!r} "
                          "(quantise it with qat_epochs = 0)")
    inputs = run.load_inputs(progress=progress)
    x = inputs.features.reshape(len(inputs.features), -1)
    cfg = (cfg or QuantConfig()).validate()
    qat = None
    if qat_epochs > 0:
        from toolchain.quantize.qat import qat_finetune

        qat = qat_finetune(run.model, x[run.train_indices], inputs.labels[run.train_indices],
                           x[run.val_indices], inputs.labels[run.val_indices], weight_bits=cfg.weight_bits,
                           input_bits=cfg.input_bits, epochs=qat_epochs, lr=qat_lr, seed=seed,
                           progress=print if progress else None)
    net = run.model.to_float_network()
    resolved = run.config.get("resolved", {})
    net.metadata.update({
        "source_run": str(Path(run_dir).resolve()), "data_path": str(run.config["data"]["path"]),
        "representation": run.representation, "data_fingerprint": resolved.get("data_fingerprint"),
        "val_indices": run.val_indices.tolist(), "float_val_auc": run.metrics.get("val_auc"),
    })
    calib = x[run.train_indices[:calib_clips]]
    ir, report = quantize(net, calib, cfg, name=Path(run_dir).name, seed=seed)
    xv, yv = x[run.val_indices], inputs.labels[run.val_indices]
    report["evaluation"] = evaluate(ir, net, xv, yv, seed=seed)
    report["source_run"] = str(run_dir)
    if qat is not None:
        report["qat"] = qat
    report["calibration_clips"] = int(len(calib))
    return Deployment(ir, net, report)

