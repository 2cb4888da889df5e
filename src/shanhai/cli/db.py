"""``shanhai db``: create, inspect, back up and restore the database file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, emit_json, fmt, out
from shanhai.store import (
    backup as _backup,
    default_db_path,
    latest_version,
    load_reference,
    open_store,
    restore as _restore,
)
from shanhai.store import audit
from shanhai.store.backup import default_backup_dir, restore_in_place
from shanhai.store.connection import check_readable

app = typer.Typer(help="数据库 Create, inspect, back up and restore the database file.", no_args_is_help=True)


@app.command()
def init(db: DbOption = None, json_output: JsonOption = False) -> None:
    """创建或升级 Create the database (or upgrade an older one) and load the reference data."""
    path = db or default_db_path()
    existed = path.exists()
    with open_store(path) as store:
        before = store.schema_version
        counts = load_reference(store.con)
        version = store.schema_version
    if json_output:
        emit_json({"db": str(path), "created": not existed, "schema_version": version, "reference_rows": counts})
        return
    action = "已升级 Upgraded" if existed and before < version else ("已创建 Created" if not existed else "已是最新 Up to date")
    out.print(f"{action}: {path} (schema version {version}); reference data: "
              + ", ".join(f"{name} {n}" for name, n in counts.items()))


def _chain_state(finding) -> str:
    if finding is None:
        return "intact"
    if finding.kind == "unverifiable":
        return f"unverifiable from entry {finding.seq} (written with an audit key not configured here; see `shanhai audit verify`)"
    return f"broken at entry {finding.row or finding.seq}"


@app.command()
def info(db: DbOption = None, json_output: JsonOption = False) -> None:
    """查看 Show the schema version, datasets, row counts, the audit chain's state and duplicate keys.

    Reads every table whole, so a damaged block anywhere is reported (one line, naming the table)."""
    path = db or default_db_path()
    with open_store(path, read_only=True) as store:
        check_readable(store)
        counts = store.row_counts()
        datasets = store.con.execute(
            "SELECT dataset_id, kind, description FROM datasets ORDER BY dataset_id").fetchall()
        finding, _ = audit.check(store.con)
        duplicates = store.duplicate_keys()
        version = store.schema_version
    size = path.stat().st_size
    document = {
        "db": str(path), "size_bytes": size, "schema_version": version, "latest_schema_version": latest_version(),
        "datasets": [{"dataset_id": d, "kind": k, "description": s} for d, k, s in datasets],
        "tables": counts, "audit_chain": _chain_state(finding),
        "duplicate_keys": duplicates,
    }
    if json_output:
        emit_json(document)
        return
    out.print(f"[bold]{path}[/bold]  {size / 1e6:,.1f} MB  schema version {version}"
              f" (code knows {document['latest_schema_version']})")
    for d in document["datasets"]:
        out.print(f"  数据集 dataset [bold]{d['dataset_id']}[/bold] ({d['kind']}): {d['description'] or ''}")
    table = Table("表 Table", "行数 Rows", title="表 Tables", title_justify="left")
    for name, n in counts.items():
        table.add_row(name, fmt(n))
    out.print(table)
    colour = "green" if finding is None else "yellow" if finding.kind == "unverifiable" else "red"
    out.print(f"审计链 Audit chain: [{colour}]{document['audit_chain']}[/{colour}]")
    for name, n in duplicates.items():
        if n:
            out.print(f"[red]重复键 Duplicate keys: {name} holds {n:,} key(s) more than once[/red] "
                      "(written around the importer and synth: delete the extra rows or `shanhai db restore` a backup)")


@app.command()
def backup(
    dest: Annotated[Path | None, typer.Argument(
        help="新的备份文件夹 A new folder for the backup (default: <db>.backups/<UTC time>).",
        show_default=False)] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """备份 Write a portable backup: one Parquet file per table plus a manifest with checksums.

    Without DEST the backup goes to <db>.backups/<UTC time>/, where `shanhai db restore` finds
    the last one."""
    path = db or default_db_path()
    dest = dest or default_backup_dir(path)
    with open_store(path, create=False) as store:
        manifest = _backup(store, dest)
    if json_output:
        emit_json({"db": str(path), "backup": str(dest), **manifest})
        return
    total = sum(t["rows"] for t in manifest["tables"].values())
    out.print(f"已备份 Backed up {path} → {dest}: {len(manifest['tables'])} tables, {fmt(total)} rows, "
              f"schema version {manifest['schema_version']}.")


@app.command()
def restore(
    src: Annotated[Path | None, typer.Argument(
        help="备份文件夹 The backup folder (default: the last one in <db>.backups/).",
        show_default=False)] = None,
    db: DbOption = None,
    replace: Annotated[bool, typer.Option("--replace", help=(
        "替换现有文件 Restore SRC over an existing database file, moving that file aside first "
        "(always so without SRC)."))] = False,
    json_output: JsonOption = False,
) -> None:
    """恢复 Restore a backup (by default the last one in <db>.backups/), checking every table's checksum.

    Without SRC (or with --replace) an existing database file, damaged or not, is moved aside to
    <db>.set-aside-<UTC time>, never deleted; a failed restore puts it back. With SRC alone the
    database file must not exist yet."""
    path = db or default_db_path()
    result = restore_in_place(src, path) if src is None or replace else {
        **_restore(src, path), "backup": str(src), "set_aside": None}
    if json_output:
        emit_json({"db": str(path), **result})
        return
    upgraded = (f", upgraded to version {result['upgraded_to']}"
                if result["upgraded_to"] != result["schema_version"] else "")
    out.print(f"已恢复 Restored {result['backup']} → {path}: {len(result['tables'])} tables, "
              f"{fmt(sum(result['tables'].values()))} rows, checksums verified{upgraded}.")
    if result["set_aside"]:
        out.print(f"原文件已另存 The previous file is kept as {result['set_aside']} (not deleted).")

