"""Support-policy matching and pay-out against the store (惠企政策直达, issue 12 items 1–3).

* :func:`match` evaluates in memory: every active firm of a region (inside the caller's scope)
  against every item in force (or the named ones), vectorised per item
  (:mod:`shanhai.analysis.service`);
* :func:`run` stores a match as a run (``runs`` kind ``service_match``: items with versions,
  fingerprints and full text, the award year, the region, the inputs' fingerprint, counts per item
  and outcome) and one ``service_match_results`` row per firm per item for every outcome but
  not_eligible, with the reasons (one sentence per condition), the missing conditions and the
  amount's formula with its numbers. Never overwritten; audited;
* readers: :func:`latest_run`, :func:`item_summary`, :func:`item_results`, :func:`firm_results`,
  :func:`firm_detail`, and for the enterprise portal :func:`for_firm`;
* the pay-out workflow on ``payments`` (one row per firm, item and award year) with every move in
  ``service_payout_events`` and the audit log: :func:`apply` (on-application items only) →
  :func:`confirm` (意愿确认, the firm or an officer on its behalf) → :func:`notice` (公示,
  ``notice_days``, 7 by default) → :func:`approve` (after the notice ends; an item's budget is
  never exceeded: refused, or allocated in a stated order; an award is clipped to the firm's
  lifetime room, ``lifetime_cap`` / ``once_per_firm``) → :func:`pay` (never twice in a
  non-stacking group and year; never above the item's per-firm cap or the lifetime room; a staged
  item one stage at a time: state ``paying`` until the last stage, then ``paid``).

**Lifetime limits** (``[amount] lifetime_cap`` 万元 / ``once_per_firm``) count, per firm, the
committed awards (approved, paying or paid: the approved amount) of the item — or of every item of
its stacking group — in the *other* award years (the same year of a group is 就高不重复's).

**Scope.** Every reader and every officer action takes a :class:`Scope`; firms are filtered in
SQL by county (``Scope.sql``); a firm outside the scope is a 403 (:class:`OutOfScopeError`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from decimal import Decimal

import numpy as np

from shanhai import __version__
from shanhai.analysis import service as asv
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs.cultivation import latest_year  # the latest year with annual figures
from shanhai.policy._load import PolicyError
from shanhai.policy._rules import explain_amount, fmt_value
from shanhai.policy._service import PAYMENT_MODES, ServiceItem, items_in_force, service_item, service_items
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import literal, values

KIND = "service_match"
STATES = ("applied", "confirmed", "notice", "approved", "paying", "paid", "withdrawn")
STATE_LABELS = {"applied": ("已申报", "Applied"), "confirmed": ("已确认", "Confirmed"), "notice": ("公示中", "On notice"),
                "approved": ("已审定", "Approved"), "paying": ("分期兑现中", "Paying in stages"),
                "paid": ("已兑现", "Paid"), "withdrawn": ("已撤回", "Withdrawn")}
# an award the item's money is committed to (budget, lifetime limits); 'paying' = some stages paid
COMMITTED = ("approved", "paying", "paid")
NOTICE_DAYS = 7
ORDERS = ("amount_desc", "uscc", "pro_rata")


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _today(on) -> dt.date:
    if on in (None, ""):
        return dt.date.today()
    if isinstance(on, dt.date):
        return on
    try:
        return dt.date.fromisoformat(str(on))
    except ValueError:
        raise ShanhaiError(f"date {on!r} is not a date like 2026-06-30") from None


def _year(store: Store, year) -> int:
    if year in (None, ""):
        return latest_year(store)
    try:
        return int(year)
    except (TypeError, ValueError):
        raise ShanhaiError(f"year {year!r} is not a year like 2024") from None


def _items(year: int, ids=None) -> list[ServiceItem]:
    try:
        out = items_in_force(dt.date(year, 12, 31), ids)
    except PolicyError as exc:
        raise ShanhaiError(str(exc)) from None
    if not out:
        raise ShanhaiError(f"no policy item is in force in {year}: name items with --items")
    return out


def inputs_fingerprint(store: Store, year: int) -> str:
    parts = []
    for table, cols, where in (
            ("enterprises", "uscc || county_adcode || status || coalesce(founded_on::VARCHAR, '')", "true"),
            ("enterprise_years", "uscc || year::VARCHAR || above_scale::VARCHAR || coalesce(revenue::VARCHAR, '')",
             f"year <= {year}"),
            ("service_facts", "service_facts::VARCHAR", f"year <= {year}"),
            ("enterprise_flags", "uscc || flag || valid_from::VARCHAR", "true")):
        parts.append(repr(store.con.execute(
            f"SELECT count(*), coalesce(sum(hash({cols})), 0) FROM {table} WHERE {where}").fetchone()))
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


def _load(store: Store, where: Scope, year: int, uscc: str | None = None):
    one = f"AND e.uscc = {literal(uscc)}" if uscc else ""
    start, end = literal(dt.date(year, 1, 1)), literal(dt.date(year, 12, 31))
    cols = ", ".join(f"sf.{c}" for c in asv.FACT_COLUMNS)
    firms = store.con.execute(f"""
        SELECT e.uscc, e.name, e.county_adcode, e.founded_on, sf.production_start, {cols},
               coalesce(sf.credit_blacklist, false) OR coalesce(fl.dishonest, false) AS credit_blacklist,
               coalesce(sf.major_accident, false) OR coalesce(fl.accident, false) AS major_accident
        FROM enterprises e
        LEFT JOIN service_facts sf ON sf.uscc = e.uscc AND sf.year = {year}
        LEFT JOIN (SELECT uscc, bool_or(flag = 'dishonest' AND valid_from <= {end}
                                        AND coalesce(valid_to, DATE '9999-12-31') >= {start}) AS dishonest,
                          bool_or((flag IN ('major_safety_accident', 'major_environmental_incident')
                                   OR (flag IN ('safety_violation', 'environmental_violation') AND detail = 'major'))
                                  AND valid_from BETWEEN {start} AND {end}) AS accident
                   FROM enterprise_flags GROUP BY uscc) fl ON fl.uscc = e.uscc
        WHERE e.status = 'active' AND {where.sql('e.county_adcode')} {one}
          AND (sf.uscc IS NOT NULL OR EXISTS (SELECT 1 FROM enterprise_years y WHERE y.uscc = e.uscc AND y.year = {year}))
        ORDER BY e.uscc""").fetch_arrow_table()
    if uscc:
        ysql = (f"SELECT uscc, year, revenue AS sales, above_scale FROM enterprise_years WHERE uscc = {literal(uscc)} "
                f"AND year BETWEEN {year - 9} AND {year}")
        ssql = (f"SELECT uscc, year, software_sales FROM service_facts WHERE uscc = {literal(uscc)} "
                f"AND year BETWEEN {year - 9} AND {year}")
    else:
        join = f"JOIN enterprises e ON e.uscc = t.uscc AND e.status = 'active' AND {where.sql('e.county_adcode')}"
        ysql = (f"SELECT t.uscc, t.year, t.revenue AS sales, t.above_scale FROM enterprise_years t {join} "
                f"WHERE t.year BETWEEN {year - 9} AND {year}")
        ssql = (f"SELECT t.uscc, t.year, t.software_sales FROM service_facts t {join} "
                f"WHERE t.year BETWEEN {year - 9} AND {year}")
    ytab = store.con.execute(ysql).fetch_arrow_table()
    stab = store.con.execute(ssql).fetch_arrow_table()
    f = {c: firms.column(c) for c in firms.column_names}
    facts = asv.build_facts(f, {c: ytab.column(c) for c in ytab.column_names},
                            {c: stab.column(c) for c in stab.column_names}, year)
    keys = f["uscc"].to_pylist()
    pos = {u: i for i, u in enumerate(keys)}
    order = [pos[u] for u in facts.keys]
    names, counties = f["name"].to_pylist(), f["county_adcode"].to_pylist()
    return facts, np.array([names[i] for i in order], dtype=object), np.array([counties[i] for i in order], dtype=object)


class Match:
    """An in-memory match: the facts, names, counties and one :class:`ItemMatch` per item."""

    def __init__(self, region: Scope, year: int, facts, names, counties, results, fingerprint):
        self.region, self.year, self.facts, self.names, self.counties = region, year, facts, names, counties
        self.results, self.fingerprint = results, fingerprint
        if results:
            amounts = np.stack([r.amount for r in results])
            eligible = np.stack([(r.code == 0) & r.in_region for r in results])
            self.stacked_out = asv.calc_stacking([r.item.stacking_group for r in results],
                                                 [r.item.item_id for r in results], amounts, eligible)
        else:
            self.stacked_out = np.zeros((0, facts.n), bool)

    def summary(self) -> list[dict]:
        out = []
        for k, r in enumerate(self.results):
            it = r.item
            need = r.need()
            stacked = int(self.stacked_out[k].sum())
            out.append({**{x: it.summary()[x] for x in ("item_id", "name", "document", "payment_mode", "adcode")},
                        "budget": it.budget, "counts": r.counts(), "budget_needed": need, "stacked_out": stacked,
                        "over_budget": bool(it.budget is not None and need > it.budget)})
        return out

    def explain(self, k: int, i: int) -> dict:
        """Firm ``i`` against item ``k``: outcome, amount, formula, reasons and what is missing."""
        r = self.results[k]
        j = r.local(i)
        if j < 0:
            raise ShanhaiError(f"enterprise {self.facts.keys[i]} lies outside the region of {r.item.item_id}")
        ex = r.evaluation.explain(j)
        am = explain_amount(r.item.amount, r.facts, j)
        reasons = [c["reason"] for c in ex["conditions"]]
        reasons += [f"{x['label']}：存在，不予兑现" for x in ex["exclusions"] if x["status"] == "pass"]
        reasons += [f"{x['label']}：转人工审核" for x in ex.get("review_flags", [])]
        out = str(r.outcome[i])
        if r.review[i] == "ambiguous_amount":
            reasons.append("金额表述不明确，转人工审核")
        if out == "not_eligible" and ex["outcome"] == "eligible":
            reasons.append(f"按金额公式计算为 0 万元：{am['formula']}")
        missing = [c["reason"] for c in _flat(ex["conditions"]) if c["status"] in ("fail", "unknown", "manual")
                   and "children" not in c]
        stacked = bool(self.stacked_out[k, i])
        if stacked:
            reasons.append(f"同组（{r.item.stacking_group}）就高不重复：由同组金额更高的事项兑现")
        amount = r.amount[i]
        return {"item_id": r.item.item_id, "outcome": out, "outcome_label": asv.SERVICE_OUTCOME_LABELS[out][0],
                "review": str(r.review[i]) or None,
                "amount": None if np.isnan(amount) else asv.calc_money(amount),
                "candidates": [asv.calc_money(c) for c in am["candidates"]], "formula": am["formula"],
                "reasons": reasons, "missing": missing, "stacked_out": stacked, "gaps": ex["gaps"],
                "conditions": ex["conditions"], "exclusions": ex["exclusions"]}


def _flat(nodes):
    out = []
    for n in nodes:
        out.append(n)
        out.extend(_flat(n.get("children", [])))
    return out


def match(store: Store, scope: Scope | None = None, region: str | None = None, *, year=None, items=None,
          uscc: str | None = None) -> Match:
    """Every active firm of ``region`` (inside ``scope``) against the items in force in ``year``."""
    scope = scope or Scope.province()
    where = scope.narrow(store, region)
    y = _year(store, year)
    sel = _items(y, items)
    facts, names, counties = _load(store, where, y, uscc)
    results = asv.match_items(sel, facts, counties)
    return Match(where, y, facts, names, counties, results, inputs_fingerprint(store, y))


def _sync_items(store: Store, items: list[ServiceItem]) -> None:
    for it in items:
        s = it.summary()
        store.con.execute(f"DELETE FROM policy_items WHERE item_id = {literal(it.item_id)}")
        store.con.execute(
            "INSERT INTO policy_items (item_id, name, document, adcode, valid_from, valid_to, budget, rule, payment_mode, "
            "version, stacking_group, notice_days, fingerprint, source_keys) VALUES ("
            f"{values(it.item_id, it.name, it.document, it.adcode, it.rule.valid_from, it.rule.valid_to)}, "
            f"{literal(str(it.budget)) if it.budget is not None else 'NULL'}, "
            f"{literal(json.dumps(it.rule.raw, ensure_ascii=False, default=str))}::JSON, "
            f"{values(it.payment_mode, it.rule.version, it.stacking_group, it.notice_days, s['fingerprint'], ','.join(it.rule.source_keys))})")


def run(store: Store, scope: Scope | None = None, region: str | None = None, *, year=None, items=None,
        user: str | None = None, progress=None) -> dict:
    """Match and store the results as a new run; returns the run's summary."""
    scope = scope or Scope.province()
    m = match(store, scope, region, year=year, items=items)
    if m.facts.n == 0:
        raise ShanhaiError(f"no active enterprises with {m.year} data in region {m.region.adcode}")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    run_id = f"service-{m.year}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    summary = m.summary()
    params = {"year": m.year, "region": m.region.adcode, "region_level": m.region.level, "firms": m.facts.n,
              "items": [{**r.item.summary(), "fingerprint": r.item.rule.fingerprint(), "rules": r.item.rule.raw,
                         "amount": _amount_raw(r.item)} for r in m.results],
              "summary": summary}
    rows = []
    for k, r in enumerate(m.results):
        idx = np.nonzero((r.outcome != "not_eligible") & r.in_region)[0]
        for i in idx:
            ex = m.explain(k, int(i))
            rows.append((run_id, r.item.item_id, str(m.facts.keys[i]), str(m.counties[i]), m.year, ex["outcome"],
                         ex["review"], None if ex["amount"] is None else str(ex["amount"]),
                         ",".join(str(c) for c in ex["candidates"]) or None, ex["stacked_out"], ex["formula"],
                         json.dumps(ex["reasons"], ensure_ascii=False), json.dumps(ex["missing"], ensure_ascii=False)))
        if progress:
            progress(k + 1, len(m.results))
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status, note) VALUES ({values(run_id, KIND, ','.join(r.item.item_id for r in m.results))}, "
            f"{literal(','.join(r.item.rule.version for r in m.results))}, "
            f"{literal(json.dumps(params, ensure_ascii=False, default=str))}::JSON, "
            f"{values(m.fingerprint, __version__, user or 'cli', now, 'done', None)})")
        if rows:
            con.executemany("INSERT INTO service_match_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        _sync_items(store, [r.item for r in m.results])
        audit_append(con, "service.match", username=user, target=run_id,
                     detail={"year": m.year, "region": m.region.adcode, "items": [r.item.item_id for r in m.results],
                             "firms": m.facts.n, "stored": len(rows)})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"run_id": run_id, "year": m.year, "region": m.region.adcode, "firms": m.facts.n, "items": summary}


