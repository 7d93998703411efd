"""neurodeploy commands: quantize, export, simulate, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from toolchain.cli.app import JSON_OPTION, PROGRESS_OPTION, app, console, emit, print_warning
from toolchain.core.errors import ConfigError
from toolchain.core.outputs import check_writable

IR_NAME = "network.ndir"
QUANTIZE_MARKER = ".neurodeploy-quantize"
QUANTIZE_FILES = (IR_NAME, "float_network.safetensors", "quantization.json", "quantization.md")


def _is_quantize_folder(folder: Path) -> bool:
    """An IR file of neurodeploy's there (its safetensors header names the IR kind)."""
    from safetensors import safe_open

    from toolchain.ir.io import FILE_KIND

    try:
        with safe_open(str(folder / IR_NAME), framework="numpy") as fh:
            return FILE_KIND in (fh.metadata() or {})
    except Exception:  # absent, truncated or foreign: not provably ours
        return False


def load_deployment(q: Path):
    """(IR, float network or None) of a quantise folder or IR file (see toolchain.deploy)."""
    from toolchain import deploy

    return deploy.load_deployment(q)


def _progress_cb(total: int, label: str):
    """A transient stderr bar; returns update(n_done), which closes the bar at `total`."""
    from toolchain.core.progress import stderr_progress

    prog = stderr_progress(transient=True)
    task = prog.add_task(label, total=total)
    prog.start()

    def update(done: int) -> None:
        prog.update(task, completed=done)
        if done >= total:
            prog.stop()
    return update


