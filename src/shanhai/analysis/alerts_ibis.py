"""The monthly electricity scan of early warning as an Ibis expression (engine-neutral: DuckDB or
PySpark), for ``jobs.alerts.scan(engine="spark")``.

The method and every formula are those of :mod:`shanhai.analysis.alerts` (its docstring); this is
the one-month form of ``scan_sql(rules, month=m)`` written in Ibis, operation for operation in the
same order, so the figures are the same doubles: per firm, filtered aggregates over the months the
windows need (``months_needed``), then the signals, points and score. What depends only on the
scan month — whether it and each of the months before it is a festival month, the aligned
year-on-year lag, the days of each month — is computed here in Python from the rule set (the SQL
computes the same in SQL) and enters the expression as constants.

Why two forms of one scan: DuckDB keeps its hand-written query (``scan_sql``: the default engine
must not get slower, and the back-test's windows are DuckDB SQL too); Spark runs this expression.
``tests/engine/test_spark_alerts.py`` asserts that this expression on DuckDB gives exactly the
rows of ``scan_sql`` and on Spark the same rows (doubles to 1e-9 relative: Spark's sums and
standard deviations add per partition, then merge).

The score is returned unrounded (``score_raw`` = min(100, Σ points)): the caller rounds it to 2
decimals in DuckDB (``round(score_raw, 2)``), because Spark rounds a double half-up on its
shortest decimal form and DuckDB on its binary value, which differ on ties like 12.345.
"""

from __future__ import annotations

import calendar
import datetime as dt

import ibis

from shanhai.analysis.alerts import FIGURES, POINTS, _mi, add_months, months_needed
from shanhai.policy._alerts import KINDS, SIGNAL_KIND, SIGNALS, AlertRules

# the columns of ``scan_expr``, in order (``score_raw`` where ``scan_sql`` has ``score``)
COLUMNS = ("uscc", "month", *FIGURES, *POINTS, "score_raw", "kind", "eligible")


def festival(rules: AlertRules, mi: int) -> tuple[bool, int]:
    """(month index ``mi`` is a festival month, its aligned year-on-year lag in months): the
    Python twin of ``analysis.alerts._festival_sql``."""
    y, m = mi // 12, mi % 12 + 1
    dates = rules.festival.dates
    late = {int(yy) for yy, d in dates.items() if d.month == 2 and d.day >= rules.festival.late_day}
    fest = m in (1, 2) or (m == 3 and y in late)

    def fm(year: int) -> int | None:
        d = dates.get(str(year))
        return None if d is None else (2 if d.month == 2 else 1 if d.month == 1 else None)

    a, b = fm(y), fm(y - 1)
    same = True if a is None or b is None else a == b
    lag = 11 if m == 1 and not same else 13 if m == 2 and not same else 12
    return fest, lag


def _ramp(x, a: float, b: float):
    """clip((a − x) ÷ (a − b), 0, 1), 0 when x is NULL (as ``analysis.alerts._ramp``)."""
    return ibis.greatest(ibis.literal(0.0), ibis.least(ibis.literal(1.0),
                                                        ((ibis.literal(a) - x) / ibis.literal(a - b)).coalesce(0.0)))


def _when(cond, then, otherwise):
    """CASE WHEN cond THEN then ELSE otherwise END (a NULL condition takes ``otherwise``)."""
    return ibis.cases((cond, then), else_=otherwise)


