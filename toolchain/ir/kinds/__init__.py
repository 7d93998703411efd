"""IR layer kinds: one module per kind, each owning its fields, shapes and design-rule checks.

    base.py       Node / NeuronLayer / WeightedLayer: names, shapes, stored tensors, neuron fields
    input.py      `input`: LIF neurons driven by the network input directly (or by a per-clip bias)
    dense.py      `dense`: all-to-all synapses (Lava Dense)
    conv.py       `conv`: 1-D / 2-D convolution (Lava Conv)
    dense_rec.py  `dense_rec`: dense input plus all-to-all recurrent synapses
    flatten.py    `flatten`: a shape-only node

KINDS maps a kind's name (as stored in IR files and netx `.net` files) to its class. Adding a kind
is a module here plus one handler per stage that must run it (emulator, Lava, netx, counts).
"""

from toolchain.ir.kinds.base import NeuronLayer, Node, WeightedLayer
from toolchain.ir.kinds.conv import Conv
from toolchain.ir.kinds.dense import Dense
from toolchain.ir.kinds.dense_rec import DenseRec
from toolchain.ir.kinds.flatten import Flatten
from toolchain.ir.kinds.input import Input

KINDS: dict[str, type[Node]] = {cls.kind: cls for cls in (Input, Dense, Conv, DenseRec, Flatten)}

__all__ = ["KINDS", "Conv", "Dense", "DenseRec", "Flatten", "Input", "NeuronLayer", "Node", "WeightedLayer"]
