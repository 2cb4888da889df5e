"""Enterprise early warning against the store: the monthly scan stored as a run, the alerts and
their visit tasks (open → pushed → visited → closed, audited), and the back-test against the
synthetic ground truth. The method is in :mod:`shanhai.analysis.alerts`.

**Runs.** ``scan`` scores every firm of the province for one month (default: the latest month in
``electricity_monthly``) in one DuckDB query and stores a ``runs`` row (kind ``alerts``: rule set
name, version and fingerprint, the month, the input fingerprint) and the firms at or above the
alert score in ``alert_scores``. Nothing is overwritten: a firm with an open alert gets a repeat
row pointing at it (de-duplicated), the others a new alert.

**Tasks.** Alerts at or above ``tasks.score_at`` without a task, whose firm was not visited in the
last ``tasks.suppress_months`` months, become tasks for the firm's town, at most
``tasks.cap_per_town`` per town and cycle (scan), by priority = score + size_weight × the firm's
percentile of baseline daily use among the cycle's candidates. Closing a task closes its alert.

**Scope.** Every reader filters by the caller's ``Scope`` on the firm's county in SQL; an alert or
task outside it is a 403, an unknown one a 404.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time

from shanhai import __version__
from shanhai.analysis import alerts as aa
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._alerts import (KIND_LABELS, POSITIVE_RESULTS, RESULT_LABELS, RESULTS, SIGNAL_LABELS, SIGNALS,
                                    AlertRules, alert_rules)
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import literal, values

KIND = "alerts"
STATES = ("open", "pushed", "visited", "closed")
STATE_LABELS = {"open": ("待处理", "Open"), "pushed": ("已推送核查", "Pushed"), "visited": ("已走访", "Visited"),
                "closed": ("已办结", "Closed")}
# action → (states it may start from, state it leads to)
ACTIONS = {"push": (("open",), "pushed"), "visit": (("open", "pushed"), "visited"),
           "close": (("open", "pushed", "visited"), "closed")}
SERIES_MONTHS = 24


ALERT_TASKS = "coalesce(v.source, 'alert') = 'alert'"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def latest_month(store: Store) -> dt.date:
    row = store.con.execute("SELECT max(month) FROM electricity_monthly").fetchone()
    if not row or row[0] is None:
        raise ShanhaiError("electricity_monthly is empty: import monthly electricity (or build a synthetic province) first")
    return row[0].replace(day=1)


def _month(store: Store, month) -> dt.date:
    if month in (None, "", "latest"):
        return latest_month(store)
    try:
        m = aa.month_start(month)
    except ValueError as exc:
        raise ShanhaiError(str(exc)) from None
    lo, hi = store.con.execute("SELECT min(month), max(month) FROM electricity_monthly").fetchone()
    if lo is None or not (lo.replace(day=1) <= m <= hi):
        raise ShanhaiError(f"month {m:%Y-%m} has no electricity data (the database has "
                           f"{'none' if lo is None else f'{lo:%Y-%m} to {hi:%Y-%m}'})")
    return m


def inputs_fingerprint(store: Store, month: dt.date, rules: AlertRules) -> str:
    """Rows per dataset of the months the scan reads, and the last import change."""
    lo = aa.add_months(month, -aa.months_needed(rules))
    rows = store.con.execute(
        f"SELECT coalesce(dataset_id, '-'), count(*), sum(kwh) FROM electricity_monthly WHERE month BETWEEN "
        f"{literal(lo)} AND {literal(month)} GROUP BY 1 ORDER BY 1").fetchall()
    last = store.con.execute("SELECT coalesce(max(change_id), 0) FROM change_history").fetchone()[0]
    text = ";".join(f"{d}:{n}:{s:.1f}" for d, n, s in rows) + f";change_history={last}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ---- the scan ------------------------------------------------------------------------------------

def scan(store: Store, month=None, *, rules: str = "default", user: str | None = None, progress=None,
         engine: str = "duckdb", source: str | None = None) -> dict:
    """Score every firm for ``month`` and store the run, its alerts and the cycle's visit tasks.

    ``engine``: duckdb (the query ``analysis.alerts.scan_sql``) or spark (the same scan as an Ibis
    expression, ``analysis.alerts_ibis``; scores rounded and filtered back in DuckDB). ``source``:
    ``parquet://DIR`` reads electricity and firms from a Parquet dataset (``engine._parquet``)."""
    from shanhai.engine import ENGINES
    from shanhai.engine._parquet import attach

    if engine not in ENGINES:
        raise ShanhaiError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    with attach(store, source):
        return _scan(store, month, rules=rules, user=user, progress=progress, engine=engine, source=source)


