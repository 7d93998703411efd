"""Chunked work over many clips: an optional process pool and a rich progress bar (on stderr).

Worker processes are forked on Linux (see `_context`). A pool is used only when there is enough
work to repay starting it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
from typing import Any, Callable, Iterator, Sequence

POOL_MIN_ITEMS = 2000  # below this many items the work runs in the calling process
PROGRESS_MIN_ITEMS = 1000  # below this many items no progress bar is drawn


def default_workers() -> int:
    """Worker processes for decode / synthesis: the CPU count, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


@contextlib.contextmanager
def progress_bar(total: int, description: str, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yield `advance(n)`; draws a rich bar on stderr when enabled and total >= PROGRESS_MIN_ITEMS."""
    if not enabled or total < PROGRESS_MIN_ITEMS:
        yield lambda n: None
        return
    from rich.progress import TimeRemainingColumn

    from toolchain.core.progress import stderr_progress

    with stderr_progress(TimeRemainingColumn()) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _context() -> mp.context.BaseContext:
    """fork on Linux (no re-import of the caller's main module, so scripts without a
    `__main__` guard, stdin and notebooks work; workers use only numpy / scipy / soundfile,
    never torch or OpenMP), spawn elsewhere."""
    return mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def map_chunks(func: Callable[[Any], Any], chunks: Sequence[Any], sizes: Sequence[int], *,
               workers: int | None = None, description: str = "", progress: bool = True) -> Iterator[Any]:
    """Yield func(chunk) for each chunk, in order; `sizes[i]` items of progress per chunk."""
    workers = default_workers() if workers is None else max(1, workers)
    total = int(sum(sizes))
    if workers == 1 or total < POOL_MIN_ITEMS or len(chunks) < 2:
        with progress_bar(total, description, progress) as advance:
            for chunk, size in zip(chunks, sizes):
                yield func(chunk)
                advance(size)
        return
    # the pool is forked before the progress bar starts its refresh thread
    with _context().Pool(min(workers, len(chunks))) as pool:
        results = pool.imap(func, chunks)
        with progress_bar(total, description, progress) as advance:
            for result, size in zip(results, sizes):
                yield result
                advance(size)
