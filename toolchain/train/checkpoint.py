"""Run folders: write a trained run, and load it back for deployment (`load_run`).

A run folder holds (every file written atomically; manifest.json last, so a folder without it
is an unfinished run):
- model.safetensors: the best weights (safetensors; nothing is ever unpickled);
- config.json: the validated config, with "resolved" (input_shape, n_in, layer sizes, the
  fitted representation dict, data fingerprint, n_clips);
- split.json: train_indices / val_indices into the data set's clips (data-set order), the split
  kind, val_fraction and seed;
- metrics.json: per-epoch history, final validation AUC/accuracy/loss, firing rates, learning
  failure (or null), attempts, timing, weights_sha256;
- roc.json: validation ROC curve of the best epoch (fpr, tpr, thresholds on the score);
- training_curve.png;
- manifest.json: format, kind, and SHA-256 + size of model.safetensors, config.json, split.json.

`load_run` refuses (ArtifactError naming the file) a missing, truncated or modified file.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from toolchain.core.errors import ArtifactError, ConfigError, DataError
from toolchain.core.fileio import atomic_path, sha256_file, write_json
from toolchain.core.tensorfile import canonical_header
from toolchain.train.config import RESOLVED_KEY, validate
from toolchain.train.inputs import Inputs, is_legacy_fingerprint, load_inputs, model_table

FORMAT = "neurodeploy-run"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
SPLIT = "split.json"
METRICS = "metrics.json"
ROC = "roc.json"
CURVE = "training_curve.png"
MANIFEST = "manifest.json"
HASHED = (WEIGHTS, CONFIG, SPLIT)
RUN_FILES = (WEIGHTS, CONFIG, SPLIT, METRICS, ROC, CURVE, MANIFEST)
RUN_MARKER = ".neurodeploy-run"


def _is_run_folder(folder: Path) -> bool:
    try:
        man = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(man, dict) and man.get("format") == FORMAT


def claim_run_folder(folder: str | Path, *, force: bool = False, what: str = "--out", need_bytes: int = 0) -> Path:
    """Check a run folder before training (toolchain.core.outputs.claim_folder): not inside a file,
    writable, with room, and not holding files of a run's names that neurodeploy did not write
    (unless force). Creates it with its marker file."""
    from toolchain.core.outputs import claim_folder

    return claim_folder(folder, RUN_FILES, RUN_MARKER, force=force, recognise=_is_run_folder, what=what,
                        need_bytes=need_bytes)


def save_weights(model: nn.Module, path: Path) -> str:
    """Write the model's state dict as safetensors (atomically); returns its SHA-256."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "pt", "neurodeploy_kind": model.kind})
        canonical_header(tmp)
    return sha256_file(path)


def save_run(out: Path, cfg: dict, model: nn.Module, split: dict, metrics: dict, roc: dict) -> None:
    """Write a complete run folder (see the module docstring); metrics gets weights_sha256."""
    from toolchain.train.plots import training_curve

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # the folder is incomplete until the new manifest
    digest = save_weights(model, out / WEIGHTS)
    write_json(out / CONFIG, cfg)
    write_json(out / SPLIT, split)
    write_json(out / METRICS, {**metrics, "weights_sha256": digest})
    write_json(out / ROC, roc)
    training_curve(metrics["history"], out / CURVE, title=f"{cfg['name']} ({model.kind})")
    files = {name: {"sha256": sha256_file(out / name), "bytes": (out / name).stat().st_size}
             for name in HASHED}
    write_json(out / MANIFEST, {"format": FORMAT, "version": FORMAT_VERSION, "kind": model.kind,
                                "files": files, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


@dataclass
class LoadedRun:
    """A trained run, ready for deployment.

    model: the torch module with the best weights, eval mode, on the CPU (`model.kind`);
    config: the validated config (data path, representation, split, model, train) plus
        config["resolved"] (input_shape, n_in, sizes, fitted representation, data fingerprint);
    metrics: metrics.json; val_indices / train_indices: int64 indices into the data set's clips
        (ClipSet order); kind: one of toolchain.core.vocab.MODEL_KINDS; path: the run folder.
    """

    path: Path
    kind: str
    model: nn.Module
    config: dict
    metrics: dict
    val_indices: np.ndarray
    train_indices: np.ndarray

    @property
    def representation(self) -> dict:
        """The exact (fitted) representation dict the run was trained on."""
        return self.config[RESOLVED_KEY]["representation"]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.config[RESOLVED_KEY]["input_shape"])

    def load_inputs(self, progress: bool = False) -> Inputs:
        """The run's features and labels, recomputed from its data path and representation;
        DataError if the data set there is not the one the run was trained on."""
        expected = self.config[RESOLVED_KEY]["data_fingerprint"]
        if is_legacy_fingerprint(expected):
            raise DataError(f"run {self.path} records an older data fingerprint (clip names and "
                            "labels only), which cannot show that the audio at "
                            f"{self.config['data']['path']} is what it was trained on; train it "
                            "again to record a content fingerprint")
        inputs = load_inputs(self.config, progress=progress, representation=self.representation)
        if inputs.fingerprint != expected:
            raise DataError(f"{self.config['data']['path']}: the clips (names, labels or audio "
                            f"samples) differ from those run {self.path} was trained on")
        return inputs


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{path} is missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc})") from None


def load_run(run_dir: str | Path) -> LoadedRun:
    """Load and verify a run folder written by `neurodeploy train` (see the module docstring)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from models import build_model

    run = Path(run_dir)
    if not run.is_dir():
        raise ArtifactError(f"run folder {run} does not exist")
    if not (run / MANIFEST).exists():
        from toolchain.deploy.artifacts import IR_FILE

        what = (f"a quantise or import folder (it holds {IR_FILE})" if (run / IR_FILE).is_file()
                else "not a training run folder")
        raise ArtifactError(f"{run}: {what}; a training run folder (from `neurodeploy train`) holds "
                            f"{MANIFEST}, and none is there", path=run / MANIFEST)
    manifest = _read_json(run / MANIFEST)
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise ArtifactError(f"{run / MANIFEST}: not a {FORMAT} v{FORMAT_VERSION} manifest")
    for name in HASHED:
        path, expected = run / name, manifest["files"].get(name, {})
        if not path.is_file():
            raise ArtifactError(f"{path} is missing")
        if path.stat().st_size != expected.get("bytes") or sha256_file(path) != expected.get("sha256"):
            raise ArtifactError(f"{path} does not match its SHA-256 in {run / MANIFEST} "
                                "(truncated or modified); refusing to load it")
    try:
        config = validate(_read_json(run / CONFIG), str(run / CONFIG))
    except ConfigError as exc:
        raise ArtifactError(str(exc)) from None
    split = _read_json(run / SPLIT)
    model = build_model(model_table(config), config[RESOLVED_KEY]["input_shape"])
    try:
        model.load_state_dict(load_file(str(run / WEIGHTS)), strict=True)
    except (SafetensorError, RuntimeError) as exc:
        raise ArtifactError(f"{run / WEIGHTS} does not fit the model in {run / CONFIG}: {exc}") from None
    model.eval()
    return LoadedRun(path=run, kind=model.kind, model=model, config=config,
                     metrics=_read_json(run / METRICS),
                     val_indices=np.asarray(split["val_indices"], dtype=np.int64),
                     train_indices=np.asarray(split["train_indices"], dtype=np.int64))
