"""The hash-chained audit log: entries chain, verify() names the first entry that does not fit."""

from __future__ import annotations

import hashlib
import json

import pytest

from shanhai.store import audit

ZEROS = "0" * 64


def _entries(con):
    return con.execute(
        "SELECT seq, occurred_at, username, action, target, detail, prev_hash, hash "
        "FROM audit_log ORDER BY seq"
    ).fetchall()


def _append_five(con) -> list[int]:
    return [
        audit.append(con, "sign_in", username="web:zhang"),
        audit.append(con, "import", username="cli:li", target="企业名录.xlsx",
                     detail={"rows": 1200, "sheet": "规上企业"}),
        audit.append(con, "run", username="web:zhang", target="run-7", detail={"policy": "亩均 2023"}),
        audit.append(con, "export", username="web:wang", target="county:330127", detail={"format": "xlsx"}),
        audit.append(con, "sign_out", username="web:zhang"),
    ]


def test_entries_chain(store):
    seqs = _append_five(store.con)
    assert seqs == [1, 2, 3, 4, 5]
    entries = _entries(store.con)
    assert [e[0] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0][6] == ZEROS == audit.GENESIS
    for before, after in zip(entries, entries[1:]):
        assert after[6] == before[7]
    hashes = [e[7] for e in entries]
    assert len(set(hashes)) == 5
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)
    assert [e[3] for e in entries] == ["sign_in", "import", "run", "export", "sign_out"]
    assert audit.verify(store.con) is None


def test_hash_covers_the_documented_fields(store):
    """Chain version 2: hash = sha256 over [2, prev_hash, seq, occurred_at, username, client,
    action, target, detail, result] (version 1, before migration 0020, is in test_audit_chain.py)."""
    audit.append(store.con, "import", username="cli:li", target="a.csv", detail={"b": 2, "a": 1})
    seq, at, username, action, target, detail, prev_hash, digest = _entries(store.con)[0]
    client, result, version = store.con.execute("SELECT client, result, chain_version FROM audit_log").fetchone()
    assert detail == '{"a": 1, "b": 2}'  # sorted keys
    assert (result, version) == ("success", 2)
    payload = json.dumps(
        [2, prev_hash, seq, at.isoformat(timespec="microseconds"), username, client, action, target, detail,
         result],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert digest == hashlib.sha256(payload.encode("utf-8")).hexdigest()


def test_default_user_is_the_cli_login(store):
    audit.append(store.con, "db_init")
    username = store.con.execute("SELECT username FROM audit_log").fetchone()[0]
    assert username.startswith("cli:") and len(username) > len("cli:")
    assert username == audit.cli_user()


def test_verify_an_empty_log(store):
    assert audit.verify(store.con) is None


def test_chinese_detail_round_trips(store):
    detail = {"企业": "千岛湖精密机械有限公司", "说明": "山海协作 · 飞地", "金额万元": 1234.5678, "空": None}
    audit.append(store.con, "import", username="web:管理员", target="浙江省/淳安县", detail=detail)
    username, target, text = store.con.execute("SELECT username, target, detail FROM audit_log").fetchone()
    assert username == "web:管理员"
    assert target == "浙江省/淳安县"
    assert json.loads(text) == detail
    assert "千岛湖" in text  # stored as text, not \\u escapes
    assert audit.verify(store.con) is None


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_log SET target = 'run-8' WHERE seq = 3",
        "UPDATE audit_log SET detail = '{\"policy\": \"亩均 2024\"}' WHERE seq = 3",
        "UPDATE audit_log SET detail = NULL WHERE seq = 3",
        "UPDATE audit_log SET username = 'web:admin' WHERE seq = 3",
        "UPDATE audit_log SET action = 'export' WHERE seq = 3",
        "UPDATE audit_log SET occurred_at = occurred_at - INTERVAL 1 SECOND WHERE seq = 3",
        "UPDATE audit_log SET hash = repeat('f', 64) WHERE seq = 3",
    ],
)
def test_verify_names_the_altered_entry(store, tamper):
    _append_five(store.con)
    assert audit.verify(store.con) is None
    store.con.execute(tamper)
    assert audit.verify(store.con) == 3


def test_verify_names_the_first_of_several_altered_entries(store):
    _append_five(store.con)
    store.con.execute("UPDATE audit_log SET target = 'x' WHERE seq IN (2, 4)")
    assert audit.verify(store.con) == 2


def test_altering_the_first_entry(store):
    _append_five(store.con)
    store.con.execute("UPDATE audit_log SET username = 'web:other' WHERE seq = 1")
    assert audit.verify(store.con) == 1


def test_verify_notices_a_deleted_middle_entry(store):
    _append_five(store.con)
    store.con.execute("DELETE FROM audit_log WHERE seq = 3")
    assert audit.verify(store.con) == 4


def test_verify_notices_a_deleted_first_entry(store):
    _append_five(store.con)
    store.con.execute("DELETE FROM audit_log WHERE seq = 1")
    assert audit.verify(store.con) == 2


def test_verify_notices_renumbering_after_a_delete(store):
    _append_five(store.con)
    store.con.execute("DELETE FROM audit_log WHERE seq = 3")
    store.con.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq = 4")
    store.con.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq = 5")
    assert audit.verify(store.con) == 3


def test_append_continues_after_the_last_entry(store):
    _append_five(store.con)
    last_hash = _entries(store.con)[-1][7]
    assert audit.append(store.con, "sign_in", username="web:zhao") == 6
    sixth = _entries(store.con)[-1]
    assert sixth[0] == 6 and sixth[6] == last_hash
    assert audit.verify(store.con) is None
