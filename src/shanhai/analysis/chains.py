"""Industrial chains: the panorama (全景图), attraction targets (招商图) and chain risk.

Two stages. The heavy one is Ibis (any backend): ``members`` gives one row per firm and chain
segment with the year's facts, the year before and the firm's per-mu class from a run;
``segment_cells`` sums them per unit (county or zone) and segment, carrying Σ revenue² and the
largest revenue so that concentration rolls up exactly; ``unit_totals`` is all manufacturing per
unit (the location quotient's denominator). The light stage is plain Python over at most a few
thousand cells: ``rollup`` sums the cells of the units a region covers, ``panorama`` adds shares,
location quotients and the status from a rule set (``policy.chain_rules``), ``score_target``
scores an outside firm for a weak or missing segment, ``chain_risk`` turns concentration and the
leaders' condition into a health score whose penalties add up to 100 − health.

Formulas (value added VA, revenue R, region r, province P, segment s):
- location quotient LQ = (VA_rs / VA_r) / (VA_Ps / VA_P); NULL when a denominator is 0.
- share of the province = VA_rs / VA_Ps.
- HHI = Σ_firms R_i² / (Σ_firms R_i)²; top-1 share = max R_i / Σ R_i.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from shanhai.analysis.formulas import calc_land_used
from shanhai.policy import ChainRules

CLASSES = ("A", "B", "C", "D")
STATUSES = ("strong", "present", "weak", "missing", "outside")  # outside: a non-manufacturing segment with no firm
SUM_FIELDS = ("firms", "above", "leaders", "revenue", "value_added", "tax_paid", "headcount", "land",
              "tax_on_land", "va_on_land", "revenue_prev", "revenue_both", "revenue_sq",
              *(f"class_{c}" for c in CLASSES))


def members(con: BaseBackend, year: int, run_id: str | None = None) -> ir.Table:
    """One row per (firm, segment) for firms with data in ``year``: the firm's county, zone, role,
    facts, revenue the year before and class in the per-mu run ``run_id`` (NULL without one).
    Rows with role ``excluded`` (an analyst removed the firm from the segment) are left out."""
    es = con.table("enterprise_segments")
    es = es.filter(es.role != "excluded").select("uscc", "segment_id", "role")
    segments = con.table("chain_segments").select("segment_id", "chain_id")
    firms = con.table("enterprises").select("uscc", "name", "county_adcode", "zone_id")
    ey = con.table("enterprise_years")
    now = ey.filter(ey.year == year)
    now = now.select("uscc", "above_scale", revenue=now.revenue.cast("float64"),
                     value_added=now.value_added.cast("float64"), tax_paid=now.tax_paid.cast("float64"),
                     headcount=now.headcount, land=calc_land_used(now))
    before = ey.filter(ey.year == year - 1)
    before = before.select(uscc_prev=before.uscc, revenue_prev=before.revenue.cast("float64"))
    t = es.join(segments, "segment_id").join(firms, "uscc").join(now, "uscc")
    t = t.left_join(before, t.uscc == before.uscc_prev).drop("uscc_prev")
    if run_id is not None:
        scores = con.table("mujun_scores")
        scores = scores.filter(scores.run_id == run_id).select(uscc_run=scores.uscc, mujun_class=scores["class"])
        t = t.left_join(scores, t.uscc == scores.uscc_run).drop("uscc_run")
    else:
        t = t.mutate(mujun_class=ibis.null("string"))
    return t


def segment_cells(t: ir.Table, by: str = "county_adcode") -> ir.Table:
    """Σ per (``by``, segment) of the rows of ``members``; the fields of ``SUM_FIELDS`` plus the
    largest revenue (``revenue_max``)."""
    t = t.filter(t[by].notnull())
    has_land = t.land > 0
    both = t.revenue_prev.notnull() & t.revenue.notnull()
    return t.group_by([t[by].name("unit"), "chain_id", "segment_id"]).aggregate(
        firms=t.count(),
        above=t.above_scale.cast("int64").sum(),
        leaders=(t.role == "chain_leader").cast("int64").sum(),
        revenue=t.revenue.sum(),
        value_added=t.value_added.sum(),
        tax_paid=t.tax_paid.sum(),
        headcount=t.headcount.sum(),
        land=ibis.ifelse(has_land, t.land, 0.0).sum(),
        tax_on_land=ibis.ifelse(has_land, t.tax_paid.fill_null(0), 0.0).sum(),
        va_on_land=ibis.ifelse(has_land, t.value_added.fill_null(0), 0.0).sum(),
        revenue_prev=ibis.ifelse(both, t.revenue_prev, 0.0).sum(),
        revenue_both=ibis.ifelse(both, t.revenue, 0.0).sum(),
        revenue_sq=(t.revenue.fill_null(0) * t.revenue.fill_null(0)).sum(),
        revenue_max=t.revenue.max(),
        **{f"class_{c}": (t.mujun_class == c).cast("int64").sum() for c in CLASSES},
    )


def unit_totals(con: BaseBackend, year: int, by: str = "county_adcode") -> ir.Table:
    """All manufacturing per unit: value added and firms with data in ``year``."""
    ey = con.table("enterprise_years")
    firms = con.table("enterprises").select("uscc", "county_adcode", "zone_id")
    t = ey.filter(ey.year == year).join(firms, "uscc")
    t = t.filter(t[by].notnull())
    return t.group_by(t[by].name("unit")).aggregate(value_added=t.value_added.sum().cast("float64"),
                                                    firms=t.count())


def leader_electricity(con: BaseBackend, year: int) -> ir.Table:
    """Chain leaders' electricity in October–December of ``year`` and of the year before."""
    es = con.table("enterprise_segments")
    leaders = es.filter(es.role == "chain_leader").select("uscc").distinct()
    em = con.table("electricity_monthly")
    month = em.month.month()
    em = em.filter((month >= 10) & (em.month.year().isin([year, year - 1])))
    em = em.join(leaders, "uscc")
    this = em.month.year() == year
    return em.group_by("uscc").aggregate(
        kwh_now=ibis.ifelse(this, em.kwh, ibis.null("float64")).sum(),
        kwh_before=ibis.ifelse(~this, em.kwh, ibis.null("float64")).sum(),
    )


