"""Sizes checked against the machine before the work: memory (and time) a job needs vs what there is.

Estimates are deliberately simple upper-bound-style sums of the big arrays a job holds at once
(documented per function); a job is refused when its estimate exceeds this machine's physical
memory ("needs ~N GiB, this machine has M GiB"), or when even at OPS_PER_S it would run for more
than MAX_SECONDS. Such values (num_steps = 10**9, hidden = [10**8]) are typing slips, not
experiments; a job that fits is never refused.
"""

from __future__ import annotations

import os

from toolchain.core.errors import ConfigError

GiB = 1 << 30
# Faster than any CPU this runs on does dense float work (about 10x a 2-core AVX2 machine's peak):
# a job estimated above MAX_SECONDS at this rate is certainly far too long.
OPS_PER_S = 1e11
MAX_SECONDS = 365 * 86400
CLIP_SAMPLES = 4000  # 2 s at 2 kHz: the data layer's clip length


def machine_memory() -> int:
    """Physical memory of this machine in bytes (NEURODEPLOY_MEMORY_BYTES overrides, for tests)."""
    override = os.environ.get("NEURODEPLOY_MEMORY_BYTES")
    if override:
        return int(override)
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _gib(n: float) -> str:
    return f"{n / GiB:,.1f} GiB" if n < 1e6 * GiB else f"{n / GiB:.2e} GiB"


def _duration(s: float) -> str:
    return f"{s / 86400 / 365:.3g} years" if s >= 86400 * 365 else f"{s / 86400:.3g} days"


def check(what: str, need_bytes: float, ops: float = 0.0, keys: str = "") -> None:
    """Raise ConfigError when the job `what` needs more memory than the machine has, or more than
    MAX_SECONDS at OPS_PER_S operations per second; `keys` names the settings that size it."""
    have = machine_memory()
    hint = f" (check {keys})" if keys else ""
    if need_bytes > have:
        raise ConfigError(f"{what} needs ~{_gib(need_bytes)} of memory, this machine has {_gib(have)}{hint}")
    if ops / OPS_PER_S > MAX_SECONDS:
        raise ConfigError(f"{what} needs ~{ops:.2e} operations: over {_duration(ops / OPS_PER_S)} even at "
                          f"{OPS_PER_S:.0e} operations/s{hint}")


def simulation_need(num_steps: int, clips: int, sizes: list[int], chunk: int = 64) -> tuple[float, float]:
    """(bytes, operations) of simulating `clips` clips for `num_steps` steps on layers `sizes`
    ([n_in, n_1, ..., n_L]): the boolean spikes kept for every (clip, step, neuron) of every layer,
    plus float64 working arrays (current, membrane, input) of one chunk of clips; one multiply-add
    per synapse per step per clip."""
    t, n = int(num_steps), [int(s) for s in sizes]
    kept = float(clips) * t * sum(n[1:])
    work = 8.0 * 3 * t * min(chunk, max(clips, 1)) * max(n)
    ops = float(clips) * t * sum(a * b for a, b in zip(n, n[1:]))
    return kept + work, ops


def check_simulation(what: str, num_steps: int, clips: int, sizes: list[int], chunk: int = 64,
                     keys: str = "num_steps, the number of clips") -> None:
    """check() for a simulation (see simulation_need)."""
    need, ops = simulation_need(num_steps, clips, sizes, chunk)
    check(f"{what} ({clips} clip(s) x {num_steps} steps, layers {'-'.join(map(str, sizes))})", need, ops, keys)


def training_need(sizes: list[int], num_steps: int, batch: int, eval_batch: int, n_clips: int = 0,
                  kind: str = "snn", channels: list[int] | None = None) -> tuple[float, float]:
    """(bytes, operations per epoch) of training a model: float32 weights with their gradients and
    Adam's two moments (4 copies); per layer and step of a batch the membrane, spikes and surrogate
    gradient kept for the backward pass and their gradients (4 float32 arrays; an ANN has one step);
    the evaluation batch's activity; the features of `n_clips` clips in memory. Operations: forward
    and backward (3 multiply-adds per synapse per step per sample) over `n_clips` clips."""
    n = [int(s) for s in sizes]
    params = float(sum(a * b + b for a, b in zip(n, n[1:])))
    t = int(num_steps) if kind == "snn" else 1
    neurons = float(sum(n[1:]))
    if kind == "cnn" and channels:  # conv block i's feature maps: the input's area / 4**i (2x2 pooling)
        neurons += float(sum(c * n[0] / 4 ** i for i, c in enumerate(channels)))
    need = 4.0 * (4 * params + 4 * t * int(batch) * neurons + 2 * t * int(eval_batch) * neurons
                  + float(n_clips) * n[0])
    ops = 3.0 * float(n_clips) * t * params
    return need, ops


def check_training(where: str, cfg: dict, n_in: int | None = None, n_clips: int = 0) -> None:
    """Bound a validated training config (toolchain.train.config) by this machine.

    n_in: input values per clip (default: from the representation at CLIP_SAMPLES samples);
    n_clips: clips in the data set (0: unknown yet; only the per-batch part is checked)."""
    model = cfg["model"]
    if n_in is None:
        n_in = representation_size(cfg.get("representation") or {})
        if n_in is None:
            return
    if model["hidden"] == "seed":
        from models.snn_mlp import seed_sizes

        sizes = seed_sizes(cfg["representation"]["kind"], n_in)
    else:
        sizes = [n_in, *model["hidden"], 2]
    if model["kind"] == "cnn":  # its dense head, as if on the input (flattened maps are smaller)
        sizes = [n_in, int(model["cnn_hidden"]), 2]
    need, ops = training_need(sizes, model["num_steps"], cfg["train"]["batch_size"],
                              cfg["train"]["eval_batch_size"], n_clips, model["kind"], model.get("channels"))
    what = (f"{where}: training this {model['kind']} (layers {'-'.join(map(str, sizes))}"
            + (f", {model['num_steps']} steps" if model["kind"] == "snn" else "")
            + f", batch {cfg['train']['batch_size']}" + (f", {n_clips} clips" if n_clips else "") + ")")
    check(what, need, ops, "model.num_steps, model.hidden, train.batch_size, train.eval_batch_size")


def representation_size(rep: dict) -> int | None:
    """Input values per clip of a representation dict at CLIP_SAMPLES samples (None: not computable)."""
    try:
        from toolchain.represent import representation_from_dict
        from toolchain.represent.features import SpectrogramConfig

        r = representation_from_dict(rep)
        if isinstance(r, SpectrogramConfig):
            rows, frames = r.shape(CLIP_SAMPLES)
            return int(rows * frames)
        return CLIP_SAMPLES
    except (ConfigError, TypeError, ValueError):
        return None
