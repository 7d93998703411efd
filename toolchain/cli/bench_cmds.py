"""neurodeploy commands: bench simulate, bench all (bench data / bench train live beside their areas)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from toolchain.cli.app import JSON_OPTION, bench_app, console, emit, err_console
from toolchain.core.outputs import check_writable


@bench_app.command("simulate")
def bench_simulate_cmd(
    emulator_clips: int = typer.Option(256, min=1, help="Clips for the emulator measurement."),
    lava_extra_clips: int = typer.Option(2, min=1, help="Extra clips in the second Lava run (marginal cost)."),
    network: str = typer.Option("seed", help="seed (14175-4096-512-64-2, 50 steps) | pilotnet (lava-dl's "
                                "PilotNet LIF: conv layers, 16 steps)."),
    repeats: int = typer.Option(5, min=1, help="Timed emulator runs; the median counts."),
    out: Optional[Path] = typer.Option(None, help="Write the result JSON here."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Emulator vs Lava clips/s on the seed-size 2D network, or on lava-dl's PilotNet (--network pilotnet)."""
    from toolchain.bench.simulate import bench_simulate
    from toolchain.core.errors import ConfigError
    from toolchain.core.fileio import write_json

    if network not in ("seed", "pilotnet"):
        raise ConfigError(f"--network {network!r} is not 'seed' or 'pilotnet'")
    check_writable(out, folder=False)  # before the benchmark, not after it
    r = bench_simulate(emulator_clips, lava_extra_clips, network=network, repeats=repeats,
                       progress=(lambda s: None) if as_json else err_console.print)
    if out:
        write_json(out, r)

    def render(r: dict) -> None:
        console.print(f"emulator {r['emulator_clips_per_s']:.1f} clips/s; Lava {r['lava_clips_per_s_marginal']:.4f} "
                      f"clips/s (marginal), {r['lava_clips_per_s_all_in']:.4f} (all-in)")
        met = "met" if r["ratio"] >= r["target_ratio"] and r["spikes_equal"] else "not met"
        console.print(f"ratio emulator/Lava: [bold]{r['ratio']:.0f}x[/] marginal, {r['ratio_all_in']:.0f}x all-in "
                      f"(target {r['target_ratio']:.0f}x marginal with spikes equal: {met}); spikes equal: "
                      f"{r['spikes_equal']}")
        console.print(f"exact products: {r['exact_products']}")

    emit(r, as_json, render)




@bench_app.command("all")
def bench_all_cmd(
    out: Path = typer.Option(Path("bench-results"), help="Folder for bench.md, bench.json and each raw result."),
    clips: int = typer.Option(30000, min=1, help="Clips for the data benchmark."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Every benchmark (data, train, simulate, detect) and one table of ratios against the naive alternatives."""
    from toolchain.train.runtime import enable_huge_pages

    enable_huge_pages()  # as `bench train` does, before torch allocates anything
    from toolchain.bench.all import render, run_all

    check_writable(out)
    result = run_all(out, clips=clips, progress=(lambda s: None) if as_json else err_console.print)
    emit(result, as_json, lambda r: console.print(render(r), markup=False, highlight=False))
