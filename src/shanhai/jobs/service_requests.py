"""Enterprise requests (涉企问题, 企呼我应) against the store: intake from any channel, routing to a
department and level, the state machine with its working-day clocks, extensions, escalation (督办)
of overdue requests, satisfaction, and the KPIs by department and region. Clocks and rates are the
formulas of :mod:`shanhai.analysis.service_desk`; working days :mod:`shanhai.analysis.workdays`.

**States** (enterprise_service.md §6.2): submitted → accepted → assigned → answered → closed, plus
reopened (the firm does not accept the answer; back to work, counted) and escalated (督办: overdue,
or by hand). An extension (延期) keeps the state and moves the due date; it must be asked at least
the profile's ``extension_before_wd`` working days before the deadline. Closing records ``solved``
(yes/no) apart from the closing itself, and the working days late. Every transition is one
transaction with its ``service_request_events`` row and an audit entry.

**Clock.** The closing step of the request's SLA profile (``due_on``; from acceptance or from
submission as the profile says) and ``overdue_from`` = the first working day after it, so
"overdue" is ``overdue_from <= today`` in SQL; :func:`escalate_overdue` escalates those requests.

**Scope.** A request belongs to its firm's county; every reader filters by the caller's Scope in
SQL, a request outside it is a 403, an unknown one a 404.
"""

from __future__ import annotations

import datetime as dt
import secrets
import warnings

from shanhai.analysis import service_desk as sd
from shanhai.analysis import workdays as wd
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._service_desk import CHANNELS, STATE_LABELS, STATES, SlaProfile, routing, sla_profile
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import literal

OPEN_STATES = ("submitted", "accepted", "assigned", "answered", "reopened", "escalated")
# action → (states it may start from, state it leads to; None keeps the state)
ACTIONS = {
    "accept": (("submitted", "reopened"), "accepted"),
    "assign": (("accepted", "reopened", "escalated"), "assigned"),
    "answer": (("accepted", "assigned", "reopened", "escalated"), "answered"),
    "close": (("answered",), "closed"),
    "reopen": (("answered", "closed"), "reopened"),
    "escalate": (("submitted", "accepted", "assigned", "reopened"), "escalated"),
    "extend": (("accepted", "assigned", "reopened", "escalated"), None),
    "rate": (("closed",), None),
}
ACTION_LABELS = {"submit": ("提交", "Submit"), "accept": ("受理", "Accept"), "assign": ("交办", "Assign"),
                 "answer": ("答复", "Answer"), "close": ("办结", "Close"), "reopen": ("重新办理", "Reopen"),
                 "escalate": ("督办", "Escalate"), "extend": ("延期", "Extend"), "rate": ("评价", "Rate")}
# the level of the department a request is routed to, and the state of a firm's portal link
LEVEL_LABELS = {"province": ("省级", "province"), "city": ("市级", "city"), "county": ("县级", "county")}
LINK_STATE_LABELS = {"active": ("有效", "Active"), "expired": ("已过期", "Expired"), "revoked": ("已撤销", "Revoked")}
CLOCK_LABELS = {"on_time": ("正常", "On time"), "due_soon": ("即将到期", "Due soon"), "overdue": ("已逾期", "Overdue"),
                "pending": ("待受理", "Not started"), "closed_on_time": ("按期办结", "Closed on time"),
                "closed_late": ("逾期办结", "Closed late")}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _when(at) -> dt.datetime:
    if at is None:
        return _now()
    if isinstance(at, dt.datetime):
        return at.replace(tzinfo=None)
    if isinstance(at, dt.date):
        return dt.datetime.combine(at, dt.time(9))
    try:
        return dt.datetime.fromisoformat(str(at).strip())
    except ValueError:
        raise ShanhaiError(f"{at!r} is not a date or time like 2025-03-06 or 2025-03-06T09:30") from None


