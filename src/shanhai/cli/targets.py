"""``shanhai targets …``: the indicator registry, targets against the calendar (序时进度) with
their lights, the year-end forecast, the watch list, the composite regional index, users' own
targets and stored runs. Thin: parse, call :mod:`shanhai.jobs.targets` and
:mod:`shanhai.reports.targets_excel`, print.

The command line is the province's own tool (scope: the whole province); ``--region`` chooses
the region shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, fmt, out, say_written
from shanhai.store import default_db_path, open_store
from shanhai.store.scope import Scope

app = typer.Typer(help="目标监测 Indicators, targets against the calendar (序时进度), lights, forecast, watch list "
                       "and the composite regional index.", no_args_is_help=True)

RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 Province (330000), city or county adcode (default: the province).", show_default=False)]
YearOption = Annotated[int | None, typer.Option("--year", help="年度 Year (default: the latest data).",
                                                show_default=False)]
MonthOption = Annotated[int | None, typer.Option("--month", min=1, max=12,
                                                 help="月份 Month 1–12: figures of January to this month "
                                                      "(default: the latest data).", show_default=False)]
RulesOption = Annotated[str, typer.Option("--rules", help="监测规则 Rule set (policy/monitoring/rules_*.toml: "
                                                          "default, yinchuan, ratio4, days, plan).")]
XlsxOption = Annotated[Path | None, typer.Option("--xlsx", help="导出 Excel Also write the result as a workbook.",
                                                 show_default=False)]
LIGHT_STYLE = {"green": "green", "amber": "yellow", "orange": "dark_orange", "red": "bold red", "grey": "dim"}
LIGHT_ZH = {"green": "绿", "amber": "黄", "orange": "橙", "red": "红", "grey": "无"}


def _open(db: Path | None, write: bool = False):
    return open_store(db or default_db_path(), read_only=not write)


def _light(light: str | None) -> str:
    if not light:
        return ""
    return f"[{LIGHT_STYLE[light]}]● {LIGHT_ZH[light]}[/]"


def _num(v, digits: int = 2) -> str:
    return "—" if v is None else fmt(v, digits)


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _bar(share, progress, width: int = 20) -> str:
    """A text bar: completion filled, the calendar progress marked with |."""
    if share is None:
        return ""
    filled = max(0, min(width, round(width * share)))
    mark = max(0, min(width - 1, round(width * progress) - 1))
    cells = ["█" if i < filled else "·" for i in range(width)]
    cells[mark] = "|"
    return "".join(cells)


def _write(path: Path, data: bytes, db: Path | None, st: dict, kind: str, rows: int, json_output: bool = False) -> None:
    """Write the workbook, record the export in the audit log (after the read-only store is closed), say so."""
    path.write_bytes(data)
    a, area = st["as_of"], st["region"]["adcode"]
    audit_export(db, f"targets:{area}:{a['year']}-{a['month']:02d}", path, kind=kind, region=area, year=a["year"],
                 month=a["month"], rows=rows, rules=st["rules"]["name"], fingerprint=st["fingerprint"])
    say_written(path, json_output)


@app.command("list")
def list_(db: DbOption = None, json_output: JsonOption = False) -> None:
    """指标库 The indicator registry: id, name, unit, department, source (computed: formula; or imported), cadence, direction, thresholds."""
    from shanhai.jobs import targets as jt

    path = db or default_db_path()
    if path.exists():
        with _open(db) as store:
            rows = jt.indicators(store)
    else:
        rows = jt.indicators(None)
    if json_output:
        emit_json(rows)
        return
    table = Table()
    table.add_column("指标 id", no_wrap=True)
    table.add_column("名称 name", min_width=12)
    for head in ("单位 unit", "来源 source", "频度 cadence", "方向", "预警/优秀 alert/excellent"):
        table.add_column(head)
    for i in rows:
        table.add_row(i["indicator_id"], escape(i["name"]), escape(i["unit"]),
                      "计算" if i["source"] == "computed" else "导入",
                      i["cadence"] + (" 累计" if i["cumulative"] else ""), "↑" if i["direction"] == "higher" else "↓",
                      f"{_num(i['alert_threshold'])} / {_num(i['excellence_threshold'])}")
    out.print(table)


@app.command("show")
def show(indicator_id: Annotated[str, typer.Argument(help="指标代码 Indicator id (see `targets list`).")],
         region: RegionOption = None, year: YearOption = None, month: MonthOption = None,
         rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False) -> None:
    """单个指标 One indicator: its definition and formula, a region's monthly series, targets and forecast."""
    from shanhai.jobs import targets as jt

    with _open(db) as store:
        doc = jt.indicator_series(store, Scope.province(), indicator_id, region, year, month, rules=rules)
    if json_output:
        emit_json(doc)
        return
    i = doc["indicator"]
    out.print(f"[bold]{escape(i['name'])}[/bold] {i['indicator_id']} ({escape(i['unit'])}) · {escape(i['definition'])}")
    out.print(f"来源 source: {escape(i['formula'])} · 部门 {escape(i['department'])}")
    out.print(f"地区 {escape(doc['region']['name'])} · 截至 {doc['as_of']['year']}-{doc['as_of']['month']:02d}")
    if doc["monthly"]:
        table = Table("年 year", *[f"{m}月" for m in range(1, 13)])
        for y, vals in doc["monthly"].items():
            table.add_row(y, *[_num(v, 0) for v in vals])
        out.print(table)
    if doc["annual"]:
        out.print("年度 annual: " + " · ".join(f"{y}: {_num(v)}" for y, v in doc["annual"].items()))
    _forecast_text(doc["forecast"])
    if doc["rows"]:
        _status_table(doc["rows"])


