"""The audit log: who did what, when, from where, to what, with what result — chained by hashes
so an edited, removed or inserted record shows.

Each record's ``hash`` is sha256 over the previous record's hash and this record's fields:

- chain version 1 (records written before migration 0020):
  ``[prev_hash, seq, occurred_at, username, action, target, detail]``;
- chain version 2: ``[2, prev_hash, seq, occurred_at, username, client, action, target, detail,
  result]`` — the subject's client address and the result are covered too.

The application only ever appends (:func:`append`). The one path that removes records is
:func:`archive`, and it removes only records older than the retention period (at least
:data:`MIN_RETENTION_DAYS`, 180 days: 网络安全法 article 21 asks for six months), after writing
them — chain included — to a JSON-lines file listed in ``audit_archives``. :func:`check` walks the
archive files and then the table as one chain and names the first record altered, removed or
inserted; :func:`verify` is its short form (the sequence number where the chain first breaks).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from shanhai.errors import ShanhaiError
from shanhai.store.sql import values

GENESIS = "0" * 64
CHAIN_VERSION = 2
RETENTION_ENV = "SHANHAI_AUDIT_RETENTION_DAYS"
MIN_RETENTION_DAYS = 180
FIELDS = ("seq", "occurred_at", "username", "client", "action", "target", "detail", "result",
          "chain_version", "prev_hash", "hash")
_FAILURE_WORDS = ("fail", "denied", "reject", "refused", "invalid")


def _digest(prev_hash: str, seq: int, at: str, username: str | None, action: str,
            target: str | None, detail: str | None) -> str:
    """Chain version 1 (records written before migration 0020)."""
    payload = json.dumps([prev_hash, seq, at, username, action, target, detail],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _digest_v2(prev_hash: str, seq: int, at: str, username: str | None, client: str | None,
               action: str, target: str | None, detail: str | None, result: str | None) -> str:
    payload = json.dumps([2, prev_hash, seq, at, username, client, action, target, detail, result],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record_digest(rec: dict) -> str:
    """The hash a record should carry, by its chain version."""
    at = rec["occurred_at"]
    at_text = at if isinstance(at, str) else at.isoformat(timespec="microseconds")
    if (rec.get("chain_version") or 1) == 1:
        return _digest(rec["prev_hash"], rec["seq"], at_text, rec["username"], rec["action"],
                       rec["target"], rec["detail"])
    return _digest_v2(rec["prev_hash"], rec["seq"], at_text, rec["username"], rec.get("client"),
                      rec["action"], rec["target"], rec["detail"], rec.get("result"))


def cli_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli:unknown"


def cli_client() -> str:
    """The subject address of a command-line action: the local machine."""
    return "local"


def result_of(action: str) -> str:
    """``failure`` for failed or refused actions (by their name), else ``success``."""
    return "failure" if any(w in action for w in _FAILURE_WORDS) else "success"


def append(con: duckdb.DuckDBPyConnection, action: str, *, username: str | None = None,
           target: str | None = None, detail: dict | None = None, client: str | None = None,
           result: str | None = None) -> int:
    """Append one record and return its sequence number.

    ``client`` (the subject's address) and ``result`` default to ``detail["client"]`` and
    ``detail["result"]`` when the caller put them there, else to ``local`` for the command line and
    :func:`result_of` the action.
    """
    extra = detail or {}
    client = client or extra.get("client") or (cli_client() if username is None else None)
    result = result or extra.get("result") or result_of(action)
    return _write(con, datetime.now(timezone.utc).replace(tzinfo=None), action, username=username,
                  target=target, detail=detail, client=client, result=result)


def _write(con: duckdb.DuckDBPyConnection, at: datetime, action: str, *, username: str | None,
           target: str | None, detail: dict | None, client: str | None, result: str) -> int:
    last = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    if last is None:
        head = con.execute("SELECT last_seq, last_hash FROM audit_archives ORDER BY last_seq DESC LIMIT 1").fetchone()
        last = head
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at_text = at.isoformat(timespec="microseconds")
    detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail is not None else None
    username = username or cli_user()
    digest = _digest_v2(prev, seq, at_text, username, client, action, target, detail_text, result)
    con.execute(
        "INSERT INTO audit_log (seq, occurred_at, username, client, action, target, detail, result, "
        f"chain_version, prev_hash, hash) VALUES "
        f"({values(seq, at, username, client, action, target, detail_text, result, CHAIN_VERSION, prev, digest)})"
    )
    return seq


# ---- verification -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """Where the chain breaks: ``seq`` is the first record altered, removed or inserted."""

    seq: int
    kind: str          # altered | removed | inserted | archive
    message: str
    row: int | None = None   # the record where the break shows (after a gap: the one after it)

    def as_dict(self) -> dict:
        return {"seq": self.seq, "kind": self.kind, "message": self.message, "row": self.row or self.seq}


def _live(con: duckdb.DuckDBPyConnection):
    cols = ", ".join(FIELDS)
    cursor = con.execute(f"SELECT {cols} FROM audit_log ORDER BY seq")
    while True:
        batch = cursor.fetchmany(10_000)
        if not batch:
            return
        for row in batch:
            yield dict(zip(FIELDS, row))


def _archive_rows(path: Path):
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ShanhaiError(f"audit archive {path} line {number} is not JSON: {exc.msg}") from exc
            yield rec


def archives(con: duckdb.DuckDBPyConnection) -> list[dict]:
    cols = ("archive_id", "archived_at", "path", "first_seq", "last_seq", "rows", "first_prev_hash",
            "last_hash", "sha256", "cutoff", "retention_days")
    return [dict(zip(cols, r)) for r in con.execute(
        f"SELECT {', '.join(cols)} FROM audit_archives ORDER BY first_seq").fetchall()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _walk(records, prev: str, expected: int, total_out: list[int]) -> tuple[Finding | None, str, int]:
    """Check ``records`` (an iterator of dicts in seq order) continue the chain at (prev, expected)."""
    pending = None
    for rec in records:
        if pending is not None:
            finding = _judge(pending, rec, prev, expected)
            if finding:
                return finding, prev, expected
            prev, expected = pending["hash"], pending["seq"] + 1
        pending = rec
        total_out[0] += 1
    if pending is not None:
        finding = _judge(pending, None, prev, expected)
        if finding:
            return finding, prev, expected
        prev, expected = pending["hash"], pending["seq"] + 1
    return None, prev, expected


def _judge(rec: dict, nxt: dict | None, prev: str, expected: int) -> Finding | None:
    seq = rec["seq"]
    if seq > expected:
        missing = f"{expected}" if seq == expected + 1 else f"{expected}–{seq - 1}"
        return Finding(expected, "removed",
                       f"record {missing} removed: record {seq} follows record {expected - 1}", seq)
    if seq < expected:
        return Finding(seq, "inserted", f"record {seq} inserted: it repeats or reorders the sequence")
    own = record_digest(rec)
    if own != rec["hash"]:
        if nxt is not None and nxt["prev_hash"] == rec["hash"]:
            return Finding(seq, "altered", f"record {seq} altered: its fields no longer match its hash")
        if rec["prev_hash"] == prev and nxt is None:
            return Finding(seq, "altered",
                           f"record {seq} altered or inserted: its fields do not match its hash")
        if nxt is not None and nxt["prev_hash"] == prev:
            return Finding(seq, "inserted",
                           f"record {seq} inserted: the next record chains to the one before it")
        return Finding(seq, "altered", f"record {seq} altered: its fields no longer match its hash")
    if rec["prev_hash"] != prev:
        return Finding(seq, "inserted",
                       f"record {seq} inserted: it does not chain to record {seq - 1}")
    return None


def check(con: duckdb.DuckDBPyConnection) -> tuple[Finding | None, dict]:
    """Walk the archive files, then the table, as one chain.

    Returns (the first finding or None, a summary ``{"archives", "archived", "live", "head"}``).
    """
    prev, expected = GENESIS, 1
    counted = [0]
    listed = archives(con)
    for arc in listed:
        path = Path(arc["path"])
        if not path.is_file():
            return Finding(arc["first_seq"], "archive",
                           f"archive of records {arc['first_seq']}–{arc['last_seq']} is missing: {path}"), {}
        if _sha256(path) != arc["sha256"]:
            finding, _, _ = _walk(_archive_rows(path), prev, expected, [0])
            return finding or Finding(arc["first_seq"], "archive",
                                      f"archive {path} changed since it was written (sha256 differs)"), {}
        finding, prev, expected = _walk(_archive_rows(path), prev, expected, counted)
        if finding:
            return finding, {}
        if prev != arc["last_hash"] or expected != arc["last_seq"] + 1:
            return Finding(arc["last_seq"], "archive", f"archive {path} ends elsewhere than its listing says"), {}
    archived = counted[0]
    finding, prev, expected = _walk(_live(con), prev, expected, counted)
    summary = {"archives": len(listed), "archived": archived, "live": counted[0] - archived,
               "head": None if expected == 1 else {"seq": expected - 1, "hash": prev}}
    return finding, summary


def verify(con: duckdb.DuckDBPyConnection) -> int | None:
    """The sequence number of the first record that breaks the chain, or None if it is intact.

    For a removed record this is the record after the gap (the one that no longer fits); use
    :func:`check` for the removed record's own number and a sentence.
    """
    finding, _ = check(con)
    if finding is None:
        return None
    return finding.row or finding.seq


# ---- retention and archiving ------------------------------------------------------------------

def retention_days(value: int | None = None) -> int:
    """The retention period in days: ``value``, else ``$SHANHAI_AUDIT_RETENTION_DAYS``, else 180.

    Never less than 180 days (six months, 网络安全法 article 21).
    """
    if value is None:
        raw = os.environ.get(RETENTION_ENV)
        if raw:
            try:
                value = int(raw)
            except ValueError:
                raise ShanhaiError(f"{RETENTION_ENV}={raw!r} is not a whole number of days") from None
        else:
            value = MIN_RETENTION_DAYS
    if value < MIN_RETENTION_DAYS:
        raise ShanhaiError(
            f"audit retention of {value} days is shorter than the minimum {MIN_RETENTION_DAYS} days "
            "(six months, 网络安全法 article 21)")
    return value


def archive(con: duckdb.DuckDBPyConnection, folder: str | Path, *, retention: int | None = None,
            username: str | None = None) -> dict | None:
    """Move records older than the retention period into a JSON-lines file in ``folder``.

    The file holds every field of each record, chain included; ``audit_archives`` lists it with
    its sha256 and chain ends, and :func:`check` verifies it with the table. Refuses to archive a
    broken chain. Returns the listing, or None when no record is old enough.
    """
    days = retention_days(retention)
    finding, _ = check(con)
    if finding is not None:
        raise ShanhaiError(f"the audit chain is broken ({finding.message}): archive refused, "
                           "run `shanhai audit verify` and investigate first")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    cutoff = now - timedelta(days=days)
    # the longest prefix of records all older than the cutoff (seq order is time order)
    young = con.execute(f"SELECT min(seq) FROM audit_log WHERE occurred_at >= {values(cutoff)}").fetchone()[0]
    bound = f"occurred_at < {values(cutoff)}" + (f" AND seq < {int(young)}" if young is not None else "")
    first, last, rows = con.execute(f"SELECT min(seq), max(seq), count(*) FROM audit_log WHERE {bound}").fetchone()
    if not rows:
        return None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / f"audit-{first:012d}-{last:012d}.jsonl").resolve()
    if path.exists():
        raise ShanhaiError(f"audit archive {path} already exists: move it aside or choose another folder")
    first_prev = last_hash = None
    with path.open("x", encoding="utf-8") as handle:
        for rec in _live(con):
            if rec["seq"] > last:
                break
            rec["occurred_at"] = rec["occurred_at"].isoformat(timespec="microseconds")
            first_prev = first_prev or rec["prev_hash"]
            last_hash = rec["hash"]
            handle.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    listing = {"archive_id": uuid.uuid4().hex, "archived_at": now, "path": str(path), "first_seq": first,
               "last_seq": last, "rows": rows, "first_prev_hash": first_prev, "last_hash": last_hash,
               "sha256": _sha256(path), "cutoff": cutoff, "retention_days": days}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"INSERT INTO audit_archives ({', '.join(listing)}) VALUES ({values(*listing.values())})")
        # The only removal from audit_log anywhere in Shanhai: records past retention, just archived.
        con.execute(f"DELETE FROM audit_log WHERE seq BETWEEN {int(first)} AND {int(last)} "
                    f"AND occurred_at < {values(cutoff)}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        path.unlink(missing_ok=True)
        raise
    append(con, "audit.archive", username=username, target=str(path),
           detail={"first_seq": first, "last_seq": last, "rows": rows, "retention_days": days})
    return listing


def where(*, username: str | None = None, action: str | None = None, target: str | None = None,
          since: date | None = None, until: date | None = None) -> str:
    """The SQL filter on ``audit_log`` the admin page, its export and ``shanhai audit`` share:
    account name containing ``username``, action starting with ``action``, ``target`` in the object
    or the detail (all case-insensitive), from ``since`` up to and including ``until`` (UTC days)."""
    from shanhai.store.sql import literal

    parts = ["true"]
    if username:
        parts.append(f"username ILIKE {literal('%' + username + '%')}")
    if action:
        parts.append(f"action ILIKE {literal(action + '%')}")
    if target:
        parts.append(f"(target ILIKE {literal('%' + target + '%')} OR detail::VARCHAR ILIKE {literal('%' + target + '%')})")
    if since:
        parts.append(f"occurred_at >= {literal(since)}")
    if until:
        parts.append(f"occurred_at < {literal(until + timedelta(days=1))}")
    return " AND ".join(parts)
