"""``shanhai chains …``: the chain model, panoramas (全景图), attraction targets (招商图) and chain
risk. Thin: parse, call ``shanhai.jobs.chains`` / ``shanhai.reports.chains_excel``, print.

The command line is the province's own tool: it sees every firm (scope: the whole province);
``--region`` chooses the region a panorama is drawn for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli import chain_model
from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, fmt, out, say_written
from shanhai.store import default_db_path, open_store
from shanhai.store.scope import Scope

HELP = ("产业链 Industrial chains: the chain model, panoramas, attraction targets and chain risk.\n\n"
        "`chains list` shows the chains and their segments; `chains import FILE` adds or edits chains from a "
        "TOML file or workbook, `chains export FILE` writes the model, `chains members --recompute` maps firms to "
        "segments by industry code and keywords (manual rows kept); `chains panorama CHAIN --region ADCODE` a "
        "region's strong and missing links; `chains targets --region ADCODE` whom to attract for them; "
        "`chains risk --region ADCODE` concentration, leaders in trouble and a health score. Classes come "
        "from the newest per-mu run of the year (--run to choose); statuses from a chain rule set (--rules).")

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich")
app.command("import")(chain_model.chains_import)
app.command("export")(chain_model.chains_export)
app.command("members")(chain_model.chains_members)

RegionArg = Annotated[str, typer.Option(
    "--region", help="地区 Province (330000), city or county adcode, or a zone id.")]
YearOption = Annotated[int | None, typer.Option("--year", help="年度 Data year (default: the latest).",
                                                show_default=False)]
RunOption = Annotated[str | None, typer.Option(
    "--run", help="亩均评价批次 Per-mu run whose classes are used (default: the newest run of the year).",
    show_default=False)]
RulesOption = Annotated[str, typer.Option("--rules", help="判定规则 Chain rule set (policy/chain_rules).")]
XlsxOption = Annotated[Path | None, typer.Option("--xlsx", help="导出 Excel Also write the result as a workbook.",
                                                 show_default=False)]

STATUS_STYLE = {"strong": "bold green", "present": "cyan", "weak": "yellow", "missing": "bold red", "outside": "dim"}


def _open(db: Path | None):
    return open_store(db or default_db_path(), read_only=True)


def _basis_line(b: dict) -> str:
    run = b["run_id"] or "无亩均评价 no per-mu run"
    return (f"[dim]{b['year']} 年 · 亩均批次 {run} · 规则 {b['rules']} {b['rules_version']} · "
            f"数据指纹 data {b['data_fingerprint']}[/dim]")


def _status(s: str) -> str:
    from shanhai.jobs.chains import STATUS_LABELS

    return f"[{STATUS_STYLE[s]}]{STATUS_LABELS[s][0]} {s}[/]"


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _write(path: Path, data: bytes, json_output: bool) -> None:
    path.write_bytes(data)
    say_written(path, json_output)


@app.command("list")
def list_(db: DbOption = None, json_output: JsonOption = False) -> None:
    """产业链列表 The chains with their segments and industry codes."""
    from shanhai.jobs import chains

    with _open(db) as store:
        rows = chains.chain_list(store)
    if json_output:
        emit_json({"chains": [{"chain_id": c.chain_id, "name": c.name, "name_en": c.name_en,
                               "segments": [s.__dict__ for s in c.segments]} for c in rows]})
        return
    table = Table("产业链 chain", "名称 name", "上游 upstream", "中游 midstream", "下游 downstream")
    for c in rows:
        stage = {st: "、".join(s.name for s in c.segments if s.stage == st) for st in ("upstream", "midstream",
                                                                                    "downstream")}
        table.add_row(c.chain_id, c.name, stage["upstream"], stage["midstream"], stage["downstream"])
    out.print(table)


@app.command("show")
def show(chain: Annotated[str, typer.Argument(help="产业链 Chain id or Chinese name.")],
         db: DbOption = None, json_output: JsonOption = False) -> None:
    """产业链详情 One chain: its segments, their industry codes and the firms in each province-wide."""
    from shanhai.jobs import chains

    with _open(db) as store:
        c = chains.chain(store, chain)
        counts = dict(store.con.execute(
            "SELECT segment_id, count(*) FROM enterprise_segments WHERE role <> 'excluded' GROUP BY 1").fetchall())
    if json_output:
        emit_json({"chain_id": c.chain_id, "name": c.name, "name_en": c.name_en, "note": c.note,
                   "segments": [s.__dict__ | {"firms": counts.get(s.segment_id, 0)} for s in c.segments]})
        return
    out.print(f"[bold]{escape(c.name)}[/bold] {escape(c.name_en or '')} ({c.chain_id})")
    if c.note:
        out.print(f"[dim]{escape(c.note)}[/dim]")
    table = Table("环节 segment", "阶段 stage", "名称 name", "行业代码 codes", "企业 firms")
    for s in c.segments:
        table.add_row(s.segment_id, s.stage, s.name, " ".join(s.codes), fmt(counts.get(s.segment_id, 0)))
    out.print(table)


@app.command("panorama")
def panorama(
    chain: Annotated[str, typer.Argument(help="产业链 Chain id or Chinese name.")],
    region: RegionArg,
    year: YearOption = None, run: RunOption = None, rules: RulesOption = "default",
    db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None,
) -> None:
    """产业链全景图 A region's chain: firms, money, per-mu figures, share, LQ, leaders and status per segment."""
    from shanhai.jobs import chains

    with _open(db) as store:
        doc = chains.panorama(store, Scope.province(), region, chain, year=year, run_id=run, rules=rules)
    if xlsx:
        from shanhai.reports.chains_excel import panorama_workbook

        _write(xlsx, panorama_workbook(doc), json_output)
        area = doc["region"]["code"]
        audit_export(db, f"chains:panorama:{doc['chain']['chain_id']}:{area}", xlsx, kind="chain_panorama",
                     region=area, chain=doc["chain"]["chain_id"], year=doc["basis"]["year"],
                     run=doc["basis"]["run_id"], rows=len(doc["segments"]), basis=doc["basis"])
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['region']['name'])} · {escape(doc['chain']['name'])}[/bold] 全景图 panorama")
    out.print(_basis_line(doc["basis"]))
    out.print(panorama_table(doc))


