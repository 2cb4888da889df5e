"""项目流转 against the store: the register of investment leads, the counties ranked to receive one
(formulas in :mod:`shanhai.analysis.leads`), and ``transfer_lead``, which records a transfer —
the first-contact county (the lead's finder) that is credited for it, the receiving county, the
date — in one audited transaction.

**Scope.** A caller sees the leads its region found or received. Only the finder's side (the
finder's county, its city, the province; never a viewer) may transfer a lead. The ranking lists
counties (no firm), so it is the same for every caller who may see the lead. Leads carry no firm
name.

County facts for the ranking: segment statuses from the chain panoramas of the data year
(:func:`shanhai.jobs.chains.panorama_grid`), declared lead industries, free land from
``land_parcels`` (the rule set's statuses), zone capacity (planned area − area of the parcels
supplied in the zone), above-scale energy per value added of the year.
"""

from __future__ import annotations

import datetime as dt

from shanhai.analysis import leads as al
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import chains as jc
from shanhai.jobs.projects import _dicts
from shanhai.policy._coop_projects import ranking_rules
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import literal, values

STATUS_LABELS = {"open": ("在谈", "Open"), "transferred": ("已流转", "Transferred"), "landed": ("已落地", "Landed"),
                 "dropped": ("已放弃", "Dropped")}


def _names(store: Store) -> dict[str, str]:
    return dict(store.con.execute("SELECT adcode, name FROM regions WHERE level IN ('province', 'city', 'county')"
                                  ).fetchall())


def _transfers(store: Store, lead_ids: list[str] | None = None) -> dict[str, list[dict]]:
    where = "" if lead_ids is None else f"WHERE lead_id IN ({', '.join(literal(x) for x in lead_ids) or 'NULL'})"
    out: dict[str, list[dict]] = {}
    for t in _dicts(store, f"SELECT lead_id, from_adcode, to_adcode, transferred_on, project_id, note, created_by "
                           f"FROM lead_transfers {where} ORDER BY lead_id, transferred_on, to_adcode"):
        out.setdefault(t["lead_id"], []).append(t)
    return out


def _public(lead: dict, transfers: list[dict], names: dict[str, str], scope: Scope) -> dict:
    d = {k: (float(v) if k in ("investment", "land_mu") and v is not None else v) for k, v in lead.items()
         if k != "dataset_id"}
    d["found_by_name"] = names.get(lead["found_by_adcode"])
    d["status_label"], d["status_label_en"] = STATUS_LABELS.get(lead["status"], (lead["status"], lead["status"]))
    d["transfers"] = [{**t, "from_name": names.get(t["from_adcode"]), "to_name": names.get(t["to_adcode"])}
                      for t in transfers]
    d["found_here"] = scope.covers(lead["found_by_adcode"])
    d["received_here"] = any(scope.covers(t["to_adcode"]) for t in transfers)
    return d


def leads(store: Store, scope: Scope, region: str | None = None, *, status: str | None = None) -> dict:
    """The leads ``region`` (default: the caller's) found or received, newest first."""
    where = scope.narrow(store, region)
    if status not in (None, "") and status not in STATUS_LABELS:
        raise ShanhaiError(f"lead status {status!r} is not one of {', '.join(STATUS_LABELS)}")
    names = _names(store)
    rows = _dicts(store, f"""
        SELECT * FROM leads l WHERE ({where.sql('l.found_by_adcode')}
           OR lead_id IN (SELECT lead_id FROM lead_transfers t WHERE {where.sql('t.to_adcode')}))
        {"AND status = " + literal(status) if status else ""}
        ORDER BY found_on DESC NULLS LAST, lead_id""")
    transfers = _transfers(store, [r["lead_id"] for r in rows])
    out = [_public(r, transfers.get(r["lead_id"], []), names, where) for r in rows]
    counts = {k: 0 for k in STATUS_LABELS}
    for r in out:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"region": where.as_dict() | {"name": names.get(where.adcode, where.name)}, "leads": out,
            "total": len(out), "status_counts": counts}


def lead(store: Store, scope: Scope, lead_id: str) -> dict:
    """One lead the caller's region found or received (404 unknown, 403 otherwise)."""
    rows = _dicts(store, f"SELECT * FROM leads WHERE lead_id = {literal(lead_id)}")
    if not rows:
        raise NotFoundError(f"no lead {lead_id!r}")
    transfers = _transfers(store, [lead_id]).get(lead_id, [])
    if not scope.covers(rows[0]["found_by_adcode"]) and not any(scope.covers(t["to_adcode"]) for t in transfers):
        raise OutOfScopeError(f"线索 {lead_id} 不在您的数据范围内 (the lead is outside your region)")
    return _public(rows[0], transfers, _names(store), scope)


