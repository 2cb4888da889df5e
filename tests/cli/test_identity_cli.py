"""``shanhai users`` for issue 13: accounts added here must change their password at the first
sign-in; unlock, reset-2fa and force-change (audited); the security settings shown and overridden
with ``--set KEY=VALUE`` (audited, one-line errors for bad keys or values)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

from shanhai.store import accounts, load_reference, open_store

PW = "Cli-identity-pass-1"


def shanhai(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SHANHAI_DB"}
    return subprocess.run([sys.executable, "-m", "shanhai", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "identity.duckdb"
    with open_store(path) as store:
        load_reference(store.con)
    return path


def test_add_forces_a_change_and_the_policy_applies(db):
    r = shanhai("users", "add", "jingning", "--role", "county", "--region", "331127", "--password-stdin",
                "--db", str(db), stdin="weakpassword\n")
    assert r.returncode == 2 and "too simple" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = shanhai("users", "add", "jingning", "--role", "county", "--region", "331127", "--password-stdin",
                "--db", str(db), "--json", stdin=PW + "\n")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["must_change_password"] is True
    table = shanhai("users", "list", "--db", str(db)).stdout
    assert "须改密" in table and "未启用 off" in table                   # the table shows both (wrapped at 120)


def test_unlock_reset_2fa_and_force_change(db):
    with open_store(db) as store:
        accounts.add_user(store, "boss", PW, "admin", None)
        for i in range(5):
            with pytest.raises(accounts.SignInError):
                accounts.authenticate(store, "boss", "Wrong-pass-1", f"10.5.0.{i}")
        user = accounts.get_user(store, "boss")
        secret = accounts.totp_begin(store, user)
        accounts.totp_confirm(store, user, pyotp.TOTP(secret).now())
    listed = json.loads(shanhai("users", "list", "--db", str(db), "--json").stdout)
    assert listed[0]["locked_until"] and listed[0]["totp_enabled"]
    for command, said in [("unlock", "Unlocked user boss"), ("reset-2fa", "Two-factor sign-in of boss reset"),
                          ("force-change", "must change their password")]:
        r = shanhai("users", command, "boss", "--db", str(db))
        assert r.returncode == 0 and said in r.stdout, r.stderr
    listed = json.loads(shanhai("users", "list", "--db", str(db), "--json").stdout)
    assert not listed[0]["locked_until"] and not listed[0]["totp_enabled"] and listed[0]["must_change_password"]
    with open_store(db, read_only=True) as store:
        rows = store.con.execute("SELECT action, username FROM audit_log WHERE target = 'boss' AND action IN "
                                 "('unlock', 'user.reset_2fa', 'user.force_change') ORDER BY seq").fetchall()
    assert [a for a, _ in rows] == ["unlock", "user.reset_2fa", "user.force_change"]
    assert all(who.startswith("cli:") for _, who in rows)
    r = shanhai("users", "unlock", "nobody", "--db", str(db))
    assert r.returncode == 2 and "there is no user 'nobody'" in r.stderr


def test_settings_show_and_set(db):
    shown = {r["key"]: r for r in json.loads(shanhai("users", "settings", "--db", str(db), "--json").stdout)}
    assert shown["lockout_minutes"]["value"] == 30 and shown["totp_required_roles"]["value"] == ["admin", "province"]
    r = shanhai("users", "settings", "--set", "lockout_minutes=45", "--set", "totp_required_roles=admin,city",
                "--db", str(db), "--json")
    assert r.returncode == 0, r.stderr
    shown = {x["key"]: x for x in json.loads(r.stdout)}
    assert shown["lockout_minutes"] == {"key": "lockout_minutes", "value": 45, "default": 30, "overridden": True}
    assert shown["totp_required_roles"]["value"] == ["admin", "city"]
    table = shanhai("users", "settings", "--db", str(db)).stdout
    assert "lockout_minutes" in table and "数据库 database" in table
    for bad, message in [("lockout_minutes", "write KEY=VALUE"), ("idle_minutes=0", "greater than or equal to 1"),
                         ("colour=blue", "unknown security setting")]:
        r = shanhai("users", "settings", "--set", bad, "--db", str(db))
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    with open_store(db, read_only=True) as store:
        audited = store.con.execute("SELECT target FROM audit_log WHERE action = 'security.settings' "
                                    "ORDER BY seq").fetchall()
    assert audited == [("lockout_minutes",), ("totp_required_roles",)]