def _forecast_text(fc: dict | None) -> None:
    if not fc:
        return
    if fc.get("point") is None:
        out.print(f"年末预计 year-end forecast: — {escape(fc.get('note') or '')}")
        return
    band = f" [{_num(fc['low'], 0)} – {_num(fc['high'], 0)}]" if fc.get("low") is not None else ""
    err = f" · 回测 back-test {fc['n_backtests']} 年 RMSE {100 * fc['rmse']:.1f}%" if fc.get("rmse") is not None else ""
    out.print(f"年末预计 year-end forecast ({fc['method']}): {_num(fc['point'], 0)}{band}{err}"
              + (f" · {escape(fc['note'])}" if fc.get("note") else ""))


def _status_table(rows: list[dict], limit: int | None = None) -> None:
    table = Table("灯", "地区 region", "指标 indicator", "目标 target", "实际 actual", "增速 growth", "完成/序时 progress",
                  "差距 gap", "预计 forecast", "依据 source")
    for r in rows[:limit]:
        target = f"{'+' if r['kind'] == 'growth' else ''}{_num(r['target'])}{'%' if r['kind'] == 'growth' else ''} ({r['target_year']})"
        fc = r.get("forecast") or {}
        f = fc.get("growth") if r["kind"] == "growth" else fc.get("point")
        fcs = "" if f is None else (f"{f:+.1f}%" if r["kind"] == "growth" else _num(f, 0))
        if r["trending_to_miss"]:
            fcs += " ⚠"
        prog = ""
        if r["kind"] == "level" and r["completion"] is not None:
            prog = f"{_bar(r['completion'], r['progress'], 12)} {_pct(r['completion'])}/{_pct(r['progress'])}"
        gap = "" if r["gap_points"] is None else f"{r['gap_points']:+.1f} 点"
        table.add_row(_light(r["light"]), escape(r["entity_name"]), escape(r["indicator_name"]), target,
                      _num(r["actual"]), "—" if r["growth"] is None else f"{r['growth']:+.1f}%", prog, gap, fcs,
                      escape((r.get("source") or "")[:30]))
    out.print(table)


