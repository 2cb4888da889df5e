"""``shanhai evaluate mujun`` and ``shanhai explain``: run a per-mu evaluation, account for a class."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, fmt, lazy_progress, out
from shanhai.cli.parquet import EngineOption, SourceOption, SparkMasterOption, configure_engine
from shanhai.store import default_db_path, open_store

app = typer.Typer(help="评价 Run an evaluation and store it as a run (never overwritten).", no_args_is_help=True)

RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 Province, city or county adcode to evaluate (default: the whole province).")]


def class_table(summary, preset) -> Table:
    table = Table(title=f"{summary.year} 年度 {preset.display_name}: {summary.enterprises:,} 家企业, "
                        f"参评 {summary.evaluated:,}", title_justify="left")
    table.add_column("类别 class")
    table.add_column("企业 firms", justify="right")
    table.add_column("占比 share", justify="right")
    for code in [*preset.classes.order, "T"]:
        n = summary.classes.get(code, 0)
        share = n / summary.enterprises if summary.enterprises else 0
        table.add_row(f"{code} {preset.class_label(code)}", fmt(n), f"{share:.1%}")
    return table


def targets_table(gaps: list[dict]) -> Table:
    """Province and city targets row by row; per-county targets summarised as met / not met."""
    table = Table(title="距目标 Distance to the policy documents' per-mu targets (规上)", title_justify="left",
                  caption="达成 = 实际 ÷ 目标 · 山区县分类待核实", caption_justify="left")
    for column in ("目标 target", "地区", "实际 actual", "目标值", "差距 gap", "达成"):
        table.add_column(column, justify="left" if column in ("目标 target", "地区") else "right")
    grouped: dict[str, list[dict]] = {}
    for g in gaps:
        grouped.setdefault(g["target_id"], []).append(g)
    for rows in grouped.values():
        first = rows[0]
        if len(rows) == 1:
            table.add_row(first["label"], first["name"] or first["key"], fmt(first["actual"]), fmt(first["target"]),
                          fmt(first["gap"]), "—" if first["achieved"] is None else f"{first['achieved']:.0%}")
        else:
            met = sum(1 for g in rows if g["achieved"] is not None and g["achieved"] >= 1)
            table.add_row(first["label"], f"{len(rows)} 个 ({met} 个已达到)", "", fmt(first["target"]), "", "")
    return table


def county_table(store, run_id: str, limit: int | None = None) -> Table:
    from shanhai.jobs import mujun as job

    counts = dict(store.con.execute(
        "SELECT key, string_agg(class || ' ' || firms, ' ' ORDER BY class) FROM mujun_class_counts "
        f"WHERE run_id = '{run_id}' AND level = 'county' AND scope = 'all' GROUP BY key").fetchall())
    rows = job.county_ranking(store, run_id)
    if limit:
        rows = rows[:limit]
    table = Table(title="县(市、区) 规上亩均 Counties, above-scale per mu (sums over sums)", title_justify="left",
                  caption="亩均 万元/亩 · 加收 万元 · 县市排名: 53 个县(市)中 · 分类计数含全部参评对象",
                  caption_justify="left")
    for column in ("税收排名", "县市排名", "县(市、区)", "规上企业", "亩均税收", "上年", "亩均增加值", "增加值排名",
                   "差别电价加收", "分类 classes"):
        table.add_column(column, justify="left" if column in ("县(市、区)", "分类 classes") else "right")
    for r in rows:
        table.add_row(fmt(r["rank_tax"]), fmt(r["rank_tax_county_cities"]), r["label"] or r["key"], fmt(r["firms"]),
                      fmt(r["tax_per_mu"]), fmt(r["prev_tax_per_mu"]), fmt(r["value_added_per_mu"]), fmt(r["rank_va"]),
                      fmt(r["surcharge_yuan"] / 1e4), counts.get(r["key"], ""))
    return table


@app.command()
def mujun(
    year: Annotated[int, typer.Option(help="年度 Data year to evaluate.")],
    policy_name: Annotated[str, typer.Option("--policy", help="政策预设 Preset name (`shanhai policy list`) or a "
                                                              ".toml file.")] = "zhejiang-2018",
    region: RegionOption = None,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
    source: SourceOption = None,
    benchmarks: Annotated[str, typer.Option(help="基准值 preset: as the preset states; data: computed from the "
                                                 "data instead of published figures.")] = "preset",
    db: DbOption = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="导出 Also write the published lists to this "
                                                                 ".xlsx file.")] = None,
    json_output: JsonOption = False,
) -> None:
    """亩均效益综合评价 Evaluate every enterprise per mu; store the run; print class counts and counties.

    Each enterprise gets each indicator's value, benchmark and score, bonuses and penalties,
    total, rank in its unit, class, the rule that decided it and the price consequences.
    `shanhai explain --run R --uscc X` tells one firm's story.
    """
    from shanhai import policy
    from shanhai.jobs import mujun as job

    path = db or default_db_path()
    preset = policy.get(policy_name)
    console = err if json_output else out
    configure_engine(engine, spark_master)
    with open_store(path) as store:
        with lazy_progress(err) as progress:
            summary = job.run(store, preset.name if not policy_name.endswith(".toml") else policy_name, year, region,
                              engine=engine, benchmarks=benchmarks, progress=progress, source=source)
        if out_file is not None:
            from shanhai.reports.mujun_excel import public_lists

            written = public_lists(store, summary.run_id, out_file, region=None)
            audit_export(store, summary.run_id, out_file, kind="mujun_lists", run=summary.run_id,
                         region=written.region or "330000", year=year, rows=sum(written.sheets.values()),
                         sheets=written.sheets)
        if json_output:
            emit_json({**summary.as_dict(), "counties": job.county_ranking(store, summary.run_id, region),
                       "targets": job.target_gaps(store, summary.run_id, region)})
            return
        console.print(f"[bold]运行 run {summary.run_id}[/bold] ({summary.seconds:.1f} s, 引擎 {summary.engine}, "
                      f"基准 {summary.benchmarks})")
        for note in summary.notes:
            console.print(f"[yellow]注意[/yellow] {note}")
        out.print(class_table(summary, preset))
        out.print(county_table(store, summary.run_id, limit=None if region else 15))
        gaps = job.target_gaps(store, summary.run_id, region)
        if gaps:
            out.print(targets_table(gaps))
        out.print(f"差别电价预计加收 estimated surcharges: {summary.surcharge_yuan / 1e4:,.1f} 万元")
        if out_file is not None:
            out.print(f"已导出 Wrote {out_file}")
        out.print(f"下一步 Next: `shanhai explain --run {summary.run_id} --uscc …` · "
                  f"`shanhai mujun remediation --run {summary.run_id}` · `shanhai mujun export --run {summary.run_id}`")


def explain(
    uscc: Annotated[str, typer.Option(help="统一社会信用代码 The enterprise's USCC.")],
    run: Annotated[str, typer.Option(help="运行编号 Run id (default: the latest per-mu run).")] = "latest",
    region: RegionOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """解释 Tell how an enterprise's class came about: each score's arithmetic, rank, rules, prices."""
    from shanhai.jobs import mujun as job

    path = db or default_db_path()
    with open_store(path, read_only=True) as store:
        doc = job.explain(store, run, uscc, region=region)
    if json_output:
        emit_json(doc)
        return
    out.print(job.explain_text(doc), markup=False, highlight=False)
