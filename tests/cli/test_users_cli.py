"""``shanhai users`` and ``shanhai serve`` as a user meets them: passwords never on the command
line or the screen, one-line errors, and the server's hold on the database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shanhai.store import audit, load_reference, open_store

PW = "cli-password-123"


def shanhai(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SHANHAI_DB"}
    return subprocess.run([sys.executable, "-m", "shanhai", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "users.duckdb"
    with open_store(path) as store:
        load_reference(store.con)
    return path


def test_add_list_disable_passwd(db):
    r = shanhai("users", "add", "jingning", "--role", "county", "--region", "331127", "--name", "景宁县经信局",
                "--password-stdin", "--db", str(db), stdin=PW + "\n")
    assert r.returncode == 0, r.stderr
    assert "jingning" in r.stdout and PW not in r.stdout + r.stderr
    r = shanhai("users", "add", "boss", "--role", "admin", "--password-stdin", "--db", str(db), "--json",
                stdin=PW + "\n")
    assert json.loads(r.stdout)["region_adcode"] == "330000"
    listed = json.loads(shanhai("users", "list", "--db", str(db), "--json").stdout)
    assert [(u["username"], u["role"], u["region_adcode"], u["region_name"]) for u in listed] == [
        ("boss", "admin", "330000", "浙江省"), ("jingning", "county", "331127", "景宁畲族自治县")]
    table = shanhai("users", "list", "--db", str(db)).stdout
    assert "景宁县经信局" in table and "正常 active" in table
    assert shanhai("users", "disable", "jingning", "--db", str(db)).returncode == 0
    assert "已停用 disabled" in shanhai("users", "list", "--db", str(db)).stdout
    r = shanhai("users", "passwd", "jingning", "--password-stdin", "--db", str(db), stdin="A brand new secret 2\n")
    assert r.returncode == 0 and "A brand new secret 2" not in r.stdout + r.stderr
    with open_store(db, read_only=True) as store:
        hashes = [h for (h,) in store.con.execute("SELECT password_hash FROM users").fetchall()]
        assert all(h.startswith("$argon2id$") for h in hashes)
        log = store.con.execute("SELECT action, target FROM audit_log ORDER BY seq").fetchall()
        assert log == [("user.add", "jingning"), ("user.add", "boss"), ("user.disable", "jingning"),
                       ("user.password", "jingning")]
        assert audit.verify(store.con) is None


def test_password_from_a_hidden_prompt(db):
    """Without --password-stdin the password is asked twice and not echoed."""
    r = shanhai("users", "add", "lishui", "--role", "city", "--region", "331100", "--db", str(db),
                stdin=f"{PW}\n{PW}\n")
    assert r.returncode == 0, r.stderr
    assert PW not in r.stdout and PW not in r.stderr
    r = shanhai("users", "add", "lishui2", "--role", "city", "--region", "331100", "--db", str(db),
                stdin=f"{PW}\nsomething else\n")
    assert r.returncode != 0


def test_errors_are_one_sentence(db, tmp_path):
    one_line_error(shanhai("users", "add", "x1", "--role", "city", "--region", "331127", "--password-stdin",
                           "--db", str(db), stdin=PW + "\n"), "needs the adcode of a city", "331127")
    one_line_error(shanhai("users", "add", "x2", "--role", "county", "--region", "339999", "--password-stdin",
                           "--db", str(db), stdin=PW + "\n"), "339999 is not a region")
    one_line_error(shanhai("users", "add", "x3", "--role", "chief", "--password-stdin", "--db", str(db),
                           stdin=PW + "\n"), "not one of")
    one_line_error(shanhai("users", "add", "x4", "--role", "admin", "--password-stdin", "--db", str(db),
                           stdin="short\n"), "too short")
    one_line_error(shanhai("users", "add", "x5", "--role", "admin", "--password-stdin", "--db", str(db), stdin=""),
                   "standard input is empty")
    one_line_error(shanhai("users", "disable", "ghost", "--db", str(db)), "no user 'ghost'")
    one_line_error(shanhai("users", "list", "--db", str(tmp_path / "absent.duckdb")), "does not exist")
    one_line_error(shanhai("serve", "--db", str(tmp_path / "absent.duckdb")), "does not exist")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_owns_the_database(db):
    """While `shanhai serve` runs, it answers on the printed address and other commands on the same
    file fail with one sentence; after it stops they work again."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "SHANHAI_DB"}
    server = subprocess.Popen([sys.executable, "-m", "shanhai", "serve", "--port", str(port), "--db", str(db)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.3)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/jobs", timeout=5, follow_redirects=True).status_code == 200
        line = one_line_error(shanhai("users", "list", "--db", str(db)), "is in use by another Shanhai process")
        assert f"process {server.pid}" in line
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out
    assert shanhai("users", "list", "--db", str(db)).returncode == 0


def test_demo_accounts(tmp_path, small_db):
    """`shanhai demo` creates a province admin, a city and a mountain county, and prints them."""
    import shutil

    path = tmp_path / "demo.duckdb"
    shutil.copy(small_db, path)
    r = shanhai("demo", "--db", str(path))
    assert r.returncode == 0, r.stderr
    assert "演示账号 Demo accounts" in r.stdout
    for name in ("demo-admin", "demo-lishui", "demo-jingning"):
        assert name in r.stdout
    password = (path.parent / f"{path.name}.demo-accounts").read_text().split("password=")[1].strip()
    assert password in r.stdout
    assert oct((path.parent / f"{path.name}.demo-accounts").stat().st_mode & 0o777) == "0o600"
    with open_store(path, read_only=True) as store:
        rows = store.con.execute("SELECT u.username, u.role, u.region_adcode, r.mountain26 FROM users u "
                                 "JOIN regions r ON r.adcode = u.region_adcode ORDER BY 1").fetchall()
    assert rows == [("demo-admin", "admin", "330000", False), ("demo-jingning", "county", "331127", True),
                    ("demo-lishui", "city", "331100", False)]
    again = shanhai("demo", "--db", str(path), "--json")
    accounts = json.loads(again.stdout)["accounts"]
    assert [a["username"] for a in accounts] == ["demo-admin", "demo-lishui", "demo-jingning"]
    assert {a["password"] for a in accounts} == {password}
