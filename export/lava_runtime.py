"""Build and run a neurodeploy network as a stock Lava process graph (needs only numpy and lava-nc).

This file is copied verbatim into every `neurodeploy export --format lava` folder, next to
`network.json` (the process parameters) and `network.npz` (weights and biases), so the exported
graph runs without neurodeploy:

    import json, numpy as np, lava_runtime
    spec = json.load(open("network.json")); arrays = dict(np.load("network.npz"))
    spikes = lava_runtime.run(spec, arrays, inputs)      # inputs: see source_data()

Graph: io.source.RingBuffer -> [Dense -> LIFReset] x L, a Monitor on every layer's spikes.
Several classifications stream through one run: the source holds clip c's input at steps
c*T + 1 .. c*T + T (T = num_steps). Each Dense delays by one step, so layer i (0-based) sees clip
c's step k (1-based) at global step c*T + k + i + 1; its LIFReset zeroes u and v at the first of
those steps (reset_interval=T, reset_offset=i+2), so every clip starts from rest and a layer's bias
integrates only from its first input step. The run lasts B*T + L steps.
Weights go to Lava's Dense unchanged: sign_mode MIXED with num_weight_bits=9 makes Lava's
clip/truncate a no-op on the integer weights (the neurodeploy IR checks the hardware's weight bits).
A layer with reset "subtract" uses LIFResetSubtract (lava_models/subtract.py beside this file).
"""

from __future__ import annotations

import numpy as np


def source_data(spec: dict, inp: np.ndarray) -> np.ndarray:
    """RingBuffer payload int32 [n_in, B*T + L] for B clips of encoded input.

    inp: "graded_once" / "graded_every_step": int [B, n_in] (sent at a clip's first step / every
    step); "spikes": bool [B, T, n_in].
    """
    T, L, enc = spec["num_steps"], len(spec["layers"]), spec["input"]["encoding"]
    B = inp.shape[0]
    data = np.zeros((spec["input"]["n_in"], B * T + L), dtype=np.int32)
    for c in range(B):
        if enc == "graded_once":
            data[:, c * T] = inp[c]
        elif enc == "graded_every_step":
            data[:, c * T:(c + 1) * T] = inp[c][:, None]
        else:
            data[:, c * T:(c + 1) * T] = inp[c].T.astype(np.int32)
    return data


def _subtract_model():
    if __package__:  # inside neurodeploy (export.lava_runtime)
        from export.lava_models.subtract import LIFResetSubtract, PyLifResetSubtractModelBitAcc
    else:  # an exported folder: lava_models/ sits beside this file
        from lava_models.subtract import LIFResetSubtract, PyLifResetSubtractModelBitAcc
    return LIFResetSubtract, PyLifResetSubtractModelBitAcc


def build(spec: dict, arrays: dict, inp: np.ndarray, record_v: bool = False) -> dict:
    """Instantiate the processes (not yet run): {"source", "denses", "lifs", "spike_monitors", "v_monitors", "steps"}."""
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIFReset
    from lava.proc.monitor.process import Monitor
    from lava.utils.weightutils import SignMode

    T = spec["num_steps"]
    total = inp.shape[0] * T + len(spec["layers"])
    g = {"source": RingBuffer(data=source_data(spec, inp)), "denses": [], "lifs": [],
         "spike_monitors": [], "v_monitors": [], "steps": total}
    prev_out = g["source"].s_out
    for i, p in enumerate(spec["layers"]):
        dense = Dense(weights=np.asarray(arrays[f"weight_{i}"], dtype=np.int32),
                      num_message_bits=p["num_message_bits"], num_weight_bits=9, sign_mode=SignMode.MIXED,
                      weight_exp=p["weight_exp"], name=f"dense{i}")
        lif_cls = _subtract_model()[0] if p["reset"] == "subtract" else LIFReset
        lif = lif_cls(shape=(p["n_out"],), du=p["du"], dv=p["dv"], vth=p["vth"],
                      bias_mant=np.asarray(arrays[f"bias_mant_{i}"], dtype=np.int32),
                      bias_exp=np.full(p["n_out"], p["bias_exp"], dtype=np.int32),
                      reset_interval=T, reset_offset=i + 2, name=f"lif{i}")
        prev_out.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        mon = Monitor()
        mon.probe(lif.s_out, total)
        g["spike_monitors"].append(mon)
        if record_v:
            vmon = Monitor()
            vmon.probe(lif.v, total)
            g["v_monitors"].append(vmon)
        g["denses"].append(dense)
        g["lifs"].append(lif)
        prev_out = lif.s_out
    return g


def run_config():
    """Loihi2SimCfg selecting the bit-accurate models, with the subtractive-reset model mapped."""
    from lava.magma.core.run_configs import Loihi2SimCfg

    proc, model = _subtract_model()
    return Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map={proc: model})


def monitor_array(mon, proc, var_name: str) -> np.ndarray:
    """What Monitor `mon` recorded of `proc`'s `var_name`: [total_steps, n]."""
    return np.asarray(mon.get_data()[proc.name][var_name])


def align_layer(arr: np.ndarray, i: int, B: int, T: int) -> np.ndarray:
    """Global-step array [total, n] -> per-clip [B, T, n] for layer i (removes the i+1 step delay)."""
    return np.stack([arr[c * T + 1 + i: c * T + 1 + i + T] for c in range(B)])


def run(spec: dict, arrays: dict, inp: np.ndarray, record_v: bool = False) -> dict:
    """Run B clips; returns {"spikes": [bool [B, T, n_l] per layer], "v": [...] if record_v, "steps"}."""
    from lava.magma.core.run_conditions import RunSteps

    B, T = inp.shape[0], spec["num_steps"]
    g = build(spec, arrays, inp, record_v)
    try:
        g["source"].run(condition=RunSteps(num_steps=g["steps"]), run_cfg=run_config())
        out = {"steps": g["steps"],
               "spikes": [align_layer(monitor_array(m, lif, "s_out"), i, B, T) != 0
                          for i, (m, lif) in enumerate(zip(g["spike_monitors"], g["lifs"]))]}
        if record_v:
            out["v"] = [align_layer(monitor_array(m, lif, "v"), i, B, T)
                        for i, (m, lif) in enumerate(zip(g["v_monitors"], g["lifs"]))]
    finally:
        g["source"].stop()
    return out
