"""The synthetic province's monthly regional statistics (``indicator_values``) and the demo's
annual plans (``targets``, origin ``synthetic``) — one step of ``generator.generate``, after the
firms, their years and months. Deterministic for the step's own random stream.

Only what the store cannot compute is synthesised: the registry's imported monthly indicators
(cumulative, 1–N月累计, period ``YYYY-MM``) for every county, city and the province. The per-mu,
R&D, revenue and energy figures and industrial electricity are computed from the firms' data by
``jobs.targets`` and are not written here.

- ``industrial_va`` (规上工业增加值累计): each county's annual total is the sum of its above-scale
  firms' value added in ``enterprise_years``; it is spread over the months by the county's
  above-scale firms' electricity shape that year (``electricity_monthly``), each month's share
  jittered (log-normal, σ = 0.04) and renormalised, so the twelve months add up to the annual
  figure exactly;
- ``digital_core_va`` (数字经济核心产业制造业增加值累计): the same for firms of division 39
  (computer, communication and other electronic equipment), the proxy of digital-economy core
  manufacturing;
- ``mfg_investment`` (制造业投资累计): a county level of 15–35 % of its first year's value added,
  growing each year by a county trend plus noise (mean 8 %, some counties shrinking), spread over
  the months by a back-loaded investment profile;
- cities and the province: sums of their counties.

The last year stops at ``LAST_MONTH`` (October): the demo's "today", so calendar progress
(序时进度) is 10 ÷ 12 and the year-end forecast has something to forecast. The annual plans of
the last year (``targets``, origin ``synthetic``, source says so): an ``industrial_va`` growth
target per county and city around its full-year growth (−2.5 to +3.5 points, rounded to 0.5),
and a ``mfg_investment`` level plan per county and city (the previous year's total × 1.05–1.20):
together they give red, amber and green cases.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa

TABLES = ("indicator_values", "targets")
LAST_MONTH = 10
JITTER = 0.04
INVEST_PROFILE = np.array([4.0, 5.0, 8.0, 8.0, 8.5, 9.0, 8.5, 8.5, 9.0, 9.0, 10.0, 12.5])
SYNTH_SOURCE = "合成演示年度计划 synthetic demo plan (synth/indicators.py)"

_SCHEMAS = {
    "indicator_values": pa.schema([("indicator_id", pa.string()), ("adcode", pa.string()), ("period", pa.string()),
                                   ("value", pa.float64()), ("dataset_id", pa.string()), ("run_id", pa.string())]),
    "targets": pa.schema([("indicator_id", pa.string()), ("adcode", pa.string()), ("year", pa.int32()),
                          ("kind", pa.string()), ("applies_to", pa.string()), ("value", pa.float64()),
                          ("source", pa.string()), ("label", pa.string()), ("origin", pa.string()),
                          ("preset_id", pa.string()), ("set_by", pa.string()), ("set_at", pa.timestamp("us")),
                          ("dataset_id", pa.string())]),
}


def _annual(con, years, counties, where: str = "true") -> np.ndarray:
    """county × year: Σ value_added of above-scale firms (0 where none)."""
    rows = con.execute(f"""
        SELECT e.county_adcode, y.year, sum(y.value_added)::DOUBLE
        FROM ey y JOIN ent e USING (uscc)
        WHERE y.above_scale AND y.value_added IS NOT NULL AND {where}
        GROUP BY ALL""").fetchall()
    idx = {c: i for i, c in enumerate(counties)}
    yi = {y: j for j, y in enumerate(years)}
    out = np.zeros((len(counties), len(years)))
    for c, y, v in rows:
        if c in idx and y in yi:
            out[idx[c], yi[y]] = v or 0.0
    return out


def _shape(con, years, counties) -> np.ndarray:
    """county × year × month: the above-scale firms' electricity share of the year (flat if none)."""
    rows = con.execute("""
        SELECT e.county_adcode, year(m.month) AS y, month(m.month) AS mo, sum(m.kwh)::DOUBLE
        FROM elec m JOIN ent e USING (uscc)
        JOIN ey y ON y.uscc = m.uscc AND y.year = year(m.month) AND y.above_scale
        WHERE m.kwh IS NOT NULL GROUP BY ALL""").fetchall()
    idx = {c: i for i, c in enumerate(counties)}
    yi = {y: j for j, y in enumerate(years)}
    out = np.zeros((len(counties), len(years), 12))
    for c, y, mo, v in rows:
        if c in idx and y in yi:
            out[idx[c], yi[y], mo - 1] = max(v or 0.0, 0.0)
    total = out.sum(axis=2, keepdims=True)
    flat = np.full_like(out, 1 / 12)
    return np.where(total > 0, out / np.where(total > 0, total, 1), flat)


