"""Cultivation screening against the store: every firm of a region through the rule sets of the
cultivation tiers (the ones in force on the assessment date, or named), stored as a run, and the
pools per county read back. The method is in :mod:`shanhai.analysis.cultivation`, the rule language
in :mod:`shanhai.policy._rules`.

* :func:`screen` evaluates in memory (vectorised over every firm and rule set);
* :func:`run` stores a screening: one ``runs`` row (kind ``cultivation``; the rule sets with their
  versions, fingerprints and full text, the data year, the assessment date, the region, the inputs'
  fingerprint) and one ``cultivation_results`` row per firm per rule set. Never overwritten;
* :func:`pool_counts` — for the monthly briefing — a region's pools as plain dicts;
* :func:`pools`, :func:`candidates`, :func:`firm` feed the CLI, the web and the exports.

**Scope.** Every reader takes the caller's :class:`Scope`: the firms are filtered in SQL by their
county (``Scope.sql``), a region outside the scope is refused (403), a firm outside it is a 403.
Pages read the newest stored run whose region contains the one asked for and whose data year is
the one asked; without one they evaluate live (said so: ``basis.stored = false``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

import numpy as np
import pyarrow as pa

from shanhai import __version__
from shanhai.analysis import cultivation as ac
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._load import PolicyError
from shanhai.policy._rules import (OUTCOME_LABELS, OUTCOMES, TIERS, RuleSet, cultivation_rule_set,
                                   cultivation_rule_sets, in_force)
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import Scope
from shanhai.store.sql import literal, values

KIND = "cultivation"
RESULT_COLUMNS = ("rule_set", "tier", "uscc", "county_adcode", "year", "outcome", "review", "holds_title", "excluded",
                  "score_low", "score_high", "missed", "unknown", "manual", "gaps")


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def latest_year(store: Store) -> int:
    row = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()
    if not row or row[0] is None:
        raise ShanhaiError("the database has no annual figures (enterprise_years): import or synthesise them first")
    return int(row[0])


def _year(store: Store, year) -> int:
    if year in (None, ""):
        return latest_year(store)
    try:
        y = int(year)
    except (TypeError, ValueError):
        raise ShanhaiError(f"year {year!r} is not a year like 2024") from None
    have = store.con.execute(f"SELECT count(*) FROM enterprise_years WHERE year = {y}").fetchone()[0]
    if not have:
        years = [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]
        raise ShanhaiError(f"no annual figures for {y}: the database has {', '.join(map(str, years)) or 'none'}")
    return y


def _as_of(as_of, year: int) -> dt.date:
    if as_of in (None, ""):
        return ac.default_as_of(year)
    if isinstance(as_of, dt.date):
        return as_of
    try:
        return dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise ShanhaiError(f"assessment date {as_of!r} is not a date like 2026-06-30") from None


def rule_sets_for(as_of: dt.date, names=None) -> list[RuleSet]:
    """The named rule sets (a list or comma-separated text), or every tier's rule set in force on ``as_of``."""
    if names:
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        out = [cultivation_rule_set(n) for n in names]
        if len({r.name for r in out}) != len(out):
            raise ShanhaiError("a rule set is named twice")
        return out
    out = [rs for tier in TIERS if (rs := in_force(tier, as_of)) is not None]
    if not out:
        raise ShanhaiError(f"no cultivation rule set is in force on {as_of}")
    return out


def inputs_fingerprint(store: Store, year: int) -> str:
    parts = []
    for table, cols, where in (
            ("enterprises", "uscc || county_adcode || status || coalesce(founded_on::VARCHAR, '')", "true"),
            ("enterprise_years", "uscc || year::VARCHAR || coalesce(revenue::VARCHAR, '') || coalesce(main_revenue::VARCHAR, '')"
             " || coalesce(rd_spending::VARCHAR, '') || coalesce(profit::VARCHAR, '')", f"year <= {year}"),
            ("enterprise_flags", "uscc || flag || valid_from::VARCHAR || coalesce(valid_to::VARCHAR, '')", "true"),
            ("cultivation_facts", "cultivation_facts::VARCHAR", f"year = {year}")):
        parts.append(repr(store.con.execute(
            f"SELECT count(*), coalesce(sum(hash({cols})), 0) FROM {table} WHERE {where}").fetchone()))
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


