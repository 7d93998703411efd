"""The LIF update of Lava's PyLifModelBitAcc (lava-nc 0.10.0), over all steps of one layer.

State and arithmetic are float64 holding exact integers (all magnitudes stay below 2**44, far
inside float64's 2**53 exact range), evaluated by one numba kernel that keeps each neuron's u, v
in cache across the time loop (parallel over (clip, block of neurons) work items):
    trunc(u * (4095 - du) / 4096): (4095 - du) / 4096 is an exact binary fraction, the product of
    an integer below 2**32 with it is exact, and trunc() is Lava's sign(x) * (|x| >> 12).
Per step t (u, v, s as in `toolchain.ir.graph`):
    x = int32( trunc(u * (4095 - du) / 4096) + int32(a << 6) )       (int32 wraps as in Lava)
    u = x - 2**24 if x > 2**23;  x + 2**24 if x <= -2**23;  else x      (Lava's one-step 24-bit wrap)
    v = clip(trunc(v * (4096 - dv) / 4096) + u + bias, -(2**23 - 1), 2**23 - 1)
    subtract reset: v = clip(v - s_prev * (vth << 6), same limits)   (as our Lava model does)
    s = v > vth << 6;   zero reset: v = 0 where s
Every call starts from rest (u = v = s = 0) unless given a `NeuronState`, which it then leaves at the
state after its last step: consecutive calls continue one unbroken run (a stream, `Emulator.stream`).
"""

from __future__ import annotations

from dataclasses import dataclass

# Lava fixes multiprocessing's start method to "fork" when its runtime is imported and fails if the
# method is already set; numba's parallel runtime reads (and so fixes) it on first use. Importing
# Lava's runtime first lets both live in one process.
import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: F401
import numba
import numpy as np

from toolchain.emulator.buffers import touched
from toolchain.emulator.vectors import STATE_LANES, _lif_vectors, drop_stale_kernels
from toolchain.ir import limits as L

drop_stale_kernels(__file__, ("vectors.py",))

_I32 = 2.0 ** 31
_U = float(L.STATE_MAX)
_V = float(L.V_LIMIT)
# How layer input reaches the kernel: one activation per step, one at the first step only, or the
# same activation at every step.
PER_STEP, ONCE, EVERY_STEP = 0, 1, 2
_BLOCK = 2048  # neurons per parallel work item: their state stays in cache across the time loop


@numba.njit(inline="always")
def _trunc(x: float) -> float:
    """Round toward zero (|x| < 2**63 always holds here; vectorises as two conversions)."""
    return float(np.int64(x))


@numba.njit(inline="always")
def _int32(x: float) -> float:
    """x wrapped into int32 as two's complement does (exact: x is an integer below 2**53, and
    the division by 2**32 and floor are exact); branch-free so that the neuron loop vectorises."""
    return x - 4294967296.0 * np.floor((x + _I32) * (1.0 / 4294967296.0))


@numba.njit(inline="always")
def _update(uj, vj, sj, act, u_mult, v_mult, vth_eff, bias, subtract):
    """One neuron, one step of PyLifModelBitAcc (see module docstring), without branches on data.

    Returns (u, v after reset, fired, x = the current before its 24-bit wrap, y = v before saturation)."""
    x = _int32(_trunc(uj * u_mult) + _int32(act * 64.0))
    uu = x - (2.0 * _U) * (x > _U) + (2.0 * _U) * (x <= -_U)
    y = _trunc(vj * v_mult) + uu + bias
    vv = min(max(y, -_V), _V)
    if subtract:
        vv = min(max(vv - sj * vth_eff, -_V), _V)
    fired = vv > vth_eff
    if not subtract:
        vv = 0.0 if fired else vv
    return uu, vv, fired, x, y


_I32_SPAN = 4294967296  # 2**32
_IU = int(L.STATE_MAX)
_IV = int(L.V_LIMIT)


@numba.njit(inline="always")
def _wrap_i32(x):
    """An int64 wrapped into int32 as two's complement does (bit operations, so it vectorises)."""
    return ((x + 2147483648) & (_I32_SPAN - 1)) - 2147483648