# ---- the light stage: plain Python over cells ---------------------------------------------------

def _ratio(a, b):
    return None if a is None or b is None or not b or b <= 0 else a / b


def rollup(cells: Iterable[dict], units: set[str] | None) -> dict[str, dict]:
    """Σ of the cells whose unit is in ``units`` (None: every unit), per segment."""
    out: dict[str, dict] = {}
    for cell in cells:
        if units is not None and cell["unit"] not in units:
            continue
        acc = out.get(cell["segment_id"])
        if acc is None:
            acc = out[cell["segment_id"]] = {k: 0 for k in SUM_FIELDS}
            acc["revenue_max"] = None
        for k in SUM_FIELDS:
            acc[k] += cell[k] or 0
        m = cell.get("revenue_max")
        if m is not None and (acc["revenue_max"] is None or m > acc["revenue_max"]):
            acc["revenue_max"] = m
    return out


@dataclass
class SegmentView:
    segment_id: str
    name: str
    stage: str
    parent_segment_id: str | None
    firms: int = 0
    above: int = 0
    leaders: int = 0
    revenue: float = 0.0
    value_added: float = 0.0
    tax_paid: float = 0.0
    tax_per_mu: float | None = None
    value_added_per_mu: float | None = None
    revenue_growth: float | None = None
    share: float | None = None
    lq: float | None = None
    hhi: float | None = None
    top1_share: float | None = None
    classes: dict[str, int] = field(default_factory=dict)
    status: str = "missing"
    status_rule: int | None = None


def segment_view(segment, cell: dict | None, province_cell: dict | None, region_va: float | None,
                 province_va: float | None, rules: ChainRules) -> SegmentView:
    """One segment of a panorama: the region's cell beside the province's, with its status."""
    view = SegmentView(segment_id=segment.segment_id, name=segment.name, stage=segment.stage,
                       parent_segment_id=getattr(segment, "parent_segment_id", None))
    c = cell or {k: 0 for k in SUM_FIELDS} | {"revenue_max": None}
    view.firms, view.above, view.leaders = int(c["firms"]), int(c["above"]), int(c["leaders"])
    view.revenue, view.value_added, view.tax_paid = c["revenue"] or 0.0, c["value_added"] or 0.0, c["tax_paid"] or 0.0
    view.tax_per_mu = _ratio(c["tax_on_land"], c["land"])
    view.value_added_per_mu = _ratio(c["va_on_land"], c["land"])
    growth = _ratio(c["revenue_both"], c["revenue_prev"])
    view.revenue_growth = None if growth is None else growth - 1
    p = province_cell or {}
    view.share = _ratio(view.value_added, p.get("value_added")) if view.firms else 0.0
    seg_share = _ratio(view.value_added, region_va)
    prov_share = _ratio(p.get("value_added"), province_va)
    view.lq = _ratio(seg_share, prov_share) if view.firms else 0.0
    if view.revenue > 0:
        view.hhi = c["revenue_sq"] / (view.revenue * view.revenue)
        view.top1_share = (c["revenue_max"] or 0) / view.revenue
    view.classes = {k: int(c[f"class_{k}"]) for k in CLASSES}
    if not view.firms and not getattr(segment, "codes", ("?",)):
        # a segment outside manufacturing (trade, services) that no firm joined by keyword or by
        # hand: the register cannot say whether the region has it
        view.status, view.status_rule = "outside", None
        return view
    view.status, view.status_rule = rules.status_of(
        {"firms": view.firms, "above": view.above, "lq": view.lq, "share": view.share, "leaders": view.leaders})
    return view


