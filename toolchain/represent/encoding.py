"""Input encodings shared by the float model, the emulator and Lava (numpy, deterministic).

Features are vectors in [0, 1] (`toolchain.represent`). For fixed point:
- graded encodings send x_int = round(clip(x, 0, 1) * scale), an unsigned integer of `bits` bits
  ("frames": one such vector per step, [B, T, n_in]);
- "spikes" sends binary trains made on the host, [B, T, n_in]:
  rate:    spike at step t with probability x (independent Bernoulli draws; clip number c of a data
           set draws from numpy's generator seeded with (seed, c), so any batching gives the same trains);
  latency: one spike at step round((1 - x) * (T - 1)); inputs equal to 0 never spike.
The same seed gives the same trains, so every back end sees identical input.
"""

from __future__ import annotations

import numpy as np

from toolchain.core.errors import DataError


def _check_features(x: np.ndarray, n_in: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != n_in:
        raise DataError(f"features of shape {x.shape} do not match the network input ({n_in} values per clip)")
    if not np.isfinite(x).all():
        raise DataError("features contain NaN or inf")
    return np.clip(x.astype(np.float64), 0.0, 1.0)


def graded(x: np.ndarray, scale: float, n_in: int) -> np.ndarray:
    """Quantise features to unsigned integers x_int = round(x * scale): int32 [B, n_in]."""
    return np.rint(_check_features(x, n_in) * scale).astype(np.int32)


def graded_frames(x: np.ndarray, scale: float, n_in: int, num_steps: int | None = None) -> np.ndarray:
    """Quantise frame sequences to unsigned integers round(x * scale): int32 [B, T, n_in].

    x: [B, T, n_in] (any T: a block of a stream), or clips flattened [B, T * n_in] with T = num_steps."""
    x = np.asarray(x)
    if x.ndim == 2 and num_steps is not None and x.shape[1] == num_steps * n_in:
        x = x.reshape(x.shape[0], num_steps, n_in)
    if x.ndim != 3 or x.shape[2] != n_in:
        raise DataError(f"frame input of shape {list(x.shape)} is not [clips, steps, {n_in}] "
                        f"(or [clips, {num_steps} x {n_in}])")
    B, T = x.shape[:2]
    return graded(x.reshape(B * T, n_in), scale, n_in).reshape(B, T, n_in)


def spike_trains(x: np.ndarray, encoder: str, num_steps: int, seed: int, n_in: int,
                 first_index: int = 0) -> np.ndarray:
    """Binary input trains, bool [B, T, n_in], for the "rate" or "latency" code.

    Row b of x is clip number first_index + b (its rate-code draws depend on that number only).
    """
    x = _check_features(x, n_in)
    if encoder == "rate":
        out = np.empty((x.shape[0], num_steps, n_in), dtype=bool)
        for b in range(x.shape[0]):
            out[b] = np.random.default_rng((seed, first_index + b)).random((num_steps, n_in)) < x[b]
        return out
    if encoder == "latency":
        t_spike = np.rint((1.0 - x) * (num_steps - 1)).astype(np.int64)
        steps = np.arange(num_steps)[None, :, None]
        return (steps == t_spike[:, None, :]) & (x[:, None, :] > 0)
    raise DataError(f"unknown spike encoder {encoder!r} (expected 'rate' or 'latency')")


def given_spikes(x: np.ndarray, num_steps: int, n_in: int) -> np.ndarray:
    """Spike trains given as they are: [B, T, *shape] of 0/1 values -> bool [B, T, n_in]."""
    x = np.asarray(x)
    if x.ndim < 3 or x.shape[1] != num_steps or int(np.prod(x.shape[2:])) != n_in:
        raise DataError(f"spike input of shape [clips, {', '.join(map(str, x.shape[1:]))}] is not "
                        f"[clips, {num_steps} steps, {n_in} inputs]")
    if x.dtype != np.bool_ and not np.isin(np.unique(x), (0, 1)).all():
        raise DataError("spike input holds values other than 0 and 1")
    return x.reshape(x.shape[0], num_steps, n_in).astype(bool)


def given_biases(x: np.ndarray, n_in: int, lo: int, hi: int) -> np.ndarray:
    """Per-clip biases of an input population: integers [B, *shape] within lo..hi -> int32 [B, n_in]."""
    x = np.asarray(x)
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != n_in:
        raise DataError(f"bias input of shape [clips, {', '.join(map(str, x.shape[1:]))}] does not hold "
                        f"{n_in} values per clip")
    if not np.issubdtype(x.dtype, np.integer):
        if not np.isfinite(x).all() or not np.array_equal(x, np.rint(x)):
            raise DataError("bias input must hold integers (bias mantissas)")
    x = x.reshape(x.shape[0], n_in).astype(np.int64)
    if x.size and (x.min() < lo or x.max() > hi):
        raise DataError(f"bias input values {int(x.min())}..{int(x.max())} outside the bias range {lo}..{hi}")
    return x.astype(np.int32)


def encode_for_ir(ir, x: np.ndarray, seed: int = 0, first_index: int = 0) -> np.ndarray:
    """What the fixed-point network receives for input `x` (clips first_index, ...), per its InputSpec.

    x: features in [0, 1] [B, n_in] (graded encodings, host-made spike codes; "frames": [B, T, n_in]
    or [B, num_steps * n_in], giving int32 [B, T, n_in]); spike trains
    [B, T, n_in] when the IR's spikes are given as they are (no spike_encoder); biases [B, n_in]
    for the "bias" encoding."""
    spec = ir.input
    if spec.encoding == "frames":
        return graded_frames(x, spec.scale, spec.n_in, ir.num_steps)
    if spec.graded:
        return graded(x, spec.scale, spec.n_in)
    if spec.encoding == "bias":
        from toolchain.ir import limits as L

        return given_biases(x, spec.n_in, L.BIAS_MANT_MIN, L.BIAS_MANT_MAX)
    if spec.spike_encoder is None:
        return given_spikes(x, ir.num_steps, spec.n_in)
    return spike_trains(x, spec.spike_encoder, ir.num_steps, seed, spec.n_in, first_index)
