"""``shanhai service requests|lists|pipeline …``: the enterprise service desk — requests with
working-day clocks (企业诉求, 企呼我应), key and struggling enterprise lists with one-to-one service
tasks, and the listing pipeline (上市后备企业库) with staged awards and targets. Thin: parse, call
:mod:`shanhai.jobs.service_requests`, :mod:`shanhai.jobs.service_lists`,
:mod:`shanhai.jobs.service_pipeline` and :mod:`shanhai.reports.service_desk_excel`, print.

The command line is the province's own tool (scope: the whole province); ``--region`` chooses
the region shown. Three Typer apps, mounted under ``shanhai service``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, lazy_progress, out
from shanhai.store import default_db_path, open_store
from shanhai.store.audit import cli_user
from shanhai.store.scope import Scope

requests_app = typer.Typer(help=(
    "企业诉求 Enterprise requests with working-day clocks.\n\n"
    "`requests submit` records a request (routed to a department by category); `requests list` / `requests show ID` "
    "read them with their clocks; `requests act ID ACTION` moves one (accept, assign, answer, close, reopen, "
    "escalate, extend, rate); `requests escalate` escalates every overdue request (督办); `requests kpi` prints "
    "办结率/解决率/按期办结率/满意率; `requests due` computes due dates under a profile; `requests profiles` lists the "
    "SLA profiles; `requests export --xlsx FILE` writes a workbook."), no_args_is_help=True, rich_markup_mode="rich")
lists_app = typer.Typer(help=(
    "重点/困难企业名单 Key and struggling enterprise lists.\n\n"
    "`lists build` evaluates the lists and stores the run (each listed firm gets an officer and a service task); "
    "`lists show --kind key|struggling` reads a run; `lists runs` lists runs; `lists log TASK ACTION` records "
    "contact, a visit log or closing; `lists export --xlsx FILE` writes a workbook."),
    no_args_is_help=True, rich_markup_mode="rich")
pipeline_app = typer.Typer(help=(
    "上市后备企业 Listing pipeline.\n\n"
    "`pipeline enrol USCC` puts a firm in the reserve pool; `pipeline record USCC MILESTONE DATE` records a milestone; "
    "`pipeline show USCC` prints its tier and staged awards; `pipeline run` stores tiers and awards as a run; "
    "`pipeline board` shows the pool by tier with the targets; `pipeline presets` lists the presets; "
    "`pipeline export --xlsx FILE` writes a workbook."), no_args_is_help=True, rich_markup_mode="rich")

RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 Province (330000), city or county adcode (default: the province).", show_default=False)]
PresetOption = Annotated[str, typer.Option("--preset", help="上市奖励规则 Pipeline preset (policy/service_desk/pipeline-*.toml).")]


def _open(db: Path | None, write: bool = False):
    return open_store(db or default_db_path(), read_only=not write)


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _d(v) -> str:
    return "—" if v is None else (f"{v:%Y-%m-%d %H:%M}" if isinstance(v, dt.datetime) else f"{v:%Y-%m-%d}")


# ---- requests --------------------------------------------------------------------------------------

@requests_app.command("submit")
def submit(uscc: Annotated[str, typer.Argument(help="统一社会信用代码 USCC of the firm.")],
           title: Annotated[str, typer.Option("--title", help="标题 Title.")],
           description: Annotated[str, typer.Option("--description", help="内容 Description.")] = "",
           category: Annotated[str | None, typer.Option("--category", help="类别 Category (policy, land, finance, talent, "
                                                        "approval, energy, chain, other).", show_default=False)] = None,
           channel: Annotated[str, typer.Option("--channel", help="渠道 portal, hotline, review, walk_in, visit, leader, "
                                                "discovered or import.")] = "walk_in",
           sla: Annotated[str | None, typer.Option("--sla", help="时限规则 SLA profile (default: the routing's).",
                                                   show_default=False)] = None,
           complex_case: Annotated[bool, typer.Option("--complex", help="复杂诉求 A complex multi-department case.")] = False,
           at: Annotated[str | None, typer.Option("--at", help="提交时间 Submitted at (YYYY-MM-DD[THH:MM], default now).",
                                                  show_default=False)] = None,
           db: DbOption = None, json_output: JsonOption = False) -> None:
    """受理登记 Record a request and route it to a department."""
    from shanhai.jobs import service_requests as jr

    with _open(db, write=True) as store:
        doc = jr.submit(store, Scope.province(), uscc=uscc, title=title, description=description, category=category,
                        channel=channel, sla=sla, complex_case=complex_case, user=cli_user(), at=at)
    if json_output:
        emit_json(doc)
        return
    out.print(f"诉求 request {doc['request_id']} · {escape(doc['name'] or doc['uscc'])} · {doc['department']} "
              f"({doc['level']}) · 时限规则 SLA {doc['sla_profile']}")
    for s in doc["steps"]:
        out.print(f"  {s['label']} {s['workdays'] or ''}{'wd' if s['workdays'] else str(s['hours']) + 'h'} → {_d(s['due'])}")


@requests_app.command("list")
def list_(region: RegionOption = None,
          status: Annotated[str, typer.Option("--status", help="状态 open, all or one state.")] = "open",
          overdue: Annotated[bool, typer.Option("--overdue", help="只看逾期 Overdue only.")] = False,
          limit: Annotated[int, typer.Option("--limit", min=1, help="列出条数 Requests listed.")] = 50,
          db: DbOption = None, json_output: JsonOption = False) -> None:
    """诉求列表 Requests with their clocks, overdue first."""
    from shanhai.jobs import service_requests as jr

    with _open(db) as store:
        doc = jr.list_requests(store, Scope.province(), region, status=status, overdue=overdue, limit=limit)
    if json_output:
        emit_json(doc)
        return
    out.print(f"诉求 requests: {doc['total']:,} · 逾期 overdue {doc['overdue']:,}")
    table = Table("编号 id", "企业 firm", "标题 title", "部门 department", "状态 state", "期限 due", "时钟 clock")
    for q in doc["requests"]:
        c = q["clock"] or {}
        colour = {"overdue": "red", "due_soon": "yellow", "closed_late": "red"}.get(c.get("state"), "")
        clock = c.get("state_label", "—") + (f" {c['overdue_wd']}wd" if c.get("overdue_wd") else "")
        table.add_row(q["request_id"], escape(q["name"] or q["uscc"]), escape(q["title"] or ""), q["department"] or "",
                      q["state_label"], _d(q["due_on"]), f"[{colour}]{clock}[/]" if colour else clock)
    out.print(table)


@requests_app.command("show")
def show(request_id: Annotated[str, typer.Argument(help="诉求编号 Request id.")], db: DbOption = None,
         json_output: JsonOption = False) -> None:
    """诉求详情 One request: every step's due date, its clock and its history."""
    from shanhai.jobs import service_requests as jr

    with _open(db) as store:
        doc = jr.request(store, Scope.province(), request_id)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['title'] or '')}[/bold] {doc['request_id']} · {escape(doc['name'] or doc['uscc'])} · "
              f"{doc['state_label']} · {doc['department']} · {doc['profile']['display_name']}")
    for s in doc["steps"]:
        out.print(f"  {s['label']}: {_d(s['due'])}{' (办结环节 closing step)' if s['closing'] else ''}")
    c = doc["clock"] or {}
    out.print(f"时钟 clock: {c.get('state_label', '—')} · 期限 due {_d(c.get('due'))} · 逾期 overdue {c.get('overdue_wd', 0)} wd")
    for e in doc["events"]:
        out.print(f"  {_d(e['occurred_at'])} {e['action_label']} → {e['to_label']} {escape(e['note'] or '')} ({e['username']})")