def scan_expr(con, rules: AlertRules, month: dt.date):
    """Every firm with a row in ``month``: its figures, signal points, unrounded score, kind and
    eligibility, as ``analysis.alerts.scan_sql(rules, month=month)`` computes them. ``con``: an
    Ibis backend whose ``electricity_monthly`` has uscc, month, kwh, water_t, gas_m3."""
    h, yz, z, nz, dc, sp, ut = (rules.history, rules.yoy_drop, rules.zscore_drop, rules.near_zero, rules.decline,
                                rules.spike, rules.utilities)
    weights = rules.score.weights
    k_falls, c_zero = int(dc.falls), int(nz.full_after_months)
    n_lags = max(k_falls, c_zero - 1)
    mi0 = _mi(month)
    first = add_months(month, -months_needed(rules))
    months = range(_mi(first), mi0 + 1)
    days = {i: calendar.monthrange(i // 12, i % 12 + 1)[1] for i in months}
    fest_months = [i for i in months if festival(rules, i)[0]]

    em = con.table("electricity_monthly")
    raw = em.filter(em.month >= ibis.date(first), em.month <= ibis.date(month))
    raw = raw.mutate(mi=raw.month.year().cast("int64") * 12 + raw.month.month().cast("int64") - 1)
    u = raw.kwh / ibis.cases(*((raw.mi == i, d) for i, d in days.items()))
    raw = raw.mutate(u=u)
    raw = raw.mutate(ub=_when(raw.mi.isin(fest_months), ibis.null("float64"), raw.u) if fest_months else raw.u)

    def between(a: int, b: int):
        return (raw.mi >= mi0 - a) & (raw.mi <= mi0 - b)

    fest, lag = festival(rules, mi0)
    f = {j: festival(rules, mi0 - j)[0] for j in range(1, n_lags + 1)}
    aggs = {"kwh": raw.kwh.max(where=raw.mi == mi0), "u": raw.u.max(where=raw.mi == mi0),
            "water_t": raw.water_t.max(where=raw.mi == mi0), "gas_m3": raw.gas_m3.max(where=raw.mi == mi0),
            "uy": raw.u.max(where=raw.mi == mi0 - lag)}
    aggs |= {f"u_{j}": raw.u.max(where=raw.mi == mi0 - j) for j in range(1, n_lags + 1)}
    aggs |= {"b": raw.ub.mean(where=between(12, 1)), "sd": raw.ub.std(how="sample", where=between(12, 1)),
             "n": raw.ub.count(where=between(12, 1)), "u3": raw.ub.mean(where=between(2, 0)),
             "b3": raw.ub.mean(where=between(15, 3)), "wb": raw.water_t.mean(where=between(12, 1)),
             "gb": raw.gas_m3.mean(where=between(12, 1)), "hist": raw.count(where=raw.mi < mi0),
             "here": raw.count(where=raw.mi == mi0)}
    aggs |= {f"b_{j}": raw.ub.mean(where=between(12 + j, 1 + j)) for j in range(1, c_zero)}
    g = raw.aggregate(by="uscc", **aggs)
    g = g.filter(g.here > 0).drop("here")

    def near(j: int):
        uu, bb = (g.u, g.b) if j == 0 else (g[f"u_{j}"], g[f"b_{j}"])
        return ((bb > nz.active_floor_kwh_per_day)
                & ((uu < ibis.literal(nz.share_below) * bb) | (uu < nz.floor_kwh_per_day))).coalesce(False)

    def fell(j: int):
        f0 = fest if j == 0 else f[j]
        if f0 or f[j + 1]:
            return ibis.literal(False)
        u0 = g.u if j == 0 else g[f"u_{j}"]
        return (u0 < g[f"u_{j + 1}"]).coalesce(False)

    def leading(flags: list):
        total = None
        for i in range(len(flags)):
            cond = flags[0]
            for x in flags[1:i + 1]:
                cond = cond & x
            term = _when(cond, 1, 0)
            total = term if total is None else total + term
        return total

    yoy = g.u / g.uy.nullif(0)
    zs = ibis.null("float64") if fest else (g.u - g.b) / ibis.greatest(g.sd.coalesce(0),
                                                                        ibis.literal(z.min_cv) * g.b).nullif(0)
    wr = _when(g.water_t.isnull() & g.gas_m3.isnull(), ibis.null("float64"),
               ibis.least((g.water_t / g.wb.nullif(0)).coalesce(1e9), (g.gas_m3 / g.gb.nullif(0)).coalesce(1e9)))
    fig = g.mutate(yoy=yoy, zs=zs, nz_run=leading([near(j) for j in range(c_zero)]),
                   falls=leading([fell(j) for j in range(k_falls)]), d=g.u3 / g.b3.nullif(0), sb=g.u / g.b.nullif(0),
                   wr=wr)
    s = fig.yoy.coalesce(fig.sb) if fest else fig.sb
    st = fig.mutate(
        s=s,
        s_yoy_drop=_ramp(fig.yoy, yz.ratio_below, yz.full_at),
        s_zscore_drop=_ramp(fig.zs, z.z_below, z.full_at),
        s_near_zero=fig.nz_run / float(c_zero),
        s_decline=ibis.greatest(_ramp(fig.d, dc.ratio_below, dc.full_at),
                                _when((fig.falls >= k_falls) & (fig.d < 1), 0.5, 0.0)),
        s_spike=_when(s >= sp.ratio_above,
                      ibis.least(ibis.literal(1.0), (s - ibis.literal(sp.ratio_above))
                                 / ibis.literal(sp.full_at - sp.ratio_above)), 0.0),
        s_utilities_drop=_when(fig.wr < ut.ratio_below, 1.0, 0.0),
        eligible=(fig.hist >= int(h.min_months)) & (fig.n >= int(h.min_baseline_months)))
    pts = {f"p_{x}": _when(st.eligible, (ibis.literal(float(weights[x])) * st[f"s_{x}"]).cast("float64"), 0.0)
           for x in SIGNALS if x != "utilities_drop"}
    others = st.s_yoy_drop + st.s_zscore_drop + st.s_near_zero + st.s_decline + st.s_spike
    pts["p_utilities_drop"] = _when(st.eligible & (others > 0),
                                    (ibis.literal(float(weights["utilities_drop"])) * st.s_utilities_drop).cast("float64"),
                                    0.0)
    p = st.mutate(**pts)

    def total(names):
        out = None
        for name in names:
            out = p[name] if out is None else out + p[name]
        return out

    groups = {k: total([f"p_{x}" for x in SIGNALS if SIGNAL_KIND[x] == k]) for k in KINDS}
    kind = ibis.cases((groups["spike"] > ibis.greatest(groups["collapse"], groups["decline"]), "spike"),
                      (groups["decline"] > groups["collapse"], "decline"), else_="collapse")
    return p.select(
        uscc=p.uscc, month=ibis.date(month), kwh=p.kwh, daily_kwh=p.u, baseline_daily_kwh=p.b, yoy_ratio=p.yoy,
        zscore=p.zs, near_zero_months=p.nz_run, decline_ratio=p.d, falls=p.falls, spike_ratio=p.s,
        utilities_ratio=p.wr, history_months=p.hist, **{x: p[x] for x in POINTS},
        score_raw=ibis.least(ibis.literal(100.0), total(list(POINTS))), kind=kind, eligible=p.eligible)


__all__ = ["COLUMNS", "festival", "scan_expr"]
