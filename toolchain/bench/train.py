"""`neurodeploy bench train`: training throughput of the plain per-step snntorch loop vs ours.

Both train the same network from the same weights on the same batch (random features in [0, 1],
random labels), with Adam and cross-entropy on output spike counts, "dc" input, zero reset:
- plain: `models.reference` -- nn.Sequential of Linear + snn.Leaky, called once per time step
  (layer 1's W @ x recomputed every step, autograd recording every step);
- fast: `models.SNNMLP` -- layer 1's current computed once, each layer's whole time loop in one
  fused autograd function, later layers' currents as one [T*B, n] matmul.
One batch = zero_grad + forward + backward + Adam step (the same multi-tensor Adam as
`neurodeploy train`). Before timing, both forward passes are compared on the batch (same output
spike counts expected). Both run in the same process with the same torch threads and allocator
settings (the CLI enables transparent huge pages for large tensors before torch is imported:
`toolchain.train.runtime.enable_huge_pages`).
"""

from __future__ import annotations

import math
import platform
import statistics
import time
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from models.snn_mlp import SEED_HIDDEN

SEED_INPUT = (105, 135)  # the seed's spectrogram: 105 frequency bins x 135 frames


def _time_batches(step: Callable[[], None], n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def bench_train(*, batch: int = 64, num_steps: int = 50, input_shape: Sequence[int] = SEED_INPUT,
                hidden: Sequence[int] = SEED_HIDDEN["spectrogram"], plain_batches: int = 2, fast_batches: int = 5,
                warmup: int = 1, seed: int = 0) -> dict:
    """Seconds per training batch and samples/s of both loops, and their ratio (fast / plain)."""
    from models import SNNMLP, run_snntorch, snntorch_sequential

    torch.manual_seed(seed)
    n_in = math.prod(int(s) for s in input_shape)
    sizes = [n_in, *hidden, 2]
    fast = SNNMLP(sizes, beta=0.9, num_steps=num_steps, reset="zero", encoding="dc",
                  input_shape=input_shape)
    plain = snntorch_sequential(fast.to_float_network())
    x = torch.rand(batch, n_in)
    y = torch.randint(0, 2, (batch,))
    with torch.no_grad():
        fast_counts = fast(x)
        plain_counts = run_snntorch(plain, x.unsqueeze(0), num_steps)
    same = bool(torch.equal(fast_counts, plain_counts))

    def stepper(model, forward) -> Callable[[], None]:
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, foreach=True)

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(forward(), y).backward()
            opt.step()
        return step

    fast_step = stepper(fast, lambda: fast(x))
    _time_batches(fast_step, warmup)
    fast_times = _time_batches(fast_step, fast_batches)
    plain_times = _time_batches(stepper(plain, lambda: run_snntorch(plain, x.unsqueeze(0), num_steps)),
                                plain_batches)

    def stats(times: list[float]) -> dict:
        median = statistics.median(times)
        return {"batches": len(times), "seconds_per_batch": median, "samples_per_s": batch / median,
                "all_seconds": [round(t, 4) for t in times]}

    result = {"network": sizes, "batch": batch, "num_steps": num_steps, "encoding": "dc",
              "reset": "zero", "threads": torch.get_num_threads(), "torch": torch.__version__,
              "machine": platform.machine(), "processor": platform.processor() or platform.machine(),
              "same_output_counts": same, "plain": stats(plain_times), "fast": stats(fast_times)}
    result["ratio"] = result["fast"]["samples_per_s"] / result["plain"]["samples_per_s"]
    return result
