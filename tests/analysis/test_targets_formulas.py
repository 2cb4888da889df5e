"""Pure formulas of the targets module (analysis.targets): calendar progress against the
published golden cases (monitoring_methods.md §7: Q1 = 25.00 %, Jan–Oct ≈ 83.4 %), the light
bands at their boundaries (inclusive and not; the 银川 and ratio schemes), lower-is-better and
zero or negative targets, the year-end forecast on a known series, and the composite index."""

from __future__ import annotations

import math

import pytest

from shanhai.analysis import targets as at
from shanhai.policy._indicator_registry import monitoring_rules

GROWTH = {"measure": "gap_points", "otherwise": "red",
          "bands": [{"light": "green", "min": 0, "inclusive": True}, {"light": "amber", "min": -2, "inclusive": True}]}
RATIO = {"measure": "ratio", "otherwise": "red",
         "bands": [{"light": "green", "min": 1.0, "inclusive": True}, {"light": "amber", "min": 0.9, "inclusive": True}]}


# ---- calendar progress -----------------------------------------------------------------------

def test_calendar_progress_golden_cases():
    # 江门 bulletin: Jan–Mar 30.90 % of plan, 5.90 points ahead → 25.00 %
    q1 = at.calendar_progress(2019, 3)
    assert q1 == 0.25
    assert round(30.90 - 100 * q1, 2) == 5.90
    # Jan–Oct: 97.2 % of plan, 13.8 points ahead → 83.4 % published, 10/12 = 83.33 %
    oct_ = at.calendar_progress(2019, 10)
    assert oct_ == pytest.approx(10 / 12)
    assert abs(100 * oct_ - (97.2 - 13.8)) < 0.1
    # CAS budget: Jan–Jul 56.47 %, 1.53 below → 58 % ≈ 7/12
    assert abs(100 * at.calendar_progress(2016, 7) - (56.47 + 1.53)) < 0.5


def test_calendar_progress_days_and_plan():
    # days basis: Q1 of a common year is 90/365 = 24.66 % ("about 24.7 %"); a leap year 91/366
    assert at.calendar_progress(2023, 3, "days") == pytest.approx(90 / 365)
    assert round(100 * at.calendar_progress(2023, 3, "days"), 1) == 24.7
    assert at.calendar_progress(2024, 3, "days") == pytest.approx(91 / 366)
    assert at.calendar_progress(2023, 12, "days") == 1.0
    assert at.calendar_progress(2023, 1, "days", day=10) == pytest.approx(10 / 365)
    plan = monitoring_rules("default").calendar.plan
    assert at.calendar_progress(2023, 4, "plan", plan) == plan[3]
    with pytest.raises(ValueError):
        at.calendar_progress(2023, 13)
    with pytest.raises(ValueError):
        at.calendar_progress(2023, 3, "plan")
    with pytest.raises(ValueError):
        at.calendar_progress(2023, 3, "weeks")


# ---- lights ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value,light", [(0.0, "green"), (0.01, "green"), (-0.01, "amber"), (-2.0, "amber"),
                                         (-2.0001, "red"), (None, "grey")])
def test_growth_bands_at_the_boundaries(value, light):
    assert at.band(value, GROWTH["bands"], "red") == light


def test_inclusive_is_a_parameter():
    exclusive = [{"light": "green", "min": 1.0, "inclusive": False}, {"light": "amber", "min": 0.9, "inclusive": False}]
    assert at.band(1.0, exclusive) == "amber"
    assert at.band(0.9, exclusive) == "red"
    assert at.band(9 / 10, RATIO["bands"]) == "amber"          # floating 0.9 meets the inclusive bound


def test_level_ratio_against_calendar_progress():
    # 97.2 % of the plan by October: ratio 0.972 / 0.8333 = 1.166 → green; gap +13.87 points
    res = at.level_light(97.2, 100.0, 10 / 12, "higher", RATIO, cumulative=True)
    assert res["light"] == "green"
    assert res["ratio"] == pytest.approx(0.972 / (10 / 12))
    assert res["gap_points"] == pytest.approx(97.2 - 100 * 10 / 12)
    assert res["completion"] == pytest.approx(0.972)
    # exactly 90 % of the share due is amber, just below is red
    assert at.level_light(0.9 * 25, 100.0, 0.25, "higher", RATIO, True)["light"] == "amber"
    assert at.level_light(0.9 * 25 - 0.01, 100.0, 0.25, "higher", RATIO, True)["light"] == "red"
    # a non-cumulative level is compared with the whole target whatever the month
    assert at.level_light(95.0, 100.0, 0.25, "higher", RATIO, False)["ratio"] == pytest.approx(0.95)