def _amount_raw(item: ServiceItem) -> dict:
    a = item.amount
    return {"kind": a.kind, "value": a.value, "field": a.field, "bands": a.bands, "tiers": a.tiers, "rate": a.rate,
            "uplifts": a.uplifts, "min_base": a.min_base, "cap": a.cap, "steps": a.steps, "multiple": a.multiple,
            "stages": a.stages, "note": a.note, "lifetime_cap": a.lifetime_cap, "once_per_firm": a.once_per_firm}


# ---- readers ---------------------------------------------------------------------------------

def runs(store: Store, scope: Scope, limit: int = 20) -> list[dict]:
    from shanhai.jobs._runs import overlapping

    return overlapping(store, scope, KIND, "run_id, created_at, created_by, policy_name", ("year", "region", "firms"),
                       limit)


def latest_run(store: Store, scope: Scope, year=None) -> dict | None:
    """The newest match run whose region contains ``scope`` (and of ``year`` when given)."""
    for r in runs(store, scope, 200):
        region = Scope.of(store, r["region"])
        if region.contains(scope) and (year in (None, "") or int(r["year"]) == int(year)):
            return r
    return None


def _run_or_latest(store: Store, scope: Scope, run_id: str | None, year=None) -> dict:
    if run_id:
        rows = [r for r in runs(store, scope, 500) if r["run_id"] == run_id]
        if not rows:
            raise NotFoundError(f"no service match run {run_id} visible in this scope")
        return rows[0]
    r = latest_run(store, scope, year)
    if r is None:
        raise NotFoundError("no service match run covers this region yet: run `shanhai service match` first")
    return r


