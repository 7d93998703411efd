"""What pricing needs from any model, SNN or ANN: per layer, the work done under each input policy.

A workload is plain data (JSON-able), one per model in a comparison:

    {"model": "snn_deployed" | "snn_float" | "ann_mlp" | "cnn" | ..., "kind": "snn" | "ann",
     "source": where the counts come from, "num_steps": T (1 for an ANN), "auc": float | None,
     "exact": bool (False when a count is a stand-in), "inexact": [why, ...],
     "layers": [layer, ...]}

and each layer (all counts per classification, i.e. per clip over all of its T steps, averaged over the
clips counted):

    name, kind ("dense", "conv", "dense_rec", "input", ...: selects the per-kind functions below and in
                                 energy.mapping)
    n_in, n_out                  inputs and neurons (outputs) of the layer; for a conv layer per sample
    weights, nonzero_weights     stored weights (a conv kernel once) and those that are not zero
    synapses, nonzero_synapses   (SNN) synapses, zeros included, and nonzero ones (a conv layer's expanded)
    weight_bits                  None: the pricing profile's precision
    op                           "graded" (weight x payload, MAC-like), "binary" (an accumulate, AC), "mac",
                                 or "none" (an input population: no synapses)
    ops                          {"zeros_skipped": effective ops, "dense": dense ops}
    ops_per_step                 (SNN) the same per step, [T] each
    rec_ops[, rec_ops_per_step]  (SNN, recurrent layers) the part of ops done by the recurrent synapses on the
                                 layer's own spikes: always binary ACs, whatever `op` says of the rest
    input_driven                 (SNN) the layer's feed-forward ops come from the network input (so they do
                                 not change with the network's spike rate)
    effective_ops, dense_ops     the same two numbers under their JSON names
    weight_fetches               {policy: weights read from memory}, from the layer kind (see LAYER_KINDS)
    outputs                      values written per classification: neuron-steps (SNN) or output elements (ANN)
    state_bits                   bits of state per output that are read and written each step (SNN: u and
                                 v; ANN: None = one activation of the profile's precision)
    neuron_steps, active_neuron_steps[, active_per_step]   (SNN) neuron updates, all and active
    spikes[, spikes_per_step]    (SNN) spikes emitted
    activations                  (ANN) ReLU outputs of this layer (one compare each)

Input policies (one applies to every model of a comparison):
    "zeros_skipped"  every model works only on nonzero inputs: input values that are 0, absent spikes and
                     zero ReLU outputs cost nothing (effective ops; NeuroBench's Effective_MACs/ACs)
    "dense"          every model multiplies every input by every weight, zeros included (dense ops;
                     NeuroBench's Dense). An event-driven chip still processes only the spikes it receives
                     in its hidden layers (a spike that did not happen is no event); its input layer sends
                     every value, zeros included (see toolchain.energy.price)

Layer kinds: each kind says how many weights a layer reads from memory for a given number of ops at
batch 1 (`weight_fetches`). A dense (fully connected) layer uses each weight for one op per input event,
so it fetches one weight per op: no reuse at batch 1 (a weight used at several steps of an SNN is read
at each). A convolution reuses each kernel weight at every output position: a weight-stationary engine
reads each weight once per classification. Add a kind by adding an entry to LAYER_KINDS (and a planner
to toolchain.energy.mapping.PLANNERS for chip mapping).
"""

from __future__ import annotations

import copy
from typing import Any, Callable

POLICIES = ("zeros_skipped", "dense")
POLICY_TEXT = {
    "zeros_skipped": "zeros skipped: every model works only on nonzero inputs (input values, spikes, ReLU outputs)",
    "dense": "dense: every model multiplies every input by every weight, zeros included (an event-driven "
             "chip's hidden layers still process only the spikes they receive)",
}
CUBA_STATE_BITS = 48  # u and v, 24 bits each (toolchain.ir.graph: the deployed fixed-point state)