def test_yinchuan_scheme():
    r = monitoring_rules("yinchuan")
    light = lambda done: at.level_light(done, 100.0, 0.5, "higher", r.level, True)["light"]  # noqa: E731
    assert light(50.0) == "green"                 # at 序时进度
    assert light(40.0) == "amber"                 # 10 behind (the 0–10 band: amber by choice)
    assert light(20.0) == "amber"                 # 30 behind, inclusive
    assert light(19.99) == "red"                  # more than 30 behind


def test_ratio_four_colours():
    r = monitoring_rules("ratio4")
    light = lambda done: at.level_light(done, 100.0, 1.0, "higher", r.level, False)["light"]  # noqa: E731
    assert [light(100), light(95), light(90), light(89.9), light(50.01), light(50), light(10)] == \
        ["green", "amber", "amber", "orange", "orange", "red", "red"]


def test_lower_is_better():
    # energy per value added: target 0.5, 0.45 is better than the target, 0.6 worse
    assert at.level_light(0.45, 0.5, 1.0, "lower", RATIO, False)["light"] == "green"
    res = at.level_light(0.6, 0.5, 1.0, "lower", RATIO, False)
    assert res["ratio"] == pytest.approx(0.5 / 0.6) and res["light"] == "red"
    assert at.level_light(0.54, 0.5, 1.0, "lower", RATIO, False)["light"] == "amber"   # 0.926
    # growth target −3 %: −1 % is 2 points short (amber, inclusive), −0.5 % red, −4 % green
    assert at.growth_light(-1.0, -3.0, "lower", GROWTH)["light"] == "amber"
    assert at.growth_light(-0.5, -3.0, "lower", GROWTH)["light"] == "red"
    assert at.growth_light(-4.0, -3.0, "lower", GROWTH)["gap_points"] == pytest.approx(1.0)
    # zero use against a lower-is-better target is met
    assert at.level_light(0.0, 0.5, 1.0, "lower", RATIO, False)["light"] == "green"


def test_zero_and_negative_targets():
    zero = at.level_light(3.0, 0.0, 0.5, "higher", RATIO, True)
    assert zero["light"] == "green" and zero["ratio"] is None and zero["note"]
    assert at.level_light(-1.0, 0.0, 0.5, "higher", RATIO, True)["light"] == "red"
    # a loss no larger than 5 (target −5): −3 meets it, −8 does not
    assert at.level_light(-3.0, -5.0, 1.0, "higher", RATIO, False)["light"] == "green"
    assert at.level_light(-8.0, -5.0, 1.0, "higher", RATIO, False)["light"] == "red"
    # a growth target of −2 % is compared in points, never as a ratio
    assert at.growth_light(-1.0, -2.0, "higher", GROWTH)["gap_points"] == pytest.approx(1.0)


def test_future_targets_by_the_growth_needed():
    # 100 now, 121 in two years: 10 % a year needed
    res = at.future_light(100.0, 121.0, 2, 12.0, "higher")
    assert res["needed_growth"] == pytest.approx(10.0) and res["light"] == "amber" and res["on_trend"]
    assert at.future_light(100.0, 121.0, 2, 8.0, "higher")["light"] == "red"
    assert at.future_light(130.0, 121.0, 2, -5.0, "higher")["light"] == "green"
    assert at.future_light(None, 121.0, 2, 8.0, "higher")["light"] == "grey"


def test_growth_rate_and_worst():
    assert at.growth_rate(110.0, 100.0) == pytest.approx(10.0)
    assert at.growth_rate(1.0, 0.0) is None and at.growth_rate(None, 1.0) is None
    assert at.worst(["green", "amber", "grey"]) == "amber"
    assert at.worst(["grey"]) == "grey"
    assert at.threshold_flag(5.0, 10.0, 40.0, "higher") == "alert"
    assert at.threshold_flag(40.0, 10.0, 40.0, "higher") == "excellent"
    assert at.threshold_flag(0.9, 0.8, 0.2, "lower") == "alert"
    assert at.threshold_flag(0.5, 0.8, 0.2, "lower") is None


