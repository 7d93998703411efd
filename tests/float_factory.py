"""Small float networks with lively activity for front-end, quantiser and back-end tests."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from toolchain.frontends.float_net import FloatLayer, FloatNetwork


def float_net(rng: np.random.Generator, sizes=(24, 32, 16, 2), num_steps: int = 12, encoding: str = "dc",
              reset: str = "zero", bias: bool = False, betas=None) -> FloatNetwork:
    """Random weights scaled so every layer fires on inputs in [0, 1]."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        gain = 3.0 / np.sqrt(n_in)
        w = rng.normal(0.15 * gain, gain, (n_out, n_in)).astype(np.float32)
        b = rng.normal(0, 0.05, n_out).astype(np.float32) if bias else None
        beta = betas[i] if betas else float(rng.choice([0.7, 0.8, 0.9, 0.95]))
        layers.append(FloatLayer(w, b, beta, 1.0, reset, f"fc{i}"))
    return FloatNetwork(layers, num_steps, encoding, (sizes[0],))


def sequential(rng: np.random.Generator, sizes=(24, 32, 16, 2), reset: str = "zero", beta=0.9,
               per_neuron: bool = False, flatten: bool = True) -> nn.Sequential:
    """An snntorch network built the common way (nn.Sequential of Linear + Leaky, init_hidden=True)."""
    import snntorch as snn

    mods: list[nn.Module] = [nn.Flatten()] if flatten else []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(n_in, n_out, bias=False)
        with torch.no_grad():
            gain = 3.0 / np.sqrt(n_in)
            lin.weight.copy_(torch.from_numpy(rng.normal(0.15 * gain, gain, (n_out, n_in)).astype(np.float32)))
        b = torch.full((n_out,), beta) if per_neuron else beta
        th = torch.ones(n_out) if per_neuron else 1.0
        mods += [lin, snn.Leaky(beta=b, threshold=th, reset_mechanism=reset, init_hidden=True,
                                output=i == len(sizes) - 2)]
    return nn.Sequential(*mods)