def _facts_sql(scope: Scope, year: int, as_of: dt.date, uscc: str | None = None) -> str:
    day = literal(as_of)
    flag_cols = ", ".join(f"bool_or(flag = {literal(f)}) AS {f}" for f in
                          ("high_tech", "tech_sme", "innovative_sme", "specialised", "little_giant", "hidden_champion",
                           "single_champion", "rd_institution", "dishonest"))
    fact_cols = ", ".join(f"cf.{c}" for c in ac.FACT_COLUMNS)
    flags = ", ".join(f"coalesce(fl.{f}, false) AS {f}" for f in
                      ("high_tech", "tech_sme", "innovative_sme", "specialised", "little_giant", "hidden_champion",
                       "single_champion", "rd_institution", "dishonest"))
    one = f"AND e.uscc = {literal(uscc)}" if uscc else ""
    return f"""
        SELECT e.uscc, e.name, e.county_adcode, e.founded_on, cf.niche_since, {fact_cols}, {flags},
               coalesce(inc.hit, false) AS major_incident_3y,
               coalesce(cf.key_chain, false) OR seg.uscc IS NOT NULL AS in_key_chain
        FROM enterprises e
        JOIN enterprise_years ey ON ey.uscc = e.uscc AND ey.year = {year}
        LEFT JOIN cultivation_facts cf ON cf.uscc = e.uscc AND cf.year = {year}
        LEFT JOIN (SELECT uscc, {flag_cols} FROM enterprise_flags
                   WHERE valid_from <= {day} AND coalesce(valid_to, DATE '9999-12-31') > {day} GROUP BY uscc) fl
               ON fl.uscc = e.uscc
        LEFT JOIN (SELECT uscc, true AS hit FROM enterprise_flags
                   WHERE (flag IN ('major_safety_accident', 'major_environmental_incident')
                          OR (flag IN ('safety_violation', 'environmental_violation') AND detail = 'major'))
                     AND valid_from <= {day} AND valid_from > {day} - INTERVAL 3 YEAR GROUP BY uscc) inc
               ON inc.uscc = e.uscc
        LEFT JOIN (SELECT DISTINCT uscc FROM enterprise_segments) seg ON seg.uscc = e.uscc
        WHERE e.status = 'active' AND {scope.sql('e.county_adcode')} {one}
        ORDER BY e.uscc"""


class Screening:
    """An in-memory screening: the facts, the firms' names and counties, a result per rule set."""

    def __init__(self, region: Scope, year: int, as_of: dt.date, facts, names, counties, results, fingerprint):
        self.region, self.year, self.as_of = region, year, as_of
        self.facts, self.names, self.counties, self.results = facts, names, counties, results
        self.fingerprint = fingerprint

    def basis(self, stored: bool = False, run_id: str | None = None) -> dict:
        return {"year": self.year, "as_of": self.as_of.isoformat(), "region": self.region.adcode,
                "rule_sets": [{"name": t.rule_set.name, "version": t.rule_set.version, "tier": t.rule_set.tier,
                               "fingerprint": t.rule_set.fingerprint()[:12]} for t in self.results],
                "data_fingerprint": self.fingerprint, "stored": stored, "run_id": run_id}

    def rows(self) -> pa.Table:
        """The results as a table in the columns of ``cultivation_results`` (without run_id)."""
        n = self.facts.n
        cols: dict[str, list] = {c: [] for c in RESULT_COLUMNS}
        parts = []
        for t in self.results:
            parts.append({
                "rule_set": pa.array([t.rule_set.name] * n, pa.string()),
                "tier": pa.array([t.rule_set.tier] * n, pa.string()),
                "uscc": pa.array(self.facts.keys.tolist(), pa.string()),
                "county_adcode": pa.array(self.counties.tolist(), pa.string()),
                "year": pa.array(np.full(n, self.year), pa.int32()),
                "outcome": pa.array(t.outcome.tolist(), pa.string()),
                "review": pa.array([r or None for r in t.evaluation.review.tolist()], pa.string()),
                "holds_title": pa.array(t.holds_title.tolist(), pa.bool_()),
                "excluded": pa.array(t.evaluation.excluded.tolist(), pa.bool_()),
                "score_low": pa.array(t.score_low, pa.float64(), mask=np.isnan(t.score_low)),
                "score_high": pa.array(t.score_high, pa.float64(), mask=np.isnan(t.score_high)),
                "missed": pa.array([m or None for m in t.missed.tolist()], pa.string()),
                "unknown": pa.array([m or None for m in t.unknown.tolist()], pa.string()),
                "manual": pa.array([m or None for m in t.manual.tolist()], pa.string()),
                "gaps": pa.array([m or None for m in t.gaps.tolist()], pa.string()),
            })
        if not parts:
            return pa.table({c: pa.array([], pa.string()) for c in cols})
        return pa.concat_tables([pa.table(p) for p in parts])


