"""山海协作 workbooks (xlsxwriter), built from the documents :mod:`shanhai.jobs.coop_profile`
returned and returned as bytes, so the web's downloads and the CLI write the same file:

* :func:`overview_workbook` — 山区26县 (the 26 counties' headline figures), 行动计划目标 (each target
  of 2023 and 2025 with its value, gap and light) and 说明;
* :func:`profile_workbook` — one county: 概况 (category, figures, targets), 主导产业与建议,
  结对与飞地, 项目与产业链, 说明;
* :func:`enclaves_workbook` — 飞地 (the enclaves the caller may see), 年度收益, 说明.

Each names its basis (data year, data fingerprint, the plan's version and source) and says that
the mountain-county category split is not verified wherever a category or a category target is
written. What a caller may not see (another county's projects, money figures suppressed under
the public-aggregate rule, enclaves outside its region) arrives blank from the job and stays blank.
"""

from __future__ import annotations

import datetime as dt

from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reference._models import CONFIDENCE_LABELS
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write


def _confidence(code: str | None) -> str | None:
    """可信度高/中/低 for a reference row's confidence code (the code itself if unknown)."""
    return CONFIDENCE_LABELS.get(code, (code,))[0] if code else None

LIGHT_TEXT = {"green": "绿灯（达到或不落后序时进度）", "amber": "黄灯（落后序时进度）", "red": "红灯（明显落后或逾期未达）",
              "grey": "无数据"}
SCOPE_LABELS = {"province": "省级结对", "within-city": "市内结对"}
ROLE_LABELS = {"host": "飞入地", "owner": "飞出地"}


def _now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M")


def _sheet(wb, f, name: str, title: str, columns: list[tuple[str, float]], rows: list[list[tuple]],
           footer: list[str] = ()) -> None:
    """A sheet with a title row, a header row, the rows (value, format) and footer lines."""
    ws = wb.add_worksheet(name)
    last = max(len(columns) - 1, 1)
    ws.merge_range(0, 0, 0, last, title, f.title)
    ws.set_row(0, 30)
    for c, (header, width) in enumerate(columns):
        ws.write_string(1, c, header, f.header)
        ws.set_column(c, c, width)
    for n, row in enumerate(rows, start=2):
        for c, (value, fmt) in enumerate(row):
            _write(ws, n, c, value, fmt)
    at = len(rows) + 3
    for line in footer:
        ws.merge_range(at, 0, at, last, line, f.footer)
        ws.set_row(at, 30)
        at += 1
    ws.freeze_panes(2, 2)
    _print_setup(ws, 1)


def basis_lines(basis: dict) -> list[tuple[str, str]]:
    return [("数据年度 Data year", str(basis.get("year"))),
            ("使用年度 Years read", "、".join(str(y) for y in basis.get("years") or ())),
            ("数据指纹 Data fingerprint", basis.get("data_fingerprint") or ""),
            ("目标依据 Targets", f"{basis.get('plan_source')}（{basis.get('plan')} 版本 {basis.get('plan_version')}，"
                                 f"指纹 {basis.get('plan_fingerprint')}）"),
            ("计数起始年 Counted from", str(basis.get("counted_from"))),
            ("口径 Method", basis.get("method") or "")]


def _basis_sentence(basis: dict) -> str:
    return (f"依据：数据年度 {basis.get('year')}；数据指纹 {basis.get('data_fingerprint')}；目标 {basis.get('plan_source')}"
            f"（版本 {basis.get('plan_version')}）；导出时间 {_now()}")


def _light(item: dict) -> str:
    return LIGHT_TEXT.get(item.get("light"), item.get("light") or "")


# ---- the 26 counties and the action plan -------------------------------------------------------

OVERVIEW_COLUMNS = [("县（市、区）", 14), ("设区市", 8), ("分类（待核实）", 14), ("规上企业", 8), ("上年规上企业", 9),
                    ("当年新上规", 9), ("累计新上规", 9), ("专精特新", 8), ("规上工业增加值(万元)", 14),
                    ("亩均税收(万元/亩)", 11), ("亩均税收目标", 9), ("是否达到", 8), ("亩均增加值(万元/亩)", 11),
                    ("全员劳动生产率(万元/人)", 12), ("是否达到15万元/人", 10), ("结对地区", 8), ("飞地", 6),
                    ("落地项目", 8), ("备注", 30)]
