"""What the browser tests share: a real server over a database file, and a signed-in page.

``running_server(path, secret_key)`` serves ``create_app(path)`` with uvicorn on a free loopback port
in a daemon thread and yields its URL (the session's ``server`` fixture and the modules that need a
database of their own use it). ``signed_in_page(browser, url, username, password)`` opens a zh-CN
context, records page errors and console errors in ``errors``, signs in through the form and checks
it left the sign-in page.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(path: Path, secret_key: str) -> Iterator[str]:
    import uvicorn

    from shanhai.web.app import create_app

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(path, secret_key=secret_key), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


def watch(page, errors: list[str], timeout_ms: int = 30_000) -> None:
    """Collect the page's script errors and console errors into ``errors``."""
    page.set_default_timeout(timeout_ms)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)


def signed_in_page(browser, url: str, username: str, password: str, *, timeout_ms: int = 30_000):
    """(context, page, errors): a new zh-CN context whose page is signed in as ``username``."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    watch(page, errors, timeout_ms)
    page.goto(f"{url}/signin")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/signin" not in page.url, f"{username} could not sign in"
    return context, page, errors
