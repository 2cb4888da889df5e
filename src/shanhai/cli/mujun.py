"""``shanhai mujun …``: what a stored per-mu run means — surcharges, the remediation list,
inefficient land, two runs compared, roll-ups — and its exports (the published lists, a
county's workbook). Thin: parse, call ``shanhai.jobs.mujun_review`` / ``shanhai.reports``, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, fmt, out
from shanhai.errors import ShanhaiError
from shanhai.store import default_db_path, open_store

HELP = ("亩均评价结果 Per-mu evaluation results: consequences, what-if and exports.\n\n"
        "Reads a stored run (`shanhai evaluate mujun` makes one; --run defaults to the latest). "
        "Every command takes --region ADCODE (a county or a city) and then shows that region's firms only.")

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich")

RunOption = Annotated[str | None, typer.Option(
    "--run", help="评价批次 Run id (default: the latest per-mu run).", show_default=False)]
RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 Adcode of a county or a city: only its firms are shown (default: the whole run).",
    show_default=False)]
LimitOption = Annotated[int, typer.Option(
    "--limit", min=0, help="表格最多显示行数 Rows shown in the table (0 = all; --json always prints every row).")]


def _open(db: Path | None):
    return open_store(db or default_db_path(), read_only=True)


def _run(store, run: str | None) -> str:
    from shanhai.jobs import mujun

    return mujun.resolve(store, run)


def _where(region: dict | None) -> str:
    return f" · {region['name']} ({region['adcode']})" if region else ""


def _header(run: dict, region: dict | None) -> str:
    return (f"[dim]{run['run_id']} · {run['policy']} {run['policy_version']} · {run['year']} 年"
            f"{_where(region)}[/dim]")


def _yuan(value) -> str:
    return fmt(float(value), 2) if value is not None else "—"


def _print_limited(table: Table, shown: int, total: int) -> None:
    out.print(table)
    if shown < total:
        out.print(f"[dim]… 共 {total} 行, 显示前 {shown} 行 {total} rows, first {shown} shown "
                  "(--limit 0 for all, --json for every row)[/dim]")


# ---- runs ------------------------------------------------------------------------------------

@app.command("runs")
def runs(
    db: DbOption = None,
    region: RegionOption = None,
    json_output: JsonOption = False,
) -> None:
    """评价批次 List the stored per-mu runs, latest first (with --region: the runs that overlap it)."""
    from shanhai.jobs import mujun_review

    with _open(db) as store:
        rows = mujun_review.runs(store, region)
    if json_output:
        emit_json({"runs": rows})
        return
    if not rows:
        out.print("尚无评价批次 No per-mu run yet: run `shanhai evaluate mujun --year Y --policy NAME` first.")
        return
    table = Table(title="亩均评价批次 Per-mu runs", title_justify="left")
    for column in ("run_id", "政策 policy", "版本", "年度", "地区", "基准", "执行人", "时间 created"):
        table.add_column(column)
    for x in rows:
        table.add_row(x["run_id"], x["policy"], x["version"], str(x["year"]), x["region"], x["benchmarks"] or "",
                      x["created_by"] or "", str(x["created_at"])[:19])
    out.print(table)


# ---- official runs ---------------------------------------------------------------------------

@app.command("official")
def official(
    db: DbOption = None,
    run: Annotated[str | None, typer.Option(
        "--run", help="设为正式结果 Publish this run as its year's and region's official result.",
        show_default=False)] = None,
    withdraw: Annotated[bool, typer.Option(
        "--withdraw", help="撤销 Withdraw the official result of --year and --region.")] = False,
    year: Annotated[int | None, typer.Option("--year", help="年度 Year (with --withdraw, or to filter the list).",
                                             show_default=False)] = None,
    region: Annotated[str, typer.Option("--region", help="地区 Region of the result withdrawn (county, city or 330000).")]
        = "330000",
    note: Annotated[str | None, typer.Option("--note", help="说明 Why (kept with the designation and its audit record).",
                                             show_default=False)] = None,
    json_output: JsonOption = False,
) -> None:
    """正式结果 Which run is a region's published (公示) result for a year.

    Chain panoramas, the enterprise-service lists and the overview read the published run (a county's own, else its
    city's, else the province's) instead of the newest one. Without options: the current designations.
    --run R publishes R for its own year and region; --withdraw --year Y [--region X] withdraws one. Audited.
    """
    from shanhai.jobs import mujun_official

    if run and withdraw:
        raise ShanhaiError("--run and --withdraw: give one of them")
    if withdraw and year is None:
        raise ShanhaiError("--withdraw needs --year (and --region when it is not the province's result)")
    if run or withdraw:
        with open_store(db or default_db_path()) as store:
            if run:
                result = mujun_official.designate(store, _run(store, run), note=note)
            else:
                result = mujun_official.withdraw(store, year, region, note=note)
        if json_output:
            emit_json(result)
        elif result["run_id"] is None:
            out.print(f"已撤销 withdrawn: {result['year']} 年度 {result['region']} 的正式结果 {result['previous']}")
        elif result["changed"]:
            out.print(f"正式结果 official: {result['year']} 年度 {result['region']} → {result['run_id']}"
                      + (f"（原 previously {result['previous']}）" if result["previous"] else ""))
        else:
            out.print(f"未变 unchanged: {result['run_id']} 已是 {result['year']} 年度 {result['region']} 的正式结果")
        return
    with _open(db) as store:
        rows = mujun_official.designations(store, year)
    if json_output:
        emit_json({"official": rows})
        return
    if not rows:
        out.print("尚无正式结果 No official result yet: `shanhai mujun official --run R` publishes one "
                  "(until then, readers use the newest run).")
        return
    table = Table(title="亩均评价正式结果 Official per-mu results", title_justify="left")
    for column in ("年度", "地区", "run_id", "政策 policy", "设定人", "时间", "说明"):
        table.add_column(column)
    for x in rows:
        table.add_row(str(x["year"]), f"{x['region_name'] or ''} {x['region']}", x["run_id"],
                      f"{x['policy_name'] or ''} {x['policy_version'] or ''}", x["set_by"] or "",
                      str(x["set_at"])[:19], escape(x["note"] or ""))
    out.print(table)


# ---- surcharges ------------------------------------------------------------------------------

@app.command("surcharges")
def surcharges(
    db: DbOption = None,
    run: RunOption = None,
    region: RegionOption = None,
    json_output: JsonOption = False,
) -> None:
    """差别化电价 Electricity surcharges by county, population and class: firms charged, kWh, 元."""
    from shanhai.jobs import mujun_review

    with _open(db) as store:
        result = mujun_review.surcharges(store, _run(store, run), region)
    if json_output:
        emit_json(result.as_dict())
        return
    out.print(_header(result.run, result.region))
    table = Table(title="差别化电价加价 (估算) Estimated electricity surcharges", title_justify="left",
                  caption="元 yuan over each class's collection window · 免征 = under the small-user threshold",
                  caption_justify="left")
    for column, justify in (("县(市、区)", "left"), ("评价对象", "left"), ("类别", "left"), ("元/千瓦时", "right"),
                            ("有加价", "right"), ("收取", "right"), ("免征", "right"), ("用电 万千瓦时", "right"),
                            ("加价 元", "right")):
        table.add_column(column, justify=justify)
    by_county = {c["county_adcode"]: c for c in result.counties}
    last = None
    for x in result.rows:
        if last is not None and x["county_adcode"] != last:
            _county_total(table, by_county[last])
        last = x["county_adcode"]
        rate = fmt(x["rate_min"], 2) if x["rate_min"] == x["rate_max"] else f"{x['rate_min']:.2f}–{x['rate_max']:.2f}"
        table.add_row(f"{x['county_name']} {x['county_adcode']}", x["population_label"],
                      f"{x['class']} {x['class_label']}", rate, fmt(x["firms_rated"]), fmt(x["firms_charged"]),
                      fmt(x["firms_exempt"]), fmt(x["kwh_charged"] / 10_000, 1), _yuan(x["surcharge_yuan"]))
    if last is not None:
        _county_total(table, by_county[last])
    t = result.total
    table.add_row("[bold]合计 total[/bold]", "", "", "", fmt(t["firms_rated"]), fmt(t["firms_charged"]),
                  fmt(t["firms_exempt"]), fmt(t["kwh_charged"] / 10_000, 1),
                  f"[bold]{_yuan(t['surcharge_yuan'])}[/bold]")
    out.print(table)


def _county_total(table: Table, c: dict) -> None:
    table.add_row(f"[dim]{c['county_name']} 小计[/dim]", "", "", "", fmt(c["firms_rated"]), fmt(c["firms_charged"]),
                  fmt(c["firms_exempt"]), fmt(c["kwh_charged"] / 10_000, 1), _yuan(c["surcharge_yuan"]),
                  end_section=True)


# ---- remediation -----------------------------------------------------------------------------

@app.command("remediation")
def remediation(
    db: DbOption = None,
    run: RunOption = None,
    region: RegionOption = None,
    classes: Annotated[str, typer.Option(
        "--classes", help="类别 Classes to list, comma-separated.")] = "C,D",
    limit: LimitOption = 50,
    json_output: JsonOption = False,
) -> None:
    """整改名单 The C/D firms with their gap to class B, in points and in tax.

    The score to reach: the worst-ranked B firm's in the same ranking unit (or the B threshold).

    Extra tax per mu = gap ÷ (tax-per-mu weight ÷ its benchmark); × land used = extra tax 万元.
    """
    from shanhai.jobs import mujun_review

    with _open(db) as store:
        result = mujun_review.remediation(store, _run(store, run), region, classes=classes)
    if json_output:
        emit_json(result.as_dict())
        return
    out.print(_header(result.run, result.region))
    rows = result.rows if limit == 0 else result.rows[:limit]
    table = Table(title=f"整改名单 Remediation list ({'/'.join(result.classes)} → {result.target_class})",
                  title_justify="left", caption="；".join(result.notes), caption_justify="left")
    for column, justify in (("县", "left"), ("企业名称", "left"), ("对象", "left"), ("类别", "left"),
                            ("总分", "right"), ("名次", "right"), ("目标分", "right"), ("差距", "right"),
                            ("亩均税收", "right"), ("需增 万元/亩", "right"), ("用地 亩", "right"),
                            ("需增税收 万元", "right"), ("说明", "left")):
        table.add_column(column, justify=justify)
    for x in rows:
        table.add_row(x["county_name"] or x["county_adcode"], escape(x["name"] or x["uscc"]), x["population_label"],
                      x["class"], fmt(x["total_score"], 2), f"{x['rank']}/{x['unit_size']}",
                      fmt(x["target_score"], 2), fmt(x["gap"], 2), fmt(x["tax_per_mu"], 2),
                      fmt(x["extra_tax_per_mu"], 2), fmt(x["land_used_mu"], 1), fmt(x["extra_tax_wan"], 1),
                      escape(x["note"]))
    _print_limited(table, len(rows), len(result.rows))


# ---- inefficient land ------------------------------------------------------------------------

@app.command("land")
def land(
    db: DbOption = None,
    run: RunOption = None,
    region: RegionOption = None,
    limit: LimitOption = 30,
    json_output: JsonOption = False,
) -> None:
    """低效用地 Inefficient-land candidates: C/D firms and parcels in an inefficient status.

    The C/D firms by land held and low score, with the inefficient parcels each holds.

    The parcels 批而未供, 供而未用, 用而未尽, 建而未投, 投而未达标 in the run's counties, with their holder's class.
    """
    from shanhai.jobs import mujun_review

    with _open(db) as store:
        result = mujun_review.inefficient_land(store, _run(store, run), region)
    if json_output:
        emit_json(result.as_dict())
        return
    out.print(_header(result.run, result.region))
    labels = mujun_review.INEFFICIENT_STATUSES
    summary = Table(title="低效用地 按县 Inefficient land by county (亩 mu)", title_justify="left")
    for column in ("县(市、区)", "C/D 企业", "企业用地", "低效宗地", "宗地面积", *labels.values()):
        summary.add_column(column, justify="left" if column == "县(市、区)" else "right")
    for c in result.by_county:
        summary.add_row(f"{c['county_name']} {c['county_adcode']}", fmt(c["firms"]), fmt(c["firm_land_mu"], 1),
                        fmt(c["parcels"]), fmt(c["parcel_area_mu"], 1), *(fmt(c[f"{k}_mu"], 1) for k in labels))
    out.print(summary)
    firms = result.firms if limit == 0 else result.firms[:limit]
    table = Table(title="候选企业 Candidate firms (D first, most land, lowest score)", title_justify="left")
    for column, justify in (("#", "right"), ("县", "left"), ("企业名称", "left"), ("类别", "left"),
                            ("总分", "right"), ("用地 亩", "right"), ("亩均税收", "right"), ("低效宗地", "right"),
                            ("低效面积", "right")):
        table.add_column(column, justify=justify)
    for x in firms:
        table.add_row(str(x["priority"]), x["county_name"] or x["county_adcode"], escape(x["name"] or x["uscc"]),
                      x["class"], fmt(x["total_score"], 2), fmt(x["land_used_mu"], 1), fmt(x["tax_per_mu"], 2),
                      fmt(x["inefficient_parcels"]), fmt(x["inefficient_area_mu"], 1))
    _print_limited(table, len(firms), len(result.firms))
    parcels = result.parcels if limit == 0 else result.parcels[:limit]
    table = Table(title="低效宗地 Parcels in an inefficient status", title_justify="left")
    for column in ("宗地", "县", "状态", "面积 亩", "权利人", "类别"):
        table.add_column(column, justify="right" if column == "面积 亩" else "left")
    for p in parcels:
        table.add_row(p["parcel_id"], p["county_name"] or p["county_adcode"], p["status_label"], fmt(p["area_mu"], 1),
                      escape(p["holder_name"] or "—"), p["holder_class"] or "—")
    _print_limited(table, len(parcels), len(result.parcels))


# ---- compare ---------------------------------------------------------------------------------

@app.command("compare")
def compare(
    run_a: Annotated[str, typer.Argument(help="前一批次 The first run (e.g. last year, or the current policy).",
                                         show_default=False)],
    run_b: Annotated[str, typer.Argument(help="后一批次 The second run (this year, or the what-if policy).",
                                         show_default=False)],
    db: DbOption = None,
    region: RegionOption = None,
    limit: LimitOption = 30,
    json_output: JsonOption = False,
) -> None:
    """比较 Compare two runs: class transition matrix, who moved and why, surcharge change.

    Works for two years of one preset and for two presets on one year (what-if). RUN_A and RUN_B may be `latest`.
    """
    from shanhai.jobs import mujun_review

    with _open(db) as store:
        result = mujun_review.compare(store, _run(store, run_a), _run(store, run_b), region)
    if json_output:
        emit_json(result.as_dict())
        return
    a, b = result.run_a, result.run_b
    out.print(f"[bold]A[/bold] {a['run_id']} · {a['policy']} {a['policy_version']} · {a['year']}   →   "
              f"[bold]B[/bold] {b['run_id']} · {b['policy']} {b['policy_version']} · {b['year']}"
              f"{_where(result.region)}")
    matrix = Table(title=f"类别转移 Class transitions ({result.both} 家两次均参与 firms in both runs, "
                         f"{result.moved} 家变动 moved)", title_justify="left")
    matrix.add_column("A \\ B")
    for c in result.classes:
        matrix.add_column(c, justify="right")
    matrix.add_column("合计", justify="right")
    for ca in result.classes:
        row = result.matrix[ca]
        matrix.add_row(ca, *(f"[bold]{fmt(row[cb])}[/bold]" if ca == cb else fmt(row[cb]) for cb in result.classes),
                       fmt(sum(row.values())))
    out.print(matrix)
    movers = result.movers if limit == 0 else result.movers[:limit]
    table = Table(title="变动企业 Movers (by county; downgrades first, biggest score change first)",
                  title_justify="left")
    for column, justify in (("县", "left"), ("企业名称", "left"), ("类别", "left"), ("总分", "right"),
                            ("名次", "right"), ("原因 why", "left")):
        table.add_column(column, justify=justify)
    for m in movers:
        table.add_row(m["county_name"] or m["county_adcode"] or "", escape(m["name"] or m["uscc"]),
                      f"{m['class_a']}→{m['class_b']}",
                      f"{fmt(m['total_a'], 2)}→{fmt(m['total_b'], 2)}",
                      f"{m['rank_a'] or '—'}/{m['unit_size_a'] or '—'}→{m['rank_b'] or '—'}/{m['unit_size_b'] or '—'}",
                      escape(m["why_text"]))
    _print_limited(table, len(movers), len(result.movers))
    s = result.surcharge
    out.print(f"差别化电价加价 Surcharge: A {_yuan(s['a'])} 元 ({s['charged_a']} 家) → B {_yuan(s['b'])} 元 "
              f"({s['charged_b']} 家), 变化 change {s['change']:+,.2f} 元")
    out.print(f"仅在 A Only in A: {len(result.only_a)} 家 · 仅在 B Only in B: {len(result.only_b)} 家 · "
              f"基准值变化 benchmark changes: {len(result.benchmark_changes)} · "
              f"政策差异 policy differences: {len(result.policy_changes)}")


# ---- export ----------------------------------------------------------------------------------

@app.command("export")
def export(
    out_path: Annotated[Path, typer.Option("--out", help="输出文件 Output .xlsx file.", show_default=False)],
    db: DbOption = None,
    run: RunOption = None,
    region: RegionOption = None,
    county: Annotated[str | None, typer.Option(
        "--county", help="县级工作簿 Adcode of a county: write its workbook (汇总, 企业明细, 基准值, 整改名单, 低效用地, 说明).",
        show_default=False)] = None,
    lists: Annotated[bool, typer.Option(
        "--lists", help="公示名单 Write the published lists (the default; with --county: that county's lists).")] = False,
    force: Annotated[bool, typer.Option("--force", help="覆盖已有文件 Overwrite an existing file.")] = False,
    json_output: JsonOption = False,
) -> None:
    """导出 Export a run to Excel: the published lists, or with --county a county's workbook.

    The lists (规上; 规下≥3亩; 规下<3亩; 租赁企业) come one sheet each in the public-notice layout.

    The county workbook has the sheets 汇总, 企业明细, 基准值, 整改名单 and 说明.
    """
    if out_path.exists() and not force:
        raise ShanhaiError(f"{out_path} already exists: choose another --out, or pass --force to overwrite it")
    if county and region and county != region:
        raise ShanhaiError("--county and --region name different regions: give one of them")
    from shanhai.reports import county_workbook, public_lists

    with _open(db) as store:
        run_id = _run(store, run)
        if county and not lists:
            result = county_workbook(store, run_id, county, out_path)
        else:
            result = public_lists(store, run_id, out_path, county or region)
    kind = "county" if result.kind == "county_workbook" else "lists"
    audit_export(db, run_id, out_path, kind=f"mujun_{kind}", run=run_id, region=result.region or "330000",
                 rows=sum(result.sheets.values()), sheets=result.sheets)
    if json_output:
        emit_json(result.as_dict())
        return
    what = "县级工作簿 county workbook" if result.kind == "county_workbook" else "公示名单 published lists"
    out.print(f"已写出{what} Wrote {escape(str(out_path))} ({run_id}"
              f"{', ' + result.region if result.region else ''}):")
    for sheet, n in result.sheets.items():
        out.print(f"  {sheet}: {n:,} 行 rows")


# ---- roll-ups --------------------------------------------------------------------------------

@app.command("rollup")
def rollup(
    db: DbOption = None,
    run: RunOption = None,
    region: RegionOption = None,
    level: Annotated[str, typer.Option(
        "--level", help="汇总层级 Level: county, city, town, zone, industry, mountain26 or province.")] = "county",
    scope: Annotated[str, typer.Option(
        "--scope", help="范围 Scope: all, above_scale (statistical 规上), or a population id of the run's "
                        "policy (pop:ID).")] = "all",
    limit: LimitOption = 0,
    json_output: JsonOption = False,
) -> None:
    """汇总 A run's roll-up at one level (sums over sums) with class counts per row."""
    from shanhai.jobs import mujun_review

    with _open(db) as store:
        result = mujun_review.rollup(store, _run(store, run), level, scope, region)
    if json_output:
        emit_json(result.as_dict())
        return
    out.print(_header(result.run, result.region))
    note = " · 按本地区企业重新汇总 recomputed over the region's firms" if result.recomputed else ""
    table = Table(title=f"亩均评价汇总 Roll-up: {result.level}, {result.scope}{note}", title_justify="left",
                  caption="税收、增加值 万元 · 用地 亩 · 亩均 万元/亩 · 加价 元", caption_justify="left")
    for column in ("代码", "名称", "企业", "参评", "用地", "亩均税收", "上年", "亩均增加值", "上年",
                   *result.classes, "加价 元"):
        table.add_column(column, justify="left" if column in ("代码", "名称") else "right")
    rows = result.rows if limit == 0 else result.rows[:limit]
    for x in rows:
        table.add_row(x["key"], escape(x["label"] or ""), fmt(x["firms"]), fmt(x["evaluated"]),
                      fmt(x["land_used_mu"], 0), fmt(x["tax_per_mu"], 2), fmt(x["prev_tax_per_mu"], 2),
                      fmt(x["value_added_per_mu"], 2), fmt(x["prev_value_added_per_mu"], 2),
                      *(fmt(x["classes"][c]) for c in result.classes), _yuan(x["surcharge_yuan"]))
    _print_limited(table, len(rows), len(result.rows))
