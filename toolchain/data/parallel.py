"""Chunked work over many clips: an optional process pool and a rich progress bar (on stderr).

Worker processes are forked on Linux (see `_context`). A pool is used only when there is enough
work to repay starting it.

Workers never outlive their parent and never print an interrupt traceback (`_worker_init`):
they ignore SIGINT (Ctrl-C reaches the whole process group; the parent stops the pool), take
SIGTERM with its default action (a forked worker would otherwise inherit a parent handler that
turns SIGTERM into KeyboardInterrupt, and print a traceback when the pool is terminated), and on
Linux ask the kernel for SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG); elsewhere a
watchdog thread exits when the parent process id changes. At a normal end the pool is closed
and joined (workers exit on their own); only an exception or an abandoned iteration terminates it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterator, Sequence

POOL_MIN_ITEMS = 2000  # below this many items the work runs in the calling process
PROGRESS_MIN_ITEMS = 1000  # below this many items no progress bar is drawn
PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCHDOG_S = 0.5  # how often a worker without prctl checks that its parent is alive


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


def _exit_with_parent(parent: int) -> None:
    """Make this (worker) process end when process `parent` ends."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCHDOG_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _worker_init(parent: int) -> None:
    """Pool initializer: signals as the module docstring says, and die with `parent`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _exit_with_parent(parent)


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
    pool = _context().Pool(min(workers, len(chunks)), initializer=_worker_init,
                           initargs=(os.getpid(),))
    try:
        results = pool.imap(func, chunks)
        with progress_bar(total, description, progress) as advance:
            for result, size in zip(results, sizes):
                yield result
                advance(size)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