PROGRESS_COLUMNS = [("目标年份", 8), ("目标", 40), ("目标值", 9), ("单位", 7), ("截至年度", 8), ("当前值", 9),
                    ("差距", 9), ("完成度", 9), ("序时进度", 9), ("亮灯", 22), ("说明", 50)]


def _yes(v) -> str | None:
    return None if v is None else ("是" if v else "否")


def overview_rows(f, doc: dict) -> list[list[tuple]]:
    out = []
    for r in doc["rows"]:
        t = r["targets"]
        remark = []
        if r.get("suppressed"):
            remark.append(f"规上企业少于 {doc.get('public_min_firms', 3)} 家，金额指标不公开")
        if not r.get("in_scope", True):
            remark.append("不在您的数据范围：不显示项目")
        out.append([(r["name"], f.text), (r.get("city_name"), f.text), (r.get("category_label"), f.text),
                    (r["above_scale"], f.count), (r.get("above_scale_prev"), f.count), (r.get("new_above_scale"), f.count),
                    (r.get("new_above_scale_since"), f.count), (r.get("specialised"), f.count),
                    (r.get("value_added"), f.money), (r.get("tax_per_mu"), f.num), (r.get("tax_target"), f.num),
                    (_yes(t["tax_per_mu"]["met"]), f.center), (r.get("value_added_per_mu"), f.num),
                    (r.get("labour_productivity"), f.num), (_yes(t["labour_productivity"]["met"]), f.center),
                    (r.get("partners"), f.count), (r.get("enclaves"), f.count), (r.get("projects"), f.count),
                    ("；".join(remark), f.text)])
    return out


def progress_rows(f, doc: dict) -> list[list[tuple]]:
    return [[(i["target_year"], f.int), (i["label"], f.text), (i["target"], f.count), (i["unit"], f.center),
             (i["as_of"], f.int), (i["actual"], f.count), (i["gap"], f.count), (i["achieved"], f.pct),
             (i["schedule"], f.pct), (_light(i), f.text), (i.get("note") or "", f.text)] for i in doc["items"]]


def overview_workbook(overview: dict, progress: dict) -> bytes:
    """The 26 counties (``coop_profile.overview``) and the plan's progress (``action_plan_progress``)."""
    basis = overview["basis"]
    wb, buffer = workbook(f"山区26县山海协作概览（{overview['year']}年度）")
    f = _Formats(wb)
    totals = overview["totals"]
    _sheet(wb, f, "山区26县", f"山区26县山海协作概览（{overview['year']}年度数据）", OVERVIEW_COLUMNS,
           overview_rows(f, overview),
           [f"合计：规上企业 {totals['above_scale']} 家；规上工业增加值 {totals['value_added']:,.2f} 万元；"
            f"亩均税收达到分类目标 {totals['tax_met']} 个县，劳动生产率达到 15 万元/人 {totals['productivity_met']} 个县。",
            "分类（跨越发展类 / 生态发展类）未经核实，分类目标仅供参考。", _basis_sentence(basis)])
    _sheet(wb, f, "行动计划目标", f"产业链山海协作行动计划目标完成情况（截至 {progress['year']} 年）", PROGRESS_COLUMNS,
           progress_rows(f, progress), [f"目标来源：{progress['source']}。{progress['lights_note']}",
                                        _basis_sentence(progress["basis"])])
    notes_sheet(wb, f, [("范围 Counties", "山区26县（2021年名单，regions.mountain26）"),
                   ("分类 Category", overview["category_note"]),
                   ("公开口径 Public figures", f"不在您数据范围内的县：不显示项目；规上企业少于 {overview['public_min_firms']} "
                                          "家的县不显示增加值、税收和亩均指标，以免推算单个企业数据。"),
                   ("亮灯 Lights", progress["lights_note"]),
                   *basis_lines(basis), ("导出时间 Exported at", _now())])
    wb.close()
    return buffer.getvalue()


# ---- one county --------------------------------------------------------------------------------