@numba.njit(inline="always")
def _decay_int(x, m):
    """trunc(x * m / 4096) for integers |x| < 2**31, 0 <= m <= 4096: sign(x) * ((|x| * m) >> 12)."""
    q = (abs(x) * m) >> 12
    return q if x >= 0 else -q


@numba.njit(inline="always")
def _update_int(uj, vj, sj, act, mu, mv, vth_eff, bias, subtract):
    """`_update` in int64 arithmetic on int32 state (the same integers: u and v stay within 24 bits,
    act is an int32 sum, bias an int32): mu = 4095 - du and mv = 4096 - dv are the decay
    multipliers in 1/4096 units. Returns (u, v after reset, fired)."""
    x = _wrap_i32(_decay_int(uj, mu) + _wrap_i32(act * 64))
    uu = x - 2 * _IU * (x > _IU) + 2 * _IU * (x <= -_IU)
    vv, fired = _v_step_int(vj, sj, uu, mv, vth_eff, bias, subtract)
    return uu, vv, fired


@numba.njit(inline="always")
def _v_step_int(vj, sj, uu, mv, vth_eff, bias, subtract):
    """The v half of `_update_int` given this step's u: (v after reset, fired)."""
    vv = min(max(_decay_int(vj, mv) + uu + bias, -_IV), _IV)
    if subtract:
        vv = min(max(vv - sj * vth_eff, -_IV), _IV)
    fired = vv > vth_eff
    if not subtract:
        vv = 0 if fired else vv
    return vv, fired


@numba.njit(inline="always")
def _block_step_int(acc, u, v, fired, b, mu, mv, vth_eff, subtract):
    """One step of a block of neurons on int32 arrays (acc: the step's sums; u, v: the state;
    fired: the last step's spikes on entry, this step's on return; b: effective bias), the same
    update as `_block_step` (in 64-bit integer lanes instead of float64 ones)."""
    for j in range(u.shape[0]):
        uu, vv, f = _update_int(np.int64(u[j]), np.int64(v[j]), np.int64(fired[j]), np.int64(acc[j]), mu, mv,
                                vth_eff, np.int64(b[j]), subtract)
        u[j] = uu
        v[j] = vv
        fired[j] = f


def int_decays(du: int, dv: int, vth: int) -> tuple[int, int, int]:
    """`_block_step_int`'s multipliers: 4095 - du, 4096 - dv (1/4096 units), and vth << 6."""
    return L.DECAY_UNITY - (du + 1), L.DECAY_UNITY - dv, int(vth) << L.VTH_SHIFT


@numba.njit(inline="always")
def _track(peak, j, x, y):
    peak[0, j] = max(peak[0, j], abs(x))
    peak[1, j] = max(peak[1, j], abs(y))
    if x > _U or x <= -_U:
        peak[2, j] += 1.0
    if abs(y) > _V:
        peak[3, j] += 1.0


@numba.njit(inline="always")
def _block_step(row, scale, u, v, s_prev, sp, b, u_mult, v_mult, vth_eff, subtract):
    """One step of a block of neurons (contiguous arrays; the loop LLVM vectorises)."""
    for j in range(u.shape[0]):
        uu, vv, fired, x, y = _update(u[j], v[j], s_prev[j], row[j] * scale, u_mult, v_mult, vth_eff, b[j],
                                      subtract)
        u[j] = uu
        v[j] = vv
        sp[j] = fired
        s_prev[j] = 1.0 if fired else 0.0


@numba.njit(inline="always")
def _block_step_tracked(row, scale, u, v, s_prev, sp, b, u_mult, v_mult, vth_eff, subtract, peak):
    """`_block_step` that also records the ranges (see lif_layer's `stats`). A separate copy on
    purpose: one loop with an `if track:` inside stops LLVM vectorising it (measured 6x slower on
    78 M neuron-steps: 0.51 s against 0.08 s)."""
    for j in range(u.shape[0]):
        uu, vv, fired, x, y = _update(u[j], v[j], s_prev[j], row[j] * scale, u_mult, v_mult, vth_eff, b[j],
                                      subtract)
        _track(peak, j, x, y)
        u[j] = uu
        v[j] = vv
        sp[j] = fired
        s_prev[j] = 1.0 if fired else 0.0