def _load(store: Store, where: Scope, year: int, as_of: dt.date, uscc: str | None = None):
    table = store.con.execute(_facts_sql(where, year, as_of, uscc)).fetch_arrow_table()
    firms = {c: table.column(c) for c in table.column_names}
    keys = firms["uscc"].to_pylist()
    lo = year - 5
    if uscc:
        years_sql = f"SELECT uscc, year, {', '.join(ac.YEARLY)} FROM enterprise_years WHERE uscc = {literal(uscc)} " \
                    f"AND year BETWEEN {lo} AND {year}"
    else:
        years_sql = (f"SELECT y.uscc, y.year, {', '.join('y.' + c for c in ac.YEARLY)} FROM enterprise_years y "
                     f"JOIN enterprises e ON e.uscc = y.uscc WHERE e.status = 'active' "
                     f"AND {where.sql('e.county_adcode')} AND y.year BETWEEN {lo} AND {year}")
    ytable = store.con.execute(years_sql).fetch_arrow_table()
    years = {c: ytable.column(c) for c in ytable.column_names}
    facts = ac.build_facts(firms, years, year)
    pos = {u: i for i, u in enumerate(keys)}
    order = [pos[u] for u in facts.keys]
    names, counties = firms["name"].to_pylist(), firms["county_adcode"].to_pylist()
    return facts, np.array([names[i] for i in order], dtype=object), \
        np.array([counties[i] for i in order], dtype=object)


def screen(store: Store, scope: Scope, region: str | None = None, *, year=None, as_of=None, rules=None) -> Screening:
    """Every active firm of ``region`` (inside ``scope``) with data for ``year`` through the rule sets."""
    where = scope.narrow(store, region)
    y = _year(store, year)
    day = _as_of(as_of, y)
    sets = rule_sets_for(day, rules)
    facts, names, counties = _load(store, where, y, day)
    results = [ac.screen_tier(rs, facts) for rs in sets]
    return Screening(where, y, day, facts, names, counties, results, inputs_fingerprint(store, y))


def run(store: Store, scope: Scope | None = None, region: str | None = None, *, year=None, as_of=None, rules=None,
        user: str | None = None) -> dict:
    """Screen and store the results as a new run; returns the run's summary (run_id, counts)."""
    scope = scope or Scope.province()
    s = screen(store, scope, region, year=year, as_of=as_of, rules=rules)
    if s.facts.n == 0:
        raise ShanhaiError(f"no active enterprises with {s.year} figures in region {s.region.adcode}")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    run_id = f"cultivation-{s.year}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    params = {"year": s.year, "as_of": s.as_of.isoformat(), "region": s.region.adcode, "region_level": s.region.level,
              "rule_sets": [{"name": t.rule_set.name, "version": t.rule_set.version, "tier": t.rule_set.tier,
                             "fingerprint": t.rule_set.fingerprint(), "valid_from": str(t.rule_set.valid_from),
                             "valid_to": str(t.rule_set.valid_to) if t.rule_set.valid_to else None,
                             "in_force": t.rule_set.in_force(s.as_of), "rules": t.rule_set.raw} for t in s.results],
              "firms": s.facts.n}
    table = s.rows()
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status, note) VALUES ({values(run_id, KIND, ','.join(t.rule_set.name for t in s.results))}, "
            f"{literal(','.join(t.rule_set.version for t in s.results))}, "
            f"{literal(json.dumps(params, ensure_ascii=False, default=str))}::JSON, "
            f"{values(s.fingerprint, __version__, user or 'cli', now, 'done', None)})")
        con.register("_cult_rows", table)
        con.execute(f"INSERT INTO cultivation_results BY NAME SELECT {literal(run_id)} AS run_id, * FROM _cult_rows")
        con.unregister("_cult_rows")
        audit_append(con, "cultivation.screen", username=user, target=run_id,
                     detail={"year": s.year, "as_of": s.as_of.isoformat(), "region": s.region.adcode,
                             "rule_sets": [t.rule_set.name for t in s.results], "firms": s.facts.n})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"run_id": run_id, **s.basis(True, run_id),
            "counts": {t.rule_set.name: t.evaluation.counts() for t in s.results}}


# ---- reading runs ---------------------------------------------------------------------------------

