"""``shanhai zones …``: development-zone evaluation (开发区综合评价, 进退档). Thin: parse, call
:mod:`shanhai.jobs.zones` and :mod:`shanhai.reports.zones_excel`, print.

The command line is the province's own tool (scope: the whole province); ``--region`` takes the
view of a city or county: its zones are marked, and another region's zone cannot be shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, fmt, lazy_progress, out
from shanhai.store import default_db_path, open_store
from shanhai.store.scope import Scope

HELP = ("开发区综合评价 Development-zone evaluation: indicators from firm data, scores by a published method, "
        "ranks within comparison groups, tiers (进档/退档) and bottom-N warnings.\n\n"
        "`zones methods` lists the evaluation methods; `zones evaluate --year 2024` stores a run "
        "(repeat --year to build the history in order); `zones ranking` shows a run by group; "
        "`zones show ZONE_ID` one zone's indicators and explanation; `zones history ZONE_ID` its years; "
        "`zones runs` the stored runs; `zones export --xlsx FILE` the workbook.")

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich")

MethodOption = Annotated[str | None, typer.Option(
    "--method", help="评价方法 Zone method (policy/zones/NAME.toml; default zhejiang-2021, or the run's).",
    show_default=False)]
RunOption = Annotated[str | None, typer.Option("--run", help="评价批次 Run id (default: the newest).",
                                               show_default=False)]
YearOption = Annotated[int | None, typer.Option("--year", help="数据年度 Data year (default: the latest).",
                                                show_default=False)]
RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 View as this city or county adcode (default: the province).", show_default=False)]
CHANGE_STYLE = {"up": "[green]▲ 进档[/]", "down": "[red]▼ 退档[/]", "same": "[dim]= 保持[/]", "new": "[dim]· 首次[/]"}


def _open(db: Path | None, write: bool = False):
    return open_store(db or default_db_path(), read_only=not write)


def _scope(store, region: str | None) -> Scope:
    return Scope.province().narrow(store, region)


def methods(json_output: JsonOption = False) -> None:
    """评价方法 The registered zone methods: coverage, comparison groups, weights, tiers, bottom-N."""
    from shanhai.jobs import zones as jz

    rows = jz.methods()
    if json_output:
        emit_json(rows)
        return
    table = Table("方法 method", "名称 name", "版本", "参评 covers", "比较组 groups", "一级指标 weights", "档次 tiers",
                  "后N位")
    for m in rows:
        table.add_row(m["name"], escape(m["display_name"]), m["version"],
                      "/".join(m["levels"]) + (f" {','.join(m['cities'])}" if m["cities"] else ""),
                      ",".join(m["comparison"]) or "all",
                      "、".join(f"{g['label']} {g['weight']:.0%}{'' if g['published'] else '*'}" for g in m["groups"]),
                      "/".join(m["tiers"]), str(m["bottom_n"]))
    out.print(table)
    out.print("[dim]* 权重为山海设定参数（来源未公开） weight is a Shanhai parameter, not published[/dim]")


def list_(region: RegionOption = None, db: DbOption = None, json_output: JsonOption = False) -> None:
    """开发区名录 The zones of a region (the register)."""
    from shanhai.jobs import zones as jz

    with _open(db) as store:
        rows = jz.zone_list(store, _scope(store, region))
    if json_output:
        emit_json(rows)
        return
    table = Table("代码 id", "名称 name", "级别 level", "类型 kind", "所在县 county", "规划面积(亩)", "设立年")
    for r in rows:
        table.add_row(r["zone_id"], escape(r["name"]), r["level"], r["kind"], escape(r["county_name"] or ""),
                      fmt(r["planned_area_mu"], 0), str(r["established_year"] or "—"))
    out.print(table)


def evaluate(
    year: Annotated[list[int] | None, typer.Option(
        "--year", help="数据年度 Data year; repeat for several (evaluated in ascending order). Default: the latest.",
        show_default=False)] = None,
    method: Annotated[str, typer.Option("--method", help="评价方法 Zone method.")] = "zhejiang-2021",
    db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """评价 Evaluate the zones for one or more years with a method and store each run (never overwritten)."""
    from shanhai.jobs import zones as jz
    from shanhai.store.audit import cli_user

    with _open(db, write=True) as store:
        with lazy_progress(err if json_output else out) as progress:
            if year:
                runs = jz.evaluate_years(store, method, list(year), user=cli_user(), progress=progress)
            else:
                runs = [jz.evaluate(store, method, None, user=cli_user(), progress=progress)]
    if json_output:
        emit_json(runs)
        return
    for r in runs:
        out.print(f"[bold]{r['year']}[/bold] {r['method']} v{r['version']} → run [cyan]{r['run_id']}[/cyan]: "
                  f"{r['zones']} 个开发区 zones in {len(r['groups'])} 组 groups · 进档 up {r['up']} · 退档 down {r['down']} · "
                  f"后{''}N位 bottom {r['bottom']} · 处置 actions {r['actions']}"
                  + (f" · 上年批次 previous {r['previous_run_id']}" if r["previous_run_id"] else " · 首次 no previous year"))


def runs(method: MethodOption = None, year: YearOption = None, db: DbOption = None,
         json_output: JsonOption = False) -> None:
    """评价批次 The stored runs, newest first."""
    from shanhai.jobs import zones as jz

    with _open(db) as store:
        rows = jz.runs(store, method=method, year=year)
    if json_output:
        emit_json(rows)
        return
    table = Table("批次 run", "方法 method", "版本", "年度 year", "开发区 zones", "上年批次 previous", "人 by", "时间 at")
    for r in rows:
        table.add_row(r["run_id"], r["method"], r["version"], str(r["year"]), str(r["zones"]),
                      r["previous_run_id"] or "—", escape(r["created_by"] or ""), r["created_at"])
    out.print(table)


def ranking(
    group: Annotated[str | None, typer.Option("--group", help="比较组 One comparison group, e.g. area=northeast.",
                                              show_default=False)] = None,
    method: MethodOption = None, year: YearOption = None, run: RunOption = None, region: RegionOption = None,
    db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """排名 A run's ranking within its comparison groups, with tier changes and bottom-N flags."""
    from shanhai.jobs import zones as jz

    with _open(db) as store:
        doc = jz.ranking(store, _scope(store, region), run, method=method, year=year, group=group)
    if json_output:
        emit_json(doc)
        return
    b = doc["basis"]
    out.print(f"[bold]开发区综合评价 {b['year']}[/bold] · {escape(b['method_name'])} ({b['method']} v{b['version']}) · "
              f"批次 run {b['run_id']}")
    for g in doc["groups"]:
        if group and g["key"] != group:
            continue
        table = Table("名次", "开发区 zone", "县 county", "总分 score", "档次 tier", "进退档 change", "后N位 bottom",
                      "处置 action", title=f"{g['label']} ({g['key']}) · {g['size']}")
        for r in doc["zones"]:
            if r["group"] != g["key"]:
                continue
            name = escape(r["zone_name"]) + (" [bold cyan]◆[/]" if r["in_scope"] and not doc["scope"]["level"] == "province" else "")
            table.add_row(str(r["rank"]), name, escape(r["county_name"] or ""), f"{r['total_score']:.2f}",
                          r["tier_label"] or "", CHANGE_STYLE[r["tier_change"]],
                          f"[red]● {r['bottom_streak']}年[/]" if r["bottom"] else "",
                          escape(r["action_label"] or ""))
        out.print(table)


