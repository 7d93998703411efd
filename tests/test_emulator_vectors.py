"""The explicit-vector building blocks of the event kernels equal the scalar numba code they replace, as
integers: the int32-lane memoryless LIF step against `_block_step_memoryless` (int64 lanes) at the
limits of its stated ranges, and the word-at-a-time channels-first spike writer against the plain
transposing loop, for widths and position counts that are not whole words."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from toolchain.emulator.events import _block_step_memoryless
from toolchain.emulator.vectors import STATE_LANES, _memoryless_vectors, _spikes_channels_first
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