def _clock_dates(profile: SlaProfile, submitted: dt.datetime, accepted: dt.datetime | None, complex_case: bool,
                 extended_wd: int) -> tuple[dt.date | None, dt.date | None, str | None]:
    """(due_on, overdue_from, calendar note) of the closing step, extensions added."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", wd.CalendarCoverageWarning)
        step = profile.closing(complex_case)
        start = submitted if step.start == "submitted" else accepted
        if start is None:
            return None, None, None
        due = wd.due_date(start.date(), step.workdays, profile.receipt_day)
        if extended_wd:
            due = wd.add_workdays(due, extended_wd)
        after = wd.add_workdays(due, 1)
    note = "; ".join(sorted({str(w.message) for w in caught if issubclass(w.category, wd.CalendarCoverageWarning)}))
    return due, after, note or None


# ---- intake --------------------------------------------------------------------------------------

def submit(store: Store, scope: Scope, *, uscc: str, title: str, description: str = "", category: str | None = None,
           channel: str = "portal", complex_case: bool = False, sla: str | None = None, contact: str | None = None,
           user: str | None = None, at=None, routing_name: str = "default", dataset_id: str | None = None) -> dict:
    """Record a request of firm ``uscc`` (inside ``scope``), routed by category to a department and a
    level (a complex case goes to the routing's ``complex_level``), under ``sla`` (default: the
    routing's profile). Returns the request."""
    uscc = (uscc or "").strip().upper()
    firm = store.con.execute(f"SELECT county_adcode, town_adcode FROM enterprises WHERE uscc = {literal(uscc)}").fetchone()
    if firm is None:
        raise NotFoundError(f"no enterprise with USCC {uscc!r}")
    if not scope.covers(firm[0]):
        raise OutOfScopeError(f"enterprise {uscc} is outside your scope ({scope.adcode} {scope.name})")
    title = (title or "").strip()
    if not title:
        raise ShanhaiError("诉求标题不能为空 (a request needs a title)")
    if channel not in CHANNELS:
        raise ShanhaiError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    r = routing(routing_name)
    if category not in (None, "") and category not in {c.id for c in r.categories}:
        raise ShanhaiError(f"category {category!r} is not one of {', '.join(c.id for c in r.categories)}")
    cat = r.category(category or "other")
    profile = sla_profile(sla or r.sla)
    when = _when(at)
    due, after, note = _clock_dates(profile, when, None, complex_case, 0)
    rid = f"R{when:%Y%m%d}-{secrets.token_hex(4)}"
    level = r.complex_level if complex_case else cat.level
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"""INSERT INTO service_requests (request_id, uscc, category, opened_at, due_at, status,
                county_adcode, town_adcode, title, description, channel, department, level, sla_profile, receipt_day,
                complex_case, due_on, overdue_from, contact, calendar_note, created_by, updated_at, dataset_id)
            VALUES ({literal(rid)}, {literal(uscc)}, {literal(cat.id)}, {literal(when)}, {literal(due)}, 'submitted',
                {literal(firm[0])}, {literal(firm[1])}, {literal(title[:200])}, {literal((description or '').strip()[:4000])},
                {literal(channel)}, {literal(cat.department)}, {literal(level)}, {literal(profile.name)},
                {profile.receipt_day}, {literal(bool(complex_case))}, {literal(due)}, {literal(after)},
                {literal((contact or '').strip()[:200] or None)}, {literal(note)}, {literal(user)}, {literal(when)},
                {literal(dataset_id)})""")
        con.execute(f"""INSERT INTO service_request_events VALUES ({literal(rid)}, 1, 'submit', NULL, 'submitted',
                {literal(due)}, {literal(note)}, {literal(user)}, {literal(when)}, {literal(dataset_id)})""")
        audit_append(con, "service.request.submit", username=user, target=rid,
                     detail={"uscc": uscc, "category": cat.id, "channel": channel, "sla": profile.name})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return request(store, scope, rid)


# ---- reading -------------------------------------------------------------------------------------

