"""The carbon-efficiency workbook (工业碳效码, xlsxwriter), built from
:func:`shanhai.jobs.carbon.export_doc` and returned as bytes, so the web's download and the CLI
write the same file.

Sheets: 碳效码 (the caller's own firms of the run and year: energy in tce 当量值 and 等价值, CO2,
value added, L, level, the industry's L, K, grade, badge, flag), 行业 (each industry of the region:
firms, CO2, value added, L, under the low-carbon line or not), 低碳占比 (each region cell in scope:
low-carbon VA share against the target), 因子 (the factor set used, with sources and status),
说明 (the run, the preset, the formulas, published vs assumed, the scope).
"""

from __future__ import annotations

import datetime as dt

from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write

FIRM_COLUMNS = (("统一社会信用代码", 20), ("企业名称", 26), ("县(市、区)", 10), ("行业", 18), ("年度", 6),
                ("综合能耗 当量值(tce)", 12), ("综合能耗 等价值(tce)", 12), ("二氧化碳(t)", 12), ("增加值(万元)", 12),
                ("碳排放强度 L(t/万元)", 12), ("碳效水平", 8), ("行业强度(t/万元)", 12), ("行业企业数", 8),
                ("碳效值 K", 9), ("碳效等级", 8), ("碳效码", 9), ("说明", 22))
IND_COLUMNS = (("行业代码", 8), ("行业", 28), ("企业数", 8), ("二氧化碳(t)", 14), ("增加值(万元)", 14),
               ("综合能耗 等价值(tce)", 14), ("碳排放强度(t/万元)", 12), ("低碳产业", 8))
SHARE_COLUMNS = (("地区代码", 10), ("地区", 14), ("层级", 8), ("年度", 6), ("行业数", 7), ("低碳行业数", 8),
                 ("低碳行业增加值(万元)", 16), ("制造业增加值(万元)", 16), ("低碳占比", 9), ("目标", 7), ("达标", 6))
LEVEL_ZH = {"province": "全省", "city": "设区市", "county": "县(市、区)"}


