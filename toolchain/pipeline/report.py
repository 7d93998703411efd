"""The pipeline's report folder: report.md, a self-contained report.html (images embedded), and figures.

Contents: the AUC table (every model on the same held-out clips, bootstrap confidence intervals),
ROC curves, training curves, per-layer firing rates (float vs quantised), a spike raster of one
clip through the deployed network, the quantisation and verification tables, the energy report
(its tables, chart, chip mapping and the sources of every constant).
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import numpy as np

from toolchain.core.fileio import atomic_path, write_text
from toolchain.pipeline.stages import RUN_DIR, deployed_stage


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _savefig(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)


def _plot_roc(scores: dict, models: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    for name in models:
        labels, s = scores[f"labels_{name}"], scores[f"scores_{name}"]
        if len(np.unique(labels)) == 2:
            fpr, tpr, _ = roc_curve(labels, s)
            ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC, held-out clips")
    ax.legend(fontsize=8)
    _savefig(fig, path)


def _plot_training(histories: dict[str, list[dict]], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    for name, hist in histories.items():
        ep = [h.get("epoch", i + 1) for i, h in enumerate(hist)]
        axes[0].plot(ep, [h.get("train_loss") for h in hist], label=name)
        axes[1].plot(ep, [h.get("val_auc") for h in hist], label=name)
    axes[0].set_title("training loss")
    axes[1].set_title("validation AUC")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    _savefig(fig, path)


def _plot_rates(ev: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    f, q = ev["firing_rate_float"], ev["firing_rate_quantised"]
    x = np.arange(len(f))
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    ax.bar(x - 0.2, f, 0.4, label="float (snntorch)")
    ax.bar(x + 0.2, q, 0.4, label="quantised (emulator)")
    ax.set_xticks(x, [f"layer {i + 1}" for i in x])
    ax.set_ylabel("spikes / neuron / step")
    ax.set_title("firing rates, held-out clips")
    ax.legend(fontsize=8)
    _savefig(fig, path)


def verification_phrase(ver: dict) -> str:
    """What the verification established, from its result: "emulator = Lava" only when every layer's
    spikes and the output counts were compared and equal."""
    ok = ver.get("ok")
    if ok is True:
        return "emulator = Lava"
    if ok is False:
        bad = [str(r["layer"]) for r in ver.get("emulator_vs_lava", []) if not r.get("exact")]
        return "emulator != Lava" + (f" in layer(s) {', '.join(bad)}" if bad else " in the output counts")
    return "not verified on Lava"


def _plot_raster(scores: dict, clip: str, path: Path, verified: str) -> None:
    import matplotlib.pyplot as plt

    layers = sorted(k for k in scores if k.startswith("raster_layer"))
    fig, axes = plt.subplots(len(layers), 1, figsize=(7, 1.3 + 1.1 * len(layers)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], layers):
        s = scores[key]  # [T, n]
        t, n = np.nonzero(s)
        ax.scatter(t, n, s=2, marker="|", color="k")
        ax.set_ylabel(key.replace("raster_", ""), fontsize=8)
        ax.set_ylim(-0.5, s.shape[1] - 0.5)
    axes[-1, 0].set_xlabel("time step")
    axes[0, 0].set_title(f"spikes of clip {clip} through the deployed network (emulator; {verified})")
    _savefig(fig, path)


def _fmt_ci(row: dict) -> str:
    if row.get("auc") is None:
        return "n/a"
    ci = row.get("ci")
    return f"{row['auc']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{row['auc']:.3f}"


def _representation_gap(inputs: dict, runs: list[str], ev: dict, scores: dict, failures: dict,
                        resamples: int) -> list[str]:
    """The seed study's comparison: float SNN on the spectrogram minus float SNN on the waveform,
    AUC difference with a paired bootstrap interval, when both were scored on the same clips."""
    from toolchain.pipeline.metrics import auc_difference_with_ci

    snn = {}
    for name in runs:
        run_cfg = _json(inputs[f"train_{name}"] / RUN_DIR / "config.json")
        if run_cfg["model"]["kind"] == "snn":
            snn.setdefault(run_cfg["representation"]["kind"], name)
    if "spectrogram" not in snn or "waveform" not in snn:
        return []
    two, one = snn["spectrogram"], snn["waveform"]
    head = f"Representation gap (the seed study's comparison): {two} (spectrogram) vs {one} (raw waveform)"
    if not (ev["models"][two].get("same_split") and ev["models"][one].get("same_split")):
        return ["", f"{head}: no verdict, the two were not scored on the same clips."]
    gap = auc_difference_with_ci(scores[f"labels_{two}"], scores[f"scores_{two}"], scores[f"scores_{one}"],
                                 resamples)
    if gap["diff"] is None:
        return ["", f"{head}: no verdict, an AUC is undefined."]
    ci = gap["ci"]
    text = f"AUC difference {gap['diff']:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}] (paired bootstrap)" if ci else "")
    if ci and ci[0] > 0:
        text += "; the spectrogram network is better on these clips"
    elif ci and ci[1] < 0:
        text += "; the waveform network is better on these clips"
    else:
        text += "; no significant difference on these clips"
    if failures.get(one) or failures.get(two):
        text += " (a learning failure is flagged above: this gap compares a failed run)"
    return ["", f"{head}: {text}."]


def _deployment(deploy: str, inputs: dict[str, Path], cfg: dict, work: Path, level: str,
                levels: int) -> tuple[list[str], list[str]]:
    """(the deployment section of deployed run `deploy`: quantisation, firing rates and verification, with
    headings from `level` down; its energy report, headings `levels` deeper than energy.md's)."""
    qdir, vdir, edir = (inputs[deployed_stage(s, deploy, cfg)] for s in ("quantize", "verify", "energy"))
    quant, ver = _json(qdir / "quantization.json"), _json(vdir / "verify.json")
    qsum = _json(qdir / "manifest.json")["summary"]
    rates = "firing_rates.png" if deploy == cfg["deploy"]["run"] else f"firing_rates_{deploy}.png"
    _plot_rates(quant["evaluation"], work / rates)
    sub = level + "#"
    md = [f"{level} Deployment: {deploy}", "", f"The deployed network ({deploy}) in Loihi fixed point: "
          f"{' - '.join(map(str, qsum['sizes']))} neurons, {qsum['num_steps']} steps, input "
          f"`{quant['input_encoding']}` ({quant['input_bits']} bits).", ""]
    qmd = (qdir / "quantization.md").read_text()
    md += re.sub(r"^## ", sub + "# ", qmd.replace("# Quantisation report", f"{sub} Quantisation"), flags=re.M).splitlines()
    md += ["", f"![firing rates]({rates})", "", f"{sub} Verification: float model vs emulator vs Lava", "",
           f"{ver['clips']} clips x {ver['num_steps']} steps ({ver.get('selection', '')}).", "",
           "| layer | emulator == Lava | agreement | spikes (emulator) | spikes (Lava) |", "|---|---|---|---|---|"]
    for row in ver.get("emulator_vs_lava", []):
        md.append(f"| {row['layer']} | {'**yes**' if row['exact'] else '**NO**'} | {row['agreement']:.2%} | "
                  f"{row['spikes_emulator']} | {row['spikes_lava']} |")
    fq = ver.get("float_vs_quantised", {})
    agree = fq.get("decision_agreement")
    md += ["", f"Verdict: **{verification_phrase(ver)}**. Output counts equal: **{ver.get('output_counts_equal', 'n/a')}**. "
           + ("Float vs quantised decisions agree on " f"{agree:.1%} of these clips." if agree is not None else ""), ""]
    energy_md = (edir / "energy.md").read_text()
    return md, re.sub(r"^(#{1,3}) ", "#" * levels + r"\1 ", energy_md, flags=re.M).splitlines()


def _deployed_table(ev: dict, deployed: list[str], inputs: dict[str, Path], cfg: dict) -> list[str]:
    """One row per deployed run: float and deployed AUC on the same clips, the drop, emulator == Lava."""
    md = ["## Deployed networks", "",
          "| run | kind | layers | float AUC | deployed AUC (emulator) | drop | emulator == Lava | clips verified |",
          "|---|---|---|---|---|---|---|---|"]
    for d in deployed:
        fl, dep = ev["models"][d], ev["models"][f"{d}_loihi"]
        ver = _json(inputs[deployed_stage("verify", d, cfg)] / "verify.json")
        kinds = [la["kind"] for la in _json(inputs[deployed_stage("quantize", d, cfg)] / "quantization.json")["layers"]]
        drop = "n/a" if fl["auc"] is None or dep["auc"] is None else f"{fl['auc'] - dep['auc']:+.4f}"
        exact = all(r["exact"] for r in ver["emulator_vs_lava"])
        md.append(f"| {d} | {fl['kind']} | {', '.join(kinds)} | {_fmt_ci(fl)} | {_fmt_ci(dep)} | {drop} | "
                  f"{'**yes**' if exact else '**NO**'} | {ver['clips']} |")
    return md + [""]


def build_report(work: Path, inputs: dict[str, Path], cfg: dict, runs: list[str], deployed: list[str]) -> dict:
    """Write the figures, report.md and report.html into `work`; returns the headline numbers."""
    deploy = deployed[0]
    ev = _json(inputs["evaluate"] / "evaluate.json")
    scores = dict(np.load(inputs["evaluate"] / "scores.npz"))
    data = _json(inputs["data"] / "manifest.json")["summary"]
    export = _json(inputs["export"] / "manifest.json")["summary"]
    models = list(ev["models"])
    _plot_roc(scores, models, work / "roc.png")
    histories = {n: _json(inputs[f"train_{n}"] / RUN_DIR / "metrics.json").get("history", []) for n in runs}
    _plot_training(histories, work / "training_curves.png")
    ver = _json(inputs[deployed_stage("verify", deploy, cfg)] / "verify.json")
    _plot_raster(scores, ev["raster_clip"], work / "raster.png", verification_phrase(ver))
    for name in ("energy.png", "front.png"):
        with atomic_path(work / name) as tmp:
            tmp.write_bytes((inputs["energy"] / name).read_bytes())
    energy_headline = _json(inputs["energy"] / "manifest.json")["summary"]["headline"]

    source = cfg["data"]["path"] or (f"synthetic (neurodeploy data synth, {cfg['data']['synth_clips']} clips, "
                                     f"seed {cfg['data']['synth_seed']})")
    md = ["# neurodeploy report", "",
          f"Data: {source} — {data['clips']} clips, {data['positive_fraction']:.1%} positive, "
          f"{data['skipped']} skipped. Held-out clips: {ev['held_out_clips']} ({ev['selection']}).", "",
          f"**Energy (estimate):** {energy_headline}", "",
          *[f"**Energy (estimate), {d}:** {_json(inputs[deployed_stage('energy', d, cfg)] / 'manifest.json')['summary']['headline']}"
            for d in deployed[1:]], "",
          "## Accuracy on the same held-out clips", "",
          "| model | kind | ROC AUC [95 % bootstrap CI] | accuracy | clips | same split | learning failure |",
          "|---|---|---|---|---|---|---|"]
    failures = {n: _json(inputs[f"train_{n}"] / RUN_DIR / "metrics.json").get("failure") for n in runs}
    for name, row in ev["models"].items():
        fail = failures.get(name)
        note = (fail.get("message") or fail.get("reason") or str(fail)) if isinstance(fail, dict) else (fail or "")
        md.append(f"| {name} | {row['kind']} | {_fmt_ci(row)} | {row['accuracy']:.3f} | {row['n']} | "
                  f"{'yes' if row.get('same_split') else 'no'} | {note} |")
    md += _representation_gap(inputs, runs, ev, scores, failures, cfg["report"]["bootstrap"])
    md += ["", "![ROC curves](roc.png)", ""]
    if len(deployed) > 1:
        md += _deployed_table(ev, deployed, inputs, cfg)
    md += ["## Training", "", "![training curves](training_curves.png)", ""]
    section, energy_md = _deployment(deploy, inputs, cfg, work, "##", 1)  # its energy report: a section of this one
    md += section + ["![spike raster](raster.png)", "",
                     f"Exports: Lava graph `{export['lava']}`, netx `{export['netx']}`, NIR `{export['nir']}`"
                     + "".join(f", ONNX `{v['file']}`" for v in export.get("onnx", {}).values()) + ".", ""]
    nv = export.get("netx_variant")
    if nv:
        md += [f"The deployed IR cannot be written as netx ({nv['why']}); `network.net` holds a netx-compatible "
               f"quantisation instead ({nv['input_bits']}-bit input, weight bits {nv['weight_bits']}): held-out AUC "
               f"{nv['auc_quantised']:.4f} (float {nv['auc_float']:.4f}); its IR and report are in `netx_variant/`.", ""]
    md += energy_md
    md += ["", "![energy per classification](energy.png)", "", "![accuracy against energy](front.png)", ""]
    for other in deployed[1:]:
        section, energy_md = _deployment(other, inputs, cfg, work, "##", 2)  # a subsection of its deployment
        md += section + [f"Not exported (the Lava, netx and NIR exports are of deploy.run, {deploy}).", ""]
        md += energy_md + [""]
    text = _relative_paths("\n".join(md) + "\n", work.parent)
    write_text(work / "report.md", text)
    write_text(work / "report.html", markdown_to_html(text, work))
    verified = all(_json(inputs[deployed_stage("verify", d, cfg)] / "verify.json")["ok"] for d in deployed)
    return {"auc": {k: v.get("auc") for k, v in ev["models"].items()}, "verified": verified,
            "energy_headline": energy_headline}


def _relative_paths(text: str, out: Path) -> str:
    """Paths inside the output folder written relative to it (stage temp folders by their final name)."""
    root = re.escape(str(out))
    text = re.sub(root + r"/\.tmp-([A-Za-z0-9_]+)-[0-9a-f]{8}/", r"\1/", text)
    return re.sub(root + "/", "", text)


_INLINE = [(re.compile(r"\*\*(.+?)\*\*"), r"<b>\1</b>"), (re.compile(r"`(.+?)`"), r"<code>\1</code>")]


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    for pat, rep in _INLINE:
        out = pat.sub(rep, out)
    return out


def markdown_to_html(md: str, folder: Path) -> str:
    """The subset of markdown the report uses -> one HTML page with images inlined as data URIs."""
    body, table, para, in_list = [], [], [], False

    def flush():
        nonlocal table, para, in_list
        if table:
            rows = [r for r in table if not re.fullmatch(r"\|[-| :]+\|", r)]
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
            body.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in cells[0]) + "</tr>"
                        + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in cells[1:])
                        + "</table>")
            table = []
        if para:
            body.append("<p>" + _inline(" ".join(para)) + "</p>")
            para = []
        if in_list:
            body.append("</ul>")
            in_list = False

    for line in md.splitlines():
        img = re.fullmatch(r"!\[(.*?)\]\((.+?)\)", line.strip())
        head = re.match(r"^(#{1,4}) (.*)", line)
        if line.startswith("|"):
            if para or in_list:
                flush()
            table.append(line)
            continue
        if table:
            flush()
        if img:
            flush()
            data = base64.b64encode((folder / img.group(2)).read_bytes()).decode()
            body.append(f'<p><img alt="{html.escape(img.group(1))}" src="data:image/png;base64,{data}"></p>')
        elif head:
            flush()
            n = len(head.group(1))
            body.append(f"<h{n}>{_inline(head.group(2))}</h{n}>")
        elif line.startswith(("- ", "* ")):
            if para:
                flush()
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(line[2:])}</li>")
        elif line.startswith("> "):
            flush()
            body.append(f"<blockquote>{_inline(line[2:])}</blockquote>")
        elif not line.strip():
            flush()
        else:
            if in_list:
                flush()
            para.append(line)
    flush()
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;margin:1em 0;font-size:90%}td,th{border:1px solid #bbb;padding:3px 7px}"
             "th{background:#eee}img{max-width:100%}code{background:#f4f4f4}blockquote{color:#555}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>neurodeploy report</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
