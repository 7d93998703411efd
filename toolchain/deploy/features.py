"""Features for deployment-side commands (quantize, simulate, verify, energy) from a data path.

The IR records the exact (fitted) representation its network was trained on, the data set's
fingerprint (toolchain.train.inputs.data_fingerprint: names, labels and audio samples) and the
validation clips of the training run. When the data at --data is that data set, clips are taken
from the validation split (never seen in training); otherwise the first clips of the data set
are used, and the selection says so. A fingerprint recorded before content fingerprints existed
(names and labels only) cannot prove the audio is the same: it counts as a different data set,
and the note says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toolchain.core.errors import ConfigError


@dataclass
class Selection:
    """x float32 [N, n_in] in [0, 1]; labels int (-1 unknown); names; indices into the data set."""

    x: np.ndarray
    labels: np.ndarray
    names: list[str]
    indices: np.ndarray
    source: str
    note: str
    skipped: list = field(default_factory=list)


def select_features(metadata: dict, data_path: str, clips: int | None = None, *, split: str = "val",
                    progress: bool = True) -> Selection:
    """Load clips from `data_path` and compute the representation recorded in `metadata`."""
    from toolchain.data import load_clips
    from toolchain.represent import features_from_audio, representation_from_dict
    from toolchain.train.inputs import data_fingerprint, is_legacy_fingerprint

    rep = metadata.get("representation")
    if not rep:
        raise ConfigError("this network records no input representation (it was not trained by neurodeploy); "
                          "give features directly (--calib-npy / Python API) instead of --data")
    clipset = load_clips(data_path, progress=progress)
    labels = np.asarray(clipset.labels, dtype=np.int64)
    recorded = metadata.get("data_fingerprint")
    same = recorded == data_fingerprint(clipset)
    if same and split == "val" and metadata.get("val_indices") is not None:
        idx = np.asarray(metadata["val_indices"], dtype=np.int64)
        note = "validation split of the training run"
    elif same and split == "train" and metadata.get("train_indices") is not None:
        idx = np.asarray(metadata["train_indices"], dtype=np.int64)
        note = "training split of the training run"
    else:
        idx = np.arange(len(labels))
        if is_legacy_fingerprint(recorded):
            note = ("the network records an older data fingerprint (clip names and labels only), "
                    "which cannot show the audio is the training run's: treated as a different "
                    "data set: first clips in data-set order")
        elif not same:
            note = "data set differs from the training run's: first clips in data-set order"
        else:
            note = "all clips"
    if clips is not None:
        idx = idx[:clips]
    feats = features_from_audio(clipset.audio[idx], representation_from_dict(rep), progress=False)
    x = np.ascontiguousarray(feats.reshape(len(idx), -1), dtype=np.float32)
    return Selection(x=x, labels=labels[idx], names=[clipset.names[i] for i in idx], indices=idx,
                     source=str(data_path), note=note, skipped=list(clipset.skipped))


def load_npy_features(path: str, n_in: int) -> np.ndarray:
    """Features from a .npy file (no pickles), reshaped to [N, n_in]."""
    from toolchain.core.errors import DataError

    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from None
    x = x.reshape(x.shape[0], -1)
    if x.shape[1] != n_in:
        raise DataError(f"{path}: {x.shape[1]} values per example, the network takes {n_in}")
    return x


def load_ir_inputs(path: str, ir) -> np.ndarray:
    """Inputs in the IR's own form from a .npy file (no pickles), validated by the encoder:
    features in [0, 1] [N, n_in] (graded or host-coded spikes), spike trains [N, T, ...] (spikes
    given as they are), or biases [N, ...] (the "bias" encoding). Raises DataError naming the file."""
    from toolchain.core.errors import DataError
    from toolchain.represent.encoding import encode_for_ir

    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from None
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError(f"{path}: holds no clips (shape {list(x.shape)})")
    try:
        encode_for_ir(ir, x[:1])
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    if ir.input.graded or ir.input.spike_encoder is not None:
        x = x.reshape(x.shape[0], -1)
        if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
            raise DataError(f"{path}: features must be finite and in [0, 1]")
    return x