def run_summary(store: Store, scope: Scope, run_id: str | None = None, year=None) -> dict:
    """The run's items with counts and budget needed — recounted inside ``scope`` from the stored rows."""
    r = _run_or_latest(store, scope, run_id, year)
    counts = _dicts(store, f"""
        SELECT item_id, outcome, count(*) AS n, sum(CASE WHEN NOT stacked_out THEN amount END) AS need
        FROM service_match_results WHERE run_id = {literal(r['run_id'])} AND {scope.sql('county_adcode')}
        GROUP BY ALL""")
    items = []
    for it in (r["policy_name"] or "").split(","):
        if not it:
            continue
        try:
            s = service_item(it).summary()
        except PolicyError:
            s = {"item_id": it, "name": it, "document": "", "payment_mode": "", "budget": None}
        c = {o: 0 for o in asv.SERVICE_OUTCOMES if o != "not_eligible"}
        need = Decimal("0")
        for row in counts:
            if row["item_id"] == it:
                c[row["outcome"]] = row["n"]
                if row["outcome"] == "eligible" and row["need"] is not None:
                    need = Decimal(row["need"])
        items.append({**s, "counts": c, "budget_needed": need,
                      "over_budget": bool(s.get("budget") is not None and need > s["budget"])})
    return {**r, "items": items}


