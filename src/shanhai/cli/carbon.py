"""``shanhai carbon …``: energy and carbon — the conversion factors, one quantity converted,
the 工业碳效码 runs (grade), a firm's badge and history (with a what-if), the low-carbon
industries and share, the per-mu energy sync and the Excel export. Thin: parse, call
``shanhai.jobs.carbon`` and ``shanhai.reports.carbon_excel``, print.

The command line is the province's own tool (scope: the whole province); ``--region`` chooses the
region shown (and, for an export, the region the workbook is limited to)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, fmt, lazy_progress, out
from shanhai.store import default_db_path, open_store
from shanhai.store.scope import Scope

app = typer.Typer(help="能耗与碳效 Energy and carbon: conversions, 碳效码 grades, low-carbon industries.",
                  no_args_is_help=True)

RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 Province (330000), city or county adcode (default: the province).", show_default=False)]
YearOption = Annotated[int | None, typer.Option("--year", help="年度 Year (default: the run's latest).",
                                                show_default=False)]
RunOption = Annotated[str | None, typer.Option(
    "--run", help="计算批次 Run id (default: the newest run covering the region).", show_default=False)]
PresetOption = Annotated[str, typer.Option("--preset", help="碳效口径 Grading preset (policy/carbon/grading-*.toml).")]
SeriesOption = Annotated[str | None, typer.Option(
    "--grid-series", help="电网因子系列 Grid-factor series: mee_nbs_average, mee_nbs_excl_market, mee_nbs_fossil, "
                          "carbon_market_2022 (default: the preset's).", show_default=False)]
GeoOption = Annotated[str | None, typer.Option(
    "--geography", help="电网因子地域 national | east_china | zhejiang (default: the preset's).", show_default=False)]
AggOption = Annotated[str | None, typer.Option(
    "--aggregation", help="行业平均 ratio_of_sums | mean_of_ratios (default: the preset's).", show_default=False)]
DeductOption = Annotated[bool | None, typer.Option(
    "--deduct/--no-deduct", help="零碳电力扣减 Deduct green power and self-consumed PV (default: the preset's).",
    show_default=False)]


def _scope(store, region: str | None) -> Scope:
    return Scope.province().narrow(store, region)


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


@app.command("factors")
def factors_(name: Annotated[str, typer.Option("--factors", help="因子集 Factor set (policy/carbon/factors-*.toml).")] = "default",
             json_output: JsonOption = False) -> None:
    """折标与排放因子 The factor set: fuels, electricity 当量值/等价值 by year, grid factors by series, geography and year."""
    from shanhai.jobs import carbon as jc

    doc = jc.factor_table(name)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{doc['name']}[/bold] {doc['version']} — {escape(doc['source'])}")
    t = Table("品种 carrier", "单位 unit", "tce/单位", "tCO2/单位", "状态 status", "来源 source")
    for v in doc["fuels"]:
        t.add_row(f"{escape(v['label'])} {v['carrier']}", v["unit"], f"{v['tce_per_unit']:g}", f"{v['co2_per_unit']:g}",
                  v["status"], escape(v["source"]))
    e = doc["electricity_equivalent"]
    t.add_row("电力 当量值 electricity (equivalent)", "kWh", f"{e['tce_per_kwh']:g}", "—", "published", escape(e["source"]))
    for e in doc["electricity_equal"]:
        t.add_row(f"电力 等价值 {e['year']}", "kWh", f"{e['tce_per_kwh']:g}", "—", e["status"], escape(e["source"]))
    out.print(t)
    t = Table("系列 series", "地域 geography", "年 year", "kg CO2/kWh", "状态 status", "来源 source")
    for g in doc["grid"]:
        t.add_row(g["series"], g["geography"], str(g["year"]), f"{g['t_per_kwh'] * 1000:.4f}", g["status"], escape(g["source"]))
    out.print(t)


@app.command("convert")
def convert_(
    quantity: Annotated[float, typer.Argument(help="数量 Quantity.")],
    unit: Annotated[str, typer.Argument(help="单位 Unit: kWh, 10k_kWh, MWh, t, kg, 10k_t, m3, 10k_m3, GJ, MJ.")],
    carrier: Annotated[str, typer.Option("--carrier", help="品种 grid_electricity, green_power, pv_self, coal, natural_gas, "
                                                           "diesel, gasoline, fuel_oil, lpg, heat.")] = "grid_electricity",
    year: Annotated[int, typer.Option("--year", help="数据年份 Year of the factors.")] = 2022,
    preset: PresetOption = "default", grid_series: SeriesOption = None, geography: GeoOption = None,
    deduct: DeductOption = None, json_output: JsonOption = False,
) -> None:
    """折算 Convert one quantity to tce (当量值 and 等价值) and t CO2, naming the factors used."""
    from shanhai.jobs import carbon as jc

    doc = jc.convert(quantity, unit, carrier, year, preset=preset, grid_series=grid_series, grid_geography=geography,
                     deduct=deduct)
    if json_output:
        emit_json(doc)
        return
    out.print(f"{fmt(quantity, 3)} {unit} {carrier} ({doc['year']}) = [bold]{doc['tce_equivalent']:.4f}[/bold] tce 当量值 · "
              f"[bold]{doc['tce_equal']:.4f}[/bold] tce 等价值 · [bold]{doc['co2_t']:.4f}[/bold] t CO2")
    out.print(f"因子 factors {doc['factors']} {doc['factors_version']}; 电网 grid {doc['grid_series']}/{doc['grid_geography']} "
              f"{doc['grid_year']}; 等价值 {doc['equal_year']}; 扣减 deduct {doc['deduct']}")
    out.print(f"[dim]{escape(doc['source'])}[/dim]")


@app.command("grade")
def grade_(
    year: Annotated[int | None, typer.Option("--year", help="年度 Year (default: every year with energy data).",
                                             show_default=False)] = None,
    region: RegionOption = None, preset: PresetOption = "default", grid_series: SeriesOption = None,
    geography: GeoOption = None, aggregation: AggOption = None, deduct: DeductOption = None,
    list_runs: Annotated[bool, typer.Option("--list", help="列出已保存的批次 List the stored runs instead.")] = False,
    db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """碳效评级 Compute and store the 碳效码 of every firm-year of a region (a run), or --list the runs."""
    from shanhai.jobs import carbon as jc
    from shanhai.store.audit import cli_user

    if list_runs:
        with open_store(db or default_db_path(), read_only=True) as store:
            rows = jc.runs(store, _scope(store, region))
        if json_output:
            emit_json(rows)
            return
        t = Table("批次 run", "地区 region", "年度 years", "电网因子 grid", "行业平均 aggregation", "扣减 deduct",
                  "企业年 firm-years", "时间 at")
        for r in rows:
            t.add_row(r["run_id"], escape(r["region_name"] or r["region"]), ",".join(map(str, r["years"])),
                      f"{r['grid_series']}/{r['grid_geography']}", r["aggregation"], str(r["deduct"]),
                      fmt(r["firm_years"]), r["created_at"])
        out.print(t)
        return
    with open_store(db or default_db_path()) as store, lazy_progress(err) as progress:
        doc = jc.run(store, year=year, region=region, preset=preset, grid_series=grid_series, grid_geography=geography,
                     aggregation=aggregation, deduct=deduct, user=cli_user(), progress=progress)
    if json_output:
        emit_json(doc)
        return
    out.print(f"已保存 stored [bold]{doc['run_id']}[/bold]: {escape(doc['region_name'])} · {','.join(map(str, doc['years']))} · "
              f"{fmt(doc['firm_years'])} 企业年 firm-years, {fmt(doc['graded'])} 评级 graded, {fmt(doc['flagged'])} 不评级 flagged · "
              f"电网 {doc['grid_series']}/{doc['grid_geography']} · {doc['aggregation']} · 扣减 {doc['deduct']} · {doc['seconds']} s")


@app.command("firm")
def firm_(
    uscc: Annotated[str, typer.Argument(help="统一社会信用代码 The firm's USCC.")],
    run: RunOption = None, region: RegionOption = None, grid_series: SeriesOption = None,
    geography: GeoOption = None, aggregation: AggOption = None, deduct: DeductOption = None,
    year: YearOption = None, db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """企业碳效码 A firm's badge, history and energy; with --grid-series/--geography/--aggregation/--deduct a what-if."""
    from shanhai.jobs import carbon as jc

    with open_store(db or default_db_path(), read_only=True) as store:
        scope = _scope(store, region)
        doc = jc.firm(store, scope, uscc, run)
        if any(v is not None for v in (grid_series, geography, aggregation, deduct)):
            doc["what_if"] = jc.what_if(store, scope, uscc, year=year, grid_series=grid_series, grid_geography=geography,
                                        aggregation=aggregation, deduct=deduct)
    if json_output:
        emit_json(doc)
        return
    cur = doc["current"]
    out.print(f"[bold]{escape(doc['name'])}[/bold] {doc['uscc']} · {escape(doc['county_name'] or '')} · "
              f"{doc['industry_code']} {escape(doc['industry_name'] or '')} · 批次 run {doc['run']['run_id']}")
    out.print(f"碳效码 badge: [bold]{cur['badge'] or cur['flag_label'] or '—'}[/bold]" if cur else "碳效码 badge: — (未评级 not graded)")
    t = Table("年 year", "tce 等价值", "t CO2", "增加值 VA", "L", "水平 level", "行业 L_ind", "K", "等级 grade", "说明 flag")
    for r in doc["history"]:
        t.add_row(str(r["year"]), fmt(r["tce_equal"], 1), fmt(r["co2_t"], 1), fmt(r["value_added"], 1),
                  fmt(r["intensity"], 4), r["level_label"] or "—", fmt(r["industry_intensity"], 4), fmt(r["k"], 4),
                  str(r["grade"] or "—"), r["flag_label"] or "")
    out.print(t)
    if "what_if" in doc:
        w = doc["what_if"]
        for label in ("base", "what_if"):
            r, s = w[label]["result"], w[label]["settings"]
            out.print(f"{'口径' if label == 'base' else '假设'} {label} {w['year']} ({s['grid_series']}/{s['grid_geography']}, "
                      f"{s['aggregation']}, deduct {s['deduct']}): "
                      + (f"L {fmt(r['intensity'], 4)} · K {fmt(r['k'], 4)} · {r['badge'] or r['flag_label']}" if r else "—"))