# ---- ranking --------------------------------------------------------------------------------------

def lead_segments(store: Store, chain_id: str | None, code: str | None) -> list[str]:
    """The segments of the lead's chain whose codes cover its industry (every segment of the chain
    when none does)."""
    if not chain_id:
        return []
    try:
        c = jc.chain(store, chain_id)
    except NotFoundError:
        return []
    hit = [s.segment_id for s in c.segments if code and any(code.startswith(x) for x in s.codes)]
    return hit or [s.segment_id for s in c.segments]


def county_facts(store: Store, chain_id: str | None, year: int, finder: str | None, rules) -> list[al.CountyFacts]:
    counties = _dicts(store, """SELECT c.adcode, c.name, p.name AS city_name, c.mountain26
                                FROM regions c LEFT JOIN regions p ON p.adcode = c.city_adcode
                                WHERE c.level = 'county' ORDER BY c.adcode""")
    statuses: dict[str, dict[str, str]] = {}
    if chain_id:
        try:
            for g in jc.panorama_grid(store, Scope.province(), year=year):
                if g["chain_id"] == chain_id:
                    statuses[g["county_adcode"]] = g["statuses"]
        except ShanhaiError:
            statuses = {}
    leads_of: dict[str, list] = {}
    for adcode, position, name, codes in store.con.execute(
            "SELECT adcode, position, name, codes FROM lead_industries ORDER BY adcode, position").fetchall():
        leads_of.setdefault(adcode, []).append((int(position), name, tuple(c for c in codes.split(";") if c)))
    inlist = ", ".join(literal(s) for s in rules.free_land_statuses)
    land = {r[0]: r[1:] for r in store.con.execute(f"""
        SELECT county_adcode, count(*), sum(area_mu)::DOUBLE, max(area_mu)::DOUBLE FROM land_parcels
        WHERE land_use_status IN ({inlist}) GROUP BY 1""").fetchall()}
    zone = dict(store.con.execute("""
        SELECT z.county_adcode, sum(greatest(coalesce(z.planned_area_mu, 0) - coalesce(u.used, 0), 0))::DOUBLE
        FROM zones z LEFT JOIN (SELECT zone_id, sum(area_mu) AS used FROM land_parcels
                                WHERE zone_id IS NOT NULL AND land_use_status <> 'approved_not_supplied'
                                GROUP BY 1) u USING (zone_id)
        GROUP BY 1""").fetchall())
    energy = dict(store.con.execute(f"""
        SELECT e.county_adcode, sum(y.energy_tce) / nullif(sum(y.value_added)::DOUBLE, 0)
        FROM enterprise_years y JOIN enterprises e USING (uscc)
        WHERE y.year = {int(year)} AND y.above_scale AND y.energy_tce IS NOT NULL AND y.value_added > 0
        GROUP BY 1""").fetchall())
    paired = set()
    if finder:
        paired = {r[0] for r in store.con.execute(
            f"SELECT developed_adcode FROM pairings WHERE mountain_adcode = {literal(finder)} "
            f"AND developed_adcode IS NOT NULL UNION SELECT mountain_adcode FROM pairings "
            f"WHERE developed_adcode = {literal(finder)}").fetchall()}
    out = []
    for c in counties:
        n, area, largest = land.get(c["adcode"], (0, 0.0, 0.0))
        out.append(al.CountyFacts(c["adcode"], c["name"], c["city_name"], bool(c["mountain26"]),
                                  statuses.get(c["adcode"], {}), leads_of.get(c["adcode"], []),
                                  float(area or 0.0), int(n or 0), float(largest or 0.0),
                                  float(zone.get(c["adcode"]) or 0.0), energy.get(c["adcode"]),
                                  c["adcode"] in paired))
    return out


