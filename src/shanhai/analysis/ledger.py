"""The 山海协作 credit and sharing ledger: first-contact credit points, dual counting and the
sharing of a cooperation project's output and tax between its landing county and its partner.

Plain Python over rows, money as ``Decimal`` (万元, exact to 4 places like the store), so that
totals add up exactly.

**A project's figures in a year Y** (``year_figures``): invested = the cumulative investment of
its last event on or before 31 Dec Y that carries one; invested in the year = that minus the same
at 31 Dec Y−1; output = the annualised output of its last event on or before 31 Dec Y that carries
one (0 before it produces); tax = output × the landing county's tax rate of the year (above-scale
Σ tax ÷ Σ revenue, or the sharing rule set's default), rounded to 0.0001 万元.

**Dual counting.** A cooperation project (or any project with a sharing schedule) appears in two
county reports: its landing county's, role ``landing``, and its partner's, role ``dual`` — the
same investment, output and tax, marked as dual-counted. Any sum above one county (a city, the
province, a set of counties) adds the ``landing`` rows only (``totals``): a project counts once,
where it lands, however it is shared.

**Sharing.** In year Y the landing county's share s comes from the project's schedule
(``project_shares``: the row whose from_year ≤ Y ≤ to_year) or, for a cooperation project
without one, the default schedule from its start year (``policy.sharing_rules``); before the
schedule starts, s = 1. Landing part = round(amount × s, 4); partner part = amount − landing part,
so the two parts add up to the amount exactly and the province's shared output equals its
landing output.

**First-contact credit** (``credit_points``): a county earns, in year Y, ``transferred_lead``
points per lead it passed on in Y, and for every project it first contacted that landed
elsewhere, the points of each stage reached in Y plus ``per_100m`` per 亿元 invested in Y; a
project's points are capped at ``caps.per_project``, a county's at ``caps.per_region``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from shanhai.analysis.projects import stage_index
from shanhai.policy._coop_projects import CreditRules, SharingRules

Q = Decimal("0.0001")
ZERO = Decimal(0)
ONE = Decimal(1)
MONEY = ("invested", "invested_in_year", "output", "tax")


def dec(value) -> Decimal:
    """A stored amount as a Decimal (None → 0)."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def q4(value: Decimal) -> Decimal:
    return value.quantize(Q, rounding=ROUND_HALF_EVEN)


def split(amount: Decimal, landing_share: Decimal) -> tuple[Decimal, Decimal]:
    """(landing part, partner part) of ``amount``; they add up to ``amount`` exactly."""
    landing = q4(amount * landing_share)
    return landing, amount - landing


# ---- a project's figures in a year ---------------------------------------------------------------

@dataclass(frozen=True)
class YearFigures:
    invested: Decimal
    invested_in_year: Decimal
    output: Decimal
    stages: tuple[str, ...]            # stages reached during the year


def _last(events: list[dict], column: str, end: dt.date):
    rows = [e for e in events if e.get(column) is not None and e["event_date"] <= end]
    if not rows:
        return None
    return max(rows, key=lambda e: (e["event_date"], stage_index(e["stage"])))[column]


def year_figures(events: Iterable[dict], year: int) -> YearFigures:
    """A project's investment, output and stages in ``year`` from its events (module docstring)."""
    events = [e for e in events if e.get("event_date") is not None]
    end, before = dt.date(year, 12, 31), dt.date(year - 1, 12, 31)
    now, then = dec(_last(events, "invested", end)), dec(_last(events, "invested", before))
    reached = tuple(e["stage"] for e in sorted(events, key=lambda e: (e["event_date"], stage_index(e["stage"])))
                    if e["event_date"].year == year)
    return YearFigures(now, now - then, dec(_last(events, "output", end)), reached)


# ---- sharing --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Share:
    landing_share: Decimal
    partner_adcode: str | None
    source: str                        # project | default | none


