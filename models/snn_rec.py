"""A recurrent SNN: Linear + RLeaky (all-to-all recurrent weights) hidden layers, then a
Linear + Leaky output layer (`snn_rec`).

Hidden layer l at step t (snntorch's RLeaky(all_to_all=True, linear_features=n) with the bias of
its `recurrent` nn.Linear folded into the layer bias):

    I_l[t] = W_l @ x_l[t] + V_l @ s_l[t-1] + b_l              (s_l[-1] = 0)

then the Leaky update of `models.lif` (V_l = `weight_rec`, [n, n]). The output layer has no
recurrence. With the "frames" encoding the input is a sequence (e.g. one spectrogram frame per
step, representation "spectrogram_frames"): the network keeps state across frames, which is what
a streaming detector needs; with "dc" it gets the whole clip as a constant current.

Fast path: each layer's input current W @ x is one matmul over all steps (once for "dc" input);
only the recurrent term V @ s[t-1] needs the per-step loop, which runs with the Leaky update in
TorchScript over preallocated buffers, and the backward walks back once (models.lif).
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from models.spiking import SpikingStack, numpy_of

N_CLASSES = 2


class RecStage(nn.Module):
    """The input Linear W (with the bias) and the recurrent weights V [n, n] of one RLeaky layer."""

    def __init__(self, n_in: int, n: int, bias: bool) -> None:
        super().__init__()
        self.synapse = nn.Linear(int(n_in), int(n), bias=bias)
        self.recurrent = nn.Linear(int(n), int(n), bias=False)  # snntorch's init of RLeaky's V

    @property
    def weight_rec(self) -> Tensor:
        return self.recurrent.weight

    def forward(self, inputs: Tensor) -> Tensor:
        return self.synapse(inputs)


class SNNRec(SpikingStack):
    """Recurrent SNN: sizes [n_in, *hidden, n_classes]; every hidden layer is recurrent.

    n_in is one step's input size (one frame with "frames", the whole clip otherwise). The
    neuron settings are those of `models.snn_mlp.SNNMLP`.
    """

    kind = "snn_rec"

    def __init__(self, sizes: Sequence[int], *, beta: float = 0.9, learn_beta: bool = False,
                 threshold: float = 1.0, slope: float = 25.0, reset: str = "zero",
                 encoding: str = "frames", num_steps: int = 135, bias: bool = False,
                 input_shape: Sequence[int] = ()) -> None:
        if len(sizes) < 3:
            raise ValueError(f"snn_rec needs an input, at least one hidden and an output size, got {list(sizes)}")
        super().__init__(len(sizes) - 1, beta=beta, learn_beta=learn_beta, threshold=threshold,
                         slope=slope, reset=reset, encoding=encoding, num_steps=num_steps,
                         input_shape=tuple(input_shape) or (int(sizes[0]),))
        self.sizes = [int(s) for s in sizes]
        pairs = list(zip(self.sizes, self.sizes[1:]))
        self.layers = nn.ModuleList([RecStage(a, b, bias) for a, b in pairs[:-1]]
                                    + [nn.Linear(*pairs[-1], bias=bias)])

    @property
    def stages(self) -> Sequence[nn.Module]:
        return self.layers

    def to_float_network(self):
        """FloatRec hidden layers and a FloatLayer output (float32 numpy)."""
        from toolchain.frontends.float_net import FloatLayer, FloatRec

        layers = []
        for i, (stage, params) in enumerate(zip(self.layers, self.neuron_params())):
            fc = getattr(stage, "synapse", stage)
            common = dict(weight=numpy_of(fc.weight), bias=numpy_of(fc.bias), **params)
            if isinstance(stage, RecStage):
                layers.append(FloatRec(weight_rec=numpy_of(stage.weight_rec), name=f"rec{i + 1}", **common))
            else:
                layers.append(FloatLayer(name=f"fc{i + 1}", **common))
        return self.float_network(layers)