@app.command("status")
def status(region: RegionOption = None, year: YearOption = None, month: MonthOption = None,
           rules: RulesOption = "default",
           light: Annotated[str | None, typer.Option("--light", help="只看 Only red, orange, amber, green or grey.",
                                                     show_default=False)] = None,
           indicator: Annotated[str | None, typer.Option("--indicator", help="只看某指标 Only this indicator.",
                                                         show_default=False)] = None,
           limit: Annotated[int, typer.Option("--limit", min=1, help="列出行数 Rows listed.")] = 60,
           db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None) -> None:
    """目标完成情况 Every target of the region against the calendar (序时进度), with lights and the year-end forecast."""
    from shanhai.jobs import targets as jt

    with _open(db) as store:
        doc = jt.evaluate(store, Scope.province(), region, year, month, rules=rules, light=light,
                          indicator_id=indicator)
        if xlsx:
            from shanhai.reports.targets_excel import workbook_bytes

            data = workbook_bytes(doc, registry=jt.indicators(store))
    if xlsx:
        _write(xlsx, data, db, doc, "targets_status", len(doc["rows"]), json_output)
    if json_output:
        emit_json(doc)
        return
    a, c = doc["as_of"], doc["counts"]
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] 目标监测 · {a['year']}年1–{a['month']}月 · 序时进度 "
              f"{100 * a['progress']:.2f}% ({a['basis']}) · 规则 {doc['rules']['name']} {doc['rules']['version']}")
    out.print(f"红 {c['red']} · 橙 {c['orange']} · 黄 {c['amber']} · 绿 {c['green']} · 无数据 {c['grey']}")
    _status_table(doc["rows"], limit)
    if len(doc["rows"]) > limit:
        out.print(f"[dim]… {len(doc['rows']) - limit} more (--limit)[/dim]")


@app.command("forecast")
def forecast(indicator_id: Annotated[str, typer.Argument(help="指标代码 A cumulative monthly indicator.")],
             region: RegionOption = None, year: YearOption = None, month: MonthOption = None,
             rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False) -> None:
    """年末预计 The year-end forecast of a monthly indicator, its interval and the back-test it rests on."""
    from shanhai.jobs import targets as jt

    with _open(db) as store:
        doc = jt.indicator_series(store, Scope.province(), indicator_id, region, year, month, rules=rules)
    if json_output:
        emit_json({k: doc[k] for k in ("region", "indicator", "as_of", "forecast", "rows")})
        return
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] {escape(doc['indicator']['name'])} · 截至 "
              f"{doc['as_of']['year']}-{doc['as_of']['month']:02d}")
    fc = doc["forecast"]
    if fc is None:
        out.print("无年末预计 no year-end forecast: the indicator is not cumulative monthly, or the month has no value "
                  "or is December")
        return
    _forecast_text(fc)
    table = Table("方法 method", "预计 point", "回测 RMSE", "回测 MAPE", "回测年份 back-test years (error)")
    for m in fc["methods"]:
        table.add_row(m["method"], _num(m["point"], 0), _pct(m["rmse"]), _pct(m["mape"]),
                      ", ".join(f"{e['year']} ({100 * e['error']:+.1f}%)" for e in m["backtest"]))
    out.print(table)


@app.command("watch")
def watch(region: RegionOption = None, year: YearOption = None, month: MonthOption = None,
          rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False,
          xlsx: XlsxOption = None) -> None:
    """预警清单 Targets red or trending to miss, and regions past an indicator's alert threshold."""
    from shanhai.jobs import targets as jt

    with _open(db) as store:
        doc = jt.watch(store, Scope.province(), region, year, month, rules=rules)
        if xlsx:
            from shanhai.reports.targets_excel import workbook_bytes

            st = jt.evaluate(store, Scope.province(), region, year, month, rules=rules)
            data = workbook_bytes(st, doc)
    if xlsx:
        _write(xlsx, data, db, st, "targets_watch", len(doc["items"]), json_output)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] 预警清单 watch list · {doc['as_of']['year']}年1–"
              f"{doc['as_of']['month']}月 · {len(doc['items'])} 项")
    table = Table("类别 kind", "地区 region", "指标 indicator", "灯", "实际 figure", "目标 target", "预计 forecast",
                  "原因 reason")
    for i in doc["items"]:
        table.add_row("目标" if i["kind"] == "target" else "预警线", escape(i["entity_name"]), escape(i["indicator_name"]),
                      _light(i.get("light")), _num(i.get("figure")), _num(i.get("target")), _num(i.get("forecast")),
                      escape(i["reason"]))
    out.print(table)


