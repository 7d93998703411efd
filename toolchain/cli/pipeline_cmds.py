"""neurodeploy commands: pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from toolchain.cli.app import JSON_OPTION, app, console, emit, err_console


@app.command()
def pipeline(
    config: Optional[Path] = typer.Option(None, "--config", help="PIPE.toml (default: the embedded demo "
                                          "configuration, toolchain/presets/pipeline-demo.toml)."),
    data: Optional[str] = typer.Option(None, "--data", help="Kaggle-layout folder or whale_data.zip "
                                       "(default: synthesise clips)."),
    out: Path = typer.Option(..., "--out", help="Output folder (one sub-folder per stage; report/ at the end)."),
    force: List[str] = typer.Option([], "--force", help="Redo this stage (repeatable); later stages whose "
                                    "inputs change follow."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Data -> train (SNN 1D/2D, ANN MLP, CNN) -> quantise -> export -> verify on Lava -> evaluate ->
    energy -> report. Rerunning skips finished stages whose inputs did not change."""
    from toolchain.train.runtime import enable_huge_pages, sigterm_as_interrupt

    enable_huge_pages()  # before torch allocates anything (see toolchain.train.runtime)
    sigterm_as_interrupt()  # kill = Ctrl-C: the stage's temporary folder is removed, finished stages kept
    from toolchain.pipeline.runner import run_pipeline

    result = run_pipeline(config, out, data=data, force=tuple(force), console=err_console)

    def render(r: dict) -> None:
        console.print(f"pipeline finished in {r['seconds']} s; report: {r['report']}")
        ev = r["stages"].get("evaluate", {}).get("summary", {})
        for name, row in ev.items():
            if isinstance(row, dict) and "auc" in row:
                ci = row.get("ci")
                console.print(f"  {name:18s} AUC {row['auc']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
        ver = r["stages"].get("verify", {}).get("summary", {})
        console.print(f"  Lava verification: {'emulator == Lava' if ver.get('ok') else 'MISMATCH'}")

    emit(result, as_json, render)
    if not result["stages"].get("verify", {}).get("summary", {}).get("ok", False):
        raise typer.Exit(1)
