"""``shanhai alerts …``: enterprise early warning from monthly electricity (企业用电预警) — the
monthly scan stored as a run, the alerts, one alert's signals month by month, the back-test
against the synthetic ground truth, the visit tasks and their transitions, the Excel export.
Thin: parse, call :mod:`shanhai.jobs.alerts` and :mod:`shanhai.reports.alerts_excel`, print.

The command line is the province's own tool (scope: the whole province); ``--region`` chooses
the region shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, fmt, lazy_progress, out
from shanhai.cli.parquet import EngineOption, SourceOption, SparkMasterOption, configure_engine
from shanhai.store import default_db_path, open_store
from shanhai.store.audit import cli_user
from shanhai.store.scope import Scope

HELP = ("企业用电预警 Enterprise early warning from monthly electricity.\n\n"
        "`alerts scan` scores every firm for a month and stores the run (alerts de-duplicated against open ones, "
        "visit tasks issued per town); `alerts list` / `alerts show ID` read them; `alerts evaluate` back-tests the "
        "rules against the synthetic ground truth (precision and recall per anomaly type); `alerts tasks` lists "
        "visit tasks and `alerts task ID push|visit|close` moves one; `alerts export --xlsx FILE` writes a workbook.")
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich")

RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 Province (330000), city or county adcode (default: the province).", show_default=False)]
RulesOption = Annotated[str, typer.Option("--rules", help="预警规则 Alert rule set (policy/monitoring/alerts_*.toml).")]


def _open(db: Path | None, write: bool = False):
    return open_store(db or default_db_path(), read_only=not write)


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


@app.command("scan")
def scan(month: Annotated[str | None, typer.Option("--month", help="扫描月份 Month YYYY-MM (default: the latest).",
                                                   show_default=False)] = None,
         rules: RulesOption = "default", engine: EngineOption = "duckdb", spark_master: SparkMasterOption = None,
         source: SourceOption = None, db: DbOption = None, json_output: JsonOption = False) -> None:
    """扫描 Score every firm for a month and store the run, its alerts and the visit tasks."""
    from shanhai.jobs import alerts as ja

    configure_engine(engine, spark_master)
    with _open(db, write=True) as store, lazy_progress(err if json_output else out) as progress:
        doc = ja.scan(store, month, rules=rules, user=cli_user(), progress=progress, engine=engine, source=source)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]预警扫描 scan[/bold] {doc['run_id']} · {doc['month'][:7]} · 规则 rules {doc['rules']} "
              f"v{doc['rules_version']}")
    out.print(f"扫描企业 firms scanned {doc['firms_scanned']:,} · 预警 alerts {doc['alerts']:,} (新 new "
              f"{doc['new_alerts']:,}, 重复 repeats {doc['repeats']:,}) · 走访任务 tasks issued {doc['tasks']:,} · "
              f"{doc['seconds']:.2f} s")


@app.command("list")
def list_(region: RegionOption = None,
          status: Annotated[str, typer.Option("--status", help="状态 open, closed or all.")] = "open",
          kind: Annotated[str | None, typer.Option("--kind", help="类型 collapse, decline or spike.",
                                                   show_default=False)] = None,
          limit: Annotated[int, typer.Option("--limit", min=1, help="列出条数 Alerts listed.")] = 30,
          db: DbOption = None, json_output: JsonOption = False) -> None:
    """预警列表 Alerts by score, with their latest scan and task."""
    from shanhai.jobs import alerts as ja

    with _open(db) as store:
        doc = ja.list_alerts(store, Scope.province(), region, status=status, kind=kind, limit=limit)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] 预警 alerts ({doc['status']}): {doc['total']:,}")
    table = Table("预警 alert", "企业 firm", "县 county", "镇街 town", "月份 month", "类型 kind", "得分 score",
                  "最新 latest", "任务 task")
    for a in doc["alerts"]:
        table.add_row(a["alert_id"], escape(a["name"] or a["uscc"]), escape(a["county_name"] or ""),
                      escape(a["town_name"] or ""), f"{a['month']:%Y-%m}", a["kind_label"], fmt(a["score"]),
                      fmt(a["last_score"]), f"{a['task_state'] or '—'}")
    out.print(table)


@app.command("show")
def show(alert_id: Annotated[str, typer.Argument(help="预警编号 Alert id.")], rules: RulesOption = "default",
         db: DbOption = None, json_output: JsonOption = False) -> None:
    """预警详情 One alert: the firm's months with their signals and score, the task and its history."""
    from shanhai.jobs import alerts as ja

    with _open(db) as store:
        doc = ja.alert_detail(store, Scope.province(), alert_id, rules=rules)
    if json_output:
        emit_json(doc)
        return
    a = doc["alert"]
    out.print(f"[bold]{escape(a['name'] or a['uscc'])}[/bold] {a['uscc']} · {escape(a['county_name'] or '')} "
              f"{escape(a['town_name'] or '')} · {a['kind_label']} {a['kind']} · 得分 score {a['score']:.1f} · "
              f"{a['status']}")
    table = Table("月份 month", "kWh/日 per day", "基线 baseline", "同比 YoY", "z", "得分 score", "信号 signals")
    for m in doc["months"][-18:]:
        table.add_row(m["month"], fmt(m["daily_kwh"]), fmt(m["baseline_daily_kwh"]),
                      _pct(m["yoy_ratio"]), fmt(m["zscore"], 2), fmt(m["score"]),
                      ("[bold red]" if m["alert"] else "") + ", ".join(m["signals"]) + ("[/]" if m["alert"] else ""))
    out.print(table)
    if doc["task"]:
        t = doc["task"]
        out.print(f"走访任务 task {t['task_id']} · {t['state']} · 结果 result {t['result'] or '—'}")
        for e in doc["events"]:
            out.print(f"  {e['occurred_at']:%Y-%m-%d %H:%M} {e['from_state'] or '—'} → {e['to_state']} "
                      f"{e['result'] or ''} {escape(e['note'] or '')} ({e['username']})")


