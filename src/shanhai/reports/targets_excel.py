"""The targets workbook (目标监测, xlsxwriter) built from the documents of
:mod:`shanhai.jobs.targets` and returned as bytes, so the web's download and the CLI write the
same file.

Sheets: 目标监测 (one row per target and region or zone: value, growth, 序时进度, completion,
gap, light, year-end forecast and its interval, the document), 预警清单 (the watch list),
综合指数 (the composite index of each group given), 指标库 (the registry: definition, unit,
department, source and formula, cadence, direction, thresholds), 说明 (as-of, rules, basis).
Every row is a region's or a zone's figure; the documents arrive already cut to the caller's scope.
"""

from __future__ import annotations

import datetime as dt

from shanhai.analysis.targets import LIGHT_LABELS, METHOD_LABELS
from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write

KIND_LABELS = {"level": "总量/水平", "growth": "增速"}
HORIZON_LABELS = {"past": "往年(年终)", "current": "本年", "future": "远期"}
STATUS_COLUMNS = (("灯", 6), ("地区/平台", 18), ("层级", 8), ("指标", 26), ("单位", 10), ("目标年度", 8),
                  ("目标类型", 8), ("目标值", 11), ("期间", 9), ("实际值", 13), ("同比增速%", 10),
                  ("序时进度", 9), ("完成率", 9), ("完成÷序时", 10), ("差距(点)", 9), ("预计全年", 13),
                  ("预计区间", 22), ("预计方法/回测误差", 24), ("预计难完成", 8), ("较上月", 7), ("时段", 8),
                  ("来源", 8), ("依据文件", 50))
WATCH_COLUMNS = (("类别", 8), ("地区/平台", 18), ("指标", 26), ("灯", 6), ("实际/增速", 12), ("目标", 11),
                 ("预计", 12), ("原因", 24))
INDEX_COLUMNS = (("排名", 6), ("地区", 16), ("综合指数", 10))
REGISTRY_COLUMNS = (("指标代码", 22), ("指标名称", 26), ("English", 34), ("定义", 50), ("单位", 12), ("责任部门", 12),
                    ("来源", 8), ("计算方法", 50), ("频度", 6), ("月度累计", 8), ("方向", 8), ("主看", 8),
                    ("预警线", 9), ("优秀线", 9))
LEVEL_ZH = {"province": "省", "city": "市", "county": "县", "zone": "平台"}


def _header(ws, f, columns, row=0):
    for c, (name, width) in enumerate(columns):
        ws.write_string(row, c, name, f.header)
        ws.set_column(c, c, width)
    ws.freeze_panes(row + 1, 0)


def _fmt(v, digits=2):
    return "" if v is None else f"{v:,.{digits}f}"


