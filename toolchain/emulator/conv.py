"""Exact integer convolution: im2col (torch unfold) and one float BLAS product per chunk.

Exactness: every operand is an integer and every sum a product forms is bounded by
bound = max_o sum_{c, i, j} |W[o, c, i, j]| * max|s|; the IR's conv rule keeps bound <= 2**23 - 1,
inside float32's exact integers (2**24), so the float32 GEMM over the unfolded input (partial sums
in any order) returns the int64 result exactly; float64 is used when a bound is larger (an IR
loaded without checks). The unfold itself only copies values. A 1-D convolution is computed as a
2-D one over (C, 1, L). Groups are separate GEMMs over their channel slices.
(ONNX Runtime's integer ConvInteger is not used: see `toolchain.emulator.intmm`.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from toolchain.emulator.dense import F32_EXACT, F64_EXACT

_CHUNK_ELEMS = 1 << 26  # unfolded elements per GEMM chunk (256 MB in float32)


@dataclass
class PreparedConv:
    """Kernel [groups, C_out/groups, C_in/groups * kH * kW] in the narrowest exact float type."""

    wmat: torch.Tensor
    in_shape: tuple[int, int, int]  # (C, H, W) (1-D: H = 1)
    out_shape: tuple[int, int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    bound: int


def _as_2d(t: tuple, one: int) -> tuple[int, int]:
    return (one, int(t[0])) if len(t) == 1 else (int(t[0]), int(t[1]))


def prepare_conv(layer, max_input: int) -> PreparedConv:
    """Lay out a `conv` IR layer's integer kernel for inputs with |s| <= max_input."""
    w = np.asarray(layer.weight, dtype=np.int64)
    if w.ndim == 3:
        w = w[:, :, None, :]
    bound = int(np.abs(w).reshape(w.shape[0], -1).sum(axis=1).max(initial=0)) * int(max_input)
    if bound >= F64_EXACT:
        raise ValueError(f"accumulation bound {bound} exceeds exact float64 integers (2**53)")
    dtype = torch.float32 if bound < F32_EXACT else torch.float64
    g = int(layer.groups)
    c_out = w.shape[0]
    wmat = torch.from_numpy(w.reshape(g, c_out // g, -1).astype(np.float64)).to(dtype)
    in_shape = tuple(layer.in_shape) if len(layer.in_shape) == 3 else (layer.in_shape[0], 1, layer.in_shape[1])
    out = tuple(layer.out_shape) if len(layer.out_shape) == 3 else (layer.out_shape[0], 1, layer.out_shape[1])
    return PreparedConv(wmat=wmat, in_shape=in_shape, out_shape=out, kernel=(w.shape[2], w.shape[3]),
                        stride=_as_2d(layer.stride, 1), padding=_as_2d(layer.padding, 0),
                        dilation=_as_2d(layer.dilation, 1), groups=g, bound=bound)


def conv_accumulate(p: PreparedConv, s: np.ndarray) -> np.ndarray:
    """Sums a[m, o] of the convolution for inputs s [M, C*H*W] (channels first): exact integers,
    float64 [M, C_out*H_out*W_out] in channels-first order."""
    C, H, W = p.in_shape
    M = s.shape[0]
    k_elems = (C // p.groups) * p.kernel[0] * p.kernel[1]
    L_out = p.out_shape[1] * p.out_shape[2]
    per = max(1, _CHUNK_ELEMS // max(1, C * p.kernel[0] * p.kernel[1] * L_out))
    out = np.empty((M, p.out_shape[0] * L_out), dtype=np.float64)
    dtype = p.wmat.dtype
    for start in range(0, M, per):
        x = torch.from_numpy(np.ascontiguousarray(s[start:start + per])).to(dtype).reshape(-1, C, H, W)
        cols = F.unfold(x, p.kernel, dilation=p.dilation, padding=p.padding, stride=p.stride)  # [m, C*k, L]
        cols = cols.reshape(x.shape[0], p.groups, k_elems, L_out)
        res = torch.matmul(p.wmat, cols)  # [g, C_out/g, k] @ [m, g, k, L] -> [m, g, C_out/g, L], batched BLAS
        out[start:start + per] = res.reshape(x.shape[0], -1).double().numpy()
    return out