def schedule(project: dict, rows: list[dict], rules: SharingRules, start_year: int | None) -> list[dict]:
    """The project's sharing schedule: its own rows, else the default schedule from ``start_year``
    for a cooperation project whose first contact is another county, else none."""
    if rows:
        return sorted(({**r, "landing_share": dec(r["landing_share"]), "source": "project"} for r in rows),
                      key=lambda r: r["from_year"])
    partner = project.get("first_contact_adcode")
    if not project.get("is_cooperation") or not partner or partner == project["landing_adcode"] or start_year is None:
        return []
    return [{"from_year": a, "to_year": b, "landing_share": dec(s), "partner_adcode": partner,
             "partner_share": ONE - dec(s), "source": "default"} for a, b, s in rules.schedule(start_year)]


def partner_of(project: dict, sched: list[dict]) -> str | None:
    """The county a project is dual-counted in: its schedule's partner, else the first contact of a
    cooperation project landing elsewhere (None: the project is not shared)."""
    for r in sched:
        if r.get("partner_adcode") and r["partner_adcode"] != project["landing_adcode"]:
            return r["partner_adcode"]
    partner = project.get("first_contact_adcode")
    if project.get("is_cooperation") and partner and partner != project["landing_adcode"]:
        return partner
    return None


def share_in(project: dict, sched: list[dict], year: int) -> Share:
    """The landing county's share in ``year`` (1 when no schedule row covers it)."""
    partner = partner_of(project, sched)
    for r in sorted(sched, key=lambda r: r["from_year"], reverse=True):
        if r["from_year"] <= year and (r.get("to_year") is None or year <= r["to_year"]):
            if r.get("partner_adcode") == project["landing_adcode"]:
                return Share(ONE, partner, r["source"])
            return Share(dec(r["landing_share"]), r.get("partner_adcode") or partner, r["source"])
    return Share(ONE, partner, "none")


# ---- the ledger rows ------------------------------------------------------------------------------

@dataclass
class LedgerRow:
    project_id: str
    adcode: str                        # the county whose report the row is in
    role: str                          # landing | dual
    counterpart: str | None            # the other county of a shared project
    year: int
    invested: Decimal
    invested_in_year: Decimal
    output: Decimal
    tax: Decimal
    share: Decimal                     # this county's share of output and tax in the year
    shared_output: Decimal
    shared_tax: Decimal
    share_source: str
    dual: bool = False                 # dual-counted: never added above the county

    def as_dict(self) -> dict:
        return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


def ledger_rows(projects: Iterable[dict], events: dict[str, list[dict]], shares: dict[str, list[dict]], year: int,
                rules: SharingRules, tax_rate: Callable[[str, int], Decimal | None],
                start_year: Callable[[dict], int | None]) -> list[LedgerRow]:
    """One ``landing`` row per project signed by the end of ``year``, and one ``dual`` row for the
    partner of a shared one (module docstring)."""
    out = []
    default_rate = dec(rules.default_tax_rate)
    for p in projects:
        evs = events.get(p["project_id"], [])
        signed = p.get("signed_on") or min((e["event_date"] for e in evs if e.get("event_date")), default=None)
        if signed is not None and signed.year > year:
            continue
        f = year_figures(evs, year)
        rate = tax_rate(p["landing_adcode"], year)
        tax = q4(f.output * (default_rate if rate is None else dec(rate)))
        sched = schedule(p, shares.get(p["project_id"], []), rules, start_year(p))
        s = share_in(p, sched, year)
        lo, po = split(f.output, s.landing_share)
        lt, pt = split(tax, s.landing_share)
        partner = s.partner_adcode if s.partner_adcode != p["landing_adcode"] else None
        out.append(LedgerRow(p["project_id"], p["landing_adcode"], "landing", partner, year, f.invested,
                             f.invested_in_year, f.output, tax, s.landing_share if partner else ONE,
                             lo if partner else f.output, lt if partner else tax, s.source))
        if partner:
            out.append(LedgerRow(p["project_id"], partner, "dual", p["landing_adcode"], year, f.invested,
                                 f.invested_in_year, f.output, tax, ONE - s.landing_share, po, pt, s.source,
                                 dual=True))
    return out


