"""The per-mu briefing (亩均效益综合评价专报) of one stored run for one region, as PDF (WeasyPrint),
Word (python-docx) or Excel (xlsxwriter).

Three steps, each testable on its own:

``gather(store, run_id, region)``
    every figure the document states, read from the stored run (``mujun_results``,
    ``mujun_rollups``, ``mujun_class_counts``) through the region-scoped readers of
    ``jobs.mujun_review`` and ``jobs.mujun`` — a plain dict of numbers and names (``Facts``);
``sentences(facts, lang)``
    the summary, written from those numbers: each sentence states a fact the dict holds, and
    is left out when the dict lacks it (no previous run, no D firms, no target that applies);
``build(...)``
    the document model (title block, sections of paragraphs, tables and charts, the methods
    note), language-specific but format-neutral; ``render`` turns it into bytes.

Scope: every query filters on the region (a county, a city, or the whole run) inside SQL, and
figures that cut across regions (industries) are recomputed over the region's firms only, so no
firm — and no figure including a firm — outside the region reaches the document.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from shanhai.errors import ShanhaiError
from shanhai.jobs import mujun as jobs
from shanhai.jobs import mujun_review as review
from shanhai.store import Store
from shanhai.store.scope import Scope
from shanhai.store.sql import literal

FORMATS = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LANGS = ("zh", "en")
BANDS = (2, 5, 10, 20, 30, 50, 100)          # 亩均税收 band edges, 万元/亩
MIN_FIRMS = 3                                 # sub-regions and industries with fewer firms are not ranked
TOP_FIRMS = 10
REMEDIATION_ROWS = 30                         # C/D rows printed in the PDF and Word versions (Excel: all)
FLAT = 0.0005                                 # a change under 0.05 % is "unchanged"

Progress = Callable[[str, float], None]


# ---- scope -----------------------------------------------------------------------------------

def _scope(store: Store, run_id: str, run_region: str, region: str | None) -> Scope:
    """The region the briefing covers: ``region`` when the run covers it; the run's own region
    when ``region`` contains the run's (a run of one county, asked for its city or the province,
    covers just that county); anything else is refused."""
    asked = Scope.of(store, region)
    ran = Scope.of(store, run_region)
    if ran.contains(asked):
        return asked
    if asked.contains(ran):
        return ran
    raise ShanhaiError(f"run {run_id} covers {ran.name} ({ran.adcode}) only: {asked.name} ({asked.adcode}) "
                       "is outside it")


# ---- facts -----------------------------------------------------------------------------------

def _rows(store: Store, sql: str) -> list[dict]:
    return review._rows(store, sql)


def _ratio(a, b):
    return None if a is None or not b else a / b


def _growth(now, before):
    return None if now is None or not before else now / before - 1


def _previous_run(store: Store, info: dict, summary) -> str | None:
    """The run of the previous year to compare with: the one the run itself recorded, else the
    newest run of the same preset for year − 1 over the same region or one containing it."""
    recorded = info["params"].get("previous_run")
    if recorded and store.con.execute(f"SELECT 1 FROM runs WHERE run_id = {literal(recorded)}").fetchone():
        return recorded
    covering = {"330000", summary.region}
    row = store.con.execute(f"SELECT city_adcode FROM regions WHERE adcode = {literal(summary.region)}").fetchone()
    if row and row[0]:
        covering.add(row[0])
    rows = store.con.execute(
        f"SELECT run_id, json_extract_string(params, '$.region') FROM runs WHERE kind = 'mujun' "
        f"AND status = 'done' AND policy_name = {literal(summary.policy)} "
        f"AND json_extract_string(params, '$.year') = {literal(str(summary.year - 1))} "
        "ORDER BY created_at DESC").fetchall()
    for run_id, region in rows:
        if region == summary.region:
            return run_id
    for run_id, region in rows:
        if region in covering:
            return run_id
    return None


def _class_rows(store: Store, run_id: str, where: str) -> dict[str, dict]:
    rows = _rows(store, f"""
        SELECT "class", count(*) AS firms, coalesce(sum(land_used_mu), 0) AS land_mu,
               coalesce(sum(tax_paid), 0)::DOUBLE AS tax_wan, coalesce(sum(value_added), 0)::DOUBLE AS va_wan,
               sum(tax_paid::DOUBLE) FILTER (WHERE land_used_mu > 0) AS tax_l,
               sum(land_used_mu) FILTER (WHERE land_used_mu > 0) AS land_l
        FROM mujun_results WHERE run_id = {literal(run_id)} AND {where} GROUP BY 1""")
    return {r["class"]: r for r in rows}


def _headline(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {"firms": row["firms"], "evaluated": row["evaluated"], "land_mu": row["land_used_mu"],
            "tax_wan": row["tax_paid"], "va_wan": row["value_added"], "tax_per_mu": row["tax_per_mu"],
            "prev_tax_per_mu": row["prev_tax_per_mu"],
            "tax_growth": _growth(row["tax_per_mu"], row["prev_tax_per_mu"]),
            "va_per_mu": row["value_added_per_mu"], "prev_va_per_mu": row["prev_value_added_per_mu"],
            "va_growth": _growth(row["value_added_per_mu"], row["prev_value_added_per_mu"]),
            "labour_productivity": row["labour_productivity"]}


def _area_rows(rollup: review.Rollup, order: list[str]) -> list[dict]:
    out = []
    for row in rollup.rows:
        out.append({"key": row["key"], "label": row["label"] or row["key"], "firms": row["firms"],
                    "evaluated": row["evaluated"], "land_mu": row["land_used_mu"], "tax_per_mu": row["tax_per_mu"],
                    "prev_tax_per_mu": row["prev_tax_per_mu"],
                    "tax_growth": _growth(row["tax_per_mu"], row["prev_tax_per_mu"]),
                    "va_per_mu": row["value_added_per_mu"], "prev_va_per_mu": row["prev_value_added_per_mu"],
                    "va_growth": _growth(row["value_added_per_mu"], row["prev_value_added_per_mu"]),
                    "classes": {c: row["classes"].get(c, 0) for c in order + ["T"]}})
    return out


def _movement(areas: list[dict]) -> dict:
    """Which areas' 亩均税收 rose or fell against the previous year, the extremes among areas
    with at least MIN_FIRMS firms."""
    ranked = [a for a in areas if a["firms"] >= MIN_FIRMS]
    moved = [a for a in ranked if a["tax_growth"] is not None]
    rose = [a for a in moved if a["tax_growth"] > FLAT]
    fell = [a for a in moved if a["tax_growth"] < -FLAT]
    level = [a for a in ranked if a["tax_per_mu"] is not None]
    out = {"areas": len(areas), "ranked": len(ranked), "left_out": len(areas) - len(ranked),
           "compared": len(moved), "rose": len(rose), "fell": len(fell), "flat": len(moved) - len(rose) - len(fell),
           "fastest": None, "slowest": None, "highest": None, "lowest": None}
    if moved:
        out["fastest"] = max(moved, key=lambda a: (a["tax_growth"], a["key"]))
        out["slowest"] = min(moved, key=lambda a: (a["tax_growth"], a["key"]))
    if level:
        out["highest"] = max(level, key=lambda a: (a["tax_per_mu"], a["key"]))
        out["lowest"] = min(level, key=lambda a: (a["tax_per_mu"], a["key"]))
    return out


def _industries(store: Store, run_id: str, where: str, order: list[str]) -> list[dict]:
    """Per-mu figures by industry division over the region's firms of the run: the roll-up of
    ``analysis.mujun.rollups`` at level ``industry``, scope ``all`` (sums over sums over firms
    with land, class counts) in one SQL statement over the stored results — the Ibis roll-up
    recomputed for a region costs seconds of compilation; a test checks both agree."""
    rows = _rows(store, f"""
        WITH m AS (SELECT * FROM mujun_results WHERE run_id = {literal(run_id)} AND {where}
                   AND industry_code IS NOT NULL)
        SELECT substr(m.industry_code, 1, 2) AS key, any_value(i.name) AS label, count(*) AS firms,
               count(*) FILTER (WHERE m."class" <> 'T') AS evaluated,
               round(sum(m.land_used_mu) FILTER (WHERE m.land_used_mu > 0), 4) AS land_used_mu,
               sum(m.tax_paid::DOUBLE) FILTER (WHERE m.land_used_mu > 0)
                   / nullif(sum(m.land_used_mu) FILTER (WHERE m.land_used_mu > 0), 0) AS tax_per_mu,
               sum(m.value_added::DOUBLE) FILTER (WHERE m.land_used_mu > 0)
                   / nullif(sum(m.land_used_mu) FILTER (WHERE m.land_used_mu > 0), 0) AS value_added_per_mu,
               NULL::DOUBLE AS prev_tax_per_mu, NULL::DOUBLE AS prev_value_added_per_mu,
               {", ".join(f'count(*) FILTER (WHERE m."class" = {literal(c)}) AS "n_{c}"' for c in order + ["T"])}
        FROM m LEFT JOIN industries i ON i.code = substr(m.industry_code, 1, 2)
        GROUP BY 1 ORDER BY 1""")
    for row in rows:
        row["classes"] = {c: int(row.pop(f"n_{c}")) for c in order + ["T"]}
    return _area_rows(review.Rollup({}, None, "industry", "all", order + ["T"], rows, True), order)


def _transitions(store: Store, prev_id: str, run_id: str, scope: Scope, order: list[str]) -> dict:
    """The class transitions of the region's firms between two runs — the matrix of
    ``jobs.mujun_review.compare`` and the firm that fell furthest and the one that rose furthest
    (classes jumped, then the score change) — in two SQL statements, so a province-wide
    briefing does not build every mover's account."""
    a, b = literal(prev_id), literal(run_id)
    both = (f"FROM mujun_results a JOIN mujun_results b USING (uscc) WHERE a.run_id = {a} AND b.run_id = {b} "
            f"AND {scope.sql('a.county_adcode')} AND {scope.sql('b.county_adcode')}")
    counts = store.con.execute(f'SELECT a."class", b."class", count(*) {both} GROUP BY ALL').fetchall()
    classes = list(order) + sorted({c for x in counts for c in x[:2]} - set(order) - {"T"}) + ["T"]
    matrix = {ca: {cb: 0 for cb in classes} for ca in classes}
    ranks = {c: i for i, c in enumerate(order)}
    up = down = same = entered = left = 0
    for ca, cb, n in counts:
        matrix[ca][cb] = n = int(n)
        if ca == "T" and cb != "T":
            entered += n
        elif cb == "T" and ca != "T":
            left += n
        elif ca == cb:
            same += n if ca != "T" else 0
        elif ca in ranks and cb in ranks:
            if ranks[cb] < ranks[ca]:
                up += n
            else:
                down += n
    rank = "CASE {} {} END"
    ra = rank.format('a."class"', " ".join(f"WHEN {literal(c)} THEN {i}" for c, i in ranks.items()))
    rb = rank.format('b."class"', " ".join(f"WHEN {literal(c)} THEN {i}" for c, i in ranks.items()))
    known = ", ".join(literal(c) for c in order)

    def pick(direction: str) -> dict | None:
        rows = _rows(store, f"""
            SELECT b.uscc, b.name, b.town_name, a."class" AS class_a, b."class" AS class_b, a.total_score AS total_a,
                   b.total_score AS total_b, round(b.total_score - a.total_score, 4) AS total_delta,
                   ({rb}) - ({ra}) AS jump
            {both} AND a."class" IN ({known}) AND b."class" IN ({known}) AND a."class" <> b."class"
                   AND ({rb}) {'>' if direction == 'fall' else '<'} ({ra})
            ORDER BY abs(({rb}) - ({ra})) DESC, abs(b.total_score - a.total_score) DESC NULLS LAST, b.uscc LIMIT 1""")
        return rows[0] if rows else None

    return {"both": sum(sum(r.values()) for r in matrix.values()), "up": up, "down": down, "same": same,
            "entered": entered, "left": left, "matrix": matrix, "matrix_classes": classes,
            "top_fall": pick("fall"), "top_rise": pick("rise")}


