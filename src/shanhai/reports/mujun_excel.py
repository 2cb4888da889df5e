"""Per-mu evaluation workbooks (xlsxwriter).

``public_lists``: the lists a county publishes — above-scale; below-scale ≥ 3 亩; below-scale
< 3 亩; lessees (Cixi 2024's four lists), one sheet each, in the public-notice layout: a merged
title, 序号 | 企业名称 | 统一社会信用代码 | 所属乡镇(街道) | 评价类别, class then name, a footer
naming the run and the policy. ``county_workbook``: one county's full account — summary, every
firm's indicators and scores, the benchmarks, the remediation list and notes.

Both read one stored run and filter by region inside the query: a county's export never
contains another county's firms.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from shanhai.errors import ShanhaiError
from shanhai.jobs import mujun as jobs
from shanhai.jobs import mujun_review as review
from shanhai.store import Store
from shanhai.store.sql import literal

STANDARD_LISTS = ("规上企业", "规下企业(≥3亩)", "规下企业(<3亩)", "租赁企业")
LIST_COLUMNS = (("序号", 6), ("企业名称", 42), ("统一社会信用代码", 22), ("所属乡镇(街道)", 18), ("评价类别", 20))
RATIO_INDICATORS = {"rd_intensity", "rd_intensity_revenue", "tax_per_kwh", "revenue_per_kwh"}


@dataclass
class Exported:
    path: str
    kind: str                                   # public_lists | county_workbook
    run_id: str
    region: str | None
    sheets: dict[str, int] = field(default_factory=dict)   # sheet → data rows

    def as_dict(self) -> dict:
        return {"path": self.path, "kind": self.kind, "run_id": self.run_id, "region": self.region,
                "sheets": self.sheets}


# ---- shared layout ---------------------------------------------------------------------------

class _Formats:
    def __init__(self, wb) -> None:
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
        cell = {**base, "border": 1}
        self.title = wb.add_format({**base, "bold": True, "font_size": 14, "align": "center", "text_wrap": True})
        self.subtitle = wb.add_format({**base, "bold": True, "font_size": 11})
        self.header = wb.add_format({**cell, "bold": True, "align": "center", "text_wrap": True,
                                     "bg_color": "#DDEBF7"})
        self.text = wb.add_format({**cell, "text_wrap": True})
        self.center = wb.add_format({**cell, "align": "center"})
        self.int = wb.add_format({**cell, "num_format": "0"})
        self.count = wb.add_format({**cell, "num_format": "#,##0"})
        self.num = wb.add_format({**cell, "num_format": "0.00"})
        self.ratio = wb.add_format({**cell, "num_format": "0.0000"})
        self.money = wb.add_format({**cell, "num_format": "#,##0.00"})
        self.pct = wb.add_format({**cell, "num_format": "0.00%"})
        self.footer = wb.add_format({**base, "font_size": 9, "text_wrap": True, "valign": "top"})
        self.key = wb.add_format({**cell, "bold": True, "bg_color": "#F2F2F2", "text_wrap": True, "valign": "top"})
        self.value = wb.add_format({**cell, "text_wrap": True, "valign": "top"})


def _write(ws, row: int, col: int, value, fmt) -> None:
    """A value as a number when it is one (NaN and None as blanks), else as text."""
    if value is None or (isinstance(value, float) and value != value):
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, "是" if value else "否", fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _print_setup(ws, header_row: int) -> None:
    ws.set_landscape()
    ws.set_paper(9)                      # A4
    ws.fit_to_pages(1, 0)                # one page wide, as many tall as needed
    ws.repeat_rows(0, header_row)        # the title and the header on every page
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")


def _sheet_name(name: str, taken: set[str]) -> str:
    clean = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'")[:31] or "名单"
    out, n = clean, 2
    while out in taken:
        suffix = f"_{n}"
        out, n = clean[:31 - len(suffix)] + suffix, n + 1
    taken.add(out)
    return out


def _region_name(store: Store, adcode: str) -> str:
    row = store.con.execute(f"SELECT name FROM regions WHERE adcode = {literal(adcode)}").fetchone()
    return row[0] if row else adcode


def _check_path(path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ShanhaiError(f"{path}: an export is an Excel workbook, so the name must end in .xlsx")
    if not path.parent.is_dir():
        raise ShanhaiError(f"{path}: folder {path.parent} does not exist")
    return path


def _close(wb, path: Path) -> None:
    try:
        wb.close()
    except OSError as exc:
        raise ShanhaiError(f"cannot write {path}: {exc.strerror or exc}") from exc


def list_of(population) -> str:
    """The published list a population belongs on: 规上企业; 规下企业(≥N亩); 规下企业(<N亩); 租赁企业;
    else the population's own label."""
    p = population
    if p.lessee:
        return "租赁企业"
    if p.above_scale is True and p.own_land_min is None and p.own_land_max is None:
        return "规上企业"
    if p.above_scale is False:
        if p.own_land_min is not None and p.own_land_max is None:
            return f"规下企业(≥{p.own_land_min:g}亩)"
        if p.own_land_max is not None and p.own_land_min is None:
            return f"规下企业(<{p.own_land_max:g}亩)"
    return p.label


