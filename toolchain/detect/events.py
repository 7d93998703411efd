"""Events: runs of positive decision units (windows, or a streaming detector's frames) merged.

A unit is positive when its score is strictly above the threshold. Consecutive positive units
whose spans overlap or touch (the next one begins at or before the current event's end) are one
event: it begins where its first unit begins and ends where its last unit ends (clipped to the
recording's duration), and its score is the highest unit score inside it; `peak_s` is the centre
of the first unit with that score; `decided_s` is where its first unit ends: the earliest moment
the detector has heard all the audio of a positive decision (what latency to detection counts to).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Event:
    """One detection: span in s from the start of the recording, best unit score, units merged."""

    begin_s: float
    end_s: float
    score: float
    peak_s: float
    units: int
    decided_s: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def merge_events(begin_s: np.ndarray, end_s: np.ndarray, scores: np.ndarray, threshold: float,
                 duration_s: float) -> list[Event]:
    """Events of units with spans [begin_s, end_s) (ascending begin) and `scores` at `threshold`."""
    pos = np.flatnonzero(np.asarray(scores) > threshold)
    events: list[Event] = []
    if pos.size == 0:
        return events
    begin, end, scores = np.asarray(begin_s)[pos], np.asarray(end_s)[pos], np.asarray(scores)[pos]
    reach = np.maximum.accumulate(end)
    starts = np.concatenate([[0], np.flatnonzero(begin[1:] > reach[:-1]) + 1, [pos.size]])
    for a, b in zip(starts[:-1], starts[1:]):
        best = a + int(np.argmax(scores[a:b]))
        events.append(Event(float(begin[a]), float(min(reach[b - 1], duration_s)), float(scores[best]),
                            float(min((begin[best] + end[best]) / 2, duration_s)), int(b - a),
                            float(min(end[a], duration_s))))
    return events
