"""Enterprise early warning from monthly electricity (企业用电预警): every firm's signals and
composite risk score for a month, as one vectorised DuckDB query; the back-test over every month
and its precision and recall against known anomalies.

Pure: functions build SQL text and compute figures from rows; the jobs layer
(:mod:`shanhai.jobs.alerts`) runs them against the store. Parameters come from an alert rule set
(``policy/monitoring/alerts_*.toml``, :class:`shanhai.policy._alerts.AlertRules`).

Two code paths give the same numbers (a test compares them month by month): the back-test (every
month) uses window functions with RANGE frames on the month index m = year × 12 + month − 1 (so
"the previous 12 months" are calendar months: a gap in a series is a missing month, never a
shifted one; for a gapless series this is the window rows −12 … −1); the monthly scan reads only
the 25 months the windows need and computes the same figures as filtered aggregates per firm (one
hash aggregate, no sort: about 4 CPU seconds for 500,000 firms × 26 months instead of 17 with
windows). In the back-test firms are keyed by a 64-bit hash of the USCC (the windows sort an
integer, not the text); two USCCs with the same hash (chance about n² ÷ 2⁶⁵) would share a series:
``check_keys_sql`` finds them, and ``jobs.alerts.evaluate`` refuses to run if there are any.

Formulas, per firm and month m:

- daily use u(m) = kWh(m) ÷ days in m (average DAILY use: months of 28–31 days compare fairly).
- festival months: January and February, and March when the year's 春节 falls on or after
  ``festival.late_day`` February. They are left out of the 12-month baselines (their value is
  NULL there).
- baseline b(m) = mean of u over the months m − 12 … m − 1, festival months left out; sd(m) their
  standard deviation, at least ``min_cv`` × b(m); n(m) = how many there were.
- lunar-aligned year-on-year: y(m) = u(m) ÷ u(m′), m′ = the same month a year before, except in
  January and February, where m′ is the month of the same role a year before (the festival month
  with the festival month, the other with the other: lag 11, 12 or 13 months); NULL when the
  series has no month m′.
- z(m) = (u(m) − b(m)) ÷ sd(m); not computed in festival months.
- near zero: u(m) < share_below × b(m) or u(m) < floor_kwh_per_day, for a firm whose b(m) was
  above active_floor_kwh_per_day; r(m) = consecutive near-zero months up to m, counted up to
  full_after_months (each earlier month judged against its own baseline).
- decline: d(m) = mean of u over m − 2 … m ÷ mean of u over m − 15 … m − 3 (festival months left
  out of both); k(m) = consecutive monthly falls up to m, counted up to ``decline.falls`` (a
  festival month or a missing month breaks the run).
- spike: s(m) = u(m) ÷ b(m) (in festival months the lunar-aligned year-on-year y(m) when known).
- utilities: w(m) = the lower of water(m) ÷ its mean over m − 12 … m − 1 and gas(m) ÷ its mean
  (NULL where the firm reports neither).
- history h(m) = the firm's rows before m (the monthly scan counts those among the 25 it reads).

Signal strengths (0–1), with ramp(x, a, b) = clip((a − x) ÷ (a − b), 0, 1):

- yoy_drop = ramp(y, ratio_below, full_at); zscore_drop = ramp(z, z_below, full_at);
- near_zero = r ÷ full_after_months;
- decline = max(ramp(d, ratio_below, full_at), 0.5 if k ≥ falls and d < 1);
- spike = clip((s − ratio_above) ÷ (full_at − ratio_above), 0, 1) when s ≥ ratio_above;
- utilities_drop = 1 when w < ratio_below and some other signal is on, else 0.

Score = min(100, Σ weight × strength); a firm-month is an alert when score ≥ ``score.alert_at``,
h(m) ≥ ``history.min_months`` and n(m) ≥ ``min_baseline_months``. The alert's kind is that of its
largest group of points: collapse (yoy_drop, zscore_drop, near_zero, utilities_drop), decline or
spike.

Back-test and its match rule (``evaluate``): alert months of a firm closer than
``evaluation.repeat_gap_months`` form one alert (its month is the first, its kind the first
month's kind). An alert matches a known anomaly of the same firm when its month lies in
[anomaly start, anomaly end + ``tolerance_months``]. Precision of a kind = alerts of that kind
that match an anomaly of the same kind ÷ alerts of that kind (``precision_any``: matching an
anomaly of any kind); recall of a kind = anomalies of that kind matched by at least one alert (of
any kind) ÷ anomalies of that kind that the back-test could see (start at least ``min_months``
months after the firm's first row).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shanhai.policy._alerts import KINDS, SIGNAL_KIND, SIGNALS, AlertRules

# the columns ``scan_sql`` returns, after uscc and month
FIGURES = ("kwh", "daily_kwh", "baseline_daily_kwh", "yoy_ratio", "zscore", "near_zero_months", "decline_ratio",
           "falls", "spike_ratio", "utilities_ratio", "history_months")
POINTS = tuple(f"p_{s}" for s in SIGNALS)


def month_start(value) -> dt.date:
    """The first day of ``value``'s month (a date, or text like 2024-06 or 2024-06-30)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value).strip()
    try:
        if len(text) == 7:
            return dt.date.fromisoformat(text + "-01")
        return dt.date.fromisoformat(text).replace(day=1)
    except ValueError:
        raise ValueError(f"month {value!r} is not a month like 2024-06") from None


