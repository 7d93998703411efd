"""`neurodeploy bench train`: training throughput of the plain per-step snntorch loop vs ours.

Both train the same network from the same weights on the same batch (random features in [0, 1],
random labels), with Adam and cross-entropy on output spike counts:
- plain: `models.reference` -- nn.Sequential of Linear / Conv + snn.Leaky (snn.RLeaky for a
  recurrent layer), called once per time step (layer 1's W @ x recomputed every step, autograd
  recording every step);
- fast: our model -- layer 1's current computed once for "dc" input, each layer's whole time loop
  in one fused autograd function (with the recurrence V @ s[t-1] inside it for snn_rec), later
  layers' currents as one conv / matmul over all T*B step-samples.
The default network is the seed's 2D SNN MLP (14175-4096-512-64-2, "dc", zero reset); with
`preset` it is that training preset's model at its own size, steps and encoding (e.g. snn-conv,
snn-rec), on features of its representation's shape, its weights first calibrated to the
preset's init_rate as training does.
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


def _time_batches(step: Callable[[], None], n: int, device: torch.device) -> list[float]:
    """Wall seconds of each of n calls of `step`, each ended by a wait for the GPU's queued work
    (CUDA) so that a batch's time is its own."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return times


def preset_model(preset: str, batch: int, seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, str]:
    """(fast model, a batch of random features of the preset's input shape, the model's layers
    as text) for a training preset, built as `neurodeploy train` builds it."""
    import numpy as np

    from models import build_model
    from toolchain.represent import representation_from_dict
    from toolchain.train.config import preset_path, read_toml, validate
    from toolchain.train.inputs import Inputs, model_table, resolve

    raw = read_toml(preset_path(preset))
    raw.setdefault("data", {})["path"] = "(benchmark: random features)"
    cfg = validate(raw, f"preset {preset}")
    rep = cfg["representation"]
    spec = representation_from_dict(rep)
    shape = tuple(spec.shape()) if hasattr(spec, "nfft") else (4000,)
    inputs = Inputs(np.zeros((2, *shape), np.float32), np.array([0, 1]), ["a", "b"], rep, "bench")
    cfg = resolve(cfg, inputs, f"preset {preset}")
    torch.manual_seed(seed)
    model = build_model(model_table(cfg), shape)
    x = torch.rand(batch, *shape)
    if cfg["model"]["init_rate"] > 0:
        model.calibrate(x, cfg["model"]["init_rate"])
    net = model.to_float_network()
    layers = [f"{layer.kind} {'x'.join(map(str, layer.out_shape))}" for layer in net.layers]
    return model, x, f"{preset}: " + ", ".join(layers)


def bench_train(*, batch: int = 64, num_steps: int = 50, input_shape: Sequence[int] = SEED_INPUT,
                hidden: Sequence[int] = SEED_HIDDEN["spectrogram"], plain_batches: int = 2, fast_batches: int = 5,
                warmup: int = 1, seed: int = 0, preset: str | None = None, device: str = "cpu") -> dict:
    """Seconds per training batch and samples/s of both loops, and their ratio (fast / plain).

    With `preset` the network, steps and encoding are the preset's (num_steps, input_shape and
    hidden are then ignored). device: "cpu" or "cuda" (both loops on it; `warmup` untimed batches
    of each loop first: on CUDA the first batches also pay for kernel selection and the handles)."""
    from models import SNNMLP, run_snntorch, snntorch_sequential
    from toolchain.train.loop import select_device

    dev = select_device(device)

    if preset is not None:
        fast, x, network = preset_model(preset, batch, seed)
        num_steps = fast.num_steps
    else:
        torch.manual_seed(seed)
        n_in = math.prod(int(s) for s in input_shape)
        sizes = [n_in, *hidden, 2]
        fast = SNNMLP(sizes, beta=0.9, num_steps=num_steps, reset="zero", encoding="dc",
                      input_shape=input_shape)
        x, network = torch.rand(batch, n_in), sizes
    plain = snntorch_sequential(fast.to_float_network()).to(dev)
    fast, x = fast.to(dev), x.to(dev)
    y = torch.randint(0, 2, (batch,)).to(dev)
    plain_inputs = fast.encode_input(x, torch.Generator(device=dev).manual_seed(seed))
    with torch.no_grad():
        fast_counts = fast(x, torch.Generator(device=dev).manual_seed(seed))
        plain_counts = run_snntorch(plain, plain_inputs, num_steps)
    differing = int((fast_counts != plain_counts).sum())  # output counts (clip x class) that differ

    def stepper(model, forward) -> Callable[[], None]:
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, foreach=True)

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(forward(), y).backward()
            opt.step()
        return step

    fast_step = stepper(fast, lambda: fast(x, torch.Generator(device=dev).manual_seed(seed)))
    _time_batches(fast_step, warmup, dev)
    fast_times = _time_batches(fast_step, fast_batches, dev)
    plain_step = stepper(plain, lambda: run_snntorch(plain, plain_inputs, num_steps))
    _time_batches(plain_step, warmup, dev)
    plain_times = _time_batches(plain_step, plain_batches, dev)

    def stats(times: list[float]) -> dict:
        median = statistics.median(times)
        return {"batches": len(times), "seconds_per_batch": median, "samples_per_s": batch / median,
                "all_seconds": [round(t, 4) for t in times]}

    result = {"network": network, "batch": batch, "num_steps": num_steps, "encoding": fast.encoding,
              "reset": fast.reset, "threads": torch.get_num_threads(), "torch": torch.__version__,
              "device": dev.type, "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
              "machine": platform.machine(), "processor": platform.processor() or platform.machine(),
              "same_output_counts": differing == 0, "differing_output_counts": differing,
              "output_counts": int(fast_counts.numel()), "plain": stats(plain_times), "fast": stats(fast_times)}
    result["ratio"] = result["fast"]["samples_per_s"] / result["plain"]["samples_per_s"]
    return result
