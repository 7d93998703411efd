"""neurodeploy commands: pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from toolchain.cli.app import JSON_OPTION, app, console, emit, err_console

VERIFIED = {True: "emulator == Lava on every neuron at every step", False: "MISMATCH (emulator != Lava)",
            None: "not verified (nothing compared)"}


@app.command()
def pipeline(
    config: Optional[Path] = typer.Option(None, "--config", help="PIPE.toml (default: the embedded demo "
                                          "configuration, toolchain/presets/pipeline-demo.toml)."),
    data: Optional[str] = typer.Option(None, "--data", help="Kaggle-layout folder or whale_data.zip "
                                       "(default: synthesise clips)."),
    out: Path = typer.Option(..., "--out", help="Output folder (one sub-folder per stage; report/ at the end). "
                             "It must lie outside the data set; a folder there named as a stage that the pipeline "
                             "did not write is refused, never replaced."),
    force: List[str] = typer.Option([], "--force", help="Redo this stage (repeatable); later stages whose "
                                    "inputs change follow."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Data -> train (SNN 1D/2D, ANN MLP, CNN) -> quantise -> export -> verify on Lava -> evaluate ->
    energy -> report. Rerunning skips finished stages whose inputs did not change.

    Exit status 1 unless the emulator equals Lava on the verification clips."""
    from toolchain.train.runtime import enable_huge_pages

    enable_huge_pages()  # before torch allocates anything (see toolchain.train.runtime)
    from toolchain.pipeline.runner import run_pipeline

    result = run_pipeline(config, out, data=data, force=tuple(force), console=err_console)

    def render(r: dict) -> None:
        console.print(f"pipeline finished in {r['seconds']} s; report: {escape(r['report'])}")
        ev = r["stages"].get("evaluate", {}).get("summary", {})
        for name, row in ev.items():
            if isinstance(row, dict) and row.get("auc") is not None:
                ci = row.get("ci")
                console.print(escape(f"  {name:18s} AUC {row['auc']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")))
        ver = r["stages"].get("verify", {}).get("summary", {})
        ok = ver.get("ok")
        console.print(f"  Lava verification: {VERIFIED[ok if isinstance(ok, bool) else None]}")

    emit(result, as_json, render)
    if result["stages"].get("verify", {}).get("summary", {}).get("ok") is not True:
        raise typer.Exit(1)
