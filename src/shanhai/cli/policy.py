"""``shanhai policy``: list, show, validate and compare per-mu evaluation presets; check every
family of policy files at once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import JsonOption, emit_json, out

app = typer.Typer(help="政策 Per-mu evaluation presets: list, show, validate, diff; check every policy file family.",
                  no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="预设名称或 TOML 文件 Preset name (see `policy list`) or a .toml path.")]


@app.command("list")
def list_(json_output: JsonOption = False) -> None:
    """列出 List the presets: packaged ones and those in $SHANHAI_POLICY_DIR."""
    from shanhai import policy

    presets = policy.presets()
    rows = [{"name": p.name, "display_name": p.display_name, "version": p.version, "years": p.years,
             "region": p.region, "confidence": p.confidence, "populations": [x.id for x in p.populations],
             "class_method": p.classes.method, "source": p.source} for p in presets.values()]
    if json_output:
        emit_json(rows)
        return
    table = Table(title="亩均评价政策预设 Per-mu presets", title_justify="left")
    for column in ("名称 name", "显示名 display name", "版本", "年度 years", "地区", "可信度", "评价对象 populations"):
        table.add_column(column)
    for r in rows:
        years = f"{r['years'][0]}–{r['years'][-1]}" if len(r["years"]) > 1 else str(r["years"][0])
        table.add_row(r["name"], r["display_name"], r["version"], years, r["region"], r["confidence"],
                      ", ".join(r["populations"]))
    out.print(table)
    out.print("[dim]可信度 confidence: doc = 原文; news = 新闻; secondary = 转载; shanhai = 山海默认 · "
              "`shanhai policy show NAME` for weights, benchmarks and caveats[/dim]")


@app.command()
def show(name: NameArg, json_output: JsonOption = False) -> None:
    """查看 Show a preset: populations, indicators, weights, benchmarks, classes, rules, prices."""
    from shanhai import policy
    from shanhai.policy import INDICATORS

    p = policy.get(name)
    if json_output:
        emit_json({**p.model_dump(mode="json", by_alias=True), "fingerprint": policy.fingerprint(p)})
        return
    out.print(f"[bold]{p.display_name}[/bold] ({p.name} v{p.version}, 年度 {p.years}, 地区 {p.region})")
    out.print(f"来源 source [{p.confidence}]: {p.source}")
    for caveat in p.caveats:
        out.print(f"  [yellow]注意[/yellow] {caveat}")
    out.print(f"评价单元 unit: {p.unit}; 分类 classes: {p.classes.method} within {['unit', *p.classes.within]}")
    for pop in p.populations:
        conditions = []
        if pop.above_scale is not None:
            conditions.append("规上" if pop.above_scale else "规下")
        if pop.own_land_min is not None:
            conditions.append(f"自有用地 ≥ {pop.own_land_min:g} 亩")
        if pop.own_land_max is not None:
            conditions.append(f"自有用地 < {pop.own_land_max:g} 亩")
        if pop.lessee is not None:
            conditions.append("租赁企业" if pop.lessee else "非租赁")
        table = Table(title=f"{pop.label} ({pop.id}): {', '.join(conditions) or '全部'}", title_justify="left")
        for column in ("指标 indicator", "权重", "基准 benchmark", "方向", "封顶/保底", "缺失 missing"):
            table.add_column(column)
        for rule in pop.indicators:
            d = INDICATORS[rule.id]
            b = rule.benchmark
            bench = f"{b.value:g} {d.unit}" if b.kind == "fixed" else b.kind
            if b.kind == "fixed" and b.data:
                bench += f" (data: {b.data})"
            if b.multiple != 1:
                bench += f" × {b.multiple:g}"
            limits = "/".join("—" if v is None else f"{v:g}×" for v in (rule.cap, rule.floor))
            table.add_row(f"{d.label} {rule.id}", f"{rule.weight:g}", bench, rule.direction, limits,
                          rule.missing + (f" −{rule.deduct:g}" if rule.missing == "deduct" else ""))
        out.print(table)
        if p.classes.method == "rank_shares":
            out.print("  比例 shares: " + ", ".join(f"{k} {v:.0%}" for k, v in p.shares_for(pop).items()))
        else:
            out.print("  分数线 thresholds: " + ", ".join(f"{k} ≥ {v:g}" for k, v in p.thresholds_for(pop).items()))
    out.print("类别 classes: " + ", ".join(f"{c} {p.class_label(c)}" for c in p.classes.order) + " · T 不参评")
    for b in p.bonuses:
        out.print(f"加分 bonus {b.flag} +{b.points:g}")
    for b in p.penalties:
        out.print(f"减分 penalty {b.flag} −{b.points:g}")
    if p.bonus_cap or p.penalty_cap:
        out.print(f"上限 caps: bonus {p.bonus_cap or '—'}, penalty {p.penalty_cap or '—'}")
    for r in p.rules:
        out.print(f"规则 rule {r.id}: {r.label}")
    for c in p.consequences:
        parts = [f"电 {c.electricity:+g} 元/千瓦时" if c.electricity is not None else "",
                 f"{c.months} 个月" if c.electricity is not None else "",
                 f"每户最多 {c.cap_wan:g} 万元" if c.cap_wan else "",
                 f"年用电 < {c.exempt_below_kwh:,.0f} 千瓦时免征" if c.exempt_below_kwh else "",
                 f"用能 {c.energy_quota}" if c.energy_quota else "", f"用地 {c.land_quota}" if c.land_quota else ""]
        out.print(f"后果 {c.class_} ({', '.join(c.populations) or 'all'}): " + "; ".join(x for x in parts if x))
    out.print(f"[dim]指纹 fingerprint {policy.fingerprint(p)[:16]}[/dim]")


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="预设文件 Preset TOML files to check.")],
    json_output: JsonOption = False,
) -> None:
    """校验 Check preset files; every problem names the file and the field. Exit 2 if any fails."""
    from shanhai import policy

    results = []
    for path in files:
        try:
            p = policy.load_file(path)
            results.append({"file": str(path), "ok": True, "name": p.name, "version": p.version})
        except policy.PolicyError as exc:
            results.append({"file": str(path), "ok": False, "error": str(exc)})
    if json_output:
        emit_json(results)
    else:
        for r in results:
            out.print(f"[green]✓[/green] {r['file']}: {r['name']} v{r['version']}" if r["ok"]
                      else f"[red]✗[/red] {r['error']}")
    if not all(r["ok"] for r in results):
        raise typer.Exit(2)


@app.command()
def check(
    folder: Annotated[Path | None, typer.Option(
        "--dir", help="策略目录 Check this folder as $SHANHAI_POLICY_DIR (before deploying it); default: the one set.",
        show_default=False)] = None,
    json_output: JsonOption = False,
) -> None:
    """全面校验 Read every family of policy files as the commands do: per-mu presets and targets, monitoring,
    carbon, chain, cooperation, index, cultivation, support-policy, service-desk, ledger, zone rule sets.

    The packaged files and those of --dir (or $SHANHAI_POLICY_DIR). Each failing family shows its error, which names
    the file and the field. Exit 2 if any fails.
    """
    from shanhai.policy._families import check as check_all

    rows = check_all(folder)
    if json_output:
        emit_json({"dir": str(folder) if folder else None, "families": rows})
    else:
        table = Table(title="策略文件校验 Policy files", title_justify="left")
        for column in ("目录 folder", "类别 family", "结果 result"):
            table.add_column(column)
        for r in rows:
            result = (f"[green]✓[/green] {escape(', '.join(r['names']))}" if r["ok"]
                      else f"[red]✗ {escape(r['error'])}[/red]")
            table.add_row(r["folder"] or "(顶层 top)", f"{r['label']} {r['family']}", result)
        out.print(table)
    if not all(r["ok"] for r in rows):
        raise typer.Exit(2)


@app.command()
def diff(a: NameArg, b: NameArg, json_output: JsonOption = False) -> None:
    """比较 Show the fields two presets differ in (weights, benchmarks, shares, prices …)."""
    from shanhai import policy

    pa, pb = policy.get(a), policy.get(b)
    rows = policy.diff(pa, pb)
    if json_output:
        emit_json([{"field": k, "a": va, "b": vb} for k, va, vb in rows])
        return
    table = Table(title=f"{pa.name} v{pa.version} ↔ {pb.name} v{pb.version}: {len(rows)} 处不同", title_justify="left")
    table.add_column("字段 field")
    table.add_column(pa.name)
    table.add_column(pb.name)
    for k, va, vb in rows:
        table.add_row(k, "—" if va is None else str(va), "—" if vb is None else str(vb))
    out.print(table)