def panorama_table(doc: dict) -> Table:
    """A panorama's segments as a Rich table (also printed by `shanhai demo`)."""
    table = Table("环节 segment", "企业 firms", "规上 above", "增加值 VA (万元)", "税收 tax (万元)",
                  "亩均税收 tax/mu", "全省占比 share", "区位熵 LQ", "链主 leaders", "状态 status")
    for s in doc["segments"]:
        table.add_row(f"{s['stage_label']} {escape(s['name'])}", fmt(s["firms"]), fmt(s["above"]),
                      fmt(s["value_added"]), fmt(s["tax_paid"]), fmt(s["tax_per_mu"], 2), _pct(s["share"]),
                      fmt(s["lq"], 2), escape("、".join(s["leader_names"]) or "—"), _status(s["status"]))
    return table


@app.command("targets")
def targets(
    region: RegionArg,
    chain: Annotated[str | None, typer.Option("--chain", help="产业链 One chain (default: every chain).",
                                              show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="目标数 Targets listed.")] = 30,
    year: YearOption = None, run: RunOption = None, rules: RulesOption = "default",
    db: DbOption = None, json_output: JsonOption = False, xlsx: XlsxOption = None,
) -> None:
    """招商目标 Firms elsewhere in the province to attract for the region's weak and missing segments."""
    from shanhai.jobs import chains

    with _open(db) as store:
        doc = chains.targets(store, Scope.province(), region, chain_id=chain, year=year, run_id=run, rules=rules,
                             limit=limit)
    if xlsx:
        from shanhai.reports.chains_excel import targets_workbook

        _write(xlsx, targets_workbook(doc), json_output)
        area = doc["region"]["code"]
        audit_export(db, f"chains:targets:{area}", xlsx, kind="chain_targets", region=area, chain=chain,
                     year=doc["basis"]["year"], run=doc["basis"]["run_id"], rows=len(doc["targets"]),
                     masked=sum(1 for t in doc["targets"] if t.get("masked")), basis=doc["basis"])
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] 招商目标 attraction targets: "
              f"{len(doc['segments'])} 个薄弱/缺失环节 weak or missing segments, {doc['total']} 家候选 candidates")
    out.print(_basis_line(doc["basis"]))
    table = Table("#", "得分 score", "环节 segment", "企业 firm", "所在地 county", "规模 size", "类 class",
                  "理由 why")
    for r in doc["targets"]:
        table.add_row(str(r["rank"]), fmt(r["score"], 1), f"{escape(r['chain_name'])}·{escape(r['segment_name'])}",
                      escape(r["name"]), escape(r["county_name"] or ""), r["size_band"], r["mujun_class"] or "—",
                      escape("; ".join(r["reasons"])))
    out.print(table)


@app.command("risk")
def risk(
    region: RegionArg,
    chain: Annotated[str | None, typer.Option("--chain", help="产业链 One chain (default: every chain).",
                                              show_default=False)] = None,
    year: YearOption = None, run: RunOption = None, rules: RulesOption = "default",
    db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """链风险 Concentrated segments, leaders in class C/D or whose electricity collapsed, health per chain."""
    from shanhai.jobs import chains

    with _open(db) as store:
        doc = chains.risk(store, Scope.province(), region, chain_id=chain, year=year, run_id=run, rules=rules)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['region']['name'])}[/bold] 产业链风险 chain risk (健康度 = 100 − 扣分 health = 100 − penalties)")
    out.print(_basis_line(doc["basis"]))
    table = Table("产业链 chain", "健康度 health", "缺失 missing", "薄弱 weak", "集中 concentrated",
                  "链主C/D leaders C/D", "链主用电骤降 leader power drop", "发现 findings")
    for c in doc["chains"]:
        p, n = c["penalties"], c["counts"]
        findings = "; ".join(_finding(f) for f in c["findings"][:4]) + (" …" if len(c["findings"]) > 4 else "")
        table.add_row(escape(c["chain_name"]), fmt(c["health"], 0),
                      *(f"{n[k]} (−{p[k]:g})" for k in ("missing", "weak", "concentrated", "leader_low_class",
                                                         "leader_collapse")), escape(findings or "—"))
    out.print(table)


def _finding(f: dict) -> str:
    seg = f.get("segment_name") or f["segment_id"]
    if f["kind"] == "single_firm":
        return f"{seg}: 仅1家企业"
    if f["kind"] == "concentrated":
        return f"{seg}: HHI {f['hhi']:.2f}, 首位 {_pct(f['top1_share'])}"
    if f["kind"] == "leader_low_class":
        return f"链主 {f.get('name')} {f['class']} 类"
    return f"链主 {f.get('name')} 四季度用电为上年 {_pct(f['ratio'])}"
