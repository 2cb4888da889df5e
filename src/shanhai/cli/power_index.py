"""``shanhai index …``: the electricity indices — the production index by region and industry
division and the chain operation index by chain and segment (产业链运行指数). Thin: parse, call
``shanhai.jobs.power_index`` and ``shanhai.reports.power_index_excel``, print.

The command line is the province's own tool (scope: the whole province); ``--region`` chooses the
region shown."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, fmt, lazy_progress, out, err
from shanhai.store import default_db_path, open_store
from shanhai.store.scope import Scope

app = typer.Typer(help="电力指数 Electricity indices: production by region and industry, chain operation by segment.",
                  no_args_is_help=True)

RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 Province (330000), city or county adcode (default: the province).", show_default=False)]
RunOption = Annotated[str | None, typer.Option(
    "--run", help="计算批次 Run id (default: the newest run covering the region).", show_default=False)]
PeriodOption = Annotated[str | None, typer.Option(
    "--period", help="期间 Month YYYY-MM (default: the run's last; February holds Jan–Feb pooled).",
    show_default=False)]


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _table(rows: list[dict], first: str) -> Table:
    table = Table(first, "企业 firms", "日均用电 daily kWh", "电量比 energy", "运行占比 operating", "正常占比 normal",
                  "同比指数 y/y", "运行指数 composite", "定基 base")
    for r in rows:
        name = r["group_name"] if first.startswith("分组") else r["region_name"]
        table.add_row(escape(name) + (" [dim](样本少)[/dim]" if r["thin"] else ""), fmt(r["firms"]),
                      fmt(r["daily_kwh"], 0), fmt(r["energy_ratio"], 3), _pct(r["operating_share"]),
                      _pct(r["normal_share"]), fmt(r["yoy_index"]), fmt(r["composite_index"]), fmt(r["base_index"]))
    return table


@app.command("run")
def run_(
    month: Annotated[str | None, typer.Option("--month", help="截至月份 Last month YYYY-MM (default: the latest with data).",
                                              show_default=False)] = None,
    region: RegionOption = None,
    rules: Annotated[str, typer.Option("--rules", help="口径 Index rule set (policy/indices/*.toml).")] = "default",
    db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """计算电力指数 Compute and store the indices of a region for the rule set's months up to a month."""
    from shanhai.jobs import power_index as jp

    with open_store(db or default_db_path()) as store, lazy_progress(err) as progress:
        doc = jp.run(store, month=month, region=region, rules=rules, user="cli", progress=progress)
    if json_output:
        emit_json(doc)
        return
    out.print(f"已保存 stored [bold]{doc['run_id']}[/bold]: {escape(doc['region_name'])} · {doc['periods'][0]} – "
              f"{doc['periods'][-1]} · {fmt(doc['firms'])} 家企业 firms · {fmt(doc['cells'])} 个单元 cells · "
              f"定基年 base {doc['base_year']} · 口径 {doc['rules']} {doc['rules_version']} · {doc['seconds']} s")


@app.command("runs")
def runs_(db: DbOption = None, json_output: JsonOption = False) -> None:
    """已保存的计算批次 The stored index runs, newest first."""
    from shanhai.jobs import power_index as jp

    with open_store(db or default_db_path(), read_only=True) as store:
        rows = jp.runs(store, Scope.province())
    if json_output:
        emit_json(rows)
        return
    table = Table("批次 run", "地区 region", "期间 periods", "企业 firms", "口径 rules", "时间 at", "人 by")
    for r in rows:
        table.add_row(r["run_id"], escape(r["region_name"]), f"{r['periods'][0]} – {r['periods'][-1]}", fmt(r["firms"]),
                      r["rules"], r["created_at"], escape(r["created_by"] or ""))
    out.print(table)


