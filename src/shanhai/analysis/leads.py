"""项目流转: which counties can take an investment lead. Plain Python over per-county facts the
jobs layer reads (``jobs.leads``).

Each county other than the lead's finder is scored

    score = 100 × (w_chain·chain + w_lead·lead_industry + w_land·land + w_zone·zone + w_energy·energy)

with the weights of a ranking rule set (``policy.ranking_rules``), every component in [0, 1]:

- chain: the status in the county of the lead's chain segment(s) (those whose codes cover the
  lead's industry; the best of them): strong, present, weak by the rule set's points; missing
  counts as 补链 (``missing``) when the county has other segments of the chain, else ``absent``;
  0 when the lead names no chain.
- lead_industry: the county's first declared lead industry covers the lead's code → ``first``,
  another one → ``other``, one in the same 2-digit division → ``division``, else 0.
- land: min(1, free land ÷ land needed) — free land: the county's parcels in the rule set's
  statuses (批而未供, 供而未用, 建而未投 …); 1 when the lead states no need and land is free.
- zone: min(1, zone capacity ÷ land needed) — capacity: Σ over the county's zones of planned
  area − area of the parcels supplied in them (never below 0).
- energy: r = the lead's energy per value added ÷ the county's (above-scale Σ tce ÷ Σ VA);
  1 at r ≤ good_ratio, 0 at r ≥ bad_ratio, linear between; 0.5 when either is unknown.

A county whose energy limit (tce/万元, the rule set's per-county or default limit) the lead
exceeds is excluded, with the reason, and not scored. Points are rounded to 0.01 and the score is
their sum, so the points add up to the score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shanhai.policy._coop_projects import RankingRules

COMPONENTS = (("chain", "产业链契合", "Chain fit"), ("lead_industry", "主导产业契合", "Lead-industry fit"),
              ("land", "可用土地", "Free land"), ("zone", "平台容量", "Zone capacity"),
              ("energy", "能耗水平", "Energy"))


@dataclass
class CountyFacts:
    adcode: str
    name: str
    city_name: str | None = None
    mountain26: bool = False
    segment_statuses: dict[str, str] = field(default_factory=dict)   # the lead's chain: segment → status
    lead_industries: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)  # (position, name, codes)
    free_land_mu: float = 0.0
    free_parcels: int = 0
    largest_parcel_mu: float = 0.0
    zone_capacity_mu: float = 0.0
    energy_per_va: float | None = None
    paired: bool = False                       # a 山海协作 partner of the finder (shown, not scored)


def _clip(x: float) -> float:
    return max(0.0, min(1.0, x))


def chain_value(lead_segments: list[str], statuses: dict[str, str], rules: RankingRules) -> tuple[float, str | None]:
    """The chain component and the status it came from."""
    if not lead_segments:
        return 0.0, None
    pts = rules.chain_points
    has_chain = any(s not in ("missing", "outside") for s in statuses.values())
    best, which = -1.0, None
    for seg in lead_segments:
        status = statuses.get(seg, "missing")
        if status == "missing":
            value, status = (pts.missing, "missing") if has_chain else (pts.absent, "absent")
        else:
            value = getattr(pts, status, 0.0)
        if value > best:
            best, which = value, status
    return max(best, 0.0), which


def lead_industry_value(code: str | None, lead_industries, rules: RankingRules) -> tuple[float, str | None]:
    if not code or not lead_industries:
        return 0.0, None
    ordered = sorted(lead_industries)
    first = ordered[0][0]
    for position, name, codes in ordered:
        if any(code.startswith(c) for c in codes):
            return (rules.lead_industry.first if position == first else rules.lead_industry.other), name
    for position, name, codes in ordered:
        if any(code[:2] == c[:2] for c in codes):
            return rules.lead_industry.division, name
    return 0.0, None


def energy_value(lead_e: float | None, county_e: float | None, rules: RankingRules) -> float:
    if lead_e is None or not county_e or county_e <= 0:
        return 0.5
    r = lead_e / county_e
    good, bad = rules.energy.good_ratio, rules.energy.bad_ratio
    return _clip((bad - r) / (bad - good))


def score_receiver(lead: dict, lead_segments: list[str], c: CountyFacts, rules: RankingRules) -> dict:
    """One county for one lead: the score, each component's value and points, the reasons, or the
    reason it is excluded."""
    limit = rules.energy.limit(c.adcode)
    e = lead.get("energy_per_va")
    base = {"adcode": c.adcode, "name": c.name, "city_name": c.city_name, "mountain26": c.mountain26,
            "paired": c.paired, "energy_limit": limit, "free_land_mu": c.free_land_mu, "free_parcels": c.free_parcels,
            "largest_parcel_mu": c.largest_parcel_mu, "zone_capacity_mu": c.zone_capacity_mu,
            "county_energy_per_va": c.energy_per_va}
    if e is not None and limit is not None and e > limit:
        return {**base, "excluded": True,
                "reason": f"单位增加值能耗 {e:.3f} 高于准入值 {limit:g} 吨标准煤/万元",
                "reason_en": f"energy per value added {e:.3f} above the limit {limit:g} tce/万元",
                "score": None, "points": {}, "values": {}, "reasons": [], "reasons_en": []}
    need = float(lead["land_mu"]) if lead.get("land_mu") else None
    chain, status = chain_value(lead_segments, c.segment_statuses, rules)
    lead_fit, lead_name = lead_industry_value(lead.get("industry_code"), c.lead_industries, rules)
    land = (_clip(c.free_land_mu / need) if need else (1.0 if c.free_land_mu > 0 else 0.0))
    zone = (_clip(c.zone_capacity_mu / need) if need else (1.0 if c.zone_capacity_mu > 0 else 0.0))
    energy = energy_value(e, c.energy_per_va, rules)
    values = {"chain": chain, "lead_industry": lead_fit, "land": land, "zone": zone, "energy": energy}
    w = rules.weights
    points = {k: round(100 * getattr(w, k) * v, 2) for k, v in values.items()}
    score = round(sum(points.values()), 2)
    status_zh = {"strong": "优势环节", "present": "具备环节", "weak": "薄弱环节（补弱）", "missing": "缺失环节（补链）",
                 "absent": "无该产业链", "outside": "非制造环节"}
    reasons = [f"产业链：{status_zh.get(status, '未关联产业链')} +{points['chain']:.1f}",
               f"主导产业：{lead_name or '不相符'} +{points['lead_industry']:.1f}",
               f"可用土地 {c.free_land_mu:,.0f} 亩（{c.free_parcels} 宗）" + (f"，需 {need:,.0f} 亩" if need else "")
               + f" +{points['land']:.1f}",
               f"平台剩余容量 {c.zone_capacity_mu:,.0f} 亩 +{points['zone']:.1f}",
               "能耗：" + (f"线索 {e:.3f}、本地平均 {c.energy_per_va:.3f} 吨标准煤/万元" if e is not None
                          and c.energy_per_va else "数据不全") + f" +{points['energy']:.1f}"]
    reasons_en = [f"chain: {status or 'no chain'} +{points['chain']:.1f}",
                  f"lead industry: {lead_name or 'no match'} +{points['lead_industry']:.1f}",
                  f"free land {c.free_land_mu:,.0f} mu ({c.free_parcels} parcels)"
                  + (f", {need:,.0f} mu needed" if need else "") + f" +{points['land']:.1f}",
                  f"zone capacity {c.zone_capacity_mu:,.0f} mu +{points['zone']:.1f}",
                  "energy: " + (f"lead {e:.3f}, county {c.energy_per_va:.3f} tce/万元" if e is not None
                                and c.energy_per_va else "incomplete data") + f" +{points['energy']:.1f}"]
    return {**base, "excluded": False, "reason": None, "reason_en": None, "score": score, "points": points,
            "values": values, "chain_status": status, "lead_industry_name": lead_name,
            "reasons": reasons, "reasons_en": reasons_en}


def rank_receivers(lead: dict, lead_segments: list[str], counties: list[CountyFacts],
                   rules: RankingRules) -> tuple[list[dict], list[dict]]:
    """(ranked counties best first with ``rank``, excluded counties with their reasons); the
    lead's finder is not a candidate."""
    scored = [score_receiver(lead, lead_segments, c, rules) for c in counties
              if c.adcode != lead.get("found_by_adcode")]
    ranked = sorted((s for s in scored if not s["excluded"]), key=lambda s: (-s["score"], s["adcode"]))
    for place, s in enumerate(ranked, start=1):
        s["rank"] = place
    excluded = sorted((s for s in scored if s["excluded"]), key=lambda s: s["adcode"])
    return ranked, excluded
