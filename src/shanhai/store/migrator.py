"""Versioned schema migrations.

Each file ``migrations/NNNN_name.sql`` moves the schema from version NNNN-1 to NNNN. Applied
versions are recorded in ``schema_migrations`` with the file's sha256, so an edited migration
is noticed. Migrations only ever add: a new version upgrades an old file without losing rows.
Each migration runs in its own transaction: a failure leaves the file at the previous version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import duckdb

from shanhai.errors import SchemaError
from shanhai.store.sql import values

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def discover(directory: Path | None = None) -> tuple[Migration, ...]:
    """The migrations in ``directory`` (default: the packaged ones), ordered by version."""
    root = directory if directory is not None else resources.files("shanhai.store.migrations")
    found: list[Migration] = []
    for entry in root.iterdir():
        match = _NAME.match(entry.name)
        if entry.name.endswith(".sql") and not match:
            raise SchemaError(f"migration file {entry.name} is misnamed: expected NNNN_lower_snake.sql")
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return tuple(found)


_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    checksum   VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
)
"""


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest applied version; 0 for a new, empty file."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def latest_version(migrations: tuple[Migration, ...] | None = None) -> int:
    migrations = discover() if migrations is None else migrations
    return migrations[-1].version if migrations else 0


def pending(con: duckdb.DuckDBPyConnection, migrations: tuple[Migration, ...] | None = None):
    migrations = discover() if migrations is None else migrations
    have = current_version(con)
    return tuple(m for m in migrations if m.version > have)


def migrate(
    con: duckdb.DuckDBPyConnection,
    target: int | None = None,
    migrations: tuple[Migration, ...] | None = None,
) -> list[Migration]:
    """Apply the migrations above the file's version up to ``target`` (default: latest).

    Returns the migrations applied. Refuses a file whose version is newer than this code,
    and a file whose applied migrations no longer match the shipped files.
    """
    migrations = discover() if migrations is None else migrations
    latest = latest_version(migrations)
    target = latest if target is None else target
    if not 0 <= target <= latest:
        raise SchemaError(f"no schema version {target}: this Shanhai knows versions 1 to {latest}")
    have = current_version(con)
    if have > latest:
        raise SchemaError(
            f"the database is at schema version {have} but this Shanhai knows only up to "
            f"version {latest}: upgrade Shanhai before opening it"
        )
    if have:
        check_applied(con, migrations)
    con.execute(_LEDGER)
    applied = []
    for migration in migrations:
        if migration.version <= have or migration.version > target:
            continue
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute(migration.sql)
            at = datetime.now(timezone.utc).replace(tzinfo=None)
            con.execute("INSERT INTO schema_migrations VALUES "
                        f"({values(migration.version, migration.name, migration.checksum, at)})")
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise SchemaError(
                f"migration {migration.version:04d}_{migration.name}.sql failed: {exc}"
            ) from exc
        applied.append(migration)
    return applied


def check_applied(con: duckdb.DuckDBPyConnection, migrations: tuple[Migration, ...]) -> None:
    shipped = {m.version: m for m in migrations}
    for version, name, checksum in con.execute(
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
    ).fetchall():
        known = shipped.get(version)
        if known is not None and known.checksum != checksum:
            raise SchemaError(
                f"migration {version:04d}_{name}.sql was changed after it was applied to this "
                "database; shipped migrations must never be edited, add a new one instead"
            )
