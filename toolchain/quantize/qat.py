"""Quantisation-aware fine-tuning: train through Loihi's weight and input rounding (straight-through).

Each Linear weight is replaced in the forward pass by its fixed-point value at the quantiser's own
scale, W_q = round(W * sw) / sw with sw = (2**(bits-1) - 1) / max|W|, and the graded input by
round(x * (2**input_bits - 1)) / (2**input_bits - 1); the backward pass treats both roundings as
the identity (straight-through estimator). After fine-tuning the weights are left on the grid, so
post-training quantisation afterwards reproduces them exactly. Use it when the post-training AUC
drop is too large.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize


class FakeQuantWeight(nn.Module):
    """W -> round(W * sw) / sw with a straight-through gradient (sw from the current max |W|)."""

    def __init__(self, bits: int):
        super().__init__()
        self.levels = 2 ** (bits - 1) - 1

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        sw = self.levels / w.detach().abs().max().clamp_min(1e-12)
        return w + (torch.round(w * sw) / sw - w).detach()


def _fake_quant_input(x: torch.Tensor, bits: int) -> torch.Tensor:
    levels = 2 ** bits - 1
    return x + (torch.round(x.clamp(0, 1) * levels) / levels - x).detach()


def qat_finetune(model: nn.Module, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                 *, weight_bits: int = 8, input_bits: int = 8, epochs: int = 3, lr: float = 1e-4,
                 batch_size: int = 64, seed: int = 0, progress=None) -> dict:
    """Fine-tune `model` (an SNN returning output spike counts) in place; returns the per-epoch history.

    Keeps the weights of the epoch with the best validation AUC (measured through the fake quantisers).
    """
    from toolchain.core.metrics import auc as roc_auc
    from toolchain.core.metrics import class_score

    torch.manual_seed(seed)
    for fc in model.fc:
        parametrize.register_parametrization(fc, "weight", FakeQuantWeight(weight_bits))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    xt, yt = torch.from_numpy(np.asarray(x_train, np.float32)), torch.from_numpy(np.asarray(y_train, np.int64))
    xv = torch.from_numpy(np.asarray(x_val, np.float32))
    history, best = [], (-1.0, None)

    def val_auc() -> float:
        model.eval()
        with torch.no_grad():
            c = torch.cat([model(_fake_quant_input(xv[i:i + 256], input_bits)) for i in range(0, len(xv), 256)])
        model.train()
        value = roc_auc(y_val, class_score(c).numpy())
        return float("nan") if value is None else value

    start_auc = val_auc()
    best = (start_auc, {k: v.detach().clone() for k, v in model.state_dict().items()})
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(xt))
        total = 0.0
        for i in range(0, len(xt), batch_size):
            idx = perm[i:i + batch_size]
            counts = model(_fake_quant_input(xt[idx], input_bits))
            loss = nn.functional.cross_entropy(counts, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        auc = val_auc()
        history.append({"epoch": epoch + 1, "loss": total / len(xt), "val_auc_fake_quant": auc})
        if progress:
            progress(history[-1])
        if auc > best[0]:
            best = (auc, {k: v.detach().clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    for fc in model.fc:
        parametrize.remove_parametrizations(fc, "weight", leave_parametrized=True)
    model.eval()
    return {"epochs": epochs, "lr": lr, "val_auc_before": start_auc, "val_auc_best": best[0], "history": history}
