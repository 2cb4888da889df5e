"""/admin/audit?verify=1 with the keyed audit chain (chain version 3): keyed, unkeyed, unverifiable
and broken outcomes, Chinese first; a keyed log refuses to serve without its key."""

from __future__ import annotations

import base64
import csv
import hashlib
import io

import pytest
from fastapi.testclient import TestClient

from shanhai.errors import ShanhaiError
from shanhai.store import accounts, audit, load_reference, open_store
from shanhai.web.app import create_app
from web_helpers import PASSWORD, make_client, sign_in

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER = hashlib.sha256(b"another key").hexdigest()


def _last_verify(app) -> tuple:
    cur = app.state.store.con.cursor()
    try:
        return cur.execute("SELECT detail->>'outcome', result FROM audit_log WHERE action = 'audit.verify' "
                           "ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        cur.close()


def test_the_audit_page_tells_keyed_unkeyed_and_unverifiable(tmp_path, monkeypatch):
    """The key is read at each write and check, so one server shows each outcome as the
    environment changes under it (a real deployment restarts with the new setting)."""
    for name in (audit.KEY_ENV, audit.KEY_FILE_ENV, audit.OLD_KEYS_ENV):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "keyed.duckdb"
    with open_store(path) as store:
        load_reference(store.con)
        accounts.add_user(store, "k-admin", PASSWORD, "admin", None)
    app = create_app(path, secret_key="audit-key-web")
    with TestClient(app):
        admin = make_client(app, "10.91.0.1")
        assert sign_in(admin, "k-admin").status_code == 303

        text = admin.get("/admin/audit?verify=1").text                  # no key: intact, unkeyed
        assert "哈希链完整" in text and 'id="audit-unkeyed"' in text and "未配置审计密钥" in text
        assert _last_verify(app) == ("unkeyed", "success")

        monkeypatch.setenv(audit.KEY_ENV, KEY)                          # keyed from now on
        kid = audit.audit_keys().current_id
        text = admin.get("/admin/audit?verify=1").text
        assert "哈希链完整" in text and 'id="audit-keyed"' in text and f"已配置审计密钥 {kid}" in text
        assert _last_verify(app) == ("keyed", "success")
        export = admin.get("/admin/audit/export?format=csv&action=audit.verify").content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(export)))
        assert rows[0][8] == "链版本 chain_version" and rows[0][-1] == "审计密钥标识 key_id"
        assert [(r[8], r[-1]) for r in rows[1:]] == [("2", ""), ("3", kid)]     # the two checks so far

        monkeypatch.setenv(audit.KEY_ENV, OTHER)                        # a new key, the old one lost
        text = admin.get("/admin/audit?verify=1").text
        assert 'id="audit-unverifiable"' in text and "无法校验" in text and kid in text
        assert "哈希链完整" not in text and "断开" not in text
        assert _last_verify(app) == ("unverifiable", "unverifiable")

        monkeypatch.setenv(audit.OLD_KEYS_ENV, KEY)                     # the old key back, for checking
        assert "哈希链完整" in admin.get("/admin/audit?verify=1").text
        cur = app.state.store.con.cursor()
        try:
            first = cur.execute(f"SELECT min(seq) FROM audit_log WHERE key_id = '{kid}'").fetchone()[0]
            cur.execute(f"UPDATE audit_log SET username = 'someone' WHERE seq = {first}")
        finally:
            cur.close()
        text = admin.get("/admin/audit?verify=1").text
        assert f"哈希链在第 {first} 条记录处断开" in text and 'id="audit-unverifiable"' not in text

    monkeypatch.delenv(audit.KEY_ENV)                                   # a keyed log, no key: no start
    with pytest.raises(ShanhaiError, match="审计日志已启用密钥"):
        with TestClient(create_app(path, secret_key="audit-key-web")):
            pass
