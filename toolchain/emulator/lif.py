"""The LIF update of Lava's PyLifModelBitAcc (lava-nc 0.10.0), over all steps of one layer.

State and arithmetic are float64 holding exact integers (all magnitudes stay below 2**44, far
inside float64's 2**53 exact range), which numpy evaluates faster than int64 with the same result:
    trunc(u * (4095 - du) / 4096): (4095 - du) / 4096 is an exact binary fraction, the product of
    an integer below 2**32 with it is exact, and trunc() is Lava's sign(x) * (|x| >> 12).
Per step t (u, v, s as in `toolchain.ir.graph`):
    x = trunc(u * (4095 - du) / 4096) + int32(a << 6)        (int32 wraps as in Lava)
    u = x - 2**24 if x > 2**23;  x + 2**24 if x <= -2**23;  else x      (Lava's one-step 24-bit wrap)
    v = clip(trunc(v * (4096 - dv) / 4096) + u + bias, -(2**23 - 1), 2**23 - 1)
    subtract reset: v = clip(v - s_prev * (vth << 6), same limits)   (as our Lava model does)
    s = v > vth << 6;   zero reset: v = 0 where s
"""

from __future__ import annotations

import numpy as np

from toolchain.ir import limits as L

_I32 = 2.0 ** 31
_U = float(L.STATE_MAX)
_V = float(L.V_LIMIT)


def _wrap_int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement int32 wrap (only evaluated when a value leaves the int32 range)."""
    if np.abs(x).max(initial=0.0) >= _I32:
        x = np.mod(x + _I32, 2 * _I32) - _I32
    return x


def _track(stats: dict, x: np.ndarray, v: np.ndarray) -> None:
    ax, av = np.abs(x), np.abs(v)
    stats["u_absmax"] = max(stats.get("u_absmax", 0.0), float(ax.max(initial=0.0)))
    stats["v_absmax"] = max(stats.get("v_absmax", 0.0), float(av.max(initial=0.0)))
    stats["u_wraps"] = stats.get("u_wraps", 0) + int(((x > _U) | (x <= -_U)).sum())
    stats["v_saturations"] = stats.get("v_saturations", 0) + int((av > _V).sum())


def lif_layer(a: np.ndarray, num_steps: int, *, du: int, dv: int, vth: int, bias: np.ndarray,
              reset: str, once: bool = False, record_v: bool = False, stats: dict | None = None):
    """Spikes bool [T, B, n] of one LIF layer driven by exact integer activations `a`.

    a: float64 [T, B, n] (one activation per step), or [B, n] with once=True (activation at the
    first step only, zero afterwards) or once=False (the same activation at every step).
    bias: effective bias per neuron in v units (bias_mant << bias_exp), shape [n].
    stats: if given, updated with the largest |u| before the wrap and |v| before saturation, and
    how many neuron-steps wrapped / saturated ("u_absmax", "v_absmax", "u_wraps", "v_saturations").
    Returns (spikes, v_trace): v_trace is v after the step's reset (what Lava's `v` Var holds),
    float64 [T, B, n], when record_v, else None.
    """
    time_major = a.ndim == 3
    shape = a.shape[1:] if time_major else a.shape
    u_mult = float(L.DECAY_UNITY - (du + 1)) / L.DECAY_UNITY
    v_mult = float(L.DECAY_UNITY - dv) / L.DECAY_UNITY
    vth_eff = float(vth << L.VTH_SHIFT)
    bias = np.asarray(bias, dtype=np.float64)
    u = np.zeros(shape)
    v = np.zeros(shape)
    s_prev = np.zeros(shape, dtype=bool)
    spikes = np.empty((num_steps,) + tuple(shape), dtype=bool)
    v_trace = np.empty((num_steps,) + tuple(shape)) if record_v else None
    const_act = None if time_major else _wrap_int32(a * 64.0)
    zero_act = 0.0
    for t in range(num_steps):
        if time_major:
            act = _wrap_int32(a[t] * 64.0)
        elif once and t > 0:
            act = zero_act
        else:
            act = const_act
        x = _wrap_int32(np.trunc(u * u_mult) + act)
        u = np.where(x > _U, x - 2 * _U, x)
        u = np.where(u <= -_U, x + 2 * _U, u)
        v = np.trunc(v * v_mult)
        v += u
        v += bias
        if stats is not None:
            _track(stats, x, v)
        np.clip(v, -_V, _V, out=v)
        if reset == "subtract":
            v -= s_prev * vth_eff
            np.clip(v, -_V, _V, out=v)
        s = v > vth_eff
        spikes[t] = s
        if reset == "zero":
            v[s] = 0.0
        else:
            s_prev = s
        if record_v:
            v_trace[t] = v
    return spikes, v_trace
