"""Working-day clock (工作日) for request time limits: the State Council's public holidays AND its
make-up working days (调休上班), read from the maintained ``chinese_calendar`` package
(``chinesecalendar`` on PyPI, updated every year when the State Council publishes the next
year's arrangement). Pure functions, no store.

**Calendar.** A day is a working day when the package lists it as a make-up working day, or it
is Monday–Friday and not a listed holiday. For a year the package does not cover (before its
first year or after its last: :func:`coverage`) the clock falls back to Monday–Friday and warns
once per year with :class:`CalendarCoverageWarning` (a warning, not an error: the time limit is
still computed, but the holidays of that year are not known yet; update the package).

**Counting convention** (enterprise_service.md §1.3, §6.2: not stated in any readable text, so
a parameter of the SLA profile): ``receipt_day = 0`` — the day of receipt is day 0, the first
working day after it is day 1 (G10: submitted Thu 2025-03-06, 2 wd → Mon 2025-03-10);
``receipt_day = 1`` — the day of receipt counts as day 1 when it is a working day.

* ``add_workdays(start, n)`` = the n-th working day after ``start`` (n ≥ 1; n = 0 → ``start``;
  time limits only run forwards, so n < 0 is refused);
* ``workdays_between(a, b)`` = the number of working days d with a < d ≤ b (negative when b < a),
  so ``workdays_between(a, add_workdays(a, n)) == n`` and, for a working day b > a,
  ``add_workdays(a, workdays_between(a, b)) == b``;
* ``due_date(received, limit, receipt_day)`` = ``add_workdays(received, limit − receipt_day)``
  when ``receipt_day = 1`` and ``received`` is a working day, else ``add_workdays(received, limit)``;
* ``overdue_workdays(due, done)`` = max(0, workdays_between(due, done)) (G10: due Fri 2025-03-14,
  closed Mon 2025-03-17 → 1).
"""

from __future__ import annotations

import datetime as dt
import warnings
from bisect import bisect_left, bisect_right
from functools import lru_cache

import chinese_calendar
from chinese_calendar import constants as _cc

from shanhai.errors import ShanhaiError


class CalendarCoverageWarning(UserWarning):
    """A date lies in a year the holiday package does not cover: Monday–Friday were assumed."""


_WARNED: set[int] = set()


@lru_cache(maxsize=1)
def coverage() -> tuple[int, int]:
    """The first and last year the installed ``chinese_calendar`` package covers."""
    days = list(_cc.holidays) + list(_cc.workdays)
    return min(d.year for d in days), max(d.year for d in days)


def package_version() -> str:
    return getattr(chinese_calendar, "__version__", "unknown")


@lru_cache(maxsize=1)
def _tables() -> tuple[list[dt.date], list[dt.date]]:
    """Holidays that fall on Monday–Friday, and make-up working days (on weekends), sorted."""
    off = sorted(d for d in _cc.holidays if d.weekday() < 5)
    on = sorted(d for d in _cc.workdays if d.weekday() >= 5)
    return off, on


def _day(d) -> dt.date:
    if isinstance(d, dt.datetime):
        return d.date()
    if isinstance(d, dt.date):
        return d
    if isinstance(d, str):
        try:
            return dt.date.fromisoformat(d.strip()[:10])
        except ValueError:
            pass
    raise ShanhaiError(f"{d!r} is not a date like 2025-03-06")


def covered(d) -> bool:
    first, last = coverage()
    return first <= _day(d).year <= last


def _check(d: dt.date) -> None:
    first, last = coverage()
    if not first <= d.year <= last and d.year not in _WARNED:
        _WARNED.add(d.year)
        warnings.warn(f"工作日历未覆盖 {d.year} 年: chinese_calendar {package_version()} covers {first}–{last}; "
                      f"{d.year} counted Monday–Friday without holidays (update the chinesecalendar package)",
                      CalendarCoverageWarning, stacklevel=3)


def is_workday(d) -> bool:
    d = _day(d)
    _check(d)
    if covered(d):
        return chinese_calendar.is_workday(d)
    return d.weekday() < 5


def _weekdays_upto(d: dt.date) -> int:
    """Monday–Friday count in [0001-01-01 (a Monday), d]."""
    n = d.toordinal()          # ordinal 1 = Monday 0001-01-01
    w, r = divmod(n, 7)
    return w * 5 + min(r, 5)


def _count_upto(d: dt.date) -> int:
    """Working days in [0001-01-01, d]: weekdays − weekday holidays + make-up weekend days."""
    off, on = _tables()
    return _weekdays_upto(d) - bisect_right(off, d) + bisect_right(on, d)


def workdays_between(a, b) -> int:
    """Working days d with a < d ≤ b (negative when b < a): see the module docstring."""
    a, b = _day(a), _day(b)
    _check(a)
    _check(b)
    return _count_upto(b) - _count_upto(a)


def add_workdays(start, n: int) -> dt.date:
    """The ``n``-th working day after ``start`` (``start`` when 0)."""
    start = _day(start)
    if isinstance(n, bool) or int(n) != n:
        raise ShanhaiError(f"a number of working days must be a whole number (got {n!r})")
    n = int(n)
    if n < 0:
        raise ShanhaiError(f"a number of working days to add must be 0 or more (got {n})")
    _check(start)
    if n == 0:
        return start
    # jump close with 7/5 calendar days per working day, then walk (holidays make the jump short)
    target = _count_upto(start) + n
    guess = start + dt.timedelta(days=int(n * 7 / 5))
    d = guess
    while _count_upto(d) < target:
        d += dt.timedelta(days=1)
    while _count_upto(d - dt.timedelta(days=1)) >= target:
        d -= dt.timedelta(days=1)
    # d is the first day whose count reaches target: a working day
    while not _is_wd_fast(d):
        d += dt.timedelta(days=1)
    _check(d)
    return d


def _is_wd_fast(d: dt.date) -> bool:
    off, on = _tables()
    i = bisect_left(on, d)
    if i < len(on) and on[i] == d:
        return True
    j = bisect_left(off, d)
    return d.weekday() < 5 and not (j < len(off) and off[j] == d)


def due_date(received, limit_wd: int, receipt_day: int = 0) -> dt.date:
    """The due date of a step with a limit of ``limit_wd`` working days counted from ``received``
    under the counting convention ``receipt_day`` (0: the day after receipt is day 1; 1: the day of
    receipt is day 1 when it is a working day)."""
    if receipt_day not in (0, 1):
        raise ShanhaiError(f"receipt_day must be 0 or 1 (got {receipt_day!r})")
    received = _day(received)
    if limit_wd < 1:
        raise ShanhaiError(f"a time limit must be at least 1 working day (got {limit_wd!r})")
    if receipt_day == 1 and is_workday(received):
        return add_workdays(received, limit_wd - 1)
    return add_workdays(received, limit_wd)


def overdue_workdays(due, done) -> int:
    """Working days ``done`` lies after ``due`` (0 when on time)."""
    return max(0, workdays_between(due, done))


def dues(received, steps: dict[str, int], receipt_day: int = 0) -> dict[str, dt.date]:
    """The due date of every step of a profile (``{step: limit in wd}``) counted from ``received``."""
    return {k: due_date(received, v, receipt_day) for k, v in steps.items()}
