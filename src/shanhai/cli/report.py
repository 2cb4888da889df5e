"""``shanhai report …``: documents for leaders built from stored runs — the per-mu briefing (专报)
as PDF, Word or Excel, and the monthly briefing (月报) as PDF or Word. Thin: parse, call
``shanhai.reports.briefing`` / ``shanhai.reports.monthly``, write the file, record the export in
the audit log, print where it went."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, lazy_progress, out
from shanhai.errors import ShanhaiError
from shanhai.store import default_db_path, open_store

HELP = ("报告 Reports for leaders built from stored runs: the per-mu briefing (专报) as PDF, Word or Excel, "
        "and the monthly briefing (月报) as PDF or Word.\n\n"
        "Only the firms of --region appear in a report.")

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich")

OutOption = Annotated[Path | None, typer.Option(
    "--out", "-o", help="输出文件或文件夹 Output file or folder (default: the report's own name in the current folder).",
    show_default=False)]
LangOption = Annotated[str, typer.Option("--lang", help="语言 zh (default) or en.")]
IssuerOption = Annotated[str | None, typer.Option(
    "--issuer", help="发文单位 Issuing unit on the title block (default: the region's 经信局).", show_default=False)]


@app.command("mujun")
def mujun(
    run: Annotated[str | None, typer.Option(
        "--run", help="评价批次 Run id (default: the latest per-mu run).", show_default=False)] = None,
    region: Annotated[str | None, typer.Option(
        "--region", help="地区 Adcode of a county or a city, or 330000 (default: the run's region).",
        show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="格式 pdf, docx or xlsx.")] = "pdf",
    out_path: OutOption = None, lang: LangOption = "zh", issuer: IssuerOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """亩均效益综合评价专报 The per-mu briefing of a run for a region: summary written from the
    numbers, tables, charts and the map, method and sources."""
    from shanhai.jobs import mujun as jobs
    from shanhai.reports import briefing

    fmt = _check(fmt, lang, out_path, briefing.FORMATS, briefing.LANGS)
    path = db or default_db_path()
    with open_store(path) as store:
        run_id = jobs.resolve(store, run)
        with lazy_progress(err) as progress:
            data, name, media_type = briefing.render(store, run_id, region, fmt, lang, issuer=issuer,
                                                     progress=progress)
        target = _write(out_path, name, data)
        audit_export(store, run_id, target, kind="briefing.mujun", format=fmt, lang=lang, run=run_id,
                     region=region or "")
    doc = {"path": str(target), "bytes": len(data), "media_type": media_type, "run_id": run_id,
           "region": region, "format": fmt, "lang": lang}
    if json_output:
        emit_json(doc)
        return
    out.print(f"已生成 Written: [bold]{escape(str(target))}[/bold] ({len(data) / 1024:,.0f} KB, {fmt}, {lang})")


def _check(fmt: str, lang: str, out_path: Path | None, formats: dict, langs: tuple) -> str:
    fmt = fmt.lower().lstrip(".")
    if fmt not in formats:
        raise ShanhaiError(f"--format {fmt}: expected {', '.join(formats)}")
    if lang not in langs:
        raise ShanhaiError(f"--lang {lang}: expected zh or en")
    if out_path is not None and not out_path.is_dir():
        if out_path.suffix.lower() != f".{fmt}":
            raise ShanhaiError(f"--out {out_path}: a {fmt} report's file name must end in .{fmt}")
        if not out_path.parent.is_dir():
            raise ShanhaiError(f"--out {out_path}: folder {out_path.parent} does not exist")
    return fmt


def _write(out_path: Path | None, name: str, data: bytes) -> Path:
    target = out_path / name if out_path is not None and out_path.is_dir() else out_path or Path(name)
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise ShanhaiError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target


@app.command("monthly")
def monthly(
    region: Annotated[str | None, typer.Option(
        "--region", help="地区 Adcode of a county or a city, or 330000 (default: the province).",
        show_default=False)] = None,
    month: Annotated[str | None, typer.Option(
        "--month", help="月份 YYYY-MM (default: the latest month with electricity data).", show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="格式 pdf or docx.")] = "pdf",
    out_path: OutOption = None, lang: LangOption = "zh", issuer: IssuerOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """工业经济运行月报 The monthly briefing of a region: what rose and fell (electricity indices by
    industry, area and chain), red targets, open alerts and visits, zones and cultivation pools;
    computes the month's electricity-index run when none covers it."""
    from shanhai.reports import monthly as report
    from shanhai.store.scope import Scope

    fmt = _check(fmt, lang, out_path, report.FORMATS, report.LANGS)
    with open_store(db or default_db_path()) as store:
        scope = Scope.province()
        with lazy_progress(err) as progress:
            report.prepare(store, scope, region, month, user="cli", progress=progress)
        data, name, media_type = report.render(store, scope, region, month, fmt, lang, issuer=issuer)
        target = _write(out_path, name, data)
        audit_export(store, f"monthly:{region or '330000'}", target, kind="briefing.monthly", format=fmt, lang=lang,
                     region=region or "330000", month=f"{report._month(store, month):%Y-%m}")
    doc = {"path": str(target), "bytes": len(data), "media_type": media_type, "region": region or "330000",
           "month": month, "format": fmt, "lang": lang}
    if json_output:
        emit_json(doc)
        return
    out.print(f"已生成 Written: [bold]{escape(str(target))}[/bold] ({len(data) / 1024:,.0f} KB, {fmt}, {lang})")
