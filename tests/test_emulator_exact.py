"""The emulator's float BLAS products are exact integer sums: checked against int64 arithmetic on
cases chosen to sit at the exactness bounds (rows just below and above |x|_1 * max|W| = 2**24)."""

import numpy as np

from toolchain.emulator.dense import F32_EXACT, accumulate, prepare


def test_graded_rows_take_float32_only_where_it_is_exact():
    rng = np.random.default_rng(0)
    n_in, n_out = 3000, 40
    w = rng.integers(-256, 256, size=(n_out, n_in)).astype(np.int32)
    p = prepare(w, 0, 255)
    assert p.wt32 is not None  # the worst case needs float64
    sparse = np.zeros((3, n_in), np.int64)
    sparse[:, :200] = rng.integers(0, 256, size=(3, 200))  # |x|_1 * 256 < 2**24: float32 rows
    dense = rng.integers(200, 256, size=(3, n_in))  # far above: float64 rows
    x = np.concatenate([sparse, dense])
    assert (np.abs(x).sum(1) * 256 < F32_EXACT).tolist() == [True] * 3 + [False] * 3
    want = x @ w.T.astype(np.int64)
    got = accumulate(p, x)
    assert np.array_equal(got, want.astype(np.float64))
    # a right shift (negative weight exponent) floors the exact sum, as Lava does
    assert np.array_equal(accumulate(prepare(w, -3, 255), x), np.floor(want / 8.0))


def test_binary_spikes_use_float32_and_stay_exact():
    rng = np.random.default_rng(1)
    w = rng.integers(-256, 256, size=(64, 60000)).astype(np.int32)  # fan-in * 256 < 2**24
    p = prepare(w, 2, 1)
    assert p.wt.dtype.is_floating_point and p.wt32 is None and str(p.wt.dtype) == "torch.float32"
    s = rng.random((4, 60000)) < 0.5
    assert np.array_equal(accumulate(p, s), (s.astype(np.int64) @ w.T.astype(np.int64) * 4).astype(np.float64))
