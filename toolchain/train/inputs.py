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

from models.snn_mlp import SEED_HIDDEN, seed_sizes
from toolchain.core.errors import ConfigError, DataError
from toolchain.core.vocab import SNN_KINDS
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
    fingerprint. Raises ConfigError when the model does not fit the data (naming the key).

    sizes = [one step's input size, *hidden, 2]: the MLP's (and snn_rec's) layer sizes; snn_conv
    uses its hidden and output entries (the Linear layers after the flatten; its conv layers come
    from channels / kernel / stride / padding); with the "frames" encoding one step's input is one
    frame.
    """
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
    frames = model["kind"] in SNN_KINDS and model["encoding"] == "frames"
    if frames and (len(shape) != 2 or shape[0] != model["num_steps"]):
        raise ConfigError(f"{where}: model.num_steps = {model['num_steps']} but model.encoding = 'frames' "
                          f"feeds one row of the {rep_kind} features (shape {list(shape)}) per step: "
                          + (f"set model.num_steps = {shape[0]}" if len(shape) == 2 else
                             "it needs 2-D [frames, n] features (representation 'spectrogram_frames')"))
    step_in = int(np.prod(shape[1:])) if frames else n_in  # one step's input size
    if model["kind"] == "snn_conv":
        from models.snn_conv import conv_shapes

        try:
            conv_shapes(shape[1:] if frames else shape, model["channels"], model["kernel"],
                        model["stride"], model["padding"])
        except ValueError as exc:
            raise ConfigError(f"{where}: model.channels / kernel / stride / padding do not fit the "
                              f"{rep_kind} features (shape {list(shape)}): {exc}") from None
    if model["hidden"] == "seed" and rep_kind not in SEED_HIDDEN:
        raise ConfigError(f"{where}: model.hidden = 'seed' has no sizes for the {rep_kind} representation "
                          f"(the seed's MLPs are for {' and '.join(SEED_HIDDEN)}); give a list of sizes")
    sizes = seed_sizes(rep_kind, step_in) if model["hidden"] == "seed" else [step_in, *model["hidden"], 2]
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
