"""An import whose reading, cleaning and checking run in a separate, low-priority process.

The web server owns the database file and answers pages while its job thread imports. DuckDB's
Python client takes the GIL after every execution step of a statement (to check for Ctrl+C), so
an import's long statements on the server's job thread hold up the event loop and every page,
whatever the thread's priority (docs/operations.md, "Load"). Here the heavy part runs elsewhere:

1. the server copies the lookup tables the kind reads (regions, industries, zones, chains, the
   enterprise register, the land register and any table the kind's rules name) into Parquet files
   in a private temporary folder — never the database file itself, which one process owns;
2. a child process (``python -m shanhai.ingest._isolated``, nice 19) builds those tables in an
   in-memory DuckDB and runs :func:`shanhai.ingest.importer.prepare` there: it reads, maps, cleans
   and checks every cell and writes the cleaned rows (``_import_clean``) back as Parquet, with its
   progress and the partial summary as JSON lines on stdout;
3. the server loads the cleaned rows and runs :func:`shanhai.ingest.importer.finish`: the region
   scope, duplicate keys and the merge in one transaction, as a plain import does.

The result is the same as :func:`shanhai.ingest.import_file`'s (a test checks every kind of the
synthetic province's files). An encrypted store (``SHANHAI_DB_KEY``) imports in process instead:
its tables are not written unencrypted to a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from shanhai.errors import ShanhaiError
import duckdb

from shanhai.ingest.importer import ImportResult, Prepared, Problem, Progress, finish, import_file, raise_if_disk_full
from shanhai.ingest.spec import Kind, kind as _kind
from shanhai.store import Store, load_reference, reference_loaded
from shanhai.store.scope import Scope
from shanhai.store.sql import literal

# read by every kind's cleaning: region and industry labels, zones, chains and segments, the
# enterprise register (codes must be in it), the land register (declared land is compared with it)
LOOKUPS = ("regions", "industries", "zones", "zone_counties", "chains", "chain_segments", "enterprises",
           "land_parcels")
_NAMED = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
CHILD_NICE = 19
FOLDER_PREFIX = "shanhai-import-"
OWNER = "owner.pid"                 # the server process that made the folder


def lookup_tables(store: Store, kind: Kind) -> list[str]:
    """The tables the child needs with their rows: :data:`LOOKUPS` and those the kind's own SQL
    (rules, derived columns) names, among the store's tables."""
    tables = set(store.tables())
    named = {m.group(1) for m in _NAMED.finditer(repr(kind))}
    return sorted(t for t in set(LOOKUPS) | named if t in tables)


def import_file_isolated(store: Store, kind_name: str, path: str | Path, *, year: int | None = None,
                         sheet: str | None = None, encoding: str | None = None, dry_run: bool = False,
                         username: str | None = None, progress: Progress | None = None,
                         scope: Scope | None = None) -> ImportResult:
    """:func:`shanhai.ingest.import_file` with the reading, cleaning and checking in a child
    process (see the module docstring); same arguments, same result."""
    if store.encrypted:
        return import_file(store, kind_name, path, year=year, sheet=sheet, encoding=encoding, dry_run=dry_run,
                           username=username, progress=progress, scope=scope)
    progress = progress or (lambda label, fraction: None)
    kind = _kind(kind_name)
    path = Path(path).resolve()
    try:
        return _isolated(store, kind, path, year, dry_run, sheet, encoding, username, progress, scope)
    except (OSError, duckdb.Error) as exc:
        raise_if_disk_full(store, path, exc)
        raise


def _isolated(store: Store, kind: Kind, path: Path, year: int | None, dry_run: bool, sheet: str | None,
              encoding: str | None, username: str | None, progress: Progress, scope: Scope | None) -> ImportResult:
    con = store.con
    if not reference_loaded(con):
        load_reference(con)
    sweep_stale_folders()
    with tempfile.TemporaryDirectory(prefix=FOLDER_PREFIX) as tmp:
        folder = Path(tmp)
        (folder / OWNER).write_text(str(os.getpid()))
        data = lookup_tables(store, kind)
        for table in data:
            con.execute(f'COPY (SELECT * FROM "{table}") TO {literal(str(folder / (table + ".parquet")))} '
                        "(FORMAT parquet)")
        wanted = sorted(set(data) | {kind.table})
        ddl = dict(con.execute(
            "SELECT table_name, sql FROM duckdb_tables() WHERE schema_name = 'main' AND table_name IN "
            f"({', '.join(literal(t) for t in wanted)})").fetchall())
        spec = {"kind": kind.kind, "path": str(path), "year": year, "sheet": sheet, "encoding": encoding,
                "dry_run": dry_run,
                "scope": None if scope is None else {"adcode": scope.adcode, "level": scope.level, "name": scope.name},
                "tables": [{"name": t, "ddl": ddl[t], "rows": t in data} for t in wanted if t in ddl],
                "folder": str(folder)}
        (folder / "spec.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
        prepared = _run_child(folder, progress)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _import_clean AS SELECT * FROM "
                    f"read_parquet({literal(str(folder / 'clean.parquet'))})")
    return finish(store, kind, prepared, year, dry_run, username, progress, scope)


