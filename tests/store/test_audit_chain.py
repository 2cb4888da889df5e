"""The audit chain after issue 13: subject address and result covered by the hash (chain version 2)
with old version-1 records still verifiable; `shanhai audit verify` naming the first record altered,
removed or inserted directly in the database file; retention and archiving; append-only code."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from shanhai.cli.app import app
from shanhai.errors import ShanhaiError
from shanhai.store import audit, open_store
from audit_helpers import version_1_chain

SRC = Path(__file__).resolve().parents[2] / "src" / "shanhai"


def _five(con) -> None:
    audit.append(con, "sign_in", username="zhang", detail={"client": "10.0.0.7"})
    audit.append(con, "sign_in.failed", username="-", target="li", detail={"client": "10.0.0.8"})
    audit.append(con, "view_enterprise", username="zhang", target="91330100799655058B",
                 detail={"client": "10.0.0.7", "page": "mujun"})
    audit.append(con, "export", username="zhang", target="county:330127", detail={"format": "xlsx"})
    audit.append(con, "sign_out", username="zhang", detail={"client": "10.0.0.7"})


def _verify(db: Path) -> tuple[int, dict]:
    res = CliRunner().invoke(app, ["audit", "verify", "--json", "--db", str(db)])
    return res.exit_code, json.loads(res.stdout)


@pytest.fixture
def filled(db_path):
    with open_store(db_path) as store:
        _five(store.con)
    return db_path


def test_records_carry_subject_address_and_result(store):
    _five(store.con)
    rows = store.con.execute("SELECT username, client, action, result, chain_version FROM audit_log ORDER BY seq").fetchall()
    assert rows[0] == ("zhang", "10.0.0.7", "sign_in", "success", 2)
    assert rows[1][1:4] == ("10.0.0.8", "sign_in.failed", "failure")
    assert rows[3][1] is None  # a web call without an address is not given one
    audit.append(store.con, "db_init")
    assert store.con.execute("SELECT client FROM audit_log WHERE action = 'db_init'").fetchone()[0] == "local"
    assert audit.check(store.con)[0] is None


@pytest.mark.parametrize("column, value", [("client", "'10.9.9.9'"), ("result", "'success'"),
                                           ("username", "'admin'"), ("chain_version", "1")])
def test_the_new_fields_are_covered(store, column, value):
    _five(store.con)
    store.con.execute(f"UPDATE audit_log SET {column} = {value} WHERE seq = 2")
    finding, _ = audit.check(store.con)
    assert (finding.seq, finding.kind) == (2, "altered")


def test_version_1_records_stay_verifiable(db_path):
    """Records written before migration 0020 keep their version-1 hash and still verify."""
    prev = version_1_chain(db_path)
    with open_store(db_path) as store:   # migrates to 0020
        assert store.con.execute("SELECT list(chain_version ORDER BY seq) FROM audit_log").fetchone()[0] == [1, 1]
        audit.append(store.con, "sign_in", username="zhang")
        assert audit.check(store.con)[0] is None
        assert store.con.execute("SELECT chain_version, prev_hash FROM audit_log WHERE seq = 3").fetchone() == (2, prev)
        store.con.execute("UPDATE audit_log SET target = 'b.csv' WHERE seq = 1")
        assert audit.verify(store.con) == 1


def test_verify_names_a_record_altered_in_the_file(filled):
    assert _verify(filled)[0] == 0
    con = duckdb.connect(str(filled))
    con.execute("UPDATE audit_log SET target = 'county:330100' WHERE seq = 4")
    con.close()
    code, doc = _verify(filled)
    assert code == 1 and doc["ok"] is False
    assert doc["finding"]["seq"] == 4 and doc["finding"]["kind"] == "altered"
    res = CliRunner().invoke(app, ["audit", "verify", "--db", str(filled)])
    assert res.exit_code == 1 and "record 4 altered" in res.stdout


def test_verify_names_a_record_removed_from_the_file(filled):
    con = duckdb.connect(str(filled))
    con.execute("DELETE FROM audit_log WHERE seq = 3")
    con.close()
    code, doc = _verify(filled)
    assert code == 1
    assert doc["finding"]["kind"] == "removed" and doc["finding"]["seq"] == 3
    assert "record 3 removed" in doc["finding"]["message"]


def test_verify_names_the_first_record_removed(filled):
    """(Removing the newest records leaves a valid shorter chain: that shows against a backup's
    audit head or the shipped log copy — see docs/security.md.)"""
    con = duckdb.connect(str(filled))
    con.execute("DELETE FROM audit_log WHERE seq = 1")
    con.close()
    code, doc = _verify(filled)
    assert (code, doc["finding"]["seq"], doc["finding"]["kind"]) == (1, 1, "removed")


def test_verify_names_a_record_inserted_in_the_file(filled):
    con = duckdb.connect(str(filled))
    head = con.execute("SELECT hash FROM audit_log WHERE seq = 5").fetchone()[0]
    con.execute("INSERT INTO audit_log (seq, occurred_at, username, client, action, target, detail, result, "
                "chain_version, prev_hash, hash) VALUES (6, now()::TIMESTAMP, 'zhang', '10.0.0.7', 'sign_out', "
                "NULL, NULL, 'success', 2, ?, ?)", [head, hashlib.sha256(b"forged").hexdigest()])
    con.close()
    code, doc = _verify(filled)
    assert code == 1 and doc["finding"]["seq"] == 6
    assert "inserted" in doc["finding"]["message"]


def test_verify_names_a_record_slotted_into_the_middle(filled):
    """Records renumbered to make room for a forged one: the forged record is named."""
    con = duckdb.connect(str(filled))
    con.execute("UPDATE audit_log SET seq = seq + 10 WHERE seq >= 3")
    con.execute("UPDATE audit_log SET seq = seq - 9 WHERE seq >= 13")
    prev = con.execute("SELECT hash FROM audit_log WHERE seq = 2").fetchone()[0]
    con.execute("INSERT INTO audit_log (seq, occurred_at, username, client, action, target, detail, result, "
                "chain_version, prev_hash, hash) VALUES (3, now()::TIMESTAMP, 'zhang', NULL, 'export', 'x', NULL, "
                "'success', 2, ?, ?)", [prev, "f" * 64])
    con.close()
    code, doc = _verify(filled)
    assert code == 1 and doc["finding"]["seq"] == 3


# ---- retention and archives --------------------------------------------------------------------

def _old(con, days_ago: float, action: str = "sign_in") -> None:
    at = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=days_ago)
    audit._write(con, at, action, username="zhang", target=None, detail=None, client="10.0.0.7", result="success")


def _aged(store) -> None:
    for days in (400, 300, 200, 181):
        _old(store.con, days)
    for days in (179, 10):
        _old(store.con, days, "export")
    audit.append(store.con, "sign_out", username="zhang")


def test_archive_moves_only_records_past_retention(store, tmp_path):
    _aged(store)
    listing = audit.archive(store.con, tmp_path / "arc")
    assert (listing["first_seq"], listing["last_seq"], listing["rows"]) == (1, 4, 4)
    left = [s for (s,) in store.con.execute("SELECT seq FROM audit_log ORDER BY seq").fetchall()]
    assert left[:3] == [5, 6, 7] and left[-1] == 8  # 8: the archive run itself
    lines = Path(listing["path"]).read_text("utf-8").splitlines()
    assert [json.loads(x)["seq"] for x in lines] == [1, 2, 3, 4]
    finding, summary = audit.check(store.con)
    assert finding is None and summary["archived"] == 4 and summary["live"] == 4
    assert audit.archive(store.con, tmp_path / "arc") is None  # nothing else old enough
    audit.append(store.con, "sign_in", username="li")
    assert audit.check(store.con)[0] is None


def test_retention_never_under_six_months(store, tmp_path, monkeypatch):
    _aged(store)
    with pytest.raises(ShanhaiError, match="shorter than the minimum 180 days"):
        audit.archive(store.con, tmp_path, retention=30)
    monkeypatch.setenv(audit.RETENTION_ENV, "90")
    with pytest.raises(ShanhaiError, match="shorter than the minimum"):
        audit.archive(store.con, tmp_path)
    monkeypatch.setenv(audit.RETENTION_ENV, "250")
    assert audit.archive(store.con, tmp_path)["rows"] == 2      # 400 and 300 days old only
    assert store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 6


def test_verify_checks_the_archive_files(store, tmp_path):
    _aged(store)
    path = Path(audit.archive(store.con, tmp_path)["path"])
    lines = path.read_text("utf-8").splitlines()
    rec = json.loads(lines[1])
    rec["client"] = "10.6.6.6"
    lines[1] = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n", "utf-8")
    finding, _ = audit.check(store.con)
    assert (finding.seq, finding.kind) == (2, "altered")
    lines.pop(1)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    assert audit.check(store.con)[0].kind == "removed"
    path.unlink()
    finding, _ = audit.check(store.con)
    assert finding.kind == "archive" and "missing" in finding.message


def test_archive_refuses_a_broken_chain(store, tmp_path):
    _aged(store)
    store.con.execute("UPDATE audit_log SET username = 'x' WHERE seq = 2")
    with pytest.raises(ShanhaiError, match="archive refused"):
        audit.archive(store.con, tmp_path)
    assert store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 7


def test_cli_archive_and_list(db_path, tmp_path):
    with open_store(db_path) as store:
        _aged(store)
    res = CliRunner().invoke(app, ["audit", "archive", "--to", str(tmp_path / "a"), "--retention-days", "180",
                                   "--json", "--db", str(db_path)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["archived"] and doc["rows"] == 4
    res = CliRunner().invoke(app, ["audit", "list", "--action", "audit.", "--json", "--db", str(db_path)])
    assert [r["action"] for r in json.loads(res.stdout)] == ["audit.archive"]
    assert _verify(db_path)[0] == 0


# ---- append-only -------------------------------------------------------------------------------

_MUTATION = re.compile(r"\b(UPDATE\s+\"?audit_log|DELETE\s+FROM\s+\"?audit_log|TRUNCATE\s+\"?audit_log|"
                       r"DROP\s+TABLE\s+(IF\s+EXISTS\s+)?\"?audit_log|ALTER\s+TABLE\s+\"?audit_log)", re.I)


def test_no_code_path_updates_or_deletes_audit_records():
    """Only shanhai.store.audit.archive removes records (those past retention); migrations may only
    add columns (0020; 0024 the key id of keyed records)."""
    hits = []
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in (".py", ".sql") or not path.is_file():
            continue
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if _MUTATION.search(line):
                hits.append((path.relative_to(SRC).as_posix(), line.strip()))
    allowed = {("store/audit.py", 'con.execute(f"DELETE FROM audit_log WHERE seq BETWEEN {int(first)} AND {int(last)} "')}
    added = {(p, ln) for p, ln in hits if p.startswith("store/migrations/") and "ADD COLUMN" in ln}
    assert set(hits) - added == allowed
    assert {p for p, _ in added} == {"store/migrations/0020_audit.sql", "store/migrations/0024_audit_key.sql"}
    assert {ln for p, ln in added if p.endswith("0024_audit_key.sql")} == {"ALTER TABLE audit_log ADD COLUMN key_id VARCHAR;"}


def test_the_only_delete_is_bounded_by_the_retention_cutoff():
    text = (SRC / "store" / "audit.py").read_text("utf-8")
    start = text.index("DELETE FROM audit_log")
    assert "occurred_at < {values(cutoff)}" in text[start:start + 200]
    assert "cutoff = now - timedelta(days=days)" in text and "days = retention_days(retention)" in text
