"""山海协作 projects against a small synthetic province (jobs.projects, jobs.leads, jobs.ledger): the
tracker and KPIs agree with SQL, regions see only the projects they are involved in with investors
outside masked, the ranking's points add up and the energy limit excludes, a transfer is written
once with its audit entry and credits the first contact, and the ledger's totals add landing rows
only. Also the synthetic tables behind them."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import leads as jle
from shanhai.jobs import ledger as jld
from shanhai.jobs import projects as jp
from shanhai.jobs.chains import MASKED_NAME
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope

JINGNING, LISHUI = "331127", "331100"
PROVINCE = Scope.province()


@pytest.fixture(scope="module")
def world(small_evaluated):
    return small_evaluated


@pytest.fixture
def store(world):
    with open_store(world[0], read_only=True) as s:
        yield s


@pytest.fixture
def writable(world, tmp_path):
    path = tmp_path / "coop.duckdb"
    shutil.copy(world[0], path)
    with open_store(path) as s:
        yield s


def outside_firms(store, scope: Scope) -> tuple[set[str], set[str]]:
    rows = store.con.execute("SELECT uscc, name, county_adcode FROM enterprises").fetchall()
    inside = {n for u, n, c in rows if scope.covers(c)}
    return ({u for u, n, c in rows if not scope.covers(c)},
            {n for u, n, c in rows if not scope.covers(c) and n not in inside})


# ---- the synthetic tables -------------------------------------------------------------------------

def test_synth_builds_leads_transfers_plans_and_shares(store):
    con = store.con
    counties = [r[0] for r in con.execute("SELECT adcode FROM regions WHERE level = 'county'").fetchall()]
    have = {r[0] for r in con.execute("SELECT lead_id FROM leads").fetchall()}
    assert {f"LD{c}001" for c in counties} <= have
    assert con.execute("SELECT count(*) FROM leads WHERE energy_per_va > 0.52").fetchone()[0] > 0
    # every project first contacted elsewhere (not cooperation) came from a transferred lead
    assert con.execute("""SELECT count(*) FROM projects p WHERE NOT is_cooperation
        AND first_contact_adcode <> landing_adcode AND project_id NOT IN
        (SELECT project_id FROM lead_transfers WHERE project_id IS NOT NULL)""").fetchone()[0] == 0
    assert con.execute("""SELECT count(*) FROM lead_transfers t JOIN leads l USING (lead_id)
        WHERE t.from_adcode <> l.found_by_adcode OR t.from_adcode = t.to_adcode""").fetchone()[0] == 0
    # a plan row per project and stage; planned full output is the expected date
    n = con.execute("SELECT count(*) FROM projects").fetchone()[0]
    assert con.execute("SELECT count(*) FROM project_plans").fetchone()[0] == 7 * n
    assert con.execute("""SELECT count(*) FROM project_plans pl JOIN projects p USING (project_id)
        WHERE pl.stage = 'full_output' AND pl.planned_date <> p.expected_full_output""").fetchone()[0] == 0
    # land supplied lies between signing and the start
    assert con.execute("""SELECT count(*) FROM project_events l JOIN project_events s USING (project_id)
        WHERE l.stage = 'land_supplied' AND s.stage IN ('signed', 'started')
        AND ((s.stage = 'signed' AND l.event_date < s.event_date)
          OR (s.stage = 'started' AND l.event_date > s.event_date))""").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM project_events WHERE stage = 'land_supplied'").fetchone()[0] > 0
    # shares: cooperation projects only, partner the first contact, the two shares add up to 1
    assert con.execute("""SELECT count(*) FROM project_shares s JOIN projects p USING (project_id)
        WHERE NOT p.is_cooperation OR s.partner_adcode <> p.first_contact_adcode
        OR s.landing_share + s.partner_share <> 1""").fetchone()[0] == 0
    assert con.execute("SELECT count(DISTINCT project_id) FROM project_shares").fetchone()[0] > 5


# ---- the tracker ---------------------------------------------------------------------------------

def test_tracker_of_the_province_agrees_with_sql(store):
    doc = jp.tracker(store, PROVINCE)
    n = store.con.execute("SELECT count(*) FROM projects").fetchone()[0]
    assert doc["total"] == n == doc["kpis"]["projects"] == sum(doc["lights"].values())
    as_of = dt.date.fromisoformat(doc["basis"]["as_of"])
    assert as_of == store.con.execute("SELECT max(event_date) FROM project_events").fetchone()[0]
    started = store.con.execute("""SELECT count(*) FROM projects p WHERE stage <> 'signed' OR EXISTS (
        SELECT 1 FROM project_events e WHERE e.project_id = p.project_id
        AND e.stage NOT IN ('signed', 'land_supplied'))""").fetchone()[0]
    assert doc["kpis"]["started"] == started
    planned, invested = store.con.execute("""SELECT sum(planned_investment)::DOUBLE, sum(inv)::DOUBLE FROM projects p
        LEFT JOIN (SELECT project_id, arg_max(invested, event_date) AS inv FROM project_events
                   WHERE invested IS NOT NULL GROUP BY 1) e USING (project_id)""").fetchone()
    assert abs(doc["kpis"]["planned_investment"] - planned) < 1e-6
    assert abs(doc["kpis"]["invested"] - invested) < 1e-3
    assert {p["light"] for p in doc["projects"]} <= {"green", "amber", "red"}
    red = [p for p in doc["projects"] if p["light"] == "red"]
    assert red and all(p["reasons"] for p in red)
    assert [p["project_id"] for p in doc["stalled"]] and all(p["stalled"] for p in doc["stalled"])
    lights = [p["light"] for p in doc["projects"]]
    assert lights == sorted(lights, key=["red", "amber", "green"].index)


def test_a_region_sees_the_projects_it_is_involved_in_with_investors_masked(store):
    city = Scope.of(store, LISHUI)
    doc = jp.tracker(store, city)
    assert doc["projects"]
    usccs, names = outside_firms(store, city)
    for p in doc["projects"]:
        assert p["roles"]
        assert (city.covers(p["landing_adcode"]) or city.covers(p["first_contact_adcode"]))
        assert p["investor_uscc"] not in usccs and p["investor_name"] not in names
    masked = [p for p in doc["projects"] if p["investor_masked"]]
    assert masked and all(p["investor_name"] == MASKED_NAME[0] for p in masked)
    text = json.dumps(doc, ensure_ascii=False, default=str)
    assert not any(u in text for u in usccs)
    # the province names them
    prov = {p["project_id"]: p for p in jp.tracker(store, PROVINCE)["projects"]}
    assert all(not prov[p["project_id"]]["investor_masked"] for p in masked)
    # KPIs count the projects landing in the region only
    landing = store.con.execute(f"SELECT count(*) FROM projects WHERE {city.sql('landing_adcode')}").fetchone()[0]
    assert doc["kpis"]["projects"] == landing


def test_regions_outside_the_scope_and_bad_filters_are_refused(store):
    county = Scope.of(store, JINGNING)
    with pytest.raises(OutOfScopeError):
        jp.tracker(store, county, "330100")
    with pytest.raises(OutOfScopeError):
        jld.ledger(store, county, LISHUI)
    with pytest.raises(ShanhaiError, match="light"):
        jp.tracker(store, PROVINCE, light="blue")
    with pytest.raises(ShanhaiError, match="as-of"):
        jp.tracker(store, PROVINCE, as_of="yesterday")
    with pytest.raises(NotFoundError):
        jp.project(store, PROVINCE, "PJ-nope")


def test_the_stalled_list_and_kpis_by_city_and_pairing(store):
    st = jp.stalled(store, PROVINCE)
    assert st["projects"] and all(p["stalled"] or p["light"] == "red" for p in st["projects"])
    assert all(p["why"] for p in st["projects"])
    by_city = jp.kpis(store, PROVINCE, by="city")
    assert sum(r["projects"] for r in by_city["rows"]) == by_city["total"]["projects"]
    by_county = jp.kpis(store, Scope.of(store, LISHUI), by="county")
    assert sum(r["projects"] for r in by_county["rows"]) == by_county["total"]["projects"]
    pair = jp.kpis(store, PROVINCE, by="pairing")
    assert pair["rows"] and any(r["projects"] for r in pair["rows"])
    for r in pair["rows"]:
        got = store.con.execute(f"""SELECT count(DISTINCT p.project_id) FROM projects p
            LEFT JOIN project_shares s USING (project_id) WHERE p.landing_adcode = '{r['mountain_adcode']}'
            AND (p.first_contact_adcode = '{r['developed_adcode']}' OR s.partner_adcode = '{r['developed_adcode']}')
            """).fetchone()[0]
        assert r["projects"] == got, r["name"]
    with pytest.raises(ShanhaiError):
        jp.kpis(store, PROVINCE, by="street")


# ---- leads --------------------------------------------------------------------------------------

def test_leads_of_a_county_and_the_lead_scope(store):
    county = Scope.of(store, JINGNING)
    doc = jle.leads(store, county)
    assert f"LD{JINGNING}001" in {x["lead_id"] for x in doc["leads"]}
    for x in doc["leads"]:
        assert x["found_by_adcode"] == JINGNING or any(t["to_adcode"] == JINGNING for t in x["transfers"])
    assert sum(doc["status_counts"].values()) == doc["total"]
    other = store.con.execute(f"""SELECT lead_id FROM leads WHERE found_by_adcode <> '{JINGNING}' AND lead_id NOT IN
        (SELECT lead_id FROM lead_transfers WHERE to_adcode = '{JINGNING}') ORDER BY lead_id LIMIT 1""").fetchone()[0]
    with pytest.raises(OutOfScopeError):
        jle.lead(store, county, other)
    with pytest.raises(NotFoundError):
        jle.lead(store, county, "LD-none")


def test_ranking_points_add_up_and_the_energy_limit_excludes(store):
    lead_id = store.con.execute("""SELECT lead_id FROM leads WHERE chain_id IS NOT NULL AND energy_per_va <= 0.5
        ORDER BY lead_id LIMIT 1""").fetchone()[0]
    doc = jle.rank(store, PROVINCE, lead_id)
    finder = doc["lead"]["found_by_adcode"]
    counties = store.con.execute("SELECT count(*) FROM regions WHERE level = 'county'").fetchone()[0]
    assert doc["candidates"] + len(doc["excluded"]) == counties - 1
    assert finder not in {r["adcode"] for r in doc["ranked"] + doc["excluded"]}
    assert doc["segments"]
    scores = [r["score"] for r in doc["ranked"]]
    assert scores == sorted(scores, reverse=True) and [r["rank"] for r in doc["ranked"]] == list(
        range(1, len(scores) + 1))
    for r in doc["ranked"]:
        assert abs(sum(r["points"].values()) - r["score"]) < 1e-9 and 0 <= r["score"] <= 100
        for k, v in r["values"].items():
            assert 0 <= v <= 1 and abs(r["points"][k] - round(100 * doc["weights"][k] * v, 2)) < 1e-9
    # free land as the SQL sees it
    top = doc["ranked"][0]
    free = store.con.execute(f"""SELECT coalesce(sum(area_mu), 0)::DOUBLE FROM land_parcels WHERE county_adcode =
        '{top['adcode']}' AND land_use_status IN ('approved_not_supplied', 'supplied_not_used',
        'built_not_operating')""").fetchone()[0]
    assert abs(top["free_land_mu"] - free) < 1e-6
    # a lead above the provincial 0.52 limit is excluded everywhere, with the reason
    high = store.con.execute("SELECT lead_id FROM leads WHERE energy_per_va > 0.52 ORDER BY lead_id LIMIT 1"
                             ).fetchone()[0]
    doc = jle.rank(store, PROVINCE, high)
    assert doc["ranked"] == [] and len(doc["excluded"]) == counties - 1
    assert all("0.52" in r["reason"] for r in doc["excluded"])


def test_transfer_is_written_once_audited_and_credits_the_first_contact(writable):
    store = writable
    county = Scope.of(store, JINGNING)
    lead = f"LD{JINGNING}001"
    with pytest.raises(OutOfScopeError):                # only the finder's side
        jle.transfer_lead(store, Scope.of(store, "330100"), lead, "330110", user="x")
    with pytest.raises(ShanhaiError, match="finder"):
        jle.transfer_lead(store, county, lead, JINGNING, user="x")
    with pytest.raises(NotFoundError):
        jle.transfer_lead(store, county, lead, "331100", user="x")          # a city, not a county
    before = store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    row = jle.transfer_lead(store, county, lead, "330110", user="tester", transferred_on="2024-05-20", note="测试")
    assert row["from_adcode"] == JINGNING and row["status"] in ("transferred", "landed")
    assert store.con.execute(f"SELECT from_adcode, to_adcode, transferred_on, note, created_by FROM lead_transfers "
                             f"WHERE lead_id = '{lead}'").fetchall() == [
        (JINGNING, "330110", dt.date(2024, 5, 20), "测试", "tester")]
    entry = store.con.execute("SELECT username, action, target, detail FROM audit_log ORDER BY seq DESC LIMIT 1"
                              ).fetchone()
    assert entry[:3] == ("tester", "coop.lead.transfer", lead) and json.loads(entry[3])["to"] == "330110"
    assert store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == before + 1
    with pytest.raises(ShanhaiError, match="already"):
        jle.transfer_lead(store, county, lead, "330110", user="tester")
    # the receiver now sees the lead; the first contact is credited in 2024
    assert lead in {x["lead_id"] for x in jle.leads(store, Scope.of(store, "330110"))["leads"]}
    ledger = jld.ledger(store, county, year=2024)
    items = [i for c in ledger["credit"] for i in c["items"] if i.get("lead_id") == lead]
    assert items and items[0]["points"] > 0 and items[0]["to_adcode"] == "330110"


# ---- the ledger ----------------------------------------------------------------------------------

def test_ledger_totals_add_landing_rows_only(store):
    year = jld.default_year(store)
    prov = jld.ledger(store, PROVINCE, year=year)
    assert prov["check"]["equal"]
    rows = prov["rows"]
    assert any(r["dual"] for r in rows)
    landing = [r for r in rows if r["role"] == "landing"]
    assert len({r["project_id"] for r in landing}) == len(landing) == prov["totals"]["projects"]
    assert abs(sum(r["output"] for r in landing) - prov["totals"]["output"]) < 1e-6
    # the province = Σ cities = Σ counties' landing figures
    cities = [r[0] for r in store.con.execute("SELECT adcode FROM regions WHERE level = 'city'").fetchall()]
    city_docs = [jld.ledger(store, PROVINCE, c, year=year) for c in cities]
    assert abs(sum(d["totals"]["output"] for d in city_docs) - prov["totals"]["output"]) < 1e-4
    assert sum(d["totals"]["projects"] for d in city_docs) == prov["totals"]["projects"]
    assert abs(sum(c["landing"]["output"] for c in prov["counties"]) - prov["totals"]["output"]) < 1e-4
    # a dual-counted county: its report adds the marked rows, its own total does not
    dual = next(r for r in rows if r["dual"])
    doc = jld.ledger(store, PROVINCE, dual["adcode"], year=year)
    rep = doc["report"]
    assert rep["dual"]["projects"] >= 1
    assert abs(rep["reported"]["output"] - rep["landing"]["output"] - rep["dual"]["output"]) < 1e-6
    assert abs(doc["totals"]["output"] - rep["landing"]["output"]) < 1e-6
    # a schedule per shared project the region is in
    sched = jld.schedules(store, PROVINCE, LISHUI)
    assert sched and all(s["periods"] and s["partner_adcode"] for s in sched)


def test_a_countys_ledger_masks_investors_outside(store):
    county_code = store.con.execute("""SELECT landing_adcode FROM projects WHERE is_cooperation
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""").fetchone()[0]
    scope = Scope.of(store, county_code)
    doc = jld.ledger(store, scope)
    usccs, names = outside_firms(store, scope)
    text = json.dumps(doc, ensure_ascii=False, default=str)
    assert not any(u in text for u in usccs)
    assert not any(r["investor_name"] in names for r in doc["rows"] if r["investor_name"])
    assert {r["adcode"] for r in doc["rows"]} == {county_code}