def list_runs(store: Store, scope: Scope | None = None, limit: int = 20) -> list[dict]:
    """Stored screenings whose region lies inside ``scope``, newest first."""
    scope = scope or Scope.province()
    rows = _dicts(store, "SELECT run_id, policy_name, policy_version, params::VARCHAR AS params, created_by, created_at "
                         f"FROM runs WHERE kind = '{KIND}' ORDER BY created_at DESC, run_id DESC")
    out = []
    for r in rows:
        p = json.loads(r["params"])
        run_scope = Scope.of(store, p["region"])
        if not (scope.contains(run_scope) or run_scope.contains(scope)):
            continue
        out.append({"run_id": r["run_id"], "rule_sets": r["policy_name"].split(","), "versions": r["policy_version"],
                    "year": p["year"], "as_of": p["as_of"], "region": p["region"], "firms": p["firms"],
                    "created_by": r["created_by"], "created_at": r["created_at"]})
        if len(out) >= limit:
            break
    return out


def _run_params(store: Store, run_id: str) -> dict:
    row = store.con.execute(f"SELECT params::VARCHAR FROM runs WHERE kind = '{KIND}' AND run_id = {literal(run_id)}"
                            ).fetchone()
    if row is None:
        raise NotFoundError(f"no cultivation screening run {run_id!r}")
    return json.loads(row[0])


def _region_contains(outer: str, inner: Scope, store: Store) -> bool:
    return Scope.of(store, outer).contains(inner)


def resolve(store: Store, where: Scope, year: int, run_id: str | None = None) -> str | None:
    """The run to read: ``run_id`` if given (its region must contain ``where``), else the newest run
    for ``year`` whose region contains ``where``; None → evaluate live."""
    if run_id and run_id != "latest":
        p = _run_params(store, run_id)
        if not _region_contains(p["region"], where, store):
            raise NotFoundError(f"run {run_id} does not cover region {where.adcode}")
        return run_id
    rows = store.con.execute(
        f"SELECT run_id, json_extract_string(params, '$.region') FROM runs WHERE kind = '{KIND}' "
        f"AND json_extract_string(params, '$.year') = {literal(str(year))} ORDER BY created_at DESC, run_id DESC"
    ).fetchall()
    for rid, region in rows:
        if _region_contains(region, where, store):
            return rid
    return None


class _Source:
    """Where results come from: a stored run (``cultivation_results`` filtered by run) or a live
    screening registered as a relation for the duration of a ``with`` block."""

    def __init__(self, store: Store, scope: Scope, region, year, run_id, as_of=None, rules=None):
        self.store = store
        self.where = scope.narrow(store, region)
        self.year = _year(store, year) if not (run_id and run_id != "latest") else \
            int(_run_params(store, run_id)["year"])
        self.run_id = resolve(store, self.where, self.year, run_id) if (as_of in (None, "") and not rules) else None
        self.as_of, self.rules = as_of, rules
        self.name = None

    def __enter__(self):
        if self.run_id:
            p = _run_params(self.store, self.run_id)
            self.sql = f"(SELECT * FROM cultivation_results WHERE run_id = {literal(self.run_id)})"
            self.basis = {"year": p["year"], "as_of": p["as_of"], "region": self.where.adcode,
                          "run_region": p["region"], "rule_sets": [{k: r[k] for k in ("name", "version", "tier")}
                                                                   | {"fingerprint": r["fingerprint"][:12]}
                                                                   for r in p["rule_sets"]],
                          "stored": True, "run_id": self.run_id}
        else:
            s = screen(self.store, Scope.province(), self.where.adcode, year=self.year, as_of=self.as_of,
                       rules=self.rules)
            self.name = f"_cult_live_{secrets.token_hex(4)}"
            self.store.con.register(self.name, s.rows())
            self.sql = self.name
            self.basis = s.basis(False)
        return self

    def __exit__(self, *exc):
        if self.name:
            self.store.con.unregister(self.name)


def _names(store: Store) -> dict[str, str]:
    return dict(store.con.execute("SELECT adcode, name FROM regions WHERE level IN ('province', 'city', 'county')"
                                  ).fetchall())


