"""``/alerts`` and ``/api/v1/alerts/…``: the pages render for every role with the sparklines and
the chart's data, a county sees only its own firms' alerts and tasks (pages, JSON, workbook) and
gets 403 for another county's, a task moves open → pushed → visited → closed through the forms
(write roles, CSRF, audited) and a viewer cannot move it, the export is audited. The app runs over
its own scanned copy of the small province (these tests write); the county user is the county
with the most visit tasks."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import fastexcel
import pytest
from fastapi.testclient import TestClient

from shanhai.jobs import alerts as ja
from shanhai.store import accounts, open_store
from shanhai.web.app import app_routes, create_app
from web_helpers import PASSWORD, csrf_of, make_client, sign_in


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("alerts_web") / "alerts.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        ja.scan(store, user="tests")
        county, city = store.con.execute("""SELECT v.county_adcode, r.city_adcode FROM visit_tasks v
            JOIN regions r ON r.adcode = v.county_adcode GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1""").fetchone()
        roles = {"admin": "330000", "province": "330000", "city": city, "county": county, "viewer": county}
        for role, region in roles.items():
            accounts.add_user(store, f"al-{role}", PASSWORD, role, region, f"预警{role}")
        mine = store.con.execute(f"SELECT alert_id, task_id, uscc FROM visit_tasks WHERE county_adcode = '{county}' "
                                 "ORDER BY priority DESC LIMIT 1").fetchone()
        other = store.con.execute(f"SELECT v.alert_id, v.task_id, v.uscc, e.name FROM visit_tasks v JOIN enterprises e "
                                  f"USING (uscc) WHERE substr(v.county_adcode, 1, 4) <> '{county[:4]}' "
                                  "ORDER BY v.priority DESC LIMIT 1").fetchone()
    app = create_app(path, secret_key="alerts-web-tests")
    with TestClient(app):
        clients = {}
        for i, role in enumerate(roles):
            client = make_client(app, f"10.46.0.{i + 1}")
            assert sign_in(client, f"al-{role}").status_code == 303
            client.csrf = csrf_of(client, "/jobs")
            clients[role] = client
        yield SimpleNamespace(app=app, clients=clients, path=path, county=county, city=city, mine=mine, other=other)


def test_routes_and_nav(world):
    paths = {r.path for r in app_routes(world.app)}
    assert {"/alerts", "/alerts/tasks", "/alerts/{alert_id}", "/alerts/export.xlsx", "/alerts/tasks/{task_id}/push",
            "/alerts/tasks/{task_id}/visit", "/alerts/tasks/{task_id}/close", "/api/v1/alerts",
            "/api/v1/alerts/{alert_id}", "/api/v1/alerts/tasks", "/api/v1/alerts/tasks/{task_id}"} <= paths
    assert (44, "/alerts", "用电预警", "Early warning", None) in world.app.state.nav


@pytest.mark.parametrize("role", ["admin", "province", "city", "county", "viewer"])
def test_pages_render_for_every_role(world, role):
    c = world.clients[role]
    for url in ("/alerts", "/alerts?status=all", "/alerts?kind=collapse", "/alerts/tasks", "/alerts/tasks?state=open",
                f"/alerts/{world.mine[0]}", "/alerts?lang=en"):
        r = c.get(url)
        assert r.status_code == 200, (role, url, r.text[:300])
    page = c.get("/alerts?lang=zh").text
    assert "<polyline" in page and "企业用电预警" in page
    detail = c.get(f"/alerts/{world.mine[0]}").text
    assert 'id="alert-data"' in detail and "/static/js/alerts.js" in detail


def test_a_county_sees_its_own_firms_only(world):
    c = world.clients["county"]
    page = c.get("/alerts?status=all").text
    assert world.mine[2] in page and world.other[2] not in page and world.other[3] not in page
    api = c.get("/api/v1/alerts?status=all&limit=5000").json()
    assert api["total"] > 0 and {a["county_adcode"] for a in api["alerts"]} == {world.county}
    assert all(t["county_adcode"] == world.county for t in c.get("/api/v1/alerts/tasks").json()["tasks"])
    assert c.get(f"/alerts/{world.other[0]}").status_code == 403
    assert c.get(f"/api/v1/alerts/{world.other[0]}").status_code == 403
    assert c.get(f"/api/v1/alerts/tasks/{world.other[1]}").status_code == 403
    assert c.get("/alerts/no-such-alert").status_code == 404
    assert c.get("/alerts?region=330102").status_code in (403, 404) or world.county == "330102"
    r = c.post(f"/alerts/tasks/{world.other[1]}/push", data={"csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 403
    data = c.get("/alerts/export.xlsx?status=all").content
    reader = fastexcel.read_excel(data)
    text = "\n".join(str(v) for name in reader.sheet_names
                     for col in reader.load_sheet(name, header_row=None, dtypes="string").to_arrow().columns
                     for v in col.to_pylist() if v)
    assert world.mine[2] in text and world.other[2] not in text
    province = world.clients["province"].get("/alerts?status=all&limit=5000").text
    assert "<polyline" in province


def test_a_task_moves_through_the_forms_and_is_audited(world):
    c, viewer = world.clients["county"], world.clients["viewer"]
    alert_id, task_id, _ = world.mine
    r = viewer.post(f"/alerts/tasks/{task_id}/push", data={"csrf_token": viewer.csrf}, follow_redirects=False)
    assert r.status_code == 403
    r = c.post(f"/alerts/tasks/{task_id}/push", data={"note": "x"}, follow_redirects=False)   # no CSRF token
    assert r.status_code == 403
    page = c.get(f"/alerts/{alert_id}").text
    assert 'id="task-push"' in page and 'id="task-visit"' in page
    r = c.post(f"/alerts/tasks/{task_id}/push", data={"csrf_token": c.csrf, "note": "线上核查"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/alerts/{alert_id}?done=push"
    r = c.post(f"/alerts/tasks/{task_id}/visit", data={"csrf_token": c.csrf, "result": ""}, follow_redirects=False)
    assert r.status_code == 400
    r = c.post(f"/alerts/tasks/{task_id}/visit", data={"csrf_token": c.csrf, "result": "stopped", "note": "已停产"},
               follow_redirects=False)
    assert r.status_code == 303
    r = c.post(f"/alerts/tasks/{task_id}/close", data={"csrf_token": c.csrf, "result": ""}, follow_redirects=False)
    assert r.status_code == 303
    t = c.get(f"/api/v1/alerts/tasks/{task_id}").json()
    assert t["state"] == "closed" and t["result"] == "stopped" and t["updated_by"] == "al-county"
    assert [e["to_state"] for e in t["events"]] == ["open", "pushed", "visited", "closed"]
    page = c.get(f"/alerts/{alert_id}").text
    assert 'id="task-push"' not in page and "确认停产" in page
    with _cursor(world) as con:
        actions = [a for (a,) in con.execute(f"SELECT action FROM audit_log WHERE target = '{task_id}' ORDER BY seq"
                                             ).fetchall()]
    assert actions == ["alerts.task.push", "alerts.task.visit", "alerts.task.close"]
    assert c.get("/api/v1/alerts/tasks").json()["precision"]["labelled"] >= 1
    assert "100.0%" in c.get("/alerts/tasks").text          # the one labelled task confirmed the warning
    r = c.post(f"/api/v1/alerts/tasks/{task_id}", json={"action": "push"}, headers={"X-CSRF-Token": c.csrf})
    assert r.status_code == 400


class _cursor:
    def __init__(self, world):
        self.cur = world.app.state.store.con.cursor()

    def __enter__(self):
        return self.cur

    def __exit__(self, *exc):
        self.cur.close()


def test_export_is_audited(world):
    c = world.clients["province"]
    r = c.get("/alerts/export.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    with _cursor(world) as con:
        assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'export' AND target = 'alerts:330000'"
                           ).fetchone()[0] >= 1


def test_province_scans_from_the_screen_and_others_cannot(world):
    """The scan button (province and admin: a scan scores every firm and issues tasks to every
    town) runs in the background and stores a new run; city, county and viewer get 403."""
    assert 'id="alerts-scan"' in world.clients["province"].get("/alerts").text
    for role in ("city", "county", "viewer"):
        assert 'id="alerts-scan"' not in world.clients[role].get("/alerts").text
        client = world.clients[role]
        res = client.post("/alerts/scan", data={"month": "", "csrf_token": client.csrf}, follow_redirects=False)
        assert res.status_code == 403, role
    con = world.app.state.store.con.cursor()
    before = con.execute("SELECT count(*) FROM runs WHERE kind = 'alerts'").fetchone()[0]
    client = world.clients["province"]
    res = client.post("/alerts/scan", data={"month": "1999-01", "csrf_token": client.csrf}, follow_redirects=False)
    assert res.status_code == 400
    month = con.execute("SELECT max(month) - INTERVAL 1 MONTH FROM electricity_monthly").fetchone()[0]
    res = client.post("/alerts/scan", data={"month": f"{month:%Y-%m}", "csrf_token": client.csrf},
                      follow_redirects=False)
    assert res.status_code == 303, res.text
    world.app.state.jobs.wait(res.headers["location"].rsplit("/", 1)[1])
    rows = con.execute("SELECT json_extract_string(params, '$.month'), created_by FROM runs WHERE kind = 'alerts' "
                       "ORDER BY created_at").fetchall()
    assert len(rows) == before + 1 and rows[-1][0].startswith(f"{month:%Y-%m}") and rows[-1][1] == "al-province"
