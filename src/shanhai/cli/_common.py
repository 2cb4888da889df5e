"""Options, consoles and output helpers shared by the command groups."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from shanhai.store.connection import DEFAULT_DB, ENV_DB

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar=ENV_DB, help=f"数据库文件 Database file (default ./{DEFAULT_DB}, or ${ENV_DB}).",
                 show_default=False),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="输出 JSON 文档 Print one JSON document on stdout and nothing else."),
]

# Human output and progress go to stderr when --json is on, so stdout stays one JSON document.
# Piped output (CI logs, files) gets a width that fits the tables instead of 80 columns.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 120)


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@contextmanager
def lazy_progress(console: Console):
    """A progress callback ``(label, fraction)`` whose bar appears only once work starts, so a
    command refused up front prints its one-line error and nothing else."""
    bar = progress_bar(console)
    task = None

    def update(label: str, fraction: float) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=1.0)
        bar.update(task, completed=fraction, description=label)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()


def fmt(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"
