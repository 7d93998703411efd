"""What a run trains on: clips -> features (toolchain.data / toolchain.represent) -> split.

Deployment recreates exactly the same inputs from a run's config: the data path, the fitted
representation dict (`config["resolved"]["representation"]`) and the recorded split indices;
`data_fingerprint` ("content-sha256:" + the SHA-256 of the clip names, labels and decoded audio
samples, in data-set order) tells whether the data set found at the path is the one the run was
trained on. Regenerated audio under the same names is a different data set. The fingerprint
covers the whole data set at the path; `data.subset` (in the config) picks the same clips again.

Runs written before content fingerprints record a bare 64-hex SHA-256 of names and labels only
(`is_legacy_fingerprint`); it cannot show that the audio is the same, so it never matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.snn_mlp import seed_sizes
from toolchain.core.errors import ConfigError, DataError
from toolchain.train.config import RESOLVED_KEY


@dataclass
class Inputs:
    """features float32 [N, *input_shape] in [0, 1]; labels int64 [N] (0/1); names in data-set
    order; representation: the exact (fitted) representation dict; fingerprint: see module doc."""

    features: np.ndarray
    labels: np.ndarray
    names: list[str]
    representation: dict
    fingerprint: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.features.shape[1:])


FINGERPRINT_PREFIX = "content-sha256:"


def data_fingerprint(clips) -> str:
    """"content-sha256:<hex>" of a ClipSet: its names, labels and audio samples (the digest the
    loader computes alongside the decode cache's checksums; see toolchain.data.loader)."""
    return FINGERPRINT_PREFIX + clips.content_sha256


def is_legacy_fingerprint(fingerprint) -> bool:
    """Whether a recorded fingerprint is the pre-content kind (names and labels only)."""
    return isinstance(fingerprint, str) and not fingerprint.startswith(FINGERPRINT_PREFIX)


def load_inputs(cfg: dict, progress: bool = True, representation: dict | None = None) -> Inputs:
    """Load the clips at cfg["data"]["path"] and compute the configured representation.

    `representation` (a fitted dict) overrides cfg["representation"], to reproduce a trained run.
    """
    from toolchain.data import load_clips
    from toolchain.represent import make_features

    clips = load_clips(cfg["data"]["path"], cache=cfg["data"]["cache"], progress=progress)
    labels = np.asarray(clips.labels, dtype=np.int64)
    if (labels < 0).any():
        raise DataError(f"{cfg['data']['path']}: {int((labels < 0).sum())} clips have no label; "
                        "training needs labelled (train split) clips")
    if len(np.unique(labels)) < 2:
        raise DataError(f"{cfg['data']['path']}: all clips have label {int(labels[0])}; "
                        "training needs both classes")
    rep = dict(representation or cfg["representation"])
    kind = rep.pop("kind")
    info: dict = {}
    features = make_features(clips, kind, rep, cache=cfg["data"]["cache"], info=info, progress=progress)
    names = list(clips.names)
    keep = subset_indices(labels, cfg["data"].get("subset", 0), cfg.get("seed", 0))  # runs from before data.subset: all clips
    if keep is not None:
        features, labels, names = features[keep], labels[keep], [names[i] for i in keep]
    return Inputs(np.ascontiguousarray(features, dtype=np.float32), labels, names,
                  info["representation"], data_fingerprint(clips))


def subset_indices(labels: np.ndarray, n: int, seed: int) -> np.ndarray | None:
    """Sorted indices of a class-stratified subset of `n` clips (data.subset; None: all clips).

    Each class keeps its share (round(n * class fraction), at least one clip), drawn without
    replacement with numpy.random.default_rng([seed, 104729]); the clips stay in data-set order.
    """
    if n <= 0 or n >= len(labels):
        return None
    rng = np.random.default_rng([seed, 104729])
    picks = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        take = max(1, round(n * len(members) / len(labels)))
        picks.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(picks))


def resolve(cfg: dict, inputs: Inputs, where: str = "config") -> dict:
    """cfg plus cfg["resolved"]: input_shape, n_in, layer sizes, fitted representation, data
    fingerprint. Raises ConfigError when the model does not fit the data (naming the key)."""
    model = cfg["model"]
    shape = inputs.input_shape
    n_in = int(np.prod(shape))
    rep_kind = inputs.representation["kind"]
    if model["n_in"] is not None and model["n_in"] != n_in:
        raise ConfigError(f"{where}: model.n_in = {model['n_in']} does not match the data: the "
                          f"{rep_kind} representation gives {n_in} inputs per clip "
                          f"(shape {list(shape)})")
    if model["kind"] == "cnn" and len(shape) != 2:
        raise ConfigError(f"{where}: model.kind = 'cnn' needs 2-D features, the {rep_kind} "
                          f"representation gives shape {list(shape)}")
    sizes = seed_sizes(rep_kind, n_in) if model["hidden"] == "seed" else [n_in, *model["hidden"], 2]
    from toolchain.core.budget import check_training

    check_training(where, cfg, n_in, len(inputs.labels))
    out = dict(cfg)
    out[RESOLVED_KEY] = {"input_shape": list(shape), "n_in": n_in, "sizes": sizes,
                         "representation": inputs.representation,
                         "data_fingerprint": inputs.fingerprint, "n_clips": len(inputs.labels)}
    return out


def model_table(cfg: dict) -> dict:
    """cfg["model"] with the resolved layer sizes, as `models.build_model` wants it."""
    return {**cfg["model"], "sizes": cfg[RESOLVED_KEY]["sizes"]}


def holdout(cfg: dict, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices) of the run's split (toolchain.data.folds)."""
    from toolchain.data.folds import holdout_split

    train_idx, val_idx = holdout_split(labels, cfg["data"]["val_fraction"], cfg["data"]["split"],
                                       cfg["seed"])
    return np.asarray(train_idx, dtype=np.int64), np.asarray(val_idx, dtype=np.int64)
