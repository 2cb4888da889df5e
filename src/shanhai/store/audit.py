"""The audit log: who did what, when, from where, to what, with what result — chained by hashes
so an edited, removed or inserted record shows.

Each record's ``hash`` is sha256 over the previous record's hash and this record's fields:

- chain version 1 (records written before migration 0020):
  ``[prev_hash, seq, occurred_at, username, action, target, detail]``;
- chain version 2: ``[2, prev_hash, seq, occurred_at, username, client, action, target, detail,
  result]`` — the subject's client address and the result are covered too;
- chain version 3 (with an audit key, ``$SHANHAI_AUDIT_KEY`` or ``$SHANHAI_AUDIT_KEY_FILE``): the
  hash is HMAC-SHA256 under the key, not sha256, over ``[3, key_id, prev_hash, seq, occurred_at,
  username, client, action, target, detail, result]``; ``key_id`` (:func:`key_id`, also a column)
  names the key without revealing it. Someone who can write the database file but does not hold
  the key cannot recompute the chain after an edit, nor turn keyed records back into unkeyed ones
  (the application never writes an unkeyed record after a keyed one, and refuses to without the
  key). Without a key, records are written as version 2, as before.

The application only ever appends (:func:`append`). The one path that removes records is
:func:`archive`, and it removes only records older than the retention period (at least
:data:`MIN_RETENTION_DAYS`, 180 days: 网络安全法 article 21 asks for six months), after writing
them — chain included — to a JSON-lines file listed in ``audit_archives``. :func:`check` walks the
archive files and then the table as one chain and names the first record altered, removed or
inserted; :func:`verify` is its short form (the sequence number where the chain first breaks).
Keyed records are verified with the configured key or one of ``$SHANHAI_AUDIT_KEY_OLD``; one
written with a key not configured (or with no key configured at all) is reported as
``unverifiable`` by its key id — not as altered — while the links around it are still checked.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from shanhai.errors import ShanhaiError
from shanhai.store import keys as _keys_mod
from shanhai.store.sql import values

GENESIS = "0" * 64
CHAIN_VERSION = 2
RETENTION_ENV = "SHANHAI_AUDIT_RETENTION_DAYS"
MIN_RETENTION_DAYS = 180
KEYED_VERSION = 3
KEY_ENV = "SHANHAI_AUDIT_KEY"
KEY_FILE_ENV = "SHANHAI_AUDIT_KEY_FILE"
OLD_KEYS_ENV = "SHANHAI_AUDIT_KEY_OLD"
MIN_KEY_BYTES = 32
FIELDS = ("seq", "occurred_at", "username", "client", "action", "target", "detail", "result",
          "chain_version", "prev_hash", "hash", "key_id")
_FAILURE_WORDS = ("fail", "denied", "reject", "refused", "invalid")


# ---- the audit key ----------------------------------------------------------------------------

# how the key is read, parsed and named: shared with the secrets key (:mod:`shanhai.store.keys`)
KEY_SETTING = _keys_mod.KeySetting(KEY_ENV, KEY_FILE_ENV, OLD_KEYS_ENV, b"shanhai-audit-key-id", "审计密钥",
                                   "audit key", MIN_KEY_BYTES)
AuditKeys = _keys_mod.Keys


def parse_key(text: str, source: str = KEY_ENV) -> bytes:
    """The key bytes of an audit key written as hex (only hex digits) or base64 (standard or
    URL-safe alphabet), surrounding white space ignored; at least :data:`MIN_KEY_BYTES` bytes.

    A malformed key is one sentence naming ``source`` (never the key itself)."""
    return _keys_mod.parse_key(text, source, KEY_SETTING)


def key_id(key: bytes) -> str:
    """The key's public name: the first 8 hex digits of sha256(b"shanhai-audit-key-id" + key)."""
    return _keys_mod.key_id(key, KEY_SETTING)