@requests_app.command("act")
def act(request_id: Annotated[str, typer.Argument(help="诉求编号 Request id.")],
        action: Annotated[str, typer.Argument(help="操作 accept, assign, answer, close, reopen, escalate, extend or rate.")],
        note: Annotated[str | None, typer.Option("--note", help="说明 Note.", show_default=False)] = None,
        department: Annotated[str | None, typer.Option("--department", help="承办部门 Department (assign).",
                                                       show_default=False)] = None,
        solved: Annotated[bool | None, typer.Option("--solved/--unsolved", help="是否解决 Solved or not (close, rate).",
                                                    show_default=False)] = None,
        satisfaction: Annotated[int | None, typer.Option("--satisfaction", help="满意度 Rating 1–5 (rate).",
                                                         show_default=False)] = None,
        extra_wd: Annotated[int | None, typer.Option("--extra-wd", help="延期工作日 Working days added (extend).",
                                                     show_default=False)] = None,
        at: Annotated[str | None, typer.Option("--at", help="时间 When (default now).", show_default=False)] = None,
        db: DbOption = None, json_output: JsonOption = False) -> None:
    """诉求流转 Move a request (audited)."""
    from shanhai.jobs import service_requests as jr

    with _open(db, write=True) as store:
        doc = jr.transition(store, Scope.province(), request_id, action, user=cli_user(), note=note,
                            department=department, solved=solved, satisfaction=satisfaction, extra_wd=extra_wd, at=at)
    if json_output:
        emit_json(doc)
        return
    out.print(f"诉求 request {doc['request_id']} → {doc['state_label']} · 期限 due {_d(doc['due_on'])}")


