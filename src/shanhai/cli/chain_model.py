"""``shanhai chains import|export|members``: the chain model as data and the firms in each chain.
Thin: parse, call ``shanhai.jobs.chain_model`` / ``shanhai.jobs.membership``, print. The command
functions are registered on the ``shanhai chains`` group by ``cli/chains.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, fmt, lazy_progress, out
from shanhai.store import default_db_path, open_store

RecomputeAfterImport = Annotated[bool, typer.Option(
    "--recompute/--no-recompute",
    help="导入后重新计算企业归属 Recompute chain membership after the import (default: yes).")]
RecomputeMembers = Annotated[bool, typer.Option(
    "--recompute",
    help="重新计算 Recompute membership by industry code and keyword first (manual rows and exclusions are kept).")]
DatasetOption = Annotated[str | None, typer.Option(
    "--dataset", metavar="DATASET_ID",
    help="只重算该数据集的企业 With --recompute: only the firms of this dataset (e.g. an import's id); "
         "chain leaders are chosen again over every firm.", show_default=False)]


def _members_table(summary) -> Table:
    table = Table(title="产业链企业 Firms per chain", title_justify="left",
                  caption=f"链主按 {summary.year} 年规上企业营业收入 leaders by {summary.year} revenue"
                  if summary.year else None, caption_justify="left")
    for column in ("产业链 chain", "企业 firms", "行业代码 code", "关键词 keyword", "人工 manual", "链主 leaders"):
        table.add_column(column, justify="left" if column.startswith("产业链") else "right")
    for chain_id, c in summary.chains.items():
        by = c["by_method"]
        table.add_row(chain_id, fmt(c["firms"]), fmt(by.get("code", 0)), fmt(by.get("keyword", 0)),
                      fmt(by.get("manual", 0)), fmt(c["leaders"]))
    return table


def _print_members(summary, title: str) -> None:
    out.print(f"{title}: 行业代码 by code {fmt(summary.code)} 行, 关键词 by keyword {fmt(summary.keyword)} 行, "
              f"人工 manual {fmt(summary.manual)} 行 (排除 excluded {fmt(summary.excluded)}), "
              f"链主 leaders {fmt(summary.leaders)}, 企业 firms {fmt(summary.firms)}"
              + (f" · {summary.seconds:.1f} s" if summary.seconds else ""))
    out.print(_members_table(summary))


def chains_import(
    file: Annotated[Path, typer.Argument(
        help="产业链文件 A TOML file in the layout of the packaged chains.toml, or a workbook (.xlsx) in the "
             "layout `shanhai chains export` writes.", show_default=False)],
    recompute: RecomputeAfterImport = True,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """导入产业链 Add or edit chains from a TOML file or a workbook (one row per segment).

    A chain with the id of a stored one replaces it; a packaged chain so edited stays the user's when
    the reference data is loaded again. Errors name the file, row and column; nothing is written then.
    """
    from shanhai.jobs import chain_model, membership

    with open_store(db or default_db_path()) as store, lazy_progress(err) as progress:
        result = chain_model.import_chains(store, file)
        summary = membership.assign_members(store, progress=progress) if recompute else None
    if json_output:
        emit_json({"import": result.as_dict(), "membership": summary.as_dict() if summary else None})
        return
    out.print(f"已导入 Imported {escape(str(file))}: {len(result.chains)} 条产业链 chains "
              f"({len(result.created)} 新增 new, {len(result.edited)} 修改 edited), {result.segments} 个环节 segments")
    if result.created:
        out.print("  新增 new: " + ", ".join(result.created))
    if result.edited:
        out.print("  修改 edited: " + ", ".join(result.edited))
    if result.removed_segments:
        out.print(f"[yellow]注意 note:[/yellow] 删除的环节 segments removed: {', '.join(result.removed_segments)} "
                  f"(其企业归属 {result.memberships_dropped} 行已删除 membership rows dropped)")
    if summary is not None:
        _print_members(summary, "企业归属已重新计算 Membership recomputed")
    else:
        out.print("企业归属未重算 Membership not recomputed: run `shanhai chains members --recompute`.")


def chains_export(
    file: Annotated[Path, typer.Argument(
        help="目标工作簿 Where to write the workbook (.xlsx).", show_default=False)],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """导出产业链 Write the chain model (packaged and user chains) as a workbook in the import layout."""
    from shanhai.errors import ShanhaiError
    from shanhai.jobs import chain_model

    if file.suffix.lower() != ".xlsx":
        raise ShanhaiError(f"{file}: the export is an Excel workbook: give a file name ending in .xlsx")
    with open_store(db or default_db_path(), read_only=True) as store:
        result = chain_model.export_chains(store, file)
    audit_export(db, "chains", file, kind="chain_model", chains=result["chains"], rows=result["segments"],
                 segments=result["segments"])
    if json_output:
        emit_json(result)
        return
    out.print(f"已导出 Exported {result['chains']} 条产业链 chains, {result['segments']} 个环节 segments "
              f"→ {escape(str(file))}")


def chains_members(
    recompute: RecomputeMembers = False,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """企业归属 Firms per chain by method and the chain leaders; --recompute assigns them again.

    Membership is by industry code (a 2-, 3- or 4-digit code covers its classes) and by keywords in the
    firm's name and business scope; manual rows — members, chain leaders and exclusions (排除) loaded with
    `shanhai import enterprise-segments` — are kept.
    """
    from shanhai.errors import ShanhaiError
    from shanhai.jobs import membership

    if dataset is not None and not recompute:
        raise ShanhaiError("--dataset goes with --recompute: it limits the recomputation to one dataset's firms")
    if recompute:
        with open_store(db or default_db_path()) as store, lazy_progress(err) as progress:
            summary = membership.assign_members(store, dataset=dataset, progress=progress)
    else:
        with open_store(db or default_db_path(), read_only=True) as store:
            summary = membership.membership_counts(store)
    if json_output:
        emit_json(summary.as_dict())
        return
    _print_members(summary, "企业归属已重新计算 Membership recomputed" if recompute else "企业归属 Membership")
