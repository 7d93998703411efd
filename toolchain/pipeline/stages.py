"""The pipeline's stages: data -> train (each run) -> quantize -> export -> verify -> evaluate -> energy -> report.

Each stage function takes (work folder, {input stage: folder}) and writes its artifacts into the
work folder (see toolchain.pipeline.stage for atomicity and resume). Stage folders are named as the
stages: data, train_<run>, quantize, export, verify, evaluate, energy, report; each further deployed
run R (deploy.also) adds quantize_R, verify_R and energy_R (`deployed_stage`), and is exported by
none of the back ends (export serves deploy.run).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from toolchain.core.fileio import write_json, write_npz, write_text
from toolchain.pipeline.stage import Stage

RUN_DIR = "run"
SYNTH_DIR = "whales"


def deployed_stage(stage: str, run: str, cfg: dict) -> str:
    """The folder of a per-deployment stage ("quantize", "verify", "energy") of deployed run `run`:
    the bare name for deploy.run, "<stage>_<run>" for a run of deploy.also."""
    return stage if run == cfg["deploy"]["run"] else f"{stage}_{run}"


def data_identity(path: str) -> str:
    """SHA-256 of a data set's file list with sizes and modification times (a changed file changes it)."""
    h = hashlib.sha256()
    p = Path(path)
    files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(p.parent if p.is_file() else p)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def data_path(cfg: dict, out: Path) -> str:
    """Where the data set is: the user's path, or the synthetic set inside the data stage."""
    return cfg["data"]["path"] or str((out / "data" / SYNTH_DIR).resolve())


def _stage_data(cfg: dict, out: Path):
    def run(work: Path, inputs: dict) -> dict:
        from toolchain.data import check_dataset, synthesize

        if cfg["data"]["path"]:
            path = cfg["data"]["path"]
        else:
            synthesize(work / SYNTH_DIR, cfg["data"]["synth_clips"], cfg["data"]["synth_seed"], progress=False)
            path = str(work / SYNTH_DIR)
        report = check_dataset(path)
        write_json(work / "check.json", report)
        return {"path": data_path(cfg, out), "clips": report["clips"], "skipped": report["skipped"],
                "positive_fraction": report["positive_fraction"]}

    config = {"data": cfg["data"]}
    if cfg["data"]["path"]:
        config["identity"] = data_identity(cfg["data"]["path"])
    return Stage("data", run, (), config, "the data set (synthesised when no path is given) and its check")


def _stage_train(cfg: dict, out: Path, name: str, run_cfg: dict):
    def run(work: Path, inputs: dict) -> dict:
        from toolchain.train import train_run

        metrics = train_run(run_cfg, work / RUN_DIR, progress=True, where=f"runs.{name}")
        return {k: metrics.get(k) for k in ("kind", "val_auc", "val_accuracy", "best_epoch", "epochs_run",
                                            "failure", "seconds", "n_train", "n_val")}

    hashed = {k: v for k, v in run_cfg.items() if k != "data"} | {"data": {k: v for k, v in run_cfg["data"].items()
                                                                          if k != "path"}}
    return Stage(f"train_{name}", run, ("data",), hashed, f"train {name} ({run_cfg['model']['kind']})")


def _stage_quantize(cfg: dict, deploy: str):
    """Quantise deployed run `deploy` (see `deployed_stage` for the folder)."""
    def run(work: Path, inputs: dict) -> dict:
        from toolchain.quantize import QuantConfig
        from toolchain.quantize.from_run import quantize_run
        from toolchain.quantize.report import render_markdown

        q = cfg["quantize"]
        qc = QuantConfig(weight_bits=q["weight_bits"], input_bits=q["input_bits"], dc_input=q["dc_input"],
                         netx_compatible=q["netx_compatible"])
        dep = quantize_run(inputs[f"train_{deploy}"] / RUN_DIR, qc, calib_clips=q["calib"], qat_epochs=q["qat_epochs"])
        dep.save(work)
        write_text(work / "quantization.md", render_markdown(dep.report))
        ev = dep.report["evaluation"]
        return {"sizes": dep.ir.sizes, "num_steps": dep.ir.num_steps, "input_encoding": dep.ir.input.encoding,
                "auc_float": ev.get("auc_float"), "auc_quantised": ev.get("auc_quantised"),
                "decision_agreement": ev["decision_agreement"], "warnings": dep.report["warnings"]}

    return Stage(deployed_stage("quantize", deploy, cfg), run, (f"train_{deploy}",), {"quantize": cfg["quantize"]},
                 f"post-training quantisation of {deploy} to Loihi fixed point")


