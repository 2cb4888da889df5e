"""``shanhai demo``: the one command a newcomer runs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, emit_json, err, fmt, lazy_progress, out
from shanhai.cli.users import demo_accounts_text, ensure_demo_accounts
from shanhai.store import default_db_path, open_store
from shanhai.store.sql import literal

DEMO_SCALE = 0.1
DEMO_SEED = 7
DEMO_POLICY = "zhejiang-2018"
DEMO_COUNTY = "331127"  # 景宁畲族自治县: a mountain county, the demo-jingning account's region


def demo_chain(store, year: int) -> dict | None:
    """The panorama of the demo mountain county's largest chain (by member firms), or None."""
    from shanhai.jobs import chains
    from shanhai.store.scope import Scope

    row = store.con.execute(
        "SELECT s.chain_id FROM enterprise_segments es JOIN enterprises e USING (uscc) "
        f"JOIN chain_segments s USING (segment_id) WHERE e.county_adcode = {literal(DEMO_COUNTY)} AND es.role <> 'excluded' "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
    if row is None:
        return None
    return chains.panorama(store, Scope.province(), DEMO_COUNTY, row[0], year=year)


def demo_opportunities(store, year: int, top: int = 5):
    """The demo mountain county's top industries to develop and to strengthen (一县一业), or None
    when the county has no value added in the year."""
    from shanhai.errors import ShanhaiError
    from shanhai.jobs.opportunities import opportunities
    from shanhai.store.scope import Scope

    try:
        return opportunities(store, DEMO_COUNTY, scope=Scope.province(), year=year, top=top)
    except ShanhaiError:
        return None


def overview_tables(o) -> list[Table]:
    from shanhai.analysis.overview import SIZE_CLASSES, SIZE_LABELS

    figures = Table(title=f"{o.year} 年规上工业 Above-scale industry, {o.year}", title_justify="left",
                    caption="增加值、税收 亿元 · 用地 亩 · 亩均 万元/亩 · 劳动生产率 万元/人 — value added, tax "
                            "(100 M yuan), land (mu), per mu (10 k yuan), value added per worker",
                    caption_justify="left")
    for column in ("区域", "县", "规上企业", "增加值", "税收", "用地", "亩均增加值", "亩均税收", "劳动生产率"):
        figures.add_column(column, justify="left" if column == "区域" else "right")
    for g in o.groups:
        figures.add_row(g.label, fmt(g.counties), fmt(g.above_scale), fmt(g.value_added_yi), fmt(g.tax_yi),
                        fmt(g.land_mu, 0), fmt(g.value_added_per_mu), fmt(g.tax_per_mu), fmt(g.labour_productivity))
    sizes = Table(title="企业规模 Enterprises by size class (统计上大中小微型企业划分办法)", title_justify="left")
    sizes.add_column("")
    for size in SIZE_CLASSES:
        sizes.add_column(f"{SIZE_LABELS[size]} {size}", justify="right")
    sizes.add_column("合计 total", justify="right")
    for scale, label in (("above_scale", "规上 above"), ("below_scale", "规下 below")):
        row = o.size_classes.get(scale, {})
        sizes.add_row(label, *(fmt(row.get(s, 0)) for s in SIZE_CLASSES), fmt(sum(row.values())))
    return [figures, sizes]


def demo(
    db: DbOption = None,
    year: Annotated[int | None, typer.Option(help="年份 Year to show (default: the latest).")] = None,
    json_output: JsonOption = False,
) -> None:
    """演示 Build a small synthetic province if the database is absent, then print an overview.

    The overview: counties, enterprises by size class, totals and per-mu figures for the
    province, the 26 mountain counties and the rest; then the per-mu evaluation of the year
    with the provincial preset (stored as a run, reused on the next call): class counts and
    the county table.
    """
    path = db or default_db_path()
    console = err if json_output else out
    if not path.exists():
        from shanhai.synth import SynthConfig, build  # numpy and the generator load only when building

        console.print(f"未找到数据库 No database at {path}: building a demo province "
                      f"(scale {DEMO_SCALE}, seed {DEMO_SEED}) …")
        with lazy_progress(err) as progress:
            build(path, SynthConfig(scale=DEMO_SCALE, seed=DEMO_SEED), progress=progress)
    # ibis loads only here, so `shanhai --help` and the other commands start fast
    from shanhai.analysis.overview import overview
    from shanhai.engine import connect

    from shanhai import policy
    from shanhai.cli.evaluate import class_table, county_table
    from shanhai.jobs import mujun as job

    preset = policy.get(DEMO_POLICY)
    with open_store(path) as store:  # writable: an older file is upgraded, the evaluation is stored
        o = overview(connect(store), year)
        # the per-mu evaluation of the shown year with the provincial preset: reused when stored
        run_id = job.latest_run(store, preset.name, o.year, "330000", policy.fingerprint(preset))
        if run_id is None:
            console.print(f"亩均评价 Evaluating {o.year} with {preset.name} …")
            with lazy_progress(err) as progress:
                run_id = job.run(store, preset.name, o.year, progress=progress).run_id
        summary = job.summary_of(store, run_id)
        chain_doc = demo_chain(store, o.year)
        chances = demo_opportunities(store, o.year)
        demo_users = ensure_demo_accounts(store)  # a province admin, a city, a mountain county
        if json_output:
            counties = store.con.execute(
                "SELECT key, label, firms, evaluated, tax_per_mu, value_added_per_mu, prev_tax_per_mu, "
                f"surcharge_yuan FROM mujun_rollups WHERE run_id = '{run_id}' AND level = 'county' "
                "AND scope = 'above_scale' ORDER BY tax_per_mu DESC NULLS LAST").fetchall()
            keys = ("adcode", "name", "firms", "evaluated", "tax_per_mu", "value_added_per_mu", "prev_tax_per_mu",
                    "surcharge_yuan")
            emit_json({"db": str(path), **o.as_dict(), "accounts": demo_users, "mujun": {
                **summary.as_dict(), "counties": [dict(zip(keys, (*r[:-1], float(r[-1] or 0)))) for r in counties]},
                "chain_panorama": chain_doc,
                "opportunities": None if chances is None else {
                    k: getattr(chances, k) for k in ("adcode", "name", "year", "eci", "eci_rank", "counties",
                                                     "develop", "strengthen", "leads", "provenance")}})
            return
        tables = [class_table(summary, preset), county_table(store, run_id, limit=15)]
    out.print(f"[bold]山海 Shanhai[/bold] — {path}: {o.counties} 个县(市、区) counties, "
              f"其中山区26县 {o.mountain_counties}; 年份 years {o.years[0]}–{o.years[-1]}")
    for table in overview_tables(o) + tables:
        out.print(table)
    out.print(f"[dim]数据来源 Data: {', '.join(o.datasets)} · 规上 = main-business revenue ≥ 2000 万元 · "
              f"亩均 = per 亩 of land used (own + leased − leased out)[/dim]")
    out.print(f"亩均评价运行 per-mu run {run_id} ({preset.name}); 前 15 个县(市、区) the top 15 counties shown")
    out.print(f"下一步 Next: `shanhai explain --run {run_id} --uscc …` · `shanhai mujun rollup --run {run_id}` · "
              "`shanhai policy list` · `shanhai --help`")
    if chain_doc is not None:
        from shanhai.cli.chains import panorama_table

        out.print(f"[bold]山区县产业链 A mountain county's chain: {chain_doc['region']['name']} · "
                  f"{chain_doc['chain']['name']}[/bold] 全景图 panorama (优势/具备/薄弱/缺失 strong/present/weak/missing)")
        out.print(panorama_table(chain_doc))
        out.print(f"招商目标 Targets: `shanhai chains targets --region {DEMO_COUNTY} --chain "
                  f"{chain_doc['chain']['chain_id']}` · 风险 risk: `shanhai chains risk --region {DEMO_COUNTY}`")
    if chances is not None:
        from shanhai.cli.opportunities import suggestions_table

        out.print(f"[bold]一县一业 Opportunities: {chances.name}[/bold] 经济复杂度 ECI 第 {chances.eci_rank} / "
                  f"{chances.counties} 名")
        out.print(suggestions_table("培育 Develop (前 5 top 5)", chances.develop,
                               "得分 = 0.6·z(可行性 density) + 0.4·z(机会增益 COG) · ★ 已申报主导产业 declared lead"))
        out.print(f"更多 More: `shanhai opportunities --region {DEMO_COUNTY}`")
    for line in demo_accounts_text(demo_users):
        out.print(line)
    out.print(f"网页 Web: `shanhai serve --db {path}`, then open http://127.0.0.1:8000/ and sign in")
