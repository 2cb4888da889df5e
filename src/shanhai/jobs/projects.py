"""Investment projects against the store: the tracker (every stage planned against actual, the
red/amber/green light), the stalled list and the KPIs by region and by pairing, each for a region
inside the caller's ``Scope``. The formulas are in :mod:`shanhai.analysis.projects`.

**Scope.** A caller sees the projects that land in its region, and those its region found (first
contact) or shares as a partner — each row says which (``roles``). The investor of a project is a
firm: its name and USCC are shown only when the firm's county lies inside the caller's region
(the register's county by USCC, else by name; a firm not in the register: when the project lands
inside), otherwise masked as ``jobs.chains`` masks attraction targets. KPIs count a project once,
where it lands.

The as-of date defaults to the latest project event in the store (the data's "today"), so the
lights of a stored province do not drift with the calendar.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from shanhai.analysis import projects as ap
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs.chains import MASKED_NAME
from shanhai.policy._coop_projects import LIFECYCLE, lifecycle_rules
from shanhai.store import Store
from shanhai.store.scope import OutOfScopeError, Scope

ROLE_LABELS = {"landing": ("落地地", "Landing"), "first_contact": ("首谈地", "First contact"),
               "partner": ("合作方", "Partner")}


@dataclass
class Book:
    """Every project with its events, plans, sharing rows and investor's county."""
    projects: dict[str, dict]
    events: dict[str, list[dict]]
    plans: dict[str, dict[str, dict]]
    shares: dict[str, list[dict]]
    names: dict[str, str]                      # county and city adcode → name
    cities: dict[str, str]                     # county adcode → city adcode
    fingerprint: str = ""
    extra: dict = field(default_factory=dict)


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def fingerprint(store: Store) -> str:
    """What the project figures read: rows and a content hash of each table, and the last import change."""
    parts = []
    for table, cols in (("projects", "project_id || coalesce(stage, '') || landing_adcode"),
                        ("project_events", "project_id || stage || event_date::VARCHAR || coalesce(invested::VARCHAR, '')"),
                        ("project_plans", "project_id || stage || coalesce(planned_date::VARCHAR, '')"),
                        ("project_shares", "project_id || from_year::VARCHAR || landing_share::VARCHAR"),
                        ("leads", "lead_id || status"), ("lead_transfers", "lead_id || to_adcode")):
        parts.append(repr(store.con.execute(
            f"SELECT count(*), coalesce(sum(hash({cols})), 0) FROM {table}").fetchone()))
    parts.append(repr(store.con.execute("SELECT coalesce(max(change_id), 0) FROM change_history").fetchone()))
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


def load(store: Store) -> Book:
    projects = {p["project_id"]: p for p in _dicts(store, """
        SELECT p.*, coalesce(e.county_adcode, n.county_adcode) AS investor_county
        FROM projects p
        LEFT JOIN enterprises e ON e.uscc = p.investor_uscc
        LEFT JOIN (SELECT name, min(county_adcode) AS county_adcode FROM enterprises
                   WHERE name IN (SELECT investor_name FROM projects WHERE investor_uscc IS NULL) GROUP BY name) n
               ON p.investor_uscc IS NULL AND n.name = p.investor_name
        ORDER BY p.project_id""")}
    events: dict[str, list[dict]] = {}
    for e in _dicts(store, "SELECT project_id, stage, event_date, invested, output, note FROM project_events "
                           "ORDER BY project_id, event_date, stage"):
        events.setdefault(e["project_id"], []).append(e)
    plans: dict[str, dict[str, dict]] = {}
    for r in _dicts(store, "SELECT project_id, stage, planned_date, planned_investment FROM project_plans"):
        plans.setdefault(r["project_id"], {})[r["stage"]] = r
    shares: dict[str, list[dict]] = {}
    for r in _dicts(store, "SELECT project_id, from_year, to_year, landing_share, partner_adcode, partner_share "
                           "FROM project_shares ORDER BY project_id, from_year"):
        shares.setdefault(r["project_id"], []).append(r)
    names = dict(store.con.execute("SELECT adcode, name FROM regions WHERE level IN ('province', 'city', 'county')"
                                   ).fetchall())
    cities = dict(store.con.execute("SELECT adcode, city_adcode FROM regions WHERE level = 'county'").fetchall())
    return Book(projects, events, plans, shares, names, cities, fingerprint(store))


