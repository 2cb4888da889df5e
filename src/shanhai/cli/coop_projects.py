"""``shanhai coop …`` project commands: the project tracker with its lights and KPIs, the stalled
list, the lead register, the receiving counties for a lead, a lead's transfer and the credit and
sharing ledger. Thin: parse, call ``shanhai.jobs.projects`` / ``leads`` / ``ledger`` and
``shanhai.reports.coop_excel``, print.

The command line is the province's own tool: it sees every project (scope: the whole province);
``--region`` chooses the region shown. Command functions (registered by ``cli/app.py``):
``projects``, ``stalled``, ``leads``, ``rank_lead``, ``transfer``, ``ledger``.
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

RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 Province (330000), city or county adcode (default: the province).", show_default=False)]
AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="截至日期 As-of date YYYY-MM-DD (default: the latest project event).", show_default=False)]
RulesOption = Annotated[str, typer.Option("--rules", help="亮灯规则 Lifecycle rule set (policy/coop/lifecycle_*.toml).")]
XlsxOption = Annotated[Path | None, typer.Option("--xlsx", help="导出 Excel Also write the result as a workbook.",
                                                 show_default=False)]
LIGHT_STYLE = {"green": "green", "amber": "yellow", "red": "bold red"}
LIGHT_ZH = {"green": "绿", "amber": "黄", "red": "红"}


def _open(db: Path | None, write: bool = False):
    return open_store(db or default_db_path(), read_only=not write)


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _light(light: str) -> str:
    return f"[{LIGHT_STYLE[light]}]● {LIGHT_ZH[light]} {light}[/]"


def _write(path: Path, data: bytes, db: Path | None, target: str, json_output: bool, **detail) -> None:
    """Write the workbook, record the export in the audit log, say where it went."""
    path.write_bytes(data)
    audit_export(db, target, path, **detail)
    say_written(path, json_output)


def _kpi_table(rows: list[dict], first: str) -> Table:
    table = Table(first, "项目 projects", "履约率 honoured", "资金到位率 funds", "开工率 started",
                  "投产率 producing", "红/黄/绿 lights", "停滞 stalled")
    for r in rows:
        table.add_row(escape(r["name"]), fmt(r["projects"]), _pct(r["honoured_rate"]), _pct(r["funds_rate"]),
                      _pct(r["started_rate"]), _pct(r["producing_rate"]),
                      f"{r['lights']['red']}/{r['lights']['amber']}/{r['lights']['green']}", fmt(r["stalled"]))
    return table


def projects(
    region: RegionOption = None, as_of: AsOfOption = None,
    light: Annotated[str | None, typer.Option("--light", help="只看 Only red, amber or green.",
                                              show_default=False)] = None,
    by: Annotated[str | None, typer.Option("--by", help="指标分组 KPIs by county, city or pairing.",
                                           show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="列出项目数 Projects listed.")] = 50,
    rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None,
) -> None:
    """项目跟踪 Projects with their lights (planned vs actual per stage) and the KPIs: contracts honoured, funds in place, started, producing."""
    from shanhai.jobs import projects as jp

    with _open(db) as store:
        doc = jp.tracker(store, Scope.province(), region, as_of=as_of, light=light, rules=rules)
        kpi = jp.kpis(store, Scope.province(), region, by=by, as_of=as_of, rules=rules) if by else None
    if xlsx:
        from shanhai.reports.coop_excel import projects_workbook

        _write(xlsx, projects_workbook(doc, [kpi] if kpi else None), db, f"coop:projects:{doc['region']['adcode']}",
               json_output, kind="coop_projects", region=doc["region"]["adcode"], rows=len(doc["projects"]),
               masked=sum(1 for p in doc["projects"] if p.get("investor_masked")), basis=doc["basis"])
    if json_output:
        emit_json({**doc, "kpis_by": kpi} if kpi else doc)
        return
    b, k = doc["basis"], doc["kpis"]
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] 项目跟踪 project tracker · 截至 as of {b['as_of']} · "
              f"规则 {b['rules']} {b['rules_version']}")
    out.print(f"落地项目 {k['projects']} · 履约率 {_pct(k['honoured_rate'])} · 资金到位率 {_pct(k['funds_rate'])} · "
              f"开工率 {_pct(k['started_rate'])} · 投产率 {_pct(k['producing_rate'])} · 红 {k['lights']['red']} "
              f"黄 {k['lights']['amber']} 绿 {k['lights']['green']} · 停滞 {k['stalled']}")
    table = Table("项目 project", "名称 name", "落地 landing", "角色 role", "阶段 stage", "灯 light", "逾期 overdue",
                  "投资 invested/planned", "原因 why")
    for p in doc["projects"][:limit]:
        table.add_row(p["project_id"], escape(p["name"]), escape(p["landing_name"] or ""), "、".join(p["roles"]),
                      p["reached_label"], _light(p["light"]), f"{p['months_overdue']} 月",
                      f"{fmt(p['invested'], 0)}/{fmt(p['planned_investment'], 0)}", escape("；".join(p["reasons"])))
    out.print(table)
    if len(doc["projects"]) > limit:
        out.print(f"[dim]… {len(doc['projects']) - limit} more (--limit)[/dim]")
    if kpi:
        out.print(_kpi_table(kpi["rows"] + [{"name": "合计 total", **kpi["total"]}], f"{by}"))


def stalled(region: RegionOption = None, as_of: AsOfOption = None, rules: RulesOption = "default",
            db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None) -> None:
    """停滞项目 The stalled list: projects without a new stage for months, and red ones, with why."""
    from shanhai.jobs import projects as jp

    with _open(db) as store:
        doc = jp.stalled(store, Scope.province(), region, as_of=as_of, rules=rules)
        full = jp.tracker(store, Scope.province(), region, as_of=as_of, rules=rules) if xlsx else None
    if xlsx:
        from shanhai.reports.coop_excel import projects_workbook

        _write(xlsx, projects_workbook({**full, "projects": doc["projects"]}), db,
               f"coop:projects:{full['region']['adcode']}", json_output, kind="coop_stalled", region=full["region"]["adcode"],
               rows=len(doc["projects"]), basis=full["basis"])
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] 停滞与红灯项目 stalled and red projects: {doc['total']} "
              f"· 截至 as of {doc['basis']['as_of']}")
    table = Table("项目 project", "名称 name", "落地 landing", "阶段 stage", "最近节点 last", "灯 light", "原因 why")
    for p in doc["projects"]:
        table.add_row(p["project_id"], escape(p["name"]), escape(p["landing_name"] or ""), p["reached_label"],
                      str(p["last_event"] or "—"), _light(p["light"]), escape("；".join(p["why"])))
    out.print(table)


def leads(region: RegionOption = None,
          status: Annotated[str | None, typer.Option("--status", help="状态 open, transferred, landed or dropped.",
                                                     show_default=False)] = None,
          db: DbOption = None, json_output: JsonOption = False) -> None:
    """招商线索 The leads a region found or received, with their transfers."""
    from shanhai.jobs import leads as jl

    with _open(db) as store:
        doc = jl.leads(store, Scope.province(), region, status=status)
    if json_output:
        emit_json(doc)
        return
    c = doc["status_counts"]
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] 招商线索 leads: {doc['total']} · 在谈 {c['open']} · "
              f"已流转 {c['transferred']} · 已落地 {c['landed']} · 已放弃 {c['dropped']}")
    table = Table("线索 lead", "名称 name", "行业 industry", "投资 invest (万元)", "用地 land (亩)",
                  "能耗 tce/万元", "首谈地 found by", "状态 status", "流转 transfers")
    for x in doc["leads"]:
        table.add_row(x["lead_id"], escape(x["name"]), x.get("industry_code") or "—", fmt(x.get("investment"), 0),
                      fmt(x.get("land_mu"), 0), fmt(x.get("energy_per_va"), 3), escape(x["found_by_name"] or ""),
                      x["status_label"], escape("、".join(f"→{t['to_name']}" for t in x["transfers"]) or "—"))
    out.print(table)


def rank_lead(lead_id: Annotated[str, typer.Argument(help="线索编号 Lead id (e.g. LD330110001).")],
              limit: Annotated[int, typer.Option("--limit", min=1, help="列出地区数 Counties listed.")] = 15,
              year: Annotated[int | None, typer.Option("--year", help="数据年度 Data year (default: the latest).",
                                                       show_default=False)] = None,
              rules: Annotated[str, typer.Option("--rules", help="排序规则 Ranking rule set (coop/ranking_*.toml).")]
              = "default",
              db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None) -> None:
    """承接地排序 The counties best placed to receive a lead: chain fit, lead-industry fit, free land, zone capacity, energy."""
    from shanhai.jobs import leads as jl

    with _open(db) as store:
        doc = jl.rank(store, Scope.province(), lead_id, year=year, rules=rules)
    if xlsx:
        from shanhai.reports.coop_excel import rank_workbook

        _write(xlsx, rank_workbook(doc), db, f"coop:lead:{lead_id}", json_output, kind="coop_lead_rank", lead=lead_id,
               year=doc["basis"]["year"], rows=len(doc["ranked"]), basis=doc["basis"])
    if json_output:
        emit_json({**doc, "ranked": doc["ranked"][:limit]})
        return
    lead = doc["lead"]
    out.print(f"[bold]{escape(lead['name'])}[/bold] ({lead['lead_id']}) · 首谈地 {escape(lead['found_by_name'] or '')} · "
              f"行业 {lead.get('industry_code') or '—'} · 产业链 {lead.get('chain_id') or '—'} · "
              f"能耗 {fmt(lead.get('energy_per_va'), 3)} tce/万元")
    table = Table("#", "县 county", "得分 score", "链 chain", "主导 lead", "土地 land", "平台 zone", "能耗 energy",
                  "理由 why")
    for r in doc["ranked"][:limit]:
        p = r["points"]
        table.add_row(str(r["rank"]), escape(r["name"]), fmt(r["score"], 1), fmt(p["chain"], 1),
                      fmt(p["lead_industry"], 1), fmt(p["land"], 1), fmt(p["zone"], 1), fmt(p["energy"], 1),
                      escape("；".join(r["reasons"][:2])))
    out.print(table)
    if doc["excluded"]:
        out.print(f"[yellow]排除 excluded {len(doc['excluded'])}:[/yellow] "
                  + escape("；".join(f"{r['name']}（{r['reason']}）" for r in doc["excluded"][:5])))


def transfer(lead_id: Annotated[str, typer.Argument(help="线索编号 Lead id.")],
             to: Annotated[str, typer.Option("--to", help="承接地 Receiving county adcode.")],
             date: Annotated[str | None, typer.Option("--date", help="流转日期 YYYY-MM-DD (default: today).",
                                                      show_default=False)] = None,
             note: Annotated[str | None, typer.Option("--note", help="备注 Note.", show_default=False)] = None,
             project: Annotated[str | None, typer.Option("--project", help="落地项目编号 The project it became.",
                                                         show_default=False)] = None,
             db: DbOption = None, json_output: JsonOption = False) -> None:
    """项目流转 Record that a lead's first-contact county passed it to another county (audited; credits the first contact)."""
    from shanhai.jobs import leads as jl
    from shanhai.store.audit import cli_user

    with _open(db, write=True) as store:
        row = jl.transfer_lead(store, Scope.province(), lead_id, to, user=cli_user(), transferred_on=date, note=note,
                               project_id=project)
    if json_output:
        emit_json(row)
        return
    out.print(f"已流转 transferred: {row['lead_id']} {row['from_adcode']} → {row['to_adcode']} {escape(row['to_name'])} "
              f"({row['transferred_on']}), 状态 status {row['status']}")