def show(zone_id: Annotated[str, typer.Argument(help="开发区代码 Zone id (see `shanhai zones list`).")],
         method: MethodOption = None, year: YearOption = None, run: RunOption = None, region: RegionOption = None,
         db: DbOption = None, json_output: JsonOption = False) -> None:
    """开发区 One zone: its indicators, scores and the explanation (points add up to the total), and its history."""
    from shanhai.jobs import zones as jz

    with _open(db) as store:
        doc = jz.zone(store, _scope(store, region), zone_id, run, method=method, year=year)
    if json_output:
        emit_json(doc)
        return
    z, b, r = doc["zone"], doc["basis"], doc["result"]
    out.print(f"[bold]{escape(z['name'])}[/bold] {z['zone_id']} · {escape(z['county_name'] or '')} · {z['level']} "
              f"{z['kind']} · {b['method']} v{b['version']} {b['year']} · run {b['run_id']}")
    if r is None:
        out.print(f"[yellow]该方法不评价此开发区 the method {b['method']} does not cover this zone[/yellow]")
        return
    out.print(f"总分 score [bold]{r['total_score']:.4f}[/bold] · {escape(r['group_label'])} 第 {r['rank']}/{r['group_size']} 名 · "
              f"{r['tier_label']} {CHANGE_STYLE[r['tier_change']]}"
              + (f" · [red]后N位 连续{r['bottom_streak']}年 {escape(r['action_label'] or '')}[/]" if r["bottom"] else ""))
    table = Table("一级指标 group", "指标 indicator", "值 value", "比较 against", "得分率 score", "满分 max",
                  "得分 points", "缺失 missing")
    for e in doc["explanation"]:
        against = (f"目标 {e['target']:g}" if e["transform"] == "ratio_to_target"
                   else f"最优 {fmt(e['ref_high'], 4)}" if e["transform"] == "ratio_to_best"
                   else f"{fmt(e['ref_low'], 4)}–{fmt(e['ref_high'], 4)}")
        table.add_row(escape(e["group_name"]), escape(e["label"]), fmt(e["value"], 4), against, f"{e['score']:.4f}",
                      f"{e['max_points']:g}", f"{e['points']:.4f}", e["missing"] or "")
    table.add_row("合计 total", "", "", "", "", "100", f"{doc['points_total']:.4f}", "")
    out.print(table)
    _print_history(doc["history"])


