"""山海协作 project workbooks (xlsxwriter): the project tracker (项目跟踪, with the KPIs and the
stalled list), the receiving counties for one lead (项目流转承接地), and the credit and sharing
ledger (协作台账) — each built from the document a ``shanhai.jobs`` function returned
(``projects.tracker`` / ``leads.rank`` / ``ledger.ledger``) and returned as bytes, so the web's
downloads and the CLI write the same file.

Investors outside the caller's region arrive masked and stay masked (the label ``（范围外企业）``,
no USCC). Dual-counted rows are marked 双向计入 and the totals say they add the landing rows only.
"""

from __future__ import annotations

import datetime as dt

from shanhai.analysis.leads import COMPONENTS
from shanhai.analysis.projects import LIGHT_LABELS, STAGE_LABELS
from shanhai.policy._coop_projects import LIFECYCLE
from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write

ROLE_ZH = {"landing": "落地地", "first_contact": "首谈地", "partner": "合作方", "dual": "双向计入"}


def _now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M")


def _sheet(wb, f, name: str, title: str, columns, rows, foot: list[str]):
    ws = wb.add_worksheet(name)
    last = len(columns) - 1
    ws.merge_range(0, 0, 0, max(last, 1), title, f.title)
    ws.set_row(0, 30)
    for c, (header, width, _) in enumerate(columns):
        ws.write_string(1, c, header, f.header)
        ws.set_column(c, c, width)
    for n, row in enumerate(rows, start=2):
        for c, (value, fmt) in enumerate(row):
            _write(ws, n, c, value, getattr(f, fmt))
    at = len(rows) + 3
    for line in foot:
        ws.merge_range(at, 0, at, max(last, 1), line, f.footer)
        at += 1
    ws.freeze_panes(2, 2)
    _print_setup(ws, 1)
    return ws


def _d(v) -> str | None:
    return v.isoformat() if isinstance(v, dt.date) else v


# ---- 项目跟踪 ------------------------------------------------------------------------------------

PROJECT_COLUMNS = (("项目编号", 14, "text"), ("项目名称", 34, "text"), ("投资方", 26, "text"), ("落地地", 12, "text"),
                   ("首谈地", 12, "text"), ("本地区角色", 14, "text"), ("山海协作", 8, "center"),
                   ("当前阶段", 9, "center"), ("亮灯", 7, "center"), ("逾期月数", 8, "int"),
                   ("时序进度", 9, "pct"), ("形象进度", 9, "pct"), ("计划总投资(万元)", 14, "money"),
                   ("累计完成投资(万元)", 14, "money"), ("资金到位率", 9, "pct"), ("停滞", 6, "center"),
                   ("亮灯原因", 40, "text"),
                   *((f"{STAGE_LABELS[s][0]}计划", 11, "center") for s in LIFECYCLE),
                   *((f"{STAGE_LABELS[s][0]}实际", 11, "center") for s in LIFECYCLE))
KPI_COLUMNS = (("地区/结对", 22, "text"), ("项目数", 8, "count"), ("履约", 8, "count"), ("履约率", 9, "pct"),
               ("计划投资(万元)", 14, "money"), ("完成投资(万元)", 14, "money"), ("资金到位率", 9, "pct"),
               ("开工", 7, "count"), ("开工率", 9, "pct"), ("投产", 7, "count"), ("投产率", 9, "pct"),
               ("红灯", 6, "count"), ("黄灯", 6, "count"), ("绿灯", 6, "count"), ("停滞", 6, "count"))


def _kpi_row(name: str, k: dict) -> list:
    return [(name, "text"), (k["projects"], "count"), (k["honoured"], "count"), (k["honoured_rate"], "pct"),
            (k["planned_investment"], "money"), (k["invested"], "money"), (k["funds_rate"], "pct"),
            (k["started"], "count"), (k["started_rate"], "pct"), (k["producing"], "count"), (k["producing_rate"], "pct"),
            (k["lights"]["red"], "count"), (k["lights"]["amber"], "count"), (k["lights"]["green"], "count"),
            (k["stalled"], "count")]


