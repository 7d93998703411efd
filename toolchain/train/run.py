"""`neurodeploy train`: one complete run, from the config to a run folder (see checkpoint)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from toolchain.train.checkpoint import claim_run_folder, save_run
from toolchain.train.inputs import holdout, load_inputs, resolve
from toolchain.train.loop import summary, train_model


def roc_data(labels: np.ndarray, scores: np.ndarray) -> dict:
    """The ROC curve (fpr, tpr, thresholds on the score) and its AUC (empty/NaN for NaN scores)."""
    from sklearn.metrics import roc_curve

    from toolchain.core.metrics import auc

    value = auc(labels, scores)
    if value is None:
        return {"auc": None, "fpr": [], "tpr": [], "thresholds": []}
    fpr, tpr, thresholds = roc_curve(labels, scores)
    return {"auc": value, "fpr": fpr.tolist(), "tpr": tpr.tolist(),
            "thresholds": np.nan_to_num(thresholds, posinf=1e30).tolist()}


def train_run(cfg: dict, out: str | Path, *, progress: bool = True, where: str = "config") -> dict:
    """Load the data, train the configured model, write the run folder `out`; returns metrics.

    The run folder is checked (and claimed, see checkpoint.claim_run_folder) before training starts."""
    claim_run_folder(out, what="run folder")
    inputs = load_inputs(cfg, progress=progress)
    cfg = resolve(cfg, inputs, where)
    sizes = cfg["resolved"]["sizes"]  # weights twice (float32 file + its atomic temporary) and the rest
    claim_run_folder(out, what="run folder", need_bytes=8 * sum(a * b + b for a, b in zip(sizes, sizes[1:])) + (8 << 20))
    train_idx, val_idx = holdout(cfg, inputs.labels)
    outcome = train_model(cfg, inputs.features, inputs.labels, train_idx, val_idx, progress=progress)
    val_labels = inputs.labels[val_idx]
    metrics = {"name": cfg["name"], "kind": outcome.model.kind, **summary(outcome),
               "n_train": len(train_idx), "n_val": len(val_idx),
               "n_params": sum(p.numel() for p in outcome.model.parameters()),
               "torch": torch.__version__, "threads": torch.get_num_threads(),
               "history": outcome.fit.history}
    split = {"kind": cfg["data"]["split"], "val_fraction": cfg["data"]["val_fraction"],
             "seed": cfg["seed"], "train_indices": train_idx.tolist(), "val_indices": val_idx.tolist()}
    save_run(Path(out), cfg, outcome.model, split, metrics,
             roc_data(val_labels, outcome.fit.best_eval.scores))
    return metrics
