"""一县一业 workbook of a county (xlsxwriter), in the house style of ``mujun_excel``.

Sheets: 汇总 (the county's ECI and rank by year, its declared lead industries), 建议 (the
classes to develop and to strengthen, with the reasons), 机会图 (feasibility × attractiveness:
density against complexity outlook gain for the classes the county lacks, declared lead
industries and suggestions as their own series, as the Atlas of Economic Complexity draws it),
全部行业 (every class of the computation), 说明 (method and provenance).

It writes what :func:`shanhai.jobs.opportunities.opportunities` returned, nothing else: the scope
check happened there.
"""

from __future__ import annotations

from shanhai.jobs.opportunities import Opportunities
from shanhai.reports.mujun_excel import (Exported, _check_path, _close, _Formats, _print_setup, _table, _widths,
                                         _write)

SUGGESTION_LABELS = {"develop": "培育 develop", "strengthen": "做强 strengthen"}


def opportunities_workbook(result: Opportunities, path) -> Exported:
    """Write the county's opportunities to ``path`` (.xlsx)."""
    from shanhai.reports._safe import workbook as safe_workbook

    path = _check_path(path)
    wb = safe_workbook(str(path))
    f = _Formats(wb)
    out = Exported(path=str(path), kind="opportunities", run_id="", region=result.adcode)
    title = f"{result.name} 一县一业 产业机会 ({result.year} 年, {result.measure_label})"
    out.sheets["汇总"] = _summary_sheet(wb, f, result, title)
    out.sheets["建议"] = _suggestions_sheet(wb, f, result, title)
    out.sheets["机会图"] = _chart_sheet(wb, f, result, title)
    out.sheets["全部行业"] = _industries_sheet(wb, f, result, title)
    out.sheets["说明"] = _notes_sheet(wb, f, result)
    _close(wb, path)
    return out


def _title(ws, f, title: str, width: int) -> None:
    ws.merge_range(0, 0, 0, width - 1, title, f.title)
    ws.set_row(0, 30)


def _summary_sheet(wb, f, r: Opportunities, title: str) -> int:
    ws = wb.add_worksheet("汇总")
    history = [("年度 year", 10), ("经济复杂度 ECI", 16), ("排名 rank", 10), ("参与县数 counties", 16)]
    _title(ws, f, title, 6)
    top = _table(ws, f, 2, history, [[(h["year"], f.int), (h["eci"], f.ratio), (h["rank"], f.int),
                                      (h["counties"], f.int)] for h in r.eci_history],
                 title=f"经济复杂度 Economic complexity of {r.name} ({r.adcode}); 1 = 最复杂 most complex")
    leads = [("主导产业 lead industry", 24), ("代码 codes", 16), ("行业小类 classes", 12), ("已有 present", 12),
             ("占本县比重 share", 16), ("建议行业 suggested (rank)", 60)]
    rows = [[(x["name"], f.text), ("; ".join(x["codes"]), f.text), (x["classes"], f.int), (x["present"], f.int),
             (x["share"], f.pct),
             ("; ".join(f"{s['code']} {s['name']} ({SUGGESTION_LABELS[s['suggestion']][:2]} #{s['rank']})"
                        for s in x["suggested"]), f.text)] for x in r.leads]
    _table(ws, f, top, leads, rows, title="已申报主导产业 Declared lead industries (一县一业)" if rows else
           "未申报主导产业 No declared lead industry for this county")
    _widths(ws, leads)
    _print_setup(ws, 0)
    return len(r.eci_history) + len(r.leads)


_SUGGESTION_COLUMNS = [("建议 suggestion", 16), ("名次 rank", 8), ("代码 code", 8), ("行业 class", 30),
                       ("主导产业 lead", 16), ("可行性 density", 12), ("机会增益 COG", 12), ("复杂度 PCI", 12),
                       ("RCA", 10), ("得分 score", 10), ("理由 reason", 70), ("reason", 70)]


def _suggestion_row(f, x: dict) -> list[tuple]:
    return [(SUGGESTION_LABELS.get(x["suggestion"], ""), f.text), (x["rank"], f.int), (x["code"], f.center),
            (x["name"], f.text), (x["lead"], f.text), (x["density"], f.ratio), (x["cog"], f.ratio),
            (x["pci"], f.ratio), (x["rca"], f.num), (x["score"], f.ratio), (x["reason_zh"], f.text),
            (x["reason_en"], f.text)]


def _suggestions_sheet(wb, f, r: Opportunities, title: str) -> int:
    ws = wb.add_worksheet("建议")
    _title(ws, f, title, len(_SUGGESTION_COLUMNS))
    rows = [_suggestion_row(f, x) for x in [*r.develop, *r.strengthen]]
    _table(ws, f, 1, _SUGGESTION_COLUMNS, rows)
    _widths(ws, _SUGGESTION_COLUMNS)
    ws.freeze_panes(2, 4)
    _print_setup(ws, 1)
    return len(rows)