SUB_LEVEL = {"province": "city", "city": "county", "county": "town"}


def gather(store: Store, run_id: str, region: str | None = None) -> dict[str, Any]:
    """Every figure of the briefing, from the stored run, for ``region`` only."""
    run_id = jobs.resolve(store, run_id)
    summary = jobs.summary_of(store, run_id)
    info = jobs._run_row(store, run_id)
    preset = jobs.preset_of(store, run_id)
    scope = _scope(store, run_id, summary.region, region)
    where = scope.sql("county_adcode")          # the one scoped predicate, inside every query below
    level = scope.level
    adcode = None if scope.is_province else scope.adcode       # the review readers' region argument
    order = list(preset.classes.order)
    meta = store.con.execute(f"SELECT inputs_fingerprint, code_version, created_by, created_at FROM runs "
                             f"WHERE run_id = {literal(run_id)}").fetchone()
    name = scope.name or store.con.execute(
        f"SELECT name FROM regions WHERE adcode = {literal(scope.adcode)}").fetchone()[0]
    facts: dict[str, Any] = {
        "run": {"run_id": run_id, "year": summary.year, "policy": preset.name, "policy_version": preset.version,
                "policy_name": preset.display_name, "policy_name_en": preset.display_name_en or preset.display_name,
                "policy_source": preset.source, "policy_fingerprint": summary.policy_fingerprint,
                "policy_caveats": list(preset.caveats), "run_region": summary.region,
                "benchmarks": summary.benchmarks, "inputs_fingerprint": meta[0], "code_version": meta[1],
                "created_by": meta[2], "created_at": str(meta[3])[:19], "method": preset.classes.method},
        "region": {"adcode": scope.adcode, "name": name, "level": level},
        "sub_level": SUB_LEVEL[level],
        "order": order,
        "class_labels": {c: preset.class_label(c) for c in order + ["T"]},
        "class_labels_en": {**{c: preset.classes.labels_en.get(c, c) for c in order}, "T": "not evaluated"},
    }
    # classes
    now = _class_rows(store, run_id, where)
    firms = sum(x["firms"] for x in now.values())
    if firms == 0:
        raise ShanhaiError(f"run {run_id} has no firms in {name} ({facts['region']['adcode']})")
    evaluated = sum(x["firms"] for c, x in now.items() if c != "T")
    land = sum(x["land_mu"] for c, x in now.items() if c != "T")
    tax = sum(x["tax_wan"] for c, x in now.items() if c != "T")
    tax_l = sum(x["tax_l"] or 0 for c, x in now.items() if c != "T")
    prev_id = _previous_run(store, info, summary)
    prev_counts: dict[str, dict] = {}
    prev_evaluated = None
    if prev_id:
        prev_counts = _class_rows(store, prev_id, where)
        prev_evaluated = sum(x["firms"] for c, x in prev_counts.items() if c != "T")
        if not prev_counts:
            prev_id, prev_evaluated = None, None
    classes = []
    for c in order:
        x = now.get(c, {"firms": 0, "land_mu": 0.0, "tax_wan": 0.0, "tax_l": None, "land_l": None})
        p = prev_counts.get(c, {}).get("firms", 0) if prev_id else None
        classes.append({"code": c, "firms": x["firms"], "share": _ratio(x["firms"], evaluated),
                        "land_mu": x["land_mu"], "land_share": _ratio(x["land_mu"], land),
                        "tax_wan": x["tax_wan"], "tax_share": _ratio(x["tax_wan"], tax),
                        "tax_per_mu": _ratio(x["tax_l"], x["land_l"]),
                        "prev_firms": p, "prev_share": _ratio(p, prev_evaluated) if prev_id else None,
                        "change": None if p is None else x["firms"] - p})
    facts.update(firms=firms, evaluated=evaluated, excluded=now.get("T", {}).get("firms", 0), land_mu=land,
                 tax_wan=tax, tax_per_mu_evaluated=_ratio(tax_l, sum(x["land_l"] or 0 for c, x in now.items()
                                                                     if c != "T")),
                 classes=classes)
    excluded = store.con.execute(
        f"SELECT excluded_reason, count(*) FROM mujun_results WHERE run_id = {literal(run_id)} AND \"class\" = 'T' "
        f"AND {where} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    facts["excluded_reasons"] = [{"reason": a or "", "firms": int(b)} for a, b in excluded]
    # headline figures (stored roll-ups of the region itself)
    code = facts["region"]["adcode"]
    facts["headline"] = {}
    for kind in ("all", "above_scale"):
        rows = review.rollup(store, run_id, level=level, scope=kind, region=adcode).rows
        facts["headline"][kind] = _headline(next((x for x in rows if x["key"] == code), None))
    # sub-regions, counties (province), industries
    facts["subs"] = _area_rows(review.rollup(store, run_id, level=facts["sub_level"], scope="all", region=adcode),
                               order)
    facts["sub_movement"] = _movement(facts["subs"])
    if level != "county":
        facts["counties"] = _area_rows(review.rollup(store, run_id, level="county", scope="all", region=adcode),
                                       order)
        facts["county_movement"] = _movement(facts["counties"])
        facts["map_values"] = {x["key"]: x["tax_per_mu"] for x in _area_rows(
            review.rollup(store, run_id, level="county", scope="above_scale", region=adcode), order)}
    else:
        facts["counties"] = []
        facts["county_movement"] = None
        city = store.con.execute(f"SELECT city_adcode FROM regions WHERE adcode = {literal(code)}").fetchone()
        facts["city_adcode"] = city[0] if city else None
        facts["map_values"] = {}
    industries = _industries(store, run_id, where, order)
    for x in industries:
        x["land_share"] = _ratio(x["land_mu"], sum(i["land_mu"] or 0 for i in industries))
    industries.sort(key=lambda x: (x["tax_per_mu"] is None, -(x["tax_per_mu"] or 0), x["key"]))
    facts["industries"] = industries
    ranked = [x for x in industries if x["firms"] >= MIN_FIRMS and x["tax_per_mu"] is not None]
    facts["industry_top"] = ranked[0] if ranked else None
    facts["industry_bottom"] = ranked[-1] if len(ranked) > 1 else None
    facts["industry_largest"] = max(industries, key=lambda x: (x["land_mu"] or 0, x["key"])) if industries else None
    # previous run: class changes and movers
    facts["previous"] = None
    if prev_id:
        prev_summary = jobs.summary_of(store, prev_id)
        facts["previous"] = {"run_id": prev_id, "year": prev_summary.year, "policy": prev_summary.policy,
                             "evaluated": prev_evaluated, **_transitions(store, prev_id, run_id, scope, order)}
    # D land, C/D remediation, surcharges, targets
    worst = order[-1]
    d = next(x for x in classes if x["code"] == worst)
    facts["worst"] = {**d, "tax_per_mu_all": facts["tax_per_mu_evaluated"]}
    low, target = review.follow_up_classes(preset)
    rem = review.remediation(store, run_id, adcode, classes=low, target=target)
    rows = rem.rows
    gaps = [x["gap"] for x in rows if x["gap"] is not None]
    extra = [x["extra_tax_wan"] for x in rows if x["extra_tax_wan"] is not None]
    facts["remediation"] = {"classes": low, "target": target, "firms": len(rows),
                            "mean_gap": sum(gaps) / len(gaps) if gaps else None,
                            "extra_tax_wan": sum(extra) if extra else None, "extra_firms": len(extra),
                            "notes": rem.notes}
    rows.sort(key=lambda x: (-order.index(x["class"]), -(x["land_used_mu"] or 0), x["uscc"]))
    facts["remediation_rows"] = rows
    sur = review.surcharges(store, run_id, adcode).total
    facts["surcharge"] = {"firms": int(sur["firms_charged"]), "yuan": float(sur["surcharge_yuan"] or 0)}
    facts["targets"] = jobs.target_gaps(store, run_id, adcode)
    # top and bottom firms of the first population (规上 in every shipped preset)
    pop = preset.populations[0]
    facts["firm_population"] = {"id": pop.id, "label": pop.label, "label_en": pop.label_en or pop.label}
    cols = ("uscc, name, town_name, industry_code, \"class\", total_score, rank, unit_size, tax_per_mu, "
            "value_added_per_mu, land_used_mu")
    base = (f"FROM mujun_results WHERE run_id = {literal(run_id)} AND {where} AND population = {literal(pop.id)} "
            "AND \"class\" <> 'T' AND total_score IS NOT NULL")
    top = _rows(store, f"SELECT {cols} {base} ORDER BY total_score DESC, uscc LIMIT {TOP_FIRMS}")
    seen = {x["uscc"] for x in top}
    bottom = [x for x in _rows(store, f"SELECT {cols} {base} ORDER BY total_score, uscc LIMIT {2 * TOP_FIRMS}")
              if x["uscc"] not in seen][:TOP_FIRMS]
    facts["top_firms"], facts["bottom_firms"] = top, bottom
    # firms by 亩均税收 band and class
    cases = " ".join(f"WHEN tax_per_mu < {e} THEN {i}" for i, e in enumerate(BANDS))
    bands = store.con.execute(
        f"SELECT CASE {cases} ELSE {len(BANDS)} END AS band, \"class\", count(*) FROM mujun_results "
        f"WHERE run_id = {literal(run_id)} AND {where} AND \"class\" <> 'T' AND tax_per_mu IS NOT NULL "
        "GROUP BY ALL").fetchall()
    grid = {c: [0] * (len(BANDS) + 1) for c in order}
    for band, c, n in bands:
        grid.setdefault(c, [0] * (len(BANDS) + 1))[band] = int(n)
    facts["bands"] = grid
    return facts


# ---- words -----------------------------------------------------------------------------------

def n2(x, digits: int = 2) -> str:
    """A figure as printed everywhere in the briefing (thousands separated)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:,.{digits}f}"


def cnt(x) -> str:
    return "—" if x is None else f"{int(x):,}"


def pct(x, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def spct(x, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:+.{digits}f}%"


SUB_NAMES = {"zh": {"city": "设区市", "county": "县（市、区）", "town": "乡镇（街道）"},
             "en": {"city": "cities", "county": "counties", "town": "towns"}}


def _named(facts: dict, code: str, lang: str) -> str:
    """``A类（优先发展类）`` / ``class A (priority)``; the bare class when the preset names none."""
    label = facts["class_labels" if lang == "zh" else "class_labels_en"].get(code)
    if lang == "zh":
        return f"{code}类（{label}）" if label and label != code else f"{code}类"
    return f"class {code} ({label})" if label and label != code else f"class {code}"


def _trend_zh(g) -> str:
    if g is None:
        return ""
    if abs(g) < FLAT:
        return "与上年基本持平"
    return f"比上年{'提高' if g > 0 else '下降'}{abs(g) * 100:.1f}%"


def _trend_en(g) -> str:
    if g is None:
        return ""
    if abs(g) < FLAT:
        return "about the same as a year earlier"
    return f"{'up' if g > 0 else 'down'} {abs(g) * 100:.1f}% on a year earlier"


def sentences(facts: dict, lang: str = "zh") -> list[str]:
    """The summary, one paragraph per topic, each sentence built from ``facts`` only."""
    return _zh(facts) if lang == "zh" else _en(facts)


def _zh(f: dict) -> list[str]:
    out = []
    R, year, run = f["region"]["name"], f["run"]["year"], f["run"]
    classes = "，".join(f"{_named(f, c['code'], 'zh')}{cnt(c['firms'])}家、占{pct(c['share'])}"
                       for c in f["classes"])
    t = f"{year}年度，{R}共有{cnt(f['firms'])}家工业企业纳入亩均效益综合评价，参评{cnt(f['evaluated'])}家"
    if f["excluded"]:
        t += f"，另有{cnt(f['excluded'])}家不参评"
    out.append(t + f"。按“{run['policy_name']}”评价，{classes}。")
    h, ha = f["headline"].get("all"), f["headline"].get("above_scale")
    if h:
        t = (f"全部企业用地{n2(h['land_mu'])}亩、实缴税金{n2(h['tax_wan'])}万元，亩均税收{n2(h['tax_per_mu'])}万元/亩、"
             f"亩均增加值{n2(h['va_per_mu'])}万元/亩")
        if h["tax_growth"] is not None:
            t += f"，亩均税收{_trend_zh(h['tax_growth'])}（上年{n2(h['prev_tax_per_mu'])}万元/亩）"
        t += "。"
        if ha and ha["tax_per_mu"] is not None:
            t += f"其中规上工业企业亩均税收{n2(ha['tax_per_mu'])}万元/亩"
            if ha["tax_growth"] is not None:
                t += f"，{_trend_zh(ha['tax_growth'])}"
            t += f"；亩均增加值{n2(ha['va_per_mu'])}万元/亩"
            if ha["va_growth"] is not None:
                t += f"，{_trend_zh(ha['va_growth'])}"
            t += "。"
        out.append(t)
    for key, lvl in (("sub_movement", f["sub_level"]), ("county_movement", "county")):
        m = f.get(key)
        if not m or m["ranked"] < 2 or (key == "county_movement" and f["sub_level"] == "county"):
            continue
        sub = SUB_NAMES["zh"][lvl]
        t = f"分{sub}看，"
        if m["compared"] >= 2:
            t += f"{m['compared']}个{sub}中"
            if m["rose"] == m["compared"]:
                t += f"亩均税收全部比上年提高，提高最快的是{m['fastest']['label']}（{spct(m['fastest']['tax_growth'])}）；"
            elif m["fell"] == m["compared"]:
                t += f"亩均税收全部比上年下降，下降最多的是{m['slowest']['label']}（{spct(m['slowest']['tax_growth'])}）；"
            else:
                t += f"{m['rose']}个亩均税收比上年提高、{m['fell']}个下降"
                if m["flat"]:
                    t += f"、{m['flat']}个持平"
                parts = []
                if m["rose"]:
                    parts.append(f"提高最快的是{m['fastest']['label']}（{spct(m['fastest']['tax_growth'])}）")
                if m["fell"]:
                    parts.append(f"下降最多的是{m['slowest']['label']}（{spct(m['slowest']['tax_growth'])}）")
                t += "，" + "，".join(parts) + "；" if parts else "；"
        hi, lo = m["highest"], m["lowest"]
        t += f"亩均税收最高的是{hi['label']}（{n2(hi['tax_per_mu'])}万元/亩），最低的是{lo['label']}（{n2(lo['tax_per_mu'])}万元/亩）"
        if lo["tax_per_mu"] and lo["tax_per_mu"] > 0:
            t += f"，前者是后者的{hi['tax_per_mu'] / lo['tax_per_mu']:.1f}倍"
        t += "。"
        if m["left_out"]:
            t += f"（企业不足{MIN_FIRMS}家的{m['left_out']}个{sub}未参与比较。）"
        out.append(t)
    p = f.get("previous")
    if p:
        changes = []
        for c in f["classes"]:
            if c["change"] is None:
                continue
            if c["change"] > 0:
                changes.append(f"{c['code']}类增加{c['change']}家（{c['prev_firms']}→{c['firms']}）")
            elif c["change"] < 0:
                changes.append(f"{c['code']}类减少{-c['change']}家（{c['prev_firms']}→{c['firms']}）")
            else:
                changes.append(f"{c['code']}类持平（{c['firms']}家）")
        t = f"与{p['year']}年度评价相比，" + "、".join(changes) + "。"
        if p["up"] + p["down"] + p["same"]:
            t += (f"两次均参评的{cnt(p['up'] + p['down'] + p['same'])}家企业中，{cnt(p['up'])}家类别上升、"
                  f"{cnt(p['down'])}家下降、{cnt(p['same'])}家不变")
            if p["entered"] or p["left"]:
                t += f"（另有{cnt(p['entered'])}家由不参评转为参评、{cnt(p['left'])}家转为不参评）"
            t += "。"
        if p["top_fall"]:
            x = p["top_fall"]
            t += f"类别下降幅度最大的是{x['name']}（{x['class_a']}类→{x['class_b']}类，总分{_signed(x['total_delta'])}分）"
            t += "；" if p["top_rise"] else "。"
        if p["top_rise"]:
            x = p["top_rise"]
            t += f"上升幅度最大的是{x['name']}（{x['class_a']}类→{x['class_b']}类，总分{_signed(x['total_delta'])}分）。"
        out.append(t)
    else:
        out.append(f"数据库中没有{R}{year - 1}年度同一评价办法的评价批次，本专报不作类别变化对比。")
    w = f["worst"]
    code = w["code"]
    if w["firms"]:
        t = (f"{_named(f, code, 'zh')}企业{cnt(w['firms'])}家，占用土地{n2(w['land_mu'])}亩、"
             f"占参评企业用地的{pct(w['land_share'])}，实缴税金占{pct(w['tax_share'])}")
        if w["tax_per_mu"] is not None and w["tax_per_mu_all"]:
            t += (f"；亩均税收{n2(w['tax_per_mu'])}万元/亩，为参评企业整体水平（{n2(w['tax_per_mu_all'])}万元/亩）的"
                  f"{pct(w['tax_per_mu'] / w['tax_per_mu_all'])}")
        out.append(t + "。")
    else:
        out.append(f"本年度{R}无{code}类企业。")
    top, bottom, big = f["industry_top"], f["industry_bottom"], f["industry_largest"]
    if big:
        t = f"分行业看，用地最多的是{big['label']}（{n2(big['land_mu'])}亩，占{pct(big['land_share'])}）"
        if top and bottom:
            t += (f"；企业不少于{MIN_FIRMS}家的行业中，亩均税收最高的是{top['label']}（{n2(top['tax_per_mu'])}万元/亩），"
                  f"最低的是{bottom['label']}（{n2(bottom['tax_per_mu'])}万元/亩）")
        out.append(t + "。")
    out.extend(_targets_zh(f))
    rem, sur = f["remediation"], f["surcharge"]
    low = "、".join(f"{c}类" for c in rem["classes"])
    if rem["firms"]:
        t = f"{low}企业共{cnt(rem['firms'])}家"
        if rem["mean_gap"] is not None:
            t += f"，与{rem['target']}类末位得分平均相差{n2(rem['mean_gap'])}分"
        if rem["extra_tax_wan"] is not None:
            t += (f"；按亩均税收折算，其中{cnt(rem['extra_firms'])}家达到{rem['target']}类约需新增税收"
                  f"{n2(rem['extra_tax_wan'])}万元")
        t += "。"
    else:
        t = f"本年度无{low}企业。"
    if sur["yuan"]:
        t += f"按差别化电价政策，预计加收电费{n2(sur['yuan'] / 10_000)}万元，涉及{cnt(sur['firms'])}家企业。"
    else:
        t += "本次评价无差别化电价加收。"
    out.append(t)
    return out


def _signed(x) -> str:
    return "—" if x is None else f"{x:+.2f}"


def _target_groups(f: dict) -> list[list[dict]]:
    groups: dict[str, list[dict]] = {}
    for g in f["targets"]:
        if g["actual"] is None or g["target"] is None:
            continue
        groups.setdefault(g["target_id"], []).append(g)
    return list(groups.values())


def _unit(indicator: str, lang: str) -> str:
    if indicator == "labour_productivity":
        return "万元/人" if lang == "zh" else "10k yuan per worker"
    return "万元/亩" if lang == "zh" else "10k yuan per mu"


def _targets_zh(f: dict) -> list[str]:
    parts = []
    for rows in _target_groups(f):
        g = rows[0]
        unit = _unit(g["indicator"], "zh")
        if len(rows) == 1:
            if g["gap"] <= 0:
                parts.append(f"{g['name']}{_ind_zh(g['indicator'])}{n2(g['actual'])}{unit}，已达到“{g['label']}”"
                             f"（完成{pct(g['achieved'])}）")
            else:
                parts.append(f"{g['name']}{_ind_zh(g['indicator'])}{n2(g['actual'])}{unit}，距“{g['label']}”尚差"
                             f"{n2(g['gap'])}{unit}（完成{pct(g['achieved'])}）")
        else:
            reached = [x for x in rows if x["gap"] <= 0]
            worst = max(rows, key=lambda x: (x["gap"], x["key"]))
            t = f"对照“{g['label']}”，{len(rows)}个县中{len(reached)}个已达到"
            if worst["gap"] > 0:
                t += f"，差距最大的是{worst['name']}（{n2(worst['actual'])}{unit}，差{n2(worst['gap'])}）"
            parts.append(t)
    if not parts:
        return []
    return ["目标对照：" + "；".join(parts) + "。"]


def _ind_zh(indicator: str) -> str:
    return {"tax_per_mu": "规上工业亩均税收", "value_added_per_mu": "规上工业亩均增加值",
            "labour_productivity": "规上工业全员劳动生产率"}.get(indicator, indicator)


def _ind_en(indicator: str) -> str:
    return {"tax_per_mu": "above-scale tax per mu", "value_added_per_mu": "above-scale value added per mu",
            "labour_productivity": "above-scale labour productivity"}.get(indicator, indicator)


def _en(f: dict) -> list[str]:
    out = []
    R, year, run = f["region"]["name"], f["run"]["year"], f["run"]
    classes = "; ".join(f"{_named(f, c['code'], 'en')}: {cnt(c['firms'])} ({pct(c['share'])})"
                        for c in f["classes"])
    t = (f"In {year}, {cnt(f['firms'])} industrial enterprises in {R} came under the per-mu efficiency evaluation "
         f"and {cnt(f['evaluated'])} were evaluated")
    if f["excluded"]:
        t += f" ({cnt(f['excluded'])} were not)"
    out.append(t + f". Under \"{run['policy_name_en']}\": {classes}.")
    h, ha = f["headline"].get("all"), f["headline"].get("above_scale")
    if h:
        t = (f"All firms together use {n2(h['land_mu'])} mu and paid {n2(h['tax_wan'])} (10k yuan) in tax: "
             f"{n2(h['tax_per_mu'])} per mu in tax and {n2(h['va_per_mu'])} per mu in value added")
        if h["tax_growth"] is not None:
            t += f"; tax per mu is {_trend_en(h['tax_growth'])} ({n2(h['prev_tax_per_mu'])})"
        t += "."
        if ha and ha["tax_per_mu"] is not None:
            t += f" Above-scale firms: tax per mu {n2(ha['tax_per_mu'])}"
            if ha["tax_growth"] is not None:
                t += f", {_trend_en(ha['tax_growth'])}"
            t += f"; value added per mu {n2(ha['va_per_mu'])}"
            if ha["va_growth"] is not None:
                t += f", {_trend_en(ha['va_growth'])}"
            t += "."
        out.append(t)
    for key, lvl in (("sub_movement", f["sub_level"]), ("county_movement", "county")):
        m = f.get(key)
        if not m or m["ranked"] < 2 or (key == "county_movement" and f["sub_level"] == "county"):
            continue
        sub = SUB_NAMES["en"][lvl]
        t = ""
        if m["compared"] >= 2:
            if m["rose"] == m["compared"]:
                t += (f"Tax per mu rose in all {m['compared']} {sub}, fastest in {m['fastest']['label']} "
                      f"({spct(m['fastest']['tax_growth'])}). ")
            elif m["fell"] == m["compared"]:
                t += (f"Tax per mu fell in all {m['compared']} {sub}, most in {m['slowest']['label']} "
                      f"({spct(m['slowest']['tax_growth'])}). ")
            else:
                t += f"Of {m['compared']} {sub}, tax per mu rose in {m['rose']} and fell in {m['fell']}"
                if m["flat"]:
                    t += f" ({m['flat']} unchanged)"
                if m["rose"]:
                    t += f"; fastest rise: {m['fastest']['label']} ({spct(m['fastest']['tax_growth'])})"
                if m["fell"]:
                    t += f"; largest fall: {m['slowest']['label']} ({spct(m['slowest']['tax_growth'])})"
                t += ". "
        hi, lo = m["highest"], m["lowest"]
        t += (f"The highest tax per mu among the {sub} is {hi['label']} ({n2(hi['tax_per_mu'])}), the lowest "
              f"{lo['label']} ({n2(lo['tax_per_mu'])})")
        if lo["tax_per_mu"] and lo["tax_per_mu"] > 0:
            t += f", {hi['tax_per_mu'] / lo['tax_per_mu']:.1f} times as much"
        t += "."
        if m["left_out"]:
            t += f" ({m['left_out']} {sub} with fewer than {MIN_FIRMS} firms are not compared.)"
        out.append(t)
    p = f.get("previous")
    if p:
        changes = []
        for c in f["classes"]:
            if c["change"] is None:
                continue
            if c["change"]:
                changes.append(f"class {c['code']} {'+' if c['change'] > 0 else '−'}{abs(c['change'])} "
                               f"({c['prev_firms']}→{c['firms']})")
            else:
                changes.append(f"class {c['code']} unchanged ({c['firms']})")
        t = f"Against the {p['year']} evaluation: " + ", ".join(changes) + "."
        if p["up"] + p["down"] + p["same"]:
            t += (f" Of {cnt(p['up'] + p['down'] + p['same'])} firms evaluated both years, {cnt(p['up'])} moved up "
                  f"a class, {cnt(p['down'])} down and {cnt(p['same'])} stayed")
            if p["entered"] or p["left"]:
                t += f" ({cnt(p['entered'])} newly evaluated, {cnt(p['left'])} no longer evaluated)"
            t += "."
        for key, word in (("top_fall", "largest fall"), ("top_rise", "largest rise")):
            x = p[key]
            if x:
                t += (f" The {word}: {x['name']} ({x['class_a']}→{x['class_b']}, score "
                      f"{_signed(x['total_delta'])}).")
        out.append(t)
    else:
        out.append(f"The database holds no {year - 1} run of the same method for {R}: no class changes are compared.")
    w = f["worst"]
    if w["firms"]:
        named = _named(f, w["code"], "en")
        t = (f"{named[0].upper()}{named[1:]}: {cnt(w['firms'])} firms holding "
             f"{n2(w['land_mu'])} mu, {pct(w['land_share'])} of the evaluated firms' land, and paying "
             f"{pct(w['tax_share'])} of their tax")
        if w["tax_per_mu"] is not None and w["tax_per_mu_all"]:
            t += (f"; their tax per mu, {n2(w['tax_per_mu'])}, is {pct(w['tax_per_mu'] / w['tax_per_mu_all'])} "
                  f"of all evaluated firms' ({n2(w['tax_per_mu_all'])})")
        out.append(t + ".")
    else:
        out.append(f"{R} has no class {w['code']} firm this year.")
    top, bottom, big = f["industry_top"], f["industry_bottom"], f["industry_largest"]
    if big:
        t = (f"By industry, {big['label']} ({big['key']}) uses the most land ({n2(big['land_mu'])} mu, "
             f"{pct(big['land_share'])})")
        if top and bottom:
            t += (f"; among industries with at least {MIN_FIRMS} firms, tax per mu is highest in {top['label']} "
                  f"({n2(top['tax_per_mu'])}) and lowest in {bottom['label']} ({n2(bottom['tax_per_mu'])})")
        out.append(t + ".")
    parts = []
    for rows in _target_groups(f):
        g = rows[0]
        if len(rows) == 1:
            state = "reached" if g["gap"] <= 0 else f"{n2(g['gap'])} short of"
            parts.append(f"{g['name']}'s {_ind_en(g['indicator'])} is {n2(g['actual'])}, {state} the target "
                         f"\"{g['label']}\" ({pct(g['achieved'])} achieved)")
        else:
            reached = [x for x in rows if x["gap"] <= 0]
            worst = max(rows, key=lambda x: (x["gap"], x["key"]))
            t = f"{len(reached)} of {len(rows)} counties reach \"{g['label']}\""
            if worst["gap"] > 0:
                t += f", furthest off {worst['name']} ({n2(worst['actual'])}, {n2(worst['gap'])} short)"
            parts.append(t)
    if parts:
        out.append("Targets: " + "; ".join(parts) + ".")
    rem, sur = f["remediation"], f["surcharge"]
    low = " and ".join(rem["classes"])
    if rem["firms"]:
        t = f"{cnt(rem['firms'])} firms are in classes {low}"
        if rem["mean_gap"] is not None:
            t += f", on average {n2(rem['mean_gap'])} points below the last firm of class {rem['target']}"
        if rem["extra_tax_wan"] is not None:
            t += (f"; through tax alone, {cnt(rem['extra_firms'])} of them would need {n2(rem['extra_tax_wan'])} "
                  f"(10k yuan) more tax to reach class {rem['target']}")
        t += "."
    else:
        t = f"No firm is in classes {low}."
    if sur["yuan"]:
        t += (f" Differential electricity prices add an estimated {n2(sur['yuan'] / 10_000)} (10k yuan) for "
              f"{cnt(sur['firms'])} firms.")
    else:
        t += " No differential electricity surcharge applies."
    out.append(t)
    return out


# ---- the document model ----------------------------------------------------------------------

@dataclass
class Table:
    key: str
    title: str
    columns: list[tuple[str, str]]          # (header, kind): text | code | int | num | num1 | pct | spct | wan
    rows: list[list]
    note: str = ""

    def cell(self, value, kind: str) -> str:
        if kind in ("text", "code"):
            return "" if value is None else str(value)
        if kind == "int":
            return cnt(value)
        if kind == "num1":
            return n2(value, 1)
        if kind == "pct":
            return pct(value)
        if kind == "spct":
            return spct(value)
        return n2(value)

    def text_rows(self) -> list[list[str]]:
        return [[self.cell(v, k) for v, (_, k) in zip(row, self.columns, strict=True)] for row in self.rows]


@dataclass
class Figure:
    key: str
    title: str
    png: bytes
    width_cm: float = 16.0

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode()


@dataclass
class Section:
    title: str
    items: list = field(default_factory=list)     # str (a paragraph) | Table | Figure


@dataclass
class Briefing:
    lang: str
    title: str
    issuer: str
    date: str
    region: dict
    summary: list[str]
    sections: list[Section]
    methods: list[tuple[str, str]]
    facts: dict
    file_stem: str
    tables: dict[str, Table] = field(default_factory=dict)   # every table, full length (Excel)


L = {
    "zh": {
        "title": "{name} {year}年度工业企业亩均效益综合评价专报",
        "summary": "一、总体情况", "classes": "二、分类评价结果", "areas": "三、分地区情况",
        "industries": "四、分行业情况", "firms": "五、重点企业", "remediation": "六、{low}企业与提升差距",
        "targets": "七、目标对照", "methods": "说明：方法与数据来源",
        "page": "第 {n} 页 共 {m} 页", "confidential": "内部资料 注意保存",
        "generated": "山海产业大脑生成",
    },
    "en": {
        "title": "{name}: per-mu efficiency evaluation of industrial enterprises, {year} — briefing",
        "summary": "1. Summary", "classes": "2. Evaluation classes", "areas": "3. By area",
        "industries": "4. By industry", "firms": "5. Leading and lagging firms",
        "remediation": "6. Classes {low} and their distance to class {target}", "targets": "7. Targets",
        "methods": "Notes: method and sources", "page": "Page {n} of {m}", "confidential": "For internal use",
        "generated": "generated by Shanhai",
    },
}


def _issuer(region: dict, lang: str) -> str:
    if lang == "en":
        return f"{region['name']} Bureau of Economy and Information Technology"
    return region["name"] + ("经济和信息化厅" if region["level"] == "province" else "经济和信息化局")


def _date_text(day: dt.date, lang: str) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else day.strftime("%d %B %Y")


def build(store: Store, run_id: str, region: str | None = None, lang: str = "zh", *, issuer: str | None = None,
          day: dt.date | None = None, charts: bool = True, progress: Progress | None = None) -> Briefing:
    """The briefing's content for ``region`` in ``lang``: facts, summary, tables and charts."""
    from shanhai.reports import charts as ch

    if lang not in LANGS:
        raise ShanhaiError(f"--lang {lang}: expected zh or en")
    step = progress or (lambda label, fraction: None)
    f = gather(store, run_id, region)
    step("读取评价结果 reading the run", 0.3)
    zh = lang == "zh"
    words = L[lang]
    region_d, year, order = f["region"], f["run"]["year"], f["order"]
    labels = f["class_labels"] if zh else f["class_labels_en"]
    step("撰写摘要 writing the summary", 0.35)
    summary = sentences(f, lang)
    title = words["title"].format(name=region_d["name"], year=year)
    tables: dict[str, Table] = {}

    def table(key, title_, columns, rows, note="") -> Table:
        t = Table(key, title_, columns, rows, note)
        tables[key] = t
        return t

    # headline
    head_rows = []
    for scope, label in (("all", "全部企业" if zh else "All firms"), ("above_scale", "规上工业企业" if zh else
                                                                     "Above-scale firms")):
        h = f["headline"].get(scope)
        if h:
            head_rows.append([label, h["firms"], h["land_mu"], h["tax_wan"], h["va_wan"], h["tax_per_mu"],
                              h["prev_tax_per_mu"], h["tax_growth"], h["va_per_mu"], h["prev_va_per_mu"],
                              h["va_growth"]])
    headline = table("headline", "表1 主要指标" if zh else "Table 1. Headline figures", [
        ("口径" if zh else "Scope", "text"), ("企业数" if zh else "Firms", "int"),
        ("用地(亩)" if zh else "Land (mu)", "num"), ("实缴税金(万元)" if zh else "Tax (10k yuan)", "num"),
        ("工业增加值(万元)" if zh else "Value added (10k yuan)", "num"),
        ("亩均税收" if zh else "Tax per mu", "num"), ("上年" if zh else "Prev. year", "num"),
        ("增幅" if zh else "Change", "spct"), ("亩均增加值" if zh else "VA per mu", "num"),
        ("上年" if zh else "Prev. year", "num"), ("增幅" if zh else "Change", "spct")], head_rows,
        "亩均指标为和比口径 (Σ分子 ÷ Σ分母), 单位万元/亩; 上年数为同一批企业上年数据。" if zh else
        "Per-mu figures are sums over sums (10k yuan per mu); the previous year is the same firms a year earlier.")
    sections = [Section(words["summary"], [*summary, headline])]

    # classes
    prev = f["previous"]
    cols = [("类别" if zh else "Class", "code"), ("名称" if zh else "Name", "text"),
            ("企业数" if zh else "Firms", "int"), ("占比" if zh else "Share", "pct")]
    if prev:
        cols += [(f"{prev['year']}年" if zh else str(prev["year"]), "int"), ("增减" if zh else "Change", "int")]
    cols += [("用地(亩)" if zh else "Land (mu)", "num"), ("用地占比" if zh else "Land share", "pct"),
             ("实缴税金(万元)" if zh else "Tax (10k yuan)", "num"), ("税收占比" if zh else "Tax share", "pct"),
             ("亩均税收" if zh else "Tax per mu", "num")]
    rows = []
    for c in f["classes"]:
        row = [c["code"], labels[c["code"]], c["firms"], c["share"]]
        if prev:
            row += [c["prev_firms"], c["change"]]
        rows.append(row + [c["land_mu"], c["land_share"], c["tax_wan"], c["tax_share"], c["tax_per_mu"]])
    total = ["合计" if zh else "Total", "", f["evaluated"], 1.0 if f["evaluated"] else None]
    if prev:
        total += [prev["evaluated"], f["evaluated"] - (prev["evaluated"] or 0)]
    rows.append(total + [f["land_mu"], 1.0 if f["land_mu"] else None, f["tax_wan"], 1.0 if f["tax_wan"] else None,
                         f["tax_per_mu_evaluated"]])
    cls_items: list = [table("classes", "表2 各类企业数量、用地与税收" if zh else "Table 2. Firms, land and tax by class",
                             cols, rows, (f"另有不参评企业 {cnt(f['excluded'])} 家。" if zh else
                                          f"{cnt(f['excluded'])} firms were not evaluated.") if f["excluded"] else "")]
    if prev:
        mc = [c for c in prev["matrix_classes"]]
        mrows = [[f"{a}", *[prev["matrix"][a][b] for b in mc]] for a in mc]
        cls_items.append(table("transitions", ("表3 与{y}年度相比的类别变化 (行: {y}年, 列: {z}年)" if zh else
                                               "Table 3. Class transitions (rows {y}, columns {z})").format(
            y=prev["year"], z=year), [(("{y}→{z}" if zh else "{y}→{z}").format(y=prev["year"], z=year), "code"),
                                      *[(b, "int") for b in mc]], mrows,
            (f"上一批次: {prev['run_id']}" if zh else f"Previous run: {prev['run_id']}")))
    step("绘制图表 drawing the charts", 0.5)
    if charts:
        series = [(f"{year}年" if zh else str(year), [100 * (c["share"] or 0) for c in f["classes"]])]
        if prev:
            series.append((f"{prev['year']}年" if zh else str(prev["year"]),
                           [None if c["prev_share"] is None else 100 * c["prev_share"] for c in f["classes"]]))
        cls_items.append(Figure("class_shares", "图1 各类企业占比" if zh else "Figure 1. Share of firms by class",
                                ch.class_share_chart(order, series, title=("各类企业占参评企业比重" if zh else
                                                                           "Share of evaluated firms by class"),
                                                     class_labels=[f"{c} {labels[c]}" if zh and labels[c] != c
                                                                   else c for c in order]),
                                14.5))
        band_labels = [f"<{BANDS[0]}"] + [f"{a}–{b}" for a, b in zip(BANDS, BANDS[1:])] + [f"≥{BANDS[-1]}"]
        cls_items.append(Figure("bands", "图2 亩均税收分档企业数" if zh else "Figure 2. Firms by tax-per-mu band",
                                ch.band_histogram(band_labels, [(c, f["bands"].get(c, [])) for c in order],
                                                  title=("参评企业亩均税收分布" if zh else
                                                         "Evaluated firms by tax per mu"),
                                                  x_title="亩均税收 (万元/亩)" if zh else "Tax per mu (10k yuan)",
                                                  y_title="企业数 (家)" if zh else "Firms"), 14.5))
    sections.append(Section(words["classes"], cls_items))

    # areas
    area_items: list = []
    if charts:
        from shanhai import reference

        feats = reference.geojson()["features"]
        if region_d["level"] == "county":
            city = f.get("city_adcode")
            png = ch.choropleth(feats, {}, title=(f"{region_d['name']}的位置" if zh else
                                                  f"Where {region_d['name']} lies"),
                                legend_title=region_d["name"], highlight={region_d["adcode"]},
                                emphasis={x["properties"]["adcode"] for x in feats
                                          if x["properties"].get("city_adcode") == city},
                                no_data="无数据" if zh else "no data")
        else:
            keep = None
            if region_d["level"] == "city":     # the city's counties (those without firms drawn as no data)
                keep = {x["properties"]["adcode"] for x in feats
                        if x["properties"].get("city_adcode") == region_d["adcode"]} | set(f["map_values"])
            title_ = (f"{region_d['name']}各县（市、区）规上工业亩均税收" if zh else
                      f"{region_d['name']}: above-scale tax per mu by county")
            png = ch.choropleth(feats, f["map_values"], title=title_,
                                legend_title="万元/亩" if zh else "10k yuan per mu", draw_only=keep,
                                no_data="无数据" if zh else "no data")
        if region_d["level"] == "county":
            caption = (f"图3 {region_d['name']}的位置（所在设区市加粗勾边）" if zh else
                       f"Figure 3. Where {region_d['name']} lies (its city outlined)")
        else:
            caption = (f"图3 {region_d['name']}各县（市、区）规上工业亩均税收（万元/亩，五分位分级）" if zh else
                       f"Figure 3. Above-scale tax per mu by county (10k yuan per mu, quintile classes)")
        area_items.append(Figure("map", caption, png, 13.0 if region_d["level"] == "county" else 15.0))
    sub = SUB_NAMES[lang][f["sub_level"]]
    area_cols = [((sub if zh else sub.capitalize()), "text"), ("企业数" if zh else "Firms", "int"),
                 ("用地(亩)" if zh else "Land (mu)", "num"), ("亩均税收" if zh else "Tax/mu", "num"),
                 ("上年" if zh else "Prev.", "num"), ("增幅" if zh else "Change", "spct"),
                 ("亩均增加值" if zh else "VA/mu", "num"), ("增幅" if zh else "Change", "spct"),
                 *[(c, "int") for c in order]]

    def area_rows(rows):
        rows = sorted(rows, key=lambda x: (x["tax_per_mu"] is None, -(x["tax_per_mu"] or 0), x["key"]))
        return [[x["label"], x["firms"], x["land_mu"], x["tax_per_mu"], x["prev_tax_per_mu"], x["tax_growth"],
                 x["va_per_mu"], x["va_growth"], *[x["classes"].get(c, 0) for c in order]] for x in rows]

    note = ("全部企业口径, 按亩均税收从高到低排列; 亩均指标为和比口径 (万元/亩)。" if zh else
            "All firms, highest tax per mu first; per-mu figures are sums over sums (10k yuan per mu).")
    area_items.append(table("areas", (f"表4 分{sub}亩均效益" if zh else f"Table 4. Per-mu figures by {sub}"),
                            area_cols, area_rows(f["subs"]), note))
    if f["counties"] and f["sub_level"] != "county":
        area_items.append(table("counties", "表5 分县（市、区）亩均效益" if zh else "Table 5. Per-mu figures by county",
                                [("县（市、区）" if zh else "County", "text"), *area_cols[1:]],
                                area_rows(f["counties"]), note))
    sections.append(Section(words["areas"], area_items))

    # industries
    ind_rows = [[x["key"], x["label"], x["firms"], x["land_mu"], x["land_share"], x["tax_per_mu"], x["va_per_mu"],
                 *[x["classes"].get(c, 0) for c in order]] for x in f["industries"]]
    sections.append(Section(words["industries"], [table(
        "industries", "表6 分行业（大类）亩均效益" if zh else "Table 6. Per-mu figures by industry (division)",
        [("代码" if zh else "Code", "code"), ("行业" if zh else "Industry", "text"), ("企业数" if zh else "Firms", "int"),
         ("用地(亩)" if zh else "Land (mu)", "num"), ("用地占比" if zh else "Land share", "pct"),
         ("亩均税收" if zh else "Tax/mu", "num"), ("亩均增加值" if zh else "VA/mu", "num"),
         *[(c, "int") for c in order]], ind_rows,
        ("国民经济行业分类 (GB/T 4754-2017) 大类; 仅含本地区企业, 按亩均税收从高到低排列。" if zh else
         "GB/T 4754-2017 divisions; this region's firms only, highest tax per mu first."))]))

    # firms
    pop_label = f["firm_population"]["label" if zh else "label_en"]
    firm_cols = [("序号" if zh else "No.", "int"), ("企业名称" if zh else "Enterprise", "text"),
                 ("统一社会信用代码" if zh else "USCC", "code"), ("乡镇(街道)" if zh else "Town", "text"),
                 ("行业" if zh else "Ind.", "code"), ("类别" if zh else "Class", "code"),
                 ("总分" if zh else "Score", "num"), ("亩均税收" if zh else "Tax/mu", "num"),
                 ("亩均增加值" if zh else "VA/mu", "num")]

    def firm_rows(rows):
        return [[i, x["name"], x["uscc"], x["town_name"], x["industry_code"], x["class"], x["total_score"],
                 x["tax_per_mu"], x["value_added_per_mu"]] for i, x in enumerate(rows, 1)]

    sections.append(Section(words["firms"], [
        table("top_firms", (f"表7 {pop_label}总分前{TOP_FIRMS}名" if zh else
                            f"Table 7. {pop_label}: the {TOP_FIRMS} highest scores"), firm_cols,
              firm_rows(f["top_firms"])),
        table("bottom_firms", (f"表8 {pop_label}总分后{TOP_FIRMS}名" if zh else
                               f"Table 8. {pop_label}: the {TOP_FIRMS} lowest scores"), firm_cols,
              firm_rows(f["bottom_firms"]),
              "总分为指标得分 + 加分 − 减分; 各企业在本县同类企业中排名。" if zh else
              "Score = indicator scores + bonus − penalty; each firm is ranked among its county's firms "
              "of its kind.")]))

    # remediation
    rem = f["remediation"]
    low = "、".join(rem["classes"]) + "类" if zh else "/".join(rem["classes"])
    rem_cols = [("序号" if zh else "No.", "int"), ("企业名称" if zh else "Enterprise", "text"),
                ("统一社会信用代码" if zh else "USCC", "code"), ("乡镇(街道)" if zh else "Town", "text"),
                ("类别" if zh else "Class", "code"), ("总分" if zh else "Score", "num"),
                ("目标分" if zh else "Target", "num"), ("差距分" if zh else "Gap", "num"),
                ("用地(亩)" if zh else "Land (mu)", "num"), ("亩均税收" if zh else "Tax/mu", "num"),
                ("需增税收(万元)" if zh else "Extra tax (10k yuan)", "num")]
    rem_rows = [[i, x["name"], x["uscc"], x["town_name"], x["class"], x["total_score"], x["target_score"], x["gap"],
                 x["land_used_mu"], x["tax_per_mu"], x["extra_tax_wan"]]
                for i, x in enumerate(f["remediation_rows"], 1)]
    shown = len(rem_rows) if len(rem_rows) <= REMEDIATION_ROWS else REMEDIATION_ROWS
    rem_note = " ".join(rem["notes"][:1] + rem["notes"][1:2])
    if shown < len(rem_rows):
        rem_note = ((f"共 {cnt(len(rem_rows))} 家, 此处列出 {rem['classes'][-1]} 类在前、用地最多的 {shown} 家, "
                     "完整名单见 Excel 版。") if zh else
                    (f"{cnt(len(rem_rows))} firms; the {shown} shown are the worst class first, most land first; "
                     "the Excel version lists all.")) + " " + rem_note
    full = Table("remediation", (f"表9 {low}企业与{rem['target']}类的差距" if zh else
                                 f"Table 9. Classes {low}: distance to class {rem['target']}"), rem_cols, rem_rows,
                 rem_note)
    tables["remediation"] = full
    printed = Table(full.key, full.title, full.columns, full.rows[:shown], full.note)
    sections.append(Section(words["remediation"].format(low=low, target=rem["target"]), [printed]))

    # targets
    tg_rows = [[g["label"], g["name"], g["actual"], g["target"], g["gap"], g["achieved"]] for g in f["targets"]]
    if tg_rows:
        sections.append(Section(words["targets"], [table(
            "targets", "表10 与政策目标的差距" if zh else "Table 10. Distance to the policy targets",
            [("目标" if zh else "Target", "text"), ("地区" if zh else "Area", "text"),
             ("实际" if zh else "Actual", "num"), ("目标值" if zh else "Target value", "num"),
             ("差距" if zh else "Gap", "num"), ("完成" if zh else "Achieved", "pct")], tg_rows,
            "规上工业口径; 差距 = 目标值 − 实际值 (负数为已超过)。" if zh else
            "Above-scale firms; gap = target − actual (negative: exceeded).")]))

    run = f["run"]
    methods = [
        ("评价办法" if zh else "Method", f"{run['policy_name'] if zh else run['policy_name_en']} "
                                        f"({run['policy']}, {'版本' if zh else 'version'} {run['policy_version']})"),
        ("政策来源" if zh else "Policy source", run["policy_source"]),
        ("评价年度" if zh else "Year", str(year)),
        ("评价批次" if zh else "Run", run["run_id"]),
        ("评价时间" if zh else "Run at", f"{run['created_at']} ({run['created_by']})"),
        ("输入数据指纹" if zh else "Inputs fingerprint", run["inputs_fingerprint"] or ""),
        ("政策指纹" if zh else "Policy fingerprint", run["policy_fingerprint"] or ""),
        ("程序版本" if zh else "Code version", run["code_version"] or ""),
        ("基准值" if zh else "Benchmarks", ("按政策 (preset)" if zh else "from the preset")
         if run["benchmarks"] == "preset" else ("按数据 (data)" if zh else "from the data")),
        ("对比批次" if zh else "Compared with", prev["run_id"] if prev else ("无" if zh else "none")),
        ("地区范围" if zh else "Region", (f"{region_d['name']} ({region_d['adcode']})。本专报只含该地区的企业, "
                                         "分行业数据按本地区企业重新汇总。") if zh else
         (f"{region_d['name']} ({region_d['adcode']}). Only this region's firms appear; industry figures are "
          "re-aggregated over them.")),
        ("口径" if zh else "Definitions", ("亩均税收 = 实缴税金 ÷ 用地面积, 亩均增加值 = 工业增加值 ÷ 用地面积, 汇总数均为和比 "
                                          f"(Σ分子 ÷ Σ分母); 排名比较只含企业不少于 {MIN_FIRMS} 家的地区和行业; "
                                          "图表与表格数字取自同一评价批次的存储结果 (mujun_results, mujun_rollups)。") if zh
         else ("Tax per mu = tax paid ÷ land used; value added per mu = value added ÷ land used; totals are sums "
               f"over sums; rankings include only areas and industries with at least {MIN_FIRMS} firms; every "
               "chart and table reads the stored results of this run (mujun_results, mujun_rollups).")),
    ]
    for i, caveat in enumerate(run["policy_caveats"], 1):
        methods.append((f"注意事项 {i}" if zh else f"Caveat {i}", caveat))
    methods.append(("生成" if zh else "Generated", f"{words['generated']} · {dt.datetime.now():%Y-%m-%d %H:%M}"))
    day = day or dt.date.today()
    stem = (f"{region_d['name']}{year}年度亩均效益综合评价专报" if zh else
            f"mujun-briefing-{region_d['adcode']}-{year}-en")
    return Briefing(lang, title, issuer or _issuer(region_d, lang), _date_text(day, lang), region_d, summary,
                    sections, methods, f, stem, tables)


# ---- formats ---------------------------------------------------------------------------------

def render(store: Store, run_id: str, region: str | None, fmt: str, lang: str = "zh", *,
           issuer: str | None = None, day: dt.date | None = None,
           progress: Progress | None = None) -> tuple[bytes, str, str]:
    """The briefing as (content, file name, media type); ``fmt`` is pdf, docx or xlsx."""
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in FORMATS:
        raise ShanhaiError(f"--format {fmt}: expected pdf, docx or xlsx")
    step = progress or (lambda label, fraction: None)
    b = build(store, run_id, region, lang, issuer=issuer, day=day, charts=fmt != "xlsx", progress=step)
    step("排版 typesetting", 0.7)
    if fmt == "pdf":
        data = to_pdf(b)
    elif fmt == "docx":
        data = to_docx(b)
    else:
        data = to_xlsx(b, store)
    step("完成 done", 1.0)
    return data, f"{b.file_stem}.{fmt}", FORMATS[fmt]


def _html(b: Briefing) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("shanhai.reports", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]))
    return env.get_template("briefing.html").render(b=b, words=L[b.lang], Table=Table, Figure=Figure)