# ---- attraction targets ------------------------------------------------------------------------

def candidates(t: ir.Table, segment_ids: list[str], outside_units: list[str], by: str, per_segment: int,
               above_scale_only: bool) -> ir.Table:
    """Firms of ``segment_ids`` outside ``outside_units``: the ``per_segment`` largest by revenue
    per segment, with their revenue percentile among all the segment's firms in the province."""
    t = t.filter(t.segment_id.isin(segment_ids))
    t = t.mutate(size_pct=ibis.percent_rank().over(group_by=t.segment_id, order_by=t.revenue.fill_null(0)))
    t = t.filter(~t[by].isin(outside_units) if outside_units else ibis.literal(True))
    if above_scale_only:
        t = t.filter(t.above_scale)
    t = t.mutate(place=ibis.row_number().over(group_by=t.segment_id,
                                              order_by=[t.revenue.fill_null(0).desc(), t.uscc]))
    return t.filter(t.place < per_segment).drop("place")


def _clip01(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else x


def score_target(row: dict, segment_status: str, pairing: float, rules: ChainRules) -> tuple[float, dict]:
    """A candidate's score (0–100) and its components: each component's points = 100 × weight ×
    value, and the points add up to the score."""
    cfg = rules.targets
    w = cfg.weights
    fit = 1.0 if segment_status == "missing" else 0.6
    size = float(row.get("size_pct") or 0.0)
    cls = row.get("mujun_class")
    efficiency = cfg.class_points.get(cls or "", cfg.class_points["other"])
    prev, now = row.get("revenue_prev"), row.get("revenue")
    if prev and prev > 0 and now is not None:
        g = now / prev - 1
        growth = _clip01((g - cfg.growth_band.low) / (cfg.growth_band.high - cfg.growth_band.low))
    else:
        g, growth = None, 0.0
    values = {"fit": fit, "size": size, "efficiency": efficiency, "growth": growth, "pairing": pairing}
    points = {k: round(100 * getattr(w, k) * v, 4) for k, v in values.items()}
    return round(sum(points.values()), 4), {"values": values, "points": points, "growth_rate": g}


# ---- chain risk --------------------------------------------------------------------------------

def chain_risk(views: list[SegmentView], leaders: list[dict], rules: ChainRules) -> dict:
    """Penalties and health (100 − Σ capped penalties, floor 0) of one chain in one region.

    ``leaders``: the region's chain leaders with ``mujun_class`` and ``kwh_now``/``kwh_before``."""
    r = rules.risk
    counts = {"missing": 0, "weak": 0, "concentrated": 0, "leader_low_class": 0, "leader_collapse": 0}
    findings: list[dict] = []
    for v in views:
        if v.status in ("missing", "weak"):
            counts[v.status] += 1
        single = v.firms == 1
        concentrated = v.firms > 0 and ((v.hhi or 0) >= r.hhi_concentrated or (v.top1_share or 0) >= r.top1_share)
        if single or concentrated:
            counts["concentrated"] += 1
            findings.append({"kind": "single_firm" if single else "concentrated", "segment_id": v.segment_id,
                             "hhi": v.hhi, "top1_share": v.top1_share, "firms": v.firms})
    for leader in leaders:
        if leader.get("mujun_class") in ("C", "D"):
            counts["leader_low_class"] += 1
            findings.append({"kind": "leader_low_class", "uscc": leader["uscc"], "segment_id": leader["segment_id"],
                             "class": leader["mujun_class"]})
        now, before = leader.get("kwh_now"), leader.get("kwh_before")
        if before and before > 0 and now is not None and now / before < r.electricity_drop:
            counts["leader_collapse"] += 1
            findings.append({"kind": "leader_collapse", "uscc": leader["uscc"], "segment_id": leader["segment_id"],
                             "ratio": now / before})
    penalties = {k: min(getattr(r.caps, k), n * getattr(r.penalties, k)) for k, n in counts.items()}
    health = max(0.0, 100.0 - sum(penalties.values()))
    return {"health": health, "counts": counts, "penalties": penalties, "findings": findings}
