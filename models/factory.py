"""Build a model from the resolved `[model]` table of a run config (see toolchain.train.config).

One builder per model kind (`BUILDERS`, keyed by the kinds of `toolchain.core.vocab.MODEL_KINDS`).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from torch import nn

from models.ann import ANNMLP, SpectrogramCNN
from models.snn_conv import SNNConv
from models.snn_mlp import SNNMLP
from models.snn_rec import SNNRec
from toolchain.core.vocab import MODEL_KINDS


def _neurons(model: dict[str, Any]) -> dict[str, Any]:
    """The neuron / time keys every SNN kind takes."""
    learn = model["beta"] == "learnable"
    return dict(beta=model["beta_init"] if learn else model["beta"], learn_beta=learn,
                threshold=model["threshold"], slope=model["slope"], reset=model["reset"],
                encoding=model["encoding"], num_steps=model["num_steps"], bias=model["bias"])


def _snn(model: dict[str, Any], input_shape: Sequence[int]) -> nn.Module:
    return SNNMLP(model["sizes"], input_shape=input_shape, zero_sum_input=model.get("zero_sum_input", False),
                  **_neurons(model))


def _snn_conv(model: dict[str, Any], input_shape: Sequence[int]) -> nn.Module:
    return SNNConv(input_shape, channels=model["channels"], kernel=model["kernel"],
                   stride=model["stride"], padding=model["padding"], hidden=model["sizes"][1:-1],
                   n_classes=model["sizes"][-1], **_neurons(model))


def _snn_rec(model: dict[str, Any], input_shape: Sequence[int]) -> nn.Module:
    return SNNRec(model["sizes"], input_shape=input_shape, **_neurons(model))


def _ann_mlp(model: dict[str, Any], input_shape: Sequence[int]) -> nn.Module:
    return ANNMLP(model["sizes"], bias=model["bias"], input_shape=input_shape)


def _cnn(model: dict[str, Any], input_shape: Sequence[int]) -> nn.Module:
    return SpectrogramCNN(input_shape, channels=model["channels"], kernel=model["kernel"],
                          hidden=model["cnn_hidden"], bias=model["bias"])


BUILDERS: dict[str, Callable[[dict[str, Any], Sequence[int]], nn.Module]] = {
    "snn": _snn, "snn_conv": _snn_conv, "snn_rec": _snn_rec, "ann_mlp": _ann_mlp, "cnn": _cnn}
assert set(BUILDERS) == set(MODEL_KINDS), "one builder per model kind"


def build_model(model: dict[str, Any], input_shape: Sequence[int]) -> nn.Module:
    """A fresh (randomly initialised, current torch seed) model for `model` and one clip's shape.

    `model["sizes"]` ([one step's input, *hidden, 2], toolchain.train.inputs.resolve) must be
    resolved for every kind but "cnn".
    """
    builder = BUILDERS.get(model["kind"])
    if builder is None:
        raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {model['kind']!r}")
    return builder(model, input_shape)
