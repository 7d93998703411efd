"""ANN baselines on the same features as the SNNs: plain torch, exportable with torch.onnx.export.

- `ANNMLP`: the SNN's layer sizes with ReLU instead of Leaky neurons; input [B, n_in] (or any
  [B, ...] with n_in values, flattened); output logits [B, 2].
- `SpectrogramCNN`: a small "traditional" CNN on the spectrogram; input [B, 1, H, W] (a [B, H, W]
  batch gets the channel axis added); blocks of Conv2d (same padding) + ReLU + MaxPool2d(2), then
  Linear -> ReLU -> Linear; output logits [B, 2].
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn


class ANNMLP(nn.Module):
    """MLP with ReLU between Linear layers of `sizes` [n_in, h1, ..., n_classes]."""

    kind = "ann_mlp"

    def __init__(self, sizes: Sequence[int], *, bias: bool = True, input_shape: Sequence[int] = ()) -> None:
        super().__init__()
        self.sizes = [int(s) for s in sizes]
        self.input_shape = tuple(int(s) for s in input_shape) or (self.sizes[0],)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(self.sizes, self.sizes[1:])):
            layers.append(nn.Linear(a, b, bias=bias))
            if i < len(self.sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1))


class SpectrogramCNN(nn.Module):
    """Small CNN: channels per conv block, square `kernel`, `hidden` units before the 2 logits."""

    kind = "cnn"

    def __init__(self, input_shape: Sequence[int], *, channels: Sequence[int] = (8, 16, 32),
                 kernel: int = 5, hidden: int = 64, n_classes: int = 2, bias: bool = True) -> None:
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        if len(self.input_shape) != 2:
            raise ValueError(f"SpectrogramCNN needs a 2-D input (H, W), got {self.input_shape}")
        blocks: list[nn.Module] = []
        in_ch = 1
        for out_ch in channels:
            blocks += [nn.Conv2d(in_ch, int(out_ch), kernel, padding=kernel // 2, bias=bias),
                       nn.ReLU(), nn.MaxPool2d(2)]
            in_ch = int(out_ch)
        self.features = nn.Sequential(*blocks)
        with torch.no_grad():
            n_flat = self.features(torch.zeros(1, 1, *self.input_shape)).numel()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(n_flat, hidden, bias=bias), nn.ReLU(),
                                  nn.Linear(hidden, n_classes, bias=bias))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return self.head(self.features(x))