def _list_order(name: str, index: int) -> tuple:
    if name == "规上企业":
        return (0, index)
    if name.startswith("规下企业(≥"):
        return (1, index)
    if name.startswith("规下企业(<"):
        return (2, index)
    if name == "租赁企业":
        return (3, index)
    return (4, index)


def _class_text(preset, code: str) -> str:
    label = preset.class_label(code)
    return f"{code}类（{label}）" if label and label != code else f"{code}类"


# ---- the public lists ------------------------------------------------------------------------

def public_lists(store: Store, run_id: str, path, region: str | None = None) -> Exported:
    """The published lists of a run as one workbook, one sheet per list, in the public-notice
    layout. ``region``: a county or city adcode (None = the whole run)."""
    from shanhai.reports._safe import workbook as safe_workbook

    path = _check_path(path)
    r = review.region_of(store, region)
    preset = jobs.preset_of(store, run_id)
    summary = jobs.summary_of(store, run_id)
    region_name = r.name if r else _region_name(store, summary.region)
    lists: dict[str, list[str]] = {}
    for p in preset.populations:
        lists.setdefault(list_of(p), []).append(p.id)
    ordered = sorted(lists, key=lambda name: _list_order(name, list(lists).index(name)))
    order_case = review._order_case(list(preset.classes.order))
    rows = store.con.execute(f"""
        SELECT population, "class", name, uscc, town_name FROM mujun_results
        WHERE run_id = {literal(run_id)} AND "class" <> 'T' AND {review.region_filter(store, r)}
        ORDER BY {order_case}, name, uscc""").fetchall()
    by_population: dict[str, list[tuple]] = {}
    for row in rows:
        by_population.setdefault(row[0], []).append(row)
    wb = safe_workbook(str(path))
    wb.set_properties({"title": f"{summary.year}年度{region_name}工业企业亩均效益综合评价结果",
                       "comments": f"run {run_id}", "author": "山海 Shanhai"})
    f = _Formats(wb)
    taken: set[str] = set()
    out = Exported(str(path), "public_lists", run_id, r.adcode if r else None)
    today = dt.date.today().isoformat()
    index = {c: i for i, c in enumerate(preset.classes.order)}
    for name in ordered:
        members = [x for pid in lists[name] for x in by_population.get(pid, [])]
        members.sort(key=lambda x: (index.get(x[1], 99), x[2] or "", x[3]))
        sheet = _sheet_name(name, taken)
        ws = wb.add_worksheet(sheet)
        last = len(LIST_COLUMNS) - 1
        ws.merge_range(0, 0, 0, last, f"{summary.year}年度{region_name}工业企业亩均效益综合评价结果（{name}）", f.title)
        ws.set_row(0, 36)
        for c, (header, width) in enumerate(LIST_COLUMNS):
            ws.write_string(1, c, header, f.header)
            ws.set_column(c, c, width)
        for n, (_, code, firm, uscc, town) in enumerate(members, 1):
            row = n + 1
            ws.write_number(row, 0, n, f.center)
            _write(ws, row, 1, firm, f.text)
            ws.write_string(row, 2, uscc, f.center)
            _write(ws, row, 3, town, f.text)
            ws.write_string(row, 4, _class_text(preset, code), f.center)
        foot = len(members) + 3
        counts = {}
        for x in members:
            counts[x[1]] = counts.get(x[1], 0) + 1
        tally = "，".join(f"{c}类 {counts[c]} 家" for c in preset.classes.order if c in counts) or "无"
        ws.merge_range(foot, 0, foot, last, f"合计 {len(members)} 家：{tally}。", f.footer)
        ws.merge_range(foot + 1, 0, foot + 1, last,
                       f"评价批次：{run_id}；评价办法：{preset.display_name}（{preset.name} {preset.version}）；"
                       f"导出日期：{today}", f.footer)
        ws.set_row(foot + 1, 30)
        ws.freeze_panes(2, 0)
        _print_setup(ws, 1)
        out.sheets[sheet] = len(members)
    _close(wb, path)
    return out


