"""The cached views (web.screens.cached_view, issue 9 item 3): pages and API answers computed from
the data are computed once per data version, scope, role, language and query — a county never
gets another region's cached view, a change to the data (an audited edit, an import that changed
rows) is seen by the next request, reading (sign-ins, exports, an identical re-import) keeps the
cache, and concurrent misses compute once."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from fastapi.testclient import TestClient

from shanhai.store import audit
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import screens
from shanhai.web.app import create_app
from web_helpers import csrf_of, make_client, sign_in

# the cached views of the load test's mix (benchmarks/load.py)
CACHED_PAGES = ("/monthly", "/chains", "/chains/risk", "/targets", "/cultivation", "/coop", "/coop/projects",
                "/transition")
CACHED_API = ("/api/v1/monthly", "/api/v1/chains", "/api/v1/chains/risk", "/api/v1/targets/summary",
              "/api/v1/coop/counties")


@pytest.fixture(scope="module")
def own(web_db, tmp_path_factory):
    """An app over a copy of the web database (these tests write), with the county and a county of
    another city signed in, and a cursor on the server's connection."""
    from shanhai.store import accounts, open_store

    path = tmp_path_factory.mktemp("views") / "views.duckdb"
    shutil.copy(web_db.path, path)
    with open_store(path) as store:
        accounts.add_user(store, "t-far", "web-tests-password-1", "county", web_db.far_county, "测试远县")
    app = create_app(path, secret_key="tests-secret-key")
    with TestClient(app):
        out = {}
        for i, name in enumerate(("t-county", "t-far", "t-province")):
            client = make_client(app, f"10.30.0.{i + 1}")
            assert sign_in(client, name).status_code == 303
            client.csrf = csrf_of(client, "/jobs")
            out[name] = client
        cursor = app.state.store.con.cursor()
        yield app, out, Store(path, cursor, False)
        cursor.close()


def counted(monkeypatch, module, name: str) -> list:
    """Count the calls of ``module.name`` (the computation behind a cached view)."""
    calls: list = []
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_every_cached_view_answers_once_per_scope_and_the_county_sees_only_its_own(own, web_db):
    app, c, _ = own
    for path in CACHED_PAGES + CACHED_API:            # the province first: its views are in the cache
        assert c["t-province"].get(path).status_code == 200, path
    mine, far = c["t-county"], c["t-far"]
    for path in ("/api/v1/chains", "/api/v1/chains/risk"):
        assert mine.get(path).json()["region"]["code"] == web_db.county
        assert far.get(path).json()["region"]["code"] == web_db.far_county
    assert mine.get("/api/v1/monthly").json()["facts"]["region"]["adcode"] == web_db.county
    assert far.get("/api/v1/monthly").json()["facts"]["region"]["adcode"] == web_db.far_county
    assert mine.get("/api/v1/targets/summary").json()["region"]["adcode"] == web_db.county
    # the other county's firm never appears in the county's cached pages, its own pages answer
    for path in CACHED_PAGES:
        for _ in range(2):                                # computed, then from the cache
            r = mine.get(path)
            assert r.status_code == 200, path
            assert web_db.firm_far[0] not in r.text and web_db.firm_far[1] not in r.text, path
    # another county's region asked for explicitly: 403 every time (nothing kept, nothing shown)
    for _ in range(2):
        assert mine.get(f"/monthly?region={web_db.far_county}").status_code == 403
        assert mine.get(f"/api/v1/chains?region={web_db.far_county}").status_code == 403


