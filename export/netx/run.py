"""Run a .net file through stock `lava.lib.dl.netx.hdf5.Network` on Lava's CPU simulator.

Streaming and alignment are those of `export.lava_runtime`: clip c's input occupies global steps
c*T + 1 .. c*T + T, netx resets every block's neurons every T steps with the block's phase
(hdf5.Network(reset_interval=T, reset_offset=r) gives block k the offset r + 1 + k; r is the first
population's delay, so block k's offset is its own delay + 1, as in our Lava graph), and each
population's recording is cut at its delay. With the "bias" encoding each clip's values are set as
the input block's bias_mant before its T steps, as lava-dl's own PilotNet test does.
"""

from __future__ import annotations

import os
import time

import numpy as np

from export.netx.files import check_netx_file
from toolchain.core.errors import ArtifactError
from toolchain.core.result import SimResult
from toolchain.ir.graph import NetworkIR


def load_netx(path: str | os.PathLike, ir_like: NetworkIR):
    """Stock netx Network for `path` (checked first), with per-classification resets every num_steps."""
    from lava.lib.dl.netx import hdf5

    check_netx_file(path)
    delays = ir_like.delays()
    try:
        return hdf5.Network(net_config=str(path), reset_interval=ir_like.num_steps, reset_offset=delays[0],
                            input_message_bits=int(ir_like.input.bits) if ir_like.input.graded else 0)
    except Exception as exc:  # h5py/netx raise assorted errors on truncated or foreign files
        raise ArtifactError(f".net file {path} could not be loaded by netx ({type(exc).__name__}: {exc})") from None


def run_netx(path: str | os.PathLike, ir_like: NetworkIR, inp: np.ndarray, record: bool = False) -> SimResult:
    """Run the .net file through stock netx on encoded input `inp` (as `encode_for_ir` makes it).

    `ir_like` is the IR the file was written from or read into (its populations, delays, encoding).
    Returns spikes per population [B, T, n] (and with `record`, meta "v" and "u"), flattened
    channels first like the emulator's."""
    import tempfile

    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer

    from export.lava_graph import process_spec
    from export.lava_runtime import (
        align_layer,
        attach_recorders,
        from_lava_layout,
        read_recording,
        source_data,
        to_lava_layout,
    )

    B, T = inp.shape[0], ir_like.num_steps
    t0 = time.perf_counter()
    net = load_netx(path, ir_like)
    spiking, delays = ir_like.spiking, ir_like.delays()
    if len(net.layers) != len(spiking):
        raise ArtifactError(f".net file {path}: netx built {len(net.layers)} blocks, the network has "
                            f"{len(spiking)} populations")
    total = B * T + max(delays)
    spec = process_spec(ir_like)[0]
    bias_input = ir_like.input.encoding == "bias"
    if not bias_input:
        source = RingBuffer(data=source_data(spec, inp))
        source.s_out.connect(net.inp)
    tmp = tempfile.TemporaryDirectory(prefix="netx-recordings-")
    recordings = [attach_recorders(block.neuron, total, tmp.name, f"block{k}", record)
                  for k, block in enumerate(net.layers)]
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    try:
        if bias_input:
            neuron, shape = net.layers[0].neuron, spiking[0].out_shape
            for c in range(B):
                bias = to_lava_layout(np.asarray(inp[c], dtype=np.int32), shape).astype(np.int32)
                if c == 0:
                    neuron.bias_mant.init = bias
                else:
                    neuron.bias_mant.set(bias)
                net.run(condition=RunSteps(num_steps=T), run_cfg=cfg)
            if total > B * T:
                net.run(condition=RunSteps(num_steps=total - B * T), run_cfg=cfg)
        else:
            net.run(condition=RunSteps(num_steps=total), run_cfg=cfg)
    finally:
        net.stop()
    out = {var: [align_layer(from_lava_layout(read_recording(r[var]), p.out_shape), d, B, T)
                 for r, p, d in zip(recordings, spiking, delays)] for var in recordings[0]}
    tmp.cleanup()
    meta = {"seconds": time.perf_counter() - t0, "num_steps": T}
    if record:
        meta["v"], meta["u"] = out["v"], out["u"]
    return SimResult(backend="netx", input=inp, layer_spikes=[s != 0 for s in out["s_out"]], meta=meta)
