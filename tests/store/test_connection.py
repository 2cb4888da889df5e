"""open_store: clear errors for missing, locked and foreign files; the default path; the
table listings and the row-order independent checksum."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shanhai.errors import DatabaseLockedError, SchemaError, ShanhaiError
from shanhai.store import default_db_path, open_store
from shanhai.store.connection import DEFAULT_DB, ENV_DB
from shanhai.store.migrator import latest_version


# -- missing and foreign files ------------------------------------------------------------


def test_read_only_open_of_a_missing_file_says_how_to_build_one(tmp_path):
    path = tmp_path / "nowhere.duckdb"
    with pytest.raises(ShanhaiError) as info:
        open_store(path, read_only=True)
    message = str(info.value)
    assert str(path) in message
    assert "shanhai synth" in message
    assert not path.exists()


def test_create_false_refuses_a_missing_file(tmp_path):
    path = tmp_path / "nowhere.duckdb"
    with pytest.raises(ShanhaiError, match="does not exist"):
        open_store(path, create=False)
    assert not path.exists()


def test_missing_folder_is_named(tmp_path):
    path = tmp_path / "no_such_folder" / "x.duckdb"
    with pytest.raises(ShanhaiError) as info:
        open_store(path)
    assert f"folder {path.parent} does not exist" in str(info.value)
    assert not path.parent.exists()


@pytest.mark.parametrize(
    "content",
    [os.urandom(1) + bytes(range(256)) * 40, b"hello, this is not a database\n", b""],
    ids=["random-bytes", "text", "empty"],
)
def test_a_non_duckdb_file_is_refused(tmp_path, content):
    path = tmp_path / "garbage.duckdb"
    path.write_bytes(content)
    with pytest.raises(ShanhaiError) as info:
        open_store(path)
    assert str(path) in str(info.value)
    assert "not a valid DuckDB database" in str(info.value)
    assert path.read_bytes() == content  # left untouched


def test_a_non_duckdb_file_whose_path_contains_lock_is_not_reported_as_locked(tmp_path):
    folder = tmp_path / "blocks"
    folder.mkdir()
    path = folder / "garbage.duckdb"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ShanhaiError) as info:
        open_store(path)
    assert not isinstance(info.value, DatabaseLockedError), str(info.value)
    assert "in use by another" not in str(info.value)


# -- the lock -----------------------------------------------------------------------------

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from shanhai.store import open_store
    store = open_store(sys.argv[1])
    print("ready", store.schema_version, flush=True)
    time.sleep(30)
    """
)


