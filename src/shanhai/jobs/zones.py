"""Development-zone evaluation against the store (开发区综合评价, 进退档).

``evaluate(store, method, year)`` computes every zone's indicators in one SQL statement
(:func:`shanhai.analysis.zones.indicator_sql`), scores them with the method
(:func:`shanhai.analysis.zones.evaluate`) against the previous year's stored run of the same
method (tier changes, bottom-N streaks), and stores a run — ``runs`` (kind ``zones``, the method's
name, version and whole text, the data year, the inputs' fingerprint), ``zone_results``,
``zone_scores`` and an audit entry — in one transaction. Runs are never overwritten: evaluating
again adds a run; readers take the newest run of a method and year unless told a run id.

**Scope.** A zone belongs to the county that runs it (``zones.county_adcode``). The ranking — a
zone's name, group, rank, score, tier, tier change and bottom-N flag — is public and shown to
every role; a zone's indicators and explanation only to a caller whose region covers the zone
(another county's zone is a 403). Nothing here names a firm.

:func:`ranking_rows` is the plain-dict ranking of a stored run that briefings quote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from typing import Callable

import pyarrow as pa

from shanhai import __version__
from shanhai.analysis import zones as az
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._zones import ZONE_INDICATORS, ZoneMethod, zone_method
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import literal, values

KIND = "zones"
DEFAULT_METHOD = "zhejiang-2021"
Progress = Callable[[str, float], None]

RESULT_COLUMNS = ("run_id", "zone_id", "year", "zone_name", "county_adcode", "level", "kind", "comparison_group",
                  "firms", "total_score", "rank", "group_size", "score_tier", "tier", "previous_run_id",
                  "previous_tier", "tier_change", "bottom", "bottom_streak", "action")
SCORE_COLUMNS = ("run_id", "zone_id", "indicator", "group_id", "value", "ref_low", "ref_high", "score", "points",
                 "missing")
_RESULT_TYPES = {"year": pa.int32(), "firms": pa.int32(), "rank": pa.int32(), "group_size": pa.int32(),
                 "bottom_streak": pa.int32(), "total_score": pa.float64(), "bottom": pa.bool_()}
_SCORE_TYPES = {"value": pa.float64(), "ref_low": pa.float64(), "ref_high": pa.float64(), "score": pa.float64(),
                "points": pa.float64()}


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _method(method: ZoneMethod | str) -> ZoneMethod:
    return method if isinstance(method, ZoneMethod) else zone_method(method)


# ---- computing -----------------------------------------------------------------------------------

def data_years(store: Store) -> list[int]:
    """The years with firm figures, ascending."""
    return [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY year").fetchall()]


def _check_year(store: Store, year: int) -> int:
    years = data_years(store)
    if int(year) not in years:
        raise ShanhaiError(f"no firm figures for {year}: the database has years "
                           f"{', '.join(map(str, years)) or 'none'} (enterprise_years)")
    return int(year)


def fingerprint(store: Store, year: int) -> str:
    """What an evaluation of ``year`` reads: a content hash of the zone, firm, land, project and
    zone-fact rows involved."""
    parts = []
    for sql in (
            "SELECT count(*), coalesce(sum(hash(zone_id || name || level || kind || county_adcode)), 0) FROM zones",
            "SELECT count(*), coalesce(sum(hash(uscc || coalesce(zone_id, ''))), 0) FROM enterprises",
            f"SELECT count(*), coalesce(sum(hash(y)), 0) FROM enterprise_years y WHERE year IN ({int(year)}, "
            f"{int(year) - 1})",
            "SELECT count(*), coalesce(sum(hash(uscc || flag || valid_from::VARCHAR || coalesce(valid_to::VARCHAR, ''))), 0) "
            "FROM enterprise_flags WHERE flag = 'high_tech'",
            "SELECT count(*), coalesce(sum(hash(l)), 0) FROM land_parcels l WHERE zone_id IS NOT NULL",
            f"SELECT count(*), coalesce(sum(hash(f)), 0) FROM zone_facts f WHERE year = {int(year)}",
            "SELECT count(*), coalesce(sum(hash(project_id || stage || event_date::VARCHAR || coalesce(invested::VARCHAR, ''))), 0) "
            "FROM project_events",
            "SELECT count(*), coalesce(sum(hash(project_id || coalesce(zone_id, ''))), 0) FROM projects"):
        parts.append(repr(store.con.execute(sql).fetchone()))
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


def indicators(store: Store, year: int, land_basis: str = "parcels") -> list[dict]:
    """Every zone's indicators for ``year`` (one row per zone, catalogue ids as keys)."""
    return _dicts(store, az.indicator_sql(year, land_basis))