def projects_workbook(doc: dict, kpi_docs: list[dict] | None = None) -> bytes:
    """The tracker of ``jobs.projects.tracker``: 项目跟踪 (one row per project, every stage planned and
    actual), 停滞项目, the KPI sheets of ``jobs.projects.kpis`` given, and 说明."""
    region, basis = doc["region"], doc["basis"]
    wb, buffer = workbook(f"{region['name']}招商项目跟踪")
    f = _Formats(wb)
    rows = []
    for p in doc["projects"]:
        stages = {s["stage"]: s for s in p["stages"]}
        rows.append([
            (p["project_id"], "text"), (p["name"], "text"), (p.get("investor_name"), "text"),
            (p.get("landing_name"), "text"), (p.get("first_contact_name"), "text"),
            ("、".join(ROLE_ZH.get(r, r) for r in p["roles"]), "text"), (p["is_cooperation"], "center"),
            (p["reached_label"], "center"), (LIGHT_LABELS[p["light"]][0], "center"), (p["months_overdue"], "int"),
            (p["calendar_progress"], "pct"), (p["stage_progress"], "pct"), (p.get("planned_investment"), "money"),
            (p.get("invested"), "money"), (p.get("funds_rate"), "pct"), (p["stalled"], "center"),
            ("；".join(p["reasons"]), "text"),
            *((_d(stages[s]["planned_date"]), "center") for s in LIFECYCLE),
            *((_d(stages[s]["actual_date"]), "center") for s in LIFECYCLE)])
    masked = sum(1 for p in doc["projects"] if p.get("investor_masked"))
    _sheet(wb, f, "项目跟踪", f"{region['name']}招商项目跟踪（截至 {basis['as_of']}）", PROJECT_COLUMNS, rows,
           [f"共 {len(rows)} 个项目；投资方在本区域以外的 {masked} 个项目只显示“（范围外企业）”。",
            f"依据：亮灯规则 {basis['rules']} 版本 {basis['rules_version']}（{basis['rules_fingerprint']}）；"
            f"数据指纹 {basis['data_fingerprint']}；导出时间 {_now()}"])
    stall_cols = (("项目编号", 14, "text"), ("项目名称", 34, "text"), ("落地地", 12, "text"), ("当前阶段", 9, "center"),
                  ("最近节点", 11, "center"), ("无进展月数", 9, "int"), ("亮灯", 7, "center"), ("原因", 60, "text"))
    stall_rows = [[(p["project_id"], "text"), (p["name"], "text"), (p.get("landing_name"), "text"),
                   (p["reached_label"], "center"), (_d(p.get("last_event")), "center"), (p.get("idle_months"), "int"),
                   (LIGHT_LABELS[p["light"]][0], "center"), ("；".join(p["reasons"]), "text")]
                  for p in doc.get("stalled", [])]
    _sheet(wb, f, "停滞项目", f"{region['name']}停滞项目", stall_cols, stall_rows, [])
    k_rows = [_kpi_row(f"{region['name']}（落地项目）", doc["kpis"])]
    _sheet(wb, f, "指标", f"{region['name']}项目推进指标", KPI_COLUMNS, k_rows, [])
    for kd in kpi_docs or ():
        label = {"county": "分县", "city": "分市", "pairing": "分结对"}[kd["by"]]
        _sheet(wb, f, f"指标{label}", f"{region['name']}项目推进指标（{label}）", KPI_COLUMNS,
               [_kpi_row(r["name"], r) for r in kd["rows"]] + [_kpi_row("合计", kd["total"])], [])
    notes_sheet(wb, f, [
        ("地区 Region", f"{region['name']} ({region['adcode']})"), ("截至 As of", basis["as_of"]),
        ("生命周期 Lifecycle", "签约 → 供地 → 开工 → 竣工 → 投产 → 上规 → 达产"),
        ("亮灯 Lights", "时序进度 = (截至日 − 签约日) ÷ (计划达产日 − 签约日)；形象进度 = 已达到阶段的权重；"
                       "落后幅度超过黄灯/红灯阈值、下一节点逾期月数达到阈值、应开工未开工，取最严重者。"),
        ("指标 KPIs", "履约率 = 无节点逾期超过宽限月数的项目 ÷ 项目数；资金到位率 = 累计完成投资 ÷ 计划总投资；"
                     "开工率、投产率 = 已达到该阶段的项目 ÷ 项目数。指标只计落地于本地区的项目。"),
        ("停滞 Stalled", "未达产且超过规则月数无新节点。"),
        ("亮灯规则 Rule set", f"{basis['rules']} 版本 {basis['rules_version']}（{basis['rules_fingerprint']}）"),
        ("数据范围 Scope", "投资方在本区域以外的，不显示名称和信用代码。"), ("导出时间 Exported at", _now())])
    wb.close()
    return buffer.getvalue()