def sweep_stale_folders(root: Path | None = None) -> list[Path]:
    """Delete the temporary folders of isolated imports whose server process is gone (killed in the
    middle of an import, so its ``TemporaryDirectory`` was never cleaned up): they hold Parquet
    copies of the enterprise register. A folder without a readable owner file is left alone (being
    created, or not ours). Returns the folders deleted."""
    root = Path(tempfile.gettempdir()) if root is None else root
    gone = []
    for folder in root.glob(FOLDER_PREFIX + "*"):
        try:
            pid = int((folder / OWNER).read_text().strip())
        except (OSError, ValueError):
            continue
        if not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder)
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:         # another user's process
        return True
    return True


def _run_child(folder: Path, progress: Progress) -> Prepared:
    errors = folder / "stderr.txt"
    with open(errors, "wb") as stderr:
        child = subprocess.Popen([sys.executable, "-m", "shanhai.ingest._isolated", str(folder / "spec.json")],
                                 stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
                                 text=True, encoding="utf-8")
        message: dict = {}
        try:
            for line in child.stdout:
                message = json.loads(line)
                if "progress" in message:
                    progress(*message["progress"])
        finally:
            child.stdout.close()
            code = child.wait()
    if "error" in message:
        raise ShanhaiError(message["error"])
    if code != 0 or "prepared" not in message:
        tail = errors.read_text("utf-8", "replace").strip().splitlines()[-1:] or [f"exit code {code}"]
        raise RuntimeError(f"the import's preparation process failed: {tail[0]}")
    return _prepared_from(message["prepared"])


def _prepared_from(doc: dict) -> Prepared:
    result = dict(doc["result"])
    for name in ("rejects", "warnings", "scope_rejects"):
        result[name] = [Problem(**p) for p in result[name]]
    return Prepared(ImportResult(**result), doc["fingerprint"], doc["stored"], doc["insert_only"], doc["headers"])


def _child(spec_path: str) -> int:
    """The child's side: build the lookup tables, prepare, write ``clean.parquet``."""
    try:
        os.nice(CHILD_NICE)
    except OSError:         # not permitted: it runs at the server's priority
        pass
    from shanhai.ingest.importer import prepare
    from shanhai.ingest.read import open_source, with_reread

    spec = json.loads(Path(spec_path).read_text("utf-8"))
    folder = Path(spec["folder"])

    def emit(document: dict) -> None:
        sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for table in spec["tables"]:
        con.execute(table["ddl"])
        if table["rows"]:
            con.execute(f'INSERT INTO "{table["name"]}" SELECT * FROM '
                        f"read_parquet({literal(str(folder / (table['name'] + '.parquet')))})")
    store = Store(Path(":memory:"), con, False)
    kind = _kind(spec["kind"])
    scope = Scope(**spec["scope"]) if spec["scope"] else None
    try:
        source = open_source(Path(spec["path"]), sheet=spec["sheet"], encoding=spec["encoding"])
        prepared = with_reread(source, lambda s: prepare(
            store, kind, s, spec["year"], spec["dry_run"],
            lambda label, fraction: emit({"progress": [label, fraction]}), scope))
    except ShanhaiError as exc:
        emit({"error": str(exc)})
        return 2
    con.execute(f"COPY _import_clean TO {literal(str(folder / 'clean.parquet'))} (FORMAT parquet)")
    emit({"prepared": {"result": asdict(prepared.result), "fingerprint": prepared.fingerprint,
                       "stored": prepared.stored, "insert_only": prepared.insert_only,
                       "headers": prepared.headers}})
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