def _row(store: Store, scope: Scope, request_id: str) -> dict:
    rows = _dicts(store, f"""SELECT q.*, e.name FROM service_requests q LEFT JOIN enterprises e USING (uscc)
                              WHERE q.request_id = {literal(request_id)}""")
    if not rows:
        raise NotFoundError(f"no request {request_id!r}")
    if not scope.covers(rows[0]["county_adcode"]):
        raise OutOfScopeError(f"request {request_id} is outside your scope ({scope.adcode} {scope.name})")
    return rows[0]


def _decorate(q: dict, today: dt.date) -> dict:
    profile = sla_profile(q["sla_profile"]) if q.get("sla_profile") else None
    q["state_label"], q["state_label_en"] = STATE_LABELS.get(q["status"], (q["status"], q["status"]))
    if profile is None:
        q["clock"] = None
        return q
    done = q["closed_at"] if q["status"] == "closed" else None
    ext = int(q.get("extended_wd") or 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wd.CalendarCoverageWarning)
        clock = sd.calc_clock(profile, q["opened_at"], q.get("accepted_at"), done=done, today=today,
                              complex_case=bool(q.get("complex_case")), extended_to=q.get("due_on") if ext else None)
    clock["state_label"], clock["state_label_en"] = CLOCK_LABELS[clock["state"]]
    q["clock"] = clock
    return q