@numba.njit(inline="always")
def _work_items(spikes):
    """(work items, blocks per clip, neurons) of the per-layer kernels for spikes [B, T, n]."""
    n = spikes.shape[2]
    per_row = (n + _BLOCK - 1) // _BLOCK
    return spikes.shape[0] * per_row, per_row, n


@numba.njit(inline="always")
def _work_item(item, per_row, n):
    """Work item `item` of the per-layer kernels: (clip, first neuron, end neuron), blocks of _BLOCK."""
    lo = (item % per_row) * _BLOCK
    return item // per_row, lo, min(lo + _BLOCK, n)


@numba.njit(parallel=True, cache=True, nogil=True)
def _kernel(a, mode, T, u_mult, v_mult, vth_eff, bias, subtract, record_v, track, spikes, v_out, u_out, stats,
            has_state, st_u, st_v, st_s):
    """Work items are (clip, block of up to _BLOCK neurons) (parallel); inside one, time outer and
    neurons inner (contiguous rows).

    a: activations [B, T or 1, n], float64 or int32 exact integers; bias [1 or B, n]; spikes,
    v_out, u_out [B, T, n] (v_out / u_out written only with record_v, stats [4, B, n] only with
    track). With has_state, st_u / st_v / st_s [B, n] hold the state before step 0 (u, v, last
    step's spikes) and are overwritten with the state after the last step; without, every clip
    starts at rest and they are not touched."""
    items, per_row, n = _work_items(spikes)
    for item in numba.prange(items):
        c, lo, hi = _work_item(item, per_row, n)
        w = hi - lo
        if has_state:
            u = st_u[c, lo:hi].copy()
            v = st_v[c, lo:hi].copy()
            s_prev = st_s[c, lo:hi].copy()
        else:
            u = np.zeros(w)
            v = np.zeros(w)
            s_prev = np.zeros(w)
        b = bias[c if bias.shape[0] > 1 else 0, lo:hi]
        peak = np.zeros((4, w if track else 1))
        for t in range(T):
            row = a[c, t if mode == PER_STEP else 0, lo:hi]
            scale = 0.0 if (mode == ONCE and t > 0) else 1.0
            if track:
                _block_step_tracked(row, scale, u, v, s_prev, spikes[c, t, lo:hi], b, u_mult, v_mult, vth_eff,
                                    subtract, peak)
            else:
                _block_step(row, scale, u, v, s_prev, spikes[c, t, lo:hi], b, u_mult, v_mult, vth_eff, subtract)
            if record_v:
                v_out[c, t, lo:hi] = v
                u_out[c, t, lo:hi] = u
        if track:
            for k in range(4):
                stats[k, c, lo:hi] = peak[k]
        if has_state:
            st_u[c, lo:hi] = u
            st_v[c, lo:hi] = v
            st_s[c, lo:hi] = s_prev


@numba.njit(inline="always")
def _int_step(row, u, v, fired, b, nvec, mu, mv, vth_eff, subtract):
    """One step of a block (int32 row / u / v / b, 0/1 bytes fired): whole vectors, then the tail."""
    _lif_vectors(row, u, v, fired, b, nvec, mu, mv, vth_eff, subtract)
    for j in range(nvec * STATE_LANES, u.shape[0]):
        uu, vv, f = _update_int(np.int64(u[j]), np.int64(v[j]), np.int64(fired[j]), np.int64(row[j]), mu, mv,
                                vth_eff, np.int64(b[j]), subtract)
        u[j] = uu
        v[j] = vv
        fired[j] = f


