"""``shanhai service …``: support policies delivered to the firms that qualify (惠企政策直达).
Thin: parse, call :mod:`shanhai.jobs.service_policies` and :mod:`shanhai.reports.service_excel`,
print. The command line is the province's own tool; ``--region`` takes a city's or county's view."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, lazy_progress, out, say_written
from shanhai.store import default_db_path, open_store
from shanhai.store.scope import Scope

HELP = ("惠企政策直达 Support policies as data, matched to every firm, and the pay-out workflow.\n\n"
        "`service items` lists the policy items; `service item ITEM` shows one; `service match` stores a match run; "
        "`service eligible ITEM` the firms of an item; `service firm USCC` one firm's items with amounts and reasons; "
        "`service payout confirm|notice|approve|pay|list|export` moves awards through 意愿确认 → 公示 → 审定 → 兑现.")

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich")
payout = typer.Typer(help="政策兑现 Pay-out workflow: apply, confirm, notice, approve, pay, list, export.",
                     no_args_is_help=True)
app.add_typer(payout, name="payout")

YearOption = Annotated[int | None, typer.Option("--year", help="兑现年度 Award (data) year (default: the latest).",
                                                show_default=False)]
RegionOption = Annotated[str | None, typer.Option(
    "--region", help="地区 View as this city or county adcode (default: the province).", show_default=False)]
RunOption = Annotated[str | None, typer.Option("--run", help="匹配批次 Match run id (default: the newest).",
                                               show_default=False)]
OnOption = Annotated[str | None, typer.Option("--on", help="日期 Date of the action, YYYY-MM-DD (default: today).",
                                              show_default=False)]
UsccOption = Annotated[str | None, typer.Option("--uscc", help="只处理这家企业 Only this enterprise.",
                                                show_default=False)]
ItemArg = Annotated[str, typer.Argument(help="政策事项 Item id (see `service items`).")]


def _open(db: Path | None, write: bool = False):
    return open_store(db or default_db_path(), read_only=not write)


def _scope(store, region: str | None) -> Scope:
    return Scope.province().narrow(store, region)


def _money(v) -> str:
    return "—" if v is None else f"{float(v):,.4f}".rstrip("0").rstrip(".")


def _caps(r: dict) -> str:
    """An item's caps in words: per award and per firm over the years (e.g. "每次 150 · 限享一次")."""
    parts = [f"每次 {_money(r['cap'])}"] if r.get("cap") is not None else []
    if r.get("once_per_firm"):
        parts.append("限享一次")
    if r.get("lifetime_cap") is not None:
        parts.append(f"累计 {_money(r['lifetime_cap'])}")
    return " · ".join(parts) or "—"


def _stages(stages: list[dict]) -> str:
    return " / ".join(f"{escape(s['label'])} {_money(s['share'] * 100)}%" for s in stages) or "—"


def items(json_output: JsonOption = False) -> None:
    """政策事项 The registered items: document, region, mode, budget, amount shape."""
    from shanhai.jobs import service_policies as sp

    rows = sp.items()
    if json_output:
        emit_json(rows)
        return
    t = Table("事项 item", "名称 name", "文件依据 document", "地区", "兑现方式 mode", "预算(万元)", "金额形式",
              "封顶 caps", "分期 stages", "有效期")
    for r in rows:
        t.add_row(r["item_id"], escape(r["name"]), escape(r["document"]), r["adcode"], r["payment_mode_label"],
                  _money(r["budget"]), r["amount_kind"], _caps(r), _stages(r["stages"]),
                  f"{r['valid_from']}–{r['valid_to'] or ''}")
    out.print(t)


