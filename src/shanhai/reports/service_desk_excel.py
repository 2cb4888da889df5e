"""Service-desk workbooks (xlsxwriter), built from the documents the jobs return so the web's
downloads and the CLI write the same files; rows arrive already limited to the caller's region.

* :func:`requests_workbook` — 企业诉求 (one row per request: firm, category, department, channel,
  state, SLA profile, submitted / accepted / due / closed, working days late, solved, rating),
  KPI (办结率 / 解决率 / 按期办结率 / 满意率 by department, each with its definition), 说明.
* :func:`lists_workbook` — the key or struggling list of a run (firm, county, why listed,
  composite score, officer, task state), 说明.
* :func:`pipeline_workbook` — pool firms with milestone dates, tier and awards; targets; 说明.
"""

from __future__ import annotations

from decimal import Decimal

from shanhai.policy._service_desk import MILESTONE_LABELS, MILESTONES
from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write


def _sheet(wb, f, name, columns, rows) -> None:
    ws = wb.add_worksheet(name)
    for c, (title, width) in enumerate(columns):
        ws.write_string(0, c, title, f.header)
        ws.set_column(c, c, width)
    ws.freeze_panes(1, 0)
    for r, row in enumerate(rows, 1):
        for c, v in enumerate(row):
            if isinstance(v, Decimal):
                v = float(v)
            _write(ws, r, c, v, f.num if isinstance(v, float) else f.text)
    _print_setup(ws, 0)


def _d(v):
    return None if v is None else (f"{v:%Y-%m-%d %H:%M}" if hasattr(v, "hour") else f"{v:%Y-%m-%d}")


def requests_workbook(doc: dict, kpi: dict) -> bytes:
    wb, buffer = workbook(f"{doc['region']['name']}企业诉求办理", "Shanhai service desk: requests")
    f = _Formats(wb)
    cols = (("诉求编号", 20), ("企业名称", 28), ("统一社会信用代码", 21), ("标题", 30), ("类别", 10), ("承办部门", 18),
            ("渠道", 10), ("状态", 10), ("时限规则", 16), ("提交时间", 17), ("受理时间", 17), ("办结期限", 11),
            ("办结时间", 17), ("逾期工作日", 9), ("是否解决", 8), ("满意度", 7), ("时钟", 10))
    rows = []
    for q in doc["requests"]:
        clock = q.get("clock") or {}
        rows.append([q["request_id"], q.get("name"), q["uscc"], q.get("title"), q.get("category"), q.get("department"),
                     q.get("channel"), q.get("state_label"), q.get("sla_profile"), _d(q.get("opened_at")),
                     _d(q.get("accepted_at")), _d(q.get("due_on")), _d(q.get("closed_at")), q.get("overdue_wd"),
                     q.get("solved"), q.get("satisfaction"), clock.get("state_label")])
    _sheet(wb, f, "企业诉求", cols, rows)
    kcols = (("部门/地区", 24), ("受理数", 8), ("办结数", 8), ("解决数", 8), ("按期办结数", 10), ("评价数", 8),
             ("满意数", 8), ("办结率", 8), ("解决率", 8), ("按期办结率", 10), ("满意率", 8))
    krows = [[r["name"], r["collected"], r["closed"], r["solved"], r["closed_on_time"], r["rated"], r["satisfied"],
              r["close_rate"], r["solve_rate"], r["on_time_rate"], r["satisfaction_rate"]]
             for r in kpi["rows"] + [{"name": "合计", **kpi["total"]}]]
    _sheet(wb, f, "考核指标", kcols, krows)
    notes_sheet(wb, f, [("地区", f"{doc['region']['name']} ({doc['region']['adcode']})"),
                        ("统计日", doc.get("today")), ("诉求数", doc["total"]), ("逾期未办结", doc.get("overdue")),
                        *[(v["label"], v["definition"]) for v in kpi["definitions"].values()],
                        ("工作日", "国务院办公厅节假日安排（含调休上班日），chinese_calendar 包；超出其覆盖年份按周一至周五计算并提示"),
                        ("计时口径", "各时限规则的 receipt_day：0 = 受理次日为第1个工作日")])
    wb.close()
    return buffer.getvalue()


def lists_workbook(doc: dict, run: dict | None = None) -> bytes:
    wb, buffer = workbook(f"{doc['region']['name']}{doc.get('label', '')}", "Shanhai service desk: lists")
    f = _Formats(wb)
    cols = (("企业名称", 28), ("统一社会信用代码", 21), ("县(市、区)", 12), ("乡镇(街道)", 14), ("入选方式", 10),
            ("综合评分", 9), ("入选依据", 60), ("责任人", 14), ("服务任务", 30), ("任务状态", 10))
    rows = [[r.get("name"), r["uscc"], r.get("county_name"), r.get("town_name"), r["via"], r.get("score"),
             r.get("reasons"), r.get("officer"), r.get("task_id"), r.get("task_state")] for r in doc["entries"]]
    _sheet(wb, f, doc.get("label") or "名单", cols, rows)
    notes_sheet(wb, f, [("地区", f"{doc['region']['name']} ({doc['region']['adcode']})"), ("批次", doc["run_id"]),
                        ("名单", doc.get("label")), ("企业数", doc["total"]),
                        *([("规则", f"{run['rules']} v{run['version']}"), ("数据年度", run.get("year"))] if run else []),
                        ("说明", "困难企业阈值为本系统假定参数（未找到公开标准）；重点企业纳税线取海曙口径 500 万元以上（含）")])
    wb.close()
    return buffer.getvalue()


def pipeline_workbook(doc: dict) -> bytes:
    wb, buffer = workbook(f"{doc['region']['name']}上市后备企业", "Shanhai service desk: listing pipeline")
    f = _Formats(wb)
    cols = [("企业名称", 28), ("统一社会信用代码", 21), ("入库日期", 11), ("梯队", 10)] + \
        [(MILESTONE_LABELS[m][0], 12) for m in MILESTONES] + [("应兑现奖励(万元)", 14), ("待人工审核", 10)]
    tier_label = {t["id"]: t["label"] for t in doc["tiers"]}
    rows = []
    for r in doc["firms"]:
        due = sum((a["amount"] or 0) for a in r["awards"] if a["status"] == "due")
        rows.append([r.get("name"), r["uscc"], _d(r.get("entered_on")), tier_label.get(r["tier"], r["tier"])]
                    + [_d(r["milestones"].get(m)) for m in MILESTONES]
                    + [due, any(a["status"] == "manual_review" for a in r["awards"])])
    _sheet(wb, f, "上市后备企业", cols, rows)
    tcols = (("目标", 34), ("地区", 12), ("年份", 6), ("口径", 12), ("目标值", 8), ("当前", 8), ("完成度", 8), ("来源", 24))
    _sheet(wb, f, "目标进度", tcols, [[t["label"], t["region_name"], t["year"], t["measure"], t["target"], t["actual"],
                                   t["share"], t["source"]] for t in doc["targets"]])
    notes_sheet(wb, f, [("地区", f"{doc['region']['name']} ({doc['region']['adcode']})"), ("批次", doc["run_id"]),
                        ("规则", doc["preset"]["display_name"]),
                        ("梯队", "起跑/加速/冲刺为本系统假定的里程碑映射（未找到绍兴公开定义）"
                         if not doc["preset"]["tiers_published"] else "公开口径")])
    wb.close()
    return buffer.getvalue()
