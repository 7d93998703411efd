"""Run the pipeline's stages in order, skipping those already done with unchanged inputs (see stage.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from toolchain.core.errors import ConfigError
from toolchain.core.outputs import check_writable, refuse_data_overlap
from toolchain.pipeline.config import check_runs, read_pipeline_config, validate_pipeline
from toolchain.pipeline.stage import (
    check_stage_folders,
    clean_stale,
    execute,
    is_current,
    read_manifest,
)
from toolchain.pipeline.stages import build_stages, data_path

# What a pipeline folder needs on disk at least (the demo's stages take ~60 MB; synthetic clips 8 kB each).
MIN_FREE_BYTES = 256 << 20


def prepare(config: str | Path | None, out: str | Path, data: str | None = None):
    """Validate everything before any work: (cfg, stages). The output folder must be writable, have
    room, lie outside the data set, and hold no folder of a stage's name that the pipeline did not write."""
    raw, where = read_pipeline_config(config)
    cfg = validate_pipeline(raw, where, data_override=data, base=Path(config).parent if config else None)
    out = Path(out).resolve()
    if cfg["data"]["path"]:
        refuse_data_overlap(out, cfg["data"]["path"])
    check_writable(out, need_bytes=MIN_FREE_BYTES + (0 if cfg["data"]["path"] else 8192 * cfg["data"]["synth_clips"]))
    run_cfgs = check_runs(cfg, data_path(cfg, out))
    stages = build_stages(cfg, out, run_cfgs)
    check_stage_folders(out, [s.name for s in stages])
    return cfg, stages


def run_pipeline(config: str | Path | None, out: str | Path, data: str | None = None,
                 force: tuple[str, ...] = (), console: Console | None = None) -> dict:
    """Run (or resume) the pipeline into `out`; returns {"stages": {name: {"ran", "summary"}}, ...}."""
    console = console or Console(stderr=True)
    out = Path(out).resolve()
    cfg, stages = prepare(config, out, data)
    names = [s.name for s in stages]
    for f in force:
        if f not in names:
            raise ConfigError(f"--force {f!r}: no such stage (stages: {', '.join(names)})")
    out.mkdir(parents=True, exist_ok=True)
    for p in clean_stale(out):
        console.print(f"[dim]removed[/] {escape(p.name)}: a stage folder left by an interrupted run")
    if not cfg["data"]["path"]:  # keep the decode cache of synthesised data out of the data stage's folder
        os.environ.setdefault("NEURODEPLOY_CACHE", str(out / ".cache"))
    results, t0 = {}, time.time()
    for stage in stages:
        inputs = {name: out / name for name in stage.inputs}
        current, why = is_current(out / stage.name, stage, inputs)
        if stage.name in force:
            current, why = False, "forced"
        if current:
            console.print(f"[dim]skip[/] {escape(stage.name)}: {escape(why)}")
            results[stage.name] = {"ran": False, "summary": (read_manifest(out / stage.name) or {}).get("summary", {})}
            continue
        console.print(f"[bold cyan]run[/] {escape(stage.name)}: {escape(stage.description)} ({escape(why)})")
        t = time.time()
        manifest = execute(stage, out, inputs)
        console.print(f"[green]done[/] {escape(stage.name)} in {time.time() - t:.1f} s")
        results[stage.name] = {"ran": True, "summary": manifest["summary"]}
    return {"out": str(out), "seconds": round(time.time() - t0, 1), "stages": results,
            "report": str(out / "report" / "report.md")}