# kind -> weight fetches for `ops` ops of layer `la` (see module docstring); a recurrent layer's
# W_rec is used like a dense layer's W (no reuse at batch 1), an input population has no weights
LAYER_KINDS: dict[str, Callable[[dict[str, Any], float], float]] = {
    "dense": lambda la, ops: float(ops),
    "dense_rec": lambda la, ops: float(ops),
    "conv": lambda la, ops: float(la["weights"]) if ops > 0 else 0.0,
    "input": lambda la, ops: 0.0,
}


def weight_fetches(la: dict[str, Any], ops: float) -> float:
    """Weights read from memory for `ops` ops of layer `la`, per its kind."""
    try:
        return LAYER_KINDS[la["kind"]](la, ops)
    except KeyError:
        raise ValueError(f"layer {la['name']!r}: no weight-fetch rule for layer kind {la['kind']!r} "
                         f"(known: {', '.join(LAYER_KINDS)})") from None


def _fetches(la: dict[str, Any]) -> dict[str, float]:
    return {p: weight_fetches(la, la["ops"][p]) for p in POLICIES}


def _finish(la: dict[str, Any]) -> dict[str, Any]:
    la["weight_fetches"] = _fetches(la)
    la["effective_ops"], la["dense_ops"] = la["ops"]["zeros_skipped"], la["ops"]["dense"]
    return la


def snn_workload(counts: dict[str, Any], *, model: str, source: str, title: str | None = None,
                 auc: float | None = None, state_bits: int = CUBA_STATE_BITS, kinds: list[str] | None = None,
                 topo=None) -> dict[str, Any]:
    """The workload of an SNN from its counts (`toolchain.counts.count_classification`); each layer's kind
    is the one its counts name (else `kinds`, else the Topology `topo`'s, else dense)."""
    layers = []
    T = int(counts["num_steps"])
    for i, la in enumerate(counts["layers"]):
        kind = la.get("kind") or (kinds[i] if kinds else (topo.kinds[i] if topo is not None else "dense"))
        out = {
            "name": la["name"], "kind": kind,
            "n_in": la["n_in"], "n_out": la["n_out"], "weights": la.get("stored_weights", la["synapses"]),
            "nonzero_weights": la.get("nonzero_weights", la["nonzero_synapses"]),
            "synapses": la["synapses"], "nonzero_synapses": la["nonzero_synapses"],
            "weight_bits": int(counts["weight_bits"][i]), "op": la["op_kind"], "input_driven": i == 0,
            "ops": {"zeros_skipped": la["effective_synops"]["mean"], "dense": float(la["dense_synops"])},
            "ops_per_step": {"zeros_skipped": list(la["effective_synops"]["per_step"]),
                             "dense": [float(v) for v in la["dense_synops_per_step"]]},
            "outputs": float(la["neuron_updates"]), "state_bits": int(state_bits),
            "neuron_steps": float(la["neuron_updates"]),
            "active_neuron_steps": la["active_neuron_updates"]["mean"],
            "active_per_step": list(la["active_neuron_updates"]["per_step"]),
            "spikes": la["spikes"]["mean"], "spikes_per_step": list(la["spikes"]["per_step"]),
            "activations": 0.0,
        }
        if la.get("reachable_neurons") is not None:
            out["reachable_neurons"] = int(la["reachable_neurons"])
        if la.get("recurrent_synops"):
            n = int(la["n_out"])
            out["rec_nonzero_synapses"] = int(la.get("nonzero_recurrent_synapses", 0))
            out["rec_ops"] = {"zeros_skipped": la["recurrent_synops"]["mean"], "dense": float(n * n * T)}
            out["rec_ops_per_step"] = {"zeros_skipped": list(la["recurrent_synops"]["per_step"]),
                                       "dense": [float(n * n)] * T}
        layers.append(_finish(out))
    return {"model": model, "title": title or model, "kind": "snn", "source": source, "backend": counts.get("backend"),
            "num_steps": T, "encoding": counts.get("encoding"), "auc": auc,
            "clips": counts.get("clips"), "exact": True, "inexact": [], "layers": layers}


