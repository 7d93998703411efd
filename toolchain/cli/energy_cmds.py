"""`neurodeploy energy`: exact counts on the emulator, chip mapping, energy per classification vs an ANN."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

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
                          f"[N, {n_in}] (or [N, *shape]) of features in [0, 1], or a training run folder; or "
                          "--inputs X.npy with inputs in the network's own form")
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


def _inputs(data: Optional[Path], inputs: Optional[Path], ir, clips: int):
    """The clips to count: features from --data, or inputs in the IR's own form from --inputs."""
    if inputs is None:
        return _features(data, ir, clips)
    if data is not None:
        raise ConfigError("give either --data (features or a data set) or --inputs X.npy (inputs in the network's "
                          "own form), not both")
    if clips < 1:
        raise ConfigError(f"--clips {clips}: must be >= 1")
    from toolchain.deploy.features import load_ir_inputs

    return load_ir_inputs(str(inputs), ir)[:clips]


def _named(values: list[str]) -> list[tuple[str | None, str]]:
    """NAME=VALUE or VALUE entries of a repeatable option, as (name or None, value)."""
    out = []
    for v in values:
        name, sep, rest = v.partition("=")
        if sep and name and "/" not in name and not name.endswith(".onnx"):
            out.append((name, rest))
        else:
            out.append((None, v))
    return out


def _ann_specs(anns: list[str], x, out_dir: Path) -> list[dict]:
    """ANN baselines as analyse() specs: each --ann an .onnx file or a training run folder (exported
    to ONNX and checked against torch on the clips), optionally named NAME=PATH."""
    from export.onnx_export import export_run_onnx

    specs = []
    for name, value in _named(anns):
        path = Path(value)
        if path.is_dir():
            model = name or path.name
            exported = export_run_onnx(path, out_dir / f"{model}.onnx", inputs=x)
            specs.append({"model": model, "onnx": exported["onnx"], "check": exported["onnx_check"],
                          "title": f"the {'CNN' if exported['kind'] == 'cnn' else 'ANN MLP'} ({model})"})
        elif path.suffix == ".onnx" and path.is_file():
            specs.append({"model": name or path.stem, "onnx": str(path), "check": None})
        else:
            raise ArtifactError(f"--ann {value}: expected an existing .onnx file or a training run folder")
    if len({s["model"] for s in specs}) != len(specs):
        raise ConfigError("--ann: two baselines have the same name; name them NAME=PATH")
    return specs


def _aucs(values: list[str]) -> dict[str, float]:
    out = {}
    for name, value in _named(values):
        try:
            auc = float(value)
        except ValueError:
            auc = float("nan")
        if name is None or not 0.0 <= auc <= 1.0:
            raise ConfigError(f"--auc {value!r}: expected MODEL=AUC with AUC in [0, 1] (models: snn_deployed, "
                              "snn_float, or an --ann name)")
        out[name] = auc
    return out


def _render(r: dict) -> None:
    from rich.table import Table

    from toolchain.energy.report import fmt_range, fmt_s

    c = r["counts"][0]
    console.print(f"[bold]{r['network']['name']}[/]: {' - '.join(map(str, c['sizes']))}, input "
                  f"'{c['encoding']}' (sent {c['input_layer']['sent']}), {c['num_steps']} steps, {c['clips']} clip(s)")
    console.print(f"[bold]Headline:[/] {r['headline']}")
    console.print(f"[yellow]{r['label']}[/]")
    console.print(r["shared_input"].get("note", ""))
    t = Table(title=f"Counts per classification (input policy {r['input_policy']}: effective ops; dense beside)")
    for col in ("model", "layer", "op", "n_in -> n_out", "effective ops", "dense ops"):
        t.add_column(col, justify="right")
    for model, w in r["models"].items():
        for la in w["layers"]:
            t.add_row(model, la["name"], la["op"], f"{la['n_in']} -> {la['n_out']}", f"{la['effective_ops']:,.0f}",
                      f"{la['dense_ops']:,.0f}")
    console.print(t)
    for name, m in r["mapping"].items():
        failed = ", ".join(m["failed"]) or "none"
        where = (f"{m['chips']} chip(s), {m['cores']} cores {[la['cores'] for la in m['layers']]}"
                 if m["chips"] is not None else "cannot map (a neuron's synapses exceed a core)")
        console.print(f"{name}: {where}; status {m['status']}; failed checks: {failed}")
    t = Table(title=f"Comparisons (input policy {r['input_policy']}; '>=' = lower bound)")
    for col in ("SNN profile", "ANN", "ANN profile", "basis", "SNN J", "ANN J", "verdict"):
        t.add_column(col, overflow="fold")
    for cmp in r["comparisons"]:
        t.add_row(cmp["snn_profile"], cmp["ann_model"], cmp["ann_profile"], cmp["basis"],
                  (">= " if cmp["snn_lower_bound"] else "") + fmt_range(cmp["snn_energy_j"]),
                  (">= " if cmp["ann_lower_bound"] else "") + fmt_range(cmp["ann_energy_j"]), cmp["verdict"])
    console.print(t)
    for cmp in r["comparisons"]:
        if cmp["basis"] != "unlike":
            b = cmp["breakeven"]
            console.print(f"{cmp['snn_profile']} vs {cmp['ann_model']} on {cmp['ann_profile']}: {cmp['reason']} "
                          f"Break-even: {b['statement']} (SNN {fmt_range(b['snn_J_at_rate0'])} at rate 0, "
                          f"{fmt_range(b['snn_J_at_rate1'])} at rate 1; SNN latency "
                          f"{fmt_range(cmp['snn_latency_s'], fmt_s)}).")
    for check in r.get("silicon", []):
        _render_silicon(check)
    for kind, path in r.get("files", {}).items():
        console.print(f"{kind}: {path}")


