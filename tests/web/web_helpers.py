"""Helpers shared by the web tests (sign-in, CSRF tokens, clients from their own addresses)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

PASSWORD = "web-tests-password-1"


def csrf_of(client: TestClient, path: str = "/signin") -> str:
    """The CSRF token a page carries for this client."""
    body = client.get(path).text
    match = re.search(r'data-csrf="([^"]+)"', body) or re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, next_url: str = "/jobs"):
    token = csrf_of(client, "/signin")
    return client.post("/signin", data={"username": username, "password": password, "next": next_url,
                                        "csrf_token": token}, follow_redirects=False)


def make_client(app, address: str) -> TestClient:
    """A client of the already-started app, from its own address (throttling counts per address)."""
    return TestClient(app, client=(address, 50000), raise_server_exceptions=False)
