"""Build and run the IR as a Lava process graph on the CPU simulator (Loihi2SimCfg, "fixed_pt").

Graph: io.source.RingBuffer -> [Dense -> LIFReset] x L, a Monitor on every layer's spikes.
Several classifications stream through one run: the source holds clip c's input at steps
c*T + 1 .. c*T + T (T = num_steps). Each Dense delays by one step, so layer i (0-based) sees clip
c's step k (1-based) at global step c*T + k + i + 1; its LIFReset zeroes u and v at the first of
those steps (reset_interval=T, reset_offset=i+2), so every clip starts from rest and a layer's bias
integrates only from its first input step, like the float model. The run lasts B*T + L steps.

Weights go to Lava's Dense unchanged: sign_mode MIXED with num_weight_bits=9 makes Lava's
clip/truncate a no-op on the IR's mantissas (the IR itself checks the hardware's weight bits).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import NetworkIR
from toolchain.sim_result import SimResult


@dataclass
class LavaGraph:
    """The processes of one built graph (kept so tests can inspect them)."""

    source: object
    denses: list
    lifs: list
    spike_monitors: list
    v_monitors: list
    total_steps: int


def source_data(ir: NetworkIR, inp: np.ndarray) -> np.ndarray:
    """The RingBuffer payload int32 [n_in, B*T + L] for encoded input `inp` (see module docstring)."""
    T, L = ir.num_steps, len(ir.layers)
    B = inp.shape[0]
    data = np.zeros((ir.input.n_in, B * T + L), dtype=np.int32)
    for c in range(B):
        if ir.input.encoding == "graded_once":
            data[:, c * T] = inp[c]
        elif ir.input.encoding == "graded_every_step":
            data[:, c * T:(c + 1) * T] = inp[c][:, None]
        else:
            data[:, c * T:(c + 1) * T] = inp[c].T.astype(np.int32)
    return data


def build(ir: NetworkIR, inp: np.ndarray, record_v: bool = False) -> LavaGraph:
    """Instantiate the Lava processes for `ir` fed with encoded input `inp` (not yet run)."""
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIFReset
    from lava.proc.monitor.process import Monitor
    from lava.utils.weightutils import SignMode

    from export.lava_models.subtract import LIFResetSubtract

    T = ir.num_steps
    total = inp.shape[0] * T + len(ir.layers)
    source = RingBuffer(data=source_data(ir, inp))
    prev_out = source.s_out
    denses, lifs, smons, vmons = [], [], [], []
    for i, layer in enumerate(ir.layers):
        graded = i == 0 and ir.input.graded
        dense = Dense(weights=layer.weight.astype(np.int32),
                      num_message_bits=int(ir.input.bits) if graded else 0,
                      num_weight_bits=9, sign_mode=SignMode.MIXED, weight_exp=int(layer.weight_exp),
                      name=f"dense{i}")
        lif_cls = LIFResetSubtract if layer.reset == "subtract" else LIFReset
        lif = lif_cls(shape=(layer.n_out,), du=int(layer.du), dv=int(layer.dv), vth=int(layer.vth),
                      bias_mant=layer.bias_mant.astype(np.int32),
                      bias_exp=np.full(layer.n_out, int(layer.bias_exp), dtype=np.int32),
                      reset_interval=T, reset_offset=i + 2, name=f"lif{i}")
        prev_out.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        smon = Monitor()
        smon.probe(lif.s_out, total)
        smons.append(smon)
        if record_v:
            vmon = Monitor()
            vmon.probe(lif.v, total)
            vmons.append(vmon)
        denses.append(dense)
        lifs.append(lif)
        prev_out = lif.s_out
    return LavaGraph(source, denses, lifs, smons, vmons, total)


def run_config():
    """Loihi2SimCfg selecting the bit-accurate models, with our subtractive-reset model mapped."""
    from lava.magma.core.run_configs import Loihi2SimCfg

    from export.lava_models.subtract import LIFResetSubtract, PyLifResetSubtractModelBitAcc

    return Loihi2SimCfg(select_tag="fixed_pt",
                        exception_proc_model_map={LIFResetSubtract: PyLifResetSubtractModelBitAcc})


def monitor_array(mon, proc, var_name: str) -> np.ndarray:
    """What Monitor `mon` recorded of `proc`'s `var_name`: [total_steps, n]."""
    return np.asarray(mon.get_data()[proc.name][var_name])


def align_layer(arr: np.ndarray, i: int, B: int, T: int) -> np.ndarray:
    """Global-step array [total, n] -> per-clip [B, T, n] for layer i (removes the i+1 step delay)."""
    return np.stack([arr[c * T + 1 + i: c * T + 1 + i + T] for c in range(B)])


def run_lava(ir: NetworkIR, inp: np.ndarray, record_v: bool = False) -> SimResult:
    """Run `ir` on encoded input `inp` (B clips) in Lava; spikes aligned like the emulator's."""
    from lava.magma.core.run_conditions import RunSteps

    B, T = inp.shape[0], ir.num_steps
    t0 = time.perf_counter()
    g = build(ir, inp, record_v=record_v)
    try:
        g.source.run(condition=RunSteps(num_steps=g.total_steps), run_cfg=run_config())
        spikes = [align_layer(monitor_array(m, lif, "s_out"), i, B, T) != 0
                  for i, (m, lif) in enumerate(zip(g.spike_monitors, g.lifs))]
        vs = [align_layer(monitor_array(m, lif, "v"), i, B, T) for i, (m, lif) in enumerate(zip(g.v_monitors, g.lifs))]
    finally:
        g.source.stop()
    meta = {"encoding": ir.input.encoding, "num_steps": T, "seconds": time.perf_counter() - t0,
            "lava_steps": g.total_steps}
    if record_v:
        meta["v"] = vs
    return SimResult(backend="lava", input=inp, layer_spikes=spikes, meta=meta)