def _render_silicon(c: dict) -> None:
    """Predicted vs measured for a network with a silicon measurement (toolchain.energy.silicon)."""
    from rich.table import Table

    from toolchain.energy.report import fmt_range
    from toolchain.energy.silicon import fmt_value

    t = Table(title=f"Checked against silicon: {c['title']} (profile {c['profile']}, policy {c['policy']})")
    for col in ("quantity", "predicted", "measured", "predicted / measured", "note"):
        t.add_column(col, overflow="fold")
    for row in c["rows"]:
        t.add_row(row["quantity"], fmt_value(row, "predicted"), fmt_value(row, "measured"),
                  fmt_range(row["ratio"], lambda v: f"{v:.3g}x") if row["ratio"] else "n/a", row["note"])
    console.print(t)
    t = Table(title="Cores per layer: predicted vs Lava's Loihi 2 compiler")
    for col in ("layer", "kind", "predicted", "measured", "neurons/core predicted", "neurons/core measured",
                "bound by"):
        t.add_column(col)
    for la in c["layers"]:
        t.add_row(la["layer"], la["kind"], str(la["predicted"]), str(la["measured"]),
                  str(la["predicted_neurons_per_core"]), str(la["measured_neurons_per_core"]), la["bound_by"])
    console.print(t)
    console.print("[bold]Where the model is off:[/]")
    for line in c["findings"]:
        console.print(f"- {line}", markup=False)
    for line in [c["not_fitted"], *[f"Not independent: {s}." for s in c["shared_inputs"]], c["input_note"],
                 *([f"The predicted total is a lower bound: {'; '.join(c['lower_bound'])}."] if c["lower_bound"] else [])]:
        console.print(line, markup=False)


@app.command()
def energy(
    q: Path = typer.Argument(..., help="IR file, or a quantise output folder containing network.ndir."),
    profile: list[str] = typer.Option([], "--profile", "-p", help="Hardware profile name or .toml path "
                                      "(repeatable). Default: every shipped profile."),
    ann: list[str] = typer.Option([], "--ann", help="ANN baseline (repeatable): an .onnx file or a training run "
                                  "folder, optionally NAME=PATH. Every ANN is counted on the deployed SNN's "
                                  "input. Default: the same-topology ReLU MLP (dense MACs)."),
    auc: list[str] = typer.Option([], "--auc", help="MODEL=AUC (repeatable), shown beside the energies: "
                                  "snn_deployed, snn_float or an --ann name."),
    data: Optional[Path] = typer.Option(None, "--data", help="Features .npy/.npz [N, n_in] in [0, 1], a "
                                        "training run folder (its validation clips), or a data set (Kaggle "
                                        "folder or zip; the IR's representation is applied)."),
    inputs: Optional[Path] = typer.Option(None, "--inputs", help="X.npy instead of --data: one input per clip "
                                          "in the network's own form (features in [0, 1]; spike trains "
                                          "[clips, steps, ...]; biases, e.g. an imported lava-dl network's "
                                          "frames, channels first)."),
    clips: int = typer.Option(16, "--clips", help="Clips to simulate (the first N of --data)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default: <Q folder>/energy)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the input spike trains (spike encodings)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Count every operation of the quantised network (emulator), its float model and the ANN baselines on
    one shared input, map it onto chips, and price every model on every profile: comparisons with a
    verdict only where the basis is like for like (energy per classification, estimates)."""
    from hardware_profiles import list_profiles, load_profile
    from toolchain.deploy import FLOAT_FILE, load_deployment, resolve_ir_path
    from toolchain.energy import write_report
    from toolchain.energy.analyse import analyse

    ir_path = resolve_ir_path(q)
    ir, net = load_deployment(q)  # net: the float model the IR came from, if beside it (quantisation's effect)
    profiles = [load_profile(p) for p in (profile or list_profiles())]
    aucs = _aucs(auc)
    x = _inputs(data, inputs, ir, clips)
    out_dir = out or ((q if q.is_dir() else q.parent) / "energy")
    float_file = ir_path.parent / FLOAT_FILE
    report = analyse(ir, x, profiles=profiles, float_net=net, anns=_ann_specs(ann, x, out_dir), aucs=aucs,
                     seed=seed, network={"source": str(ir_path), "data": str(data if inputs is None else inputs),
                                         "float_model": str(float_file) if net is not None else None})
    report["files"] = {k: str(v) for k, v in write_report(report, out_dir).items()}
    emit(report, as_json, _render)


@app.command("energy-front")
def energy_front(
    sweep: Path = typer.Argument(..., help="A `neurodeploy sweep` output folder (sweep.json, trials/)."),
    profile: list[str] = typer.Option([], "--profile", "-p", help="Hardware profile name or .toml path "
                                      "(repeatable; SNN-side profiles are used). Default: every shipped profile."),
    clips: int = typer.Option(8, "--clips", help="Clips of the sweep's data whose input layer is counted."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: the sweep folder)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Accuracy against energy per classification for every cell of a sweep (median AUC, energy on each
    profile from the trials' recorded firing rates: an estimate), with an energy table per cell laid out as
    the sweep's AUC tables, and a plot."""
    from hardware_profiles import list_profiles, load_profile
    from toolchain.energy.front import render_front, sweep_front, write_front

    profiles = [load_profile(p) for p in (profile or list_profiles())]
    front = sweep_front(sweep, profiles, clips=clips)
    front["files"] = {k: str(v) for k, v in write_front(front, out or sweep).items()}

    def render(r: dict) -> None:
        console.print(render_front(r), markup=False, highlight=False)
        for kind, path in r["files"].items():
            console.print(f"{kind}: {path}")

    emit(front, as_json, render)
