"""The audit log: who did what, when, chained by hashes so an edited or deleted entry shows.

Each entry's ``hash`` is sha256 over the previous entry's hash and this entry's fields;
:func:`verify` walks the chain and names the first entry that does not fit.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from datetime import datetime, timezone

import duckdb

from shanhai.store.sql import values

GENESIS = "0" * 64


def _digest(prev_hash: str, seq: int, at: str, username: str | None, action: str,
            target: str | None, detail: str | None) -> str:
    payload = json.dumps([prev_hash, seq, at, username, action, target, detail],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cli_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli:unknown"


def append(con: duckdb.DuckDBPyConnection, action: str, *, username: str | None = None,
           target: str | None = None, detail: dict | None = None) -> int:
    """Append one entry and return its sequence number."""
    last = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    at_text = at.isoformat(timespec="microseconds")
    detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail is not None else None
    username = username or cli_user()
    digest = _digest(prev, seq, at_text, username, action, target, detail_text)
    con.execute(f"INSERT INTO audit_log VALUES ({values(seq, at, username, action, target, detail_text, prev, digest)})")
    return seq


def verify(con: duckdb.DuckDBPyConnection) -> int | None:
    """The sequence number of the first entry that breaks the chain, or None if it is intact."""
    prev = GENESIS
    expected_seq = 1
    for seq, at, username, action, target, detail, prev_hash, digest in con.execute(
        "SELECT seq, occurred_at, username, action, target, detail, prev_hash, hash FROM audit_log ORDER BY seq"
    ).fetchall():
        at_text = at.isoformat(timespec="microseconds")
        if (seq != expected_seq or prev_hash != prev
                or digest != _digest(prev, seq, at_text, username, action, target, detail)):
            return seq
        prev, expected_seq = digest, seq + 1
    return None
