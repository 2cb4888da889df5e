"""Development-zone evaluation (开发区综合评价, 进退档): the indicators of each zone from firm data,
the scores of a method (:class:`shanhai.policy._zones.ZoneMethod`), ranks, tiers and the
bottom-N streak. Pure: :func:`indicator_sql` is the SQL text of the indicators (run by
``jobs.zones`` on the store), :func:`evaluate` scores plain rows.

**Indicators** (one row per zone and year, :data:`shanhai.policy._zones.ZONE_INDICATORS`): sums
over the zone's firms (``enterprises.zone_id``) of that year's ``enterprise_years`` and ratios of
those sums — never means of the firms' ratios; a ratio is NULL when its denominator is zero or
missing, and a ratio of two firm figures sums only the firms that report both. Land is the
zone's industrial parcels supplied by the year's end (``land_basis = "parcels"``: every
``land_parcels`` row of the zone but ``approved_not_supplied``) or the firms' own + leased −
leased-out land (``"enterprise"``). High-tech: the firm's ``high_tech`` flag valid at the
year's end. Exports, FDI and fixed-asset investment come from ``zone_facts``; project investment
is Σ over the zone's projects of the cumulative ``invested`` at the year's end minus that at the
previous year's end.

**Scores.** Within each comparison group (the method's ``comparison.by`` over level, kind, city,
area), each indicator's value ``v`` becomes a score ``s``:

* ``ratio_to_best``:  s = max(v, 0) ÷ best, best = the group's highest value (s = 0 if best ≤ 0);
* ``min_max``:        s = (v − lo) ÷ (hi − lo), or (hi − v) ÷ (hi − lo) for ``lower``; 1 when hi = lo;
* ``ratio_to_target``: s = min(max(v, 0) ÷ target, cap), or min(target ÷ v, cap) for ``lower`` (cap when v ≤ 0);
* missing value: ``zero`` → 0; ``worst`` → the lowest score among the group's zones that report it
  (0 when none does), so a missing value never beats the worst reported one.

points = round(100 × group weight × indicator weight × s, 4); total = Σ points (so the explanation
adds up to the total). rank = 1 + the number of zones of the group with a higher total (ties share
the best rank). Tier: by rank share (a zone with r − 1 zones ahead of it out of n is in the first
tier whose cumulative share s has r − 1 < s·n, in exact fractions) or by score (the first tier
whose ``min_score`` the total reaches); with ``max_step`` > 0 the tier may move at most that many
steps from the previous year's tier (进档 up, 退档 down). Bottom N: a zone of a group larger than
N whose rank is above size − N; its streak is the previous year's streak + 1 (if the previous
year's run had it in the bottom too), and its action the last stage whose ``years`` the streak
reaches.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from shanhai.policy._zones import ZONE_INDICATORS, ZoneMethod

MISSING_LABELS = {"zero": ("缺失计0分", "missing scores 0"),
                  "worst": ("缺失按组内最低分", "missing scores the group's lowest")}
TRANSFORM_LABELS = {"ratio_to_best": ("与组内最优值之比", "ratio to the group's best"),
                    "min_max": ("组内线性插值", "linear between the group's lowest and highest"),
                    "ratio_to_target": ("目标完成度", "ratio to the target")}
CHANGE_LABELS = {"up": ("进档", "moved up"), "down": ("退档", "moved down"), "same": ("保持", "unchanged"),
                 "new": ("首次", "first year")}
ACTION_LABELS = {"warning": ("约谈通报", "warning"), "rectify": ("限期整改", "rectify"),
                 "downgrade": ("降级", "downgrade"), "delist": ("摘牌撤销", "delist")}
GROUP_BY_LABELS = {"level": ("级别", "level"), "kind": ("类型", "kind"), "city": ("设区市", "city"),
                   "area": ("片区", "area")}
LEVEL_LABELS = {"national": ("国家级", "national"), "provincial": ("省级", "provincial"), "other": ("其他", "other")}
KIND_LABELS = {"economic_development": ("经济开发区", "economic development"), "high_tech": ("高新区", "high-tech"),
               "industrial_park": ("产业园区", "industrial park"), "other": ("其他", "other")}


def _date(year: int) -> str:
    return f"DATE '{int(year):04d}-12-31'"


def _ratio(num: str, den: str) -> str:
    return f"CASE WHEN ({den}) > 0 THEN CAST({num} AS DOUBLE) / CAST({den} AS DOUBLE) END"


def indicator_sql(year: int, land_basis: str = "parcels") -> str:
    """SQL giving one row per zone: its attributes (zone_id, zone_name, county_adcode, city_adcode,
    level, kind), ``firms`` and every catalogue indicator for ``year`` (module docstring)."""
    year = int(year)
    end, prev_end = _date(year), _date(year - 1)
    if land_basis not in ("parcels", "enterprise"):
        raise ValueError(f"land_basis {land_basis!r}: expected parcels or enterprise")
    land = "p.land_supplied" if land_basis == "parcels" else "a.land_used"
    both = "value_added IS NOT NULL AND {0} IS NOT NULL"
    return f"""