def item_results(store: Store, scope: Scope, item_id: str, *, run_id: str | None = None, outcome: str | None = None,
                 limit: int = 1000) -> dict:
    """Firms of one item in a run (inside ``scope``), with names, amounts and pay-out states."""
    r = _run_or_latest(store, scope, run_id)
    if outcome and outcome not in asv.SERVICE_OUTCOMES:
        raise ShanhaiError(f"outcome {outcome!r} is not one of {', '.join(asv.SERVICE_OUTCOMES)}")
    filt = f"AND m.outcome = {literal(outcome)}" if outcome else ""
    rows = _dicts(store, f"""
        SELECT m.uscc, e.name, m.county_adcode, rg.name AS county_name, m.outcome, m.review, m.amount, m.candidates,
               m.stacked_out, m.formula, m.reasons, m.missing, p.state AS payout_state
        FROM service_match_results m JOIN enterprises e ON e.uscc = m.uscc
        LEFT JOIN regions rg ON rg.adcode = m.county_adcode
        LEFT JOIN payments p ON p.item_id = m.item_id AND p.uscc = m.uscc AND p.year = m.year
        WHERE m.run_id = {literal(r['run_id'])} AND m.item_id = {literal(item_id)} AND {scope.sql('m.county_adcode')}
        {filt}
        ORDER BY CASE m.outcome WHEN 'eligible' THEN 0 WHEN 'manual_review' THEN 1 ELSE 2 END, m.amount DESC NULLS LAST,
                 m.uscc LIMIT {int(limit)}""")
    for row in rows:
        row["reasons"] = json.loads(row["reasons"] or "[]")
        row["missing"] = json.loads(row["missing"] or "[]")
    return {"run": r, "item": service_item(item_id).summary(), "rows": rows}


def _check_firm(store: Store, scope: Scope, uscc: str) -> dict:
    row = _dicts(store, f"SELECT uscc, name, county_adcode FROM enterprises WHERE uscc = {literal(uscc)}")
    if not row:
        raise NotFoundError(f"no enterprise with USCC {uscc}")
    if not scope.covers(row[0]["county_adcode"]):
        raise OutOfScopeError(f"enterprise {uscc} is outside your region")
    return row[0]


def firm_detail(store: Store, scope: Scope, uscc: str, *, year=None) -> dict:
    """One firm against every item in force, live (conditions, amounts, formulas), with the pay-out
    state of each item and the newest stored run's outcome beside it."""
    firm = _check_firm(store, scope, uscc)
    y = _year(store, year)
    m = match(store, Scope.province(), None, year=y, uscc=uscc)
    out = []
    stored = {r["item_id"]: r for r in for_firm(store, uscc, year=y)}
    for k, r in enumerate(m.results):
        if m.facts.n == 0 or not r.in_region[0]:
            continue
        ex = m.explain(k, 0)
        ex.update(name=r.item.name, document=r.item.document, payment_mode=r.item.payment_mode,
                  payout_state=(stored.get(r.item.item_id) or {}).get("payout_state"),
                  stored_outcome=(stored.get(r.item.item_id) or {}).get("outcome"))
        out.append(ex)
    return {"firm": firm, "year": y, "items": out}


def for_firm(store: Store, uscc: str, *, year=None) -> list[dict]:
    """The items of one firm from the latest match run that covers it (for the enterprise portal):
    keys item_id, name, document, outcome, amount (Decimal|None), reasons (Chinese), missing,
    payment_mode, payout_state. Items the firm does not qualify for are listed as not_eligible
    only when the run matched them (their rows are not stored: reasons say so)."""
    firm = _dicts(store, f"SELECT county_adcode FROM enterprises WHERE uscc = {literal(uscc)}")
    if not firm:
        raise NotFoundError(f"no enterprise with USCC {uscc}")
    county = Scope(firm[0]["county_adcode"][:6], "county") if len(firm[0]["county_adcode"]) >= 6 else Scope.province()
    r = None
    for cand in runs(store, Scope.province(), 200):
        region = Scope.of(store, cand["region"])
        if region.covers(county.adcode) and (year in (None, "") or int(cand["year"]) == int(year)):
            r = cand
            break
    if r is None:
        return []
    rows = {x["item_id"]: x for x in _dicts(store, f"""
        SELECT m.item_id, m.outcome, m.amount, m.reasons, m.missing, m.candidates, m.stacked_out, m.formula
        FROM service_match_results m WHERE m.run_id = {literal(r['run_id'])} AND m.uscc = {literal(uscc)}""")}
    pays = {x["item_id"]: x["state"] for x in _dicts(
        store, f"SELECT item_id, state FROM payments WHERE uscc = {literal(uscc)} AND year = {int(r['year'])}")}
    out = []
    for item_id in (r["policy_name"] or "").split(","):
        if not item_id:
            continue
        try:
            it = service_item(item_id)
        except PolicyError:
            continue
        from shanhai.analysis.service import in_region

        if not in_region(it.adcode, np.array([firm[0]["county_adcode"]], dtype=object))[0]:
            continue
        row = rows.get(item_id)
        if row is None:
            out.append({"item_id": item_id, "name": it.name, "document": it.document, "outcome": "not_eligible",
                        "amount": None, "reasons": ["不符合本事项条件（匹配批次 " + r["run_id"] + "）"], "missing": [],
                        "payment_mode": it.payment_mode, "payout_state": pays.get(item_id), "run_id": r["run_id"],
                        "year": int(r["year"])})
            continue
        out.append({"item_id": item_id, "name": it.name, "document": it.document, "outcome": row["outcome"],
                    "amount": None if row["amount"] is None else Decimal(row["amount"]),
                    "reasons": json.loads(row["reasons"] or "[]"), "missing": json.loads(row["missing"] or "[]"),
                    "payment_mode": it.payment_mode, "payout_state": pays.get(item_id), "run_id": r["run_id"],
                    "year": int(r["year"]), "stacked_out": bool(row["stacked_out"]), "formula": row["formula"],
                    "candidates": row["candidates"]})
    return out