@requests_app.command("escalate")
def escalate(region: RegionOption = None,
             today: Annotated[str | None, typer.Option("--today", help="统计日 Day (default today).",
                                                       show_default=False)] = None,
             db: DbOption = None, json_output: JsonOption = False) -> None:
    """逾期督办 Escalate every overdue open request."""
    from shanhai.jobs import service_requests as jr

    with _open(db, write=True) as store:
        doc = jr.escalate_overdue(store, Scope.of(store, region), today=today, user=cli_user())
    if json_output:
        emit_json(doc)
        return
    out.print(f"督办 escalated {len(doc['escalated'])} 件 on {doc['today']}")


@requests_app.command("refresh")
def refresh(region: RegionOption = None, db: DbOption = None, json_output: JsonOption = False) -> None:
    """计算期限 Compute the due dates of requests that have none (imported ones)."""
    from shanhai.jobs import service_requests as jr

    with _open(db, write=True) as store:
        n = jr.refresh_clocks(store, Scope.of(store, region))
    if json_output:
        emit_json({"refreshed": n})
        return
    out.print(f"已计算期限 due dates set: {n}")


@requests_app.command("kpi")
def kpi(region: RegionOption = None,
        by: Annotated[str, typer.Option("--by", help="分组 department, county, category or channel.")] = "department",
        since: Annotated[str | None, typer.Option("--since", help="起 From (YYYY-MM-DD).", show_default=False)] = None,
        until: Annotated[str | None, typer.Option("--until", help="止 To (YYYY-MM-DD).", show_default=False)] = None,
        db: DbOption = None, json_output: JsonOption = False) -> None:
    """考核指标 办结率, 解决率, 按期办结率, 满意率 with their definitions."""
    from shanhai.jobs import service_requests as jr

    with _open(db) as store:
        doc = jr.kpis(store, Scope.province(), region, by=by, since=since, until=until)
    if json_output:
        emit_json(doc)
        return
    table = Table(by, "受理 collected", "办结 closed", "解决 solved", "办结率", "解决率", "按期办结率", "满意率")
    for r in doc["rows"] + [{"name": "合计 total", **doc["total"]}]:
        table.add_row(escape(str(r["name"])), str(r["collected"]), str(r["closed"]), str(r["solved"]),
                      _pct(r["close_rate"]), _pct(r["solve_rate"]), _pct(r["on_time_rate"]), _pct(r["satisfaction_rate"]))
    out.print(table)
    for d in doc["definitions"].values():
        out.print(f"[dim]{d['label']}: {d['definition']}[/dim]")


@requests_app.command("due")
def due(submitted: Annotated[str, typer.Argument(help="提交日 Submitted on (YYYY-MM-DD).")],
        sla: Annotated[str, typer.Option("--sla", help="时限规则 SLA profile.")] = "NB-HAISHU-2018",
        accepted: Annotated[str | None, typer.Option("--accepted", help="受理日 Accepted on.", show_default=False)] = None,
        complex_case: Annotated[bool, typer.Option("--complex", help="复杂诉求 A complex case.")] = False,
        json_output: JsonOption = False) -> None:
    """期限计算 Every step's due date under a profile (working days with holidays and make-up days)."""
    import warnings

    from shanhai.analysis import service_desk as sd
    from shanhai.analysis import workdays as wd
    from shanhai.policy._service_desk import sla_profile

    prof = sla_profile(sla)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", wd.CalendarCoverageWarning)
        steps = sd.calc_due_dates(prof, wd._day(submitted), wd._day(accepted) if accepted else None,
                                  complex_case=complex_case)
    for w in caught:
        err.print(f"[yellow]{escape(str(w.message))}[/yellow]")
    if json_output:
        emit_json({"profile": prof.name, "receipt_day": prof.receipt_day, "steps": steps})
        return
    out.print(f"{prof.display_name} · receipt_day {prof.receipt_day}")
    for s in steps:
        out.print(f"  {s['label']} ({s['workdays'] or s['hours']}{'wd' if s['workdays'] else 'h'} from {s['start']}): "
                  f"{_d(s['due'])}")


