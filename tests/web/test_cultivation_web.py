"""``/cultivation`` and ``/api/v1/cultivation/…``: the pages render for every role (with a stored run
and live), a county user sees only its own firms on pages, JSON and the workbook, regions and firms
outside the scope are refused, exports are audited. The app runs over its own copy of the small
province (a screening run is stored first)."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import fastexcel
import pytest
from fastapi.testclient import TestClient

from shanhai.jobs import cultivation as jc
from shanhai.store import accounts, open_store
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web.app import app_routes, create_app
from web_helpers import PASSWORD, csrf_of, make_client, sign_in

ROLES = {"admin": "330000", "province": "330000", "city": "331100", "county": "331127", "viewer": "331127"}
JINGNING = "331127"


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("cultivation_web") / "c.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        for role, region in ROLES.items():
            accounts.add_user(store, f"cu-{role}", PASSWORD, role, region, f"培育{role}")
        year = jc.latest_year(store)
        run = jc.run(store, Scope.province(), year=year, user="tests")["run_id"]
        far = store.con.execute(f"""SELECT r.uscc, e.name FROM cultivation_results r JOIN enterprises e USING (uscc)
            WHERE r.run_id = '{run}' AND r.rule_set = 'innovative-2022' AND r.outcome = 'eligible'
              AND NOT r.holds_title AND r.county_adcode LIKE '3301%' ORDER BY r.uscc LIMIT 1""").fetchone()
        mine = store.con.execute(f"""SELECT r.uscc, e.name FROM cultivation_results r JOIN enterprises e USING (uscc)
            WHERE r.run_id = '{run}' AND r.county_adcode = '{JINGNING}' ORDER BY r.uscc LIMIT 1""").fetchone()
    app = create_app(path, secret_key="cultivation-tests")
    with TestClient(app):
        clients = {}
        for i, role in enumerate(ROLES):
            client = make_client(app, f"10.46.0.{i + 1}")
            assert sign_in(client, f"cu-{role}").status_code == 303
            client.csrf = csrf_of(client, "/jobs")
            clients[role] = client
        yield SimpleNamespace(app=app, clients=clients, path=path, year=year, run=run, far=far, mine=mine)


def xlsx_text(content: bytes) -> str:
    reader = fastexcel.read_excel(content)
    return "\n".join(str(v) for name in reader.sheet_names
                     for col in reader.load_sheet(name, header_row=None, dtypes="string").to_arrow().columns
                     for v in col.to_pylist() if v)


def test_routes_are_registered_with_a_nav_entry(world):
    paths = {r.path for r in app_routes(world.app)}
    assert {"/cultivation", "/cultivation/candidates", "/cultivation/firms/{uscc}", "/cultivation/rules",
            "/cultivation/export.xlsx", "/api/v1/cultivation/pools", "/api/v1/cultivation/candidates",
            "/api/v1/cultivation/firms/{uscc}", "/api/v1/cultivation/rules", "/api/v1/cultivation/runs"} <= paths
    assert (47, "/cultivation", "梯度培育", "Cultivation", None) in world.app.state.nav


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_renders_for_every_role(world, role):
    c = world.clients[role]
    for url in ("/cultivation", "/cultivation?lang=en", f"/cultivation?year={world.year - 1}",
                "/cultivation/candidates?rule_set=innovative-2022", "/cultivation/candidates?rule_set=scale-up-2011&outcome=near",
                f"/cultivation/firms/{world.mine[0]}", "/cultivation/rules", "/api/v1/cultivation/pools",
                "/api/v1/cultivation/rules", "/api/v1/cultivation/runs"):
        r = c.get(url)
        assert r.status_code == 200, (role, url, r.text[:300])
    c.get("/cultivation?lang=zh")


def test_pages_show_pools_and_whats_missing(world):
    page = world.clients["province"].get("/cultivation").text
    assert "梯度培育库" in page and world.run in page and "小升规培育对象" in page
    cand = world.clients["province"].get("/cultivation/candidates?rule_set=scale-up-2011&outcome=near").text
    assert "差" in cand
    firm = world.clients["county"].get(f"/cultivation/firms/{world.mine[0]}").text
    assert world.mine[1] in firm and "上年度主营业务收入" in firm
    assert f'href="/service/firm/{world.mine[0]}"' in firm       # the firm's service file, a page that exists
    assert world.clients["county"].get(f"/service/firm/{world.mine[0]}").status_code == 200
    live = world.clients["province"].get(f"/cultivation?year={world.year - 1}").text
    assert "即时评估" in live


def test_a_county_user_sees_only_its_own_firms(world):
    c = world.clients["county"]
    far_uscc, far_name = world.far
    assert far_name in world.clients["province"].get("/cultivation/candidates?rule_set=innovative-2022").text
    for url in ("/cultivation", "/cultivation/candidates?rule_set=innovative-2022",
                "/api/v1/cultivation/candidates?rule_set=innovative-2022", "/api/v1/cultivation/pools",
                "/cultivation/candidates?rule_set=innovative-2022&outcome=not_eligible"):
        text = c.get(url).text
        assert far_uscc not in text and far_name not in text, url
    doc = c.get("/api/v1/cultivation/candidates?rule_set=innovative-2022&outcome=not_eligible").json()
    assert doc["firms"] and {f["county_adcode"] for f in doc["firms"]} == {JINGNING}
    pools = c.get("/api/v1/cultivation/pools").json()
    assert [x["adcode"] for x in pools["counties"]] == [JINGNING]
    r = c.get("/cultivation/export.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    text = xlsx_text(r.content)
    assert far_uscc not in text and far_name not in text and "说明" in fastexcel.read_excel(r.content).sheet_names


def test_outside_the_scope_is_refused(world):
    c = world.clients["county"]
    assert c.get("/cultivation?region=330100").status_code == 403
    assert c.get("/api/v1/cultivation/pools?region=330102").status_code == 403
    assert c.get(f"/cultivation/firms/{world.far[0]}").status_code == 403
    assert c.get(f"/api/v1/cultivation/firms/{world.far[0]}").status_code == 403
    assert c.get("/cultivation/firms/91330000MA00000000").status_code == 404
    assert c.get("/cultivation?region=339999").status_code == 404
    assert c.get("/api/v1/cultivation/candidates?rule_set=nope").status_code in (400, 422)


def test_the_export_is_audited(world):
    r = world.clients["city"].get("/cultivation/export.xlsx")
    assert r.status_code == 200
    store = Store(world.path, world.app.state.store.con.cursor(), False)
    try:
        row = store.con.execute("SELECT username, target FROM audit_log WHERE action = 'export' "
                                "AND target LIKE 'cultivation:%' ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        store.con.close()
    assert row == ("cu-city", "cultivation:331100")
