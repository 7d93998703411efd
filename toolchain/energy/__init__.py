"""Energy per classification: chip mapping, pricing workloads against hardware profiles, verdicts.

    mapping.py    cores and chips a network needs on a neuromorphic profile (synapse lists with their
                  headers and word rounding, shared core memory, design-rule checks), a planner per
                  layer kind (dense, dense_rec, conv, input)
    conv_mapping.py  a conv layer's boxes per core, core memory (shared kernel or expanded lists) and fan-in
    price.py      a workload (toolchain.counts.workload: SNN or ANN) x a profile's constants, component
                  by component (compute, weight reads, DRAM, accumulator, state, neuron, routing, static),
                  [lo, hi] ranges, latency and energy-delay product, lower-bound flags
    breakeven.py  the spike rate at which the SNN would cost what the ANN costs (repriced at each rate)
    compare.py    one comparison per (SNN profile, ANN model, ANN profile): basis, verdict, reason; the headline
    report.py     the report as JSON, markdown and PNGs, with every constant's source
    front.py      the accuracy-energy front of a sweep folder
    analyse.py    from a quantised network, clips and ANN baselines to the report (one shared input)
    silicon.py    predicted vs measured for a network with a silicon measurement (hardware_profiles/measured)
Every energy figure is an estimate from published constants; counts come from `toolchain.counts`.
"""

from toolchain.energy.breakeven import RateCurve, breakeven, measured_rate
from toolchain.energy.compare import basis, headline, verdict
from toolchain.energy.mapping import map_network
from toolchain.energy.price import latency_s, price
from toolchain.energy.report import build_report, render_markdown, write_report

__all__ = ["RateCurve", "basis", "breakeven", "build_report", "headline", "latency_s", "map_network",
           "measured_rate", "price", "render_markdown", "verdict", "write_report"]
