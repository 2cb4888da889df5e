"""Helpers shared by the web tests (sign-in, CSRF tokens, clients from their own addresses, the
web tests' database)."""

from __future__ import annotations

import re
import shutil
import time
from types import SimpleNamespace

import pyotp
from fastapi.testclient import TestClient

from shanhai.jobs import mujun
from shanhai.store import accounts, open_store

PASSWORD = "web-tests-password-1"

# Two-factor sign-in (issue 13): accounts whose role must use TOTP are enrolled by the helper at
# their first sign-in; their secret and last used time step are kept here per app, so a later
# sign-in computes a fresh code (never the same step twice: the server refuses replays).
_TOTP: dict[tuple[int, str], list] = {}


def totp_code(client: TestClient, username: str) -> str:
    """A code for ``username``'s enrolled TOTP, on the accounts clock, never a used step again."""
    entry = _TOTP[(id(client.app), username.lower())]
    while True:
        step = accounts._step(accounts.now())
        use = max(step - 1, entry[1] + 1)
        if use <= step + 1:
            break
        time.sleep(1)
    entry[1] = use
    return pyotp.TOTP(entry[0]).generate_otp(use)


def enrol_totp(client: TestClient, username: str) -> str:
    """Enrol the signed-in ``username`` in TOTP through the account page; returns the secret."""
    token = csrf_of(client, "/account")
    client.post("/account/totp/start", data={"csrf_token": token}, follow_redirects=False)
    page = client.get("/account/totp").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    _TOTP[(id(client.app), username.lower())] = [secret, -1]
    r = client.post("/account/totp/confirm", data={"csrf_token": token, "code": totp_code(client, username)})
    assert r.status_code == 200 and "recovery-codes" in r.text, r.text[:2000]
    return secret


def csrf_of(client: TestClient, path: str = "/signin") -> str:
    """The CSRF token a page carries for this client."""
    body = client.get(path).text
    match = re.search(r'data-csrf="([^"]+)"', body) or re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, next_url: str = "/jobs"):
    """Sign in; with two-factor sign-in the helper enters the code (and enrols an account whose
    role requires it at its first sign-in). Returns the response of the last sign-in step."""
    token = csrf_of(client, "/signin")
    r = client.post("/signin", data={"username": username, "password": password, "next": next_url,
                                     "csrf_token": token}, follow_redirects=False)
    if r.status_code == 303 and r.headers["location"].startswith("/signin/totp"):
        if (id(client.app), username.lower()) not in _TOTP:
            return r
        token = csrf_of(client, r.headers["location"])
        r = client.post("/signin/totp", data={"code": totp_code(client, username), "next": next_url,
                                              "csrf_token": token}, follow_redirects=False)
    if r.status_code == 303 and (id(client.app), username.lower()) not in _TOTP:
        page = client.get("/account")
        if 'id="pending-enrol"' in page.text:
            enrol_totp(client, username)
    return r


def make_client(app, address: str) -> TestClient:
    """A client of the already-started app, from its own address (throttling counts per address)."""
    return TestClient(app, client=(address, 50000), raise_server_exceptions=False)


CITY, COUNTY = "331100", "331127"
ROLE_REGIONS = {"admin": "330000", "province": "330000", "city": CITY, "county": COUNTY, "viewer": COUNTY}


def _one(store, sql):
    row = store.con.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def build_web_db(small_db, path) -> SimpleNamespace:
    """``web_db``'s database at ``path`` (a test wanting its own copy to write in calls this)."""
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
