"""Industrial-chain workbooks (xlsxwriter): the attraction target list (招商目标) and a chain's
panorama in one region, each built from the document a :mod:`shanhai.jobs.chains` function
returned (``targets`` / ``panorama``) and returned as bytes, so the web's downloads and the CLI
write the same file.

Every workbook names what its figures were computed from — the data year and fingerprint, the
per-mu run the classes come from and the chain rule set's name, version and fingerprint — in the
footer of its data sheet and on its 说明 sheet. Firms outside the caller's region arrive masked
(``masked=True``: no name, no USCC) and stay masked: the label ``（范围外企业）`` is written in
place of the name and the USCC cell is left empty.

The labels of statuses, components, penalties and findings are here too: the web screens use
the same words.
"""

from __future__ import annotations

import datetime as dt

from shanhai.jobs.chains import MASKED_NAME, STAGE_LABELS, STATUS_LABELS
from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _write

# the five components of a target's score, in the rule set's order
COMPONENTS = (("fit", "环节契合", "Segment fit"), ("size", "规模", "Size"), ("efficiency", "亩均效益", "Efficiency"),
              ("growth", "成长性", "Growth"), ("pairing", "结对关系", "Pairing"))
COMPONENT_NOTES = {
    "fit": ("缺失环节 1，薄弱环节 0.6", "1 for a missing segment, 0.6 for a weak one"),
    "size": ("营业收入在全省该环节企业中的百分位", "revenue percentile among the segment's firms in the province"),
    "efficiency": ("亩均效益评价类别得分", "points of the firm's per-mu class"),
    "growth": ("营业收入较上年增速，映射到 0–1", "revenue growth on the year before, mapped to 0–1"),
    "pairing": ("山海协作结对地区 1，同一设区市 0.5", "1 for a 山海协作 partner county, 0.5 for the same city"),
}
PAIRING_LABELS = {"paired": ("山海协作结对地区", "山海协作 partner"), "same_city": ("同一设区市", "same city")}
PENALTY_LABELS = {"missing": ("缺失环节", "Missing segments"), "weak": ("薄弱环节", "Weak segments"),
                  "concentrated": ("集中或单一企业环节", "Concentrated or single-firm segments"),
                  "leader_low_class": ("链主企业亩均评价 C/D 类", "Chain leaders in class C/D"),
                  "leader_collapse": ("链主企业用电量骤降", "Chain leaders whose electricity collapsed")}
FINDING_LABELS = {"single_firm": ("单一企业环节", "Single-firm segment"),
                  "concentrated": ("集中度过高", "Concentrated segment"),
                  "leader_low_class": ("链主企业为 C/D 类", "Chain leader in class C/D"),
                  "leader_collapse": ("链主企业用电量骤降", "Chain leader's electricity collapsed")}
STATUS_COLORS = {"strong": "#1a9850", "present": "#4575b4", "weak": "#f39c12", "missing": "#d73027",
                 "outside": "#9e9e9e"}
_BOUNDS = (("firms", "企业数", "firms"), ("above", "规上企业数", "above-scale firms"),
           ("lq", "区位熵", "location quotient"), ("share", "占全省比重", "share of the province"),
           ("leaders", "链主企业数", "chain leaders"))


def status_label(status: str, lang: str = "zh") -> str:
    return STATUS_LABELS.get(status, (status, status))[1 if lang == "en" else 0]


