"""The part of a network that operation counts depend on, from the IR or from the float model.

Counts depend only on which weights are nonzero, the input encoding and num_steps, so one adapter
serves the quantised IR (`NetworkIR`) and the float network (`FloatNetwork`): quantisation that
rounds small weights to zero shows up as smaller fan-outs.

    fan-out of input j in layer l = count_nonzero(W_l[:, j])     (synapses one event of j drives)

Encodings (the IR's names): "graded_once" (input vector sent once per classification),
"graded_every_step" (sent at every step) and "spikes" (binary trains). The float model's "dc" (the
normalised input is the input current at every step) maps to "graded_every_step"; its "rate" and
"latency" codes map to "spikes".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toolchain.core.vocab import FLOAT_TO_IR as FLOAT_ENCODINGS
from toolchain.core.vocab import IR_ENCODINGS as ENCODINGS


@dataclass(frozen=True)
class NetworkShape:
    """Sizes and precisions only: what chip mapping needs (no weights)."""

    sizes: tuple[int, ...]  # neurons per stage, input first: (14175, 4096, 512, 64, 2)
    weight_bits: tuple[int, ...]  # per layer
    encoding: str = "graded_once"
    input_bits: int = 8  # graded payload bits (1 for spikes)
    kinds: tuple[str, ...] = ()  # layer kind per layer ("dense", ...); empty: every layer dense

    @property
    def layers(self) -> list[tuple[int, int, int]]:
        """(n_in, n_out, weight_bits) per layer."""
        return [(self.sizes[i], self.sizes[i + 1], self.weight_bits[i]) for i in range(len(self.sizes) - 1)]


@dataclass
class Topology:
    """Nonzero-weight masks per layer plus the input encoding and the steps per classification."""

    masks: list[np.ndarray]  # bool [n_out, n_in] per layer: W != 0
    encoding: str
    num_steps: int
    weight_bits: list[int]
    input_bits: int = 8
    names: list[str] = field(default_factory=list)
    fanouts: list[np.ndarray] = field(init=False)  # int64 [n_in] per layer

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding {self.encoding!r} is not one of {ENCODINGS}")
        if not self.names:
            self.names = [f"layer{i + 1}" for i in range(len(self.masks))]
        self.fanouts = [m.sum(axis=0, dtype=np.int64) for m in self.masks]

    @property
    def sizes(self) -> list[int]:
        return [int(self.masks[0].shape[1])] + [int(m.shape[0]) for m in self.masks]

    @property
    def graded(self) -> bool:
        return self.encoding != "spikes"

    def shape(self) -> NetworkShape:
        return NetworkShape(sizes=tuple(self.sizes), weight_bits=tuple(int(b) for b in self.weight_bits),
                            encoding=self.encoding, input_bits=int(self.input_bits))


def topology_from_weights(weights: list[np.ndarray], encoding: str, num_steps: int, *,
                          weight_bits: int | list[int] = 8, input_bits: int = 8,
                          names: list[str] | None = None) -> Topology:
    """A topology from weight matrices [n_out, n_in] (any dtype; only nonzero matters)."""
    bits = list(weight_bits) if isinstance(weight_bits, (list, tuple)) else [int(weight_bits)] * len(weights)
    return Topology(masks=[np.asarray(w) != 0 for w in weights], encoding=encoding, num_steps=int(num_steps),
                    weight_bits=bits, input_bits=int(input_bits), names=list(names or []))


def topology_from_ir(ir) -> Topology:
    """Counting view of a `NetworkIR` (integer weight mantissas; encoding as the IR says)."""
    return topology_from_weights([layer.weight for layer in ir.layers], ir.input.encoding, ir.num_steps,
                                 weight_bits=[int(layer.weight_bits) for layer in ir.layers],
                                 input_bits=int(ir.input.bits) if ir.input.graded else 1,
                                 names=[layer.name for layer in ir.layers])


def topology_from_float(net, encoding: str | None = None, weight_bits: int = 32) -> Topology:
    """Counting view of a `FloatNetwork`; its encoding is mapped ("dc" -> "graded_every_step")
    unless `encoding` (an IR encoding name) is given. Float weights count as `weight_bits` bits."""
    enc = encoding or FLOAT_ENCODINGS[net.encoding]
    return topology_from_weights([layer.weight for layer in net.layers], enc, net.num_steps,
                                 weight_bits=weight_bits, input_bits=32 if enc != "spikes" else 1,
                                 names=[layer.name or f"layer{i + 1}" for i, layer in enumerate(net.layers)])
