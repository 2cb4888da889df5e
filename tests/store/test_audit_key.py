"""The keyed audit chain (chain version 3, 等保 GB/T 22239-2019 §8.1.4.3 c): with an audit key the
hash is HMAC-SHA256 under it, so someone who can write the database file but lacks the key cannot
recompute the chain after an edit — the control test shows that without the key they can."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from shanhai.cli.app import app
from shanhai.errors import ShanhaiError
from shanhai.store import audit, open_store
from audit_helpers import version_1_chain

KEY_BYTES = bytes(range(32))
KEY = base64.b64encode(KEY_BYTES).decode()                 # as `openssl rand -base64 32` writes one
OTHER_BYTES = hashlib.sha256(b"another key").digest()
OTHER = OTHER_BYTES.hex()                                  # the same length, written as hex
KEY_ID = audit.key_id(KEY_BYTES)
OTHER_ID = audit.key_id(OTHER_BYTES)


@pytest.fixture(autouse=True)
def _no_key_from_outside(monkeypatch):
    for name in (audit.KEY_ENV, audit.KEY_FILE_ENV, audit.OLD_KEYS_ENV):
        monkeypatch.delenv(name, raising=False)


def _five(con) -> None:
    audit.append(con, "sign_in", username="zhang", detail={"client": "10.0.0.7"})
    audit.append(con, "import", username="cli:li", target="企业名录.xlsx", detail={"rows": 1200})
    audit.append(con, "export", username="zhang", target="county:330127", detail={"format": "xlsx"})
    audit.append(con, "view_enterprise", username="zhang", target="91330100799655058B")
    audit.append(con, "sign_out", username="zhang", detail={"client": "10.0.0.7"})


def _records(con) -> list[dict]:
    return list(audit._live(con))


def _payload(rec: dict, version: int) -> list:
    at = rec["occurred_at"].isoformat(timespec="microseconds")
    fields = [rec["prev_hash"], rec["seq"], at, rec["username"], rec["client"], rec["action"], rec["target"],
              rec["detail"], rec["result"]]
    return [3, rec["key_id"], *fields] if version == 3 else [2, *fields]


def _text(payload: list) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _rewrite_from(con, seq: int, *, target: str, sign) -> None:
    """What an attacker with write access to the file does: edit record ``seq`` and recompute the
    hash of it and of every later record, each chaining to the one before. ``sign(rec)`` returns
    (chain_version, key_id, hash) for the rewritten record."""
    prev = None
    for rec in _records(con):
        if rec["seq"] < seq:
            prev = rec["hash"]
            continue
        if rec["seq"] == seq:
            rec["target"] = target
        rec["prev_hash"] = prev
        version, kid, digest = sign(rec)
        con.execute("UPDATE audit_log SET target = ?, prev_hash = ?, chain_version = ?, key_id = ?, hash = ? "
                    "WHERE seq = ?", [rec["target"], prev, version, kid, digest, rec["seq"]])
        prev = digest


def _plain_v2(rec):
    return 2, None, hashlib.sha256(_text(_payload(rec, 2))).hexdigest()


def _v3_keeping_the_label(key: bytes):
    """The record keeps its version 3 and key id; its digest is a plain sha256 or an HMAC under
    ``key``."""
    def sign(rec):
        payload = _text(_payload(rec, 3))
        return 3, rec["key_id"], (hmac.new(key, payload, hashlib.sha256).hexdigest() if key
                                  else hashlib.sha256(payload).hexdigest())
    return sign


def _v3_own_key(key: bytes):
    def sign(rec):
        rec["key_id"] = audit.key_id(key)
        return 3, rec["key_id"], hmac.new(key, _text(_payload(rec, 3)), hashlib.sha256).hexdigest()
    return sign


def _verify(db: Path) -> tuple[int, dict]:
    res = CliRunner().invoke(app, ["audit", "verify", "--json", "--db", str(db)])
    return res.exit_code, json.loads(res.stdout)


# ---- writing --------------------------------------------------------------------------------------

def test_a_keyed_record_is_an_hmac_over_the_documented_fields(store, monkeypatch):
    """Version 3: hash = HMAC-SHA256(key, [3, key_id, prev_hash, seq, occurred_at, username, client,
    action, target, detail, result]); key_id = sha256("shanhai-audit-key-id" + key)[:8 hex]."""
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _five(store.con)
    recs = _records(store.con)
    assert {(r["chain_version"], r["key_id"]) for r in recs} == {(3, KEY_ID)}
    assert KEY_ID == hashlib.sha256(b"shanhai-audit-key-id" + KEY_BYTES).hexdigest()[:8]
    for rec in recs:
        payload = _text(_payload(rec, 3))
        assert rec["hash"] == hmac.new(KEY_BYTES, payload, hashlib.sha256).hexdigest()
        assert rec["hash"] != hashlib.sha256(payload).hexdigest()
    # the key id is inside the MAC: the same record labelled with another key id has another digest
    relabelled = {**recs[2], "key_id": OTHER_ID}
    assert audit.record_digest(relabelled, KEY_BYTES) != recs[2]["hash"]
    finding, summary = audit.check(store.con)
    assert finding is None
    assert (summary["key_id"], summary["keyed"], summary["keyed_from"], summary["unverifiable"]) == (KEY_ID, 5, 1, 0)


def test_without_a_key_records_stay_version_2(store):
    _five(store.con)
    assert {(r["chain_version"], r["key_id"]) for r in _records(store.con)} == {(2, None)}
    finding, summary = audit.check(store.con)
    assert finding is None and (summary["key_id"], summary["keyed"]) == (None, 0)


def test_hex_base64_and_a_key_file_are_the_same_key(store, monkeypatch, tmp_path):
    assert audit.parse_key(KEY) == audit.parse_key(KEY_BYTES.hex()) == audit.parse_key(KEY_BYTES.hex().upper())
    assert audit.parse_key(base64.urlsafe_b64encode(KEY_BYTES).decode()) == KEY_BYTES
    assert audit.parse_key(f"  {KEY}\n") == KEY_BYTES
    path = tmp_path / "audit.key"                  # as systemd's LoadCredential= hands it over
    path.write_text(KEY + "\n", "utf-8")
    monkeypatch.setenv(audit.KEY_FILE_ENV, str(path))
    assert audit.audit_keys().current_id == KEY_ID
    audit.append(store.con, "sign_in", username="zhang")
    monkeypatch.delenv(audit.KEY_FILE_ENV)
    monkeypatch.setenv(audit.KEY_ENV, KEY_BYTES.hex())
    audit.append(store.con, "sign_out", username="zhang")
    assert [r["key_id"] for r in _records(store.con)] == [KEY_ID, KEY_ID]
    assert audit.check(store.con)[0] is None


@pytest.mark.parametrize("value, says", [
    ("not a key at all!", "is not base64 or hex"),
    (base64.b64encode(bytes(16)).decode(), "holds 16 bytes"),        # too short
    (bytes(31).hex(), "holds 31 bytes"),
    ("abc", "is not base64 or hex"),                                   # odd hex, not base64 either
])
def test_a_malformed_key_is_one_sentence(store, monkeypatch, value, says):
    monkeypatch.setenv(audit.KEY_ENV, value)
    with pytest.raises(ShanhaiError) as caught:
        audit.append(store.con, "sign_in", username="zhang")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("审计密钥无效 SHANHAI_AUDIT_KEY ")
    assert says in message and "openssl rand -base64 32" in message and "at least 32" in message
    assert value not in message                                        # never echoes key material
    assert store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0
    with pytest.raises(ShanhaiError, match="审计密钥无效"):
        audit.check(store.con)


def test_key_settings_that_cannot_be_used(store, monkeypatch, tmp_path):
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    monkeypatch.setenv(audit.KEY_FILE_ENV, str(tmp_path / "audit.key"))
    with pytest.raises(ShanhaiError, match="both SHANHAI_AUDIT_KEY and SHANHAI_AUDIT_KEY_FILE are set"):
        audit.audit_keys()
    monkeypatch.delenv(audit.KEY_ENV)
    with pytest.raises(ShanhaiError, match=r"审计密钥文件无法读取 SHANHAI_AUDIT_KEY_FILE names .*audit.key, which cannot"):
        audit.audit_keys()
    monkeypatch.delenv(audit.KEY_FILE_ENV)
    monkeypatch.setenv(audit.OLD_KEYS_ENV, f"{OTHER},short")
    with pytest.raises(ShanhaiError, match="SHANHAI_AUDIT_KEY_OLD entry 2 "):
        audit.audit_keys()


def test_the_command_line_says_a_malformed_key_in_one_line(db_path):
    with open_store(db_path) as store:
        _five(store.con)
    env = {**os.environ, audit.KEY_ENV: "0123456789abcdef"}
    env.pop(audit.KEY_FILE_ENV, None)
    done = subprocess.run([sys.executable, "-m", "shanhai", "audit", "verify", "--db", str(db_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("错误 error: 审计密钥无效 SHANHAI_AUDIT_KEY holds 8 bytes")


# ---- an attacker who can write the file but has no key -----------------------------------------

@pytest.mark.parametrize("sign, kind", [
    (_plain_v2, "downgraded"),                           # turned back into version-2 records
    (_v3_keeping_the_label(b""), "altered"),            # still labelled keyed, plain sha256
    (_v3_keeping_the_label(OTHER_BYTES), "altered"),    # still labelled with the key, another key's MAC
])
def test_a_rewrite_without_the_key_is_found_at_the_edited_record(store, monkeypatch, sign, kind):
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _five(store.con)
    _rewrite_from(store.con, 3, target="county:330100", sign=sign)
    finding, _ = audit.check(store.con)
    assert (finding.seq, finding.kind) == (3, kind)
    assert audit.verify(store.con) == 3
    if kind == "downgraded":
        assert "record 3 carries no audit key but follows keyed record 2" in finding.message


def test_a_rewrite_under_the_attackers_own_key_is_named_by_its_key_id(store, monkeypatch):
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _five(store.con)
    _rewrite_from(store.con, 3, target="county:330100", sign=_v3_own_key(OTHER_BYTES))
    finding, summary = audit.check(store.con)
    assert (finding.seq, finding.kind) == (3, "unverifiable")
    assert f"record 3 was written with audit key {OTHER_ID}, which is not the configured key ({KEY_ID})" \
        in finding.message
    assert summary["unknown_keys"] == [OTHER_ID] and summary["unverifiable"] == 3 and summary["keyed"] == 2


def test_control_without_a_key_the_same_rewrite_goes_unnoticed(store):
    """Why the key matters: a version-2 chain edited and recomputed with sha256 verifies."""
    _five(store.con)
    _rewrite_from(store.con, 3, target="county:330100", sign=_plain_v2)
    assert store.con.execute("SELECT target FROM audit_log WHERE seq = 3").fetchone()[0] == "county:330100"
    assert audit.check(store.con)[0] is None


@pytest.mark.parametrize("kid, kind", [(None, "altered"), ("deadbeef", "unverifiable")])
def test_the_key_id_column_is_bound(store, monkeypatch, kid, kind):
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    monkeypatch.setenv(audit.OLD_KEYS_ENV, OTHER)
    _five(store.con)
    store.con.execute(f"UPDATE audit_log SET key_id = {'NULL' if kid is None else repr(kid)} WHERE seq = 2")
    assert audit.check(store.con)[0].seq == 2 and audit.check(store.con)[0].kind == kind
    store.con.execute(f"UPDATE audit_log SET key_id = '{OTHER_ID}' WHERE seq = 2")    # a key we hold: wrong MAC
    assert (audit.check(store.con)[0].seq, audit.check(store.con)[0].kind) == (2, "altered")


# ---- mixed chains, missing and changed keys ----------------------------------------------------

def test_a_mixed_chain_verifies_as_one(db_path, monkeypatch):
    """Version-1 records (before 0020), version-2 records, then keyed ones after the key was set."""
    version_1_chain(db_path)
    with open_store(db_path) as store:
        audit.append(store.con, "sign_in", username="zhang")
        monkeypatch.setenv(audit.KEY_ENV, KEY)
        audit.append(store.con, "export", username="zhang", target="county:330127")
        audit.append(store.con, "sign_out", username="zhang")
        versions = store.con.execute("SELECT list(chain_version ORDER BY seq), list(key_id ORDER BY seq) "
                                     "FROM audit_log").fetchone()
        assert versions == ([1, 1, 2, 3, 3], [None, None, None, KEY_ID, KEY_ID])
        finding, summary = audit.check(store.con)
        assert finding is None and (summary["keyed"], summary["keyed_from"], summary["live"]) == (2, 4, 5)
        store.con.execute("UPDATE audit_log SET target = 'b.csv' WHERE seq = 1")     # the old part still counts
        assert audit.verify(store.con) == 1
    monkeypatch.delenv(audit.KEY_ENV)
    assert _verify(db_path)[1]["finding"]["kind"] == "altered"


def test_without_the_key_keyed_records_are_unverifiable_not_altered(db_path, monkeypatch):
    with open_store(db_path) as store:
        audit.append(store.con, "sign_in", username="zhang")
        monkeypatch.setenv(audit.KEY_ENV, KEY)
        _five(store.con)
    assert _verify(db_path)[0] == 0
    monkeypatch.delenv(audit.KEY_ENV)
    code, doc = _verify(db_path)
    assert (code, doc["ok"], doc["outcome"]) == (3, False, "unverifiable")
    assert (doc["finding"]["seq"], doc["finding"]["kind"]) == (2, "unverifiable")
    assert doc["unverifiable"] == 5 and doc["unknown_keys"] == [KEY_ID]
    assert doc["finding"]["message"].startswith("未配置审计密钥 no audit key is configured: 5 keyed record(s) from record 2")
    res = CliRunner().invoke(app, ["audit", "verify", "--db", str(db_path)])
    assert res.exit_code == 3 and "无法校验" in res.stdout and "未配置审计密钥" in res.stdout
    info = json.loads(CliRunner().invoke(app, ["db", "info", "--json", "--db", str(db_path)]).stdout)
    assert info["audit_chain"].startswith("unverifiable from entry 2")
    # a broken link is still a break, key or no key
    con = duckdb.connect(str(db_path))
    con.execute("DELETE FROM audit_log WHERE seq = 4")
    con.close()
    code, doc = _verify(db_path)
    assert (code, doc["outcome"], doc["finding"]["kind"], doc["finding"]["seq"]) == (1, "broken", "removed", 4)


def test_a_keyed_log_refuses_unkeyed_writes(store, monkeypatch):
    """Writing version 2 after keyed records would look like a rewrite without the key (and let
    one pass): a process without the key may not append."""
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _five(store.con)
    monkeypatch.delenv(audit.KEY_ENV)
    with pytest.raises(ShanhaiError) as caught:
        audit.append(store.con, "db_backup")
    assert str(caught.value).startswith(f"审计日志已启用密钥 the audit log is keyed (record 5 was written with audit key {KEY_ID})")
    with pytest.raises(ShanhaiError, match="审计日志已启用密钥"):
        audit.check_writable(store.con)
    assert store.con.execute("SELECT max(seq) FROM audit_log").fetchone()[0] == 5


def test_a_new_key_verifies_the_old_records_with_the_old_key(store, monkeypatch, tmp_path):
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _five(store.con)
    monkeypatch.setenv(audit.KEY_ENV, OTHER)                # rotated: the old key not given
    audit.append(store.con, "sign_in", username="li")
    finding, summary = audit.check(store.con)
    assert (finding.seq, finding.kind) == (1, "unverifiable")
    assert f"record 1 was written with audit key {KEY_ID}, which is not the configured key ({OTHER_ID})" in finding.message
    assert (summary["keyed"], summary["unverifiable"], summary["unknown_keys"]) == (1, 5, [KEY_ID])
    monkeypatch.setenv(audit.OLD_KEYS_ENV, KEY)
    finding, summary = audit.check(store.con)
    assert finding is None and summary["keyed"] == 6
    store.con.execute("UPDATE audit_log SET detail = '{\"rows\": 1}' WHERE seq = 2")
    assert (audit.check(store.con)[0].seq, audit.check(store.con)[0].kind) == (2, "altered")


# ---- archives ---------------------------------------------------------------------------------------

def _aged(con) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for days in (400, 300, 200):
        audit._write(con, now - timedelta(days=days), "sign_in", username="zhang", target=None, detail=None,
                     client="10.0.0.7", result="success")
    audit.append(con, "sign_out", username="zhang")


def test_archives_carry_keyed_records_and_check_verifies_them_with_the_key(store, monkeypatch, tmp_path):
    audit._write(store.con, datetime(2025, 1, 2, 9), "sign_in", username="old", target=None, detail=None,
                 client="local", result="success")                                  # unkeyed, before the key
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _aged(store.con)
    listing = audit.archive(store.con, tmp_path / "arc")
    assert (listing["first_seq"], listing["last_seq"]) == (1, 4)
    path = Path(listing["path"])
    lines = [json.loads(x) for x in path.read_text("utf-8").splitlines()]
    assert [(r["chain_version"], r["key_id"]) for r in lines] == [(2, None), (3, KEY_ID), (3, KEY_ID), (3, KEY_ID)]
    finding, summary = audit.check(store.con)
    assert finding is None and summary["archived"] == 4 and summary["keyed"] == 5   # 3 archived, 2 live
    # without the key the archived keyed records are unverifiable (and nothing may be archived or written)
    monkeypatch.delenv(audit.KEY_ENV)
    finding, _ = audit.check(store.con)
    assert (finding.seq, finding.kind) == (2, "unverifiable")
    with pytest.raises(ShanhaiError, match="审计日志已启用密钥"):
        audit.archive(store.con, tmp_path / "arc2")
    # an edit inside the archive, the file's sha256 in the listing updated too, and the chain recomputed
    # with sha256 from there on: found at that record with the key
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    lines[2]["client"] = "10.6.6.6"
    lines[2]["hash"] = hashlib.sha256(_text([3, lines[2]["key_id"], lines[2]["prev_hash"], lines[2]["seq"],
                                             lines[2]["occurred_at"], lines[2]["username"], lines[2]["client"],
                                             lines[2]["action"], lines[2]["target"], lines[2]["detail"],
                                             lines[2]["result"]])).hexdigest()
    lines[3]["prev_hash"] = lines[2]["hash"]
    path.write_text("".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in lines), "utf-8")
    store.con.execute(f"UPDATE audit_archives SET sha256 = '{audit._sha256(path)}'")
    finding, _ = audit.check(store.con)
    assert (finding.seq, finding.kind) == (3, "altered")


def test_records_of_a_retired_key_are_archived_unchanged(store, monkeypatch, tmp_path):
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _aged(store.con)
    monkeypatch.setenv(audit.KEY_ENV, OTHER)                 # the old key lost: its records cannot be checked
    listing = audit.archive(store.con, tmp_path / "arc")
    assert listing["rows"] == 3
    finding, summary = audit.check(store.con)
    assert (finding.kind, finding.seq, summary["archived"], summary["unknown_keys"]) == ("unverifiable", 1, 3, [KEY_ID])
    monkeypatch.setenv(audit.OLD_KEYS_ENV, KEY)
    assert audit.check(store.con)[0] is None
