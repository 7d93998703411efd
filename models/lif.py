"""A whole-sequence Leaky (LIF) layer with a hand-written backward pass.

`leaky_sequence(current, beta, threshold, slope, reset, num_steps)` runs one layer of snntorch
`Leaky` neurons (reset_delay=True, fast-sigmoid surrogate) over all time steps in one call and
returns its spikes [T, B, n]. It computes exactly what a per-step snntorch loop computes:

    zero:      mem[t] = beta * (1 - s[t-1]) * mem[t-1] + I[t]
    subtract:  mem[t] = beta * mem[t-1] + I[t] - threshold * s[t-1]
    s[t] = 1 if mem[t] > threshold else 0                      (mem[-1] = 0, s[-1] = 0)

and the same gradients: the reset term is detached (as in snntorch), dS/dmem is the fast-sigmoid
surrogate 1 / (slope * |mem - threshold| + 1)^2, and the gradient of a scalar beta sums over
steps, batch and neurons. Units: `current` and `threshold` in the same (arbitrary) membrane
units; beta is the per-step decay factor, dimensionless in (0, 1].

Why it is fast: the time loops are TorchScript functions writing into preallocated buffers (no
per-step allocation, no per-step autograd nodes); the backward pass walks back once with
g[t] = dL/ds[t] * surrogate(mem[t]) + beta * keep[t] * g[t+1]. A current of shape [1, B, n] is
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

ELEMENTS_PER_THREAD = 1 << 19  # per-step elements (B * n) worth one more thread in the loops


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
                  num_steps: int) -> Tuple[Tensor, Tensor]:
    """Membrane potentials and spikes [T, B, n] for `current` [T or 1, B, n]."""
    shape = [num_steps] + current.shape[1:]
    mem = torch.empty(shape, dtype=current.dtype, device=current.device)
    spk = torch.empty(shape, dtype=current.dtype, device=current.device)
    keep = torch.empty(current.shape[1:], dtype=current.dtype, device=current.device)
    constant = current.size(0) == 1
    for t in range(num_steps):
        cur = current[0] if constant else current[t]
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
def _scan_backward(grad_spk: Tensor, mem: Tensor, spk: Tensor, beta: float, threshold: float,
                   slope: float, subtract: bool, constant: bool,
                   need_beta: bool) -> Tuple[Tensor, Optional[Tensor]]:
    """Gradients of the current ([1, B, n] summed over steps if `constant`) and of beta.

    Walks back from the last step with [B, n] scratch buffers: g[t] = dL/dmem[t] =
    dL/ds[t] * surrogate(mem[t]) + beta * keep[t] * g[t+1] (keep = 1 for "subtract").
    """
    steps = mem.size(0)
    grad = torch.empty_like(mem)  # g[t] for every step (the current's gradient when not constant)
    scratch = torch.empty_like(mem[0])
    keep = torch.empty_like(mem[0])
    total = torch.zeros_like(mem[0])
    for t in range(steps - 1, -1, -1):
        g = grad[t]
        torch.sub(mem[t], threshold, out=scratch)
        scratch.abs_().mul_(slope).add_(1.0)
        scratch.mul_(scratch)
        torch.div(grad_spk[t], scratch, out=g)
        if t < steps - 1:
            if subtract:
                g.add_(grad[t + 1], alpha=beta)
            else:
                torch.mul(spk[t], -1.0, out=keep).add_(1.0)  # 1 - s[t]: the zero reset's carry
                g.addcmul_(keep, grad[t + 1], value=beta)
        if constant:
            total.add_(g)
    grad_beta: Optional[Tensor] = None
    if need_beta:
        previous = mem[:-1] if subtract else mem[:-1] * (1.0 - spk[:-1])
        grad_beta = (grad[1:] * previous).sum()
    if constant:
        return total.unsqueeze(0), grad_beta
    return grad, grad_beta


class _LeakySequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current: Tensor, beta: Tensor, threshold: float, slope: float,
                subtract: bool, num_steps: int) -> Tensor:
        beta_value = float(beta)
        with _threads_for(current):
            mem, spk = _scan_forward(current, beta_value, threshold, subtract, num_steps)
        ctx.save_for_backward(mem, spk)
        ctx.params = (beta_value, threshold, slope, subtract, current.size(0) == 1)
        return spk

    @staticmethod
    def backward(ctx, grad_spk: Tensor):
        mem, spk = ctx.saved_tensors
        beta_value, threshold, slope, subtract, constant = ctx.params
        need_current, need_beta = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        with _threads_for(mem):
            grad_current, grad_beta = _scan_backward(grad_spk.contiguous(), mem, spk, beta_value,
                                                     threshold, slope, subtract, constant, need_beta)
        if grad_beta is not None:
            grad_beta = grad_beta.reshape(()).to(mem.dtype)
        return (grad_current if need_current else None), grad_beta, None, None, None, None


def leaky_sequence(current: Tensor, beta: Tensor | float, threshold: float, slope: float,
                   reset: str, num_steps: int) -> Tensor:
    """Spikes [T, B, n] (float 0/1) of a Leaky layer driven by `current` [T, B, n] or [1, B, n].

    `beta` may be a 0-dim tensor requiring grad (learnable decay); `slope` is the fast-sigmoid
    surrogate's slope k in dS/dU = 1 / (k |U - threshold| + 1)^2.
    """
    if reset not in RESETS:
        raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")
    if current.dim() != 3 or current.size(0) not in (1, num_steps):
        raise ValueError(f"current must be [1 or {num_steps}, B, n], got {tuple(current.shape)}")
    if not isinstance(beta, Tensor):
        beta = torch.tensor(float(beta), dtype=current.dtype, device=current.device)
    return _LeakySequence.apply(current.contiguous(), beta, float(threshold), float(slope),
                                reset == "subtract", int(num_steps))