def _chart_sheet(wb, f, r: Opportunities, title: str) -> int:
    """The points (density, COG) of the absent classes in three groups, and a scatter chart."""
    ws = wb.add_worksheet("机会图")
    absent = [x for x in r.industries if not x["present"] and x["density"] is not None and x["cog"] is not None]
    groups = (("建议培育 suggested", [x for x in absent if x["rank"] is not None and x["rank"] <= len(r.develop)]),
              ("主导产业 declared lead", [x for x in absent if x["lead"] and
                                         (x["rank"] is None or x["rank"] > len(r.develop))]),
              ("其他未有行业 other absent", [x for x in absent if not x["lead"] and
                                            (x["rank"] is None or x["rank"] > len(r.develop))]))
    headers = [("组 group", 22), ("代码 code", 8), ("行业 class", 30), ("可行性 density", 12), ("机会增益 COG", 12)]
    _title(ws, f, title, len(headers))
    for c, (h, _) in enumerate(headers):
        ws.write_string(1, c, h, f.header)
    chart = wb.add_chart({"type": "scatter"})
    row = 2
    for (label, members), colour in zip(groups, ("#d73027", "#4575b4", "#bdbdbd")):
        if not members:
            continue
        first = row
        for x in members:
            for c, (value, fmt) in enumerate(((label, f.text), (x["code"], f.center), (x["name"], f.text),
                                              (x["density"], f.ratio), (x["cog"], f.ratio))):
                _write(ws, row, c, value, fmt)
            row += 1
        chart.add_series({"name": label, "categories": ["机会图", first, 3, row - 1, 3],
                          "values": ["机会图", first, 4, row - 1, 4],
                          "marker": {"type": "circle", "size": 5 if colour == "#bdbdbd" else 7,
                                     "fill": {"color": colour}, "border": {"color": colour}}})
    chart.set_title({"name": f"{r.name} 可行性 × 吸引力 Feasibility × attractiveness ({r.year})"})
    chart.set_x_axis({"name": "可行性 density (feasibility)", "major_gridlines": {"visible": True}})
    chart.set_y_axis({"name": "机会增益 complexity outlook gain (attractiveness)"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 900, "height": 560})
    ws.insert_chart(1, len(headers) + 1, chart)
    _widths(ws, headers)
    _print_setup(ws, 1)
    return row - 2


def _industries_sheet(wb, f, r: Opportunities, title: str) -> int:
    ws = wb.add_worksheet("全部行业")
    headers = [("代码 code", 8), ("行业 class", 30), (f"{r.measure_label} ({r.unit})", 14), ("占比 share", 10),
               ("RCA", 10), ("已有 present", 8), ("上年 RCA previous", 12), ("变化 change", 10),
               ("可行性 density", 12), ("复杂度 PCI", 12), ("机会增益 COG", 12), ("主导产业 lead", 16),
               ("建议 suggestion", 16), ("名次 rank", 8), ("得分 score", 10)]
    _title(ws, f, title, len(headers))
    changes = {"new": "新增 new", "lost": "失去 lost"}
    rows = [[(x["code"], f.center), (x["name"], f.text), (x["value"], f.money), (x["share"], f.pct),
             (x["rca"], f.num), (x["present"], f.center), (x["rca_previous"], f.num),
             (changes.get(x["change"], ""), f.text), (x["density"], f.ratio), (x["pci"], f.ratio),
             (x["cog"], f.ratio), (x["lead"], f.text), (SUGGESTION_LABELS.get(x["suggestion"], ""), f.text),
             (x["rank"], f.int), (x["score"], f.ratio)] for x in r.industries]
    _table(ws, f, 1, headers, rows)
    _widths(ws, headers)
    ws.freeze_panes(2, 2)
    ws.autofilter(1, 0, 1 + len(rows), len(headers) - 1)
    _print_setup(ws, 1)
    return len(rows)


def _notes_sheet(wb, f, r: Opportunities) -> int:
    ws = wb.add_worksheet("说明")
    p = r.provenance
    items = [
        ("地区 County", f"{r.name} ({r.adcode})"),
        ("年度 Year", f"{r.year} (计算用年度 years computed: {', '.join(map(str, p['years']))})"),
        ("指标 Measure", f"{r.measure_label} ({r.measure}), {r.unit}; 本县合计 county total {r.total:,.2f}"),
        ("口径 Input", "enterprise_years ⋈ enterprises, 按县 × 国民经济行业小类 (GB/T 4754-2017, 4 位) 汇总, "
                     "含规上与规下全部有该指标的企业; 全省 90 个县(市、区)共同计算 (all counties of the province)."),
        ("方法 Method", p["method"]),
        ("可行性 Density", "ω_cp = Σ_q M_cq φ_pq / Σ_q φ_pq: 与该行业相关的行业中本县已有的比重 (the related industries "
                         "the county already has)."),
        ("机会增益 COG", "COG_cp = (1 − M_cp) Σ_q (1 − M_cq) φ_qp PCI_q / Σ_r φ_qr ÷ sd(ECI): 发展该行业后, 本县通往"
                       "更复杂行业的机会增加多少 (how much closer to more complex industries adding it brings)."),
        ("参与计算 Computed over", f"{p['counties']} 个县 counties × {p['classes']} 个行业小类 classes; "
                                 f"{p['firms']:,} 家企业 firm-years in {r.year}"),
        ("数据集 Datasets", ", ".join(p["datasets"])),
        ("数据指纹 Fingerprint", p["fingerprint"]),
        ("程序版本 Code version", p["code_version"]),
        ("注意 Caveat", "主导产业来自参考数据 (建模输入, 非正式文件); 建议是结构分析的起点, 需结合本地要素、政策与市场判断。 "
                      "Declared lead industries are reference data (a modelling input); suggestions are a starting "
                      "point for local judgement, not a decision."),
    ]
    ws.write_string(0, 0, "项目", f.header)
    ws.write_string(0, 1, "内容", f.header)
    for n, (k, v) in enumerate(items, 1):
        ws.write_string(n, 0, k, f.key)
        ws.write_string(n, 1, str(v), f.value)
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 100)
    _print_setup(ws, 0)
    return len(items)