def item(item_id: ItemArg, json_output: JsonOption = False) -> None:
    """事项详情 One item: conditions, exclusions, amount formula, sources and notes."""
    from shanhai.errors import ShanhaiError
    from shanhai.policy._load import PolicyError
    from shanhai.policy._service import service_item

    try:
        it = service_item(item_id)
    except PolicyError as exc:
        raise ShanhaiError(str(exc)) from None
    doc = {**it.summary(), "conditions": [c.describe() if hasattr(c, "describe") else c.label
                                          for c in it.rule.conditions],
           "exclusions": [x.label for x in it.rule.exclusions], "review_when": [x.label for x in it.rule.review_when],
           "rules": it.rule.raw}
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(it.name)}[/bold] ({it.item_id} v{it.rule.version}) — {escape(it.document)}")
    out.print(f"来源 source: {escape(it.rule.source)}")
    out.print(f"地区 {it.adcode} · {doc['payment_mode_label']} · 预算 {_money(it.budget)} 万元 · 公示 {it.notice_days} 天"
              + (f" · 不重复组 {it.stacking_group}" if it.stacking_group else ""))
    for c in doc["conditions"]:
        out.print(f"  条件 · {escape(c)}")
    for x in doc["exclusions"]:
        out.print(f"  排除 · {escape(x)}")
    for x in doc["review_when"]:
        out.print(f"  转人工 · {escape(x)}")
    out.print(f"  金额 · {it.amount.kind}" + (f"（最高 {_money(it.amount.most())} 万元）" if it.amount.most() else ""))
    if it.amount.cap is not None or it.amount.limits_text():
        out.print("  封顶 · " + "；".join(x for x in (
            f"每次 {_money(it.amount.cap)} 万元" if it.amount.cap is not None else "", it.amount.limits_text()) if x)
            + ("（不重复组各事项合计 counted over the stacking group）" if it.amount.limits_text() and it.stacking_group
               else ""))
    if it.amount.stages:
        out.print(f"  分期 · {_stages(doc['stages'])}（逐期兑现 paid one stage at a time: "
                  "`service payout pay --stage`）")
    for n in it.rule.notes:
        out.print(f"[dim]  注 · {escape(n)}[/dim]")


def match(year: YearOption = None, region: RegionOption = None,
          items_: Annotated[str | None, typer.Option("--items", help="只匹配这些事项 Comma-separated item ids "
                                                     "(default: every item in force in the year).",
                                                     show_default=False)] = None,
          db: DbOption = None, json_output: JsonOption = False) -> None:
    """政策匹配 Match every firm of the region against the items and store the run (never overwritten)."""
    from shanhai.jobs import service_policies as sp
    from shanhai.store.audit import cli_user

    with _open(db, write=True) as store:
        with lazy_progress(err if json_output else out) as progress:
            r = sp.run(store, Scope.province(), region, year=year, items=items_, user=cli_user(),
                       progress=lambda k, n: progress("匹配 matching", k / n))
    if json_output:
        emit_json(r)
        return
    out.print(f"run [cyan]{r['run_id']}[/cyan]: {r['year']} · region {r['region']} · {r['firms']:,} firms")
    t = Table("事项 item", "符合", "待人工审核", "接近", "所需资金(万元)", "预算(万元)", "同组就高")
    for s in r["items"]:
        c = s["counts"]
        t.add_row(s["item_id"], str(c["eligible"]), str(c["manual_review"]), str(c["near"]),
                  _money(s["budget_needed"]) + (" [red]超预算[/red]" if s["over_budget"] else ""), _money(s["budget"]),
                  str(s["stacked_out"]))
    out.print(t)


def eligible(item_id: ItemArg, region: RegionOption = None, run: RunOption = None,
             outcome: Annotated[str | None, typer.Option("--outcome", help="eligible | manual_review | near",
                                                         show_default=False)] = None,
             xlsx: Annotated[Path | None, typer.Option("--xlsx", help="写出工作簿 Write the results as a workbook.",
                                                       show_default=False)] = None,
             db: DbOption = None, json_output: JsonOption = False) -> None:
    """事项匹配结果 The firms of one item in a run: outcome, amount, reasons; budget needed."""
    from shanhai.jobs import service_policies as sp

    with _open(db, write=xlsx is not None) as store:
        doc = sp.item_results(store, _scope(store, region), item_id, run_id=run, outcome=outcome)
        if xlsx:
            from shanhai.reports.service_excel import match_bytes

            xlsx.write_bytes(match_bytes(doc))
            audit_export(store, f"service:{item_id}", xlsx, kind="service_match", run=doc["run"]["run_id"],
                         region=region or "330000", rows=len(doc["rows"]))
    if xlsx:
        say_written(xlsx, json_output)
    if json_output:
        emit_json(doc)
        return
    if xlsx:
        return
    t = Table("企业 firm", "USCC", "区县", "结果", "金额(万元)", "计算 / 缺失")
    for r in doc["rows"]:
        t.add_row(escape(r["name"]), r["uscc"], escape(r["county_name"] or ""), r["outcome"], _money(r["amount"]),
                  escape(r["formula"] if r["outcome"] == "eligible" else "；".join(r["missing"][:2])))
    out.print(t)