WITH fy AS (
    SELECT e.zone_id, y.*, (h.uscc IS NOT NULL) AS is_high_tech
    FROM enterprise_years y
    JOIN enterprises e ON e.uscc = y.uscc
    LEFT JOIN (SELECT DISTINCT uscc FROM enterprise_flags
               WHERE flag = 'high_tech' AND valid_from <= {end} AND (valid_to IS NULL OR valid_to >= {end})) h
           ON h.uscc = y.uscc
    WHERE y.year = {year} AND e.zone_id IS NOT NULL
), a AS (
    SELECT zone_id, count(*) AS firms,
           sum(value_added) AS va, sum(tax_paid) AS tax, sum(revenue) AS revenue,
           count(*) FILTER (WHERE above_scale) AS above_scale_firms,
           sum(value_added) FILTER (WHERE {both.format('headcount')}) AS va_h,
           sum(headcount) FILTER (WHERE {both.format('headcount')}) AS hc,
           sum(value_added) FILTER (WHERE {both.format('energy_tce')}) AS va_e,
           sum(energy_tce) FILTER (WHERE {both.format('energy_tce')}) AS energy,
           sum(profit) FILTER (WHERE profit IS NOT NULL AND revenue IS NOT NULL) AS profit_p,
           sum(revenue) FILTER (WHERE profit IS NOT NULL AND revenue IS NOT NULL) AS revenue_p,
           sum(rd_spending) FILTER (WHERE rd_spending IS NOT NULL AND main_revenue IS NOT NULL) AS rd,
           sum(main_revenue) FILTER (WHERE rd_spending IS NOT NULL AND main_revenue IS NOT NULL) AS main_revenue_r,
           coalesce(sum(value_added) FILTER (WHERE is_high_tech), 0) AS va_ht,
           count(*) FILTER (WHERE is_high_tech) AS high_tech_firms,
           sum(coalesce(land_own_mu, 0) + coalesce(land_leased_mu, 0) - coalesce(land_leased_out_mu, 0)) AS land_used
    FROM fy GROUP BY zone_id
), prev AS (
    SELECT e.zone_id, sum(y.value_added) AS va, sum(y.tax_paid) AS tax
    FROM enterprise_years y JOIN enterprises e ON e.uscc = y.uscc
    WHERE y.year = {year - 1} AND e.zone_id IS NOT NULL GROUP BY e.zone_id
), p AS (
    SELECT zone_id,
           sum(area_mu) FILTER (WHERE land_use_status <> 'approved_not_supplied'
                                AND (supplied_on IS NULL OR supplied_on <= {end})) AS land_supplied,
           coalesce(sum(area_mu) FILTER (WHERE land_use_status NOT IN ('in_use', 'approved_not_supplied')
                                AND (supplied_on IS NULL OR supplied_on <= {end})), 0) AS land_idle
    FROM land_parcels WHERE zone_id IS NOT NULL GROUP BY zone_id
), pe AS (
    SELECT pr.zone_id, pr.project_id,
           coalesce(max(ev.invested) FILTER (WHERE ev.event_date <= {end}), 0)
           - coalesce(max(ev.invested) FILTER (WHERE ev.event_date <= {prev_end}), 0) AS invested
    FROM projects pr LEFT JOIN project_events ev ON ev.project_id = pr.project_id
    WHERE pr.zone_id IS NOT NULL GROUP BY pr.zone_id, pr.project_id
), pj AS (
    SELECT zone_id, sum(invested) AS project_investment FROM pe GROUP BY zone_id
)
SELECT z.zone_id, z.name AS zone_name, z.county_adcode, r.city_adcode, z.level, z.kind,
       coalesce(a.firms, 0) AS firms,
       CAST(a.va AS DOUBLE) AS value_added,
       CAST(a.tax AS DOUBLE) AS tax_paid,
       CAST(a.revenue AS DOUBLE) AS revenue,
       CAST(a.above_scale_firms AS DOUBLE) AS above_scale_firms,
       {_ratio('a.va', land)} AS value_added_per_mu,
       {_ratio('a.tax', land)} AS tax_per_mu,
       {_ratio('a.va_h', 'a.hc')} AS labour_productivity,
       {_ratio('a.va_e', 'a.energy')} AS value_added_per_energy,
       {_ratio('a.profit_p', 'a.revenue_p')} AS profit_margin,
       {_ratio('p.land_idle', 'p.land_supplied')} AS idle_land_share,
       {_ratio('a.rd', 'a.main_revenue_r')} AS rd_intensity,
       {_ratio('a.va_ht', 'a.va')} AS high_tech_share,
       CAST(a.high_tech_firms AS DOUBLE) AS high_tech_firms,
       CAST(f.exports AS DOUBLE) AS exports,
       {_ratio('f.exports', 'a.revenue')} AS export_share,
       CAST(f.actual_fdi AS DOUBLE) AS actual_fdi,
       CAST(f.fixed_asset_investment AS DOUBLE) AS fixed_asset_investment,
       CAST(pj.project_investment AS DOUBLE) AS project_investment,
       CASE WHEN prev.va > 0 THEN CAST(a.va AS DOUBLE) / CAST(prev.va AS DOUBLE) - 1 END AS value_added_growth,
       CASE WHEN prev.tax > 0 THEN CAST(a.tax AS DOUBLE) / CAST(prev.tax AS DOUBLE) - 1 END AS tax_growth,
       CAST({land} AS DOUBLE) AS land_mu
