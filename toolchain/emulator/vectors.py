"""Explicit SIMD building blocks for the event kernels (`toolchain.emulator.events`), written as
llvmlite intrinsics where numba's own loops do not vectorise: LLVM runs a 24- or 36-wide weight
column in its 8-lane remainder loop, keeps a 0/1 spike per byte store, and widens int32 state to
int64 lanes (numba's integer typing), which halves the lanes per instruction.

Every function here is exact integer arithmetic on the ranges its docstring states; the tests in
tests/test_emulator_vectors.py hold each against the scalar numba code it replaces.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from toolchain.ir import limits as L

VECTOR_BYTES = 32  # one AVX2 register: 16 int16 or 8 int32 sums per vector add
STATE_LANES = VECTOR_BYTES // 4  # int32 state lanes per vector
_IU, _IV = int(L.STATE_MAX), int(L.V_LIMIT)  # u wraps above _IU (and at or below -_IU), |v| <= _IV


def drop_stale_kernels(module_file: str, inlined: tuple[str, ...]) -> None:
    """Remove the numba cache of the module at `module_file` where one of the files `inlined` (in
    its folder) changed after it was written: numba keys a cached kernel on its own file only, so
    the inlined functions and intrinsics of those files would otherwise stay at their old code (an
    upgrade, or an edit, of one of them alone)."""
    here = Path(module_file)
    newest = max((here.parent / f).stat().st_mtime for f in inlined)
    for f in (here.parent / "__pycache__").glob(f"{here.stem}.*.nb[ic]"):
        try:
            if f.stat().st_mtime < newest:
                f.unlink()
        except OSError:  # another process removed it first, or a read-only install: numba recompiles
            pass


@intrinsic
def _add_vectors(typingctx, acc, ai, w, wi, val, nvec):
    """acc[ai:ai + k] += val * w[wi:wi + k] for k = nvec * VECTOR_BYTES / itemsize, as nvec explicit
    32-byte vector multiply-adds (acc, w: 1-D arrays of one integer type; wrapping arithmetic, which
    never wraps here: every partial sum is below the layout's bound). LLVM's own vectorising of
    `_add_column` runs a 24- or 36-wide column in its 8-lane remainder loop."""
    if not (isinstance(acc, types.Array) and isinstance(w, types.Array) and acc.dtype == w.dtype
            and isinstance(acc.dtype, types.Integer)):
        return None
    sig = types.void(acc, ai, w, wi, val, nvec)

    def codegen(context, builder, signature, args):
        ta, _, tw, _, tv, _ = signature.args
        a = context.make_array(ta)(context, builder, args[0])
        wv = context.make_array(tw)(context, builder, args[2])
        ety = context.get_value_type(ta.dtype)
        lanes = VECTOR_BYTES * 8 // ety.width
        vty = llvm_ir.VectorType(ety, lanes)
        pa = builder.bitcast(builder.gep(a.data, [args[1]]), vty.as_pointer())
        pw = builder.bitcast(builder.gep(wv.data, [args[3]]), vty.as_pointer())
        scalar = context.cast(builder, args[4], tv, ta.dtype)
        splat = cgutils.get_null_value(vty)
        for i in range(lanes):
            splat = builder.insert_element(splat, scalar, llvm_ir.Constant(llvm_ir.IntType(32), i))
        align = ety.width // 8
        with cgutils.for_range(builder, args[5]) as loop:
            qa = builder.gep(pa, [loop.index])
            qw = builder.gep(pw, [loop.index])
            x = builder.load(qa, align=align)
            y = builder.load(qw, align=align)
            builder.store(builder.add(x, builder.mul(y, splat)), qa, align=align)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _load_u64(typingctx, arr, i):
    """The 8 bytes arr[i:i + 8] of a one-byte array as a little-endian uint64 (no alignment needed)."""
    if not (isinstance(arr, types.Array) and arr.dtype.bitwidth == 8):
        return None

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(a.data, [args[1]]), llvm_ir.IntType(64).as_pointer())
        return builder.load(ptr, align=1)

    return types.uint64(arr, i), codegen


@intrinsic
def _store_u64(typingctx, arr, i, val):
    """arr[i:i + 8] = the 8 bytes of uint64 val, little-endian (no alignment needed)."""
    if not (isinstance(arr, types.Array) and arr.dtype.bitwidth == 8):
        return None

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(a.data, [args[1]]), llvm_ir.IntType(64).as_pointer())
        builder.store(context.cast(builder, args[2], signature.args[2], types.uint64), ptr, align=1)
        return context.get_dummy_value()

    return types.void(arr, i, val), codegen


_BYTE_BITS = np.uint64(0x8040201008040201)  # byte i keeps bit i
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH = np.uint64(0x8080808080808080)
_REPEAT = np.uint64(0x0101010101010101)


@numba.njit(inline="always")
def _spikes_channels_first(fired, Cp, C_out, L, sp):
    """sp[o * L + p] = fired[p * Cp + o] for o < C_out, p < L (fired: 0/1 bytes channels last, with
    at least 8 bytes readable past each position's first C_out; sp: 0/1 bytes channels first), 8
    positions x 8 channels at a time: the 8 words of 8 channel bytes are merged into one word of
    bit planes (byte c: channel c's 8 positions as bits), each byte is spread back to 8 bytes of
    0/1, and written as one 8-byte store (a byte store per spike is the store port's limit)."""
    L8 = L - L % 8
    for p0 in range(0, L8, 8):
        for o0 in range(0, C_out, 8):
            t = np.uint64(0)
            for r in range(8):
                t |= _load_u64(fired, (p0 + r) * Cp + o0) << np.uint64(r)
            for c in range(min(8, C_out - o0)):
                x = ((t >> np.uint64(8 * c)) & np.uint64(0xFF)) * _REPEAT & _BYTE_BITS
                _store_u64(sp, (o0 + c) * L + p0, ((x + _LOW7) & _HIGH) >> np.uint64(7))
    for o in range(C_out):
        for p in range(L8, L):
            sp[o * L + p] = fired[p * Cp + o]


class _Lanes:
    """int32 vector arithmetic of the LIF step (STATE_LANES lanes) for one intrinsic's codegen."""

    def __init__(self, builder):
        self.b = builder
        self.i32 = llvm_ir.IntType(32)
        self.v32 = llvm_ir.VectorType(self.i32, STATE_LANES)
        self.v64 = llvm_ir.VectorType(llvm_ir.IntType(64), STATE_LANES)
        self.v8 = llvm_ir.VectorType(llvm_ir.IntType(8), STATE_LANES)
        self.zero, self.iv, self.niv = self.const(0), self.const(_IV), self.const(-_IV)

    def splat(self, x):
        vec = cgutils.get_null_value(self.v32)
        for i in range(STATE_LANES):
            vec = self.b.insert_element(vec, x, llvm_ir.Constant(self.i32, i))
        return vec

    def const(self, c, ty=None):
        return llvm_ir.Constant(ty or self.v32, [c] * STATE_LANES)

    def clamp(self, y):
        """y clipped to +-(2**23 - 1), in y's lane type (int32 or int64)."""
        lo, hi = (self.niv, self.iv) if y.type == self.v32 else (self.const(-_IV, self.v64), self.const(_IV, self.v64))
        y = self.b.select(self.b.icmp_signed('<', y, lo), lo, y)
        return self.b.select(self.b.icmp_signed('>', y, hi), hi, y)

    def decay(self, x, m):
        """trunc(x * m / 4096) for |x| < 2**31, 0 <= m <= 4095 (m = 4096: |x| < 2**23): |x| * m split as
        (|x| >> 12) * m + ((|x| & 4095) * m >> 12), each below 2**31, with x's sign."""
        b = self.b
        neg = b.icmp_signed('<', x, self.zero)
        ax = b.select(neg, b.sub(self.zero, x), x)
        q = b.add(b.mul(b.lshr(ax, self.const(12)), m), b.lshr(b.mul(b.and_(ax, self.const(4095)), m), self.const(12)))
        return b.select(neg, b.sub(self.zero, q), q)

    def reset(self, vv, fired_prev, vth, sub):
        """The reset of `lif._v_step_int` on v before reset `vv` (int32, clamped): (v after reset,
        fired as 0/1 bytes). subtract: v - s[t-1] * vth, then fired = v > vth; zero reset:
        fired = v > vth, then v = 0 where fired."""
        b = self.b
        vs = self.clamp(b.sub(vv, b.mul(b.zext(fired_prev, self.v32), vth)))
        fired_sub = b.icmp_signed('>', vs, vth)
        fired_zero = b.icmp_signed('>', vv, vth)
        return (b.select(sub, vs, b.select(fired_zero, self.zero, vv)),
                b.zext(b.select(sub, fired_sub, fired_zero), self.v8))


@intrinsic
def _memoryless_vectors(typingctx, acc, acc_stride, v, fired, b, bstride, mv, vth_eff, subtract, positions,
                        per_position):
    """`toolchain.emulator.events._block_step_memoryless` on `positions` rows of `per_position` int32
    vectors (STATE_LANES lanes each): row p's lanes start at p * per_position * STATE_LANES in v
    (int32) and fired (0/1 bytes, this step's spikes on return), at p * acc_stride in acc (int16 or
    int32 sums; acc_stride >= the row's lanes: the rest are not read), and at p * bstride in b
    (int32 effective bias; bstride 0: one row of biases for every position).

    The same integers as the int64 scalar step, in int32 lanes: |v| <= 2**23 - 1, so |v| * mv
    (mv <= 4096) is split as (|v| >> 12) * mv + ((|v| & 4095) * mv >> 12), both below 2**24, and
    trunc(v * mv / 4096) = that with v's sign; |acc << 6| < 2**23 (the memoryless condition) and
    |b| < 2**30 (`events.bias_fits`), so the sum before the clamp is below 2**31; vth_eff < 2**24."""
    sig = types.void(acc, acc_stride, v, fired, b, bstride, mv, vth_eff, subtract, positions, per_position)

    def codegen(context, builder, signature, args):
        ta, _, tv, tf, tb = signature.args[:5]
        arr = [context.make_array(t)(context, builder, a) for t, a in zip((ta, tv, tf, tb), (args[0],) + tuple(args[2:5]))]
        i64 = llvm_ir.IntType(64)
        ln = _Lanes(builder)
        lanes, v32 = STATE_LANES, ln.v32
        vacc = llvm_ir.VectorType(context.get_value_type(ta.dtype), lanes)

        def scalar(k, ty=types.int64):
            return context.cast(builder, args[k], signature.args[k], ty)

        mv = ln.splat(builder.trunc(scalar(6), ln.i32))
        vth = ln.splat(builder.trunc(scalar(7), ln.i32))
        sub = scalar(8, types.boolean)
        astride, bstride, per = scalar(1), scalar(5), scalar(10)

        with cgutils.for_range(builder, scalar(9)) as pos:
            row = builder.mul(builder.mul(pos.index, per), llvm_ir.Constant(i64, lanes))
            arow = builder.mul(pos.index, astride)
            brow = builder.mul(pos.index, bstride)
            with cgutils.for_range(builder, per) as k:
                lane = builder.mul(k.index, llvm_ir.Constant(i64, lanes))
                off = builder.add(row, lane)
                pa = builder.bitcast(builder.gep(arr[0].data, [builder.add(arow, lane)]), vacc.as_pointer())
                pv, pf = (builder.bitcast(builder.gep(x.data, [off]), vt.as_pointer())
                          for x, vt in zip(arr[1:3], (v32, ln.v8)))
                pb = builder.bitcast(builder.gep(arr[3].data, [builder.add(brow, lane)]), v32.as_pointer())
                a = builder.load(pa, align=ta.dtype.bitwidth // 8)
                a = builder.sext(a, v32) if ta.dtype.bitwidth < 32 else a
                vv = ln.clamp(builder.add(builder.add(ln.decay(builder.load(pv, align=4), mv), builder.shl(a, ln.const(6))),
                                          builder.load(pb, align=4)))
                vv, f = ln.reset(vv, builder.load(pf, align=1), vth, sub)
                builder.store(vv, pv, align=4)
                builder.store(f, pf, align=1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _lif_vectors(typingctx, acc, u, v, fired, b, nvec, mu, mv, vth_eff, subtract):
    """`lif._update_int` (one step of PyLifModelBitAcc) on the first nvec * STATE_LANES neurons of
    1-D contiguous int32 arrays: acc (the step's sums, any int32), u, v (the state, updated),
    b (effective bias, |b| < 2**30) and fired (0/1 bytes: the last step's spikes on entry, this
    step's on return); mu = 4095 - du, mv = 4096 - dv; vth_eff < 2**24.

    The same integers as the int64 scalar step: trunc(u * mu / 4096) by `_Lanes.decay` (|u| < 2**31:
    u is an int32 after its one-step 24-bit wrap), x = that + (acc << 6) with int32's wrap (Lava's
    int32 sum: LLVM's add and shift wrap), the 24-bit wrap of x, and v = decay(v) + u + b summed and
    clamped in int64 lanes (|u| may exceed 2**23 there)."""
    sig = types.void(acc, u, v, fired, b, nvec, mu, mv, vth_eff, subtract)

    def codegen(context, builder, signature, args):
        arr = [context.make_array(t)(context, builder, a) for t, a in zip(signature.args[:5], args[:5])]
        ln = _Lanes(builder)
        i64 = llvm_ir.IntType(64)

        def scalar(k, ty=types.int64):
            return context.cast(builder, args[k], signature.args[k], ty)

        mu, mv = (ln.splat(builder.trunc(scalar(k), ln.i32)) for k in (6, 7))
        vth = ln.splat(builder.trunc(scalar(8), ln.i32))
        sub = scalar(9, types.boolean)
        span, half = ln.const(2 * _IU), ln.const(_IU)
        with cgutils.for_range(builder, scalar(5)) as k:
            off = builder.mul(k.index, llvm_ir.Constant(i64, STATE_LANES))
            pa, pu, pv, pf, pb = (builder.bitcast(builder.gep(x.data, [off]), vt.as_pointer())
                                  for x, vt in zip(arr, (ln.v32, ln.v32, ln.v32, ln.v8, ln.v32)))
            x = builder.add(ln.decay(builder.load(pu, align=4), mu), builder.shl(builder.load(pa, align=4), ln.const(6)))
            uu = builder.select(builder.icmp_signed('>', x, half), builder.sub(x, span),
                                builder.select(builder.icmp_signed('<=', x, builder.sub(ln.zero, half)),
                                               builder.add(x, span), x))
            y = builder.add(builder.add(builder.sext(ln.decay(builder.load(pv, align=4), mv), ln.v64),
                                        builder.sext(uu, ln.v64)), builder.sext(builder.load(pb, align=4), ln.v64))
            vv, f = ln.reset(builder.trunc(ln.clamp(y), ln.v32), builder.load(pf, align=1), vth, sub)
            builder.store(uu, pu, align=4)
            builder.store(vv, pv, align=4)
            builder.store(f, pf, align=1)
        return context.get_dummy_value()

    return sig, codegen


_MAX_UNROLLED = 4  # vectors per row kept in registers by `_sum_table_rows`


@intrinsic
def _sum_table_rows(typingctx, out, oi, table, code, q0, dq, n, E, nvec):
    """out[oi:oi + Cp] = sum over r < n of table row r * E + code[q0 + dq[r]] (rows of Cp = nvec
    vectors; code: uint8, dq: int64 offsets), the sums held in registers (nvec <= 4; more: one vector
    at a time) and stored once. Wrapping adds of the table's integer type: exact wherever the
    true sum is in range (a sum modulo 2**bits is the sum)."""
    if not (isinstance(out, types.Array) and isinstance(table, types.Array) and out.dtype == table.dtype
            and isinstance(out.dtype, types.Integer)):
        return None
    sig = types.void(out, oi, table, code, q0, dq, n, E, nvec)

    def codegen(context, builder, signature, args):
        to, _, tt, tc, _, td = signature.args[:6]
        a, tb, cd, dd = (context.make_array(t)(context, builder, x)
                         for t, x in zip((to, tt, tc, td), (args[0], args[2], args[3], args[5])))
        i64 = llvm_ir.IntType(64)

        def scalar(k):
            return context.cast(builder, args[k], signature.args[k], types.int64)

        oi, q0, nn, E, nvec = scalar(1), scalar(4), scalar(6), scalar(7), scalar(8)
        ety = context.get_value_type(to.dtype)
        lanes = VECTOR_BYTES * 8 // ety.width
        vty = llvm_ir.VectorType(ety, lanes)
        align = ety.width // 8
        cp = builder.mul(nvec, llvm_ir.Constant(i64, lanes))
        pout = builder.bitcast(builder.gep(a.data, [oi]), vty.as_pointer())

        def row_ptr(r):
            c = builder.load(builder.gep(cd.data, [builder.add(q0, builder.load(builder.gep(dd.data, [r])))]))
            row = builder.mul(builder.add(builder.mul(r, E), builder.zext(c, i64)), cp)
            return builder.bitcast(builder.gep(tb.data, [row]), vty.as_pointer())

        def summed(first, count):
            """Rows' vectors first..first+count-1 summed over r (count fixed at compile time)."""
            accs = [cgutils.alloca_once_value(builder, cgutils.get_null_value(vty)) for _ in range(count)]
            with cgutils.for_range(builder, nn) as rl:
                p = row_ptr(rl.index)
                for k in range(count):
                    x = builder.load(builder.gep(p, [builder.add(first, llvm_ir.Constant(i64, k))]), align=align)
                    builder.store(builder.add(builder.load(accs[k]), x), accs[k])
            for k in range(count):
                builder.store(builder.load(accs[k]), builder.gep(pout, [builder.add(first, llvm_ir.Constant(i64, k))]),
                              align=align)

        done = builder.append_basic_block("rows.done")
        fallback = builder.append_basic_block("rows.fallback")
        switch = builder.switch(nvec, fallback)
        for k in range(1, _MAX_UNROLLED + 1):
            blk = builder.append_basic_block(f"rows.{k}")
            switch.add_case(llvm_ir.Constant(i64, k), blk)
            builder.position_at_end(blk)
            summed(llvm_ir.Constant(i64, 0), k)
            builder.branch(done)
        builder.position_at_end(fallback)
        with cgutils.for_range(builder, nvec) as vl:
            summed(vl.index, 1)
        builder.branch(done)
        builder.position_at_end(done)
        return context.get_dummy_value()

    return sig, codegen