@requests_app.command("profiles")
def profiles(json_output: JsonOption = False) -> None:
    """时限规则 The SLA profiles with their steps and sources."""
    from shanhai.policy._service_desk import sla_profiles

    found = sla_profiles()
    if json_output:
        emit_json([p.model_dump(mode="json") for p in found.values()])
        return
    table = Table("规则 profile", "地区 where", "环节 steps", "来源 source")
    for p in found.values():
        table.add_row(p.name, escape(p.where), "; ".join(f"{s.label} {s.workdays or s.hours}{'wd' if s.workdays else 'h'}"
                                                        for s in p.steps), ", ".join(p.source_keys))
    out.print(table)


@requests_app.command("export")
def requests_export(xlsx: Annotated[Path, typer.Option("--xlsx", help="Excel 文件 Workbook to write.")],
                    region: RegionOption = None,
                    status: Annotated[str, typer.Option("--status", help="状态 open, all or one state.")] = "all",
                    db: DbOption = None) -> None:
    """导出 Requests and KPIs as an Excel workbook (with a notes sheet)."""
    from shanhai.jobs import service_requests as jr
    from shanhai.reports.service_desk_excel import requests_workbook

    with _open(db) as store:
        doc = jr.list_requests(store, Scope.province(), region, status=status, limit=1_000_000)
        k = jr.kpis(store, Scope.province(), region)
    xlsx.write_bytes(requests_workbook(doc, k))
    audit_export(db, f"service_requests:{doc['region']['adcode']}", xlsx, kind="service_requests",
                 region=doc["region"]["adcode"], status=status, rows=len(doc["requests"]))
    out.print(f"已写出 written: {xlsx}")


# ---- lists -----------------------------------------------------------------------------------------

RulesOption = Annotated[str, typer.Option("--rules", help="名单规则 List rules (policy/service_desk/lists-*.toml).")]
KindOption = Annotated[str, typer.Option("--kind", help="名单 key or struggling.")]


@lists_app.command("build")
def lists_build(rules: RulesOption = "haishu-2018",
                year: Annotated[int | None, typer.Option("--year", help="数据年度 Data year (default: the latest).",
                                                         show_default=False)] = None,
                db: DbOption = None, json_output: JsonOption = False) -> None:
    """生成名单 Evaluate the key and struggling lists and store the run with service tasks."""
    from shanhai.jobs import service_lists as jl

    with _open(db, write=True) as store, lazy_progress(err if json_output else out) as progress:
        doc = jl.build(store, rules, year, user=cli_user(), progress=progress)
    if json_output:
        emit_json(doc)
        return
    out.print(f"名单 lists {doc['run_id']} · {doc['rules']} · {doc['year']}")
    for k, v in doc["lists"].items():
        out.print(f"  {k}: {v['listed']:,} 家 (规则 rule {v['by_rule']:,}, 评分前N top-N {v['by_top_n']:,}) · "
                  f"新任务 new tasks {doc['tasks'].get(k, 0):,}")


@lists_app.command("show")
def lists_show(kind: KindOption = "key", region: RegionOption = None,
               run: Annotated[str | None, typer.Option("--run", help="批次 Run id (default: the latest).",
                                                       show_default=False)] = None,
               limit: Annotated[int, typer.Option("--limit", min=1, help="列出条数 Firms listed.")] = 50,
               db: DbOption = None, json_output: JsonOption = False) -> None:
    """名单 The firms of a list with why, officer and task."""
    from shanhai.jobs import service_lists as jl

    with _open(db) as store:
        doc = jl.entries(store, Scope.province(), region, kind=kind, run_id=run, limit=limit)
    if json_output:
        emit_json(doc)
        return
    out.print(f"{doc.get('label', kind)} · {doc['run_id'] or '—'} · {doc['total']:,} 家")
    table = Table("企业 firm", "县 county", "方式 via", "评分 score", "依据 why", "责任人 officer", "任务 task")
    for r in doc["entries"]:
        table.add_row(escape(r["name"] or r["uscc"]), escape(r["county_name"] or ""), r["via"],
                      "—" if r["score"] is None else f"{r['score']:.2f}", escape(r["reasons"] or ""),
                      r["officer"] or "—", r["task_state"] or "—")
    out.print(table)


