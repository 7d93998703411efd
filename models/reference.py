"""The plain snntorch reference: `nn.Sequential` of torch synapses + snntorch neurons, stepped in Python.

This is the textbook snntorch training loop (one call of the whole network per time step, layer
1's Linear / Conv recomputed every step, autograd recording every step). It is what the fast paths
in `models.snn_mlp`, `models.snn_conv` and `models.snn_rec` must reproduce (tests) and what
`neurodeploy bench train` measures them against. Per FloatNetwork layer kind:

    dense      nn.Linear + snn.Leaky
    conv       nn.Conv1d / nn.Conv2d + snn.Leaky (an nn.Unflatten first if it is layer 1)
    flatten    nn.Flatten
    dense_rec  nn.Linear + snn.RLeaky(all_to_all=True, linear_features=n) for the "subtract" reset
               (its recurrent bias set to 0: the layer bias is the Linear's); for the "zero" reset
               `LeakyRecurrent` (snn.Leaky on I + V s[t-1]): RLeaky's default (delayed) zero reset
               also drops the step's input after a spike (snntorch 1.0), which Loihi does not, and
               RLeaky(reset_delay=False) spikes the same but lets the gradient through its reset.
"""

from __future__ import annotations

import numpy as np
import snntorch as snn
import torch
from snntorch import surrogate
from torch import Tensor, nn


class LeakyRecurrent(nn.Module):
    """snn.Leaky (init_hidden) whose input gets `recurrent`(its own spikes of the previous step)."""

    def __init__(self, n: int, **leaky) -> None:
        super().__init__()
        self.leaky = snn.Leaky(init_hidden=True, **leaky)
        self.recurrent = nn.Linear(n, n, bias=False)
        self.spk: Tensor | None = None

    @property
    def beta(self) -> Tensor:
        return self.leaky.beta

    def reset_mem(self) -> None:
        self.leaky.reset_mem()
        self.spk = None

    def forward(self, current: Tensor) -> Tensor:
        if self.spk is not None:
            current = current + self.recurrent(self.spk)
        self.spk = self.leaky(current)
        return self.spk


def _copy(module: nn.Module, weight, bias=None) -> nn.Module:
    with torch.no_grad():
        module.weight.copy_(torch.as_tensor(np.asarray(weight), dtype=torch.float32))
        if bias is not None:
            module.bias.copy_(torch.as_tensor(np.asarray(bias), dtype=torch.float32))
    return module


def _synapse(layer) -> nn.Module:
    bias = layer.bias is not None
    if layer.kind == "conv":
        conv = nn.Conv1d if len(layer.in_shape) == 2 else nn.Conv2d
        module = conv(layer.in_shape[0], layer.weight.shape[0], tuple(layer.weight.shape[2:]),
                      stride=tuple(layer.stride), padding=tuple(layer.padding),
                      dilation=tuple(layer.dilation), groups=int(layer.groups), bias=bias)
    else:
        module = nn.Linear(layer.n_in, layer.n_out, bias=bias)
    return _copy(module, layer.weight, layer.bias)


def _neuron(layer, slope: float, learn_beta: bool) -> nn.Module:
    leaky = dict(beta=layer.beta, threshold=layer.threshold,
                 spike_grad=surrogate.fast_sigmoid(slope=slope), reset_mechanism=layer.reset,
                 learn_beta=learn_beta)
    if layer.kind != "dense_rec":
        return snn.Leaky(init_hidden=True, **leaky)
    n = layer.n_out
    if layer.reset == "subtract":
        neuron = snn.RLeaky(all_to_all=True, linear_features=n, init_hidden=True, **leaky)
    else:
        neuron = LeakyRecurrent(n, **leaky)
    _copy(neuron.recurrent, layer.weight_rec)
    if neuron.recurrent.bias is not None:
        with torch.no_grad():
            neuron.recurrent.bias.zero_()
    return neuron


def snntorch_sequential(net, slope: float | None = None, learn_beta: bool = False) -> nn.Sequential:
    """Build the per-step snntorch network of a `FloatNetwork` (weights copied; see module doc).

    `slope` defaults to net.metadata["slope"] (else snntorch's 25); with `learn_beta` each neuron
    holds its beta as a Parameter (snntorch's learn_beta=True).
    """
    slope = float(net.metadata.get("slope", 25.0) if slope is None else slope)
    modules: list[nn.Module] = []
    for i, layer in enumerate(net.layers):
        if layer.kind == "flatten":
            modules.append(nn.Flatten())
            continue
        if i == 0 and layer.kind == "conv":
            modules.append(nn.Unflatten(1, tuple(layer.in_shape)))
        modules += [_synapse(layer), _neuron(layer, slope, learn_beta)]
    return nn.Sequential(*modules)


def synapses(seq: nn.Sequential) -> list[nn.Module]:
    """The Linear / Conv modules of a `snntorch_sequential`, in layer order."""
    return [m for m in seq if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]


def neurons(seq: nn.Sequential) -> list[nn.Module]:
    """The neuron modules of a `snntorch_sequential`, in layer order."""
    return [m for m in seq if hasattr(m, "reset_mem")]


def run_snntorch(seq: nn.Sequential, inputs: Tensor, num_steps: int) -> Tensor:
    """Output spike counts [B, n_out]: `inputs` is [T, B, n_in], or [1, B, n_in] for every step."""
    for module in neurons(seq):
        module.reset_mem()
    counts = None
    for t in range(num_steps):
        spk = seq(inputs[0] if inputs.size(0) == 1 else inputs[t])
        counts = spk if counts is None else counts + spk
    return counts
