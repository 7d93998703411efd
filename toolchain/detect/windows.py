"""Sliding analysis windows over a stream of sample blocks.

Window k covers samples [k * hop, k * hop + window) of the recording (at the network's sample
rate). Every window that fits wholly is taken; when samples remain after the last whole window
(or the recording is shorter than one window) one more window starts at the next k * hop and is
zero-padded at the end, as the data loader pads a short clip, so every sample is seen by a window.
`count(n)` is the number of windows of an n-sample recording.

`iter_windows` holds at most one block plus one window and one batch of windows at any time
(`WindowStream.max_held` records the most samples its buffer ever held).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np


@dataclass(frozen=True)
class WindowSpec:
    """Window and hop in samples at `sample_rate` Hz."""

    sample_rate: int
    window: int
    hop: int

    @property
    def window_s(self) -> float:
        return self.window / self.sample_rate

    @property
    def hop_s(self) -> float:
        return self.hop / self.sample_rate

    def full(self, n: int) -> int:
        """Windows wholly inside an n-sample recording."""
        return 0 if n < self.window else 1 + (n - self.window) // self.hop

    def count(self, n: int) -> int:
        """Windows of an n-sample recording: the whole ones, plus a zero-padded one over any rest."""
        full = self.full(n)
        covered = 0 if full == 0 else (full - 1) * self.hop + self.window
        return full + (1 if n > covered else 0)


class WindowStream:
    """Batches of windows float32 [b, window] from consecutive sample blocks (see module docstring)."""

    def __init__(self, spec: WindowSpec, batch: int = 256):
        self.spec, self.batch = spec, batch
        self.max_held = 0
        self.samples = 0

    def __call__(self, blocks: Iterable[np.ndarray]) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (index of the batch's first window, windows float32 [b, window]) in order."""
        W, H = self.spec.window, self.spec.hop
        buf = np.zeros(0, dtype=np.float32)  # samples from the start of window k on
        k = 0
        out = np.empty((self.batch, W), dtype=np.float32)
        filled = 0
        for block in blocks:
            self.samples += block.shape[0]
            buf = np.concatenate([buf, block.astype(np.float32)])
            self.max_held = max(self.max_held, buf.shape[0])
            while buf.shape[0] >= W:
                take = min(1 + (buf.shape[0] - W) // H, self.batch - filled)
                out[filled:filled + take] = np.lib.stride_tricks.sliding_window_view(buf, W)[:take * H:H]
                filled += take
                k += take
                buf = buf[take * H:]
                if filled == self.batch:
                    yield k - filled, out
                    out, filled = np.empty((self.batch, W), dtype=np.float32), 0
        if self.spec.count(self.samples) > k:  # the rest after the last whole window, zero-padded
            out[filled] = 0.0
            out[filled, :buf.shape[0]] = buf
            filled += 1
            k += 1
        if filled:
            yield k - filled, out[:filled]
