"""``shanhai carbon ledger …``: the 腾笼换鸟 ledger — the remediation register (``actions``,
``seed`` from a per-mu run's C/D lists, ``add`` by hand, ``status`` to move an action on and credit
what it frees), allocations of freed quota to projects (``allocate``, checked against the dated
new-project threshold and the balance), ``balance`` per county and region, ``progress`` against the
2023 targets, ``export`` the workbook. Thin: parse, call :mod:`shanhai.jobs.transition` and
:mod:`shanhai.reports.transition_excel`, print.

The command line is the province's own tool (scope: the whole province); ``--region`` narrows.
Writes are audited as the CLI user. ``app`` is mounted by ``cli/app.py`` as ``shanhai carbon ledger``.
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

app = typer.Typer(help="腾笼换鸟台账 The cage-swap ledger: remediation register, freed quota, allocations, balances.",
                  no_args_is_help=True)

RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 Province (330000), city or county adcode (default: the province).", show_default=False)]
RulesOption = Annotated[str, typer.Option("--rules", help="台账规则 Ledger rule set (policy/transition/ledger_*.toml) "
                                                         "or a TOML path.")]
XlsxOption = Annotated[Path | None, typer.Option("--xlsx", help="导出 Excel Also write the ledger as a workbook.",
                                                 show_default=False)]
LandOption = Annotated[float | None, typer.Option("--land-mu", help="经审核的腾出土地 Audited freed land (亩), "
                                                                    "instead of the rule.", show_default=False)]
EnergyOption = Annotated[float | None, typer.Option("--energy-tce", help="经审核的腾出用能 Audited freed energy (tce, the "
                                                                         "ledger basis), instead of the rule.",
                                                    show_default=False)]
Co2Option = Annotated[float | None, typer.Option("--co2-t", help="经审核的减碳量 Audited freed CO2 (t), instead of the rule.",
                                                 show_default=False)]
NoteOption = Annotated[str | None, typer.Option("--note", help="备注 Note.", show_default=False)]


def _open(db: Path | None, write: bool = False):
    return open_store(db or default_db_path(), read_only=not write)


def _n(x, digits: int = 1) -> str:
    return "—" if x is None else fmt(float(x), digits)


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _action_table(rows: list[dict]) -> Table:
    t = Table("编号 action", "企业 firm", "县 county", "类型 kind", "状态 status", "计划 planned", "完成 done",
              "土地 亩", "用能 tce", "CO2 t", "来源 source")
    for r in rows:
        t.add_row(r["action_id"], escape(r["firm"] or r["uscc"] or ""), escape(r["county"] or ""), r["kind_label"],
                  r["status_label"], str(r["planned_on"] or ""), str(r["done_on"] or ""), _n(r["freed_land_mu"]),
                  _n(r["freed_energy_tce"]), _n(r["freed_co2_t"]),
                  f"{r['source'] or ''}{' ' + r['mujun_class'] if r['mujun_class'] else ''}")
    return t


def _balance_table(doc: dict) -> Table:
    t = Table("县 county", "完成 done", "腾出用能 freed tce", "已分配 allocated", "可用 available", "腾出碳 freed t",
              "可用碳 available t", "腾出土地 freed 亩", "可用土地 available 亩")
    for r in [*doc["counties"], {**doc["total"], "county": f"合计 {doc['total']['county']}"}]:
        t.add_row(escape(r["county"] or ""), fmt(r["actions_done"]), _n(r["energy"]["freed"]),
                  _n(r["energy"]["allocated"]), _n(r["energy"]["available"]), _n(r["carbon"]["freed"]),
                  _n(r["carbon"]["available"]), _n(r["land"]["freed"]), _n(r["land"]["available"]))
    return t


def _write_xlsx(store, path: Path, region: str | None, rules: str) -> dict:
    """Write the ledger workbook; returns what it was made from, for :func:`_audit_xlsx`."""
    from shanhai.jobs import transition as jt
    from shanhai.reports.transition_excel import workbook_bytes

    doc = jt.export_doc(store, Scope.province(), region, rules=rules)
    data = workbook_bytes(doc)
    path.write_bytes(data)
    return doc


def _audit_xlsx(db: Path | None, path: Path, doc: dict, json_output: bool = False) -> None:
    """Record the workbook in the audit log, once the read-only store is closed (as the web's 腾笼换鸟台账),
    and say where it went."""
    reg = doc["region"]
    audit_export(db, f"transition:{reg['adcode']}", path, kind="transition", region=reg["adcode"],
                 rows=len(doc["register"]["actions"]), actions=len(doc["register"]["actions"]),
                 allocations=len(doc["allocations"]), rule_set=doc["basis"]["rule_set"])
    say_written(path, json_output)


@app.command("actions")
def actions(
    region: RegionOption = None,
    kind: Annotated[str | None, typer.Option("--kind", help="类型 close | eliminate | remediate | relocate.",
                                             show_default=False)] = None,
    status: Annotated[str | None, typer.Option("--status", help="状态 planned | in_progress | done | cancelled.",
                                               show_default=False)] = None,
    year: Annotated[int | None, typer.Option("--year", help="计入年度 Credit year (or planned year while not done).",
                                             show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="列出条数 Actions listed.")] = 50,
    rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """整治清单 The remediation register with its filters, and what each action kind frees."""
    from shanhai.jobs import transition as jt

    with _open(db) as store:
        doc = jt.register(store, Scope.province(), region, kind=kind, status=status, year=year, limit=limit)
        doc["kinds"] = jt.action_kinds(rules)
    if json_output:
        emit_json(jt.plain(doc))
        return
    k = Table("类型 kind", "腾出土地 land share", "腾出用能 energy share", "减碳 CO2 share", "来自亩均 seeded from")
    for x in doc["kinds"]:
        k.add_row(f"{x['zh']} {x['kind']}", _pct(x["land_share"]), _pct(x["energy_share"]), _pct(x["co2_share"]),
                  ", ".join(x["seeded_from_class"]) or "—")
    out.print(k)
    out.print(f"{doc['region']['name'] or doc['region']['adcode']}：{doc['total']} 项 actions（显示 shown {doc['shown']}）")
    out.print(_action_table(doc["actions"]))


@app.command("seed")
def seed(
    run: Annotated[str | None, typer.Option("--run", help="亩均评价批次 Per-mu run id (default: the latest).",
                                            show_default=False)] = None,
    classes: Annotated[str, typer.Option("--classes", help="类别 Per-mu classes to seed, comma-separated.")] = "C,D",
    planned_on: Annotated[str | None, typer.Option("--planned-on", help="计划日期 Planned date YYYY-MM-DD (default: "
                                                   "1 January after the run's year).", show_default=False)] = None,
    region: RegionOption = None, rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """从亩均C/D类生成整治清单 Seed planned actions from a per-mu run's C/D lists (C → remediate, D → eliminate by default)."""
    from shanhai.jobs import transition as jt
    from shanhai.store import audit

    with _open(db, write=True) as store:
        scope = Scope.province().narrow(store, region)
        doc = jt.seed_from_mujun(store, scope, run, classes=tuple(c.strip().upper() for c in classes.split(",") if c.strip()),
                                 planned_on=planned_on, rules=rules, user=audit.cli_user())
    if json_output:
        emit_json(doc)
        return
    out.print(f"亩均批次 run {doc['mujun_run_id']}（{doc['mujun_year']}）：新增 added {doc['added']}，"
              f"已有跳过 skipped {doc['skipped']}；{doc['by_class']}；seed {doc['seed_run_id']}")


@app.command("add")
def add(
    uscc: Annotated[str, typer.Argument(help="企业统一社会信用代码 The firm's USCC.")],
    kind: Annotated[str, typer.Option("--kind", help="类型 close | eliminate | remediate | relocate.")],
    planned_on: Annotated[str | None, typer.Option("--planned-on", help="计划日期 Planned date YYYY-MM-DD.",
                                                   show_default=False)] = None,
    done_on: Annotated[str | None, typer.Option("--done-on", help="完成日期 Completion date: the action is done and "
                                                "credited now.", show_default=False)] = None,
    land_mu: LandOption = None, energy_tce: EnergyOption = None, co2_t: Co2Option = None, note: NoteOption = None,
    rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """登记整治行动 Add an action by hand (audited); with --done-on it is credited at once."""
    from shanhai.jobs import transition as jt
    from shanhai.store import audit

    with _open(db, write=True) as store:
        row = jt.add_action(store, Scope.province(), uscc, kind, planned_on=planned_on,
                            status="done" if done_on else "planned", done_on=done_on, land_mu=land_mu,
                            energy_tce=energy_tce, co2_t=co2_t, note=note, rules=rules, user=audit.cli_user())
    if json_output:
        emit_json(jt.plain(row))
        return
    out.print(_action_table([row]))


@app.command("status")
def status(
    action_id: Annotated[str, typer.Argument(help="整治行动编号 Action id (TL…).")],
    to: Annotated[str, typer.Option("--to", help="新状态 in_progress | done | cancelled.")],
    on: Annotated[str | None, typer.Option("--on", help="日期 Date YYYY-MM-DD (default: today); done credits its "
                                           "year.", show_default=False)] = None,
    land_mu: LandOption = None, energy_tce: EnergyOption = None, co2_t: Co2Option = None, note: NoteOption = None,
    rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """更新状态 Move an action on; done computes what it frees and credits its county and year."""
    from shanhai.jobs import transition as jt
    from shanhai.store import audit

    with _open(db, write=True) as store:
        row = jt.set_status(store, Scope.province(), action_id, to, on=on, land_mu=land_mu, energy_tce=energy_tce,
                            co2_t=co2_t, note=note, rules=rules, user=audit.cli_user())
    if json_output:
        emit_json(jt.plain(row))
        return
    out.print(_action_table([row]))


@app.command("allocate")
def allocate(
    project_id: Annotated[str, typer.Argument(help="项目编号 Project id of the project register.")],
    energy_tce: Annotated[float, typer.Option("--energy-tce", help="项目用能 The project's planned energy use (tce, "
                                              "ledger basis): the energy quota allocated.")],
    value_added: Annotated[float, typer.Option("--value-added", help="项目增加值 The project's planned value added (万元).")],
    on: Annotated[str, typer.Option("--on", help="分配日期 Allocation date YYYY-MM-DD: picks the threshold.")],
    co2_t: Annotated[float | None, typer.Option("--co2-t", help="碳排放指标 Carbon quota allocated (t CO2).",
                                                show_default=False)] = None,
    land_mu: Annotated[float | None, typer.Option("--land-mu", help="土地指标 Land allocated (亩).",
                                                  show_default=False)] = None,
    inclusive: Annotated[bool | None, typer.Option("--inclusive/--exclusive", help="等于门槛时是否准入 Whether a "
                                                   "project exactly at the threshold passes (default: the rule set).",
                                                   show_default=False)] = None,
    note: NoteOption = None, rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """分配腾出指标 Allocate freed quota to a project: refused when its intensity is over the threshold of the date or an amount is over the county's balance."""
    from shanhai.jobs import transition as jt
    from shanhai.store import audit

    with _open(db, write=True) as store:
        doc = jt.allocate(store, Scope.province(), project_id, energy_tce=energy_tce, value_added=value_added, on=on,
                          co2_t=co2_t, land_mu=land_mu, rules=rules, inclusive=inclusive, note=note,
                          user=audit.cli_user())
    if json_output:
        emit_json(jt.plain(doc))
        return
    out.print(f"[green]准入 admitted[/] {escape(doc['project'])} ({doc['project_id']}): {escape(doc['check']['text'])}")
    out.print("分配 allocated: " + "; ".join(f"{k} {v}" for k, v in doc["amounts"].items())
              + " | 可用 available: " + "; ".join(f"{k} {v}" for k, v in doc["available_after"].items()))


@app.command("balance")
def balance(
    region: RegionOption = None,
    year: Annotated[int | None, typer.Option("--year", help="截至年末 As at the end of this year (default: all).",
                                             show_default=False)] = None,
    db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None,
) -> None:
    """指标余额 Freed, allocated and available land, energy and carbon per county and for the region."""
    from shanhai.jobs import transition as jt

    with _open(db) as store:
        doc = jt.balances(store, Scope.province(), region, year=year)
        if xlsx:
            written = _write_xlsx(store, xlsx, region, "default")
    if xlsx:
        _audit_xlsx(db, xlsx, written, json_output)
    if json_output:
        emit_json(jt.plain(doc))
        return
    out.print(f"口径 basis: {doc['basis_label'] or '—'} {doc['basis'] or '(empty ledger)'}；"
              f"平衡 balanced: {'是 yes' if doc['balanced'] else '否 NO'}")
    out.print(_balance_table(doc))


@app.command("progress")
def progress(
    region: RegionOption = None, rules: RulesOption = "default", db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """目标进度 Completed actions against the 2023 targets of the province (seed 001) and Shaoxing (seed 002)."""
    from shanhai.jobs import transition as jt

    with _open(db) as store:
        doc = jt.progress(store, Scope.province(), region, rules=rules)
    if json_output:
        emit_json(jt.plain(doc))
        return
    for t in doc["targets"]:
        head = f"{t['target_region_name']} {t['period_from']}–{t['period_to']}"
        if t["contribution"]:
            head += f"（{t['counted_region_name']} 的贡献 contribution）"
        table = Table("指标 item", "目标 target", "完成 achieved", "进度 share", title=head)
        for i in t["items"]:
            zh, en, unit = jt.PROGRESS_LABELS[i["field"]]
            table.add_row(f"{zh} {en} ({unit})", _n(i["target"], 0), _n(i["achieved"]), _pct(i["share"]))
        out.print(table)
        out.print(f"来源 source: {escape(t['source'])}{'' if t['published'] else ' [未经证实 not confirmed]'}")


@app.command("export")
def export(
    xlsx: Annotated[Path, typer.Option("--xlsx", help="输出文件 The workbook to write.")],
    region: RegionOption = None, rules: RulesOption = "default", db: DbOption = None,
) -> None:
    """导出台账 Write the ledger workbook: register, balances, allocations, progress, notes."""
    with _open(db) as store:
        written = _write_xlsx(store, xlsx, region, rules)
    _audit_xlsx(db, xlsx, written)
