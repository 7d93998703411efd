"""`flatten`: a shape-only node (no synapses, no neurons, no delay): (C, H, W) -> (C*H*W,).

Channels first, as torch's nn.Flatten and lava-dl netx's flatten (which transposes Lava's
(X, Y, C) back to (C, Y, X) before flattening) order the neurons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from toolchain.ir.kinds.base import Node, prod


@dataclass(kw_only=True)
class Flatten(Node):
    """Reshape of the previous population; spikes pass through unchanged."""

    kind: ClassVar[str] = "flatten"
    shape_names: ClassVar[tuple[str, ...]] = ("shape",)

    shape: tuple[int, ...]  # the input shape

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(self.shape)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (prod(self.shape),)
