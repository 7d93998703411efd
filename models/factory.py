"""Build a model from the resolved `[model]` table of a run config (see toolchain.train.config)."""

from __future__ import annotations

from typing import Any, Sequence

from torch import nn

from models.ann import ANNMLP, SpectrogramCNN
from models.snn_mlp import SNNMLP
from toolchain.core.vocab import MODEL_KINDS


def build_model(model: dict[str, Any], input_shape: Sequence[int]) -> nn.Module:
    """A fresh (randomly initialised, current torch seed) model for `model` and one clip's shape.

    `model["sizes"]` ([n_in, *hidden, 2]) must be resolved for "snn" and "ann_mlp".
    """
    kind = model["kind"]
    if kind == "snn":
        learn = model["beta"] == "learnable"
        return SNNMLP(model["sizes"], beta=model["beta_init"] if learn else model["beta"],
                      learn_beta=learn, threshold=model["threshold"], slope=model["slope"],
                      reset=model["reset"], encoding=model["encoding"],
                      num_steps=model["num_steps"], bias=model["bias"],
                      zero_sum_input=model.get("zero_sum_input", False), input_shape=input_shape)
    if kind == "ann_mlp":
        return ANNMLP(model["sizes"], bias=model["bias"], input_shape=input_shape)
    if kind == "cnn":
        return SpectrogramCNN(input_shape, channels=model["channels"], kernel=model["kernel"],
                              hidden=model["cnn_hidden"], bias=model["bias"])
    raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {kind!r}")
