"""The IR as a Lava process graph: run it on Lava's CPU simulator, or export it as a standalone folder.

`process_spec` turns the IR into plain Lava process parameters and arrays; `export/lava_runtime.py`
(numpy + lava only) builds and runs the graph from them. The same runtime file is what an exported
folder contains, so the exported graph is the one neurodeploy tests.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from export import lava_runtime
from toolchain.core.fileio import atomic_path, write_npz, write_text
from toolchain.core.result import SimResult
from toolchain.ir.graph import NetworkIR

HERE = Path(__file__).resolve().parent


def process_spec(ir: NetworkIR) -> tuple[dict, dict[str, np.ndarray]]:
    """(spec, arrays): the Lava process parameters of every layer and their weight/bias arrays."""
    layers = []
    for i, layer in enumerate(ir.layers):
        layers.append({
            "name": layer.name, "n_in": layer.n_in, "n_out": layer.n_out,
            "num_message_bits": int(ir.input.bits) if (i == 0 and ir.input.graded) else 0,
            "weight_exp": int(layer.weight_exp), "du": int(layer.du), "dv": int(layer.dv), "vth": int(layer.vth),
            "bias_exp": int(layer.bias_exp), "reset": layer.reset,
        })
    spec = {"format": "neurodeploy-lava-graph", "version": 1, "name": ir.name, "num_steps": int(ir.num_steps),
            "input": {"n_in": int(ir.input.n_in), "encoding": ir.input.encoding, "bits": int(ir.input.bits),
                      "scale": float(ir.input.scale), "spike_encoder": ir.input.spike_encoder},
            "layers": layers}
    arrays = {}
    for i, layer in enumerate(ir.layers):
        arrays[f"weight_{i}"] = np.asarray(layer.weight, dtype=np.int32)
        arrays[f"bias_mant_{i}"] = np.asarray(layer.bias_mant, dtype=np.int32)
    return spec, arrays


def run_lava(ir: NetworkIR, inp: np.ndarray, record_v: bool = False) -> SimResult:
    """Run `ir` on encoded input `inp` (B clips) in Lava; spikes aligned like the emulator's."""
    t0 = time.perf_counter()
    spec, arrays = process_spec(ir)
    out = lava_runtime.run(spec, arrays, inp, record_v)
    meta = {"encoding": ir.input.encoding, "num_steps": ir.num_steps, "seconds": time.perf_counter() - t0,
            "lava_steps": out["steps"]}
    if record_v:
        meta["v"] = out["v"]
    return SimResult(backend="lava", input=inp, layer_spikes=out["spikes"], meta=meta)


README = """Lava process graph exported by neurodeploy ({name}).

Files: network.json (per-layer Lava process parameters), network.npz (int32 weights and biases),
lava_runtime.py (builds Source -> [Dense -> LIFReset] x {n_layers} with Monitors and runs it on
Loihi2SimCfg(select_tag="fixed_pt")), lava_models/ (the subtractive-reset neuron, if used).
Needs: Python 3.10, numpy<2, lava-nc 0.10.0.

    import json, numpy as np, lava_runtime
    spec = json.load(open("network.json"))
    arrays = dict(np.load("network.npz"))
    x_int = np.zeros((1, {n_in}), dtype=np.int32)   # input: {encoding}, {bits}-bit (see lava_runtime.source_data)
    spikes = lava_runtime.run(spec, arrays, x_int)["spikes"]   # per layer bool [clips, {T}, neurons]

Input quantisation: x_int = round(clip(x, 0, 1) * {scale}) for features x in [0, 1].
"""


def export_lava(ir: NetworkIR, out_dir: str | Path) -> Path:
    """Write a standalone Lava graph folder (see README in it); each file atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spec, arrays = process_spec(ir)
    write_text(out / "network.json", json.dumps(spec, indent=2) + "\n")
    write_npz(out / "network.npz", arrays)  # byte-reproducible (np.savez stamps the time)
    for rel in ("lava_runtime.py", "lava_models/__init__.py", "lava_models/subtract.py"):
        with atomic_path(out / rel) as tmp:
            shutil.copyfile(HERE / rel, tmp)
    write_text(out / "README.txt", README.format(name=ir.name, n_layers=len(ir.layers), n_in=ir.input.n_in,
                                                 encoding=ir.input.encoding, bits=ir.input.bits, T=ir.num_steps,
                                                 scale=ir.input.scale))
    return out
