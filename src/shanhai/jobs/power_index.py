"""Electricity indices against the store: the production index by region and industry division
and the chain operation index by chain and segment (产业链运行指数), month by month, as stored
runs. The formulas are in :mod:`shanhai.analysis.power_index`.

``run`` computes every cell of a region (the province by default) for the last ``months`` periods
up to a month (default: the latest month with electricity data) and stores them in
``power_index_values`` under a new ``runs`` row (kind ``power_index``) — never overwritten. Cells:
the region itself, its cities and its counties, each for all manufacturing ('all'), every industry
division, every chain and every chain segment (member firms by ``enterprise_segments``, manual
exclusions left out; a firm in two segments counts in both, once in its chain).

**Scope.** Readers pick the newest run whose region contains the region asked for, and return
only cells whose region lies inside the caller's scope (a county user reads its own county's
cells: never a city's or the province's, which include other counties' firms).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from typing import Callable

from shanhai import __version__
from shanhai.analysis import power_index as api
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._power_index import IndexRules, index_rules
from shanhai.jobs._runs import overlapping
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import Scope
from shanhai.store.sql import literal, values

KIND = "power_index"
INDEX_KINDS = ("production", "chain")
Progress = Callable[[str, float], None]
LEVEL_LABELS = {"province": ("全省", "Province"), "city": ("市", "City"), "county": ("县(市、区)", "County")}


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def latest_month(store: Store) -> dt.date:
    row = store.con.execute("SELECT max(month) FROM electricity_monthly WHERE kwh IS NOT NULL").fetchone()
    if row is None or row[0] is None:
        raise ShanhaiError("no monthly electricity in the database: import some first "
                           "(`shanhai import electricity FILE`)")
    return row[0]


def _month(value) -> dt.date:
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, 1)
    text = str(value).strip()
    for fmt in ("%Y-%m", "%Y-%m-%d", "%Y%m"):
        try:
            d = dt.datetime.strptime(text, fmt).date()
            return dt.date(d.year, d.month, 1)
        except ValueError:
            continue
    raise ShanhaiError(f"month {text!r} is not a month: expected YYYY-MM (e.g. 2024-06)")


def _base_year(store: Store, rules: IndexRules) -> int | None:
    if rules.base_year is not None:
        return rules.base_year
    row = store.con.execute(
        "SELECT min(y) FROM (SELECT year(month) AS y FROM electricity_monthly WHERE kwh IS NOT NULL "
        "GROUP BY 1 HAVING count(DISTINCT month(month)) = 12)").fetchone()
    return row[0] if row else None


def fingerprint(store: Store, where: str) -> str:
    row = store.con.execute(
        "SELECT count(*), sum(m.kwh), min(m.month), max(m.month), "
        "bit_xor(hash(m.uscc || m.month::VARCHAR || coalesce(m.kwh::VARCHAR, ''))) "
        f"FROM electricity_monthly m JOIN enterprises e ON e.uscc = m.uscc WHERE {where}").fetchone()
    seg = store.con.execute("SELECT count(*), bit_xor(hash(uscc || segment_id || role)) FROM enterprise_segments").fetchone()
    return hashlib.sha256(repr((row, seg)).encode()).hexdigest()[:16]


# ---- computing a run ------------------------------------------------------------------------

def run(store: Store, *, month=None, region: str | None = None, rules: str = "default", user: str | None = None,
        progress: Progress | None = None) -> dict:
    """Compute and store the indices of ``region`` (default: the province) for the ``rules.months``
    periods up to ``month`` (default: the latest month with data). Returns the run's summary."""
    step = progress or (lambda label, fraction: None)
    started = time.perf_counter()
    r = index_rules(rules)
    scope = Scope.of(store, region)
    last = _month(month) if month is not None else latest_month(store)
    window = api.periods(last, r.months, r.pool_jan_feb)
    base_year = _base_year(store, r)
    first_needed = api.shift(window[0], -13)
    months_sql = (f"m.month BETWEEN {literal(first_needed)} AND {literal(last)}"
                  + (f" OR year(m.month) = {int(base_year)}" if base_year else ""))
    where = scope.sql("e.county_adcode")
    con = store.con
    step("读取月度用电 reading monthly electricity", 0.1)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _pi_fp AS {api.firm_periods_sql(where, months_sql, r.pool_jan_feb)}")
    n_firms = con.execute(f"SELECT count(DISTINCT uscc) FROM _pi_fp WHERE period <= {literal(last)}").fetchone()[0]
    if n_firms == 0:
        con.execute("DROP TABLE IF EXISTS _pi_fp")
        raise ShanhaiError(f"no electricity use in {scope.name or scope.adcode} up to {last:%Y-%m}: "
                           "nothing to index")
    step("归属 groups", 0.25)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _pi_g AS
        WITH firms AS (SELECT DISTINCT uscc, division FROM _pi_fp)
        SELECT uscc, 'production' AS kind, 'all' AS group_id FROM firms
        UNION ALL SELECT uscc, 'production', division FROM firms
        UNION ALL SELECT DISTINCT s.uscc, 'chain', s.segment_id FROM enterprise_segments s
            JOIN firms f ON f.uscc = s.uscc WHERE s.role <> 'excluded'
        UNION ALL SELECT DISTINCT s.uscc, 'chain', c.chain_id FROM enterprise_segments s
            JOIN chain_segments c ON c.segment_id = s.segment_id JOIN firms f ON f.uscc = s.uscc
            WHERE s.role <> 'excluded'""")
    region_cols = """coalesce(county, city, '330000') AS adcode,
                     CASE WHEN county IS NOT NULL THEN 'county' WHEN city IS NOT NULL THEN 'city'
                          ELSE 'province' END AS level"""
    sets = "GROUPING SETS ((kind, group_id, period, county), (kind, group_id, period, city), (kind, group_id, period))"
    step("合计 totals", 0.4)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _pi_tot AS
        SELECT kind, group_id, period, {region_cols}, count(*) AS firms, sum(daily) AS daily
        FROM (SELECT g.kind, g.group_id, f.period, f.county_adcode AS county, r.city_adcode AS city, f.daily
              FROM _pi_fp f JOIN _pi_g g ON g.uscc = f.uscc
              LEFT JOIN regions r ON r.adcode = f.county_adcode)
        GROUP BY {sets}""")
    step("同比 year on year", 0.6)
    window_sql = ", ".join(literal(p) for p in window)
    theta, normal = r.operating_share, r.normal_share
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _pi_share AS
        WITH pairs AS (
            SELECT p.uscc, p.period + INTERVAL 12 MONTH AS period, p.daily AS prev, c.daily AS cur
            FROM _pi_fp p LEFT JOIN _pi_fp c ON c.uscc = p.uscc AND c.period = p.period + INTERVAL 12 MONTH
            WHERE (p.period + INTERVAL 12 MONTH)::DATE IN ({window_sql}))
        SELECT kind, group_id, period::DATE AS period, {region_cols},
               count(*) AS with_base,
               count_if(coalesce(cur, 0) >= {theta!r} * prev) AS operating,
               count_if(coalesce(cur, 0) >= {normal!r} * prev) AS normal
        FROM (SELECT g.kind, g.group_id, x.period, e.county_adcode AS county, r.city_adcode AS city, x.prev, x.cur
              FROM pairs x JOIN _pi_g g ON g.uscc = x.uscc JOIN enterprises e ON e.uscc = x.uscc
              LEFT JOIN regions r ON r.adcode = e.county_adcode)
        GROUP BY {sets}""")
    base_sql = (f"SELECT kind, group_id, adcode, avg(daily) AS base_daily FROM _pi_tot "
                f"WHERE year(period) = {int(base_year)} GROUP BY ALL") if base_year else \
        "SELECT NULL::VARCHAR AS kind, NULL::VARCHAR AS group_id, NULL::VARCHAR AS adcode, NULL::DOUBLE AS base_daily WHERE false"
    we, wc = r.weights.energy, r.weights.count
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    run_id = f"power-{last:%Y%m}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    fp = fingerprint(store, where)
    summary = {"region": scope.adcode, "region_name": scope.name, "month": f"{last:%Y-%m}",
               "periods": [f"{p:%Y-%m}" for p in window], "base_year": base_year, "firms": n_firms,
               "rules": r.name, "rules_version": r.version}
    step("保存 storing", 0.8)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"""
            INSERT INTO power_index_values
            SELECT {literal(run_id)}, t.kind, t.group_id, t.adcode, t.level, t.period::DATE, t.firms,
                   p.firms, s.with_base, s.operating, s.normal, t.daily, p.daily,
                   t.daily / nullif(p.daily, 0) AS energy_ratio,
                   s.operating / nullif(s.with_base, 0) AS operating_share,
                   s.normal / nullif(s.with_base, 0) AS normal_share,
                   100 * t.daily / nullif(p.daily, 0) AS yoy_index,
                   100 * ({we!r} * t.daily / nullif(p.daily, 0) + {wc!r} * s.operating / nullif(s.with_base, 0)),
                   100 * t.daily / nullif(b.base_daily, 0)
            FROM _pi_tot t
            LEFT JOIN _pi_tot p ON p.kind = t.kind AND p.group_id = t.group_id AND p.adcode = t.adcode
                 AND p.period = t.period - INTERVAL 12 MONTH
            LEFT JOIN _pi_share s ON s.kind = t.kind AND s.group_id = t.group_id AND s.adcode = t.adcode
                 AND s.period = t.period
            LEFT JOIN ({base_sql}) b ON b.kind = t.kind AND b.group_id = t.group_id AND b.adcode = t.adcode
            WHERE t.period IN ({window_sql})""")
        cells = con.execute(f"SELECT count(*) FROM power_index_values WHERE run_id = {literal(run_id)}").fetchone()[0]
        summary["cells"] = cells
        summary["seconds"] = round(time.perf_counter() - started, 3)
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status, note) VALUES ({values(run_id, KIND, r.name, r.version)}, "
            f"{literal(json.dumps({**summary, 'rules_fingerprint': r.fingerprint(), 'policy': r.model_dump(mode='json')}, ensure_ascii=False, default=str))}::JSON, "
            f"{values(fp, __version__, user or 'cli', now, 'done')}, NULL)")
        audit_append(con, "run.power_index", username=user, target=run_id,
                     detail={"region": scope.adcode, "month": f"{last:%Y-%m}", "rules": r.name, "cells": cells})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for t in ("_pi_fp", "_pi_g", "_pi_tot", "_pi_share"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    step("完成 done", 1.0)
    return {"run_id": run_id, **summary}


# ---- reading runs back ----------------------------------------------------------------------

def runs(store: Store, scope: Scope, limit: int = 50) -> list[dict]:
    """Stored index runs whose region contains or lies inside ``scope``, newest first."""
    return overlapping(store, scope, KIND, "run_id, policy_name AS rules, policy_version AS rules_version, "
                       "created_by, created_at, inputs_fingerprint",
                       ("region", "region_name", "month", "periods", "base_year", "firms", "cells", "rules"), limit)


def run_info(store: Store, scope: Scope, run_id: str | None = None, region: Scope | None = None) -> dict:
    """The run asked for (checked to overlap ``scope``), or the newest run whose region contains
    ``region`` (default: ``scope``)."""
    region = region or scope
    for row in runs(store, scope, limit=10_000):
        if run_id is not None:
            if row["run_id"] == run_id:
                return row
            continue
        if Scope.of(store, row["region"]).contains(region):
            return row
    if run_id is not None:
        raise NotFoundError(f"no electricity index run {run_id!r} in your region (see `shanhai index runs`)")
    raise NotFoundError(f"no electricity index run covers {region.name or region.adcode} yet: "
                        "run `shanhai index run` (or 计算 on the 电力指数 screen)")


def _names(store: Store) -> dict[str, dict[str, tuple[str, str]]]:
    regions = {a: (n, n) for a, n in store.con.execute("SELECT adcode, name FROM regions").fetchall()}
    regions.setdefault("330000", ("浙江省", "Zhejiang"))
    groups = {"all": ("全部制造业", "All manufacturing")}
    for code, name in store.con.execute("SELECT code, name FROM industries WHERE level = 'division'").fetchall():
        groups[code] = (name, name)
    for cid, name, en in store.con.execute("SELECT chain_id, name, coalesce(name_en, name) FROM chains").fetchall():
        groups[cid] = (name, en)
    for sid, name, en, chain in store.con.execute(
            "SELECT s.segment_id, s.name, coalesce(s.name_en, s.name), c.name FROM chain_segments s "
            "JOIN chains c ON c.chain_id = s.chain_id").fetchall():
        groups[sid] = (f"{chain}·{name}", en)
    return {"regions": regions, "groups": groups}


COLUMNS = ("index_kind", "group_id", "adcode", "level", "period", "firms", "firms_prev", "with_base", "operating",
           "normal", "daily_kwh", "daily_kwh_prev", "energy_ratio", "operating_share", "normal_share", "yoy_index",
           "composite_index", "base_index")


def _rows(store: Store, run_id: str, scope: Scope, where: str, lang: str, thin: int) -> list[dict]:
    names = _names(store)
    out = []
    for row in _dicts(store, f"SELECT {', '.join(COLUMNS)} FROM power_index_values "
                             f"WHERE run_id = {literal(run_id)} AND ({where}) ORDER BY period, adcode, group_id"):
        if not scope.covers(row["adcode"]) or (row["level"] == "province" and not scope.is_province) \
                or (row["level"] == "city" and scope.level == "county"):
            continue
        i = 0 if lang == "zh" else 1
        row["region_name"] = names["regions"].get(row["adcode"], (row["adcode"],) * 2)[i]
        row["group_name"] = names["groups"].get(row["group_id"], (row["group_id"],) * 2)[i]
        row["period_label"] = api.period_label(row["period"], True, lang) if row["period"].month == 2 \
            else api.period_label(row["period"], False, lang)
        row["thin"] = (row["firms"] or 0) < thin
        for key in ("energy_ratio", "operating_share", "normal_share", "yoy_index", "composite_index", "base_index"):
            row[key] = api.finite(row[key])
        out.append(row)
    return out


def _thin(store: Store, run_id: str) -> int:
    params = json.loads(store.con.execute(f"SELECT params::VARCHAR FROM runs WHERE run_id = {literal(run_id)}").fetchone()[0])
    return int(params.get("policy", {}).get("thin_firms", 5))


def cells(store: Store, scope: Scope, *, kind: str = "production", region: str | None = None, by: str = "group",
          group: str = "all", period=None, run_id: str | None = None, lang: str = "zh") -> dict:
    """One period's cells: ``by='group'`` — every group (industry divisions, or chains and their
    segments) of one region; ``by='region'`` — one group in the region and every sub-region
    (cities of the province, counties of a city). Default period: the run's last."""
    if kind not in INDEX_KINDS:
        raise ShanhaiError(f"index kind {kind!r}: expected one of {', '.join(INDEX_KINDS)}")
    if by not in ("group", "region"):
        raise ShanhaiError(f"by {by!r}: expected group or region")
    area = scope.narrow(store, region)
    info = run_info(store, scope, run_id, area)
    at = _month(period) if period is not None else _month(info["month"])
    at = api.period_of(at, True) if at.month in (1, 2) and at.strftime("%Y-%m") not in info["periods"] else at
    if at.strftime("%Y-%m") not in info["periods"]:
        raise NotFoundError(f"period {at:%Y-%m} is not in run {info['run_id']} ({info['periods'][0]} to {info['periods'][-1]})")
    base = f"index_kind = {literal(kind)} AND period = {literal(at)}"
    if by == "group":
        where = f"{base} AND adcode = {literal(area.adcode)}"
    else:
        sub = {"province": "city", "city": "county", "county": "county"}[area.level]
        where = (f"{base} AND group_id = {literal(group)} AND (adcode = {literal(area.adcode)} OR "
                 f"(level = {literal(sub)} AND {area.covers_sql('adcode')}))")
    rows = _rows(store, info["run_id"], scope, where, lang, _thin(store, info["run_id"]))
    own = [r for r in rows if r["adcode"] == area.adcode and (by == "region" or r["group_id"] == "all")]
    others = [r for r in rows if r not in own]
    others.sort(key=lambda r: (r["composite_index"] is None, -(r["composite_index"] or 0)))
    return {"run": info, "region": area.as_dict(), "kind": kind, "by": by, "group": group,
            "period": f"{at:%Y-%m}", "total": own[0] if own else None, "rows": others}


