"""`neurodeploy energy`: exact counts on the emulator, chip mapping, energy per classification vs an ANN."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from toolchain.cli.app import JSON_OPTION, app, console, emit
from toolchain.core.errors import ArtifactError, ConfigError, DataError


def _load_array(data: Path):
    import numpy as np

    if not data.is_file() or data.suffix not in (".npy", ".npz"):
        raise DataError(f"--data {data}: expected a .npy/.npz file of features or a training run folder")
    try:
        arr = np.load(data, allow_pickle=False)
        if data.suffix == ".npz":
            keys = list(arr.keys())
            if "features" not in keys and len(keys) != 1:
                raise DataError(f"--data {data}: the .npz holds {keys}; name the features array 'features'")
            arr = arr["features" if "features" in keys else keys[0]]
    except (ValueError, OSError) as exc:
        raise DataError(f"--data {data}: cannot read it ({exc})") from None
    return arr


def _features(data: Optional[Path], ir, clips: int):
    """Features float [N, n_in] in [0, 1], the first `clips` of: a .npy/.npz array, the validation
    clips of a training run folder (recomputed from its data set and representation), or a data set
    (Kaggle layout folder or zip) through the representation the IR records."""
    import numpy as np

    n_in = ir.input.n_in
    if data is None:
        raise ConfigError("counting spikes needs input clips: pass --data FEATURES.npy (or .npz), an array "
                          f"[N, {n_in}] (or [N, *shape]) of features in [0, 1], or a training run folder")
    if clips < 1:
        raise ConfigError(f"--clips {clips}: must be >= 1")
    if data.is_dir() and (data / "manifest.json").is_file():
        from toolchain.train import load_run

        run = load_run(data)
        arr = run.load_inputs().features[run.val_indices[:clips]]
    elif data.is_dir() or data.suffix == ".zip":
        from toolchain.deploy.features import select_features

        arr = select_features(ir.metadata, str(data), clips, progress=False).x
    else:
        arr = _load_array(data)[:clips]
    x = np.asarray(arr, dtype=np.float64).reshape(arr.shape[0], -1)
    if x.shape[1] != n_in:
        raise DataError(f"--data {data}: {x.shape[1]} values per clip but the network takes {n_in}")
    return x


def _ann_counts(ann: Optional[Path], ir, x, out_dir: Path):
    """(MAC counts, onnx check or None) of the ANN baseline: an .onnx file, a training run, or
    (when none is given) the same-topology ReLU MLP."""
    import numpy as np

    from toolchain.counts import ann_macs_from_onnx, ann_macs_from_sizes

    if ann is None:
        return ann_macs_from_sizes(ir.sizes), None
    if ann.is_dir():
        from export.onnx_export import export_run_onnx

        exported = export_run_onnx(ann, out_dir / "ann.onnx", inputs=x)
        inputs = x.reshape(x.shape[0], *exported["input_shape"]).astype(np.float32)
        return ann_macs_from_onnx(exported["onnx"], inputs), exported["onnx_check"]
    if ann.suffix != ".onnx" or not ann.is_file():
        raise ArtifactError(f"--ann {ann}: expected an existing .onnx file or a training run folder")
    from export.onnx_export import onnx_input_shape

    dims = onnx_input_shape(ann)
    if int(np.prod(dims)) != x.shape[1]:
        raise DataError(f"--ann {ann}: the model takes {dims} per clip, the features have {x.shape[1]} values")
    return ann_macs_from_onnx(ann, x.reshape(x.shape[0], *dims).astype(np.float32)), None


def _render(r: dict) -> None:
    from rich.table import Table

    from toolchain.energy.price import COMPONENTS
    from toolchain.energy.report import fmt_range, fmt_s

    c = r["counts"][0]
    console.print(f"[bold]{escape(str(r['network']['name']))}[/]: {' - '.join(map(str, c['sizes']))}, input "
                  f"'{c['encoding']}' (sent {c['input_layer']['sent']}), {c['num_steps']} steps, {c['clips']} clip(s)")
    console.print(f"[yellow]{escape(r['label'])}[/]")
    t = Table(title="Counts per classification (emulator, mean over clips)")
    for col in ("layer", "n_in -> n_out", "op", "effective ops", "dense ops", "spikes", "rate", "neuron updates", "active"):
        t.add_column(col, justify="right")
    for i, la in enumerate(c["layers"]):
        t.add_row(f"{i + 1} (input)" if i == 0 else str(i + 1), f"{la['n_in']} -> {la['n_out']}",
                  "MAC-like" if la["op_kind"] == "graded" else "AC", f"{la['effective_synops']['mean']:,.0f}",
                  f"{la['dense_synops']:,}", f"{la['spikes']['mean']:,.1f}", f"{la['spike_rate']:.4f}",
                  f"{la['neuron_updates']:,}", f"{la['active_neuron_updates']['mean']:,.0f}")
    console.print(t)
    t = Table(title="Energy per classification (estimates)")
    for col in ("side", "profile", *COMPONENTS, "total", "latency"):
        t.add_column(col, justify="right")
    for side, table in (("SNN", r["snn_energy"]), ("ANN", r["ann_energy"])):
        for name, e in table.items():
            lat = e.get("latency_s")
            t.add_row(side, escape(name), *(fmt_range(e["components_J"][k]) for k in COMPONENTS),
                      f"[bold]{fmt_range(e['total_J'])}[/]", fmt_range(lat, fmt_s) if lat else "n/a")
    console.print(t)
    for name, m in r["mapping"].items():
        failed = ", ".join(m["failed"]) or "none"
        where = (f"{m['chips']} chip(s), {m['cores']} cores {[la['cores'] for la in m['layers']]}"
                 if m["chips"] is not None else "cannot map (a neuron's synapses exceed a core)")
        console.print(f"{escape(name)}: {escape(where)}; failed checks: {escape(failed)}")
    t = Table(title="Break-even spike rate (spikes / neuron / step)")
    for col in ("SNN", "ANN", "measured", "break-even", "verdict"):
        t.add_column(col)
    for p in r["breakeven"]:
        br = p.get("breakeven_rate")
        t.add_row(escape(p["snn_profile"]), escape(p["ann_profile"]),
                  "n/a" if p["measured_rate"] is None else f"{p['measured_rate']:.4f}",
                  "n/a" if br is None else fmt_range(br, lambda v: f"{v:.4g}"), p["verdict"])
    console.print(t)
    for kind, path in r.get("files", {}).items():
        console.print(f"{kind}: {escape(str(path))}")


@app.command()
def energy(
    q: Path = typer.Argument(..., help="IR file, or a quantise output folder containing network.ndir."),
    profile: list[str] = typer.Option([], "--profile", "-p", help="Hardware profile name or .toml path "
                                      "(repeatable). Default: every shipped profile."),
    ann: Optional[Path] = typer.Option(None, "--ann", help="ANN baseline: an .onnx file or a training run "
                                       "folder. Default: the same-topology ReLU MLP (dense MACs)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Features .npy/.npz [N, n_in] in [0, 1], a "
                                        "training run folder (its validation clips), or a data set (Kaggle "
                                        "folder or zip; the IR's representation is applied)."),
    clips: int = typer.Option(16, "--clips", min=1, help="Clips to simulate (the first N of --data)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default: <Q folder>/energy)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the input spike trains (spike encodings)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Count every operation of the quantised network on the emulator, map it onto chips, and price it
    against published constants beside an ANN baseline (energy per classification, estimates)."""
    from hardware_profiles import list_profiles, load_profile
    from toolchain.deploy import FLOAT_FILE, load_deployment, resolve_ir_path
    from toolchain.energy import write_report
    from toolchain.energy.analyse import analyse

    ir_path = resolve_ir_path(q)
    ir, net = load_deployment(q)  # net: the float model the IR came from, if beside it (quantisation's effect)
    profiles = [load_profile(p) for p in (profile or list_profiles())]
    x = _features(data, ir, clips)
    out_dir = out or ((q if q.is_dir() else q.parent) / "energy")
    float_file = ir_path.parent / FLOAT_FILE
    ann_counts, check = _ann_counts(ann, ir, x, out_dir)
    report = analyse(ir, x, profiles=profiles, float_net=net, ann_counts=ann_counts, onnx_check=check, seed=seed,
                     network={"source": str(ir_path), "data": str(data),
                              "float_model": str(float_file) if net is not None else None})
    report["files"] = {k: str(v) for k, v in write_report(report, out_dir).items()}
    emit(report, as_json, _render)
