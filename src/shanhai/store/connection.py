"""The one owner of the DuckDB connection.

DuckDB lets one process hold a database file for writing. Every part of Shanhai opens the file
through :func:`open_store`, which turns DuckDB's lock error into a sentence a user can act on,
applies pending migrations to a writable file and refuses files newer than the code.

Encryption at rest: with ``$SHANHAI_DB_KEY`` set, the file is opened (or created) encrypted with
DuckDB's AES-GCM database encryption: an in-memory DuckDB loads the httpfs extension shipped by
the ``duckdb-ext-httpfs`` package (DuckDB writes encrypted files only with it; it is loaded from
site-packages, never downloaded), attaches the file with ``ENCRYPTION_KEY`` as catalog
``shanhai`` and makes it the default, also for every cursor (:class:`EncryptedConnection`).
Temporary files are encrypted too. A wrong or missing key is one clear sentence.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from shanhai.errors import DatabaseLockedError, SchemaError, ShanhaiError
from shanhai.store import migrator as _migrations
from shanhai.store.sql import literal

DEFAULT_DB = "shanhai.duckdb"
METADATA_TABLES = ("schema_migrations", "audit_log")
ENV_DB = "SHANHAI_DB"
ENV_KEY = "SHANHAI_DB_KEY"
CATALOG = "shanhai"                   # the attached encrypted file's catalog name


def db_key() -> str | None:
    """``$SHANHAI_DB_KEY`` (None when unset or empty)."""
    return os.environ.get(ENV_KEY) or None


def httpfs_extension(con: duckdb.DuckDBPyConnection) -> Path:
    """The httpfs extension file the ``duckdb-ext-httpfs`` package ships for this DuckDB and platform."""
    platform = con.execute("PRAGMA platform").fetchone()[0]
    relative = Path("extensions") / f"v{duckdb.__version__}" / platform / "httpfs.duckdb_extension"
    try:
        import duckdb_ext
        roots = [Path(p) for p in duckdb_ext.__path__]
    except ImportError:
        roots = []
    for root in roots:
        if (root / relative).is_file():
            return root / relative
    raise ShanhaiError(
        f"{ENV_KEY} is set but the httpfs extension for DuckDB {duckdb.__version__} ({platform}) is not installed: "
        "install the duckdb-ext-httpfs package matching DuckDB (DuckDB writes encrypted files only with it)")


class EncryptedConnection:
    """A DuckDB connection whose default catalog is the attached encrypted file, for itself and
    for every :meth:`cursor` (a plain cursor would start in the empty in-memory catalog)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        object.__setattr__(self, "_con", con)

    def __getattr__(self, name):
        return getattr(self._con, name)

    def __setattr__(self, name, value):
        setattr(self._con, name, value)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self._con.cursor()
        cur.execute(f"USE {CATALOG}")
        return cur

    def close(self) -> None:
        self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def default_db_path() -> Path:
    """``$SHANHAI_DB`` if set, else ``./shanhai.duckdb``."""
    return Path(os.environ.get(ENV_DB) or DEFAULT_DB)


class Store:
    """An open database file. Use as a context manager; ``con`` is the DuckDB connection."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, read_only: bool):
        self.path = path
        self.con = con
        self.read_only = read_only

    @property
    def encrypted(self) -> bool:
        return isinstance(self.con, EncryptedConnection)

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


def _connect_encrypted(db_path: Path, key: str, read_only: bool) -> EncryptedConnection:
    """An in-memory DuckDB with httpfs loaded and ``db_path`` attached encrypted as the default catalog."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"LOAD {literal(str(httpfs_extension(con)))}")
        options = f"ENCRYPTION_KEY {literal(key)}" + (", READ_ONLY" if read_only else "")
        con.execute(f"ATTACH {literal(str(db_path))} AS {CATALOG} ({options})")
        con.execute(f"USE {CATALOG}")
        con.execute("SET temp_file_encryption = true")
    except BaseException:
        con.close()
        raise
    return EncryptedConnection(con)


def open_store(
    path: str | Path | None = None,
    *,
    read_only: bool = False,
    create: bool = True,
    migrate: bool = True,
    key: str | None = None,
) -> Store:
    """Open (and by default create and upgrade) the database file at ``path``.

    ``read_only`` opens without taking the write lock (other read-only openers may share it) and
    refuses a file whose schema is behind the code, since it cannot be upgraded read-only.
    ``key`` (default ``$SHANHAI_DB_KEY``) opens or creates the file encrypted.
    """
    key = key if key is not None else db_key()
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
        con = (_connect_encrypted(db_path, key, read_only) if key
               else duckdb.connect(str(db_path), read_only=read_only))
    except duckdb.IOException as exc:
        message = str(exc)
        if "Could not set lock" in message or "Conflicting lock" in message:
            pid = _LOCK.search(message)
            holder = f" (process {pid.group(1)})" if pid else ""
            raise DatabaseLockedError(
                f"database {db_path} is in use by another Shanhai process{holder}: one process "
                "owns a database at a time, so stop it (or use the web interface it serves) first"
            ) from exc
        if "Wrong encryption key" in message:
            raise ShanhaiError(f"cannot open database {db_path}: {ENV_KEY} is not its encryption key") from exc
        raise ShanhaiError(f"cannot open database {db_path}: {message}") from exc
    except duckdb.Error as exc:
        message = str(exc)
        if "without a key" in message:
            raise ShanhaiError(f"database {db_path} is encrypted: set {ENV_KEY} to its key to open it") from exc
        if "is not encrypted" in message:
            raise ShanhaiError(
                f"database {db_path} is not encrypted but {ENV_KEY} is set: unset it to open the file, or "
                f"encrypt it with `shanhai db backup` and then `shanhai db restore` with {ENV_KEY} set") from exc
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
