"""Helpers shared by the web tests (sign-in, CSRF tokens, clients from their own addresses)."""

from __future__ import annotations

import re
import time

import pyotp
from fastapi.testclient import TestClient

from shanhai.store import accounts

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
