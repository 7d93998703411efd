"""`dense_rec`: a dense layer whose neurons also feed back to themselves (all-to-all recurrence).

Per step t (two Lava Dense processes into the same LIF population, as lava-dl netx's RecurrentDense
builds them; each shifts its own sum by the shared weight_exp):

    a[t] = shift(W @ s_in[t], weight_exp) + shift(W_rec @ s[t-1], weight_exp_rec)
                                                             s[-1] = 0 at the start of a classification

W = `weight` [n_out, n_in], W_rec = `weight_rec` [n_out, n_out], both mantissas of `weight_bits`
bits. Each Dense has its own exponent: a graded input (8-bit frames) multiplies W's sum by up to
255 while the feedback is binary, so one shared exponent would leave W_rec almost no levels (or
clip it); `weight_exp_rec` (default: weight_exp; files without it load so) lets V keep its range. The feedback is the layer's own spikes of the previous step (Lava's one-step Dense delay),
which is snntorch's RLeaky: mem[t] = beta*mem[t-1] + W x[t] + V s[t-1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from toolchain.ir.kinds.dense import Dense


@dataclass(kw_only=True)
class DenseRec(Dense):
    """Dense input W [n_out, n_in] plus recurrent W_rec [n_out, n_out]."""

    kind: ClassVar[str] = "dense_rec"
    tensor_names: ClassVar[tuple[str, ...]] = ("weight", "weight_rec", "bias_mant")

    weight_rec: np.ndarray
    weight_exp_rec: int | None = None

    @property
    def rec_exp(self) -> int:
        """The recurrent Dense's weight exponent."""
        return int(self.weight_exp if self.weight_exp_rec is None else self.weight_exp_rec)

    def exp_of(self, field: str) -> int:
        return self.rec_exp if field == "weight_rec" else int(self.weight_exp)

    def params(self):
        return {**super().params(), "weight_exp_rec": self.rec_exp}

    @classmethod
    def from_stored(cls, params, tensors):
        layer = super().from_stored(params, tensors)
        if params.get("weight_exp_rec") is not None:
            layer.weight_exp_rec = int(params["weight_exp_rec"])
        return layer

    def weight_arrays(self) -> dict[str, np.ndarray]:
        return {"weight": self.weight, "weight_rec": self.weight_rec}

    def worst_sum(self, max_in: int) -> int:
        rec = np.abs(np.asarray(self.weight_rec, dtype=np.int64)).sum(axis=1).max(initial=0)
        return super().worst_sum(max_in) + int(rec)

    def checks(self, target, where: str) -> list[str]:
        out = super().checks(target, where)
        lo, hi = target.weight_exp
        if not lo <= self.rec_exp <= hi:
            out.append(f"{where} field 'weight_exp_rec': {self.rec_exp} outside {lo}..{hi}")
        if self.weight_rec.shape != (self.n_out, self.n_out):
            out.append(f"{where} field 'weight_rec': shape {tuple(self.weight_rec.shape)} != "
                       f"({self.n_out}, {self.n_out})")
        return out
