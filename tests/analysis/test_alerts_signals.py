"""The scan's SQL (analysis.alerts.scan_sql) on hand-made series: a collapse, a decline, a spike
and a steady firm; the Spring Festival's moving dip does not alarm (lunar-aligned year-on-year,
festival months out of the baselines); a gap in the series voids the year-on-year; a one-month
scan gives the back-test's figures for that month; NULLs never count as signals."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pytest

from shanhai.analysis import alerts as aa
from shanhai.policy._alerts import alert_rules

RULES = alert_rules()
START = dt.date(2021, 1, 1)


def festival_factor(month: dt.date) -> float:
    d = RULES.festival.dates.get(str(month.year))
    return 0.62 if d and d.month == month.month else 1.0


def series(n=48, level=1000.0, change=None):
    out = []
    for i in range(n):
        m = aa.add_months(START, i)
        days = (aa.add_months(m, 1) - m).days
        wobble = 1 + 0.03 * math.sin(i * 1.7)
        k = level * days * festival_factor(m) * wobble * (change(i) if change else 1.0)
        out.append((m, k))
    return out


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE em (uscc VARCHAR, month DATE, kwh DOUBLE, water_t DOUBLE, gas_m3 DOUBLE)")
    firms = {
        "steady": series(),
        "collapse": series(change=lambda i: 0.1 if i >= 40 else 1.0),
        "decline": series(change=lambda i: 1 - 0.5 * min(1, max(0, i - 35) / 9)),
        "spike": series(change=lambda i: 3.0 if i == 42 else 1.0),
        "gap": [r for j, r in enumerate(series(change=lambda i: 0.4 if i >= 44 else 1.0)) if j != 32],
    }
    for name, rows in firms.items():
        c.executemany("INSERT INTO em VALUES (?, ?, ?, ?, NULL)", [(name, m, k, k * 0.004) for m, k in rows])
    c.execute(f"CREATE TABLE s AS {aa.scan_sql(RULES, source='em')}")
    return c


def alert_months(con, uscc):
    return [r[0] for r in con.execute(f"SELECT month FROM s WHERE uscc = '{uscc}' AND score >= "
                                      f"{RULES.score.alert_at} ORDER BY month").fetchall()]


def test_steady_firm_with_moving_festival_never_alarms(con):
    assert alert_months(con, "steady") == []
    # January and February are compared lunar-aligned: the festival month with the festival month
    feb24 = con.execute("SELECT yoy_ratio FROM s WHERE uscc = 'steady' AND month = DATE '2024-02-01'").fetchone()[0]
    assert feb24 == pytest.approx(1.0, abs=0.1)       # 2024's festival month (Feb) against 2023's (Jan)
    z = con.execute("SELECT count(zscore) FROM s WHERE uscc = 'steady' AND month(month) IN (1, 2)").fetchone()[0]
    assert z == 0


def test_collapse_decline_spike_are_found_with_their_kind(con):
    assert alert_months(con, "collapse")[0] == aa.add_months(START, 40)
    assert con.execute(f"SELECT kind FROM s WHERE uscc = 'collapse' AND month = DATE '{aa.add_months(START, 40)}'"
                       ).fetchone()[0] == "collapse"
    spike = alert_months(con, "spike")
    assert spike == [aa.add_months(START, 42)]
    assert con.execute(f"SELECT kind FROM s WHERE uscc = 'spike' AND month = DATE '{spike[0]}'").fetchone()[0] == "spike"
    dec = alert_months(con, "decline")
    assert dec and aa.add_months(START, 36) <= dec[0] <= aa.add_months(START, 46)
    assert con.execute(f"SELECT kind FROM s WHERE uscc = 'decline' AND month = DATE '{dec[0]}'").fetchone()[0] == "decline"


def test_points_add_up_and_history_is_required(con):
    bad = con.execute(f"SELECT count(*) FROM s WHERE abs(score - least(100, {' + '.join(aa.POINTS)})) > 0.006"
                      ).fetchone()[0]
    assert bad == 0
    early = con.execute(f"SELECT max(score) FROM s WHERE history_months < {RULES.history.min_months}").fetchone()[0]
    assert early == 0


def test_a_gap_voids_the_year_on_year(con):
    # month 32 is missing: month 44 has no month a year before (a missing month, not a shifted row)
    gap_month = aa.add_months(START, 44)
    assert con.execute(f"SELECT yoy_ratio FROM s WHERE uscc = 'gap' AND month = DATE '{gap_month}'").fetchone()[0] is None
    assert con.execute(f"SELECT yoy_ratio FROM s WHERE uscc = 'gap' AND month = DATE '{aa.add_months(START, 47)}'"
                       ).fetchone()[0] is not None


COMPARED = ("score", "kind", "daily_kwh", "baseline_daily_kwh", "yoy_ratio", "zscore", "near_zero_months",
            "decline_ratio", "falls", "spike_ratio", "utilities_ratio", *aa.POINTS)


def _rounded(rows):
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows]


def test_one_month_scan_equals_the_backtest(con):
    """Two code paths (filtered aggregates for one month, RANGE windows for all): the same figures."""
    cols = ", ".join(COMPARED)
    for i in range(12, 48):
        month = aa.add_months(START, i)
        one = con.execute(f"SELECT uscc, {cols} FROM ({aa.scan_sql(RULES, source='em', month=month)}) "
                          "ORDER BY uscc").fetchall()
        all_ = con.execute(f"SELECT uscc, {cols} FROM s WHERE month = DATE '{month}' ORDER BY uscc").fetchall()
        assert _rounded(one) == _rounded(all_), month
        assert len(one) == (4 if i == 32 else 5)


def test_episodes_and_matching():
    rows = [("truth", "collapse", True, True, None), ("truth", "collapse", False, False, None),
            ("truth", "spike", True, False, None), ("alert", "collapse", True, True, True),
            ("alert", "collapse", True, True, False), ("alert", "decline", True, False, False)]
    f = {x.kind: x for x in aa.figures(rows)}
    assert f["collapse"].precision == 0.5 and f["collapse"].precision_any == 1.0 and f["collapse"].recall == 1.0
    assert f["spike"].recall == 0.0 and f["spike"].precision is None
    assert f["all"].alerts == 3 and f["all"].anomalies == 2
    assert aa.precision_at(["stopped", "normal", "false_alarm", "reduced"]) == 0.5
    assert aa.precision_at([]) is None


def test_month_parsing():
    assert aa.month_start("2024-06") == dt.date(2024, 6, 1)
    assert aa.month_start("2024-06-30") == dt.date(2024, 6, 1)
    with pytest.raises(ValueError):
        aa.month_start("June")
