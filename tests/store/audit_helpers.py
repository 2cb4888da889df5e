"""Audit-log test helpers shared by the chain and keyed-chain tests."""

from __future__ import annotations

from datetime import datetime

from shanhai.store import audit, migrator, open_store


def version_1_chain(db_path) -> str:
    """A database at schema 19 (before 0020) holding two version-1 records, as written then;
    returns the second record's hash (the chain's head)."""
    con = open_store(db_path, migrate=False).con
    migrator.migrate(con, target=19)
    prev = audit.GENESIS
    for seq in (1, 2):
        at = datetime(2026, 1, seq, 8, 0, 0, 123456)
        digest = audit._digest(prev, seq, at.isoformat(timespec="microseconds"), "cli:old", "import", "a.csv", None)
        con.execute("INSERT INTO audit_log VALUES (?, ?, 'cli:old', 'import', 'a.csv', NULL, ?, ?)", [seq, at, prev, digest])
        prev = digest
    con.close()
    return prev