def add_months(day: dt.date, n: int) -> dt.date:
    i = day.year * 12 + day.month - 1 + n
    return dt.date(i // 12, i % 12 + 1, 1)


def months_needed(rules: AlertRules) -> int:
    """Months before the scan month the windows read (at least 25): the aligned year-on-year (13),
    the decline baseline (15), the near-zero months' own baselines (11 + full_after_months), the
    falls (decline.falls + 1) and the minimum history, so a one-month scan gives exactly the
    figures of the back-test over all months (history_months is counted within them)."""
    return max(25, 11 + rules.near_zero.full_after_months, rules.decline.falls + 1, rules.history.min_months)


def check_keys_sql(source: str = "electricity_monthly") -> str:
    """Firms whose USCC hash is shared with another USCC (expected: none)."""
    return (f"SELECT hash(uscc) AS fid, list(uscc) AS usccs FROM (SELECT DISTINCT uscc FROM {source}) "
            "GROUP BY 1 HAVING count(*) > 1")


def _ramp(x: str, a: float, b: float) -> str:
    """clip((a − x) ÷ (a − b), 0, 1); 0 when x is NULL (coalesced before capping: DuckDB's
    least/greatest skip NULLs)."""
    return f"greatest(0.0, least(1.0, coalesce(({a!r} - ({x})) / {a - b!r}, 0.0)))"


def _festival_sql(rules: AlertRules, mi: str) -> tuple[str, str]:
    """(SQL: the month with index ``mi`` (year × 12 + month − 1) is a festival month, SQL: its
    aligned year-on-year lag in months)."""
    y, m = f"({mi} // 12)", f"({mi} % 12 + 1)"
    dates = rules.festival.dates
    late = sorted(int(yy) for yy, d in dates.items() if d.month == 2 and d.day >= rules.festival.late_day)
    late_sql = f"({m} = 3 AND {y} IN ({', '.join(map(str, late))}))" if late else "false"
    fest = f"({m} IN (1, 2) OR {late_sql})"
    # festival month per year; a year missing from the table: plain lag 12
    years = sorted(int(yy) for yy in dates)
    feb = [yy for yy in years if dates[str(yy)].month == 2]
    jan = [yy for yy in years if dates[str(yy)].month == 1]
    fm = (f"(CASE WHEN {{y}} IN ({', '.join(map(str, feb)) or 'NULL'}) THEN 2 "
          f"WHEN {{y}} IN ({', '.join(map(str, jan)) or 'NULL'}) THEN 1 END)")
    same = f"coalesce({fm.format(y=y)} = {fm.format(y=f'({y} - 1)')}, true)"
    lag = f"(CASE WHEN {m} = 1 AND NOT {same} THEN 11 WHEN {m} = 2 AND NOT {same} THEN 13 ELSE 12 END)"
    return fest, lag


def _mi(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def scan_sql(rules: AlertRules, *, source: str = "electricity_monthly", month: dt.date | None = None,
             where: str = "true") -> str:
    """A SELECT of every firm's figures, signal points, score and kind: for ``month`` only, or
    for every month (the back-test). ``source`` is a table or subquery with uscc, month, kwh,
    water_t, gas_m3; ``where`` filters its rows (e.g. a region).

    Every month: window functions over each firm's months (RANGE frames on the month index, so a
    gap in a series is a missing month, not a shifted one). One month: the rows of the months the
    windows need, and the same figures as filtered aggregates per firm (one hash aggregate, no
    sort: the same numbers as the windows at that month, at a fraction of the cost)."""
    h, yz, z, nz, dc, sp, ut = (rules.history, rules.yoy_drop, rules.zscore_drop, rules.near_zero, rules.decline,
                                rules.spike, rules.utilities)
    weights = rules.score.weights
    points = {s: f"CAST({float(weights[s])!r} * s_{s} AS DOUBLE)" for s in SIGNALS}
    groups = {k: " + ".join(f"p_{s}" for s in SIGNALS if SIGNAL_KIND[s] == k) for k in KINDS}
    k_falls, c_zero = int(dc.falls), int(nz.full_after_months)
    n_lags = max(k_falls, c_zero - 1)
    fest, lag = _festival_sql(rules, "mi")
    marked = f"""raw AS NOT MATERIALIZED (
    SELECT uscc, month, kwh, water_t, gas_m3 FROM {source} WHERE {{bounds}} AND ({where})
), marked AS (
    SELECT {{key}} AS fid, kwh, water_t, gas_m3, mi, u, fest, lag_m, CASE WHEN NOT fest THEN u END AS ub
    FROM (SELECT *, {fest} AS fest, {lag} AS lag_m FROM (
        SELECT uscc, kwh, water_t, gas_m3, year(month) * 12 + month(month) - 1 AS mi,
               kwh / dayofmonth(last_day(month)) AS u FROM raw))
)"""
    f_cols = ", ".join(f"{_festival_sql(rules, f'(mi - {j})')[0]} AS f_{j}" for j in range(1, n_lags + 1))
    if month is None:
        def rng(a: int, b: int) -> str:
            return f"w RANGE BETWEEN {a} PRECEDING AND {b} PRECEDING" if b else \
                f"w RANGE BETWEEN {a} PRECEDING AND CURRENT ROW"
        lags = ",\n           ".join(f"max(u) OVER ({rng(j, j)}) AS u_{j}" for j in range(1, n_lags + 1))
        past_b = "".join(f",\n           avg(ub) OVER ({rng(12 + j, 1 + j)}) AS b_{j}" for j in range(1, c_zero))
        head = f"""
WITH {marked.format(bounds="true", key="hash(uscc)")}, ids AS (
    SELECT DISTINCT uscc, hash(uscc) AS fid FROM raw
), win AS (
    SELECT fid, mi, kwh, u, fest, lag_m, water_t, gas_m3,
           CASE lag_m WHEN 11 THEN max(u) OVER ({rng(11, 11)}) WHEN 13 THEN max(u) OVER ({rng(13, 13)})
                      ELSE max(u) OVER ({rng(12, 12)}) END AS uy,
           {lags},
           avg(ub) OVER ({rng(12, 1)}) AS b, stddev_samp(ub) OVER ({rng(12, 1)}) AS sd,
           count(ub) OVER ({rng(12, 1)}) AS n, avg(ub) OVER ({rng(2, 0)}) AS u3, avg(ub) OVER ({rng(15, 3)}) AS b3,
           avg(water_t) OVER ({rng(12, 1)}) AS wb, avg(gas_m3) OVER ({rng(12, 1)}) AS gb,
           count(*) OVER (w RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS hist{past_b}
    FROM marked WINDOW w AS (PARTITION BY fid ORDER BY mi)
), cur AS (
    SELECT *, {f_cols} FROM win
)"""
        key, tail_from = "i.uscc", "pts JOIN ids i USING (fid)"
    else:
        mi = _mi(month)
        bounds = (f"month BETWEEN DATE '{add_months(month, -months_needed(rules)).isoformat()}' "
                  f"AND DATE '{month.isoformat()}'")

        def between(a: int, b: int) -> str:
            return f"mi BETWEEN {mi - a} AND {mi - b}"
        lag_m = _festival_sql(rules, str(mi))[1]
        lags = ",\n           ".join(f"max(u) FILTER (mi = {mi - j}) AS u_{j}" for j in range(1, n_lags + 1))
        past_b = "".join(f",\n           avg(ub) FILTER ({between(12 + j, 1 + j)}) AS b_{j}" for j in range(1, c_zero))
        head = f"""
WITH {marked.format(bounds=bounds, key="uscc")}, g AS (
    SELECT fid, max(kwh) FILTER (mi = {mi}) AS kwh, max(u) FILTER (mi = {mi}) AS u,
           max(water_t) FILTER (mi = {mi}) AS water_t, max(gas_m3) FILTER (mi = {mi}) AS gas_m3,
           max(u) FILTER (mi = {mi} - {lag_m}) AS uy,
           {lags},
           avg(ub) FILTER ({between(12, 1)}) AS b, stddev_samp(ub) FILTER ({between(12, 1)}) AS sd,
           count(ub) FILTER ({between(12, 1)}) AS n, avg(ub) FILTER ({between(2, 0)}) AS u3,
           avg(ub) FILTER ({between(15, 3)}) AS b3,
           avg(water_t) FILTER ({between(12, 1)}) AS wb, avg(gas_m3) FILTER ({between(12, 1)}) AS gb,
           count(*) FILTER (mi < {mi}) AS hist{past_b}
    FROM marked GROUP BY fid HAVING count(*) FILTER (mi = {mi}) > 0
), cur AS (
    SELECT *, {_festival_sql(rules, str(mi))[0]} AS fest, {lag_m} AS lag_m, {f_cols} FROM (SELECT *, {mi} AS mi FROM g)
)"""
        key, tail_from = "fid", "pts"

    def near(j: int) -> str:
        u, b = ("u", "b") if j == 0 else (f"u_{j}", f"b_{j}")
        return (f"coalesce({b} > {nz.active_floor_kwh_per_day!r} AND ({u} < {nz.share_below!r} * {b} "
                f"OR {u} < {nz.floor_kwh_per_day!r}), false)")

    def fell(j: int) -> str:
        u0, f0 = ("u", "fest") if j == 0 else (f"u_{j}", f"f_{j}")
        return f"coalesce(NOT {f0} AND NOT coalesce(f_{j + 1}, true) AND {u0} < u_{j + 1}, false)"

    def leading(flags: list[str]) -> str:
        return " + ".join(f"CASE WHEN {' AND '.join(flags[:i + 1])} THEN 1 ELSE 0 END" for i in range(len(flags)))

    return f"""{head}, fig AS (
    SELECT *,
           u / nullif(uy, 0) AS yoy,
           CASE WHEN NOT fest THEN (u - b) / nullif(greatest(coalesce(sd, 0), {z.min_cv!r} * b), 0) END AS zs,
           {leading([near(j) for j in range(c_zero)])} AS nz_run,
           {leading([fell(j) for j in range(k_falls)])} AS falls,
           u3 / nullif(b3, 0) AS d, u / nullif(b, 0) AS sb,
           CASE WHEN water_t IS NULL AND gas_m3 IS NULL THEN NULL
                ELSE least(coalesce(water_t / nullif(wb, 0), 1e9), coalesce(gas_m3 / nullif(gb, 0), 1e9)) END AS wr
    FROM cur
), strengths AS (
    SELECT *, CASE WHEN fest THEN coalesce(yoy, sb) ELSE sb END AS s,
           {_ramp('yoy', yz.ratio_below, yz.full_at)} AS s_yoy_drop,
           {_ramp('zs', z.z_below, z.full_at)} AS s_zscore_drop,
           nz_run / {float(c_zero)!r} AS s_near_zero,
           greatest({_ramp('d', dc.ratio_below, dc.full_at)},
                    CASE WHEN falls >= {k_falls} AND d < 1 THEN 0.5 ELSE 0.0 END) AS s_decline,
           CASE WHEN (CASE WHEN fest THEN coalesce(yoy, sb) ELSE sb END) >= {sp.ratio_above!r}
                THEN least(1.0, ((CASE WHEN fest THEN coalesce(yoy, sb) ELSE sb END) - {sp.ratio_above!r})
                                / {sp.full_at - sp.ratio_above!r}) ELSE 0.0 END AS s_spike,
           CASE WHEN wr < {ut.ratio_below!r} THEN 1.0 ELSE 0.0 END AS s_utilities_drop,
           hist >= {int(h.min_months)} AND n >= {int(h.min_baseline_months)} AS eligible
    FROM fig
), pts AS (
    SELECT *, {', '.join(f'CASE WHEN eligible THEN {points[s]} ELSE 0.0 END AS p_{s}' for s in SIGNALS
                          if s != 'utilities_drop')},
           CASE WHEN eligible AND s_yoy_drop + s_zscore_drop + s_near_zero + s_decline + s_spike > 0
                THEN {points['utilities_drop']} ELSE 0.0 END AS p_utilities_drop
    FROM strengths
)
SELECT {key} AS uscc, make_date(CAST(mi // 12 AS INTEGER), CAST(mi % 12 + 1 AS INTEGER), 1) AS month, kwh,
       u AS daily_kwh, b AS baseline_daily_kwh, yoy AS yoy_ratio, zs AS zscore,
       nz_run AS near_zero_months, d AS decline_ratio, falls, s AS spike_ratio, wr AS utilities_ratio,
       hist AS history_months, {', '.join(POINTS)},
       round(least(100.0, {' + '.join(POINTS)}), 2) AS score,
       CASE WHEN {groups['spike']} > greatest({groups['collapse']}, {groups['decline']}) THEN 'spike'
            WHEN {groups['decline']} > {groups['collapse']} THEN 'decline' ELSE 'collapse' END AS kind,
       eligible
FROM {tail_from}
"""


# ---- back-test ---------------------------------------------------------------------------------

def episodes_sql(rules: AlertRules, scan: str) -> str:
    """The alerts of a back-test: alert months (score ≥ alert_at) of a firm closer than
    repeat_gap_months form one alert, dated by its first month and of its first month's kind."""
    gap = int(rules.evaluation.repeat_gap_months)
    return f"""
WITH a AS (
    SELECT uscc, month, score, kind, year(month) * 12 + month(month) - 1 AS mi
    FROM ({scan}) WHERE score >= {float(rules.score.alert_at)!r}
), g AS (
    SELECT *, CASE WHEN mi - lag(mi) OVER (PARTITION BY uscc ORDER BY mi) <= {gap} THEN 0 ELSE 1 END AS new
    FROM a
)
SELECT uscc, month, score, kind FROM g WHERE new = 1
"""


def match_sql(rules: AlertRules, episodes: str, truth: str, firsts: str) -> str:
    """Each known anomaly (``truth``: uscc, kind, start_month, end_month) with whether an alert
    matched it, and each alert with the anomaly kinds it matched. ``firsts``: uscc, first month."""
    tol = int(rules.evaluation.tolerance_months)
    lead = int(rules.history.min_months)
    return f"""
WITH t AS (
    SELECT t.uscc, t.kind, t.start_month, t.end_month,
           t.start_month >= f.first_month + to_months({lead}) AS visible
    FROM ({truth}) t JOIN ({firsts}) f USING (uscc)
), m AS (
    SELECT e.uscc, e.month, e.kind AS alert_kind, t.kind AS truth_kind, t.start_month
    FROM ({episodes}) e JOIN t ON t.uscc = e.uscc
     AND e.month BETWEEN t.start_month AND t.end_month + to_months({tol})
)
SELECT 'truth' AS side, t.kind, t.visible,
       EXISTS (SELECT 1 FROM m WHERE m.uscc = t.uscc AND m.start_month = t.start_month AND m.truth_kind = t.kind)
           AS matched,
       NULL::BOOLEAN AS matched_same
FROM t
UNION ALL
SELECT 'alert', e.kind, true,
       EXISTS (SELECT 1 FROM m WHERE m.uscc = e.uscc AND m.month = e.month),
       EXISTS (SELECT 1 FROM m WHERE m.uscc = e.uscc AND m.month = e.month AND m.truth_kind = e.kind)
FROM ({episodes}) e
"""


@dataclass
class KindFigures:
    kind: str
    alerts: int
    alerts_matched: int          # matching an anomaly of the same kind
    alerts_matched_any: int      # matching an anomaly of any kind
    anomalies: int               # visible to the back-test
    anomalies_found: int

    @property
    def precision(self) -> float | None:
        return self.alerts_matched / self.alerts if self.alerts else None

    @property
    def precision_any(self) -> float | None:
        return self.alerts_matched_any / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.anomalies_found / self.anomalies if self.anomalies else None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "alerts": self.alerts, "alerts_matched": self.alerts_matched,
                "alerts_matched_any": self.alerts_matched_any, "anomalies": self.anomalies,
                "anomalies_found": self.anomalies_found, "precision": _r(self.precision),
                "precision_any": _r(self.precision_any), "recall": _r(self.recall)}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def figures(rows: list[tuple]) -> list[KindFigures]:
    """Per kind, from ``match_sql`` rows (side, kind, visible, matched, matched_same); plus 'all'."""
    out = []
    for kind in (*KINDS, "all"):
        def mine(r, side):
            return r[0] == side and (kind == "all" or r[1] == kind)
        alerts = [r for r in rows if mine(r, "alert")]
        truths = [r for r in rows if mine(r, "truth") and r[2]]
        same = sum(1 for r in alerts if (r[3] if kind == "all" else r[4]))
        out.append(KindFigures(kind, len(alerts), same, sum(1 for r in alerts if r[3]), len(truths),
                               sum(1 for r in truths if r[3])))
    return out


def precision_at(labels: list[str], positives=("stopped", "reduced", "relocated")) -> float | None:
    """Share of visit results that confirm the warning (stopped, reduced, relocated)."""
    if not labels:
        return None
    return sum(1 for x in labels if x in positives) / len(labels)