def previous_run(store: Store, method_name: str, year: int) -> str | None:
    """The newest stored run of the method for ``year``, or None."""
    row = store.con.execute(
        f"SELECT run_id FROM runs WHERE kind = {literal(KIND)} AND policy_name = {literal(method_name)} "
        f"AND CAST(params->>'year' AS INTEGER) = {int(year)} ORDER BY created_at DESC, run_id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def _previous(store: Store, run_id: str | None) -> dict[str, dict]:
    if run_id is None:
        return {}
    return {r["zone_id"]: {**r, "run_id": run_id} for r in _dicts(
        store, f"SELECT zone_id, tier, bottom, bottom_streak FROM zone_results WHERE run_id = {literal(run_id)}")}


def compute(store: Store, method: ZoneMethod | str, year: int) -> dict:
    """An evaluation without storing it: the rows of the indicators, results and scores, and the
    previous year's run it was compared with."""
    m = _method(method)
    year = _check_year(store, year)
    rows = indicators(store, year, m.land_basis)
    prev_id = previous_run(store, m.name, year - 1)
    results, scores = az.evaluate(m, rows, _previous(store, prev_id))
    return {"method": m, "year": year, "indicators": rows, "results": results, "scores": scores,
            "previous_run_id": prev_id}


def evaluate(store: Store, method: ZoneMethod | str = DEFAULT_METHOD, year: int | None = None, *,
             user: str | None = None, progress: Progress | None = None) -> dict:
    """Evaluate ``year`` (default: the latest with data) with ``method`` and store the run; its
    summary (:func:`run_summary`)."""
    step = progress or (lambda label, fraction: None)
    started = time.perf_counter()
    m = _method(method)
    years = data_years(store)
    if year is None:
        if not years:
            raise ShanhaiError("no firm figures in the database: build or import data first (enterprise_years)")
        year = years[-1]
    step(f"计算指标 indicators {year}", 0.1)
    got = compute(store, m, year)
    if not got["results"]:
        raise ShanhaiError(f"zone method {m.name} covers no zone in the database (levels {', '.join(m.covers.levels)}"
                           + (f", cities {', '.join(m.covers.cities)}" if m.covers.cities else "") + ")")
    step("保存 storing", 0.7)
    run_id = _store(store, m, got, fingerprint(store, got["year"]), user, started)
    step("完成 done", 1.0)
    return run_summary(store, run_id)


def evaluate_years(store: Store, method: ZoneMethod | str, years: list[int], *, user: str | None = None,
                   progress: Progress | None = None) -> list[dict]:
    """Evaluate several years in ascending order, so each compares with the run just stored."""
    out = []
    ordered = sorted(set(int(y) for y in years))
    _method(method)
    for year in ordered:
        _check_year(store, year)
    for i, year in enumerate(ordered):
        if progress:
            progress(f"{year}", i / len(ordered))
        out.append(evaluate(store, method, year, user=user))
    if progress:
        progress("完成 done", 1.0)
    return out


def _arrow(rows: list[dict], columns: tuple[str, ...], types: dict) -> pa.Table:
    return pa.table({c: pa.array([r.get(c) for r in rows], types.get(c, pa.string())) for c in columns})


def _store(store: Store, m: ZoneMethod, got: dict, inputs: str, user: str | None, started: float) -> str:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    run_id = f"zones-{got['year']}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    results = [{**r, "run_id": run_id, "year": got["year"]} for r in got["results"]]
    scores = [{**s, "run_id": run_id} for s in got["scores"]]
    params = {"year": got["year"], "method": m.model_dump(mode="json"), "method_fingerprint": m.fingerprint(),
              "previous_run_id": got["previous_run_id"], "zones": len(results),
              "groups": sorted({r["comparison_group"] for r in results}),
              "seconds": round(time.perf_counter() - started, 3)}
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status, note) VALUES ({values(run_id, KIND, m.name, m.version)}, "
            f"{literal(json.dumps(params, ensure_ascii=False))}::JSON, "
            f"{values(inputs, __version__, user or 'cli', now, 'done', None)})")
        res_t = _arrow(results, RESULT_COLUMNS, _RESULT_TYPES)
        score_t = _arrow(scores, SCORE_COLUMNS, _SCORE_TYPES)
        con.register("_zone_results_new", res_t)
        con.register("_zone_scores_new", score_t)
        try:
            con.execute(f"INSERT INTO zone_results ({', '.join(RESULT_COLUMNS)}) "
                        f"SELECT {', '.join(RESULT_COLUMNS)} FROM _zone_results_new")
            con.execute(f"INSERT INTO zone_scores ({', '.join(SCORE_COLUMNS)}) "
                        f"SELECT {', '.join(SCORE_COLUMNS)} FROM _zone_scores_new")
        finally:
            con.unregister("_zone_results_new")
            con.unregister("_zone_scores_new")
        audit_append(con, "evaluate.zones", username=user, target=run_id,
                     detail={"method": m.name, "version": m.version, "year": got["year"], "zones": len(results),
                             "previous_run": got["previous_run_id"],
                             "bottom": sum(1 for r in results if r["bottom"]),
                             "actions": sorted({r["action"] for r in results if r["action"]})})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return run_id


