"""The SNN MLP trained by neurodeploy: Linear layers, each followed by snntorch-style Leaky neurons.

Per layer l: current I_l[t] = W_l @ x_l[t] (+ b_l), Leaky neurons with one scalar beta_l and one
threshold (see `models.lif` for the exact equations, which are snntorch `Leaky` with
reset_delay=True). Layer 1's input x_1[t] comes from the encoding (`models.encoding`); the output
is the spike count of the last layer's neurons over num_steps: counts [B, n_classes], each in
0..num_steps, used as logits by the loss and as the score (counts[:, 1] - counts[:, 0]) for AUC.

Loihi-friendly defaults: reset "zero", no bias, one beta and threshold per layer. A learnable beta
is stored as a logit per layer, beta_l = sigmoid(logit_l), so it stays inside (0, 1).

Forward pass (feed-forward, so each layer is done for all T steps before the next):
  layer 1 with "dc" input: I_1 = W_1 @ x once, held for T steps;
  every layer: spikes [T, B, n] from `leaky_sequence`; the next layer's current is one
  [T*B, n] @ W^T matmul over all steps.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from models.spiking import SpikingStack, numpy_of

N_CLASSES = 2
# The seed study's hidden layers (CAID 2025 talk, "SNN architectures" table).
SEED_HIDDEN = {"waveform": (2048, 512, 64), "spectrogram": (4096, 512, 64)}


def seed_sizes(representation: str, n_in: int) -> list[int]:
    """Layer sizes of the seed's MLP for a representation: [n_in, *hidden, 2]."""
    return [int(n_in), *SEED_HIDDEN[representation], N_CLASSES]


class SNNMLP(SpikingStack):
    """Feed-forward SNN: sizes [n_in, h1, ..., n_classes]; returns output spike counts [B, n_classes].

    beta: decay per step in (0, 1] (the initial value if learn_beta, then in (0, 1));
    threshold: spike when mem > threshold (membrane units = weight units x input units);
    slope: fast-sigmoid surrogate slope; num_steps: simulation steps per sample;
    zero_sum_input: keep layer 1's weight rows at zero sum (see `constrain_`).
    After each forward, `firing_rates` holds per layer the mean spikes per neuron per step
    (detached 0-dim tensors), for diagnostics. With the "frames" encoding n_in is one frame's size.
    """

    kind = "snn"

    def __init__(self, sizes: Sequence[int], *, beta: float = 0.9, learn_beta: bool = False,
                 threshold: float = 1.0, slope: float = 25.0, reset: str = "zero",
                 encoding: str = "dc", num_steps: int = 25, bias: bool = False,
                 zero_sum_input: bool = False, input_shape: Sequence[int] = ()) -> None:
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {list(sizes)}")
        super().__init__(len(sizes) - 1, beta=beta, learn_beta=learn_beta, threshold=threshold,
                         slope=slope, reset=reset, encoding=encoding, num_steps=num_steps,
                         input_shape=tuple(input_shape) or (int(sizes[0]),))
        self.sizes = [int(s) for s in sizes]
        self.fc = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in zip(self.sizes, self.sizes[1:]))
        self.zero_sum_input = bool(zero_sum_input)
        self.constrain_()

    @torch.no_grad()
    def constrain_(self) -> None:
        """With zero_sum_input: give every row of layer 1's weights zero sum (in place).

        Layer 1's current is then W (x - mean(x)): it ignores the clip's mean input level. A
        [0, 1]-normalised waveform has a mean of about 0.5 in every clip; with free weights that
        common level dominates every neuron's current and Adam's near-constant-size steps move it
        together for all 4000 weights of a row, so the waveform network does not learn (measured:
        validation AUC ~0.5). The training loop calls this after every optimiser step (projected
        gradient descent); the weights stay plain weights, deployed as they are.
        """
        if self.zero_sum_input:
            weight = self.fc[0].weight
            weight -= weight.mean(dim=1, keepdim=True)

    @property
    def stages(self) -> Sequence[nn.Module]:
        return self.fc

    def to_float_network(self):
        """The trained network as a `toolchain.frontends.float_net.FloatNetwork` (float32 numpy)."""
        from toolchain.frontends.float_net import FloatLayer

        return self.float_network([
            FloatLayer(weight=numpy_of(fc.weight), bias=numpy_of(fc.bias), name=f"fc{i + 1}", **params)
            for i, (fc, params) in enumerate(zip(self.fc, self.neuron_params()))])
