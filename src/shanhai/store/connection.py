"""The one owner of the DuckDB connection.

DuckDB lets one process hold a database file for writing. Every part of Shanhai opens the file
through :func:`open_store`, which turns DuckDB's lock error into a sentence a user can act on,
applies pending migrations to a writable file and refuses files newer than the code.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from shanhai.errors import DatabaseLockedError, SchemaError, ShanhaiError
from shanhai.store import migrator as _migrations

DEFAULT_DB = "shanhai.duckdb"
METADATA_TABLES = ("schema_migrations", "audit_log")
ENV_DB = "SHANHAI_DB"


def default_db_path() -> Path:
    """``$SHANHAI_DB`` if set, else ``./shanhai.duckdb``."""
    return Path(os.environ.get(ENV_DB) or DEFAULT_DB)


class Store:
    """An open database file. Use as a context manager; ``con`` is the DuckDB connection."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, read_only: bool):
        self.path = path
        self.con = con
        self.read_only = read_only

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @property
    def schema_version(self) -> int:
        return _migrations.current_version(self.con)

    def tables(self) -> list[str]:
        """User tables in name order (the migration ledger included)."""
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def content_tables(self) -> list[str]:
        """Tables holding data, without the bookkeeping ones (migration ledger, audit log), whose
        rows carry wall-clock times: two builds from the same input agree on these."""
        return [t for t in self.tables() if t not in METADATA_TABLES]

    def row_counts(self) -> dict[str, int]:
        return {t: self.con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in self.tables()}

    def checksum(self, table: str) -> tuple[int, str]:
        """(rows, content checksum) of a table, independent of row order.

        The checksum is the sum of DuckDB's 64-bit hash of every whole row, so two tables with
        the same multiset of rows agree and any changed cell changes it.
        """
        rows, total = self.con.execute(
            f'SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR FROM "{table}" AS t'
        ).fetchone()
        return rows, total

    def checksums(self, tables: list[str] | None = None) -> dict[str, tuple[int, str]]:
        return {t: self.checksum(t) for t in (tables or self.tables())}


_LOCK = re.compile(r"PID (\d+)")


def open_store(
    path: str | Path | None = None,
    *,
    read_only: bool = False,
    create: bool = True,
    migrate: bool = True,
) -> Store:
    """Open (and by default create and upgrade) the database file at ``path``.

    ``read_only`` opens without taking the write lock (other read-only openers may share it) and
    refuses a file whose schema is behind the code, since it cannot be upgraded read-only.
    """
    db_path = Path(path) if path is not None else default_db_path()
    if not db_path.exists():
        if read_only or not create:
            raise ShanhaiError(
                f"database {db_path} does not exist: build one with `shanhai synth --db {db_path}` "
                f"or `shanhai db init --db {db_path}`"
            )
        if db_path.parent and not db_path.parent.exists():
            raise ShanhaiError(f"cannot create database {db_path}: folder {db_path.parent} does not exist")
    try:
        con = duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "Could not set lock" in message or "Conflicting lock" in message:
            pid = _LOCK.search(message)
            holder = f" (process {pid.group(1)})" if pid else ""
            raise DatabaseLockedError(
                f"database {db_path} is in use by another Shanhai process{holder}: one process "
                "owns a database at a time, so stop it (or use the web interface it serves) first"
            ) from exc
        raise ShanhaiError(f"cannot open database {db_path}: {message}") from exc
    except duckdb.Error as exc:
        raise ShanhaiError(f"{db_path} is not a Shanhai (DuckDB) database: {exc}") from exc
    con.execute("SET enable_progress_bar = false")  # Rich owns the terminal
    store = Store(db_path, con, read_only)
    try:
        known = _migrations.discover()
        have = _migrations.current_version(con)
        latest = _migrations.latest_version(known)
        if have == 0 and store.tables():
            raise SchemaError(
                f"{db_path} is a DuckDB database but not a Shanhai one (it has tables and no "
                "schema_migrations ledger): Shanhai will not add its tables to another application's file"
            )
        if have > latest:
            raise SchemaError(
                f"database {db_path} is at schema version {have}, newer than this Shanhai "
                f"(version {latest}): upgrade Shanhai"
            )
        if have:
            _migrations.check_applied(con, known)
        if have < latest and migrate:
            if read_only:
                raise SchemaError(
                    f"database {db_path} is at schema version {have} and needs version {latest}: "
                    f"upgrade it with `shanhai db init --db {db_path}`"
                )
            _migrations.migrate(con, migrations=known)
    except BaseException:
        con.close()
        raise
    return store