# ---- reading runs back ---------------------------------------------------------------------------

def runs(store: Store, method: str | None = None, year: int | None = None, limit: int = 100) -> list[dict]:
    """Stored runs, newest first (run id, method, version, year, zones, who, when)."""
    where = [f"kind = {literal(KIND)}"]
    if method:
        where.append(f"policy_name = {literal(method)}")
    if year is not None:
        where.append(f"CAST(params->>'year' AS INTEGER) = {int(year)}")
    rows = _dicts(store, f"""
        SELECT run_id, policy_name AS method, policy_version AS version, CAST(params->>'year' AS INTEGER) AS year,
               CAST(params->>'zones' AS INTEGER) AS zones, params->>'previous_run_id' AS previous_run_id,
               inputs_fingerprint, code_version, created_by, created_at
        FROM runs WHERE {' AND '.join(where)} ORDER BY created_at DESC, run_id DESC LIMIT {int(limit)}""")
    for r in rows:
        r["created_at"] = str(r["created_at"])[:19]
    return rows


def run_row(store: Store, run_id: str) -> dict:
    row = _dicts(store, f"""
        SELECT run_id, policy_name, policy_version, params::VARCHAR AS params, inputs_fingerprint, code_version,
               created_by, created_at FROM runs WHERE run_id = {literal(run_id)} AND kind = {literal(KIND)}""")
    if not row:
        raise NotFoundError(f"没有开发区评价批次 {run_id!r} (no zone evaluation run {run_id!r}: see `shanhai zones runs`)")
    out = row[0]
    out["params"] = json.loads(out["params"])
    out["created_at"] = str(out["created_at"])[:19]
    out["year"] = out["params"]["year"]
    out["method"] = ZoneMethod.model_validate(out["params"]["method"])
    return out


