"""Exact integer convolution: im2col (torch unfold) and one float BLAS product per chunk.

Used for a graded payload sent once and for runs that record range statistics; per-step integer
input (spikes, frames) runs event-driven, fused with the LIF update (`toolchain.emulator.events`).

Exactness: every operand is an integer and every sum a product forms is bounded by
bound = max_o sum_{c, i, j} |W[o, c, i, j]| * max|s|; the IR's conv rule keeps bound <= 2**23 - 1,
inside float32's exact integers (2**24), so the float32 GEMM over the unfolded input (partial sums
in any order) returns the int64 result exactly; float64 is used when a bound is larger (an IR
loaded without checks). The unfold itself only copies values. A 1-D convolution is computed as a
2-D one over (C, 1, L). Groups are separate GEMMs over their channel slices.

Where the inputs are integers in [0, 255] and the layer has one group, the product runs instead on
the exact integer MatMulInteger of `toolchain.emulator.intmm` (int32 sums, its bound and self-test):
a numba im2col writes each output position's patch as a uint8 row [C * kH * kW] (the kernel's own
order), the product gives [positions, C_out] and a numba transpose puts it channels first. Both
kernels only copy integers. (ONNX Runtime's ConvInteger is not used: see `toolchain.emulator.intmm`.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Lava's runtime before numba's parallel runtime (see toolchain.emulator.lif)
import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: F401
import numba
import numpy as np
import torch
import torch.nn.functional as F

from toolchain.emulator.dense import F32_EXACT, F64_EXACT
from toolchain.emulator.intmm import Scratch, as_u8, prepare_matmul

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
    int_mm: object = None  # toolchain.emulator.intmm.IntMatMul over [C*kH*kW] patches, or None
    cols: Scratch = field(default_factory=lambda: Scratch(np.uint8))  # uint8 patches of one sub-batch
    result: Scratch = field(default_factory=Scratch)  # int32 channels-first sums of one call


def _as_2d(t: tuple, one: int) -> tuple[int, int]:
    return (one, int(t[0])) if len(t) == 1 else (int(t[0]), int(t[1]))


def prepare_conv(layer, max_input: int, *, int_kernels: bool = True) -> PreparedConv:
    """Lay out a `conv` IR layer's integer kernel for inputs with |s| <= max_input (int_kernels=False:
    float BLAS only)."""
    w = np.asarray(layer.weight, dtype=np.int64)
    int_mm = None
    if int_kernels and int(layer.groups) == 1:
        int_mm = prepare_matmul(w.reshape(w.shape[0], -1), int(max_input))
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
                        dilation=_as_2d(layer.dilation, 1), groups=g, bound=bound, int_mm=int_mm)


@numba.njit(parallel=True, cache=True, nogil=True)
def _im2col(x, kh, kw, sh, sw, dh, dw, Ho, Wo, cols):
    """cols[m, oy * Wo + ox, (c * kh + i) * kw + j] = x[m, c, oy*sh + i*dh, ox*sw + j*dw]: x uint8
    [M, C, H, W] already zero-padded, cols uint8 [M, Ho*Wo, C*kh*kw]."""
    M, C, H, W = x.shape
    for m in numba.prange(M):
        for oy in range(Ho):
            for ox in range(Wo):
                dst = cols[m, oy * Wo + ox]
                k = 0
                for c in range(C):
                    for i in range(kh):
                        src = x[m, c, oy * sh + i * dh]
                        for j in range(kw):
                            dst[k] = src[ox * sw + j * dw]
                            k += 1


@numba.njit(parallel=True, cache=True, nogil=True)
def _channels_first(acc, out):
    """out[m, o, l] = acc[m, l, o] for o < out.shape[1] (acc int32 [M, L, width >= C_out])."""
    M, L, _ = acc.shape
    n_out = out.shape[1]
    for m in numba.prange(M):
        for p0 in range(0, L, 64):
            p1 = min(p0 + 64, L)
            for o in range(n_out):
                for pos in range(p0, p1):
                    out[m, o, pos] = acc[m, pos, o]


def _int_conv(p: PreparedConv, s: np.ndarray) -> np.ndarray | None:
    """The integer path (module docstring): int32 [M, C_out*H_out*W_out], or None when the inputs
    are not integers in [0, 255]."""
    x = as_u8(s)
    if x is None:
        return None
    C, H, W = p.in_shape
    c_out, Ho, Wo = p.out_shape
    M, L, K = s.shape[0], Ho * Wo, C * p.kernel[0] * p.kernel[1]
    x = np.ascontiguousarray(x).reshape(M, C, H, W)
    if p.padding != (0, 0):
        x = np.pad(x, ((0, 0), (0, 0), (p.padding[0],) * 2, (p.padding[1],) * 2))
    out = p.result.get((M, c_out, L))
    per = max(1, _CHUNK_ELEMS // max(1, L * max(K, p.int_mm.width * 4)))  # images per product
    for start in range(0, M, per):
        part = x[start:start + per]
        cols = p.cols.get((part.shape[0], L, K))
        _im2col(part, p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.dilation[0], p.dilation[1], Ho, Wo,
                cols)
        acc = p.int_mm.padded(cols.reshape(-1, K))
        _channels_first(acc.reshape(part.shape[0], L, -1), out[start:start + per])
    return out.reshape(M, c_out * L)


def conv_accumulate(p: PreparedConv, s: np.ndarray) -> np.ndarray:
    """Sums a[m, o] of the convolution for inputs s [M, C*H*W] (channels first): exact integers,
    [M, C_out*H_out*W_out] in channels-first order (int32 from the integer path, valid until the
    next call; else float64)."""
    if p.int_mm is not None:
        acc = _int_conv(p, s)
        if acc is not None:
            return acc
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
