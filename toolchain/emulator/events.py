"""Event-driven exact convolution fused with the LIF update, for spiking (sparse, integer) input.

A convolution's sum at one step is linear in its input, so it can be built from the inputs that
are not zero: each input event (channel c, row iy, column ix, value x) adds x * W[:, c, i, j] to
the C_out sums of every output position (oy, ox) whose kernel tap (i, j) lands on it
(oy * stride_h - pad_h + i * dilation_h = iy, and the same for columns). With `delta`, the events
are instead the changes x[t] - x[t-1] of the input since the step before and the sums carry over
from step to step (a[t] = a[t-1] + conv(x[t] - x[t-1])), which costs less where inputs hold steady
(lava-dl PilotNet's bias-driven input layer: 89 % of its neurons fire, but 12 % change per step).
Both give a[t] itself, exactly: every addend is an integer and every partial sum is a sum of
W * x terms with |x| <= max_input (at most one term per weight), so |partial| <= bound =
max_o sum |W[o]| * max_input, which `prepare_events` requires below 2**31: the sums (and weights)
are int16 where the bound is below 2**15 (lava-dl PilotNet's five: 274 to 932), else int32.
The sums are kept channels-last (the C_out sums of a position are contiguous, so an event adds
one weight column as a vector), and each step's LIF update runs on them while they are in cache
(`toolchain.emulator.lif._block_step_int`: the update every other layer runs, in integer lanes on
int32 state); spikes (and v, u) are written out channels first, as the IR stores them. Clips are
shared among the threads, each with its own buffers.
The effective bias must be below 2**30 in magnitude (the IR's 13-bit mantissas shifted by at most
bias_exp 7 are far below; `toolchain.emulator.kinds.ConvHandler` takes the im2col path otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

# Lava's runtime before numba's parallel runtime (see toolchain.emulator.lif)
import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: F401
import numba
import numpy as np

from toolchain.emulator.intmm import I32_EXACT
from toolchain.emulator.lif import (
    _block_step_int,
    _spike_buffer,
    _state_arrays,
    _store_state,
    int_decays,
    touched,
)

I16_EXACT = 2 ** 15


@dataclass
class EventConv:
    """A `conv` layer laid out for event-driven sums: weight columns [C_in * kH * kW, C_out] (int16 or int32)
    (row (c * kH + i) * kW + j), and, per input position q = iy * W + ix, the (tap, output position)
    pairs that reach it as a CSR list: for e in ptr[q]:ptr[q + 1], tap[e] = i * kW + j and base[e] =
    oy * W_out + ox."""

    wt: np.ndarray
    ptr: np.ndarray
    tap: np.ndarray
    base: np.ndarray
    in_shape: tuple[int, int, int]  # (C_in, H, W) (1-D: H = 1)
    out_shape: tuple[int, int, int]  # (C_out, H_out, W_out)
    bound: int


def _pairs(size: int, out: int, k: int, stride: int, pad: int, dil: int) -> list[list[tuple[int, int]]]:
    """For each input index along one axis: the (tap, output index) pairs whose tap lands on it."""
    pairs = [[] for _ in range(size)]
    for o in range(out):
        for i in range(k):
            pos = o * stride - pad + i * dil
            if 0 <= pos < size:
                pairs[pos].append((i, o))
    return pairs


def prepare_events(layer, max_input: int) -> EventConv | None:
    """The event layout of a `conv` IR layer for inputs |x| <= max_input, or None where it does not
    apply (more than one group, or a bound not below 2**31)."""
    if int(layer.groups) != 1:
        return None
    w = np.asarray(layer.weight, dtype=np.int64)
    if w.ndim == 3:
        w = w[:, :, None, :]
    bound = int(np.abs(w).reshape(w.shape[0], -1).sum(axis=1).max(initial=0)) * int(max_input)
    if bound >= I32_EXACT:
        return None
    in_shape = tuple(layer.in_shape) if len(layer.in_shape) == 3 else (layer.in_shape[0], 1, layer.in_shape[1])
    out = tuple(layer.out_shape) if len(layer.out_shape) == 3 else (layer.out_shape[0], 1, layer.out_shape[1])
    one = len(layer.in_shape) == 2
    stride = (1, int(layer.stride[0])) if one else tuple(int(s) for s in layer.stride)
    pad = (0, int(layer.padding[0])) if one else tuple(int(p) for p in layer.padding)
    dil = (1, int(layer.dilation[0])) if one else tuple(int(d) for d in layer.dilation)
    c_out, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    rows = _pairs(in_shape[1], out[1], kh, stride[0], pad[0], dil[0])
    cols = _pairs(in_shape[2], out[2], kw, stride[1], pad[1], dil[1])
    ptr, tap, base = [0], [], []
    for iy in range(in_shape[1]):
        for ix in range(in_shape[2]):
            for i, oy in rows[iy]:
                for j, ox in cols[ix]:
                    tap.append(i * kw + j)
                    base.append(oy * out[2] + ox)
            ptr.append(len(tap))
    dtype = np.int16 if bound < I16_EXACT else np.int32  # the narrowest type holding every partial sum
    wt = np.ascontiguousarray(w.transpose(1, 2, 3, 0)).astype(dtype).reshape(-1, c_out)
    return EventConv(wt=wt, ptr=np.asarray(ptr, dtype=np.int64), tap=np.asarray(tap, dtype=np.int64),
                     base=np.asarray(base, dtype=np.int64), in_shape=in_shape, out_shape=out, bound=bound)


@numba.njit(inline="always")
def _add_column(a, w, val):
    """a += val * w (two rows of C_out int32: a position's sums, a weight column)."""
    if val == 1:
        for o in range(a.shape[0]):
            a[o] += w[o]
    elif val == -1:
        for o in range(a.shape[0]):
            a[o] -= w[o]
    else:
        for o in range(a.shape[0]):
            a[o] += val * w[o]


@numba.njit(parallel=True, cache=True, nogil=True)
def _conv_lif(x, delta, wt, ptr, tap, base, C_in, KK, C_out, L, mu, mv, vth_eff, bias_cl, subtract, record_v,
              spikes, v_out, u_out, has_state, st_u, st_v, st_s, workers):
    """x: integer input [B, T, C_in * P] (channels first, P input positions); wt [C_in * KK, C_out];
    spikes [B, T, C_out * L] (channels first); v_out / u_out the same shape, written with record_v;
    bias_cl int32 [L * C_out] channels last; st_* [B, n] channels first (has_state: the state before
    step 0, overwritten with the state after the last step). `workers` parallel work items, each
    taking every workers-th clip with its own buffers (allocated once: fresh memory per clip
    costs page faults, which threads serialise on)."""
    B, T, n_in = x.shape
    P = ptr.shape[0] - 1
    n = L * C_out
    for w0 in numba.prange(workers):
        acc2 = np.zeros((L, C_out), dtype=wt.dtype)  # channels last: acc2[position] = its C_out sums
        acc = acc2.reshape(n)
        u = np.zeros(n, dtype=np.int32)
        v = np.zeros(n, dtype=np.int32)
        fired = np.zeros(n, dtype=np.bool_)
        ev_q = np.empty(n_in + 1, dtype=np.int32)  # input position and value of each event of a step
        ev_v = np.empty(n_in + 1, dtype=np.int32)
        ends = np.empty(C_in, dtype=np.int64)  # events of channel c: ends[c - 1]:ends[c]
        for b in range(w0, B, workers):
            for j in range(n):
                u[j] = 0
                v[j] = 0
                fired[j] = False
            if has_state:
                for o in range(C_out):
                    for p in range(L):
                        u[p * C_out + o] = np.int32(st_u[b, o * L + p])
                        v[p * C_out + o] = np.int32(st_v[b, o * L + p])
                        fired[p * C_out + o] = st_s[b, o * L + p] != 0.0
            for t in range(T):
                diff = delta and t > 0
                if not diff:
                    acc[:] = 0
                # the step's events, compacted without branches: (position, value) of each non-zero
                # input (with diff: each change since the step before), channel by channel
                m = 0
                xt = x[b, t]
                xp = x[b, t - 1 if diff else t]
                for c in range(C_in):
                    for q in range(P):
                        val = np.int32(xt[c * P + q])
                        if diff:
                            val -= np.int32(xp[c * P + q])
                        ev_q[m] = q
                        ev_v[m] = val
                        m += val != 0
                    ends[c] = m
                for c in range(C_in):
                    for r in range(ends[c - 1] if c > 0 else 0, ends[c]):
                        q = ev_q[r]
                        for e in range(ptr[q], ptr[q + 1]):
                            _add_column(acc2[base[e]], wt[c * KK + tap[e]], ev_v[r])
                _block_step_int(acc, u, v, fired, bias_cl, mu, mv, vth_eff, subtract)
                sp = spikes[b, t]
                for o in range(C_out):
                    for p in range(L):
                        sp[o * L + p] = fired[p * C_out + o]
                if record_v:
                    for o in range(C_out):
                        for p in range(L):
                            v_out[b, t, o * L + p] = v[p * C_out + o]
                            u_out[b, t, o * L + p] = u[p * C_out + o]
            if has_state:
                for o in range(C_out):
                    for p in range(L):
                        st_u[b, o * L + p] = u[p * C_out + o]
                        st_v[b, o * L + p] = v[p * C_out + o]
                        st_s[b, o * L + p] = 1.0 if fired[p * C_out + o] else 0.0


def integer_input(x: np.ndarray) -> np.ndarray | None:
    """x as an integer array the kernel reads (bool as a uint8 view), or None if it is not integer."""
    x = np.asarray(x)
    if x.dtype == np.bool_:
        return x.view(np.uint8)
    return x if x.dtype.kind in "iu" else None


_BIAS_LIMIT = 2 ** 30  # the kernel holds the effective bias as int32 (with a factor 2 to spare)


def bias_fits(bias: np.ndarray) -> bool:
    """Whether an effective bias (v units) is inside the range the integer LIF step takes."""
    return float(np.abs(np.asarray(bias)).max(initial=0)) < _BIAS_LIMIT


def use_delta(x: np.ndarray) -> bool:
    """Whether changes are fewer than non-zero inputs, judged on the first clips of x [B, T, n]."""
    sample = x[: min(4, x.shape[0])]
    if sample.shape[1] < 2:
        return False
    return int(np.count_nonzero(sample[:, 1:] != sample[:, :-1])) < int(np.count_nonzero(sample[:, 1:]))


def conv_lif_layer(p: EventConv, x: np.ndarray, bias: np.ndarray, *, du: int, dv: int, vth: int, reset: str,
                   record_v: bool = False, state=None, out: np.ndarray | None = None, delta: bool | None = None):
    """Spikes bool [B, T, n_out] (into `out` if given) of a conv + LIF layer on integer input x
    [B, T, n_in] (channels first), identical to the convolution's sums fed to
    `toolchain.emulator.lif.lif_layer`; returns (spikes, v, u) like it (v, u only with record_v),
    `state` as there. bias: effective bias per neuron [n_out] channels first. delta: event on
    changes (None: whichever has fewer events, `use_delta`)."""
    B, T, _ = x.shape
    c_out, ho, wo = p.out_shape
    n = c_out * ho * wo
    spikes = _spike_buffer(out, (B, T, n))
    v_out = touched((B, T, n) if record_v else (1, 1, 1))
    u_out = touched(v_out.shape)
    if not bias_fits(bias):
        raise ValueError(f"effective bias {int(np.abs(bias).max())} is outside the int32 kernel's range")
    bias_cl = np.ascontiguousarray(np.asarray(bias, dtype=np.int64).reshape(c_out, ho * wo).T).reshape(-1)
    bias_cl = bias_cl.astype(np.int32)
    st = _state_arrays(state, (B, n)) if state is not None else (np.zeros((1, 1)),) * 3
    if delta is None:
        delta = use_delta(x)
    kk = p.wt.shape[0] // p.in_shape[0]
    _conv_lif(np.ascontiguousarray(x), bool(delta), p.wt, p.ptr, p.tap, p.base, p.in_shape[0], kk, c_out, ho * wo,
              *int_decays(du, dv, vth), bias_cl, reset == "subtract", record_v, spikes, v_out, u_out,
              state is not None, *st, max(1, min(B, numba.get_num_threads())))
    _store_state(state, st, (B, n))
    return spikes, (v_out if record_v else None), (u_out if record_v else None)
