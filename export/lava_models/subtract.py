"""A Lava LIF with snntorch's subtractive reset, for the fixed-point simulator.

No stock Lava or Loihi 2 neuron resets by subtraction (LIF, LIFReset, TernaryLIF, LearningLIF all
reset v to 0). `LIFResetSubtract` keeps LIFReset's periodic state reset (used to separate
classifications) and replaces "v = 0 on spike" by snntorch's rule: the threshold is subtracted at
the next step, after the decay,

    v[t] = sat24( sat24(trunc(v[t-1] * (4096 - dv) / 4096) + u[t] + bias) - s[t-1] * (vth << 6) )

reusing Lava's own bit-accurate update (PyLifResetModelBitAcc.subthr_dynamics) for everything else.
On a real Loihi 2 this needs custom neuron microcode; it runs only in Lava's CPU simulator.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import PyLifResetModelBitAcc
from lava.proc.lif.process import LIFReset


class LIFResetSubtract(LIFReset):
    """LIFReset whose spike subtracts the threshold at the next step instead of zeroing v."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.s_prev = Var(shape=kwargs["shape"], init=0)


@implements(proc=LIFResetSubtract, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyLifResetSubtractModelBitAcc(PyLifResetModelBitAcc):
    """Fixed-point model of LIFResetSubtract (see module docstring)."""

    implements_process = None  # re-bound by @implements (Lava refuses to re-target an inherited one)
    s_prev: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        if (self.time_step % self.reset_interval) == self.reset_offset:
            self.s_prev[:] = 0  # a new classification starts: forget the last spike
        super().subthr_dynamics(activation_in)
        limit = self.max_uv_val - 1
        self.v[:] = np.clip(self.v - self.s_prev * self.effective_vth, -limit, limit)

    def reset_voltage(self, spike_vector: np.ndarray) -> None:
        self.s_prev[:] = spike_vector