@app.command("index")
def index(region: RegionOption = None, year: YearOption = None, month: MonthOption = None,
          group: Annotated[str, typer.Option("--group", help="分组 cities, counties or mountain26.")] = "counties",
          rules: Annotated[str, typer.Option("--rules", help="指数规则 Index rule set (policy/monitoring/index_*.toml).")]
          = "default", limit: Annotated[int, typer.Option("--limit", min=1, help="列出行数 Rows listed.")] = 30,
          db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None) -> None:
    """综合指数 The composite regional index and the ranking within a group (cities; counties; the 26 mountain counties)."""
    from shanhai.jobs import targets as jt

    with _open(db) as store:
        doc = jt.composite(store, Scope.province(), region, year, month, group=group, rules=rules)
        if xlsx:
            from shanhai.reports.targets_excel import workbook_bytes

            st = jt.evaluate(store, Scope.province(), region, year, month)
            data = workbook_bytes(st, index=[doc])
    if xlsx:
        _write(xlsx, data, db, st, "targets_index", len(doc["rows"]), json_output)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['group_label'])}[/bold] 综合指数 composite index · {doc['as_of']['year']}年1–"
              f"{doc['as_of']['month']}月 · {escape(doc['rules']['display_name'])} {doc['rules']['version']}")
    table = Table("排名 rank", "地区 region", "指数 index", *[f"{escape(it['name'])} {it['weight']:g}"
                                                           for it in doc["items"]])
    for r in doc["rows"][:limit]:
        table.add_row(f"{r['rank']}/{r['of']}", escape(r["name"]), _num(r["index"]),
                      *[_num(r["scores"].get(it["key"]), 1) for it in doc["items"]])
    out.print(table)


@app.command("set")
def set_(indicator_id: Annotated[str, typer.Argument(help="指标代码 Indicator id.")],
         region: Annotated[str, typer.Option("--region", help="地区 The region's adcode.")],
         year: Annotated[int, typer.Option("--year", help="目标年度 Target year.")],
         value: Annotated[float, typer.Option("--value", help="目标值 Target value (growth: percent, 6.5 = +6.5 %).")],
         kind: Annotated[str, typer.Option("--kind", help="level 总量/水平 or growth 增速.")] = "level",
         zones: Annotated[bool, typer.Option("--zones", help="对该地区每个开发区(平台)适用 Applies to each zone of the "
                                                             "region.")] = False,
         label: Annotated[str | None, typer.Option("--label", help="说明 Label.", show_default=False)] = None,
         source: Annotated[str | None, typer.Option("--source", help="依据文件 The document that sets it.",
                                                    show_default=False)] = None,
         db: DbOption = None, json_output: JsonOption = False) -> None:
    """设定目标 Set a region's own target (audited; replaces a preset of the same indicator, region, year and kind)."""
    from shanhai.jobs import targets as jt
    from shanhai.store.audit import cli_user

    with _open(db, write=True) as store:
        row = jt.set_target(store, Scope.province(), indicator_id, region, year, value, kind=kind,
                            applies_to="zones" if zones else "region", label=label, source=source, user=cli_user())
    if json_output:
        emit_json(row)
        return
    out.print(f"已设定 set: {escape(row['label'])} · {row['indicator_id']} {row['adcode']} {row['year']} {row['kind']} "
              f"= {row['value']:g}")