def _show(kind: str, by: str, region, group, period, run, db, json_output, xlsx) -> None:
    from shanhai.jobs import power_index as jp

    with open_store(db or default_db_path(), read_only=True) as store:
        scope = Scope.province()
        doc = jp.cells(store, scope, kind=kind, region=region, by=by, group=group, period=period, run_id=run)
        if xlsx:
            from shanhai.reports.power_index_excel import power_index_workbook

            data = power_index_workbook(
                jp.cells(store, scope, kind="production", region=region, by="group", period=period, run_id=run),
                jp.cells(store, scope, kind="production", region=region, by="region", period=period, run_id=run),
                jp.cells(store, scope, kind="chain", region=region, by="group", period=period, run_id=run),
                jp.series(store, scope, region=region, run_id=run))
    if xlsx:
        xlsx.write_bytes(data)
        area = doc["region"]["adcode"]
        audit_export(db, f"indices:{area}", xlsx, kind="power_index", view=kind, region=area,
                     run=doc["run"]["run_id"], period=doc["period"], rows=len(doc["rows"]))
        (err if json_output else out).print(f"已写出 written: {xlsx}")
    if json_output:
        emit_json(doc)
        return
    title = {"production": "生产指数 production index", "chain": "产业链运行指数 chain operation index"}[kind]
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] {title} · {doc['period']} · 批次 run {doc['run']['run_id']}")
    if doc["total"]:
        t = doc["total"]
        out.print(f"全部制造业 all manufacturing: 运行指数 {fmt(t['composite_index'])} · 同比 {fmt(t['yoy_index'])} · "
                  f"运行企业 {_pct(t['operating_share'])} · 正常水平 {_pct(t['normal_share'])} · {fmt(t['firms'])} 家")
    out.print(_table(doc["rows"], "分组 group" if by == "group" else "地区 region"))


XlsxOption = Annotated[Path | None, typer.Option("--xlsx", help="导出 Excel Write the region's indices as a workbook.",
                                                 show_default=False)]


@app.command("production")
def production(
    region: RegionOption = None,
    by: Annotated[str, typer.Option("--by", help="分组 group: every industry division of the region; region: "
                                                 "every sub-region for one --group.")] = "group",
    group: Annotated[str, typer.Option("--group", help="行业 Division code, or 'all' (with --by region).")] = "all",
    period: PeriodOption = None, run: RunOption = None, db: DbOption = None, json_output: JsonOption = False,
    xlsx: XlsxOption = None,
) -> None:
    """生产指数 The production index (electricity) of a region by industry division or by sub-region."""
    _show("production", by, region, group, period, run, db, json_output, xlsx)


@app.command("chains")
def chains(
    region: RegionOption = None,
    by: Annotated[str, typer.Option("--by", help="分组 group: every chain and segment of the region; region: "
                                                 "every sub-region for one --group.")] = "group",
    group: Annotated[str, typer.Option("--group", help="产业链或环节 Chain or segment id (with --by region).")] = "all",
    period: PeriodOption = None, run: RunOption = None, db: DbOption = None, json_output: JsonOption = False,
    xlsx: XlsxOption = None,
) -> None:
    """产业链运行指数 The chain operation index: the electricity of every firm in a chain and segment."""
    _show("chain", by, region, group, period, run, db, json_output, xlsx)


@app.command("series")
def series_(
    region: RegionOption = None,
    kind: Annotated[str, typer.Option("--kind", help="production | chain")] = "production",
    group: Annotated[str, typer.Option("--group", help="'all', a division code, a chain or a segment id.")] = "all",
    run: RunOption = None, db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """月度走势 One cell's indices month by month."""
    from shanhai.jobs import power_index as jp

    with open_store(db or default_db_path(), read_only=True) as store:
        doc = jp.series(store, Scope.province(), kind=kind, group=group, region=region, run_id=run)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] {escape(doc['group_name'])} · 批次 run {doc['run']['run_id']}")
    table = Table("期间 period", "企业 firms", "电量比 energy", "运行占比 operating", "同比指数 y/y", "运行指数 composite",
                  "定基 base")
    for r in doc["rows"]:
        table.add_row(r["period_label"], fmt(r["firms"]), fmt(r["energy_ratio"], 3), _pct(r["operating_share"]),
                      fmt(r["yoy_index"]), fmt(r["composite_index"]), fmt(r["base_index"]))
    out.print(table)
