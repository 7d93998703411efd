"""One call from a quantised network and clips to the energy report (used by `energy` and the pipeline).

Counts come from the bit-exact emulator on the clips (and, when the float network is given, from the
float snntorch model on the same clips, so quantisation's effect on activity is visible); the ANN
baseline's MACs come from its ONNX graph when given, else from the same-topology ReLU MLP.
"""

from __future__ import annotations

import numpy as np

from toolchain.ir.graph import NetworkIR


def analyse(ir: NetworkIR, x: np.ndarray, *, profiles: list, float_net=None, ann_counts=None,
            onnx_check: dict | None = None, network: dict | None = None, seed: int = 0) -> dict:
    """The energy report dict (see toolchain.energy.report.build_report) for features x [N, n_in]."""
    from toolchain.counts import (
        ann_macs_from_sizes,
        count_classification,
        topology_from_float,
        topology_from_ir,
    )
    from toolchain.emulator import simulate
    from toolchain.energy.report import build_report

    topo = topology_from_ir(ir)
    counts = count_classification(topo, simulate(ir, x, seed=seed, record_v=True))
    compare = []
    if float_net is not None:
        from toolchain.frontends.reference import simulate_float

        # a "dc" float input is counted with the IR's graded encoding, so the two differ by quantisation only
        enc = ir.input.encoding if float_net.encoding == "dc" and ir.input.graded else None
        compare.append(count_classification(topology_from_float(float_net, encoding=enc),
                                            simulate_float(float_net, x, seed=seed)))
    meta = {"name": ir.name, "clips": int(x.shape[0]), "seed": seed, **(network or {})}
    return build_report(meta, topo.shape(), counts, ann_counts if ann_counts is not None else ann_macs_from_sizes(ir.sizes),
                        profiles, compare_counts=compare, onnx_check=onnx_check)
