"""``shanhai opportunities --region ADCODE``: 一县一业 — a county's industries by feasibility and
attractiveness, the classes to develop and to strengthen, its declared lead industries. Thin:
parse, call ``shanhai.jobs.opportunities``, print (or write the workbook)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, fmt, out
from shanhai.cli.parquet import EngineOption, SparkMasterOption, configure_engine
from shanhai.errors import ShanhaiError
from shanhai.store import default_db_path, open_store


def _number(value, digits: int = 3, sign: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def suggestions_table(title: str, rows: list[dict], caption: str) -> Table:
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for column, justify in (("#", "right"), ("代码", "left"), ("行业 class", "left"), ("可行性 density", "right"),
                            ("机会增益 COG", "right"), ("复杂度 PCI", "right"), ("RCA", "right"),
                            ("得分 score", "right"), ("主导产业 lead", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for x in rows:
        table.add_row(str(x["rank"]), x["code"], escape(x["name"]), _number(x["density"]), _number(x["cog"], sign=True),
                      _number(x["pci"], sign=True), _number(x["rca"], 2), _number(x["score"], 2, sign=True),
                      f"[bold]★ {escape(x['lead'])}[/bold]" if x["lead"] else "")
    return table


def opportunities(
    region: Annotated[str, typer.Option(
        "--region", help="县(市、区) Adcode of a county, e.g. 330127 (cities and the province are refused).",
        show_default=False)],
    db: DbOption = None,
    year: Annotated[int | None, typer.Option(
        "--year", help="年度 Data year (default: the latest in the database; earlier years give the history).",
        show_default=False)] = None,
    measure: Annotated[str, typer.Option(
        "--measure", help="指标 What is summed per county × class: value_added (工业增加值) or headcount (从业人员).")
    ] = "value_added",
    top: Annotated[int, typer.Option(
        "--top", min=1, help="每类建议显示条数 Suggestions shown per list (--json and --xlsx carry every class).")] = 10,
    json_output: JsonOption = False,
    xlsx: Annotated[Path | None, typer.Option(
        "--xlsx", help="导出工作簿 Also write the county's workbook (汇总, 建议, 机会图, 全部行业, 说明) to this .xlsx.",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="覆盖已有文件 Overwrite an existing --xlsx file.")] = False,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
) -> None:
    """一县一业 产业机会 A county's industries by feasibility × attractiveness, with suggestions.

    Economic complexity of all counties × 4-digit classes, as the Growth Lab's ecomplexity computes it.

    培育 Develop: classes the county lacks, by 0.6·z(density) + 0.4·z(complexity outlook gain).

    做强 Strengthen: classes it has that are more complex (PCI) than the county (ECI).

    Also its declared lead industries (★) and its ECI rank among the counties, year by year.
    """
    if xlsx is not None and xlsx.exists() and not force:
        raise ShanhaiError(f"{xlsx} already exists: choose another --xlsx, or pass --force to overwrite it")
    from shanhai.jobs.opportunities import opportunities as job
    from shanhai.store.scope import Scope

    configure_engine(engine, spark_master)
    with open_store(db or default_db_path(), read_only=True) as store:
        result = job(store, region, scope=Scope.province(), year=year, measure=measure, top=top, engine=engine)
    written = None
    if xlsx is not None:
        from shanhai.reports.opportunities_excel import opportunities_workbook

        written = opportunities_workbook(result, xlsx)
        audit_export(db, f"opportunities:{result.adcode}", xlsx, kind="opportunities", region=result.adcode,
                     year=result.year, measure=measure, rows=sum(written.sheets.values()),
                     fingerprint=result.provenance.get("fingerprint"))
    if json_output:
        emit_json({**result.as_dict(), "xlsx": written.as_dict() if written else None})
        return
    _print(result)
    if written:
        out.print(f"已写出工作簿 Wrote {escape(written.path)}: "
                  + ", ".join(f"{sheet} {n:,}" for sheet, n in written.sheets.items()))


def _print(r) -> None:
    p = r.provenance
    rank = f"第 {r.eci_rank} / {r.counties} 名" if r.eci_rank else "—"
    out.print(f"[bold]{escape(r.name)} ({r.adcode}) 一县一业 产业机会 Opportunities · {r.year} 年 · "
              f"{r.measure_label} {fmt(r.total, 1)} {r.unit}[/bold]")
    out.print(f"经济复杂度 ECI {_number(r.eci, 2, sign=True)} ({rank}) · 复杂度展望 COI {_number(r.coi, 2, sign=True)} · "
              "历年 by year: " + ", ".join(f"{h['year']} {_number(h['eci'], 2, sign=True)} (#{h['rank'] or '—'})"
                                          for h in r.eci_history))
    out.print(suggestions_table("培育 Develop: 本县尚未具备比较优势、可行性与吸引力兼顾的行业", r.develop,
                           "得分 = 0.6·z(可行性) + 0.4·z(机会增益), z 为本县未有行业内的标准分 · ★ 已申报主导产业 · "
                           "理由 reasons: --json, --xlsx"))
    out.print(suggestions_table("做强 Strengthen: 已具比较优势且复杂度高于本县的行业", r.strengthen,
                           "按产业复杂度 PCI 排序 · PCI 高于本县 ECI: 做强可提升全县复杂度"))
    if r.leads:
        table = Table(title="已申报主导产业 Declared lead industries", title_justify="left")
        for column, justify in (("主导产业", "left"), ("代码 codes", "left"), ("小类", "right"), ("已有", "right"),
                                ("占比 share", "right"), ("建议 suggested (名次 rank)", "left")):
            table.add_column(column, justify=justify, overflow="fold")
        for x in r.leads:
            table.add_row(escape(x["name"]), "; ".join(x["codes"]), fmt(x["classes"]), fmt(x["present"]),
                          f"{x['share']:.1%}", "; ".join(f"{s['code']} {escape(s['name'])} "
                                                         f"({'培育' if s['suggestion'] == 'develop' else '做强'} "
                                                         f"#{s['rank']})" for s in x["suggested"]))
        out.print(table)
    else:
        out.print("[dim]本县未申报主导产业 No declared lead industry for this county.[/dim]")
    out.print(f"[dim]{p['counties']} 县 counties × {p['classes']} 行业小类 classes, {p['firms']:,} firms in {r.year} · "
              f"years {', '.join(map(str, p['years']))} · datasets {', '.join(p['datasets'])} · "
              f"fingerprint {p['fingerprint'][:12]}[/dim]")
