"""Progress bars on stderr (rich), one construction for every long-running loop."""

from __future__ import annotations


def stderr_progress(*columns, description: str = "{task.description}", transient: bool = False):
    """A rich Progress on stderr: description, bar, n/total, the given extra columns, elapsed time."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), *columns, TimeElapsedColumn(),
                    console=Console(stderr=True), transient=transient)
