"""The credit and sharing ledger (analysis.ledger). Property tests: whatever the projects, their
sharing schedules and partners, a city's and the province's totals equal the sum of the landing
counties' figures — dual-counted rows never add — and the shared parts of every county add up to
the landing figures exactly. Unit tests: year figures, the default schedule, shares, dual rows and
first-contact credit with its caps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shanhai.analysis import ledger as al
from shanhai.policy._coop_projects import LIFECYCLE, credit_rules, sharing_rules

D = dt.date
SHARING = sharing_rules()
CREDIT = credit_rules()
CITIES = {"3301": ["330101", "330102", "330103"], "3311": ["331101", "331102", "331103"]}
COUNTIES = [c for cs in CITIES.values() for c in cs]
YEARS = range(2019, 2027)

money = st.decimals(min_value=0, max_value=500_000, places=4, allow_nan=False, allow_infinity=False)
share = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False)
county = st.sampled_from(COUNTIES)


@st.composite
def project(draw, pid: str):
    landing = draw(county)
    first = draw(st.one_of(st.none(), county))
    signed = D(draw(st.integers(2018, 2025)), draw(st.integers(1, 12)), draw(st.integers(1, 28)))
    events = [{"stage": "signed", "event_date": signed, "invested": Decimal(0), "output": None}]
    day = signed
    for stage in draw(st.lists(st.sampled_from(LIFECYCLE[1:]), max_size=5, unique=True)):
        day = day + dt.timedelta(days=draw(st.integers(0, 500)))
        events.append({"stage": stage, "event_date": day, "invested": draw(st.one_of(st.none(), money)),
                       "output": draw(st.one_of(st.none(), money))})
    rows = []
    if draw(st.booleans()):
        start = draw(st.integers(2017, 2026))
        partner = draw(county)                  # may even be the landing county (ignored)
        for _ in range(draw(st.integers(1, 3))):
            years = draw(st.integers(1, 4))
            s = draw(share)
            rows.append({"from_year": start, "to_year": start + years - 1, "landing_share": s,
                         "partner_adcode": partner, "partner_share": 1 - s})
            start += years
        if draw(st.booleans()):
            rows[-1]["to_year"] = None
    p = {"project_id": pid, "landing_adcode": landing, "first_contact_adcode": first,
         "is_cooperation": draw(st.booleans()), "signed_on": signed}
    return p, events, rows


@st.composite
def world(draw):
    n = draw(st.integers(0, 12))
    items = [draw(project(f"P{i}")) for i in range(n)]
    rates = {(c, y): draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=Decimal("0.2"), places=4)))
             for c in COUNTIES for y in YEARS}
    starts = {f"P{i}": draw(st.one_of(st.none(), st.integers(2018, 2026))) for i in range(n)}
    return items, rates, starts, draw(st.sampled_from(list(YEARS)))


def _rows(items, rates, starts, year):
    projects = [p for p, _, _ in items]
    events = {p["project_id"]: e for p, e, _ in items}
    shares = {p["project_id"]: s for p, _, s in items if s}
    return al.ledger_rows(projects, events, shares, year, SHARING, lambda c, y: rates.get((c, y)),
                          lambda p: starts[p["project_id"]])


def _direct(items, rates, year, counties) -> dict:
    """The landing figures computed directly from the events, project by project."""
    out = {"invested": Decimal(0), "output": Decimal(0), "tax": Decimal(0)}
    for p, events, _ in items:
        if p["signed_on"].year > year or p["landing_adcode"] not in counties:
            continue
        f = al.year_figures(events, year)
        rate = rates.get((p["landing_adcode"], year))
        out["invested"] += f.invested
        out["output"] += f.output
        out["tax"] += al.q4(f.output * (Decimal(str(SHARING.default_tax_rate)) if rate is None else rate))
    return out


@settings(max_examples=150, deadline=None)
@given(world())
def test_city_and_province_totals_equal_the_landing_counties_figures(w):
    items, rates, starts, year = w
    rows = _rows(items, rates, starts, year)
    province = al.totals(rows)
    direct = _direct(items, rates, year, set(COUNTIES))
    for k in ("invested", "output", "tax"):
        assert province[k] == direct[k]
    # the shares of every county add up to the landing figures, exactly
    assert province["shared_output"] == province["output"]
    assert province["shared_tax"] == province["tax"]
    assert sum((al.county_report(rows, c)["shared_output"] for c in COUNTIES), Decimal(0)) == province["output"]
    # cities: landing rows of their counties only; together the province
    by_city = {code: al.totals(rows, set(cs)) for code, cs in CITIES.items()}
    for code, cs in CITIES.items():
        d = _direct(items, rates, year, set(cs))
        for k in ("invested", "output", "tax"):
            assert by_city[code][k] == d[k]
    for k in ("invested", "output", "tax", "projects"):
        assert sum(t[k] for t in by_city.values()) == province[k]
    # dual-counted rows change no total
    plain = al.totals([r for r in rows if not r.dual])
    for k in ("invested", "invested_in_year", "output", "tax", "projects"):
        assert plain[k] == province[k]


@settings(max_examples=150, deadline=None)
@given(world())
def test_every_project_lands_once_and_dual_rows_are_marked(w):
    items, rates, starts, year = w
    rows = _rows(items, rates, starts, year)
    by_project: dict[str, list] = {}
    for r in rows:
        by_project.setdefault(r.project_id, []).append(r)
    for pid, rs in by_project.items():
        landing = [r for r in rs if r.role == "landing"]
        dual = [r for r in rs if r.role == "dual"]
        assert len(landing) == 1 and len(dual) <= 1
        assert all(r.dual for r in dual) and not landing[0].dual
        if dual:
            d, lr = dual[0], landing[0]
            assert d.adcode != lr.adcode and d.counterpart == lr.adcode and lr.counterpart == d.adcode
            assert (d.invested, d.output, d.tax) == (lr.invested, lr.output, lr.tax)       # the same figures, twice
            assert d.shared_output + lr.shared_output == lr.output
            assert d.shared_tax + lr.shared_tax == lr.tax
            assert d.share + lr.share == 1
        else:
            assert landing[0].shared_output == landing[0].output and landing[0].share == 1
    # a county's report adds its dual rows, marked; a region of several counties never does
    for c in COUNTIES:
        rep = al.county_report(rows, c)
        assert rep["reported"]["output"] == rep["landing"]["output"] + rep["dual"]["output"]
        assert al.totals(rows, {c})["output"] == rep["landing"]["output"]


@given(money, share)
def test_split_adds_up_exactly(amount, s):
    a, b = al.split(amount, s)
    assert a + b == amount and a == al.q4(amount * s)


# ---- unit tests ------------------------------------------------------------------------------------

EVENTS = [{"stage": "signed", "event_date": D(2021, 3, 1), "invested": Decimal(0), "output": None},
          {"stage": "started", "event_date": D(2021, 9, 1), "invested": Decimal("1000"), "output": None},
          {"stage": "producing", "event_date": D(2022, 6, 1), "invested": Decimal("5000"), "output": Decimal("3000")},
          {"stage": "full_output", "event_date": D(2024, 2, 1), "invested": Decimal("6000"), "output": Decimal("9000")}]


def test_year_figures():
    f = al.year_figures(EVENTS, 2022)
    assert (f.invested, f.invested_in_year, f.output, f.stages) == (Decimal(5000), Decimal(4000), Decimal(3000),
                                                                    ("producing",))
    f = al.year_figures(EVENTS, 2023)
    assert (f.invested, f.invested_in_year, f.output, f.stages) == (Decimal(5000), Decimal(0), Decimal(3000), ())
    f = al.year_figures(EVENTS, 2020)
    assert (f.invested, f.output) == (Decimal(0), Decimal(0))


COOP = {"project_id": "C", "landing_adcode": "331127", "first_contact_adcode": "330110", "is_cooperation": True,
        "signed_on": D(2021, 3, 1)}


def test_the_default_schedule_and_shares():
    sched = al.schedule(COOP, [], SHARING, 2022)
    assert [(r["from_year"], r["to_year"], r["landing_share"], r["source"]) for r in sched] == [
        (2022, 2024, Decimal("0.5"), "default"), (2025, None, Decimal("0.7"), "default")]
    assert al.share_in(COOP, sched, 2021) == al.Share(Decimal(1), "330110", "none")     # before the schedule
    assert al.share_in(COOP, sched, 2024).landing_share == Decimal("0.5")
    assert al.share_in(COOP, sched, 2030).landing_share == Decimal("0.7")
    # not a cooperation project, or first contact = landing: no default schedule, no partner
    assert al.schedule({**COOP, "is_cooperation": False}, [], SHARING, 2022) == []
    assert al.partner_of({**COOP, "first_contact_adcode": "331127"}, []) is None
    # a project's own schedule wins
    own = [{"from_year": 2022, "to_year": None, "landing_share": Decimal("0.8"), "partner_adcode": "330102"}]
    sched = al.schedule(COOP, own, SHARING, 2022)
    assert al.partner_of(COOP, sched) == "330102" and al.share_in(COOP, sched, 2023).source == "project"


def test_ledger_rows_mark_the_partner_dual():
    rows = al.ledger_rows([COOP], {"C": EVENTS}, {}, 2024, SHARING, lambda c, y: Decimal("0.05"), lambda p: 2022)
    landing, dual = rows
    assert (landing.role, landing.adcode, dual.role, dual.adcode, dual.dual) == ("landing", "331127", "dual",
                                                                                 "330110", True)
    assert landing.output == dual.output == Decimal(9000) and landing.tax == Decimal("450.0000")
    assert landing.shared_output == Decimal("4500.0000") and dual.shared_output == Decimal("4500.0000")
    later = al.ledger_rows([COOP], {"C": EVENTS}, {}, 2025, SHARING, lambda c, y: None, lambda p: 2022)
    assert later[0].share == Decimal("0.7") and later[0].tax == al.q4(Decimal(9000) * Decimal("0.035"))
    assert al.ledger_rows([COOP], {"C": EVENTS}, {}, 2020, SHARING, lambda c, y: None, lambda p: 2022) == []


def test_first_contact_credit_and_its_caps():
    moved = {**COOP, "is_cooperation": False}
    transfers = [{"lead_id": "L1", "from_adcode": "330110", "to_adcode": "331127", "transferred_on": D(2022, 5, 1)},
                 {"lead_id": "L2", "from_adcode": "330110", "to_adcode": "331102", "transferred_on": D(2023, 5, 1)}]
    c = al.credit_points([moved], {"C": EVENTS}, transfers, 2022, CREDIT)
    assert set(c) == {"330110"}
    items = {i["kind"]: i for i in c["330110"].items}
    assert items["transferred_lead"]["points"] == CREDIT.transferred_lead
    p = items["project"]
    assert p["stages"] == ["producing"] and p["stage_points"] == CREDIT.stages["producing"]
    assert p["investment_points"] == round(4000 / 10_000 * CREDIT.per_100m, 4)
    assert c["330110"].points == round(CREDIT.transferred_lead + p["points"], 4)
    # the landing county earns nothing as first contact of its own project
    assert al.credit_points([{**moved, "first_contact_adcode": "331127"}], {"C": EVENTS}, [], 2022, CREDIT) == {}
    # caps
    tight = CREDIT.model_copy(update={"caps": CREDIT.caps.model_copy(update={"per_project": 1.0, "per_region": 1.5})})
    c = al.credit_points([moved], {"C": EVENTS}, transfers, 2022, tight)["330110"]
    assert c.points == 1.5 and c.raw == round(CREDIT.transferred_lead + 1.0, 4)
    assert [i["capped"] for i in c.items if i["kind"] == "project"] == [True]
