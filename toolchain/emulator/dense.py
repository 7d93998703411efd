"""Exact integer synaptic accumulation on floating-point BLAS.

Why this is exact: every operand is an integer and every intermediate value a BLAS kernel forms
(products, partial sums in any order, FMA results) is bounded in magnitude by
    bound = max_row sum_j |W[i, j]| * max|s|.
A binary float32 number holds every integer up to 2**24 exactly, float64 up to 2**53, so when
bound < 2**24 (float32) or bound < 2**53 (float64) no rounding can happen and the result equals
the int64 sum. The IR's accumulator check already guarantees bound <= 2**31 - 1 (Lava's int32
accumulator), so float64 always suffices; float32 is used when bound < 2**24, which is about
twice as fast: always for binary spikes while the fan-in times the largest |weight| stays below
2**24 (9-bit weights, fan-in below 65,536). A graded input layer's worst case (e.g. 14175 inputs x
127 x 255) needs float64, but a row whose own |x|_1 * max|W| is below 2**24 cannot reach it, so
such rows (sparse inputs such as linear-power spectrograms) run in float32 too; the others in
float64. The products run on torch's CPU BLAS (multi-threaded).

That float path is the fallback. Where the inputs are integers in [0, 255] (spikes, 8-bit graded
payloads) and the layer's bound allows int32, the product runs on ONNX Runtime's exact integer
kernels instead (`toolchain.emulator.intmm`: int8 x uint8 -> int32, several times faster), and the
float layout is built only if some call's inputs fall outside that range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

F32_EXACT = 2 ** 24
F64_EXACT = 2 ** 53


@dataclass
class FloatDense:
    """W.T laid out for float BLAS in the narrowest exact float type."""

    wt: torch.Tensor  # [n_in, n_out] float32 or float64
    wt32: torch.Tensor | None = None  # float32 copy when wt is float64 (for rows with a small |x|_1)

    @property
    def np_dtype(self):
        return np.float32 if self.wt.dtype == torch.float32 else np.float64


@dataclass
class PreparedDense:
    """A weight matrix laid out for `accumulate`: the exact integer product where it applies, and
    (built on first need) the float BLAS layout."""

    weight: np.ndarray  # int64 [n_out, n_in]
    weight_exp: int
    bound: int  # worst-case |W @ s| for the input range it was prepared for
    wmax: int = 0  # max |W|
    int_mm: object = None  # toolchain.emulator.intmm.IntMatMul, or None
    _float: FloatDense | None = None

    @property
    def float(self) -> FloatDense:
        if self._float is None:
            dtype = np.float32 if self.bound < F32_EXACT else np.float64
            wt = np.ascontiguousarray(self.weight.T.astype(dtype))
            wt32 = torch.from_numpy(wt.astype(np.float32)) if dtype == np.float64 else None
            self._float = FloatDense(torch.from_numpy(wt), wt32)
        return self._float


def prepare(weight: np.ndarray, weight_exp: int, max_input: int, *, int_kernels: bool = True) -> PreparedDense:
    """Prepare integer weights [n_out, n_in] for inputs with |s| <= max_input (int_kernels=False:
    float BLAS only)."""
    from toolchain.emulator.intmm import prepare_matmul

    w64 = np.asarray(weight, dtype=np.int64)
    bound = int(np.abs(w64).sum(axis=1).max(initial=0)) * int(max_input)
    if bound >= F64_EXACT:
        raise ValueError(f"accumulation bound {bound} exceeds exact float64 integers (2**53)")
    p = PreparedDense(weight=w64, weight_exp=int(weight_exp), bound=bound, wmax=int(np.abs(w64).max(initial=0)))
    p.int_mm = prepare_matmul(w64, int(max_input)) if int_kernels else None
    if p.int_mm is None:
        p.float  # noqa: B018 - lay out the float path now, not inside the first timed call
    return p


def shift(acc: np.ndarray, weight_exp: int) -> np.ndarray:
    """acc << weight_exp as Lava applies it (a negative exponent: floor(acc / 2**-weight_exp)),
    float64 exact integers; int32 sums stay int32 with weight_exp <= 0 (the arithmetic right
    shift is that floor)."""
    if weight_exp == 0:
        return acc if acc.dtype in (np.int32, np.float64) else acc.astype(np.float64)
    if weight_exp < 0 and acc.dtype == np.int32:
        return np.right_shift(acc, -weight_exp)
    acc = acc.astype(np.float64, copy=False)
    if weight_exp > 0:
        return acc * float(2 ** weight_exp)
    return np.floor(acc / float(2 ** -weight_exp))


def accumulate(p: PreparedDense, s: np.ndarray) -> np.ndarray:
    """Activations a = (W @ s) << weight_exp for inputs s [M, n_in]: exact integers [M, n_out],
    int32 (integer kernels, weight_exp <= 0) or float64.

    A negative weight_exp is Lava's arithmetic right shift of the sum: floor(acc / 2**-weight_exp).
    """
    if p.int_mm is not None:
        acc = p.int_mm(s)
        if acc is not None:
            return shift(acc, p.weight_exp)
    f = p.float
    if f.wt32 is not None:
        small = np.abs(s).sum(axis=1, dtype=np.float64) * p.wmax < F32_EXACT  # rows exact in float32
        acc = np.empty((s.shape[0], f.wt.shape[1]), dtype=np.float64)
        if small.any():
            acc[small] = (torch.from_numpy(np.ascontiguousarray(s[small], dtype=np.float32)) @ f.wt32).numpy()
        if not small.all():
            acc[~small] = (torch.from_numpy(np.ascontiguousarray(s[~small], dtype=np.float64)) @ f.wt).numpy()
    else:
        acc = (torch.from_numpy(np.ascontiguousarray(s, dtype=f.np_dtype)) @ f.wt).numpy()
        acc = acc.astype(np.float64, copy=False)
    return shift(acc, p.weight_exp)