def request(store: Store, scope: Scope, request_id: str, *, today=None) -> dict:
    """One request with its clock, every step's due date under its profile and its state history."""
    q = _row(store, scope, request_id)
    today = _when(today).date() if today is not None else _now().date()
    _decorate(q, today)
    profile = sla_profile(q["sla_profile"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wd.CalendarCoverageWarning)
        q["steps"] = sd.calc_due_dates(profile, q["opened_at"], q["accepted_at"], complex_case=bool(q["complex_case"]))
    q["profile"] = {"name": profile.name, "display_name": profile.display_name, "source": profile.source,
                    "receipt_day": profile.receipt_day, "receipt_day_published": profile.receipt_day_published}
    q["events"] = _dicts(store, f"SELECT * FROM service_request_events WHERE request_id = {literal(request_id)} "
                                "ORDER BY seq")
    for e in q["events"]:
        e["action_label"] = ACTION_LABELS.get(e["action"], (e["action"],))[0]
        e["to_label"] = STATE_LABELS.get(e["to_state"], (e["to_state"],))[0]
    q["actions"] = [a for a, (starts, _) in ACTIONS.items() if q["status"] in starts]
    return q


def list_requests(store: Store, scope: Scope, region: str | None = None, *, status: str | None = "open",
                  department: str | None = None, overdue: bool = False, uscc: str | None = None, today=None,
                  limit: int = 500) -> dict:
    """Requests inside ``region`` (default: the caller's scope), overdue first then by due date, each
    with its clock; counts by state."""
    where = scope.narrow(store, region)
    today = _when(today).date() if today is not None else _now().date()
    filters = [where.sql("q.county_adcode")]
    if status == "open":
        filters.append(f"q.status IN ({', '.join(literal(s) for s in OPEN_STATES)})")
    elif status not in (None, "", "all"):
        if status not in STATES:
            raise ShanhaiError(f"status {status!r} is not one of open, all, {', '.join(STATES)}")
        filters.append(f"q.status = {literal(status)}")
    if department:
        filters.append(f"q.department = {literal(department)}")
    if uscc:
        filters.append(f"q.uscc = {literal(uscc)}")
    if overdue:
        filters.append(f"q.status <> 'closed' AND q.overdue_from <= {literal(today)}")
    w = " AND ".join(filters)
    rows = _dicts(store, f"""SELECT q.*, e.name FROM service_requests q LEFT JOIN enterprises e USING (uscc)
        WHERE {w}
        ORDER BY q.status = 'closed', (q.overdue_from <= {literal(today)}) DESC NULLS LAST, q.due_on NULLS LAST,
                 q.opened_at LIMIT {int(limit)}""")
    for q in rows:
        _decorate(q, today)
    counts = dict(store.con.execute(f"SELECT status, count(*) FROM service_requests q WHERE "
                                    f"{where.sql('q.county_adcode')} GROUP BY 1").fetchall())
    n_over = store.con.execute(f"""SELECT count(*) FROM service_requests q WHERE {where.sql('q.county_adcode')}
        AND q.status <> 'closed' AND q.overdue_from <= {literal(today)}""").fetchone()[0]
    total = store.con.execute(f"SELECT count(*) FROM service_requests q WHERE {w}").fetchone()[0]
    return {"region": where.as_dict(), "requests": rows, "total": total,
            "counts": {s: counts.get(s, 0) for s in STATES}, "overdue": n_over, "today": today}


# ---- transitions ---------------------------------------------------------------------------------

def transition(store: Store, scope: Scope, request_id: str, action: str, *, user: str | None = None,
               note: str | None = None, department: str | None = None, solved: bool | None = None,
               satisfaction: int | None = None, extra_wd: int | None = None, at=None) -> dict:
    """Apply ``action`` (see :data:`ACTIONS`) at ``at`` (default now). accept starts a clock counted
    from acceptance; close needs ``solved`` and records the working days late; extend needs
    ``extra_wd`` and the profile's notice; rate needs ``satisfaction`` 1–5 (and may record
    ``solved`` as the firm sees it)."""
    if action not in ACTIONS:
        raise ShanhaiError(f"action {action!r} is not one of {', '.join(ACTIONS)}")
    q = _row(store, scope, request_id)
    starts, to = ACTIONS[action]
    if q["status"] not in starts:
        raise ShanhaiError(f"诉求 {request_id} 当前为{STATE_LABELS[q['status']][0]}，不能{ACTION_LABELS[action][0]} "
                           f"(a request in state {q['status']} cannot {action}; allowed from {', '.join(starts)})")
    when = _when(at)
    if when < q["opened_at"]:
        raise ShanhaiError(f"{when} is before the request was submitted ({q['opened_at']})")
    profile = sla_profile(q["sla_profile"])
    note = (note or "").strip()[:2000] or None
    sets: dict[str, object] = {"updated_at": when}
    new_state = to or q["status"]
    accepted = q["accepted_at"]
    ext = int(q["extended_wd"] or 0)
    recompute = False
    if action == "accept":
        if accepted is None:
            accepted = when
            sets["accepted_at"] = when
            recompute = True
    elif action == "assign":
        sets["assigned_at"] = when
        if department:
            sets["department"] = department.strip()[:100]
    elif action == "answer":
        sets["answered_at"] = when
    elif action == "close":
        if solved is None:
            raise ShanhaiError("办结须注明是否解决 (closing needs solved = yes or no: closed and solved are kept apart)")
        sets["closed_at"] = when
        sets["solved"] = bool(solved)
        due = q["due_on"]
        sets["overdue_wd"] = wd.overdue_workdays(due, when.date()) if due else None
    elif action == "reopen":
        sets["closed_at"] = None
        sets["overdue_wd"] = None
        sets["reopened"] = int(q["reopened"] or 0) + 1
    elif action == "escalate":
        sets["escalated_at"] = when
    elif action == "extend":
        if extra_wd is None:
            raise ShanhaiError("延期须注明延长的工作日数 (extend needs extra_wd)")
        if q["due_on"] is None:
            raise ShanhaiError("the clock has not started: accept the request first")
        ok, why = sd.calc_extension_allowed(profile, q["due_on"], when.date(), int(extra_wd))
        if not ok:
            raise ShanhaiError(why)
        ext += int(extra_wd)
        sets["extended_wd"] = ext
        recompute = True
    elif action == "rate":
        if satisfaction is None or isinstance(satisfaction, bool) or int(satisfaction) not in range(1, 6):
            raise ShanhaiError("满意度须为 1–5 (satisfaction must be a whole number from 1 to 5)")
        sets["satisfaction"] = int(satisfaction)
        if solved is not None:
            sets["solved"] = bool(solved)
    if recompute:
        due, after, cal = _clock_dates(profile, q["opened_at"], accepted, bool(q["complex_case"]), ext)
        sets.update(due_on=due, overdue_from=after, due_at=due)
        if cal:
            sets["calendar_note"] = cal
    sets["status"] = new_state
    due_now = sets.get("due_on", q["due_on"])
    seq = store.con.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM service_request_events "
                            f"WHERE request_id = {literal(request_id)}").fetchone()[0]
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        assign = ", ".join(f"{k} = {literal(v)}" for k, v in sets.items())
        con.execute(f"UPDATE service_requests SET {assign} WHERE request_id = {literal(request_id)}")
        con.execute(f"""INSERT INTO service_request_events VALUES ({literal(request_id)}, {seq}, {literal(action)},
            {literal(q['status'])}, {literal(new_state)}, {literal(due_now)}, {literal(note)}, {literal(user)},
            {literal(when)}, NULL)""")
        audit_append(con, f"service.request.{action}", username=user, target=request_id,
                     detail={"uscc": q["uscc"], "from": q["status"], "to": new_state, "note": note,
                             **({"solved": sets["solved"]} if "solved" in sets else {}),
                             **({"extra_wd": extra_wd} if action == "extend" else {}),
                             **({"satisfaction": sets["satisfaction"]} if "satisfaction" in sets else {})})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return request(store, scope, request_id)


