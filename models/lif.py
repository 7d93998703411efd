"""A whole-sequence Leaky (LIF) layer with a hand-written backward pass.

`leaky_sequence(current, beta, threshold, slope, reset, num_steps, weight_rec=None)` runs one
layer of snntorch `Leaky` neurons (reset_delay=True, fast-sigmoid surrogate) over all time steps
in one call and returns its spikes [T, B, n]. It computes exactly what a per-step snntorch loop
computes:

    zero:      mem[t] = beta * (1 - s[t-1]) * mem[t-1] + I[t]
    subtract:  mem[t] = beta * mem[t-1] + I[t] - threshold * s[t-1]
    s[t] = 1 if mem[t] > threshold else 0                      (mem[-1] = 0, s[-1] = 0)

With `weight_rec` V [n, n] the layer is recurrent (all to all, snntorch's RLeaky with a linear
recurrent map): I[t] is replaced by I[t] + V @ s[t-1] (s[-1] = 0), and the gradient flows through
the previous step's spikes (their surrogate), as in a per-step snntorch loop: walking back,
dL/ds[t] gains V^T @ dL/dmem[t+1], and dL/dV = sum_t dL/dmem[t] s[t-1]^T is one matmul at the end.
(snntorch's RLeaky "subtract" reset is exactly this; its "zero" reset also discards the step's
input after a spike, which Loihi does not do: here "zero" means Leaky's zero reset on I + V s.)

and the same gradients: the reset term is detached (as in snntorch), dS/dmem is the fast-sigmoid
surrogate 1 / (slope * |mem - threshold| + 1)^2, and the gradient of a scalar beta sums over
steps, batch and neurons. Units: `current` and `threshold` in the same (arbitrary) membrane
units; beta is the per-step decay factor, dimensionless in (0, 1].

Why it is fast: the time loops are TorchScript functions writing into preallocated buffers (no
per-step allocation, no per-step autograd nodes); the backward pass computes the surrogate of
every step in a few whole-tensor operations, then walks back once with
g[t] = dL/ds[t] * surrogate(mem[t]) + beta * keep[t] * g[t+1] (one fused operation per step
for a feed-forward layer). A current of shape [1, B, n] is
held constant over the T steps (the "dc" input of layer 1), so W1 @ x is computed once instead
of T times, and its gradient is the sum over steps. On the CPU the loops run on
`scan_threads(B * n)` threads: each step is a handful of small element-wise ops, and
synchronising a thread pool for each of them costs more than it gains on a few cores (and
collapses when other processes compete for the cores); the matmuls keep every thread.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional, Tuple

import torch
from torch import Tensor

from toolchain.core.vocab import RESETS

ELEMENTS_PER_THREAD = 1 << 17  # per-step elements (B * n) worth one more thread in the loops (see bench train)


def scan_threads(elements: int) -> int:
    """CPU threads for a time loop over [B, n] = `elements` values per step."""
    return max(1, min(torch.get_num_threads(), elements // ELEMENTS_PER_THREAD))


@contextlib.contextmanager
def _threads_for(tensor: Tensor) -> Iterator[None]:
    """Run the enclosed CPU loop on scan_threads(elements of one step) threads."""
    before = torch.get_num_threads()
    wanted = scan_threads(tensor[0].numel()) if tensor.device.type == "cpu" else before
    if wanted != before:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if wanted != before:
            torch.set_num_threads(before)


@torch.jit.script
def _scan_forward(current: Tensor, beta: float, threshold: float, subtract: bool,
                  num_steps: int, weight_rec: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """Membrane potentials and spikes [T, B, n] for `current` [T or 1, B, n] (and V, if any)."""
    shape = [num_steps] + current.shape[1:]
    mem = torch.empty(shape, dtype=current.dtype, device=current.device)
    spk = torch.empty(shape, dtype=current.dtype, device=current.device)
    keep = torch.empty(current.shape[1:], dtype=current.dtype, device=current.device)
    total = torch.empty(current.shape[1:], dtype=current.dtype, device=current.device)
    constant = current.size(0) == 1
    for t in range(num_steps):
        cur = current[0] if constant else current[t]
        if weight_rec is not None and t > 0:
            torch.addmm(cur, spk[t - 1], weight_rec.t(), out=total)
            cur = total
        m = mem[t]
        if t == 0:
            m.copy_(cur)
        elif subtract:
            torch.add(cur, mem[t - 1], alpha=beta, out=m)
            m.sub_(spk[t - 1], alpha=threshold)
        else:
            torch.addcmul(cur, mem[t - 1], keep, value=beta, out=m)
        torch.gt(m, threshold, out=spk[t])
        if not subtract:
            torch.le(m, threshold, out=keep)
    return mem, spk


@torch.jit.script
def _scan_backward(grad: Tensor, grad_spk: Tensor, spk: Tensor, beta: float, subtract: bool,
                   weight_rec: Optional[Tensor]) -> None:
    """In place, walking back from the last step: grad[t] = dL/dmem[t] for every step.

    On entry `grad` holds dL/ds[t] * surrogate(mem[t]) (feed-forward) or the surrogate's
    denominator (slope |mem[t] - threshold| + 1)^2 (recurrent: dL/ds[t] then includes
    V^T g[t+1] and is only known during the walk). Each step adds the carry
    beta * keep[t] * g[t+1] (keep = 1 - s[t] for "zero", 1 for "subtract").
    """
    steps = grad.size(0)
    through = torch.empty_like(grad[0])
    keep = torch.empty_like(grad[0])
    for t in range(steps - 1, -1, -1):
        g = grad[t]
        if weight_rec is not None:
            if t < steps - 1:
                torch.addmm(grad_spk[t], grad[t + 1], weight_rec, out=through)
                torch.div(through, g, out=g)
            else:
                torch.div(grad_spk[t], g, out=g)
        if t < steps - 1:
            if subtract:
                g.add_(grad[t + 1], alpha=beta)
            else:
                torch.mul(spk[t], -1.0, out=keep).add_(1.0)
                g.addcmul_(keep, grad[t + 1], value=beta)


def _surrogate_denominator(mem: Tensor, threshold: float, slope: float) -> Tensor:
    """(slope |mem - threshold| + 1)^2 for every step at once: dS/dmem = 1 / this."""
    den = torch.sub(mem, threshold)
    return den.abs_().mul_(slope).add_(1.0).square_()


class _LeakySequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current: Tensor, beta: Tensor, threshold: float, slope: float,
                subtract: bool, num_steps: int, weight_rec: Optional[Tensor]) -> Tensor:
        beta_value = float(beta)
        rec = None if weight_rec is None else weight_rec.detach()
        with _threads_for(current):
            mem, spk = _scan_forward(current, beta_value, threshold, subtract, num_steps, rec)
        ctx.save_for_backward(mem, spk, rec)
        ctx.params = (beta_value, threshold, slope, subtract, current.size(0) == 1)
        return spk

    @staticmethod
    def backward(ctx, grad_spk: Tensor):
        """Gradients of the current ([1, B, n] summed over steps if it was constant), of beta and
        of V: the element-wise surrogate of all steps at once (all threads), then one walk back."""
        mem, spk, rec = ctx.saved_tensors
        beta_value, threshold, slope, subtract, constant = ctx.params
        grad_spk = grad_spk.contiguous()
        grad = _surrogate_denominator(mem, threshold, slope)
        if rec is None:
            torch.div(grad_spk, grad, out=grad)
        with _threads_for(mem):
            _scan_backward(grad, grad_spk, spk, beta_value, subtract, rec)
        grad_beta = grad_rec = None
        if ctx.needs_input_grad[1]:
            previous = mem[:-1] if subtract else mem[:-1] * (1.0 - spk[:-1])
            grad_beta = (grad[1:] * previous).sum().reshape(()).to(mem.dtype)
        if rec is not None and ctx.needs_input_grad[6]:
            n = mem.size(-1)
            grad_rec = grad[1:].reshape(-1, n).t().mm(spk[:-1].reshape(-1, n))
        grad_current = None
        if ctx.needs_input_grad[0]:
            grad_current = grad.sum(0, keepdim=True) if constant else grad
        return grad_current, grad_beta, None, None, None, None, grad_rec


def leaky_sequence(current: Tensor, beta: Tensor | float, threshold: float, slope: float,
                   reset: str, num_steps: int, weight_rec: Optional[Tensor] = None) -> Tensor:
    """Spikes [T, B, n] (float 0/1) of a Leaky layer driven by `current` [T, B, n] or [1, B, n].

    `beta` may be a 0-dim tensor requiring grad (learnable decay); `slope` is the fast-sigmoid
    surrogate's slope k in dS/dU = 1 / (k |U - threshold| + 1)^2; `weight_rec` [n, n], if given,
    adds V @ s[t-1] to the current of step t (an all-to-all recurrent layer; see module doc).
    """
    if reset not in RESETS:
        raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")
    if current.dim() != 3 or current.size(0) not in (1, num_steps):
        raise ValueError(f"current must be [1 or {num_steps}, B, n], got {tuple(current.shape)}")
    if not isinstance(beta, Tensor):
        beta = torch.tensor(float(beta), dtype=current.dtype, device=current.device)
    n = current.size(-1)
    if weight_rec is not None and tuple(weight_rec.shape) != (n, n):
        raise ValueError(f"weight_rec must be [{n}, {n}] for a current of {n} neurons, "
                         f"got {tuple(weight_rec.shape)}")
    return _LeakySequence.apply(current.contiguous(), beta, float(threshold), float(slope),
                                reset == "subtract", int(num_steps),
                                None if weight_rec is None else weight_rec.contiguous())
