"""`conv`: a convolution (one Lava Conv process) in front of a LIF population; 1-D or 2-D.

Shapes are channels first: input (C_in, H, W) or (C_in, L), output (C_out, H_out, W_out) or
(C_out, L_out), with per spatial axis  out = floor((in + 2*padding - dilation*(k - 1) - 1) / stride) + 1.
`weight` int [C_out, C_in / groups, kH, kW] (or [C_out, C_in / groups, k]): torch's layout and
torch's cross-correlation,

    a[t][o, y, x] = sum_{c, i, j} W[o, c, i, j] * s[t][g(o)*C_in/groups + c, y*sy + i*dy - py, x*sx + j*dx - px]

(zero outside the input). Lava's Conv stores (C_out, W, H, C_in) and convolves (flips the kernel);
the Lava and netx writers transform the weights accordingly. Lava 0.10's fixed-point Conv applies
no weight exponent (weight_exp must be 0) and forms the sum in float32 before wrapping it to
24 bits, so the design rule keeps every sum below 2**23 (exact, never wrapped). Like Dense, Conv
delays by one step. A 1-D convolution runs in Lava as a 2-D one over (C, 1, L).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from toolchain.ir.kinds.base import WeightedLayer


def conv_out_size(n: int, k: int, stride: int, padding: int, dilation: int) -> int:
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


@dataclass(kw_only=True)
class Conv(WeightedLayer):
    """Convolution of `input_shape` (C, H, W) or (C, L) with `weight` [C_out, C_in/groups, *kernel]."""

    kind: ClassVar[str] = "conv"
    tensor_names: ClassVar[tuple[str, ...]] = ("weight", "bias_mant")
    scalar_names: ClassVar[tuple[str, ...]] = WeightedLayer.scalar_names + ("groups",)
    shape_names: ClassVar[tuple[str, ...]] = ("input_shape", "stride", "padding", "dilation")

    input_shape: tuple[int, ...]
    stride: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)
    dilation: tuple[int, ...] = (1, 1)
    groups: int = 1

    @property
    def ndim(self) -> int:
        return int(self.weight.ndim) - 2

    @property
    def kernel(self) -> tuple[int, ...]:
        return tuple(int(k) for k in self.weight.shape[2:])

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.input_shape)

    @property
    def out_shape(self) -> tuple[int, ...]:
        spatial = tuple(conv_out_size(n, k, s, p, d) for n, k, s, p, d in
                        zip(self.in_shape[1:], self.kernel, self.stride, self.padding, self.dilation))
        return (int(self.weight.shape[0]),) + spatial

    def worst_sum(self, max_in: int) -> int:
        w = np.abs(np.asarray(self.weight, dtype=np.int64)).reshape(self.weight.shape[0], -1)
        return int(w.sum(axis=1).max(initial=0)) * int(max_in)

    def checks(self, target, where: str) -> list[str]:
        out = []
        if self.weight.ndim not in (3, 4):
            return [f"{where} field 'weight': expected [C_out, C_in/groups, *kernel] with a 1-D or 2-D kernel, "
                    f"got shape {tuple(self.weight.shape)}"]
        nd = self.ndim
        if len(self.in_shape) != nd + 1:
            return [f"{where} field 'input_shape': {list(self.in_shape)} is not (C, {'L' if nd == 1 else 'H, W'}) "
                    f"for a {nd}-D kernel"]
        for field in ("stride", "padding", "dilation"):
            v = tuple(getattr(self, field))
            low = 0 if field == "padding" else 1
            if len(v) != nd or any(x < low for x in v):
                out.append(f"{where} field '{field}': {list(v)} must be {nd} integer(s) >= {low}")
        g = int(self.groups)
        c_in, c_out = self.in_shape[0], int(self.weight.shape[0])
        if g < 1 or c_in % g or c_out % g or self.weight.shape[1] * g != c_in:
            out.append(f"{where} field 'groups': {g} does not fit {c_in} input channels, {c_out} output channels "
                       f"and a kernel of {self.weight.shape[1]} input channels per group")
        if out:
            return out
        if any(n < 1 for n in self.out_shape[1:]):
            out.append(f"{where} field 'input_shape': {list(self.in_shape)} is smaller than the kernel "
                       f"{list(self.kernel)} (output {list(self.out_shape)})")
        lo, hi = target.conv_weight_exp
        if not lo <= int(self.weight_exp) <= hi:
            out.append(f"{where} field 'weight_exp': {int(self.weight_exp)} outside {lo}..{hi} "
                       "(Lava 0.10's fixed-point Conv applies no weight exponent)")
        return out + super().checks(target, where)