def default_as_of(store: Store) -> dt.date:
    """The latest project event (or signing) in the store; today when there is none."""
    row = store.con.execute("SELECT greatest(max(event_date), (SELECT max(signed_on) FROM projects)) "
                            "FROM project_events").fetchone()
    return row[0] if row and row[0] else dt.date.today()


def area(store: Store, scope: Scope, region: str | None) -> Scope:
    """The region asked (a province, city or county inside the scope; 403 outside, 404 unknown)."""
    return scope.narrow(store, region)


def roles_in(book: Book, p: dict, scope: Scope) -> list[str]:
    """How a scope is involved in a project: landing, first_contact, partner (empty: not at all)."""
    out = []
    if scope.covers(p["landing_adcode"]):
        out.append("landing")
    if p.get("first_contact_adcode") and p["first_contact_adcode"] != p["landing_adcode"] \
            and scope.covers(p["first_contact_adcode"]):
        out.append("first_contact")
    if any(scope.covers(r["partner_adcode"]) for r in book.shares.get(p["project_id"], ())
           if r["partner_adcode"] != p["landing_adcode"]) and "first_contact" not in out:
        out.append("partner")
    elif p.get("is_cooperation") and "first_contact" in out:
        out.append("partner")
    return out


def investor_visible(p: dict, scope: Scope) -> bool:
    county = p.get("investor_county")
    if county:
        return scope.covers(county)
    return scope.covers(p["landing_adcode"])


def public_row(book: Book, p: dict, scope: Scope) -> dict:
    """A project as a caller may see it: the investor masked outside the caller's region."""
    visible = investor_visible(p, scope)
    name = p["name"]
    if not visible and p.get("investor_name") and p["investor_name"] in name:
        name = name.replace(p["investor_name"], MASKED_NAME[0])
    return {
        "project_id": p["project_id"], "name": name,
        "investor_masked": bool(p.get("investor_name") or p.get("investor_uscc")) and not visible,
        "investor_name": p.get("investor_name") if visible else (MASKED_NAME[0] if p.get("investor_name") else None),
        "investor_uscc": p.get("investor_uscc") if visible else None,
        "industry_code": p.get("industry_code"), "chain_id": p.get("chain_id"),
        "landing_adcode": p["landing_adcode"], "landing_name": book.names.get(p["landing_adcode"]),
        "first_contact_adcode": p.get("first_contact_adcode"),
        "first_contact_name": book.names.get(p.get("first_contact_adcode") or ""),
        "zone_id": p.get("zone_id"), "is_cooperation": bool(p.get("is_cooperation")),
        "planned_investment": None if p.get("planned_investment") is None else float(p["planned_investment"]),
        "stage_reported": p.get("stage"), "signed_on": p.get("signed_on"),
        "expected_full_output": p.get("expected_full_output"),
    }


def visible_projects(book: Book, scope: Scope, where: Scope | None = None) -> list[tuple[dict, list[str]]]:
    """(project, roles of ``where``) for the projects ``where`` (default: the scope) is involved in."""
    where = where or scope
    out = []
    for p in book.projects.values():
        roles = roles_in(book, p, where)
        if roles:
            out.append((p, roles))
    return out


@dataclass(frozen=True)
class Basis:
    as_of: dt.date
    rules: str
    rules_version: str
    rules_fingerprint: str
    data_fingerprint: str

    def as_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "rules": self.rules, "rules_version": self.rules_version,
                "rules_fingerprint": self.rules_fingerprint, "data_fingerprint": self.data_fingerprint}


def _as_of(store: Store, as_of) -> dt.date:
    if as_of in (None, ""):
        return default_as_of(store)
    if isinstance(as_of, dt.date):
        return as_of
    try:
        return dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise ShanhaiError(f"as-of date {as_of!r} is not a date like 2024-12-31") from None


def lifecycles(store: Store, book: Book, items, as_of: dt.date, rules) -> list[ap.Lifecycle]:
    return [ap.lifecycle(p, book.events.get(p["project_id"], []), book.plans.get(p["project_id"], {}), rules, as_of)
            for p in items]


