"""Exact operation counts per classification, one metric per module (NeuroBench-style).

    connections.py  one connection object per layer kind (dense, conv, dense_rec, input): fan-outs,
                    synapse counts, reachable outputs and the outputs events reach, without
                    expanding a convolution into a dense matrix
    topology.py     what counting needs from a network (IR or float model): its connections, input
                    encoding, num_steps
    shapes.py       `LayerShape` / `NetworkShape`: kinds, sizes, precisions and geometry for chip mapping
    spikes.py       spikes per layer per step
    synops.py       effective synaptic operations (each input event x its nonzero fan-out) and
                    dense synaptic operations (every input x every weight)
    input_ops.py    the input layer's operations for the chosen encoding (graded once, graded every
                    step, or binary spikes)
    neurons.py      neuron updates: every neuron every step, and the active ones
    sparsity.py     activation sparsity (NeuroBench ActivationSparsity)
    membrane.py     membrane updates (NeuroBench MembraneUpdates), from membrane traces
    ann_macs.py     dense and effective MACs per layer of an ANN, read from its ONNX graph
    summary.py      all of the above per classification for one simulation result
    workload.py     what pricing needs from any model (SNN or ANN), per layer and input policy
                    ("zeros_skipped" / "dense"), with per-layer-kind weight-fetch rules

Checked against the installed neurobench 2.3.0 code (where it and ../shared/notes disagree, the code
wins): SynapticOperations binarises each layer call's input and weights (nonzero -> 1) and sums the
layer applied to them (effective) or to all-ones (Dense); a call whose input values all lie in
{-1, 0, 1} is counted as ACs, otherwise MACs; biases are excluded. For Conv its Dense excludes zero
padding: so do our SNN counts (connections.py); the ANN counts from ONNX count the full kernel
(ann_macs.py). snntorch's RLeaky is counted through its internal `recurrent` nn.Linear (NeuroBench's
connection search recurses into it): the layer's own previous-step spikes times W_rec's fan-out. MembraneUpdates counts every neuron at the
first call and afterwards only neurons whose `mem` changed. ActivationSparsity covers spiking layers
and ReLU outputs. The notes' Loihi "27.1 pJ" keras-spiking figure is 23.6 pJ + 3.5 (Table 2's time in
ns) and is not used (hardware_profiles/loihi.toml).

Every metric takes a simulation result (`toolchain.core.result.SimResult`: `.input`, `.layer_spikes`
bool [B, T, n_l]) and returns integer arrays per clip and step; `summary.count_classification`
averages them over the B clips ("per classification") and keeps per-clip spreads.
"""

from toolchain.counts.ann_macs import (
    ann_macs_from_onnx,
    ann_macs_from_sizes,
    ann_macs_from_topology,
)
from toolchain.counts.input_ops import input_layer_ops
from toolchain.counts.membrane import membrane_updates
from toolchain.counts.neurons import neuron_updates
from toolchain.counts.sparsity import activation_sparsity
from toolchain.counts.spikes import spike_counts
from toolchain.counts.summary import count_classification, neurobench_view
from toolchain.counts.synops import dense_synops, effective_synops
from toolchain.counts.topology import (
    LayerShape,
    NetworkShape,
    Topology,
    topology_from_float,
    topology_from_ir,
    topology_from_weights,
)

__all__ = [
    "LayerShape", "NetworkShape", "Topology", "activation_sparsity", "ann_macs_from_onnx", "ann_macs_from_sizes",
    "ann_macs_from_topology",
    "count_classification", "dense_synops", "effective_synops", "input_layer_ops",
    "membrane_updates", "neurobench_view", "neuron_updates", "spike_counts", "topology_from_float",
    "topology_from_ir", "topology_from_weights",
]
