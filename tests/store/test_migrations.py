"""Versioned migrations: a new file gets them all, old files upgrade without losing rows,
failures roll back, edited or newer-than-code files are refused."""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files
from pathlib import Path

import duckdb
import pytest

from shanhai.errors import SchemaError
from shanhai.store import migrator, open_store
from shanhai.store.migrator import current_version, discover, latest_version, migrate

SHIPPED_DIR = Path(str(files("shanhai.store.migrations")))

# DESIGN.md "Data model (tables)"
DESIGN_TABLES = {
    "regions", "industries", "enterprises", "enterprise_years", "electricity_monthly",
    "land_parcels", "zones", "chains", "chain_segments", "segment_industries",
    "enterprise_segments", "pairings", "projects", "project_events", "enclaves", "indicators",
    "indicator_values", "targets", "runs", "run_results", "energy_use", "remediation_actions",
    "quota_allocations", "policy_items", "payments", "service_requests", "users", "sessions",
    "audit_log",
}  # fmt: skip
V1_TABLES = ("regions", "enterprises", "enterprise_years", "electricity_monthly")


def _shipped_files() -> list[Path]:
    return sorted(p for p in SHIPPED_DIR.iterdir() if re.fullmatch(r"\d{4}_[a-z0-9_]+\.sql", p.name))


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {r[0] for r in rows}


def _ledger(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str, str]]:
    return con.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version").fetchall()


# -- a new file ---------------------------------------------------------------------------


def test_shipped_migrations_are_numbered_from_one():
    shipped = _shipped_files()
    assert len(shipped) >= 4
    assert [int(p.name[:4]) for p in shipped] == list(range(1, len(shipped) + 1))
    assert [m.version for m in discover()] == list(range(1, len(shipped) + 1))
    assert latest_version() == len(shipped)


def test_new_file_gets_every_migration_and_the_ledger_records_name_and_checksum(db_path):
    with open_store(db_path) as store:
        assert store.schema_version == latest_version() == len(_shipped_files())
        expected = [
            (int(p.name[:4]), p.name[5:-4], hashlib.sha256(p.read_bytes()).hexdigest())
            for p in _shipped_files()
        ]
        assert _ledger(store.con) == expected
        applied_at = store.con.execute("SELECT count(applied_at) FROM schema_migrations").fetchone()[0]
        assert applied_at == len(expected)


def test_data_model_tables_exist(store):
    tables = set(store.tables())
    assert DESIGN_TABLES - tables == set()
    assert "schema_migrations" in tables
    assert store.content_tables() == sorted(tables - {"schema_migrations", "audit_log"})


def test_data_model_keys(store):
    """A few keys from the DESIGN table: a duplicate key is refused."""
    con = store.con
    con.execute("INSERT INTO enterprise_flags (uscc, flag, valid_from) VALUES ('X', 'high_tech', DATE '2023-01-01')")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO enterprise_flags (uscc, flag, valid_from) VALUES ('X', 'high_tech', DATE '2023-01-01')")
    con.execute("INSERT INTO energy_use (uscc, period, carrier, quantity, unit) VALUES ('X', '2023', 'coal', 1.0, 't')")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO energy_use (uscc, period, carrier, quantity, unit) VALUES ('X', '2023', 'coal', 2.0, 't')")