@app.command()
def quantize(
    run: Optional[Path] = typer.Argument(None, help="A training run folder (neurodeploy train) holding an SNN."),
    out: Path = typer.Option(..., "--out", help="Output folder: network.ndir (IR), float_network.safetensors, "
                             "quantization.json / .md."),
    nir_file: Optional[Path] = typer.Option(None, "--nir", help="Quantise a NIR graph instead of a run."),
    num_steps: int = typer.Option(0, min=0, help="Time steps per classification (with --nir; >= 1)."),
    encoding: str = typer.Option("dc", help="Input encoding of a --nir network: dc | rate | latency."),
    nir_dt: Optional[float] = typer.Option(None, help="Euler step for NIR's continuous neurons (default 1e-4 s)."),
    calib_npy: Optional[Path] = typer.Option(None, help="Calibration features [N, n_in] in [0, 1] (.npy), for --nir."),
    calib: int = typer.Option(256, min=1, help="Calibration clips taken from the run's training split."),
    weight_bits: int = typer.Option(8, help="Signed weight bits (Loihi: up to 9)."),
    input_bits: int = typer.Option(8, help="Bits of the graded input payload."),
    dc_input: str = typer.Option("graded_once", help="How a DC input reaches layer 1: graded_once | graded_every_step."),
    netx_compatible: bool = typer.Option(False, help="Only choices netx's .net can express (no weight exponent on the "
                                         "graded input layer, bias_exp 6): exportable as netx, less input precision."),
    qat_epochs: int = typer.Option(0, min=0, help="Quantisation-aware fine-tuning epochs before quantising (0 = off)."),
    qat_lr: float = typer.Option(1e-4, help="Learning rate of the QAT fine-tuning (> 0)."),
    force: bool = typer.Option(False, "--force", help="Replace files of a quantise folder's names in --out even "
                               "though neurodeploy did not write them."),
    as_json: bool = JSON_OPTION,
    no_progress: bool = PROGRESS_OPTION,
) -> None:
    """Quantise a trained SNN (or a NIR graph) to Loihi fixed point; report float vs quantised."""
    import math

    from toolchain.core.fileio import write_text
    from toolchain.core.outputs import claim_folder
    from toolchain.quantize import QuantConfig
    from toolchain.quantize.report import render_markdown

    cfg = QuantConfig(weight_bits=weight_bits, input_bits=input_bits, dc_input=dc_input,
                      netx_compatible=netx_compatible).validate()
    if (run is None) == (nir_file is None):
        raise ConfigError("give either a RUN folder or --nir FILE (not both)")
    if not (math.isfinite(qat_lr) and qat_lr > 0):
        raise ConfigError(f"--qat-lr {qat_lr}: must be a finite number > 0")
    if nir_dt is not None and not (math.isfinite(nir_dt) and nir_dt > 0):
        raise ConfigError(f"--nir-dt {nir_dt}: must be a finite number > 0")
    if nir_file is not None and num_steps < 1:
        raise ConfigError("--num-steps must be >= 1 with --nir")
    if nir_file is not None and calib_npy is None:
        raise ConfigError("--nir needs --calib-npy FEATURES.npy (typical inputs in [0, 1]) for calibration")
    claim_folder(out, QUANTIZE_FILES, QUANTIZE_MARKER, force=force, recognise=_is_quantize_folder,
                 need_bytes=16 << 20)  # checked before any work (the IR and float weights: checked again below)
    if nir_file is not None:
        from toolchain.core.budget import check_simulation
        from toolchain.deploy import deploy_nir
        from toolchain.deploy.features import load_npy_features
        from toolchain.frontends.from_nir import from_nir

        net = from_nir(nir_file, num_steps, encoding, dt=nir_dt)
        x = load_npy_features(str(calib_npy), net.n_in)
        check_simulation(f"quantising {nir_file}: calibration", num_steps, len(x), net.sizes,
                         keys="--num-steps, the clips in --calib-npy")
        dep = deploy_nir(nir_file, x, num_steps, encoding, dt=nir_dt, quant=cfg, name=nir_file.stem)
    else:
        from toolchain.quantize.from_run import quantize_run

        dep = quantize_run(run, cfg, calib_clips=calib, progress=not (as_json or no_progress), qat_epochs=qat_epochs,
                           qat_lr=qat_lr)
    check_writable(out, need_bytes=4 * 3 * sum(int(a.size) for la in dep.ir.layers for a in la.tensors().values())
                   + (4 << 20))  # the IR, the float weights, their atomic temporaries
    dep.save(out)
    write_text(out / "quantization.md", render_markdown(dep.report))
    result = {"out": str(out), "ir": str(out / IR_NAME), "sizes": dep.ir.sizes, "num_steps": dep.ir.num_steps,
              "input_encoding": dep.ir.input.encoding, "layers": dep.report["layers"],
              "evaluation": dep.report.get("evaluation")}

    def render(r: dict) -> None:
        console.print(render_markdown(dep.report), markup=False, highlight=False)
        console.print(f"[green]wrote[/] {escape(r['ir'])} and the report in {escape(r['out'])}")

    emit(result, as_json, render)


