"""`input`: a population of LIF neurons driven directly by the network input (no synapses, no delay).

This is lava-dl netx's `input` layer. Per step t the neurons receive a[t] = x[t] (the network input
as it arrives: binary spikes with the IR's "spikes" encoding), or, with the "bias" encoding, no input
at all and a per-classification bias instead: bias_mant = the clip's input values (an image, as in
lava-dl's PilotNet, where the frame is the input layer's bias_mant). `bias_mant` stored here is
then only the default (used when no input is given).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from toolchain.ir.kinds.base import NeuronLayer


@dataclass(kw_only=True)
class Input(NeuronLayer):
    """Input neurons of `shape` (channels first)."""

    kind: ClassVar[str] = "input"
    tensor_names: ClassVar[tuple[str, ...]] = ("bias_mant",)
    shape_names: ClassVar[tuple[str, ...]] = ("shape",)

    shape: tuple[int, ...]

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(self.shape)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return tuple(self.shape)

    def worst_sum(self, max_in: int) -> int:
        return int(max_in)