def audit_keys() -> AuditKeys:
    """The audit keys of this process from ``$SHANHAI_AUDIT_KEY`` (or the file named by
    ``$SHANHAI_AUDIT_KEY_FILE``, e.g. a systemd credential) and ``$SHANHAI_AUDIT_KEY_OLD`` (comma
    separated, for verifying records written before a key change). Raises one sentence when a key
    is malformed or the file cannot be read."""
    return _keys_mod.load(KEY_SETTING)


def _refuse_unkeyed(head: tuple | None, keys: AuditKeys) -> None:
    """An unkeyed record after a keyed one is what a rewrite without the key looks like, so the
    application never writes one: a keyed log needs the key in every process that writes to it."""
    if keys.current is None and head is not None and head[2] == KEYED_VERSION:
        raise ShanhaiError(
            f"审计日志已启用密钥 the audit log is keyed (record {head[0]} was written with audit key {head[3]}) "
            f"but this process has no audit key: set {KEY_ENV} or {KEY_FILE_ENV} for every Shanhai process "
            "(a lost key is replaced by a new one, never by none)")


def _head(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(seq, hash, chain_version, key_id) of the chain's newest record (in an archive: no version)."""
    last = con.execute("SELECT seq, hash, chain_version, key_id FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    if last is None:
        head = con.execute("SELECT last_seq, last_hash FROM audit_archives ORDER BY last_seq DESC LIMIT 1").fetchone()
        last = None if head is None else (head[0], head[1], None, None)
    return last


def check_writable(con: duckdb.DuckDBPyConnection) -> AuditKeys:
    """The audit keys, after checking this process may append to the log (a malformed key, or a
    keyed log and no key, is one sentence): for ``shanhai serve`` to refuse to start rather than
    fail at the first request."""
    keys = audit_keys()
    _refuse_unkeyed(_head(con), keys)
    return keys


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


def _digest_v3(key: bytes, kid: str, prev_hash: str, seq: int, at: str, username: str | None,
               client: str | None, action: str, target: str | None, detail: str | None,
               result: str | None) -> str:
    payload = json.dumps([3, kid, prev_hash, seq, at, username, client, action, target, detail, result],
                         ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def record_digest(rec: dict, key: bytes | None = None) -> str:
    """The hash a record should carry, by its chain version (version 3: under ``key``)."""
    at = rec["occurred_at"]
    at_text = at if isinstance(at, str) else at.isoformat(timespec="microseconds")
    if rec.get("chain_version") == KEYED_VERSION:
        if key is None:
            raise ValueError(f"record {rec['seq']} is keyed: its digest needs the audit key")
        return _digest_v3(key, rec.get("key_id"), rec["prev_hash"], rec["seq"], at_text, rec["username"],
                          rec.get("client"), rec["action"], rec["target"], rec["detail"], rec.get("result"))
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
    keys = audit_keys()
    last = _head(con)
    _refuse_unkeyed(last, keys)
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at_text = at.isoformat(timespec="microseconds")
    detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail is not None else None
    username = username or cli_user()
    if keys.current is None:
        version, kid = CHAIN_VERSION, None
        digest = _digest_v2(prev, seq, at_text, username, client, action, target, detail_text, result)
    else:
        version, kid = KEYED_VERSION, keys.current_id
        digest = _digest_v3(keys.current, kid, prev, seq, at_text, username, client, action, target,
                            detail_text, result)
    con.execute(
        "INSERT INTO audit_log (seq, occurred_at, username, client, action, target, detail, result, "
        f"chain_version, prev_hash, hash, key_id) VALUES "
        f"({values(seq, at, username, client, action, target, detail_text, result, version, prev, digest, kid)})"
    )
    return seq


# ---- verification -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """Where the chain breaks: ``seq`` is the first record altered, removed or inserted — or, kind
    ``unverifiable``, the first keyed record whose key is not configured (the chain's links hold
    but that record's hash cannot be checked: not evidence of tampering, not proof of its absence)."""

    seq: int
    kind: str          # altered | removed | inserted | downgraded | archive | unverifiable | head
    message: str
    row: int | None = None   # the record where the break shows (after a gap: the one after it)

    def as_dict(self) -> dict:
        return {"seq": self.seq, "kind": self.kind, "message": self.message, "row": self.row or self.seq}


@dataclass
class _Tally:
    """What a walk learned about keys: keyed records verified, those it could not verify."""

    keys: AuditKeys
    keyed: int = 0
    keyed_from: int | None = None
    last_keyed: int | None = None           # the newest keyed record so far (verified or not)
    unverifiable: int = 0
    first_unverifiable: tuple | None = None   # (seq, key_id)
    unknown_keys: dict = field(default_factory=dict)   # key_id -> records

    def unverified(self, rec: dict) -> None:
        kid = rec.get("key_id") or "?"
        self.unverifiable += 1
        self.first_unverifiable = self.first_unverifiable or (rec["seq"], kid)
        self.unknown_keys[kid] = self.unknown_keys.get(kid, 0) + 1
        self.last_keyed = rec["seq"]

    def finding(self) -> Finding | None:
        if not self.unverifiable:
            return None
        seq, kid = self.first_unverifiable
        keys = ", ".join(f"{k} ({n} records)" for k, n in sorted(self.unknown_keys.items()))
        if self.keys.current is None:
            return Finding(seq, "unverifiable",
                           f"未配置审计密钥 no audit key is configured: {self.unverifiable} keyed record(s) from "
                           f"record {seq} on cannot be verified (written with audit key {keys}); set {KEY_ENV} "
                           "to the key they were written with")
        return Finding(seq, "unverifiable",
                       f"record {seq} was written with audit key {kid}, which is not the configured key "
                       f"({self.keys.current_id}) nor one in {OLD_KEYS_ENV}: {self.unverifiable} record(s) "
                       f"cannot be verified (keys {keys})")

    def summary(self) -> dict:
        return {"key_id": self.keys.current_id, "keyed": self.keyed, "keyed_from": self.keyed_from,
                "unverifiable": self.unverifiable, "unknown_keys": sorted(self.unknown_keys)}


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


def _walk(records, prev: str, expected: int, total_out: list[int],
          tally: _Tally) -> tuple[Finding | None, str, int]:
    """Check ``records`` (an iterator of dicts in seq order) continue the chain at (prev, expected)."""
    pending = None
    for rec in records:
        if pending is not None:
            finding = _judge(pending, rec, prev, expected, tally)
            if finding:
                return finding, prev, expected
            prev, expected = pending["hash"], pending["seq"] + 1
        pending = rec
        total_out[0] += 1
    if pending is not None:
        finding = _judge(pending, None, prev, expected, tally)
        if finding:
            return finding, prev, expected
        prev, expected = pending["hash"], pending["seq"] + 1
    return None, prev, expected


def _judge(rec: dict, nxt: dict | None, prev: str, expected: int, tally: _Tally) -> Finding | None:
    seq = rec["seq"]
    if seq > expected:
        missing = f"{expected}" if seq == expected + 1 else f"{expected}–{seq - 1}"
        return Finding(expected, "removed",
                       f"record {missing} removed: record {seq} follows record {expected - 1}", seq)
    if seq < expected:
        return Finding(seq, "inserted", f"record {seq} inserted: it repeats or reorders the sequence")
    keyed = rec.get("chain_version") == KEYED_VERSION
    key = tally.keys.known.get(rec.get("key_id")) if keyed else None
    if keyed and not isinstance(rec.get("key_id"), str):
        return Finding(seq, "altered", f"record {seq} altered: it is marked keyed (chain version 3) but names no key")
    if keyed and key is None:
        # its own hash cannot be checked without the key; its link to the record before still can,
        # and the next record's link to it is checked when that record is judged
        if rec["prev_hash"] != prev:
            return Finding(seq, "inserted", f"record {seq} inserted: it does not chain to record {seq - 1}")
        tally.unverified(rec)
        return None
    own = record_digest(rec, key)
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
    if keyed:
        tally.keyed += 1
        tally.keyed_from = tally.keyed_from or seq
        tally.last_keyed = seq
    elif tally.last_keyed is not None:
        return Finding(seq, "downgraded",
                       f"record {seq} carries no audit key but follows keyed record {tally.last_keyed}: Shanhai "
                       "never writes an unkeyed record after a keyed one, so it was rewritten without the key")
    return None


def check(con: duckdb.DuckDBPyConnection, keys: AuditKeys | None = None) -> tuple[Finding | None, dict]:
    """Walk the archive files, then the table, as one chain.

    Keyed records (version 3) are verified with ``keys`` (default :func:`audit_keys`). Returns (the
    first finding or None, a summary ``{"archives", "archived", "live", "head", "key_id", "keyed",
    "keyed_from", "unverifiable", "unknown_keys"}``). A break (altered, removed, inserted, downgraded,
    archive) comes with an empty summary; when the links all hold but keyed records could not be
    verified, the finding is the first of them, kind ``unverifiable``, with the full summary.
    """
    tally = _Tally(keys if keys is not None else audit_keys())
    prev, expected = GENESIS, 1
    counted = [0]
    listed = archives(con)
    for arc in listed:
        path = Path(arc["path"])
        if not path.is_file():
            return Finding(arc["first_seq"], "archive",
                           f"archive of records {arc['first_seq']}–{arc['last_seq']} is missing: {path}"), {}
        if _sha256(path) != arc["sha256"]:
            finding, _, _ = _walk(_archive_rows(path), prev, expected, [0], tally)
            return finding or Finding(arc["first_seq"], "archive",
                                      f"archive {path} changed since it was written (sha256 differs)"), {}
        finding, prev, expected = _walk(_archive_rows(path), prev, expected, counted, tally)
        if finding:
            return finding, {}
        if prev != arc["last_hash"] or expected != arc["last_seq"] + 1:
            return Finding(arc["last_seq"], "archive", f"archive {path} ends elsewhere than its listing says"), {}
    archived = counted[0]
    finding, prev, expected = _walk(_live(con), prev, expected, counted, tally)
    if finding:
        return finding, {}
    summary = {"archives": len(listed), "archived": archived, "live": counted[0] - archived,
               "head": None if expected == 1 else {"seq": expected - 1, "hash": prev}, **tally.summary()}
    return tally.finding(), summary


def verify(con: duckdb.DuckDBPyConnection) -> int | None:
    """The sequence number of the first record that breaks the chain or cannot be verified (a
    keyed record whose key is not configured), or None if the chain is intact.

    For a removed record this is the record after the gap (the one that no longer fits); use
    :func:`check` for the removed record's own number, the kind and a sentence.
    """
    finding, _ = check(con)
    if finding is None:
        return None
    return finding.row or finding.seq


# ---- the chain head, for a copy kept off the host ------------------------------------------------

_HEAD_HASH = re.compile(r"[0-9a-f]{64}")


def head(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The chain's newest record — ``seq``, ``hash``, ``key_id``, ``chain_version``, ``occurred_at``
    — or None when nothing was ever logged. Read from the table (the last archive file when the
    table is empty), not verified: ``shanhai audit verify`` is what verifies."""
    row = con.execute("SELECT seq, hash, key_id, chain_version, occurred_at FROM audit_log "
                      "ORDER BY seq DESC LIMIT 1").fetchone()
    if row is not None:
        return dict(zip(("seq", "hash", "key_id", "chain_version", "occurred_at"), row))
    listed = archives(con)
    if not listed:
        return None
    last = listed[-1]
    rec = {"seq": last["last_seq"], "hash": last["last_hash"], "key_id": None, "chain_version": None,
           "occurred_at": None}
    path = Path(last["path"])
    if path.is_file():
        for arc in _archive_rows(path):
            if arc["seq"] == last["last_seq"]:
                rec.update(key_id=arc.get("key_id"), chain_version=arc.get("chain_version"),
                           occurred_at=datetime.fromisoformat(arc["occurred_at"]))
    return rec


def head_line(rec: dict) -> str:
    """The one line an operator copies off the host: ``SEQ:HASH key_id=… occurred_at=…Z``; its first
    word is what ``shanhai audit verify --expect-head`` takes."""
    at = rec["occurred_at"]
    when = at.isoformat(timespec="seconds") + "Z" if at is not None else "-"
    return f"{rec['seq']}:{rec['hash']} key_id={rec['key_id'] or '-'} occurred_at={when}"


def parse_head(text: str, source: str = "--expect-head") -> tuple[int, str]:
    """(seq, hash) of ``SEQ:HASH`` (the first word of a :func:`head_line`); one sentence otherwise."""
    words = (text or "").split()
    seq, sep, digest = (words[0] if words else "").partition(":")
    digest = digest.lower()
    if not sep or not seq.isdigit() or int(seq) < 1 or not _HEAD_HASH.fullmatch(digest):
        raise ShanhaiError(f"审计链头格式无效 {source} {(text or '')[:80]!r} is not SEQ:HASH: write the record "
                           "number, a colon and its 64 hex digit hash, as `shanhai audit head` prints them")
    return int(seq), digest


def _hash_of(con: duckdb.DuckDBPyConnection, seq: int) -> str | None:
    row = con.execute(f"SELECT hash FROM audit_log WHERE seq = {int(seq)}").fetchone()
    if row is not None:
        return row[0]
    for arc in archives(con):
        path = Path(arc["path"])
        if arc["first_seq"] <= seq <= arc["last_seq"] and path.is_file():
            return next((rec["hash"] for rec in _archive_rows(path) if rec["seq"] == seq), None)
    return None


def check_head(con: duckdb.DuckDBPyConnection, seq: int, digest: str) -> Finding | None:
    """Whether record ``seq`` is still there with hash ``digest`` — a head copied off the host
    earlier. A rewritten chain (edited and recomputed, or every keyed record turned back into an
    unkeyed one, which :func:`check` alone cannot tell from a log that was never keyed) changes
    the hash of every record from the edit on; removing the newest records removes ``seq``."""
    found = _hash_of(con, seq)
    if found is None:
        now = head(con)
        return Finding(seq, "head",
                       f"record {seq}, the chain head recorded off the host, is missing: the chain now ends at "
                       f"record {now['seq'] if now else 0} (records were removed or the log was replaced)")
    if not hmac.compare_digest(found, digest.lower()):
        return Finding(seq, "head",
                       f"record {seq} does not have the hash recorded off the host ({digest[:16]}…, now "
                       f"{found[:16]}…): the chain was rewritten up to that record")
    return None


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

    The file holds every field of each record, chain and key id included; ``audit_archives``
    lists it with its sha256 and chain ends, and :func:`check` verifies it with the table (keyed
    records with the key). Refuses to archive a broken chain, and a keyed one without the key;
    records of a key that is no longer configured are archived unchanged. Returns the listing, or None when no record is old enough.
    """
    days = retention_days(retention)
    keys = check_writable(con)
    finding, _ = check(con, keys)
    if finding is not None and finding.kind == "unverifiable" and keys.current is not None:
        # records of a retired or lost key whose links hold: archived unchanged, still unverifiable
        finding = None
    if finding is not None:
        state = "cannot be verified" if finding.kind == "unverifiable" else "is broken"
        raise ShanhaiError(f"the audit chain {state} ({finding.message}): archive refused, "
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