def _spread(rng, annual: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """county × year × month cumulative values whose December equals the annual figure."""
    w = shape * rng.lognormal(0.0, JITTER, shape.shape)
    w = w / w.sum(axis=2, keepdims=True)
    return np.cumsum(annual[:, :, None] * w, axis=2)


def generate(rng: np.random.Generator, config, tables: dict[str, pa.Table], geo, dataset: str) -> dict[str, pa.Table]:
    """The step (module docstring): returns ``indicator_values`` and ``targets``."""
    years = [int(y) for y in config.years]
    counties = [str(a) for a in geo.adcodes]
    cities = [str(a) for a in geo.city_adcodes]
    con = duckdb.connect()
    try:
        con.register("ent", tables["enterprises"].select(["uscc", "county_adcode", "industry_code"]))
        con.register("ey", tables["enterprise_years"].select(["uscc", "year", "above_scale", "value_added"]))
        con.register("elec", tables["electricity_monthly"].select(["uscc", "month", "kwh"]))
        shape = _shape(con, years, counties)
        va = _annual(con, years, counties)
        digital = _annual(con, years, counties, "e.industry_code LIKE '39%'")
    finally:
        con.close()
    C, Y = len(counties), len(years)
    series = {"industrial_va": _spread(rng, va, shape), "digital_core_va": _spread(rng, digital, shape)}

    # manufacturing investment: level, county trend, yearly noise, back-loaded months
    level = va[:, 0] * rng.uniform(0.15, 0.35, C)
    trend = rng.normal(0.08, 0.06, C)
    inv = np.zeros((C, Y))
    inv[:, 0] = level
    for j in range(1, Y):
        g = np.clip(trend + rng.normal(0.0, 0.08, C), -0.3, 0.5)
        inv[:, j] = inv[:, j - 1] * (1 + g)
    profile = np.broadcast_to(INVEST_PROFILE / INVEST_PROFILE.sum(), (C, Y, 12))
    series["mfg_investment"] = _spread(rng, inv, profile)

    city_codes = sorted(set(cities))
    members = {c: [i for i, x in enumerate(cities) if x == c] for c in city_codes}
    rows = []
    for ind, cum in series.items():
        regions = [(counties[i], cum[i]) for i in range(C)]
        regions += [(c, cum[members[c]].sum(axis=0)) for c in city_codes]
        regions.append(("330000", cum.sum(axis=0)))
        for adcode, values in regions:
            for j, y in enumerate(years):
                if values[j, 11] <= 0:
                    continue
                last = LAST_MONTH if j == Y - 1 else 12
                for m in range(last):
                    rows.append({"indicator_id": ind, "adcode": adcode, "period": f"{y}-{m + 1:02d}",
                                 "value": round(float(values[j, m]), 4), "dataset_id": dataset, "run_id": None})

    # the last year's demo plans
    targets = []
    y = years[-1]
    now = dt.datetime(y, 1, 15)
    va_units = [(counties[i], va[i]) for i in range(C)] + [(c, va[members[c]].sum(axis=0)) for c in city_codes]
    inv_units = [(counties[i], inv[i]) for i in range(C)] + [(c, inv[members[c]].sum(axis=0)) for c in city_codes]
    shifts = rng.uniform(-2.5, 3.5, len(va_units))
    plans = rng.uniform(1.05, 1.20, len(inv_units))
    for (adcode, v), shift in zip(va_units, shifts):
        if v[-2] <= 0 or v[-1] <= 0:
            continue
        growth = 100 * (v[-1] / v[-2] - 1)
        targets.append(_target("industrial_va", adcode, y, "growth", round(2 * (growth + shift)) / 2,
                               "规上工业增加值增速目标(合成)", dataset, now))
    for (adcode, v), plan in zip(inv_units, plans):
        if v[-2] <= 0:
            continue
        targets.append(_target("mfg_investment", adcode, y, "level", round(float(v[-2] * plan), 1),
                               "制造业投资年度计划(合成)", dataset, now))
    return {"indicator_values": pa.Table.from_pylist(rows, schema=_SCHEMAS["indicator_values"]),
            "targets": pa.Table.from_pylist(targets, schema=_SCHEMAS["targets"])}


def _target(indicator, adcode, year, kind, value, label, dataset, now) -> dict:
    return {"indicator_id": indicator, "adcode": adcode, "year": year, "kind": kind, "applies_to": "region",
            "value": float(value), "source": SYNTH_SOURCE, "label": f"{label} {year}", "origin": "synthetic",
            "preset_id": None, "set_by": "synth", "set_at": now, "dataset_id": dataset}
