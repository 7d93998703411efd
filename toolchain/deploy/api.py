"""Python API: deploy any snntorch or NIR network to the Loihi fixed-point IR, then verify it on Lava.

    import torch, snntorch as snn
    from toolchain.deploy import deploy_snntorch
    net = torch.nn.Sequential(torch.nn.Linear(64, 32, bias=False), snn.Leaky(beta=0.9, init_hidden=True),
                              torch.nn.Linear(32, 2, bias=False), snn.Leaky(beta=0.9, init_hidden=True, output=True))
    dep = deploy_snntorch(net, example_inputs=torch.rand(100, 64), num_steps=20)   # inputs in [0, 1]
    dep.save("q/")                      # q/network.ndir (IR), q/float_network.safetensors, q/quantization.json
    print(dep.verify(torch.rand(10, 64).numpy())["ok"])   # emulator == Lava, spike for spike

`example_inputs` calibrate the quantiser's ranges (a few hundred typical inputs in [0, 1]).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolchain.core.fileio import write_json
from toolchain.deploy.artifacts import FLOAT_FILE, IR_FILE, REPORT_FILE
from toolchain.frontends.float_net import FloatNetwork, save_float_network
from toolchain.frontends.from_nir import from_nir
from toolchain.frontends.from_snntorch import from_snntorch
from toolchain.ir import NetworkIR, save_ir
from toolchain.quantize import QuantConfig, quantize


@dataclass
class Deployment:
    """A quantised network with the float network it came from (None for an imported fixed-point
    network such as a lava-dl .net) and the quantiser's (or importer's) record."""

    ir: NetworkIR
    float_net: FloatNetwork | None
    report: dict

    def save(self, folder: str | os.PathLike) -> Path:
        """Write the IR, the float network and the record into `folder` (atomically each)."""
        folder = Path(folder)
        save_ir(self.ir, folder / IR_FILE)
        if self.float_net is not None:
            save_float_network(self.float_net, folder / FLOAT_FILE)
        write_json(folder / REPORT_FILE, self.report)
        return folder

    def verify(self, x: np.ndarray, labels=None, lava: bool = True, seed: int = 0,
               backends: tuple[str, ...] | None = None) -> dict:
        """Float model vs emulator vs Lava (or `backends`) on inputs x (see toolchain.verify)."""
        from toolchain.verify import verify

        return verify(self.ir, self.float_net, x, labels=labels, seed=seed, lava=lava, backends=backends)


def _as_numpy(x) -> np.ndarray:
    try:
        import torch

        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(x.shape[0], -1)


def deploy_float(net: FloatNetwork, example_inputs, quant: QuantConfig | None = None, name: str = "network") -> Deployment:
    """Quantise an already-described float network."""
    ir, report = quantize(net, _as_numpy(example_inputs), quant, name=name)
    return Deployment(ir, net, report)


def deploy_snntorch(model, example_inputs, num_steps: int, encoding: str = "dc",
                    quant: QuantConfig | None = None, name: str = "snntorch") -> Deployment:
    """Deploy an snntorch nn.Sequential / module of Linear + Leaky (see toolchain.frontends.from_snntorch)."""
    x = _as_numpy(example_inputs)
    net = from_snntorch(model, num_steps, encoding, input_shape=tuple(np.shape(example_inputs)[1:]), name=name)
    return deploy_float(net, x, quant, name)


def deploy_netx(path: str | os.PathLike, num_steps: int | None = None, input_encoding: str | None = None,
                name: str | None = None) -> Deployment:
    """Import a lava-dl netx .net network (already fixed point) as a Deployment without a float model.

    num_steps: steps per classification (default: the file's simulation/tSample); input_encoding:
    "bias" (an input population driven by each clip's values; the default when the file has one) or
    "spikes". See export.netx.read for what maps and what is refused."""
    from export.netx import read_netx

    ir = read_netx(path, num_steps=num_steps, input_encoding=input_encoding, name=name)
    report = {"imported": str(path), "frontend": "netx", "num_steps": ir.num_steps,
              "input_encoding": ir.input.encoding, "layers": [layer.params() for layer in ir.layers],
              "netx_input_transform": ir.metadata.get("netx_input_transform")}
    return Deployment(ir, None, report)


def deploy_nir(graph_or_path, example_inputs, num_steps: int, encoding: str = "dc", dt: float | None = None,
               quant: QuantConfig | None = None, name: str = "nir") -> Deployment:
    """Deploy a NIR graph or .nir file of Linear/Affine + LIF/CubaLIF/IF (see toolchain.frontends.from_nir)."""
    net = from_nir(graph_or_path, num_steps, encoding, dt=dt)
    return deploy_float(net, example_inputs, quant, name)
