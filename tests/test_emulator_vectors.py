"""The explicit-vector building blocks of the emulator's kernels equal the scalar numba code they replace, as
integers: the int32-lane memoryless LIF step against `_block_step_memoryless` (int64 lanes) at the
limits of its stated ranges, the int32-lane LIF step with current memory against `_update_int`
(int32 wraps and 24-bit wraps of u included), `lif_layer` on int32 lanes against its float64
kernel, and the word-at-a-time channels-first spike writer against the plain transposing loop, for
widths and position counts that are not whole words."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from toolchain.emulator import lif
from toolchain.emulator.events import _block_step_memoryless
from toolchain.emulator.lif import _update_int
from toolchain.emulator.vectors import (
    STATE_LANES,
    _lif_vectors,
    _memoryless_vectors,
    _spikes_channels_first,
)
from toolchain.ir import limits as L


@numba.njit
def _vector_steps(acc, astride, v, fired, b, bstride, mv, vth, subtract, positions, per):
    out = np.empty((acc.shape[0], 2, v.shape[0]), dtype=np.int64)
    for t in range(acc.shape[0]):
        _memoryless_vectors(acc[t], astride, v, fired, b, bstride, mv, vth, subtract, positions, per)
        out[t, 0] = v
        out[t, 1] = fired[: v.shape[0]]
    return out


@numba.njit
def _scalar_steps(acc, v, fired, b, mv, vth, subtract):
    out = np.empty((acc.shape[0], 2, v.shape[0]), dtype=np.int64)
    for t in range(acc.shape[0]):
        _block_step_memoryless(acc[t], v, fired, b, mv, vth, subtract)
        out[t, 0] = v
        out[t, 1] = fired
    return out


@numba.njit
def _lif_vector_steps(acc, u, v, fired, b, mu, mv, vth, subtract):
    out = np.empty((acc.shape[0], 3, u.shape[0]), dtype=np.int64)
    for t in range(acc.shape[0]):
        _lif_vectors(acc[t], u, v, fired, b, u.shape[0] // STATE_LANES, mu, mv, vth, subtract)
        out[t, 0], out[t, 1], out[t, 2] = u, v, fired
    return out


@numba.njit
def _lif_scalar_steps(acc, u, v, fired, b, mu, mv, vth, subtract):
    out = np.empty((acc.shape[0], 3, u.shape[0]), dtype=np.int64)
    for t in range(acc.shape[0]):
        for j in range(u.shape[0]):
            u[j], v[j], fired[j] = _update_int(u[j], v[j], fired[j], acc[t, j], mu, mv, vth, b[j], subtract)
        out[t, 0], out[t, 1], out[t, 2] = u, v, fired
    return out


@pytest.mark.parametrize("subtract", [False, True])
def test_int32_lane_lif_step_equals_the_int64_step(subtract):
    """u, v and spikes equal step for step over sums anywhere in int32 (x = decay(u) + (acc << 6)
    wraps in int32, then u wraps at 24 bits, so |u| reaches about 2**31 and v's sum leaves int32),
    small sums, u and v at their limits, biases up to 2**30 - 1, du and dv from none to full decay."""
    rng = np.random.default_rng(11 + int(subtract))
    n, T = 40 * STATE_LANES, 6
    acc = rng.integers(-2 ** 31, 2 ** 31, size=(T, n))
    acc[:, ::3] //= 2 ** 14  # sums that do not wrap
    acc[0, :6] = [2 ** 31 - 1, -2 ** 31, 2 ** 25, -2 ** 25, -2 ** 17, 2 ** 17]  # 4, 5: x = -+2**23 from u = 0
    acc = acc.astype(np.int32)
    bias = rng.integers(-2 ** 30 + 1, 2 ** 30, size=n)
    bias[::2] = rng.integers(-3000, 3000, size=bias[::2].size)
    bias = bias.astype(np.int32)
    wrapped = 0
    for du, dv, vth in ((0, 0, 0), (4095, 1024, 12345), (1000, 4096, L.VTH_MAX << L.VTH_SHIFT), (3, 4095, 5 << 6)):
        mu, mv = L.DECAY_UNITY - (du + 1), L.DECAY_UNITY - dv
        u0 = rng.integers(-L.STATE_MAX, L.STATE_MAX + 1, size=n)
        u0[:2] = [2 ** 31 - 2 ** 24 - 1, -2 ** 31 + 2 ** 24]  # the extremes a wrapped u can hold
        u0[4:6] = 0  # x at the wrap's edges: -2**23 wraps, 2**23 does not
        v0 = rng.integers(-L.V_LIMIT, L.V_LIMIT + 1, size=n)
        v0[:2] = [L.V_LIMIT, -L.V_LIMIT]
        f0 = (rng.random(n) < 0.4).astype(np.int64)
        want = _lif_scalar_steps(acc.astype(np.int64), u0.copy(), v0.copy(), f0.copy(), bias.astype(np.int64), mu, mv,
                                 vth, subtract)
        got = _lif_vector_steps(acc, u0.astype(np.int32), v0.astype(np.int32), f0.astype(np.uint8), bias, mu, mv, vth,
                                subtract)
        assert np.array_equal(got, want), (du, dv, vth)
        wrapped += int((np.abs(want[:, 0]) > L.STATE_MAX).sum())
        assert want[:, 2].any() and not want[:, 2].all()
    assert wrapped > 0  # some u left 24 bits: the int64 sum of v was needed


@pytest.mark.parametrize("mode", ["per_step", "once", "every_step"])
def test_lif_layer_on_int32_lanes_equals_its_float64_kernel(mode):
    """`lif_layer` takes int32 lanes unless range statistics are asked for (then its float64
    kernel): both give the same spikes, v and u, and carried state, on widths that are not whole
    vectors, blocks of neurons beyond one work item, per-neuron and per-clip bias, both resets."""
    rng = np.random.default_rng({"per_step": 0, "once": 1, "every_step": 2}[mode])
    for case, (B, T, n) in enumerate(((2, 9, 13), (3, 4, lif._BLOCK + 21), (1, 17, 7))):
        shape = (B, T, n) if mode == "per_step" else (B, n)
        a = rng.integers(-2 ** 31, 2 ** 31, size=shape)
        a[..., ::2] //= 2 ** 15
        bias = rng.integers(-2 ** 20, 2 ** 20, size=(n,) if case % 2 else (B, n)).astype(np.float64)
        kw = dict(du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4096)), vth=int(rng.integers(1, 2 ** 16)),
                  bias=bias, reset=("zero", "subtract")[case % 2], once=mode == "once", record_v=True)
        state = lif.NeuronState(rng.integers(-2 ** 23, 2 ** 23, (B, n)).astype(float),
                                rng.integers(-2 ** 23 + 1, 2 ** 23 - 1, (B, n)).astype(float),
                                (rng.random((B, n)) < 0.5).astype(float))
        for st in (None, state):
            st_f = st.copy() if st is not None else None
            got = lif.lif_layer(a.astype(np.int32), T, state=st, **kw)
            want = lif.lif_layer(a.astype(np.float64), T, state=st_f, stats={}, **kw)
            for g, w in zip(got, want):
                assert np.array_equal(g, w), (mode, case)
            assert want[0].any() and not want[0].all()
            if st is not None:
                assert all(np.array_equal(getattr(st, k), getattr(st_f, k)) for k in "uvs")


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
@pytest.mark.parametrize("subtract", [False, True])
@pytest.mark.parametrize("per_channel", [False, True])
def test_int32_lane_memoryless_step_equals_the_int64_step(dtype, subtract, per_channel):
    """v and spikes equal step for step: v near +-(2**23 - 1) (both clamps reached), sums at the
    memoryless bound (|acc| * 64 just below 2**23), biases up to 2**30 - 1, every dv from none to
    full decay, and the threshold at 0 and near 2**23; the bias one row per position or shared; the
    sums' rows as wide as the state's, or wider (padding sums not read)."""
    rng = np.random.default_rng(7 + int(subtract) + 2 * int(per_channel))
    positions, per = 37, 2 if dtype == np.int16 else 3
    cp = per * STATE_LANES
    n, T = positions * cp, 5
    lim = 2 ** 17 - 1  # |acc| * 64 < 2**23
    acc = rng.integers(-lim, lim + 1, size=(T, n))
    acc[:, ::5] //= 64
    acc[0, :2] = [lim, -lim]
    if dtype == np.int16:
        acc = np.clip(acc, -2 ** 15, 2 ** 15 - 1)
    acc = acc.astype(dtype)
    bias = rng.integers(-2 ** 30 + 1, 2 ** 30, size=n)
    bias[::3] = rng.integers(-3000, 3000, size=bias[::3].size)
    if per_channel:
        bias = np.tile(bias[:cp], positions)
    bias = bias.astype(np.int32)
    for dv, vth in ((0, 0), (1024, 12345), (4096, L.VTH_MAX << L.VTH_SHIFT), (4095, 5 << 6)):
        mv = L.DECAY_UNITY - dv
        v0 = rng.integers(-L.V_LIMIT, L.V_LIMIT + 1, size=n).astype(np.int32)
        v0[:2] = [L.V_LIMIT, -L.V_LIMIT]
        f0 = (rng.random(n) < 0.4).astype(np.uint8)
        want = _scalar_steps(acc, v0.copy(), f0.copy(), bias, mv, vth, subtract)
        b_arg, stride = (bias[:cp].copy(), 0) if per_channel else (bias, cp)
        fired = np.concatenate([f0, np.zeros(8, np.uint8)])
        got = _vector_steps(acc, cp, v0.copy(), fired, b_arg, stride, mv, vth, subtract, positions, per)
        assert np.array_equal(got, want), (dv, vth)
        extra = STATE_LANES * 2 if dtype == np.int16 else STATE_LANES  # wider sum rows: padding after each
        wide = np.full((T, positions, cp + extra), 12345 % 2 ** 15, dtype=dtype)
        wide[:, :, :cp] = acc.reshape(T, positions, cp)
        fired = np.concatenate([f0, np.zeros(8, np.uint8)])
        got = _vector_steps(wide.reshape(T, -1), cp + extra, v0.copy(), fired, b_arg, stride, mv, vth, subtract,
                            positions, per)
        assert np.array_equal(got, want), (dv, vth, "wide")
        assert want[:, 1].any() and not want[:, 1].all()


@numba.njit
def _write(fired, cp, c_out, L_, sp):
    _spikes_channels_first(fired, cp, c_out, L_, sp)


@pytest.mark.parametrize("c_out,cp,positions", [(24, 32, 3168), (36, 48, 735), (5, 5, 13), (9, 16, 7), (64, 64, 41),
                                                (1, 1, 9), (17, 17, 64)])
def test_word_spike_writer_equals_the_transposing_loop(c_out, cp, positions):
    """Channels-last 0/1 bytes to channels first: every spike lands where the plain loop puts it,
    nothing outside [0, c_out * positions) is written (the buffer's guard bytes stay), with the
    spike row starting at any byte offset (the 8-byte stores need no alignment)."""
    rng = np.random.default_rng(c_out * 1000 + positions)
    fired = np.concatenate([(rng.random(positions * cp) < 0.3).astype(np.uint8), np.ones(8, np.uint8)])
    fired[positions * cp - 1] = 1
    want = fired[: positions * cp].reshape(positions, cp)[:, :c_out].T.reshape(-1)
    for offset in (0, 3):
        buf = np.full(c_out * positions + offset + 16, 7, np.uint8)
        sp = buf[offset: offset + c_out * positions]
        _write(fired, cp, c_out, positions, sp)
        assert np.array_equal(sp, want)
        assert (buf[:offset] == 7).all() and (buf[offset + c_out * positions:] == 7).all()
