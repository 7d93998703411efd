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


def _first_block_shape(ir: NetworkIR) -> list[int]:
    """The shape the first block reads from the source: its own input shape for conv / input
    populations, the flat input vector for dense ones."""
    first = next(layer for layer in ir.layers if layer.kind != "flatten")
    if first.kind in ("conv", "input"):
        return [int(v) for v in first.in_shape]
    return [int(ir.input.n_in)]


def process_spec(ir: NetworkIR) -> tuple[dict, dict[str, np.ndarray]]:
    """(spec, arrays): the Lava process parameters of every layer and their integer arrays."""
    from toolchain.ir.checks import max_input

    layers, arrays = [], {}
    delays = iter(ir.delays())
    for i, layer in enumerate(ir.layers):
        p = {"name": layer.name, "kind": layer.kind, "in_shape": [int(v) for v in layer.in_shape],
             "out_shape": [int(v) for v in layer.out_shape], "neurons": bool(layer.has_neurons)}
        if layer.has_neurons:
            p.update(delay=next(delays), **layer.neuron_params())
        if hasattr(layer, "weight"):
            graded = ir.input.graded and max_input(ir, i) > 1
            p.update(weight_exp=int(layer.weight_exp), num_message_bits=int(ir.input.bits) if graded else 0)
        if layer.kind == "dense_rec":
            p["weight_exp_rec"] = int(layer.rec_exp)
        if layer.kind == "conv":
            p.update(stride=list(layer.stride), padding=list(layer.padding), dilation=list(layer.dilation),
                     groups=int(layer.groups))
        layers.append(p)
        for name, arr in layer.tensors().items():
            arrays[f"{name}_{i}"] = np.asarray(arr, dtype=np.int32)
    spec = {"format": "neurodeploy-lava-graph", "version": 2, "name": ir.name, "num_steps": int(ir.num_steps),
            "input": {"n_in": int(ir.input.n_in), "encoding": ir.input.encoding, "bits": int(ir.input.bits),
                      "scale": float(ir.input.scale), "spike_encoder": ir.input.spike_encoder,
                      "shape": _first_block_shape(ir)},
            "layers": layers}
    return spec, arrays


def run_lava(ir: NetworkIR, inp: np.ndarray, record_v: bool = False) -> SimResult:
    """Run `ir` on encoded input `inp` (B clips) in Lava; spikes aligned like the emulator's.

    "frames" input [B, T, n_in] may have any T: each clip then runs T steps from rest, without a
    reset inside (a stream of T frames), whatever the IR's num_steps."""
    t0 = time.perf_counter()
    spec, arrays = process_spec(ir)
    if ir.input.encoding == "frames":
        spec["num_steps"] = int(inp.shape[1])
    out = lava_runtime.run(spec, arrays, inp, record_v)
    meta = {"encoding": ir.input.encoding, "num_steps": spec["num_steps"], "seconds": time.perf_counter() - t0,
            "lava_steps": out["steps"]}
    if record_v:
        meta["v"], meta["u"] = out["v"], out["u"]
    return SimResult(backend="lava", input=inp, layer_spikes=out["spikes"], meta=meta)


README = """Lava process graph exported by neurodeploy ({name}).

Files: network.json (per-layer Lava process parameters), network.npz (int32 weights and biases),
lava_runtime.py (builds the source and one block per layer ({kinds}: Dense / Conv / recurrent Dense ->
LIFReset) with recorders and runs it on Loihi2SimCfg(select_tag="fixed_pt")), lava_models/ (the
subtractive-reset neuron, if used).
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
    for rel in ("lava_runtime.py", "lava_models/__init__.py", "lava_models/subtract.py", "lava_models/recorder.py"):
        with atomic_path(out / rel) as tmp:
            shutil.copyfile(HERE / rel, tmp)
    write_text(out / "README.txt", README.format(name=ir.name, kinds=", ".join(ir.kinds), n_in=ir.input.n_in,
                                                 encoding=ir.input.encoding, bits=ir.input.bits, T=ir.num_steps,
                                                 scale=ir.input.scale))
    return out
