"""Exact integer synaptic accumulation on floating-point BLAS.

Why this is exact: every operand is an integer and every intermediate value a BLAS kernel forms
(products, partial sums in any order, FMA results) is bounded in magnitude by
    bound = max_row sum_j |W[i, j]| * max|s|.
A binary float32 number holds every integer up to 2**24 exactly, float64 up to 2**53, so when
bound < 2**24 (float32) or bound < 2**53 (float64) no rounding can happen and the result equals
the int64 sum. The IR's accumulator check already guarantees bound <= 2**31 - 1 (Lava's int32
accumulator), so float64 always suffices; float32 is used when bound < 2**24 (typical for binary
spikes), which is about twice as fast. The products run on torch's CPU BLAS (multi-threaded).
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
    return PreparedDense(wt=torch.from_numpy(np.ascontiguousarray(w64.T.astype(dtype))),
                         weight_exp=int(weight_exp), bound=bound)


def accumulate(p: PreparedDense, s: np.ndarray) -> np.ndarray:
    """Activations a = (W @ s) << weight_exp for inputs s [M, n_in]: exact integers in float64 [M, n_out].

    A negative weight_exp is Lava's arithmetic right shift of the sum: floor(acc / 2**-weight_exp).
    """
    acc = (torch.from_numpy(np.ascontiguousarray(s, dtype=p.np_dtype)) @ p.wt).numpy()
    acc = acc.astype(np.float64, copy=False)
    if p.weight_exp > 0:
        acc *= float(2 ** p.weight_exp)
    elif p.weight_exp < 0:
        acc = np.floor(acc / float(2 ** -p.weight_exp))
    return acc
