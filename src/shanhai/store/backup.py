"""Portable backups: one Parquet file per table plus a manifest, restorable by any later Shanhai.

Layout of a backup folder::

    manifest.json        format, Shanhai and schema versions, per table: rows, checksum, file sha256
    <table>.parquet      zstd-compressed Parquet, one per table

Restore builds a new database at the backup's schema version, loads every table by column name,
checks each table's row count and content checksum against the manifest, then applies any newer
migrations. A backup therefore restores identically into the same version and upgrades cleanly
into a newer one.

Encrypted backups: a backup of an encrypted database (``$SHANHAI_DB_KEY`` set) writes every Parquet
file with Parquet modular encryption (AES-GCM, footer and columns) under a 256-bit key derived from
``$SHANHAI_DB_KEY``; the manifest says ``"encrypted": true`` (never the key). Restoring one needs
the same key, and restores into an encrypted database.

Where backups live by default: ``<db>.backups/<UTC time>/`` beside the database file
(:func:`default_backup_dir`); :func:`latest_backup` finds the newest one there, and
:func:`restore_in_place` brings it back over a damaged (or unwanted) database file after moving
that file aside to ``<db>.set-aside-<UTC time>`` — it never deletes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from shanhai.errors import DatabaseLockedError, ShanhaiError
from shanhai.store import audit
from shanhai.store import migrator as _migrations
from shanhai.store.connection import ENV_KEY, Store, db_key, open_store

FORMAT = "shanhai-backup/1"
LEDGER = "schema_migrations"
PARQUET_KEY = "shanhai_backup"


def _parquet_key(con, key: str) -> str:
    """Register the backup's Parquet key (derived from the database key) on ``con``; returns the
    COPY / read_parquet option naming it."""
    derived = base64.b64encode(hashlib.sha256(b"shanhai-backup/1:" + key.encode("utf-8")).digest()).decode()
    con.execute(f"PRAGMA add_parquet_key('{PARQUET_KEY}', '{derived}')")
    return f"{{footer_key: '{PARQUET_KEY}'}}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(store: Store, dest: str | Path, *, username: str | None = None) -> dict:
    """Write a backup of ``store`` into the new folder ``dest``; returns the manifest."""
    from shanhai import __version__

    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ShanhaiError(f"backup destination {dest} is a file: name a new folder")
    if dest.exists() and any(dest.iterdir()):
        raise ShanhaiError(f"backup folder {dest} already exists and is not empty: choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    if not store.read_only and "audit_log" in store.tables():
        audit.append(store.con, "db_backup", username=username, target=str(dest))
    tables = {}
    encryption = ""
    if store.encrypted:
        key = db_key()
        if not key:
            raise ShanhaiError(f"database {store.path} is encrypted: set {ENV_KEY} to write its (encrypted) backup")
        encryption = f", ENCRYPTION_CONFIG {_parquet_key(store.con, key)}"
    for table in store.tables():
        file = dest / f"{table}.parquet"
        store.con.execute(
            f"COPY \"{table}\" TO '{_sql_path(file)}' (FORMAT parquet, COMPRESSION zstd{encryption})"
        )
        rows, checksum = store.checksum(table)
        tables[table] = {"rows": rows, "checksum": checksum, "file": file.name,
                         "sha256": _sha256(file)}
    last = (store.con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            if "audit_log" in store.tables() else None)
    migrations = store.con.execute(
        "SELECT version, checksum FROM schema_migrations ORDER BY version").fetchall()
    manifest = {
        "format": FORMAT,
        "shanhai_version": __version__,
        "created_at": _stamp(),
        "schema_version": store.schema_version,
        "encrypted": bool(encryption),
        "source": str(store.path),
        "migrations": {str(v): c for v, c in migrations},
        # the audit chain's head: a restore (or an auditor) can tell if newest entries vanished
        "audit_head": None if last is None else {"seq": last[0], "hash": last[1]},
        "tables": tables,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), "utf-8")
    return manifest


def read_manifest(src: str | Path) -> dict:
    src = Path(src)
    path = src / "manifest.json"
    if not path.is_file():
        raise ShanhaiError(f"{src} is not a Shanhai backup: {path} is missing")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise ShanhaiError(f"{path} is not valid JSON (line {exc.lineno}): the backup is damaged") from exc
    if manifest.get("format") != FORMAT:
        raise ShanhaiError(f"{path}: unknown backup format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def restore(src: str | Path, db_path: str | Path) -> dict:
    """Restore the backup folder ``src`` into the new database file ``db_path``.

    Returns ``{"schema_version": ..., "tables": {name: rows}, "upgraded_to": ...}``.
    """
    src, db_path = Path(src), Path(db_path)
    manifest = read_manifest(src)
    if db_path.exists():
        raise ShanhaiError(f"refusing to restore into {db_path}: the file exists; restore into a new file, "
                           "or add --replace to move it aside (kept as <db>.set-aside-<time>, never deleted)")
    known = _migrations.discover()
    version = manifest["schema_version"]
    if version > _migrations.latest_version(known):
        raise ShanhaiError(
            f"backup {src} has schema version {version}, newer than this Shanhai "
            f"({_migrations.latest_version(known)}): upgrade Shanhai to restore it"
        )
    shipped = {str(m.version): m.checksum for m in known if m.version <= version}
    recorded = manifest.get("migrations")
    if recorded is not None and recorded != shipped:
        raise ShanhaiError(
            f"backup {src} was taken with a different schema definition at version {version} "
            "(migration checksums differ): restore it with the Shanhai version that wrote it"
        )
    for table, entry in manifest["tables"].items():
        file = src / entry["file"]
        if Path(entry["file"]).name != entry["file"] or not entry["file"].endswith(".parquet"):
            raise ShanhaiError(f"backup {src} is damaged: table {table} points outside the backup folder")
        if not file.is_file():
            raise ShanhaiError(f"backup {src} is incomplete: {file.name} for table {table} is missing")
        if _sha256(file) != entry["sha256"]:
            raise ShanhaiError(f"backup {src} is damaged: {file.name} does not match its checksum")
    key = db_key()
    if manifest.get("encrypted") and not key:
        raise ShanhaiError(f"backup {src} is encrypted: set {ENV_KEY} to the key of the database it was taken from")
    store = open_store(db_path, migrate=False)
    try:
        reading = f", encryption_config={_parquet_key(store.con, key)}" if manifest.get("encrypted") else ""
        _migrations.migrate(store.con, target=version, migrations=known)
        missing = sorted(set(store.tables()) - set(manifest["tables"]) - {LEDGER})
        if missing:
            raise ShanhaiError(f"backup {src} is incomplete: no entry for table(s) {', '.join(missing)}")
        store.con.execute("BEGIN TRANSACTION")
        for table, entry in manifest["tables"].items():
            if table == LEDGER:
                continue
            if table not in store.tables():
                raise ShanhaiError(f"backup table {table} is not part of schema version {version}")
            try:
                store.con.execute(
                    f"INSERT INTO \"{table}\" BY NAME SELECT * FROM read_parquet('{_sql_path(src / entry['file'])}'"
                    f"{reading})"
                )
            except duckdb.Error as exc:
                if "AES tag" in str(exc):
                    raise ShanhaiError(f"backup {src}: {ENV_KEY} is not the key it was encrypted with") from exc
                raise ShanhaiError(f"backup {src}: {entry['file']} does not fit table {table}: {exc}") from exc
        store.con.execute("COMMIT")
        for table, entry in manifest["tables"].items():
            if table == LEDGER:
                continue
            rows, checksum = store.checksum(table)
            if (rows, checksum) != (entry["rows"], entry["checksum"]):
                raise ShanhaiError(
                    f"restored table {table} does not match the backup "
                    f"({rows} rows vs {entry['rows']} in the manifest)"
                )
        applied = _migrations.migrate(store.con, migrations=known)
        result = {
            "schema_version": version,
            "upgraded_to": applied[-1].version if applied else version,
            "tables": {t: e["rows"] for t, e in manifest["tables"].items() if t != LEDGER},
        }
    except BaseException:
        store.close()
        db_path.unlink(missing_ok=True)
        Path(str(db_path) + ".wal").unlink(missing_ok=True)
        raise
    store.close()
    return result


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


# ---- default places: <db>.backups/<time>/ and restoring the last one in place ------------------

def _stamp() -> str:
    """UTC time to the microsecond, sortable as text: 20261207T104102.123456Z."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def backups_root(db_path: str | Path) -> Path:
    """The folder holding a database's backups by default: ``<db>.backups`` beside the file."""
    return Path(f"{db_path}.backups")