def ann_workload(ann: dict[str, Any], *, model: str, title: str | None = None,
                 auc: float | None = None) -> dict[str, Any]:
    """The workload of an ANN from its MAC counts (`toolchain.counts.ann_macs_from_onnx` / `_from_sizes`).

    ReLU outputs are attributed to the layer whose output they activate (all but the last, in order);
    effective MACs that were not counted (no input given, or the same-topology MLP) stand in with the
    dense ones and the workload says so (`exact` False)."""
    relu = ann.get("relu_outputs") or []
    layers, inexact = [], []
    for i, la in enumerate(ann["layers"]):
        eff = la.get("effective_macs")
        if eff is None:
            eff = float(la["dense_macs"])
            inexact.append(f"{la['name']}: effective MACs not counted (no input for this ANN); dense MACs stand in")
        out = {
            "name": la["name"], "kind": "conv" if la["op"] == "Conv" else "dense",
            "n_in": int(la.get("inputs") or 0), "n_out": int(la.get("outputs") or 0),
            "weights": la["weights"], "nonzero_weights": la["nonzero_weights"], "weight_bits": None,
            "op": "mac", "ops": {"zeros_skipped": float(eff), "dense": float(la["dense_macs"])},
            "outputs": float(la.get("outputs") or 0), "state_bits": None,
            "activations": float(relu[i]) if i < len(relu) else 0.0,
        }
        layers.append(_finish(out))
    if not relu and ann.get("activations"):
        layers[0]["activations"] = float(ann["activations"])  # not attributable per layer: one lump
    return {"model": model, "title": title or model, "kind": "ann", "source": ann["source"], "backend": "onnx",
            "num_steps": 1,
            "auc": auc, "clips": ann.get("samples"), "exact": not inexact, "inexact": inexact,
            "layers": layers}


def snn_at_rate(work: dict[str, Any], rate: float) -> dict[str, Any]:
    """The workload if every LIF neuron spiked at `rate` spikes per step (break-even analysis).

    Only activity-driven entries change: spikes of every layer (rate x n_out per step), the ops that
    spikes drive (each presynaptic spike drives its nonzero fan-out: rate x nonzero synapses per step,
    under either policy since spikes are events; a recurrent layer's own-spike ops likewise), the
    active neuron updates of the layers that spikes drive (rate x the neurons that have a nonzero
    synapse, a linear stand-in for the probability that some input spiked) and weight fetches. The
    feed-forward ops of a layer driven by the network input (layer 1) are unchanged."""
    out = copy.deepcopy(work)
    T = out["num_steps"]
    for i, la in enumerate(out["layers"]):
        la["spikes_per_step"] = [rate * la["n_out"]] * T
        la["spikes"] = rate * la["n_out"] * T
        rec = la.get("rec_ops")
        rec_nz = la.get("rec_nonzero_synapses", 0) if rec else 0
        driven = la.get("input_driven", i == 0)
        if rec:
            la["rec_ops_per_step"]["zeros_skipped"] = [rate * rec_nz] * T
            la["rec_ops"]["zeros_skipped"] = rate * rec_nz * T
        if driven and not rec:
            continue
        if not driven and la["op"] == "binary":
            nz = la.get("nonzero_synapses", la["nonzero_weights"])
            la["ops_per_step"]["zeros_skipped"] = [rate * nz] * T
            la["ops"]["zeros_skipped"] = rate * nz * T
        elif rec:  # input-driven feed-forward part kept, the recurrent part repriced
            old_rec = work["layers"][i]["rec_ops_per_step"]["zeros_skipped"]
            ff = [a - b for a, b in zip(work["layers"][i]["ops_per_step"]["zeros_skipped"], old_rec)]
            la["ops_per_step"]["zeros_skipped"] = [f + rate * rec_nz for f in ff]
            la["ops"]["zeros_skipped"] = float(sum(la["ops_per_step"]["zeros_skipped"]))
        if not driven:
            reach = la.get("reachable_neurons", la["n_out"])
            la["active_per_step"] = [rate * reach] * T
            la["active_neuron_steps"] = rate * reach * T
        _finish(la)
    return out