FROM zones z
LEFT JOIN regions r ON r.adcode = z.county_adcode
LEFT JOIN a ON a.zone_id = z.zone_id
LEFT JOIN prev ON prev.zone_id = z.zone_id
LEFT JOIN p ON p.zone_id = z.zone_id
LEFT JOIN pj ON pj.zone_id = z.zone_id
LEFT JOIN zone_facts f ON f.zone_id = z.zone_id AND f.year = {year}
ORDER BY z.zone_id"""


# ---- scoring --------------------------------------------------------------------------------------

def covered(method: ZoneMethod, zone: dict) -> bool:
    """Whether the method evaluates the zone (its level, kind and city)."""
    c = method.covers
    city = (zone.get("city_adcode") or "")[:4]
    return zone["level"] in c.levels and zone["kind"] in c.kinds and (not c.cities or city in c.cities)


def group_key(method: ZoneMethod, zone: dict) -> str:
    """The comparison group of a zone, e.g. ``area=northeast`` or ``level=national;kind=high_tech``;
    ``all`` when the method compares every zone it covers together."""
    parts = []
    for field in method.comparison.by:
        if field == "city":
            value = (zone.get("city_adcode") or "")[:4]
        elif field == "area":
            value = method.comparison.area_of((zone.get("city_adcode") or "")[:4]) or "none"
        else:
            value = zone[field]
        parts.append(f"{field}={value}")
    return ";".join(parts) or "all"


def group_label(method: ZoneMethod, key: str, names: dict[str, str] | None = None, lang: str = "zh") -> str:
    """A group key in words: 东北片, 国家级·经济开发区, 杭州市 …"""
    if key == "all":
        return "全部" if lang == "zh" else "all"
    out = []
    for part in key.split(";"):
        field, value = part.split("=", 1)
        i = 0 if lang == "zh" else 1
        if field == "area":
            area = next((a for a in method.comparison.areas if a.id == value), None)
            label = value if area is None else (area.display_name_en or area.display_name if i else area.display_name)
        elif field == "level":
            label = LEVEL_LABELS.get(value, (value, value))[i]
        elif field == "kind":
            label = KIND_LABELS.get(value, (value, value))[i]
        else:
            label = (names or {}).get(value + "00", value)
        out.append(label)
    return "·".join(out)


def transform(rule, value: float | None, refs: dict) -> float | None:
    """The 0–1 score (up to the cap for ratio_to_target) of a reported value; None when missing."""
    if value is None:
        return None
    if rule.transform == "ratio_to_best":
        best = refs["high"]
        return 0.0 if best is None or best <= 0 else max(value, 0.0) / best
    if rule.transform == "min_max":
        lo, hi = refs["low"], refs["high"]
        if hi == lo:
            return 1.0
        return (value - lo) / (hi - lo) if rule.direction == "higher" else (hi - value) / (hi - lo)
    target = rule.target
    if rule.direction == "higher":
        return min(max(value, 0.0) / target, rule.cap)
    return rule.cap if value <= 0 else min(target / value, rule.cap)


def references(rule, values: list[float]) -> dict:
    """What a transform compares with: the group's lowest and highest (best) value, or the target."""
    if rule.transform == "ratio_to_target":
        return {"low": rule.target, "high": None}
    if not values:
        return {"low": None, "high": None}
    return {"low": min(values), "high": max(values)}


