"""The emulator's products are exact integer sums: the float BLAS path checked against int64
arithmetic on cases chosen to sit at the exactness bounds (rows just below and above
|x|_1 * max|W| = 2**24), the convolution against int64, and the integer-kernel path (ONNX Runtime
MatMulInteger) against int64, including 9-bit weights, every output width up to 100, inputs
outside uint8 (which fall back), a kernel that saturates (which the self-test must limit to inputs
up to 127) or is wrong (which it must reject), and 8-bit inputs split in two on such a kernel."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from toolchain.emulator import intmm
from toolchain.emulator.conv import conv_accumulate, prepare_conv
from toolchain.emulator.dense import F32_EXACT, accumulate, prepare
from toolchain.ir.kinds.conv import Conv


def test_graded_rows_take_float32_only_where_it_is_exact():
    rng = np.random.default_rng(0)
    n_in, n_out = 3000, 40
    w = rng.integers(-256, 256, size=(n_out, n_in)).astype(np.int32)
    p = prepare(w, 0, 255, int_kernels=False)
    assert p.int_mm is None and p.float.wt32 is not None  # the worst case needs float64
    sparse = np.zeros((3, n_in), np.int64)
    sparse[:, :200] = rng.integers(0, 256, size=(3, 200))  # |x|_1 * 256 < 2**24: float32 rows
    dense = rng.integers(200, 256, size=(3, n_in))  # far above: float64 rows
    x = np.concatenate([sparse, dense])
    assert (np.abs(x).sum(1) * 256 < F32_EXACT).tolist() == [True] * 3 + [False] * 3
    want = x @ w.T.astype(np.int64)
    got = accumulate(p, x)
    assert np.array_equal(got, want.astype(np.float64))
    # a right shift (negative weight exponent) floors the exact sum, as Lava does
    assert np.array_equal(accumulate(prepare(w, -3, 255, int_kernels=False), x), np.floor(want / 8.0))


def test_binary_spikes_use_float32_and_stay_exact():
    rng = np.random.default_rng(1)
    w = rng.integers(-256, 256, size=(64, 60000)).astype(np.int32)  # fan-in * 256 < 2**24
    p = prepare(w, 2, 1, int_kernels=False)
    assert p.float.wt32 is None and str(p.float.wt.dtype) == "torch.float32"
    s = rng.random((4, 60000)) < 0.5
    assert np.array_equal(accumulate(p, s), (s.astype(np.int64) @ w.T.astype(np.int64) * 4).astype(np.float64))


needs_int = pytest.mark.skipif(not intmm.kernels_exact(), reason=intmm.kernels_status())


@needs_int
@pytest.mark.parametrize("wlo,whi", [(-128, 128), (-256, 256)])  # int8, and 9-bit (split in two products)
def test_integer_kernel_products_equal_int64(wlo, whi):
    rng = np.random.default_rng(2)
    w = rng.integers(wlo, whi, size=(70, 2000))
    w[0] = whi - 1  # a row at the largest |sum|
    x = rng.integers(0, 256, size=(9, 2000))
    x[0] = 255
    for exp in (0, -3, 2):
        p = prepare(w, exp, 255)
        assert p.int_mm is not None and p._float is None  # the float layout is not built
        got = accumulate(p, x)
        want = x @ w.T
        want = np.floor(want / 8.0) if exp < 0 else want * 2 ** exp
        assert np.array_equal(got, want)
    s = rng.random((5, 2000)) < 0.3  # binary spikes go in as a uint8 view
    assert np.array_equal(accumulate(prepare(w, 0, 1), s), s.astype(np.int64) @ w.T)


@needs_int
def test_inputs_outside_uint8_take_the_float_path_and_stay_exact():
    rng = np.random.default_rng(3)
    w = rng.integers(-100, 100, size=(20, 300))
    p = prepare(w, 0, 255)
    x = rng.integers(0, 256, size=(4, 300))
    x[1, 5] = -1  # not a uint8 payload
    assert p.int_mm(x) is None
    assert np.array_equal(accumulate(p, x), x @ w.T)
    assert prepare(w, 0, 256).int_mm is None  # a payload above 255 cannot use uint8 at all
    big = np.full((3, 70000), 127)  # a row sum 127 * 70000 * 255 > 2**31: int32 could overflow
    assert intmm.prepare_matmul(big, 255) is None


@needs_int
def test_integer_products_are_exact_at_every_output_width():
    """onnxruntime 1.23's MatMulInteger got 17-31 and 65-79 outputs wrong (M >= 32) until the outputs
    were padded to a multiple of 16: every width up to 100, at several row counts, equals int64."""
    rng = np.random.default_rng(4)
    for n_out in range(1, 101):
        k = int(rng.integers(1, 300))
        w = rng.integers(-128, 128, size=(n_out, k))
        p = prepare(w, 0, 255)
        for m in (1, 31, 32, 77):
            x = rng.integers(0, 256, size=(m, k))
            got = accumulate(p, x)
            assert got.shape == (m, n_out) and got.flags.c_contiguous
            assert np.array_equal(got, x @ w.T), f"{m} x {k} x {n_out}"


@pytest.mark.parametrize("case", range(24))
def test_convolution_equals_int64(case):
    """Both convolutions (integer im2col + MatMulInteger, and float BLAS unfold) equal int64 on random
    1-D and 2-D shapes, strides, paddings, dilations, groups and 9-bit kernels."""
    rng = np.random.default_rng(100 + case)
    two_d = case % 2 == 0
    groups = (1, 2)[case % 3 == 1]
    c_in, c_out = 2 * int(rng.integers(1, 4)), 2 * int(rng.integers(1, 4))
    k = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) if two_d else (int(rng.integers(1, 5)),)
    stride = tuple(int(rng.integers(1, 3)) for _ in k)
    padding = tuple(int(rng.integers(0, 2)) for _ in k)
    dilation = tuple(int(rng.integers(1, 3)) for _ in k)
    size = (9, 11) if two_d else (17,)
    wide = case % 4 == 3
    w = rng.integers(-256 if wide else -128, 256 if wide else 128, size=(c_out, c_in // groups) + k)
    conv = F.conv2d if two_d else F.conv1d
    layer = Conv(name="c", weight=w.astype(np.int32), bias_mant=np.zeros(c_out, np.int32), input_shape=(c_in,) + size,
                 stride=stride, padding=padding, dilation=dilation, groups=groups)
    x = rng.integers(0, 256, size=(6, c_in * int(np.prod(size))))
    want = conv(torch.from_numpy(x.reshape((6, c_in) + size)).double(), torch.from_numpy(w).double(), stride=stride,
                padding=padding, dilation=dilation, groups=groups).numpy().reshape(6, -1)
    p = prepare_conv(layer, 255)
    assert (p.int_mm is not None) == (groups == 1 and intmm.kernels_exact())  # im2col + MatMulInteger
    assert np.array_equal(conv_accumulate(p, x), want)
    assert np.array_equal(conv_accumulate(prepare_conv(layer, 255, int_kernels=False), x), want)  # float BLAS


def test_the_self_test_limits_a_kernel_that_saturates_int16_pairs_to_inputs_up_to_127(monkeypatch):
    """MLAS's AVX2 u8 x s8 kernel adds pairs of products in int16 with saturation; a kernel that
    does so at 255 x 127 must fail the full self-test and pass the one up to 127 (pairs of 127 x
    -128 stay in int16), and a kernel wrong at every input fails both (float BLAS only)."""
    real_run = intmm._Session.run

    def saturating(self, x, out=None):
        y = real_run(self, x, out)
        if b"MatMulInteger" in self.model and x.shape[1] % 2 == 0 and np.all(x == 255):
            y = np.minimum(y, 32767 * (x.shape[1] // 2))  # what pairwise int16 saturation gives at 255 x 127
        return y

    def wrong(self, x, out=None):
        return real_run(self, x, out) + 1

    try:
        for kernel, limit in ((saturating, 127), (wrong, 0)):
            monkeypatch.setattr(intmm._Session, "run", kernel)
            intmm._self_test.cache_clear()
            got, why = intmm._self_test(-1)
            assert got == limit and "MatMulInteger differs" in why, why
    finally:
        monkeypatch.undo()
        intmm._self_test.cache_clear()
    assert (intmm._self_test(-1)[0] > 0) == intmm.kernels_exact()
    monkeypatch.setattr(intmm, "input_limit", lambda: 0)
    assert intmm.prepare_matmul(np.ones((3, 4), np.int64), 255) is None  # no integer kernel at all


@needs_int
@pytest.mark.parametrize("wlo,whi", [(-128, 128), (-256, 256)])
def test_inputs_above_the_kernel_limit_run_as_two_exact_products(monkeypatch, wlo, whi):
    """On a kernel exact only up to 127 (input_limit 127), 8-bit inputs run as 128 * (x >> 7) +
    (x & 127): no input above 127 reaches the kernel, and the sums equal int64 for int8 and 9-bit
    weights, graded and binary input, at the largest |sum|."""
    real_run = intmm._Session.run
    seen = []

    def recording(self, x, out=None):
        seen.append(int(x.max(initial=0)))
        return real_run(self, x, out)

    monkeypatch.setattr(intmm, "input_limit", lambda: 127)
    monkeypatch.setattr(intmm._Session, "run", recording)
    rng = np.random.default_rng(5)
    w = rng.integers(wlo, whi, size=(37, 900))
    w[0] = whi - 1
    x = rng.integers(0, 256, size=(11, 900))
    x[0] = 255
    p = prepare(w, 0, 255)
    assert p.int_mm is not None
    assert np.array_equal(accumulate(p, x), x @ w.T)
    assert max(seen) == 127 and len(seen) == 2 * len(p.int_mm.parts)  # each weight part, on both halves
    seen.clear()
    s = rng.random((5, 900)) < 0.3
    assert np.array_equal(accumulate(prepare(w, 0, 1), s), s.astype(np.int64) @ w.T)
    assert max(seen) == 1 and len(seen) == len(p.int_mm.parts)  # spikes: one product per part