def refresh_clocks(store: Store, scope: Scope | None = None) -> int:
    """Compute the closing step's due date (and the first overdue day, and the working days late of
    closed ones) of requests that have none yet — imported ones (kind ``service-requests``) — under
    their SLA profile; returns how many were set. Requests are few: one Python pass over them."""
    scope = scope or Scope.province()
    rows = _dicts(store, f"""SELECT request_id, opened_at, accepted_at, closed_at, status, sla_profile,
        coalesce(complex_case, false) AS complex_case, coalesce(extended_wd, 0) AS extended_wd
        FROM service_requests q WHERE {scope.sql('q.county_adcode')} AND q.due_on IS NULL""")
    n = 0
    for q in rows:
        profile = sla_profile(q["sla_profile"] or routing().sla)
        accepted = q["accepted_at"] or (q["opened_at"] if q["status"] not in ("submitted",) else None)
        due, after, note = _clock_dates(profile, q["opened_at"], accepted, q["complex_case"], q["extended_wd"])
        if due is None:
            continue
        late = wd.overdue_workdays(due, q["closed_at"].date()) if q["closed_at"] is not None else None
        store.con.execute(f"""UPDATE service_requests SET due_on = {literal(due)}, due_at = {literal(due)},
            overdue_from = {literal(after)}, sla_profile = {literal(profile.name)}, receipt_day = {profile.receipt_day},
            overdue_wd = coalesce(overdue_wd, {literal(late)}), calendar_note = coalesce({literal(note)}, calendar_note)
            WHERE request_id = {literal(q['request_id'])}""")
        n += 1
    return n


def escalate_overdue(store: Store, scope: Scope | None = None, *, today=None, user: str | None = None) -> dict:
    """Escalate (督办) every open, not yet escalated request whose closing step is overdue on
    ``today`` (``overdue_from <= today``), in one transaction; returns the ids. Clocks missing
    (imported requests) are computed first (:func:`refresh_clocks`)."""
    scope = scope or Scope.province()
    refresh_clocks(store, scope)
    day = _when(today).date() if today is not None else _now().date()
    when = _when(today) if today is not None else _now()
    states = ", ".join(literal(s) for s in ACTIONS["escalate"][0])
    ids = [r[0] for r in store.con.execute(f"""SELECT request_id FROM service_requests q
        WHERE {scope.sql('q.county_adcode')} AND q.status IN ({states}) AND q.overdue_from <= {literal(day)}
        ORDER BY request_id""").fetchall()]
    if not ids:
        return {"escalated": [], "today": day}
    inlist = ", ".join(literal(i) for i in ids)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"""INSERT INTO service_request_events
            SELECT q.request_id, (SELECT coalesce(max(seq), 0) + 1 FROM service_request_events e
                                  WHERE e.request_id = q.request_id),
                   'escalate', q.status, 'escalated', q.due_on, '逾期自动督办 (overdue)', {literal(user or 'system')},
                   {literal(when)}, NULL
            FROM service_requests q WHERE q.request_id IN ({inlist})""")
        con.execute(f"""UPDATE service_requests SET status = 'escalated', escalated_at = {literal(when)},
                        updated_at = {literal(when)} WHERE request_id IN ({inlist})""")
        audit_append(con, "service.request.escalate_overdue", username=user, target=scope.adcode,
                     detail={"today": day.isoformat(), "requests": ids})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"escalated": ids, "today": day}