@lists_app.command("runs")
def lists_runs(db: DbOption = None, json_output: JsonOption = False) -> None:
    """名单批次 Stored list runs."""
    from shanhai.jobs import service_lists as jl

    with _open(db) as store:
        doc = jl.runs(store)
    if json_output:
        emit_json(doc)
        return
    table = Table("批次 run", "规则 rules", "年度 year", "重点 key", "困难 struggling", "时间 at")
    for r in doc:
        table.add_row(r["run_id"], r["rules"], str(r["year"]), str(r["key_firms"]), str(r["struggling_firms"]),
                      _d(r["created_at"]))
    out.print(table)


@lists_app.command("log")
def lists_log(task_id: Annotated[str, typer.Argument(help="任务编号 Task id.")],
              action: Annotated[str, typer.Argument(help="操作 contact, visit or close.")],
              note: Annotated[str | None, typer.Option("--note", help="走访记录 Visit log.", show_default=False)] = None,
              db: DbOption = None, json_output: JsonOption = False) -> None:
    """一对一服务 Record contact, a visit log or closing on a list task (audited)."""
    from shanhai.jobs import service_lists as jl

    with _open(db, write=True) as store:
        doc = jl.log(store, Scope.province(), task_id, action, user=cli_user(), note=note)
    if json_output:
        emit_json(doc)
        return
    out.print(f"任务 task {doc['task_id']} → {doc['state']} ({len(doc['events'])} 条记录 events)")


@lists_app.command("export")
def lists_export(xlsx: Annotated[Path, typer.Option("--xlsx", help="Excel 文件 Workbook to write.")],
                 kind: KindOption = "key", region: RegionOption = None, db: DbOption = None) -> None:
    """导出 A list as an Excel workbook (with a notes sheet)."""
    from shanhai.jobs import service_lists as jl
    from shanhai.reports.service_desk_excel import lists_workbook

    with _open(db) as store:
        doc = jl.entries(store, Scope.province(), region, kind=kind, limit=1_000_000)
        run = next((r for r in jl.runs(store, 100) if r["run_id"] == doc["run_id"]), None)
    xlsx.write_bytes(lists_workbook(doc, run))
    audit_export(db, f"service_lists:{doc['region']['adcode']}", xlsx, kind=f"service_list_{doc['kind']}",
                 run=doc["run_id"], region=doc["region"]["adcode"], rows=len(doc["entries"]))
    out.print(f"已写出 written: {xlsx}")


# ---- pipeline --------------------------------------------------------------------------------------

@pipeline_app.command("enrol")
def enrol(uscc: Annotated[str, typer.Argument(help="统一社会信用代码 USCC.")],
          entered_on: Annotated[str | None, typer.Option("--entered", help="入库日期 Entered on (default today).",
                                                         show_default=False)] = None,
          reinvest: Annotated[float | None, typer.Option("--reinvest", help="募资本地投资比例 Share reinvested (0–1).",
                                                         show_default=False)] = None,
          officer: Annotated[str | None, typer.Option("--officer", help="责任人 Officer.", show_default=False)] = None,
          db: DbOption = None, json_output: JsonOption = False) -> None:
    """入库 Put a firm in the reserve pool (or update its record)."""
    from shanhai.jobs import service_pipeline as jp

    with _open(db, write=True) as store:
        doc = jp.enrol(store, Scope.province(), uscc, entered_on=entered_on, reinvest_share=reinvest, officer=officer,
                       user=cli_user())
    if json_output:
        emit_json(doc)
        return
    out.print(f"已入库 enrolled {escape(doc['name'])} {doc['uscc']} · 梯队 tier {doc['tier']}")


@pipeline_app.command("record")
def record(uscc: Annotated[str, typer.Argument(help="统一社会信用代码 USCC.")],
           milestone: Annotated[str, typer.Argument(help="节点 intermediary_signed, joint_stock, counselling_filed, "
                                                         "application_accepted, approved or listed.")],
           date: Annotated[str, typer.Argument(help="日期 Date (YYYY-MM-DD).")],
           note: Annotated[str | None, typer.Option("--note", help="说明 Note.", show_default=False)] = None,
           db: DbOption = None, json_output: JsonOption = False) -> None:
    """记录节点 Record a milestone date (order checked, audited)."""
    from shanhai.jobs import service_pipeline as jp

    with _open(db, write=True) as store:
        doc = jp.record(store, Scope.province(), uscc, milestone, date, note=note, user=cli_user())
    if json_output:
        emit_json(doc)
        return
    out.print(f"{escape(doc['name'])} · 梯队 tier {doc['tier']} · 应兑现 due {doc['awards']['total']} 万元")


