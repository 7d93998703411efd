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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

F32_EXACT = 2 ** 24
F64_EXACT = 2 ** 53


@dataclass
class PreparedDense:
    """A weight matrix laid out for `accumulate`: W.T in the narrowest exact float type."""

    wt: torch.Tensor  # [n_in, n_out] float32 or float64
    weight_exp: int
    bound: int  # worst-case |W @ s| for the input range it was prepared for
    wt32: torch.Tensor | None = None  # float32 copy when wt is float64 (for rows with a small |x|_1)
    wmax: int = 0  # max |W|

    @property
    def np_dtype(self):
        return np.float32 if self.wt.dtype == torch.float32 else np.float64


def prepare(weight: np.ndarray, weight_exp: int, max_input: int) -> PreparedDense:
    """Prepare integer weights [n_out, n_in] for inputs with |s| <= max_input."""
    w64 = np.asarray(weight, dtype=np.int64)
    bound = int(np.abs(w64).sum(axis=1).max(initial=0)) * int(max_input)
    if bound >= F64_EXACT:
        raise ValueError(f"accumulation bound {bound} exceeds exact float64 integers (2**53)")
    dtype = np.float32 if bound < F32_EXACT else np.float64
    wt = np.ascontiguousarray(w64.T.astype(dtype))
    wt32 = torch.from_numpy(wt.astype(np.float32)) if dtype == np.float64 else None
    return PreparedDense(wt=torch.from_numpy(wt), weight_exp=int(weight_exp), bound=bound, wt32=wt32,
                         wmax=int(np.abs(w64).max(initial=0)))


def accumulate(p: PreparedDense, s: np.ndarray) -> np.ndarray:
    """Activations a = (W @ s) << weight_exp for inputs s [M, n_in]: exact integers in float64 [M, n_out].

    A negative weight_exp is Lava's arithmetic right shift of the sum: floor(acc / 2**-weight_exp).
    """
    if p.wt32 is not None:
        small = np.abs(s).sum(axis=1, dtype=np.float64) * p.wmax < F32_EXACT  # rows exact in float32
        acc = np.empty((s.shape[0], p.wt.shape[1]), dtype=np.float64)
        if small.any():
            acc[small] = (torch.from_numpy(np.ascontiguousarray(s[small], dtype=np.float32)) @ p.wt32).numpy()
        if not small.all():
            acc[~small] = (torch.from_numpy(np.ascontiguousarray(s[~small], dtype=np.float64)) @ p.wt).numpy()
    else:
        acc = (torch.from_numpy(np.ascontiguousarray(s, dtype=p.np_dtype)) @ p.wt).numpy()
        acc = acc.astype(np.float64, copy=False)
    if p.weight_exp > 0:
        acc *= float(2 ** p.weight_exp)
    elif p.weight_exp < 0:
        acc = np.floor(acc / float(2 ** -p.weight_exp))
    return acc