def default_backup_dir(db_path: str | Path) -> Path:
    """A new folder for the next backup: ``<db>.backups/<UTC time>``."""
    return backups_root(db_path) / _stamp()


def list_backups(db_path: str | Path) -> list[tuple[str, Path]]:
    """Backups of ``db_path`` in its default folder, oldest first, as (created_at, folder).

    Ordered by the manifest's ``created_at`` (backups written before it existed: the manifest's
    modification time); folders without a readable manifest are not backups and are skipped."""
    root = backups_root(db_path)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        try:
            manifest = read_manifest(folder)
        except (ShanhaiError, OSError):
            continue
        when = manifest.get("created_at") or datetime.fromtimestamp(
            (folder / "manifest.json").stat().st_mtime, timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        found.append((when, folder))
    return sorted(found)


def latest_backup(db_path: str | Path) -> Path:
    """The newest backup in ``<db>.backups/``; a clear error when there is none."""
    found = list_backups(db_path)
    if not found:
        raise ShanhaiError(
            f"no backup of {db_path} in {backups_root(db_path)}: name the backup folder "
            f"(`shanhai db restore SRC --db {db_path}`), or take backups with `shanhai db backup --db {db_path}`")
    return found[-1][1]


def _refuse_if_in_use(db_path: Path) -> None:
    """Refuse to touch a file a running Shanhai process holds (a damaged file may not open at all:
    only the lock matters here). A file that is not DuckDB's is held by no Shanhai process."""
    from shanhai.store.connection import foreign_file

    if foreign_file(db_path):
        return
    try:
        duckdb.connect(str(db_path), read_only=True).close()
    except duckdb.Error as exc:
        if "Could not set lock" in str(exc) or "Conflicting lock" in str(exc):
            raise DatabaseLockedError(
                f"database {db_path} is in use by another Shanhai process: stop it (e.g. `shanhai serve`) "
                "before restoring over it") from exc


def restore_in_place(src: str | Path | None, db_path: str | Path) -> dict:
    """Restore ``src`` (default: :func:`latest_backup`) as ``db_path``.

    An existing ``db_path`` (and its ``.wal``) is first moved aside to ``<db>.set-aside-<UTC time>``
    — kept, never deleted — and moved back if the restore fails. Returns :func:`restore`'s result
    with ``backup`` (the folder used) and ``set_aside`` (the kept file, or ``None``)."""
    db_path = Path(db_path)
    src = latest_backup(db_path) if src is None else Path(src)
    read_manifest(src)                                   # a bad backup fails before anything moves
    aside = None
    wal = Path(f"{db_path}.wal")
    if db_path.exists():
        if db_path.is_dir():
            raise ShanhaiError(f"{db_path} is a folder, not a database file")
        _refuse_if_in_use(db_path)
        aside = db_path.with_name(f"{db_path.name}.set-aside-{_stamp()}")
        os.replace(db_path, aside)
        if wal.exists():
            os.replace(wal, Path(f"{aside}.wal"))
    try:
        result = restore(src, db_path)
    except BaseException:
        if aside is not None and not db_path.exists():
            os.replace(aside, db_path)
            if Path(f"{aside}.wal").exists():
                os.replace(Path(f"{aside}.wal"), wal)
        raise
    return {**result, "backup": str(src), "set_aside": None if aside is None else str(aside)}