# ---- pay-out workflow --------------------------------------------------------------------------

def _payment_id(item_id: str, uscc: str, year: int) -> str:
    return f"{item_id}:{uscc}:{year}"


def _event(store: Store, payment_id: str, state: str, on: dt.date, actor: str, amount, note: str | None = None):
    seq = store.con.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM service_payout_events "
                            f"WHERE payment_id = {literal(payment_id)}").fetchone()[0]
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    store.con.execute(f"INSERT INTO service_payout_events VALUES ({values(payment_id, seq, state, on, actor)}, "
                      f"{literal(None if amount is None else str(amount))}, {values(note, now)})")
    audit_append(store.con, f"service.{state}", username=actor, target=payment_id,
                 detail={"on": on.isoformat(), "amount": None if amount is None else str(amount), "note": note})


def _stored_row(store: Store, item_id: str, uscc: str, year=None) -> dict:
    rows = [x for x in for_firm(store, uscc, year=year) if x["item_id"] == item_id]
    if not rows:
        raise ShanhaiError(f"enterprise {uscc} has no match result for item {item_id}: run `shanhai service match` "
                           "for its region first")
    return rows[0]


def _payment(store: Store, item_id: str, uscc: str, year: int) -> dict | None:
    rows = _dicts(store, f"SELECT * FROM payments WHERE payment_id = {literal(_payment_id(item_id, uscc, year))}")
    return rows[0] if rows else None


def _begin(store: Store):
    store.con.execute("BEGIN TRANSACTION")


def _transact(store: Store, fn):
    _begin(store)
    try:
        out = fn()
        store.con.execute("COMMIT")
        return out
    except BaseException:
        store.con.execute("ROLLBACK")
        raise


def _open(store: Store, item_id: str, uscc: str, year, state: str, actor: str, day: dt.date, *, on_behalf: bool,
          note: str | None) -> None:
    it = service_item(item_id)
    row = _stored_row(store, item_id, uscc, year)
    if row["outcome"] != "eligible":
        raise ShanhaiError(f"enterprise {uscc} is not eligible for {item_id} ({row['outcome']}): "
                           + ("；".join(row["missing"][:3]) or "see its match result"))
    if row.get("stacked_out"):
        raise ShanhaiError(f"enterprise {uscc} gets a higher award of the same group {it.stacking_group} "
                           "(就高不重复): this item is not paid")
    y = row["year"]
    why = _lifetime(store, it, uscc, y)[1]
    if why:
        raise ShanhaiError(why + f"：{item_id} {y} 不予{'申报' if state == 'applied' else '确认'}")
    firm = _dicts(store, f"SELECT county_adcode FROM enterprises WHERE uscc = {literal(uscc)}")[0]
    pid = _payment_id(item_id, uscc, y)
    amount = row["amount"]
    confirmed = state == "confirmed"
    store.con.execute(
        "INSERT INTO payments (payment_id, item_id, uscc, amount, paid_on, run_id, year, county_adcode, stacking_group, "
        "state, applied_on, confirmed_on, confirmed_by, on_behalf, note) VALUES ("
        f"{values(pid, item_id, uscc)}, {literal(None if amount is None else str(amount))}, NULL, "
        f"{values(row['run_id'], y, firm['county_adcode'], it.stacking_group, state)}, "
        f"{values(day if state == 'applied' else None, day if confirmed else None, actor if confirmed else None, on_behalf, note)})")
    _event(store, pid, state, day, actor, amount, note)


def apply(store: Store, item_id: str, uscc: str, *, actor: str, on=None, year=None, on_behalf: bool = False) -> None:
    """申报: the firm applies for an on-application item (a 免申即享 item needs no application)."""
    it = service_item(item_id)
    if it.payment_mode == "no_application":
        raise ShanhaiError(f"{item_id} is 免申即享: no application is needed, confirm instead")
    day = _today(on)
    y = _stored_row(store, item_id, uscc, year)["year"]
    if _payment(store, item_id, uscc, y):
        raise ShanhaiError(f"enterprise {uscc} has already applied for {item_id} ({y})")
    _transact(store, lambda: _open(store, item_id, uscc, year, "applied", actor, day, on_behalf=on_behalf, note=None))


def confirm(store: Store, item_id: str, uscc: str, *, actor: str, on=None, year=None, on_behalf: bool = False) -> None:
    """意愿确认: the firm (or an officer on its behalf) confirms it wants the award. Raises
    ShanhaiError when the firm is not eligible, already confirmed, or (on-application items) has
    not applied."""
    it = service_item(item_id)
    day = _today(on)
    row = _stored_row(store, item_id, uscc, year)
    pay = _payment(store, item_id, uscc, row["year"])

    def go():
        if pay is None:
            if it.payment_mode == "on_application":
                raise ShanhaiError(f"{item_id} is paid on application: enterprise {uscc} must apply first")
            _open(store, item_id, uscc, year, "confirmed", actor, day, on_behalf=on_behalf, note=None)
            return
        if pay["state"] != "applied":
            raise ShanhaiError(f"enterprise {uscc} has already confirmed {item_id} ({STATE_LABELS[pay['state']][0]})")
        store.con.execute(f"UPDATE payments SET state = 'confirmed', confirmed_on = {literal(day)}, "
                          f"confirmed_by = {literal(actor)}, on_behalf = {literal(on_behalf)} "
                          f"WHERE payment_id = {literal(pay['payment_id'])}")
        _event(store, pay["payment_id"], "confirmed", day, actor, pay["amount"])
    _transact(store, go)


