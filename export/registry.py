"""The back-end registry: every target a deployment can be written to or run on, behind one interface.

    BACKENDS[name] -> Backend(name, what, writes, problems, write, run)

- `problems(ir)`: what this back end cannot express of the IR (empty: it can take it whole);
- `write(deployment, out)`: write the artifact (a folder or a file) and return notes (warnings);
  None when the back end has nothing to write (the emulator);
- `run(ir, inp, record)`: simulate encoded input `inp` (`toolchain.represent.encoding.encode_for_ir`)
  and return a SimResult indexed by the step of the classification; None when it cannot run.

`verify`, `export`, the pipeline and the report loop over this registry instead of naming back ends.
Adding a back end is one module with its writer/runner and one entry here.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from toolchain.core.result import SimResult
from toolchain.ir.graph import NetworkIR


@dataclass(frozen=True)
class Backend:
    name: str
    what: str  # one line for listings
    writes: str  # "folder" | "file" | "nothing"
    suffix: str  # the artifact's conventional name suffix ("" for folders)
    problems: Callable[[NetworkIR], list[str]]
    write: Callable[..., list[str]] | None
    run: Callable[[NetworkIR, np.ndarray, bool], SimResult] | None
    needs_float: bool = False  # writes the float model (NIR), not the fixed-point IR
    source: str = "deployment"  # what `write` takes: a Deployment, or "run" (a training run folder)

    def can_run(self, ir: NetworkIR) -> bool:
        return self.run is not None and not self.problems(ir)


# ---- emulator --------------------------------------------------------------------------------------

def _emulator_run(ir: NetworkIR, inp: np.ndarray, record: bool = False) -> SimResult:
    from toolchain.emulator import Emulator

    return Emulator(ir).run(inp, record_v=record)


# ---- Lava ------------------------------------------------------------------------------------------

def _lava_problems(ir: NetworkIR) -> list[str]:
    return []  # every IR kind has a Lava builder (export.lava_runtime.BUILDERS)


def _lava_write(dep, out) -> list[str]:
    from export.lava_graph import export_lava

    export_lava(dep.ir, out)
    notes = []
    if any(layer.has_neurons and layer.reset == "subtract" for layer in dep.ir.layers):
        notes.append("a layer resets by subtraction: the exported graph uses neurodeploy's custom Lava model "
                     "(CPU simulator only; real Loihi 2 would need custom neuron microcode)")
    return notes


def _lava_run(ir: NetworkIR, inp: np.ndarray, record: bool = False) -> SimResult:
    from export.lava_graph import run_lava

    return run_lava(ir, inp, record_v=record)


# ---- netx ------------------------------------------------------------------------------------------

def _netx_problems(ir: NetworkIR) -> list[str]:
    from export.netx import netx_problems

    return netx_problems(ir)


def _netx_write(dep, out) -> list[str]:
    from export.netx import write_netx

    write_netx(dep.ir, out)
    return []


def _netx_run(ir: NetworkIR, inp: np.ndarray, record: bool = False) -> SimResult:
    from export.netx import run_netx, write_netx

    with tempfile.TemporaryDirectory(prefix="neurodeploy-netx-") as tmp:
        path = write_netx(ir, Path(tmp) / f"{ir.name}.net")
        return run_netx(path, ir, inp, record=record)


# ---- NIR -------------------------------------------------------------------------------------------

def _nir_problems(ir: NetworkIR) -> list[str]:
    bad = [f"layer '{layer.name}' ({layer.kind})" for layer in ir.layers if layer.kind not in ("dense", "conv", "flatten")]
    return [f"NIR export of {', '.join(bad)} is not supported"] if bad else []


def _nir_write(dep, out) -> list[str]:
    from export.nir_export import write_nir
    from toolchain.core.errors import ArtifactError

    if dep.float_net is None:
        raise ArtifactError("NIR export needs the float network the IR came from (float_network.safetensors)")
    return list(write_nir(dep.float_net, out)[1])


# ---- ONNX ------------------------------------------------------------------------------------------

def _onnx_problems(ir: NetworkIR) -> list[str]:
    return ["ONNX holds the ANN baselines (export a training run of kind ann_mlp or cnn), not the spiking network"]


def _onnx_write(run_dir, out) -> list[str]:
    from export.onnx_export import export_run_onnx

    res = export_run_onnx(run_dir, out)
    return [f"onnxruntime vs torch on {res['onnx_check']['clips']} clips: max |diff| {res['onnx_check']['max_abs_diff']}"]


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("emulator", "neurodeploy's bit-exact batched emulator (the reference for every comparison)",
            "nothing", "", lambda ir: [], None, _emulator_run),
    Backend("lava", "Lava process graph on Loihi2SimCfg(fixed_pt), also exported as a standalone folder",
            "folder", "", _lava_problems, _lava_write, _lava_run),
    Backend("netx", "lava-dl netx HDF5 (.net), loaded and run by stock lava.lib.dl.netx.hdf5.Network",
            "file", ".net", _netx_problems, _netx_write, _netx_run),
    Backend("nir", "NIR graph of the float model (nir.write; read by nir.read and snntorch)",
            "file", ".nir", _nir_problems, _nir_write, None, needs_float=True),
    Backend("onnx", "ONNX of an ANN baseline, checked against torch with onnxruntime",
            "file", ".onnx", _onnx_problems, _onnx_write, None, source="run"),
)}


def runnable(ir: NetworkIR, names=None) -> list[Backend]:
    """Back ends (other than the emulator) that can run `ir`, in registry order."""
    return [b for name, b in BACKENDS.items() if name != "emulator" and (names is None or name in names)
            and b.can_run(ir)]
