"""Electricity indices: the pure formulas (``calc_*``) and the SQL that applies them to firms.

The grid's 企业复工电力指数 (国网浙江, February 2020) is the model: half energy, half head count,
100 = normal. For one cell (a region × an industry division, or a region × a chain or segment) and
one period p:

* average daily use ``d = kWh ÷ days`` (removes the month-length effect; with Spring Festival
  pooling, January and February are one period: their kWh over their days);
* energy ratio ``E = Σ d(p) ÷ Σ d(p − 12)`` over every firm with use in the period (the grid's
  total, so entries and exits count);
* operating share ``C = #{firm : d_f(p) ≥ θ · d_f(p − 12)} ÷ #{firm : d_f(p − 12) > 0}`` — the
  firms with a baseline that still run at θ of it (θ = 30 %, 广元's restart test); a firm gone
  from the books counts as not operating;
* normal share: the same with θ_n = 90 % (the 2024 Spring Festival count);
* year-on-year index ``100 · E``; composite ``R = 100 · (w_e · E + w_c · C)`` (w = 0.5 / 0.5);
* fixed-base index ``100 · Σ d(p) ÷ mean over the base year's periods of Σ d``.

Golden cases (reference/monitoring_methods.md §7): 2020-02-10, 40,541.65 ÷ 128,807.02 万kWh and
64,590 ÷ 333,427 firms give R = 25.42; (57.60 %, 45.28 %) → 51.44; (60.15 %, 47.27 %) → 53.71.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math


def calc_average_daily(kwh: float, days: int) -> float:
    """Average daily use ``d = kWh ÷ days``."""
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    return kwh / days


def calc_ratio(current: float | None, baseline: float | None) -> float | None:
    """``current ÷ baseline``; None when either is missing or the baseline is not positive."""
    if current is None or baseline is None or baseline <= 0:
        return None
    return current / baseline


def calc_composite_index(energy_ratio: float | None, operating_share: float | None,
                         w_energy: float = 0.5, w_count: float = 0.5) -> float | None:
    """``R = 100 · (w_e · E + w_c · C)`` (the 复工电力指数 form); None when a half is missing."""
    if energy_ratio is None or operating_share is None:
        return None
    return 100.0 * (w_energy * energy_ratio + w_count * operating_share)


def calc_index(ratio: float | None) -> float | None:
    """``100 · ratio`` (year-on-year or fixed-base index)."""
    return None if ratio is None else 100.0 * ratio


def days_in(month: dt.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def period_of(month: dt.date, pool_jan_feb: bool) -> dt.date:
    """The period a month belongs to: itself, or February for January and February when pooled."""
    if pool_jan_feb and month.month in (1, 2):
        return dt.date(month.year, 2, 1)
    return dt.date(month.year, month.month, 1)


def shift(month: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after (negative: before) ``month``."""
    k = month.year * 12 + month.month - 1 + months
    return dt.date(k // 12, k % 12 + 1, 1)


def periods(last: dt.date, count: int, pool_jan_feb: bool) -> list[dt.date]:
    """The last ``count`` periods ending at ``last``'s period, oldest first (January is skipped
    when pooled: its figures are February's)."""
    out: list[dt.date] = []
    month = period_of(last, pool_jan_feb)
    while len(out) < count:
        if not (pool_jan_feb and month.month == 1):
            out.append(month)
        month = shift(month, -1)
    return out[::-1]


def period_label(period: dt.date, pool_jan_feb: bool, lang: str = "zh") -> str:
    if pool_jan_feb and period.month == 2:
        return f"{period.year}年1-2月" if lang == "zh" else f"{period.year} Jan-Feb"
    return f"{period.year}年{period.month}月" if lang == "zh" else f"{period:%Y-%m}"


def finite(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


# ---- SQL ------------------------------------------------------------------------------------

def firm_periods_sql(where: str, months_sql: str, pool_jan_feb: bool) -> str:
    """One row per firm and period: its average daily use, its county and its industry division.

    ``where`` filters ``enterprises e`` (the scope), ``months_sql`` is a predicate on
    ``m.month``. Pooled January–February: kWh over the days of the months present."""
    period = ("CASE WHEN month(m.month) IN (1, 2) THEN make_date(year(m.month), 2, 1) ELSE m.month END"
              if pool_jan_feb else "m.month")
    return f"""
        SELECT m.uscc, {period} AS period, any_value(e.county_adcode) AS county_adcode,
               any_value(substr(e.industry_code, 1, 2)) AS division,
               sum(m.kwh) / sum(day(last_day(m.month))) AS daily
        FROM electricity_monthly m JOIN enterprises e ON e.uscc = m.uscc
        WHERE m.kwh IS NOT NULL AND m.kwh >= 0 AND ({months_sql}) AND ({where})
        GROUP BY m.uscc, {period}
        HAVING sum(m.kwh) > 0"""
