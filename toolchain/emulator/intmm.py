"""Exact integer products on ONNX Runtime's integer kernel MatMulInteger (MLAS).

Operands: activations uint8 (binary spikes, graded payloads 0..255), weights int8. A 9-bit weight
(Lava's Dense takes [-256, 255]) is split as W = 128 * q + r with r = W mod 128 in [0, 127] and
q in [-2, 1], two products joined in int64 (exact). The kernels accumulate in int32, so a result
is exact when no partial sum can leave int32: for a product of activations |x| <= max_x with an
int8 weight part P every partial sum is bounded by
    bound = max_row sum_k |P[row, k]| * max_x
and `prepare_matmul` returns None (the caller then uses float BLAS) unless it is below 2**31.
One hazard is not arithmetic: on x86 CPUs without AVX-512 VNNI or AMX, MLAS's u8 x s8 kernel adds
pairs of products in int16 with saturation (vpmaddubsw), which is not exact for 255 x 127 pairs,
but is for activations up to 127: |x0 w0 + x1 w1| <= 2 * 127 * 128 = 32512 <= 32767. So the
kernels are used only after a self-test has run them, in this process, and found every result
equal to int64 numpy, and `input_limit()` is the largest activation they were found exact for:
255 (operands that saturate such pairs pass too), 127 (only operands up to 127 pass: an input
above 127 is then split as x = 128 * (x >> 7) + (x & 127), two exact products joined in int32,
exact under the same bound), or 0 (neither: every layer takes the float BLAS path,
`toolchain.emulator.dense`).
The self-test also covers every output width up to 80 (see _PAD: the kernel had a bug there).
ConvInteger is not used: in onnxruntime 1.23 it returned wrong sums on 18 of 150 random small
convolutions (uint8 x uint8, no zero point) and, with a weight zero point, on lava-dl PilotNet's
second convolution; convolutions run as an im2col into this MatMulInteger (`toolchain.emulator.conv`).
Sessions are built lazily per process (a forked worker builds its own; ORT's threads do not
survive fork) and are never pickled. Results are written into a scratch buffer each product keeps
(fresh memory costs more than the product on some machines): a returned array is valid until
the next call of the same product.
"""

from __future__ import annotations

import functools
import os

import numpy as np

I32_EXACT = 2 ** 31
# onnxruntime 1.23's MatMulInteger (on this project's AMX machine, M >= 32) returned wrong sums for
# 17-31 and 65-79 outputs and right ones for every multiple of 16 tried (M 1-1000): outputs are
# padded to a multiple of 16 with zero weights.
_PAD = 16


def _threads() -> int:
    import torch

    return max(1, int(torch.get_num_threads()))


def _matmul_model(wt: np.ndarray) -> bytes:
    """A one-node ONNX model y = MatMulInteger(x uint8 [M, n_in], wt int8 [n_in, width]) -> int32."""
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.UINT8, ["M", int(wt.shape[0])])
    y = helper.make_tensor_value_info("y", TensorProto.INT32, None)
    node = helper.make_node("MatMulInteger", ["x", "w"], ["y"])
    graph = helper.make_graph([node], "MatMulInteger", [x], [y], [numpy_helper.from_array(wt, "w")])
    # IR version 8 / opset 13: read by every onnxruntime this project supports
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8).SerializeToString()


