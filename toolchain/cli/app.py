"""The `neurodeploy` command-line application: shared Typer apps, output helpers and exit statuses.

Each area registers its commands in its own module (data_cmds, train_cmds, deploy_cmds,
energy_cmds, pipeline_cmds, doctor); heavy libraries (torch, lava) are imported inside the
command functions so `neurodeploy --version` stays fast.

Exit statuses (EXIT_*; README "Command line" and `neurodeploy --help` say the same):
0 success; 1 the work's own negative outcome (learning failure, emulator != Lava, unusable data
set); 2 a user error (bad option, configuration, input file or output folder: one line naming it);
3 an internal error (a bug: a short traceback summary and where to report it); 130 interrupted
(Ctrl-C or SIGTERM: nothing half-written is left, rerun the same command to resume).
Text from the user (names, paths, messages quoting them) is printed literally, never as Rich markup.
With --json, the result, and any error as {"error", "kind", "path"}, is strict JSON on stdout.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.markup import escape

from toolchain import __version__
from toolchain.core.errors import NeurodeployError

console = Console()
err_console = Console(stderr=True)

EXIT_OK, EXIT_NEGATIVE, EXIT_USER, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
INTERRUPTED = "interrupted: rerun the same command to resume"
REPORT_TO = ("this is a bug in neurodeploy, not a problem with your input: please report it on the "
             "neurodeploy issue tracker with the command line and this message "
             "(NEURODEPLOY_TRACEBACK=1 prints the full traceback)")
EXIT_STATUSES = (
    "Exit status: 0 success; 1 the work's own negative outcome (learning failure, emulator != Lava, "
    "unusable data set); 2 a user error (an option, configuration, input file or output folder, named "
    "in one line); 3 an internal error (a bug: a short traceback and where to report it); 130 "
    "interrupted (Ctrl-C or SIGTERM: rerun the same command to resume). With --json, errors are JSON "
    "on stdout too: {\"error\", \"kind\", \"path\"}.")

# Help texts are plain text: shapes such as "[clips, steps, ...]" and TOML tables such as "[synth]"
# are printed as written, not read as rich markup tags (which would drop them).
HELP_MARKUP = None

app = typer.Typer(
    name="neurodeploy",
    help="Train snntorch SNNs, quantise them to Loihi fixed point, deploy to Lava / netx / NIR, "
    "verify spike for spike, and estimate energy per classification against an ANN baseline.",
    epilog=EXIT_STATUSES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=HELP_MARKUP,
)
data_app = typer.Typer(help="Whale data: check, synthesise, show.", no_args_is_help=True, rich_markup_mode=HELP_MARKUP)
bench_app = typer.Typer(
    help="Benchmarks: each prints the ratio against the naive alternative measured in the same run.",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(data_app, name="data")
app.add_typer(bench_app, name="bench")

JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON on stdout (for scripting).")
PROGRESS_OPTION = typer.Option(False, "--no-progress", help="No progress bars.")
# With --json, stdout carries nothing but the JSON document: main() points file descriptor 1 at
# stderr for the whole command (libraries such as Ray print to stdout) and writes the JSON here.
_json_stream = None


def _out():
    return _json_stream or sys.stdout


def _reserve_stdout_for_json() -> None:
    global _json_stream
    try:
        sys.stdout.flush()
        _json_stream = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)
    except OSError:  # no real file descriptors (embedded use): keep stdout as it is
        _json_stream = None


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
    """Print `result` as strict JSON (machine; NaN/Infinity as null, listed) or through `render` (human)."""
    if as_json:
        from toolchain.core.fileio import dumps_json

        _out().write(dumps_json(result, indent=2) + "\n")
        _out().flush()
    else:
        render(result)


def print_error(message: str, label: str = "error") -> None:
    """One red line on stderr; `message` is printed literally (no Rich markup), unwrapped."""
    err_console.print(f"[bold red]{label}:[/] {escape(message)}", highlight=False, soft_wrap=True)


def print_warning(message: str) -> None:
    """One yellow warning line on stderr, `message` printed literally."""
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _json_error(message: str, kind: str, path: str | None = None) -> None:
    from toolchain.core.fileio import dumps_json

    _out().write(dumps_json({"error": message, "kind": kind, "path": path}, indent=2) + "\n")
    _out().flush()


def _wants_json(argv: list[str]) -> bool:
    return "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv


def _internal_summary(exc: BaseException, frames: int = 4) -> str:
    tb = traceback.extract_tb(exc.__traceback__)[-frames:]
    here = os.getcwd()
    return "\n".join(f"  at {os.path.relpath(f.filename, here) if f.filename.startswith(here) else f.filename}"
                     f":{f.lineno} in {f.name}" for f in tb)


def _fail(message: str, kind: str, code: int, as_json: bool, path: str | None = None, detail: str = "") -> None:
    if as_json:
        _json_error(message, kind, path)
    print_error(message)
    if detail:
        err_console.print(detail, markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


def _interrupted(as_json: bool) -> None:
    if as_json:
        _json_error(INTERRUPTED, "interrupted")
    err_console.print(f"[yellow]{INTERRUPTED}[/]", highlight=False, soft_wrap=True)
    sys.exit(EXIT_INTERRUPTED)


def _click_exceptions():
    try:
        from typer._click import exceptions  # typer >= 0.20 ships its own copy of click
    except ImportError:  # pragma: no cover - older typer on plain click
        from click import exceptions
    return exceptions


def _usage_error(exc, as_json: bool) -> None:
    """A bad command line (option value, missing argument, unknown command): exit 2 (EXIT_USER)."""
    if type(exc).__name__ != "NoArgsIsHelpError":  # that one has printed the help already
        if as_json:
            _json_error(exc.format_message(), "UsageError")
        try:
            from typer import rich_utils

            rich_utils.rich_format_error(exc)
        except ImportError:  # pragma: no cover - typer without rich
            exc.show()
    sys.exit(EXIT_USER if exc.exit_code == 2 else exc.exit_code)


def main() -> None:
    """Console-script entry point: runs the command and maps every outcome to its exit status."""
    import toolchain.cli  # noqa: F401  (registers every command module)
    from toolchain.train.runtime import sigterm_as_interrupt

    as_json = _wants_json(sys.argv[1:])
    if as_json:
        _reserve_stdout_for_json()
    sigterm_as_interrupt()  # kill = Ctrl-C: `finally` blocks clean up, finished work is kept
    try:
        rc = app(standalone_mode=False)
    except NeurodeployError as exc:
        _fail(str(exc), type(exc).__name__, EXIT_USER, as_json, exc.path)
    except typer.Abort:
        _interrupted(as_json)
    except _click_exceptions().ClickException as exc:  # usage errors: bad option value, missing argument
        _usage_error(exc, as_json)
    except KeyboardInterrupt:
        _interrupted(as_json)
    except Exception as exc:  # a bug: never a raw traceback, always a pointer to report it
        if os.environ.get("NEURODEPLOY_TRACEBACK"):
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc}", "InternalError", EXIT_INTERNAL, as_json,
              detail=_internal_summary(exc) + "\n" + REPORT_TO)
    rc = rc if isinstance(rc, int) else EXIT_OK
    if rc == EXIT_INTERRUPTED:  # typer turns KeyboardInterrupt inside a command into Exit(130)
        _interrupted(as_json)
    sys.exit(rc)