def series(store: Store, scope: Scope, *, kind: str = "production", group: str = "all", region: str | None = None,
           run_id: str | None = None, lang: str = "zh") -> dict:
    """One cell's periods in the run, oldest first."""
    area = scope.narrow(store, region)
    info = run_info(store, scope, run_id, area)
    rows = _rows(store, info["run_id"], scope,
                 f"index_kind = {literal(kind)} AND group_id = {literal(group)} AND adcode = {literal(area.adcode)}",
                 lang, _thin(store, info["run_id"]))
    if not rows:
        raise NotFoundError(f"no {kind} index for {group!r} in {area.name or area.adcode} in run {info['run_id']}")
    return {"run": info, "region": area.as_dict(), "kind": kind, "group": group,
            "group_name": rows[0]["group_name"], "rows": rows}


def county_values(store: Store, scope: Scope, *, region: str | None = None, period=None, run_id: str | None = None,
                  group: str = "all", kind: str = "production", measure: str = "composite_index") -> dict[str, float]:
    """adcode → ``measure`` of every county inside ``region`` (and the caller's scope) for one group
    and period of a run (default: the newest run covering the region, its last period) — a map's
    values."""
    area = scope.narrow(store, region)
    info = run_info(store, scope, run_id, area)
    at = _month(period) if period is not None else _month(info["month"])
    at = api.period_of(at, True)
    rows = _rows(store, info["run_id"], scope,
                 f"index_kind = {literal(kind)} AND group_id = {literal(group)} AND level = 'county' "
                 f"AND period = {literal(at)} AND {area.covers_sql('adcode')}", "zh", 1)
    return {r["adcode"]: r[measure] for r in rows if r[measure] is not None}


def movers(store: Store, scope: Scope, *, region: str | None = None, run_id: str | None = None, lang: str = "zh",
           top: int = 5, min_firms: int = 5) -> dict:
    """The industry divisions and chains of a region whose composite index is highest and lowest in
    the run's last period (cells with at least ``min_firms`` firms) — what rose and what fell."""
    out = {}
    for kind in INDEX_KINDS:
        doc = cells(store, scope, kind=kind, region=region, run_id=run_id, lang=lang)
        rows = [r for r in doc["rows"] if r["composite_index"] is not None and (r["firms"] or 0) >= min_firms
                and (kind == "production" or "." not in r["group_id"])]
        out[kind] = {"total": doc["total"], "top": rows[:top], "bottom": rows[::-1][:top]}
        out["run"], out["period"], out["region"] = doc["run"], doc["period"], doc["region"]
    return out
