"""The pairing plan workbook (一企一县结对方案, xlsxwriter), built from the document
:func:`shanhai.jobs.pairing.plan_of` returned and returned as bytes, so the web's download and
the CLI write the same file.

Sheets: 结对方案 (one row per pair: county, firm, segment, the points of each component, the
score and the reasons), 县域汇总 (per county: lead industries, matching chains and their gaps,
candidates, firms assigned against min–max, score, why a county could not be paired), 说明 (the
options, the objective, the diagnosis when the constraints cannot be met, the scoring method and
the basis). Firms outside the caller's region arrive masked (``masked=True``) and stay masked:
``（范围外企业）`` in place of the name, the USCC cell empty.
"""

from __future__ import annotations

import datetime as dt

from shanhai.jobs.pairing import COMPONENT_LABELS, COMPONENTS, MASKED_NAME, PLAN_STATUS, WITHIN_CITY
from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write

FIT_LABELS = {"gap": "补链", "adjacent": "延链", "other": "同链"}
STATUS_ZH = {"missing": "缺失", "weak": "薄弱", "present": "具备", "strong": "优势", "outside": "非制造环节"}
PAIR_COLUMNS = (("县(市、区)", 12), ("设区市", 9), ("序号", 5), ("总分", 8),
                *((f"{COMPONENT_LABELS[k][0]}得分", 9) for k in COMPONENTS), ("同市加分", 8), ("结对理由", 60),
                ("企业名称", 32), ("统一社会信用代码", 21), ("企业所在县", 12), ("企业所在市", 9), ("行业门类(大类)", 16),
                ("规模", 11), ("亩均类别", 8), ("链主", 6), ("产业链", 14), ("对接环节", 22), ("本县环节状态", 9),
                ("契合方式", 8), ("距离(公里)", 9), ("山海协作结对", 9))
COUNTY_COLUMNS = (("县(市、区)", 12), ("设区市", 9), ("主导产业", 30), ("匹配产业链及薄弱/缺失环节", 50),
                  ("可选企业数", 9), ("每县企业数", 9), ("已结对企业数", 9), ("得分合计", 10), ("说明", 50))


def _now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M")


def basis_sentence(doc: dict) -> str:
    b, o = doc.get("basis", {}), doc.get("options", {})
    return (f"结对方案 {doc.get('run_id')}；数据年度 {o.get('year')}；亩均评价批次 {o.get('run') or '无'}；"
            f"结对规则 {o.get('rules')} 版本 {b.get('rules_version')}；产业链判定规则 {b.get('chain_rules')}；"
            f"输入指纹 {b.get('inputs_fingerprint')}")


def options_text(o: dict) -> str:
    lo, hi = (o.get("per_county") or [None, None])[:2]
    within = WITHIN_CITY.get(o.get("within_city_first") or "off", ("", ""))[0]
    return (f"每县 {lo}–{hi} 家企业；每家企业最多结对 {o.get('max_counties')} 个县；"
            f"每县不同行业：{'是' if o.get('distinct_industries') else '否'}；同市优先：{within}"
            + (f"（每对加 {o.get('within_city_bonus'):g} 分）" if o.get("within_city_first") == "bonus" else "")
            + f"；无法结对的县：{'列出并跳过' if o.get('skip_unmatched', True) else '计入约束'}")