def _scan(store: Store, month, *, rules: str, user: str | None, progress, engine: str, source: str | None) -> dict:
    step = progress or (lambda label, fraction: None)
    started = time.perf_counter()
    r = alert_rules(rules)
    m = _month(store, month)
    con = store.con
    step("扫描 scanning", 0.1)
    if engine == "duckdb":
        con.execute("SET preserve_insertion_order = false")   # lets the window operator stream: less memory
        try:
            con.execute(f"""CREATE OR REPLACE TEMP TABLE _alert_scan AS
                SELECT s.*, e.county_adcode, e.town_adcode
                FROM ({aa.scan_sql(r, month=m)}) s LEFT JOIN enterprises e ON e.uscc = s.uscc
                WHERE s.score >= {float(r.score.alert_at)!r}""")
        finally:
            con.execute("RESET preserve_insertion_order")
    else:
        _scan_on(store, engine, r, m)
    scanned = con.execute(f"SELECT count(*) FROM electricity_monthly WHERE month = {literal(m)}").fetchone()[0]
    now = _now()
    run_id = f"alerts-{m:%Y%m}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    params = {"month": m.isoformat(), "region": "330000", "rules_fingerprint": r.fingerprint(),
              "alert_at": r.score.alert_at, "task_at": r.tasks.score_at, "cap_per_town": r.tasks.cap_per_town,
              "suppress_months": r.tasks.suppress_months, "firms_scanned": scanned, "engine": engine,
              "source": source or "store"}
    step("保存 storing", 0.6)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status) VALUES ({values(run_id, KIND, r.name, r.version)}, "
            f"{literal(json.dumps(params, ensure_ascii=False))}::JSON, "
            f"{values(inputs_fingerprint(store, m, r), __version__, user or 'cli', now, 'done')})")
        # an open alert of the same firm absorbs the new finding (de-duplication); a new alert is
        # numbered within its run (its id never carries the USCC, so an id in a URL names no firm)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _alert_ids AS
            SELECT s.uscc, coalesce(o.alert_id, {literal(run_id)} || '-' || lpad(CAST(row_number() OVER (
                       PARTITION BY o.alert_id IS NULL ORDER BY s.score DESC, s.uscc) AS VARCHAR), 6, '0')) AS alert_id,
                   o.alert_id IS NULL AS is_new
            FROM _alert_scan s LEFT JOIN (SELECT uscc, max(alert_id) AS alert_id FROM alerts WHERE status = 'open'
                                          GROUP BY uscc) o ON o.uscc = s.uscc""")
        con.execute(f"""INSERT INTO alerts (alert_id, run_id, uscc, county_adcode, town_adcode, month, score, kind,
                                            status, created_at)
            SELECT i.alert_id, {literal(run_id)}, s.uscc, s.county_adcode, s.town_adcode, s.month, s.score, s.kind,
                   'open', {literal(now)}
            FROM _alert_scan s JOIN _alert_ids i USING (uscc) WHERE i.is_new""")
        con.execute(f"""INSERT INTO alert_scores BY NAME
            SELECT {literal(run_id)} AS run_id, s.uscc, s.month, i.alert_id, i.is_new, s.score, s.kind,
                   {', '.join('s.' + c for c in aa.FIGURES)}, {', '.join('s.' + c for c in aa.POINTS)}
            FROM _alert_scan s JOIN _alert_ids i USING (uscc)""")
        step("生成走访任务 visit tasks", 0.8)
        tasks = _issue_tasks(store, r, run_id, m, now)
        counts = dict(con.execute(
            f"SELECT is_new, count(*) FROM alert_scores WHERE run_id = {literal(run_id)} GROUP BY 1").fetchall())
        audit_append(con, "alerts.scan", username=user, target=run_id,
                     detail={"rules": r.name, "version": r.version, "month": m.isoformat(),
                             "new_alerts": counts.get(True, 0), "repeats": counts.get(False, 0), "tasks": tasks})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS _alert_scan")
        con.execute("DROP TABLE IF EXISTS _alert_ids")
    step("完成 done", 1.0)
    return {"run_id": run_id, "month": m.isoformat(), "rules": r.name, "rules_version": r.version,
            "firms_scanned": scanned, "alerts": counts.get(True, 0) + counts.get(False, 0),
            "new_alerts": counts.get(True, 0), "repeats": counts.get(False, 0), "tasks": tasks,
            "seconds": round(time.perf_counter() - started, 3)}


def _scan_on(store: Store, engine: str, r: AlertRules, m: dt.date) -> None:
    """``_alert_scan`` from the Ibis scan on another engine: the firms within 0.01 of the alert
    score come back as Arrow (a superset), and DuckDB rounds the score and keeps those at or
    above it, exactly as ``scan_sql`` rounds (see ``analysis.alerts_ibis``)."""
    from shanhai.analysis import alerts_ibis
    from shanhai.engine import connect, fetch

    backend = connect(store, engine)
    expr = alerts_ibis.scan_expr(backend, r, m)
    expr = expr.filter(expr.score_raw >= float(r.score.alert_at) - 0.01)
    arrow = fetch(backend, expr)
    store.con.register("_alert_scan_in", arrow)
    try:
        store.con.execute(f"""CREATE OR REPLACE TEMP TABLE _alert_scan AS
            SELECT s.uscc, s.month, {', '.join('s.' + c for c in aa.FIGURES)}, {', '.join('s.' + c for c in aa.POINTS)},
                   round(s.score_raw, 2) AS score, s.kind, s.eligible, e.county_adcode, e.town_adcode
            FROM _alert_scan_in s LEFT JOIN enterprises e ON e.uscc = s.uscc
            WHERE round(s.score_raw, 2) >= {float(r.score.alert_at)!r}""")
    finally:
        store.con.unregister("_alert_scan_in")


def _issue_tasks(store: Store, r: AlertRules, run_id: str, month: dt.date, now: dt.datetime) -> int:
    """Tasks for this cycle: open alerts ≥ score_at without a task, not visited recently, capped per town."""
    t = r.tasks
    since = aa.add_months(month, -t.suppress_months)
    before = store.con.execute("SELECT count(*) FROM visit_tasks").fetchone()[0]
    store.con.execute(f"""
        INSERT INTO visit_tasks (task_id, alert_id, run_id, uscc, county_adcode, town_adcode, priority, state,
                                 created_at)
        WITH cand AS (
            SELECT a.alert_id, s.uscc, a.county_adcode, a.town_adcode, s.score, s.baseline_daily_kwh
            FROM alert_scores s JOIN alerts a ON a.alert_id = s.alert_id
            WHERE s.run_id = {literal(run_id)} AND a.status = 'open' AND s.score >= {float(t.score_at)!r}
              AND NOT EXISTS (SELECT 1 FROM visit_tasks v WHERE v.alert_id = a.alert_id)
              AND NOT EXISTS (SELECT 1 FROM visit_tasks v WHERE v.uscc = s.uscc AND v.state IN ('visited', 'closed')
                              AND v.updated_at >= {literal(dt.datetime.combine(since, dt.time()))})
        ), ranked AS (
            SELECT *, round(score + {float(t.size_weight)!r} * coalesce(percent_rank() OVER (ORDER BY baseline_daily_kwh), 0), 2)
                      AS priority
            FROM cand
        ), capped AS (
            SELECT *, row_number() OVER (PARTITION BY coalesce(town_adcode, county_adcode)
                                         ORDER BY priority DESC, uscc) AS k
            FROM ranked
        )
        SELECT 'T-' || alert_id, alert_id, {literal(run_id)}, uscc, county_adcode, town_adcode, priority, 'open',
               {literal(now)}
        FROM capped WHERE k <= {int(t.cap_per_town)}""")
    store.con.execute(f"""INSERT INTO visit_task_events
        SELECT task_id, 1, NULL, 'open', NULL, NULL, 'system', {literal(now)} FROM visit_tasks
        WHERE run_id = {literal(run_id)}""")
    return store.con.execute("SELECT count(*) FROM visit_tasks").fetchone()[0] - before


# ---- reading -------------------------------------------------------------------------------------

def runs(store: Store, limit: int = 20) -> list[dict]:
    return _dicts(store, f"""SELECT run_id, policy_name AS rules, policy_version AS rules_version,
        json_extract_string(params, '$.month') AS month, created_by, created_at,
        (SELECT count(*) FROM alert_scores s WHERE s.run_id = r.run_id) AS alerts,
        (SELECT count(*) FROM alert_scores s WHERE s.run_id = r.run_id AND s.is_new) AS new_alerts,
        (SELECT count(*) FROM visit_tasks v WHERE v.run_id = r.run_id) AS tasks
        FROM runs r WHERE kind = 'alerts' ORDER BY created_at DESC LIMIT {int(limit)}""")


def _latest(store: Store, run_id: str | None) -> str | None:
    if run_id not in (None, "", "latest"):
        if not store.con.execute(f"SELECT 1 FROM runs WHERE kind = 'alerts' AND run_id = {literal(run_id)}").fetchone():
            raise NotFoundError(f"no alert scan {run_id!r}")
        return run_id
    row = store.con.execute("SELECT run_id FROM runs WHERE kind = 'alerts' ORDER BY created_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def _names(store: Store) -> dict[str, str]:
    return dict(store.con.execute("SELECT adcode, name FROM regions").fetchall())


def list_alerts(store: Store, scope: Scope, region: str | None = None, *, status: str | None = "open",
                kind: str | None = None, town: str | None = None, limit: int = 200) -> dict:
    """Alerts of firms inside ``region`` (default: the caller's scope), highest latest score first,
    each with its latest scan figures, its task and the firm's last 24 months of daily use."""
    where = scope.narrow(store, region)
    if status not in (None, "", "all", "open", "closed"):
        raise ShanhaiError(f"status {status!r} is not one of open, closed, all")
    if kind not in (None, "") and kind not in KIND_LABELS:
        raise ShanhaiError(f"kind {kind!r} is not one of {', '.join(KIND_LABELS)}")
    filters = [where.sql("a.county_adcode")]
    if status in ("open", "closed"):
        filters.append(f"a.status = {literal(status)}")
    if kind:
        filters.append(f"a.kind = {literal(kind)}")
    if town:
        filters.append(f"a.town_adcode = {literal(town)}")
    rows = _dicts(store, f"""
        WITH last AS (SELECT alert_id, arg_max(score, month) AS last_score, max(month) AS last_month,
                             count(*) AS scans FROM alert_scores GROUP BY alert_id)
        SELECT a.alert_id, a.uscc, e.name, a.county_adcode, a.town_adcode, e.town_name, a.month, a.score, a.kind,
               a.status, a.run_id, l.last_score, l.last_month, l.scans, v.task_id, v.state AS task_state,
               v.priority, v.result
        FROM alerts a LEFT JOIN enterprises e ON e.uscc = a.uscc LEFT JOIN last l ON l.alert_id = a.alert_id
        LEFT JOIN visit_tasks v ON v.alert_id = a.alert_id
        WHERE {' AND '.join(filters)}
        ORDER BY coalesce(l.last_score, a.score) DESC, a.alert_id LIMIT {int(limit)}""")
    total = store.con.execute(f"SELECT count(*) FROM alerts a WHERE {' AND '.join(filters)}").fetchone()[0]
    names = _names(store)
    series = _series(store, [x["uscc"] for x in rows])
    for x in rows:
        x["county_name"] = names.get(x["county_adcode"])
        x["kind_label"], x["kind_label_en"] = KIND_LABELS[x["kind"]]
        x["series"] = series.get(x["uscc"], [])
    by_area = _dicts(store, f"""SELECT a.county_adcode, a.town_adcode, any_value(e.town_name) AS town_name,
            count(*) AS alerts, round(max(a.score), 2) AS max_score
        FROM alerts a LEFT JOIN enterprises e ON e.uscc = a.uscc WHERE {' AND '.join(filters)}
        GROUP BY ALL ORDER BY alerts DESC, a.town_adcode LIMIT 200""")
    for x in by_area:
        x["county_name"] = names.get(x["county_adcode"])
    return {"region": where.as_dict() | {"name": names.get(where.adcode, where.name)}, "alerts": rows,
            "total": total, "by_area": by_area, "status": status or "all", "latest_run": _latest(store, None)}


def _series(store: Store, usccs: list[str], months: int = SERIES_MONTHS) -> dict[str, list]:
    """The last ``months`` months of daily use per firm: [[YYYY-MM, kWh/day], …]."""
    if not usccs:
        return {}
    inlist = ", ".join(literal(u) for u in dict.fromkeys(usccs))
    out: dict[str, list] = {}
    for uscc, month, u in store.con.execute(f"""
            SELECT uscc, month, round(kwh / dayofmonth(last_day(month)), 1) FROM (
                SELECT uscc, month, kwh, row_number() OVER (PARTITION BY uscc ORDER BY month DESC) AS k
                FROM electricity_monthly WHERE uscc IN ({inlist})) WHERE k <= {int(months)} ORDER BY uscc, month
            """).fetchall():
        out.setdefault(uscc, []).append([f"{month:%Y-%m}", u])
    return out


def _alert_row(store: Store, scope: Scope, alert_id: str) -> dict:
    rows = _dicts(store, f"""SELECT a.*, e.name, e.town_name, e.industry_code FROM alerts a
                              LEFT JOIN enterprises e ON e.uscc = a.uscc WHERE a.alert_id = {literal(alert_id)}""")
    if not rows:
        raise NotFoundError(f"no alert {alert_id!r}")
    a = rows[0]
    if not scope.covers(a["county_adcode"]):
        raise OutOfScopeError(f"alert {alert_id} is outside your scope ({scope.adcode} {scope.name})")
    return a


def alert_detail(store: Store, scope: Scope, alert_id: str, *, rules: str = "default") -> dict:
    """One alert: the firm's whole series with every month's signals and score (the same query as
    the scan, for this firm), the scans that found it, its task and the task's history."""
    a = _alert_row(store, scope, alert_id)
    r = alert_rules(rules)
    months = _dicts(store, f"""SELECT month, kwh, daily_kwh, baseline_daily_kwh, yoy_ratio, zscore, near_zero_months,
            decline_ratio, spike_ratio, utilities_ratio, score, kind, {', '.join(aa.POINTS)}
        FROM ({aa.scan_sql(r, where=f"uscc = {literal(a['uscc'])}")}) ORDER BY month""")
    for x in months:
        x["month"] = f"{x['month']:%Y-%m}"
        x["signals"] = [s for s in SIGNALS if (x[f"p_{s}"] or 0) > 0]
        x["alert"] = x["score"] >= r.score.alert_at
    scans = _dicts(store, f"""SELECT s.*, r.created_at FROM alert_scores s JOIN runs r USING (run_id)
                               WHERE s.alert_id = {literal(alert_id)} ORDER BY s.month, r.created_at""")
    for s in scans:
        s["signals"] = [{"signal": k, "label": SIGNAL_LABELS[k][0], "label_en": SIGNAL_LABELS[k][1],
                         "points": s[f"p_{k}"]} for k in SIGNALS if (s[f"p_{k}"] or 0) > 0]
    task = _dicts(store, f"SELECT * FROM visit_tasks WHERE alert_id = {literal(alert_id)}")
    events = _dicts(store, f"""SELECT * FROM visit_task_events WHERE task_id = {literal(task[0]['task_id'])}
                               ORDER BY seq""") if task else []
    names = _names(store)
    a["county_name"] = names.get(a["county_adcode"])
    a["kind_label"], a["kind_label_en"] = KIND_LABELS[a["kind"]]
    return {"alert": a, "months": months, "scans": scans, "task": task[0] if task else None, "events": events,
            "rules": {"name": r.name, "version": r.version, "alert_at": r.score.alert_at,
                      "fingerprint": r.fingerprint()[:12]}}


def list_tasks(store: Store, scope: Scope, region: str | None = None, *, state: str | None = None,
               limit: int = 500) -> dict:
    where = scope.narrow(store, region)
    if state not in (None, "", "all") and state not in STATES:
        raise ShanhaiError(f"state {state!r} is not one of {', '.join(STATES)}")
    # visit_tasks also holds the one-to-one service tasks of the key and struggling lists
    # (source key_list | struggling_list, jobs.service_lists): the alert queue shows its own
    filters = [where.sql("v.county_adcode"), ALERT_TASKS] + ([f"v.state = {literal(state)}"] if state not in (None, "", "all") else [])
    rows = _dicts(store, f"""SELECT v.*, e.name, e.town_name, a.kind, a.score, a.month
        FROM visit_tasks v LEFT JOIN enterprises e ON e.uscc = v.uscc LEFT JOIN alerts a ON a.alert_id = v.alert_id
        WHERE {' AND '.join(filters)} ORDER BY v.state = 'closed', v.priority DESC, v.task_id LIMIT {int(limit)}""")
    counts = dict(store.con.execute(f"SELECT state, count(*) FROM visit_tasks v WHERE {where.sql('v.county_adcode')} "
                                    f"AND {ALERT_TASKS} GROUP BY 1").fetchall())
    return {"region": where.as_dict(), "tasks": rows, "counts": {s: counts.get(s, 0) for s in STATES},
            "precision": visit_precision(store, scope, region)}


def task(store: Store, scope: Scope, task_id: str) -> dict:
    rows = _dicts(store, f"SELECT * FROM visit_tasks WHERE task_id = {literal(task_id)}")
    if not rows:
        raise NotFoundError(f"no visit task {task_id!r}")
    if not scope.covers(rows[0]["county_adcode"]):
        raise OutOfScopeError(f"visit task {task_id} is outside your scope ({scope.adcode} {scope.name})")
    out = rows[0]
    out["events"] = _dicts(store, f"SELECT * FROM visit_task_events WHERE task_id = {literal(task_id)} ORDER BY seq")
    return out


def transition(store: Store, scope: Scope, task_id: str, action: str, *, user: str | None = None,
               result: str | None = None, note: str | None = None) -> dict:
    """Move a task: push (open → pushed, online verification), visit (→ visited, result
    required), close (→ closed, result required unless the visit gave one; closes the alert).
    One transaction with its event row and an audit entry."""
    if action not in ACTIONS:
        raise ShanhaiError(f"action {action!r} is not one of {', '.join(ACTIONS)}")
    t = task(store, scope, task_id)
    starts, to = ACTIONS[action]
    if t["state"] not in starts:
        raise ShanhaiError(f"任务 {task_id} 当前为 {STATE_LABELS[t['state']][0]}，不能{action} "
                           f"(a task in state {t['state']} cannot be {to}; allowed from {', '.join(starts)})")
    result = (result or "").strip() or None
    if result is not None and result not in RESULTS:
        raise ShanhaiError(f"result {result!r} is not one of {', '.join(RESULTS)}")
    if action == "visit" and result is None:
        raise ShanhaiError("走访须填写核查结果 (a visit needs a result: " + ", ".join(RESULTS) + ")")
    if action == "close" and result is None and t["result"] is None:
        raise ShanhaiError("办结须填写核查结果 (closing needs a result: " + ", ".join(RESULTS) + ")")
    note = (note or "").strip()[:1000] or None
    new_result = result or t["result"]
    now = _now()
    seq = len(t["events"]) + 1
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"""UPDATE visit_tasks SET state = {literal(to)}, result = {literal(new_result)},
                        note = coalesce({literal(note)}, note), updated_at = {literal(now)}, updated_by = {literal(user)}
                        WHERE task_id = {literal(task_id)}""")
        con.execute(f"INSERT INTO visit_task_events VALUES ({values(task_id, seq, t['state'], to, result, note, user, now)})")
        if to == "closed":
            con.execute(f"UPDATE alerts SET status = 'closed', closed_at = {literal(now)} "
                        f"WHERE alert_id = {literal(t['alert_id'])}")
        audit_append(con, f"alerts.task.{action}", username=user, target=task_id,
                     detail={"alert": t["alert_id"], "uscc": t["uscc"], "from": t["state"], "to": to,
                             "result": new_result, "note": note})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return task(store, scope, task_id)


