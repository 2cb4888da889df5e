"""The 腾笼换鸟 ledger workbook (xlsxwriter), built from :func:`shanhai.jobs.transition.export_doc`
and returned as bytes, so the web's download and the CLI write the same file.

Sheets: 整治清单 (the register inside the caller's region: action, firm, county, kind, status,
dates, freed land / energy / CO2, basis, rule set, source), 指标余额 (per county freed, allocated
and available land, energy and carbon, and the region's total — freed = allocated + available),
指标分配 (allocations to projects with their intensity, the threshold of their date and the check),
目标进度 (against the 2023 targets), 说明 (the basis, factors, kind rules, thresholds, sources,
which numbers are published and which are Shanhai's, the scope).
"""

from __future__ import annotations

from shanhai.policy._transition import QUOTA_KINDS, QUOTA_UNITS
from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write

REGISTER = (("编号", 18), ("企业", 28), ("统一社会信用代码", 20), ("县(市、区)", 12), ("类型", 12), ("状态", 8),
            ("计划日期", 11), ("完成日期", 11), ("计入年度", 8), ("数据年度", 8), ("腾出土地(亩)", 11),
            ("腾出用能(tce)", 12), ("减碳(t CO2)", 12), ("审核值", 6), ("口径", 12), ("规则", 10), ("来源", 14), ("备注", 24))
BALANCE = (("县(市、区)", 14), ("完成行动", 8)) + tuple(
    (f"{zh}{part}({QUOTA_UNITS[k]})", 13) for k, zh in (("land", "土地"), ("energy", "用能"), ("carbon", "碳排放"))
    for part in ("腾出", "已分配", "可用"))
ALLOC = (("分配编号", 30), ("项目", 24), ("项目编号", 12), ("县(市、区)", 12), ("指标类型", 8), ("数量", 12), ("单位", 7),
         ("分配日期", 11), ("项目用能(tce)", 12), ("项目增加值(万元)", 13), ("能耗强度(tce/万元)", 12), ("准入门槛", 9),
         ("含等于", 6), ("审核结果", 50), ("经办", 14))
PROGRESS = (("目标地区", 10), ("统计地区", 10), ("期间", 22), ("指标", 18), ("单位", 6), ("目标", 12), ("完成", 12),
            ("进度", 8), ("来源", 60))
LABELS = {"firms_eliminated": ("淘汰落后产能企业", "家"), "firms_remediated": ("整治提升企业", "家"),
          "land_mu": ("腾出土地", "亩"), "energy_tce": ("腾出用能", "tce"), "co2_t": ("减碳", "t")}
KIND_ZH = {"land": "土地", "energy": "用能", "carbon": "碳排放"}


def _sheet(wb, f, name: str, title: str, columns) -> object:
    ws = wb.add_worksheet(name)
    ws.merge_range(0, 0, 0, len(columns) - 1, title, f.title)
    for c, (head, width) in enumerate(columns):
        ws.write_string(1, c, head, f.header)
        ws.set_column(c, c, width)
    ws.freeze_panes(2, 0)
    _print_setup(ws, 1)
    return ws


def _f(x):
    return None if x is None else float(x)


