"""The zone evaluation workbook (开发区综合评价, xlsxwriter), built from
:func:`shanhai.jobs.zones.export_doc` and returned as bytes, so the web's download and the CLI
write the same file.

Sheets: 排名 (every zone of the run by comparison group: rank, score, tier, 进档/退档, bottom-N
streak and action — public figures), 指标得分 (the caller's own zones only: each indicator's value,
what it was compared with, score, weight and points, which add up to the total), 说明 (the run,
the method with its sources, which parameters are published and which are Shanhai's, the scope).
"""

from __future__ import annotations

import datetime as dt

from shanhai.analysis.zones import MISSING_LABELS
from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write

RANK_COLUMNS = (("比较组", 12), ("名次", 6), ("组内数", 6), ("开发区", 26), ("开发区代码", 10), ("所在县(市、区)", 12),
                ("设区市", 9), ("级别", 7), ("类型", 10), ("总分", 8), ("档次", 8), ("上年档次", 8), ("进退档", 7),
                ("后N位", 6), ("连续年数", 7), ("处置", 30), ("本地区", 6))
DETAIL_COLUMNS = (("开发区", 26), ("比较组", 12), ("名次", 6), ("总分", 8), ("一级指标", 10), ("指标", 20),
                  ("单位", 10), ("指标值", 12), ("组内最低/目标", 12), ("组内最优/最高", 12), ("计分方法", 16),
                  ("得分率", 8), ("权重(组内)", 9), ("满分", 7), ("得分", 8), ("缺失处理", 16), ("口径", 50))


def _yes(flag: bool) -> str:
    return "已公开" if flag else "山海设定参数(未经证实)"


def workbook_bytes(doc: dict) -> bytes:
    """The workbook of one run (module docstring)."""
    b, m = doc["basis"], doc["method"]
    title = f"开发区综合评价 {b['year']}年（{m['display_name']}）"
    wb, buffer = workbook(title, f"批次 {b['run_id']}；方法 {m['name']} 版本 {m['version']}")
    f = _Formats(wb)

    ws = wb.add_worksheet("排名")
    ws.merge_range(0, 0, 0, len(RANK_COLUMNS) - 1, title, f.title)
    for c, (name, width) in enumerate(RANK_COLUMNS):
        ws.write_string(1, c, name, f.header)
        ws.set_column(c, c, width)
    for n, r in enumerate(doc["zones"], 2):
        cells = (r["group_label"], r["rank"], r["group_size"], r["zone_name"], r["zone_id"], r["county_name"],
                 r["city_name"], r["level_label"], r["kind_label"], r["total_score"], r["tier_label"],
                 r["previous_tier_label"], r["tier_change_label"], r["bottom"], r["bottom_streak"], r["action_label"],
                 r["in_scope"])
        for c, v in enumerate(cells):
            _write(ws, n, c, v, f.num if c == 9 else f.int if c in (1, 2, 14) else f.text)
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(1, len(doc["zones"]) + 1), len(RANK_COLUMNS) - 1)
    _print_setup(ws, 1)

    ws = wb.add_worksheet("指标得分")
    for c, (name, width) in enumerate(DETAIL_COLUMNS):
        ws.write_string(0, c, name, f.header)
        ws.set_column(c, c, width)
    for n, e in enumerate(doc["details"], 1):
        cells = (e["zone_name"], e["group_label"], e["rank"], e["total_score"], e["group_name"], e["label"], e["unit"],
                 e["value"], e["ref_low"], e["ref_high"], e["transform_label"], e["score"], e["weight"],
                 e["max_points"], e["points"], MISSING_LABELS[e["missing"]][0] if e["missing"] else "",
                 e["formula"])
        for c, v in enumerate(cells):
            fmt = f.ratio if c in (7, 8, 9, 11, 12) else f.num if c in (3, 13, 14) else f.int if c == 2 else f.text
            _write(ws, n, c, v, fmt)
    if not doc["details"]:
        ws.write_string(1, 0, "本地区没有参评开发区（其他地区开发区的指标不在导出范围内）", f.text)
    ws.freeze_panes(1, 1)
    _print_setup(ws, 0)

    groups = "；".join(f"{g['label']} {g['weight']:.0%}（{_yes(g['published'])}）："
                      + "、".join(f"{i[0]} {i[1]:g}（{i[2]}{'，低优' if i[3] == 'lower' else ''}"
                                 + (f"，目标 {i[4]:g}" if i[4] is not None else "") + "）" for i in g["indicators"])
                      for g in m["groups"])
    t = m["tiers"]
    tiers = "；".join(f"{name}" + (f" 前{share:.0%}" if share is not None else "")
                     + (f" ≥{score:g}分" if score is not None else "") for name, share, score in t["levels"])
    stages = "；".join(f"连续{y}年后{m['bottom']['n']}位：{label}（{_yes(pub)}）" for y, _a, label, pub in
                       m["bottom"]["stages"])
    notes_sheet(wb, f, [
        ("评价批次", b["run_id"]), ("数据年度", b["year"]),
        ("评价方法", f"{m['display_name']}（{m['name']} 版本 {m['version']}）"),
        ("来源", m["source"]), ("可信度", m["confidence"]), ("说明", m["notes"]),
        ("比较组", "、".join(m["comparison"]) or "全部参评开发区一起比较"),
        ("片区划分", "；".join(f"{a['label']}：{'、'.join(a['cities'])}" for a in m["areas"]) + f"（{_yes(m['areas_published'])}）"
         if m["areas"] else "—"),
        ("指标与权重", groups),
        ("计分", "得分 = 100 × 一级指标权重 × 组内权重 × 得分率；得分率：与组内最优值之比 = 指标值 ÷ 组内最高值；"
                "组内线性插值 = (值 − 最低) ÷ (最高 − 最低)；目标完成度 = min(值 ÷ 目标, 上限)。总分为各指标得分之和。"),
        ("缺失值", MISSING_LABELS[m["missing"]][0] + "（方法默认，指标可另行规定）"),
        ("用地口径", "开发区内已供应工业用地（宗地）" if m["land_basis"] == "parcels" else "区内企业自有+租用−出租用地"),
        ("档次", f"{'按组内名次比例' if t['basis'] == 'rank_share' else '按总分'}：{tiers}；"
                f"每年最多进退 {t['max_step'] or '不限'} 档（{_yes(t['published'])}）"),
        ("末位处置", stages + "；组内开发区数不超过 N 时不判末位；并列名次取最好名次"),
        ("上年批次", b.get("previous_run_id") or "无（首次评价，档次变化记为首次）"),
        ("方法指纹", b.get("method_fingerprint")), ("数据指纹", b["inputs_fingerprint"]),
        ("程序版本", b["code_version"]), ("评价人 / 时间", f"{b['created_by']} / {b['created_at']}"),
        ("数据范围", f"{doc['scope']['name'] or doc['scope']['adcode']}：排名为公开数据，指标得分只含本地区开发区"),
        ("导出时间", dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
    ])
    wb.close()
    return buffer.getvalue()
