"""The web tests' world: one demo database built once per session (the session's small province,
scale 0.05, with stored per-mu runs and one account per role), one app over it, and a signed-in
TestClient per role.

Regions: the city user is 丽水 (331100); the county and viewer users are 景宁 (331127), one of the
26 mountain counties in 丽水. ``world`` holds ids inside and outside each scope for the route walk.
"""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from shanhai.jobs import mujun
from shanhai.store import accounts, open_store
from shanhai.web.app import create_app
from web_helpers import PASSWORD, csrf_of, make_client, sign_in

CITY, COUNTY = "331100", "331127"
ROLE_REGIONS = {"admin": "330000", "province": "330000", "city": CITY, "county": COUNTY, "viewer": COUNTY}
SECRET = "tests-secret-key"


def _one(store, sql):
    row = store.con.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


@pytest.fixture(scope="session")
def web_db(small_db, tmp_path_factory):
    """A copy of the session's small province with runs, accounts and the ids the tests need."""
    path = tmp_path_factory.mktemp("web") / "web.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        year = _one(store, "SELECT max(year) FROM enterprise_years")
        province_run = mujun.run(store, "zhejiang-2018", year, user="tests").run_id
        # a county of another city with firms, and another county of 丽水 with firms
        far_county = _one(store, "SELECT county_adcode FROM enterprises WHERE county_adcode LIKE '3301%' "
                                 "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        near_county = _one(store, f"SELECT county_adcode FROM enterprises WHERE county_adcode LIKE '3311%' "
                                  f"AND county_adcode <> '{COUNTY}' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        far_run = mujun.run(store, "zhejiang-2018", year, region=far_county, user="tests").run_id
        county_run = mujun.run(store, "zhejiang-2018", year, region=COUNTY, user="tests").run_id

        def firm(county):
            return store.con.execute(
                f"SELECT uscc, name FROM mujun_results WHERE run_id = '{province_run}' AND county_adcode = '{county}' "
                "AND \"class\" <> 'T' ORDER BY uscc LIMIT 1").fetchone()

        users = {role: accounts.add_user(store, f"t-{role}", PASSWORD, role, region, f"测试{role}")
                 for role, region in ROLE_REGIONS.items()}
        # the session-wide clients below stay signed in while tests sign the same accounts in from
        # other clients: allow several sessions per account here (the one-session rule's own test
        # is tests/web/test_identity_web.py, over the default settings)
        accounts.set_security_setting(store, "sessions_per_account", "10", actor="tests")
        return SimpleNamespace(
            path=path, year=year, province_run=province_run, far_run=far_run, county_run=county_run,
            far_county=far_county, near_county=near_county, county=COUNTY, city=CITY,
            firm_in=firm(COUNTY), firm_near=firm(near_county), firm_far=firm(far_county), users=users)


@pytest.fixture(scope="session")
def app(web_db):
    application = create_app(web_db.path, secret_key=SECRET)
    with TestClient(application):       # runs the lifespan once: the store opens, the job worker starts
        yield application


@pytest.fixture(scope="session")
def clients(app, web_db) -> dict[str, TestClient]:
    """A signed-in client per role."""
    out = {}
    for i, role in enumerate(ROLE_REGIONS):
        client = make_client(app, f"10.10.0.{i + 1}")
        response = sign_in(client, f"t-{role}")
        assert response.status_code == 303, response.text
        client.csrf = csrf_of(client, "/jobs")
        out[role] = client
    return out


@pytest.fixture
def anonymous(app) -> TestClient:
    return make_client(app, "10.20.0.1")


@pytest.fixture(autouse=True)
def _chinese_after_each_test(request):
    """The language switch is a cookie on the session-wide clients: a test that looks at a page
    in English must not leave the next test (in any file) reading English."""
    yield
    if "clients" in request.fixturenames:
        from shanhai.web.deps import LANG_COOKIE

        for client in request.getfixturevalue("clients").values():
            client.cookies.delete(LANG_COOKIE)