def _row(book: Book, p: dict, roles: list[str], lc: ap.Lifecycle, scope: Scope, as_of: dt.date) -> dict:
    light = lc.light
    funds = lc.invested / lc.planned_investment if lc.invested is not None and lc.planned_investment else None
    return {**public_row(book, p, scope), "roles": roles, "reached": lc.reached,
            "reached_label": ap.STAGE_LABELS[lc.reached][0], "reached_label_en": ap.STAGE_LABELS[lc.reached][1],
            "light": light.light, "light_label": ap.LIGHT_LABELS[light.light][0],
            "calendar_progress": light.calendar, "stage_progress": light.progress, "gap": light.gap,
            "months_overdue": light.months_overdue, "next_stage": light.next_stage,
            "not_started": light.not_started,
            "reasons": [zh for _, zh, _ in light.reasons], "reasons_en": [en for _, _, en in light.reasons],
            "rules_hit": [k for k, _, _ in light.reasons], "invested": lc.invested, "funds_rate": funds,
            "last_event": lc.last_event, "stalled": lc.stalled,
            "idle_months": ap.months_between(lc.last_event, as_of) if lc.last_event else None,
            "honoured": lc.honoured, "stages": lc.stages}


def tracker(store: Store, scope: Scope, region: str | None = None, *, as_of=None, light: str | None = None,
            stage: str | None = None, role: str | None = None, rules: str = "default") -> dict:
    """The projects ``region`` (default: the caller's) is involved in, with every stage planned
    against actual and the light; the KPIs of the projects landing there; the stalled ones."""
    where = area(store, scope, region)
    r = lifecycle_rules(rules)
    day = _as_of(store, as_of)
    book = load(store)
    if light not in (None, "") and light not in ap.LIGHTS:
        raise ShanhaiError(f"light {light!r} is not one of {', '.join(ap.LIGHTS)}")
    if stage not in (None, "") and stage not in LIFECYCLE:
        raise ShanhaiError(f"stage {stage!r} is not one of {', '.join(LIFECYCLE)}")
    if role not in (None, "") and role not in ROLE_LABELS:
        raise ShanhaiError(f"role {role!r} is not one of {', '.join(ROLE_LABELS)}")
    items = visible_projects(book, scope, where)
    lcs = lifecycles(store, book, [p for p, _ in items], day, r)
    rows = [_row(book, p, roles, lc, scope, day) for (p, roles), lc in zip(items, lcs)]
    landing = [lc for (p, roles), lc in zip(items, lcs) if "landing" in roles]
    kpi = ap.calc_kpis(landing)
    shown = [x for x in rows if (not light or x["light"] == light) and (not stage or x["reached"] == stage)
             and (not role or role in x["roles"])]
    shown.sort(key=lambda x: (-ap.LIGHTS.index(x["light"]), -(x["months_overdue"] or 0), x["project_id"]))
    return {"region": where.as_dict() | {"name": book.names.get(where.adcode, where.name)},
            "projects": shown, "total": len(rows), "kpis": kpi,
            "lights": {k: sum(1 for x in rows if x["light"] == k and "landing" in x["roles"]) for k in ap.LIGHTS},
            "stalled": [x for x in rows if x["stalled"]],
            "basis": Basis(day, r.name, r.version, r.fingerprint()[:12], book.fingerprint).as_dict()}


def stalled(store: Store, scope: Scope, region: str | None = None, *, as_of=None, rules: str = "default") -> dict:
    """The stalled list: projects with no new stage for the rule set's months, and red ones, worst first."""
    doc = tracker(store, scope, region, as_of=as_of, rules=rules)
    rows = [x for x in doc["projects"] if x["stalled"] or x["light"] == "red"]
    for x in rows:
        why = []
        if x["stalled"]:
            why.append(f"{x['idle_months']} 个月无新进展（最近节点 {x['last_event']}）")
        why += x["reasons"]
        x["why"] = why
    rows.sort(key=lambda x: (not x["stalled"], -(x["idle_months"] or 0), -(x["months_overdue"] or 0), x["project_id"]))
    return {"region": doc["region"], "projects": rows, "total": len(rows), "basis": doc["basis"]}


