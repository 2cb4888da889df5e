"""Targets against the calendar (序时进度), their lights, the year-end forecast and the composite
regional index: pure functions on plain numbers (no store). The rules are data
(``policy.monitoring_rules``); the sources are in monitoring_methods.md §1, §6–7.

**Calendar progress (序时进度).** The share of the year elapsed at the end of month ``m``:

- ``months``: m ÷ 12 (the working convention: Q1 = 25.00 %, Jan–Oct = 83.3 %, published as 83.4);
- ``days``: days from 1 January to the end of month m (or to a given day, counting it) ÷ days in
  the year (Q1 of a common year: 90 ÷ 365 = 24.66 %);
- ``plan``: a cumulative plan profile, the share of the year's target due by month m.

**Lights.** A growth target (``kind = growth``, in percent): gap = actual growth − target, in
points (reversed for lower-is-better: target − actual); no calendar: a cumulative growth is
already comparable with the annual one. A level target: the share due now is ``due = target ×
progress`` for cumulative monthly figures and ``target`` otherwise; the measure is
``ratio = actual ÷ due`` (lower is better: ``due ÷ actual``) or ``gap_points = 100 × (actual −
due) ÷ target`` (lower: reversed). The measure is then placed in the rule's bands, best first
(``min`` and ``inclusive``), ``otherwise`` the last colour. A target of zero or below has no
ratio: met (actual on the right side of it) is green, else the ``otherwise`` colour.

**Forecast of the year end** from the cumulative monthly series ``c[y][m]`` (m = 1…12):

- share of year (预计估算法): F = c[Y][m] ÷ s, s = mean over the k previous years of
  c[y][m] ÷ c[y][12];
- seasonal naive: F = c[Y][m] + (c[Y−1][12] − c[Y−1][m]) (the rest of the year as last year).

Each method is back-tested on every earlier year that has its own history: the relative error
e = F ÷ actual − 1; the method with the smaller RMSE of e is used; the interval is
F × (1 ± z × RMSE) (z = 1.645 ≈ 90 % under normal errors).

**Composite index** (efficacy-coefficient method, 功效系数法): within a group each indicator
scores base + span × (x − min) ÷ (max − min) (lower is better: max − x); all equal: base + span;
the index is Σ weight × score ÷ Σ weight. A missing figure scores ``base`` (or is skipped and the
weights re-normalised), and is flagged.
"""

from __future__ import annotations

import calendar as _cal
import math
from datetime import date

EPS = 1e-9
LIGHT_ORDER = {"red": 0, "orange": 1, "amber": 2, "green": 3, "grey": 4}
LIGHT_LABELS = {"green": ("绿灯", "Green"), "amber": ("黄灯", "Amber"), "orange": ("橙灯", "Orange"),
                "red": ("红灯", "Red"), "grey": ("无数据", "No data")}


# ---- calendar --------------------------------------------------------------------------------

def calendar_progress(year: int, month: int, basis: str = "months", plan=None, day: int | None = None) -> float:
    """序时进度 at the end of ``month`` of ``year`` (or on ``day`` of it, days basis only), 0–1."""
    if not 1 <= int(month) <= 12:
        raise ValueError(f"month must be 1–12, got {month}")
    if basis == "months":
        return month / 12
    if basis == "days":
        last = _cal.monthrange(year, month)[1]
        d = date(year, month, last if day is None else day)
        total = 366 if _cal.isleap(year) else 365
        return ((d - date(year, 1, 1)).days + 1) / total
    if basis == "plan":
        if plan is None or len(plan) != 12:
            raise ValueError("the plan basis needs 12 cumulative shares")
        return float(plan[month - 1])
    raise ValueError(f"unknown calendar basis {basis!r}: expected months, days or plan")


# ---- lights ----------------------------------------------------------------------------------

