"""``/coop/projects``, ``/coop/leads``, ``/coop/ledger`` and ``/api/v1/coop/…``: the pages render for
every role, investors outside the caller's region stay masked on pages, JSON and workbooks, a lead
is transferred only by its finder's side (write roles, CSRF, audited), exports are audited. The
app runs over its own copy of the small province (with one project landing in 景宁 whose investor
is a 杭州 firm, and one 景宁 first-contacted), since these tests write."""

from __future__ import annotations

import datetime as dt
import shutil
from types import SimpleNamespace

import fastexcel
import pytest
from fastapi.testclient import TestClient

from shanhai.store import accounts, open_store
from shanhai.store.connection import Store
from shanhai.web.app import app_routes, create_app
from web_helpers import PASSWORD, csrf_of, make_client, sign_in

ROLES = {"admin": "330000", "province": "330000", "city": "331100", "county": "331127", "viewer": "331127"}
JINGNING = "331127"


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("coop_projects_web") / "coop.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        for role, region in ROLES.items():
            accounts.add_user(store, f"cp-{role}", PASSWORD, role, region, f"项目{role}")
        far_uscc, far_name, far_county = store.con.execute(
            "SELECT uscc, name, county_adcode FROM enterprises WHERE county_adcode LIKE '3301%' "
            "AND (name LIKE '%公司' OR name LIKE '%厂') ORDER BY uscc LIMIT 1").fetchone()
        local = store.con.execute(f"SELECT uscc, name FROM enterprises WHERE county_adcode = '{JINGNING}' "
                                  "ORDER BY uscc LIMIT 1").fetchone()
        store.con.execute(f"""INSERT INTO projects (project_id, name, investor_uscc, investor_name, industry_code,
            first_contact_adcode, landing_adcode, planned_investment, is_cooperation, stage, signed_on,
            expected_full_output) VALUES
            ('PJ-JN-1', '景宁测试精密制造项目', '{far_uscc}', '{far_name}', '3484', '{far_county}', '{JINGNING}',
             20000, true, 'started', DATE '2022-03-01', DATE '2025-06-30'),
            ('PJ-JN-2', '景宁首谈外地落地项目', '{local[0]}', '{local[1]}', '3484', '{JINGNING}', '{far_county}',
             8000, false, 'signed', DATE '2021-01-10', DATE '2024-06-30')""")
        store.con.execute("""INSERT INTO project_events (project_id, stage, event_date, invested, output) VALUES
            ('PJ-JN-1', 'signed', DATE '2022-03-01', 0, NULL), ('PJ-JN-1', 'started', DATE '2022-10-01', 3000, NULL),
            ('PJ-JN-2', 'signed', DATE '2021-01-10', 0, NULL)""")
    app = create_app(path, secret_key="coop-projects-tests")
    with TestClient(app):
        clients = {}
        for i, role in enumerate(ROLES):
            client = make_client(app, f"10.41.0.{i + 1}")
            assert sign_in(client, f"cp-{role}").status_code == 303
            client.csrf = csrf_of(client, "/jobs")
            clients[role] = client
        yield SimpleNamespace(app=app, clients=clients, path=path, far=(far_uscc, far_name, far_county),
                              local=local)


def store_of(world) -> Store:
    return Store(world.path, world.app.state.store.con.cursor(), False)


def xlsx_text(content: bytes) -> str:
    reader = fastexcel.read_excel(content)
    return "\n".join(str(v) for name in reader.sheet_names
                     for col in reader.load_sheet(name, header_row=None, dtypes="string").to_arrow().columns
                     for v in col.to_pylist() if v)