# ---- forecast --------------------------------------------------------------------------------

def _flat(per_month: float) -> dict:
    return {m: per_month * m for m in range(1, 13)}


def test_forecast_on_a_known_series():
    # every year the same flat profile, 10 % more each year: share of year is exact
    series = {2021: _flat(10.0), 2022: _flat(11.0), 2023: {m: 12.1 * m for m in range(1, 7)}}
    assert at.share_of_year(series, 2023, 6) == pytest.approx(12.1 * 12)
    assert at.seasonal_naive(series, 2023, 6) == pytest.approx(12.1 * 6 + 11.0 * 6)
    f = at.forecast(series, 2023, 6)
    assert f["method"] == "share_of_year"
    assert f["point"] == pytest.approx(145.2)
    assert f["rmse"] == pytest.approx(0.0, abs=1e-12) and f["n_backtests"] == 1
    assert f["low"] == pytest.approx(145.2) and f["high"] == pytest.approx(145.2)
    naive = next(m for m in f["methods"] if m["method"] == "seasonal_naive")
    # back-test 2022 at June: 66 + (120 − 60) = 126 against 132 → −4.545 %
    assert naive["backtest"][0]["error"] == pytest.approx(126 / 132 - 1)


def test_forecast_interval_from_back_test_errors():
    # a back-loaded year (2022) then a flat one: the share of year misses, its error sizes the band
    back = {m: v for m, v in zip(range(1, 13), [5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90])}
    series = {2021: _flat(10.0), 2022: {m: v * 120 / 90 for m, v in back.items()}, 2023: {m: 10.0 * m for m in range(1, 7)}}
    f = at.forecast(series, 2023, 6, methods=("share_of_year",), z=1.645)
    bt = f["methods"][0]["backtest"]
    assert [e["year"] for e in bt] == [2022]
    e = bt[0]["error"]
    assert e == pytest.approx((40.0 * 2) / 120 - 1)        # 2022 at June: 40 ÷ 0.5 = 80 against 120
    assert f["rmse"] == pytest.approx(abs(e))
    assert f["low"] == pytest.approx(f["point"] * (1 - 1.645 * abs(e)))
    assert f["high"] == pytest.approx(f["point"] * (1 + 1.645 * abs(e)))


def test_forecast_without_history():
    f = at.forecast({2023: {1: 5.0, 2: 9.0}}, 2023, 2)
    assert f["point"] is None and f["note"]
    one = at.forecast({2022: _flat(1.0), 2023: {1: 2.0}}, 2023, 1, min_backtests=1)
    assert one["point"] == pytest.approx(24.0) and one["low"] is None   # no earlier year to back-test


# ---- composite index -------------------------------------------------------------------------

def test_efficacy_scores():
    s = at.efficacy_scores({"a": 10.0, "b": 20.0, "c": 15.0, "d": None}, "higher")
    assert s == {"a": 60.0, "b": 100.0, "c": 80.0}
    assert at.efficacy_scores({"a": 10.0, "b": 20.0}, "lower") == {"a": 100.0, "b": 60.0}
    assert at.efficacy_scores({"a": 3.0, "b": 3.0}, "higher") == {"a": 100.0, "b": 100.0}


def test_composite_index_ranks_and_missing():
    rows = {"x": {"g": 10.0, "l": 1.0}, "y": {"g": 20.0, "l": 2.0}, "z": {"g": None, "l": 1.5}}
    items = [("g", 0.5), ("l", 0.5)]
    out = at.composite_index(rows, items, {"g": "higher", "l": "lower"})
    by = {r["key"]: r for r in out}
    assert by["x"]["index"] == pytest.approx((60 + 100) / 2)
    assert by["y"]["index"] == pytest.approx((100 + 60) / 2)
    assert by["z"]["index"] == pytest.approx((60 + 80) / 2) and by["z"]["missing"] == ["g"]
    assert by["x"]["rank"] == by["y"]["rank"] == 1 and by["z"]["rank"] == 3     # ties share a rank
    skip = {r["key"]: r for r in at.composite_index(rows, items, {"g": "higher", "l": "lower"}, missing="skip")}
    assert skip["z"]["index"] == pytest.approx(80.0)
    assert not math.isnan(skip["x"]["index"])