# ---- the county workbook ---------------------------------------------------------------------

def county_workbook(store: Store, run_id: str, county: str, path) -> Exported:
    """One county's workbook of a run: 汇总, 企业明细, 基准值, 整改名单, 低效用地, 说明."""
    from shanhai.reports._safe import workbook as safe_workbook

    from shanhai.policy import INDICATORS

    path = _check_path(path)
    r = review.region_of(store, county)
    if r is None or r.level != "county":
        raise ShanhaiError(f"--county {county}: expected the adcode of a county (e.g. 330102)")
    preset = jobs.preset_of(store, run_id)
    summary = jobs.summary_of(store, run_id)
    where = f"run_id = {literal(run_id)} AND {review.region_filter(store, r)}"
    firms = store.con.execute(f"SELECT count(*) FROM mujun_results WHERE {where}").fetchone()[0]
    if firms == 0:
        raise ShanhaiError(f"run {run_id} has no firms in {r.name} ({r.adcode}): it covers region {summary.region}")
    wb = safe_workbook(str(path))
    wb.set_properties({"title": f"{summary.year}年度{r.name}亩均效益综合评价", "comments": f"run {run_id}",
                       "author": "山海 Shanhai"})
    f = _Formats(wb)
    out = Exported(str(path), "county_workbook", run_id, r.adcode)
    title = f"{summary.year}年度{r.name}工业企业亩均效益综合评价"
    out.sheets["汇总"] = _summary_sheet(wb, f, store, run_id, preset, r, title)
    out.sheets["企业明细"] = _detail_sheet(wb, f, store, run_id, preset, r, title, INDICATORS)
    out.sheets["基准值"] = _benchmark_sheet(wb, f, store, run_id, preset, r, title, INDICATORS)
    out.sheets["整改名单"] = _remediation_sheet(wb, f, store, run_id, preset, r, title)
    out.sheets["低效用地"] = _land_sheet(wb, f, store, run_id, preset, r, title)
    out.sheets["说明"] = _notes_sheet(wb, f, store, run_id, preset, summary, r)
    _close(wb, path)
    return out


def _table(ws, f, top: int, headers: list[tuple[str, float]], rows: list[list[tuple]], title: str | None = None) -> int:
    """Headers at ``top`` (after an optional subtitle) and rows of (value, format); returns the
    next free row."""
    if title:
        ws.write_string(top, 0, title, f.subtitle)
        top += 1
    for c, (header, _) in enumerate(headers):
        ws.write_string(top, c, header, f.header)
    for i, row in enumerate(rows, 1):
        for c, (value, fmt) in enumerate(row):
            _write(ws, top + i, c, value, fmt)
    return top + len(rows) + 2


def _widths(ws, headers: list[tuple[str, float]]) -> None:
    for c, (_, width) in enumerate(headers):
        ws.set_column(c, c, width)


def _scopes(preset) -> list[tuple[str, str]]:
    """The roll-up scopes (all, above_scale, each population) with labels, each once."""
    scopes = {"all": "全部企业", "above_scale": "规上企业(统计口径)"}
    for p in preset.populations:
        scopes[f"pop:{p.id}"] = p.label if p.id != "above_scale" else f"{p.label}(评价对象)"
    return list(scopes.items())


