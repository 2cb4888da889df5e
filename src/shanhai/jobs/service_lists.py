"""Key and struggling enterprise lists (重点企业 / 困难企业) as stored runs, with one-to-one service:
each listed firm gets a responsible officer and a service task on the SAME task machinery as alert
visits (``visit_tasks`` / ``visit_task_events`` of migration 0010, ``source`` = ``key_list`` or
``struggling_list``), whose visit logs are the task's events.

**Facts** (``policy/service_desk/_facts.toml``), read in one query for every active firm of the
province for data year ``year`` (default: the latest in ``enterprise_years``): tax paid and
revenue (yearly histories), revenue change = (revenue_y ÷ revenue_{y−1} − 1) × 100, the
``leader_linked`` flag valid at the year's end, an open early-warning alert (``alerts``), class D
in the latest per-mu run (``mujun_scores``), electricity change = (Σ kWh of the last
``decline_months`` months ÷ the same months a year earlier − 1) × 100 (``electricity_monthly``), and
the composite score = that per-mu run's ``total_score`` (the top-N ranking).

**Listing.** A firm is on a list when the list's rule set (shared rule language) says eligible, or
it is among the ``top_n`` composite scores (衢州 K1: 50 + 50 by composite score). Runs are never
overwritten; a firm that already has an open task from a list of the same kind keeps it (no second
task). Officers: the active county-level accounts of the firm's county, assigned in turn (by the
firm's USCC order); none → the task waits unassigned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

import numpy as np

from shanhai import __version__
from shanhai.analysis import service_desk as sd
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._rules import Facts, evaluate
from shanhai.policy._service_desk import LIST_KINDS, list_rules
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import literal, values

KIND = "service_lists"
SOURCES = {"key": "key_list", "struggling": "struggling_list"}
TASK_STATES = ("open", "pushed", "visited", "closed")
# one-to-one service: action → (states it may start from, state it leads to)
TASK_ACTIONS = {"contact": (("open",), "pushed"), "visit": (("open", "pushed", "visited"), "visited"),
                "close": (("open", "pushed", "visited"), "closed")}
TASK_ACTION_LABELS = {"contact": ("已联系", "Contacted"), "visit": ("走访记录", "Visit logged"),
                      "close": ("结束服务", "Close")}
TASK_SOURCE_LABELS = {"key_list": ("重点企业名单", "Key enterprise list"),
                      "struggling_list": ("困难企业名单", "Struggling enterprise list"), "alert": ("用电预警", "Power-use alert")}
TASK_STATE_LABELS = {"open": ("待服务", "Open"), "pushed": ("已联系", "Contacted"), "visited": ("已走访", "Visited"),
                     "closed": ("已结束", "Closed")}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _year(store: Store, year) -> int:
    lo, hi = store.con.execute("SELECT min(year), max(year) FROM enterprise_years").fetchone()
    if hi is None:
        raise ShanhaiError("enterprise_years is empty: import yearly figures (or build a synthetic province) first")
    if year in (None, "", "latest"):
        return int(hi)
    try:
        y = int(year)
    except (TypeError, ValueError):
        raise ShanhaiError(f"year {year!r} is not a whole number like 2024") from None
    if not lo <= y <= hi:
        raise ShanhaiError(f"year {y} has no yearly figures (the database has {lo}–{hi})")
    return y


def _latest_mujun(store: Store, year: int) -> str | None:
    row = store.con.execute(f"""SELECT r.run_id FROM runs r WHERE r.kind = 'mujun'
        AND EXISTS (SELECT 1 FROM mujun_scores s WHERE s.run_id = r.run_id AND s.year <= {int(year)})
        ORDER BY r.created_at DESC LIMIT 1""").fetchone()
    return row[0] if row else None


def _mujun_source(store: Store, year: int) -> str | dict[str, str] | None:
    """Where the lists read per-mu scores and classes: each county's published result
    (``jobs.mujun_official``: its own, its city's or the province's) of the latest year up to
    ``year`` that has one, as {county: run}; without any published result, the newest run."""
    from shanhai.jobs import mujun_official

    latest = store.con.execute(f"SELECT max(year) FROM {mujun_official.CURRENT} c "
                               f"WHERE run_id IS NOT NULL AND year <= {int(year)}").fetchone()[0]
    if latest is not None:
        counties = [c for (c,) in store.con.execute(
            "SELECT DISTINCT county_adcode FROM enterprises WHERE county_adcode IS NOT NULL ORDER BY 1").fetchall()]
        runs = {c: mujun_official.official_for(store, latest, c) for c in counties}
        runs = {c: r for c, r in runs.items() if r is not None}
        if runs:
            return runs
    return _latest_mujun(store, year)


def facts_sql(year: int, mujun_run: str | dict[str, str] | None, decline_months: int) -> str:
    """One row per active firm: the list facts of data year ``year`` (module docstring);
    ``mujun_run`` one run, or {county: run} (each county's published result)."""
    end = dt.date(year, 12, 31)
    if isinstance(mujun_run, dict):
        pairs = ", ".join(f"({values(run, county)})" for county, run in sorted(mujun_run.items()))
        mj = f"""LEFT JOIN (SELECT s.uscc, max(s.total_score) AS score, bool_or(s.class = 'D') AS class_d
                            FROM mujun_scores s JOIN (VALUES {pairs}) o(run_id, county_adcode)
                                 ON s.run_id = o.run_id AND s.county_adcode = o.county_adcode
                            GROUP BY s.uscc) m ON m.uscc = e.uscc"""
    elif mujun_run:
        mj = f"""LEFT JOIN (SELECT uscc, max(total_score) AS score, bool_or(class = 'D') AS class_d FROM mujun_scores
                        WHERE run_id = {literal(mujun_run)} GROUP BY uscc) m ON m.uscc = e.uscc"""
    else:
        mj = "LEFT JOIN (SELECT NULL::VARCHAR AS uscc, NULL::DOUBLE AS score, NULL::BOOLEAN AS class_d) m ON false"
    return f"""
        WITH last_m AS (SELECT max(month) AS m FROM electricity_monthly WHERE month <= {literal(end)}),
        kwh AS (
            SELECT uscc,
                   sum(kwh) FILTER (month > (SELECT m FROM last_m) - INTERVAL {int(decline_months)} MONTH) AS recent,
                   sum(kwh) FILTER (month > (SELECT m FROM last_m) - INTERVAL {12 + int(decline_months)} MONTH
                                    AND month <= (SELECT m FROM last_m) - INTERVAL 12 MONTH) AS before
            FROM electricity_monthly WHERE month > (SELECT m FROM last_m) - INTERVAL {12 + int(decline_months)} MONTH
              AND month <= (SELECT m FROM last_m)
            GROUP BY uscc)
        SELECT e.uscc, e.county_adcode, e.town_adcode,
               y0.tax_paid::DOUBLE AS tax_paid, y1.tax_paid::DOUBLE AS tax_paid_prev,
               y0.revenue::DOUBLE AS revenue, y1.revenue::DOUBLE AS revenue_prev,
               CASE WHEN y1.revenue > 0 THEN (y0.revenue / y1.revenue - 1)::DOUBLE * 100 END AS revenue_change,
               CASE WHEN k.before > 0 THEN (k.recent / k.before - 1) * 100 END AS electricity_change,
               EXISTS (SELECT 1 FROM enterprise_flags f WHERE f.uscc = e.uscc AND f.flag = 'leader_linked'
                       AND f.valid_from <= {literal(end)} AND (f.valid_to IS NULL OR f.valid_to >= {literal(end)}))
                   AS leader_linked,
               EXISTS (SELECT 1 FROM alerts a WHERE a.uscc = e.uscc AND a.status = 'open') AS open_alert,
               m.class_d AS mujun_class_d, m.score AS score
        FROM enterprises e
        LEFT JOIN enterprise_years y0 ON y0.uscc = e.uscc AND y0.year = {int(year)}
        LEFT JOIN enterprise_years y1 ON y1.uscc = e.uscc AND y1.year = {int(year) - 1}
        LEFT JOIN kwh k ON k.uscc = e.uscc
        {mj}
        WHERE e.status = 'active'"""


def _facts(rows) -> tuple[Facts, np.ndarray]:
    cols = {k: np.array([r[k] for r in rows], dtype=object) for k in rows[0]} if rows else {}

    def num(name):
        return np.array([np.nan if v is None else float(v) for v in cols[name]], float)
    keys = cols["uscc"]
    facts = Facts(keys, {"revenue_change": num("revenue_change"), "electricity_change": num("electricity_change"),
                         "leader_linked": num("leader_linked"), "open_alert": num("open_alert"),
                         "mujun_class_d": np.nan_to_num(num("mujun_class_d"), nan=np.nan)},
                  {"tax_paid": np.column_stack([num("tax_paid_prev"), num("tax_paid")]),
                   "revenue": np.column_stack([num("revenue_prev"), num("revenue")])})
    return facts, num("score")


def build(store: Store, rules: str = "haishu-2018", year=None, *, user: str | None = None, progress=None) -> dict:
    """Evaluate every list of ``rules`` on data year ``year``, store the run, its entries and the
    service tasks of newly listed firms."""
    step = progress or (lambda label, fraction: None)
    lr = list_rules(rules)
    y = _year(store, year)
    mujun_run = _mujun_source(store, y)
    step("读取企业数据 facts", 0.1)
    rows = [dict(zip([d[0] for d in cur.description], r)) for cur in [store.con.execute(
        facts_sql(y, mujun_run, lr.decline_months))] for r in cur.fetchall()]
    if not rows:
        raise ShanhaiError("no active enterprises to list")
    facts, scores = _facts(rows)
    county = np.array([r["county_adcode"] for r in rows], dtype=object)
    town = np.array([r["town_adcode"] for r in rows], dtype=object)
    now = _now()
    run_id = f"lists-{y}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    entries = []
    summary = {}
    step("评估名单 evaluating", 0.4)
    for lst in lr.lists:
        ev = evaluate(lst.rule_set, facts)
        by_rule = ev.outcome == "eligible"
        by_top = sd.calc_top_n(facts.keys, scores, lst.top_n)
        idx = np.where(by_rule | by_top)[0]
        for i in idx:
            ex = ev.explain(int(i))
            met = [c["reason"] for c in _flat(ex["conditions"]) if c["status"] == "pass" and "children" not in c]
            via = "rule+top_n" if by_rule[i] and by_top[i] else ("rule" if by_rule[i] else "top_n")
            if by_top[i]:
                met.append(f"综合评分 {scores[i]:.2f} 位列前 {lst.top_n} 名")
            entries.append((run_id, lst.kind, facts.keys[i], county[i], town[i], via,
                            None if np.isnan(scores[i]) else float(scores[i]), "；".join(met),
                            json.dumps({"outcome": ex["outcome"], "conditions": ex["conditions"]}, ensure_ascii=False,
                                       default=str)))
        summary[lst.kind] = {"listed": int(len(idx)), "by_rule": int(by_rule.sum()), "by_top_n": int(by_top.sum())}
    params = {"year": y, "rules_fingerprint": lr.fingerprint(), "mujun_run": mujun_run,
              "decline_months": lr.decline_months, "firms": facts.n, "lists": summary}
    fp = hashlib.sha256(json.dumps([y, mujun_run, facts.n, store.con.execute(
        "SELECT coalesce(max(change_id), 0) FROM change_history").fetchone()[0]]).encode()).hexdigest()[:32]
    step("保存 storing", 0.7)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"""INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint,
            code_version, created_by, created_at, status) VALUES ({values(run_id, KIND, lr.name, lr.version)},
            {literal(json.dumps(params, ensure_ascii=False))}::JSON, {values(fp, __version__, user or 'cli', now, 'done')})""")
        if entries:
            con.executemany("""INSERT INTO service_list_entries (run_id, kind, uscc, county_adcode, town_adcode, via,
                score, reasons, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""", entries)
        tasks = _issue_tasks(store, lr, run_id, now)
        audit_append(con, "service.lists.build", username=user, target=run_id,
                     detail={"rules": lr.name, "version": lr.version, "year": y, "lists": summary, "tasks": tasks})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    step("完成 done", 1.0)
    return {"run_id": run_id, "rules": lr.name, "year": y, "mujun_run": mujun_run, "lists": summary, "tasks": tasks}