def _scoped_payments(store: Store, scope: Scope, item_id: str, state: str | tuple, uscc: str | None) -> list[dict]:
    if uscc:
        _check_firm(store, scope, uscc)
    one = f"AND uscc = {literal(uscc)}" if uscc else ""
    states = (state,) if isinstance(state, str) else tuple(state)
    return _dicts(store, f"SELECT * FROM payments WHERE item_id = {literal(item_id)} "
                         f"AND state IN ({', '.join(literal(x) for x in states)}) "
                         f"AND {scope.sql('county_adcode')} {one} ORDER BY uscc, year")


def notice(store: Store, scope: Scope, item_id: str, *, actor: str, on=None, days: int | None = None,
           uscc: str | None = None) -> list[dict]:
    """公示: every confirmed firm of the item (inside ``scope``) goes on public notice for
    ``days`` (the item's notice_days, 7 by default). Returns the rows."""
    it = service_item(item_id)
    day = _today(on)
    days = it.notice_days if days is None else int(days)
    if days < 0:
        raise ShanhaiError("notice days must be ≥ 0")
    rows = _scoped_payments(store, scope, item_id, "confirmed", uscc)
    if not rows:
        raise ShanhaiError(f"no confirmed firm of {item_id} in this region to put on notice")
    until = day + dt.timedelta(days=days)

    def go():
        for p in rows:
            store.con.execute(f"UPDATE payments SET state = 'notice', notice_from = {literal(day)}, "
                              f"notice_until = {literal(until)} WHERE payment_id = {literal(p['payment_id'])}")
            _event(store, p["payment_id"], "notice", day, actor, p["amount"], f"公示至 {until}")
    _transact(store, go)
    return [{**p, "state": "notice", "notice_from": day, "notice_until": until} for p in rows]


def _committed(store: Store, item_id: str, year: int) -> Decimal:
    """The item's budget committed in ``year``: the approved amounts of approved, paying (a staged
    award part-paid: the whole award stays committed) and paid awards."""
    v = store.con.execute(f"SELECT coalesce(sum(amount), 0) FROM payments WHERE item_id = {literal(item_id)} "
                          f"AND year = {int(year)} AND state IN ({', '.join(literal(x) for x in COMMITTED)})"
                          ).fetchone()[0]
    return Decimal(v)


def _limited(it: ServiceItem) -> bool:
    return it.amount.lifetime_cap is not None or it.amount.once_per_firm


def _lifetime(store: Store, it: ServiceItem, uscc: str, year: int, pending: list[dict] = ()
              ) -> tuple[Decimal | None, str | None, Decimal]:
    """The firm's lifetime room for ``it`` in award ``year`` (module docstring): (room in 万元 or None
    when the item has no lifetime cap, the refusal sentence or None, what the other years use).
    Counted: committed awards of the item — or of every item of its stacking group — in the other
    award years, plus ``pending`` (awards granted earlier in the same approval, same keys)."""
    am = it.amount
    if not _limited(it):
        return None, None, Decimal("0")
    where = (f"stacking_group = {literal(it.stacking_group)}" if it.stacking_group
             else f"item_id = {literal(it.item_id)}")
    used = _dicts(store, f"SELECT item_id, year, amount, state FROM payments WHERE uscc = {literal(uscc)} AND {where} "
                         f"AND year <> {int(year)} AND state IN ({', '.join(literal(x) for x in COMMITTED)}) "
                         "ORDER BY year, item_id")
    used += [u for u in pending if u["year"] != year]
    total = sum((Decimal(u["amount"]) for u in used), Decimal("0"))
    of = f"不重复组 {it.stacking_group}" if it.stacking_group else it.item_id
    seen = "、".join(f"{u['item_id']} {u['year']} 年 {u['amount']} 万元（{STATE_LABELS[u['state']][0]}）" for u in used[:4])
    if am.once_per_firm and used:
        return Decimal("0"), (f"企业 {uscc} 已获 {of} 的奖励（{seen}），每家企业限享一次 "
                              f"(once per firm: already awarded)"), total
    if am.lifetime_cap is None:
        return None, None, total
    room = Decimal(repr(am.lifetime_cap)).quantize(asv.Q) - total
    if room <= 0:
        return Decimal("0"), (f"企业 {uscc} 在 {of} 各年度累计封顶 {fmt_value(am.lifetime_cap)} 万元已用尽（已用 {total} 万元："
                              f"{seen}） (lifetime cap used up)"), total
    return room, None, total


