"""`neurodeploy doctor`: versions, CPU/GPU, and a real 3-step Lava fixed-point run."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import time

import typer

from toolchain.cli.app import JSON_OPTION, app, console, emit

PACKAGES = ["lava-nc", "lava-dl", "torch", "snntorch", "numpy", "nir", "onnxruntime", "ray"]


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "missing"


def lava_smoke_test() -> dict:
    """Run Source -> Dense -> LIF for 3 steps under Loihi2SimCfg(select_tag='fixed_pt').

    Expected (worked by hand from Lava's bit-accurate LIF, du=4095, dv=0, vth=1):
    the input 1 at step 1 reaches the LIF at step 2 (Dense delay) as a=100, u=100*64=6400,
    v=6400 > 64 -> spike at step 2 only. Returns the spikes and whether they match.
    """
    import numpy as np
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF

    data = np.array([[1, 0, 0]], dtype=np.int32)
    src = Source(data=data)
    dense = Dense(weights=np.array([[100]], dtype=np.int32), num_weight_bits=8)
    lif = LIF(shape=(1,), du=4095, dv=0, vth=1, bias_mant=0, bias_exp=0)
    sink = Sink(shape=(1,), buffer=3)
    src.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    lif.s_out.connect(sink.a_in)
    t0 = time.perf_counter()
    try:
        src.run(condition=RunSteps(num_steps=3), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        spikes = sink.data.get().astype(int).ravel().tolist()
    finally:
        src.stop()
    expected = [0, 1, 0]
    return {"spikes": spikes, "expected": expected, "ok": spikes == expected,
            "seconds": round(time.perf_counter() - t0, 3)}


@app.command()
def doctor(as_json: bool = JSON_OPTION) -> None:
    """Print the software and hardware this runs on, and prove Lava works with a 3-step fixed-point run."""
    import sys

    info: dict = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
        "cpu_threads": os.cpu_count(),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["gpu"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] \
            if torch.cuda.is_available() else []
    except Exception as exc:  # torch missing or broken: report, do not crash
        info["gpu"] = f"torch unavailable: {exc}"
    try:
        info["lava"] = lava_smoke_test()
    except Exception as exc:
        info["lava"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def render(r: dict) -> None:
        console.print(f"Python {r['python']} on {r['platform']}")
        for k, v in r["packages"].items():
            console.print(f"  {k:12s} {v}")
        console.print(f"CPU threads: {r['cpu_threads']}  torch threads: {r.get('torch_threads')}")
        console.print(f"GPU: {r['gpu'] or 'none'}")
        lava = r["lava"]
        if lava.get("ok"):
            console.print(f"[green]Lava fixed-point run OK[/] (spikes {lava['spikes']}, {lava['seconds']} s)")
        else:
            console.print(f"[red]Lava run FAILED[/]: {lava}")

    emit(info, as_json, render)
    if not info["lava"].get("ok"):
        raise typer.Exit(1)
