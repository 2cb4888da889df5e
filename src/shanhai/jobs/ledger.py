"""The 山海协作 credit and sharing ledger per region and year (formulas in
:mod:`shanhai.analysis.ledger`).

For a county: every project it reports — those landing in it (role ``landing``) and the
cooperation projects it partners (role ``dual``, marked: the same investment and output also in the
landing county's report) — with the county's share of each project's output and tax, its totals
(landing, dual, both as reported) and its first-contact credit points. For a city or the province:
per county the same figures, and totals that add the landing rows only, so a project counts once
however it is shared or dual-counted; the shared output and tax of the region (its counties'
parts); for the province, the check that the shared output equals the landing output.

Projects and investors appear as in :mod:`shanhai.jobs.projects`: a caller sees the projects its
region is involved in, investors outside it masked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from shanhai.analysis import ledger as al
from shanhai.analysis import projects as ap
from shanhai.errors import ShanhaiError
from shanhai.jobs import projects as jp
from shanhai.policy._coop_projects import credit_rules, lifecycle_rules, sharing_rules
from shanhai.store import Store
from shanhai.store.scope import Scope

ROLE_LABELS = {"landing": ("落地", "Landing"), "dual": ("双向计入", "Dual-counted")}


def tax_rates(store: Store) -> dict[tuple[str, int], Decimal]:
    """(county, year) → above-scale Σ tax ÷ Σ revenue."""
    rows = store.con.execute("""
        SELECT e.county_adcode, y.year, sum(y.tax_paid) / nullif(sum(y.revenue), 0)
        FROM enterprise_years y JOIN enterprises e USING (uscc)
        WHERE y.above_scale AND y.tax_paid IS NOT NULL AND y.revenue > 0 GROUP BY ALL""").fetchall()
    return {(c, int(y)): Decimal(str(round(float(r), 6))) for c, y, r in rows if r is not None}


def _rate_lookup(rates: dict[tuple[str, int], Decimal]):
    years: dict[str, list[int]] = {}
    for c, y in rates:
        years.setdefault(c, []).append(y)

    def rate(county: str, year: int) -> Decimal | None:
        known = [y for y in years.get(county, ()) if y <= year] or sorted(years.get(county, ()))[:1]
        return rates[(county, max(known))] if known else None

    return rate


def start_year(book: jp.Book, rules, sharing) -> Callable[[dict], int | None]:
    """The year a default sharing schedule starts: the year of the rule set's start stage (actual,
    else planned)."""
    stage = sharing.start

    def year(p: dict) -> int | None:
        for e in book.events.get(p["project_id"], ()):
            if e["stage"] == stage and e.get("event_date"):
                return e["event_date"].year
        planned = ap.plan_dates(p.get("signed_on"), p.get("expected_full_output"),
                                book.plans.get(p["project_id"], {}), rules)
        when = planned.get(stage)
        return when.year if when else None

    return year


def years(store: Store) -> list[int]:
    row = store.con.execute("SELECT min(year(signed_on)), max(year(signed_on)) FROM projects").fetchone()
    last = store.con.execute("SELECT max(year(event_date)) FROM project_events").fetchone()[0]
    if not row or row[0] is None:
        return []
    return list(range(int(row[0]), int(max(row[1], last or row[1])) + 1))


def default_year(store: Store) -> int:
    ys = years(store)
    return ys[-1] if ys else dt.date.today().year


def _f(d: dict) -> dict:
    return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in d.items()}


def ledger(store: Store, scope: Scope, region: str | None = None, *, year: int | None = None,
           sharing: str = "default", credit: str = "default", lifecycle: str = "default") -> dict:
    """The ledger of ``region`` (default: the caller's) in ``year`` (default: the latest with events)."""
    where = jp.area(store, scope, region)
    known = years(store)
    y = default_year(store) if year is None else int(year)
    if known and not (known[0] <= y <= known[-1] + 10):
        raise ShanhaiError(f"no projects in {y}: the database has projects from {known[0]} to {known[-1]}")
    s_rules, c_rules, l_rules = sharing_rules(sharing), credit_rules(credit), lifecycle_rules(lifecycle)
    book = jp.load(store)
    rate = _rate_lookup(tax_rates(store))
    rows = al.ledger_rows(book.projects.values(), book.events, book.shares, y, s_rules, rate,
                          start_year(book, l_rules, s_rules))
    transfers = jp._dicts(store, "SELECT lead_id, from_adcode, to_adcode, transferred_on, project_id "
                                 "FROM lead_transfers")
    credits = al.credit_points(book.projects.values(), book.events, transfers, y, c_rules)
    counties = [c for c in where.counties(store)]
    inside = set(counties)

    def public(r: al.LedgerRow) -> dict:
        p = book.projects[r.project_id]
        return {**r.as_dict(), "name": jp.public_row(book, p, scope)["name"],
                "investor_name": jp.public_row(book, p, scope)["investor_name"],
                "county_name": book.names.get(r.adcode), "counterpart_name": book.names.get(r.counterpart or ""),
                "role_label": ROLE_LABELS[r.role][0], "is_cooperation": bool(p.get("is_cooperation"))}

    mine = [r for r in rows if r.adcode in inside]
    per_county = []
    for c in counties:
        rep = al.county_report(mine, c)
        cr = credits.get(c)
        if not rep["reported"]["projects"] and cr is None:
            continue
        per_county.append({"adcode": c, "name": book.names.get(c), "landing": _f(rep["landing"]),
                           "dual": _f(rep["dual"]), "reported": _f(rep["reported"]),
                           "shared_output": float(rep["shared_output"]), "shared_tax": float(rep["shared_tax"]),
                           "credit": cr.points if cr else 0.0})
    total = al.totals(rows, inside)
    doc = {"region": where.as_dict() | {"name": book.names.get(where.adcode, where.name)}, "year": y, "years": known,
           "rows": [public(r) for r in sorted(mine, key=lambda r: (r.adcode, r.role, r.project_id))],
           "counties": per_county, "totals": _f(total),
           "credit": [{**c.as_dict(), "name": book.names.get(c.adcode)} for k, c in credits.items() if k in inside],
           "basis": {"year": y, "sharing": s_rules.name, "sharing_version": s_rules.version,
                     "credit": c_rules.name, "credit_version": c_rules.version,
                     "sharing_fingerprint": s_rules.fingerprint()[:12], "credit_fingerprint": c_rules.fingerprint()[:12],
                     "data_fingerprint": book.fingerprint}}
    if where.level == "county":
        rep = al.county_report(rows, where.adcode)
        doc["report"] = {"landing": _f(rep["landing"]), "dual": _f(rep["dual"]), "reported": _f(rep["reported"]),
                         "shared_output": float(rep["shared_output"]), "shared_tax": float(rep["shared_tax"])}
    if where.is_province:
        doc["check"] = {"landing_output": float(total["output"]), "shared_output": float(total["shared_output"]),
                        "equal": total["output"] == total["shared_output"] and total["tax"] == total["shared_tax"]}
    for item in doc["credit"]:
        for it in item["items"]:
            if it.get("project_id"):
                p = book.projects[it["project_id"]]
                it["name"] = jp.public_row(book, p, scope)["name"]
                it["landing_name"] = book.names.get(p["landing_adcode"])
            if it.get("to_adcode"):
                it["to_name"] = book.names.get(it["to_adcode"])
    return doc


def schedules(store: Store, scope: Scope, region: str | None = None, *, sharing: str = "default",
              lifecycle: str = "default") -> list[dict]:
    """The sharing schedule of every shared project the region is involved in (its own or the default)."""
    where = jp.area(store, scope, region)
    s_rules, l_rules = sharing_rules(sharing), lifecycle_rules(lifecycle)
    book = jp.load(store)
    first = start_year(book, l_rules, s_rules)
    out = []
    for p, roles in jp.visible_projects(book, scope, where):
        sched = al.schedule(p, book.shares.get(p["project_id"], []), s_rules, first(p))
        if not sched:
            continue
        out.append({**jp.public_row(book, p, scope), "roles": roles, "partner_adcode": al.partner_of(p, sched),
                    "partner_name": book.names.get(al.partner_of(p, sched) or ""),
                    "periods": [{"from_year": r["from_year"], "to_year": r.get("to_year"),
                                 "landing_share": float(r["landing_share"]),
                                 "partner_share": float(1 - Decimal(r["landing_share"])),
                                 "source": r["source"]} for r in sched]})
    return out
