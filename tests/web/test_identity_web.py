"""Identity controls over the web (issue 13 items 1–4): the forced password change and the
two-factor enrolment a role requires before anything else, the TOTP sign-in step, one session per
account with the old page told why, sign out everywhere, the lockout and the admin's unlock,
reset-2fa, force-change and role change, Secure cookies over https and a new session id at sign-in."""

from __future__ import annotations

import itertools
import re
import time

import pyotp
import pytest
from fastapi.testclient import TestClient

from shanhai.store import accounts, load_reference, open_store
from shanhai.store.connection import Store
from shanhai.web.app import create_app
from web_helpers import PASSWORD, csrf_of, enrol_totp, make_client, sign_in

_addresses = (f"10.77.{i // 250}.{i % 250 + 1}" for i in itertools.count())


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    path = tmp_path_factory.mktemp("identity") / "identity.duckdb"
    with open_store(path) as store:
        load_reference(store.con)
        accounts.add_user(store, "id-admin", PASSWORD, "admin", None)          # made before: no forced change
        accounts.add_user(store, "id-county", PASSWORD, "county", "331127")
        accounts.add_user(store, "demo-x", PASSWORD, "county", "331127", demo=True)
    application = create_app(path, secret_key="identity-secret")
    with TestClient(application):
        yield application


def client(app, **kw) -> TestClient:
    return make_client(app, next(_addresses)) if not kw else TestClient(app, client=(next(_addresses), 50000),
                                                                       raise_server_exceptions=False, **kw)


def add(app, name, role="county", region="331127", **kw):
    cur = app.state.store.con.cursor()
    try:
        return accounts.add_user(Store(app.state.db_path, cur, False), name, PASSWORD, role, region, **kw)
    finally:
        cur.close()


@pytest.fixture(scope="module")
def admin(app):
    c = client(app)
    assert sign_in(c, "id-admin").status_code == 303       # the helper enrols TOTP (the role requires it)
    assert c.get("/admin/users").status_code == 200
    c.csrf = csrf_of(c, "/admin/users")
    return c


