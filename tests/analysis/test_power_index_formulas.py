"""The electricity-index formulas against the published 企业复工电力指数 figures
(reference/monitoring_methods.md §7) and the period arithmetic (Spring Festival pooling)."""

from __future__ import annotations

import datetime as dt

import pytest

from shanhai.analysis import power_index as api


def test_restart_index_golden_2020_02_10():
    energy = api.calc_ratio(40_541.65, 128_807.02)          # 万 kWh: restarted firms' day ÷ 2019 Q4 daily mean
    count = api.calc_ratio(64_590, 333_427)                 # restarted ÷ all enterprise customers
    assert round(100 * energy, 2) == 31.47
    assert round(100 * count, 2) == 19.37
    assert round(api.calc_composite_index(energy, count), 2) == 25.42


@pytest.mark.parametrize("energy, count, published", [(0.4528, 0.5760, 51.44), (0.4727, 0.6015, 53.71)])
def test_restart_index_golden_later_days(energy, count, published):
    assert round(api.calc_composite_index(energy, count), 2) == published


def test_weights_and_missing_halves():
    assert api.calc_composite_index(1.2, 0.5, 1.0, 0.0) == pytest.approx(120.0)
    assert api.calc_composite_index(None, 0.5) is None
    assert api.calc_composite_index(1.0, None) is None
    assert api.calc_ratio(5, 0) is None and api.calc_ratio(None, 3) is None and api.calc_ratio(5, -1) is None
    assert api.calc_index(1.081) == pytest.approx(108.1)


def test_average_daily_removes_month_length():
    assert api.calc_average_daily(3100, 31) == api.calc_average_daily(2800, 28) == 100
    with pytest.raises(ValueError):
        api.calc_average_daily(1, 0)


def test_periods_pool_january_into_february():
    d = dt.date
    assert api.period_of(d(2024, 1, 1), True) == d(2024, 2, 1)
    assert api.period_of(d(2024, 1, 1), False) == d(2024, 1, 1)
    assert api.periods(d(2024, 3, 1), 3, True) == [d(2023, 12, 1), d(2024, 2, 1), d(2024, 3, 1)]
    assert api.periods(d(2024, 3, 1), 3, False) == [d(2024, 1, 1), d(2024, 2, 1), d(2024, 3, 1)]
    assert api.periods(d(2024, 1, 1), 2, True) == [d(2023, 12, 1), d(2024, 2, 1)]   # January reads as Jan–Feb
    assert api.shift(d(2024, 1, 1), -13) == d(2022, 12, 1)
    assert api.period_label(d(2024, 2, 1), True) == "2024年1-2月"
    assert api.period_label(d(2024, 2, 1), True, "en") == "2024 Jan-Feb"
    assert api.period_label(d(2024, 6, 1), True) == "2024年6月"
