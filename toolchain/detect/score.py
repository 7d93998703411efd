"""Event-level scores against a truth table: precision, recall, F1, false alarms per hour, PR curve.

Matching: a detected event and a true call match when their onsets (Begin Time) differ by at most
the onset tolerance (default: one analysis window, since a window-level detector places a call only
somewhere inside the windows that fire: an event begins at its first positive window's start, up to
one window before the call). Matching is one to one and greedy: candidate pairs are taken in order
of decreasing event score, then increasing onset difference, each event and call used once.
Unmatched events are false alarms, unmatched calls misses.

precision = TP / (TP + FP) (None without events), recall = TP / (TP + FN) (None without calls),
F1 = 2 P R / (P + R) (None when either is None; 0 when both are 0), false alarms per hour =
FP / hours of audio scored. Several recordings pool their counts.

Latency to detection of a matched call: its event's `decided_s` (the end of the event's first
positive unit) minus the call's onset; an event can begin before the call (a unit reaching back),
but it is decided only when its first unit's audio has all been heard.

The precision-recall curve re-merges the window scores into events at every threshold where the
decision can change (each distinct window score, and one below the lowest), so each point is the
detector's real output at that threshold, not a window-level approximation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolchain.detect.events import Event, merge_events


@dataclass
class Counts:
    """True positives, false positives (false alarms), false negatives (misses), hours scored."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    hours: float = 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.hours + other.hours)

    def figures(self) -> dict:
        """precision, recall, f1, false_alarms_per_hour and the counts (see the module docstring)."""
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        f1 = None if p is None or r is None else (0.0 if p + r == 0 else 2 * p * r / (p + r))
        return {"precision": p, "recall": r, "f1": f1,
                "false_alarms_per_hour": self.fp / self.hours if self.hours > 0 else None,
                "true_positives": self.tp, "false_alarms": self.fp, "misses": self.fn,
                "events": self.tp + self.fp, "calls": self.tp + self.fn, "hours": self.hours}


def match(events: list[Event], truth_begin_s: np.ndarray, tolerance_s: float) -> tuple[list[int | None], int]:
    """(for each event the index of the call it matches or None, number of calls matched)."""
    truth = np.asarray(truth_begin_s, dtype=np.float64)
    pairs = []
    for i, e in enumerate(events):
        lo = int(np.searchsorted(truth, e.begin_s - tolerance_s, side="left"))
        hi = int(np.searchsorted(truth, e.begin_s + tolerance_s, side="right"))
        for j in range(lo, hi):
            pairs.append((-e.score, abs(truth[j] - e.begin_s), i, j))
    pairs.sort()
    of_event: list[int | None] = [None] * len(events)
    used = np.zeros(truth.size, dtype=bool)
    for _, _, i, j in pairs:
        if of_event[i] is None and not used[j]:
            of_event[i], used[j] = j, True
    return of_event, int(used.sum())


def latencies(events: list[Event], truth_begin_s: np.ndarray, tolerance_s: float) -> np.ndarray:
    """Latency to detection (s) of every matched call: the matching event's `decided_s` (the end of
    its first positive unit, when the detector has heard the audio of its decision) minus the
    call's onset; float64 [matched calls], in the order of the calls."""
    truth = np.sort(np.asarray(truth_begin_s, dtype=np.float64))
    of_event, _ = match(events, truth, tolerance_s)
    pairs = sorted((j, events[i].decided_s - truth[j]) for i, j in enumerate(of_event)
                   if j is not None and events[i].decided_s is not None)
    return np.array([lat for _, lat in pairs], dtype=np.float64)


def latency_figures(lat: np.ndarray) -> dict:
    """Median, quartiles and range of latencies (s), or None each without a matched call."""
    if lat.size == 0:
        return {"latency_median_s": None, "latency_q1_s": None, "latency_q3_s": None, "latency_min_s": None,
                "latency_max_s": None, "latency_calls": 0}
    q1, med, q3 = np.percentile(lat, [25, 50, 75])
    return {"latency_median_s": float(med), "latency_q1_s": float(q1), "latency_q3_s": float(q3),
            "latency_min_s": float(lat.min()), "latency_max_s": float(lat.max()), "latency_calls": int(lat.size)}


def counts(events: list[Event], truth_begin_s: np.ndarray, tolerance_s: float, hours: float) -> Counts:
    """Counts of one recording."""
    _, tp = match(events, np.sort(np.asarray(truth_begin_s, dtype=np.float64)), tolerance_s)
    return Counts(tp, len(events) - tp, len(truth_begin_s) - tp, hours)


def pr_curve(scored: list[dict], tolerance_s: float, include: tuple[float, ...] = ()) -> list[dict]:
    """Points (threshold, figures) over every distinct threshold and those in `include`, for
    recordings given as dicts with begin_s, end_s, scores (the unit arrays), duration_s and
    truth_begin_s."""
    values = np.unique(np.concatenate([np.asarray(s["scores"], dtype=np.float64) for s in scored]))
    below = [values[0] - 1.0] if values.size else []
    thresholds = np.unique(np.concatenate([below, values, np.asarray(include, dtype=np.float64)]))
    points = []
    for t in thresholds:
        total = Counts()
        for s in scored:
            ev = merge_events(s["begin_s"], s["end_s"], s["scores"], float(t), s["duration_s"])
            total = total + counts(ev, s["truth_begin_s"], tolerance_s, s["duration_s"] / 3600)
        points.append({"threshold": float(t), **total.figures()})
    return points


def plot_pr(points: list[dict], chosen: float, path: str | Path, title: str) -> Path:
    """The precision-recall curve as an image (atomically), the chosen threshold marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolchain.core.fileio import atomic_path

    pts = [p for p in points if p["precision"] is not None and p["recall"] is not None]
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.plot([p["recall"] for p in pts], [p["precision"] for p in pts], "o-", ms=3)
    for p in pts:
        if p["threshold"] == chosen:
            ax.plot([p["recall"]], [p["precision"]], "r*", ms=12, label=f"threshold {chosen:g}")
    ax.set_xlabel("recall (calls found)")
    ax.set_ylabel("precision (events that are calls)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=9)
    if any(p["threshold"] == chosen for p in pts):
        ax.legend(loc="lower left")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return Path(path)