def test_routes_are_registered_with_a_nav_entry(world):
    paths = {r.path for r in app_routes(world.app)}
    assert {"/coop/projects", "/coop/projects/stalled", "/coop/leads", "/coop/leads/{lead_id}",
            "/coop/leads/{lead_id}/transfer", "/coop/ledger", "/api/v1/coop/projects", "/api/v1/coop/ledger",
            "/api/v1/coop/leads/{lead_id}"} <= paths
    assert (41, "/coop/projects", "项目跟踪", "Projects", None) in world.app.state.nav


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_renders_for_every_role(world, role):
    c = world.clients[role]
    for url in ("/coop/projects", "/coop/projects?by=pairing", "/coop/projects?by=city&light=red",
                "/coop/projects/stalled", "/coop/leads", f"/coop/leads/LD{JINGNING}001", "/coop/ledger",
                "/coop/ledger?year=2023", "/coop/projects?lang=en", "/coop/ledger?lang=en"):
        r = c.get(url)
        assert r.status_code == 200, (role, url, r.text[:300])
    assert "项目跟踪" in c.get("/coop/projects?lang=zh").text        # (?lang= is remembered)


def test_a_lead_names_its_chain(world):
    """A lead of a chain shows the chain's name, not its id (modern_textiles), in the list and on its page."""
    import re

    from shanhai.jobs.chains import chain_list

    store = store_of(world)
    names = {ch.chain_id: ch.name for ch in chain_list(store)}
    store.con.close()
    c = world.clients["province"]
    listing = c.get("/coop/leads?lang=zh").text
    chains = re.findall(r'class="sh-note lead-chain">([^<]+)<', listing)
    assert chains and set(chains) <= set(names.values()), chains
    pages = [c.get(f"/coop/leads/{lead}?lang=zh").text for lead in re.findall(
        r'<tr data-lead="(LD\d+)">.{0,400}?lead-chain', listing, re.S)[:5]]
    shown = [m.group(1) for p in pages if (m := re.search(r'id="lead-chain">([^<]+)<', p))]
    assert shown and set(shown) & set(names.values()) and not set(shown) & set(names), shown


def test_the_landing_county_sees_its_project_with_the_investor_masked(world):
    county = world.clients["county"].get("/coop/projects").text
    assert "景宁测试精密制造项目" in county and "景宁首谈外地落地项目" in county
    assert world.far[1] not in county and world.far[0] not in county and "（范围外企业）" in county
    assert world.local[1] in county                     # its own firm, investor of the project it found
    province = world.clients["province"].get("/coop/projects").text
    assert world.far[1] in province
    api = world.clients["county"].get("/api/v1/coop/projects").json()
    row = next(p for p in api["projects"] if p["project_id"] == "PJ-JN-1")
    assert row["investor_masked"] and row["investor_uscc"] is None and row["roles"] == ["landing"]
    found = next(p for p in api["projects"] if p["project_id"] == "PJ-JN-2")
    assert found["roles"] == ["first_contact"] and found["investor_name"] == world.local[1]
    assert api["kpis"]["projects"] == 1                   # KPIs count projects where they land


def test_a_region_outside_the_scope_is_refused(world):
    c = world.clients["county"]
    assert c.get("/coop/projects?region=330100").status_code == 403
    assert c.get("/api/v1/coop/ledger?region=330109").status_code == 403
    assert c.get("/coop/leads?region=339999").status_code == 404
    assert c.get("/coop/leads/LD330109001").status_code == 403
    assert c.get("/api/v1/coop/leads/LD000000999").status_code == 404


