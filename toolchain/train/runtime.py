"""Process settings for the training commands (torch-free: call before torch is imported).

- `enable_huge_pages()`: torch backs large CPU tensors with transparent huge pages. Its CPU
  allocator reads THP_MEM_ALLOC_ENABLE once, at the first tensor allocation of the process, so
  this must run before torch allocates anything; Ray workers inherit it. A training batch of the
  seed's 2D network allocates and frees hundreds of MB (gradients, Adam temporaries, [T, B, n]
  spike buffers); with 4 KiB pages that is ~10^5 page faults per batch (measured here: ~0.9 s vs
  ~0.75 s per batch of 64 at 50 steps).
- `sigterm_as_interrupt()`: SIGTERM stops a command like Ctrl+C (KeyboardInterrupt in the main
  thread), so `finally` blocks run: Ray is shut down, temporary files removed, finished work kept.
"""

from __future__ import annotations

import os
import signal
import threading


def enable_huge_pages() -> None:
    """Set THP_MEM_ALLOC_ENABLE=1 unless the environment already says otherwise."""
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


_OWNER: int | None = None  # pid of the process that installed the handler


def _raise_interrupt(signum, frame) -> None:
    """SIGTERM in the command's own process: KeyboardInterrupt. In a process forked from it (a
    multiprocessing pool worker inherits the handler), the default action: the worker ends
    silently when its pool is terminated, instead of printing a KeyboardInterrupt traceback."""
    if os.getpid() != _OWNER:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt


def sigterm_as_interrupt() -> None:
    """Install the handler (main thread only). Call it again after `ray.init`: Ray's core worker
    installs its own SIGTERM handler, which prints a stack and kills the process at once."""
    global _OWNER
    if threading.current_thread() is threading.main_thread():
        _OWNER = os.getpid()
        signal.signal(signal.SIGTERM, _raise_interrupt)
