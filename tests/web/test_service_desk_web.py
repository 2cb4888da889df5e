"""``/service/requests|lists|pipeline``, ``/service/firm/{uscc}`` and the enterprise portal
``/e/{token}`` (issue 12): pages render for every role, a request moves through its states by the
forms (CSRF, audited) and a viewer cannot act, a county sees only its own requests, lists and pool
firms (pages, API, workbooks), a firm page audits view_enterprise, exports audit export; the
portal shows one firm only (another firm's uscc or request id: 404), an expired or revoked link
gets a clear page, portal forms need the CSRF token and are rate-limited."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from shanhai.jobs import service_lists as jl
from shanhai.jobs import service_pipeline as jp
from shanhai.jobs import service_requests as jr
from shanhai.store import accounts, open_store
from shanhai.store.scope import Scope
from shanhai.web.app import app_routes, create_app
from shanhai.web.routers import firm_portal
from web_helpers import PASSWORD, csrf_of, make_client, sign_in

ROLES = ("admin", "province", "city", "county", "viewer")


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("desk_web") / "desk.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        for sql in ("DELETE FROM service_request_events", "DELETE FROM service_requests",
              "DELETE FROM listing_milestones", "DELETE FROM listing_pipeline"):
            store.con.execute(sql)          # the synthetic demo's requests and pool: these tests start empty
        county, city = store.con.execute("""SELECT e.county_adcode, r.city_adcode FROM enterprises e
            JOIN regions r ON r.adcode = e.county_adcode GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1""").fetchone()
        mine = store.con.execute(f"SELECT uscc, name FROM enterprises WHERE county_adcode = '{county}' "
                                 "AND status = 'active' ORDER BY uscc LIMIT 2").fetchall()
        other = store.con.execute(f"SELECT uscc, name FROM enterprises WHERE substr(county_adcode, 1, 4) <> '{county[:4]}' "
                                  "AND status = 'active' ORDER BY uscc LIMIT 1").fetchone()
        roles = {"admin": "330000", "province": "330000", "city": city, "county": county, "viewer": county}
        for role, region in roles.items():
            accounts.add_user(store, f"sd-{role}", PASSWORD, role, region, f"服务{role}")
        p = Scope.province()
        req_mine = jr.submit(store, p, uscc=mine[0][0], title="本县诉求", category="land", user="tests")["request_id"]
        req_other = jr.submit(store, p, uscc=other[0], title="外地诉求", user="tests")["request_id"]
        jl.build(store, "quzhou-2019", user="tests")
        jp.enrol(store, p, mine[0][0], reinvest_share="0.85")
        jp.record(store, p, mine[0][0], "joint_stock", "2022-03-15")
        jp.enrol(store, p, other[0])
        jp.record(store, p, other[0], "joint_stock", "2022-03-15")
        jp.run(store, user="tests")
        far_key = store.con.execute(f"""SELECT l.uscc, e.name FROM service_list_entries l JOIN enterprises e USING (uscc)
            WHERE l.kind = 'key' AND substr(l.county_adcode, 1, 4) <> '{county[:4]}' LIMIT 1""").fetchone()
    app = create_app(path, secret_key="desk-web-tests")
    with TestClient(app):
        clients = {}
        for i, role in enumerate(roles):
            client = make_client(app, f"10.62.0.{i + 1}")
            assert sign_in(client, f"sd-{role}").status_code == 303
            client.csrf = csrf_of(client, "/jobs")
            clients[role] = client
        yield SimpleNamespace(app=app, clients=clients, path=path, county=county, mine=mine, other=other,
                              req_mine=req_mine, req_other=req_other, far_key=far_key)


def _audit(world, action):
    return world.app.state.store.con.execute(
        f"SELECT target, detail FROM audit_log WHERE action = '{action}' ORDER BY seq").fetchall()


def test_routes_and_nav(world):
    paths = {r.path for r in app_routes(world.app)}
    assert {"/service/requests", "/service/requests/{request_id}", "/service/requests/{request_id}/{action}",
            "/service/lists", "/service/pipeline", "/service/firm/{uscc}", "/e/{token}", "/e/{token}/request",
            "/api/v1/service/requests", "/api/v1/service/lists", "/api/v1/service/pipeline"} <= paths
    assert (62, "/service/requests", "企业诉求", "Requests", None) in world.app.state.nav


@pytest.mark.parametrize("role", ROLES)
def test_pages_render_for_every_role(world, role):
    c = world.clients[role]
    for url in ("/service/requests", "/service/requests?status=all", "/service/requests?overdue=true",
                f"/service/requests/{world.req_mine}", "/service/lists", "/service/lists?kind=struggling",
                "/service/pipeline", f"/service/firm/{world.mine[0][0]}", "/service/requests?lang=en"):
        r = c.get(url)
        assert r.status_code == 200, (role, url, r.text[:300])


def test_a_request_states_its_counting_convention_in_words(world):
    """The request page says how days are counted (受理次日起计第1天), not receipt_day = 0."""
    import re

    page = world.clients["county"].get(f"/service/requests/{world.req_mine}?lang=zh").text
    said = re.search(r'id="receipt-day">([^<]+)<', page)
    assert said and said.group(1) in ("受理次日起计第1天", "受理当日计为第1天") and "receipt_day" not in page


def test_a_county_sees_its_own_firms_only(world):
    c = world.clients["county"]
    page = c.get("/service/requests?status=all").text
    assert world.req_mine in page and world.req_other not in page and world.other[1] not in page
    assert c.get(f"/service/requests/{world.req_other}").status_code == 403
    assert c.get(f"/api/v1/service/requests/{world.req_other}").status_code == 403
    api = c.get("/api/v1/service/requests?status=all").json()
    assert {q["county_adcode"] for q in api["requests"]} == {world.county}
    assert c.get(f"/service/firm/{world.other[0]}").status_code == 403
    lists = c.get("/api/v1/service/lists?kind=key").json()
    assert all(x["county_adcode"] == world.county for x in lists["entries"])
    if world.far_key:
        assert world.far_key[0] not in c.get("/service/lists").text
    pipe = c.get("/api/v1/service/pipeline").json()
    assert [f["uscc"] for f in pipe["firms"]] == [world.mine[0][0]]
    assert world.other[0] not in c.get("/service/pipeline").text
    for url in ("/service/requests/export.xlsx?status=all", "/service/lists/export.xlsx", "/service/pipeline/export.xlsx"):
        r = c.get(url)
        assert r.status_code == 200
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            text = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
        assert "说明" in text or "xl/" in " ".join(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
        assert world.other[0] not in text
    assert c.get("/service/requests?region=330100").status_code == 403


def test_request_moves_through_the_forms_and_is_audited(world):
    c = world.clients["county"]
    r = c.post("/service/requests/new", data={"uscc": world.mine[1][0], "title": "表单登记", "category": "policy",
                                              "channel": "walk_in", "csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 303
    rid = r.headers["location"].split("/")[-1].split("?")[0]
    for action, extra in (("accept", {}), ("assign", {"department": "经信局"}), ("answer", {"note": "已答复"}),
                          ("close", {"solved": "yes"}), ("rate", {"satisfaction": "5"})):
        r = c.post(f"/service/requests/{rid}/{action}", data={"csrf_token": c.csrf, **extra}, follow_redirects=False)
        assert r.status_code == 303, (action, r.text[:300])
    page = c.get(f"/service/requests/{rid}").text
    assert 'data-clock="closed_on_time"' in page and "已答复" in page
    assert c.post(f"/service/requests/{rid}/reopen", data={}, follow_redirects=False).status_code == 403     # no CSRF
    v = world.clients["viewer"]
    assert v.post(f"/service/requests/{rid}/reopen", data={"csrf_token": v.csrf}).status_code == 403
    assert {a for (a,) in world.app.state.store.con.execute(
        f"SELECT action FROM audit_log WHERE target = '{rid}'").fetchall()} >= {
        "service.request.submit", "service.request.accept", "service.request.close", "service.request.rate"}
    assert any(t == world.mine[0][0] or t == world.mine[1][0] for t, _ in _audit(world, "view_enterprise"))
    assert _audit(world, "export")


def _issue(world, uscc):
    c = world.clients["county"]
    r = c.post(f"/service/firm/{uscc}/link", data={"csrf_token": c.csrf, "days": "90"})
    assert r.status_code == 200 and "<svg" in r.text
    return re.search(r'id="new-link-url">[^<]*/e/([A-Za-z0-9_-]+)<', r.text).group(1)


def test_portal_shows_one_firm_and_takes_requests(world):
    firm_portal.reset_limits()
    token = _issue(world, world.mine[0][0])
    anon = make_client(world.app, "10.62.9.1")
    page = anon.get(f"/e/{token}")
    assert page.status_code == 200 and world.mine[0][1] in page.text and world.mine[1][0] not in page.text
    assert world.req_mine in page.text or "本县诉求" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert anon.post(f"/e/{token}/request", data={"title": "x"}, follow_redirects=False).status_code == 403
    r = anon.post(f"/e/{token}/request", data={"title": "门户诉求", "category": "talent", "csrf_token": csrf},
                  follow_redirects=False)
    assert r.status_code == 303
    page = anon.get(f"/e/{token}?done=submit").text
    assert "门户诉求" in page and 'data-clock=' in page
    # another firm's uscc or request id: 404
    assert anon.get(f"/e/{token}?uscc={world.other[0]}").status_code == 404
    assert anon.get(f"/e/{token}?uscc={world.mine[1][0]}").status_code == 404
    assert anon.get(f"/e/{token}/requests/{world.req_other}").status_code == 404
    assert anon.post(f"/e/{token}/request", data={"title": "y", "uscc": world.other[0], "csrf_token": csrf}).status_code == 404
    assert anon.get(f"/e/{token}/requests/{world.req_mine}").status_code == 200
    # the officer sees the portal request in the queue
    q = world.clients["county"].get("/service/requests").text
    assert "门户诉求" in q


def test_expired_revoked_unknown_links_get_a_clear_page(world):
    firm_portal.reset_limits()
    token = _issue(world, world.mine[1][0])
    anon = make_client(world.app, "10.62.9.2")
    assert anon.get(f"/e/{token}").status_code == 200
    r = anon.get("/e/not-a-real-token")
    assert r.status_code == 404 and "链接无效" in r.text and "Traceback" not in r.text
    c = world.clients["county"]
    tid = next(l["token_id"] for l in jr.tokens_of(world.app.state.store, Scope.province(), world.mine[1][0])
               if l["state"] == "active")
    assert c.post(f"/service/firm/{world.mine[1][0]}/revoke", data={"csrf_token": c.csrf, "token_id": tid},
                  follow_redirects=False).status_code == 303
    r = anon.get(f"/e/{token}")
    assert r.status_code == 410 and "撤销" in r.text
    token2 = _issue(world, world.mine[1][0])
    world.app.state.store.con.execute(
        f"UPDATE firm_portal_tokens SET expires_at = TIMESTAMP '2020-01-01' WHERE token_hash = '{jr._hash(token2)}'")
    r = anon.get(f"/e/{token2}")
    assert r.status_code == 410 and "过期" in r.text


def test_portal_is_rate_limited(world, monkeypatch):
    firm_portal.reset_limits()
    monkeypatch.setattr(firm_portal, "FAIL_LIMIT", 3)
    anon = make_client(world.app, "10.62.9.3")
    codes = [anon.get(f"/e/guess{i}").status_code for i in range(5)]
    assert codes[:3] == [404, 404, 404] and codes[-1] == 429
    firm_portal.reset_limits()


def test_portal_lists_policies_with_reasons_and_confirms(world):
    from shanhai.jobs import service_policies
    from shanhai.store.connection import Store

    firm_portal.reset_limits()
    base = world.app.state.store
    cur = base.con.cursor()
    try:
        store = Store(base.path, cur, False)
        service_policies.run(store, Scope.province(), user="tests")
        firm = None
        for (uscc,) in store.con.execute("SELECT DISTINCT uscc FROM service_match_results ORDER BY uscc LIMIT 200"
                                         ).fetchall():
            items = service_policies.for_firm(store, uscc)
            if any(p["outcome"] == "eligible" and not p["payout_state"] for p in items):
                firm = uscc
                break
    finally:
        cur.close()
    if firm is None:
        pytest.skip("no eligible firm in the small province's match run")
    c = world.clients["province"]
    r = c.post(f"/service/firm/{firm}/link", data={"csrf_token": c.csrf})
    token = re.search(r'id="new-link-url">[^<]*/e/([A-Za-z0-9_-]+)<', r.text).group(1)
    anon = make_client(world.app, "10.62.9.4")
    page = anon.get(f"/e/{token}")
    assert page.status_code == 200
    item = re.search(r'data-item="([^"]+)"', page.text).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert anon.post(f"/e/{token}/confirm", data={"item_id": "no-such-item", "csrf_token": csrf}).status_code == 404
    r = anon.post(f"/e/{token}/confirm", data={"item_id": item, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    after = anon.get(f"/e/{token}?done=confirm").text
    assert "已确认" in after
    # the firm reads words, never codes: the pay-out state and the payment mode are labelled
    assert 'data-state="confirmed">已确认<' in after
    assert not any(code in after for code in ("no_application", "on_application", ">confirmed<"))
    assert any(word in after for word in ("免申即享", "依申请兑现"))
