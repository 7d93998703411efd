"""The project's one vocabulary: every name a config, an IR or a model may use for a choice.

Each tuple is the complete set of allowed words; validators, models and back ends import them from
here instead of spelling them again.

- RESETS: what a spiking neuron does after a spike. "zero": v = 0 (stock Loihi / Lava LIF);
  "subtract": v -= threshold at the next step (snntorch's default; a custom Lava model).
- FLOAT_ENCODINGS: how a feature vector x in [0, 1] reaches a float SNN's first layer at each step.
  "dc": x itself at every step (a constant current); "rate": Bernoulli(x) spikes; "latency": one
  spike at step round((1 - x) * (T - 1)); "frames": the input is a sequence [T, n] and x[t] is its
  row t (one spectrogram frame per step: representation "spectrogram_frames"; a streaming input).
- IR_ENCODINGS: how the quantised network receives its input. "graded_once": integer payloads sent
  once per classification into a held current (du = 0); "graded_every_step": sent every step into a
  memoryless current; "spikes": binary trains made on the host; "bias": the input layer's neurons are
  driven by a per-clip bias (no synapses), as in lava-dl's PilotNet; "frames": a graded integer
  vector per step (one spectrogram frame per step into a memoryless current, du = 4095): a stream.
- SPIKE_ENCODERS: the host-side spike codes behind IR encoding "spikes" ("rate", "latency").
- FLOAT_TO_IR: the IR encoding a float encoding becomes when "dc" is sent every step ("frames" stays
  "frames": row t of the input, quantised, is sent at step t).
- MODEL_KINDS: what `neurodeploy train` builds; SNN_KINDS are deployable to Loihi ("snn": Linear +
  Leaky MLP; "snn_conv": Conv1d/Conv2d + Leaky layers, flatten, Linear + Leaky; "snn_rec": Linear +
  RLeaky all-to-all recurrent hidden layers, Linear + Leaky output), ANN_KINDS are the ANN
  baselines (exported to ONNX).
- FOLD_KINDS: cross-validation splits ("stratified" random, or "blocked" contiguous).
"""

RESETS = ("zero", "subtract")
FLOAT_ENCODINGS = ("dc", "rate", "latency", "frames")
IR_ENCODINGS = ("graded_once", "graded_every_step", "spikes", "bias", "frames")
GRADED_ENCODINGS = ("graded_once", "graded_every_step", "frames")  # integer payloads of `bits` bits
HELD_ENCODINGS = ("graded_once", "graded_every_step", "bias")  # layer 1's input is the same at every step
SPIKE_ENCODERS = ("rate", "latency")
FLOAT_TO_IR = {"dc": "graded_every_step", "rate": "spikes", "latency": "spikes", "frames": "frames"}
SNN_KINDS = ("snn", "snn_conv", "snn_rec")
ANN_KINDS = ("ann_mlp", "cnn")
MODEL_KINDS = SNN_KINDS + ANN_KINDS
FOLD_KINDS = ("stratified", "blocked")