def rule_text(rules, number: int | None, lang: str = "zh", status: str | None = None) -> str:
    """The status rule ``number`` (1-based) of a rule set in words; None: no rule held (present),
    or, for a segment outside manufacturing with no firm (``status='outside'``), no rule applied."""
    en = lang == "en"
    if status == "outside":
        return ("outside manufacturing and no firm joined it: the register cannot tell" if en
                else "非制造业环节且无企业归入：登记数据无法判断，不评状态")
    if number is None:
        return "no rule held: present" if en else "未满足任何规则，判为「具备」"
    if rules is None or not 1 <= number <= len(rules.status):
        return f"rule {number}" if en else f"规则{number}"
    rule = rules.status[number - 1]
    parts = []
    for key, zh, eng in _BOUNDS:
        for side, op in (("min", "≥"), ("max", "≤")):
            value = getattr(rule, f"{key}_{side}", None)
            if value is None:
                continue
            shown = f"{value * 100:g}%" if key == "share" else f"{value:g}"
            parts.append(f"{eng if en else zh} {op} {shown}")
    label = status_label(rule.status, lang)
    joined = " and ".join(parts) if en else "且".join(parts)
    return f"rule {number}: {label} when {joined}" if en else f"规则{number}：{joined} → {label}"


def basis_lines(basis: dict) -> list[tuple[str, str]]:
    """The basis of a chain document as (label, value) lines."""
    return [("数据年度 Data year", str(basis.get("year"))),
            ("亩均评价批次 Per-mu run", basis.get("run_id") or "无（未使用亩均评价类别）"),
            ("数据指纹 Data fingerprint", basis.get("data_fingerprint") or ""),
            ("判定规则 Rule set", f"{basis.get('rules')}（版本 {basis.get('rules_version')}）"),
            ("规则指纹 Rule set fingerprint", basis.get("rules_fingerprint") or "")]


def basis_sentence(basis: dict) -> str:
    return (f"数据年度 {basis.get('year')}；亩均评价批次 {basis.get('run_id') or '无'}；数据指纹 "
            f"{basis.get('data_fingerprint')}；判定规则 {basis.get('rules')} 版本 {basis.get('rules_version')}"
            f"（{basis.get('rules_fingerprint')}）")


def _rules(basis: dict):
    from shanhai.policy import chain_rules

    try:
        return chain_rules(basis.get("rules") or "default")
    except Exception:           # a rule set removed since: the workbook still names it in the basis
        return None


def _now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M")


# ---- 招商目标 ---------------------------------------------------------------------------------

TARGET_COLUMNS = (("排名", 6), ("总分", 8), *((f"{zh}得分", 9) for _, zh, _ in COMPONENTS), ("入选理由", 48),
                  ("产业链", 14), ("目标环节", 20), ("环节状态", 9), ("所在县(市、区)", 14), ("设区市", 10),
                  ("企业名称", 34), ("统一社会信用代码", 21), ("营收规模", 12), ("亩均类别", 9), ("结对关系", 16))