def _flat(nodes):
    for n in nodes:
        yield n
        yield from _flat(n.get("children", []))


def _issue_tasks(store: Store, lr, run_id: str, now: dt.datetime) -> dict:
    """Officers in turn per county; a service task for each listed firm without an open one of the same source."""
    out = {}
    for lst in lr.lists:
        if not lst.service_tasks:
            continue
        src = SOURCES[lst.kind]
        before = store.con.execute("SELECT count(*) FROM visit_tasks").fetchone()[0]
        store.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _list_new AS
            WITH officers AS (
                SELECT region_adcode AS county_adcode, username,
                       row_number() OVER (PARTITION BY region_adcode ORDER BY username) - 1 AS k,
                       count(*) OVER (PARTITION BY region_adcode) AS n
                FROM users WHERE role = 'county' AND NOT disabled),
            cand AS (
                SELECT l.*, row_number() OVER (PARTITION BY l.county_adcode ORDER BY l.uscc) - 1 AS j,
                       row_number() OVER (ORDER BY l.uscc) AS seq
                FROM service_list_entries l
                WHERE l.run_id = {literal(run_id)} AND l.kind = {literal(lst.kind)}
                  AND NOT EXISTS (SELECT 1 FROM visit_tasks v WHERE v.uscc = l.uscc AND v.source = {literal(src)}
                                  AND v.state <> 'closed'))
            SELECT c.uscc, c.county_adcode, c.town_adcode, c.score, c.seq,
                   {literal(run_id)} || '-' || {literal(lst.kind[0].upper())} || lpad(CAST(c.seq AS VARCHAR), 6, '0') AS ref,
                   o.username AS officer
            FROM cand c LEFT JOIN (SELECT DISTINCT county_adcode, n FROM officers) cn ON cn.county_adcode = c.county_adcode
            LEFT JOIN officers o ON o.county_adcode = c.county_adcode AND o.k = c.j % cn.n""")
        store.con.execute(f"""INSERT INTO visit_tasks (task_id, alert_id, run_id, uscc, county_adcode, town_adcode,
                priority, state, created_at, source, officer)
            SELECT 'T-' || ref, ref, {literal(run_id)}, uscc, county_adcode, town_adcode, coalesce(score, 0), 'open',
                   {literal(now)}, {literal(src)}, officer FROM _list_new""")
        store.con.execute(f"""INSERT INTO visit_task_events SELECT 'T-' || ref, 1, NULL, 'open', NULL,
                '一对一服务任务（' || {literal(LIST_KINDS[lst.kind][0])} || '）', 'system', {literal(now)} FROM _list_new""")
        store.con.execute(f"""UPDATE service_list_entries l SET officer = n.officer, task_id = 'T-' || n.ref
            FROM _list_new n WHERE l.run_id = {literal(run_id)} AND l.kind = {literal(lst.kind)} AND l.uscc = n.uscc""")
        store.con.execute("DROP TABLE IF EXISTS _list_new")
        out[lst.kind] = store.con.execute("SELECT count(*) FROM visit_tasks").fetchone()[0] - before
    return out


# ---- reading -------------------------------------------------------------------------------------

def runs(store: Store, limit: int = 20) -> list[dict]:
    return _dicts(store, f"""SELECT run_id, policy_name AS rules, policy_version AS version,
        json_extract_string(params, '$.year') AS year, created_by, created_at,
        (SELECT count(*) FROM service_list_entries l WHERE l.run_id = r.run_id AND l.kind = 'key') AS key_firms,
        (SELECT count(*) FROM service_list_entries l WHERE l.run_id = r.run_id AND l.kind = 'struggling') AS struggling_firms
        FROM runs r WHERE kind = {literal(KIND)} ORDER BY created_at DESC LIMIT {int(limit)}""")


def latest_run(store: Store, run_id: str | None = None) -> str | None:
    if run_id not in (None, "", "latest"):
        if not store.con.execute(f"SELECT 1 FROM runs WHERE kind = {literal(KIND)} AND run_id = {literal(run_id)}").fetchone():
            raise NotFoundError(f"no list run {run_id!r}")
        return run_id
    row = store.con.execute(f"SELECT run_id FROM runs WHERE kind = {literal(KIND)} ORDER BY created_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def entries(store: Store, scope: Scope, region: str | None = None, *, kind: str = "key", run_id: str | None = None,
            limit: int = 1000) -> dict:
    """The firms of list ``kind`` in a run (default: the latest) inside ``region``, with officer and task."""
    if kind not in LIST_KINDS:
        raise ShanhaiError(f"list kind {kind!r} is not one of {', '.join(LIST_KINDS)}")
    where = scope.narrow(store, region)
    rid = latest_run(store, run_id)
    if rid is None:
        return {"region": where.as_dict(), "run_id": None, "kind": kind, "entries": [], "total": 0}
    w = f"l.run_id = {literal(rid)} AND l.kind = {literal(kind)} AND {where.sql('l.county_adcode')}"
    rows = _dicts(store, f"""SELECT l.uscc, e.name, l.county_adcode, l.town_adcode, e.town_name, l.via, l.score,
            l.reasons, l.officer, l.task_id, v.state AS task_state, v.updated_at AS task_updated
        FROM service_list_entries l LEFT JOIN enterprises e USING (uscc) LEFT JOIN visit_tasks v ON v.task_id = l.task_id
        WHERE {w} ORDER BY l.score DESC NULLS LAST, l.uscc LIMIT {int(limit)}""")
    total = store.con.execute(f"SELECT count(*) FROM service_list_entries l WHERE {w}").fetchone()[0]
    names = dict(store.con.execute("SELECT adcode, name FROM regions").fetchall())
    for r in rows:
        r["county_name"] = names.get(r["county_adcode"])
    return {"region": where.as_dict(), "run_id": rid, "kind": kind, "label": LIST_KINDS[kind][0],
            "entries": rows, "total": total}


def service_task(store: Store, scope: Scope, task_id: str) -> dict:
    rows = _dicts(store, f"""SELECT v.*, e.name FROM visit_tasks v LEFT JOIN enterprises e USING (uscc)
                              WHERE v.task_id = {literal(task_id)} AND v.source IN ('key_list', 'struggling_list')""")
    if not rows:
        raise NotFoundError(f"no service task {task_id!r}")
    if not scope.covers(rows[0]["county_adcode"]):
        raise OutOfScopeError(f"service task {task_id} is outside your scope ({scope.adcode} {scope.name})")
    t = rows[0]
    t["events"] = _dicts(store, f"SELECT * FROM visit_task_events WHERE task_id = {literal(task_id)} ORDER BY seq")
    return t


def log(store: Store, scope: Scope, task_id: str, action: str, *, user: str | None = None, note: str | None = None,
        at=None) -> dict:
    """A one-to-one service step on a list task: contact (open → pushed), visit (a visit log; may
    repeat), close. Each is an event of the task (its visit log) and an audit entry."""
    if action not in TASK_ACTIONS:
        raise ShanhaiError(f"action {action!r} is not one of {', '.join(TASK_ACTIONS)}")
    t = service_task(store, scope, task_id)
    starts, to = TASK_ACTIONS[action]
    if t["state"] not in starts:
        raise ShanhaiError(f"a service task in state {t['state']} cannot {action} (allowed from {', '.join(starts)})")
    note = (note or "").strip()[:2000] or None
    if action == "visit" and not note:
        raise ShanhaiError("走访记录须填写内容 (a visit log needs a note: what was found, what the firm needs)")
    when = at if isinstance(at, dt.datetime) else _now()
    seq = len(t["events"]) + 1
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"""UPDATE visit_tasks SET state = {literal(to)}, note = coalesce({literal(note)}, note),
            updated_at = {literal(when)}, updated_by = {literal(user)} WHERE task_id = {literal(task_id)}""")
        con.execute(f"INSERT INTO visit_task_events VALUES ({values(task_id, seq, t['state'], to, None, note, user, when)})")
        audit_append(con, f"service.lists.task.{action}", username=user, target=task_id,
                     detail={"uscc": t["uscc"], "source": t["source"], "from": t["state"], "to": to, "note": note})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return service_task(store, scope, task_id)
