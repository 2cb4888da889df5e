"""``shanhai coop profile|counties|targets|enclaves``: the mountain county profile, the 26 counties
side by side, the 产业链山海协作行动计划's targets and progress, and the enclaves (飞地). Thin:
parse, call :mod:`shanhai.jobs.coop_profile`, print Rich tables (or ``--json``), write the
workbook of :mod:`shanhai.reports.coop_profile_excel` with ``--xlsx``.

The command functions are registered by ``cli/app.py`` under the ``coop`` group. The command line
is the province's own tool: it sees every county (scope: the whole province).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, fmt, out
from shanhai.errors import ShanhaiError
from shanhai.store import default_db_path, open_store
from shanhai.store.scope import Scope

YearOption = Annotated[int | None, typer.Option(
    "--year", help="年度 Data year (default: the latest in the database).", show_default=False)]
XlsxOption = Annotated[Path | None, typer.Option(
    "--xlsx", help="导出 Excel Also write the result as a workbook (.xlsx).", show_default=False)]
ForceOption = Annotated[bool, typer.Option("--force", help="覆盖已有文件 Overwrite an existing --xlsx file.")]

LIGHT_STYLE = {"green": "bold green", "amber": "bold yellow", "red": "bold red", "grey": "dim"}
CATEGORY_LINE = "[yellow]分类（跨越发展类 / 生态发展类）未经核实，分类目标仅供参考 — the category split is not verified.[/yellow]"


def _open(db: Path | None):
    return open_store(db or default_db_path(), read_only=True)


def _check_xlsx(xlsx: Path | None, force: bool) -> None:
    if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
        raise ShanhaiError(f"{xlsx}: the workbook's name must end in .xlsx")
    if xlsx is not None and xlsx.exists() and not force:
        raise ShanhaiError(f"{xlsx} already exists: choose another --xlsx, or pass --force to overwrite it")


def _write(xlsx: Path | None, data: bytes | None, db: Path | None, target: str, **detail) -> str | None:
    """Write the workbook (if asked) and record the export in the audit log."""
    if xlsx is None or data is None:
        return None
    xlsx.parent.mkdir(parents=True, exist_ok=True)
    xlsx.write_bytes(data)
    audit_export(db, target, xlsx, **detail)
    return str(xlsx)


def _num(v, digits: int = 2) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def _yes(v) -> str:
    return "—" if v is None else ("[green]✓[/green]" if v else "[red]✗[/red]")


def _basis(b: dict) -> str:
    return (f"[dim]{b['year']} 年 · 数据指纹 data {b['data_fingerprint'][:12]} · 目标 {escape(b['plan_source'])} "
            f"{b['plan_version']} · 计数自 {b['counted_from']} 年[/dim]")


def _footer(basis: dict, written: str | None) -> None:
    """What every command ends with: the basis line, and the workbook written, if any."""
    out.print(_basis(basis))
    if written:
        out.print(f"已写出 written: {escape(written)}")


def _light(item: dict) -> str:
    return f"[{LIGHT_STYLE[item['light']]}]{item['light_label']} {item['light']}[/]"


# ---- shanhai coop profile --region ------------------------------------------------------------

def profile(
    region: Annotated[str, typer.Option("--region", help="山区县 Adcode of one of the 26 mountain counties, e.g. 331127.",
                                        show_default=False)],
    db: DbOption = None,
    year: YearOption = None,
    top: Annotated[int, typer.Option("--top", min=1, max=50, help="一县一业建议条数 Suggestions per list.")] = 5,
    json_output: JsonOption = False,
    xlsx: XlsxOption = None,
    force: ForceOption = False,
) -> None:
    """山区县画像 A mountain county's profile: category, lead industries and suggestions, per-mu figures
    against the category targets, above-scale firms, pairing partners, enclaves, projects, chains."""
    _check_xlsx(xlsx, force)
    from shanhai.jobs import coop_profile as job

    with _open(db) as store:
        doc = job.profile(store, Scope.province(), region, year, top=top)
    data = None
    if xlsx is not None:
        from shanhai.reports.coop_profile_excel import profile_workbook

        data = profile_workbook(doc)
    written = _write(xlsx, data, db, f"coop:county:{doc['county']['adcode']}", kind="coop_profile",
                     region=doc["county"]["adcode"], year=doc["year"], fingerprint=doc["basis"]["data_fingerprint"])
    if json_output:
        emit_json({**doc, "xlsx": written})
        return
    c, f = doc["county"], doc["figures"]
    out.print(f"[bold]{escape(c['name'])} ({c['adcode']}) · {escape(c.get('city_name') or '')} · 山海协作画像 · "
              f"{doc['year']} 年[/bold]")
    out.print(f"分类 category: {escape(c.get('category_label') or '未定 none')}")
    if not c["category_verified"]:
        out.print(CATEGORY_LINE)
    out.print(f"规上企业 above-scale firms {fmt(f['above_scale'])} (上年 {fmt(f['above_scale_prev'])}) · 当年新上规 "
              f"{fmt(f['new_above_scale'])} · {f['new_since_year']} 年以来 {fmt(f['new_above_scale_since'])} · "
              f"专精特新 {fmt(f['specialised'])} · 规上增加值 {_num(f['value_added'])} 万元")
    table = Table(title="亩均与目标 Figures against the targets", title_justify="left")
    for column, justify in (("指标 target", "left"), ("当前 actual", "right"), ("目标 target", "right"),
                            ("单位", "left"), ("年份", "right"), ("达到", "center")):
        table.add_column(column, justify=justify, overflow="fold")
    for t in doc["targets"]:
        mark = " [yellow](分类待核实)[/yellow]" if t.get("unverified") else ""
        digits = 0 if t["unit"] == "万元" else 2
        table.add_row(escape(t["label"]) + mark, _num(t["actual"], digits), _num(t["target"], digits), t["unit"],
                      str(t["year"]), _yes(t["met"]))
    out.print(table)
    out.print(f"亩均增加值 VA per mu {_num(f['value_added_per_mu'])} 万元/亩 (上年 {_num(f['value_added_per_mu_prev'])})")
    leads = "; ".join(f"{escape(x['name'])} ({'/'.join(x['codes'])})" for x in doc["leads"]) or "无 none"
    out.print(f"申报主导产业 declared lead industries: {leads}")
    s = doc["suggestions"]
    if s.get("error"):
        out.print(f"[dim]一县一业 opportunities: {escape(s['error'])}[/dim]")
    else:
        for key, label in (("develop", "建议培育 develop"), ("strengthen", "建议做强 strengthen")):
            out.print(f"{label}: " + ("; ".join(f"#{r['rank']} {r['code']} {escape(r['name'])}" for r in s[key]) or "无"))
    partners = "; ".join(f"{escape(p['developed_name'])}" + (f" ({p['paired_since']})" if p.get("paired_since") else "")
                         for p in doc["partners"]) or "无记录 none found"
    out.print(f"结对地区 pairing partners: {partners}")
    if doc["enclaves"]:
        table = Table(title="飞地 Enclaves", title_justify="left")
        for column in ("飞地", "类型", "本县角色", "对方", "设立", "收益(万元)"):
            table.add_column(column, overflow="fold")
        for e in doc["enclaves"]:
            other = e["host_name"] if e["role"] == "owner" else e["owner_name"]
            table.add_row(escape(e["name"]), e["kind_label"], ("飞出地" if e["role"] == "owner" else "飞入地")
                          + (" (市)" if e.get("via_city") else ""), escape(other or ""), e.get("established") or "—",
                          ", ".join(f"{r['year']}: {_num(r['amount'])}" for r in e["returns"]) or "—")
        out.print(table)
    p = doc["projects"]
    stages = ", ".join(f"{s_['label']} {s_['projects']}" for s_ in p["by_stage"] if s_["projects"])
    out.print(f"落地项目 projects {p['total']} (山海协作 {p['cooperation']}, 产业链 {p['chain_cooperation']})"
              + (f": {stages}" if stages else ""))
    if doc["chains"]:
        table = Table(title="产业链 Chains", title_justify="left")
        for column, justify in (("产业链", "left"), ("企业", "right"), ("优势", "right"), ("具备", "right"),
                                ("薄弱", "right"), ("缺失", "right")):
            table.add_column(column, justify=justify)
        for ch in doc["chains"]:
            k = ch["counts"]
            table.add_row(escape(ch["name"]), fmt(ch["firms"]), str(k["strong"]), str(k["present"]), str(k["weak"]),
                          str(k["missing"]))
        out.print(table)
    elif doc.get("chains_error"):
        out.print(f"[dim]产业链 chains: {escape(doc['chains_error'])}[/dim]")
    _footer(doc["basis"], written)


# ---- shanhai coop counties -------------------------------------------------------------------

def counties(
    db: DbOption = None,
    year: YearOption = None,
    json_output: JsonOption = False,
    xlsx: XlsxOption = None,
    force: ForceOption = False,
) -> None:
    """山区26县 The 26 mountain counties side by side: category, above-scale firms, per-mu figures
    against the category targets, partners, enclaves and projects (with --xlsx: and the targets)."""
    _check_xlsx(xlsx, force)
    from shanhai.jobs import coop_profile as job

    with _open(db) as store:
        doc = job.overview(store, Scope.province(), year)
        progress = job.action_plan_progress(store, Scope.province(), doc["year"]) if xlsx is not None else None
    data = None
    if xlsx is not None:
        from shanhai.reports.coop_profile_excel import overview_workbook

        data = overview_workbook(doc, progress)
    written = _write(xlsx, data, db, "coop:counties", kind="coop_counties", year=doc["year"], rows=len(doc["rows"]),
                     suppressed=doc["totals"]["suppressed"], fingerprint=doc["basis"]["data_fingerprint"])
    if json_output:
        emit_json({**doc, "xlsx": written})
        return
    table = Table(title=f"山区26县 The 26 mountain counties · {doc['year']} 年", title_justify="left")
    for column, justify in (("县", "left"), ("分类*", "left"), ("规上", "right"), ("新上规", "right"),
                            ("增加值(万元)", "right"), ("亩均税收", "right"), ("目标", "right"), ("达到", "center"),
                            ("劳动生产率", "right"), ("≥15", "center"), ("结对", "right"), ("飞地", "right"),
                            ("项目", "right")):
        table.add_column(column, justify=justify, overflow="fold")
    for r in doc["rows"]:
        t = r["targets"]
        table.add_row(escape(r["name"]), escape(r.get("category_label") or "—"), fmt(r["above_scale"]),
                      fmt(r["new_above_scale"]), _num(r["value_added"], 0), _num(r["tax_per_mu"]),
                      _num(r["tax_target"], 0), _yes(t["tax_per_mu"]["met"]), _num(r["labour_productivity"]),
                      _yes(t["labour_productivity"]["met"]), fmt(r["partners"]), fmt(r["enclaves"]), fmt(r["projects"]))
    tot = doc["totals"]
    table.add_row("[bold]合计 26[/bold]", "", fmt(tot["above_scale"]), fmt(tot["new_above_scale"]),
                  _num(tot["value_added"], 0), _num(tot["tax_per_mu"]), "", f"{tot['tax_met']}",
                  _num(tot["labour_productivity"]), f"{tot['productivity_met']}", "", "", "")
    out.print(table)
    out.print("* " + CATEGORY_LINE)
    _footer(doc["basis"], written)


# ---- shanhai coop targets --------------------------------------------------------------------

def targets(
    db: DbOption = None,
    year: YearOption = None,
    json_output: JsonOption = False,
    xlsx: XlsxOption = None,
    force: ForceOption = False,
) -> None:
    """行动计划目标 The action plan's 2023 and 2025 targets for the 26 counties: current value, gap,
    calendar progress (序时进度) and a light."""
    _check_xlsx(xlsx, force)
    from shanhai.jobs import coop_profile as job

    with _open(db) as store:
        doc = job.action_plan_progress(store, Scope.province(), year)
        overview = job.overview(store, Scope.province(), doc["year"]) if xlsx is not None else None
    data = None
    if xlsx is not None:
        from shanhai.reports.coop_profile_excel import overview_workbook

        data = overview_workbook(overview, doc)
    written = _write(xlsx, data, db, "coop:counties", kind="coop_targets", year=doc["year"], rows=len(doc["items"]),
                     fingerprint=doc["basis"]["data_fingerprint"])
    if json_output:
        emit_json({**doc, "xlsx": written})
        return
    table = Table(title=f"{escape(doc['plan'])} · 截至 {doc['year']} 年", title_justify="left",
                  caption=escape(doc["lights_note"]), caption_justify="left")
    for column, justify in (("年份", "right"), ("目标 target", "left"), ("目标值", "right"), ("截至", "right"),
                            ("当前 actual", "right"), ("差距 gap", "right"), ("完成", "right"), ("序时", "right"),
                            ("亮灯 light", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for i in doc["items"]:
        table.add_row(str(i["target_year"]), escape(i["label"]), _num(i["target"], 0), str(i["as_of"]),
                      _num(i["actual"], 0), _num(i["gap"], 0), "—" if i["achieved"] is None else f"{i['achieved']:.0%}",
                      f"{i['schedule']:.0%}", _light(i))
    out.print(table)
    for i in doc["items"]:
        if i.get("note"):
            out.print(f"[dim]{escape(i['id'])}: {escape(i['note'])}[/dim]")
    out.print(f"[dim]来源 source: {escape(doc['source'])} ({escape(doc['source_file'])})[/dim]")
    _footer(doc["basis"], written)


# ---- shanhai coop enclaves -------------------------------------------------------------------

def enclaves(
    db: DbOption = None,
    year: YearOption = None,
    json_output: JsonOption = False,
    xlsx: XlsxOption = None,
    force: ForceOption = False,
) -> None:
    """飞地 The enclaves (产业/科创/消薄) with host and owner, returns by year, and the progress
    toward the plan's 30 enclaves."""
    _check_xlsx(xlsx, force)
    from shanhai.jobs import coop_profile as job

    with _open(db) as store:
        doc = job.enclaves(store, Scope.province(), year)
    data = None
    if xlsx is not None:
        from shanhai.reports.coop_profile_excel import enclaves_workbook

        data = enclaves_workbook(doc)
    written = _write(xlsx, data, db, "coop:enclaves", kind="coop_enclaves", year=doc["year"],
                     rows=len(doc["enclaves"]), hidden=doc["hidden"])
    if json_output:
        emit_json({**doc, "xlsx": written})
        return
    table = Table(title=f"飞地 Enclaves · 截至 {doc['year']} 年", title_justify="left")
    for column, justify in (("飞地", "left"), ("类型", "left"), ("飞入地 host", "left"), ("飞出地 owner", "left"),
                            ("设立", "left"), ("收益(万元) by year", "left"), ("计入", "center"), ("来源", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for e in doc["enclaves"]:
        source = f"{e['confidence']} {e['source_tag']}" if e["packaged"] else f"导入 {e['dataset_id']}"
        table.add_row(escape(e["name"]), e["kind_label"], escape(e["host_name"] or ""), escape(e["owner_name"] or ""),
                      e.get("established") or "—",
                      ", ".join(f"{r['year']}: {_num(r['amount'])}" for r in e["returns"]) or "—", _yes(e["counts"]),
                      escape(source))
    out.print(table)
    p = doc["progress"]
    achieved = "—" if p["achieved"] is None else f"{p['achieved']:.0%}"
    out.print(f"目标 target: {escape(p['label'] or '')} — 已计入 counted {p['counted']} / {_num(p['target'], 0)} "
              f"({achieved}, {p['target_year']})")
    if p.get("note"):
        out.print(f"[dim]{escape(p['note'])}[/dim]")
    out.print(f"[dim]{escape(doc['note'])}[/dim]")
    if written:
        out.print(f"已写出 written: {escape(written)}")