def workbook_bytes(doc: dict) -> bytes:
    """The ledger workbook of a region (module docstring)."""
    region = doc["region"]
    name = region.get("name") or region["adcode"]
    b = doc["basis"]
    title = f"{name}腾笼换鸟台账（{b['basis_label']}）"
    wb, buffer = workbook(title, f"规则 {b['rule_set']} 版本 {b['version']}；生成 {doc['generated_at']}")
    f = _Formats(wb)

    ws = _sheet(wb, f, "整治清单", f"{name}整治清单", REGISTER)
    for n, a in enumerate(doc["register"]["actions"], start=2):
        cells = (a["action_id"], a["firm"], a["uscc"], a["county"], a["kind_label"], a["status_label"],
                 str(a["planned_on"] or ""), str(a["done_on"] or ""), a["credit_year"], a["figures_year"],
                 _f(a["freed_land_mu"]), _f(a["freed_energy_tce"]), _f(a["freed_co2_t"]), bool(a["measured"]),
                 a["basis"], a["rule_set"], f"{a['source'] or ''} {a['mujun_class'] or ''}".strip(), a["note"])
        fmts = (f.text,) * 8 + (f.int, f.int, f.num, f.num, f.num, f.center) + (f.text,) * 4
        for c, (v, fm) in enumerate(zip(cells, fmts)):
            _write(ws, n, c, v, fm)

    bal = doc["balances"]
    ws = _sheet(wb, f, "指标余额", f"{name}腾出指标余额（腾出 = 已分配 + 可用）", BALANCE)
    rows = [*bal["counties"], {**bal["total"], "county": f"合计：{bal['total']['county']}"}]
    for n, r in enumerate(rows, start=2):
        cells = [r["county"], r["actions_done"]]
        for k in QUOTA_KINDS:
            cells += [_f(r[k]["freed"]), _f(r[k]["allocated"]), _f(r[k]["available"])]
        for c, v in enumerate(cells):
            _write(ws, n, c, v, f.text if c == 0 else (f.int if c == 1 else f.money))

    ws = _sheet(wb, f, "指标分配", f"{name}腾出指标分配", ALLOC)
    for n, a in enumerate(doc["allocations"], start=2):
        cells = (a["allocation_id"], a["project"], a["project_id"], a["county"], KIND_ZH.get(a["quota_kind"], a["quota_kind"]),
                 _f(a["amount"]), a["unit"], str(a["allocated_on"]), _f(a["project_energy_tce"]),
                 _f(a["project_value_added"]), _f(a["project_intensity"]), _f(a["threshold"]),
                 bool(a["threshold_inclusive"]), a["check_result"], a["created_by"])
        fmts = (f.text,) * 5 + (f.money, f.center, f.text, f.money, f.money, f.ratio, f.num, f.center, f.text, f.text)
        for c, (v, fm) in enumerate(zip(cells, fmts)):
            _write(ws, n, c, v, fm)

    ws = _sheet(wb, f, "目标进度", f"{name}腾笼换鸟目标进度", PROGRESS)
    n = 2
    for t in doc["progress"]["targets"]:
        for i in t["items"]:
            zh, unit = LABELS[i["field"]]
            cells = (t["target_region_name"], t["counted_region_name"], f"{t['period_from']}–{t['period_to']}", zh, unit,
                     _f(i["target"]), _f(i["achieved"]), i["share"],
                     t["source"] + ("" if t["published"] else "（未经证实）"))
            fmts = (f.text,) * 5 + (f.count, f.money, f.pct, f.text)
            for c, (v, fm) in enumerate(zip(cells, fmts)):
                _write(ws, n, c, v, fm)
            n += 1

    fac = b["factors"]
    items = [("地区范围", f"{name}（{region['adcode']}）：只含本地区的整治行动和分配"),
             ("台账口径", f"{b['basis_label']} {b['basis']}（本库台账口径：{b['ledger_basis'] or '尚无记录'}）；同一台账不混用口径"),
             ("规则", f"{b['display_name']}（{b['rule_set']} 版本 {b['version']}，指纹 {b['fingerprint'][:12]}）"),
             ("折算系数", f"电力当量值 {fac['electricity_calorific_kgce_per_kwh']} kgce/kWh；电网排放因子 "
                      f"{fac['grid_co2_kg_per_kwh']} kg CO2/kWh；非电力部分按{fac['other_fuel']} {fac['other_tce_per_unit']} "
                      f"tce/t、{fac['other_co2_t_per_unit']} t CO2/t 计（山海设定）"),
             ("腾出量算法", "完成年度之前最近一年的企业年度数据（土地=自有+租入−租出，综合能耗，用电量）× 行动类型比例；"
                        "有审核值时用审核值；计入企业所在县和完成年度")]
    for k, v in b["kinds"].items():
        items.append((f"行动类型 {v['zh']} {k}", f"土地 {v['land_share']:.0%}，用能 {v['energy_share']:.0%}，减碳 "
                                               f"{v['co2_share']:.0%}（{'已公开' if v['published'] else '山海设定参数(未经证实)'}）"))
    for t in b["thresholds"]:
        items.append((f"新上项目能效门槛（{t['valid_from']} 起）", f"{t['value']} tce/万元 {t['label']}"
                      f"（{'已公开' if t['published'] else '山海设定'}；等于门槛{'准入' if b['inclusive'] else '不准入'}，为参数）"))
    if b["warning"]:
        items.append(("口径提示", b["warning"]))
    items += [(f"来源 {i}", s) for i, s in enumerate(b["sources"], start=1)]
    items.append(("生成时间", doc["generated_at"]))
    notes_sheet(wb, f, items)
    wb.close()
    return buffer.getvalue()
