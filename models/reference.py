"""The plain snntorch reference: `nn.Sequential` of `nn.Linear` + `snn.Leaky`, stepped in Python.

This is the textbook snntorch training loop (one call of the whole network per time step, layer
1's Linear recomputed every step, autograd recording every step). It is what the fast path in
`models.snn_mlp` must reproduce (tests) and what `neurodeploy bench train` measures it against.
"""

from __future__ import annotations

import snntorch as snn
import torch
from snntorch import surrogate
from torch import Tensor, nn


def snntorch_sequential(net, slope: float | None = None, learn_beta: bool = False) -> nn.Sequential:
    """Build Linear + Leaky(init_hidden=True) pairs from a `FloatNetwork` (weights copied).

    `slope` defaults to net.metadata["slope"] (else snntorch's 25); with `learn_beta` each Leaky
    holds its beta as a Parameter (snntorch's learn_beta=True).
    """
    slope = float(net.metadata.get("slope", 25.0) if slope is None else slope)
    modules: list[nn.Module] = []
    for layer in net.layers:
        linear = nn.Linear(layer.n_in, layer.n_out, bias=layer.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(layer.weight, dtype=torch.float32))
            if layer.bias is not None:
                linear.bias.copy_(torch.as_tensor(layer.bias, dtype=torch.float32))
        modules += [linear, snn.Leaky(beta=layer.beta, threshold=layer.threshold,
                                      spike_grad=surrogate.fast_sigmoid(slope=slope),
                                      reset_mechanism=layer.reset, init_hidden=True,
                                      learn_beta=learn_beta)]
    return nn.Sequential(*modules)


def run_snntorch(seq: nn.Sequential, inputs: Tensor, num_steps: int) -> Tensor:
    """Output spike counts [B, n_out]: `inputs` is [T, B, n_in], or [1, B, n_in] for every step."""
    for module in seq:
        if isinstance(module, snn.Leaky):
            module.reset_mem()
    counts = None
    for t in range(num_steps):
        spk = seq(inputs[0] if inputs.size(0) == 1 else inputs[t])
        counts = spk if counts is None else counts + spk
    return counts
