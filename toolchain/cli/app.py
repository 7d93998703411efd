"""The `neurodeploy` command-line application: shared Typer apps and output helpers.

Each area registers its commands in its own module (data_cmds, train_cmds, deploy_cmds,
energy_cmds, pipeline_cmds, doctor); heavy libraries (torch, lava) are imported inside the
command functions so `neurodeploy --version` stays fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Optional

import typer
from rich.console import Console

from toolchain import __version__
from toolchain.core.errors import NeurodeployError

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="neurodeploy",
    help="Train snntorch SNNs, quantise them to Loihi fixed point, deploy to Lava / netx / NIR, "
    "verify spike for spike, and estimate energy per classification against an ANN baseline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Whale data: check, synthesise, show.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks: each prints the ratio against the naive alternative measured in the same run.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")
app.add_typer(bench_app, name="bench")

JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON on stdout (for scripting).")


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"neurodeploy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """neurodeploy command line."""


def emit(result: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], None]) -> None:
    """Print `result` as JSON (machine) or through `render` (human, rich)."""
    if as_json:
        from toolchain.core.fileio import _json_default

        sys.stdout.write(json.dumps(result, indent=2, default=_json_default) + "\n")
    else:
        render(result)


def main() -> None:
    """Console-script entry point: user errors become one red line and exit status 2."""
    import toolchain.cli  # noqa: F401  (registers every command module)

    try:
        app()
    except NeurodeployError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)