def _summary_sheet(wb, f, store, run_id, preset, r, title) -> int:
    ws = wb.add_worksheet("汇总")
    key = literal(r.adcode)
    order = list(preset.classes.order) + ["T"]
    counts: dict[tuple[str, str], int] = {}
    for scope, code, n in store.con.execute(
            f"SELECT scope, \"class\", firms FROM mujun_class_counts WHERE run_id = {literal(run_id)} "
            f"AND level = 'county' AND key = {key}").fetchall():
        counts[(scope, code)] = int(n)
    headers = [("评价对象", 30)] + [(f"{c}类 {preset.class_label(c)}" if c != "T" else
                                    f"T {preset.classes.excluded_label}", 14) for c in order] + [("合计", 10)]
    rows = []
    for scope, label in _scopes(preset):
        values = [counts.get((scope, c), 0) for c in order]
        if not any(values) and scope not in ("all",):
            continue
        rows.append([(label, f.text)] + [(v, f.count) for v in values] + [(sum(values), f.count)])
    last = max(len(headers), 16) - 1
    ws.merge_range(0, 0, 0, last, f"{title} — 汇总", f.title)
    ws.set_row(0, 30)
    nxt = _table(ws, f, 2, headers, rows, "一、分类企业数 (家)")
    fig_headers = [("评价对象", 30), ("企业数", 10), ("参评企业数", 10), ("实缴税金(万元)", 16), ("工业增加值(万元)", 16),
                   ("用地面积(亩)", 14), ("用电量(千瓦时)", 16), ("亩均税收(万元/亩)", 14), ("上年亩均税收", 14),
                   ("亩均税收增幅", 12), ("亩均增加值(万元/亩)", 14), ("上年亩均增加值", 14), ("亩均增加值增幅", 12),
                   ("全员劳动生产率(万元/人)", 14), ("单位能耗增加值(万元/吨标准煤)", 16), ("差别化电价加价(元)", 18)]
    figures = {row[0]: row for row in store.con.execute(
        f"SELECT scope, firms, evaluated, tax_paid::DOUBLE, value_added::DOUBLE, land_used_mu, electricity_kwh, "
        f"tax_per_mu, prev_tax_per_mu, value_added_per_mu, prev_value_added_per_mu, labour_productivity, "
        f"value_added_per_energy, surcharge_yuan::DOUBLE FROM mujun_rollups WHERE run_id = {literal(run_id)} "
        f"AND level = 'county' AND key = {key}").fetchall()}

    def growth(now, before):
        return now / before - 1 if now is not None and before else None

    rows = []
    for scope, label in _scopes(preset):
        x = figures.get(scope)
        if x is None:
            continue
        rows.append([(label, f.text), (x[1], f.count), (x[2], f.count), (x[3], f.money), (x[4], f.money),
                     (x[5], f.num), (x[6], f.count), (x[7], f.num), (x[8], f.num), (growth(x[7], x[8]), f.pct),
                     (x[9], f.num), (x[10], f.num), (growth(x[9], x[10]), f.pct), (x[11], f.num), (x[12], f.num),
                     (x[13], f.money)])
    nxt = _table(ws, f, nxt, fig_headers, rows, "二、主要指标 (和比口径: Σ分子 ÷ Σ分母)")
    ws.merge_range(nxt, 0, nxt, last, "上年数为同一批企业上年数据 (全部企业与规上企业口径); 差别化电价加价为收费期内估算额。",
                   f.footer)
    _widths(ws, fig_headers)
    ws.freeze_panes(1, 1)
    _print_setup(ws, 0)
    return len(figures)


