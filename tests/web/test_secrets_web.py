"""The web side of secrets at rest and of the audit head: TOTP enrolment and sign-in through the
pages with ``SHANHAI_SECRETS_KEY`` (the row holds a token, never the seed; an unreadable seed is the
user's usual failure and one line in the operator's log; no start without the key), and
/admin/audit?verify=1 showing the head and checking an expected one."""

from __future__ import annotations

import base64
import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from shanhai.errors import ShanhaiError
from shanhai.store import accounts, audit, load_reference, open_store, sealed
from shanhai.web.app import create_app
from web_helpers import PASSWORD, csrf_of, make_client, sign_in, totp_code

KEY = base64.b64encode(bytes(range(32))).decode()
KEY_ID = sealed.key_id(bytes(range(32)))


@pytest.fixture(autouse=True)
def _no_key_from_outside(monkeypatch):
    for name in (sealed.KEY_ENV, sealed.KEY_FILE_ENV, sealed.OLD_KEYS_ENV,
                 audit.KEY_ENV, audit.KEY_FILE_ENV, audit.OLD_KEYS_ENV):
        monkeypatch.delenv(name, raising=False)


def _db(tmp_path, *names: str):
    path = tmp_path / "secrets-web.duckdb"
    with open_store(path) as store:
        load_reference(store.con)
        for name in names:
            accounts.add_user(store, name, PASSWORD, "admin", None)
    return path


def _sql(app, sql: str):
    cur = app.state.store.con.cursor()
    try:
        return cur.execute(sql).fetchall()
    finally:
        cur.close()


def _sign_out(client) -> None:
    client.post("/signout", data={"csrf_token": csrf_of(client, "/account")}, follow_redirects=False)


def test_enrolment_and_sign_in_with_a_sealed_seed(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    path = _db(tmp_path, "s-root", "s-boss")
    app = create_app(path, secret_key="secrets-web")
    with TestClient(app):
        root = make_client(app, "10.92.0.1")
        assert sign_in(root, "s-root").status_code == 303                # enrols TOTP through the account page
        boss = make_client(app, "10.92.0.2")
        assert sign_in(boss, "s-boss").status_code == 303
        rows = dict(_sql(app, "SELECT username, totp_secret FROM users"))
        assert all(v.startswith(f"v1:{KEY_ID}:") for v in rows.values())
        _sign_out(root)
        assert sign_in(root, "s-root").status_code == 303                # the code checks against the token
        assert root.get("/account").status_code == 200

        # boss's row now holds root's token: boss's own code no longer works, root's neither
        _sql(app, f"UPDATE users SET totp_secret = '{rows['s-root']}' WHERE username = 's-boss'")
        _sign_out(boss)
        token = csrf_of(boss, "/signin")
        r = boss.post("/signin", data={"username": "s-boss", "password": PASSWORD, "next": "/jobs",
                                       "csrf_token": token}, follow_redirects=False)
        assert r.headers["location"].startswith("/signin/totp")
        with caplog.at_level(logging.ERROR, logger="shanhai.accounts"):
            r = boss.post("/signin/totp", data={"code": totp_code(boss, "s-boss"), "next": "/jobs",
                                                "csrf_token": csrf_of(boss, r.headers["location"])})
        assert r.status_code == 401 and "验证码错误或已使用过" in r.text       # the user's usual failure
        assert "鉴别数据" not in r.text and "Traceback" not in r.text
        lines = [rec.getMessage() for rec in caplog.records if rec.name == "shanhai.accounts"]
        assert len(lines) == 1 and lines[0].startswith("鉴别数据无法解密 the TOTP seed of user s-boss")

    monkeypatch.delenv(sealed.KEY_ENV)                                  # sealed seeds, no key: no start
    with pytest.raises(ShanhaiError, match="鉴别数据已加密 2 account"):
        with TestClient(create_app(path, secret_key="secrets-web")):
            pass


def test_the_audit_page_shows_the_head_and_checks_an_expected_one(tmp_path, monkeypatch):
    path = _db(tmp_path, "h-admin")
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    app = create_app(path, secret_key="audit-head-web")
    with TestClient(app):
        admin = make_client(app, "10.93.0.1")
        assert sign_in(admin, "h-admin").status_code == 303
        text = admin.get("/admin/audit?verify=1").text
        line = re.search(r'id="audit-head">[^<]*<code>([^<]+)</code>', text).group(1)
        seq, digest = line.split()[0].split(":")
        assert (int(seq), digest) in _sql(app, "SELECT seq, hash FROM audit_log")
        assert 'id="audit-expect-head"' in text and "预期链头" in text

        text = admin.get(f"/admin/audit?verify=1&expect_head={seq}:{digest}").text
        assert 'id="audit-head-match"' in text and "与预期链头一致" in text
        assert json.loads(_sql(app, "SELECT detail->>'expect_head' FROM audit_log WHERE action = 'audit.verify' "
                                    "ORDER BY seq DESC LIMIT 1")[0][0]) == {"seq": int(seq), "ok": True}

        # every record rewritten as unkeyed, by someone without the key; the checker has none either
        prev = audit.GENESIS
        for rec in [dict(zip(audit.FIELDS, r)) for r in _sql(app, f"SELECT {', '.join(audit.FIELDS)} "
                                                                   "FROM audit_log ORDER BY seq")]:
            rec.update(chain_version=2, key_id=None, prev_hash=prev)
            rec["hash"] = audit.record_digest(rec)
            _sql(app, f"UPDATE audit_log SET chain_version = 2, key_id = NULL, prev_hash = '{prev}', "
                      f"hash = '{rec['hash']}' WHERE seq = {rec['seq']}")
            prev = rec["hash"]
        monkeypatch.delenv(audit.KEY_ENV)
        assert "哈希链完整" in admin.get("/admin/audit?verify=1").text   # the gap, without the head
        text = admin.get(f"/admin/audit?verify=1&expect_head={seq}:{digest}").text
        assert 'id="audit-head-mismatch"' in text and "与预期链头不符" in text and "哈希链完整" not in text
        assert _sql(app, "SELECT result FROM audit_log WHERE action = 'audit.verify' "
                         "ORDER BY seq DESC LIMIT 1")[0][0] == "chain_broken"

        r = admin.get("/admin/audit?verify=1&expect_head=12:abc")
        assert r.status_code == 422 and "预期链头应为" in r.text