def band(value: float | None, bands, otherwise: str = "red") -> str:
    """The first band (best first) whose ``min`` the value exceeds (or equals, when inclusive);
    ``otherwise`` below them all; grey for no value. Values are rounded to 9 decimals first, so a
    boundary computed in floating point (0.9 from 9 ÷ 10) meets an inclusive bound."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "grey"
    v = round(float(value), 9)
    for b in bands:
        lo = float(b["min"] if isinstance(b, dict) else b.min)
        inclusive = b["inclusive"] if isinstance(b, dict) else b.inclusive
        light = b["light"] if isinstance(b, dict) else b.light
        if v > lo or (inclusive and v == round(lo, 9)):
            return light
    return otherwise


def growth_rate(current: float | None, previous: float | None) -> float | None:
    """Growth in percent: 100 × (current ÷ previous − 1); None without a positive previous value."""
    if current is None or previous is None or previous <= 0:
        return None
    return 100.0 * (current / previous - 1.0)


def growth_light(actual_growth: float | None, target_growth: float, direction: str, rule) -> dict:
    """A growth target: gap in points (actual − target; lower is better: target − actual)."""
    if actual_growth is None:
        return {"measure": "gap_points", "gap_points": None, "light": "grey"}
    gap = actual_growth - target_growth if direction == "higher" else target_growth - actual_growth
    return {"measure": "gap_points", "gap_points": gap, "light": band(gap, _bands(rule), _otherwise(rule))}


def level_light(actual: float | None, target: float, progress: float, direction: str, rule,
                cumulative: bool) -> dict:
    """A level target against the share due by now (序时进度 for cumulative figures)."""
    due = target * progress if cumulative else target
    out = {"due": due, "completion": None, "ratio": None, "gap_points": None, "measure": _measure(rule)}
    if actual is None:
        return {**out, "light": "grey"}
    if target > 0:
        out["completion"] = actual / target if direction == "higher" else (target / actual if actual > 0 else None)
    if target <= 0 or due <= 0:
        met = actual >= due if direction == "higher" else actual <= due
        return {**out, "light": "green" if met else _otherwise(rule), "note": "目标为零或负, 按是否达到判断"}
    gap = 100.0 * (actual - due) / target if direction == "higher" else 100.0 * (due - actual) / target
    if direction == "higher":
        ratio = actual / due
    else:
        ratio = due / actual if actual > 0 else math.inf
    out["ratio"] = None if math.isinf(ratio) else ratio
    out["gap_points"] = gap
    measure = ratio if out["measure"] == "ratio" else gap
    return {**out, "light": band(measure, _bands(rule), _otherwise(rule))}


def future_light(actual: float | None, target: float, years_left: int, recent_growth: float | None,
                 direction: str, amber_if_on_trend: bool = True) -> dict:
    """A level target of a later year: green when already reached; otherwise the annual growth
    needed, (target ÷ actual)^(1 ÷ years_left) − 1, against the latest annual growth: amber when
    the trend reaches it in time (``amber_if_on_trend``), red when it does not."""
    if actual is None:
        return {"light": "grey", "needed_growth": None}
    reached = actual >= target if direction == "higher" else actual <= target
    if reached:
        return {"light": "green", "needed_growth": None}
    if actual <= 0 or target <= 0 or years_left <= 0:
        return {"light": "red", "needed_growth": None}
    needed = 100.0 * ((target / actual) ** (1.0 / years_left) - 1.0)
    if recent_growth is None:
        return {"light": "amber", "needed_growth": needed, "on_trend": None}
    on_trend = recent_growth >= needed if direction == "higher" else recent_growth <= needed
    return {"light": "amber" if (on_trend and amber_if_on_trend) else "red", "needed_growth": needed,
            "on_trend": on_trend}


def worst(lights) -> str:
    """The worst light among ``lights`` (grey when none has data)."""
    seen = [lt for lt in lights if lt != "grey"]
    return min(seen, key=LIGHT_ORDER.__getitem__) if seen else "grey"


def threshold_flag(value: float | None, alert: float | None, excellence: float | None, direction: str) -> str | None:
    """``alert`` when the headline figure is on the wrong side of the alert threshold (below it,
    or above for lower-is-better), ``excellent`` past the excellence threshold, else None."""
    if value is None:
        return None
    sign = 1 if direction == "higher" else -1
    if alert is not None and sign * (value - alert) < 0:
        return "alert"
    if excellence is not None and sign * (value - excellence) >= 0:
        return "excellent"
    return None


def _bands(rule):
    return rule["bands"] if isinstance(rule, dict) else rule.bands


def _otherwise(rule):
    return rule["otherwise"] if isinstance(rule, dict) else rule.otherwise


def _measure(rule):
    return rule["measure"] if isinstance(rule, dict) else rule.measure


# ---- forecast --------------------------------------------------------------------------------

def _get(series: dict, y: int, m: int):
    row = series.get(y)
    if row is None:
        return None
    v = row.get(m) if isinstance(row, dict) else (row[m - 1] if len(row) >= m else None)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def share_of_year(series: dict, year: int, month: int, k: int = 1) -> float | None:
    """预计估算法: c[Y][m] ÷ mean of c[y][m] ÷ c[y][12] over the k years before Y (those with both)."""
    now = _get(series, year, month)
    if now is None:
        return None
    shares = []
    for y in range(year - 1, year - 1 - k, -1):
        a, b = _get(series, y, month), _get(series, y, 12)
        if a is not None and b is not None and b > 0:
            shares.append(a / b)
    if not shares:
        return None
    s = sum(shares) / len(shares)
    return now / s if s > 0 else None


def seasonal_naive(series: dict, year: int, month: int, k: int = 1) -> float | None:
    """c[Y][m] + (c[Y−1][12] − c[Y−1][m]): the rest of the year as last year's (``k`` unused)."""
    now, last_end, last_m = _get(series, year, month), _get(series, year - 1, 12), _get(series, year - 1, month)
    if now is None or last_end is None or last_m is None:
        return None
    return now + (last_end - last_m)