def firm(uscc: Annotated[str, typer.Argument(help="统一社会信用代码 USCC.")], year: YearOption = None,
         region: RegionOption = None, db: DbOption = None, json_output: JsonOption = False) -> None:
    """企业可享政策 One firm against every item in force: outcome, amount, formula, reasons, pay-out state."""
    from shanhai.jobs import service_policies as sp

    with _open(db) as store:
        doc = sp.firm_detail(store, _scope(store, region), uscc, year=year)
    if json_output:
        emit_json(doc)
        return
    out.print(f"[bold]{escape(doc['firm']['name'])}[/bold] {uscc} · {doc['year']}")
    for r in doc["items"]:
        out.print(f"[bold]{r['item_id']}[/bold] {escape(r['name'])}: {r['outcome_label']} "
                  f"{_money(r['amount'])} 万元" + (f" · 兑现 {r['payout_state']}" if r["payout_state"] else ""))
        out.print(f"  金额 · {escape(r['formula'])}")
        for x in r["reasons"]:
            out.print(f"  · {escape(x)}")


def _actor() -> str:
    from shanhai.store.audit import cli_user

    return cli_user()


def apply_(item_id: ItemArg, uscc: Annotated[str, typer.Argument(help="统一社会信用代码 USCC.")],
           on: OnOption = None, db: DbOption = None) -> None:
    """申报 Record an enterprise's application for an on-application item."""
    from shanhai.jobs import service_policies as sp

    with _open(db, write=True) as store:
        sp.apply(store, item_id, uscc, actor=_actor(), on=on, on_behalf=True)
    out.print(f"已申报 applied: {uscc} · {item_id}")


def confirm(item_id: ItemArg, uscc: Annotated[str, typer.Argument(help="统一社会信用代码 USCC.")],
            on: OnOption = None, db: DbOption = None) -> None:
    """意愿确认 Record the enterprise's confirmation (by an officer on its behalf)."""
    from shanhai.jobs import service_policies as sp

    with _open(db, write=True) as store:
        sp.confirm(store, item_id, uscc, actor=_actor(), on=on, on_behalf=True)
    out.print(f"已确认 confirmed: {uscc} · {item_id}")


def notice(item_id: ItemArg, region: RegionOption = None, on: OnOption = None,
           days: Annotated[int | None, typer.Option("--days", help="公示天数 Notice days (default: the item's, 7).",
                                                    show_default=False)] = None,
           uscc: UsccOption = None, db: DbOption = None, json_output: JsonOption = False) -> None:
    """公示 Put the confirmed firms of an item on public notice."""
    from shanhai.jobs import service_policies as sp

    with _open(db, write=True) as store:
        rows = sp.notice(store, _scope(store, region), item_id, actor=_actor(), on=on, days=days, uscc=uscc)
    if json_output:
        emit_json(rows)
        return
    out.print(f"公示 on notice: {len(rows)} 家 firms until {rows[0]['notice_until']}")


def approve(item_id: ItemArg, region: RegionOption = None, on: OnOption = None, uscc: UsccOption = None,
            order: Annotated[str | None, typer.Option(
                "--order", help="预算不足时的分配顺序 Allocation order when the budget is short: amount_desc | uscc | "
                                "pro_rata (default: refuse).", show_default=False)] = None,
            db: DbOption = None, json_output: JsonOption = False) -> None:
    """审定 Approve the firms whose notice has ended (the budget is never exceeded)."""
    from shanhai.jobs import service_policies as sp

    with _open(db, write=True) as store:
        rows = sp.approve(store, _scope(store, region), item_id, actor=_actor(), on=on, uscc=uscc, order=order)
    if json_output:
        emit_json(rows)
        return
    done = [r for r in rows if "refused" not in r]
    out.print(f"审定 approved: {len(done)} 家 firms, {_money(sum(r['amount'] for r in done))} 万元")
    for r in done:
        if r.get("note"):
            out.print(f"  {r['uscc']} {r['year']} · {escape(r['note'])}")
    for r in rows:
        if "refused" in r:
            out.print(f"[yellow]  未审定 not approved: {escape(r['refused'])}[/yellow]")