def targets_workbook(doc: dict) -> bytes:
    """The attraction target list of ``jobs.chains.targets`` as a workbook: 招商目标 (one row per
    target, best first, with the points of each component and the reasons) and 说明 (the region,
    the weak and missing segments, the weights, the rule set and the basis)."""
    region = doc["region"]
    basis = doc["basis"]
    wb, buffer = workbook(f"{region['name']}产业链招商目标", f"basis {basis_sentence(basis)}")
    f = _Formats(wb)
    ws = wb.add_worksheet("招商目标")
    last = len(TARGET_COLUMNS) - 1
    ws.merge_range(0, 0, 0, last, f"{region['name']}产业链招商目标企业（{basis.get('year')}年度数据）", f.title)
    ws.set_row(0, 30)
    for c, (header, width) in enumerate(TARGET_COLUMNS):
        ws.write_string(1, c, header, f.header)
        ws.set_column(c, c, width)
    rows = doc.get("targets", [])
    for n, t in enumerate(rows, start=2):
        masked = bool(t.get("masked"))
        pairing = PAIRING_LABELS.get(t.get("pairing") or "", ("", ""))[0]
        values = [
            (t.get("rank"), f.int), (t.get("score"), f.num),
            *((t.get("points", {}).get(key), f.num) for key, _, _ in COMPONENTS),
            ("；".join(t.get("reasons") or ()), f.text),
            (t.get("chain_name"), f.text), (t.get("segment_name"), f.text),
            (status_label(t.get("segment_status") or ""), f.center),
            (t.get("county_name"), f.text), (t.get("city_name"), f.text),
            (MASKED_NAME[0] if masked else t.get("name"), f.text),
            (None if masked else t.get("uscc"), f.center),
            (t.get("size_band"), f.center), (t.get("mujun_class") or "未参评", f.center), (pairing, f.text),
        ]
        for c, (value, fmt) in enumerate(values):
            _write(ws, n, c, value, fmt)
    foot = len(rows) + 3
    masked_count = sum(1 for t in rows if t.get("masked"))
    ws.merge_range(foot, 0, foot, last,
                   f"共 {len(rows)} 家（全部候选 {doc.get('total', len(rows))} 家）；其中范围外企业 {masked_count} 家"
                   f"只显示所在县、环节、规模档和类别，不显示名称和信用代码。", f.footer)
    ws.merge_range(foot + 1, 0, foot + 1, last, f"依据：{basis_sentence(basis)}；导出时间 {_now()}", f.footer)
    ws.set_row(foot + 1, 30)
    ws.freeze_panes(2, 2)
    _print_setup(ws, 1)

    weights = doc.get("weights", {})
    items = [("地区 Region", f"{region['name']} ({region['code']})"),
             ("目标环节 Weak and missing segments", "；".join(
                 f"{s['chain_name']}·{s['name']}（{status_label(s['status'])}）"
                 for s in doc.get("segments", [])) or "无薄弱或缺失环节"),
             ("评分方法 Score", "总分 = 100 × Σ 权重 × 分项值（各分项值在 0–1 之间），各分项得分相加即总分。")]
    for key, zh, en in COMPONENTS:
        items.append((f"权重 {zh} {en}", f"{weights.get(key, '')}：{COMPONENT_NOTES[key][0]}"))
    rules = _rules(basis)
    if rules is not None:
        items.append(("判定规则名称 Rule set", f"{rules.display_name}（{rules.name}，版本 {rules.version}）"))
        items.append(("规则来源 Source", rules.source))
        items.append(("候选范围 Candidates", f"每个环节按营业收入取前 {rules.targets.per_segment} 家"
                                          + ("规上企业" if rules.targets.above_scale_only else "企业")))
        items.append(("亩均类别得分 Class points", "，".join(f"{k} {v:g}" for k, v in rules.targets.class_points.items())))
        items.append(("增速区间 Growth band", f"{rules.targets.growth_band.low:+.0%} → 0，"
                                            f"{rules.targets.growth_band.high:+.0%} → 1"))
    items += basis_lines(basis)
    items += [("数据范围 Scope", "本区域以外的企业只显示所在县（市、区）、环节、规模档和亩均类别，不显示名称和信用代码。"),
              ("导出时间 Exported at", _now())]
    notes_sheet(wb, f, items)
    wb.close()
    return buffer.getvalue()


# ---- 全景图 -----------------------------------------------------------------------------------

SEGMENT_COLUMNS = (("链条位置", 8), ("环节", 24), ("上级环节", 18), ("状态", 8), ("判定规则", 36), ("企业数", 8),
                   ("规上企业数", 9), ("链主企业数", 9), ("营业收入(万元)", 14), ("增加值(万元)", 14),
                   ("税收(万元)", 12), ("亩均税收(万元/亩)", 11), ("亩均增加值(万元/亩)", 11), ("营收增速", 9),
                   ("占全省比重", 9), ("区位熵", 8), ("HHI", 8), ("最大企业占比", 9), ("A类", 6), ("B类", 6),
                   ("C类", 6), ("D类", 6), ("链主企业", 30), ("行业代码", 20))