METHODS = {"share_of_year": share_of_year, "seasonal_naive": seasonal_naive}
METHOD_LABELS = {"share_of_year": ("预计估算法(上年占比)", "Share of year"),
                 "seasonal_naive": ("季节朴素法(余月同上年)", "Seasonal naive")}


def backtest(series: dict, month: int, method: str, before: int, k: int = 1) -> list[dict]:
    """Relative errors F ÷ actual − 1 of ``method`` at ``month`` for every year before ``before``
    whose year end is known and whose method has its history."""
    out = []
    for y in sorted(series):
        if y >= before:
            continue
        actual = _get(series, y, 12)
        f = METHODS[method](series, y, month, k)
        if actual is None or actual <= 0 or f is None:
            continue
        out.append({"year": y, "forecast": f, "actual": actual, "error": f / actual - 1.0})
    return out


def forecast(series: dict, year: int, month: int, methods=("share_of_year", "seasonal_naive"), k: int = 1,
             z: float = 1.645, min_backtests: int = 1) -> dict:
    """The year-end forecast of a cumulative monthly series at month ``month`` of ``year``: the
    method with the smaller back-test RMSE, its point, interval and the back-test it rests on."""
    tried = []
    for name in methods:
        point = METHODS[name](series, year, month, k)
        bt = backtest(series, month, name, year, k)
        rmse = math.sqrt(sum(e["error"] ** 2 for e in bt) / len(bt)) if bt else None
        mape = sum(abs(e["error"]) for e in bt) / len(bt) if bt else None
        tried.append({"method": name, "point": point, "backtest": bt, "rmse": rmse, "mape": mape})
    usable = [t for t in tried if t["point"] is not None]
    if not usable:
        return {"method": None, "point": None, "low": None, "high": None, "rmse": None, "n_backtests": 0,
                "methods": tried, "note": "历史不足, 无法预测 not enough history"}
    scored = [t for t in usable if t["rmse"] is not None and len(t["backtest"]) >= min_backtests]
    best = min(scored, key=lambda t: (t["rmse"], methods.index(t["method"]))) if scored else usable[0]
    low = high = None
    if best in scored:
        low = best["point"] * (1 - z * best["rmse"])
        high = best["point"] * (1 + z * best["rmse"])
    return {"method": best["method"], "point": best["point"], "low": low, "high": high, "rmse": best["rmse"],
            "mape": best["mape"], "n_backtests": len(best["backtest"]), "methods": tried,
            "note": None if low is not None else "回测年份不足, 仅给点预测 too few back-test years for an interval"}


# ---- composite index -------------------------------------------------------------------------

def efficacy_scores(values: dict, direction: str, base: float = 60.0, span: float = 40.0) -> dict:
    """功效系数法 within one group: key → base + span × (x − min) ÷ (max − min) (reversed for
    lower-is-better); every key with a value scores base + span when all values are equal; keys
    without a value are absent."""
    have = {k: float(v) for k, v in values.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}
    if not have:
        return {}
    lo, hi = min(have.values()), max(have.values())
    out = {}
    for key, v in have.items():
        if hi - lo <= EPS:
            out[key] = base + span
        else:
            frac = (v - lo) / (hi - lo) if direction == "higher" else (hi - v) / (hi - lo)
            out[key] = base + span * frac
    return out


def composite_index(rows: dict, items, directions: dict, base: float = 60.0, span: float = 40.0,
                    missing: str = "base") -> list[dict]:
    """The index of each key in one group. ``rows``: key → {item key: value}; ``items``: (item key,
    weight); ``directions``: item key → higher | lower. Returns rows ranked (1 = best; ties share
    the rank) with each item's score and the missing items."""
    scores = {key: efficacy_scores({k: r.get(key) for k, r in rows.items()}, directions[key], base, span)
              for key, _ in items}
    out = []
    for k in rows:
        total = weights = 0.0
        parts, missing_items = {}, []
        for key, w in items:
            s = scores[key].get(k)
            if s is None:
                missing_items.append(key)
                if missing == "skip":
                    continue
                s = base
            parts[key] = s
            total += w * s
            weights += w
        out.append({"key": k, "index": total / weights if weights else None, "scores": parts,
                    "missing": missing_items})
    ranked = sorted(out, key=lambda r: (r["index"] is None, -(r["index"] or 0.0), r["key"]))
    rank, prev = 0, None
    for i, r in enumerate(ranked, 1):
        if r["index"] is None:
            r["rank"] = None
            continue
        value = round(r["index"], 9)
        if value != prev:
            rank, prev = i, value
        r["rank"] = rank
    return ranked
