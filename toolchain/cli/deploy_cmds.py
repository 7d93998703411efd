"""neurodeploy commands: quantize, export, simulate, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from toolchain.cli.app import JSON_OPTION, app, console, emit, print_warning
from toolchain.core.errors import ArtifactError, ConfigError

IR_NAME = "network.ndir"
QUANTIZE_MARKER = ".neurodeploy-quantize"
QUANTIZE_FILES = (IR_NAME, "float_network.safetensors", "quantization.json", "quantization.md")


def _is_quantize_folder(folder: Path) -> bool:
    """An IR file of neurodeploy's there (its safetensors header names the IR kind)."""
    from safetensors import safe_open

    from toolchain.ir.io import KIND

    try:
        with safe_open(str(folder / IR_NAME), framework="numpy") as fh:
            return KIND in (fh.metadata() or {})
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

        dep = quantize_run(run, cfg, calib_clips=calib, progress=not as_json, qat_epochs=qat_epochs, qat_lr=qat_lr)
    from toolchain.core.outputs import check_writable

    check_writable(out, need_bytes=4 * sum(int(la.weight.size) for la in dep.ir.layers) * 3 + (4 << 20))
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
    fmt = fmt.lower()
    result: dict = {"format": fmt, "out": str(out)}
    if fmt == "onnx":
        from export.onnx_export import export_run_onnx

        result.update(export_run_onnx(src, out))
    elif fmt in ("lava", "netx", "nir"):
        if fmt == "nir" and (src / "manifest.json").is_file() and not (src / IR_NAME).is_file():
            from toolchain.train import load_run

            net = load_run(src).model.to_float_network()
        else:
            ir, net = load_deployment(src)
        if fmt == "lava":
            from export.lava_graph import export_lava

            export_lava(ir, out)
        elif fmt == "netx":
            from export.netx import write_netx

            write_netx(ir, out)
        else:
            from export.nir_export import write_nir

            if net is None:
                raise ArtifactError(f"{src}: no float network beside the IR; NIR export needs the float model")
            _, notes = write_nir(net, out)
            result["warnings"] = notes
    else:
        raise ConfigError(f"--format {fmt!r} is not one of lava, netx, nir, onnx")

    def render(r: dict) -> None:
        for w in r.get("warnings", []):
            print_warning(w)
        console.print(f"[green]exported[/] {escape(r['format'])} -> {escape(r['out'])}")

    emit(result, as_json, render)


def _features(ir, data: Path, clips: int, as_json: bool):
    from toolchain.deploy.features import select_features

    sel = select_features(ir.metadata, str(data), clips, progress=not as_json)
    if sel.skipped and not as_json:
        print_warning(f"{len(sel.skipped)} clips skipped while loading "
                      f"({', '.join(p.file for p in sel.skipped[:5])}{' ...' if len(sel.skipped) > 5 else ''})")
    return sel


@app.command()
def simulate(
    q: Path = typer.Argument(..., help="A quantise folder or IR file."),
    backend: str = typer.Option("emulator", help="emulator | lava"),
    data: Path = typer.Option(..., help="Data set (Kaggle layout folder or zip)."),
    clips: int = typer.Option(100, min=1, help="How many clips (validation split when the data set is the training one)."),
    seed: int = typer.Option(0, min=0, help="Seed of rate-coded input spikes."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the quantised network on clips with the bit-exact emulator or Lava; accuracy, AUC, activity."""
    from toolchain.core.metrics import auc
    from toolchain.represent.encoding import encode_for_ir

    ir, _ = load_deployment(q)
    sel = _features(ir, data, clips, as_json)
    if backend == "emulator":
        from toolchain.emulator import Emulator

        res = Emulator(ir).simulate(sel.x, seed, progress=None if as_json else _progress_cb(len(sel.x), "emulator"))
    elif backend == "lava":
        from export.lava_graph import run_lava

        res = run_lava(ir, encode_for_ir(ir, sel.x, seed))
    else:
        raise ConfigError(f"--backend {backend!r} is not 'emulator' or 'lava'")
    labelled = sel.labels >= 0
    result = {"backend": backend, "clips": len(sel.x), "selection": sel.note, "seconds": res.meta["seconds"],
              "clips_per_s": len(sel.x) / res.meta["seconds"], "skipped": len(sel.skipped),
              "accuracy": float((res.decisions[labelled] == sel.labels[labelled]).mean()) if labelled.any() else None,
              "auc": auc(sel.labels[labelled], res.scores()[labelled]) if labelled.any() else None,
              "firing_rates": [float(s.mean()) for s in res.layer_spikes],
              "spikes_per_clip": [float(s.sum(axis=(1, 2)).mean()) for s in res.layer_spikes]}

    def render(r: dict) -> None:
        console.print(f"{r['backend']}: {r['clips']} clips ({escape(r['selection'])}) in {r['seconds']:.2f} s "
                      f"({r['clips_per_s']:.1f} clips/s)")
        console.print(f"accuracy {r['accuracy']}, AUC {r['auc']}")
        for i, (fr, sp) in enumerate(zip(r["firing_rates"], r["spikes_per_clip"])):
            console.print(f"  layer {i}: firing rate {fr:.4f}, {sp:.1f} spikes per clip")

    emit(result, as_json, render)


@app.command()
def verify(
    q: Path = typer.Argument(..., help="A quantise folder (IR + float network) or IR file."),
    data: Path = typer.Option(..., help="Data set (Kaggle layout folder or zip)."),
    clips: int = typer.Option(20, min=1, help="Clips run through float model, emulator and Lava."),
    seed: int = typer.Option(0, min=0, help="Seed of rate-coded input spikes."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Float snntorch model vs emulator vs Lava on the same clips; exit 1 unless emulator == Lava exactly."""
    from toolchain.verify import verify as run_verify

    ir, net = load_deployment(q)
    sel = _features(ir, data, clips, as_json)
    labels = sel.labels if (sel.labels >= 0).all() else None
    report = run_verify(ir, net, sel.x, labels=labels, seed=seed)
    report.update(selection=sel.note, skipped=len(sel.skipped))

    def render(r: dict) -> None:
        from rich.table import Table

        t = Table(title=f"emulator vs Lava, {r['clips']} clips x {r['num_steps']} steps ({escape(r['selection'])})")
        for col in ("layer", "exact", "agreement", "mismatches", "spikes emulator", "spikes lava"):
            t.add_column(col)
        for row in r["emulator_vs_lava"]:
            t.add_row(str(row["layer"]), "yes" if row["exact"] else "[red]NO[/]", f"{row['agreement']:.2%}",
                      str(row["mismatches"]), str(row["spikes_emulator"]), str(row["spikes_lava"]))
        console.print(t)
        console.print(f"output counts equal: {r['output_counts_equal']}")
        fq = r.get("float_vs_quantised")
        if fq:
            console.print(f"float vs quantised: decision agreement {fq['decision_agreement']:.2%}"
                          + (f", AUC {fq['auc_float']} vs {fq['auc_quantised']}" if fq.get("auc_float") is not None else ""))
        console.print(f"[{'green' if r['ok'] is True else 'red'}]{r['verdict'].upper()}[/]")

    emit(report, as_json, render)
    if report["ok"] is not True:  # False: a mismatch; None: nothing was compared (not verified)
        raise typer.Exit(1)