# ---- KPIs ----------------------------------------------------------------------------------------

def kpis(store: Store, scope: Scope, region: str | None = None, *, by: str = "department", since=None,
         until=None) -> dict:
    """办结率, 解决率, 按期办结率 and 满意率 (definitions: :data:`shanhai.analysis.service_desk.KPI_DEFINITIONS`)
    of the requests submitted in [since, until] inside ``region``, by ``department`` or ``county``,
    and in total."""
    if by not in ("department", "county", "category", "channel"):
        raise ShanhaiError(f"by {by!r} is not one of department, county, category, channel")
    where = scope.narrow(store, region)
    filters = [where.sql("q.county_adcode")]
    if since:
        filters.append(f"q.opened_at >= {literal(_when(since))}")
    if until:
        filters.append(f"q.opened_at < {literal(_when(until).date() + dt.timedelta(days=1))}")
    col = {"department": "q.department", "county": "q.county_adcode", "category": "q.category",
           "channel": "q.channel"}[by]
    sql = f"""SELECT {{key}} AS key, count(*) AS collected,
            count(*) FILTER (q.status = 'closed') AS closed,
            count(*) FILTER (q.solved) AS solved,
            count(*) FILTER (q.status = 'closed' AND coalesce(q.overdue_wd, 0) = 0) AS closed_on_time,
            count(q.satisfaction) AS rated, count(*) FILTER (q.satisfaction >= 4) AS satisfied
        FROM service_requests q WHERE {' AND '.join(filters)} GROUP BY ALL ORDER BY collected DESC, key"""
    names = dict(store.con.execute("SELECT adcode, name FROM regions").fetchall())
    rows = []
    for r in _dicts(store, sql.format(key=col)):
        k = r.pop("key")
        rows.append({"key": k, "name": names.get(k, k) if by == "county" else k, **sd.calc_rates(**r)})
    total = _dicts(store, sql.format(key="'all'"))
    tot = sd.calc_rates(**{k: v for k, v in total[0].items() if k != "key"}) if total else sd.calc_rates(0, 0, 0, 0, 0, 0)
    return {"region": where.as_dict(), "by": by, "rows": rows, "total": tot,
            "definitions": {k: {"label": v[0], "definition": v[1]} for k, v in sd.KPI_DEFINITIONS.items()}}


# ---- enterprise portal access links (企业码-style) -------------------------------------------------

TOKEN_DAYS = 90


def _hash(token: str) -> str:
    import hashlib

    return hashlib.sha256(("shanhai-portal:" + token).encode()).hexdigest()