def approve(store: Store, scope: Scope, item_id: str, *, actor: str, on=None, uscc: str | None = None,
            order: str | None = None) -> list[dict]:
    """审定: firms whose notice has ended. The item's budget (per award year, counting approved and
    paid) is never exceeded: without ``order`` an overrun is refused with the numbers; with
    ``order`` (amount_desc | uscc | pro_rata) the budget left is allocated in that order
    (:func:`shanhai.analysis.service.calc_budget_allocation`) and firms allocated nothing stay on
    notice. An amount that is not known cannot be approved.

    Lifetime limits (``lifetime_cap`` / ``once_per_firm``, module docstring) come first: an award
    above the firm's room is clipped to it (a note says so, like the budget's), earlier award years
    first when one call approves several; a firm with no room left stays on notice and comes back
    with a ``refused`` sentence instead of being approved — and when no firm can be approved the
    call is refused with those sentences. Returns the approved rows, then the refused ones."""
    it = service_item(item_id)
    day = _today(on)
    if order is not None and order not in ORDERS:
        raise ShanhaiError(f"order {order!r} is not one of {', '.join(ORDERS)}")
    rows = _scoped_payments(store, scope, item_id, "notice", uscc)
    ready = [p for p in rows if p["notice_until"] is not None and p["notice_until"] <= day]
    if not ready:
        waiting = ", ".join(f"{p['uscc']} (公示至 {p['notice_until']})" for p in rows[:5])
        raise ShanhaiError(f"no firm of {item_id} has finished its public notice by {day}"
                           + (f": {waiting}" if waiting else ""))
    unknown = [p["uscc"] for p in ready if p["amount"] is None]
    if unknown:
        raise ShanhaiError(f"the amount of {item_id} is not known for {', '.join(unknown[:5])}: "
                           "set it by manual review before approval")
    by_year: dict[int, list[dict]] = {}
    for p in ready:
        by_year.setdefault(p["year"], []).append(p)
    granted: list[tuple[dict, Decimal, str | None]] = []
    refused: list[tuple[dict, str]] = []
    pending: dict[str, list[dict]] = {}          # per firm: awards granted by this call (earlier years first)
    for y in sorted(by_year):
        keep, wants, clips = [], [], []
        for p in by_year[y]:
            want = Decimal(p["amount"])
            clip = None
            room, why, used = _lifetime(store, it, p["uscc"], y, pending.get(p["uscc"], []))
            if why:
                refused.append((p, why + f"：{item_id} {y} 不予审定"))
                continue
            if room is not None and want > room:
                clip = (f"终身限额：核定 {room} 万元（应得 {want} 万元；{it.amount.limits_text()}，"
                        f"其他年度已用 {used} 万元）")
                want = room
            keep.append(p)
            wants.append(want)
            clips.append(clip)
        left = None if it.budget is None else it.budget - _committed(store, item_id, y)
        need = sum(wants, Decimal("0"))
        if left is not None and need > left and order is None:
            raise ShanhaiError(f"budget of {item_id} for {y} would be exceeded: {need} 万元 needed, {left} 万元 left "
                               f"of {it.budget}; approve fewer firms or pass an allocation order "
                               f"({', '.join(ORDERS)})")
        alloc = asv.calc_budget_allocation(wants, [p["uscc"] for p in keep], left, order or "amount_desc")
        for p, want, clip, a in zip(keep, wants, clips, alloc):
            if a <= 0:
                continue
            notes = [clip] if clip else []
            if a != want:
                notes.append(f"预算分配：{a} 万元（应得 {want} 万元）")
            granted.append((p, a, "；".join(notes) or None))
            pending.setdefault(p["uscc"], []).append({"item_id": item_id, "year": y, "amount": a, "state": "approved"})
    if refused and not granted:
        raise ShanhaiError("；".join(why for _p, why in refused[:5])
                           + (f"（另有 {len(refused) - 5} 家）" if len(refused) > 5 else ""))

    def go():
        for p, a, note in granted:
            store.con.execute(f"UPDATE payments SET state = 'approved', approved_on = {literal(day)}, "
                              f"approved_by = {literal(actor)}, amount = {literal(str(a))}, note = {literal(note)} "
                              f"WHERE payment_id = {literal(p['payment_id'])}")
            _event(store, p["payment_id"], "approved", day, actor, a, note)
    _transact(store, go)
    return ([{**p, "state": "approved", "amount": a, "note": note} for p, a, note in granted]
            + [{**p, "refused": why} for p, why in refused])