def workbook_bytes(status: dict, watch: dict | None = None, index: list[dict] | None = None,
                   registry: list[dict] | None = None) -> bytes:
    region = status["region"]["name"]
    a = status["as_of"]
    wb, buffer = workbook(f"{region}目标监测（{a['year']}年1–{a['month']}月）",
                          f"规则 {status['rules']['name']} {status['rules']['version']}；数据指纹 {status['fingerprint']}")
    f = _Formats(wb)
    ws = wb.add_worksheet("目标监测")
    _header(ws, f, STATUS_COLUMNS)
    for n, r in enumerate(status["rows"], 1):
        fc = r.get("forecast") or {}
        growth = r["kind"] == "growth"
        point = fc.get("growth") if growth else fc.get("point")
        lo, hi = (fc.get("growth_low"), fc.get("growth_high")) if growth else (fc.get("low"), fc.get("high"))
        method = ""
        if fc.get("method"):
            method = (f"{METHOD_LABELS[fc['method']][0]}；回测 {fc['n_backtests']} 年 RMSE "
                      f"{_fmt(100 * fc['rmse'] if fc.get('rmse') is not None else None, 1)}%")
        cells = [LIGHT_LABELS[r["light"]][0], r["entity_name"], LEVEL_ZH.get(r["level"], r["level"]),
                 r["indicator_name"], r["unit"], r["target_year"], KIND_LABELS[r["kind"]], r["target"], r["period"],
                 r["actual"], r["growth"], r["progress"], r["completion"], r["ratio"], r["gap_points"], point,
                 f"{_fmt(lo)} – {_fmt(hi)}" if lo is not None else "", method,
                 r["trending_to_miss"], {"better": "↑", "worse": "↓"}.get(r.get("change") or "", ""),
                 HORIZON_LABELS[r["horizon"]], r["origin"], r.get("source") or ""]
        fmts = [f.center, f.text, f.center, f.text, f.center, f.int, f.center, f.num, f.center, f.money, f.num,
                f.pct, f.pct, f.pct, f.num, f.money, f.text, f.text, f.center, f.center, f.center, f.center, f.text]
        for c, (v, fm) in enumerate(zip(cells, fmts)):
            _write(ws, n, c, v, fm)
    _print_setup(ws, 0)
    if watch is not None:
        ws = wb.add_worksheet("预警清单")
        _header(ws, f, WATCH_COLUMNS)
        for n, i in enumerate(watch["items"], 1):
            cells = ["目标" if i["kind"] == "target" else "预警线", i["entity_name"], i["indicator_name"],
                     LIGHT_LABELS[i["light"]][0] if i.get("light") else "", i.get("figure"), i.get("target"),
                     i.get("forecast"), i["reason"]]
            for c, (v, fm) in enumerate(zip(cells, [f.center, f.text, f.text, f.center, f.num, f.num, f.num, f.text])):
                _write(ws, n, c, v, fm)
        _print_setup(ws, 0)
    for doc in index or []:
        ws = wb.add_worksheet(f"综合指数-{doc['group_label']}"[:31])
        cols = INDEX_COLUMNS + tuple((f"{it['name']}({'增速' if it['measure'] == 'growth' else '水平'}) 权重"
                                      f"{it['weight']:g}", 14) for it in doc["items"])
        _header(ws, f, cols)
        for n, r in enumerate(doc["rows"], 1):
            _write(ws, n, 0, r["rank"], f.int)
            _write(ws, n, 1, r["name"], f.text)
            _write(ws, n, 2, r["index"], f.num)
            for c, it in enumerate(doc["items"], 3):
                _write(ws, n, c, r["scores"].get(it["key"]), f.num)
        _print_setup(ws, 0)
    if registry is not None:
        ws = wb.add_worksheet("指标库")
        _header(ws, f, REGISTRY_COLUMNS)
        for n, i in enumerate(registry, 1):
            cells = [i["indicator_id"], i["name"], i["name_en"], i["definition"], i["unit"], i["department"],
                     "计算" if i["source"] == "computed" else "导入", i["formula"],
                     {"year": "年", "quarter": "季", "month": "月"}[i["cadence"]], i["cumulative"],
                     "越高越好" if i["direction"] == "higher" else "越低越好",
                     "增速" if i["headline"] == "growth" else "水平", i["alert_threshold"], i["excellence_threshold"]]
            for c, v in enumerate(cells):
                _write(ws, n, c, v, f.text if isinstance(v, str) else f.num)
        _print_setup(ws, 0)
    basis = {"months": "已过月数÷12", "days": "已过天数÷全年天数", "plan": "分月计划累计比例"}[a["basis"]]
    notes = [("地区", f"{region}（{status['region']['adcode']}）"), ("截至", f"{a['year']}年1–{a['month']}月"),
             ("序时进度", f"{100 * a['progress']:.2f}%（{basis}）"),
             ("亮灯规则", f"{status['rules']['display_name']}（{status['rules']['name']} {status['rules']['version']}）"),
             ("规则依据", status["rules"]["source"]), ("指标库版本", status.get("registry_version")),
             ("增速目标", "差距 = 实际累计增速 − 目标增速（点）；越低越好的指标反向"),
             ("总量目标", "完成率 = 实际 ÷ 目标；本年月度累计指标与序时进度比较：完成 ÷ (目标 × 序时进度)"),
             ("远期目标", "已达到为绿；否则按所需年均增速与最近一年增速比较：赶得上为黄，赶不上为红"),
             ("年末预计", "预计估算法(上年同期占全年比重)与季节朴素法(余月同上年)，取历年回测误差较小者；区间 = 预计 × (1 ± 1.645 × 回测相对误差均方根)"),
             ("数据指纹", status["fingerprint"]), ("导出时间", dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
             ("范围", "仅含调用者权限范围内的地区与平台的数值，不含任何企业数据")]
    notes_sheet(wb, f, notes)
    wb.close()
    return buffer.getvalue()
