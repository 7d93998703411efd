"""Break-even: at which spike rate the SNN would cost what the ANN costs, repriced in full at each rate.

Rate r = spikes per neuron per step of every LIF layer. At rate r the SNN's workload is
`toolchain.counts.workload.snn_at_rate(work, r)`: the hidden layers' ops, spikes, active neuron updates
and weight fetches scale with r, the input layer does not. It is priced in full at each rate, so
latency, and with it static energy, grows with activity on a chip whose step lasts as long as its
busiest core. E_snn(r) is non-decreasing in r; the break-even rate solves E_snn(r) = E_ann on [0, 1]
by bisection.

Ranges: on the same basis the same constants apply to both sides, so the ends are taken together
(E_snn lo against E_ann lo, hi against hi); otherwise the range is the widest: E_snn hi = E_ann lo
gives the low rate, E_snn lo = E_ann hi the high one.
Statements: "no break-even rate in [0, 1]: ..." when the SNN costs more than the ANN even at rate 0,
or less even at rate 1 (at every end); else the rate range. E_snn at rate 0 and at rate 1 are reported.
"""

from __future__ import annotations

from typing import Any

from toolchain.counts.workload import snn_at_rate
from toolchain.energy.price import price

ITERATIONS = 24  # bisection steps: the rate to about 6e-8


def measured_rate(work: dict[str, Any]) -> float | None:
    """Spikes per neuron per step of the layers whose spikes drive synaptic ops (all LIF layers but the last)."""
    hidden = work["layers"][:-1]
    if not hidden:
        return None
    return sum(la["spikes"] for la in hidden) / (sum(la["n_out"] for la in hidden) * work["num_steps"])


class RateCurve:
    """E_snn(r) [lo, hi] of one SNN workload on one profile under one policy, memoised per rate."""

    def __init__(self, work: dict[str, Any], profile, policy: str, mapping: dict[str, Any] | None):
        self.work, self.profile, self.policy, self.mapping = work, profile, policy, mapping
        self._cache: dict[float, list[float]] = {}

    def __call__(self, rate: float) -> list[float]:
        if rate not in self._cache:
            self._cache[rate] = price(snn_at_rate(self.work, rate), self.profile, self.policy,
                                      self.mapping)["total_J"]
        return self._cache[rate]

    def solve(self, end: int, target: float) -> float | None:
        """The rate where end `end` (0 lo, 1 hi) of E_snn equals `target`, or None outside [0, 1]."""
        if self(0.0)[end] >= target or self(1.0)[end] <= target:
            return None
        lo, hi = 0.0, 1.0
        for _ in range(ITERATIONS):
            mid = (lo + hi) / 2
            if self(mid)[end] < target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2


def breakeven(curve: RateCurve, ann_J: list[float], same_basis: bool) -> dict[str, Any]:
    """Break-even of the SNN behind `curve` against an ANN costing `ann_J` [lo, hi] J per classification."""
    e0, e1 = curve(0.0), curve(1.0)
    ends = [(0, 0), (1, 1)] if same_basis else [(1, 0), (0, 1)]  # (SNN end, ANN end) per rate end
    found: list[float | str] = []
    for s, a in ends:
        r = curve.solve(s, ann_J[a])
        found.append(r if r is not None else ("<0" if e0[s] >= ann_J[a] else ">1"))
    out = {"measured_rate": measured_rate(curve.work), "snn_J_at_rate0": e0, "snn_J_at_rate1": e1,
           "ann_J": list(ann_J), "ends_taken_together": same_basis, "per_end": found}
    if all(r == "<0" for r in found):
        out.update(breakeven_rate=None, statement="no break-even rate in [0, 1]: the SNN costs more than the ANN "
                                                  "even with no hidden spikes (rate 0)")
    elif all(r == ">1" for r in found):
        out.update(breakeven_rate=None, statement="no break-even rate in [0, 1]: the SNN costs less than the ANN "
                                                  "even if every neuron spiked at every step (rate 1)")
    else:
        nums = [0.0 if r == "<0" else 1.0 if r == ">1" else r for r in found]
        lo, hi = min(nums), max(nums)
        text = (f"break-even at {lo:.4g} spikes per neuron per step" if hi - lo < 1e-9 else
                f"break-even between {lo:.4g} and {hi:.4g} spikes per neuron per step")
        if any(isinstance(r, str) for r in found):
            text += " (at one end of the constants' ranges there is none in [0, 1])"
        out.update(breakeven_rate=[lo, hi], statement=text)
    return out