def _detail_sheet(wb, f, store, run_id, preset, r, title, catalogue) -> int:
    ws = wb.add_worksheet("企业明细")
    scored = list(dict.fromkeys(i.id for p in preset.populations for i in p.indicators))
    facts = [("tax_paid", "实缴税金(万元)", f.money), ("value_added", "工业增加值(万元)", f.money),
             ("revenue", "营业收入(万元)", f.money), ("headcount", "年均职工(人)", f.count),
             ("energy_tce", "综合能耗(吨标准煤)", f.num), ("electricity_kwh", "用电量(千瓦时)", f.count),
             ("land_own_mu", "自有用地(亩)", f.num), ("land_used_mu", "用地面积(亩)", f.num)]
    headers = [("序号", 6), ("企业名称", 34), ("统一社会信用代码", 21), ("所属乡镇(街道)", 14), ("行业代码", 8),
               ("规上", 6), ("评价对象", 18)] + [(label, 13) for _, label, _ in facts]
    for i in scored:
        d = catalogue[i]
        headers += [(f"{d.label}({d.unit})", 13), (f"{d.label}基准值", 12), (f"{d.label}得分", 10)]
    headers += [("指标得分", 10), ("加分", 7), ("减分", 7), ("总分", 10), ("名次", 7), ("排名企业数", 9),
                ("得分类别", 8), ("评价类别", 18), ("类别依据", 18), ("连续同类年数", 8), ("不参评原因", 18),
                ("电价加价(元/千瓦时)", 12), ("差别化电价加价(元)", 16)]
    columns = ["uscc", "name", "town_name", "industry_code", "above_scale", "population",
               *(c for c, _, _ in facts)]
    for i in scored:
        columns += [i, f"{i}_benchmark", f"{i}_score"]
    columns += ["base_score", "bonus", "penalty", "total_score", "rank", "unit_size", "score_class", "class",
                "class_rule", "class_streak", "excluded_reason", "electricity_rate", "surcharge_yuan"]
    select = ", ".join(f'"{c}"' + ("::DOUBLE" if c in ("tax_paid", "value_added", "revenue", "land_own_mu",
                                                          "electricity_rate", "surcharge_yuan") else "")
                       for c in columns)
    order_case = review._order_case(list(preset.classes.order))
    data = store.con.execute(
        f"SELECT {select} FROM mujun_results WHERE run_id = {literal(run_id)} AND {review.region_filter(store, r)} "
        f"ORDER BY {order_case}, population NULLS LAST, rank NULLS LAST, name, uscc").fetchall()
    last = len(headers) - 1
    ws.merge_range(0, 0, 0, min(last, 20), f"{title} — 企业明细", f.title)
    ws.set_row(0, 30)
    for c, (header, width) in enumerate(headers):
        ws.write_string(1, c, header, f.header)
        ws.set_column(c, c, width)
    ws.set_row(1, 42)
    for n, values in enumerate(data, 1):
        rec = dict(zip(columns, values, strict=True))
        row = n + 1
        cells = [(n, f.center), (rec["name"], f.text), (rec["uscc"], f.center), (rec["town_name"], f.text),
                 (rec["industry_code"], f.center), (rec["above_scale"], f.center),
                 (review._population_label(preset, rec["population"]) if rec["population"] else None, f.text)]
        cells += [(rec[c], fmt) for c, _, fmt in facts]
        for i in scored:
            vf = f.ratio if i in RATIO_INDICATORS else f.num
            cells += [(rec[i], vf), (rec[f"{i}_benchmark"], vf), (rec[f"{i}_score"], f.num)]
        code = rec["class"]
        cells += [(rec["base_score"], f.num), (rec["bonus"], f.num), (rec["penalty"], f.num),
                  (rec["total_score"], f.num), (rec["rank"], f.int), (rec["unit_size"], f.int),
                  (rec["score_class"], f.center), (_class_text(preset, code) if code != "T" else
                                                   f"T（{preset.classes.excluded_label}）", f.center),
                  (review.rule_label(preset, rec["class_rule"]), f.text), (rec["class_streak"], f.int),
                  (rec["excluded_reason"], f.text), (rec["electricity_rate"], f.ratio),
                  (rec["surcharge_yuan"], f.money)]
        for c, (value, fmt) in enumerate(cells):
            _write(ws, row, c, value, fmt)
    ws.autofilter(1, 0, max(len(data), 1) + 1, last)
    ws.freeze_panes(2, 2)
    _print_setup(ws, 1)
    return len(data)