def profile_workbook(doc: dict) -> bytes:
    """One mountain county's profile (``coop_profile.profile``)."""
    c, fig, basis = doc["county"], doc["figures"], doc["basis"]
    wb, buffer = workbook(f"{c['name']}山海协作画像（{doc['year']}年度）")
    f = _Formats(wb)
    title = f"{c['name']}山海协作画像（{doc['year']}年度数据）"
    rows = [[("县（市、区）", f.key), (f"{c['name']}（{c['adcode']}），{c.get('city_name') or ''}", f.text)],
            [("分类", f.key), (f"{c.get('category_label') or '未定'}；{c.get('category_note') or '已核实'}", f.text)],
            [("规上企业（家）", f.key), (fig["above_scale"], f.count)],
            [("上年规上企业（家）", f.key), (fig.get("above_scale_prev"), f.count)],
            [("当年新上规企业（家）", f.key), (fig.get("new_above_scale"), f.count)],
            [(f"{fig.get('new_since_year')} 年以来新上规企业（家）", f.key), (fig.get("new_above_scale_since"), f.count)],
            [("省级专精特新企业（家）", f.key), (fig.get("specialised"), f.count)],
            [("规上工业增加值（万元）", f.key), (fig.get("value_added"), f.money)],
            [("规上工业亩均税收（万元/亩）", f.key), (fig.get("tax_per_mu"), f.num)],
            [("规上工业亩均增加值（万元/亩）", f.key), (fig.get("value_added_per_mu"), f.num)],
            [("全员劳动生产率（万元/人）", f.key), (fig.get("labour_productivity"), f.num)]]
    ws_rows = rows + [[("", f.text), ("", f.text)]]
    for t in doc["targets"]:
        mark = "（分类待核实）" if t.get("unverified") else ""
        state = "已达到" if t.get("met") else ("未达到" if t.get("met") is False else "无目标或无数据")
        ws_rows.append([(f"目标 · {t['label']}{mark}", f.key),
                        (f"当前 {_fmt(t['actual'])} {t['unit']}，目标 {_fmt(t['target'])}（{t['year']}），{state}", f.text)])
    _sheet(wb, f, "概况", title, [("项目", 34), ("内容", 80)], ws_rows, [_basis_sentence(basis)])

    s = doc["suggestions"]
    lead_rows = [[("申报主导产业", f.center), (x["name"], f.text), ("、".join(x["codes"]), f.text), (None, f.num),
                  (None, f.num), ("", f.text)] for x in doc["leads"]]
    for kind, label in (("develop", "建议培育"), ("strengthen", "建议做强")):
        for r in s.get(kind) or ():
            lead_rows.append([(f"{label} #{r['rank']}", f.center), (r["name"], f.text), (r["code"], f.text),
                              (r.get("density"), f.ratio), (r.get("pci"), f.ratio), (r.get("reason_zh"), f.text)])
    _sheet(wb, f, "主导产业与建议", f"{c['name']}主导产业与一县一业建议", [("类别", 14), ("行业", 24), ("代码", 14),
                                                                      ("可行性", 10), ("复杂度 PCI", 10), ("理由", 70)],
           lead_rows, [s.get("error") or f"经济复杂度 ECI {_fmt(s.get('eci'))}，全省第 {s.get('eci_rank') or '—'} / "
                                         f"{s.get('counties') or '—'} 位；详见 /opportunities。"])

    pe_rows = [[("结对地区", f.center), (p["developed_name"], f.text), (p.get("developed_city"), f.text),
                (SCOPE_LABELS.get(p.get("scope") or "", p.get("scope")), f.text), (p.get("paired_since"), f.int),
                (None, f.money), (f"{_confidence(p.get('confidence')) or '可信度 —'}；{p.get('source_url') or ''}", f.text)]
               for p in doc["partners"]]
    for e in doc["enclaves"]:
        other = e["host_name"] if e["role"] == "owner" else e["owner_name"]
        pe_rows.append([(f"飞地（本县为{ROLE_LABELS[e['role']]}{'，设区市' if e.get('via_city') else ''}）", f.center),
                        (e["name"], f.text), (other, f.text), (e["kind_label"], f.text),
                        (int(e["established_on"][:4]) if e.get("established_on") else None, f.int),
                        (e.get("returns_total") or None, f.money),
                        ("；".join(x for x in (
                            "、".join(f"{r['year']}年 {_fmt(r['amount'])} 万元" for r in e["returns"]),
                            e.get("return_terms"), e.get("source_url")) if x), f.text)])
    _sheet(wb, f, "结对与飞地", f"{c['name']}山海协作结对与飞地",
           [("类别", 22), ("名称", 30), ("对方地区", 18), ("类型", 12), ("起始年份", 9), ("累计收益(万元)", 12),
            ("说明与来源", 70)], pe_rows, ["飞地内项目无法从库中判定，未列出。"])

    p = doc["projects"]
    pc_rows = [[("项目阶段", f.center), (s_["label"], f.text), (s_["projects"], f.count), (s_["cooperation"], f.count),
                (s_["chain_cooperation"], f.count), (s_["planned_investment"], f.money)] for s_ in p["by_stage"]]
    for ch in doc["chains"]:
        k = ch["counts"]
        pc_rows.append([("产业链", f.center), (ch["name"], f.text), (ch["firms"], f.count), (k.get("strong"), f.count),
                        (k.get("missing"), f.count),
                        (ch.get("value_added"), f.money)])
    _sheet(wb, f, "项目与产业链", f"{c['name']}落地项目与产业链",
           [("类别", 10), ("阶段 / 产业链", 24), ("项目数 / 企业数", 12), ("山海协作 / 优势环节", 14),
            ("产业链协作 / 缺失环节", 14), ("计划投资 / 增加值(万元)", 16)], pc_rows,
           [f"项目合计 {p['total']} 个（山海协作 {p['cooperation']} 个，其中产业链项目 {p['chain_cooperation']} 个），"
            f"首谈地在外地 {p['first_contact_elsewhere']} 个；项目台账见项目管理。",
            doc.get("chains_error") or "产业链状态取自产业链全景（jobs.chains.panorama_grid）。"])
    notes_sheet(wb, f, [("县（市、区）", f"{c['name']}（{c['adcode']}）"), ("分类", c.get("category_note") or "已核实"),
                   *basis_lines(basis), ("导出时间 Exported at", _now())])
    wb.close()
    return buffer.getvalue()