@numba.njit(parallel=True, cache=True, nogil=True)
def _kernel_int(a, mode, T, mu, mv, vth_eff, bias, subtract, record_v, spikes, v_out, u_out, has_state, st_u, st_v,
                st_s):
    """`_kernel` (no range statistics) in int32 vector lanes (`vectors._lif_vectors`; the same
    integers as `_update_int`): a int32 [B, T or 1, n], bias int32 [1 or B, n] (|b| < 2**30),
    spikes as 0/1 bytes [B, T, n]; u, v, state as in `_kernel` (float64 exact integers)."""
    items, per_row, n = _work_items(spikes)
    for item in numba.prange(items):
        c, lo, hi = _work_item(item, per_row, n)
        w = hi - lo
        nvec = w // STATE_LANES
        u = np.zeros(w, np.int32)
        v = np.zeros(w, np.int32)
        fired = np.zeros(w, np.uint8)
        if has_state:
            for j in range(w):
                u[j] = np.int32(st_u[c, lo + j])
                v[j] = np.int32(st_v[c, lo + j])
                fired[j] = np.uint8(st_s[c, lo + j])
        b = bias[c if bias.shape[0] > 1 else 0, lo:hi]
        quiet = np.zeros(w, np.int32)  # the input after the first step of a `ONCE` layer
        for t in range(T):
            if mode == ONCE and t > 0:
                _int_step(quiet, u, v, fired, b, nvec, mu, mv, vth_eff, subtract)
            else:
                _int_step(a[c, t if mode == PER_STEP else 0, lo:hi], u, v, fired, b, nvec, mu, mv, vth_eff, subtract)
            spikes[c, t, lo:hi] = fired
            if record_v:
                for j in range(w):
                    v_out[c, t, lo + j] = v[j]
                    u_out[c, t, lo + j] = u[j]
        if has_state:
            for j in range(w):
                st_u[c, lo + j] = u[j]
                st_v[c, lo + j] = v[j]
                st_s[c, lo + j] = fired[j]


def _as_int32(x: np.ndarray, limit: int = 2 ** 31) -> np.ndarray | None:
    """Exact integers x (any integer or float dtype) as contiguous int32, or None where some |x| >= limit."""
    if x.dtype == np.int32 and limit >= 2 ** 31:
        return np.ascontiguousarray(x)
    if x.size and float(np.abs(x).max()) >= limit:
        return None
    return np.ascontiguousarray(x, dtype=np.int32)


@numba.njit(parallel=True, cache=True, nogil=True)
def _rec_kernel(a, w_rec, rec_exp, T, u_mult, v_mult, vth_eff, bias, subtract, record_v, track, spikes, v_out,
                u_out, stats, st_u, st_v, st_s):
    """Recurrent layer: clips in parallel; per step, the feedback of the previous step's spikes
    shift(W_rec @ s[t-1]) (exact: integer sums in float64) is added to the feed-forward activation.

    a: [B, T, n] feed-forward activations (already shifted); w_rec: [n, n] float64 integers;
    bias: [B, n]; spikes / v_out: [B, T, n]; stats: [4, B, n]; st_u / st_v / st_s [B, n]: the state
    before step 0 (u, v, the spikes of the step before), overwritten with the state after the last."""
    B = a.shape[0]
    n = a.shape[2]
    for b in numba.prange(B):
        u = st_u[b].copy()
        v = st_v[b].copy()
        s_prev = st_s[b].copy()
        rec = np.zeros(n)
        peak = np.zeros((4, n))
        for t in range(T):
            for i in range(n):
                rec[i] = 0.0
            for j in range(n):
                if s_prev[j] != 0.0:
                    for i in range(n):
                        rec[i] += w_rec[i, j]
            for i in range(n):
                r = rec[i]
                if rec_exp > 0:
                    r = r * (2.0 ** rec_exp)
                elif rec_exp < 0:
                    r = np.floor(r / (2.0 ** (-rec_exp)))
                uu, vv, fired, x, y = _update(u[i], v[i], s_prev[i], a[b, t, i] + r, u_mult, v_mult, vth_eff,
                                              bias[b, i], subtract)
                if track:
                    _track(peak, i, x, y)
                u[i] = uu
                v[i] = vv
                spikes[b, t, i] = fired
                if record_v:
                    v_out[b, t, i] = vv
                    u_out[b, t, i] = uu
            for i in range(n):
                s_prev[i] = 1.0 if spikes[b, t, i] else 0.0
        for k in range(4):
            for i in range(n):
                stats[k, b, i] = peak[k, i]
        for i in range(n):
            st_u[b, i] = u[i]
            st_v[b, i] = v[i]
            st_s[b, i] = s_prev[i]


