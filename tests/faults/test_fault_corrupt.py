"""Faults: a corrupt or foreign database file gets one clear line from every command (never a
traceback), and `shanhai db restore` with no argument brings back the last backup from
``<db>.backups/``, keeping the damaged file aside. Takes about 40 s."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from shanhai.store import accounts, open_store


def shanhai(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shanhai", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"}, stdin=subprocess.DEVNULL)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    """The command failed as a user error: exit code 2, one line on stderr, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误 error: "), done.stderr
    return lines[0]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE enterprises (uscc TEXT)")
    con.commit()
    con.close()


def _text(path: Path) -> None:
    path.write_text("统一社会信用代码,名称\n913300000000000000,某公司\n", "utf-8")


def _other_duckdb(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE orders AS SELECT range AS id FROM range(1000)")


def _header_overwritten(path: Path, source: Path) -> None:
    shutil.copy(source, path)
    with path.open("r+b") as handle:
        handle.write(os.urandom(4096))


def _metadata_overwritten(path: Path, source: Path) -> None:
    """Bytes overwritten in the first block after the two database headers: the catalog's."""
    shutil.copy(source, path)
    with path.open("r+b") as handle:
        handle.seek(3 * 4096 + 64)
        handle.write(os.urandom(4096))


def _damage_a_data_block(path: Path) -> None:
    """Overwrite 4 KiB inside a block that holds the enterprises table's data."""
    with duckdb.connect(str(path), read_only=True) as con:
        block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
        block = con.execute("SELECT max(block_id) FROM pragma_storage_info('enterprises') "
                            "WHERE persistent AND block_id >= 0").fetchone()[0]
    with path.open("r+b") as handle:   # DuckDB: 3 header blocks of 4 KiB, then blocks of block_size
        handle.seek(3 * 4096 + block * block_size + 512)
        handle.write(os.urandom(4096))


FOREIGN = {
    "sqlite": (_sqlite, "is an SQLite database, not a valid DuckDB database"),
    "text": (_text, "is a text file, not a valid DuckDB database"),
    "other-duckdb": (_other_duckdb, "is a DuckDB database but not a Shanhai one"),
    "empty": (lambda p: p.write_bytes(b""), "is an empty file, not a valid DuckDB database"),
}
DAMAGED = {
    "header": (_header_overwritten, "is damaged or another program's file"),
    "catalog": (_metadata_overwritten, "is damaged"),
}


@pytest.fixture(scope="module")
def healthy(small_db, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corrupt") / "healthy.duckdb"
    shutil.copy(small_db, path)
    return path


def _make(name: str, folder: Path, healthy: Path) -> tuple[Path, str]:
    path = folder / f"{name}.duckdb"
    if name in FOREIGN:
        make, expected = FOREIGN[name]
        make(path)
    else:
        make, expected = DAMAGED[name]
        make(path, healthy)
    return path, expected


@pytest.mark.parametrize("name", [*FOREIGN, *DAMAGED])
def test_every_command_says_one_clear_line(name, healthy, tmp_path):
    path, expected = _make(name, tmp_path, healthy)
    size, digest = path.stat().st_size, _sha(path)
    for args in (["db", "info"], ["serve", "--port", "1"], ["users", "list"], ["mujun", "runs"],
                 ["db", "backup"], ["evaluate", "mujun", "--year", "2024"]):
        message = one_line_error(shanhai(*args, "--db", str(path)))
        assert expected in message, (args, message)
        if name in DAMAGED or name == "sqlite" or name == "text":
            assert "shanhai db restore" in message, message
    # nothing was written into the file: no command "repaired" or extended it
    assert (path.stat().st_size, _sha(path)) == (size, digest)


def test_a_damaged_data_block_is_found_by_db_info(healthy, tmp_path):
    """Damage inside a table's data opens fine and surfaces only when read: `db info` reads every
    table whole and names the damaged one."""
    path = tmp_path / "block.duckdb"
    shutil.copy(healthy, path)
    _damage_a_data_block(path)
    message = one_line_error(shanhai("db", "info", "--db", str(path)))
    assert "is damaged" in message and message.startswith("错误 error: table "), message


def test_restore_without_argument_brings_back_the_last_backup(healthy, tmp_path):
    db = tmp_path / "shanhai.duckdb"
    shutil.copy(healthy, db)
    assert shanhai("db", "backup", "--db", str(db)).returncode == 0
    with open_store(db) as store:                       # a change only the second backup holds
        accounts.add_user(store, "after-first-backup", "a-long-enough-password-1", "viewer", "331127", "后来者")
    second = shanhai("db", "backup", "--db", str(db), "--json")
    assert second.returncode == 0, second.stderr
    backups = sorted(p.name for p in Path(f"{db}.backups").iterdir())
    assert len(backups) == 2 and json.loads(second.stdout)["backup"].endswith(backups[-1])
    with open_store(db, read_only=True) as store:
        expected = store.checksums(store.content_tables())
    _damage_a_data_block(db)
    damaged_digest = _sha(db)
    one_line_error(shanhai("db", "info", "--db", str(db)))

    done = shanhai("db", "restore", "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert Path(result["backup"]).name == backups[-1]
    aside = Path(result["set_aside"])
    assert aside.parent == db.parent and _sha(aside) == damaged_digest      # kept, byte for byte
    info = shanhai("db", "info", "--db", str(db), "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["audit_chain"] == "intact"
    with open_store(db, read_only=True) as store:
        assert store.checksums(store.content_tables()) == expected
        assert store.con.execute("SELECT count(*) FROM users WHERE username = 'after-first-backup'").fetchone()[0] == 1


def test_restore_without_backups_says_where_it_looked(healthy, tmp_path):
    db = tmp_path / "lonely.duckdb"
    _text(db)
    message = one_line_error(shanhai("db", "restore", "--db", str(db)))
    assert f"no backup of {db}" in message and "lonely.duckdb.backups" in message
    assert db.read_text("utf-8").startswith("统一社会信用代码")          # untouched
