"""`dense`: all-to-all synapses (one Lava Dense process) in front of a LIF population.

Per step t, for the layer's input s[t] (binary spikes, or graded integers for a graded input layer):

    a[t] = (W @ s[t]) << weight_exp        (weight_exp < 0: floor(W @ s[t] / 2**-weight_exp),
                                             Lava's arithmetic right shift of the sum)

W = `weight` int [n_out, n_in] (mantissas of `weight_bits` signed bits). The input may have any
shape whose size is n_in: it is flattened channels first (an implied `flatten`). Lava delays the
result by one step (the Dense process sends at t what it accumulated at t - 1).
The sum is formed in Lava's int32 accumulator: the design rule bounds its worst case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from toolchain.ir.kinds.base import WeightedLayer


@dataclass(kw_only=True)
class Dense(WeightedLayer):
    """W [n_out, n_in] all-to-all."""

    kind: ClassVar[str] = "dense"
    tensor_names: ClassVar[tuple[str, ...]] = ("weight", "bias_mant")

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (int(self.weight.shape[1]),)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (int(self.weight.shape[0]),)

    def worst_sum(self, max_in: int) -> int:
        w = np.abs(np.asarray(self.weight, dtype=np.int64))
        return int(w.sum(axis=1).max(initial=0)) * int(max_in)

    def checks(self, target, where: str) -> list[str]:
        out = []
        if self.weight.ndim != 2:
            return [f"{where} field 'weight': expected a 2-D [n_out, n_in] matrix, got shape {self.weight.shape}"]
        lo, hi = target.weight_exp
        if not lo <= int(self.weight_exp) <= hi:
            out.append(f"{where} field 'weight_exp': {int(self.weight_exp)} outside {lo}..{hi}"
                       + (f" ({', '.join(target.constraints)})" if target.constraints else ""))
        return out + super().checks(target, where)
