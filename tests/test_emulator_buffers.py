"""The emulator's output arrays: zeroed, writable, and their memory recycled only once no view of
it is alive; populating falls back to MAP_POPULATE where MADV_POPULATE_WRITE is refused."""

from __future__ import annotations

import gc

import numpy as np

from toolchain.emulator import buffers


def _addr(arr: np.ndarray) -> int:
    return arr.__array_interface__["data"][0]


def test_large_arrays_are_zeroed_writable_and_of_the_shape():
    shape = (3, 5, buffers.MAPPED // 15 + 7)
    for dtype in (np.bool_, np.int32, np.float64):
        arr = buffers.touched(shape, dtype)
        assert arr.shape == shape and arr.dtype == dtype and not arr.any() and arr.flags.writeable
        arr[-1, -1, -1] = 1
        arr[0, 0, 0] = 1
        assert int(arr.sum()) == 2
    small = buffers.touched((4, 4), np.int32)
    assert not small.any() and small.shape == (4, 4)


def test_memory_is_reused_only_after_every_view_died_and_comes_back_zeroed(monkeypatch):
    monkeypatch.setattr(buffers, "_POOL", buffers._Pool(buffers.POOL_BYTES))
    size = 2 * buffers.MAPPED
    first = buffers.touched((size,), np.uint8)
    first[:] = 7
    view = first[10:20].view(np.int16)  # keeps the mapping alive after `first` is gone
    addr = _addr(first)
    del first
    gc.collect()
    assert buffers._POOL.held() == 0
    other = buffers.touched((size,), np.uint8)
    assert _addr(other) != addr and np.all(view == 0x0707)  # not handed out while the view lives
    other[:] = 9
    other_addr = _addr(other)
    del view, other
    gc.collect()
    assert buffers._POOL.held() == 2 * size
    again = buffers.touched((size // 8,), np.int64)  # the same bytes as another type
    assert _addr(again) in (addr, other_addr) and not again.any()
    assert buffers._POOL.held() == size
    assert buffers._POOL.take(size // 3) is None  # a mapping over twice the request is not handed out
    tiny = buffers._Pool(size - 1)  # over its limit: the oldest mapping is unmapped
    tiny.give(*buffers._POOL.take(size))
    assert tiny.held() == 0


def test_a_refused_populate_falls_back_to_map_populate(monkeypatch):
    calls = []
    real = buffers._LIBC
    monkeypatch.setattr(buffers, "_LIBC", (real[0], real[1], lambda *a: calls.append(a) or -1))
    monkeypatch.setattr(buffers, "_POOL", buffers._Pool(0))  # nothing pooled: a new mapping is made
    arr = buffers.touched((3 * buffers.MAPPED,), np.uint8)
    assert calls and not arr.any()
    arr[:] = 1
    assert int(arr.sum()) == arr.size


def test_emulator_spikes_are_written_in_full_over_recycled_memory(monkeypatch):
    """The spike arrays of a run are not zeroed when their memory is recycled (`zeroed=False`), so
    every handler must write every spike: over memory poisoned with ones, lava-dl PilotNet (bias
    input, conv on events and on tables, dense) and random conv and recurrent networks give the
    spikes of a run on fresh memory."""
    from tests.ir_factory import calibrate_thresholds, random_conv_ir, random_input, random_rec_ir
    from toolchain.bench.simulate import pilotnet_network
    from toolchain.emulator import Emulator

    monkeypatch.setattr(buffers, "MAPPED", 64)  # (almost) every spike array a recycled mapping
    rng = np.random.default_rng(3)
    nets = [pilotnet_network(2)]
    for ir in (random_conv_ir(rng, 2, "spikes"), random_conv_ir(rng, 1, "graded_every_step"),
               random_rec_ir(rng, [10, 8, 7, 3], "spikes")):
        inp = random_input(rng, ir, batch=3)
        nets.append((calibrate_thresholds(ir, inp), inp))
    for ir, inp in nets:
        emu = Emulator(ir)
        monkeypatch.setattr(buffers, "_POOL", buffers._Pool(buffers.POOL_BYTES))
        want = [s.copy() for s in emu.run(inp).layer_spikes]
        gc.collect()
        poison = [buffers.touched((s.size,), np.uint8) for s in want if s.size >= buffers.MAPPED]
        for arr in poison:
            arr[:] = 1
        del poison, arr
        gc.collect()
        assert buffers._POOL.held() >= sum(s.size for s in want if s.size >= buffers.MAPPED) > 0
        got = emu.run(inp).layer_spikes
        for i, (g, w) in enumerate(zip(got, want)):
            assert np.array_equal(g, w), f"{ir.name}: layer {i}"
        assert any(not w.all() for w in want)
