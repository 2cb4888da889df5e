"""Support-policy workbooks (惠企政策直达, xlsxwriter), returned as bytes so the web's download and
the CLI write the same file.

* :func:`payments_bytes` — the payment list in the usual layout (兑现名单): 序号, 企业名称,
  统一社会信用代码, 所属区县, 政策事项, 文件依据, 兑现金额(万元) (approved), 已兑现(万元) (paid so
  far: a staged award is paid one stage at a time), 开户行/账号 (if known), 备注 (state, stages paid,
  dates, who acted), a total row, and a 说明 sheet;
* :func:`match_bytes` — one item's match results: outcome, amount, formula, reasons and what is
  missing per firm, and the 说明 sheet (run, item, document, budget and budget needed).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write

PAY_COLUMNS = (("序号", 6), ("企业名称", 30), ("统一社会信用代码", 22), ("所属区县", 12), ("政策事项", 30),
               ("文件依据", 30), ("兑现金额(万元)", 14), ("已兑现(万元)", 14), ("开户行/账号", 34), ("备注", 40))
MONEY_COLUMNS = (6, 7)
MATCH_COLUMNS = (("序号", 6), ("企业名称", 30), ("统一社会信用代码", 22), ("所属区县", 12), ("匹配结果", 10),
                 ("金额(万元)", 12), ("候选金额", 14), ("金额计算", 50), ("条件与理由", 70), ("缺失或未达条件", 50),
                 ("兑现状态", 10))


def _state_label(state: str | None) -> str:
    from shanhai.jobs.service_policies import STATE_LABELS

    return STATE_LABELS.get(state, (state,))[0] if state else ""


def _num(v):
    return None if v is None else float(Decimal(v))


def _header(ws, f, title, columns):
    ws.merge_range(0, 0, 0, len(columns) - 1, title, f.title)
    for c, (name, width) in enumerate(columns):
        ws.write_string(1, c, name, f.header)
        ws.set_column(c, c, width)
    ws.freeze_panes(2, 0)
    _print_setup(ws, 1)


def payments_bytes(rows: list[dict], *, scope: dict, title: str = "惠企政策兑现名单") -> bytes:
    """The payment list (module docstring); ``rows`` from :func:`shanhai.jobs.service_policies.payments_list`."""
    wb, buffer = workbook(title, f"范围 {scope.get('adcode')}；{len(rows)} 条")
    f = _Formats(wb)
    ws = wb.add_worksheet("兑现名单")
    _header(ws, f, title, PAY_COLUMNS)
    total = paid = Decimal("0")
    for n, r in enumerate(rows, 1):
        row = n + 1
        notes = [r["state_label"]] + ([r["progress"]] if r.get("progress") else [])
        for key, word in (("confirmed_on", "确认"), ("notice_from", "公示"), ("approved_on", "审定"), ("paid_on", "兑现")):
            if r.get(key):
                notes.append(f"{word} {r[key]}")
        if r.get("on_behalf"):
            notes.append("经办人代确认")
        if r.get("note"):
            notes.append(r["note"])
        vals = [n, r["name"], r["uscc"], r.get("county_name") or r["county_adcode"], r.get("item_name") or r["item_id"],
                r.get("document") or "", _num(r["amount"]), _num(r.get("paid_amount") or 0),
                r.get("bank_account") or "", "；".join(notes)]
        for c, v in enumerate(vals):
            _write(ws, row, c, v, f.money if c in MONEY_COLUMNS else (f.center if c == 0 else f.text))
        if r["amount"] is not None:
            total += Decimal(r["amount"])
        paid += Decimal(r.get("paid_amount") or 0)
    last = len(rows) + 2
    ws.write_string(last, 0, "合计", f.key)
    ws.write_number(last, 6, float(total), f.money)
    ws.write_number(last, 7, float(paid), f.money)
    notes_sheet(wb, f, [("名单", title), ("范围", f"{scope.get('name', '')} {scope.get('adcode', '')}"),
                        ("条数", str(len(rows))), ("合计(万元)", str(total)), ("已兑现合计(万元)", str(paid)),
                        ("生成时间", dt.datetime.now().isoformat(timespec="seconds")),
                        ("口径", "金额单位万元；兑现状态：已申报→已确认→公示中→已审定→（分期兑现中→）已兑现；"
                                 "分期事项每次兑现一期，已兑现为各期之和；公示期默认7天（莲都 2022 兑现公告 C1）"),
                        ("开户行/账号", "来自 service_facts.bank_account，未知时留空")])
    wb.close()
    return buffer.getvalue()


def match_bytes(doc: dict) -> bytes:
    """One item's match results; ``doc`` from :func:`shanhai.jobs.service_policies.item_results`."""
    it, run = doc["item"], doc["run"]
    title = f"{it['name']} 匹配结果（{run['year']}年）"
    wb, buffer = workbook(title, f"批次 {run['run_id']}；事项 {it['item_id']} 版本 {it['version']}")
    f = _Formats(wb)
    ws = wb.add_worksheet("匹配结果")
    _header(ws, f, title, MATCH_COLUMNS)
    from shanhai.analysis.service import REVIEW_LABELS, SERVICE_OUTCOME_LABELS

    need = Decimal("0")
    for n, r in enumerate(doc["rows"], 1):
        label = SERVICE_OUTCOME_LABELS[r["outcome"]][0]
        if r.get("review"):
            label += f"（{REVIEW_LABELS.get(r['review'], r['review'])}）"
        if r.get("stacked_out"):
            label += "（同组就高）"
        vals = [n, r["name"], r["uscc"], r.get("county_name") or r["county_adcode"], label, _num(r["amount"]),
                r.get("candidates") or "", r.get("formula") or "", "\n".join(r["reasons"]), "\n".join(r["missing"]),
                _state_label(r.get("payout_state"))]
        for c, v in enumerate(vals):
            _write(ws, n + 1, c, v, f.money if c == 5 else (f.center if c == 0 else f.text))
        if r["outcome"] == "eligible" and r["amount"] is not None and not r.get("stacked_out"):
            need += Decimal(r["amount"])
    notes_sheet(wb, f, [("事项", f"{it['name']}（{it['item_id']} 版本 {it['version']}）"), ("文件依据", it["document"]),
                        ("来源", it["source"]), ("兑现方式", it["payment_mode_label"]),
                        ("预算(万元)", "未设定" if it["budget"] is None else str(it["budget"])),
                        ("所需资金(万元)", str(need)), ("匹配批次", run["run_id"]), ("数据年度", str(run["year"])),
                        ("说明", "；".join(it["notes"])),
                        ("口径", "未列出的企业为不符合；待人工审核＝缺数据、需人工判断或金额表述不明确，不视为符合")])
    wb.close()
    return buffer.getvalue()