@app.command("targets")
def targets_(region: RegionOption = None, year: YearOption = None,
             indicator: Annotated[str | None, typer.Option("--indicator", help="只看某指标 Only this indicator.",
                                                           show_default=False)] = None,
             db: DbOption = None, json_output: JsonOption = False) -> None:
    """目标清单 The targets in force: the documents' presets, users' own, imported and synthetic ones."""
    from shanhai.jobs import targets as jt

    with _open(db) as store:
        doc = jt.list_targets(store, Scope.province(), region, year, indicator)
    if json_output:
        emit_json(doc)
        return
    table = Table("年度 year", "地区 region", "指标 indicator", "类型 kind", "目标 value", "来源 origin", "依据 source")
    for t in doc["targets"]:
        table.add_row(str(t["year"]), escape(t["region_name"]) + (" (各平台)" if t["applies_to"] == "zones" else ""),
                      t["indicator_id"], t["kind"], _num(t["value"]), t["origin_label"], escape(t.get("source") or ""))
    out.print(table)


@app.command("sync")
def sync(db: DbOption = None, json_output: JsonOption = False) -> None:
    """同步 Write the registry into `indicators` and the documents' targets into `targets` (idempotent)."""
    from shanhai.jobs import targets as jt
    from shanhai.store.audit import cli_user

    with _open(db, write=True) as store:
        doc = jt.sync(store, cli_user())
    if json_output:
        emit_json(doc)
        return
    out.print(f"指标 {doc['indicators']} (registry {doc['registry_version']}) · 预置目标 preset targets "
              f"{doc['preset_targets']}")


@app.command("run")
def run(region: RegionOption = None, year: YearOption = None, month: MonthOption = None,
        rules: RulesOption = "default",
        index_rules: Annotated[str, typer.Option("--index", help="指数规则 Index rule set.")] = "default",
        db: DbOption = None, json_output: JsonOption = False) -> None:
    """保存运行 Evaluate status, watch list and the index of every group and store them as a run (never overwritten)."""
    from shanhai.jobs import targets as jt
    from shanhai.store.audit import cli_user

    with _open(db, write=True) as store:
        doc = jt.run(store, Scope.province(), region, year, month, rules=rules, index=index_rules, user=cli_user())
    if json_output:
        emit_json(doc)
        return
    c = doc["summary"]["counts"]
    out.print(f"已保存 stored: {doc['run_id']} · {doc['params']['year']}年1–{doc['params']['month']}月 · 红 {c['red']} "
              f"黄 {c['amber']} 绿 {c['green']} · 预警 {doc['summary']['watch']}")


@app.command("runs")
def runs(limit: Annotated[int, typer.Option("--limit", min=1, help="列出条数 Runs listed.")] = 20, db: DbOption = None,
         json_output: JsonOption = False) -> None:
    """运行记录 Stored target runs, newest first."""
    from shanhai.jobs import targets as jt

    with _open(db) as store:
        rows = jt.list_runs(store, Scope.province(), limit)
    if json_output:
        emit_json(rows)
        return
    table = Table("run", "地区 region", "期间 period", "规则 rules", "由 by", "时间 at")
    for r in rows:
        table.add_row(r["run_id"], r["region"], f"{r['year']}-{r['month']:02d}", f"{r['rules']} {r['rules_version']}",
                      r["created_by"], r["created_at"])
    out.print(table)


@app.command("export")
def export(xlsx: Annotated[Path, typer.Option("--xlsx", help="Excel 文件 The workbook to write.")],
           region: RegionOption = None, year: YearOption = None, month: MonthOption = None,
           rules: RulesOption = "default", db: DbOption = None) -> None:
    """导出 Status, watch list, the index of every group and the registry as one workbook."""
    from shanhai.jobs import targets as jt
    from shanhai.reports.targets_excel import workbook_bytes

    with _open(db) as store:
        st = jt.evaluate(store, Scope.province(), region, year, month, rules=rules)
        w = jt.watch(store, Scope.province(), region, year, month, rules=rules)
        idx = [jt.composite(store, Scope.province(), region, year, month, group=g) for g in jt.GROUPS]
        data = workbook_bytes(st, w, idx, jt.indicators(store))
    _write(xlsx, data, db, st, "targets", len(st["rows"]))
