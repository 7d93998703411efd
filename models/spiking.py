"""What every trainable SNN of neurodeploy shares: a stack of synapse stages, each feeding one
layer of snntorch-style Leaky neurons run over all time steps at once (`models.lif`).

A stage is a module mapping its input for all steps, [S, B, n_in] (S = 1: the same input at every
step, e.g. the "dc" encoding's layer 1; else S = num_steps; values flattened channels first, a
convolution stage reshapes them to its own input shape), to the current of its neurons [S, B, n]
(n = the layer's neurons, flattened channels first), optionally with an attribute
`weight_rec` [n, n] (an all-to-all recurrent layer: V @ s[t-1] joins the current at step t).
Because every stage is feed-forward in its input, each layer is done for all T steps before the
next, and each stage's current is one product over all steps (a constant input is multiplied
once).

Per layer l: one scalar beta_l (learnable: stored as a logit, beta_l = sigmoid(logit_l), so it
stays in (0, 1)), one threshold and one reset for the whole network. The output is the spike count
of the last layer over num_steps: counts [B, n_classes], each in 0..num_steps, used as logits by
the loss and as the score (counts[:, 1] - counts[:, 0]) for AUC. After each forward,
`firing_rates` holds per layer the mean spikes per neuron per step (detached 0-dim tensors).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from models.encoding import ENCODINGS, encode
from models.lif import RESETS, leaky_sequence


def synapse(stage: nn.Module) -> nn.Module:
    """The module holding a stage's input weight and bias (the stage itself for nn.Linear)."""
    return getattr(stage, "synapse", stage)


class SpikingStack(nn.Module):
    """Base of the SNN models: beta per layer, the layer loop, calibration, firing rates.

    Subclasses provide `stages` (the synapse stages in order) and `to_float_network()`.
    `input_shape` is one clip's feature shape; with the "frames" encoding its first axis is time.
    """

    kind = "snn"

    def __init__(self, n_layers: int, *, beta: float, learn_beta: bool, threshold: float,
                 slope: float, reset: str, encoding: str, num_steps: int,
                 input_shape: Sequence[int]) -> None:
        super().__init__()
        if not (0.0 < beta <= 1.0) or (learn_beta and beta >= 1.0):
            raise ValueError(f"beta must be in (0, 1] ((0, 1) when learnable), got {beta}")
        if reset not in RESETS or encoding not in ENCODINGS or num_steps < 1 or threshold <= 0:
            raise ValueError(f"bad SNN settings: reset={reset!r} encoding={encoding!r} "
                             f"num_steps={num_steps} threshold={threshold}")
        self.input_shape = tuple(int(s) for s in input_shape)
        if encoding == "frames" and (len(self.input_shape) < 2 or self.input_shape[0] != num_steps):
            raise ValueError(f"encoding 'frames' feeds row t of a [T, ...] input at step t: the input "
                             f"shape {list(self.input_shape)} must have num_steps = {num_steps} rows")
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
        self.firing_rates: list[Tensor] = []

    @property
    def stages(self) -> Sequence[nn.Module]:
        raise NotImplementedError

    def betas(self) -> Tensor:
        """The effective decay of each layer, [n_layers]."""
        return torch.sigmoid(self.beta_logit) if self.learn_beta else self.beta_fixed

    @property
    def step_shape(self) -> tuple[int, ...]:
        """One step's input to layer 1 (per clip): a frame for "frames", else the whole clip."""
        return self.input_shape[1:] if self.encoding == "frames" else self.input_shape

    def encode_input(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Layer 1's input [S, B, prod(step_shape)] for features `x` [B, *input_shape]."""
        if self.encoding == "frames":
            return encode(x.flatten(2), "frames", self.num_steps)
        return encode(x.flatten(1), self.encoding, self.num_steps, generator)

    def _spikes(self, layer: int, stage: nn.Module, current: Tensor, betas: Tensor) -> Tensor:
        return leaky_sequence(current, betas[layer], self.threshold, self.slope, self.reset,
                              self.num_steps, getattr(stage, "weight_rec", None))

    def layer_spikes(self, x: Tensor, generator: torch.Generator | None = None) -> list[Tensor]:
        """Spikes of every layer, each [T, B, n_l] (n_l flattened channels first)."""
        inputs = self.encode_input(x, generator)
        betas = self.betas()
        spikes = []
        for layer, stage in enumerate(self.stages):
            inputs = self._spikes(layer, stage, stage(inputs), betas)
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
        """Rescale each layer's input weights (and bias), first layer to last, so that its mean
        firing rate (spikes per neuron per step) on features `x` is `rate`; returns the factors.

        A data-driven initialisation: with torch's default init a wide layer fed by sparse
        inputs (a linear-power spectrogram) stays silent and the network cannot learn. Each
        factor is found by bisection of log(factor) in [log 1e-4, log 1e4]; the rate grows
        monotonically with the factor for a given input (a recurrent layer's V is kept as it is).
        """
        inputs = self.encode_input(x, generator)
        betas = self.betas()
        scales = []
        for layer, stage in enumerate(self.stages):
            current = stage(inputs)
            lo, hi = math.log(1e-4), math.log(1e4)
            for _ in range(iterations):
                mid = 0.5 * (lo + hi)
                fired = self._spikes(layer, stage, current * math.exp(mid), betas).mean()
                lo, hi = (mid, hi) if fired < rate else (lo, mid)
            scale = math.exp(0.5 * (lo + hi))
            module = synapse(stage)
            module.weight.mul_(scale)
            if module.bias is not None:
                module.bias.mul_(scale)
            inputs = self._spikes(layer, stage, stage(inputs), betas)
            scales.append(scale)
        return scales

    def neuron_params(self) -> list[dict]:
        """Per layer, the neuron fields of a FloatNetwork layer (beta, threshold, reset)."""
        betas = self.betas().detach().cpu().tolist()
        return [{"beta": float(b), "threshold": self.threshold, "reset": self.reset} for b in betas]

    def float_metadata(self) -> dict:
        return {"source": f"neurodeploy.models.{type(self).__name__}", "slope": self.slope,
                "learn_beta": self.learn_beta, "readout": "spike_count"}

    def float_network(self, layers: list):
        """A FloatNetwork of `layers` with this model's steps, encoding and input shape (a conv
        first layer's (C, H, W) / (C, L), channel axis included, as the IR's input shape is)."""
        from toolchain.frontends.float_net import FloatNetwork

        conv_first = layers[0].kind == "conv" and self.encoding != "frames"
        return FloatNetwork(layers=layers, num_steps=self.num_steps, encoding=self.encoding,
                            input_shape=layers[0].in_shape if conv_first else self.input_shape,
                            metadata=self.float_metadata())


def numpy_of(t: Tensor | None):
    """A float32 numpy copy of a parameter (None stays None)."""
    return None if t is None else t.detach().cpu().float().numpy().copy()