@pipeline_app.command("show")
def pipeline_show(uscc: Annotated[str, typer.Argument(help="统一社会信用代码 USCC.")], preset: PresetOption = "xiaoshan-2021",
                  db: DbOption = None, json_output: JsonOption = False) -> None:
    """企业进程 A pool firm's milestones, tier and staged awards."""
    from shanhai.jobs import service_pipeline as jp

    with _open(db) as store:
        doc = jp.firm(store, Scope.province(), uscc, preset=preset)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['name'])}[/bold] {doc['uscc']} · 梯队 tier {doc['tier']} · {doc['preset']}")
    for m in doc["milestones"]:
        out.print(f"  {m['label']}: {_d(m['date'])}")
    table = Table("奖励 award", "节点 milestone", "兑现日 due on", "金额 万元", "状态 status", "说明 rule")
    for a in doc["awards"]["awards"]:
        amount = "—" if a["amount"] is None else str(a["amount"])
        if a["candidates"]:
            amount = " / ".join(str(c) for c in a["candidates"]) + " ?"
        table.add_row(escape(a["label"]), a["milestone"], _d(a["due_on"]), amount, a["status"], escape(a["rule"]))
    out.print(table)
    out.print(f"合计 total {doc['awards']['total']} 万元{' · 待人工审核 manual review' if doc['awards']['manual_review'] else ''}")


@pipeline_app.command("run")
def pipeline_run(preset: PresetOption = "xiaoshan-2021", db: DbOption = None, json_output: JsonOption = False) -> None:
    """计算 Tiers and staged awards of every pool firm, stored as a run."""
    from shanhai.jobs import service_pipeline as jp

    with _open(db, write=True) as store, lazy_progress(err if json_output else out) as progress:
        doc = jp.run(store, preset, user=cli_user(), progress=progress)
    if json_output:
        emit_json(doc)
        return
    out.print(f"上市梯队 pipeline {doc['run_id']} · {doc['preset']} · {doc['firms']} 家 · 梯队 tiers {doc['tiers']} · "
              f"应兑现 due {doc['awards_due_total']} 万元 · 待人工审核 manual review {doc['manual_review']}")


@pipeline_app.command("board")
def pipeline_board(region: RegionOption = None, db: DbOption = None, json_output: JsonOption = False) -> None:
    """看板 The pool by tier and the progress against the province's and Shaoxing's targets."""
    from shanhai.jobs import service_pipeline as jp

    with _open(db) as store:
        doc = jp.board(store, Scope.province(), region)
    if json_output:
        emit_json(doc)
        return
    for t in doc["tiers"]:
        out.print(f"[bold]{t['label']}[/bold] {len(t['firms'])} 家: " + ", ".join(escape(f["name"]) for f in t["firms"][:10]))
    table = Table("目标 target", "地区 region", "年 year", "目标值 target", "当前 actual", "完成 share", "来源 source")
    for t in doc["targets"]:
        table.add_row(escape(t["label"]), t["region_name"], str(t["year"]), f"{t['target']:,}", f"{t['actual']:,}",
                      _pct(t["share"]), t["source"])
    out.print(table)


@pipeline_app.command("presets")
def pipeline_presets(json_output: JsonOption = False) -> None:
    """规则 The pipeline presets with their awards."""
    from shanhai.policy._service_desk import pipelines

    found = pipelines()
    if json_output:
        emit_json([p.model_dump(mode="json") for p in found.values()])
        return
    for p in found.values():
        out.print(f"[bold]{p.name}[/bold] {p.display_name}: " +
                  ", ".join(f"{a.label} {a.amount}万" for a in p.awards))


@pipeline_app.command("export")
def pipeline_export(xlsx: Annotated[Path, typer.Option("--xlsx", help="Excel 文件 Workbook to write.")],
                    region: RegionOption = None, db: DbOption = None) -> None:
    """导出 The pool, awards and targets as an Excel workbook (with a notes sheet)."""
    from shanhai.jobs import service_pipeline as jp
    from shanhai.reports.service_desk_excel import pipeline_workbook

    with _open(db) as store:
        doc = jp.board(store, Scope.province(), region)
    xlsx.write_bytes(pipeline_workbook(doc))
    audit_export(db, f"service_pipeline:{doc['region']['adcode']}", xlsx, kind="service_pipeline",
                 run=doc["run_id"], region=doc["region"]["adcode"], rows=len(doc["firms"]))
    out.print(f"已写出 written: {xlsx}")
