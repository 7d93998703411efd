"""Energy per classification: chip mapping, pricing counts against hardware profiles, break-even.

    mapping.py    cores and chips a network needs on a neuromorphic profile (design-rule checks)
    price.py      counts x per-event constants, [lo, hi] ranges, split into input / synaptic /
                  neuron / static components (SNN) and the ANN baseline priced the same way
    breakeven.py  the spike rate at which SNN and ANN energies are equal
    report.py     the report as JSON, markdown and PNG, with every constant's source
Every energy figure is an estimate from published constants; counts come from `toolchain.counts`.
"""

from toolchain.energy.breakeven import breakeven, measured_rate
from toolchain.energy.mapping import map_network
from toolchain.energy.price import latency_s, price_ann, price_snn
from toolchain.energy.report import build_report, render_markdown, write_report

__all__ = ["breakeven", "build_report", "latency_s", "map_network", "measured_rate", "price_ann",
           "price_snn", "render_markdown", "write_report"]