def kpis(store: Store, scope: Scope, region: str | None = None, *, by: str = "county", as_of=None,
         rules: str = "default") -> dict:
    """KPIs (contracts honoured, funds in place, started, producing) of the projects landing in each
    county (``by='county'``) or city (``'city'``) of the region, or of each 山海协作 pairing whose
    either end lies in it (``'pairing'``: the cooperation projects landing in the mountain county
    whose first contact or partner is the paired county)."""
    if by not in ("county", "city", "pairing"):
        raise ShanhaiError(f"KPIs by {by!r}: expected county, city or pairing")
    where = area(store, scope, region)
    r = lifecycle_rules(rules)
    day = _as_of(store, as_of)
    book = load(store)
    rows = []
    if by in ("county", "city"):
        landing = [p for p in book.projects.values() if where.covers(p["landing_adcode"])]
        lcs = {lc.project_id: lc for lc in lifecycles(store, book, landing, day, r)}
        key = (lambda lc: [book.projects[lc.project_id]["landing_adcode"]]) if by == "county" else \
              (lambda lc: [book.cities.get(book.projects[lc.project_id]["landing_adcode"]) or "?"])
        for code, k in ap.kpis_by(lcs.values(), key).items():
            rows.append({"key": code, "adcode": code, "name": book.names.get(code, code), **k})
        total = ap.calc_kpis(lcs.values())
    else:
        pairings = _dicts(store, f"""SELECT pairing_id, developed_adcode, developed_name, mountain_adcode, scope
            FROM pairings WHERE developed_adcode IS NOT NULL
            AND ({where.sql('mountain_adcode')} OR {where.sql('developed_adcode')}) ORDER BY pairing_id""")
        involved = {}
        for pr in pairings:
            key = f"{pr['developed_adcode']}-{pr['mountain_adcode']}"
            for p in book.projects.values():
                partners = {s["partner_adcode"] for s in book.shares.get(p["project_id"], ())}
                if p["landing_adcode"] == pr["mountain_adcode"] and (
                        p.get("first_contact_adcode") == pr["developed_adcode"] or pr["developed_adcode"] in partners):
                    involved.setdefault(p["project_id"], []).append(key)
        lcs = {lc.project_id: lc for lc in lifecycles(store, book, [book.projects[k] for k in involved], day, r)}
        groups = ap.kpis_by(lcs.values(), lambda lc: involved[lc.project_id])
        for pr in pairings:
            key = f"{pr['developed_adcode']}-{pr['mountain_adcode']}"
            k = groups.get(key) or ap.calc_kpis([])
            rows.append({"key": key, "pairing_id": pr["pairing_id"], "developed_adcode": pr["developed_adcode"],
                         "developed_name": pr["developed_name"], "mountain_adcode": pr["mountain_adcode"],
                         "mountain_name": book.names.get(pr["mountain_adcode"]),
                         "name": f"{pr['developed_name']}—{book.names.get(pr['mountain_adcode'])}", **k})
        total = ap.calc_kpis(lcs.values())
    return {"region": where.as_dict() | {"name": book.names.get(where.adcode, where.name)}, "by": by, "rows": rows,
            "total": total, "basis": Basis(day, r.name, r.version, r.fingerprint()[:12], book.fingerprint).as_dict()}


def project(store: Store, scope: Scope, project_id: str, *, as_of=None, rules: str = "default") -> dict:
    """One project the caller's region is involved in (404 unknown, 403 not involved)."""
    book = load(store)
    p = book.projects.get(project_id)
    if p is None:
        raise NotFoundError(f"no project {project_id!r}")
    roles = roles_in(book, p, scope)
    if not roles:
        raise OutOfScopeError(f"项目 {project_id} 不在您的数据范围内 (the project is outside your region)")
    r = lifecycle_rules(rules)
    day = _as_of(store, as_of)
    (lc,) = lifecycles(store, book, [p], day, r)
    return {"project": _row(book, p, roles, lc, scope, day),
            "basis": Basis(day, r.name, r.version, r.fingerprint()[:12], book.fingerprint).as_dict()}