def _fmt(v, digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.{digits}f}"


# ---- enclaves ----------------------------------------------------------------------------------

ENCLAVE_COLUMNS = [("飞地", 30), ("类型", 10), ("飞入地", 18), ("飞出地", 14), ("设立", 11), ("面积(亩)", 10),
                   ("投资(万元)", 11), ("收益方式", 30), ("累计收益(万元)", 12), ("计入30个目标", 10), ("来源", 10),
                   ("可信度", 8), ("来源链接", 40), ("备注", 40)]


def enclaves_workbook(doc: dict) -> bytes:
    """The enclaves the caller may see (``coop_profile.enclaves``) with their returns."""
    wb, buffer = workbook("山海协作飞地")
    f = _Formats(wb)
    rows = [[(e["name"], f.text), (e["kind_label"], f.center), (e["host_name"], f.text), (e["owner_name"], f.text),
             (e.get("established") or e.get("established_on"), f.center), (e.get("area_mu"), f.num),
             (e.get("investment_wan"), f.money), (e.get("return_terms"), f.text), (e.get("returns_total") or None, f.money),
             (_yes(e.get("counts")), f.center), ("随包公开资料" if e["packaged"] else "导入", f.center),
             (_confidence(e.get("confidence")), f.center), (e.get("source_url"), f.text), (e.get("note"), f.text)]
            for e in doc["enclaves"]]
    p = doc["progress"]
    _sheet(wb, f, "飞地", f"山海协作飞地（截至 {doc['year']} 年）", ENCLAVE_COLUMNS, rows,
           [f"计入目标的飞地 {p['counted']} 个 / 目标 {_fmt(p['target'], 0)} 个（{p['target_year']} 年）；"
            f"您的范围外另有 {doc['hidden']} 个导入的飞地未列出。", p.get("note") or "", doc["note"]])
    returns = [[(e["name"], f.text), (r["year"], f.int), (r["amount"], f.money)]
               for e in doc["enclaves"] for r in e["returns"]]
    _sheet(wb, f, "年度收益", "飞地年度返还收益", [("飞地", 34), ("年度", 8), ("收益(万元)", 14)], returns,
           ["收益为返还飞出地（村集体或国资主体）的分红或固定回报。"])
    notes_sheet(wb, f, [("类型", "产业飞地、科创飞地、消薄飞地"), ("计入规则", "飞入地或飞出地为山区26县（或全部为山区县的设区市），"
                                                          "且设立年份不晚于当年（设立日期不详者计入）"),
                   ("说明", doc["note"]), ("导出时间 Exported at", _now())])
    wb.close()
    return buffer.getvalue()
