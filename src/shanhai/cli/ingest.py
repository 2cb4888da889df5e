"""``shanhai import``: load a workbook or CSV of one kind, explaining every rejected cell."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, emit_json, err, fmt, lazy_progress, out
from shanhai.ingest import import_file, kinds
from shanhai.store import default_db_path, open_store
from shanhai.store.scope import Scope

KIND_HELP = "数据类型 Kind of file: " + ", ".join(kinds())


def import_(
    kind: Annotated[str, typer.Argument(help=KIND_HELP, show_default=False)],
    file: Annotated[Path, typer.Argument(help="Excel (.xlsx/.xls) 或 CSV 文件 The workbook or CSV file.", show_default=False)],
    year: Annotated[int | None, typer.Option(help="年份 Year for files without a year column (and wide monthly tables).")] = None,
    sheet: Annotated[str | None, typer.Option(help="工作表 Sheet name or number (default: the first).")] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV 编码 CSV encoding (default: detected; utf-8, gbk, gb18030).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查不写入 Check and report without writing.")] = False,
    rejects: Annotated[Path | None, typer.Option(help="拒绝行工作簿 Where to write the rejected rows (default: FILE.rejects.xlsx beside the input).")] = None,
    region: Annotated[str | None, typer.Option(
        "--region", metavar="ADCODE",
        help="数据范围 Adcode of a county or a city: only its rows load; a row of another region (by its county "
             "column, its firm's county in the register, or its town's county) is rejected with the reason, "
             "as the web does for a county's upload (default: the whole province).",
        show_default=False)] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """导入数据 Import a workbook or CSV: valid rows load, every rejected row is explained.

    Headers are matched to the schema in Chinese with their synonyms and units (元/万元/亿元,
    亩/平方米/公顷, 千瓦时/万千瓦时 …). Re-importing the same file changes nothing; a corrected
    file updates the keyed rows and keeps the old values in the change history.

    --region ADCODE (a county office loading its own file): rows of other regions are rejected.
    """
    path = db or default_db_path()
    with open_store(path) as store, lazy_progress(err) as progress:
        scope = Scope.of(store, region) if region is not None else None
        result = import_file(store, kind, file, year=year, sheet=sheet, encoding=encoding, dry_run=dry_run,
                             progress=progress, scope=scope)
    from shanhai.ingest.rejects import write_rejects  # xlsxwriter loads only when a workbook is written

    if result.rejects and not dry_run:
        target = rejects or file.with_name(file.name + ".rejects.xlsx")
        result.rejects_file = str(write_rejects(result, target))
    elif result.rejects and rejects is not None:
        result.rejects_file = str(write_rejects(result, rejects))
    if json_output:
        emit_json(result.as_dict())
        return
    mode = "检查 Checked (dry run, nothing written)" if dry_run else "已导入 Imported"
    out.print(f"{mode} {file} as [bold]{result.kind}[/bold]"
              + (f", sheet {result.sheet}" if result.sheet else "")
              + (f", encoding {result.encoding}" if result.encoding else "")
              + f" → dataset {result.dataset_id}")
    if result.scope:
        out.print(f"数据范围 Region {result.scope['adcode']} {result.scope['name']}: "
                  f"{fmt(result.out_of_scope)} 行不在范围内, 已拒绝 rows outside it rejected")
    summary = Table("行 Rows", "新增 loaded", "更新 updated", "未变 unchanged", "拒绝 rejected", "警告 warned",
                    "空行 blank", title_justify="left")
    summary.add_row(fmt(result.rows_in), fmt(result.inserted), fmt(result.updated), fmt(result.unchanged),
                    fmt(result.rejected), fmt(result.warned), fmt(result.blank_rows))
    out.print(summary)
    for note in result.notes:
        out.print(f"[yellow]注意 note:[/yellow] {note}")
    if result.rejects:
        table = Table("行 Row", "列 Column", "值 Value", "原因 Reason", title="拒绝 Rejected (first 20)",
                      title_justify="left")
        for p in result.rejects[:20]:
            table.add_row(str(p.row), p.column, "" if p.value is None else str(p.value), p.message)
        out.print(table)
    if result.warnings:
        out.print(f"[yellow]警告 warnings:[/yellow] {len(result.warnings)}, e.g. row {result.warnings[0].row} "
                  f"{result.warnings[0].column}: {result.warnings[0].message}")
    if result.rejects_file:
        out.print(f"拒绝行已写入 Rejected rows written to {result.rejects_file}")