def tier_by_rank(method: ZoneMethod, rank: int, n: int) -> int:
    """Index of the tier of rank ``rank`` out of ``n`` by the rank-share rule (exact fractions)."""
    cumulative = Fraction(0)
    levels = method.tiers.levels
    for i, t in enumerate(levels[:-1]):
        cumulative += Fraction(str(t.share))
        if rank - 1 < cumulative * n:
            return i
    return len(levels) - 1


def tier_by_score(method: ZoneMethod, total: float) -> int:
    levels = method.tiers.levels
    for i, t in enumerate(levels[:-1]):
        if total >= t.min_score - 1e-9:
            return i
    return len(levels) - 1


def evaluate(method: ZoneMethod, zones: list[dict], previous: dict[str, dict] | None = None
             ) -> tuple[list[dict], list[dict]]:
    """Score the zones the method covers (module docstring). ``zones``: rows of
    :func:`indicator_sql`; ``previous``: zone_id → the previous year's ``tier``, ``bottom`` and
    ``bottom_streak`` (and ``run_id``). Returns (results, scores): one result per zone, one score
    row per zone and indicator; both sorted (group, rank, zone_id) and (zone_id, indicator)."""
    previous = previous or {}
    groups: dict[str, list[dict]] = defaultdict(list)
    for z in zones:
        if covered(method, z):
            groups[group_key(method, z)].append(z)
    results: list[dict] = []
    scores: list[dict] = []
    tier_ids = method.tier_ids()
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda z: z["zone_id"])
        totals = {z["zone_id"]: 0.0 for z in members}
        for g, rule in method.rules():
            reported = [z[rule.id] for z in members if z.get(rule.id) is not None]
            refs = references(rule, reported)
            got = {z["zone_id"]: transform(rule, z.get(rule.id), refs) for z in members}
            seen = [s for s in got.values() if s is not None]
            rule_missing = method.missing_rule(rule)
            fill = 0.0 if rule_missing == "zero" or not seen else min(seen)
            for z in members:
                s = got[z["zone_id"]]
                missing = None if s is not None else rule_missing
                s = fill if s is None else s
                points = round(100.0 * g.weight * rule.weight * s, 4)
                totals[z["zone_id"]] += points
                scores.append({"zone_id": z["zone_id"], "indicator": rule.id, "group_id": g.id,
                               "value": z.get(rule.id), "ref_low": refs["low"], "ref_high": refs["high"],
                               "score": s, "points": points, "missing": missing})
        n = len(members)
        final = {zid: round(t, 4) for zid, t in totals.items()}
        for z in members:
            zid = z["zone_id"]
            total = final[zid]
            rank = 1 + sum(1 for other in final.values() if other > total)
            idx = tier_by_rank(method, rank, n) if method.tiers.basis == "rank_share" else tier_by_score(method, total)
            prev = previous.get(zid) or {}
            prev_tier = prev.get("tier") if prev.get("tier") in tier_ids else None
            tier_idx = idx
            if prev_tier is not None and method.tiers.max_step:
                p = tier_ids.index(prev_tier)
                tier_idx = min(max(idx, p - method.tiers.max_step), p + method.tiers.max_step)
            if prev_tier is None:
                change = "new"
            else:
                p = tier_ids.index(prev_tier)
                change = "up" if tier_idx < p else "down" if tier_idx > p else "same"
            bottom = n > method.bottom.n and rank > n - method.bottom.n
            streak = (int(prev.get("bottom_streak") or 0) if prev.get("bottom") else 0) + 1 if bottom else 0
            action = None
            for stage in method.bottom.stages:
                if streak >= stage.years:
                    action = stage.action
            results.append({
                "zone_id": zid, "zone_name": z["zone_name"], "county_adcode": z["county_adcode"],
                "city_adcode": z.get("city_adcode"), "level": z["level"], "kind": z["kind"],
                "comparison_group": key, "firms": int(z.get("firms") or 0), "total_score": total, "rank": rank,
                "group_size": n, "score_tier": tier_ids[idx], "tier": tier_ids[tier_idx],
                "previous_run_id": prev.get("run_id"), "previous_tier": prev_tier, "tier_change": change,
                "bottom": bottom, "bottom_streak": streak, "action": action})
    results.sort(key=lambda r: (r["comparison_group"], r["rank"], r["zone_id"]))
    scores.sort(key=lambda s: (s["zone_id"], s["indicator"]))
    return results, scores


def explain(method: ZoneMethod, result: dict, scores: list[dict]) -> list[dict]:
    """One zone's explanation: per indicator the value, what it was compared with, the score, the
    weight and the points, in the method's order; the points add up to ``result['total_score']``."""
    by_id = {s["indicator"]: s for s in scores}
    out = []
    for g, rule in method.rules():
        s = by_id.get(rule.id)
        if s is None:
            continue
        d = ZONE_INDICATORS[rule.id]
        out.append({**s, "group_name": g.display_name, "group_name_en": g.display_name_en or g.display_name,
                    "group_weight": g.weight, "weight": rule.weight,
                    "max_points": round(100 * g.weight * rule.weight * (rule.cap if rule.transform == "ratio_to_target"
                                                                        else 1.0), 4),
                    "label": d.zh, "label_en": d.en, "unit": d.unit, "formula": d.formula,
                    "transform": rule.transform, "direction": rule.direction, "target": rule.target,
                    "transform_label": TRANSFORM_LABELS[rule.transform][0],
                    "transform_label_en": TRANSFORM_LABELS[rule.transform][1]})
    return out
