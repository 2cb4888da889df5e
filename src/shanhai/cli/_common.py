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


def say_written(path, json_output: bool = False) -> None:
    """"已写出 written: PATH" — on stderr when --json is on, so stdout stays one JSON document."""
    (err if json_output else out).print(f"已写出 written: {path}")


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


# ---- audited exports ----------------------------------------------------------------------------

# Every command that writes a file or folder records it with :func:`audit_export`, except these:
# they write nothing read from the store as an export (command path → why). tests/cli/
# test_export_audit.py finds every output option of the app and holds each command to one or the other.
UNAUDITED_OUTPUTS: dict[str, str] = {
    "template": "a blank import template built from the package's import spec: no row of the store",
    "import": "--rejects holds the rejected rows of the user's own input file, nothing read from the store "
              "(the import itself is audited as `import`)",
    "db backup": "the whole database for `shanhai db restore`, audited as `db_backup` by shanhai.store.backup",
    "audit archive": "audit records past retention moved out of the log (no enterprise data), audited as "
                     "`audit.archive` by shanhai.store.audit",
}

def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def _withdraw(written: list[Path]) -> None:
    import shutil

    for part in written:
        if part.is_dir():
            shutil.rmtree(part, ignore_errors=True)
        else:
            part.unlink(missing_ok=True)


def audit_export(store, target: str, path: Path | str, *, parts: list[Path] | None = None,
                 **detail: Any) -> int:
    """Record one file (or folder) a command has just written from the store as an ``export`` in
    the audit log, as the web does for its downloads, and return the record's sequence number.

    ``store`` is the command's open, writable :class:`~shanhai.store.Store`, or — when the command
    read through a read-only store and closed it — the database path (``None``: the default), which
    is then opened writable for the record: the command line process owns the file while it runs.
    ``path`` is what was written; for a folder, ``parts`` names the files or sub-folders the command
    wrote in it (default: the whole folder). The record's detail holds the absolute ``path``, the
    ``format`` (from the suffix unless given), the ``bytes`` written and ``detail`` (rows, run,
    region, year …).

    Call it only after the file is written: a failed export leaves no ``export`` record. If the
    record cannot be written (the database is locked by another process, say), what was just written
    is removed again and the command fails — no file leaves the store without its record.
    """
    from shanhai.errors import ShanhaiError
    from shanhai.store import audit, default_db_path, open_store
    from shanhai.store.connection import Store

    path = Path(path).resolve()
    written = [Path(p).resolve() for p in parts] if parts is not None else [path]
    if not any(p.exists() for p in written):
        raise ShanhaiError(f"export to {path} was not written: nothing to record")
    record = {"path": str(path),
              "format": detail.pop("format", None) or (path.suffix.lower().lstrip(".") or "folder"),
              "bytes": sum(_size(p) for p in written), **detail}
    if parts is not None:
        record["parts"] = [p.name for p in written]
    if isinstance(store, Store) and store.read_only:
        raise RuntimeError("audit_export needs a writable store (or the database path, once the read-only store "
                           "is closed)")
    try:
        if isinstance(store, Store):
            return audit.append(store.con, "export", target=target, detail=record)
        with open_store(store or default_db_path(), create=False) as owner:
            return audit.append(owner.con, "export", target=target, detail=record)
    except Exception as exc:
        _withdraw(written)
        reason = str(exc) if isinstance(exc, ShanhaiError) else f"{type(exc).__name__}: {exc}"
        raise ShanhaiError(f"导出已撤回 export withdrawn: {path} was removed because its audit record could not "
                           f"be written ({reason})") from exc