def issue_token(store: Store, scope: Scope, uscc: str, *, user: str, days: int = TOKEN_DAYS) -> dict:
    """A personal access link for firm ``uscc``: a random token (shown once; only its SHA-256 is
    stored), expiring after ``days`` (default 90), revocable, audited."""
    uscc = (uscc or "").strip().upper()
    firm = store.con.execute(f"SELECT county_adcode FROM enterprises WHERE uscc = {literal(uscc)}").fetchone()
    if firm is None:
        raise NotFoundError(f"no enterprise with USCC {uscc!r}")
    if not scope.covers(firm[0]):
        raise OutOfScopeError(f"enterprise {uscc} is outside your scope ({scope.adcode} {scope.name})")
    if isinstance(days, bool) or not 1 <= int(days) <= 366:
        raise ShanhaiError(f"a link lasts 1 to 366 days (got {days!r})")
    token = secrets.token_urlsafe(24)
    now = _now()
    expires = now + dt.timedelta(days=int(days))
    h = _hash(token)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"""INSERT INTO firm_portal_tokens (token_hash, uscc, county_adcode, issued_by, issued_at, expires_at)
            VALUES ({literal(h)}, {literal(uscc)}, {literal(firm[0])}, {literal(user)}, {literal(now)}, {literal(expires)})""")
        audit_append(con, "service.portal.issue", username=user, target=uscc,
                     detail={"token": h[:12], "expires_at": expires.isoformat(timespec="seconds")})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"token": token, "token_id": h[:12], "uscc": uscc, "expires_at": expires}


def tokens_of(store: Store, scope: Scope, uscc: str) -> list[dict]:
    uscc = (uscc or "").strip().upper()
    firm = store.con.execute(f"SELECT county_adcode FROM enterprises WHERE uscc = {literal(uscc)}").fetchone()
    if firm is None:
        raise NotFoundError(f"no enterprise with USCC {uscc!r}")
    if not scope.covers(firm[0]):
        raise OutOfScopeError(f"enterprise {uscc} is outside your scope ({scope.adcode} {scope.name})")
    rows = _dicts(store, f"""SELECT substr(token_hash, 1, 12) AS token_id, issued_by, issued_at, expires_at, revoked_at,
        revoked_by, last_used_at FROM firm_portal_tokens WHERE uscc = {literal(uscc)} ORDER BY issued_at DESC""")
    now = _now()
    for r in rows:
        r["state"] = "revoked" if r["revoked_at"] else ("expired" if r["expires_at"] <= now else "active")
    return rows


def revoke_token(store: Store, scope: Scope, uscc: str, token_id: str, *, user: str) -> None:
    """Revoke the firm's link whose id (first 12 characters of its hash) is ``token_id``."""
    tokens_of(store, scope, uscc)
    tid = (token_id or "").strip().lower()
    if len(tid) != 12 or not all(c in "0123456789abcdef" for c in tid):
        raise NotFoundError(f"no access link {token_id!r}")
    row = store.con.execute(f"""SELECT token_hash FROM firm_portal_tokens WHERE uscc = {literal(uscc.strip().upper())}
        AND starts_with(token_hash, {literal(tid)}) AND revoked_at IS NULL""").fetchone()
    if row is None:
        raise NotFoundError(f"no active access link {token_id!r} for {uscc}")
    now = _now()
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"UPDATE firm_portal_tokens SET revoked_at = {literal(now)}, revoked_by = {literal(user)} "
                    f"WHERE token_hash = {literal(row[0])}")
        audit_append(con, "service.portal.revoke", username=user, target=uscc, detail={"token": tid})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def resolve_token(store: Store, token: str) -> tuple[str, dict]:
    """(state, link) of a presented token: state ``active`` (link has uscc, county_adcode),
    ``expired``, ``revoked`` or ``unknown``. Marks an active link as used."""
    if not token or len(token) > 100:
        return "unknown", {}
    rows = _dicts(store, f"SELECT * FROM firm_portal_tokens WHERE token_hash = {literal(_hash(token))}")
    if not rows:
        return "unknown", {}
    r = rows[0]
    now = _now()
    if r["revoked_at"] is not None:
        return "revoked", r
    if r["expires_at"] <= now:
        return "expired", r
    return "active", r


def touch_token(store: Store, token: str) -> None:
    store.con.execute(f"UPDATE firm_portal_tokens SET last_used_at = {literal(_now())} "
                      f"WHERE token_hash = {literal(_hash(token))}")