@app.command("evaluate")
def evaluate(rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False) -> None:
    """回测 Back-test the rules over every month against the synthetic ground truth: precision and recall per anomaly type."""
    from shanhai.jobs import alerts as ja

    with _open(db) as store:
        doc = ja.evaluate(store, rules=rules)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]预警回测 back-test[/bold] · 规则 rules {doc['rules']} v{doc['rules_version']} · {doc['months']}")
    table = Table("类型 kind", "预警 alerts", "命中 matched", "精确率 precision", "(任一类型 any kind)",
                  "异常 anomalies", "发现 found", "召回率 recall")
    for k in doc["kinds"]:
        table.add_row(k["kind"], fmt(k["alerts"]), fmt(k["alerts_matched"]), _pct(k["precision"]),
                      _pct(k["precision_any"]), fmt(k["anomalies"]), fmt(k["anomalies_found"]), _pct(k["recall"]))
    out.print(table)
    out.print(f"[dim]匹配规则 match rule: {escape(doc['match_rule'])}[/dim]")


@app.command("tasks")
def tasks(region: RegionOption = None,
          state: Annotated[str | None, typer.Option("--state", help="状态 open, pushed, visited or closed.",
                                                    show_default=False)] = None,
          limit: Annotated[int, typer.Option("--limit", min=1, help="列出条数 Tasks listed.")] = 50,
          db: DbOption = None, json_output: JsonOption = False) -> None:
    """走访任务 Visit tasks with their state and result, and the precision the visits give."""
    from shanhai.jobs import alerts as ja

    with _open(db) as store:
        doc = ja.list_tasks(store, Scope.province(), region, state=state, limit=limit)
    if json_output:
        emit_json(doc)
        return
    c = doc["counts"]
    p = doc["precision"]
    out.print(f"走访任务 tasks: 待处理 open {c['open']} · 已推送 pushed {c['pushed']} · 已走访 visited {c['visited']} · "
              f"已办结 closed {c['closed']} · 走访确认率 precision at visit capacity {_pct(p['precision'])} "
              f"({p['labelled']} labelled)")
    table = Table("任务 task", "企业 firm", "镇街 town", "优先级 priority", "类型 kind", "状态 state", "结果 result")
    for t in doc["tasks"]:
        table.add_row(t["task_id"], escape(t["name"] or t["uscc"]), escape(t["town_name"] or ""), fmt(t["priority"]),
                      t["kind"] or "—", t["state"], t["result"] or "—")
    out.print(table)


@app.command("task")
def task(task_id: Annotated[str, typer.Argument(help="任务编号 Task id.")],
         action: Annotated[str, typer.Argument(help="操作 push (online check), visit (on site) or close.")],
         result: Annotated[str | None, typer.Option(
             "--result", help="核查结果 stopped, reduced, relocated, normal or false_alarm.", show_default=False)] = None,
         note: Annotated[str | None, typer.Option("--note", help="说明 Note.", show_default=False)] = None,
         db: DbOption = None, json_output: JsonOption = False) -> None:
    """任务流转 Move a visit task: push, visit (with a result) or close (audited)."""
    from shanhai.jobs import alerts as ja

    with _open(db, write=True) as store:
        doc = ja.transition(store, Scope.province(), task_id, action, user=cli_user(), result=result, note=note)
    if json_output:
        emit_json(doc)
        return
    out.print(f"任务 task {doc['task_id']} → {doc['state']} · 结果 result {doc['result'] or '—'}")


@app.command("export")
def export(xlsx: Annotated[Path, typer.Option("--xlsx", help="Excel 文件 Workbook to write.")],
           region: RegionOption = None,
           status: Annotated[str, typer.Option("--status", help="状态 open, closed or all.")] = "open",
           db: DbOption = None) -> None:
    """导出 Alerts and visit tasks as an Excel workbook (with a notes sheet)."""
    from shanhai.jobs import alerts as ja
    from shanhai.reports.alerts_excel import alerts_workbook

    with _open(db) as store:
        doc = ja.list_alerts(store, Scope.province(), region, status=status, limit=100_000)
        tks = ja.list_tasks(store, Scope.province(), region, limit=100_000)
    xlsx.write_bytes(alerts_workbook(doc, tks))
    audit_export(db, f"alerts:{doc['region']['adcode']}", xlsx, kind="alerts", region=doc["region"]["adcode"],
                 status=doc["status"], rows=len(doc["alerts"]), tasks=len(tks["tasks"]), latest_run=doc["latest_run"])
    out.print(f"已写出 written: {xlsx}")
