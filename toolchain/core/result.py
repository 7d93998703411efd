"""SimResult: what every simulator (float snntorch model, bit-exact emulator, Lava) returns.

All spike arrays are indexed by the step of the classification (t = 0 .. num_steps-1), with any
back-end pipeline delay already removed, so results from different back ends compare directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SimResult:
    """Spikes of one batch of classifications."""

    backend: str  # "emulator" | "lava" | "float"
    input: np.ndarray  # graded: values sent [B, n_in] (int for fixed point, float for "float"); spikes: bool [B, T, n_in]
    layer_spikes: list[np.ndarray]  # one per LIF layer: bool [B, T, n_l]
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. encoding, num_steps, wall time

    @property
    def counts(self) -> np.ndarray:
        """Output spike counts per clip: int [B, n_out]."""
        return self.layer_spikes[-1].sum(axis=1).astype(np.int64)

    @property
    def decisions(self) -> np.ndarray:
        """Predicted class per clip: argmax of the output counts (ties -> lowest index)."""
        return self.counts.argmax(axis=1)

    def scores(self) -> np.ndarray:
        """A continuous positive-class score for ROC AUC: count(class 1) - count(class 0)."""
        from toolchain.core.metrics import class_score

        return class_score(self.counts).astype(np.float64)

    @property
    def num_steps(self) -> int:
        return int(self.layer_spikes[0].shape[1])

    @property
    def batch(self) -> int:
        return int(self.layer_spikes[0].shape[0])


def concat(results: list[SimResult]) -> SimResult:
    """Join batches of the same network and back end along the clip axis (meta of the first batch)."""
    first = results[0]
    if len(results) == 1:
        return first
    return SimResult(
        backend=first.backend,
        input=np.concatenate([r.input for r in results], axis=0),
        layer_spikes=[np.concatenate([r.layer_spikes[i] for r in results], axis=0)
                      for i in range(len(first.layer_spikes))],
        meta=dict(first.meta),
    )
