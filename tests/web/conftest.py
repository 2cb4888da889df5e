"""The web tests' world: one demo database built once per session (the session's small province,
scale 0.05, with stored per-mu runs and one account per role), one app over it, and a signed-in
TestClient per role.

Regions: the city user is 丽水 (331100); the county and viewer users are 景宁 (331127), one of the
26 mountain counties in 丽水. ``world`` holds ids inside and outside each scope for the route walk.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shanhai.web.app import create_app
from web_helpers import ROLE_REGIONS, build_web_db, csrf_of, make_client, sign_in

SECRET = "tests-secret-key"


@pytest.fixture(scope="session")
def web_db(small_db, tmp_path_factory):
    """A copy of the session's small province with runs, accounts and the ids the tests need."""
    return build_web_db(small_db, tmp_path_factory.mktemp("web") / "web.duckdb")


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
