"""Sign-in, sessions, CSRF, throttling, the language switch, security headers, admin pages and
background jobs over the web."""

from __future__ import annotations

import io
import itertools
import re
import threading
import zipfile
from datetime import timedelta

import pytest

from shanhai.store import accounts
from shanhai.store.connection import Store
from shanhai.web import jobs
from web_helpers import PASSWORD, csrf_of, make_client, sign_in

_names = itertools.count(1)


@pytest.fixture
def fresh_user(app):
    """A new county account for tests that change or lock it."""
    name = f"auth-{next(_names)}"
    cur = app.state.store.con.cursor()
    try:
        accounts.add_user(Store(app.state.db_path, cur, False), name, PASSWORD, "county", "331127")
    finally:
        cur.close()
    return name


def test_pages_need_a_session(anonymous):
    r = anonymous.get("/jobs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fjobs"
    r = anonymous.get("/admin/users?x=1", follow_redirects=False)
    assert r.headers["location"] == "/signin?next=%2Fadmin%2Fusers%3Fx%3D1"
    r = anonymous.get("/api/v1/jobs/abc")
    assert r.status_code == 401 and r.json()["detail"].startswith("Sign in first")
    assert "请先登录" in r.json()["detail_zh"]
    assert anonymous.get("/healthz").json()["status"] == "ok"


def test_sign_in_and_out(app, fresh_user):
    c = make_client(app, "10.30.0.1")
    page = c.get("/signin?next=/admin/users")
    assert page.status_code == 200 and "登录山海产业大脑" in page.text and 'value="/admin/users"' in page.text
    r = sign_in(c, fresh_user, next_url="/jobs")
    assert r.status_code == 303 and r.headers["location"] == "/jobs"
    cookie = r.headers["set-cookie"]
    assert "shanhai_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie                                   # plain http in tests
    home = c.get("/jobs")
    assert home.status_code == 200 and fresh_user in home.text and "景宁" in home.text
    # sign-out needs the CSRF token; afterwards the old cookie is worthless
    old = c.cookies.get("shanhai_session")
    assert c.post("/signout", follow_redirects=False).status_code == 403
    r = c.post("/signout", data={"csrf_token": csrf_of(c, "/jobs")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    assert c.get("/jobs", follow_redirects=False).status_code == 303
    c.cookies.clear()
    c.cookies.set("shanhai_session", old)
    assert c.get("/jobs", follow_redirects=False).status_code == 303
    # a new sign-in ends the session the browser had
    c.cookies.clear()
    assert sign_in(c, fresh_user).status_code == 303
    first = c.cookies.get("shanhai_session")
    assert sign_in(c, fresh_user).status_code == 303
    c.cookies.clear()
    c.cookies.set("shanhai_session", first)
    assert c.get("/jobs", follow_redirects=False).status_code == 303
    c.cookies.clear()
    # a next= to another site goes home instead
    r = sign_in(c, fresh_user, next_url="https://evil.example/")
    assert r.headers["location"] == "/"
    r = sign_in(make_client(app, "10.30.0.2"), fresh_user, next_url="//evil.example/")
    assert r.headers["location"] == "/"


def test_wrong_password_and_unknown_user(app, fresh_user):
    c = make_client(app, "10.31.0.1")
    r = sign_in(c, fresh_user, "not the password")
    assert r.status_code == 401 and "用户名或密码错误" in r.text and "shanhai_session" not in r.headers.get("set-cookie", "")
    r = sign_in(c, "nobody-here", PASSWORD)
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    c.get("/lang?to=en")
    assert "Wrong username or password." in sign_in(c, "nobody-here").text


def test_throttling_over_the_web(app, fresh_user):
    c = make_client(app, "10.32.0.1")
    for _ in range(5):
        assert sign_in(c, fresh_user, "bad password 1").status_code == 401
    r = sign_in(c, fresh_user)                                     # right password, still refused
    assert r.status_code == 429 and "登录失败次数过多" in r.text and "请 30 分钟后再试" in r.text
    other = make_client(app, "10.32.0.2")                          # the account is locked from anywhere
    assert sign_in(other, fresh_user).status_code == 429
    # the address is locked too, for any account
    assert sign_in(c, "t-viewer").status_code == 429


def test_csrf_is_checked_on_every_unsafe_method(app, clients):
    admin = clients["admin"]
    for method in ("post", "put", "delete", "patch"):
        r = getattr(admin, method)("/admin/users")
        assert r.status_code in (403, 405), (method, r.status_code)
    r = admin.post("/admin/users", data={"username": "csrf-x", "password": PASSWORD, "role": "admin"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = admin.post("/admin/users", data={"username": "csrf-x", "password": PASSWORD, "role": "admin",
                                         "csrf_token": "forged"})
    assert r.status_code == 403
    # another session's token does not work either
    r = admin.post("/admin/users", data={"username": "csrf-x", "password": PASSWORD, "role": "admin",
                                         "csrf_token": clients["province"].csrf})
    assert r.status_code == 403
    # the anonymous sign-in form is protected as well
    c = make_client(app, "10.33.0.1")
    r = c.post("/signin", data={"username": "t-admin", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    # the API takes the header
    r = admin.post("/admin/users", headers={"X-CSRF-Token": admin.csrf},
                   data={"username": "csrf-ok", "password": PASSWORD, "role": "viewer", "region_adcode": "331100"})
    assert r.status_code == 200 and "csrf-ok" in r.text


def test_expiry_and_idle_timeout(app, fresh_user, monkeypatch):
    c = make_client(app, "10.34.0.1")
    assert sign_in(c, fresh_user).status_code == 303
    assert c.get("/jobs", follow_redirects=False).status_code == 200
    real = accounts._now
    monkeypatch.setattr(accounts, "_now", lambda: real() + timedelta(minutes=31))
    assert c.get("/jobs", follow_redirects=False).status_code == 303          # idle for 31 minutes
    monkeypatch.setattr(accounts, "_now", real)
    assert sign_in(c, fresh_user).status_code == 303
    for minutes in range(25, 12 * 60, 25):                                     # active all day …
        monkeypatch.setattr(accounts, "_now", lambda m=minutes: real() + timedelta(minutes=m))
        assert c.get("/jobs", follow_redirects=False).status_code == 200, minutes
    monkeypatch.setattr(accounts, "_now", lambda: real() + timedelta(hours=12, minutes=1))
    assert c.get("/jobs", follow_redirects=False).status_code == 303          # … but the session ends at 12 h


def test_disabled_user_is_signed_out(app, clients, fresh_user):
    c = make_client(app, "10.35.0.1")
    assert sign_in(c, fresh_user).status_code == 303
    admin = clients["admin"]
    cur = app.state.store.con.cursor()
    user_id = cur.execute(f"SELECT user_id FROM users WHERE username = '{fresh_user}'").fetchone()[0]
    cur.close()
    r = admin.post(f"/admin/users/{user_id}/disable", data={"csrf_token": admin.csrf})
    assert r.status_code == 200 and f"已停用用户 {fresh_user}" in r.text
    assert c.get("/jobs", follow_redirects=False).status_code == 303
    r = sign_in(c, fresh_user)
    assert r.status_code == 401 and "已停用" in r.text
    r = admin.post(f"/admin/users/{user_id}/enable", data={"csrf_token": admin.csrf})
    assert r.status_code == 200
    r = admin.post(f"/admin/users/{user_id}/password", data={"csrf_token": admin.csrf, "password": "short"})
    assert r.status_code == 400 and "too short" in r.text
    r = admin.post(f"/admin/users/{user_id}/password", data={"csrf_token": admin.csrf, "password": "a new password 2"})
    assert r.status_code == 200
    assert sign_in(c, fresh_user, "a new password 2").status_code == 303
    assert admin.post("/admin/users/999999/disable", data={"csrf_token": admin.csrf}).status_code == 404


def test_security_headers(clients, anonymous):
    for client, path in ((anonymous, "/signin"), (clients["county"], "/jobs"), (clients["admin"], "/admin/audit"),
                         (anonymous, "/healthz"), (anonymous, "/no-such-page")):
        h = client.get(path).headers
        assert h["content-security-policy"].startswith("default-src 'self'"), path
        assert "script-src 'self';" in h["content-security-policy"] and "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
        assert h["cache-control"] == "no-store", path
        assert h["referrer-policy"] == "same-origin"
    static = anonymous.get("/static/css/shanhai.css")
    assert static.status_code == 200 and "no-store" not in static.headers["cache-control"]
    # no page carries an inline script or a reference to another host
    for path in ("/signin", "/jobs", "/admin/users", "/admin/audit"):
        body = (clients["admin"] if path != "/signin" else anonymous).get(path).text
        for tag in re.findall(r"<script\b[^>]*>", body):
            assert "src=" in tag or "application/json" in tag, (path, tag)
        assert not re.search(r'(?:src|href)="(?:https?:)?//', body), path


def test_cookies_are_secure_over_https(app, fresh_user):
    from fastapi.testclient import TestClient

    c = TestClient(app, base_url="https://testserver", client=("10.36.0.1", 1))
    r = sign_in(c, fresh_user)
    assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]
    assert "strict-transport-security" in c.get("/jobs").headers


def test_language_switch(clients, anonymous):
    county = clients["county"]
    assert "后台任务" in county.get("/jobs").text
    r = county.get("/lang?to=en&next=%2Fjobs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/jobs"
    page = county.get("/jobs").text
    assert "Background jobs" in page and 'lang="en"' in page
    assert "后台任务" in county.get("/jobs?lang=zh").text              # ?lang= on any page switches too
    assert "后台任务" in county.get("/jobs").text                       # … and is remembered
    assert county.get("/lang?to=en&next=https://evil.example/", follow_redirects=False).headers["location"] == "/"
    county.get("/lang?to=zh")
    assert "English" in anonymous.get("/signin").text and "中文" in anonymous.get("/signin").text


def test_error_pages(clients, anonymous):
    r = clients["county"].get("/admin/users")
    assert r.status_code == 403 and "该页面仅限" in r.text and "admin users only" in r.text
    r = clients["county"].get("/no-such-page")
    assert r.status_code == 404 and "没有找到该页面或数据" in r.text and "There is no such page or data." in r.text
    assert "t-county" in r.text or "测试county" in r.text                 # still signed in: the top bar shows it
    assert "测试" not in anonymous.get("/no-such-page").text
    r = anonymous.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["detail"] == "There is no such page or data."
    r = clients["admin"].get("/admin/audit?from=yesterday")
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text


def test_admin_users_page(clients):
    admin = clients["admin"]
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "t-county" in page.text and "景宁" in page.text
    r = admin.post("/admin/users", data={"csrf_token": admin.csrf, "username": "bad-region", "password": PASSWORD,
                                         "role": "city", "region_adcode": "331127"})
    assert r.status_code == 400 and "needs the adcode of a city" in r.text and 'value="bad-region"' in r.text
    for role in ("province", "city", "county", "viewer"):
        assert clients[role].get("/admin/users").status_code == 403
        assert clients[role].post("/admin/users", data={"csrf_token": clients[role].csrf, "username": "x",
                                                        "password": PASSWORD, "role": "admin"}).status_code == 403


def test_admin_audit_browse_export_verify(clients):
    admin = clients["admin"]
    page = admin.get("/admin/audit?action=sign_in&username=t-")
    assert page.status_code == 200 and "sign_in" in page.text and "t-county" in page.text
    assert "user.add" not in page.text.split('id="audit"')[1]
    verified = admin.get("/admin/audit?verify=1")
    assert "哈希链完整" in verified.text
    csv_ = admin.get("/admin/audit/export?format=csv&action=sign_in")
    assert csv_.status_code == 200 and csv_.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_.headers["content-disposition"]
    text = csv_.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("序号 seq,") and "sign_in" in text and "user.add" not in text
    xlsx = admin.get("/admin/audit/export?format=xlsx")
    assert xlsx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as z:
        assert "审计日志" in z.read("xl/workbook.xml").decode()
    assert admin.get("/admin/audit/export?format=pdf").status_code == 422
    # what a caller typed as a username cannot become a spreadsheet formula
    sign_in(make_client(admin.app, "10.38.0.1"), "=HYPERLINK(1)", "whatever")
    text = admin.get("/admin/audit/export?format=csv&action=sign_in.failed").content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
    # the exports themselves are audited
    again = admin.get("/admin/audit?action=export")
    assert "audit_log" in again.text


def test_background_jobs(app, clients):
    county, city, admin = clients["county"], clients["city"], clients["admin"]
    users = {}
    cur = app.state.store.con.cursor()
    try:
        for role in ("county", "city"):
            row = cur.execute(f"SELECT user_id, username, display_name, role, region_adcode, disabled FROM users "
                              f"WHERE username = 't-{role}'").fetchone()
            users[role] = accounts.User(*row)
    finally:
        cur.close()
    gate = threading.Event()

    def work(progress):
        progress(1, 4, "第一步 step one")
        assert progress.store.con.execute("SELECT count(*) FROM regions").fetchone()[0] > 90
        gate.wait(10)
        progress(3, 4, "第三步 step three")
        return "/jobs"

    job_id = jobs.submit("evaluate", "测试任务 test job", work, users["county"])
    status = county.get(f"/api/v1/jobs/{job_id}").json()
    assert status["status"] in ("queued", "running") and status["label"] == "测试任务 test job"
    page = county.get(f"/jobs/{job_id}")
    assert page.status_code == 200 and f'data-job-poll="/api/v1/jobs/{job_id}"' in page.text
    # a sign-in while the job holds the writer is not blocked, and its audit entry is queued
    c = make_client(app, "10.37.0.1")
    assert sign_in(c, "t-province").status_code == 303
    gate.set()
    done = app.state.jobs.wait(job_id)
    assert done.status == "done" and done.url == "/jobs" and done.percent == 100
    assert county.get(f"/api/v1/jobs/{job_id}").json()["status"] == "done"
    # only its user and admins see it
    assert city.get(f"/api/v1/jobs/{job_id}").status_code == 404
    assert city.get(f"/jobs/{job_id}").status_code == 404
    assert admin.get(f"/api/v1/jobs/{job_id}").status_code == 200
    assert job_id in county.get("/jobs").text and job_id not in city.get("/jobs").text

    def broken(progress):
        from shanhai.errors import ShanhaiError

        raise ShanhaiError("the workbook has no sheet named 企业")

    failed = app.state.jobs.wait(jobs.submit("import", "导入 import", broken, users["city"]))
    assert failed.status == "failed" and failed.error == "the workbook has no sheet named 企业"
    audit_page = admin.get("/admin/audit?action=sign_in&username=t-province").text
    assert "queued_at" in audit_page or "t-province" in audit_page
    assert "哈希链完整" in admin.get("/admin/audit?verify=1").text