def test_the_export_keeps_the_investor_masked_and_is_audited(world):
    r = world.clients["county"].get("/coop/projects/export.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    text = xlsx_text(r.content)
    assert "景宁测试精密制造项目" in text and world.far[1] not in text and "（范围外企业）" in text
    store = store_of(world)
    try:
        row = store.con.execute("SELECT username, target FROM audit_log WHERE action = 'export' "
                                "AND target LIKE 'coop:projects:%' ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        store.con.close()
    assert row == ("cp-county", f"coop:projects:{JINGNING}")
    for url in (f"/coop/leads/LD{JINGNING}001/rank.xlsx", "/coop/ledger/export.xlsx"):
        r = world.clients["county"].get(url)
        assert r.status_code == 200 and r.content[:2] == b"PK", url


def test_a_lead_is_transferred_by_its_finder_with_csrf_and_audited(world):
    lead = f"LD{JINGNING}001"
    viewer = world.clients["viewer"]
    assert viewer.post(f"/coop/leads/{lead}/transfer", data={"to_adcode": "330110", "csrf_token": viewer.csrf},
                       follow_redirects=False).status_code == 403
    county = world.clients["county"]
    page = county.get(f"/coop/leads/{lead}").text
    assert 'id="transfer-form"' in page and 'id="rank-table"' in page
    assert county.post(f"/coop/leads/{lead}/transfer", data={"to_adcode": "330110"},
                       follow_redirects=False).status_code == 403          # no CSRF token
    r = county.post(f"/coop/leads/{lead}/transfer",
                    data={"to_adcode": "330110", "transferred_on": "2024-06-30", "note": "测试流转",
                          "csrf_token": county.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/coop/leads/{lead}?done=330110")
    again = county.post(f"/coop/leads/{lead}/transfer", data={"to_adcode": "330110", "csrf_token": county.csrf},
                        follow_redirects=False)
    assert again.status_code == 400                                      # twice to the same county
    store = store_of(world)
    try:
        assert store.con.execute(f"SELECT from_adcode, to_adcode, transferred_on, created_by FROM lead_transfers "
                                 f"WHERE lead_id = '{lead}'").fetchall() == \
            [(JINGNING, "330110", dt.date(2024, 6, 30), "cp-county")]
        assert store.con.execute(f"SELECT status FROM leads WHERE lead_id = '{lead}'").fetchone() == ("transferred",)
        audit = store.con.execute("SELECT username, target FROM audit_log WHERE action = 'coop.lead.transfer'"
                                  ).fetchall()
    finally:
        store.con.close()
    assert audit == [("cp-county", lead)]
    # the receiving side sees the lead but may not pass it on
    city = world.clients["city"]
    assert city.get(f"/coop/leads/{lead}").status_code == 200
    province = world.clients["province"]
    api = province.post(f"/api/v1/coop/leads/{lead}/transfer", json={"to_adcode": "330109"},
                        headers={"X-CSRF-Token": province.csrf})
    assert api.status_code == 200 and api.json()["from_adcode"] == JINGNING
    # the first contact is credited in the ledger of the transfer's year
    ledger = world.clients["county"].get("/api/v1/coop/ledger?year=2024").json()
    items = [i for c in ledger["credit"] for i in c["items"] if i.get("lead_id") == lead]
    assert items and items[0]["kind"] == "transferred_lead"


def test_another_countys_lead_cannot_be_transferred(world):
    county = world.clients["county"]
    r = county.post("/coop/leads/LD330109001/transfer", data={"to_adcode": "330110", "csrf_token": county.csrf},
                    follow_redirects=False)
    assert r.status_code == 403
    r = county.post("/coop/leads/LD000000999/transfer", data={"to_adcode": "330110", "csrf_token": county.csrf},
                    follow_redirects=False)
    assert r.status_code == 404


def test_the_ledger_marks_dual_counting_and_adds_landing_rows_only(world):
    doc = world.clients["province"].get("/api/v1/coop/ledger?year=2024").json()
    assert doc["check"]["equal"] is True
    landing = [r for r in doc["rows"] if r["role"] == "landing"]
    assert abs(sum(r["output"] for r in landing) - doc["totals"]["output"]) < 1e-6
    assert any(r["dual"] for r in doc["rows"])
    page = world.clients["province"].get("/coop/ledger?year=2024").text
    assert 'id="province-check"' in page and "双向计入" in page
    county = world.clients["county"].get("/api/v1/coop/ledger?year=2024").json()
    assert county["region"]["adcode"] == JINGNING and "report" in county
    assert {r["project_id"] for r in county["rows"]} <= {"PJ-JN-1"}
