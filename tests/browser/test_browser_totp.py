"""Two-factor sign-in in a real browser: an administrator (a role that must use TOTP) signs in with
the password, is sent to enrol, sees the QR code drawn on the server (inline SVG, no script) and
the key, confirms with a code this test computes with pyotp, gets ten recovery codes; a second
browser then signs in with the password and a fresh code and reaches the jobs page. No page
raises a script error. A server of its own runs over a small database at the default settings."""

from __future__ import annotations

import time
from datetime import timezone
from types import SimpleNamespace

import pyotp
import pytest

from shanhai.store import accounts, load_reference, open_store

from browser_helpers import running_server

pytestmark = pytest.mark.browser
PASSWORD = "Browser-totp-pass-1"


@pytest.fixture(scope="module")
def totp_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("browser_totp") / "totp.duckdb"
    with open_store(path) as store:
        load_reference(store.con)
        accounts.add_user(store, "bt-admin", PASSWORD, "admin", None, "双因素管理员")
    with running_server(path, "browser-totp") as url:
        yield SimpleNamespace(url=url)


def _code(secret: str, used: set[int]) -> str:
    """The TOTP code of the current 30-second step, waiting for a new step if this one was used."""
    while True:
        step = accounts._step(accounts.now())
        if step not in used:
            used.add(step)
            return pyotp.TOTP(secret).generate_otp(step)
        time.sleep(0.5)


def _password_step(page, url: str) -> None:
    page.goto(f"{url}/signin?next=/jobs")
    page.fill("input[name=username]", "bt-admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_totp_enrolment_and_sign_in(browser, totp_server):
    url = totp_server.url
    errors: list[str] = []
    used: set[int] = set()
    first = browser.new_context(locale="zh-CN")
    second = browser.new_context(locale="zh-CN")
    try:
        page = first.new_page()
        page.set_default_timeout(30_000)
        page.on("pageerror", lambda e: errors.append(str(e)))
        _password_step(page, url)
        assert page.url.endswith("/account/totp"), page.url                 # the role must enrol first
        assert page.locator("#pending-enrol").is_visible()
        page.click("form[action='/account/totp/start'] button")
        page.wait_for_load_state("networkidle")
        assert page.locator("#totp-qr svg").is_visible()                    # the QR code, drawn on the server
        secret = page.inner_text("#totp-secret").strip()
        uri = pyotp.TOTP(secret).provisioning_uri(name="bt-admin", issuer_name=accounts.TOTP_ISSUER)
        assert uri.startswith("otpauth://totp/")
        page.fill("form[action='/account/totp/confirm'] input[name=code]", _code(secret, used))
        page.click("form[action='/account/totp/confirm'] button")
        page.wait_for_load_state("networkidle")
        assert page.locator("#recovery-codes li").count() == 10
        page.goto(f"{url}/jobs")
        assert page.url.endswith("/jobs")                                    # enrolled: the pages open

        other = second.new_page()
        other.set_default_timeout(30_000)
        other.on("pageerror", lambda e: errors.append(str(e)))
        _password_step(other, url)
        assert "/signin/totp" in other.url, other.url
        other.fill("input[name=code]", "000000" if _now_code(secret) != "000000" else "111111")
        other.click("#totp-form button[type=submit]")
        other.wait_for_load_state("networkidle")
        assert other.locator(".alert-error").is_visible()                   # a wrong code is refused
        other.fill("input[name=code]", _code(secret, used))
        other.click("#totp-form button[type=submit]")
        other.wait_for_load_state("networkidle")
        assert other.url.endswith("/jobs"), other.url
        assert "bt-admin" in other.content() or "双因素管理员" in other.content()
        # one session per account: the first browser's next page says it was signed in elsewhere
        page.goto(f"{url}/jobs")
        assert "/signin" in page.url and page.locator("#session-ended").is_visible()
        assert "127.0.0.1" in page.inner_text("#session-ended")
    finally:
        first.close()
        second.close()
    assert not errors, errors


def _now_code(secret: str) -> str:
    return pyotp.TOTP(secret).at(accounts.now().replace(tzinfo=timezone.utc))