def test_loader_keys_are_counted_not_indexed(store):
    """enterprise_years, electricity_monthly and electricity_account_monthly keep their keys unique
    by the loaders, not by an index (migrations 0001, 0021, 0027): a duplicate is not refused, and
    Store.duplicate_keys finds it."""
    con = store.con
    none = {"enterprise_years": 0, "electricity_monthly": 0, "electricity_account_monthly": 0}
    assert store.duplicate_keys() == none
    con.execute("INSERT INTO enterprise_years (uscc, year, above_scale) VALUES ('X', 2023, true), ('X', 2022, true)")
    con.execute("INSERT INTO electricity_monthly (uscc, month, kwh) VALUES ('X', DATE '2023-01-01', 1)")
    con.execute("INSERT INTO electricity_account_monthly (account_no, month, kwh) VALUES ('1', DATE '2023-01-01', 1), "
                "('1', DATE '2023-02-01', 1)")
    assert store.duplicate_keys() == none
    con.execute("INSERT INTO enterprise_years (uscc, year, above_scale) VALUES ('X', 2023, false)")
    con.execute("INSERT INTO electricity_monthly (uscc, month, kwh) VALUES ('X', DATE '2023-01-01', 2), "
                "('X', DATE '2023-01-01', 3)")
    con.execute("INSERT INTO electricity_account_monthly (account_no, month, kwh) VALUES ('1', DATE '2023-01-01', 2)")
    assert store.duplicate_keys() == {"enterprise_years": 1, "electricity_monthly": 1, "electricity_account_monthly": 1}


def test_migrate_is_a_no_op_on_an_up_to_date_file(store):
    before = _ledger(store.con)
    assert migrate(store.con) == []
    assert _ledger(store.con) == before


# -- upgrades keep rows -------------------------------------------------------------------


def test_version_1_file_upgrades_on_open_without_losing_rows(db_path, insert_v1_rows, checksums_over):
    old = open_store(db_path, migrate=False)
    try:
        applied = migrate(old.con, target=1)
        assert [m.version for m in applied] == [1]
        assert old.schema_version == 1
        assert "chains" not in old.tables() and "audit_log" not in old.tables()
        insert_v1_rows(old.con)
        before = old.checksums(list(V1_TABLES))
        over_v1, v1_columns = checksums_over(old, V1_TABLES)
    finally:
        old.close()
    assert {t: n for t, (n, _) in before.items()} == {
        "regions": 3, "enterprises": 3, "enterprise_years": 3, "electricity_monthly": 3
    }

    with open_store(db_path) as new:  # auto-upgrades
        assert new.schema_version == latest_version()
        assert [v for v, _, _ in _ledger(new.con)] == list(range(1, latest_version() + 1))
        assert checksums_over(new, V1_TABLES, v1_columns)[0] == over_v1
        assert {"chains", "runs", "audit_log"} <= set(new.tables())
        revenue = new.con.execute(
            "SELECT revenue, tax_paid FROM enterprise_years WHERE year = 2022"
        ).fetchone()
        assert str(revenue[0]) == "1234.5678" and str(revenue[1]) == "56.7800"


def test_upgrade_step_by_step_keeps_rows(db_path, insert_v1_rows, checksums_over):
    with open_store(db_path, migrate=False) as s:
        migrate(s.con, target=1)
        insert_v1_rows(s.con)
        before, v1_columns = checksums_over(s, V1_TABLES)
        for target in range(2, latest_version() + 1):
            assert [m.version for m in migrate(s.con, target=target)] == [target]
            assert s.schema_version == target
            assert checksums_over(s, V1_TABLES, v1_columns)[0] == before


def test_runner_keeps_rows_through_alter_table(tmp_path):
    mig = tmp_path / "migrations"
    mig.mkdir()
    (mig / "0001_a.sql").write_text(
        "CREATE TABLE things (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, amount DECIMAL(18, 4));",
        "utf-8",
    )
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    try:
        assert [m.name for m in migrate(con, migrations=discover(mig))] == ["a"]
        rows = [(1, "甲", "1234.5678"), (2, "乙", None), (3, "丙", "0.0001")]
        con.executemany("INSERT INTO things VALUES (?, ?, ?::DECIMAL(18, 4))", rows)
        before = con.execute("SELECT id, name, amount::VARCHAR FROM things ORDER BY id").fetchall()

        (mig / "0002_b.sql").write_text(
            "ALTER TABLE things ADD COLUMN note VARCHAR DEFAULT 'n/a';\n"
            "CREATE TABLE others (x INTEGER);",
            "utf-8",
        )
        applied = migrate(con, migrations=discover(mig))
        assert [(m.version, m.name) for m in applied] == [(2, "b")]
        assert current_version(con) == 2
        after = con.execute("SELECT id, name, amount::VARCHAR FROM things ORDER BY id").fetchall()
        assert after == before == [(1, "甲", "1234.5678"), (2, "乙", None), (3, "丙", "0.0001")]
        assert con.execute("SELECT DISTINCT note FROM things").fetchall() == [("n/a",)]
        assert [(v, n) for v, n, _ in _ledger(con)] == [(1, "a"), (2, "b")]
    finally:
        con.close()


