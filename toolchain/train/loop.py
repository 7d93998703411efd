"""One training run: Adam + LR scheduler, early stopping on validation AUC, best weights kept,
per-epoch firing rates and learning-failure diagnostics, retries with another seed.

Outputs and scores: an SNN returns output spike counts [B, 2], an ANN logits [B, 2]; both are
used as logits by the "ce" loss, and the score for ROC/AUC is outputs[:, 1] - outputs[:, 0].
The "bce" loss is per output neuron against the one-hot target, on p = sigmoid(logit) for ANNs and
on the smoothed firing rate p = (count + 0.5) / (num_steps + 1) for SNNs (never exactly 0 or 1,
so a silent neuron still gets a gradient).

Deterministic on CPU for a given seed: the seed sets the weights' initialisation, the order of
training batches and the "rate" encoding's draws (evaluation uses its own fixed draws).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models import build_model
from toolchain.core.errors import ConfigError, DataError
from toolchain.core.metrics import auc, class_score
from toolchain.core.vocab import SNN_KINDS
from toolchain.train.diagnostics import diagnose
from toolchain.train.inputs import model_table

EVAL_SEED_OFFSET = 7919  # evaluation's rate-encoding generator: seed + this (fixed across epochs)
CALIBRATION_CLIPS = 256  # training clips used by the SNN's firing-rate initialisation


def select_device(name: str) -> torch.device:
    """"auto" -> CUDA when available, else CPU; "cuda" without a GPU is a ConfigError.

    On CUDA, TF32 is switched off for matrix products and cuDNN convolutions (torch leaves it on
    for cuDNN by default): a TF32 product keeps 10 mantissa bits, and a spike is a threshold
    crossing that such an error moves, so the GPU would train a different function from the
    float32 one the CPU, the plain snntorch loop and the quantiser's calibration compute."""
    if name not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device {name!r} is not 'auto', 'cpu' or 'cuda'")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda' but torch sees no CUDA GPU (use 'auto' or 'cpu')")
    if name == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return torch.device(name)