def _benchmark_sheet(wb, f, store, run_id, preset, r, title, catalogue) -> int:
    ws = wb.add_worksheet("基准值")
    kinds = {"fixed": "公布值", "sum_ratio": "和比 (Σ分子÷Σ分母)", "mean": "平均值", "median": "中位数",
             "percentile": "分位数", "max": "最优值"}
    rows = store.con.execute(f"""
        SELECT b.unit_id, g.name, b.population, b.indicator, b.benchmark, b.kind, b.firms
        FROM mujun_benchmarks b LEFT JOIN regions g ON g.adcode = b.unit_id
        WHERE b.run_id = {literal(run_id)} AND b.unit_id IN (
            SELECT DISTINCT unit_id FROM mujun_results WHERE run_id = {literal(run_id)}
            AND {review.region_filter(store, r)})
        ORDER BY b.unit_id, b.population, b.indicator""").fetchall()
    weights = {(p.id, i.id): i.weight for p in preset.populations for i in p.indicators}
    pop_index = {p.id: n for n, p in enumerate(preset.populations)}
    ind_index = {(p.id, i.id): n for p in preset.populations for n, i in enumerate(p.indicators)}
    rows.sort(key=lambda x: (x[0], pop_index.get(x[2], 99), ind_index.get((x[2], x[3]), 99)))
    headers = [("评价单元", 14), ("单元代码", 10), ("评价对象", 26), ("指标", 26), ("单位", 14), ("权重", 8),
               ("基准值", 14), ("口径", 20), ("计算企业数", 10)]
    table = []
    for unit, unit_name, pid, ind, value, kind, n in rows:
        d = catalogue.get(ind)
        table.append([(unit_name or unit, f.text), (unit, f.center), (review._population_label(preset, pid), f.text),
                      (d.label if d else ind, f.text), (d.unit if d else "", f.center),
                      (weights.get((pid, ind)), f.num),
                      (value, f.ratio if ind in RATIO_INDICATORS else f.num), (kinds.get(kind, kind), f.text),
                      (n, f.count)])
    ws.merge_range(0, 0, 0, len(headers) - 1, f"{title} — 基准值", f.title)
    ws.set_row(0, 30)
    _table(ws, f, 1, headers, table)
    _widths(ws, headers)
    ws.freeze_panes(2, 0)
    _print_setup(ws, 1)
    return len(table)


def _remediation_sheet(wb, f, store, run_id, preset, r, title) -> int:
    ws = wb.add_worksheet("整改名单")
    classes, target = review.follow_up_classes(preset)
    result = review.remediation(store, run_id, r.adcode, classes=classes, target=target)
    headers = [("序号", 6), ("企业名称", 34), ("统一社会信用代码", 21), ("所属乡镇(街道)", 14), ("评价对象", 20),
               ("评价类别", 16), ("总分", 9), ("名次", 7), ("排名企业数", 9), (f"目标分({target}类末位)", 12),
               ("差距分", 9), ("亩均税收(万元/亩)", 12), ("亩均税收基准值", 12), ("亩均税收权重", 9),
               ("需增亩均税收(万元/亩)", 13), ("用地面积(亩)", 11), ("需增税收(万元)", 13), ("差别化电价加价(元)", 14),
               ("说明", 30)]
    rows = []
    for n, x in enumerate(result.rows, 1):
        rows.append([(n, f.center), (x["name"], f.text), (x["uscc"], f.center), (x["town_name"], f.text),
                     (x["population_label"], f.text), (_class_text(preset, x["class"]), f.center),
                     (x["total_score"], f.num), (x["rank"], f.int), (x["unit_size"], f.int),
                     (x["target_score"], f.num), (x["gap"], f.num), (x["tax_per_mu"], f.num),
                     (x["tax_per_mu_benchmark"], f.num), (x["tax_per_mu_weight"], f.num),
                     (x["extra_tax_per_mu"], f.num), (x["land_used_mu"], f.num), (x["extra_tax_wan"], f.money),
                     (x["surcharge_yuan"], f.money), (x["note"], f.text)])
    ws.merge_range(0, 0, 0, len(headers) - 1, f"{title} — 整改名单 ({'、'.join(classes)}类企业与{target}类的差距)",
                   f.title)
    ws.set_row(0, 30)
    nxt = _table(ws, f, 1, headers, rows)
    for k, note in enumerate(result.notes):
        ws.merge_range(nxt + k, 0, nxt + k, len(headers) - 1, note, f.footer)
        ws.set_row(nxt + k, 28)
    ws.set_row(1, 42)
    _widths(ws, headers)
    ws.freeze_panes(2, 2)
    _print_setup(ws, 1)
    return len(rows)


