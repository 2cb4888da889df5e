"""The early-warning workbook (企业用电预警, xlsxwriter), built from the documents
:func:`shanhai.jobs.alerts.list_alerts` and :func:`shanhai.jobs.alerts.list_tasks` returned, so
the web's download and the CLI write the same file. Rows arrive already limited to the caller's
region (the jobs filter in SQL).

Sheets: 预警名单 (one row per alert: firm, county, town, month, kind, score at opening and latest,
task state), 走访任务 (one row per task: priority, state, result, note, who and when), 说明 (the
region, the latest scan, the method and what the score means, the visit precision).
"""

from __future__ import annotations

import datetime as dt

from shanhai.jobs.alerts import STATE_LABELS
from shanhai.policy._alerts import KIND_LABELS, RESULT_LABELS, SIGNAL_LABELS
from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write

ALERT_COLUMNS = (("预警编号", 34), ("企业名称", 30), ("统一社会信用代码", 21), ("县(市、区)", 12), ("乡镇(街道)", 14),
                 ("预警月份", 10), ("类型", 10), ("预警得分", 9), ("最新得分", 9), ("最新扫描月份", 11),
                 ("扫描次数", 8), ("状态", 8), ("走访任务", 12), ("任务状态", 10), ("核查结果", 10))
TASK_COLUMNS = (("任务编号", 36), ("企业名称", 30), ("统一社会信用代码", 21), ("乡镇(街道)", 14), ("优先级", 8),
                ("类型", 10), ("预警得分", 9), ("状态", 10), ("核查结果", 10), ("说明", 30), ("经办人", 14),
                ("更新时间", 17))


def _header(ws, f, columns) -> None:
    for c, (name, width) in enumerate(columns):
        ws.write_string(0, c, name, f.header)
        ws.set_column(c, c, width)
    ws.freeze_panes(1, 0)


def alerts_workbook(doc: dict, tasks: dict) -> bytes:
    wb, buffer = workbook(f"{doc['region']['name']}企业用电预警", "Shanhai early warning")
    f = _Formats(wb)
    ws = wb.add_worksheet("预警名单")
    _header(ws, f, ALERT_COLUMNS)
    for r, a in enumerate(doc["alerts"], 1):
        row = [a["alert_id"], a.get("name"), a["uscc"], a.get("county_name"), a.get("town_name"),
               f"{a['month']:%Y-%m}" if a.get("month") else None, KIND_LABELS[a["kind"]][0], a["score"],
               a.get("last_score"), f"{a['last_month']:%Y-%m}" if a.get("last_month") else None, a.get("scans"),
               "开启" if a["status"] == "open" else "关闭", a.get("task_id"),
               STATE_LABELS[a["task_state"]][0] if a.get("task_state") else None,
               RESULT_LABELS[a["result"]][0] if a.get("result") else None]
        for c, v in enumerate(row):
            _write(ws, r, c, v, f.num if isinstance(v, float) else f.text)
    _print_setup(ws, 0)
    ws = wb.add_worksheet("走访任务")
    _header(ws, f, TASK_COLUMNS)
    for r, t in enumerate(tasks["tasks"], 1):
        row = [t["task_id"], t.get("name"), t["uscc"], t.get("town_name"), t["priority"],
               KIND_LABELS[t["kind"]][0] if t.get("kind") else None, t.get("score"), STATE_LABELS[t["state"]][0],
               RESULT_LABELS[t["result"]][0] if t.get("result") else None, t.get("note"), t.get("updated_by"),
               f"{t['updated_at']:%Y-%m-%d %H:%M}" if t.get("updated_at") else None]
        for c, v in enumerate(row):
            _write(ws, r, c, v, f.num if isinstance(v, float) else f.text)
    _print_setup(ws, 0)
    p = tasks["precision"]
    notes_sheet(wb, f, [
        ("地区", f"{doc['region']['name']} ({doc['region']['adcode']})"),
        ("导出时间", dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
        ("最新扫描批次", doc.get("latest_run") or "无"),
        ("预警状态", doc["status"]),
        ("预警条数", doc["total"]),
        ("方法", "每家企业按月日均用电（kWh÷当月天数）计算：农历对齐的同比、近12个月(不含春节月份)的Z分数、接近零用电、"
                 "近3个月与此前12个月之比的持续下降、激增，以及用水/用气同步下降；各信号强度(0–1)×权重求和为综合风险得分"
                 "(0–100)，达到规则的预警分即为预警。详见 docs/alerts.md。"),
        ("信号", "；".join(f"{v[0]} ({k})" for k, v in SIGNAL_LABELS.items())),
        ("走访确认率", "—" if p["precision"] is None else
         f"{100 * p['precision']:.1f}%（{p['labelled']} 条有核查结果的任务中确认停产/减产/迁出的比例）"),
        ("数据范围", "仅含您的数据范围内企业"),
    ])
    wb.close()
    return buffer.getvalue()