# ---- 项目流转 承接地 ------------------------------------------------------------------------------

def rank_workbook(doc: dict) -> bytes:
    """The receiving counties of ``jobs.leads.rank``: 承接地排序 (points per component, reasons),
    排除 (energy limit), 说明 (the lead and the rule set)."""
    lead, basis = doc["lead"], doc["basis"]
    wb, buffer = workbook(f"{lead['name']}承接地排序")
    f = _Formats(wb)
    cols = (("排名", 6, "int"), ("县(市、区)", 14, "text"), ("设区市", 10, "text"), ("山区县", 7, "center"),
            ("总分", 8, "num"), *((f"{zh}得分", 10, "num") for _, zh, _ in COMPONENTS),
            ("可用土地(亩)", 12, "num"), ("平台剩余容量(亩)", 14, "num"), ("本地单位增加值能耗", 12, "ratio"),
            ("能耗准入值", 10, "num"), ("已流转至此", 9, "center"), ("理由", 70, "text"))
    rows = [[(r["rank"], "int"), (r["name"], "text"), (r.get("city_name"), "text"), (r["mountain26"], "center"),
             (r["score"], "num"), *((r["points"].get(k), "num") for k, _, _ in COMPONENTS),
             (r["free_land_mu"], "num"), (r["zone_capacity_mu"], "num"), (r.get("county_energy_per_va"), "ratio"),
             (r.get("energy_limit"), "num"), (r.get("already_received", False), "center"),
             ("；".join(r["reasons"]), "text")] for r in doc["ranked"]]
    _sheet(wb, f, "承接地排序", f"{lead['name']}（{lead['lead_id']}）承接地排序", cols, rows,
           [f"依据：承接地排序规则 {basis['rules']} 版本 {basis['rules_version']}（{basis['rules_fingerprint']}），"
            f"{basis['year']} 年度数据；导出时间 {_now()}"])
    ex_cols = (("县(市、区)", 14, "text"), ("设区市", 10, "text"), ("排除原因", 60, "text"))
    _sheet(wb, f, "排除", "排除的承接地", ex_cols,
           [[(r["name"], "text"), (r.get("city_name"), "text"), (r["reason"], "text")] for r in doc["excluded"]], [])
    w = doc["weights"]
    notes_sheet(wb, f, [
        ("线索 Lead", f"{lead['name']}（{lead['lead_id']}）"), ("首谈地 First contact", lead.get("found_by_name") or ""),
        ("行业代码 Industry", lead.get("industry_code") or ""), ("产业链 Chain", lead.get("chain_id") or "未关联"),
        ("计划投资(万元)", lead.get("investment") or ""), ("用地需求(亩)", lead.get("land_mu") or ""),
        ("单位增加值能耗(吨标准煤/万元)", lead.get("energy_per_va") or ""),
        ("评分 Score", "总分 = 100 × Σ 权重 × 分项值（0–1），各分项得分相加即总分；超过能耗准入值的地区排除。"),
        *((f"权重 {zh}", w.get(k)) for k, zh, _ in COMPONENTS), ("导出时间 Exported at", _now())])
    wb.close()
    return buffer.getvalue()


# ---- 协作台账 ------------------------------------------------------------------------------------

