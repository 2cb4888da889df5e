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

    def duplicate_keys(self) -> dict[str, int]:
        """Keys stored more than once in the tables whose key the loaders keep without an index
        (:data:`LOADER_KEYS`): 0 for each in a sound file."""
        return {table: self.con.execute(
                    f'SELECT count(*) FROM (SELECT 1 FROM "{table}" GROUP BY {", ".join(key)} HAVING count(*) > 1)'
                ).fetchone()[0]
                for table, key in LOADER_KEYS.items() if table in self.tables()}

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


# Keys kept unique by the loaders (importer, synth) rather than by an ART index, which costs more
# at insert and commit than it guards on tables of millions of rows (migrations 0001, 0021, 0027).
LOADER_KEYS = {"enterprise_years": ("uscc", "year"), "electricity_monthly": ("uscc", "month"),
               "electricity_account_monthly": ("account_no", "month")}

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
    foreign = foreign_file(db_path)
    if foreign:
        raise ShanhaiError(foreign)
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
        raise ShanhaiError(damage_message(db_path, exc) or f"cannot open database {db_path}: {message}") from exc
    except duckdb.Error as exc:
        message = str(exc)
        if "without a key" in message:
            raise ShanhaiError(f"database {db_path} is encrypted: set {ENV_KEY} to its key to open it") from exc
        if "is not encrypted" in message:
            raise ShanhaiError(
                f"database {db_path} is not encrypted but {ENV_KEY} is set: unset it to open the file, or "
                f"encrypt it with `shanhai db backup` and then `shanhai db restore` with {ENV_KEY} set") from exc
        raise ShanhaiError(damage_message(db_path, exc)
                           or f"{db_path} is not a Shanhai (DuckDB) database: {exc}") from exc
    con.execute("SET enable_progress_bar = false")  # Rich owns the terminal
    store = Store(db_path, con, read_only)
    try:
        known = _migrations.discover()
        try:
            store.tables()
            have = _migrations.current_version(con)
        except duckdb.Error as exc:      # the catalog or the ledger is unreadable
            raise ShanhaiError(damage_message(db_path, exc) or f"cannot read database {db_path}: {exc}") from exc
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


# ---- clear messages for files that are not (or no longer) a readable Shanhai database ----------

# A DuckDB file starts with an 8-byte checksum and the magic bytes "DUCK" (storage format v1+).
_DUCKDB_MAGIC = (8, b"DUCK")
_SIGNATURES = (
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"PK\x03\x04", "a ZIP archive (an Excel workbook?)"),
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"%PDF", "a PDF document"),
)


def _restore_hint(db_path: Path) -> str:
    return (f"restore the last backup with `shanhai db restore --db {db_path}` "
            "(the damaged file is kept aside, never deleted)")


def foreign_file(db_path: Path) -> str | None:
    """A one-line message when ``db_path`` exists but is not a DuckDB file, judged by its first
    bytes (so DuckDB never tries to open it: it would reach for an extension for an SQLite file)."""
    try:
        if not db_path.is_file():
            return None if not db_path.exists() else f"{db_path} is a folder, not a database file"
        with db_path.open("rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        return f"cannot read database {db_path}: {exc.strerror or exc}"
    if not head:
        return f"{db_path} is an empty file, not a valid DuckDB database: " + _restore_hint(db_path)
    offset, magic = _DUCKDB_MAGIC
    if head[offset:offset + len(magic)] == magic:
        return None
    what = next((name for signature, name in _SIGNATURES if head.startswith(signature)), None)
    if what is None:
        try:
            head.decode("utf-8")
            what = "a text file"
        except UnicodeDecodeError:
            what = "damaged or another program's file (its first bytes are not a DuckDB header)"
    return (f"{db_path} is {what}, not a valid DuckDB database (so not a Shanhai one): check --db / "
            "$SHANHAI_DB, or if this was the database, " + _restore_hint(db_path))


def damage_message(db_path: Path, exc: BaseException) -> str | None:
    """A one-line message for DuckDB's errors about a damaged file (bad checksum, unreadable
    header); ``None`` for other errors."""
    text = str(exc)
    if "Corrupt database file" in text or "not a valid DuckDB database file" in text:
        detail = text.split("\n", 1)[0].replace("IO Error: ", "")
        return f"database {db_path} is damaged ({detail}): " + _restore_hint(db_path)
    return None


def check_readable(store: Store) -> None:
    """Read every table whole (DuckDB checks each block's checksum as it reads it); a damaged
    block becomes a one-line :class:`ShanhaiError` naming the table."""
    for table in store.tables():
        try:
            store.checksum(table)
        except duckdb.Error as exc:
            message = damage_message(store.path, exc)
            if message is None:
                raise
            raise ShanhaiError(f"table {table}: {message}") from exc


_DISK_FULL = ("No space left on device", "File too large", "Disk quota exceeded")


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (an OSError or a DuckDB error) says the disk (or the file-size limit) is full."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return True
    return isinstance(exc, duckdb.Error) and any(t in str(exc) for t in _DISK_FULL)