def to_pdf(b: Briefing) -> bytes:
    from weasyprint import HTML

    return HTML(string=_html(b)).write_pdf()


__all__ = ["Briefing", "FORMATS", "build", "gather", "render", "sentences"]


# ---- Word ------------------------------------------------------------------------------------

SERIF, SANS = "Noto Serif CJK SC", "Noto Sans CJK SC"


def _fonts(run, family: str, size: float | None = None, bold: bool | None = None, colour=None) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    run.font.name = family
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(key), family)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = RGBColor(*colour)


def _field(paragraph, code: str) -> None:
    """A Word field (PAGE, NUMPAGES) as begin / instruction / separate / result / end runs."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def char(kind):
        r = paragraph.add_run()
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        r._element.append(el)
        _fonts(r, SANS, 9)

    char("begin")
    r = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {code} "
    r._element.append(instr)
    char("separate")
    _fonts(paragraph.add_run("1"), SANS, 9)
    char("end")


def _shade(cell, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tcpr = cell._element.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _repeat_header(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def to_docx(b: Briefing) -> bytes:
    """The briefing as a Word document: the same sections, tables and images as the PDF, page
    numbers in the footer (PAGE and NUMPAGES fields)."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Cm(2.5), Cm(2.2), Cm(2), Cm(2)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(11)
    _fonts(normal, SERIF)
    for name in ("Heading 1", "Heading 2", "Title"):
        style = doc.styles[name]
        _fonts(style, SANS, bold=True, colour=(0x1a, 0x1a, 0x1a))
    doc.styles["Heading 1"].font.size = Pt(13)
    doc.core_properties.title = b.title
    doc.core_properties.author = b.issuer
    doc.core_properties.comments = f"run {b.facts['run']['run_id']}"
    doc.core_properties.subject = b.region["name"]

    p = doc.add_paragraph()
    _fonts(p.add_run(L[b.lang]["confidential"]), SANS, 9, colour=(0xc0, 0, 0))
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(p.add_run(b.issuer), SANS, 22, True, (0xc0, 0, 0))
    p = doc.add_paragraph()
    _fonts(p.add_run("━" * 26), SANS, 11, colour=(0xc0, 0, 0))
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title = doc.add_heading(level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(title.add_run(b.title), SANS, 17, True, (0x1a, 0x1a, 0x1a))
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(p.add_run(f"{b.issuer} · {b.date}"), SANS, 10, colour=(0x44, 0x44, 0x44))

    for section in b.sections:
        doc.add_heading(section.title, level=1)
        for item in section.items:
            if isinstance(item, str):
                p = doc.add_paragraph()
                if b.lang == "zh":
                    p.paragraph_format.first_line_indent = Pt(22)
                _fonts(p.add_run(item), SERIF, 11)
            elif isinstance(item, Table):
                _docx_table(doc, item, b.lang)
            else:
                doc.add_picture(io.BytesIO(item.png), width=Cm(item.width_cm))
                doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
                cap = doc.add_paragraph()
                cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
                _fonts(cap.add_run(item.title), SANS, 9)
    doc.add_heading(L[b.lang]["methods"], level=1)
    t = doc.add_table(rows=0, cols=2)
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for key, value in b.methods:
        cells = t.add_row().cells
        cells[0].width, cells[1].width = Cm(4), Cm(13)
        _shade(cells[0], "F2F2F2")
        _fonts(cells[0].paragraphs[0].add_run(key), SANS, 8.5, True)
        _fonts(cells[1].paragraphs[0].add_run(value), SANS, 8.5)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _fonts(p.add_run(f"{b.issuer}\n{b.date}"), SANS, 10)

    footer = sec.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    before, middle, after = ("第 ", " 页 共 ", " 页") if b.lang == "zh" else ("Page ", " of ", "")
    _fonts(footer.add_run(before), SANS, 9)
    _field(footer, "PAGE")
    _fonts(footer.add_run(middle), SANS, 9)
    _field(footer, "NUMPAGES")
    if after:
        _fonts(footer.add_run(after), SANS, 9)
    header = sec.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _fonts(header.add_run(b.title), SANS, 8, colour=(0x88, 0x88, 0x88))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _docx_table(doc, t: Table, lang: str) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    cap = doc.add_paragraph()
    cap.paragraph_format.space_before = Pt(6)
    cap.paragraph_format.keep_with_next = True
    _fonts(cap.add_run(t.title), SANS, 9.5, True)
    table = doc.add_table(rows=1, cols=len(t.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    size = 7.5 if len(t.columns) > 8 else 8.5
    head = table.rows[0]
    _repeat_header(head)
    for cell, (header, _) in zip(head.cells, t.columns, strict=True):
        _shade(cell, "E8EEF6")
        para = cell.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _fonts(para.add_run(header), SANS, size, True)
    for values in t.text_rows():
        cells = table.add_row().cells
        for cell, value, (_, kind) in zip(cells, values, t.columns, strict=True):
            para = cell.paragraphs[0]
            para.alignment = (WD_ALIGN_PARAGRAPH.LEFT if kind == "text" else WD_ALIGN_PARAGRAPH.CENTER
                              if kind == "code" else WD_ALIGN_PARAGRAPH.RIGHT)
            _fonts(para.add_run(value), SANS, size)
    if t.note:
        p = doc.add_paragraph()
        _fonts(p.add_run(t.note), SANS, 8, colour=(0x55, 0x55, 0x55))


# ---- Excel -----------------------------------------------------------------------------------

XLSX_SHEETS = {"zh": {"summary": "专报摘要", "methods": "方法与来源"},
               "en": {"summary": "Summary", "methods": "Method and sources"}}


def to_xlsx(b: Briefing, store: Store) -> bytes:
    """The briefing as a workbook: a summary sheet (title block and the summary's sentences), one
    sheet per table (the C/D list in full), the method note; for a county, the county workbook's
    sheets (``reports.mujun_excel``: 汇总, 企业明细, 基准值, 整改名单, 低效用地, 说明) follow."""
    from shanhai.reports._safe import workbook as safe_workbook

    from shanhai.reports import mujun_excel as mx

    buf = io.BytesIO()
    wb = safe_workbook(buf, {"in_memory": True})
    wb.set_properties({"title": b.title, "author": b.issuer, "comments": f"run {b.facts['run']['run_id']}"})
    f = mx._Formats(wb)
    wrap = wb.add_format({"font_name": "宋体", "font_size": 11, "text_wrap": True, "valign": "top"})
    names = XLSX_SHEETS[b.lang]
    taken: set[str] = set()
    ws = wb.add_worksheet(mx._sheet_name(names["summary"], taken))
    ws.set_column(0, 0, 110)
    ws.write_string(0, 0, b.issuer, f.subtitle)
    ws.write_string(1, 0, b.title, f.title)
    ws.set_row(1, 30)
    ws.write_string(2, 0, f"{b.date} · {b.facts['run']['run_id']}", f.footer)
    for i, text in enumerate(b.summary, 4):
        ws.write_string(i, 0, text, wrap)
        ws.set_row(i, 15 * max(2, math.ceil(len(text) / (55 if b.lang == "zh" else 100)) + 1))
    mx._print_setup(ws, 0)
    kinds = {"int": f.count, "num": f.num, "num1": f.num, "pct": f.pct, "spct": f.pct, "code": f.center,
             "text": f.text}
    for t in b.tables.values():
        sheet = wb.add_worksheet(mx._sheet_name(t.title.split(" ", 1)[-1], taken))
        ws_title = t.title
        sheet.merge_range(0, 0, 0, max(len(t.columns) - 1, 1), ws_title, f.title)
        sheet.set_row(0, 28)
        for c, (header, kind) in enumerate(t.columns):
            sheet.write_string(1, c, header, f.header)
            sheet.set_column(c, c, 34 if kind == "text" and c <= 1 else 22 if header in ("统一社会信用代码", "USCC")
                             else 12)
        for r, row in enumerate(t.rows, 2):
            for c, (value, (_, kind)) in enumerate(zip(row, t.columns, strict=True)):
                mx._write(sheet, r, c, value, kinds.get(kind, f.text))
        if t.note:
            sheet.merge_range(len(t.rows) + 3, 0, len(t.rows) + 3, max(len(t.columns) - 1, 1), t.note, f.footer)
        sheet.freeze_panes(2, 0)
        mx._print_setup(sheet, 1)
    ws = wb.add_worksheet(mx._sheet_name(names["methods"], taken))
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 100)
    for i, (key, value) in enumerate(b.methods):
        ws.write_string(i, 0, key, f.key)
        ws.write_string(i, 1, value, f.value)
    mx._print_setup(ws, 0)
    if b.region["level"] == "county":
        from shanhai.policy import INDICATORS

        run_id = b.facts["run"]["run_id"]
        r = review.region_of(store, b.region["adcode"])
        preset = jobs.preset_of(store, run_id)
        summary = jobs.summary_of(store, run_id)
        title = f"{summary.year}年度{r.name}工业企业亩均效益综合评价"
        mx._summary_sheet(wb, f, store, run_id, preset, r, title)
        mx._detail_sheet(wb, f, store, run_id, preset, r, title, INDICATORS)
        mx._benchmark_sheet(wb, f, store, run_id, preset, r, title, INDICATORS)
        mx._remediation_sheet(wb, f, store, run_id, preset, r, title)
        mx._land_sheet(wb, f, store, run_id, preset, r, title)
        mx._notes_sheet(wb, f, store, run_id, preset, summary, r)
    wb.close()
    return buf.getvalue()