def _load_q(folder: Path):
    from toolchain.deploy import load_deployment

    return load_deployment(folder)


def _stage_export(cfg: dict, deploy: str, ann_runs: list[str]):
    def run(work: Path, inputs: dict) -> dict:
        from export.lava_graph import export_lava
        from export.netx import NetxExportError, write_netx
        from export.nir_export import write_nir
        from export.onnx_export import export_run_onnx

        ir, net = _load_q(inputs["quantize"])
        export_lava(ir, work / "lava")
        summary: dict = {"lava": "lava/"}
        try:
            write_netx(ir, work / "network.net")
            summary["netx"] = "network.net"
        except NetxExportError as exc:  # e.g. a right-shifted input layer: export a netx-compatible variant
            from toolchain.quantize import QuantConfig
            from toolchain.quantize.from_run import quantize_run

            q = cfg["quantize"]
            variant = quantize_run(inputs[f"train_{deploy}"] / RUN_DIR, QuantConfig(
                weight_bits=q["weight_bits"], input_bits=q["input_bits"], dc_input=q["dc_input"], netx_compatible=True),
                calib_clips=q["calib"], progress=False)
            variant.save(work / "netx_variant")
            write_netx(variant.ir, work / "network.net")
            ev = variant.report["evaluation"]
            summary["netx"] = "network.net"
            summary["netx_variant"] = {
                "why": str(exc), "folder": "netx_variant/", "input_bits": variant.report["input_bits"],
                "weight_bits": [r["weight_bits"] for r in variant.report["layers"]],
                "auc_float": ev.get("auc_float"), "auc_quantised": ev.get("auc_quantised")}
        _, notes = write_nir(net, work / "network.nir")
        summary["nir"], summary["nir_notes"] = "network.nir", notes
        summary["onnx"] = {}
        for name in ann_runs:
            res = export_run_onnx(inputs[f"train_{name}"] / RUN_DIR, work / f"{name}.onnx")
            summary["onnx"][name] = {"file": f"{name}.onnx", "check": res.get("onnx_check")}
        return summary

    return Stage("export", run, ("quantize", f"train_{deploy}", *(f"train_{n}" for n in ann_runs)),
                 {"quantize": cfg["quantize"]}, "Lava graph folder, netx .net, NIR, ONNX baselines")


def _stage_verify(cfg: dict, out: Path, deploy: str):
    quantize = deployed_stage("quantize", deploy, cfg)

    def run(work: Path, inputs: dict) -> dict:
        from toolchain.deploy.features import select_features
        from toolchain.verify import verify

        ir, net = _load_q(inputs[quantize])
        sel = select_features(ir.metadata, data_path(cfg, out), cfg["verify"]["clips"], progress=False)
        report = verify(ir, net, sel.x, labels=sel.labels)
        report["selection"] = sel.note
        seconds = {k: report.pop(k) for k in ("emulator_seconds", "lava_seconds") if k in report}
        for name, b in report.get("backends", {}).items():
            if "seconds" in b:
                seconds[f"{name}_seconds"] = b.pop("seconds")
        write_json(work / "verify.json", report)  # without timings: the same inputs give the same bytes
        return {"ok": report["ok"], "verdict": report["verdict"], "clips": report["clips"],
                "layers_exact": [r["exact"] for r in report.get("emulator_vs_lava", [])], "seconds": seconds}

    return Stage(deployed_stage("verify", deploy, cfg), run, (quantize, "data"), {"verify": cfg["verify"]},
                 f"{deploy}: float model vs emulator vs Lava, spike for spike")