def workbook_bytes(doc: dict) -> bytes:
    run, year = doc["run"], doc["year"]
    title = f"工业碳效码 {year}年（{doc['scope']['name'] or doc['scope']['adcode']}）"
    wb, buffer = workbook(title, f"批次 {run['run_id']}；口径 {run['preset']} {run['preset_version']}")
    f = _Formats(wb)

    ws = wb.add_worksheet("碳效码")
    ws.merge_range(0, 0, 0, len(FIRM_COLUMNS) - 1, title, f.title)
    for c, (name, width) in enumerate(FIRM_COLUMNS):
        ws.write_string(1, c, name, f.header)
        ws.set_column(c, c, width)
    firms = doc["grades"]["firms"]
    for n, r in enumerate(firms, 2):
        cells = (r["uscc"], r["name"], r["county_name"], f"{r['industry']} {r['industry_name'] or ''}", r["year"],
                 r["tce_equivalent"], r["tce_equal"], r["co2_t"], r["value_added"], r["intensity"], r["level_label"],
                 r["industry_intensity"], r["industry_firms"], r["k"], r["grade"], r["badge"], r["flag_label"])
        for c, v in enumerate(cells):
            fmt = f.ratio if c in (9, 11, 13) else f.num if c in (5, 6, 7, 8) else f.int if c in (4, 12, 14) else f.text
            _write(ws, n, c, v, fmt)
    if not firms:
        ws.write_string(2, 0, "本地区本年度没有评级企业", f.text)
    ws.freeze_panes(2, 2)
    ws.autofilter(1, 0, max(2, len(firms) + 1), len(FIRM_COLUMNS) - 1)
    _print_setup(ws, 1)

    ws = wb.add_worksheet("行业")
    for c, (name, width) in enumerate(IND_COLUMNS):
        ws.write_string(0, c, name, f.header)
        ws.set_column(c, c, width)
    for n, r in enumerate(doc["industries"]["industries"], 1):
        cells = (r["industry"], r["industry_name"], r["firms"], r["co2_t"], r["value_added"], r["tce_equal"],
                 r["intensity"], "是" if r["low_carbon"] else "否")
        for c, v in enumerate(cells):
            _write(ws, n, c, v, f.ratio if c == 6 else f.num if c in (3, 4, 5) else f.int if c == 2 else f.text)
    ws.freeze_panes(1, 2)
    _print_setup(ws, 0)

    ws = wb.add_worksheet("低碳占比")
    for c, (name, width) in enumerate(SHARE_COLUMNS):
        ws.write_string(0, c, name, f.header)
        ws.set_column(c, c, width)
    for n, r in enumerate(doc["share"]["rows"], 1):
        cells = (r["adcode"], r["region_name"], LEVEL_ZH.get(r["region_level"]), r["year"], r["industries"],
                 r["low_industries"], r["low_carbon_va"], r["total_va"], r["share"], r["target"],
                 None if r["meets_target"] is None else ("是" if r["meets_target"] else "否"))
        for c, v in enumerate(cells):
            _write(ws, n, c, v, f.ratio if c in (8, 9) else f.num if c in (6, 7) else f.int if c in (3, 4, 5) else f.text)
    ws.freeze_panes(1, 2)
    _print_setup(ws, 0)

    fx = doc["factors"]
    ws = wb.add_worksheet("因子")
    for c, (name, width) in enumerate((("品种/系列", 22), ("地域", 10), ("年份", 6), ("单位", 6),
                                       ("折标系数(tce/单位)", 14), ("排放因子(tCO2/单位)", 14), ("状态", 10), ("来源", 80))):
        ws.write_string(0, c, name, f.header)
        ws.set_column(c, c, width)
    rows = [(v["label"], "", "", v["unit"], v["tce_per_unit"], v["co2_per_unit"], v["status"], v["source"]) for v in fx["fuels"]]
    rows.append(("电力 当量值", "", "", "kWh", fx["electricity_equivalent"]["tce_per_kwh"], None, "published",
                 fx["electricity_equivalent"]["source"]))
    rows += [("电力 等价值", "", e["year"], "kWh", e["tce_per_kwh"], None, e["status"], e["source"]) for e in fx["electricity_equal"]]
    rows += [(g["series"], g["geography"], g["year"], "kWh", None, g["t_per_kwh"], g["status"], g["source"]) for g in fx["grid"]]
    for n, row in enumerate(rows, 1):
        for c, v in enumerate(row):
            _write(ws, n, c, v, f.text if c not in (2, 4, 5) else f.int if c == 2 else f.ratio)

    used = "；".join(f"{y}年: 电网因子 {u['grid_t_per_kwh'] * 1000:.4f} kg/kWh（{u['grid_year']}年）、电力等价值 "
                    f"{u['equal_tce_per_kwh'] * 1000:.4f} kgce/kWh（{u['equal_year']}年）"
                    for y, u in (run.get("factors_used") or {}).items())
    notes_sheet(wb, f, [
        ("计算批次", run["run_id"]), ("年度", year), ("地区", f"{run['region_name']}（{run['region']}）"),
        ("口径", f"{run['preset']} 版本 {run['preset_version']}"),
        ("因子", f"{fx['name']} 版本 {fx['version']}；电网因子系列 {run['grid_series']}，地域 {run['grid_geography']}"),
        ("所用因子", used or "—"),
        ("零碳电力扣减", "扣减（绿电、自发自用光伏排放为零，不计入综合能耗）" if run["deduct"] else "不扣减（按电网电力计）"),
        ("行业平均", "行业排放总量 ÷ 行业增加值总量（比值之和）" if run["aggregation"] == "ratio_of_sums"
         else "企业强度的算术平均（可选口径）"),
        ("公式", "L = 二氧化碳排放量 ÷ 工业增加值（t/万元）；碳效水平：L ≤ 0.6 低碳，≤ 2.0 中碳，其余高碳；"
                "K = L ÷ 同期行业 L；碳效等级：K ≤ 0.6 一级，≤ 0.8 二级，≤ 1.2 三级，≤ 2.0 四级，其余五级（上限含）；"
                "增加值 ≤ 0 不评级。"),
        ("来源与可信度", "评级方法为 规上工业企业碳效等级评价方法 OCR 副本（二手资料），DB33/T 1347-2023 正文未见；"
                    "电力等价值系数为山海设定参数（未经证实）；55% 低碳占比目标未经证实。详见 docs/carbon.md。"),
        ("低碳产业", f"行业强度 ≤ {doc['share']['line']:g} t/万元；目标占比 {doc['share']['target']:.0%}"
                   f"（{doc['share']['target_year']} 年，{doc['share']['target_status']}）"),
        ("数据范围", f"{doc['scope']['name'] or doc['scope']['adcode']}：只含本地区企业与本地区及下辖地区的汇总"),
        ("导出时间", dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
    ])
    wb.close()
    return buffer.getvalue()