# -- failures -----------------------------------------------------------------------------


def test_failing_migration_rolls_back_and_names_the_file(tmp_path):
    mig = tmp_path / "migrations"
    mig.mkdir()
    (mig / "0001_a.sql").write_text("CREATE TABLE a (id INTEGER PRIMARY KEY);", "utf-8")
    # creates a table and inserts a row, then fails: none of it may remain
    (mig / "0002_broken.sql").write_text(
        "CREATE TABLE partial (x INTEGER);\nINSERT INTO partial VALUES (1);\n"
        "INSERT INTO a VALUES (7);\nCREATE TABLE a (id INTEGER);",
        "utf-8",
    )
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    try:
        with pytest.raises(SchemaError, match=r"0002_broken\.sql") as info:
            migrate(con, migrations=discover(mig))
        assert "failed" in str(info.value)
        assert current_version(con) == 1
        assert "partial" not in _tables(con)
        assert con.execute("SELECT count(*) FROM a").fetchone()[0] == 0
        assert [v for v, _, _ in _ledger(con)] == [1]

        # a fixed file then applies cleanly on the same connection
        (mig / "0002_broken.sql").write_text("CREATE TABLE partial (x INTEGER);", "utf-8")
        assert [m.version for m in migrate(con, migrations=discover(mig))] == [2]
        assert current_version(con) == 2 and "partial" in _tables(con)
    finally:
        con.close()


def test_failing_first_migration_leaves_version_zero(tmp_path):
    mig = tmp_path / "migrations"
    mig.mkdir()
    (mig / "0001_typo.sql").write_text("CREATE TABLE q (x INTEGER);\nSELEC 1;", "utf-8")
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    try:
        with pytest.raises(SchemaError, match=r"0001_typo\.sql"):
            migrate(con, migrations=discover(mig))
        assert current_version(con) == 0
        assert "q" not in _tables(con)
    finally:
        con.close()


def test_edited_applied_migration_is_refused(tmp_path):
    mig = tmp_path / "migrations"
    mig.mkdir()
    (mig / "0001_a.sql").write_text("CREATE TABLE a (id INTEGER);", "utf-8")
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    try:
        migrate(con, migrations=discover(mig))
        (mig / "0001_a.sql").write_text("CREATE TABLE a (id INTEGER, extra VARCHAR);", "utf-8")
        (mig / "0002_b.sql").write_text("CREATE TABLE b (id INTEGER);", "utf-8")
        with pytest.raises(SchemaError, match=r"0001_a\.sql was changed"):
            migrate(con, migrations=discover(mig))
        assert current_version(con) == 1
        assert "b" not in _tables(con)
    finally:
        con.close()


def test_edited_migration_is_refused_by_migrate_on_a_shipped_file(db_path):
    with open_store(db_path) as s:
        s.con.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2")
        with pytest.raises(SchemaError, match=r"0002_chains_cooperation\.sql was changed"):
            migrate(s.con)


def test_open_store_notices_an_edited_migration_on_an_up_to_date_file(db_path):
    with open_store(db_path) as s:
        s.con.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    with pytest.raises(SchemaError, match="changed"):
        open_store(db_path).close()