def run_summary(store: Store, run_id: str) -> dict:
    """A stored run in a few figures: id, method, version, year, zones, groups, tier moves,
    bottom-N zones and actions, the previous run compared with, the fingerprints."""
    run = run_row(store, run_id)
    counts = store.con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE tier_change = 'up'), count(*) FILTER (WHERE tier_change = 'down'),
               count(*) FILTER (WHERE bottom), count(*) FILTER (WHERE action IS NOT NULL)
        FROM zone_results WHERE run_id = {literal(run_id)}""").fetchone()
    m: ZoneMethod = run["method"]
    return {"run_id": run_id, "method": m.name, "version": m.version, "year": run["year"], "zones": counts[0],
            "groups": run["params"].get("groups", []), "up": counts[1], "down": counts[2], "bottom": counts[3],
            "actions": counts[4], "previous_run_id": run["params"].get("previous_run_id"),
            "inputs_fingerprint": run["inputs_fingerprint"], "method_fingerprint": run["params"].get("method_fingerprint"),
            "created_at": run["created_at"], "created_by": run["created_by"]}


def resolve(store: Store, run_id: str | None = None, method: str | None = None, year: int | None = None) -> dict:
    """The run asked for: by id, else the newest of ``method`` (default: the newest run's method)
    for ``year`` (default: its latest year)."""
    if run_id not in (None, "", "latest"):
        return run_row(store, run_id)
    if method:
        zone_method(method)                      # an unknown name is a clear error, not "no run"
    elif runs(store, method=DEFAULT_METHOD, year=year, limit=1):
        method = DEFAULT_METHOD
    found = runs(store, method=method or None, year=year, limit=1)
    if not found:
        what = f" of {method}" if method else ""
        when = f" for {year}" if year is not None else ""
        raise NotFoundError(f"还没有开发区评价{what}{when} (no zone evaluation{what}{when} yet: run "
                            f"`shanhai zones evaluate --method {method or DEFAULT_METHOD}` first)")
    if year is None and method is None:
        newest = found[0]
        latest_year = runs(store, method=newest["method"], limit=1000)
        year_max = max(r["year"] for r in latest_year)
        found = runs(store, method=newest["method"], year=year_max, limit=1)
    return run_row(store, found[0]["run_id"])


def _zone_rows(store: Store, run_id: str) -> list[dict]:
    return _dicts(store, f"""
        SELECT z.*, r.city_adcode, c.name AS county_name, p.name AS city_name
        FROM zone_results z LEFT JOIN regions r ON r.adcode = z.county_adcode
        LEFT JOIN regions c ON c.adcode = z.county_adcode LEFT JOIN regions p ON p.adcode = r.city_adcode
        WHERE z.run_id = {literal(run_id)} ORDER BY z.comparison_group, z.rank, z.zone_id""")


def _public(method: ZoneMethod, r: dict, scope: Scope, names: dict[str, str]) -> dict:
    """A result row as anyone may see it (public ranking figures), with labels."""
    change = r["tier_change"]
    return {
        "zone_id": r["zone_id"], "zone_name": r["zone_name"], "county_adcode": r["county_adcode"],
        "county_name": r.get("county_name"), "city_adcode": r.get("city_adcode"), "city_name": r.get("city_name"),
        "level": r["level"], "level_label": az.LEVEL_LABELS.get(r["level"], (r["level"],) * 2)[0],
        "level_label_en": az.LEVEL_LABELS.get(r["level"], (r["level"],) * 2)[1],
        "kind": r["kind"], "kind_label": az.KIND_LABELS.get(r["kind"], (r["kind"],) * 2)[0],
        "kind_label_en": az.KIND_LABELS.get(r["kind"], (r["kind"],) * 2)[1],
        "group": r["comparison_group"], "group_label": az.group_label(method, r["comparison_group"], names),
        "group_label_en": az.group_label(method, r["comparison_group"], names, "en"),
        "total_score": r["total_score"], "rank": r["rank"], "group_size": r["group_size"],
        "tier": r["tier"], "tier_label": method.tier_label(r["tier"]),
        "tier_label_en": method.tier_label(r["tier"], "en"),
        "score_tier": r["score_tier"], "previous_tier": r["previous_tier"],
        "previous_tier_label": method.tier_label(r["previous_tier"]),
        "tier_change": change, "tier_change_label": az.CHANGE_LABELS[change][0],
        "tier_change_label_en": az.CHANGE_LABELS[change][1],
        "bottom": bool(r["bottom"]), "bottom_streak": r["bottom_streak"], "action": r["action"],
        "action_label": _action_label(method, r["action"]),
        "action_label_en": _action_label(method, r["action"], "en"),
        "in_scope": scope.covers(r["county_adcode"]),
    }


def _action_label(method: ZoneMethod, action: str | None, lang: str = "zh") -> str | None:
    if not action:
        return None
    for s in method.bottom.stages:
        if s.action == action:
            return (s.display_name_en or az.ACTION_LABELS.get(action, (s.display_name,) * 2)[1]) if lang == "en" \
                else s.display_name
    return az.ACTION_LABELS.get(action, (action, action))[0 if lang == "zh" else 1]


def _names(store: Store) -> dict[str, str]:
    return dict(store.con.execute("SELECT adcode, name FROM regions WHERE level IN ('province', 'city', 'county')"
                                  ).fetchall())


def basis(run: dict) -> dict:
    m: ZoneMethod = run["method"]
    return {"run_id": run["run_id"], "method": m.name, "method_name": m.display_name, "version": m.version,
            "year": run["year"], "source": m.source, "confidence": m.confidence,
            "method_fingerprint": run["params"].get("method_fingerprint"),
            "inputs_fingerprint": run["inputs_fingerprint"], "code_version": run["code_version"],
            "created_by": run["created_by"], "created_at": run["created_at"],
            "previous_run_id": run["params"].get("previous_run_id")}


def ranking(store: Store, scope: Scope, run_id: str | None = None, *, method: str | None = None,
            year: int | None = None, group: str | None = None) -> dict:
    """A stored run's ranking within its comparison groups: every zone's public figures, the
    caller's own zones marked ``in_scope``; ``group`` keeps one group."""
    run = resolve(store, run_id, method, year)
    m: ZoneMethod = run["method"]
    names = _names(store)
    rows = [_public(m, r, scope, names) for r in _zone_rows(store, run["run_id"])]
    groups = []
    for key in dict.fromkeys(r["group"] for r in rows):
        members = [r for r in rows if r["group"] == key]
        groups.append({"key": key, "label": members[0]["group_label"], "label_en": members[0]["group_label_en"],
                       "size": len(members), "mine": sum(1 for r in members if r["in_scope"]),
                       "bottom": sum(1 for r in members if r["bottom"])})
    if group:
        if group not in {g["key"] for g in groups}:
            raise NotFoundError(f"group {group!r} is not in run {run['run_id']}: expected one of "
                                f"{', '.join(g['key'] for g in groups)}")
        rows = [r for r in rows if r["group"] == group]
    return {"basis": basis(run), "scope": scope.as_dict(), "groups": groups, "group": group, "zones": rows,
            "tiers": [{"id": t.id, "label": t.display_name, "label_en": t.display_name_en or t.display_name}
                      for t in m.tiers.levels],
            "bottom_n": m.bottom.n, "stages": [s.model_dump() for s in m.bottom.stages],
            "counts": {"zones": len(rows), "mine": sum(1 for r in rows if r["in_scope"]),
                       "up": sum(1 for r in rows if r["tier_change"] == "up"),
                       "down": sum(1 for r in rows if r["tier_change"] == "down"),
                       "bottom": sum(1 for r in rows if r["bottom"]),
                       "actions": sum(1 for r in rows if r["action"])}}


def ranking_rows(store: Store, scope: Scope, run_id: str | None = None, *, method: str | None = None,
                 year: int | None = None) -> list[dict]:
    """A stored run's ranking as plain dicts (for briefings): run_id, method, version, year, group,
    group_label, rank, group_size, zone_id, zone_name, county_adcode, county_name, level, kind,
    total_score, tier, tier_label, previous_tier, tier_change (up/down/same/new) and its label,
    bottom, bottom_streak, action and its label, in_scope (the caller's own zone). Public figures
    only: no indicator value, no firm."""
    doc = ranking(store, scope, run_id, method=method, year=year)
    b = doc["basis"]
    keys = ("group", "group_label", "rank", "group_size", "zone_id", "zone_name", "county_adcode", "county_name",
            "level", "kind", "total_score", "tier", "tier_label", "previous_tier", "tier_change", "tier_change_label",
            "bottom", "bottom_streak", "action", "action_label", "in_scope", "group_label_en", "tier_label_en",
            "tier_change_label_en", "action_label_en")
    return [{"run_id": b["run_id"], "method": b["method"], "method_name": b["method_name"], "version": b["version"],
             "year": b["year"], **{k: r[k] for k in keys}} for r in doc["zones"]]


def _zone_register(store: Store, zone_id: str) -> dict:
    rows = _dicts(store, f"""
        SELECT z.zone_id, z.name, z.level, z.kind, z.county_adcode, z.planned_area_mu, z.established_year,
               r.city_adcode, c.name AS county_name, p.name AS city_name,
               (SELECT list(adcode ORDER BY adcode) FROM zone_counties k WHERE k.zone_id = z.zone_id) AS counties
        FROM zones z LEFT JOIN regions r ON r.adcode = z.county_adcode
        LEFT JOIN regions c ON c.adcode = z.county_adcode LEFT JOIN regions p ON p.adcode = r.city_adcode
        WHERE z.zone_id = {literal(zone_id)}""")
    if not rows:
        raise NotFoundError(f"没有开发区 {zone_id!r} (no zone {zone_id!r}: see `shanhai zones list`)")
    z = rows[0]
    z["level_label"], z["level_label_en"] = az.LEVEL_LABELS.get(z["level"], (z["level"],) * 2)
    z["kind_label"], z["kind_label_en"] = az.KIND_LABELS.get(z["kind"], (z["kind"],) * 2)
    if z["planned_area_mu"] is not None:
        z["planned_area_mu"] = float(z["planned_area_mu"])
    return z


def zone_list(store: Store, scope: Scope) -> list[dict]:
    """The zones inside the caller's region (the register)."""
    rows = _dicts(store, f"""
        SELECT z.zone_id, z.name, z.level, z.kind, z.county_adcode, c.name AS county_name, z.planned_area_mu,
               z.established_year
        FROM zones z LEFT JOIN regions c ON c.adcode = z.county_adcode
        WHERE {scope.sql('z.county_adcode')} ORDER BY z.zone_id""")
    for r in rows:
        r["planned_area_mu"] = None if r["planned_area_mu"] is None else float(r["planned_area_mu"])
    return rows


def zone(store: Store, scope: Scope, zone_id: str, run_id: str | None = None, *, method: str | None = None,
         year: int | None = None) -> dict:
    """One zone (inside the caller's region; another region's is an OutOfScopeError): its
    register row, the run's result, indicators and the explanation (points that add up to the
    total), and its history under the run's method."""
    z = _zone_register(store, zone_id)
    if not scope.covers(z["county_adcode"]):
        raise OutOfScopeError(f"开发区 {zone_id} 不在您的数据范围内 (zone {zone_id} is outside your region "
                              f"{scope.adcode} {scope.name})")
    if run_id in (None, "", "latest") and not method:
        covering = store.con.execute(f"""
            SELECT r.run_id FROM zone_results z JOIN runs r ON r.run_id = z.run_id
            WHERE z.zone_id = {literal(zone_id)} {'' if year is None else f'AND z.year = {int(year)}'}
            ORDER BY (r.policy_name = {literal(DEFAULT_METHOD)}) DESC, z.year DESC, r.created_at DESC, r.run_id DESC
            LIMIT 1""").fetchone()
        run_id = covering[0] if covering else None
        if run_id is None:
            return {"zone": z, "basis": None, "scope": scope.as_dict(), "result": None, "explanation": [],
                    "groups": [], "history": [], "no_run": True}
    run = resolve(store, run_id, method, year)
    m: ZoneMethod = run["method"]
    names = _names(store)
    result = next((r for r in _zone_rows(store, run["run_id"]) if r["zone_id"] == zone_id), None)
    out = {"zone": z, "basis": basis(run), "scope": scope.as_dict(), "result": None, "explanation": [],
           "groups": [], "history": history(store, scope, zone_id, m.name)}
    if result is None:
        out["not_covered"] = True
        return out
    scores = _dicts(store, f"SELECT * EXCLUDE (run_id) FROM zone_scores WHERE run_id = {literal(run['run_id'])} "
                           f"AND zone_id = {literal(zone_id)}")
    out["result"] = _public(m, result, scope, names)
    out["result"]["firms"] = result["firms"]
    out["explanation"] = az.explain(m, result, scores)
    out["points_total"] = round(sum(e["points"] for e in out["explanation"]), 4)
    out["groups"] = [{"id": g.id, "label": g.display_name, "label_en": g.display_name_en or g.display_name,
                      "weight": g.weight, "published": g.published,
                      "points": round(sum(e["points"] for e in out["explanation"] if e["group_id"] == g.id), 4),
                      "max_points": round(100 * g.weight, 4)} for g in m.groups]
    return out


def history(store: Store, scope: Scope, zone_id: str, method: str | None = None) -> list[dict]:
    """The zone's result in the newest run of each year (of ``method``, default the default
    method), oldest year first."""
    z = _zone_register(store, zone_id)
    scope.check(z["county_adcode"], f"zone {zone_id}")
    name = method or DEFAULT_METHOD
    rows = _dicts(store, f"""
        WITH latest AS (
            SELECT run_id, CAST(params->>'year' AS INTEGER) AS year, policy_version,
                   row_number() OVER (PARTITION BY CAST(params->>'year' AS INTEGER)
                                      ORDER BY created_at DESC, run_id DESC) AS n
            FROM runs WHERE kind = {literal(KIND)} AND policy_name = {literal(name)})
        SELECT l.year, l.run_id, l.policy_version AS version, r.total_score, r.rank, r.group_size, r.tier,
               r.tier_change, r.bottom, r.bottom_streak, r.action, r.comparison_group
        FROM latest l JOIN zone_results r ON r.run_id = l.run_id AND r.zone_id = {literal(zone_id)}
        WHERE l.n = 1 ORDER BY l.year""")
    try:
        m: ZoneMethod | None = zone_method(name)
    except ShanhaiError:
        m = None
    for r in rows:
        r["tier_change_label"] = az.CHANGE_LABELS[r["tier_change"]][0]
        r["tier_label"] = (m.tier_label(r["tier"]) if m else None) or r["tier"]
        r["action_label"] = _action_label(m, r["action"]) if m else r["action"]
    return rows


def methods() -> list[dict]:
    """The registered methods, for lists and pickers."""
    from shanhai.policy._zones import zone_methods

    out = []
    for name, m in sorted(zone_methods().items()):
        out.append({"name": name, "display_name": m.display_name, "version": m.version, "source": m.source,
                    "levels": list(m.covers.levels), "kinds": list(m.covers.kinds), "cities": list(m.covers.cities),
                    "groups": [{"id": g.id, "label": g.display_name, "weight": g.weight, "published": g.published,
                                "indicators": [{"id": i.id, "label": ZONE_INDICATORS[i.id].zh, "weight": i.weight,
                                                "transform": i.transform, "direction": i.direction,
                                                "target": i.target} for i in g.indicators]} for g in m.groups],
                    "comparison": list(m.comparison.by), "bottom_n": m.bottom.n,
                    "tiers": [t.display_name for t in m.tiers.levels]})
    return out


def export_doc(store: Store, scope: Scope, run_id: str | None = None, *, method: str | None = None,
               year: int | None = None) -> dict:
    """What the workbook holds: the ranking (public figures of every zone) and, for the caller's
    own zones only, every indicator's value, reference, score and points."""
    doc = ranking(store, scope, run_id, method=method, year=year)
    run = run_row(store, doc["basis"]["run_id"])
    m: ZoneMethod = run["method"]
    mine = {r["zone_id"]: r for r in doc["zones"] if r["in_scope"]}
    scores = _dicts(store, f"SELECT * EXCLUDE (run_id) FROM zone_scores WHERE run_id = {literal(run['run_id'])} "
                           "ORDER BY zone_id, indicator")
    by_zone: dict[str, list[dict]] = {}
    for s in scores:
        if s["zone_id"] in mine:
            by_zone.setdefault(s["zone_id"], []).append(s)
    details = []
    for zid, r in mine.items():
        for e in az.explain(m, r, by_zone.get(zid, [])):
            details.append({"zone_name": r["zone_name"], "county_name": r["county_name"], "group_label": r["group_label"],
                            "rank": r["rank"], "total_score": r["total_score"], **e})
    doc["details"] = details
    doc["method"] = {"name": m.name, "display_name": m.display_name, "version": m.version, "source": m.source,
                     "confidence": m.confidence, "notes": m.notes, "land_basis": m.land_basis, "missing": m.missing,
                     "comparison": list(m.comparison.by), "areas_published": m.comparison.areas_published,
                     "areas": [{"id": a.id, "label": a.display_name, "cities": list(a.cities)}
                               for a in m.comparison.areas],
                     "groups": [{"id": g.id, "label": g.display_name, "weight": g.weight, "published": g.published,
                                 "indicators": [(i.id, i.weight, i.transform, i.direction, i.target)
                                                for i in g.indicators]} for g in m.groups],
                     "tiers": {"basis": m.tiers.basis, "max_step": m.tiers.max_step, "published": m.tiers.published,
                               "levels": [(t.display_name, t.share, t.min_score) for t in m.tiers.levels]},
                     "bottom": {"n": m.bottom.n, "stages": [(s.years, s.action, s.display_name, s.published)
                                                             for s in m.bottom.stages]}}
    return doc