@app.command("industries")
def industries_(run: RunOption = None, year: YearOption = None, region: RegionOption = None, db: DbOption = None,
                json_output: JsonOption = False) -> None:
    """低碳产业 Each industry's intensity in the region and year, under the 0.6 t/万元 line or not."""
    from shanhai.jobs import carbon as jc

    with open_store(db or default_db_path(), read_only=True) as store:
        doc = jc.industries(store, Scope.province(), run, year=year, adcode=region)
    if json_output:
        emit_json(doc)
        return
    t = Table("行业 industry", "企业 firms", "t CO2", "增加值 VA", "L t/万元", "低碳 low-carbon")
    for r in doc["industries"]:
        t.add_row(f"{r['industry']} {escape(r['industry_name'] or '')}", fmt(r["firms"]), fmt(r["co2_t"], 0),
                  fmt(r["value_added"], 0), fmt(r["intensity"], 4), "✓" if r["low_carbon"] else "")
    out.print(f"{escape(doc['region']['name'] or doc['region']['adcode'])} {doc['year']} · 批次 run {doc['run']['run_id']}")
    out.print(t)


@app.command("share")
def share_(run: RunOption = None, year: YearOption = None, region: RegionOption = None, db: DbOption = None,
           json_output: JsonOption = False) -> None:
    """低碳占比 The low-carbon share of manufacturing value added against the target, by region and year."""
    from shanhai.jobs import carbon as jc

    with open_store(db or default_db_path(), read_only=True) as store:
        doc = jc.share(store, _scope(store, region), run, year=year)
    if json_output:
        emit_json(doc)
        return
    out.print(f"低碳线 line {doc['line']:g} t/万元 · 目标 target {doc['target']:.0%} by {doc['target_year']} "
              f"({doc['target_status']})")
    t = Table("地区 region", "年 year", "行业 industries", "低碳行业 low", "低碳增加值 low VA", "制造业增加值 VA",
              "占比 share", "达标 meets")
    for r in doc["rows"]:
        t.add_row(escape(r["region_name"] or r["adcode"]), str(r["year"]), fmt(r["industries"]), fmt(r["low_industries"]),
                  fmt(r["low_carbon_va"], 0), fmt(r["total_va"], 0), _pct(r["share"]),
                  "—" if r["meets_target"] is None else ("✓" if r["meets_target"] else "✗"))
    out.print(t)


