"""neurodeploy's trainable models.

- `SNNMLP` (models.snn_mlp): Linear + snntorch-Leaky MLP with the fast whole-sequence LIF kernel
  (models.lif), seed presets (`seed_sizes`) and `to_float_network()` for deployment.
- `SNNConv` (models.snn_conv): Conv1d / Conv2d + Leaky layers, flatten, Linear + Leaky.
- `SNNRec` (models.snn_rec): Linear + RLeaky (all-to-all recurrent) hidden layers, Linear + Leaky.
  All three share models.spiking.SpikingStack (betas, the layer loop, calibration).
- `ANNMLP`, `SpectrogramCNN` (models.ann): plain-torch baselines (ONNX-exportable).
- `encode` (models.encoding): dc / rate / latency input encodings in torch.
- `snntorch_sequential`, `run_snntorch` (models.reference): the plain per-step snntorch loop.
- `build_model` (models.factory): a model from a resolved `[model]` config table.
"""

from models.ann import ANNMLP, SpectrogramCNN
from models.encoding import ENCODINGS, encode
from models.factory import MODEL_KINDS, build_model
from models.lif import RESETS, leaky_sequence
from models.reference import run_snntorch, snntorch_sequential
from models.snn_conv import SNNConv
from models.snn_mlp import N_CLASSES, SEED_HIDDEN, SNNMLP, seed_sizes
from models.snn_rec import SNNRec

__all__ = ["ANNMLP", "ENCODINGS", "MODEL_KINDS", "N_CLASSES", "RESETS", "SEED_HIDDEN", "SNNMLP",
           "SNNConv", "SNNRec", "SpectrogramCNN", "build_model", "encode", "leaky_sequence", "run_snntorch",
           "seed_sizes", "snntorch_sequential"]
