"""One call from a quantised network, clips and ANN baselines to the energy report (`energy` and the pipeline).

One input for every model: the features x are encoded as the deployed SNN receives them (graded:
x_int = round(clip(x, 0, 1) x scale), `toolchain.represent.encoding`), and every other model is counted
on exactly those values: the float SNN and the ANNs get x_int / scale, so their first layers see the
same numbers, with the same zeros, as the deployed SNN's layer 1. (A spike-input IR sends binary trains;
the ANNs then get the clipped features the trains encode, and the report says so.)
Counts: the deployed SNN on the bit-exact emulator; the float SNN (when given) with its own snntorch
spikes, counted with the IR's encoding, so it differs from the deployed one by quantisation only; each
ANN from its ONNX graph with onnxruntime (effective MACs from the layer inputs it computes), or the
same-topology ReLU MLP's dense MACs when no ANN is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toolchain.ir.graph import NetworkIR

TITLES = {"snn_deployed": "the deployed SNN", "snn_float": "the float SNN", "ann_mlp": "the ANN MLP",
          "cnn": "the CNN", "mlp_same_topology": "the same-topology ReLU MLP",
          "ann_same_topology": "the same-topology ReLU network"}


def shared_input(ir: NetworkIR, x: np.ndarray, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """(the input every non-deployed model is counted on [N, n_in] float, a note on it)."""
    from toolchain.represent.encoding import encode_for_ir

    enc = encode_for_ir(ir, x, seed)
    if ir.input.graded:
        xq = enc.reshape(enc.shape[0], -1).astype(np.float64) / ir.input.scale  # frames: [N, T * n_in]
        note = (f"every model is counted on the deployed SNN's input: x_int = round(x x {ir.input.scale:g}) "
                f"({ir.input.bits}-bit, `{ir.input.encoding}`); the float SNN and the ANNs receive x_int / "
                f"{ir.input.scale:g}, the same values with the same zeros")
        nonzero = float(np.count_nonzero(enc)) / enc.size
    elif ir.input.encoding == "bias":
        xq = enc.reshape(enc.shape[0], -1).astype(np.float64)
        note = ("the deployed SNN's input population is driven by each clip's values as biases (nothing is sent); "
                "the ANNs receive the same values")
        nonzero = float(np.count_nonzero(xq)) / xq.size
    elif ir.input.spike_encoder is None:
        xq = np.asarray(enc, dtype=np.float64).mean(axis=1).reshape(enc.shape[0], -1)
        note = ("the deployed SNN receives the given binary spike trains; the ANNs receive each input's spikes per "
                "step (not the same values: zero-skipping compares spikes with rates)")
        nonzero = float(np.count_nonzero(enc)) / enc.size
    else:
        xq = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
        note = ("the deployed SNN receives binary spike trains; the float SNN and the ANNs receive the clipped "
                "features those trains encode (not the same values: zero-skipping compares spikes with features)")
        nonzero = float(np.count_nonzero(xq)) / xq.size
    return xq, {"note": note, "nonzero_fraction": nonzero, "encoding": ir.input.encoding,
                "clips": int(x.shape[0]), "n_in": int(ir.input.n_in)}


def ann_on_shared_input(path, xq: np.ndarray) -> dict[str, Any]:
    """MAC counts of the ONNX model at `path` on the shared input (reshaped to its input shape)."""
    from export.onnx_export import onnx_input_shape
    from toolchain.core.errors import DataError
    from toolchain.counts import ann_macs_from_onnx

    dims = onnx_input_shape(path)
    if int(np.prod(dims)) != xq.shape[1]:
        raise DataError(f"ANN {path}: the model takes {dims} per clip, the features have {xq.shape[1]} values")
    return ann_macs_from_onnx(path, xq.reshape(xq.shape[0], *dims).astype(np.float32))


def analyse(ir: NetworkIR, x: np.ndarray, *, profiles: list, float_net=None, anns: list[dict[str, Any]] = (),
            aucs: dict[str, float] | None = None, network: dict | None = None, seed: int = 0) -> dict:
    """The energy report dict (see toolchain.energy.report.build_report) for features x [N, n_in].

    anns: [{"model": name, "onnx": path, "check": onnx check or None, "title": optional}] counted on the
    shared input; empty: the same-topology ReLU MLP (dense MACs only). aucs: {model name: AUC}."""
    from toolchain.counts import (
        ann_macs_from_sizes,
        ann_macs_from_topology,
        count_classification,
        topology_from_float,
        topology_from_ir,
    )
    from toolchain.counts.workload import ann_workload, snn_workload
    from toolchain.emulator import simulate
    from toolchain.energy.report import build_report

    aucs = aucs or {}
    xq, shared = shared_input(ir, x, seed)
    topo = topology_from_ir(ir)
    counts = count_classification(topo, simulate(ir, x, seed=seed, record_v=True))
    models = [snn_workload(counts, model="snn_deployed", title=TITLES["snn_deployed"], auc=aucs.get("snn_deployed"),
                           source=f"emulator ({ir.name}, Loihi fixed point)", topo=topo)]
    all_counts = [counts]
    if float_net is not None:
        from toolchain.frontends.reference import simulate_float

        # the float input is counted with the IR's graded encoding: the two differ by quantisation only
        enc = ir.input.encoding if float_net.encoding == "dc" and ir.input.graded else None
        ftopo = topology_from_float(float_net, encoding=enc)
        fcounts = count_classification(ftopo, simulate_float(float_net, xq if ir.input.graded else x, seed=seed))
        all_counts.append(fcounts)
        state = 32 * (1 + any(la.alpha for la in float_net.spiking))  # fp32 mem (and cur when alpha > 0)
        models.append(snn_workload(fcounts, model="snn_float", title=TITLES["snn_float"], auc=aucs.get("snn_float"),
                                   source="float snntorch model", state_bits=state, topo=ftopo))
    raw_anns, checks = {}, {}
    for spec in anns:
        raw = ann_on_shared_input(spec["onnx"], xq)
        raw_anns[spec["model"]], checks[spec["model"]] = raw, spec.get("check")
        models.append(ann_workload(raw, model=spec["model"], auc=aucs.get(spec["model"]),
                                   title=spec.get("title") or TITLES.get(spec["model"], f"the ANN {spec['model']}")))
    if not anns:
        dense_only = all(k == "dense" for k in topo.kinds)
        name = "mlp_same_topology" if dense_only else "ann_same_topology"
        raw = ann_macs_from_sizes(ir.sizes) if dense_only else ann_macs_from_topology(topo)
        raw_anns[name] = raw
        models.append(ann_workload(raw, model=name, title=TITLES[name]))
    meta = {"name": ir.name, "clips": int(x.shape[0]), "seed": seed, **(network or {})}
    report = build_report(meta, topo.shape(), models, profiles, counts=all_counts, anns=raw_anns,
                          onnx_checks=checks, shared_input=shared)
    from toolchain.energy.silicon import silicon_checks

    report["silicon"] = silicon_checks(ir, report)
    return report
