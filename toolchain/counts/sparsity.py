"""Activation sparsity (NeuroBench ActivationSparsity): zero outputs / all outputs of the spiking
layers, over all layers, steps and clips."""

from __future__ import annotations

import numpy as np


def activation_sparsity(sim) -> float:
    """1 - spikes / (neurons x steps x clips), over every LIF layer."""
    spikes = sum(int(np.count_nonzero(s)) for s in sim.layer_spikes)
    outputs = sum(int(np.asarray(s).size) for s in sim.layer_spikes)
    return (outputs - spikes) / outputs if outputs else 0.0
