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
one weight column as a vector: C_out padded to whole 32-byte vectors where that costs at most half
again, the column then added by explicit vector instructions), and each step's LIF update runs on
them while they are in cache
(`toolchain.emulator.lif._block_step_int`: the update every other layer runs, in integer lanes on
int32 state; for du = 4095 with sums below 2**17, `_block_step_memoryless`, in int32 vector lanes
`toolchain.emulator.vectors._memoryless_vectors`); spikes (and v, u) are written out channels
first, as the IR stores them, 8 x 8 at a time. One-byte input (spikes) is scanned for
events 8 inputs at a time: a zero (with delta: unchanged) 64-bit word holds no event (lava-dl
PilotNet: 56 to 81 % of the words of each conv layer's input, 77 % of the changes into the first).
On binary input the sums can instead be gathered per output position (`PullTable`,
`_conv_lif_pull`): a table row per (tap, group of 4 input channels, code of which fired), summed in
registers, at a cost that does not depend on the spike rate; `choose_method` picks the cheaper way
per layer (tables for all five of lava-dl PilotNet's conv layers).
Clips are shared among the threads, each with its own buffers.
The effective bias must be below 2**30 in magnitude (the IR's 13-bit mantissas shifted by at most
bias_exp 7 are far below; `toolchain.emulator.kinds.ConvHandler` takes the im2col path otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

# Lava's runtime before numba's parallel runtime (see toolchain.emulator.lif)
import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: F401
import numba
import numpy as np

from toolchain.emulator.buffers import touched
from toolchain.emulator.intmm import I32_EXACT
from toolchain.emulator.lif import (
    _IU,
    _block_step_int,
    _spike_buffer,
    _state_arrays,
    _store_state,
    _v_step_int,
    int_decays,
)
from toolchain.emulator.vectors import (
    STATE_LANES,
    VECTOR_BYTES,
    _add_vectors,
    _memoryless_vectors,
    _spikes_channels_first,
    _sum_table_rows,
    drop_stale_kernels,
)

drop_stale_kernels(__file__, ("lif.py", "vectors.py"))

I16_EXACT = 2 ** 15
TABLE_BITS = 4  # input channels per code of the gathered (pull) sums: tables of 16 rows per (tap, group)


@dataclass
class EventConv:
    """A `conv` layer laid out for event-driven sums: weight columns [C_in * kH * kW, c_pad] (int16 or int32)
    (row (c * kH + i) * kW + j; columns C_out..c_pad - 1 zero), and, per input position q = iy * W + ix,
    the (tap, output position) pairs that reach it as a CSR list: for e in ptr[q]:ptr[q + 1], tap[e] =
    i * kW + j and base[e] = oy * W_out + ox. c_pad is C_out rounded up to whole 32-byte vectors
    where that adds at most half again (24 int16 sums -> 32: a column is two vector adds instead of
    a loop of 24), else C_out (then `vector` is False and columns are added by a loop)."""

    wt: np.ndarray
    ptr: np.ndarray
    tap: np.ndarray
    base: np.ndarray
    in_shape: tuple[int, int, int]  # (C_in, H, W) (1-D: H = 1)
    out_shape: tuple[int, int, int]  # (C_out, H_out, W_out)
    bound: int
    pull: PullTable | None = None  # the gathered sums' tables, for binary input (vector layouts only)

    @property
    def c_pad(self) -> int:
        return int(self.wt.shape[1])

    @property
    def vector(self) -> bool:
        """Whether a column is a whole number of vectors (then added as vectors)."""
        return self.c_pad * self.wt.itemsize % VECTOR_BYTES == 0


@dataclass
class PullTable:
    """The sums of a `conv` layer on binary input gathered per output position: for tap (i, j)
    and channel group g (channels g * TABLE_BITS ...), row (tap * G + g) * E + code of `table` (flat
    [kH * kW * G * E * Cp]) is the sum of the weight columns W[:, c, i, j] of the group's channels
    whose bit is set in code (E = 2**min(TABLE_BITS, C_in) codes). Every entry and every partial sum
    of entries is a sum of distinct weights, so below the layout's bound (the table has its type).
    The input is read as a zero-bordered grid of codes [G, Hp, Wp] (the padding's taps read 0), in
    which an output's tap (i, j), group g, lies dq[tap * G + g] after the output's first tap
    (oy * stride_h, ox * stride_w)."""

    table: np.ndarray
    dq: np.ndarray
    groups: int
    entries: int
    stride: tuple[int, int]
    padding: tuple[int, int]
    grid: tuple[int, int]  # (Hp, Wp)


def _pull_table(w: np.ndarray, c_pad: int, dtype, stride, pad, dil, in_shape) -> PullTable:
    """`PullTable` of weights w [C_out, C_in, kH, kW] (int64) for input (C_in, H, W)."""
    c_out, c_in, kh, kw = w.shape
    G = -(-c_in // TABLE_BITS)
    E = 2 ** min(TABLE_BITS, c_in)
    wg = np.zeros((c_out, G * TABLE_BITS, kh, kw), dtype=np.int64)
    wg[:, :c_in] = w
    wg = wg.reshape(c_out, G, TABLE_BITS, kh * kw)
    bits = (np.arange(E)[:, None] >> np.arange(TABLE_BITS)[None, :]) & 1  # [E, TABLE_BITS]
    tab = np.zeros((kh * kw, G, E, c_pad), dtype=dtype)
    tab[..., :c_out] = np.einsum("ek,ogkt->tgeo", bits, wg)
    hp, wp = in_shape[1] + 2 * pad[0], in_shape[2] + 2 * pad[1]
    dq = np.array([g * hp * wp + i * dil[0] * wp + j * dil[1] for i in range(kh) for j in range(kw) for g in range(G)],
                  dtype=np.int64)
    return PullTable(table=tab.reshape(-1), dq=dq, groups=G, entries=E, stride=tuple(stride), padding=tuple(pad),
                     grid=(hp, wp))


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
    lanes = VECTOR_BYTES // np.dtype(dtype).itemsize
    padded = -(-c_out // lanes) * lanes
    c_pad = padded if 2 * padded <= 3 * c_out else c_out
    wt = np.zeros((w.shape[1] * kh * kw, c_pad), dtype=dtype)
    wt[:, :c_out] = w.transpose(1, 2, 3, 0).reshape(-1, c_out)
    p = EventConv(wt=wt, ptr=np.asarray(ptr, dtype=np.int64), tap=np.asarray(tap, dtype=np.int64),
                  base=np.asarray(base, dtype=np.int64), in_shape=in_shape, out_shape=out, bound=bound)
    if p.vector:
        p.pull = _pull_table(w, c_pad, dtype, stride, pad, dil, in_shape)
    return p


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


@numba.njit(inline="always")
def _block_step_memoryless(acc, v, fired, b, mv, vth_eff, subtract):
    """`_block_step_int` for du = 4095 (mu = 0) and |acc| * 64 < 2**23: then u = acc << 6 exactly
    (the decayed u is trunc(u * 0 / 4096) = 0, and neither the int32 nor the 24-bit wrap can
    happen), so u is neither read nor written: it is acc << 6, derived where it is wanted
    (lava-dl PilotNet's conv layers)."""
    for j in range(v.shape[0]):
        vv, f = _v_step_int(np.int64(v[j]), np.int64(fired[j]), np.int64(acc[j]) * 64, mv, vth_eff, np.int64(b[j]),
                            subtract)
        v[j] = vv
        fired[j] = f


@numba.njit(inline="always")
def _event(xf, k, back, diff, s, ev_q, ev_v, m):
    """Append input k (with diff: its change since `back` bytes before) as an event of position k - s
    at slot m; returns the next free slot (m again where the value is zero: no branch)."""
    val = np.int32(xf[k])
    if diff:
        val -= np.int32(xf[k - back])
    ev_q[m] = k - s
    ev_v[m] = val
    return m + (val != 0)


@numba.njit(inline="always")
def _start_clip(b, u, v, fired, has_state, st_u, st_v, st_s, Cs, C_out, L):
    """The state of clip b before its first step, channels last (Cs lanes per position): at rest, or
    st_* [B, n] (channels first)."""
    for j in range(u.shape[0]):
        u[j] = 0
        v[j] = 0
        fired[j] = 0
    if has_state:
        for o in range(C_out):
            for p in range(L):
                u[p * Cs + o] = np.int32(st_u[b, o * L + p])
                v[p * Cs + o] = np.int32(st_v[b, o * L + p])
                fired[p * Cs + o] = st_s[b, o * L + p] != 0.0


@numba.njit(inline="always")
def _neurons_step(acc, u, v, fired, bias_cl, bias_v, bstride, memoryless, mu, mv, vth_eff, subtract, Cp, Cs, C_out, L,
                  b, t, T, has_state, spikes, record_v, v_out, u_out):
    """Step t of clip b of the layer's neurons on this step's sums acc (channels last, Cp per
    position; the state u, v, fired: Cs per position, Cs < Cp only in the vector memoryless step,
    which then skips the whole vectors of padding): the LIF update (memoryless: u = acc << 6,
    computed only where it is wanted: recorded, or kept as the state after the last step), then
    spikes (and with record_v, v and u) written channels first into spikes[b, t] (v_out[b, t],
    u_out[b, t])."""
    n = u.shape[0]
    keep_u = record_v or (has_state and t == T - 1)
    if memoryless:
        if Cs % STATE_LANES == 0:
            _memoryless_vectors(acc, Cp, v, fired, bias_v, bstride, mv, vth_eff, subtract, L, Cs // STATE_LANES)
        else:
            _block_step_memoryless(acc, v, fired[:n], bias_cl, mv, vth_eff, subtract)
        if keep_u:
            for p in range(L):
                for o in range(Cs):
                    u[p * Cs + o] = np.int32(acc[p * Cp + o]) * 64
    else:
        _block_step_int(acc, u, v, fired[:n], bias_cl, mu, mv, vth_eff, subtract)
    _spikes_channels_first(fired, Cs, C_out, L, spikes[b, t])
    if record_v:
        v_row, u_row = v_out[b, t], u_out[b, t]
        for o in range(C_out):
            for p in range(L):
                v_row[o * L + p] = v[p * Cs + o]
                u_row[o * L + p] = u[p * Cs + o]


@numba.njit(inline="always")
def _end_clip(b, u, v, fired, st_u, st_v, st_s, Cs, C_out, L):
    """The state after clip b's last step (Cs lanes per position) into st_* [B, n] (channels first)."""
    for o in range(C_out):
        for p in range(L):
            st_u[b, o * L + p] = u[p * Cs + o]
            st_v[b, o * L + p] = v[p * Cs + o]
            st_s[b, o * L + p] = 1.0 if fired[p * Cs + o] != 0 else 0.0


@numba.njit(parallel=True, cache=True, nogil=True)
def _conv_lif(x, xw, delta, wt, vector, ptr, tap, base, C_in, KK, C_out, Cs, L, memoryless, mu, mv, vth_eff,
              bias_cl, bias_v, bstride, subtract, record_v, spikes, v_out, u_out, has_state, st_u, st_v, st_s, workers):
    """x: integer input [B, T, C_in * P] (channels first, P input positions); xw: the whole-word
    prefix of x's bytes as uint64 where x is of a one-byte type (8 inputs tested for zero, or with
    delta unchanged, at once), else empty; wt [C_in * KK, Cp] (Cp >= C_out, `vector`: whole
    vectors); spikes uint8 0/1 [B, T, C_out * L] (channels first); v_out / u_out the same shape,
    written with record_v; bias_cl int32 [L * Cs] channels last (Cs state lanes per position,
    `_neurons_step`), and bias_v the same (bstride Cs) or, where the bias is the same at every
    position, its first row (bstride 0: read from cache); st_* [B, n] channels first (has_state:
    the state before step 0, overwritten with the state after the last step). memoryless: u = acc
    << 6 (`_block_step_memoryless`). `workers` parallel work items, each taking every workers-th
    clip with its own buffers (allocated once: fresh memory per clip costs page faults, which
    threads serialise on)."""
    B, T, n_in = x.shape
    xf = x.reshape(-1)
    nw = xw.shape[0] * 8  # bytes covered by whole words
    P = ptr.shape[0] - 1
    Cp = wt.shape[1]
    n = L * Cp
    nvec = Cp * wt.itemsize // VECTOR_BYTES
    wflat = wt.reshape(-1)
    for w0 in numba.prange(workers):
        acc2 = np.zeros((L, Cp), dtype=wt.dtype)  # channels last: acc2[position] = its Cp sums
        acc = acc2.reshape(n)
        u = np.zeros(L * Cs, dtype=np.int32)
        v = np.zeros(L * Cs, dtype=np.int32)
        fired = np.zeros(L * Cs + 8, dtype=np.uint8)  # 0/1; 8 bytes slack for the word loads of the spike writer
        ev_q = np.empty(n_in + 1, dtype=np.int32)  # input position and value of each event of a step
        ev_v = np.empty(n_in + 1, dtype=np.int32)
        ends = np.empty(C_in, dtype=np.int64)  # events of channel c: ends[c - 1]:ends[c]
        for b in range(w0, B, workers):
            _start_clip(b, u, v, fired, has_state, st_u, st_v, st_s, Cs, C_out, L)
            for t in range(T):
                diff = delta and t > 0
                if not diff:
                    acc[:] = 0
                # the step's events, compacted without branches: (position, value) of each non-zero
                # input (with diff: each change since the step before), channel by channel; whole
                # zero (unchanged) words skipped (with diff only where both steps' words line up)
                back = n_in if diff else 0
                by_word = not diff or n_in % 8 == 0
                m = 0
                row = (b * T + t) * n_in
                for c in range(C_in):
                    s = row + c * P
                    e = s + P
                    k = s
                    if by_word:
                        stop = min(e, nw)
                        while k < stop and (k & 7) != 0:
                            m = _event(xf, k, back, diff, s, ev_q, ev_v, m)
                            k += 1
                        while k + 8 <= stop:
                            wd = xw[k >> 3]
                            if diff:
                                wd ^= xw[(k - back) >> 3]
                            if wd != 0:
                                for i in range(8):
                                    m = _event(xf, k + i, back, diff, s, ev_q, ev_v, m)
                            k += 8
                    while k < e:
                        m = _event(xf, k, back, diff, s, ev_q, ev_v, m)
                        k += 1
                    ends[c] = m
                for c in range(C_in):
                    for r in range(ends[c - 1] if c > 0 else 0, ends[c]):
                        q = ev_q[r]
                        for ee in range(ptr[q], ptr[q + 1]):
                            if vector:
                                _add_vectors(acc, base[ee] * Cp, wflat, (c * KK + tap[ee]) * Cp, ev_v[r], nvec)
                            else:
                                _add_column(acc2[base[ee]], wt[c * KK + tap[ee]], ev_v[r])
                _neurons_step(acc, u, v, fired, bias_cl, bias_v, bstride, memoryless, mu, mv, vth_eff, subtract, Cp,
                              Cs, C_out, L, b, t, T, has_state, spikes, record_v, v_out, u_out)
            if has_state:
                _end_clip(b, u, v, fired, st_u, st_v, st_s, Cs, C_out, L)


@numba.njit(parallel=True, cache=True, nogil=True)
def _conv_lif_pull(x, table, dq, G, E, C_in, H, W, Ho, Wo, sh, sw, ph, pw, Hp, Wp, C_out, Cp, Cs, memoryless, mu, mv,
                   vth_eff, bias_cl, bias_v, bstride, subtract, record_v, spikes, v_out, u_out, has_state, st_u, st_v,
                   st_s, workers):
    """The sums of `_conv_lif` gathered per output position from binary input x uint8 0/1 [B, T, C_in
    * H * W] (channels first): each step, every input position's channels, TABLE_BITS at a time, become
    a code (bit k: channel g * TABLE_BITS + k fired) in a zero-bordered grid [G, Hp, Wp], and output
    position (oy, ox) sums the table rows (tap, group, code at its input position) for its KK * G
    (tap, group) pairs, in registers (`toolchain.emulator.vectors._sum_table_rows`); dq[(tap * G) +
    g] is the grid offset of tap (i, j) of group g from the output's first tap. Then the LIF update,
    spikes and state as `_conv_lif`. No event list, no scatter: the cost is the same at any rate."""
    B, T, n_in = x.shape
    P = H * W
    L = Ho * Wo
    n = L * Cp
    nvec = Cp * table.itemsize // VECTOR_BYTES
    R = dq.shape[0]
    zero_row = np.zeros(P, dtype=np.uint8)
    # codes a grid row at a time, or (no column padding: the rows are contiguous in the grid) a
    # whole plane at a time
    span = P if pw == 0 else W
    for w0 in numba.prange(workers):
        acc = np.zeros(n, dtype=table.dtype)
        u = np.zeros(L * Cs, dtype=np.int32)
        v = np.zeros(L * Cs, dtype=np.int32)
        fired = np.zeros(L * Cs + 8, dtype=np.uint8)
        code = np.zeros(G * Hp * Wp, dtype=np.uint8)  # the border stays 0: padding fires nothing
        for b in range(w0, B, workers):
            _start_clip(b, u, v, fired, has_state, st_u, st_v, st_s, Cs, C_out, L)
            for t in range(T):
                xr = x[b, t]
                for g in range(G):
                    for iy in range(0, H, span // W):
                        c0 = g * TABLE_BITS * P + iy * W  # the group's first channel, from this row
                        r0 = xr[c0: c0 + span]
                        r1 = xr[c0 + P: c0 + P + span] if g * TABLE_BITS + 1 < C_in else zero_row
                        r2 = xr[c0 + 2 * P: c0 + 2 * P + span] if g * TABLE_BITS + 2 < C_in else zero_row
                        r3 = xr[c0 + 3 * P: c0 + 3 * P + span] if g * TABLE_BITS + 3 < C_in else zero_row
                        out = code[g * Hp * Wp + (iy + ph) * Wp + pw: g * Hp * Wp + (iy + ph) * Wp + pw + span]
                        for ix in range(span):
                            out[ix] = r0[ix] | (r1[ix] << np.uint8(1)) | (r2[ix] << np.uint8(2)) | (r3[ix] << np.uint8(3))
                for oy in range(Ho):
                    for ox in range(Wo):
                        _sum_table_rows(acc, (oy * Wo + ox) * Cp, table, code, oy * sh * Wp + ox * sw, dq, R, E, nvec)
                _neurons_step(acc, u, v, fired, bias_cl, bias_v, bstride, memoryless, mu, mv, vth_eff, subtract, Cp,
                              Cs, C_out, L, b, t, T, has_state, spikes, record_v, v_out, u_out)
            if has_state:
                _end_clip(b, u, v, fired, st_u, st_v, st_s, Cs, C_out, L)


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


def _sampled_events(x: np.ndarray, delta: bool) -> np.ndarray:
    """Where the first clips of x [B, T, n] have an event: a non-zero input, or with delta a change
    since the step before (at step 0: a non-zero input)."""
    sample = x[: min(4, x.shape[0])]
    ev = sample != 0
    if delta:
        ev[:, 1:] = sample[:, 1:] != sample[:, :-1]
    return ev


def use_delta(x: np.ndarray) -> bool:
    """Whether changes are fewer than non-zero inputs, judged on the first clips of x [B, T, n]."""
    if x.shape[1] < 2:
        return False
    return int(np.count_nonzero(_sampled_events(x, True)[:, 1:])) < int(np.count_nonzero(_sampled_events(x, False)[:, 1:]))


def _sampled_pairs(p: EventConv, x: np.ndarray, delta: bool) -> float:
    """(tap, output position) pairs per step the event sums would add, judged on the first clips."""
    ev = _sampled_events(x, delta)
    per_position = ev.reshape(ev.shape[0] * ev.shape[1], p.in_shape[0], -1).sum(axis=(0, 1))
    return float(per_position @ np.diff(p.ptr)) / max(1, ev.shape[0] * ev.shape[1])


def choose_method(p: EventConv, x: np.ndarray, binary: bool, delta: bool) -> str:
    """"table" (`_conv_lif_pull`) where the input is binary and its table rows per step, each a
    register add of a row, cost less than the event sums' pairs, each a memory read-modify-write of
    a column behind a data-dependent branch (about 3x the time per vector measured on lava-dl
    PilotNet), plus their scan of the input; else "events"."""
    if not binary or p.pull is None:
        return "events"
    nvec = p.c_pad * p.wt.itemsize // VECTOR_BYTES
    L = p.out_shape[1] * p.out_shape[2]
    table = L * p.pull.dq.size * (nvec + 1)
    events = 3 * _sampled_pairs(p, x, delta) * (nvec + 1) + x.shape[2] / 8
    return "table" if table < events else "events"


def conv_lif_layer(p: EventConv, x: np.ndarray, bias: np.ndarray, *, du: int, dv: int, vth: int, reset: str,
                   record_v: bool = False, state=None, out: np.ndarray | None = None, delta: bool | None = None,
                   method: str | None = None):
    """Spikes bool [B, T, n_out] (into `out` if given) of a conv + LIF layer on integer input x
    [B, T, n_in] (channels first; bool: binary spikes), identical to the convolution's sums fed to
    `toolchain.emulator.lif.lif_layer`; returns (spikes, v, u) like it (v, u only with record_v),
    `state` as there. bias: effective bias per neuron [n_out] channels first. method: "events"
    (sums built from the input's events; delta: on changes, None: whichever has fewer events,
    `use_delta`), "table" (sums gathered per output from tables, binary x with a vector layout
    only), or None (`choose_method`)."""
    B, T, _ = x.shape
    c_out, ho, wo = p.out_shape
    n = c_out * ho * wo
    binary = x.dtype == np.bool_
    x = np.ascontiguousarray(integer_input(x))
    if method == "table" and (not binary or p.pull is None):
        raise ValueError("table sums need binary (bool) input and a layer laid out in whole vectors")
    if method not in (None, "events", "table"):
        raise ValueError(f"unknown conv sum method {method!r} (events, table)")
    spikes = _spike_buffer(out, (B, T, n))
    v_out = touched((B, T, n) if record_v else (1, 1, 1))
    u_out = touched(v_out.shape)
    if not bias_fits(bias):
        raise ValueError(f"effective bias {int(np.abs(bias).max())} is outside the int32 kernel's range")
    if delta is None:
        delta = use_delta(x)
    if method is None:
        method = choose_method(p, x, binary, delta)
    mu, mv, vth_eff = int_decays(du, dv, vth)
    memoryless = mu == 0 and p.bound * 64 < _IU
    # state lanes per position: whole int32 vectors covering C_out in the vector memoryless step, else c_pad
    cs = -(-c_out // STATE_LANES) * STATE_LANES if memoryless and p.c_pad % STATE_LANES == 0 else p.c_pad
    bias_cl = np.zeros((ho * wo, cs), dtype=np.int32)  # channels last, padding channels 0
    bias_cl[:, :c_out] = np.asarray(bias, dtype=np.int64).reshape(c_out, ho * wo).T
    st = _state_arrays(state, (B, n)) if state is not None else (np.zeros((1, 1)),) * 3
    per_channel = bool((bias_cl == bias_cl[:1]).all())
    bias_v, bstride = (bias_cl[0], 0) if per_channel else (bias_cl.reshape(-1), cs)
    neurons = (memoryless, mu, mv, vth_eff, bias_cl.reshape(-1), bias_v, bstride, reset == "subtract", record_v,
               spikes.view(np.uint8), v_out, u_out, state is not None, *st, max(1, min(B, numba.get_num_threads())))
    if method == "table":
        t = p.pull
        _conv_lif_pull(x, t.table, t.dq, t.groups, t.entries, *p.in_shape, ho, wo, *t.stride, *t.padding, *t.grid,
                       c_out, p.c_pad, cs, *neurons)
    else:
        xw = x.reshape(-1)[: x.size // 8 * 8].view(np.uint64) if x.itemsize == 1 else np.zeros(0, np.uint64)
        kk = p.wt.shape[0] // p.in_shape[0]
        _conv_lif(x, xw, bool(delta), p.wt, p.vector, p.ptr, p.tap, p.base, p.in_shape[0], kk, c_out, cs, ho * wo,
                  *neurons)
    _store_state(state, st, (B, n))
    return spikes, (v_out if record_v else None), (u_out if record_v else None)