def _land_sheet(wb, f, store, run_id, preset, r, title) -> int:
    """低效用地: the candidate firms (worst class first, most land, lowest score) and the parcels in
    an inefficient status (``jobs.mujun_review.inefficient_land``); returns the firms written."""
    ws = wb.add_worksheet("低效用地")
    classes, _ = review.follow_up_classes(preset)
    result = review.inefficient_land(store, run_id, r.adcode, classes=classes)
    firm_headers = [("序号", 6), ("企业名称", 34), ("统一社会信用代码", 21), ("所属乡镇(街道)", 14), ("评价类别", 16),
                    ("总分", 9), ("用地面积(亩)", 11), ("亩均税收(万元/亩)", 12), ("低效宗地(宗)", 10),
                    ("低效宗地面积(亩)", 12)]
    firms = [[(x["priority"], f.center), (x["name"], f.text), (x["uscc"], f.center), (x["town_name"], f.text),
              (_class_text(preset, x["class"]), f.center), (x["total_score"], f.num), (x["land_used_mu"], f.num),
              (x["tax_per_mu"], f.num), (x["inefficient_parcels"], f.int), (x["inefficient_area_mu"], f.num)]
             for x in result.firms]
    parcel_headers = [("宗地编号", 16), ("状态", 12), ("面积(亩)", 10), ("供地日期", 12), ("权利人", 34),
                      ("权利人统一社会信用代码", 21), ("权利人评价类别", 16)]
    parcels = [[(p["parcel_id"], f.text), (p["status_label"], f.text), (p["area_mu"], f.num),
                (str(p["supplied_on"]) if p["supplied_on"] else None, f.center), (p["holder_name"], f.text),
                (p["holder_uscc"], f.center),
                (_class_text(preset, p["holder_class"]) if p["holder_class"] else None, f.center)]
               for p in result.parcels]
    width = max(len(firm_headers), len(parcel_headers))
    ws.merge_range(0, 0, 0, width - 1, f"{title} — 低效用地 ({'、'.join(classes)}类企业及低效状态宗地)", f.title)
    ws.set_row(0, 30)
    nxt = _table(ws, f, 1, firm_headers, firms, title=f"候选企业 {len(firms)} 家（D类在前，其次用地面积大、得分低）")
    nxt = _table(ws, f, nxt + 1, parcel_headers, parcels,
                 title=f"低效状态宗地 {len(parcels)} 宗（批而未供、供而未用、用而未尽、建而未投、投而未达标）")
    ws.merge_range(nxt, 0, nxt, width - 1, f"评价批次：{run_id}；宗地来自宗地台账 (land_parcels)", f.footer)
    _widths(ws, firm_headers)
    _print_setup(ws, 2)
    return len(firms)


def _notes_sheet(wb, f, store, run_id, preset, summary, r) -> int:
    ws = wb.add_worksheet("说明")
    info = store.con.execute(
        "SELECT inputs_fingerprint, code_version, created_by, created_at, note FROM runs "
        f"WHERE run_id = {literal(run_id)}").fetchone()
    items = [
        ("地区 Region", f"{r.name} ({r.adcode})"),
        ("评价年度 Year", str(summary.year)),
        ("评价批次 Run", run_id),
        ("评价办法 Policy", f"{preset.display_name} ({preset.name}, 版本 {preset.version})"),
        ("政策来源 Source", preset.source),
        ("来源可信度 Confidence", preset.confidence),
        ("政策指纹 Policy fingerprint", summary.policy_fingerprint),
        ("评价范围 Run region", summary.region),
        ("基准值 Benchmarks", "按政策 (preset)" if summary.benchmarks == "preset" else "按数据 (data)"),
        ("输入数据指纹 Inputs fingerprint", info[0] if info else ""),
        ("程序版本 Code version", info[1] if info else ""),
        ("执行人 Run by", info[2] if info else ""),
        ("评价时间 Created at", str(info[3]) if info else summary.created_at),
        ("导出时间 Exported at", dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
    ]
    if info and info[4]:
        items.append(("运行备注 Run notes", info[4]))
    for n, caveat in enumerate(preset.caveats, 1):
        items.append((f"注意事项 Caveat {n}", caveat))
    items += [
        ("评价类别 Classes", "；".join(f"{c}类 {preset.class_label(c)}" for c in preset.classes.order)
         + f"；T {preset.classes.excluded_label}"),
        ("整改名单 Remediation", "目标分为同一排名单元内按得分进入 B 类的最后一名企业的总分 (分数线办法为 B 类分数线); "
                               "需增亩均税收 = 差距分 ÷ (权重 ÷ 基准值), 按本次基准值且其他企业不变估算。"),
        ("数据范围 Scope", f"本工作簿只含 {r.name} 的企业。"),
    ]
    ws.write_string(0, 0, "项目", f.header)
    ws.write_string(0, 1, "内容", f.header)
    for n, (k, v) in enumerate(items, 1):
        ws.write_string(n, 0, k, f.key)
        ws.write_string(n, 1, str(v), f.value)
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 100)
    _print_setup(ws, 0)
    return len(items)
