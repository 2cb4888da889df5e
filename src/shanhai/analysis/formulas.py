"""The formula layer: every indicator's definition, once, as an Ibis expression.

Each ``calc_*`` states its formula in the docstring. Ratios with a zero or missing denominator
are NULL, never 0 or infinity (DESIGN.md conventions).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

ABOVE_SCALE_REVENUE = 2000  # 万元 main-business revenue: 规模以上工业企业


def calc_ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """numerator / denominator, NULL when the denominator is zero, negative or NULL."""
    return ibis.ifelse(denominator > 0, numerator.cast("float64") / denominator.cast("float64"), ibis.null())


def calc_land_used(t: ir.Table) -> ir.NumericValue:
    """land used (亩) = own land + leased land − land leased out; a missing part counts 0."""
    return (t.land_own_mu.fill_null(0) + t.land_leased_mu.fill_null(0)
            - t.land_leased_out_mu.fill_null(0)).cast("float64")


def calc_per_mu(value: ir.NumericValue, land_used: ir.NumericValue) -> ir.FloatingValue:
    """亩均 X = X (万元) ÷ land used (亩): tax_per_mu, value_added_per_mu."""
    return calc_ratio(value, land_used)


def calc_labour_productivity(value_added: ir.NumericValue, headcount: ir.NumericValue) -> ir.FloatingValue:
    """全员劳动生产率 = value added (万元) ÷ average headcount (人)."""
    return calc_ratio(value_added, headcount)


def calc_size_class(headcount: ir.NumericValue, revenue: ir.NumericValue) -> ir.StringValue:
    """Enterprise size class for industry (统计上大中小微型企业划分办法, 2017).

    large: headcount ≥ 1000 and revenue ≥ 40,000 万元; medium: ≥ 300 and ≥ 2,000;
    small: ≥ 20 and ≥ 300; otherwise micro. Both lower bounds must hold, else one class down.
    NULL headcount or revenue gives NULL.
    """
    return (
        ibis.cases(
            (headcount.isnull() | revenue.isnull(), ibis.null("string")),
            ((headcount >= 1000) & (revenue >= 40_000), "large"),
            ((headcount >= 300) & (revenue >= 2_000), "medium"),
            ((headcount >= 20) & (revenue >= 300), "small"),
            else_="micro",
        )
    )
