"""The calibration table: what the synthetic province was meant to look like, and what it is.

Every row compares a published (rounded) figure from ``params.toml``'s ``[targets]`` with the
same figure computed from the database, over above-scale firms in the base year unless the row
says otherwise. A row passes within ±10 % of its target, or inside its published range.
Totals scale with ``--scale``; ratios do not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from shanhai import reference
from shanhai.synth.params import params

TOLERANCE = 0.10

# land actually used: own + leased - leased out (亩)
LAND_USED = "coalesce(y.land_own_mu, 0) + coalesce(y.land_leased_mu, 0) - coalesce(y.land_leased_out_mu, 0)"


@dataclass(frozen=True)
class CalibrationRow:
    key: str
    label: str          # Chinese, for the table
    label_en: str
    unit: str
    target: float
    low: float
    high: float
    actual: float | None

    @property
    def ok(self) -> bool:
        return self.actual is not None and self.low <= self.actual <= self.high

    @property
    def difference(self) -> float | None:
        """Relative difference to the target (actual / target - 1)."""
        if self.actual is None or not self.target:
            return None
        return self.actual / self.target - 1

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok, "difference": self.difference}


def _row(key, label, label_en, unit, target, actual, low=None, high=None) -> CalibrationRow:
    low = target * (1 - TOLERANCE) if low is None else low
    high = target * (1 + TOLERANCE) if high is None else high
    return CalibrationRow(key, label, label_en, unit, float(target), float(low), float(high),
                          None if actual is None else float(actual))


def category_label(category: str) -> str:
    """跨越发展类 / 生态发展类, marked 待核实 while the reference split is unverified."""
    return next(c.mountain_category_label for c in reference.mountain_counties() if c.mountain_category == category)


def calibration_table(con, scale: float, base_year: int) -> list[CalibrationRow]:
    T = params()["targets"]
    counts = params()["counts"]
    base = f"""
        SELECT y.*, e.county_adcode, r.mountain26, r.mountain_category, {LAND_USED} AS land_used
        FROM enterprise_years y
        JOIN enterprises e USING (uscc)
        JOIN regions r ON r.adcode = e.county_adcode
    """
    q = lambda sql, *args: con.execute(sql, list(args)).fetchone()  # noqa: E731
    above_n, va, land, tax, head = q(f"""
        SELECT count(*), sum(value_added), sum(land_used), sum(tax_paid), sum(headcount)
        FROM ({base}) y WHERE year = ? AND above_scale""", base_year)
    below_n = q(f"""
        SELECT count(*) FROM ({base}) y WHERE year = ? AND NOT above_scale
          AND (coalesce(land_own_mu, 0) >= 3 OR coalesce(land_leased_mu, 0) > 0)""", base_year)[0]
    m_va, m_land, m_tax, m_head = q(f"""
        SELECT sum(value_added), sum(land_used), sum(tax_paid), sum(headcount)
        FROM ({base}) y WHERE year = ? AND above_scale AND mountain26""", base_year)
    by_category = {
        category: q(f"""SELECT sum(tax_paid) / sum(land_used), sum(value_added) / sum(land_used)
                        FROM ({base}) y WHERE year = ? AND above_scale AND mountain_category = ?""",
                    base_year, category)
        for category in ("leapfrog", "ecological")
    }
    county_va = [r[0] for r in con.execute(f"""
        SELECT coalesce(sum(y.value_added) FILTER (WHERE y.above_scale AND y.year = ?), 0)
        FROM regions r LEFT JOIN ({base}) y ON y.county_adcode = r.adcode
        WHERE r.mountain26 AND r.level = 'county' GROUP BY r.adcode""", [base_year]).fetchall()]
    prev = q(f"""SELECT sum(value_added) / sum(land_used), sum(tax_paid) / sum(land_used)
                 FROM ({base}) y WHERE year = ? AND above_scale""", base_year - 1)
    div = lambda a, b: None if a is None or not b else float(a) / float(b)  # noqa: E731
    yi = 1e4  # 万元 per 亿元
    rows = [
        _row("above_scale_count", "规上工业企业数", "above-scale enterprises", "家",
             counts["above_scale"] * scale, above_n),
        _row("below_scale_evaluated", "规下参评企业数(自有≥3亩或租用)", "below-scale evaluated (own >= 3 mu or leased)", "家",
             counts["below_scale_evaluated"] * scale, below_n),
        _row("value_added", "规上工业增加值", "above-scale value added", "亿元",
             T["value_added_yi"] * scale, div(va, yi)),
        _row("value_added_per_mu", "亩均增加值", "value added per mu", "万元/亩", T["value_added_per_mu"], div(va, land)),
        _row("tax_per_mu", "亩均税收", "tax per mu", "万元/亩", T["tax_per_mu"], div(tax, land)),
        _row("labour_productivity", "全员劳动生产率", "labour productivity", "万元/人", T["labour_productivity"], div(va, head)),
        _row("mountain_va_share", "山区26县增加值占比", "26 mountain counties' share of value added", "%",
             T["mountain_va_share"] * 100, None if not va else float(m_va or 0) / float(va) * 100),
        _row("mountain_tax_per_mu_leapfrog", f"山区县亩均税收({category_label('leapfrog')})", "mountain tax per mu (leapfrog)", "万元/亩",
             T["mountain_tax_per_mu"]["leapfrog"], by_category["leapfrog"][0]),
        _row("mountain_tax_per_mu_ecological", f"山区县亩均税收({category_label('ecological')})", "mountain tax per mu (ecological)", "万元/亩",
             T["mountain_tax_per_mu"]["ecological"], by_category["ecological"][0]),
        _row("mountain_va_per_mu", "山区县亩均增加值", "mountain value added per mu", "万元/亩",
             90, div(m_va, m_land), low=85 * (1 - TOLERANCE), high=95 * (1 + TOLERANCE)),
        _row("mountain_labour_productivity", "山区县全员劳动生产率", "mountain labour productivity", "万元/人",
             T["mountain_labour_productivity"], div(m_head and m_va, m_head)),
        _row("mountain_counties_over_100yi", "山区县规上增加值超100亿(按规模折算)的县数",
             "mountain counties with value added > 100 亿 x scale", "个", 7,
             sum(1 for v in county_va if float(v) > 100 * yi * scale),
             low=T["mountain_counties_over_100yi"][0], high=T["mountain_counties_over_100yi"][1]),
        _row("mountain_county_min_va", "山区县规上增加值最小值(按规模折算)", "smallest mountain county value added", "亿元",
             T["mountain_county_min_va_yi"] * scale, min(float(v) for v in county_va) / yi if county_va else None,
             low=T["mountain_county_min_va_yi"] * scale, high=float("inf")),
    ]
    if prev[0] is not None and land:
        growth = params()["targets"]
        g_va = growth["value_added_per_mu_by_year"]
        g_tax = growth["tax_per_mu_by_year"]
        target_va = (g_va[str(base_year)] / g_va[str(base_year - 1)] - 1) * 100
        target_tax = (g_tax[str(base_year)] / g_tax[str(base_year - 1)] - 1) * 100
        rows += [
            _row("value_added_per_mu_growth", f"亩均增加值增速({base_year})", "growth of value added per mu", "%",
                 target_va, (float(va) / float(land) / float(prev[0]) - 1) * 100),
            _row("tax_per_mu_growth", f"亩均税收增速({base_year})", "growth of tax per mu", "%",
                 target_tax, (float(tax) / float(land) / float(prev[1]) - 1) * 100),
        ]
    return rows