def plan_workbook(doc: dict) -> bytes:
    """The plan of ``jobs.pairing.plan_of`` as a workbook: 结对方案, 县域汇总, 说明."""
    options = doc.get("options", {})
    region = options.get("region_name") or options.get("region") or ""
    wb, buffer = workbook(f"{region}一企一县结对方案", basis_sentence(doc))
    f = _Formats(wb)

    ws = wb.add_worksheet("结对方案")
    last = len(PAIR_COLUMNS) - 1
    ws.merge_range(0, 0, 0, last, f"{region}一企一县结对方案（{options.get('year')}年度数据，"
                                  f"{PLAN_STATUS.get(doc.get('status'), ('',))[0]}）", f.title)
    ws.set_row(0, 30)
    for c, (header, width) in enumerate(PAIR_COLUMNS):
        ws.write_string(1, c, header, f.header)
        ws.set_column(c, c, width)
    pairs = doc.get("pairs", [])
    for n, p in enumerate(pairs, start=2):
        masked = bool(p.get("masked"))
        pts = p.get("points", {})
        values = [
            (p.get("county_name"), f.text), (p.get("county_city"), f.text), (p.get("rank"), f.int),
            (p.get("score"), f.num), *((pts.get(k), f.num) for k in COMPONENTS), (pts.get("within_city"), f.num),
            ("；".join(p.get("reasons") or ()), f.text),
            (MASKED_NAME[0] if masked else p.get("name"), f.text), (None if masked else p.get("uscc"), f.center),
            (p.get("firm_county_name"), f.text), (p.get("firm_city_name"), f.text),
            (f"{p.get('division') or ''} {p.get('division_name') or ''}".strip(), f.text),
            (p.get("size_band"), f.center), (p.get("mujun_class") or "未参评", f.center),
            ("是" if p.get("leader") else "", f.center), (p.get("chain_name"), f.text), (p.get("segment_name"), f.text),
            (STATUS_ZH.get(p.get("segment_status") or "", ""), f.center),
            (FIT_LABELS.get(p.get("fit_kind"), ""), f.center),
            (p.get("km"), f.num), ("是" if p.get("partner") else "", f.center),
        ]
        for c, (value, fmt) in enumerate(values):
            _write(ws, n, c, value, fmt)
    foot = len(pairs) + 3
    masked_count = sum(1 for p in pairs if p.get("masked"))
    objective = doc.get("objective")
    ws.merge_range(foot, 0, foot, last,
                   f"共 {len(pairs)} 对；方案目标值（全部县得分合计）{objective:.4f}" if objective is not None
                   else f"共 {len(pairs)} 对；{PLAN_STATUS.get(doc.get('status'), ('',))[0]}，见“说明”", f.footer)
    ws.merge_range(foot + 1, 0, foot + 1, last,
                   f"其中范围外企业 {masked_count} 家只显示所在县、行业大类、规模档和亩均类别，不显示名称和信用代码。"
                   f"依据：{basis_sentence(doc)}；导出时间 {_now()}", f.footer)
    ws.set_row(foot + 1, 30)
    ws.freeze_panes(2, 3)
    _print_setup(ws, 1)

    ws = wb.add_worksheet("县域汇总")
    last = len(COUNTY_COLUMNS) - 1
    ws.merge_range(0, 0, 0, last, f"{region}山区县结对汇总", f.title)
    ws.set_row(0, 30)
    for c, (header, width) in enumerate(COUNTY_COLUMNS):
        ws.write_string(1, c, header, f.header)
        ws.set_column(c, c, width)
    for n, c in enumerate(doc.get("counties", []), start=2):
        leads = "；".join(f"{x['name']}（{'/'.join(x['codes'])}）" for x in c.get("leads", [])) or "未申报"
        chains = "；".join(f"{x['name']}：" + ("、".join(x.get("gaps") or ()) or "无薄弱缺失环节")
                          for x in c.get("chains", [])) or "无匹配产业链"
        note = c.get("unmatched_reason") or "；".join(c.get("problems") or ()) or ""
        values = [(c.get("name"), f.text), (c.get("city_name"), f.text), (leads, f.text), (chains, f.text),
                  (c.get("candidates"), f.count), (f"{c.get('min')}–{c.get('max')}", f.center),
                  (c.get("assigned"), f.count), (c.get("score"), f.num), (note, f.text)]
        for col, (value, fmt) in enumerate(values):
            _write(ws, n, col, value, fmt)
    ws.freeze_panes(2, 1)
    _print_setup(ws, 1)

    summary = doc.get("summary", {})
    weights = summary.get("weights", {})
    fit = summary.get("chain_fit", {})
    distance = summary.get("distance", {})
    items = [("方案编号 Plan", doc.get("run_id", "")),
             ("地区 Region", f"{region} ({options.get('region')})"),
             ("状态 Status", f"{PLAN_STATUS.get(doc.get('status'), ('', ''))[0]} {doc.get('status')}"),
             ("目标值 Objective", f"{objective:.4f}（全部县结对得分之和，求解器证明为最大值）" if objective is not None
              else "无（约束无法满足）"),
             ("本表范围内得分 Visible score", f"{doc.get('objective_visible', 0):.4f}"),
             ("规划选项 Options", options_text(options))]
    for p in doc.get("problems", []):
        items.append(("无法满足的约束 Cannot be met", p.get("zh", "")))
    items += [("评分方法 Score", "得分 = 100 × Σ 权重 × 分项值（各分项值在 0–1 之间），各分项得分相加即总分；"
                                 "同市加分模式下再加同市加分。")]
    notes = {"chain_fit": f"企业环节为本县缺失/薄弱环节 {fit.get('gap')}，为本县已有环节的上下游 {fit.get('adjacent')}，"
                          f"其余 {fit.get('other')}；只计与本县主导产业匹配的产业链",
             "capacity": "营业收入在全省候选企业中的百分位",
             "efficiency": "亩均评价类别：" + "，".join(f"{k} {v:g}" for k, v in summary.get("class_points", {}).items()),
             "pairing": "企业所在县为本县山海协作结对地区 1，否则 0",
             "distance": (f"1 − 距离 ÷ {distance.get('max_km')} 公里（县域中心点之间）" if distance.get("kind") == "linear"
                          else f"0.5 ^ (距离 ÷ {distance.get('half_km')} 公里)")}
    for k in COMPONENTS:
        items.append((f"权重 {COMPONENT_LABELS[k][0]} {COMPONENT_LABELS[k][1]}", f"{weights.get(k, '')}：{notes[k]}"))
    items += [("求解 Solver", f"scipy.optimize.milp (HiGHS)，相对间隙 0；变量 {summary.get('variables')} 个，约束 "
                              f"{summary.get('constraints')} 个，求解 {summary.get('solve_s')} 秒；"
                              f"{summary.get('message', '')}"),
              ("同市结对 Within city", f"{summary.get('within_city_pairs')} 对"
               + (f"（同市优先：最多 {summary.get('within_city_max')} 对）" if summary.get("within_city_max") is not None
                  else "")),
              ("数据年度 Data year", str(options.get("year"))),
              ("亩均评价批次 Per-mu run", options.get("run") or "无"),
              ("结对规则 Rule set", f"{options.get('rules')}（版本 {doc.get('basis', {}).get('rules_version')}）"),
              ("产业链判定规则 Chain rules", str(doc.get("basis", {}).get("chain_rules"))),
              ("输入指纹 Inputs", str(doc.get("basis", {}).get("inputs_fingerprint"))),
              ("制定 Made", f"{doc.get('created_by')} {doc.get('created_at')}"),
              ("数据范围 Scope", "只列出您数据范围内的山区县；范围外企业不显示名称和信用代码。"),
              ("导出时间 Exported at", _now())]
    notes_sheet(wb, f, items)
    wb.close()
    return buffer.getvalue()
