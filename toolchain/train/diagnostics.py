"""Learning-failure detection: a failed run is reported with its reason, never as an AUC of 0.5.

Checked on a run's per-epoch history (first match wins):
1. "nan_loss": the training or validation loss is NaN/inf -> "loss became NaN at epoch E".
2. "silent_output" (SNNs): the output layer fired no spike on the validation set in the last
   epoch -> "output layer silent from epoch E" (E: first epoch of that final silent stretch),
   naming the first hidden layer that was silent too, if any.
3. "chance_auc": the best validation AUC over all epochs is within CHANCE_TOLERANCE of 0.5 (or
   below) -> "validation AUC stayed at 0.5 (best 0.503 in 12 epochs)".
"""

from __future__ import annotations

import math

CHANCE_TOLERANCE = 0.01


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


def diagnose(history: list[dict]) -> dict | None:
    """None for a healthy run, else {"kind", "epoch", "reason"} (see the module docstring).

    Each history entry has "epoch", "train_loss", "val_loss", "val_auc" and "firing_rates"
    (per layer, mean spikes per neuron per step on the validation set; None for ANNs).
    """
    if not history:
        return None
    for entry in history:
        if not (_finite(entry["train_loss"]) and _finite(entry["val_loss"])):
            epoch = entry["epoch"]
            return {"kind": "nan_loss", "epoch": epoch, "reason": f"loss became NaN at epoch {epoch}"}
    rates = history[-1].get("firing_rates")
    if rates and rates[-1] == 0:
        start = len(history)
        while start > 1 and history[start - 2]["firing_rates"][-1] == 0:
            start -= 1
        epoch = history[start - 1]["epoch"]
        silent_hidden = [i + 1 for i, r in enumerate(rates[:-1]) if r == 0]
        also = f" (hidden layer {silent_hidden[0]} silent too)" if silent_hidden else ""
        return {"kind": "silent_output", "epoch": epoch,
                "reason": f"output layer silent from epoch {epoch}{also}"}
    aucs = [e["val_auc"] for e in history if _finite(e["val_auc"])]
    best = max(aucs) if aucs else float("nan")
    if not aucs or best < 0.5 + CHANCE_TOLERANCE:
        return {"kind": "chance_auc", "epoch": history[0]["epoch"],
                "reason": f"validation AUC stayed at 0.5 (best {best:.3f} in {len(history)} epochs)"}
    return None
