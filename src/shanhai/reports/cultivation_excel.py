"""The cultivation workbook: 培育库 (pools per county by tier), one sheet of candidates per rule set
(outcome, what is missing, the gap), and 说明 (the basis: data year, assessment date, run or live,
every rule set with its version, fingerprint and source). Built from ``jobs.cultivation.pools``
and ``candidates`` — already limited to the caller's region."""

from __future__ import annotations

from shanhai.policy._rules import cultivation_rule_sets
from shanhai.reports._xlsx import notes_sheet, workbook as new_workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write

POOL_COLUMNS = (("持有称号", "holders"), ("符合（候选）", "candidates"), ("符合", "eligible"), ("待核实", "needs_review"),
                ("接近", "near"), ("不符合", "not_eligible"), ("参评企业", "firms"))
FIRM_COLUMNS = (("统一社会信用代码", 22), ("企业名称", 30), ("所在县", 12), ("结果", 10), ("已持有称号", 10),
                ("未达到的条件", 40), ("缺数据的条件", 30), ("待人工审核", 30), ("差距", 50), ("评分下限", 10),
                ("评分上限", 10))


def _sheet_name(text: str, used: set[str]) -> str:
    name = "".join(ch for ch in text if ch not in "[]:*?/\\")[:28] or "sheet"
    base, n = name, 2
    while name in used:
        name = f"{base[:26]}{n}"
        n += 1
    used.add(name)
    return name


def workbook(doc: dict, lists: list[dict]) -> bytes:
    region = doc["region"]["name"]
    b = doc["basis"]
    wb, buffer = new_workbook(f"{region}梯度培育库", f"数据年度 {b['year']}，评价日期 {b['as_of']}")
    f = _Formats(wb)
    used: set[str] = {"说明"}
    ws = wb.add_worksheet(_sheet_name("培育库", used))
    names = {t["rule_set"]: t for t in doc["totals"]}
    headers = ["县（市、区）"] + [f"{names[n]['tier_label']}·{label}" for n in doc["rule_sets"] for label, _ in POOL_COLUMNS]
    last = len(headers) - 1
    ws.merge_range(0, 0, 0, last, f"{region}梯度培育库（{b['year']}年度数据，评价日期 {b['as_of']}）", f.title)
    for c, h in enumerate(headers):
        ws.write_string(1, c, h, f.header)
        ws.set_column(c, c, 12 if c else 16)
    row = 2
    for county in doc["counties"]:
        _write(ws, row, 0, county["name"], f.text)
        c = 1
        for n in doc["rule_sets"]:
            t = county["tiers"].get(n, {})
            for _, key in POOL_COLUMNS:
                _write(ws, row, c, t.get(key, 0), f.count)
                c += 1
        row += 1
    _write(ws, row, 0, "合计", f.key)
    c = 1
    for n in doc["rule_sets"]:
        for _, key in POOL_COLUMNS:
            _write(ws, row, c, names[n][key], f.count)
            c += 1
    ws.freeze_panes(2, 1)
    _print_setup(ws, 1)
    for lst in lists:
        ws = wb.add_worksheet(_sheet_name(lst["tier_label"] + "-" + lst["rule_set"][-4:], used))
        ws.merge_range(0, 0, 0, len(FIRM_COLUMNS) - 1, f"{region}{lst['display_name']}候选企业（{lst['total']} 家）",
                       f.title)
        for c, (h, w) in enumerate(FIRM_COLUMNS):
            ws.write_string(1, c, h, f.header)
            ws.set_column(c, c, w)
        for r, x in enumerate(lst["firms"], start=2):
            vals = [(x["uscc"], f.center), (x["name"], f.text), (x["county_name"], f.text), (x["outcome_label"], f.center),
                    ("是" if x["holds_title"] else "", f.center), ("；".join(x["missed_labels"]), f.text),
                    ("；".join(x["unknown_labels"]), f.text), ("；".join(x["manual_labels"]), f.text),
                    ("；".join(x["gaps"]), f.text), (x["score_low"], f.num), (x["score_high"], f.num)]
            for c, (v, fmt) in enumerate(vals):
                _write(ws, r, c, v, fmt)
        ws.freeze_panes(2, 2)
        _print_setup(ws, 1)
    sets = cultivation_rule_sets()
    items = [("地区", f"{region}（{doc['region']['adcode']}）"), ("数据年度（上年度）", b["year"]),
             ("评价日期", b["as_of"]),
             ("筛选批次", b.get("run_id") or "即时评估（未存档）"), ("数据指纹", b.get("data_fingerprint", ""))]
    for r in b["rule_sets"]:
        rs = sets.get(r["name"])
        items.append((f"规则 {r['name']}", f"{rs.display_name if rs else r['name']} v{r['version']}，指纹 "
                                          f"{r['fingerprint']}；来源：{rs.source if rs else ''}"))
    items += [("结果说明", "符合：全部条件达到；待核实：无未达到条件，但有缺数据或须人工审核的条件（缺数据≠不符合）；"
                       "接近：未达到的条件不超过规则允许的项数且每项差距在规则的接近幅度内；不符合：其余。"),
              ("数据范围", "仅含导出人权限范围内的企业。")]
    notes_sheet(wb, f, items)
    wb.close()
    return buffer.getvalue()
