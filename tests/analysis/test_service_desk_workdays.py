"""The working-day clock against the official calendar of the chinese_calendar package (issue 12)."""

from __future__ import annotations

import datetime as dt
import warnings

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shanhai.analysis import workdays as wd

FIRST, LAST = wd.coverage()
COVERED = st.dates(min_value=dt.date(FIRST, 1, 1), max_value=dt.date(LAST, 12, 31))


def test_every_day_of_the_covered_years_agrees_with_the_package():
    d = dt.date(FIRST, 1, 1)
    while d.year <= LAST:
        assert wd.is_workday(d) == chinese_calendar.is_workday(d), d
        d += dt.timedelta(days=1)


@settings(max_examples=400, deadline=None)
@given(COVERED, st.integers(min_value=0, max_value=60))
def test_add_workdays_lands_on_the_nth_official_working_day(start, n):
    end = wd.add_workdays(start, n)
    if not (FIRST <= end.year <= LAST):
        return
    if n == 0:
        assert end == start
        return
    assert chinese_calendar.is_workday(end)
    days = []
    d = start
    while len(days) < n:
        d += dt.timedelta(days=1)
        if chinese_calendar.is_workday(d):
            days.append(d)
    assert end == days[-1]
    assert wd.workdays_between(start, end) == n


@settings(max_examples=400, deadline=None)
@given(COVERED, COVERED)
def test_workdays_between_counts_official_days_and_inverts_add(a, b):
    lo, hi = sorted((a, b))
    if (hi - lo).days <= 400:
        expected = len(chinese_calendar.get_workdays(lo + dt.timedelta(days=1), hi)) if hi > lo else 0
        assert wd.workdays_between(lo, hi) == expected
        assert wd.workdays_between(hi, lo) == -expected
    if b > a and chinese_calendar.is_workday(b):
        assert wd.add_workdays(a, wd.workdays_between(a, b)) == b


def test_holidays_and_make_up_days():
    # 2025 Spring Festival: 01-28 … 02-04 off, Sun 01-26 and Sat 02-08 are make-up working days
    assert not wd.is_workday(dt.date(2025, 1, 29))
    assert wd.is_workday(dt.date(2025, 1, 26)) and wd.is_workday(dt.date(2025, 2, 8))
    assert wd.add_workdays(dt.date(2025, 1, 27), 1) == dt.date(2025, 2, 5)
    assert wd.add_workdays(dt.date(2025, 1, 24), 1) == dt.date(2025, 1, 26)


def test_counting_convention():
    thu = dt.date(2025, 3, 6)
    assert wd.due_date(thu, 2, receipt_day=0) == dt.date(2025, 3, 10)
    assert wd.due_date(thu, 2, receipt_day=1) == dt.date(2025, 3, 7)
    sat = dt.date(2025, 3, 8)   # a receipt on a rest day is not day 1 under either convention
    assert wd.due_date(sat, 1, receipt_day=1) == wd.due_date(sat, 1, receipt_day=0) == dt.date(2025, 3, 10)


def test_a_year_past_the_package_warns_and_counts_weekdays():
    later = dt.date(LAST + 1, 3, 2)
    wd._WARNED.discard(LAST + 1)
    with pytest.warns(wd.CalendarCoverageWarning, match=str(LAST + 1)):
        due = wd.add_workdays(later, 5)
    assert due == wd.add_workdays(later, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wd.workdays_between(later, due) == 5   # warned once per year, not again
    assert due.weekday() < 5


def test_bad_input_is_a_clear_error():
    from shanhai.errors import ShanhaiError
    with pytest.raises(ShanhaiError, match="not a date"):
        wd.add_workdays("2025-13-40", 1)
    with pytest.raises(ShanhaiError, match="0 or more"):
        wd.add_workdays(dt.date(2025, 3, 6), -1)
    with pytest.raises(ShanhaiError, match="receipt_day"):
        wd.due_date(dt.date(2025, 3, 6), 2, receipt_day=2)