def _sums(rows: Iterable[LedgerRow]) -> dict:
    rows = list(rows)
    out = {k: sum((getattr(r, k) for r in rows), ZERO) for k in MONEY}
    out["projects"] = len({r.project_id for r in rows})
    return out


def totals(rows: Iterable[LedgerRow], counties: set[str] | None = None) -> dict:
    """Totals of a region made of ``counties`` (None: every county, the province): investment,
    output and tax from the landing rows only — a dual-counted row is never added — and the
    region's shared output and tax (its counties' parts of every row)."""
    rows = [r for r in rows if counties is None or r.adcode in counties]
    landing = [r for r in rows if r.role == "landing"]
    out = _sums(landing)
    out["shared_output"] = sum((r.shared_output for r in rows), ZERO)
    out["shared_tax"] = sum((r.shared_tax for r in rows), ZERO)
    out["dual_rows"] = sum(1 for r in rows if r.dual)
    return out


def county_report(rows: Iterable[LedgerRow], county: str) -> dict:
    """One county's report: its landing projects, the projects it reports as dual-counted (marked),
    and both together as the county reports them (never to be added to another county's)."""
    mine = [r for r in rows if r.adcode == county]
    landing, dual = _sums(r for r in mine if r.role == "landing"), _sums(r for r in mine if r.dual)
    reported = {k: landing[k] + dual[k] for k in MONEY}
    reported["projects"] = landing["projects"] + dual["projects"]
    return {"landing": landing, "dual": dual, "reported": reported,
            "shared_output": sum((r.shared_output for r in mine), ZERO),
            "shared_tax": sum((r.shared_tax for r in mine), ZERO)}


# ---- first-contact credit --------------------------------------------------------------------------

@dataclass
class Credit:
    adcode: str
    points: float
    raw: float                          # before the county's cap
    items: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def credit_points(projects: Iterable[dict], events: dict[str, list[dict]], transfers: Iterable[dict], year: int,
                  rules: CreditRules) -> dict[str, Credit]:
    """Each county's first-contact points in ``year`` with the items behind them (module docstring)."""
    items: dict[str, list[dict]] = {}
    for t in transfers:
        when = t.get("transferred_on")
        if when is not None and when.year == year and t.get("from_adcode") and rules.transferred_lead:
            items.setdefault(t["from_adcode"], []).append({
                "kind": "transferred_lead", "lead_id": t["lead_id"], "to_adcode": t.get("to_adcode"),
                "points": rules.transferred_lead})
    for p in projects:
        first = p.get("first_contact_adcode")
        if not first or first == p["landing_adcode"]:
            continue
        f = year_figures(events.get(p["project_id"], []), year)
        stage_pts = sum(rules.stages.get(s, 0.0) for s in f.stages)
        money_pts = float(max(f.invested_in_year, ZERO) / Decimal(10_000)) * rules.per_100m
        raw = stage_pts + money_pts
        if raw <= 0:
            continue
        points = min(raw, rules.caps.per_project)
        items.setdefault(first, []).append({
            "kind": "project", "project_id": p["project_id"], "landing_adcode": p["landing_adcode"],
            "stages": list(f.stages), "stage_points": round(stage_pts, 4),
            "invested_in_year": float(f.invested_in_year), "investment_points": round(money_pts, 4),
            "points": round(points, 4), "capped": raw > rules.caps.per_project})
    out = {}
    for adcode, its in sorted(items.items()):
        raw = round(sum(i["points"] for i in its), 4)
        out[adcode] = Credit(adcode, round(min(raw, rules.caps.per_region), 4), raw, its)
    return out
