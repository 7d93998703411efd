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


def float_conv_net(rng: np.random.Generator, input_shape=(1, 12, 10), channels=(4, 6), num_steps: int = 8,
                   encoding: str = "dc", reset: str = "zero", bias: bool = True) -> FloatNetwork:
    """conv -> conv -> flatten -> dense, 2-D (C, H, W) or 1-D (C, L), random weights that fire."""
    from toolchain.frontends.float_net import FloatConv, FloatFlatten

    nd = len(input_shape) - 1
    layers, shape = [], tuple(input_shape)
    for j, c_out in enumerate(channels):
        k = (3,) * nd
        gain = 3.0 / np.sqrt(shape[0] * 3 ** nd)
        w = rng.normal(0.2 * gain, gain, (c_out, shape[0], *k)).astype(np.float32)
        conv = FloatConv(weight=w, bias=rng.normal(0, 0.05, c_out).astype(np.float32) if bias else None,
                         beta=float(rng.choice([0.8, 0.9])), threshold=1.0, reset=reset, name=f"conv{j}",
                         input_shape=shape, stride=(1 + j,) * nd, padding=(1,) * nd, dilation=(1,) * nd)
        layers.append(conv)
        shape = conv.out_shape
    layers.append(FloatFlatten(shape=shape))
    n = int(np.prod(shape))
    gain = 3.0 / np.sqrt(n)
    layers.append(FloatLayer(rng.normal(0.15 * gain, gain, (2, n)).astype(np.float32), None, 0.9, 1.0, reset, "fc"))
    return FloatNetwork(layers, num_steps, encoding, tuple(input_shape))


def float_rec_net(rng: np.random.Generator, sizes=(20, 16, 12, 2), num_steps: int = 10, encoding: str = "dc",
                  reset: str = "zero") -> FloatNetwork:
    """dense -> dense_rec (RLeaky all-to-all) -> dense, random weights that fire."""
    from toolchain.frontends.float_net import FloatRec

    net = float_net(rng, sizes=sizes, num_steps=num_steps, encoding=encoding, reset=reset)
    mid = net.layers[1]
    v = rng.normal(0, 0.6 / np.sqrt(mid.n_out), (mid.n_out, mid.n_out)).astype(np.float32)
    net.layers[1] = FloatRec(weight=mid.weight, bias=mid.bias, beta=mid.beta, threshold=mid.threshold,
                             reset=mid.reset, name="rec", weight_rec=v)
    return net
