"""``shanhai cultivate …``: cultivation screening (梯度培育) — the rule sets (list, show), a
screening stored as a run, the pools per county, one firm's explanation and the Excel export.
Thin: parse, call :mod:`shanhai.jobs.cultivation` and :mod:`shanhai.reports.cultivation_excel`, print.
The command line sees the whole province; ``--region`` chooses the region shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, fmt, out
from shanhai.store import default_db_path, open_store
from shanhai.store.scope import Scope

app = typer.Typer(help="梯度培育 Cultivation screening: 小升规, 专精特新, 小巨人, 隐形冠军 against dated rule sets.",
                  no_args_is_help=True)
rules_app = typer.Typer(help="培育规则 The cultivation rule sets (policy/cultivation/*.toml).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 Province (330000), city or county adcode (default: the province).", show_default=False)]
YearOption = Annotated[int | None, typer.Option("--year", help="数据年度 Data year (上年度; default: the latest).",
                                                show_default=False)]
AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="评价日期 Assessment date YYYY-MM-DD (default: 30 June after the data year); picks the rule sets in force.",
    show_default=False)]
RulesOption = Annotated[str | None, typer.Option(
    "--rules", help="规则 Rule sets by name, comma-separated (default: those in force on the assessment date).",
    show_default=False)]
RunOption = Annotated[str | None, typer.Option("--run", help="筛选批次 A stored run id (default: the newest covering the region).",
                                               show_default=False)]
OUTCOME_STYLE = {"eligible": "green", "needs_review": "yellow", "near": "cyan", "not_eligible": "dim"}


def _open(db: Path | None, write: bool = False):
    return open_store(db or default_db_path(), read_only=not write)


@rules_app.command("list")
def rules_list(json_output: JsonOption = False) -> None:
    """列出规则 Every cultivation rule set with its tier, validity and source."""
    from shanhai.policy._rules import TIERS, cultivation_rule_sets

    sets = sorted(cultivation_rule_sets().values(), key=lambda r: (list(TIERS).index(r.tier), r.valid_from))
    rows = [{"name": r.name, "tier": r.tier, "tier_label": TIERS[r.tier][0], "display_name": r.display_name,
             "version": r.version, "valid_from": str(r.valid_from), "valid_to": str(r.valid_to) if r.valid_to else None,
             "published": r.published, "source_keys": list(r.source_keys)} for r in sets]
    if json_output:
        emit_json(rows)
        return
    table = Table("规则 name", "层级 tier", "名称 title", "版本 version", "有效期 valid", "公开规则 published")
    for r in rows:
        table.add_row(r["name"], r["tier_label"], escape(r["display_name"]), r["version"],
                      f"{r['valid_from']} – {r['valid_to'] or '…'}", "是" if r["published"] else "参数 parameter")
    out.print(table)


@rules_app.command("show")
def rules_show(name: Annotated[str, typer.Argument(help="规则名 Rule set name.")], json_output: JsonOption = False) -> None:
    """查看规则 One rule set: its source, validity and every condition."""
    from shanhai.policy._rules import Leaf, cultivation_rule_set

    rs = cultivation_rule_set(name)
    if json_output:
        emit_json(rs.raw)
        return
    out.print(f"[bold]{escape(rs.display_name)}[/bold] · {rs.name} v{rs.version} · {rs.valid_from} – {rs.valid_to or '…'}")
    out.print(f"来源 source: {escape(rs.source)}")
    for n in rs.notes:
        out.print(f"[dim]· {escape(n)}[/dim]")

    def show(node, depth=0):
        pad = "  " * depth
        if isinstance(node, Leaf):
            out.print(f"{pad}{node.id}  {escape(node.describe())}")
        else:
            mode = {"all": "全部满足 all of", "any": "满足其一 any of", "at_least": f"至少 {node.k} 项 at least {node.k} of"}
            out.print(f"{pad}{node.id}  {escape(node.label)} — {mode[node.mode]}")
            for c in node.children:
                show(c, depth + 1)
    for c in rs.conditions:
        show(c)
    for x in rs.exclusions:
        out.print(f"排除 exclusion {x.id}  {escape(x.label)}")


@app.command("screen")
def screen(region: RegionOption = None, year: YearOption = None, as_of: AsOfOption = None, rules: RulesOption = None,
           db: DbOption = None, json_output: JsonOption = False) -> None:
    """筛选 Screen every firm of the region and store the run (never overwritten)."""
    from shanhai.jobs import cultivation as jc
    from shanhai.store.audit import cli_user

    with _open(db, write=True) as store:
        with out.status("筛选中 screening…"):
            doc = jc.run(store, Scope.province(), region, year=year, as_of=as_of, rules=rules, user=cli_user())
    if json_output:
        emit_json(doc)
        return
    out.print(f"已保存 stored run [bold]{doc['run_id']}[/bold] · 数据年度 {doc['year']} · 评价日期 {doc['as_of']} · "
              f"地区 {doc['region']}")
    table = Table("规则 rule set", "符合 eligible", "待核实 review", "接近 near", "不符合 not")
    for name, c in doc["counts"].items():
        table.add_row(name, fmt(c["eligible"]), fmt(c["needs_review"]), fmt(c["near"]), fmt(c["not_eligible"]))
    out.print(table)


@app.command("pool")
def pool(region: RegionOption = None, year: YearOption = None, run: RunOption = None, db: DbOption = None,
         json_output: JsonOption = False) -> None:
    """培育库 Pools per county: title holders, eligible candidates, near ones, by tier."""
    from shanhai.jobs import cultivation as jc

    with _open(db) as store:
        doc = jc.pools(store, Scope.province(), region, year=year, run_id=run)
    if json_output:
        emit_json(doc)
        return
    b = doc["basis"]
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] 培育库 pools · 数据年度 {b['year']} · 评价日期 {b['as_of']} · "
              + (f"批次 run {b['run_id']}" if b["stored"] else "[yellow]即时评估 live (not stored)[/yellow]"))
    table = Table("层级 tier", "规则 rule set", "企业 firms", "已认定 holders", "候选 candidates", "待核实 review",
                  "接近 near")
    for t in doc["totals"]:
        table.add_row(t["tier_label"], t["rule_set"], fmt(t["firms"]), fmt(t["holders"]), fmt(t["candidates"]),
                      fmt(t["needs_review"]), fmt(t["near"]))
    out.print(table)


@app.command("candidates")
def candidates(rule_set: Annotated[str, typer.Argument(help="规则名 Rule set name.")], region: RegionOption = None,
               year: YearOption = None, run: RunOption = None,
               outcome: Annotated[str | None, typer.Option("--outcome", help="eligible, needs_review, near or not_eligible.",
                                                           show_default=False)] = None,
               limit: Annotated[int, typer.Option("--limit", min=1, help="列出企业数 Firms listed.")] = 50,
               db: DbOption = None, json_output: JsonOption = False) -> None:
    """候选企业 The firms of one rule set with what they miss."""
    from shanhai.jobs import cultivation as jc

    with _open(db) as store:
        doc = jc.candidates(store, Scope.province(), region, rule_set=rule_set, outcome=outcome, year=year, run_id=run)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] {escape(doc['display_name'])}: {doc['total']}")
    table = Table("USCC", "企业 firm", "县 county", "结果 outcome", "差距 what's missing")
    for f in doc["firms"][:limit]:
        why = "；".join(f["gaps"] or f["missed_labels"] + f["unknown_labels"] + f["manual_labels"])
        table.add_row(f["uscc"], escape(f["name"]), escape(f["county_name"]),
                      f"[{OUTCOME_STYLE[f['outcome']]}]{f['outcome_label']}[/]", escape(why))
    out.print(table)


@app.command("firm")
def firm(uscc: Annotated[str, typer.Argument(help="统一社会信用代码 USCC.")], year: YearOption = None,
         as_of: AsOfOption = None, rules: RulesOption = None, db: DbOption = None,
         json_output: JsonOption = False) -> None:
    """企业解释 One firm through the rule sets, with the reason for every condition."""
    from shanhai.jobs import cultivation as jc

    with _open(db) as store:
        doc = jc.firm(store, Scope.province(), uscc, year=year, as_of=as_of, rules=rules)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['name'])}[/bold] {doc['uscc']} · {escape(doc['county_name'])} · 数据年度 {doc['year']} · "
              f"评价日期 {doc['as_of']}")
    from shanhai.policy._rules import flatten

    for t in doc["tiers"]:
        style = OUTCOME_STYLE[t["outcome"]]
        held = " · 已认定 holds the title" if t["holds_title"] else ""
        out.print(f"\n[bold]{escape(t['display_name'])}[/bold] ({t['rule_set']} v{t['version']}): "
                  f"[{style}]{t['outcome_label']} {t['outcome']}[/]{held}")
        for c in flatten(t["conditions"]):
            if "children" in c:
                continue
            mark = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "unknown": "[yellow]?[/]", "manual": "[yellow]人[/]"}
            out.print(f"  {mark[c['status']]} {c['id']} {escape(c['reason'])}")
        for x in t["exclusions"]:
            if x["status"] == "pass":
                out.print(f"  [red]排除 excluded[/] {x['id']} {escape(x['label'])}")


@app.command("export")
def export(xlsx: Annotated[Path, typer.Option("--xlsx", help="导出 Excel The workbook to write.")],
           region: RegionOption = None, year: YearOption = None, run: RunOption = None, db: DbOption = None) -> None:
    """导出 The pools and every rule set's candidates as a workbook (with a notes sheet)."""
    from shanhai.jobs import cultivation as jc
    from shanhai.reports.cultivation_excel import workbook

    with _open(db) as store:
        doc = jc.pools(store, Scope.province(), region, year=year, run_id=run)
        lists = [jc.candidates(store, Scope.province(), region, rule_set=name, year=year,
                               run_id=doc["basis"].get("run_id") or run) for name in doc["rule_sets"]]
    xlsx.write_bytes(workbook(doc, lists))
    audit_export(db, f"cultivation:{doc['region']['adcode']}", xlsx, kind="cultivation", region=doc["region"]["adcode"],
                 year=doc["basis"].get("year"), run=doc["basis"].get("run_id"),
                 rows=sum(len(x["firms"]) for x in lists), basis=doc["basis"])
    out.print(f"已写出 written: {xlsx}")