def pools(store: Store, scope: Scope, region: str | None = None, *, year=None, run_id: str | None = None,
          as_of=None, rules=None) -> dict:
    """Pools per county and tier: firms screened, title holders, and the firms by outcome; the
    candidates are eligible firms not yet holding the title."""
    with _Source(store, scope, region, year, run_id, as_of, rules) as src:
        rows = _dicts(store, f"""
            SELECT county_adcode, rule_set, tier, count(*) AS firms, count(*) FILTER (holds_title) AS holders,
                   {', '.join(f"count(*) FILTER (outcome = '{o}') AS {o}" for o in OUTCOMES)},
                   count(*) FILTER (outcome = 'eligible' AND NOT holds_title) AS candidates,
                   count(*) FILTER (outcome = 'near' AND NOT holds_title) AS near_candidates
            FROM {src.sql} r WHERE {src.where.sql('r.county_adcode')}
            GROUP BY ALL ORDER BY county_adcode, rule_set""")
        basis = src.basis
    names = _names(store)
    order = [r["name"] for r in basis["rule_sets"]]
    tiers = {r["name"]: r["tier"] for r in basis["rule_sets"]}
    counties: dict[str, dict] = {}
    totals = {n: {"rule_set": n, "tier": tiers[n], "tier_label": TIERS[tiers[n]][0], "firms": 0, "holders": 0,
                  "candidates": 0, "near_candidates": 0, **{o: 0 for o in OUTCOMES}} for n in order}
    for r in rows:
        c = counties.setdefault(r["county_adcode"], {"adcode": r["county_adcode"],
                                                      "name": names.get(r["county_adcode"], r["county_adcode"]),
                                                      "tiers": {}})
        c["tiers"][r["rule_set"]] = {k: r[k] for k in ("firms", "holders", "candidates", "near_candidates", *OUTCOMES)}
        for k in ("firms", "holders", "candidates", "near_candidates", *OUTCOMES):
            totals[r["rule_set"]][k] += int(r[k])
    return {"region": where_dict(src.where, names), "basis": basis, "rule_sets": order,
            "counties": sorted(counties.values(), key=lambda c: c["adcode"]),
            "totals": [totals[n] for n in order]}


def where_dict(where: Scope, names: dict) -> dict:
    return {"adcode": where.adcode, "level": where.level, "name": names.get(where.adcode, where.name)}


def pool_counts(store: Store, scope: Scope, region: str | None = None, *, year=None,
                run_id: str | None = None) -> list[dict]:
    """A region's pools as plain dicts, one per tier (for the monthly briefing): ``tier``,
    ``tier_label``, ``rule_set``, ``firms``, ``holders``, ``eligible``, ``needs_review``, ``near``,
    ``not_eligible``, ``candidates`` (eligible, not yet holding the title), ``near_candidates``,
    and the basis (``year``, ``as_of``, ``run_id`` or None when evaluated live)."""
    doc = pools(store, scope, region, year=year, run_id=run_id)
    b = doc["basis"]
    return [{**t, "region": doc["region"]["adcode"], "region_name": doc["region"]["name"], "year": b["year"],
             "as_of": b["as_of"], "run_id": b.get("run_id"),
             "version": next(r["version"] for r in b["rule_sets"] if r["name"] == t["rule_set"])}
            for t in doc["totals"]]


def candidates(store: Store, scope: Scope, region: str | None = None, *, rule_set: str | None = None,
               outcome: str | None = None, include_holders: bool = False, year=None, run_id: str | None = None,
               limit: int | None = None, as_of=None, rules=None) -> dict:
    """The firms of a rule set (default: the first of the run) with their outcome and what they
    miss: eligible, needs review and near by default (``outcome`` narrows), title holders left
    out unless ``include_holders``."""
    if outcome not in (None, "") and outcome not in OUTCOMES:
        raise ShanhaiError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    with _Source(store, scope, region, year, run_id, as_of, rules) as src:
        names_in = [r["name"] for r in src.basis["rule_sets"]]
        rs_name = rule_set or names_in[0]
        if rs_name not in names_in:
            raise ShanhaiError(f"rule set {rs_name!r} is not in this screening: expected one of {', '.join(names_in)}")
        want = [outcome] if outcome else ["eligible", "needs_review", "near"]
        rows = _dicts(store, f"""
            SELECT r.uscc, e.name, r.county_adcode, r.outcome, r.review, r.holds_title, r.excluded, r.score_low,
                   r.score_high, r.missed, r.unknown, r.manual, r.gaps
            FROM {src.sql} r JOIN enterprises e ON e.uscc = r.uscc
            WHERE r.rule_set = {literal(rs_name)} AND {src.where.sql('r.county_adcode')}
              AND r.outcome IN ({', '.join(literal(o) for o in want)})
              {'' if include_holders else 'AND NOT r.holds_title'}
            ORDER BY CASE r.outcome WHEN 'eligible' THEN 0 WHEN 'needs_review' THEN 1 WHEN 'near' THEN 2 ELSE 3 END,
                     r.county_adcode, r.uscc""")
        basis = src.basis
    names = _names(store)
    rs = cultivation_rule_set(rs_name) if rs_name in cultivation_rule_sets() else None
    labels = {}
    if rs is not None:
        for node_id in {i for r in rows for k in ("missed", "unknown", "manual") for i in (r[k] or "").split(",") if i}:
            try:
                labels[node_id] = rs.node(node_id).label
            except PolicyError:
                labels[node_id] = node_id
    for r in rows:
        r["county_name"] = names.get(r["county_adcode"], r["county_adcode"])
        r["outcome_label"] = OUTCOME_LABELS[r["outcome"]][0]
        for k in ("missed", "unknown", "manual"):
            ids = [i for i in (r[k] or "").split(",") if i]
            r[k] = ids
            r[k + "_labels"] = [f"{i} {labels.get(i, '')}".strip() for i in ids]
        r["gaps"] = [g for g in (r["gaps"] or "").split("；") if g]
    total = len(rows)
    return {"region": where_dict(src.where, names), "basis": basis, "rule_set": rs_name,
            "tier": rs.tier if rs else None, "tier_label": TIERS[rs.tier][0] if rs else rs_name,
            "display_name": rs.display_name if rs else rs_name, "outcome": outcome, "total": total,
            "firms": rows[:limit] if limit else rows}


