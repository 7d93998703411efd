"""The part of a network that operation counts depend on, from the IR or from the float model.

Counts depend only on which weights are nonzero, the layer kinds and geometry, the input encoding
and num_steps, so one adapter serves the quantised IR (`NetworkIR`) and the float network
(`FloatNetwork`): quantisation that rounds small weights to zero shows up as smaller fan-outs. The
layers are per-kind connection objects (`toolchain.counts.connections`: dense, conv, dense_rec,
input), one per population with neurons, in the order of SimResult.layer_spikes; nothing is
expanded to a dense matrix.

Encodings (the IR's names): "graded_once" (input vector sent once per classification),
"graded_every_step" (sent at every step), "spikes" (binary trains) and "bias" (an `input`
population driven by a per-clip bias: nothing is sent), "frames" (a graded vector per step). The float model's "dc" (the normalised
input is the input current at every step) maps to "graded_every_step"; its "rate" and "latency"
codes map to "spikes".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toolchain.core.vocab import FLOAT_TO_IR as FLOAT_ENCODINGS
from toolchain.core.vocab import GRADED_ENCODINGS
from toolchain.core.vocab import IR_ENCODINGS as ENCODINGS
from toolchain.counts.connections import Connection, DenseConnection, build_connections
from toolchain.counts.shapes import LayerShape, NetworkShape

__all__ = ["LayerShape", "NetworkShape", "Topology", "topology_from_float", "topology_from_ir",
           "topology_from_weights"]


@dataclass
class Topology:
    """Connections per population plus the input encoding and the steps per classification."""

    connections: list[Connection]
    encoding: str
    num_steps: int
    input_bits: int = 8
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding {self.encoding!r} is not one of {ENCODINGS}")
        if not self.connections:
            raise ValueError("a topology needs at least one layer with neurons")
        if self.encoding == "bias" and self.connections[0].kind != "input":
            raise ValueError(f"encoding 'bias' drives an input population, but layer 1 is "
                             f"{self.connections[0].kind!r}")
        for prev, conn in zip(self.connections, self.connections[1:]):
            if conn.n_in != prev.n_out:
                raise ValueError(f"layer {conn.name!r} takes {conn.n_in} inputs, {prev.name!r} has {prev.n_out} neurons")
        if not self.names:
            self.names = [c.name or f"layer{i + 1}" for i, c in enumerate(self.connections)]

    @property
    def fanouts(self) -> list[np.ndarray]:
        """int64 [n_in] per layer: nonzero synapses of the feed-forward input (recurrent ones apart)."""
        return [c.fanout for c in self.connections]

    @property
    def weight_bits(self) -> list[int]:
        return [int(c.weight_bits) for c in self.connections]

    @property
    def kinds(self) -> list[str]:
        return [c.kind for c in self.connections]

    @property
    def sizes(self) -> list[int]:
        return [int(self.connections[0].n_in)] + [int(c.n_out) for c in self.connections]

    @property
    def graded(self) -> bool:
        """The input arrives as graded payloads (sent once, every step, or a frame per step)."""
        return self.encoding in GRADED_ENCODINGS

    def shape(self) -> NetworkShape:
        return NetworkShape(sizes=tuple(self.sizes), weight_bits=tuple(self.weight_bits), encoding=self.encoding,
                            input_bits=int(self.input_bits), kinds=tuple(self.kinds),
                            geometry=tuple(c.geometry() for c in self.connections))


def topology_from_weights(weights: list[np.ndarray], encoding: str, num_steps: int, *,
                          weight_bits: int | list[int] = 8, input_bits: int = 8,
                          names: list[str] | None = None) -> Topology:
    """A topology of dense layers from weight matrices [n_out, n_in] (any dtype; only nonzero matters)."""
    bits = list(weight_bits) if isinstance(weight_bits, (list, tuple)) else [int(weight_bits)] * len(weights)
    names = list(names or [f"layer{i + 1}" for i in range(len(weights))])
    conns = [DenseConnection(name=n, weight_bits=int(b), mask=np.asarray(w) != 0)
             for w, b, n in zip(weights, bits, names)]
    return Topology(conns, encoding=encoding, num_steps=int(num_steps), input_bits=int(input_bits), names=names)


def topology_from_ir(ir) -> Topology:
    """Counting view of a `NetworkIR` (integer weight mantissas; encoding as the IR says)."""
    conns = build_connections(ir.layers, lambda layer: int(getattr(layer, "weight_bits", 0)))
    bits = int(ir.input.bits) if ir.input.graded else 1
    return Topology(conns, encoding=ir.input.encoding, num_steps=int(ir.num_steps), input_bits=bits)


def topology_from_float(net, encoding: str | None = None, weight_bits: int = 32) -> Topology:
    """Counting view of a `FloatNetwork`; its encoding is mapped ("dc" -> "graded_every_step")
    unless `encoding` (an IR encoding name) is given. Float weights count as `weight_bits` bits."""
    enc = encoding or FLOAT_ENCODINGS[net.encoding]
    conns = build_connections(net.layers, lambda layer: int(weight_bits))
    return Topology(conns, encoding=enc, num_steps=int(net.num_steps), input_bits=32 if enc != "spikes" else 1)
