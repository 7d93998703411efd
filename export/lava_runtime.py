"""Build and run a neurodeploy network as a stock Lava process graph (needs only numpy and lava-nc).

This file is copied verbatim into every `neurodeploy export --format lava` folder, next to
`network.json` (the process parameters) and `network.npz` (weights and biases), so the exported
graph runs without neurodeploy:

    import json, numpy as np, lava_runtime
    spec = json.load(open("network.json")); arrays = dict(np.load("network.npz"))
    spikes = lava_runtime.run(spec, arrays, inputs)["spikes"]      # inputs: see source_data()

Graph: [io.source.RingBuffer ->] one block per layer, chosen by the layer's kind (BUILDERS):
    dense      Dense -> LIFReset
    conv       Conv -> LIFReset               (Lava's (X, Y, C) = (W, H, C) layout)
    dense_rec  Dense -> LIFReset, and LIFReset -> Dense (recurrent, its own weight_exp_rec) -> the same LIFReset
    input      LIFReset fed by the source directly (no synapse), or by a per-clip bias
    flatten    nothing: the next block reads the previous population through a (C, H, W) flatten
with a recorder on every population's spikes (and u, v when asked): lava_models/recorder.py, which
writes each step into a memory-mapped .npy file (Lava's Monitor keeps its recording in a Var whose
final fetch dominates a large network's run).

Several classifications stream through one run. The source holds clip c's input at steps
c*T + 1 .. c*T + T (T = num_steps); each Dense / Conv delays by one step, so a population with d
synapses on its way from the input (spec "delay") sees clip c's step k (1-based) at global step
c*T + k + d. Its LIFReset zeroes u and v at the first of those steps (reset_interval = T,
reset_offset = (d + 1) mod T), so every clip starts from rest and a bias integrates only from the
layer's first input step. A recurrent Dense would carry the last spike of clip c into clip c+1:
an io.reset.Reset process zeroes its buffer at the clip's last step. With the "bias" encoding the
input population's bias_mant is set to each clip's values before that clip's T steps (one Lava run
per clip). The run lasts B*T + D steps (D = the deepest delay).

Weights go to Lava's Dense unchanged: sign_mode MIXED with num_weight_bits=9 makes Lava's
clip/truncate a no-op on the integer weights (the neurodeploy IR checks the hardware's weight bits).
Conv weights (the IR's torch layout [C_out, C_in/g, kH, kW], cross-correlation) become Lava's
(C_out, kW, kH, C_in) with the kernel flipped, because Lava's Conv convolves (as netx does).
A layer with reset "subtract" uses LIFResetSubtract (lava_models/subtract.py beside this file).
"""

from __future__ import annotations

import numpy as np


def lava_shape(shape) -> tuple[int, ...]:
    """Lava's process shape for a channels-first population: (C, H, W) -> (W, H, C); (C, L) -> (L, 1, C)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3:
        return (shape[2], shape[1], shape[0])
    if len(shape) == 2:
        return (shape[1], 1, shape[0])
    return shape


def to_lava_layout(arr: np.ndarray, shape) -> np.ndarray:
    """Flattened channels-first values [..., n] -> Lava's layout [..., *lava_shape(shape)]."""
    shape = tuple(int(s) for s in shape)
    lead = arr.shape[:-1]
    if len(shape) == 1:
        return arr.reshape(*lead, shape[0])
    c, h, w = shape if len(shape) == 3 else (shape[0], 1, shape[1])
    x = arr.reshape(*lead, c, h, w)
    k = len(lead)
    return np.transpose(x, tuple(range(k)) + (k + 2, k + 1, k))