def _print_history(rows: list[dict]) -> None:
    table = Table("年度 year", "总分 score", "名次 rank", "档次 tier", "进退档", "后N位 streak", "处置 action", "批次 run")
    for h in rows:
        table.add_row(str(h["year"]), f"{h['total_score']:.2f}", f"{h['rank']}/{h['group_size']}", h["tier"],
                      CHANGE_STYLE[h["tier_change"]], str(h["bottom_streak"] or ""), h["action"] or "", h["run_id"])
    out.print(table)


def history(zone_id: Annotated[str, typer.Argument(help="开发区代码 Zone id.")], method: MethodOption = None,
            region: RegionOption = None, db: DbOption = None, json_output: JsonOption = False) -> None:
    """历年 A zone's result in the newest run of each year."""
    from shanhai.jobs import zones as jz

    with _open(db) as store:
        rows = jz.history(store, _scope(store, region), zone_id, method)
    if json_output:
        emit_json(rows)
        return
    _print_history(rows)


def export(xlsx: Annotated[Path, typer.Option("--xlsx", help="写出 Excel Write the workbook here.")],
           method: MethodOption = None, year: YearOption = None, run: RunOption = None, region: RegionOption = None,
           db: DbOption = None) -> None:
    """导出 The ranking and (for the region's own zones) the indicator scores as a workbook."""
    from shanhai.jobs import zones as jz
    from shanhai.reports.zones_excel import workbook_bytes

    with _open(db, write=True) as store:
        doc = jz.export_doc(store, _scope(store, region), run, method=method, year=year)
        data = workbook_bytes(doc)
        xlsx.write_bytes(data)
        audit_export(store, f"zones:{doc['basis']['run_id']}", xlsx, kind="zones", run=doc["basis"]["run_id"],
                     region=doc["scope"]["adcode"], year=doc["basis"]["year"], method=doc["basis"]["method"],
                     rows=len(doc["zones"]), details=len(doc["details"]))
    out.print(f"已写出 written: {xlsx}")


app.command("methods")(methods)
app.command("list")(list_)
app.command("evaluate")(evaluate)
app.command("runs")(runs)
app.command("ranking")(ranking)
app.command("show")(show)
app.command("history")(history)
app.command("export")(export)