def pay(item_id: ItemArg, region: RegionOption = None, on: OnOption = None, uscc: UsccOption = None,
        stage: Annotated[str | None, typer.Option(
            "--stage", help="分期事项：本次兑现的一期（须为下一期）Staged items: the stage to pay, which must be the next "
                            "unpaid one (default: the next).", show_default=False)] = None,
        db: DbOption = None, json_output: JsonOption = False) -> None:
    """兑现 Pay the approved firms (never twice within a non-stacking group; a staged item one stage per call)."""
    from shanhai.jobs import service_policies as sp

    with _open(db, write=True) as store:
        rows = sp.pay(store, _scope(store, region), item_id, actor=_actor(), on=on, uscc=uscc, stage=stage)
    if json_output:
        emit_json(rows)
        return
    out.print(f"兑现 paid: {len(rows)} 家 firms, {_money(sum(r['stage_amount'] for r in rows))} 万元")
    for r in rows:
        if r["stage"]:
            out.print(f"  {r['uscc']} {r['year']} · 第 {r['stages_paid']}/{r['stages_total']} 期「{escape(r['stage'])}」"
                      f"{_money(r['stage_amount'])} 万元，累计 {_money(r['paid_amount'])} / {_money(r['amount'])} 万元 · "
                      f"{sp.STATE_LABELS[r['state']][0]}")


def list_(item_id: Annotated[str | None, typer.Option("--item", help="政策事项 Item id.", show_default=False)] = None,
          state: Annotated[str | None, typer.Option("--state", help="applied | confirmed | notice | approved | paying | paid",
                                                    show_default=False)] = None,
          year: YearOption = None, region: RegionOption = None, db: DbOption = None,
          json_output: JsonOption = False) -> None:
    """兑现台账 The pay-out ledger: state, dates, amounts and who acted."""
    from shanhai.jobs import service_policies as sp

    with _open(db) as store:
        rows = sp.payments_list(store, _scope(store, region), item_id=item_id, state=state, year=year)
    if json_output:
        emit_json(rows)
        return
    t = Table("事项 item", "企业 firm", "USCC", "区县", "金额(万元)", "已兑现(万元)", "分期", "状态", "确认", "公示至",
              "审定", "兑现")
    for r in rows:
        t.add_row(r["item_id"], escape(r["name"]), r["uscc"], escape(r["county_name"] or ""), _money(r["amount"]),
                  _money(r["paid_amount"]), r["progress"], r["state_label"], str(r["confirmed_on"] or ""),
                  str(r["notice_until"] or ""), str(r["approved_on"] or ""), str(r["paid_on"] or ""))
    out.print(t)


def export(xlsx: Annotated[Path, typer.Option("--xlsx", help="写出工作簿 Workbook to write.")],
           item_id: Annotated[str | None, typer.Option("--item", help="政策事项 Item id.", show_default=False)] = None,
           state: Annotated[str | None, typer.Option("--state", help="状态 State (default: every state).",
                                                     show_default=False)] = None,
           year: YearOption = None, region: RegionOption = None, db: DbOption = None) -> None:
    """导出兑现名单 The payment list in the usual layout (序号 … 开户行/账号, 备注)."""
    from shanhai.jobs import service_policies as sp
    from shanhai.reports.service_excel import payments_bytes

    with _open(db, write=True) as store:
        scope = _scope(store, region)
        rows = sp.payments_list(store, scope, item_id=item_id, state=state, year=year)
        xlsx.write_bytes(payments_bytes(rows, scope={"adcode": scope.adcode, "name": scope.name}))
        audit_export(store, f"service-payments:{item_id or 'all'}", xlsx, kind="service_payments",
                     region=scope.adcode, year=year, rows=len(rows))
    out.print(f"已写出 written: {xlsx}")


app.command("items")(items)
app.command("item")(item)
app.command("match")(match)
app.command("eligible")(eligible)
app.command("firm")(firm)
payout.command("apply")(apply_)
payout.command("confirm")(confirm)
payout.command("notice")(notice)
payout.command("approve")(approve)
payout.command("pay")(pay)
payout.command("list")(list_)
payout.command("export")(export)