def panorama_workbook(doc: dict) -> bytes:
    """A chain's panorama of ``jobs.chains.panorama`` in one region: 环节 (every segment's figures,
    status and the rule that decided it) and 说明 (region, chain, totals, status rules, basis)."""
    region, chain, basis = doc["region"], doc["chain"], doc["basis"]
    rules = _rules(basis)
    wb, buffer = workbook(f"{region['name']}{chain['name']}产业链全景", f"basis {basis_sentence(basis)}")
    f = _Formats(wb)
    ws = wb.add_worksheet("环节")
    last = len(SEGMENT_COLUMNS) - 1
    ws.merge_range(0, 0, 0, last, f"{region['name']}{chain['name']}产业链全景（{basis.get('year')}年度数据）", f.title)
    ws.set_row(0, 30)
    for c, (header, width) in enumerate(SEGMENT_COLUMNS):
        ws.write_string(1, c, header, f.header)
        ws.set_column(c, c, width)
    names = {s["segment_id"]: s["name"] for s in doc["segments"]}
    segments = doc["segments"]
    for n, s in enumerate(segments, start=2):
        classes = s.get("classes") or {}
        rule = rule_text(rules, s.get("status_rule"), status=s["status"])
        values = [
            (STAGE_LABELS.get(s["stage"], (s["stage"],))[0], f.center), (s["name"], f.text),
            (names.get(s.get("parent_segment_id") or "", ""), f.text),
            (status_label(s["status"]), f.center), (rule, f.text),
            (s["firms"], f.count), (s["above"], f.count), (s["leaders"], f.count),
            (s["revenue"], f.money), (s["value_added"], f.money), (s["tax_paid"], f.money),
            (s.get("tax_per_mu"), f.num), (s.get("value_added_per_mu"), f.num), (s.get("revenue_growth"), f.pct),
            (s.get("share"), f.pct), (s.get("lq"), f.num), (s.get("hhi"), f.ratio), (s.get("top1_share"), f.pct),
            *((classes.get(c, 0), f.count) for c in "ABCD"),
            ("、".join(s.get("leader_names") or ()), f.text), ("、".join(s.get("codes") or ()), f.text),
        ]
        for c, (value, fmt) in enumerate(values):
            _write(ws, n, c, value, fmt)
    foot = len(segments) + 3
    ws.merge_range(foot, 0, foot, last, f"依据：{basis_sentence(basis)}；导出时间 {_now()}", f.footer)
    ws.set_row(foot, 30)
    ws.freeze_panes(2, 2)
    _print_setup(ws, 1)

    totals = doc.get("totals", {})
    counts = doc.get("status_counts", {})
    items = [("地区 Region", f"{region['name']} ({region['code']})"),
             ("产业链 Chain", f"{chain['name']}（{chain['chain_id']}）"),
             ("环节状态 Statuses", "，".join(f"{status_label(k)} {counts.get(k, 0)}" for k in STATUS_LABELS)),
             ("企业合计 Firms", f"{totals.get('firms', 0)}（规上 {totals.get('above', 0)}），一家企业可属多个环节"),
             ("公式 Formulas", "区位熵 = (本地区该环节增加值 ÷ 本地区制造业增加值) ÷ (全省该环节增加值 ÷ 全省制造业增加值)；"
                             "占全省比重 = 本地区该环节增加值 ÷ 全省该环节增加值；HHI = Σ 营收² ÷ (Σ 营收)²；"
                             "亩均 = Σ 有用地企业的税收（增加值） ÷ Σ 用地。")]
    if chain.get("note"):
        items.append(("产业链说明 Note", chain["note"]))
    if rules is not None:
        items.append(("判定规则名称 Rule set", f"{rules.display_name}（{rules.name}，版本 {rules.version}）"))
        items += [(f"状态规则 {n}", rule_text(rules, n)) for n in range(1, len(rules.status) + 1)]
        items.append(("其余 Otherwise", rule_text(rules, None)))
    items += basis_lines(basis)
    items.append(("导出时间 Exported at", _now()))
    notes_sheet(wb, f, items)
    wb.close()
    return buffer.getvalue()