def test_file_newer_than_the_code_is_refused(db_path):
    newer = latest_version() + 1
    with open_store(db_path) as s:
        s.con.execute(
            "INSERT INTO schema_migrations VALUES (?, 'from_the_future', 'x', now()::TIMESTAMP)", [newer]
        )
        with pytest.raises(SchemaError, match=f"version {newer}"):
            migrate(s.con)
    with pytest.raises(SchemaError, match=rf"schema version {newer}, newer than this Shanhai") as info:
        open_store(db_path)
    assert str(db_path) in str(info.value)
    with pytest.raises(SchemaError, match="newer"):
        open_store(db_path, read_only=True)
    with pytest.raises(SchemaError, match="newer"):
        open_store(db_path, migrate=False)
    # each refusal closed the file: it can be opened again and is unchanged
    con = duckdb.connect(str(db_path))
    try:
        assert current_version(con) == newer
    finally:
        con.close()


def test_read_only_open_of_an_old_file_is_refused(db_path):
    with open_store(db_path, migrate=False) as s:
        migrate(s.con, target=2)
    with pytest.raises(SchemaError, match=r"version 2 and needs version \d+") as info:
        open_store(db_path, read_only=True)
    assert "shanhai db init" in str(info.value)
    with open_store(db_path, read_only=True, migrate=False) as s:
        assert s.schema_version == 2


@pytest.mark.parametrize(
    ("names", "found"),
    [
        (["0001_a.sql", "0003_c.sql"], "[1, 3]"),
        (["0002_b.sql"], "[2]"),
        (["0001_a.sql", "0001_b.sql"], "[1, 1]"),
        (["0001_a.sql", "0002_b.sql", "0004_d.sql"], "[1, 2, 4]"),
    ],
)
def test_discover_refuses_gaps(tmp_path, names, found):
    for name in names:
        (tmp_path / name).write_text("SELECT 1;", "utf-8")
    with pytest.raises(SchemaError, match="without gaps") as info:
        discover(tmp_path)
    assert found in str(info.value)


def test_discover_orders_by_version_and_reads_the_sql(tmp_path):
    (tmp_path / "0002_second.sql").write_text("CREATE TABLE two (x INTEGER);", "utf-8")
    (tmp_path / "0001_first.sql").write_text("-- 第一\nCREATE TABLE one (x INTEGER);", "utf-8")
    (tmp_path / "README.md").write_text("not a migration", "utf-8")
    found = discover(tmp_path)
    assert [(m.version, m.name) for m in found] == [(1, "first"), (2, "second")]
    assert found[0].sql == "-- 第一\nCREATE TABLE one (x INTEGER);"
    assert found[0].checksum == hashlib.sha256(found[0].sql.encode("utf-8")).hexdigest()
    assert migrator.latest_version(found) == 2
    assert migrator.latest_version(()) == 0


def test_misnamed_migration_files_are_refused(tmp_path):
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER);", "utf-8")
    (tmp_path / "0002-b.sql").write_text("CREATE TABLE b (x INTEGER);", "utf-8")
    with pytest.raises(SchemaError, match="misnamed"):
        discover(tmp_path)


def test_unknown_target_version_is_refused(tmp_path):
    import duckdb

    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    with pytest.raises(SchemaError, match="no schema version 99"):
        migrate(con, target=99)
    con.close()


def test_creating_a_store_and_changing_a_setting_never_loads_pandas(tmp_path):
    """DuckDB's client imports pandas, numpy and pyarrow (0.3–1.5 s) on the first statement with
    bound parameters: creating a database (every migration's ledger row) and an administrator's
    settings change write their values as literals, so `shanhai db init` and `users settings` stay
    fast in a fresh process."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from shanhai.store import open_store\n"
        "from shanhai.store.accounts import set_security_setting\n"
        f"with open_store({str(tmp_path / 'new.duckdb')!r}) as store:\n"
        "    set_security_setting(store, 'idle_minutes', '20', actor='tests')\n"
        "    print(store.con.execute('SELECT count(*) FROM schema_migrations').fetchone()[0] > 20)\n"
        "    print(sorted(m for m in ('pandas', 'pyarrow', 'numpy') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["True", "[]"]
