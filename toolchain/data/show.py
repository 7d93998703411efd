"""`neurodeploy data show`: a figure of example spectrograms, up-calls beside non-calls.

The figure has one column per class (label 1 left, label 0 right; one column for an unlabeled
split) and `n_per_class` rows of clips drawn with the seed. Each panel is the representation the
models see (toolchain.represent.spectrogram, [0, 1] colour scale), time 0-2 s across and
frequency upwards. It is drawn with matplotlib's Agg canvas (no display needed) and written
atomically (PNG, or any format matplotlib infers from the suffix).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.core.errors import ConfigError
from toolchain.core.fileio import atomic_path
from toolchain.data.loader import load_clips
from toolchain.represent import SpectrogramConfig, spectrogram


def show_examples(path, out, *, n_per_class: int = 4, split: str = "train", seed: int = 0,
                  params: dict | None = None, cache: bool = True, progress: bool = True) -> dict:
    """Write the example figure for the data set at `path` to `out`; returns what it shows."""
    from matplotlib.figure import Figure

    if n_per_class < 1:
        raise ConfigError(f"n_per_class must be >= 1, got {n_per_class}")
    cfg = SpectrogramConfig(**(params or {}))
    if cfg.normalise != "per_clip":
        raise ConfigError("data show draws per-clip normalised spectrograms (normalise='per_clip')")
    clips = load_clips(path, split=split, cache=cache, progress=progress)
    rng = np.random.default_rng(seed)
    groups = [("up-call (label 1)", 1), ("no up-call (label 0)", 0)] if split == "train" \
        else [("unlabeled", -1)]
    columns = []
    for title, label in groups:
        idx = np.flatnonzero(clips.labels == label)
        columns.append((title, np.sort(rng.choice(idx, size=min(n_per_class, idx.size), replace=False))))
    rows = max(len(c[1]) for c in columns)
    duration = clips.audio.shape[1] / clips.sample_rate
    k0, k1 = cfg.bins
    freq = (k0 * cfg.sample_rate / cfg.nfft, k1 * cfg.sample_rate / cfg.nfft)
    fig = Figure(figsize=(4.2 * len(columns), 2.2 * rows), layout="constrained")
    axes = fig.subplots(rows, len(columns), squeeze=False)
    for col, (title, idx) in enumerate(columns):
        specs = spectrogram(clips.audio[idx], cfg) if idx.size else []
        for row in range(rows):
            ax = axes[row, col]
            if row >= idx.size:
                ax.set_axis_off()
                continue
            extent = (0, duration, *freq) if cfg.scale != "mel" else (0, duration, 0, cfg.n_mels)
            ax.imshow(specs[row], origin="lower", aspect="auto", extent=extent, vmin=0, vmax=1,
                      cmap="magma")
            ax.set_title(f"{title}: {clips.names[idx[row]]}", fontsize=8)
            ax.set_ylabel("mel band" if cfg.scale == "mel" else "Hz", fontsize=7)
            ax.tick_params(labelsize=7)
        axes[-1, col].set_xlabel("time (s)", fontsize=7)
    fig.suptitle(f"{Path(str(path)).name}: {cfg.scale} spectrograms, per-clip [0, 1]", fontsize=9)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format=Path(out).suffix.lstrip(".") or "png")
    return {"out": str(out), "source": str(path),
            **{title: [clips.names[i] for i in idx] for title, idx in columns}}