def compute_loss(outputs: torch.Tensor, targets: torch.Tensor, loss: str, num_steps: int | None) -> torch.Tensor:
    """Mean loss of a batch (see the module docstring); num_steps is None for ANNs."""
    if loss == "ce":
        return F.cross_entropy(outputs, targets)
    onehot = F.one_hot(targets, outputs.shape[1]).to(outputs.dtype)
    if num_steps is None:
        return F.binary_cross_entropy_with_logits(outputs, onehot)
    return F.binary_cross_entropy((outputs + 0.5) / (num_steps + 1), onehot)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC for the training history: NaN where it is undefined (toolchain.core.metrics.auc gives
    None there), so comparisons of epochs treat it as "no improvement"."""
    value = auc(labels, scores)
    return float("nan") if value is None else value


@dataclass
class Evaluation:
    """Validation results: mean loss, AUC, accuracy (argmax of outputs), scores [N], and per
    layer the mean spikes per neuron per step (None for ANNs)."""

    loss: float
    auc: float
    accuracy: float
    scores: np.ndarray
    firing_rates: list[float] | None


def spiking(model: nn.Module) -> bool:
    """Whether the model is one of the SNN kinds (spike counts out, rate draws, firing rates)."""
    return model.kind in SNN_KINDS


def _forward(model: nn.Module, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return model(x, generator) if spiking(model) else model(x)


@torch.no_grad()
def evaluate(model: nn.Module, features: torch.Tensor, labels: torch.Tensor, idx: np.ndarray, *,
             batch_size: int, device: torch.device, loss: str, seed: int) -> Evaluation:
    """Evaluate on features[idx] in batches (eval mode; rate draws from a generator seeded `seed`)."""
    model.eval()
    num_steps = getattr(model, "num_steps", None)
    generator = torch.Generator(device=device).manual_seed(seed) if spiking(model) else None
    total_loss, outs, rate_sums = 0.0, [], None
    for start in range(0, len(idx), batch_size):
        sel = torch.as_tensor(idx[start:start + batch_size])
        x, y = features[sel].to(device), labels[sel].to(device)
        out = _forward(model, x, generator)
        total_loss += float(compute_loss(out, y, loss, num_steps)) * len(sel)
        outs.append(out.float().cpu())
        if spiking(model):
            rates = torch.stack(model.firing_rates).cpu() * len(sel)
            rate_sums = rates if rate_sums is None else rate_sums + rates
    out = torch.cat(outs)
    y = labels[torch.as_tensor(idx)]
    scores = class_score(out).numpy()
    return Evaluation(loss=total_loss / len(idx), auc=roc_auc(y.numpy(), scores),
                      accuracy=float((out.argmax(1) == y).float().mean()), scores=scores,
                      firing_rates=None if rate_sums is None else (rate_sums / len(idx)).tolist())


@dataclass
class FitResult:
    """history: one dict per epoch run (see `fit`); best_*: the epoch with the highest
    validation AUC, its weights (CPU copies) and its evaluation; failure: see diagnostics."""

    history: list[dict]
    best_epoch: int
    best_state: dict[str, torch.Tensor]
    best_eval: Evaluation
    failure: dict | None
    seconds: float
    samples_per_s: float
    stopped_early: bool


def _scheduler(optimizer: torch.optim.Optimizer, train: dict):
    kind = train["scheduler"]
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=train["epochs"])
    if kind == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=train["step_size"], gamma=train["gamma"])
    if kind == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=train["gamma"], patience=train["scheduler_patience"])
    return None


class EpochProgress:
    """A rich progress bar on stderr: batches of the current epoch, running loss, last val AUC,
    mean firing rate per layer; plus one summary line per epoch. Disabled: does nothing."""

    def __init__(self, enabled: bool, label: str = "") -> None:
        self.enabled, self.label = enabled, label
        self._bar = None

    def __enter__(self) -> EpochProgress:
        if self.enabled:
            from rich.progress import TextColumn

            from toolchain.core.progress import stderr_progress

            self._bar = stderr_progress(TextColumn("loss {task.fields[loss]}  val AUC {task.fields[auc]}  "
                                                   "rate {task.fields[rate]}"), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=1, loss="-", auc="-", rate="-")
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def start_epoch(self, epoch: int, epochs: int, n_batches: int) -> None:
        if self._bar is not None:
            self._bar.reset(self._task, total=n_batches,
                            description=f"{self.label}epoch {epoch}/{epochs}")

    def batch(self, running_loss: float) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, loss=f"{running_loss:.4f}")

    def end_epoch(self, entry: dict) -> None:
        if self._bar is None:
            return
        rates = entry["firing_rates"]
        rate_text = "/".join(f"{r:.3f}" for r in rates) if rates else "-"
        self._bar.update(self._task, auc=f"{entry['val_auc']:.4f}", rate=rate_text)
        self._bar.console.print(
            f"{self.label}epoch {entry['epoch']:3d}  loss {entry['train_loss']:.4f}  "
            f"val loss {entry['val_loss']:.4f}  val AUC {entry['val_auc']:.4f}  "
            f"val acc {entry['val_accuracy']:.3f}  rates {rate_text}  lr {entry['lr']:.2e}  "
            f"{entry['seconds']:.1f} s", highlight=False)

    def note(self, text: str) -> None:
        """Print a line above the bar (rich markup allowed)."""
        if self._bar is not None:
            self._bar.console.print(text)


def fit(model: nn.Module, features: torch.Tensor, labels: torch.Tensor, train_idx: np.ndarray,
        val_idx: np.ndarray, train: dict, *, seed: int, device: torch.device,
        progress: EpochProgress | None = None) -> FitResult:
    """Train `model` (already on `device`) with the [train] table; keep the best-AUC weights.

    history entries: epoch, train_loss, train_accuracy, val_loss, val_auc, val_accuracy,
    firing_rates (validation, per layer), lr (at the start of the epoch), seconds.
    Stops early after `patience` epochs without improvement, or at once on a NaN loss.
    """
    progress = progress or EpochProgress(False)
    optimizer = torch.optim.Adam(model.parameters(), lr=train["lr"], weight_decay=train["weight_decay"],
                                 foreach=True)
    scheduler = _scheduler(optimizer, train)
    order_gen = torch.Generator().manual_seed(seed)
    rate_gen = torch.Generator(device=device).manual_seed(seed + 1) if spiking(model) else None
    num_steps = getattr(model, "num_steps", None)
    constrain = getattr(model, "constrain_", None)  # a model's weight constraint, kept after each step
    history: list[dict] = []
    best_auc, best_epoch, best_state, best_eval = -math.inf, 0, None, None
    bs = train["batch_size"]
    n_batches = math.ceil(len(train_idx) / bs)
    t_start, train_seconds, stopped_early = time.perf_counter(), 0.0, False
    for epoch in range(1, train["epochs"] + 1):
        t0 = time.perf_counter()
        progress.start_epoch(epoch, train["epochs"], n_batches)
        model.train()
        lr = optimizer.param_groups[0]["lr"]
        perm = torch.as_tensor(train_idx)[torch.randperm(len(train_idx), generator=order_gen)]
        loss_sum, correct, seen, finite = 0.0, 0, 0, True
        for start in range(0, len(perm), bs):
            sel = perm[start:start + bs]
            x, y = features[sel].to(device), labels[sel].to(device)
            out = _forward(model, x, rate_gen)
            loss = compute_loss(out, y, train["loss"], num_steps)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if constrain is not None:
                constrain()
            loss_value = float(loss.detach())
            finite = finite and math.isfinite(loss_value)
            loss_sum += loss_value * len(sel)
            correct += int((out.detach().argmax(1) == y).sum())
            seen += len(sel)
            progress.batch(loss_sum / seen)
            if not finite:
                break
        train_seconds += time.perf_counter() - t0
        ev = evaluate(model, features, labels, val_idx, batch_size=train["eval_batch_size"],
                      device=device, loss=train["loss"], seed=seed + EVAL_SEED_OFFSET)
        entry = {"epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
                 "val_loss": ev.loss, "val_auc": ev.auc, "val_accuracy": ev.accuracy,
                 "firing_rates": ev.firing_rates, "lr": lr, "seconds": time.perf_counter() - t0}
        history.append(entry)
        progress.end_epoch(entry)
        if best_eval is None or (math.isfinite(ev.auc) and ev.auc > best_auc):
            best_auc = ev.auc if math.isfinite(ev.auc) else best_auc
            best_epoch, best_eval = epoch, ev
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if not finite or not math.isfinite(ev.loss):
            break
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(ev.auc)
        elif scheduler is not None:
            scheduler.step()
        if epoch - best_epoch >= train["patience"]:
            stopped_early = epoch < train["epochs"]
            break
    n_epochs = len(history)
    return FitResult(history=history, best_epoch=best_epoch, best_state=best_state, best_eval=best_eval,
                     failure=diagnose(history), seconds=time.perf_counter() - t_start,
                     samples_per_s=len(train_idx) * n_epochs / max(train_seconds, 1e-9),
                     stopped_early=stopped_early)


def initial_rates(model: nn.Module, features: torch.Tensor, train_idx: np.ndarray, rate: float,
                  seed: int, device: torch.device) -> list[float] | None:
    """For an SNN with rate > 0: `model.calibrate` on CALIBRATION_CLIPS training clips drawn
    with `seed`; returns the per-layer weight scale factors (None when nothing was done)."""
    if not spiking(model) or rate <= 0:
        return None
    clips = np.random.default_rng(seed).permutation(train_idx)[:CALIBRATION_CLIPS]
    generator = torch.Generator(device=device).manual_seed(seed)
    return model.calibrate(features[torch.as_tensor(clips)].to(device), rate, generator)


@dataclass
class Outcome:
    """The model (best weights, eval mode, CPU), its fit, the seed it was trained with, and one
    record per attempt ({"seed", "best_val_auc", "epochs", "failure", "init_scales"})."""

    model: nn.Module
    fit: FitResult
    seed: int
    attempts: list[dict] = field(default_factory=list)


def train_model(cfg: dict, features: np.ndarray, labels: np.ndarray, train_idx: np.ndarray,
                val_idx: np.ndarray, *, progress: bool = False, label: str = "") -> Outcome:
    """Build and train the configured model on features[train_idx], validating on val_idx.

    SNN weights are first rescaled to fire at model.init_rate (see `initial_rates`). After a
    learning failure the run is repeated with seed + k (k = 1..cfg["retries"]); every attempt is
    recorded (with its initial weight scales) and the last one is returned.
    """
    y = np.asarray(labels)
    for name, idx in (("training", train_idx), ("validation", val_idx)):
        if len(np.unique(y[idx])) < 2:
            raise DataError(f"the {name} split ({len(idx)} clips) holds only one class; "
                            "use more clips or another split")
    device = select_device(cfg["device"])
    with warnings.catch_warnings():  # read-only arrays (Ray's object store) are never written to
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    t = torch.from_numpy(y.astype(np.int64))
    input_shape = tuple(features.shape[1:])
    attempts: list[dict] = []
    with EpochProgress(progress, label) as bar:
        for k in range(cfg["retries"] + 1):
            seed = cfg["seed"] + k
            torch.manual_seed(seed)
            model = build_model(model_table(cfg), input_shape).to(device)
            scales = initial_rates(model, x, train_idx, cfg["model"]["init_rate"], seed, device)
            result = fit(model, x, t, train_idx, val_idx, cfg["train"], seed=seed, device=device,
                         progress=bar)
            attempts.append({"seed": seed, "best_val_auc": result.best_eval.auc,
                             "epochs": len(result.history), "failure": result.failure,
                             "init_scales": scales})
            if result.failure is None:
                break
            if k < cfg["retries"]:
                bar.note(f"[yellow]{label}learning failure: {result.failure['reason']}; "
                         f"retrying with seed {seed + 1}[/]")
    model.load_state_dict(result.best_state)
    model.to("cpu").eval()
    return Outcome(model=model, fit=result, seed=seed, attempts=attempts)


def summary(outcome: Outcome) -> dict[str, Any]:
    """The headline numbers of a trained outcome (used by metrics.json and sweep rows)."""
    fit_result = outcome.fit
    best = fit_result.best_eval
    return {"val_auc": best.auc, "val_accuracy": best.accuracy, "val_loss": best.loss,
            "best_epoch": fit_result.best_epoch, "epochs_run": len(fit_result.history),
            "stopped_early": fit_result.stopped_early, "firing_rates": best.firing_rates,
            "failure": fit_result.failure, "seed": outcome.seed, "attempts": outcome.attempts,
            "seconds": fit_result.seconds, "train_samples_per_s": fit_result.samples_per_s}