class _Session:
    """One ORT session over a serialised model, built on first use in each process."""

    def __init__(self, model: bytes, threads: int):
        self.model, self.threads = model, threads
        self._sess, self._pid = None, None

    def __getstate__(self):
        return {"model": self.model, "threads": self.threads, "_sess": None, "_pid": None}

    def run(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The model's int32 result for uint8 input x (contiguous), written into `out` if given
        (contiguous int32 of the result's shape)."""
        if self._pid != os.getpid():
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = self.threads
            so.inter_op_num_threads = 1
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy threads after a call
            self._sess = ort.InferenceSession(self.model, so, providers=["CPUExecutionProvider"])
            self._pid = os.getpid()
        if out is None:
            return self._sess.run(None, {"x": x})[0]
        binding = self._sess.io_binding()
        binding.bind_cpu_input("x", x)
        binding.bind_output("y", "cpu", 0, np.int32, list(out.shape), out.ctypes.data)
        self._sess.run_with_iobinding(binding)
        return out


class Scratch:
    """A reusable buffer (per process): `get(shape)` is a contiguous view of it (int32 unless told)."""

    def __init__(self, dtype=np.int32):
        self.dtype = dtype
        self._buf, self._pid = None, None

    def __getstate__(self):
        return {"dtype": self.dtype, "_buf": None, "_pid": None}

    def get(self, shape) -> np.ndarray:
        size = int(np.prod(shape))
        if self._buf is None or self._pid != os.getpid() or self._buf.size < size:
            self._buf, self._pid = np.empty(size, self.dtype), os.getpid()
        return self._buf[:size].reshape(shape)


def _split9(w: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(scale, part) with W = sum scale * part, every part in int8: [(1, W)] when W fits."""
    w = np.asarray(w, dtype=np.int64)
    if w.size == 0 or (w.min() >= -128 and w.max() <= 127):
        return [(1, w)]
    r = np.mod(w, 128)
    return [(128, (w - r) // 128), (1, r)]


def as_u8(s: np.ndarray) -> np.ndarray | None:
    """The activations as uint8 (a view for bool), or None unless they are integers in [0, 255]."""
    s = np.asarray(s)
    if s.dtype == np.bool_:
        return s.view(np.uint8)
    if s.dtype == np.uint8:
        return s
    if s.dtype.kind not in "iu" or (s.size and (s.min() < 0 or s.max() > 255)):
        return None
    return s.astype(np.uint8)


class IntMatMul:
    """s [M, n_in] uint8 @ W.T for integer W [n_out, n_in]: int32 [M, n_out], exact (module docstring)."""

    def __init__(self, weight: np.ndarray, parts: list[tuple[int, np.ndarray]]):
        self.n_in, self.n_out = int(weight.shape[1]), int(weight.shape[0])
        self.width = -(-self.n_out // _PAD) * _PAD  # outputs padded with zero weights (see _PAD)
        threads = _threads()
        self.parts = []
        for scale, p in parts:
            wt = np.zeros((self.n_in, self.width), np.int8)
            wt[:, :self.n_out] = p.T
            self.parts.append((scale, _Session(_matmul_model(wt), threads)))
        self.scratch = Scratch()
        self.scratch_high = Scratch()

    def _products(self, x: np.ndarray, scratch: Scratch | None = None) -> np.ndarray:
        """W @ x for contiguous uint8 x whose values the kernels are exact for: int32 [M, width]
        (one weight part: written into `scratch`, default `self.scratch`)."""
        if len(self.parts) == 1:
            return self.parts[0][1].run(x, (scratch or self.scratch).get((x.shape[0], self.width)))
        # 9-bit weights; |acc| <= the layer's bound < 2**31
        return sum(scale * sess.run(x).astype(np.int64) for scale, sess in self.parts).astype(np.int32)

    def padded(self, s: np.ndarray) -> np.ndarray | None:
        """The sums int32 [M, width]: columns n_out.. are zeros (the padding, see _PAD)."""
        binary = np.asarray(s).dtype == np.bool_
        x = as_u8(s)
        if x is None:
            return None
        x = np.ascontiguousarray(x)
        limit = input_limit()
        if limit == 0:
            return None
        if binary or limit >= 255 or not x.size or int(x.max()) <= limit:
            return self._products(x)
        # inputs above 127 on a kernel exact only up to 127 (module docstring): W @ x =
        # 128 * W @ (x >> 7) + W @ (x & 127); |each term| and the sum <= the layer's bound < 2**31
        low = self._products(x & np.uint8(127))
        high = self._products(x >> np.uint8(7), self.scratch_high)  # not in `scratch`, which holds `low`
        np.multiply(high, 128, out=high)
        return np.add(low, high, out=low)

    def __call__(self, s: np.ndarray) -> np.ndarray | None:
        acc = self.padded(s)
        if acc is None or self.width == self.n_out:
            return acc
        return np.ascontiguousarray(acc[:, :self.n_out])


def prepare_matmul(weight: np.ndarray, max_input: int) -> IntMatMul | None:
    """The integer product for W [n_out, n_in] and inputs in [0, max_input], or None where it is
    not exact (inputs above 255, a partial sum that could leave int32) or not available."""
    weight = np.asarray(weight, dtype=np.int64)
    if weight.ndim != 2 or max_input > 255 or input_limit() == 0:
        return None
    parts = _split9(weight)
    if any(int(np.abs(p).sum(axis=1).max(initial=0)) * max_input >= I32_EXACT for _, p in parts):
        return None
    return IntMatMul(weight, parts)


def _cases(top: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Operands x uint8 [M, K] in [0, top], w [K, N] int8: pairs of top x 127 and top x -128 products
    (at top 255 they leave int16), random operands of many shapes, and every output width up to 80
    (ORT 1.23 got widths 17-31 and 65-79 wrong before padding)."""
    rng = np.random.default_rng(12345)
    cases = []
    for m, k, n in ((1, 64, 16), (37, 300, 17), (130, 1031, 70)):
        cases.append((np.full((m, k), top, np.uint8), np.where(np.arange(n) % 2, 127, -128)[None, :].repeat(k, 0)))
        cases.append((rng.integers(0, top + 1, (m, k)).astype(np.uint8), rng.integers(-128, 128, (k, n))))
    for n in range(1, 81):
        k = int(rng.integers(1, 200))
        cases.append((rng.integers(0, top + 1, (int(rng.integers(32, 70)), k)).astype(np.uint8),
                      rng.integers(-128, 128, (k, n))))
    return cases


def _differs(top: int) -> str | None:
    """The first case (of `_cases(top)`) where MatMulInteger differs from int64, or None."""
    for x, w in _cases(top):
        mm = IntMatMul(w.T, [(1, w.T)])
        if not np.array_equal(mm._products(x), _reference(x, w, mm.width)):
            return f"{x.shape[0]}x{x.shape[1]}x{w.shape[1]}"
    return None


def _reference(x: np.ndarray, w: np.ndarray, width: int) -> np.ndarray:
    """x @ w in int64, padded with zero columns to `width` (the kernel's padded result)."""
    out = np.zeros((x.shape[0], width), np.int64)
    out[:, :w.shape[1]] = x.astype(np.int64) @ w.astype(np.int64)
    return out


@functools.lru_cache(maxsize=None)
def _self_test(pid: int) -> tuple[int, str]:
    """(input_limit, why) for this process (module docstring): 255, 127 or 0."""
    try:
        bad = _differs(255)
        if bad is None:
            return 255, "ONNX Runtime MatMulInteger reproduces int64 on this CPU"
        why = f"MatMulInteger differs from int64 on a {bad} case with inputs up to 255"
        bad_low = _differs(127)
        if bad_low is None:
            return 127, (f"{why} (u8 x s8 pairs saturate int16 on this CPU) but reproduces int64 with inputs up to "
                         "127: inputs above 127 run as two products, 128 * (x >> 7) + (x & 127)")
        return 0, f"{why}, and on a {bad_low} case with inputs up to 127"
    except Exception as e:  # noqa: BLE001 - any failure means: use float BLAS
        return 0, f"ONNX Runtime integer kernels unavailable: {type(e).__name__}: {e}"


def _switched_off() -> bool:
    """NEURODEPLOY_INT_KERNELS=0 turns the integer kernels off (every product on float BLAS)."""
    return os.environ.get("NEURODEPLOY_INT_KERNELS", "1") == "0"


def input_limit() -> int:
    """The largest activation the integer kernels are exact for in this process (255, 127), or 0
    where they are off or failed their self-test (module docstring)."""
    return 0 if _switched_off() else _self_test(os.getpid())[0]


def kernels_exact() -> bool:
    """Whether the integer kernels are on and reproduce int64 results in this process, for some
    input range (`input_limit`)."""
    return input_limit() > 0


def kernels_status() -> str:
    """One line for reports: which exact product the emulator uses here, and why."""
    if _switched_off():
        return "float BLAS (NEURODEPLOY_INT_KERNELS=0)"
    limit, why = _self_test(os.getpid())
    return ("int8 ONNX Runtime: " if limit else "float BLAS: ") + why
