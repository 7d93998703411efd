"""All counts of one simulation result, per classification (mean over the clips) with per-clip spreads.

Units: every count is a number of events per classification (one clip, all num_steps steps) unless
the key says "per_step" (a list of num_steps means over the clips, one per step).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toolchain.counts.membrane import membrane_updates
from toolchain.counts.neurons import neuron_updates
from toolchain.counts.sparsity import activation_sparsity
from toolchain.counts.spikes import spike_counts
from toolchain.counts.synops import dense_synops, effective_synops, recurrent_synops

SENT = {"graded_once": "once per classification", "graded_every_step": "at every step",
        "spikes": "as binary spikes", "bias": "as a per-clip bias of the input population (nothing sent)",
        "frames": "one graded frame per step"}


def clip_stats(per_clip_step: np.ndarray) -> dict[str, Any]:
    """Summary of an int array [B, T]: mean per classification, per-step means, per-clip spread."""
    arr = np.asarray(per_clip_step, dtype=np.float64)
    totals = arr.sum(axis=1)
    return {
        "mean": float(totals.mean()),
        "per_step": [float(v) for v in arr.mean(axis=0)],
        "min": float(totals.min()), "max": float(totals.max()),
        "p5": float(np.percentile(totals, 5)), "p50": float(np.percentile(totals, 50)),
        "p95": float(np.percentile(totals, 95)),
        "sum_over_clips": int(round(totals.sum())),
    }


def count_classification(topo, sim, membrane: list[np.ndarray] | None = None) -> dict[str, Any]:
    """Counts per layer and in total for `sim` (a SimResult) on `topo` (a Topology).

    membrane: traces [B, T, n] per layer for NeuroBench's MembraneUpdates; taken from
    sim.meta["v"] (emulator with record_v) when not given; omitted when neither exists.
    """
    B, T = sim.layer_spikes[0].shape[:2]
    if T != topo.num_steps:
        raise ValueError(f"simulation has {T} steps but the network has num_steps={topo.num_steps}")
    if membrane is None:
        membrane = (getattr(sim, "meta", None) or {}).get("v")
    spikes = spike_counts(sim)
    eff, kinds = effective_synops(topo, sim)
    rec = recurrent_synops(topo, sim)
    dense = dense_synops(topo)
    neurons = neuron_updates(topo, sim)
    mem = membrane_updates(membrane) if membrane is not None else None
    layers = []
    for i, conn in enumerate(topo.connections):
        n_out, n_in = conn.n_out, conn.n_in
        sp = clip_stats(spikes[i])
        layers.append({
            "name": topo.names[i], "kind": conn.kind, "n_in": int(n_in), "n_out": int(n_out), "op_kind": kinds[i],
            "synapses": int(conn.synapses), "nonzero_synapses": int(conn.nonzero_synapses),
            "stored_weights": int(conn.stored_weights), "nonzero_weights": int(conn.nonzero_weights),
            "reachable_neurons": int(conn.reachable),
            "spikes": sp, "spike_rate": sp["mean"] / (n_out * T),
            "effective_synops": clip_stats(eff[i]),
            "recurrent_synops": clip_stats(rec[i]) if rec[i] is not None else None,
            "nonzero_recurrent_synapses": int(conn.rec_fanout.sum()) if conn.recurrent else 0,
            "dense_synops": int(dense[i].sum()), "dense_synops_per_step": [int(v) for v in dense[i]],
            "neuron_updates": int(neurons[i]["total"].sum()),
            "active_neuron_updates": clip_stats(neurons[i]["active"]),
            "membrane_updates": clip_stats(mem[i]) if mem is not None else None,
        })
    x = np.asarray(sim.input)
    events = np.count_nonzero(x.reshape(B, -1), axis=1).astype(np.float64)
    input_layer = {
        "encoding": topo.encoding, "sent": SENT[topo.encoding], "op_kind": kinds[0],
        "input_events": float(events.mean() * (T if topo.encoding == "graded_every_step" else 1)),
        "ops": layers[0]["effective_synops"]["mean"],
    }
    # split each layer into its feed-forward ops (of its op kind) and its recurrent ones (ACs: the
    # layer's own spikes are binary, whatever its input is; NeuroBench decides by the input values)
    rec = [la["recurrent_synops"]["mean"] if la["recurrent_synops"] else 0.0 for la in layers]
    ff = [la["effective_synops"]["mean"] - r for la, r in zip(layers, rec)]
    totals = {
        "effective_synops_graded": sum(f for f, la in zip(ff, layers) if la["op_kind"] == "graded"),
        "effective_synops_binary": sum(f for f, la in zip(ff, layers) if la["op_kind"] == "binary") + sum(rec),
        "recurrent_synops": sum(rec),
        "dense_synops": sum(la["dense_synops"] for la in layers),
        "spikes": sum(la["spikes"]["mean"] for la in layers),
        "neuron_updates": sum(la["neuron_updates"] for la in layers),
        "active_neuron_updates": sum(la["active_neuron_updates"]["mean"] for la in layers),
        "activation_sparsity": activation_sparsity(sim),
        "membrane_updates": sum(la["membrane_updates"]["mean"] for la in layers) if mem is not None else None,
    }
    return {"backend": getattr(sim, "backend", "unknown"), "clips": int(B), "num_steps": int(T),
            "encoding": topo.encoding, "sizes": topo.sizes, "weight_bits": [int(b) for b in topo.weight_bits],
            "input_layer": input_layer,
            "layers": layers, "totals": totals}


def neurobench_view(counts: dict[str, Any]) -> dict[str, Any]:
    """Our counts under NeuroBench's names, per sample: SynapticOperations (Effective_MACs = graded
    ops, Effective_ACs = binary ops, Dense), ActivationSparsity, MembraneUpdates."""
    t = counts["totals"]
    return {"Effective_MACs": t["effective_synops_graded"], "Effective_ACs": t["effective_synops_binary"],
            "Dense": t["dense_synops"], "ActivationSparsity": t["activation_sparsity"],
            "MembraneUpdates": t["membrane_updates"]}
