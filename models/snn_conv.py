"""A spiking CNN: Conv1d / Conv2d + Leaky layers, flatten, Linear + Leaky layers (`snn_conv`).

Layers (channels first, torch's layout and cross-correlation; no pooling, which Loihi's Conv
process does not do: stride downsamples instead):

    input (1, *step_shape) -> [Conv(k, stride, padding) -> Leaky] x len(channels)
        -> flatten (C, H, W) -> (C*H*W,) -> [Linear -> Leaky] x len(hidden) -> Linear -> Leaky (2)

A 2-D input (the spectrogram, [105, 135]) gets Conv2d with square kernels, a 1-D input (the
waveform, [4000]) Conv1d; with the "frames" encoding the convolution runs over each step's frame
(a 1-D conv over the 105 bins of one spectrogram frame). Every conv current carries one bias per
output channel when bias is on.

Fast path (as `models.snn_mlp`): with "dc" input, layer 1's current conv(W, x) + b is the same at
every step, so it is computed once ([1, B, n]) and held for T steps by `models.lif.leaky_sequence`;
every later layer's current is one conv (or matmul) over all T*B step-samples at once.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from torch import Tensor, nn

from models.spiking import SpikingStack, numpy_of
from toolchain.ir.kinds.conv import conv_out_size

N_CLASSES = 2


def per_layer(value: int | Sequence[int], n: int, what: str) -> list[int]:
    """An int for every one of n conv layers, or a list of n ints, as a list of n ints."""
    values = [int(value)] * n if isinstance(value, int) else [int(v) for v in value]
    if len(values) != n:
        raise ValueError(f"{what} needs one value per conv layer ({n}), got {list(values)}")
    return values


def conv_shapes(step_shape: Sequence[int], channels: Sequence[int], kernel, stride,
                padding) -> list[tuple[int, ...]]:
    """Each conv layer's output shape (C, *spatial) for one step's input `step_shape` (without
    the channel); ValueError naming the layer when a layer leaves no output."""
    n = len(channels)
    shape = (1,) + tuple(int(v) for v in step_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"snn_conv needs 1-D or 2-D features per step, got shape {list(step_shape)}")
    out = []
    for i, (c, k, s, p) in enumerate(zip(channels, per_layer(kernel, n, "kernel"),
                                         per_layer(stride, n, "stride"), per_layer(padding, n, "padding"))):
        spatial = tuple(conv_out_size(v, k, s, p, 1) for v in shape[1:])
        if min(spatial) < 1:
            raise ValueError(f"conv layer {i + 1} (kernel {k}, stride {s}, padding {p}) leaves no output "
                             f"on its input {list(shape)}")
        shape = (int(c),) + spatial
        out.append(shape)
    return out


class ConvStage(nn.Module):
    """A Conv1d / Conv2d applied to every step-sample: [S, B, C_in*prod(in)] -> [S, B, n_out]."""

    def __init__(self, in_shape: Sequence[int], out_channels: int, kernel: int, stride: int,
                 padding: int, bias: bool) -> None:
        """`in_shape` (C_in, L) or (C_in, H, W); square kernels, the same stride on every axis."""
        super().__init__()
        self.in_shape = tuple(int(v) for v in in_shape)
        conv = nn.Conv1d if len(self.in_shape) == 2 else nn.Conv2d
        self.synapse = conv(self.in_shape[0], int(out_channels), int(kernel), stride=int(stride),
                            padding=int(padding), bias=bias)

    def forward(self, inputs: Tensor) -> Tensor:
        steps, batch = inputs.shape[:2]
        out = self.synapse(inputs.reshape((steps * batch,) + self.in_shape))
        return out.reshape(steps, batch, -1)

    def to_float(self, params: dict, name: str):
        from toolchain.frontends.float_net import FloatConv

        conv = self.synapse
        return FloatConv(weight=numpy_of(conv.weight), bias=numpy_of(conv.bias), name=name,
                         input_shape=self.in_shape, stride=tuple(conv.stride),
                         padding=tuple(conv.padding), dilation=tuple(conv.dilation),
                         groups=int(conv.groups), **params)


class SNNConv(SpikingStack):
    """Spiking CNN on one clip's features `input_shape` (see the module docstring).

    channels: output channels per conv layer; kernel / stride / padding: one int for all conv
    layers or one per layer; hidden: Linear + Leaky sizes after the flatten (then the 2 outputs).
    The neuron settings are those of `models.snn_mlp.SNNMLP`.
    """

    kind = "snn_conv"

    def __init__(self, input_shape: Sequence[int], *, channels: Sequence[int] = (8, 16),
                 kernel: int | Sequence[int] = 5, stride: int | Sequence[int] = 2,
                 padding: int | Sequence[int] = 0, hidden: Sequence[int] = (64,),
                 n_classes: int = N_CLASSES, bias: bool = False, beta: float = 0.9,
                 learn_beta: bool = False, threshold: float = 1.0, slope: float = 25.0,
                 reset: str = "zero", encoding: str = "dc", num_steps: int = 10) -> None:
        n = len(channels)
        if n < 1:
            raise ValueError("snn_conv needs at least one conv layer (channels)")
        super().__init__(n + len(hidden) + 1, beta=beta, learn_beta=learn_beta, threshold=threshold,
                         slope=slope, reset=reset, encoding=encoding, num_steps=num_steps,
                         input_shape=input_shape)
        shapes = conv_shapes(self.step_shape, channels, kernel, stride, padding)
        ins = [(1,) + tuple(self.step_shape)] + shapes[:-1]
        stages: list[nn.Module] = [
            ConvStage(shape, c, k, s, p, bias) for shape, c, k, s, p in
            zip(ins, channels, per_layer(kernel, n, "kernel"), per_layer(stride, n, "stride"),
                per_layer(padding, n, "padding"))]
        self.conv_out_shape = shapes[-1]
        shape = shapes[-1]
        sizes = [int(np.prod(shape)), *[int(h) for h in hidden], int(n_classes)]
        stages += [nn.Linear(a, b, bias=bias) for a, b in zip(sizes, sizes[1:])]
        self.layers = nn.ModuleList(stages)
        self.n_conv = n

    @property
    def stages(self) -> Sequence[nn.Module]:
        return self.layers

    def to_float_network(self):
        """FloatConv layers, a FloatFlatten (channels first), FloatLayer layers (float32 numpy)."""
        from toolchain.frontends.float_net import FloatFlatten, FloatLayer

        params = self.neuron_params()
        layers: list = [stage.to_float(params[i], f"conv{i + 1}")
                        for i, stage in enumerate(self.layers[:self.n_conv])]
        layers.append(FloatFlatten(shape=tuple(self.conv_out_shape)))
        for j, fc in enumerate(self.layers[self.n_conv:]):
            layers.append(FloatLayer(weight=numpy_of(fc.weight), bias=numpy_of(fc.bias),
                                     name=f"fc{j + 1}", **params[self.n_conv + j]))
        return self.float_network(layers)
