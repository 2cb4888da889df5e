"""The monthly briefing (工业经济运行月报) of one region for one month, as PDF (WeasyPrint) or Word
(python-docx): what rose and what fell (the electricity indices by industry, sub-region and
chain), which targets are red or trending to miss, which enterprise alerts and visit tasks are
open, how the region's development zones rank and what its cultivation pools hold.

Three steps, as in :mod:`shanhai.reports.briefing` (whose document model and renderers it uses):

``gather(store, scope, region, month)``
    every figure the document states, read through the region-scoped readers of
    ``jobs.power_index``, ``jobs.targets``, ``jobs.alerts``, ``jobs.zones`` and
    ``jobs.cultivation`` — a plain dict; a part whose data or run is missing is recorded as
    missing (and said so), never invented;
``sentences(facts, lang)``
    the summary, written from those numbers: each sentence states a fact the dict holds;
``build(...)`` / ``render(...)``
    the document (sections of paragraphs and tables, the methods note naming every run read).

``prepare(store, scope, region, month)`` computes the electricity-index run the month needs when
none covers it (the only run a briefing creates: alert scans issue visit tasks, so they are never
started by a report).

Scope: every reader filters on the region inside SQL; no firm outside the region reaches the
document.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import power_index as jp
from shanhai.reports.briefing import FORMATS as _ALL_FORMATS
from shanhai.reports.briefing import Briefing, Figure, Section, Table, to_docx, to_pdf
from shanhai.store import Store
from shanhai.store.scope import Scope

FORMATS = {k: v for k, v in _ALL_FORMATS.items() if k in ("pdf", "docx")}
LANGS = ("zh", "en")
TOP = 5
MIN_FIRMS = 5
Progress = Callable[[str, float], None]


def _month(store: Store, month) -> dt.date:
    """The month asked, else the latest month both the electricity and (when there are any) the
    monthly indicator figures reach."""
    if month not in (None, ""):
        return jp._month(month)
    latest = jp.latest_month(store)
    try:
        from shanhai.jobs import targets as jt
    except ImportError:
        return latest
    if store.con.execute("SELECT count(*) FROM indicator_values").fetchone()[0]:
        y, m = jt.latest_period(store)
        latest = min(latest, dt.date(y, m, 1))
    return latest


def prepare(store: Store, scope: Scope, region: str | None, month=None, *, user: str | None = None,
            progress: Progress | None = None) -> str | None:
    """The id of an electricity-index run covering ``region`` and ``month``, computed when missing
    (returns None when the month has no electricity data)."""
    area = scope.narrow(store, region)
    at = _month(store, month)
    period = jp.api.period_of(at, True)
    for row in jp.runs(store, scope, limit=10_000):
        if Scope.of(store, row["region"]).contains(area) and f"{period:%Y-%m}" in row["periods"] \
                and row["month"] == f"{at:%Y-%m}":
            return row["run_id"]
    try:
        return jp.run(store, month=at, region=area.adcode, user=user, progress=progress)["run_id"]
    except ShanhaiError:
        return None


# ---- gathering ------------------------------------------------------------------------------

def _indices(store: Store, scope: Scope, area: Scope, at: dt.date, lang: str) -> dict | None:
    period = jp.api.period_of(at, True)
    run = None
    for row in jp.runs(store, scope, limit=10_000):
        if Scope.of(store, row["region"]).contains(area) and f"{period:%Y-%m}" in row["periods"]:
            run = row["run_id"]
            break
    if run is None:
        return None
    kw = {"region": area.adcode, "run_id": run, "period": f"{period:%Y-%m}", "lang": lang}
    groups = jp.cells(store, scope, kind="production", by="group", **kw)
    chains = jp.cells(store, scope, kind="chain", by="group", **kw)
    subs = jp.cells(store, scope, kind="production", by="region", **kw) if area.level != "county" else None
    series = jp.series(store, scope, region=area.adcode, run_id=run, lang=lang)["rows"]
    before = [r for r in series if r["period"] < period]

    def ranked(rows, chains_only=False):
        rows = [r for r in rows if r["composite_index"] is not None and (r["firms"] or 0) >= MIN_FIRMS
                and not (chains_only and "." in r["group_id"])]
        rows.sort(key=lambda r: -r["composite_index"])
        return {"top": rows[:TOP], "bottom": rows[::-1][:TOP], "above_100": sum(r["composite_index"] >= 100 for r in rows),
                "count": len(rows)}

    counties = jp.county_values(store, scope, region=area.adcode, run_id=run, period=f"{period:%Y-%m}") \
        if area.level != "county" else {}
    return {"run_id": run, "period": f"{period:%Y-%m}", "period_label": jp.api.period_label(period, True, lang),
            "counties": counties,
            "total": groups["total"], "previous": before[-1] if before else None,
            "series": series, "divisions": ranked(groups["rows"]), "chains": ranked(chains["rows"], True),
            "regions": ranked(subs["rows"]) if subs else None, "run": groups["run"]}


def _targets(store: Store, scope: Scope, area: Scope, at: dt.date) -> dict | None:
    try:
        from shanhai.jobs import targets as jt
    except ImportError:
        return None
    y, m = jt.latest_period(store)
    if (at.year, at.month) > (y, m):              # the indicator figures stop earlier: their latest month
        at = dt.date(y, m, 1)
    try:
        doc = jt.region_status(store, scope, area.adcode, at.year, at.month)
    except (NotFoundError, ShanhaiError):
        return None
    current = [x for x in doc["rows"] if x.get("horizon", "current") != "past"]
    return {"as_of": doc["as_of"], "rules": doc["rules"], "counts": doc["counts"],
            "red": [x for x in doc["red"] if x in current], "trending": doc["trending_to_miss"],
            "rose": doc["rose"], "fell": doc["fell"], "total": len(doc["rows"])}


def _alerts(store: Store, scope: Scope, area: Scope) -> dict | None:
    try:
        from shanhai.jobs import alerts as ja
    except ImportError:
        return None
    doc = ja.list_alerts(store, scope, area.adcode, status="open", limit=10)
    if doc.get("latest_run") is None:
        return None
    tasks = ja.list_tasks(store, scope, area.adcode, limit=1)
    kinds: dict[str, int] = {}
    for row in store.con.execute(
            f"SELECT kind, count(*) FROM alerts a WHERE a.status = 'open' AND {area.sql('a.county_adcode')} "
            "GROUP BY 1 ORDER BY 2 DESC").fetchall():
        kinds[row[0]] = row[1]
    scan = next((r for r in ja.runs(store, limit=50) if r["run_id"] == doc["latest_run"]), None)
    return {"open": doc["total"], "top": doc["alerts"], "by_kind": kinds,
            "scan_month": str(scan["month"])[:7] if scan and scan["month"] else None,
            "labels": {k: ja.KIND_LABELS[k] for k in kinds}, "tasks": tasks["counts"],
            "precision": tasks["precision"], "run_id": doc["latest_run"], "by_area": doc["by_area"][:TOP]}


def gather(store: Store, scope: Scope, region: str | None = None, month=None, lang: str = "zh") -> dict[str, Any]:
    """Every figure of the monthly briefing of ``region`` (inside ``scope``) for ``month``."""
    if lang not in LANGS:
        raise ShanhaiError(f"--lang {lang}: expected zh or en")
    area = scope.narrow(store, region)
    at = _month(store, month)
    facts: dict[str, Any] = {"region": area.as_dict(), "month": f"{at:%Y-%m}", "year": at.year,
                             "month_no": at.month, "lang": lang}
    facts["indices"] = _indices(store, scope, area, at, lang)
    facts["targets"] = _targets(store, scope, area, at)
    facts["alerts"] = _alerts(store, scope, area)
    facts["extra"] = [part for part in (_zones(store, scope, area, at), _cultivation(store, scope, area, at),
                                        _carbon(store, scope, area), _transition(store, scope, area))
                      if part is not None]
    runs = [p["run_id"] for p in (facts["indices"], facts["alerts"]) if p] + \
        [p["run_id"] for p in facts["extra"] if p.get("run_id")]
    facts["run"] = {"run_id": "; ".join(runs) or "—"}
    return facts


def _zones(store: Store, scope: Scope, area: Scope, at: dt.date) -> dict | None:
    """The region's development zones in the newest zone evaluation: rank within their group, tier
    and its change, bottom-N flags (public figures: no firm)."""
    try:
        from shanhai.jobs import zones as jz
    except ImportError:
        return None
    try:
        rows = jz.ranking_rows(store, scope)
    except (NotFoundError, ShanhaiError):
        return None
    rows = [r for r in rows if area.covers(r["county_adcode"])]
    if not rows:
        return None
    b = rows[0]
    down = [r for r in rows if r["tier_change"] == "down"]
    up = [r for r in rows if r["tier_change"] == "up"]
    bottom = [r for r in rows if r["bottom"]]

    def zh_sentence() -> list[str]:
        out = [f"开发区综合评价（{b['method_name']}，{b['year']} 年度数据）中，本地区 {len(rows)} 个开发区"
               + (f"，{len(up)} 个进档" if up else "") + (f"，{len(down)} 个退档" if down else "")
               + ("" if up or down else "，档次均未变化")
               + (f"；{'、'.join(r['zone_name'] for r in bottom)} 位列组内末位" if bottom else "") + "。"]
        return out

    def en_sentence() -> list[str]:
        return [f"In the zone evaluation ({b['method_name']}, {b['year']} data) the region has {len(rows)} zones"
                + (f", {len(up)} moving up a tier" if up else "") + (f", {len(down)} moving down" if down else "")
                + ("" if up or down else ", none changing tier")
                + (f"; {', '.join(r['zone_name'] for r in bottom)} in the bottom of their group" if bottom else "") + "."]

    def items(zh: bool) -> list:
        return [Table("zones", "开发区排名" if zh else "Zone ranking",
                      [("开发区" if zh else "Zone", "text"), ("比较组" if zh else "Group", "text"),
                       ("名次" if zh else "Rank", "text"), ("得分" if zh else "Score", "num1"),
                       ("档次" if zh else "Tier", "text"), ("变动" if zh else "Change", "text"),
                       ("处置" if zh else "Action", "text")],
                      [[r["zone_name"], r["group_label" if zh else "group_label_en"], f"{r['rank']}/{r['group_size']}",
                        r["total_score"], r["tier_label" if zh else "tier_label_en"] or r["tier"] or "—",
                        r["tier_change_label" if zh else "tier_change_label_en"] or "—",
                        r["action_label" if zh else "action_label_en"] or "—"] for r in rows])]

    return {"run_id": b["run_id"], "title": {"zh": "开发区综合评价", "en": "Development zones"},
            "sentences": {"zh": zh_sentence(), "en": en_sentence()}, "items": items,
            "method": ("开发区评价 Zones", f"run {b['run_id']} · {b['method']} {b['version']} · {b['year']}")}


def _cultivation(store: Store, scope: Scope, area: Scope, at: dt.date) -> dict | None:
    """The region's cultivation pools per tier: title holders, eligible candidates not yet holding
    the title, near candidates (the newest screening run, else the rule sets in force evaluated on
    the latest data year)."""
    try:
        from shanhai.jobs import cultivation as jc
    except ImportError:
        return None
    try:
        tiers = jc.pool_counts(store, scope, area.adcode)
    except (NotFoundError, ShanhaiError):
        return None
    if not tiers:
        return None
    b = tiers[0]

    def words(zh: bool) -> list[str]:
        parts = [(f"{t['tier_label']}已有 {t['holders']} 家、符合条件待认定 {t['candidates']} 家、接近 {t['near_candidates']} 家" if zh
                  else f"{t['tier_label']}: {t['holders']} holders, {t['candidates']} eligible candidates, "
                       f"{t['near_candidates']} near") for t in tiers]
        return [("梯度培育库（" + f"{b['year']} 年度数据）：" + "；".join(parts) + "。") if zh else
                (f"Cultivation pools ({b['year']} data): " + "; ".join(parts) + ".")]

    def items(zh: bool) -> list:
        return [Table("cultivation", "梯度培育库" if zh else "Cultivation pools",
                      [("梯度" if zh else "Tier", "text"), ("规则" if zh else "Rule set", "code"),
                       ("已认定" if zh else "Holders", "int"), ("符合条件" if zh else "Eligible", "int"),
                       ("待认定" if zh else "Candidates", "int"), ("待复核" if zh else "Review", "int"),
                       ("接近" if zh else "Near", "int")],
                      [[t["tier_label"], f"{t['rule_set']} {t['version']}", t["holders"], t["eligible"],
                        t["candidates"], t["needs_review"], t["near"]] for t in tiers])]

    return {"run_id": b.get("run_id"), "title": {"zh": "梯度培育", "en": "Cultivation pools"},
            "sentences": {"zh": words(True), "en": words(False)}, "items": items,
            "method": ("梯度培育 Cultivation", f"{'run ' + b['run_id'] if b.get('run_id') else '按现行规则即时计算 evaluated live'}"
                                             f" · {b['year']} · as of {b['as_of']} · "
                                             + "、".join(f"{t['rule_set']} {t['version']}" for t in tiers))}


def _carbon(store: Store, scope: Scope, area: Scope) -> dict | None:
    """The region's 碳效码 in the newest grading run: grades and levels, the low-carbon share of
    manufacturing value added against the target, the most carbon-intensive industries."""
    try:
        from shanhai.jobs import carbon as jc
    except ImportError:
        return None
    try:
        doc = jc.briefing(store, area.adcode)
    except (NotFoundError, ShanhaiError):
        return None
    levels = doc["level_counts"] or {}
    share = doc["low_carbon_share"]

    def words(zh: bool) -> list[str]:
        from shanhai.analysis.carbon import LEVELS

        lv = "、".join(f"{LEVELS.get(k, (k, k))[0]} {v} 家" for k, v in levels.items()) if zh else \
            ", ".join(f"{LEVELS.get(k, (k, k))[1]} {v}" for k, v in levels.items())
        if zh:
            text = f"工业碳效码（{doc['year']} 年度）：{lv}"
            if share is not None:
                text += f"；低碳行业增加值占比 {100 * share:.1f}%，{'达到' if doc['meets_target'] else '未达'} {100 * doc['target']:.0f}% 目标"
            return [text + "。"]
        text = f"Carbon-efficiency codes ({doc['year']}): {lv}"
        if share is not None:
            text += (f"; low-carbon industries hold {100 * share:.1f}% of manufacturing value added, "
                     f"{'meeting' if doc['meets_target'] else 'short of'} the {100 * doc['target']:.0f}% target")
        return [text + "."]

    def items(zh: bool) -> list:
        return [Table("carbon", "碳排放强度最高的行业" if zh else "Most carbon-intensive industries",
                      [("行业" if zh else "Industry", "text"), ("企业" if zh else "Firms", "int"),
                       ("增加值 万元" if zh else "VA (10k yuan)", "num"),
                       ("强度 t CO2/万元" if zh else "t CO2 per 10k yuan", "num")],
                      [[f"{r['industry']} {r['name']}", r["firms"], r["value_added"], r["intensity"]]
                       for r in doc["worst_industries"]])] if doc["worst_industries"] else []

    return {"run_id": doc["run_id"], "title": {"zh": "碳效与低碳产业", "en": "Carbon efficiency"},
            "sentences": {"zh": words(True), "en": words(False)}, "items": items,
            "method": ("碳效码 Carbon codes", f"run {doc['run_id']} · {doc['year']}")}


def _transition(store: Store, scope: Scope, area: Scope) -> dict | None:
    """The region's 腾笼换鸟 ledger: actions done, quota freed, allocated and available per kind, and
    progress against the province's (and Shaoxing's) 2023 numbers."""
    try:
        from shanhai.jobs import transition as jt
    except ImportError:
        return None
    doc = jt.summary(store, scope, area.adcode)
    if not doc["actions_done"] and not any(v["freed"] for v in doc["balance"].values()):
        return None
    units = doc["units"]
    labels = {"land": ("土地", "land"), "energy": ("用能", "energy"), "carbon": ("碳排放", "carbon")}

    def fmt_kind(kind: str, zh: bool) -> str:
        b = doc["balance"][kind]
        return (f"{labels[kind][0]}腾出 {b['freed']:,.1f} {units[kind]}、已分配 {b['allocated']:,.1f}、可用 {b['available']:,.1f}"
                if zh else f"{labels[kind][1]} freed {b['freed']:,.1f} {units[kind]}, allocated {b['allocated']:,.1f}, "
                           f"available {b['available']:,.1f}")

    def words(zh: bool) -> list[str]:
        kinds = "；".join(fmt_kind(k, True) for k in doc["balance"]) if zh else \
            "; ".join(fmt_kind(k, False) for k in doc["balance"])
        from shanhai.policy._transition import BASIS_LABELS

        basis = BASIS_LABELS.get(doc["basis"], (doc["basis"], doc["basis"]))
        return [f"腾笼换鸟：已完成整治与淘汰 {doc['actions_done']} 项；{kinds}（用能按{basis[0]}计）。" if zh else
                f"Cage-swap ledger: {doc['actions_done']} actions done; {kinds} (energy {basis[1]})."]

    def items(zh: bool) -> list:
        rows = [[f"{t['target_region_name']} {t['period']}", i["label"], i["unit"], i["target"], i["achieved"], i["share"]]
                for t in doc["progress"] if t["target_region"] == area.adcode for i in t["items"]]
        return [Table("transition", "腾笼换鸟目标进度" if zh else "Cage-swap progress against the targets",
                      [("目标" if zh else "Target set", "text"), ("指标" if zh else "Item", "text"),
                       ("单位" if zh else "Unit", "text"), ("目标值" if zh else "Target", "num"),
                       ("完成" if zh else "Achieved", "num"), ("完成率" if zh else "Share", "pct")], rows)] if rows else []

    return {"run_id": None, "title": {"zh": "腾笼换鸟", "en": "Cage-swap ledger"},
            "sentences": {"zh": words(True), "en": words(False)}, "items": items,
            "method": ("腾笼换鸟 Ledger", f"policy/transition · {doc['basis']} · freed = allocated + available")}


# ---- words ----------------------------------------------------------------------------------

def n1(x) -> str:
    return "—" if x is None else f"{x:,.1f}"


def pct(x, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def _name(r: dict) -> str:
    return r.get("group_name") if r.get("group_id") not in (None, "all") else r.get("region_name")


def sentences(facts: dict, lang: str = "zh") -> list[str]:
    """The summary: one sentence per fact the dict holds."""
    zh = lang == "zh"
    out: list[str] = []
    ix = facts["indices"]
    if ix and ix["total"]:
        t = ix["total"]
        trend = ""
        if ix["previous"] and ix["previous"]["composite_index"] is not None and t["composite_index"] is not None:
            d = t["composite_index"] - ix["previous"]["composite_index"]
            trend = (f"，比上期{'上升' if d > 0 else '下降'} {abs(d):.1f} 点" if abs(d) >= 0.05 else "，与上期持平") if zh else \
                (f", {'up' if d > 0 else 'down'} {abs(d):.1f} points on the period before" if abs(d) >= 0.05 else ", unchanged")
        if zh:
            out.append(f"{ix['period_label']}，{facts['region']['name']}工业用电运行指数 {n1(t['composite_index'])}{trend}；"
                       f"日均用电为上年同期的 {n1(t['yoy_index'])}%，{pct(t['operating_share'])} 的企业保持运行，"
                       f"{pct(t['normal_share'])} 达到上年同期正常水平。")
        else:
            out.append(f"In {ix['period_label']}, {facts['region']['name']}'s industrial electricity composite index stood at "
                       f"{n1(t['composite_index'])}{trend}; daily use was {n1(t['yoy_index'])}% of a year before, "
                       f"{pct(t['operating_share'])} of firms kept operating and {pct(t['normal_share'])} were at their normal level.")
        d = ix["divisions"]
        if d["count"]:
            top, bottom = d["top"][0], d["bottom"][0]
            out.append(f"{d['count']} 个行业中 {d['above_100']} 个运行指数不低于 100；最高为{top['group_name']}（{n1(top['composite_index'])}），"
                       f"最低为{bottom['group_name']}（{n1(bottom['composite_index'])}）。" if zh else
                       f"{d['above_100']} of {d['count']} industry divisions stood at 100 or more; the highest was "
                       f"{top['group_name']} ({n1(top['composite_index'])}), the lowest {bottom['group_name']} "
                       f"({n1(bottom['composite_index'])}).")
        c = ix["chains"]
        if c["count"]:
            out.append(f"产业链中，{c['bottom'][0]['group_name']}运行指数最低（{n1(c['bottom'][0]['composite_index'])}）。" if zh else
                       f"Among the chains, {c['bottom'][0]['group_name']} ran lowest ({n1(c['bottom'][0]['composite_index'])}).")
    elif zh:
        out.append("本月没有可用的企业用电数据，电力指数从略。")
    else:
        out.append("No electricity data for the month: the indices are left out.")
    tg = facts["targets"]
    if tg and tg["total"]:
        k = tg["counts"]
        out.append((f"{tg['total']} 项目标中，红灯 {k.get('red', 0)} 项、黄灯 {k.get('amber', 0)} 项、绿灯 {k.get('green', 0)} 项"
                    + (f"；{len(tg['trending'])} 项按目前走势预计难以完成" if tg["trending"] else "") + "。") if zh else
                   (f"Of {tg['total']} targets, {k.get('red', 0)} are red, {k.get('amber', 0)} amber and {k.get('green', 0)} green"
                    + (f"; {len(tg['trending'])} are trending to miss" if tg["trending"] else "") + "."))
        if tg["rose"] or tg["fell"]:
            worse = "、".join(f"{x['entity_name']}{x['indicator_name']}" for x in tg["fell"][:3])
            out.append((f"与上月相比，{len(tg['rose'])} 项目标灯色好转、{len(tg['fell'])} 项转差"
                        + (f"（转差的有{worse}{'等' if len(tg['fell']) > 3 else ''}）" if worse else "") + "。") if zh else
                       (f"Against the month before, {len(tg['rose'])} targets' lights improved and {len(tg['fell'])} worsened"
                        + (f" (worse: {', '.join(x['entity_name'] + ' ' + (x.get('indicator_name_en') or x['indicator_name']) for x in tg['fell'][:3])})"
                           if tg["fell"] else "") + "."))
    al = facts["alerts"]
    if al:
        open_tasks = sum(v for s, v in al["tasks"].items() if s != "closed")
        scan = f"（最新扫描 {al['scan_month']}）" if zh and al["scan_month"] else \
            (f" (latest scan {al['scan_month']})" if al["scan_month"] else "")
        out.append(f"企业用电预警在办 {al['open']} 条{scan}，走访任务未办结 {open_tasks} 件、已办结 {al['tasks'].get('closed', 0)} 件。" if zh else
                   f"{al['open']} enterprise electricity alerts are open{scan}; {open_tasks} visit tasks are open and "
                   f"{al['tasks'].get('closed', 0)} closed.")
    for part in facts["extra"]:
        out.extend(part.get("sentences", {}).get(lang, []))
    return out


# ---- document -------------------------------------------------------------------------------

WORDS = {
    "zh": {"title": "{name}工业经济运行月报（{year}年{month}月）", "summary": "总体情况",
           "indices": "电力指数：涨与落", "targets": "目标进度", "alerts": "企业预警与走访"},
    "en": {"title": "{name}: industrial economy monthly briefing, {year}-{month:02d}", "summary": "Summary",
           "indices": "Electricity indices: what rose and what fell", "targets": "Targets against the calendar",
           "alerts": "Enterprise alerts and visits"},
}
NUMERALS = "一二三四五六七八九十"
LIGHTS = {"red": ("红", "red"), "amber": ("黄", "amber"), "green": ("绿", "green")}


def _index_table(key: str, title: str, rows: list[dict], first: str, zh: bool) -> Table:
    return Table(key, title, [(first, "text"), ("企业" if zh else "Firms", "int"),
                              ("运行指数" if zh else "Composite", "num1"), ("同比指数" if zh else "Y/y", "num1"),
                              ("运行企业占比" if zh else "Operating", "pct")],
                 [[_name(r), r["firms"], r["composite_index"], r["yoy_index"], r["operating_share"]] for r in rows])


def _map(ix: dict, region_d: dict, zh: bool) -> Figure:
    """The counties' composite index on the county map (a city's counties, or all 90)."""
    from shanhai import reference
    from shanhai.reports import charts as ch

    feats = reference.geojson()["features"]
    keep = None
    if region_d["level"] == "city":
        keep = {x["properties"]["adcode"] for x in feats if x["properties"].get("city_adcode") == region_d["adcode"]}
    png = ch.choropleth(feats, ix["counties"], title=(f"{region_d['name']}各县（市、区）工业用电运行指数（{ix['period_label']}）"
                                                      if zh else f"{region_d['name']}: composite electricity index by county"),
                        legend_title="运行指数" if zh else "index", draw_only=keep, no_data="无数据" if zh else "no data")
    return Figure("map", ("图1 各县（市、区）运行指数（五分位分级；100 = 上年同期）" if zh else
                          "Figure 1. Composite index by county (quintile classes; 100 = a year before)"), png, 15.0)


def build(store: Store, scope: Scope, region: str | None = None, month=None, lang: str = "zh", *,
          issuer: str | None = None, day: dt.date | None = None, charts: bool = True) -> Briefing:
    from shanhai.reports.briefing import _date_text, _issuer

    facts = gather(store, scope, region, month, lang)
    zh = lang == "zh"
    w = WORDS[lang]
    region_d = facts["region"]
    title = w["title"].format(name=region_d["name"], year=facts["year"], month=facts["month_no"])
    sections = [Section(w["summary"], sentences(facts, lang))]
    ix = facts["indices"]
    if ix:
        items: list = []
        if charts and ix["counties"]:
            items.append(_map(ix, region_d, zh))
        if ix["divisions"]["count"]:
            items.append(_index_table("divisions_top", "运行指数最高的行业" if zh else "Highest industries",
                                      ix["divisions"]["top"], "行业" if zh else "Industry", zh))
            items.append(_index_table("divisions_bottom", "运行指数最低的行业" if zh else "Lowest industries",
                                      ix["divisions"]["bottom"], "行业" if zh else "Industry", zh))
        if ix["regions"] and ix["regions"]["count"]:
            items.append(_index_table("regions", "分地区" if zh else "By area",
                                      ix["regions"]["top"] + [r for r in ix["regions"]["bottom"] if r not in ix["regions"]["top"]],
                                      "地区" if zh else "Area", zh))
        if ix["chains"]["count"]:
            items.append(_index_table("chains", "产业链运行指数" if zh else "Chain operation index",
                                      ix["chains"]["top"] + [r for r in ix["chains"]["bottom"] if r not in ix["chains"]["top"]],
                                      "产业链" if zh else "Chain", zh))
        items.append(Table("series", "月度走势" if zh else "Month by month",
                           [("期间" if zh else "Period", "text"), ("运行指数" if zh else "Composite", "num1"),
                            ("同比指数" if zh else "Y/y", "num1"), ("运行企业占比" if zh else "Operating", "pct")],
                           [[r["period_label"], r["composite_index"], r["yoy_index"], r["operating_share"]]
                            for r in ix["series"]]))
        sections.append(Section(w["indices"], items))
    tg = facts["targets"]
    if tg and tg["total"]:
        rows = tg["red"] + [x for x in tg["trending"] if x not in tg["red"]]
        items = [Table("targets", "红灯与预计难完成的目标" if zh else "Red and trending-to-miss targets",
                       [("指标" if zh else "Indicator", "text"), ("地区" if zh else "Region", "text"),
                        ("单位" if zh else "Unit", "text"),
                        ("目标" if zh else "Target", "num"), ("实际" if zh else "Actual", "num"),
                        ("灯" if zh else "Light", "text"), ("预计" if zh else "Forecast", "num")],
                       [[x["indicator_name"], x["entity_name"], "%" if x["kind"] == "growth" else (x.get("unit") or ""),
                         x["target"],
                         x["growth"] if x["kind"] == "growth" and x["growth"] is not None else x["actual"],
                         LIGHTS[x["light"]][0 if zh else 1] if x["light"] in LIGHTS else (x["light"] or "—"),
                         (x["forecast_growth"] if x["kind"] == "growth" and x.get("forecast_growth") is not None
                          else x.get("forecast"))] for x in rows[:20]],
                       note="增长目标以百分点计" if zh else "growth targets in per cent")] if rows else \
            ["没有红灯或预计难完成的目标。" if zh else "No target is red or trending to miss."]
        sections.append(Section(w["targets"], items))
    al = facts["alerts"]
    if al:
        items = [Table("alert_kinds", "在办预警类型" if zh else "Open alerts by type",
                       [("类型" if zh else "Type", "text"), ("条数" if zh else "Alerts", "int")],
                       [[al["labels"][k][0 if zh else 1], n] for k, n in al["by_kind"].items()]),
                 Table("alerts_top", "风险最高的企业" if zh else "Highest-risk firms",
                       [("企业" if zh else "Firm", "text"), ("乡镇" if zh else "Town", "text"),
                        ("类型" if zh else "Type", "text"), ("风险分" if zh else "Score", "num1"),
                        ("走访" if zh else "Visit", "text")],
                       [[a["name"], a.get("town_name") or "", a["kind_label"] if zh else a["kind_label_en"],
                         a.get("last_score") or a["score"], a.get("task_state") or "—"] for a in al["top"]])]
        sections.append(Section(w["alerts"], items))
    for part in facts["extra"]:
        sections.append(Section(part["title"][lang], part["items"](zh)))
    for n, section in enumerate(sections):
        section.title = f"{NUMERALS[n]}、{section.title}" if zh else f"{n + 1}. {section.title}"
    methods = [("地区" if zh else "Region", f"{region_d['name']} ({region_d['adcode']})"),
               ("月份" if zh else "Month", facts["month"])]
    if ix:
        methods.append(("电力指数" if zh else "Electricity indices",
                        f"run {ix['run_id']} · {ix['run']['rules']} · 运行指数 = 100 × (0.5 × 电量比 + 0.5 × 运行企业占比)"))
    else:
        methods.append(("电力指数" if zh else "Electricity indices", "无 none"))
    if tg:
        methods.append(("目标" if zh else "Targets", f"{tg['rules']['name']} {tg['rules']['version']} · "
                        f"{'截至' if zh else 'as of'} {tg['as_of']['year']}-{tg['as_of']['month']:02d} · "
                        f"{'序时进度' if zh else 'calendar progress'} {tg['as_of']['progress']:.1%}"))
    if al:
        methods.append(("预警" if zh else "Alerts", f"scan {al['run_id']}"))
    for part in facts["extra"]:
        methods.append(part["method"])
    methods.append(("生成" if zh else "Generated", f"山海产业大脑 · {dt.datetime.now():%Y-%m-%d %H:%M}"))
    day = day or dt.date.today()
    return Briefing(lang=lang, title=title, issuer=issuer or _issuer(region_d, lang), date=_date_text(day, lang),
                    region=region_d, summary=sections[0].items, sections=sections, methods=methods, facts=facts,
                    file_stem=f"{region_d['name']}工业经济运行月报_{facts['month']}" if zh else
                    f"{region_d['adcode']}-monthly-{facts['month']}")


def render(store: Store, scope: Scope, region: str | None, month, fmt: str, lang: str = "zh", *,
           issuer: str | None = None, day: dt.date | None = None) -> tuple[bytes, str, str]:
    """The monthly briefing as (content, file name, media type); ``fmt`` is pdf or docx."""
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in FORMATS:
        raise ShanhaiError(f"--format {fmt}: expected pdf or docx")
    b = build(store, scope, region, month, lang, issuer=issuer, day=day)
    data = to_pdf(b) if fmt == "pdf" else to_docx(b)
    return data, f"{b.file_stem}.{fmt}", FORMATS[fmt]