def test_views_are_computed_once_and_again_after_an_audited_change(own, web_db, monkeypatch):
    from shanhai.jobs import transition as jt

    app, c, store = own
    calls = counted(monkeypatch, jt, "register")
    k = c["t-county"]
    first = k.get("/transition?status=planned")
    again = k.get("/transition?status=planned")
    assert first.status_code == again.status_code == 200 and len(calls) == 1
    r = k.post("/transition/add", data={"uscc": web_db.firm_in[0], "kind": "close", "planned_on": "2024-07-01",
                                        "csrf_token": k.csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    action = store.con.execute("SELECT action_id FROM remediation_actions WHERE uscc = ? AND source = 'manual' "
                               "ORDER BY action_id DESC LIMIT 1", [web_db.firm_in[0]]).fetchone()[0]
    after = k.get("/transition?status=planned")
    assert len(calls) == 2 and action in after.text and action not in first.text
    # reading is not a change: another sign-in and an export keep the cached view
    assert sign_in(make_client(app, "10.30.0.9"), "t-county").status_code == 303
    assert k.get("/transition/export.xlsx").status_code == 200          # reads the register itself
    before = len(calls)
    assert k.get("/transition?status=planned").status_code == 200 and len(calls) == before


def test_the_data_version_moves_with_changes_only(own):
    _, _, store = own
    v0 = screens.data_version(store)
    for action, detail in (("sign_in", {"client": "x"}), ("export", {"kind": "x"}), ("view_enterprise", None),
                           ("sign_out", None), ("import", {"inserted": 0, "updated": 0, "unchanged": 9})):
        audit.append(store.con, action, username="tests", detail=detail)
        assert screens.data_version(store) == v0, action
    for action, detail in (("import", {"inserted": 0, "updated": 3}), ("import", {"inserted": 1, "updated": 0}),
                           ("transition_add", {"x": 1}), ("evaluate.mujun", None), ("some.new_action", None)):
        seq = audit.append(store.con, action, username="tests", detail=detail)
        assert screens.data_version(store) == seq, action
    # a fresh process (nothing remembered) finds the same version from the whole log
    screens._HEADS.clear()
    assert screens.data_version(store) == seq


def test_concurrent_misses_of_a_view_compute_once(own):
    from starlette.requests import Request

    app, _, store = own
    province = Scope.province()
    user = type("U", (), {"role": "province"})()
    request = Request({"type": "http", "method": "GET", "path": "/x-concurrent", "query_string": b"a=1",
                       "headers": [], "app": app})
    calls, results = [], []
    gate = threading.Barrier(20)

    def compute(store):
        calls.append(1)
        time.sleep(0.2)
        return {"n": len(calls)}

    def reader():
        cursor = app.state.store.con.cursor()
        try:
            gate.wait()
            results.append(screens.cached_view(request, Store(store.path, cursor, False), province, user, compute))
        finally:
            cursor.close()

    threads = [threading.Thread(target=reader) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 1 and len(results) == 20 and all(r is results[0] for r in results)
    # another scope is another view
    county = Scope("331127", "county")
    screens.cached_view(request, store, county, user, compute)
    assert len(calls) == 2


def test_a_job_publishes_its_data_once_the_views_readers_used_are_ready(own, monkeypatch):
    """While a job that changes data runs, readers keep the views of the data before it; the job
    computes those views again for its data before it says done, so no reader waits for them and
    the next reader sees the new data (web.screens.publishing)."""
    from shanhai.reports import monthly as report

    app, c, store = own
    calls = counted(monkeypatch, report, "gather")
    reader = c["t-province"]
    assert reader.get("/api/v1/monthly").status_code == 200
    assert reader.get("/api/v1/monthly").status_code == 200
    assert len(calls) == 1
    before = screens.live_version(store)
    changed, release = threading.Event(), threading.Event()
    threads: dict[str, str] = {}

    def job(progress):
        seq = audit.append(progress.store.con, "tests.data_change", username="tests")
        changed.set()
        release.wait(30)
        return {"message": f"changed at {seq}"}

    user = type("U", (), {"user_id": -1, "username": "tests", "is_admin": True})()
    job_id = app.state.jobs.submit("import", "tests", job, user)
    assert changed.wait(30)
    # the change is committed, the job still runs: readers keep the view of the data before it
    assert screens.live_version(store) > before and screens.data_version(store) == before
    assert reader.get("/api/v1/monthly").status_code == 200 and len(calls) == 1
    real = report.gather

    def noting(*args, **kwargs):
        threads[threading.current_thread().name] = "computed"
        return real(*args, **kwargs)
    monkeypatch.setattr(report, "gather", noting)
    release.set()
    assert app.state.jobs.wait(job_id, 60).status == "done"
    # the job thread computed the view for the new data before it said done; the reader gets it
    assert list(threads) == ["shanhai-jobs"]
    assert screens.data_version(store) == screens.live_version(store) > before
    assert reader.get("/api/v1/monthly").status_code == 200
    assert list(threads) == ["shanhai-jobs"]
