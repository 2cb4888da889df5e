"""``/service`` and ``/api/v1/service/…``: pages render for every role, a county officer sees only
its own firms (pages, API, exports) and gets 403 for another county's firm, the pay-out forms move
an award confirmed → notice → approved → paid (officers, CSRF, audited), a viewer cannot act,
firm views and exports are audited. The app runs over its own matched copy of the small province."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import fastexcel
import pytest
from fastapi.testclient import TestClient

from shanhai.jobs import service_policies as sp
from shanhai.store import accounts, open_store
from shanhai.web.app import app_routes, create_app
from web_helpers import PASSWORD, csrf_of, make_client, sign_in

def _rows(data: bytes, sheet: str | None = None) -> list[list]:
    reader = fastexcel.read_excel(data)
    out = []
    for name in [sheet] if sheet else reader.sheet_names:
        cols = reader.load_sheet(name, header_row=None, dtypes="string").to_arrow().columns
        out += [list(r) for r in zip(*[c.to_pylist() for c in cols])]
    return out


ITEM = "zhuji-digital-spend-2024"
COUNTY = "330681"


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("service_web") / "service.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        run = sp.run(store, user="tests")
        roles = {"admin": "330000", "province": "330000", "city": "330600", "county": COUNTY, "viewer": COUNTY}
        for role, region in roles.items():
            accounts.add_user(store, f"sv-{role}", PASSWORD, role, region, f"惠企{role}")
        mine = store.con.execute(f"SELECT m.uscc, e.name FROM service_match_results m JOIN enterprises e USING (uscc) "
                                 f"WHERE run_id = '{run['run_id']}' AND item_id = '{ITEM}' AND outcome = 'eligible' "
                                 "ORDER BY amount DESC, uscc LIMIT 2").fetchall()
        other = store.con.execute(f"SELECT m.uscc, e.name FROM service_match_results m JOIN enterprises e USING (uscc) "
                                  f"WHERE run_id = '{run['run_id']}' AND substr(m.county_adcode, 1, 4) <> '3306' "
                                  "AND outcome = 'eligible' LIMIT 1").fetchone()
    app = create_app(path, secret_key="service-web-tests")
    with TestClient(app):
        clients = {}
        for i, role in enumerate(roles):
            client = make_client(app, f"10.47.0.{i + 1}")
            assert sign_in(client, f"sv-{role}").status_code == 303
            client.csrf = csrf_of(client, "/jobs")
            clients[role] = client
        yield SimpleNamespace(app=app, clients=clients, path=path, mine=mine, other=other, run=run)


def test_routes_and_nav(world):
    paths = {r.path for r in app_routes(world.app)}
    assert {"/service", "/service/match", "/service/items/{item_id}", "/service/items/{item_id}/export.xlsx",
            "/service/firms/{uscc}", "/service/payouts", "/service/payouts/export.xlsx",
            "/service/payouts/{item_id}/{action}", "/api/v1/service/items", "/api/v1/service/runs/latest",
            "/api/v1/service/items/{item_id}/results", "/api/v1/service/firms/{uscc}", "/api/v1/service/payouts",
            "/api/v1/service/payouts/{item_id}/{action}"} <= paths
    assert (47, "/service", "惠企政策", "Support policies", None) in world.app.state.nav


@pytest.mark.parametrize("role", ["admin", "province", "city", "county", "viewer"])
def test_pages_render_for_every_role(world, role):
    c = world.clients[role]
    for url in ("/service", f"/service/items/{ITEM}", f"/service/items/{ITEM}?outcome=near", "/service/payouts",
                f"/service/firms/{world.mine[0][0]}", "/service?lang=en"):
        r = c.get(url)
        assert r.status_code == 200, (role, url, r.text[:300])
    assert "惠企政策直达" in c.get("/service?lang=zh").text
    assert c.get("/service/items/no-such-item").status_code == 404


def test_an_item_without_a_budget_says_so(world):
    """An item whose budget is not published reads 未公布（不控制总额）, not '— 万元'; one with a budget its amount."""
    import re

    c = world.clients["county"]
    budgets = {}
    for item in ("zj-first-set-application-2024", ITEM):
        page = c.get(f"/service/items/{item}?lang=zh").text
        budgets[item] = re.search(r'id="service-item-budget">(.*?)</span>', page, re.S).group(1)
    assert budgets["zj-first-set-application-2024"] == "未公布（不控制总额）"
    assert all("— 万元" not in b for b in budgets.values()), budgets


def test_a_county_sees_its_own_firms_only(world):
    c = world.clients["county"]
    page = c.get(f"/service/items/{ITEM}").text
    assert world.mine[0][0] in page
    for url in ("/service/items/zj-first-set-recognition-2024", "/service/payouts", "/service"):
        text = c.get(url).text
        assert world.other[0] not in text and world.other[1] not in text
    api = c.get(f"/api/v1/service/items/{ITEM}/results").json()
    assert api["rows"] and {r["county_adcode"][:6] for r in api["rows"]} == {COUNTY}
    rec = c.get("/api/v1/service/items/zj-first-set-recognition-2024/results").json()
    assert all(r["county_adcode"].startswith(COUNTY) for r in rec["rows"])
    assert c.get(f"/service/firms/{world.other[0]}").status_code == 403
    assert c.get(f"/api/v1/service/firms/{world.other[0]}").status_code == 403
    data = c.get("/service/items/zj-first-set-recognition-2024/export.xlsx").content
    assert world.other[0] not in "\n".join(str(v) for row in _rows(data) for v in row)
    r = c.post(f"/service/payouts/{ITEM}/confirm", data={"csrf_token": c.csrf, "uscc": world.other[0]},
               follow_redirects=False)
    assert r.status_code == 403


def test_payout_forms_move_an_award_to_paid_and_are_audited(world):
    c = world.clients["county"]
    uscc = world.mine[0][0]
    for action, data in (("apply", {"uscc": uscc}), ("confirm", {"uscc": uscc}),
                         ("notice", {"on": "2025-04-01"}), ("approve", {"on": "2025-04-08"}),
                         ("pay", {"on": "2025-04-09"})):
        r = c.post(f"/service/payouts/{ITEM}/{action}", data={"csrf_token": c.csrf, **data}, follow_redirects=False)
        assert r.status_code == 303, (action, r.text[:300])
    ledger = c.get(f"/api/v1/service/payouts?item={ITEM}").json()
    assert [(x["uscc"], x["state"]) for x in ledger] == [(uscc, "paid")]
    board = c.get(f"/service/payouts?item={ITEM}").text
    assert uscc in board and "已兑现" in board
    data = c.get(f"/service/payouts/export.xlsx?item={ITEM}").content
    rows = _rows(data, "兑现名单")
    header = rows[1]
    assert header == ["序号", "企业名称", "统一社会信用代码", "所属区县", "政策事项", "文件依据", "兑现金额(万元)",
                      "已兑现(万元)", "开户行/账号", "备注"]
    row = rows[2]
    assert row[2] == uscc and float(row[6]) > 0 and float(row[7]) == float(row[6])  # paid whole: paid = approved
    assert row[9].startswith("已兑现")
    cur = world.app.state.store.con.cursor()
    acts = dict(cur.execute("SELECT action, count(*) FROM audit_log WHERE action IN "
                            "('service.paid', 'view_enterprise', 'export') GROUP BY 1").fetchall())
    assert acts.get("service.paid") == 1 and acts.get("view_enterprise", 0) >= 1 and acts.get("export", 0) >= 1


def test_viewer_cannot_act_and_forms_need_csrf(world):
    v = world.clients["viewer"]
    r = v.post(f"/service/payouts/{ITEM}/apply", data={"csrf_token": v.csrf, "uscc": world.mine[1][0]},
               follow_redirects=False)
    assert r.status_code == 403
    assert v.post("/service/match", data={"csrf_token": v.csrf}, follow_redirects=False).status_code == 403
    c = world.clients["county"]
    r = c.post(f"/service/payouts/{ITEM}/apply", data={"uscc": world.mine[1][0]}, follow_redirects=False)
    assert r.status_code in (400, 403)
    r = c.post(f"/service/payouts/{ITEM}/no-such-action", data={"csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 404


def test_api_firm_and_latest_run(world):
    c = world.clients["province"]
    doc = c.get(f"/api/v1/service/firms/{world.mine[1][0]}").json()
    zhuji = [x for x in doc["items"] if x["item_id"] == ITEM][0]
    assert zhuji["outcome"] == "eligible" and zhuji["formula"] and zhuji["reasons"]
    latest = c.get("/api/v1/service/runs/latest").json()
    assert latest["run_id"] == world.run["run_id"] and latest["items"]