def firm(store: Store, scope: Scope, uscc: str, *, year=None, as_of=None, rules=None) -> dict:
    """One firm through the rule sets, with the reason for every condition (evaluated now from
    the stored facts), and its results in the stored runs that hold it."""
    code = str(uscc).strip().upper()
    row = store.con.execute(f"SELECT uscc, name, county_adcode, status FROM enterprises WHERE uscc = {literal(code)}"
                            ).fetchone()
    if row is None:
        raise NotFoundError(f"enterprise {code} is not in the register")
    scope.check(row[2], f"enterprise {code}")
    y = _year(store, year)
    day = _as_of(as_of, y)
    sets = rule_sets_for(day, rules)
    facts, _, _ = _load(store, Scope.province(), y, day, uscc=code)
    if facts.n == 0:
        raise ShanhaiError(f"enterprise {code} has no {y} figures (or is not active): nothing to screen")
    tiers = []
    for rs in sets:
        tr = ac.screen_tier(rs, facts)
        ex = tr.evaluation.explain(0)
        tiers.append({"rule_set": rs.name, "display_name": rs.display_name, "tier": rs.tier,
                      "tier_label": TIERS[rs.tier][0], "version": rs.version, "source": rs.source,
                      "in_force": rs.in_force(day), "holds_title": bool(tr.holds_title[0]), "gaps_text": tr.gaps[0],
                      **ex})
    stored = _dicts(store, f"""
        SELECT r.run_id, r.rule_set, r.year, r.outcome, r.missed, ru.created_at, ru.inputs_fingerprint
        FROM cultivation_results r JOIN runs ru ON ru.run_id = r.run_id
        WHERE r.uscc = {literal(code)} ORDER BY ru.created_at DESC, r.rule_set LIMIT 50""")
    current = {}
    for r in stored:           # a run on data that has changed since: its result may differ from today's
        if r["year"] not in current:
            current[r["year"]] = inputs_fingerprint(store, r["year"])
        r["stale"] = r.pop("inputs_fingerprint") != current[r["year"]]
        r["outcome_label"] = OUTCOME_LABELS[r["outcome"]][0]
    facts_shown = {k: _clean(v[0]) for k, v in sorted(facts.values.items())}
    facts_shown.update({f"{k}_{y - (facts.history[k].shape[1] - 1 - j)}": _clean(facts.history[k][0, j])
                        for k in ("revenue", "main_revenue", "rd_spending", "rd_ratio", "main_share", "profit")
                        for j in range(max(0, facts.history[k].shape[1] - 3), facts.history[k].shape[1])})
    return {"uscc": row[0], "name": row[1], "county_adcode": row[2], "county_name": _names(store).get(row[2], row[2]),
            "year": y, "as_of": day.isoformat(), "data_fingerprint": inputs_fingerprint(store, y),
            "tiers": tiers, "facts": facts_shown, "stored": stored}


def _clean(v):
    v = float(v)
    return None if np.isnan(v) else round(v, 4)
