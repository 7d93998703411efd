"""PNG figures of training runs and sweeps (matplotlib's Agg canvas, no pyplot state)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from toolchain.core.fileio import atomic_path


def _save(fig, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def training_curve(history: list[dict], path: Path, title: str = "") -> None:
    """Loss (train/val), validation AUC and accuracy, and per-layer firing rates per epoch."""
    from matplotlib.figure import Figure

    epochs = [h["epoch"] for h in history]
    has_rates = bool(history and history[0].get("firing_rates"))
    fig = Figure(figsize=(12 if has_rates else 8, 3.6))
    axes = fig.subplots(1, 3 if has_rates else 2)
    axes[0].plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    axes[0].plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    axes[0].set(xlabel="epoch", ylabel="loss", title="loss")
    axes[0].legend()
    axes[1].plot(epochs, [h["val_auc"] for h in history], "o-", label="val AUC")
    axes[1].plot(epochs, [h["val_accuracy"] for h in history], "s--", label="val accuracy")
    axes[1].axhline(0.5, color="grey", lw=0.8)
    axes[1].set(xlabel="epoch", ylim=(0.0, 1.0), title="validation")
    axes[1].legend()
    if has_rates:
        rates = np.array([h["firing_rates"] for h in history])
        for layer in range(rates.shape[1]):
            name = "output" if layer == rates.shape[1] - 1 else f"hidden {layer + 1}"
            axes[2].plot(epochs, rates[:, layer], "o-", label=name)
        axes[2].set(xlabel="epoch", ylabel="spikes / neuron / step", title="firing rate (val)")
        axes[2].legend()
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def heatmap(values: list[list[float]], notes: list[list[str]], rows: list[str], cols: list[str],
            path: Path, title: str, row_label: str, col_label: str) -> None:
    """A table of median AUCs as a colour map; NaN cells (all trials failed) are grey and carry
    their note ("failed")."""
    import matplotlib
    from matplotlib.figure import Figure

    data = np.array(values, dtype=float)
    fig = Figure(figsize=(1.1 * len(cols) + 2.5, 0.6 * len(rows) + 1.8))
    ax = fig.subplots()
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#bbbbbb")
    finite = data[np.isfinite(data)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.5, 1.0)
    image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=min(lo, hi - 1e-3), vmax=hi,
                      aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = data[i, j]
            text = notes[i][j] if not math.isfinite(v) else f"{v:.3f}" + (f"\n{notes[i][j]}" if notes[i][j] else "")
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="black" if not math.isfinite(v) or v > (lo + hi) / 2 else "white")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set(xlabel=col_label, ylabel=row_label, title=title)
    fig.colorbar(image, ax=ax, label="median validation AUC")
    fig.tight_layout()
    _save(fig, path)


def fold_curves(grid: list[list[list[dict]]], rows: list[str], cols: list[str], path: Path,
                title: str, row_label: str, col_label: str) -> None:
    """Validation accuracy per epoch, one line per fold, one panel per grid cell (rows x cols),
    like the seed talk's "training behaviour" figures. grid[i][j]: the cell's folds, each
    {"fold", "failed", "epochs", "val_accuracy"}; a failed fold is drawn dashed red."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.3 * len(cols) + 0.6, 1.8 * len(rows) + 0.9))
    axes = fig.subplots(len(rows), len(cols), squeeze=False, sharex=True, sharey=True)
    for i, row in enumerate(grid):
        for j, folds in enumerate(row):
            ax = axes[i, j]
            for f in folds:
                acc = [np.nan if a is None else a for a in f["val_accuracy"]]
                style = {"color": "tab:red", "ls": "--"} if f["failed"] else {}
                ax.plot(f["epochs"], acc, lw=1.0, label=f"fold {f['fold']}", **style)
            ax.set_ylim(0.0, 1.0)
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(f"{col_label.split('.')[-1]} {cols[j]}", fontsize=8)
            if j == 0:
                ax.set_ylabel(f"{row_label.split('.')[-1]} {rows[i]}\nval accuracy", fontsize=8)
            if i == len(rows) - 1:
                ax.set_xlabel("epoch", fontsize=8)
            if not folds:
                ax.text(0.5, 0.5, "pending", ha="center", va="center", transform=ax.transAxes, fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=len(handles), fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    _save(fig, path)