def pay(store: Store, scope: Scope, item_id: str, *, actor: str, on=None, uscc: str | None = None,
        stage: str | None = None) -> list[dict]:
    """兑现: approved firms are paid. Refused when the firm was already paid within the item's
    stacking group that year (就高不重复), would exceed the item's per-firm cap or the firm's
    lifetime room (re-checked here: never exceeded).

    A staged item (``[amount] stages``) is paid ONE stage per call: the next unpaid stage of each
    award (``stage``, a stage label, must be that next stage — stages are paid in order), its part
    from :func:`shanhai.analysis.service.calc_stages` (the last stage takes the rounding rest, so
    the parts add up to the approved amount exactly). The award is ``paying`` (分期兑现中) until its
    last stage, then ``paid``; ``paid_amount`` / ``stages_paid`` say how far it is and every stage
    is one event (amount = the stage's part) and one audit record. An item without stages is paid
    whole in one call, as before."""
    it = service_item(item_id)
    day = _today(on)
    stages = it.amount.stages
    if stage is not None and not stages:
        raise ShanhaiError(f"{item_id} 不分期兑现 (has no stages): pay it without a stage")
    if stage is not None and stage not in [lbl for lbl, _s in stages]:
        raise ShanhaiError(f"{item_id} 没有「{stage}」这一期 (no such stage): its stages are "
                           + "、".join(lbl for lbl, _s in stages))
    rows = _scoped_payments(store, scope, item_id, ("approved", "paying"), uscc)
    if not rows:
        done = _scoped_payments(store, scope, item_id, "paid", uscc) if uscc else []
        if done:
            d = done[-1]
            raise ShanhaiError(f"企业 {uscc} 的 {item_id}（{d['year']}）已兑现完毕：{d['stages_paid']} 期共 "
                               f"{d['paid_amount']} 万元，没有待兑现的一期 (already paid in full)")
        raise ShanhaiError(f"no approved firm of {item_id} in this region to pay")
    plan = []
    for p in rows:
        if it.stacking_group:
            other = store.con.execute(
                f"SELECT item_id FROM payments WHERE uscc = {literal(p['uscc'])} AND year = {int(p['year'])} "
                f"AND stacking_group = {literal(it.stacking_group)} AND state IN ('paying', 'paid') "
                f"AND item_id <> {literal(item_id)}").fetchone()
            if other:
                raise ShanhaiError(f"enterprise {p['uscc']} was already paid {other[0]} of the same group "
                                   f"{it.stacking_group} in {p['year']} (就高不重复)")
        amount = Decimal(p["amount"])
        if it.amount.cap is not None and amount > Decimal(repr(it.amount.most() or it.amount.cap)):
            raise ShanhaiError(f"{p['amount']} 万元 for {p['uscc']} exceeds the cap of {item_id}")
        room, why, _used = _lifetime(store, it, p["uscc"], p["year"])
        if why:
            raise ShanhaiError(why + f"：{item_id} {p['year']} 不予兑现")
        if room is not None and amount > room:
            raise ShanhaiError(f"企业 {p['uscc']} 的 {item_id} {p['year']} 审定 {amount} 万元超过终身剩余额度 {room} 万元"
                               f"（{it.amount.limits_text()}）：不予兑现 (above the lifetime room)")
        parts = asv.calc_stages(amount, stages)
        k = int(p.get("stages_paid") or 0)
        if k >= len(parts):
            raise ShanhaiError(f"enterprise {p['uscc']}: all {len(parts)} stages of {item_id} are paid already")
        if stage is not None and stage != parts[k][0]:
            raise ShanhaiError(f"企业 {p['uscc']} 的 {item_id} 下一期是第 {k + 1} 期「{parts[k][0]}」，不能兑现「{stage}」"
                               f" (stages are paid in order: the next is {parts[k][0]})")
        plan.append((p, k, parts))

    out = []

    def go():
        for p, k, parts in plan:
            label, part = parts[k]
            last = k + 1 == len(parts)
            paid = Decimal(p.get("paid_amount") or 0) + part
            state = "paid" if last else "paying"
            store.con.execute(f"UPDATE payments SET state = {literal(state)}, paid_on = {literal(day)}, "
                              f"paid_by = {literal(actor)}, paid_amount = {literal(str(paid))}, "
                              f"stages_paid = {k + 1} WHERE payment_id = {literal(p['payment_id'])}")
            if stages:
                note = (f"第 {k + 1}/{len(parts)} 期「{label}」兑现 {part} 万元，累计 {paid} / {p['amount']} 万元")
                _event(store, p["payment_id"], state, day, actor, part, note)
            else:
                _event(store, p["payment_id"], state, day, actor, p["amount"])
            out.append({**p, "state": state, "paid_on": day, "paid_amount": paid, "stages_paid": k + 1,
                        "stages_total": len(parts), "stage": label if stages else None, "stage_amount": part})
    _transact(store, go)
    return out


def payments_list(store: Store, scope: Scope, *, item_id: str | None = None, state: str | None = None,
                  year=None) -> list[dict]:
    """The pay-out ledger inside ``scope`` with names, counties, documents and bank accounts, what
    has been paid so far (``paid_amount``, ``stages_paid`` of ``stages_total``) and ``progress``
    in words (e.g. "1/2 期 · 已兑现 30%"; '' for an award paid in one go, or not paid yet)."""
    if state and state not in STATES:
        raise ShanhaiError(f"state {state!r} is not one of {', '.join(STATES)}")
    conds = [scope.sql("p.county_adcode")]
    if item_id:
        conds.append(f"p.item_id = {literal(item_id)}")
    if state:
        conds.append(f"p.state = {literal(state)}")
    if year not in (None, ""):
        conds.append(f"p.year = {int(year)}")
    rows = _dicts(store, f"""
        SELECT p.payment_id, p.item_id, pi.name AS item_name, pi.document, p.uscc, e.name, p.county_adcode,
               rg.name AS county_name, p.year, p.amount, p.state, p.applied_on, p.confirmed_on, p.confirmed_by,
               p.on_behalf, p.notice_from, p.notice_until, p.approved_on, p.approved_by, p.paid_on, p.paid_by, p.note,
               coalesce(p.paid_amount, 0) AS paid_amount, coalesce(p.stages_paid, 0) AS stages_paid, sf.bank_account
        FROM payments p JOIN enterprises e ON e.uscc = p.uscc
        LEFT JOIN policy_items pi ON pi.item_id = p.item_id
        LEFT JOIN regions rg ON rg.adcode = p.county_adcode
        LEFT JOIN service_facts sf ON sf.uscc = p.uscc AND sf.year = p.year
        WHERE p.state IS NOT NULL AND {' AND '.join(conds)}
        ORDER BY p.item_id, p.county_adcode, p.uscc""")
    staged: dict[str, int] = {}
    for r in rows:
        r["state_label"] = STATE_LABELS.get(r["state"], (r["state"],))[0]
        if r["item_id"] not in staged:
            try:
                staged[r["item_id"]] = len(service_item(r["item_id"]).amount.stages)
            except PolicyError:                          # an item no longer registered
                staged[r["item_id"]] = 0
        n = staged[r["item_id"]]
        r["stages_total"] = n or 1
        r["progress"] = _progress(r, n)
    return rows


def _progress(r: dict, n: int) -> str:
    """How far a staged award is paid, e.g. "1/2 期 · 已兑现 30%" ('' when not staged)."""
    if not n or r["state"] not in COMMITTED:
        return ""
    amount, paid = Decimal(r["amount"] or 0), Decimal(r["paid_amount"] or 0)
    pct = "0" if not amount else fmt_value(float(paid * 100 / amount))
    return f"{r['stages_paid']}/{n} 期 · 已兑现 {pct}%"


def items(day: dt.date | None = None) -> list[dict]:
    """Every registered item's summary (in force on ``day`` marked)."""
    day = day or dt.date.today()
    try:
        found = service_items()
    except PolicyError as exc:
        raise ShanhaiError(str(exc)) from None
    return [{**it.summary(), "in_force": it.rule.in_force(day)} for it in found.values()]


def payment_mode_label(mode: str) -> str:
    return PAYMENT_MODES.get(mode, (mode,))[0]
