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

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from models.encoding import ENCODINGS, encode
from models.lif import RESETS, leaky_sequence

N_CLASSES = 2
# The seed study's hidden layers (CAID 2025 talk, "SNN architectures" table).
SEED_HIDDEN = {"waveform": (2048, 512, 64), "spectrogram": (4096, 512, 64)}


def seed_sizes(representation: str, n_in: int) -> list[int]:
    """Layer sizes of the seed's MLP for a representation: [n_in, *hidden, 2]."""
    return [int(n_in), *SEED_HIDDEN[representation], N_CLASSES]


class SNNMLP(nn.Module):
    """Feed-forward SNN: sizes [n_in, h1, ..., n_classes]; returns output spike counts [B, n_classes].

    beta: decay per step in (0, 1] (the initial value if learn_beta, then in (0, 1));
    threshold: spike when mem > threshold (membrane units = weight units x input units);
    slope: fast-sigmoid surrogate slope; num_steps: simulation steps per sample;
    zero_sum_input: keep layer 1's weight rows at zero sum (see `constrain_`).
    After each forward, `firing_rates` holds per layer the mean spikes per neuron per step
    (detached 0-dim tensors), for diagnostics.
    """

    kind = "snn"

    def __init__(self, sizes: Sequence[int], *, beta: float = 0.9, learn_beta: bool = False,
                 threshold: float = 1.0, slope: float = 25.0, reset: str = "zero",
                 encoding: str = "dc", num_steps: int = 25, bias: bool = False,
                 zero_sum_input: bool = False, input_shape: Sequence[int] = ()) -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {list(sizes)}")
        if not (0.0 < beta <= 1.0) or (learn_beta and beta >= 1.0):
            raise ValueError(f"beta must be in (0, 1] ((0, 1) when learnable), got {beta}")
        if reset not in RESETS or encoding not in ENCODINGS or num_steps < 1 or threshold <= 0:
            raise ValueError(f"bad SNN settings: reset={reset!r} encoding={encoding!r} "
                             f"num_steps={num_steps} threshold={threshold}")
        self.sizes = [int(s) for s in sizes]
        self.fc = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in zip(self.sizes, self.sizes[1:]))
        n_layers = len(self.fc)
        self.learn_beta = bool(learn_beta)
        if self.learn_beta:
            self.beta_logit = nn.Parameter(torch.full((n_layers,), math.log(beta / (1.0 - beta))))
        else:
            self.register_buffer("beta_fixed", torch.full((n_layers,), float(beta)))
        self.threshold = float(threshold)
        self.slope = float(slope)
        self.reset = reset
        self.encoding = encoding
        self.num_steps = int(num_steps)
        self.input_shape = tuple(int(s) for s in input_shape) or (self.sizes[0],)
        self.zero_sum_input = bool(zero_sum_input)
        self.firing_rates: list[Tensor] = []
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

    def betas(self) -> Tensor:
        """The effective decay of each layer, [n_layers]."""
        return torch.sigmoid(self.beta_logit) if self.learn_beta else self.beta_fixed

    def layer_spikes(self, x: Tensor, generator: torch.Generator | None = None) -> list[Tensor]:
        """Spikes of every layer, each [T, B, n_l], for features `x` [B, *input_shape]."""
        inputs = encode(x.flatten(1), self.encoding, self.num_steps, generator)
        betas = self.betas()
        spikes = []
        for layer, fc in enumerate(self.fc):
            current = fc(inputs)
            inputs = leaky_sequence(current, betas[layer], self.threshold, self.slope, self.reset,
                                    self.num_steps)
            spikes.append(inputs)
        return spikes

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Output spike counts [B, n_classes] over num_steps."""
        spikes = self.layer_spikes(x, generator)
        self.firing_rates = [s.detach().mean() for s in spikes]
        return spikes[-1].sum(0)

    @torch.no_grad()
    def calibrate(self, x: Tensor, rate: float, generator: torch.Generator | None = None,
                  iterations: int = 24) -> list[float]:
        """Rescale each layer's weights (and bias), first layer to last, so that its mean firing
        rate (spikes per neuron per step) on features `x` is `rate`; returns the scale factors.

        A data-driven initialisation: with torch's default init a wide layer fed by sparse
        inputs (a linear-power spectrogram) stays silent and the network cannot learn. Each
        factor is found by bisection of log(factor) in [log 1e-4, log 1e4]; the rate grows
        monotonically with the factor for a given input.
        """
        inputs = encode(x.flatten(1), self.encoding, self.num_steps, generator)
        betas = self.betas()
        scales = []
        for layer, fc in enumerate(self.fc):
            current = fc(inputs)
            lo, hi = math.log(1e-4), math.log(1e4)
            for _ in range(iterations):
                mid = 0.5 * (lo + hi)
                fired = leaky_sequence(current * math.exp(mid), betas[layer], self.threshold,
                                       self.slope, self.reset, self.num_steps).mean()
                lo, hi = (mid, hi) if fired < rate else (lo, mid)
            scale = math.exp(0.5 * (lo + hi))
            fc.weight.mul_(scale)
            if fc.bias is not None:
                fc.bias.mul_(scale)
            inputs = leaky_sequence(fc(inputs), betas[layer], self.threshold, self.slope,
                                    self.reset, self.num_steps)
            scales.append(scale)
        return scales

    def to_float_network(self):
        """The trained network as a `toolchain.frontends.float_net.FloatNetwork` (float32 numpy)."""
        from toolchain.frontends.float_net import FloatLayer, FloatNetwork

        betas = self.betas().detach().cpu().tolist()
        layers = [
            FloatLayer(weight=fc.weight.detach().cpu().numpy().copy(),
                       bias=None if fc.bias is None else fc.bias.detach().cpu().numpy().copy(),
                       beta=float(betas[i]), threshold=self.threshold, reset=self.reset,
                       name=f"fc{i + 1}")
            for i, fc in enumerate(self.fc)
        ]
        return FloatNetwork(layers=layers, num_steps=self.num_steps, encoding=self.encoding,
                            input_shape=self.input_shape,
                            metadata={"source": "neurodeploy.models.SNNMLP", "slope": self.slope,
                                      "learn_beta": self.learn_beta, "readout": "spike_count"})
