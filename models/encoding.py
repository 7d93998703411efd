"""Input encodings in torch (training side): what layer 1 of an SNN receives at each step.

Features are in [0, 1] (`toolchain.represent`). Same definitions as `toolchain.represent.encoding` (the
numpy encoders the emulator and Lava use) and `toolchain.frontends.float_net`:
- "dc": x[t] = x at every step (a constant input current; returned as [1, B, n] meaning
  "the same at every step", so layer 1 computes W @ x once);
- "rate": x[t] ~ Bernoulli(x), independent per step and input;
- "latency": one spike per input at step round((1 - x) * (T - 1)) (round half to even, computed
  in float64 like numpy); inputs equal to 0 never spike;
- "frames": the features are a sequence [B, T, n] (e.g. the "spectrogram_frames" representation:
  one spectrogram frame per step) and x[t] = features[:, t] (graded, not clipped, like "dc").
"""

from __future__ import annotations

import torch
from torch import Tensor

from toolchain.core.vocab import FLOAT_ENCODINGS as ENCODINGS


def encode(x: Tensor, encoding: str, num_steps: int,
           generator: torch.Generator | None = None) -> Tensor:
    """Layer-1 input for features `x` [B, n]: [1, B, n] for "dc", else binary [T, B, n]; for
    "frames" `x` is [B, T, n] and the result [T, B, n].

    `generator` seeds the "rate" draws (it must live on x's device).
    """
    if encoding == "dc":
        return x.unsqueeze(0)
    if encoding == "frames":
        if x.dim() != 3 or x.size(1) != num_steps:
            raise ValueError(f"encoding 'frames' needs features [B, {num_steps}, n], got {tuple(x.shape)}")
        return x.transpose(0, 1).contiguous()
    x = x.clamp(0.0, 1.0)
    if encoding == "rate":
        draws = torch.rand((num_steps,) + tuple(x.shape), generator=generator,
                           dtype=x.dtype, device=x.device)
        return (draws < x.unsqueeze(0)).to(x.dtype)
    if encoding == "latency":
        spike_step = torch.round((1.0 - x.double()) * (num_steps - 1)).long()
        steps = torch.arange(num_steps, device=x.device).view(-1, 1, 1)
        return ((steps == spike_step.unsqueeze(0)) & (x > 0).unsqueeze(0)).to(x.dtype)
    raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