@app.command("sync-energy")
def sync_energy_(
    year: Annotated[int | None, typer.Option("--year", help="年度 Year (default: every year with energy data).",
                                             show_default=False)] = None,
    basis: Annotated[str, typer.Option("--basis", help="折标口径 equal (等价值, the per-mu basis) | equivalent (当量值).")] = "equal",
    region: RegionOption = None, preset: PresetOption = "default", db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """写入亩均能耗 Write enterprise_years.energy_tce from energy by carrier (audited, idempotent)."""
    from shanhai.jobs import carbon as jc
    from shanhai.store.audit import cli_user

    with open_store(db or default_db_path()) as store:
        doc = jc.sync_energy(store, year=year, basis=basis, preset=preset, region=region, user=cli_user())
    if json_output:
        emit_json(doc)
        return
    out.print(f"已写入 synced [bold]{fmt(doc['changed'])}[/bold] 企业年 firm-years ({doc['basis']}, 因子 {doc['factors']} "
              f"{doc['factors_version']}) · {doc['run_id']}")


@app.command("export")
def export(xlsx: Annotated[Path, typer.Option("--xlsx", help="写出 Excel Write the workbook here.")],
           run: RunOption = None, year: YearOption = None, region: RegionOption = None, db: DbOption = None) -> None:
    """导出 Excel The 碳效码 workbook of a run and year: firms, industries, low-carbon share, factors, notes."""
    from shanhai.jobs import carbon as jc
    from shanhai.reports.carbon_excel import workbook_bytes

    with open_store(db or default_db_path()) as store:
        doc = jc.export_doc(store, _scope(store, region), run, year=year)
        data = workbook_bytes(doc)
        xlsx.write_bytes(data)
        audit_export(store, f"carbon:{doc['run']['run_id']}", xlsx, kind="carbon", run=doc["run"]["run_id"],
                     region=doc["scope"]["adcode"], year=doc["year"], rows=len(doc["grades"]["firms"]))
    out.print(f"已写出 written: {xlsx}")