def visit_precision(store: Store, scope: Scope, region: str | None = None) -> dict:
    """Visit results as labels: the share of visited or closed tasks whose result confirms the
    warning (stopped, reduced, relocated), overall and per cycle; tasks are issued top priority
    first up to the town cap, so this is the precision at the visit capacity."""
    where = scope.narrow(store, region)
    rows = store.con.execute(f"""SELECT run_id, result FROM visit_tasks v WHERE {where.sql('v.county_adcode')}
                                 AND {ALERT_TASKS} AND result IS NOT NULL""").fetchall()
    per: dict[str, list[str]] = {}
    for run_id, result in rows:
        per.setdefault(run_id, []).append(result)
    return {"labelled": len(rows), "precision": _round(aa.precision_at([r for _, r in rows], POSITIVE_RESULTS)),
            "results": {k: sum(1 for _, r in rows if r == k) for k in RESULTS},
            "per_cycle": [{"run_id": k, "labelled": len(v), "precision": _round(aa.precision_at(v, POSITIVE_RESULTS))}
                          for k, v in sorted(per.items())]}


def _round(x):
    return None if x is None else round(x, 4)


# ---- back-test -----------------------------------------------------------------------------------

def evaluate(store: Store, *, rules: str = "default") -> dict:
    """Back-test the rules over every month of ``electricity_monthly`` and compare with the
    synthetic ground truth (``synth_ground_truth``, category electricity_anomaly); the match
    rule is in :mod:`shanhai.analysis.alerts`."""
    r = alert_rules(rules)
    have = store.con.execute("SELECT count(*) FROM synth_ground_truth WHERE category = 'electricity_anomaly'"
                             ).fetchone()[0]
    if not have:
        raise ShanhaiError("no ground truth: synth_ground_truth has no electricity anomalies (evaluate needs a "
                           "synthetic province, `shanhai synth`)")
    started = time.perf_counter()
    clash = store.con.execute(aa.check_keys_sql()).fetchall()
    if clash:
        raise ShanhaiError(f"two USCCs share the scan's 64-bit key: {clash[0][1]} (rename one in the data)")
    episodes = aa.episodes_sql(r, aa.scan_sql(r))
    truth = ("SELECT uscc, kind, start_month, end_month FROM synth_ground_truth "
             "WHERE category = 'electricity_anomaly'")
    firsts = "SELECT uscc, min(month) AS first_month FROM electricity_monthly GROUP BY uscc"
    rows = store.con.execute(aa.match_sql(r, episodes, truth, firsts)).fetchall()
    figs = aa.figures(rows)
    lo, hi = store.con.execute("SELECT min(month), max(month) FROM electricity_monthly").fetchone()
    return {"rules": r.name, "rules_version": r.version, "rules_fingerprint": r.fingerprint()[:12],
            "months": f"{lo:%Y-%m} to {hi:%Y-%m}",
            "match_rule": (f"an alert (alert months of a firm less than {r.evaluation.repeat_gap_months + 1} months "
                           "apart form one alert, dated by its first month) matches an anomaly of the same firm "
                           f"when its month lies between the anomaly's start and {r.evaluation.tolerance_months} "
                           "months after its end; precision counts alerts of a kind matching an anomaly of the "
                           "same kind (precision_any: of any kind); recall counts anomalies matched by an alert "
                           f"of any kind, among those starting at least {r.history.min_months} months after the "
                           "firm's first month"),
            "kinds": [f.as_dict() for f in figs], "seconds": round(time.perf_counter() - started, 3)}


__all__ = ["scan", "list_alerts", "alert_detail", "list_tasks", "task", "transition", "visit_precision", "evaluate",
           "runs", "latest_month", "STATES", "STATE_LABELS", "ACTIONS", "RESULT_LABELS"]