def ledger_workbook(doc: dict) -> bytes:
    """The ledger of ``jobs.ledger.ledger``: 台账 (one row per project and county, dual-counted rows
    marked), 分县 (per county: landing, dual, reported, shared, credit; the total adds landing rows
    only), 首谈积分, 说明."""
    region, basis, y = doc["region"], doc["basis"], doc["year"]
    wb, buffer = workbook(f"{region['name']}山海协作台账（{y}年）")
    f = _Formats(wb)
    cols = (("县(市、区)", 12, "text"), ("项目编号", 14, "text"), ("项目名称", 34, "text"), ("计入方式", 9, "center"),
            ("对方地区", 12, "text"), ("累计投资(万元)", 14, "money"), ("当年投资(万元)", 14, "money"),
            ("产值(万元)", 14, "money"), ("税收(万元)", 12, "money"), ("本地分成比例", 10, "pct"),
            ("分成产值(万元)", 14, "money"), ("分成税收(万元)", 12, "money"), ("分成方案", 9, "center"))
    rows = [[(r["county_name"], "text"), (r["project_id"], "text"), (r["name"], "text"),
             ("双向计入" if r["dual"] else "落地", "center"), (r.get("counterpart_name"), "text"),
             (r["invested"], "money"), (r["invested_in_year"], "money"), (r["output"], "money"), (r["tax"], "money"),
             (r["share"], "pct"), (r["shared_output"], "money"), (r["shared_tax"], "money"),
             ({"project": "项目约定", "default": "默认方案", "none": "不分成"}.get(r["share_source"]), "center")]
            for r in doc["rows"]]
    _sheet(wb, f, "台账", f"{region['name']}山海协作项目台账（{y}年）", cols, rows,
           ["“双向计入”行与落地地同一项目的投资、产值同时出现在合作方报表中，只在县级报表出现，"
            "任何县以上合计只加总落地行，不重复计算。",
            f"依据：分成方案 {basis['sharing']} {basis['sharing_version']}，积分规则 {basis['credit']} "
            f"{basis['credit_version']}，数据指纹 {basis['data_fingerprint']}；导出时间 {_now()}"])
    ccols = (("县(市、区)", 14, "text"), ("落地项目", 8, "count"), ("落地投资(万元)", 14, "money"),
             ("落地产值(万元)", 14, "money"), ("落地税收(万元)", 12, "money"), ("双向计入项目", 10, "count"),
             ("双向计入产值(万元)", 14, "money"), ("报表产值(含双向计入)", 16, "money"),
             ("分成产值(万元)", 14, "money"), ("分成税收(万元)", 12, "money"), ("首谈积分", 9, "num"))
    crow = [[(c["name"], "text"), (c["landing"]["projects"], "count"), (c["landing"]["invested"], "money"),
             (c["landing"]["output"], "money"), (c["landing"]["tax"], "money"), (c["dual"]["projects"], "count"),
             (c["dual"]["output"], "money"), (c["reported"]["output"], "money"), (c["shared_output"], "money"),
             (c["shared_tax"], "money"), (c["credit"], "num")] for c in doc["counties"]]
    t = doc["totals"]
    crow.append([("合计（仅落地）", "text"), (t["projects"], "count"), (t["invested"], "money"), (t["output"], "money"),
                 (t["tax"], "money"), (None, "count"), (None, "money"), (None, "money"), (t["shared_output"], "money"),
                 (t["shared_tax"], "money"), (None, "num")])
    _sheet(wb, f, "分县", f"{region['name']}分县台账（{y}年）", ccols, crow,
           ["合计只加总落地行；双向计入列仅供县级报表使用，不参与合计。"])
    kcols = (("县(市、区)", 14, "text"), ("积分", 8, "num"), ("封顶前", 8, "num"), ("事项", 16, "text"),
             ("线索/项目", 16, "text"), ("名称", 34, "text"), ("对方地区", 12, "text"), ("事项积分", 8, "num"))
    krows = []
    for c in doc["credit"]:
        for it in c["items"]:
            krows.append([(c["name"], "text"), (c["points"], "num"), (c["raw"], "num"),
                          ("流转线索" if it["kind"] == "transferred_lead" else "首谈项目推进", "text"),
                          (it.get("lead_id") or it.get("project_id"), "text"), (it.get("name"), "text"),
                          (it.get("to_name") or it.get("landing_name"), "text"), (it["points"], "num")])
    _sheet(wb, f, "首谈积分", f"{region['name']}首谈地积分（{y}年）", kcols, krows, [])
    items = [("地区 Region", f"{region['name']} ({region['adcode']})"), ("年度 Year", y),
             ("双向计入 Dual counting", "山海协作项目在落地地（落地）和合作方（双向计入）两地报表中都出现并标明；"
                                     "市、省合计只加总落地行。"),
             ("分成 Sharing", "落地地分成 = round(金额 × 落地地比例, 4)，合作方 = 金额 − 落地地分成，两者之和等于金额。"),
             ("税收 Tax", "产值 × 落地县当年规上企业税收 ÷ 营业收入（缺失时用分成方案的默认税率）。")]
    if "check" in doc:
        items.append(("全省核对 Province check", f"落地产值 {doc['check']['landing_output']:,.4f} 万元，分成产值合计 "
                      f"{doc['check']['shared_output']:,.4f} 万元：{'相等' if doc['check']['equal'] else '不相等'}"))
    items.append(("导出时间 Exported at", _now()))
    notes_sheet(wb, f, items)
    wb.close()
    return buffer.getvalue()
