"""Browser tests: the real server (uvicorn in a thread, on a free loopback port) over a copy of the
session's small province with a province-wide per-mu run and one account per role, driven by
Playwright for Python with Debian's chromium (`make test` installs it; no `playwright install`).
"""

from __future__ import annotations

import os
import shutil
import time
from types import SimpleNamespace

import pyotp
import pytest
from browser_helpers import running_server

from shanhai.jobs import mujun
from shanhai.store import accounts, open_store

CHROMIUM = os.environ.get("SHANHAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "browser-tests-password-1"
CITY, COUNTY = "331100", "331127"          # 丽水 and 景宁 (one of the 26 mountain counties)
ROLES = {"admin": "330000", "province": "330000", "city": CITY, "county": COUNTY, "viewer": COUNTY}


# Accounts whose role must use two-factor sign-in are enrolled when the database is built; the
# sign-in below enters a code computed here (a later time step each time: the server refuses replays).
TOTP: dict[str, list] = {}


def totp_code(username: str) -> str:
    entry = TOTP[username]
    while True:
        step = accounts._step(accounts.now())
        use = max(step - 1, entry[1] + 1)
        if use <= step + 1:
            break
        time.sleep(1)
    entry[1] = use
    return pyotp.TOTP(entry[0]).generate_otp(use)


@pytest.fixture(scope="session")
def browser_db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("browser") / "browser.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        year = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]
        run_id = mujun.run(store, "zhejiang-2018", year, user="tests").run_id
        for role, region in ROLES.items():
            accounts.add_user(store, f"b-{role}", PASSWORD, role, region, f"浏览器{role}")
            if role in accounts.settings(store).totp_required_roles:      # enrolled: sign-in asks for a code
                user = accounts.get_user(store, f"b-{role}")
                secret = accounts.totp_begin(store, user)
                TOTP[f"b-{role}"] = [secret, -1]
                accounts.totp_confirm(store, user, totp_code(f"b-{role}"))
        # several browser contexts of one role may be open at once: allow more than one session
        # per account here (the one-session rule is tested in tests/web/test_identity_web.py)
        accounts.set_security_setting(store, "sessions_per_account", "10", actor="tests")

        def firm(where: str):
            return store.con.execute(
                f"SELECT uscc, name, county_adcode FROM mujun_results WHERE run_id = '{run_id}' AND {where} "
                "AND \"class\" <> 'T' ORDER BY uscc LIMIT 1").fetchone()

        firm_in = firm(f"county_adcode = '{COUNTY}'")
        firm_far = firm("county_adcode LIKE '3301%'")
    return SimpleNamespace(path=path, year=year, run_id=run_id, firm_in=firm_in, firm_far=firm_far)


@pytest.fixture(scope="session")
def server(browser_db):
    with running_server(browser_db.path, "browser-tests") as url:
        yield SimpleNamespace(url=url, db=browser_db)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make sysdeps)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def signed_in(browser, server):
    """``signed_in(role)`` -> a page of a fresh browser context, signed in as that role."""
    contexts = []

    def make(role: str):
        context = browser.new_context(accept_downloads=True, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{server.url}/signin")
        page.fill("input[name=username]", f"b-{role}")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        if "/signin/totp" in page.url and f"b-{role}" in TOTP:
            page.fill("input[name=code]", totp_code(f"b-{role}"))
            page.click("#totp-form button[type=submit]")
            page.wait_for_load_state("networkidle")
        assert "/signin" not in page.url, f"signing in as {role} failed: {page.url}"
        return page

    yield make
    for context in contexts:
        context.close()