def rank(store: Store, scope: Scope, lead_id: str, *, year: int | None = None, rules: str = "default",
         limit: int | None = None) -> dict:
    """The counties to receive a lead, best first, with each component's points and the reasons;
    and the counties excluded (energy limit) with theirs."""
    d = lead(store, scope, lead_id)
    r = ranking_rules(rules)
    try:
        y = jc.data_year(store, year)
    except ShanhaiError:
        y = year or dt.date.today().year
    segs = lead_segments(store, d.get("chain_id"), d.get("industry_code"))
    facts = county_facts(store, d.get("chain_id"), y, d["found_by_adcode"], r)
    ranked, excluded = al.rank_receivers(d, segs, facts, r)
    received = {t["to_adcode"] for t in d["transfers"]}
    for row in ranked + excluded:
        row["already_received"] = row["adcode"] in received
    return {"lead": d, "segments": segs, "year": y, "ranked": ranked[:limit] if limit else ranked,
            "candidates": len(ranked), "excluded": excluded,
            "weights": r.weights.model_dump(),
            "components": [{"key": k, "label": zh, "label_en": en} for k, zh, en in al.COMPONENTS],
            "basis": {"rules": r.name, "rules_version": r.version, "rules_fingerprint": r.fingerprint()[:12],
                      "year": y}}


# ---- the transfer ---------------------------------------------------------------------------------

def transfer_lead(store: Store, scope: Scope, lead_id: str, to_adcode: str, *, user: str | None = None,
                  transferred_on: dt.date | str | None = None, note: str | None = None,
                  project_id: str | None = None) -> dict:
    """Record that the lead's finder passed it to ``to_adcode``: a ``lead_transfers`` row (first
    contact = the finder, credited for it), the lead's status 'transferred', an audit entry — one
    transaction. Refused outside the finder's side (403), for an unknown lead, county or project
    (404), to the finder itself or twice to the same county (400)."""
    rows = _dicts(store, f"SELECT * FROM leads WHERE lead_id = {literal(lead_id)}")
    if not rows:
        raise NotFoundError(f"no lead {lead_id!r}")
    found = rows[0]
    if not scope.covers(found["found_by_adcode"]):
        raise OutOfScopeError(f"线索 {lead_id} 的首谈地不在您的数据范围内，只有首谈地可以流转 "
                              "(only the lead's first-contact region may transfer it)")
    to = (to_adcode or "").strip()
    target = store.con.execute(f"SELECT adcode, name FROM regions WHERE adcode = {literal(to)} "
                               "AND level = 'county'").fetchone()
    if target is None:
        raise NotFoundError(f"承接地 {to!r} 不是县(市、区) (the receiving region must be a county adcode)")
    if to == found["found_by_adcode"]:
        raise ShanhaiError(f"承接地不能是首谈地本身 (the lead cannot be transferred to its finder {to})")
    if found["status"] == "dropped":
        raise ShanhaiError(f"线索 {lead_id} 已放弃，不能流转 (the lead was dropped)")
    if store.con.execute(f"SELECT 1 FROM lead_transfers WHERE lead_id = {literal(lead_id)} "
                         f"AND to_adcode = {literal(to)}").fetchone():
        raise ShanhaiError(f"线索 {lead_id} 已流转至 {target[1]} (the lead was already transferred to {to})")
    if project_id and not store.con.execute(
            f"SELECT 1 FROM projects WHERE project_id = {literal(project_id)}").fetchone():
        raise NotFoundError(f"no project {project_id!r}")
    if isinstance(transferred_on, str) and transferred_on.strip():
        try:
            transferred_on = dt.date.fromisoformat(transferred_on.strip())
        except ValueError:
            raise ShanhaiError(f"流转日期 {transferred_on!r} 不是日期 (not a date like 2024-06-30)") from None
    when = transferred_on or dt.date.today()
    note = (note or "").strip()[:500] or None
    row = {"lead_id": lead_id, "from_adcode": found["found_by_adcode"], "to_adcode": to, "transferred_on": when,
           "project_id": project_id or None, "note": note, "created_by": user}
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("INSERT INTO lead_transfers (lead_id, from_adcode, to_adcode, transferred_on, project_id, note, "
                    f"created_by) VALUES ({values(lead_id, row['from_adcode'], to, when, row['project_id'], note, user)})")
        status = "landed" if project_id else ("transferred" if found["status"] == "open" else found["status"])
        con.execute(f"UPDATE leads SET status = {literal(status)} WHERE lead_id = {literal(lead_id)}")
        audit_append(con, "coop.lead.transfer", username=user, target=lead_id,
                     detail={"from": row["from_adcode"], "to": to, "transferred_on": when.isoformat(),
                             "project_id": row["project_id"], "note": note, "status_before": found["status"],
                             "status_after": status})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {**row, "status": status, "to_name": target[1]}