def ledger(region: RegionOption = None,
           year: Annotated[int | None, typer.Option("--year", help="年度 Year (default: the latest with events).",
                                                    show_default=False)] = None,
           sharing: Annotated[str, typer.Option("--sharing", help="分成方案 Sharing rule set (coop/sharing_*.toml).")]
           = "default",
           credit: Annotated[str, typer.Option("--credit", help="积分规则 Credit rule set (coop/credit_*.toml).")]
           = "default",
           db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None) -> None:
    """协作台账 Credit points, dual counting and output/tax sharing per county and year; totals add landing rows only."""
    from shanhai.jobs import ledger as jl

    with _open(db) as store:
        doc = jl.ledger(store, Scope.province(), region, year=year, sharing=sharing, credit=credit)
    if xlsx:
        from shanhai.reports.coop_excel import ledger_workbook

        _write(xlsx, ledger_workbook(doc), db, f"coop:ledger:{doc['region']['adcode']}:{doc['year']}",
               json_output, kind="coop_ledger", region=doc["region"]["adcode"], year=doc["year"], rows=len(doc["rows"]),
               basis=doc["basis"])
    if json_output:
        emit_json(doc)
        return
    t = doc["totals"]
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] 山海协作台账 ledger {doc['year']} · 落地项目 {t['projects']} · "
              f"投资 {fmt(t['invested'], 0)} 万元 · 产值 {fmt(t['output'], 0)} 万元 · 税收 {fmt(t['tax'], 0)} 万元 "
              f"(合计只计落地 totals add landing rows only)")
    if "check" in doc:
        ok = "[green]相等 equal[/green]" if doc["check"]["equal"] else "[red]不相等 NOT equal[/red]"
        out.print(f"全省分成产值合计 {fmt(doc['check']['shared_output'], 4)} = 落地产值 {fmt(doc['check']['landing_output'], 4)}: {ok}")
    table = Table("县 county", "落地 landing", "落地产值 output", "双向计入 dual", "双向产值 dual output",
                  "分成产值 shared output", "分成税收 shared tax", "首谈积分 credit")
    for c in doc["counties"]:
        table.add_row(escape(c["name"] or c["adcode"]), fmt(c["landing"]["projects"]), fmt(c["landing"]["output"], 0),
                      fmt(c["dual"]["projects"]), fmt(c["dual"]["output"], 0), fmt(c["shared_output"], 0),
                      fmt(c["shared_tax"], 0), fmt(c["credit"], 2))
    out.print(table)