def from_lava_layout(arr: np.ndarray, shape) -> np.ndarray:
    """Lava's layout [..., *lava_shape(shape)] -> flattened channels first [..., n]."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        return arr.reshape(*arr.shape[:-1], shape[0])
    k = arr.ndim - 3
    x = np.transpose(arr, tuple(range(k)) + (k + 2, k + 1, k))  # (..., C, H, W)
    return x.reshape(*arr.shape[:k], -1)


def total_steps(spec: dict, batch: int) -> int:
    return batch * spec["num_steps"] + max((p["delay"] for p in spec["layers"] if p.get("neurons")), default=0)


def source_data(spec: dict, inp: np.ndarray) -> np.ndarray:
    """RingBuffer payload int32 [*lava input shape, B*T + D] for B clips of encoded input.

    inp: "graded_once" / "graded_every_step": int [B, n_in] (sent at a clip's first step / every
    step); "spikes": bool [B, T, n_in]; "frames": int [B, T, n_in] (row t sent at step t).
    """
    T, enc = spec["num_steps"], spec["input"]["encoding"]
    B = inp.shape[0]
    data = np.zeros((spec["input"]["n_in"], total_steps(spec, B)), dtype=np.int32)
    for c in range(B):
        if enc == "graded_once":
            data[:, c * T] = inp[c]
        elif enc == "graded_every_step":
            data[:, c * T:(c + 1) * T] = inp[c][:, None]
        else:
            data[:, c * T:(c + 1) * T] = inp[c].T.astype(np.int32)
    shape = spec["input"]["shape"]
    return np.moveaxis(to_lava_layout(np.moveaxis(data, -1, 0), shape), 0, -1)


def _recorders():
    if __package__:
        from export.lava_models.recorder import SpikeRecorder, VarRecorder
    else:
        from lava_models.recorder import SpikeRecorder, VarRecorder
    return SpikeRecorder, VarRecorder


def attach_recorders(lif, total: int, folder: str, tag: str, record_v: bool) -> dict:
    """Recorders of `lif`'s spikes (and v, u) into files in `folder`: {var: path}."""
    import os

    SpikeRecorder, VarRecorder = _recorders()
    paths = {"s_out": os.path.join(folder, f"{tag}_s.npy")}
    rec = SpikeRecorder(shape=lif.s_out.shape, steps=total, path=paths["s_out"])
    lif.s_out.connect(rec.a_in)
    if record_v:
        for var in ("v", "u"):
            paths[var] = os.path.join(folder, f"{tag}_{var}.npy")
            VarRecorder(var=getattr(lif, var), steps=total, path=paths[var])
    return paths


def read_recording(path: str) -> np.ndarray:
    """What a recorder wrote: int32 [total_steps, *shape]."""
    return np.array(np.load(path, mmap_mode="r"))


def _subtract_model():
    if __package__:  # inside neurodeploy (export.lava_runtime)
        from export.lava_models.subtract import LIFResetSubtract, PyLifResetSubtractModelBitAcc
    else:  # an exported folder: lava_models/ sits beside this file
        from lava_models.subtract import LIFResetSubtract, PyLifResetSubtractModelBitAcc
    return LIFResetSubtract, PyLifResetSubtractModelBitAcc


def _neurons(p: dict, arrays: dict, i: int, T: int):
    """The layer's LIFReset (or subtractive-reset) population in Lava's layout."""
    from lava.proc.lif.process import LIFReset

    shape = lava_shape(p["out_shape"])
    bias = to_lava_layout(np.asarray(arrays[f"bias_mant_{i}"], dtype=np.int32), p["out_shape"])
    cls = _subtract_model()[0] if p["reset"] == "subtract" else LIFReset
    return cls(shape=shape, du=p["du"], dv=p["dv"], vth=p["vth"], bias_mant=bias.astype(np.int32),
               bias_exp=np.full(shape, p["bias_exp"], dtype=np.int32), reset_interval=T,
               reset_offset=(p["delay"] + 1) % T, name=f"lif{i}")


def _dense(weights: np.ndarray, p: dict, name: str):
    from lava.proc.dense.process import Dense
    from lava.utils.weightutils import SignMode

    return Dense(weights=np.asarray(weights, dtype=np.int32), num_message_bits=p["num_message_bits"],
                 num_weight_bits=9, sign_mode=SignMode.MIXED, weight_exp=p["weight_exp"], name=name)


def build_dense(p, arrays, i, T, prev):
    dense = _dense(arrays[f"weight_{i}"], p, f"dense{i}")
    lif = _neurons(p, arrays, i, T)
    prev.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    return lif, [dense]


def build_dense_rec(p, arrays, i, T, prev):
    from lava.proc.io.reset import Reset

    lif, procs = build_dense(p, arrays, i, T, prev)
    rec = _dense(arrays[f"weight_rec_{i}"], {**p, "num_message_bits": 0,
                                             "weight_exp": p.get("weight_exp_rec", p["weight_exp"])}, f"dense_rec{i}")
    lif.s_out.connect(rec.s_in)
    rec.a_out.connect(lif.a_in)
    # The feedback of a clip's last step must not reach the next clip: zero the buffer it sits in.
    clear = Reset(interval=T, offset=(p["delay"] - 1) % T)
    clear.connect_var(rec.a_buff)
    return lif, procs + [rec, clear]


def build_conv(p, arrays, i, T, prev):
    from lava.proc.conv.process import Conv

    w = np.asarray(arrays[f"weight_{i}"], dtype=np.int32)
    if w.ndim == 3:  # 1-D: a 2-D kernel of height 1
        w = w[:, :, None, :]
    lava_w = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(0, 3, 2, 1))

    def xy(v, one):  # (H, W) or (L,) -> Lava's (X, Y) = (W, H)
        return (int(v[0]), one) if len(v) == 1 else (int(v[1]), int(v[0]))

    conv = Conv(weight=lava_w, input_shape=lava_shape(p["in_shape"]), stride=xy(p["stride"], 1),
                padding=xy(p["padding"], 0), dilation=xy(p["dilation"], 1), groups=int(p["groups"]),
                num_weight_bits=9, num_message_bits=p["num_message_bits"], name=f"conv{i}")
    lif = _neurons(p, arrays, i, T)
    prev.connect(conv.s_in)
    conv.a_out.connect(lif.a_in)
    return lif, [conv]