def _scores_of_run(run_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(val indices, labels, scores) of a trained run on its validation split (score = logit/count 1 - 0)."""
    import torch

    from toolchain.core.metrics import class_score
    from toolchain.train import load_run

    run = load_run(run_dir)
    inputs = run.load_inputs(progress=False)
    x = torch.from_numpy(inputs.features[run.val_indices])
    with torch.no_grad():
        out = torch.cat([run.model(x[i:i + 256]) for i in range(0, len(x), 256)])
    return run.val_indices, inputs.labels[run.val_indices], class_score(out).double().numpy()


def _stage_evaluate(cfg: dict, out: Path, runs: list[str], deployed: list[str]):
    """Every run on its validation clips, and each deployed run's quantised network on the emulator
    (row "<run>_loihi"); the spike raster is of deployed[0] (deploy.run)."""
    quantize = [deployed_stage("quantize", d, cfg) for d in deployed]

    def run(work: Path, inputs: dict) -> dict:
        from toolchain.deploy.features import select_features
        from toolchain.emulator import Emulator
        from toolchain.pipeline.metrics import auc_with_ci

        rows, arrays = {}, {}
        ref_idx = None
        for name in runs:
            idx, labels, scores = _scores_of_run(inputs[f"train_{name}"] / RUN_DIR)
            if ref_idx is None:
                ref_idx = idx
            rows[name] = {**auc_with_ci(labels, scores, cfg["report"]["bootstrap"]),
                          "same_split": bool(np.array_equal(idx, ref_idx)),
                          "kind": json.loads((inputs[f"train_{name}"] / RUN_DIR / "metrics.json").read_text())["kind"]}
            arrays[f"scores_{name}"], arrays[f"labels_{name}"] = scores, labels
        raster = None
        for deploy, folder in zip(deployed, quantize):
            ir, _ = _load_q(inputs[folder])
            sel = select_features(ir.metadata, data_path(cfg, out), None, progress=False)
            res = Emulator(ir).simulate(sel.x)
            name = f"{deploy}_loihi"
            rows[name] = {**auc_with_ci(sel.labels, res.scores(), cfg["report"]["bootstrap"]),
                          "kind": f"{rows[deploy]['kind']} (quantised, emulator)",
                          "same_split": bool(np.array_equal(sel.indices, ref_idx)),
                          "firing_rates": [float(s.mean()) for s in res.layer_spikes]}
            arrays[f"scores_{name}"], arrays[f"labels_{name}"] = res.scores(), sel.labels
            if raster is None:
                pos = int(np.flatnonzero(sel.labels == 1)[0]) if (sel.labels == 1).any() else 0
                for i, s in enumerate(res.layer_spikes):
                    arrays[f"raster_layer{i}"] = s[pos].reshape(s.shape[1], -1)
                raster = {"raster_clip": sel.names[pos], "held_out_clips": int(len(sel.x)), "selection": sel.note}
        write_npz(work / "scores.npz", arrays)
        write_json(work / "evaluate.json", {"models": rows, **raster})
        return {k: {"auc": v["auc"], "ci": v["ci"]} for k, v in rows.items()}

    return Stage("evaluate", run, ("data", *quantize, *(f"train_{n}" for n in runs)), {"report": cfg["report"]},
                 "held-out AUCs with confidence intervals; the deployed networks on the emulator")


ANN_TITLES = {"ann_mlp": "the ANN MLP", "cnn": "the CNN"}


def _stage_energy(cfg: dict, out: Path, anns: dict[str, str], deploy: str, skipped: dict[str, str]):
    """Deployed run `deploy` priced. anns: ANN run name -> kind, priced on that SNN's input; skipped: run -> why not."""
    quantize = deployed_stage("quantize", deploy, cfg)

    def run(work: Path, inputs: dict) -> dict:
        from hardware_profiles import list_profiles, load_profile
        from toolchain.deploy.features import select_features
        from toolchain.energy import write_report
        from toolchain.energy.analyse import analyse

        ir, net = _load_q(inputs[quantize])
        sel = select_features(ir.metadata, data_path(cfg, out), cfg["energy"]["clips"], progress=False)
        ev = json.loads((inputs["evaluate"] / "evaluate.json").read_text())["models"]
        aucs = {"snn_deployed": ev[f"{deploy}_loihi"]["auc"], "snn_float": ev[deploy]["auc"],
                **{name: ev[name]["auc"] for name in anns}}
        onnx = json.loads((inputs["export"] / "manifest.json").read_text())["summary"]["onnx"] if anns else {}
        kinds = list(anns.values())
        specs = [{"model": name, "onnx": inputs["export"] / onnx[name]["file"], "check": onnx[name]["check"],
                  "title": ANN_TITLES.get(kind, f"the ANN {name}") + (f" ({name})" if kinds.count(kind) > 1 else "")}
                 for name, kind in anns.items()]
        profiles = [load_profile(p) for p in (cfg["energy"]["profiles"] or list_profiles())]
        report = analyse(ir, sel.x, profiles=profiles, float_net=net, anns=specs, aucs=aucs,
                         network={"data": sel.note, "ann_baselines": list(anns) or ["same-topology ReLU MLP"],
                                  "not_compared": skipped})
        write_report(report, work)
        keep = ("snn_profile", "ann_model", "ann_profile", "basis", "verdict", "snn_energy_j", "ann_energy_j")
        return {"headline": report["headline"],
                "comparisons": [{k: c[k] for k in keep} for c in report["comparisons"] if c["basis"] != "unlike"],
                "chips": {k: v["chips"] for k, v in report["mapping"].items()}}

    deps = (quantize, "data", "evaluate") + (("export",) if anns else ())
    return Stage(deployed_stage("energy", deploy, cfg), run, deps, {"energy": cfg["energy"], "anns": anns, "skipped": skipped},
                 "operation counts on one shared input, chip mapping, energy per classification (estimates)")


def _stage_report(cfg: dict, runs: list[str], deployed: list[str]):
    def run(work: Path, inputs: dict) -> dict:
        from toolchain.pipeline.report import build_report

        return build_report(work, inputs, cfg, runs, deployed)

    per_deploy = [deployed_stage(s, d, cfg) for d in deployed for s in ("quantize", "verify", "energy")]
    deps = ("data", *per_deploy, "export", "evaluate", *(f"train_{n}" for n in runs))
    return Stage("report", run, deps, {}, "report.md and a self-contained report.html")


def _priced(run_cfgs: dict[str, dict], ann_runs: list[str], deploy: str) -> tuple[dict[str, str], dict[str, str]]:
    """(ANN run -> kind priced beside deployed run `deploy`, ANN run -> why it is not: another representation)."""
    rep = run_cfgs[deploy]["representation"]
    priced = {n: run_cfgs[n]["model"]["kind"] for n in ann_runs if run_cfgs[n]["representation"] == rep}
    skipped = {n: f"trained on another representation ({run_cfgs[n]['representation']}) than the deployed SNN "
                  f"({rep}): it cannot be counted on the same input" for n in ann_runs if n not in priced}
    return priced, skipped


def build_stages(cfg: dict, out: Path, run_cfgs: dict[str, dict]) -> list[Stage]:
    """Every stage of the pipeline, in order."""
    from toolchain.core.vocab import SNN_KINDS
    from toolchain.pipeline.config import deployed_runs

    runs = list(cfg["runs"])
    deployed = deployed_runs(cfg)
    ann_runs = [n for n in runs if run_cfgs[n]["model"]["kind"] not in SNN_KINDS]
    stages = [_stage_data(cfg, out)]
    stages += [_stage_train(cfg, out, n, run_cfgs[n]) for n in runs]
    stages += [_stage_quantize(cfg, d) for d in deployed]
    stages += [_stage_export(cfg, deployed[0], ann_runs)]
    stages += [_stage_verify(cfg, out, d) for d in deployed]
    stages += [_stage_evaluate(cfg, out, runs, deployed)]
    for d in deployed:
        priced, skipped = _priced(run_cfgs, ann_runs, d)
        stages.append(_stage_energy(cfg, out, priced, d, skipped))
    stages.append(_stage_report(cfg, runs, deployed))
    return stages