def test_forced_change_then_required_enrolment_then_totp_sign_in(app):
    add(app, "id-prov", "province", None, must_change=True)
    c = client(app)
    r = sign_in(c, "id-prov", next_url="/jobs")
    assert r.status_code == 303 and r.headers["location"] == "/jobs"
    r = c.get("/jobs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    assert c.get("/api/v1/jobs/x").status_code == 403                     # the API refuses too
    page = c.get("/account/password")
    assert 'id="pending-password"' in page.text and 'id="totp"' not in page.text
    token = csrf_of(c, "/account")
    for new, message in [("short", "too short"), ("alllowercase-only", "too simple"),
                         (PASSWORD, "last 5"), ("My-id-prov-pass1", "account name")]:
        r = c.post("/account/password", data={"csrf_token": token, "current": PASSWORD, "new": new, "repeat": new})
        assert r.status_code == 400 and message in r.text, new
    new = "Province-Pass-2026"
    r = c.post("/account/password", data={"csrf_token": token, "current": PASSWORD, "new": new, "repeat": new})
    assert r.status_code == 200 and "密码已修改" in r.text
    # next: the province role must enrol two-factor sign-in before anything else
    r = c.get("/jobs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account/totp"
    c.post("/account/totp/start", data={"csrf_token": token}, follow_redirects=False)
    page = c.get("/account/totp").text
    assert re.search(r'<div class="qr" id="totp-qr"><svg[^>]*>', page) and "<script" not in page.split('id="totp-qr"')[1][:5000]
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    r = c.post("/account/totp/confirm", data={"csrf_token": token, "code": "12345x"})
    assert r.status_code == 400
    code = pyotp.TOTP(secret).at(_utc(accounts.now()))
    r = c.post("/account/totp/confirm", data={"csrf_token": token, "code": code})
    assert r.status_code == 200 and len(re.findall(r"<li><code>[0-9a-f]{5}-[0-9a-f]{5}</code>", r.text)) == 10
    assert secret not in c.get("/account").text                           # the secret is never shown again
    assert c.get("/jobs", follow_redirects=False).status_code == 200
    # a new sign-in asks for the code; a wrong one is a failure, the right one signs in
    other = client(app)
    token = csrf_of(other, "/signin")
    r = other.post("/signin", data={"username": "id-prov", "password": new, "next": "/jobs", "csrf_token": token},
                   follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin/totp")
    assert other.get("/jobs", follow_redirects=False).headers["location"].startswith("/signin")   # not signed in yet
    token = csrf_of(other, "/signin/totp?next=/jobs")
    r = other.post("/signin/totp", data={"csrf_token": token, "code": "000000" if code != "000000" else "111111",
                                         "next": "/jobs"})
    assert r.status_code == 401 and "验证码错误" in r.text
    r = other.post("/signin/totp", data={"csrf_token": token, "code": code, "next": "/jobs"},
                   follow_redirects=False)
    assert r.status_code == 401                                             # the enrolment's code: no replay
    step = accounts._step(accounts.now())
    while accounts._step(accounts.now()) == step:
        time.sleep(0.5)
    fresh = pyotp.TOTP(secret).at(_utc(accounts.now()))
    r = other.post("/signin/totp", data={"csrf_token": token, "code": fresh, "next": "/jobs"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/jobs"
    assert other.get("/jobs").status_code == 200


def _utc(at):
    from datetime import timezone

    return at.replace(tzinfo=timezone.utc)


def test_one_session_per_account_and_the_old_page_says_why(app):
    first, second = client(app), client(app)
    assert sign_in(first, "id-county").status_code == 303
    assert first.get("/jobs", follow_redirects=False).status_code == 200
    assert sign_in(second, "id-county").status_code == 303
    r = first.get("/jobs")                                                  # follows to the sign-in page
    assert r.status_code == 200 and 'id="session-ended"' in r.text
    assert re.search(r"在 10\.77\.\d+\.\d+ 登录", r.text)
    page = first.get("/signin?lang=en").text
    assert "Signed out because the account signed in elsewhere at" in page and "UTC from 10.77." in page
    assert "this session" in second.get("/account?lang=en").text


def test_sign_out_everywhere(app):
    c = client(app)
    assert sign_in(c, "id-county").status_code == 303
    r = c.post("/account/signout-all", data={"csrf_token": csrf_of(c, "/account")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    assert c.get("/jobs", follow_redirects=False).status_code == 303


def test_lock_after_five_failures_and_admin_unlock(app, admin):
    user = add(app, "id-locked")
    c = client(app)
    for i in range(5):
        c = client(app)                                                     # five addresses: the account locks
        assert sign_in(c, "id-locked", "Wrong-password-9").status_code == 401
    r = sign_in(client(app), "id-locked")
    assert r.status_code == 429 and "30 分钟后再试" in r.text
    r = sign_in(client(app), "id-nobody-here", "Wrong-password-9")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    page = admin.get("/admin/users").text
    assert f"/admin/users/{user.user_id}/unlock" in page
    r = admin.post(f"/admin/users/{user.user_id}/unlock", data={"csrf_token": admin.csrf})
    assert r.status_code == 200 and "已解锁用户 id-locked" in r.text
    assert sign_in(client(app), "id-locked").status_code == 303
    log = app.state.store.con.execute(
        "SELECT action, username FROM audit_log WHERE target = 'id-locked' AND action IN ('lock', 'unlock') "
        "ORDER BY seq").fetchall()
    assert log == [("lock", "id-locked"), ("unlock", "id-admin")]


def test_admin_reset_2fa_force_change_and_role(app, admin):
    user = add(app, "id-city", "city", "331100")
    c = client(app)
    assert sign_in(c, "id-city").status_code == 303
    enrol_totp(c, "id-city")
    assert accounts.user_by_id(_store(app), user.user_id).totp_enabled
    r = admin.post(f"/admin/users/{user.user_id}/reset-2fa", data={"csrf_token": admin.csrf})
    assert r.status_code == 200 and "已重置 id-city 的双因素登录" in r.text
    assert not accounts.user_by_id(_store(app), user.user_id).totp_enabled
    assert c.get("/jobs", follow_redirects=False).status_code == 303                     # its session ended
    c = client(app)
    assert sign_in(c, "id-city").status_code == 303 and c.get("/jobs").status_code == 200   # no code asked now
    r = admin.post(f"/admin/users/{user.user_id}/force-change", data={"csrf_token": admin.csrf})
    assert r.status_code == 200
    assert c.get("/jobs", follow_redirects=False).headers["location"] == "/account/password"
    r = admin.post(f"/admin/users/{user.user_id}/role", data={"csrf_token": admin.csrf, "role": "county",
                                                              "region_adcode": "330000"})
    assert r.status_code == 400 and "needs the adcode of a city or a county" in r.text
    r = admin.post(f"/admin/users/{user.user_id}/role", data={"csrf_token": admin.csrf, "role": "county",
                                                              "region_adcode": "331127"})
    assert r.status_code == 200 and accounts.user_by_id(_store(app), user.user_id).role == "county"
    actions = [a for (a,) in app.state.store.con.execute(
        "SELECT action FROM audit_log WHERE target = 'id-city' AND username = 'id-admin' ORDER BY seq").fetchall()]
    assert actions == ["user.reset_2fa", "user.force_change", "user.role"]
    county = client(app)
    assert sign_in(county, "id-county").status_code == 303
    for action in ("unlock", "reset-2fa", "force-change", "role"):
        assert county.post(f"/admin/users/{user.user_id}/{action}",
                           data={"csrf_token": csrf_of(county, "/jobs")}).status_code == 403


def _store(app) -> Store:
    return Store(app.state.db_path, app.state.store.con.cursor(), False)


def test_new_session_id_and_secure_cookies_over_https(app):
    c = client(app, base_url="https://testserver")
    page = c.get("/signin")
    anon = c.cookies.get("shanhai_anon")
    assert anon and "Secure" in page.headers["set-cookie"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/signin", data={"username": "id-county", "password": PASSWORD, "next": "/jobs", "csrf_token": token},
               follow_redirects=False)
    cookies = r.headers.get_list("set-cookie")
    assert r.status_code == 303 and all("Secure" in k for k in cookies)
    assert any(k.startswith("shanhai_session=") for k in cookies)
    assert any(k.startswith("shanhai_anon=") and "Max-Age=0" in k for k in cookies)   # the anonymous cookie goes
    first = c.cookies.get("shanhai_session")
    assert sign_in(c, "id-county").status_code == 303
    assert c.cookies.get("shanhai_session") != first                         # a new identifier at each sign-in


def test_demo_database_notice_and_exemption(app):
    assert 'id="demo-notice"' in client(app).get("/signin").text
    c = client(app)
    assert sign_in(c, "demo-x").status_code == 303 and c.get("/jobs", follow_redirects=False).status_code == 200
