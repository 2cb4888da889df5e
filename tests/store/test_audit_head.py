"""The audit chain head kept off the host (等保 §8.1.4.3 c): ``shanhai audit head`` prints the newest
record's seq:hash, and ``shanhai audit verify --expect-head SEQ:HASH`` fails when that record is gone
or its hash changed. It closes the keyed chain's known gap — every keyed record rewritten as
unkeyed leaves a chain that verifies as if no key had ever been set (the control test below shows
that verify alone does not notice) — and the removal of the newest records."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shanhai.cli.app import app
from shanhai.errors import ShanhaiError
from shanhai.store import audit, open_store

KEY = base64.b64encode(bytes(range(32))).decode()
LINE = re.compile(r"^(\d+):([0-9a-f]{64}) key_id=([0-9a-f]{8}|-) occurred_at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(autouse=True)
def _no_key_from_outside(monkeypatch):
    for name in (audit.KEY_ENV, audit.KEY_FILE_ENV, audit.OLD_KEYS_ENV):
        monkeypatch.delenv(name, raising=False)


def _five(db: Path) -> None:
    with open_store(db) as store:
        for i, action in enumerate(("sign_in", "import", "export", "view_enterprise", "sign_out")):
            audit.append(store.con, action, username="zhang", target=f"t{i}", detail={"client": "10.0.0.7"})


def _cli(*args: str):
    return CliRunner().invoke(app, ["audit", *args])


def _head(db: Path) -> str:
    res = _cli("head", "--db", str(db))
    assert res.exit_code == 0, res.output
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and LINE.match(lines[0]), res.stdout
    return lines[0]


def _verify(db: Path, *extra: str) -> tuple[int, dict]:
    res = _cli("verify", "--json", "--db", str(db), *extra)
    return res.exit_code, json.loads(res.stdout)


def _rewrite_all_unkeyed(db: Path, *, target: str | None = None) -> None:
    """The attack the audit key alone cannot show: someone who can write the file but has no key
    rewrites every record as chain version 2 (plain sha256, no key id), optionally editing one."""
    with open_store(db) as store:
        prev = audit.GENESIS
        for rec in list(audit._live(store.con)):
            if target is not None and rec["seq"] == 3:
                rec["target"] = target
            rec.update(chain_version=2, key_id=None, prev_hash=prev)
            rec["hash"] = audit.record_digest(rec)
            store.con.execute("UPDATE audit_log SET target = ?, chain_version = 2, key_id = NULL, prev_hash = ?, "
                              "hash = ? WHERE seq = ?", [rec["target"], prev, rec["hash"], rec["seq"]])
            prev = rec["hash"]


def test_head_is_one_line_that_verify_takes_back(db_path, monkeypatch):
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _five(db_path)
    line = _head(db_path)
    seq, digest, kid = LINE.match(line).groups()[:3]
    with open_store(db_path, read_only=True) as store:
        last = store.con.execute("SELECT seq, hash, key_id FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    assert (int(seq), digest, kid) == last and kid == audit.key_id(bytes(range(32)))
    res = _cli("head", "--json", "--db", str(db_path))
    document = json.loads(res.stdout)
    assert (document["seq"], document["hash"], document["key_id"], document["line"]) == (5, digest, kid, line)
    for given in (f"{seq}:{digest}", line, f"{seq}:{digest.upper()}"):   # the first word, or the whole line
        code, result = _verify(db_path, "--expect-head", given)
        assert code == 0 and result["outcome"] == "keyed" and result["expected_head"]["ok"], result
    # later records do not matter: the head recorded earlier is still in the chain
    with open_store(db_path) as store:
        audit.append(store.con, "sign_in", username="li")
    code, result = _verify(db_path, "--expect-head", f"{seq}:{digest}")
    assert code == 0 and result["current_head"].startswith("6:")


def test_an_empty_log_has_no_head(db_path):
    open_store(db_path).close()
    res = _cli("head", "--db", str(db_path))
    assert res.exit_code == 0 and res.stdout == "" and "审计日志为空" in res.stderr
    assert json.loads(_cli("head", "--json", "--db", str(db_path)).stdout) is None


def test_control_rewriting_every_keyed_record_as_unkeyed_passes_verify_alone(db_path, monkeypatch):
    """The documented gap: with the key gone from the process (or never known to whoever checks),
    a log rewritten as version 2 throughout looks like a log that was never keyed."""
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _five(db_path)
    _rewrite_all_unkeyed(db_path, target="edited")
    monkeypatch.delenv(audit.KEY_ENV)
    code, result = _verify(db_path)
    assert code == 0 and result["ok"] and result["outcome"] == "unkeyed" and result["keyed"] == 0


def test_the_same_rewrite_is_found_with_the_head_kept_off_the_host(db_path, monkeypatch):
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _five(db_path)
    kept = _head(db_path).split()[0]
    _rewrite_all_unkeyed(db_path, target="edited")
    monkeypatch.delenv(audit.KEY_ENV)
    code, result = _verify(db_path, "--expect-head", kept)
    assert code == 1 and not result["ok"] and result["outcome"] == "broken"
    assert result["finding"]["kind"] == "head" and result["finding"]["seq"] == 5
    assert "does not have the hash recorded off the host" in result["finding"]["message"]
    assert result["expected_head"]["ok"] is False
    res = _cli("verify", "--expect-head", kept, "--db", str(db_path))
    assert res.exit_code == 1 and "审计链头不符" in res.stdout
    # with the key configured, verify sees the downgrade itself only if a keyed record is left;
    # here none is, so the head is what shows it whatever key the checker holds
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    assert _verify(db_path, "--expect-head", kept)[0] == 1


def test_a_rewrite_without_edits_still_changes_the_head(db_path, monkeypatch):
    """Even a byte-for-byte copy of the records, re-chained as unkeyed, has other hashes."""
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    _five(db_path)
    kept = _head(db_path).split()[0]
    _rewrite_all_unkeyed(db_path)
    monkeypatch.delenv(audit.KEY_ENV)
    assert _verify(db_path)[0] == 0
    assert _verify(db_path, "--expect-head", kept)[0] == 1


def test_removed_newest_records_are_found_with_the_head(db_path):
    """Without a key too: cutting the newest records leaves a valid shorter chain."""
    _five(db_path)
    kept = _head(db_path).split()[0]
    with open_store(db_path) as store:
        store.con.execute("DELETE FROM audit_log WHERE seq >= 4")
    assert _verify(db_path)[0] == 0                                   # the gap without the head
    code, result = _verify(db_path, "--expect-head", kept)
    assert code == 1 and result["finding"]["kind"] == "head"
    assert "record 5, the chain head recorded off the host, is missing: the chain now ends at record 3" \
        in result["finding"]["message"]


def test_a_head_inside_an_archive_file_is_checked_there(store, tmp_path):
    for days in (400, 300, 200):
        at = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=days)
        audit._write(store.con, at, "sign_in", username="zhang", target=None, detail=None, client="10.0.0.7",
                     result="success")
    second = store.con.execute("SELECT hash FROM audit_log WHERE seq = 2").fetchone()[0]
    listing = audit.archive(store.con, tmp_path / "arc")
    assert listing["last_seq"] == 3
    assert store.con.execute("SELECT count(*) FROM audit_log WHERE seq = 2").fetchone()[0] == 0
    assert audit.check_head(store.con, 2, second) is None
    assert audit.check_head(store.con, 2, "0" * 64).kind == "head"
    assert audit.head(store.con)["seq"] == 4                          # the archive run's own record


@pytest.mark.parametrize("given", ["5", "five:" + "a" * 64, "5:" + "a" * 63, "0:" + "a" * 64, "5:" + "g" * 64, ""])
def test_a_malformed_expected_head_is_one_sentence(given):
    with pytest.raises(ShanhaiError) as caught:
        audit.parse_head(given)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("审计链头格式无效 --expect-head ")
    assert "SEQ:HASH" in message and "shanhai audit head" in message


def test_the_command_line_refuses_a_malformed_head_before_opening_anything(db_path):
    _five(db_path)
    res = _cli("verify", "--expect-head", "12:abc", "--db", str(db_path))
    assert res.exit_code != 0 and isinstance(res.exception, ShanhaiError)
    assert "审计链头格式无效" in str(res.exception)


def test_hashes_are_compared_whole(db_path):
    _five(db_path)
    seq, digest = _head(db_path).split()[0].split(":")
    near = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    assert _verify(db_path, "--expect-head", f"{seq}:{near}")[0] == 1