@dataclass
class NeuronState:
    """The state a population carries from one step to the next, per (clip, neuron), float64
    exact integers: current u and voltage v (in a/64 units, see `toolchain.ir.graph`) after the
    step, and s, the step's spikes (0 / 1: the next step's recurrent input and subtractive reset).
    Zeros are a population at rest (the start of a classification)."""

    u: np.ndarray
    v: np.ndarray
    s: np.ndarray

    @classmethod
    def rest(cls, shape) -> "NeuronState":
        return cls(np.zeros(shape), np.zeros(shape), np.zeros(shape))

    def copy(self) -> "NeuronState":
        return NeuronState(self.u.copy(), self.v.copy(), self.s.copy())


def _state_arrays(state: NeuronState | None, shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contiguous float64 in/out arrays of `shape` for a kernel (zeros without a state). They may be
    the state's own arrays: the kernel overwrites them with the state after its last step, which
    `_store_state` then puts back (the state is updated in place, as lif_layer says)."""
    if state is None:
        return np.zeros(shape), np.zeros(shape), np.zeros(shape)
    out = []
    for arr in (state.u, state.v, state.s):
        arr = np.asarray(arr, dtype=np.float64)
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"carried neuron state holds {arr.size} values, the layer has {int(np.prod(shape))} "
                             "(clips x neurons)")
        out.append(np.ascontiguousarray(arr).reshape(shape))
    return out[0], out[1], out[2]


def lif_layer(a: np.ndarray, num_steps: int, *, du: int, dv: int, vth: int, bias: np.ndarray,
              reset: str, once: bool = False, record_v: bool = False, stats: dict | None = None,
              state: NeuronState | None = None, out: np.ndarray | None = None):
    """Spikes bool [B, T, n] of one LIF layer driven by exact integer activations `a` (written into
    `out`, a contiguous bool [B, T, n], if given).

    a: exact integers, float64 or int32, [B, T, n] (one activation per step), or [B, n] with
    once=True (activation at the first step only, zero afterwards) or once=False (the same
    activation at every step).
    bias: effective bias in v units (bias_mant << bias_exp), shape [n] (per neuron) or [B, n]
    (per clip and neuron: an input population driven by each clip's bias).
    stats: if given, updated with the largest |u| before the wrap and |v| before saturation, and
    how many neuron-steps wrapped / saturated ("u_absmax", "v_absmax", "u_wraps", "v_saturations").
    Returns (spikes, v_trace, u_trace): with record_v, v after the step's reset (what Lava's `v`
    Var holds) and u (Lava's `u`), float64 [B, T, n]; else None, None.
    state: if given, the state before step 0 (instead of rest); it is updated in place to the state
    after the last step, so consecutive calls continue one unbroken run.
    """
    per_step = a.ndim == 3
    B, n = (a.shape[0], a.shape[2]) if per_step else a.shape
    a3 = a if per_step else a.reshape(B, 1, n)
    mode = PER_STEP if per_step else (ONCE if once else EVERY_STEP)
    spikes = _spike_buffer(out, (B, num_steps, n))
    v_out = touched((B, num_steps, n) if record_v else (1, 1, 1))
    u_out = touched(v_out.shape)
    track = stats is not None
    peaks = np.empty((4, B, n) if track else (4, 1, 1))
    bias2 = np.asarray(bias, dtype=np.float64)
    bias2 = np.ascontiguousarray(bias2.reshape(1, n) if bias2.ndim == 1 else np.broadcast_to(bias2, (B, n)))
    st = _state_arrays(state, (B, n)) if state is not None else (np.zeros((1, 1)),) * 3
    a32 = None if track else _as_int32(a3)
    b32 = None if a32 is None else _as_int32(bias2, 2 ** 30)
    if b32 is not None:  # int32 lanes: every activation an int32 (Lava's accumulator), |bias| < 2**30
        _kernel_int(a32, mode, num_steps, *int_decays(du, dv, vth), b32, reset == "subtract", record_v,
                    spikes.view(np.uint8), v_out, u_out, state is not None, *st)
    else:
        a3 = np.ascontiguousarray(a3 if a3.dtype in (np.int32, np.float64) else a3.astype(np.float64))
        _kernel(a3, mode, num_steps, *_decays(du, dv, vth), bias2, reset == "subtract", record_v, track, spikes,
                v_out, u_out, peaks, state is not None, *st)
    if track:
        _merge_stats(stats, peaks)
    _store_state(state, st, (B, n))
    if not record_v:
        return spikes, None, None
    return spikes, v_out, u_out


_MEMO_VALUES = 1 << 16  # widest bias-mantissa range `bias_driven_layer` tabulates


@numba.njit(parallel=True, cache=True, nogil=True)
def _gather(idx, table, out):
    """out[b, t, j] = table[t, idx[b, j]] (idx [B, n] uint16, table [T, U], out [B, T, n])."""
    B, n = idx.shape
    T = table.shape[0]
    for b in numba.prange(B):
        for t in range(T):
            row = table[t]
            dst = out[b, t]
            for j in range(n):
                dst[j] = row[idx[b, j]]


_BIT_STEPS = 32  # steps per gathered spike word of `_gather_bits`


@numba.njit(parallel=True, cache=True, nogil=True)
def _gather_bits(idx, words, out):
    """out[b, t, j] = bit (t % 32) of words[t // 32, idx[b, j]] (idx [B, n] uint16, words [ceil(T / 32), U]
    uint32: a value's spikes over 32 steps as bits, out [B, T, n] 0/1 bytes): one gather per neuron
    per 32 steps, then the bytes of each step by shifts (vector instructions), where a gather per
    neuron and step was one scalar load per spike byte."""
    B, n = idx.shape
    T = out.shape[1]
    for b in numba.prange(B):
        m = np.empty(n, dtype=np.uint32)
        ib = idx[b]
        for k in range(words.shape[0]):
            row = words[k]
            for j in range(n):
                m[j] = row[ib[j]]
            for t in range(k * _BIT_STEPS, min(T, (k + 1) * _BIT_STEPS)):
                dst = out[b, t]
                sh = np.uint32(t - k * _BIT_STEPS)
                for j in range(n):
                    dst[j] = np.uint8((m[j] >> sh) & np.uint32(1))


def _spike_words(s: np.ndarray) -> np.ndarray:
    """Spikes bool [T, U] as uint32 words [ceil(T / 32), U]: bit i of word k is step 32 k + i."""
    T, U = s.shape
    k = -(-T // _BIT_STEPS)
    padded = np.zeros((k * _BIT_STEPS, U), dtype=np.uint64)
    padded[:T] = s
    weights = np.uint64(1) << np.arange(_BIT_STEPS, dtype=np.uint64)
    return (padded.reshape(k, _BIT_STEPS, U) * weights[None, :, None]).sum(axis=1).astype(np.uint32)


def bias_driven_layer(bias_mant: np.ndarray, bias_exp: int, num_steps: int, *, du: int, dv: int, vth: int,
                      reset: str, record_v: bool = False, stats: dict | None = None, state: NeuronState | None = None,
                      out: np.ndarray | None = None):
    """`lif_layer` for neurons with no input, each driven by its own bias (bias_mant [B, n] integer
    mantissas, effective bias bias_mant << bias_exp): spikes bool [B, T, n] (into `out` if given)
    and, with record_v, v and u.

    Such a neuron's whole run is a function of its bias alone (same update, same start at rest),
    so the run is computed once per distinct mantissa in min..max and looked up per neuron (lava-dl
    PilotNet's image input: 79 values for 39,600 neurons per clip). A carried `state`, range
    statistics, or a range wider than 2**16 values run every neuron instead."""
    x = np.asarray(bias_mant, dtype=np.int64)
    B, n = x.shape
    lo = int(x.min(initial=0))
    span = int(x.max(initial=0)) - lo + 1
    if state is not None or stats is not None or span > min(_MEMO_VALUES, max(1, x.size // 4)):
        bias = (x << int(bias_exp)).astype(np.float64)
        return lif_layer(np.zeros_like(bias), num_steps, once=True, bias=bias, du=du, dv=dv, vth=vth, reset=reset,
                         record_v=record_v, stats=stats, state=state, out=out)
    values = (np.arange(lo, lo + span, dtype=np.int64) << int(bias_exp)).astype(np.float64)[None]
    s, v, u = lif_layer(np.zeros_like(values), num_steps, once=True, bias=values, du=du, dv=dv, vth=vth, reset=reset,
                        record_v=record_v)
    idx = np.ascontiguousarray(x - lo).astype(np.uint16)
    spikes = _spike_buffer(out, (B, num_steps, n))
    _gather_bits(idx, _spike_words(s[0]), spikes.view(np.uint8))
    if not record_v:
        return spikes, None, None
    v_out, u_out = touched((B, num_steps, n)), touched((B, num_steps, n))
    _gather(idx, np.ascontiguousarray(v[0]), v_out)
    _gather(idx, np.ascontiguousarray(u[0]), u_out)
    return spikes, v_out, u_out


def _spike_buffer(out: np.ndarray | None, shape) -> np.ndarray:
    if out is None:
        return touched(shape, np.bool_)
    if out.shape != tuple(shape) or out.dtype != np.bool_ or not out.flags.c_contiguous:
        raise ValueError(f"spike buffer {out.dtype}{list(out.shape)} is not a contiguous bool {list(shape)}")
    return out


def _store_state(state: NeuronState | None, st, shape) -> None:
    if state is not None:
        state.u, state.v, state.s = (arr.reshape(shape) for arr in st)


def _merge_stats(stats: dict | None, peaks: np.ndarray) -> None:
    if stats is not None:
        peaks = peaks.reshape(4, -1)
        stats["u_absmax"] = max(stats.get("u_absmax", 0.0), float(peaks[0].max(initial=0.0)))
        stats["v_absmax"] = max(stats.get("v_absmax", 0.0), float(peaks[1].max(initial=0.0)))
        stats["u_wraps"] = stats.get("u_wraps", 0) + int(peaks[2].sum())
        stats["v_saturations"] = stats.get("v_saturations", 0) + int(peaks[3].sum())


def _decays(du: int, dv: int, vth: int) -> tuple[float, float, float]:
    """The kernels' multipliers: u * (4095 - du) / 4096, v * (4096 - dv) / 4096, and vth << 6."""
    return (float(L.DECAY_UNITY - (du + 1)) / L.DECAY_UNITY, float(L.DECAY_UNITY - dv) / L.DECAY_UNITY,
            float(vth << L.VTH_SHIFT))


def lif_rec_layer(a: np.ndarray, w_rec: np.ndarray, rec_exp: int, num_steps: int, *, du: int, dv: int, vth: int,
                  bias: np.ndarray, reset: str, record_v: bool = False, stats: dict | None = None,
                  state: NeuronState | None = None, out: np.ndarray | None = None):
    """Spikes bool [B, T, n] (into `out` if given) of a recurrent LIF layer: activation a[:, t] (exact integers [B, T, n],
    the feed-forward part already shifted) plus shift(W_rec @ s[t-1]) each step.

    w_rec: integer [n, n]; rec_exp: the shared weight exponent (Lava shifts each Dense's sum on its
    own, so the feedback is shifted separately). bias: [n] or [B, n]. Returns (spikes, v_trace,
    u_trace) like lif_layer; `state` as in lif_layer (its s is the feedback into step 0)."""
    B, T, n = a.shape
    spikes = _spike_buffer(out, (B, T, n))
    v_out = touched((B, T, n) if record_v else (1, 1, 1))
    u_out = touched(v_out.shape)
    peaks = np.empty((4, B, n))
    bias_bn = np.ascontiguousarray(np.broadcast_to(np.asarray(bias, dtype=np.float64), (B, n)))
    st = _state_arrays(state, (B, n))
    _rec_kernel(np.ascontiguousarray(a, dtype=np.float64), np.ascontiguousarray(w_rec, dtype=np.float64),
                int(rec_exp), num_steps, *_decays(du, dv, vth), bias_bn, reset == "subtract", record_v,
                stats is not None, spikes, v_out, u_out, peaks, *st)
    _merge_stats(stats, peaks)
    _store_state(state, st, (B, n))
    return spikes, (v_out if record_v else None), (u_out if record_v else None)