def _wait_for_line(proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            return proc.stdout.readline()
        if proc.poll() is not None:
            break
    raise AssertionError(f"holder process did not get ready: {proc.stderr.read() if proc.poll() is not None else 'timeout'}")


def test_a_second_process_cannot_open_a_file_held_by_a_writer(db_path):
    open_store(db_path).close()  # create and migrate here, so the child only opens it
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for_line(proc, 20).split() == ["ready", str(latest_version())]
        with pytest.raises(DatabaseLockedError) as info:
            open_store(db_path)
        message = str(info.value)
        assert "in use by another" in message
        assert str(db_path) in message
        assert f"process {proc.pid}" in message
        # a reader is refused too while a writer holds the file
        with pytest.raises(DatabaseLockedError, match="in use by another"):
            open_store(db_path, read_only=True)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    # once the holder is gone the file opens again
    with open_store(db_path) as store:
        assert store.schema_version == latest_version()


def test_locked_error_is_a_shanhai_error():
    assert issubclass(DatabaseLockedError, ShanhaiError)
    assert issubclass(SchemaError, ShanhaiError)


# -- the default path ---------------------------------------------------------------------


def test_shanhai_db_sets_the_default_path(monkeypatch, tmp_path):
    target = tmp_path / "from_env.duckdb"
    monkeypatch.setenv(ENV_DB, str(target))
    assert default_db_path() == target
    with open_store() as store:
        assert store.path == target
    assert target.is_file()


def test_default_path_without_the_variable(monkeypatch):
    monkeypatch.delenv(ENV_DB, raising=False)
    assert default_db_path() == Path("shanhai.duckdb") == Path(DEFAULT_DB)
    monkeypatch.setenv(ENV_DB, "")
    assert default_db_path() == Path("shanhai.duckdb")


# -- listings -----------------------------------------------------------------------------


def test_tables_and_content_tables(store):
    tables = store.tables()
    assert tables == sorted(tables)
    assert {"schema_migrations", "audit_log", "regions"} <= set(tables)
    content = store.content_tables()
    assert "schema_migrations" not in content
    assert "audit_log" not in content
    assert set(tables) - set(content) == {"schema_migrations", "audit_log"}
    assert content == sorted(content)


def test_row_counts(store):
    store.con.execute("INSERT INTO chains (chain_id, name, name_en, note) "
                      "VALUES ('c1', '链', NULL, NULL), ('c2', '链二', 'two', NULL)")
    counts = store.row_counts()
    assert set(counts) == set(store.tables())
    assert counts["chains"] == 2
    assert counts["regions"] == 0
    assert counts["schema_migrations"] == latest_version()


def test_read_only_store_cannot_write(db_path):
    open_store(db_path).close()
    with open_store(db_path, read_only=True) as store:
        assert store.read_only is True
        assert store.schema_version == latest_version()
        with pytest.raises(Exception, match="read-only"):
            store.con.execute("INSERT INTO chains (chain_id, name, name_en, note) VALUES ('c1', '链', NULL, NULL)")


# -- checksum -----------------------------------------------------------------------------

_ROWS = [
    ("330127", "淳安县", "county", "330100", True, 329000, 0.25),
    ("330100", "杭州市", "city", "330000", False, None, None),
    ("330000", "浙江省", "province", None, False, 64567588, 0.3312),
    ("330102", "上城区", "county", "330100", False, 1323000, 0.1),
]
_INSERT = (
    "INSERT INTO regions (adcode, name, level, parent_adcode, mountain26, population, mfg_share) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def test_checksum_is_row_order_independent(tmp_path):
    with open_store(tmp_path / "a.duckdb") as a, open_store(tmp_path / "b.duckdb") as b:
        for row in _ROWS:
            a.con.execute(_INSERT, row)
        for row in reversed(_ROWS):
            b.con.execute(_INSERT, row)
        assert a.con.execute("SELECT adcode FROM regions").fetchall() != b.con.execute(
            "SELECT adcode FROM regions"
        ).fetchall()  # the physical order really differs
        rows, total = a.checksum("regions")
        assert rows == 4
        assert isinstance(total, str) and total != "0"
        assert a.checksum("regions") == b.checksum("regions")
        assert a.checksums(a.content_tables()) == b.checksums(b.content_tables())


def test_checksum_of_an_empty_table(store):
    assert store.checksum("regions") == (0, "0")


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE regions SET name = '淳安' WHERE adcode = '330127'",
        "UPDATE regions SET population = 329001 WHERE adcode = '330127'",
        "UPDATE regions SET mfg_share = 0.2500001 WHERE adcode = '330127'",
        "UPDATE regions SET population = NULL WHERE adcode = '330127'",
        "UPDATE regions SET population = 0 WHERE adcode = '330100'",
        "UPDATE regions SET mountain26 = false WHERE adcode = '330127'",
        "UPDATE regions SET parent_adcode = '330000' WHERE adcode = '330102'",
        # swapping two cells between rows keeps the column's values but changes rows
        "UPDATE regions SET population = CASE adcode WHEN '330127' THEN 1323000 ELSE 329000 END "
        "WHERE adcode IN ('330127', '330102')",
    ],
)
def test_checksum_changes_when_one_cell_changes(store, change):
    for row in _ROWS:
        store.con.execute(_INSERT, row)
    before = store.checksum("regions")
    store.con.execute(change)
    after = store.checksum("regions")
    assert after[0] == before[0] == 4
    assert after[1] != before[1]


def test_checksum_counts_duplicate_rows(store):
    store.con.execute("INSERT INTO electricity_monthly VALUES ('U', DATE '2023-01-01', 1.0, NULL, NULL, NULL)")
    once = store.checksum("electricity_monthly")
    store.con.execute("INSERT INTO electricity_monthly VALUES ('U', DATE '2023-01-01', 1.0, NULL, NULL, NULL)")
    twice = store.checksum("electricity_monthly")
    assert once[0] == 1 and twice[0] == 2
    assert twice[1] == str(2 * int(once[1]))


def test_another_applications_duckdb_file_is_not_taken_over(tmp_path):
    import duckdb

    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE their_data (x INTEGER)")
    con.close()
    with pytest.raises(ShanhaiError, match="not a Shanhai one"):
        open_store(path)
    con = duckdb.connect(str(path), read_only=True)
    assert [r[0] for r in con.execute("SHOW TABLES").fetchall()] == ["their_data"]
    con.close()
