"""The event-driven conv + LIF layer, the integer-lane LIF update and the bias-driven lookup each equal
the plain emulator path (im2col sums into `lif_layer`, the float64 update, every neuron run), as
integers, on random and extreme cases. (Emulator == Lava over such layers: tests/test_kinds_lava.py.)"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from toolchain.emulator.conv import conv_accumulate, prepare_conv
from toolchain.emulator.events import conv_lif_layer, prepare_events, use_delta
from toolchain.emulator.lif import (
    NeuronState,
    _block_step,
    _block_step_int,
    _decays,
    bias_driven_layer,
    int_decays,
    lif_layer,
)
from toolchain.ir import limits as L
from toolchain.ir.kinds.conv import Conv


@numba.njit
def _steps_float(acc, u, v, s, fired, b, um, vm, ve, subtract):
    out = np.empty((acc.shape[0], u.shape[0], 3))
    for t in range(acc.shape[0]):
        _block_step(acc[t], 1.0, u, v, s, fired, b, um, vm, ve, subtract)
        out[t, :, 0] = u
        out[t, :, 1] = v
        out[t, :, 2] = fired
    return out


@numba.njit
def _steps_int(acc, u, v, fired, b, mu, mv, ve, subtract):
    out = np.empty((acc.shape[0], u.shape[0], 3))
    for t in range(acc.shape[0]):
        _block_step_int(acc[t], u, v, fired, b, mu, mv, ve, subtract)
        out[t, :, 0] = u
        out[t, :, 1] = v
        out[t, :, 2] = fired
    return out


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("case", range(4))
def test_integer_lane_update_equals_the_float64_update(reset, case):
    """u, v and spikes of `_block_step_int` equal `_block_step` step for step, with sums at the int32
    limits (the u wrap and the int32 wrap of a * 64 both happen) and states near +-2**23."""
    rng = np.random.default_rng(case)
    n, T = 4000, 6
    acc = rng.integers(-2 ** 31, 2 ** 31, size=(T, n), dtype=np.int64)
    acc[:, : n // 2] //= 2 ** int(rng.integers(8, 24))  # half small: most neurons do not wrap
    acc[0, :4] = [2 ** 31 - 1, -2 ** 31, 2 ** 17, -2 ** 17]
    acc = acc.astype(np.int32)
    u0 = rng.integers(-L.STATE_MAX + 1, L.STATE_MAX, size=n)
    v0 = rng.integers(-L.V_LIMIT, L.V_LIMIT + 1, size=n)
    b = rng.integers(-2 ** 20, 2 ** 20, size=n)
    du, dv, vth = int(rng.integers(0, 4096)), int(rng.integers(0, 4097)), int(rng.integers(0, L.VTH_MAX + 1))
    if case == 0:
        du, dv = 4095, 1024  # lava-dl PilotNet's
    sub = reset == "subtract"
    want = _steps_float(acc, u0.astype(np.float64), v0.astype(np.float64), np.zeros(n), np.zeros(n, np.bool_),
                        b.astype(np.float64), *_decays(du, dv, vth), sub)
    got = _steps_int(acc, u0.astype(np.int32), v0.astype(np.int32), np.zeros(n, np.bool_), b.astype(np.int32),
                     *int_decays(du, dv, vth), sub)
    assert np.array_equal(got, want)
    assert want[:, :, 2].any() and not want[:, :, 2].all()


def _random_conv(rng, two_d: bool, wide: bool = False):
    c_in = int(rng.choice([1, 2, 3, 5, 6, 9])) if wide else int(rng.integers(1, 4))
    c_out = int(rng.choice([12, 16, 24, 36])) if wide else int(rng.integers(1, 6))
    k = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) if two_d else (int(rng.integers(1, 5)),)
    stride = tuple(int(rng.integers(1, 3)) for _ in k)
    padding = tuple(int(rng.integers(0, 3)) for _ in k)
    dilation = tuple(int(rng.integers(1, 3)) for _ in k)
    size = (int(rng.integers(5, 10)), int(rng.integers(5, 12))) if two_d else (int(rng.integers(8, 20)),)
    w = rng.integers(-256, 256, size=(c_out, c_in) + k).astype(np.int32)
    layer = Conv(name="c", weight=w, bias_mant=np.zeros(1, np.int32), input_shape=(c_in,) + size, stride=stride,
                 padding=padding, dilation=dilation, groups=1)
    if any(n < 1 for n in layer.out_shape):
        return _random_conv(rng, two_d, wide)
    return layer


@pytest.mark.parametrize("case", range(24))
def test_event_conv_lif_equals_im2col_sums_into_lif_layer(case):
    """Spikes, v and u of `conv_lif_layer` (events on inputs, and on changes) equal the im2col
    convolution fed to lif_layer, on random 1-D / 2-D convolutions with strides, paddings, dilations,
    9-bit kernels, 1 to 36 output channels (from 12 up: sums padded to whole int16 / int32 vectors),
    binary or graded input (int64, or one-byte inputs scanned a word at a time, also at an address
    that is not word-aligned), both resets, biases per neuron or per channel; and two halves carried
    by a NeuronState equal one run. Binary input on a vector layout also takes the table sums
    (codes of up to 4 channels per group: 1 to 9 input channels, the last group partial)."""
    rng = np.random.default_rng(500 + case)
    wide = case >= 8
    layer = _random_conv(rng, case % 2 == 0, wide)
    graded = case % 4 >= 2
    max_x = 15 if graded else 1
    B, T = 3, 7
    shape = (B, T, layer.n_in)
    x = rng.integers(0, max_x + 1, size=shape) if graded else rng.random(shape) < rng.uniform(0.1, 0.6)
    x[:, 3] = x[:, 2]  # a step without changes
    if graded and case % 8 >= 4:
        x = x.astype(np.uint8)
        if case % 3 == 0:  # the same values one byte past an 8-byte boundary
            x = np.concatenate([np.zeros(1, np.uint8), x.reshape(-1)])[1:].reshape(shape)
    n = layer.n_out
    bias = (rng.integers(-200, 200, size=n) << int(rng.integers(0, 4))).astype(np.float64)
    if case % 5 == 1:  # one bias per channel, as a conv layer's own (the vector step reads one row)
        bias = np.repeat(bias[: layer.out_shape[0]], n // layer.out_shape[0])
    sums = conv_accumulate(prepare_conv(layer, max_x), x.reshape(B * T, -1).astype(np.int64))
    sums = np.asarray(sums, dtype=np.float64).reshape(B, T, n)
    vth = int(np.clip(np.quantile(np.abs(sums), 0.6), 1, L.VTH_MAX * 64) // 64 * 4)
    lif = dict(du=int(rng.choice([4095, int(rng.integers(0, 4096))])), dv=int(rng.integers(0, 1500)), vth=vth,
               reset=("zero", "subtract")[case % 3 == 0])
    want = lif_layer(sums, T, bias=bias, record_v=True, **lif)
    p = prepare_events(layer, max_x)
    assert p.vector == wide and (p.pull is not None) == wide
    ways = [("events", False), ("events", True)] + [("table", False)] * (wide and not graded)
    for method, delta in ways:
        got = conv_lif_layer(p, x, bias, record_v=True, delta=delta, method=method, **lif)
        for g, w in zip(got, want):
            assert np.array_equal(g, w)
        state = NeuronState.rest((B, n))
        first = conv_lif_layer(p, x[:, :4], bias, record_v=True, delta=delta, state=state, method=method, **lif)
        second = conv_lif_layer(p, x[:, 4:], bias, record_v=True, delta=delta, state=state, method=method, **lif)
        for a, b, w in zip(first, second, want):
            assert np.array_equal(np.concatenate([a, b], axis=1), w)
    assert want[0].any()


def test_event_layout_refuses_groups_and_int32_bounds():
    """Grouped convolutions and sums that could leave int32 are not laid out for events."""
    w = np.full((4, 1, 3, 3), 255, np.int32)
    grouped = Conv(name="g", weight=w, bias_mant=np.zeros(1, np.int32), input_shape=(4, 6, 6), groups=4)
    assert prepare_events(grouped, 1) is None
    plain = Conv(name="p", weight=np.full((2, 4, 3, 3), 255, np.int32), bias_mant=np.zeros(1, np.int32),
                 input_shape=(4, 6, 6))
    assert prepare_events(plain, 1) is not None
    edge = -(-2 ** 31 // (255 * 36))  # the smallest max_x with 255 * 36 * max_x >= 2**31
    assert prepare_events(plain, edge - 1) is not None and prepare_events(plain, edge) is None


def test_delta_is_chosen_where_changes_are_fewer_than_inputs():
    steady = np.ones((2, 8, 50), np.bool_)
    sparse = np.zeros((2, 8, 50), np.bool_)
    sparse[:, ::2, :3] = True
    assert use_delta(steady) and not use_delta(sparse)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_bias_driven_lookup_equals_running_every_neuron(reset):
    """An input population driven by per-clip biases: the per-value lookup gives every neuron's spikes,
    v and u of running each neuron, also with negative mantissas; a range too wide runs every neuron.
    Spikes alone come from 32-step bit words: 12 steps (one partial word) and 70 (two whole, one partial)."""
    rng = np.random.default_rng(7)
    lif = dict(du=4095, dv=1024, vth=25, reset=reset)
    for (lo, hi), T in zip(((0, 79), (-300, 300), (-4096, 4095), (-50, 200)), (12, 12, 12, 70)):
        x = rng.integers(lo, hi, size=(5, 900))
        bias = (x << 6).astype(np.float64)
        want = lif_layer(np.zeros_like(bias), T, once=True, bias=bias, record_v=True, **lif)
        got = bias_driven_layer(x, 6, T, record_v=True, **lif)
        for g, w in zip(got, want):
            assert np.array_equal(g, w)
        spikes, _, _ = bias_driven_layer(x, 6, T, **lif)
        assert np.array_equal(spikes, want[0])
        assert want[0].any() and not want[0].all()