def build_input(p, arrays, i, T, prev):
    lif = _neurons(p, arrays, i, T)
    if prev is not None:
        prev.connect(lif.a_in)
    return lif, []


BUILDERS = {"dense": build_dense, "dense_rec": build_dense_rec, "conv": build_conv, "input": build_input}


def _port_into(prev_out, prev_shape, p: dict):
    """The previous population's output as the next block's input: flattened channels first when
    a dense-like block reads a multi-dimensional population (netx's transpose + flatten)."""
    if prev_out is None:
        return None
    if p["kind"] in ("dense", "dense_rec") and len(lava_shape(prev_shape)) > 1:
        return prev_out.transpose([2, 1, 0]).flatten()
    return prev_out


def build(spec: dict, arrays: dict, inp: np.ndarray, folder: str, record_v: bool = False) -> dict:
    """Instantiate the processes (not yet run), recorders writing into `folder`:
    {"source", "lifs", "procs", "recordings" (one {var: path} per population), "steps", "spiking"}."""
    from lava.proc.io.source import RingBuffer

    T = spec["num_steps"]
    total = total_steps(spec, inp.shape[0])
    bias_input = spec["input"]["encoding"] == "bias"
    g = {"source": None if bias_input else RingBuffer(data=source_data(spec, inp)), "lifs": [], "procs": [],
         "recordings": [], "steps": total, "spiking": []}
    prev_out = g["source"].s_out if g["source"] is not None else None
    prev_shape = spec["input"]["shape"]
    for i, p in enumerate(spec["layers"]):
        if p["kind"] == "flatten":
            continue  # the next block reads through _port_into
        lif, procs = BUILDERS[p["kind"]](p, arrays, i, T, _port_into(prev_out, prev_shape, p))
        g["recordings"].append(attach_recorders(lif, total, folder, f"layer{i}", record_v))
        g["lifs"].append(lif)
        g["procs"] += procs
        g["spiking"].append(p)
        prev_out, prev_shape = lif.s_out, p["out_shape"]
    return g


def run_config():
    """Loihi2SimCfg selecting the bit-accurate models, with the subtractive-reset model mapped."""
    from lava.magma.core.run_configs import Loihi2SimCfg

    proc, model = _subtract_model()
    return Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map={proc: model})


def align_layer(arr: np.ndarray, delay: int, B: int, T: int) -> np.ndarray:
    """Global-step array [total, n] -> per-clip [B, T, n] for a population `delay` steps deep."""
    return np.stack([arr[c * T + delay: c * T + delay + T] for c in range(B)])


def _runnable(g: dict):
    if g["source"] is not None:
        return g["source"]
    return g["lifs"][0]


def run(spec: dict, arrays: dict, inp: np.ndarray, record_v: bool = False) -> dict:
    """Run B clips; returns {"spikes": [bool [B, T, n_l] per population], "v", "u": [...] if record_v,
    "steps"}, every array flattened channels first like the neurodeploy IR."""
    import tempfile

    from lava.magma.core.run_conditions import RunSteps

    B, T = inp.shape[0], spec["num_steps"]
    tmp = tempfile.TemporaryDirectory(prefix="lava-recordings-")
    g = build(spec, arrays, inp, tmp.name, record_v)
    proc, cfg = _runnable(g), run_config()
    try:
        if g["source"] is not None:
            proc.run(condition=RunSteps(num_steps=g["steps"]), run_cfg=cfg)
        else:  # "bias": each clip's values become the input population's bias for its T steps
            first = g["lifs"][0]
            shape = spec["layers"][0]["out_shape"]
            for c in range(B):
                bias = to_lava_layout(np.asarray(inp[c], dtype=np.int32), shape).astype(np.int32)
                if c == 0:
                    first.bias_mant.init = bias
                else:
                    first.bias_mant.set(bias)
                proc.run(condition=RunSteps(num_steps=T), run_cfg=cfg)
            if g["steps"] > B * T:
                proc.run(condition=RunSteps(num_steps=g["steps"] - B * T), run_cfg=cfg)
    finally:
        proc.stop()
    out = {"steps": g["steps"]}
    for var in ("s_out", "v", "u") if record_v else ("s_out",):
        arrs = [align_layer(from_lava_layout(read_recording(r[var]), p["out_shape"]), p["delay"], B, T)
                for r, p in zip(g["recordings"], g["spiking"])]
        out["spikes" if var == "s_out" else var] = [a != 0 for a in arrs] if var == "s_out" else arrs
    tmp.cleanup()
    return out
