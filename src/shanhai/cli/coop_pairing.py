"""``shanhai coop pair`` / ``shanhai coop plan``: 一企一县 (1+N) firm–county pairing. Thin: parse,
call ``shanhai.jobs.pairing`` / ``shanhai.reports.pairing_excel``, print.

``pair`` plans the pairs of the mountain counties of a region to optimality and stores the plan
as a run (never overwritten); ``plan`` shows a stored plan (the newest by default) or lists them.
The command line is the province's own tool: it sees every firm (scope: the whole province).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, fmt, lazy_progress, out
from shanhai.errors import ShanhaiError
from shanhai.store import default_db_path, open_store
from shanhai.store.scope import Scope

XlsxOption = Annotated[Path | None, typer.Option(
    "--xlsx", help="导出 Excel Also write the plan as a workbook (结对方案, 县域汇总, 说明).", show_default=False)]
ForceOption = Annotated[bool, typer.Option("--force", help="覆盖已有文件 Overwrite an existing --xlsx file.")]


def _check_xlsx(xlsx: Path | None, force: bool) -> None:
    if xlsx is not None and xlsx.exists() and not force:
        raise ShanhaiError(f"{xlsx} already exists: choose another --xlsx, or pass --force to overwrite it")


def _write(xlsx: Path | None, doc: dict, json_output: bool, db: Path | None) -> None:
    if xlsx is None:
        return
    from shanhai.reports.pairing_excel import plan_workbook

    xlsx.write_bytes(plan_workbook(doc))
    audit_export(db, f"coop:pairing:{doc['run_id']}", xlsx, kind="pairing_plan", plan=doc["run_id"],
                 region=doc["options"].get("region"), year=doc["options"].get("year"), rows=len(doc["pairs"]),
                 counties=len(doc["counties"]), masked=doc.get("masked"))
    (err if json_output else out).print(f"已写出 written: {xlsx}")


def pair(
    region: Annotated[str, typer.Option(
        "--region", help="地区 Province (330000), a city or a county: its mountain counties are planned.")
    ] = "330000",
    per_county_min: Annotated[int | None, typer.Option(
        "--min", min=0, help="每县最少企业数 Firms per county, at least (default: the rule set's, 1).",
        show_default=False)] = None,
    per_county_max: Annotated[int | None, typer.Option(
        "--max", min=1, help="每县最多企业数 Firms per county, at most (default: the rule set's, 2).",
        show_default=False)] = None,
    max_counties: Annotated[int | None, typer.Option(
        "--max-counties", "-k", min=1, help="每家企业最多结对县数 K (default: the rule set's, 2).",
        show_default=False)] = None,
    distinct_industries: Annotated[bool, typer.Option(
        "--distinct-industries", help="每县不同行业 At most one firm per industry division per county.")] = False,
    within_city: Annotated[str, typer.Option(
        "--within-city", help="同市优先 off | bonus (points for a firm of the county's own city) | first (the most "
                              "same-city pairs, then the best score).")] = "off",
    strict: Annotated[bool, typer.Option(
        "--strict", help="无法结对的县计入约束 Counties no firm can pair with make the plan infeasible (default: "
                         "they are listed with the reason and left out).")] = False,
    year: Annotated[int | None, typer.Option("--year", help="年度 Data year (default: the latest).",
                                             show_default=False)] = None,
    run: Annotated[str | None, typer.Option(
        "--run", help="亩均评价批次 Per-mu run whose classes are used (default: the newest run of the year).",
        show_default=False)] = None,
    rules: Annotated[str, typer.Option("--rules", help="结对规则 Pairing rule set (policy/coop/pairing_NAME.toml).")
                     ] = "default",
    db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None, force: ForceOption = False,
) -> None:
    """一企一县结对规划 Plan firm–county pairs (1+N) for the mountain counties, to optimality, and store the plan.

    Candidates: chain leaders and class A/B firms of the developed counties in chains matching each county's lead
    industries. Score: chain fit, capacity, efficiency, existing 山海协作 pairing and distance (their points add up).
    The plan maximises the total score (scipy.optimize.milp, HiGHS, gap 0); when the constraints cannot be met it
    says which counties and why.
    """
    _check_xlsx(xlsx, force)
    from shanhai.jobs import pairing
    from shanhai.policy._coop import pairing_rules

    r = pairing_rules(rules)
    lo = r.plan.per_county_min if per_county_min is None else per_county_min
    hi = r.plan.per_county_max if per_county_max is None else per_county_max
    with open_store(db or default_db_path()) as store, lazy_progress(err) as progress:
        doc = pairing.build_plan(store, Scope.province(), region=region, year=year, run_id=run, rules=rules,
                                 per_county=(lo, hi), max_counties=max_counties,
                                 distinct_industries=distinct_industries, within_city_first=within_city,
                                 skip_unmatched=not strict, progress=progress)
    _write(xlsx, doc, json_output, db)
    if json_output:
        emit_json(doc)
        return
    show(doc)


def plan(
    plan_id: Annotated[str, typer.Argument(help="结对方案 Plan id (pairing-…), or latest.")] = "latest",
    list_plans: Annotated[bool, typer.Option("--list", help="列出已存方案 List the stored plans instead.")] = False,
    db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None, force: ForceOption = False,
) -> None:
    """结对方案 Show a stored pairing plan: objective, per county its firms with points and reasons, or why not."""
    _check_xlsx(xlsx, force)
    from shanhai.jobs import pairing

    with open_store(db or default_db_path(), read_only=True) as store:
        if list_plans:
            rows = pairing.plans(store, Scope.province(), limit=200)
        else:
            doc = pairing.plan_of(store, Scope.province(), plan_id)
    if list_plans:
        if json_output:
            emit_json({"plans": rows})
            return
        table = Table("方案 plan", "时间 made", "地区 region", "状态 status", "目标值 objective", "结对 pairs",
                      "每县 per county", "K", "规则 options")
        for p in rows:
            table.add_row(p["run_id"], p["created_at"], escape(p["region_name"] or p["region"] or ""),
                          p["status_label"], fmt(p["objective"], 2), fmt(p["pairs"]),
                          "–".join(str(x) for x in p["per_county"] or ()), str(p["max_counties"]),
                          _options_short(p))
        out.print(table)
        return
    _write(xlsx, doc, json_output, db)
    if json_output:
        emit_json(doc)
        return
    show(doc)


def _options_short(o: dict) -> str:
    parts = []
    if o.get("distinct_industries"):
        parts.append("不同行业")
    if o.get("within_city_first") and o["within_city_first"] != "off":
        parts.append({"bonus": "同市加分", "first": "同市优先"}[o["within_city_first"]])
    return "、".join(parts) or "—"


def show(doc: dict) -> None:
    """A plan as Rich tables: the headline, the diagnosis, each county's firms."""
    from shanhai.reports.pairing_excel import options_text

    o = doc["options"]
    style = "bold green" if doc["status"] == "optimal" else "bold red"
    out.print(f"[bold]{escape(o.get('region_name') or '')}[/bold] 一企一县结对方案 pairing plan "
              f"[dim]{doc['run_id']}[/dim]: [{style}]{doc['status_label']} {doc['status']}[/]")
    if doc["objective"] is not None:
        s = doc["summary"]
        out.print(f"目标值 objective {doc['objective']:.4f}（{s.get('pairs')} 对 pairs，同市 within city "
                  f"{s.get('within_city_pairs')}；变量 {s.get('variables')}，约束 {s.get('constraints')}，"
                  f"求解 {s.get('solve_s')} s）")
    out.print(f"[dim]{escape(options_text(o))}[/dim]")
    out.print(f"[dim]{o.get('year')} 年 · 亩均批次 {o.get('run') or '无'} · 规则 {o.get('rules')} "
              f"{doc['basis'].get('rules_version')} · 输入指纹 {doc['basis'].get('inputs_fingerprint')}[/dim]")
    for p in doc["problems"]:
        out.print(f"[bold red]✗[/bold red] {escape(p['zh'])}")
        out.print(f"  [dim]{escape(p['en'])}[/dim]")
    table = Table("县 county", "#", "得分 score", "企业 firm", "所在地 location", "环节 segment", "类 class",
                  "理由 why", show_lines=True)
    for c in doc["counties"]:
        if not c["pairs"]:
            why = c.get("unmatched_reason") or "；".join(c.get("problems") or ()) or "—"
            table.add_row(escape(c["name"]), "", "", "[dim]未结对 not paired[/dim]", "", "", "", escape(why))
            continue
        for p in c["pairs"]:
            table.add_row(escape(c["name"]) if p["rank"] == 1 else "", str(p["rank"]), fmt(p["score"], 1),
                          escape(p["name"]), escape(f"{p['firm_city_name'] or ''}{p['firm_county_name']}"),
                          escape(f"{p['chain_name']}·{p['segment_name']}"), p["mujun_class"] or "—",
                          escape("\n".join(p["reasons"])))
    out.print(table)