@app.command()
def export(
    src: Path = typer.Argument(..., help="A quantise folder / IR (lava, netx, nir) or a training run (onnx, nir)."),
    fmt: str = typer.Option(..., "--format", help="lava | netx | nir | onnx"),
    out: Path = typer.Option(..., "--out", help="Output path (a folder for lava, a file otherwise)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Export a deployment (Lava graph folder, netx .net, NIR) or an ANN baseline (ONNX)."""
    from types import SimpleNamespace

    from export.registry import BACKENDS

    fmt = fmt.lower()
    writers = [n for n, b in BACKENDS.items() if b.write is not None]
    if fmt not in writers:
        raise ConfigError(f"--format {fmt!r} is not one of {', '.join(writers)}")
    backend = BACKENDS[fmt]
    check_writable(out, folder=backend.writes == "folder")
    result: dict = {"format": fmt, "out": str(out)}
    if backend.source == "run":
        result["warnings"] = backend.write(src, out)
    else:
        if backend.needs_float and (src / "manifest.json").is_file() and not (src / IR_NAME).is_file():
            from toolchain.train import load_run

            dep = SimpleNamespace(ir=None, float_net=load_run(src).model.to_float_network())
        else:
            ir, net = load_deployment(src)
            dep = SimpleNamespace(ir=ir, float_net=net)
            problems = backend.problems(ir)
            if problems:
                raise ConfigError(f"{src}: cannot export as {fmt}: {'; '.join(problems)}")
        result["warnings"] = backend.write(dep, out)

    def render(r: dict) -> None:
        for w in r.get("warnings", []):
            print_warning(w)
        console.print(f"[green]exported[/] {escape(r['format'])} -> {escape(r['out'])}")

    emit(result, as_json, render)


def _features(ir, data: Path, clips: int, as_json: bool, progress: bool = True):
    from toolchain.deploy.features import select_features

    sel = select_features(ir.metadata, str(data), clips, progress=progress and not as_json)
    if sel.skipped and not as_json:
        print_warning(f"{len(sel.skipped)} clips skipped while loading "
                      f"({', '.join(p.file for p in sel.skipped[:5])}{' ...' if len(sel.skipped) > 5 else ''})")
    return sel


def _inputs(ir, data: Path | None, inputs: Path | None, clips: int, as_json: bool, progress: bool = True):
    """(x, labels or None, selection note) from a data set (features of its clips) or a .npy of inputs
    in the IR's own input form."""
    if (data is None) == (inputs is None):
        raise ConfigError("give either --data PATH (clips of a data set) or --inputs X.npy (inputs in the "
                          "network's own form), not both")
    if inputs is not None:
        from toolchain.deploy.features import load_ir_inputs

        x = load_ir_inputs(str(inputs), ir)
        return x[:clips] if clips else x, None, f"{inputs}"
    sel = _features(ir, data, clips, as_json, progress)
    return sel.x, sel.labels, sel.note


def _save_spikes(path: Path, ir, res) -> None:
    """S.npz: one array per population, layer0, layer1, ..., bool [clips, steps, *population shape]."""
    import io

    import numpy as np

    from toolchain.core.fileio import write_bytes

    arrays = {f"layer{i}": s.reshape(s.shape[:2] + tuple(layer.out_shape))
              for i, (s, layer) in enumerate(zip(res.layer_spikes, ir.spiking))}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_bytes(path, buf.getvalue())


@app.command()
def simulate(
    q: Path = typer.Argument(..., help="A quantise folder or IR file."),
    backend: str = typer.Option("emulator", help="A back end that runs networks: emulator | lava | netx."),
    data: Optional[Path] = typer.Option(None, help="Data set (Kaggle layout folder or zip): its clips' features."),
    inputs: Optional[Path] = typer.Option(None, "--inputs", help="X.npy: one input per clip in the network's own "
                                          "form (features in [0, 1]; spike trains [clips, steps, ...]; biases)."),
    clips: int = typer.Option(100, min=1, help="How many clips (validation split when the data set is the training one)."),
    num_steps: int = typer.Option(0, "--num-steps", min=0, help="Steps per classification instead of the IR's (0: keep)."),
    save_spikes: Optional[Path] = typer.Option(None, "--save-spikes", help="S.npz: per population layer0, layer1, "
                                               "... spikes [clips, steps, *shape]."),
    seed: int = typer.Option(0, min=0, help="Seed of rate-coded input spikes."),
    as_json: bool = JSON_OPTION,
    no_progress: bool = PROGRESS_OPTION,
) -> None:
    """Run the quantised network with the bit-exact emulator or another back end; accuracy, AUC, activity."""
    import dataclasses

    from export.registry import BACKENDS
    from toolchain.core.metrics import auc
    from toolchain.represent.encoding import encode_for_ir

    check_writable(save_spikes, what="--save-spikes", folder=False)  # before the run, not after it
    ir, _ = load_deployment(q)
    if num_steps:
        ir = dataclasses.replace(ir, num_steps=int(num_steps))
    if backend not in BACKENDS or BACKENDS[backend].run is None:
        raise ConfigError(f"--backend {backend!r} is not one that runs networks "
                          f"({', '.join(n for n, b in BACKENDS.items() if b.run)})")
    problems = BACKENDS[backend].problems(ir)
    if problems:
        raise ConfigError(f"--backend {backend}: {problems[0]}")
    x, labels, note = _inputs(ir, data, inputs, clips, as_json, not no_progress)
    if backend == "emulator":
        from toolchain.emulator import Emulator

        emu = Emulator(ir)
        prog = None if as_json or no_progress else _progress_cb(len(x), "emulator")
        res = emu.simulate(x, seed, progress=prog)
    else:
        res = BACKENDS[backend].run(ir, encode_for_ir(ir, x, seed), False)
    if save_spikes is not None:
        _save_spikes(save_spikes, ir, res)
    labelled = labels >= 0 if labels is not None else None
    have = labelled is not None and labelled.any()
    result = {"backend": backend, "clips": len(x), "selection": note, "num_steps": ir.num_steps,
              "seconds": res.meta["seconds"], "clips_per_s": len(x) / max(res.meta["seconds"], 1e-9),
              "accuracy": float((res.decisions[labelled] == labels[labelled]).mean()) if have else None,
              "auc": auc(labels[labelled], res.scores()[labelled]) if have else None,
              "firing_rates": [float(s.mean()) for s in res.layer_spikes],
              "spikes_per_clip": [float(s.sum(axis=(1, 2)).mean()) for s in res.layer_spikes],
              "spikes_file": str(save_spikes) if save_spikes else None}

    def render(r: dict) -> None:
        console.print(f"{r['backend']}: {r['clips']} clips ({r['selection']}) x {r['num_steps']} steps in "
                      f"{r['seconds']:.2f} s ({r['clips_per_s']:.1f} clips/s)", markup=False)
        if r["auc"] is not None or r["accuracy"] is not None:
            console.print(f"accuracy {r['accuracy']}, AUC {r['auc']}")
        for i, (fr, sp) in enumerate(zip(r["firing_rates"], r["spikes_per_clip"])):
            console.print(f"  layer {i}: firing rate {fr:.4f}, {sp:.1f} spikes per clip")
        if r["spikes_file"]:
            console.print(f"[green]wrote[/] spikes to {r['spikes_file']}")

    emit(result, as_json, render)


@app.command()
def verify(
    q: Path = typer.Argument(..., help="A quantise folder (IR + float network) or IR file."),
    data: Optional[Path] = typer.Option(None, help="Data set (Kaggle layout folder or zip)."),
    inputs: Optional[Path] = typer.Option(None, "--inputs", help="X.npy: inputs in the network's own form."),
    clips: int = typer.Option(20, min=1, help="Clips run through the float model, the emulator and each back end."),
    backend: list[str] = typer.Option(["lava"], "--backend", help="Back end(s) compared with the emulator "
                                      "(repeat: --backend lava --backend netx)."),
    seed: int = typer.Option(0, min=0, help="Seed of rate-coded input spikes."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Float snntorch model vs emulator vs each back end on the same clips; exit 1 unless every back end
    equals the emulator for every neuron at every step."""
    from export.registry import BACKENDS
    from toolchain.verify import verify as run_verify

    for name in backend:
        if name not in BACKENDS or BACKENDS[name].run is None or name == "emulator":
            raise ConfigError(f"--backend {name!r} is not a back end to verify against "
                              f"({', '.join(n for n, b in BACKENDS.items() if b.run and n != 'emulator')})")
    ir, net = load_deployment(q)
    x, labels, note = _inputs(ir, data, inputs, clips, as_json)
    labels = labels if labels is not None and (labels >= 0).all() else None
    report = run_verify(ir, net if inputs is None else None, x, labels=labels, seed=seed, backends=tuple(backend))
    report.update(selection=note)

    def render(r: dict) -> None:
        from rich.table import Table

        for name, b in r["backends"].items():
            if not b["compared"]:
                console.print(f"{name}: not compared ({'; '.join(b['problems'])})", markup=False)
                continue
            t = Table(title=f"emulator vs {name}, {r['clips']} clips x {r['num_steps']} steps ({escape(r['selection'])})")
            for col in ("layer", "exact", "agreement", "mismatches", "spikes emulator", f"spikes {name}"):
                t.add_column(col)
            for row in b["layers"]:
                t.add_row(str(row["layer"]), "yes" if row["exact"] else "[red]NO[/]", f"{row['agreement']:.2%}",
                          str(row["mismatches"]), str(row["spikes_emulator"]), str(row[f"spikes_{name}"]))
            console.print(t)
            console.print(f"output counts equal: {b['output_counts_equal']}")
        fq = r.get("float_vs_quantised")
        if fq:
            console.print(f"float vs quantised: decision agreement {fq['decision_agreement']:.2%}"
                          + (f", AUC {fq['auc_float']} vs {fq['auc_quantised']}" if fq.get("auc_float") is not None else ""))
        names = ", ".join(n for n, b in r["backends"].items() if b["compared"])
        if r["ok"] is None:
            console.print("[yellow]NOT VERIFIED: no back end could be compared[/]")
        elif r["ok"]:
            console.print(f"[green]VERIFIED: emulator == {names}[/]")
        else:
            bad = ", ".join(n for n, b in r["backends"].items() if b["compared"] and not b["exact"])
            console.print(f"[red]MISMATCH: emulator != {bad}[/]")

    emit(report, as_json, render)
    if report["ok"] is not True:  # False: a mismatch; None: nothing was compared (not verified)
        raise typer.Exit(1)


@app.command("import")
def import_net(
    src: Path = typer.Argument(..., help="A lava-dl netx .net file (e.g. lava-dl's PilotNet)."),
    out: Path = typer.Option(..., "--out", help="Output folder: network.ndir (the IR) and quantization.json "
                             "(the import's record), as a quantise folder."),
    num_steps: int = typer.Option(0, "--num-steps", min=0, help="Steps per classification (0, the default: "
                                  "the file's simulation/tSample)."),
    input_encoding: Optional[str] = typer.Option(None, help="bias (an input population driven by each clip's "
                                                 "values, the default when the file has one) | spikes."),
    force: bool = typer.Option(False, "--force", help="Replace network.ndir / quantization.json in --out even "
                               "if neurodeploy did not write them."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import a lava-dl netx network as a neurodeploy IR (verify, emulate, count and price it)."""
    from toolchain.core.outputs import claim_folder
    from toolchain.deploy import deploy_netx

    dep = deploy_netx(src, num_steps=num_steps or None, input_encoding=input_encoding)
    claim_folder(out, QUANTIZE_FILES, QUANTIZE_MARKER, force=force, recognise=_is_quantize_folder,
                 need_bytes=16 << 20)  # after the file was read: a bad .net leaves no folder behind
    dep.save(out)
    ir = dep.ir
    result = {"out": str(out), "ir": str(out / IR_NAME), "source": str(src), "num_steps": ir.num_steps,
              "input_encoding": ir.input.encoding, "input_shape": list(ir.input.shape),
              "layers": [{"name": la.name, "kind": la.kind, "out_shape": list(la.out_shape)} for la in ir.layers]}

    def render(r: dict) -> None:
        console.print(f"imported {r['source']}: {len(r['layers'])} layers, input {r['input_encoding']} "
                      f"{r['input_shape']}, {r['num_steps']} steps", markup=False)
        for la in r["layers"]:
            console.print(f"  {la['name']:<12} {la['kind']:<10} -> {la['out_shape']}", markup=False)
        console.print(f"[green]wrote[/] {r['ir']}")

    emit(result, as_json, render)
