"""Output arrays for the emulator's parallel kernels: zeroed, with their pages already there, and
their memory recycled inside the process.

A kernel thread that first touches a page takes a page fault, and the faults of the threads
serialise; so large arrays are anonymous mappings whose pages the kernel creates up front (from one
thread per CPU by MADV_POPULATE_WRITE, else by MAP_POPULATE in the mmap call). Creating pages is
still the slowest part of allocating: measured on this project's 2-CPU VM, populating 650 MB took
150 ms to 1 s from one run to the next (the VM hands freed memory back to its host, which must back
it again), against about 40 ms to zero memory the process already holds. So a mapping whose
arrays have all died (every view included: the mapping is their base object) goes to a pool of at
most `POOL_BYTES` and is zeroed and reused by the next request of a size it fits (at most twice
its size), before a new one is made. Measured on the same VM: 324 MB took 62 to 110 ms populated
by two threads against 95 to 138 ms by MAP_POPULATE; 81 MB first-touched by two kernel threads took
96 ms against 22 ms populated first.
"""

from __future__ import annotations

import ctypes
import mmap
import threading

import numba
import numpy as np

MAPPED = 1 << 22  # arrays from 4 MB up are mappings (smaller ones: np.zeros)
POOL_BYTES = 2 << 30  # the most memory of dead arrays kept for reuse
_MADV_POPULATE_WRITE = 23  # Linux >= 5.14: fault in (zeroed, writable) the pages of a range
_PROT = mmap.PROT_READ | mmap.PROT_WRITE
_FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)


def _libc():
    """libc's mmap, munmap and madvise (ctypes releases the GIL around them), or None."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fns = libc.mmap, libc.munmap, libc.madvise
    except (OSError, AttributeError):
        return None
    fns[0].argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    fns[0].restype = ctypes.c_void_p
    fns[1].argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    fns[2].argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return fns


_LIBC = _libc() if _POPULATE else None
_FAILED = ctypes.c_void_p(-1).value  # MAP_FAILED


class _Mapping:
    """An anonymous mapping of `size` bytes at `addr`, the base object of the arrays made from it;
    when the last of them dies it goes back to the pool (or is unmapped)."""

    def __init__(self, addr: int, size: int):
        self.addr, self.size = addr, size
        self.__array_interface__ = {"data": (addr, False), "shape": (size,), "typestr": "|u1", "version": 3}

    def __del__(self):
        try:
            _POOL.give(self.addr, self.size)
        except Exception:  # interpreter shutdown: the process's memory goes with it
            pass


class _Pool:
    """Mappings no array uses any more, kept (at most POOL_BYTES) for reuse, newest last."""

    def __init__(self, limit: int):
        self.limit, self.free, self.lock = limit, [], threading.Lock()

    def take(self, size: int) -> tuple[int, int] | None:
        """The smallest free mapping of size..2 * size bytes, removed from the pool, or None."""
        with self.lock:
            fits = [m for m in self.free if size <= m[1] <= 2 * size]
            if not fits:
                return None
            best = min(fits, key=lambda m: m[1])
            self.free.remove(best)
            return best

    def give(self, addr: int, size: int) -> None:
        with self.lock:
            self.free.append((addr, size))
            drop = []
            while sum(m[1] for m in self.free) > self.limit:
                drop.append(self.free.pop(0))
        for a, s in drop:
            _LIBC[1](a, s)

    def held(self) -> int:
        with self.lock:
            return sum(m[1] for m in self.free)


_POOL = _Pool(POOL_BYTES)


def _populate(addr: int, size: int) -> bool:
    """Fault in the pages of [addr, addr + size) from one thread per CPU, each a contiguous share;
    False where the kernel refuses MADV_POPULATE_WRITE."""
    parts = max(1, min(numba.get_num_threads(), size // MAPPED))
    share = -(-size // parts // mmap.PAGESIZE) * mmap.PAGESIZE
    ok = [True] * parts

    def work(i):
        lo = i * share
        if lo < size:
            ok[i] = _LIBC[2](addr + lo, min(share, size - lo), _MADV_POPULATE_WRITE) == 0

    threads = [threading.Thread(target=work, args=(i,)) for i in range(parts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return all(ok)


def _new_mapping(size: int) -> _Mapping | None:
    addr = _LIBC[0](None, size, _PROT, _FLAGS, -1, 0)
    if addr in (None, _FAILED):
        return None
    if not _populate(addr, size):
        _LIBC[1](addr, size)
        addr = _LIBC[0](None, size, _PROT, _FLAGS | _POPULATE, -1, 0)
        if addr in (None, _FAILED):
            return None
    return _Mapping(addr, size)


def touched(shape, dtype=np.float64, zeroed: bool = True) -> np.ndarray:
    """A new zeroed array whose pages exist before the parallel kernels write it (see the module
    docstring: a recycled mapping zeroed, else a new one populated). zeroed=False: for arrays the
    caller overwrites in full, a recycled mapping keeps what its dead arrays held (no memset:
    about 40 ms per 650 MB of spikes here)."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    size = count * dtype.itemsize
    if size < MAPPED or _LIBC is None:
        return np.zeros(shape, dtype=dtype)
    reused = _POOL.take(size)
    owner = _Mapping(*reused) if reused is not None else _new_mapping(size)
    if owner is None:  # the system refused the mapping: let numpy allocate (and fail clearly if it must)
        return np.zeros(shape, dtype=dtype)
    raw = np.asarray(owner)
    if reused is not None and zeroed:
        raw[:size].fill(0)  # memset: ~16 GB/s here
    return raw[:size].view(dtype).reshape(shape)
