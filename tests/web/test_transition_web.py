"""``/transition`` and ``/api/v1/transition`` (web.routers.transition): the ledger page for every role,
a county seeding its own register from the per-mu C/D lists, moving an action to done and allocating
freed quota (CSRF, audited, refusals with the reason, viewers refused), the region scope of pages,
API and the audited workbook."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

ROLES = ("admin", "province", "city", "county", "viewer")


@pytest.fixture(scope="module")
def store(app):
    from shanhai.store.connection import Store

    cur = app.state.store.con.cursor()
    yield Store(app.state.db_path, cur, False)
    cur.close()


@pytest.fixture(scope="module")
def seeded(clients, web_db, store):
    """The city seeds its counties' register; the county adds one done action on its own firm."""
    c = clients["city"]
    r = c.post("/transition/seed", data={"run": web_db.province_run, "classes": "C,D", "csrf_token": c.csrf},
               follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    rows = store.con.execute("SELECT action_id, county_adcode, uscc FROM remediation_actions "
                             "WHERE source_run_id = ? ORDER BY action_id", [web_db.province_run]).fetchall()
    k = clients["county"]
    r = k.post("/transition/add", data={"uscc": web_db.firm_in[0], "kind": "close", "planned_on": "2024-06-01",
                                        "csrf_token": k.csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    mine = store.con.execute("SELECT action_id, county_adcode, uscc FROM remediation_actions WHERE uscc = ? "
                             "AND source = 'manual'", [web_db.firm_in[0]]).fetchall()
    return rows, mine


@pytest.mark.parametrize("role", ROLES)
def test_page_renders_for_every_role(clients, role):
    r = clients[role].get("/transition")
    assert r.status_code == 200, r.text[:300]
    assert 'id="transition-balance"' in r.text and 'id="transition-progress"' in r.text
    assert ('id="transition-allocate"' in r.text) == (role != "viewer")
    if role in ("admin", "province"):        # the synthetic ledger has credits: the chart's data is on the page
        m = re.search(r'<script type="application/json" id="transition-data">(.*?)</script>', r.text, re.S)
        assert m and json.loads(m.group(1))["counties"] and 'src="/static/js/transition.js"' in r.text


def test_page_in_english(clients):
    r = clients["province"].get("/transition?lang=en")
    assert r.status_code == 200 and "Cage-swap ledger" in r.text and "Balance per county" in r.text


def test_seeding_and_adding_stay_in_the_region(seeded, web_db, clients):
    city_rows, mine = seeded
    assert city_rows and {county[:4] for _, county, _ in city_rows} == {web_db.city[:4]}
    assert len(mine) == 1 and mine[0][1] == web_db.county
    r = clients["county"].get("/transition?status=planned")
    assert r.status_code == 200 and mine[0][0] in r.text
    assert not any(a for a, county, _ in city_rows if county != web_db.county and a in r.text)
    assert web_db.firm_far[1] not in r.text and web_db.firm_far[0] not in r.text
    assert clients["county"].get(f"/transition?region={web_db.far_county}").status_code == 403
    assert clients["county"].get("/api/v1/transition/actions", params={"region": web_db.far_county}).status_code == 403


def test_a_firm_in_the_register_links_to_a_page_that_exists(seeded, web_db, clients):
    """A seeded action links its firm to the per-mu result that put it on the list; a hand-entered one to
    the firm's service page (there is no /enterprises/ page: the link used to answer 404)."""
    city_rows, mine = seeded
    expected = {a: f"/mujun/runs/{web_db.province_run}/enterprises/{uscc}" for a, _, uscc in city_rows}
    expected[mine[0][0]] = f"/service/firm/{mine[0][2]}"
    for role in ("city", "county"):
        c = clients[role]
        page = c.get("/transition?status=planned").text
        found = {m.group(1): m.group(2) for m in re.finditer(r'<tr data-action="([^"]+)">.*?<a href="([^"]+)"', page, re.S)}
        assert found and mine[0][0] in found and (role == "county" or any(a in found for a, _, _ in city_rows))
        for action_id, href in found.items():
            assert href == expected.get(action_id, href) and not href.startswith("/enterprises/"), (role, action_id, href)
        for href in sorted(set(found.values()))[:5]:
            assert c.get(href).status_code == 200, (role, href)


def test_done_allocate_refuse_and_export(seeded, web_db, clients, store):
    c = clients["county"]
    action_id = seeded[1][0][0]
    before = c.get("/api/v1/transition/balance").json()["total"]["energy"]
    r = c.post("/transition/status", data={"action_id": action_id, "to": "done", "on": f"{web_db.year + 1}-03-01",
                                           "csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    freed = store.con.execute("SELECT freed_energy_tce FROM remediation_actions WHERE action_id = ?", [action_id]).fetchone()[0]
    assert freed is not None and freed >= 0
    bal = c.get("/api/v1/transition/balance").json()
    assert bal["balanced"] and bal["total"]["energy"]["freed"] == pytest.approx(before["freed"] + freed)
    available = bal["total"]["energy"]["available"]
    project = store.con.execute("SELECT project_id FROM projects WHERE landing_adcode = ? AND project_id NOT IN "
                                "(SELECT project_id FROM quota_allocations) ORDER BY project_id LIMIT 1",
                                [web_db.county]).fetchone()
    if project is None:
        store.con.execute("INSERT INTO projects (project_id, name, landing_adcode, stage) VALUES "
                          f"('TLWEB1', '腾笼换鸟测试项目', '{web_db.county}', 'signed')")
        project = ("TLWEB1",)
    # over the threshold: refused with the reason, nothing written
    r = c.post("/transition/allocate", data={"project_id": project[0], "energy_tce": "600", "value_added": "1000",
                                             "on": "2024-05-01", "csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 400 and "0.52" in r.text
    # over the balance
    r = c.post("/transition/allocate", data={"project_id": project[0], "energy_tce": str(available + 1),
                                             "value_added": str((available + 1) * 10), "on": f"{web_db.year + 1}-05-01",
                                             "csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 400 and "balance" in r.text
    assert store.con.execute("SELECT count(*) FROM quota_allocations WHERE project_id = ?", [project[0]]).fetchone()[0] == 0
    assert freed > 0
    amount = round(freed / 2, 2)        # quota is credited by year: the allocation is dated in the action's year
    r = c.post("/transition/allocate", data={"project_id": project[0], "energy_tce": str(amount),
                                             "value_added": str(amount * 4), "on": f"{web_db.year + 1}-05-01",
                                             "csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    got = c.get("/api/v1/transition/allocations").json()["allocations"]
    assert [a["amount"] for a in got if a["project_id"] == project[0]] == [amount]
    assert store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'transition_allocate'").fetchone()[0] >= 1
    # the viewer cannot write; a missing CSRF token is refused
    v = clients["viewer"]
    assert v.post("/transition/allocate", data={"project_id": project[0], "energy_tce": "1", "value_added": "10",
                                                "on": "2024-05-01", "csrf_token": v.csrf}).status_code == 403
    assert c.post("/transition/status", data={"action_id": action_id, "to": "cancelled"}).status_code in (400, 403)
    # another county's action: 403
    far = store.con.execute("SELECT uscc FROM enterprises WHERE county_adcode = ? LIMIT 1", [web_db.far_county]).fetchone()[0]
    from shanhai.jobs import transition as jt
    from shanhai.store.scope import Scope

    other = jt.add_action(store, Scope.province(), far, "remediate", planned_on="2024-01-01")
    r = c.post("/transition/status", data={"action_id": other["action_id"], "to": "done", "csrf_token": c.csrf},
               follow_redirects=False)
    assert r.status_code == 403
    r = c.post("/transition/add", data={"uscc": far, "kind": "close", "csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 403
    # the workbook: the county's own actions only, audited
    before = store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0]
    r = c.get("/transition/export.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    xml = "".join(zipfile.ZipFile(io.BytesIO(r.content)).read(n).decode("utf-8", "replace")
                  for n in zipfile.ZipFile(io.BytesIO(r.content)).namelist() if n.endswith(".xml"))
    assert far not in xml and other["action_id"] not in xml and action_id in xml
    assert store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0] == before + 1
    prov = clients["province"].get("/api/v1/transition/actions", params={"limit": 5000}).json()
    assert other["action_id"] in {a["action_id"] for a in prov["actions"]}
    assert clients["province"].get("/api/v1/transition/progress").json()["targets"]
