"""Backups: Parquet per table plus a manifest; restore reproduces every table exactly, refuses
damaged or incomplete backups and existing files, and upgrades old backups."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from shanhai.errors import ShanhaiError
from shanhai.store import audit, backup, load_reference, open_store, read_manifest, restore
from shanhai.store.backup import FORMAT
from shanhai.store.migrator import latest_version, migrate

V1_TABLES = ("regions", "enterprises", "enterprise_years", "electricity_monthly")


def _fill(store, insert_v1_rows, insert_later_rows) -> None:
    load_reference(store.con)
    store.con.execute("DELETE FROM regions WHERE adcode IN ('330000', '330100', '330127')")
    insert_v1_rows(store.con)
    insert_later_rows(store.con)
    audit.append(store.con, "import", username="cli:tester", target="企业名录.xlsx",
                 detail={"rows": 3, "文件": "企业名录.xlsx"})
    audit.append(store.con, "run", username="web:管理员", target="run-1")


@pytest.fixture
def source(tmp_path, insert_v1_rows, insert_later_rows):
    """A store with reference data, hand-made rows and two audit entries; yields the open store."""
    with open_store(tmp_path / "source.duckdb") as store:
        _fill(store, insert_v1_rows, insert_later_rows)
        yield store


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, insert_v1_rows, insert_later_rows):
    """One backup per module: (manifest, backup folder, source path, checksums after the backup).
    Tests that change the backup work on a copy (``backed_up``)."""
    root = tmp_path_factory.mktemp("pristine")
    with open_store(root / "source.duckdb") as store:
        _fill(store, insert_v1_rows, insert_later_rows)
        manifest = backup(store, root / "backup", username="cli:tester")
        checksums = store.checksums()
        tables = store.tables()
    return manifest, root / "backup", root / "source.duckdb", checksums, tables


@pytest.fixture
def backed_up(pristine, tmp_path):
    """(manifest, a private copy of the backup folder, checksums of the source after the backup)."""
    manifest, folder, _, checksums, _ = pristine
    dest = tmp_path / "backup"
    shutil.copytree(folder, dest)
    return manifest, dest, checksums


@pytest.fixture(scope="module")
def restored(pristine, tmp_path_factory):
    """(restore()'s result, path of the database restored from the pristine backup)."""
    target = tmp_path_factory.mktemp("restored") / "restored.duckdb"
    return restore(pristine[1], target), target


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _no_database_at(path: Path) -> bool:
    return not path.exists() and not Path(str(path) + ".wal").exists()


# -- round trip ---------------------------------------------------------------------------


def test_restore_reproduces_every_table(pristine, restored):
    before = pristine[3]
    result, target = restored
    assert result["schema_version"] == result["upgraded_to"] == latest_version()
    with open_store(target, read_only=True) as new:
        after = new.checksums()
        assert set(after) == set(before)
        for table in before:
            if table == "schema_migrations":
                continue
            assert after[table] == before[table], table
        assert after["audit_log"][0] == 3  # import, run and the backup itself
        assert before["enterprise_years"][0] == 3 and before["regions"][0] == 102
        assert audit.verify(new.con) is None
        assert new.con.execute(
            "SELECT version FROM schema_migrations ORDER BY version"
        ).fetchall() == [(v,) for v in range(1, latest_version() + 1)]
    assert result["tables"] == {t: n for t, (n, _) in before.items() if t != "schema_migrations"}


def test_restored_values_are_exact(restored):
    with open_store(restored[1], read_only=True) as new:
        con = new.con
        assert con.execute(
            "SELECT revenue, main_revenue, tax_paid, value_added, headcount, energy_tce, rd_spending "
            "FROM enterprise_years WHERE uscc = '91350100M000100Y43' ORDER BY year"
        ).fetchall() == [
            (Decimal("1234.5678"), Decimal("1200.0001"), Decimal("56.7800"), None, 120, 812.5, None),
            (Decimal("98765432.1234"), Decimal("98765000.0000"), None, Decimal("0.0001"), None, None,
             Decimal("3.1416")),
        ]
        assert con.execute(
            "SELECT typeof(revenue), typeof(land_own_mu) FROM enterprise_years LIMIT 1"
        ).fetchone() == ("DECIMAL(18,4)", "DECIMAL(14,4)")
        params, created_at, note = con.execute(
            "SELECT params, created_at, note FROM runs WHERE run_id = 'run-1'"
        ).fetchone()
        assert json.loads(params) == {"year": 2023, "权重": [0.4, 0.6]}
        assert created_at == datetime(2024, 5, 6, 7, 8, 9, 123456)
        assert note is None
        assert con.execute("SELECT params FROM runs WHERE run_id = 'run-2'").fetchone() == (None,)
        assert con.execute(
            "SELECT kwh, water_t, gas_m3 FROM electricity_monthly WHERE uscc = '914403001922038216'"
        ).fetchall() == [(None, None, None)]
        detail = con.execute("SELECT detail FROM audit_log WHERE action = 'import'").fetchone()[0]
        assert json.loads(detail) == {"rows": 3, "文件": "企业名录.xlsx"}


def test_manifest_lists_every_table_with_rows(pristine):
    manifest, dest, source_path, before, tables = pristine
    assert manifest == read_manifest(dest)
    assert manifest["format"] == FORMAT
    assert manifest["schema_version"] == latest_version()
    assert manifest["source"] == str(source_path)
    assert set(manifest["tables"]) == set(tables) == set(before)
    for table, entry in manifest["tables"].items():
        assert entry["rows"] == before[table][0], table
        assert entry["checksum"] == before[table][1], table
        assert entry["file"] == f"{table}.parquet"
        assert entry["sha256"] == _digest(dest / entry["file"]), table
    assert manifest["tables"]["industries"]["rows"] == 818
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        ["manifest.json"] + [f"{t}.parquet" for t in tables]
    )


def test_backup_is_recorded_in_the_audit_log(source, tmp_path):
    backup(source, tmp_path / "backup", username="cli:tester")
    last = source.con.execute(
        "SELECT username, action, target FROM audit_log ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert last == ("cli:tester", "db_backup", str(tmp_path / "backup"))
    assert audit.verify(source.con) is None


def test_read_only_backup_writes_no_audit_entry(source, tmp_path):
    source.close()
    with open_store(tmp_path / "source.duckdb", read_only=True) as ro:
        before = ro.checksums()
        manifest = backup(ro, tmp_path / "ro-backup")
        assert ro.checksums() == before
    assert manifest["tables"]["audit_log"]["rows"] == 2
    restore(tmp_path / "ro-backup", tmp_path / "restored.duckdb")
    with open_store(tmp_path / "restored.duckdb") as new:
        assert {t: c for t, c in new.checksums().items() if t != "schema_migrations"} == {
            t: c for t, c in before.items() if t != "schema_migrations"
        }


# -- refusals -----------------------------------------------------------------------------


def test_restore_refuses_an_existing_file(backed_up, tmp_path):
    _, dest, _ = backed_up
    existing = tmp_path / "existing.duckdb"
    existing.write_bytes(b"precious")
    with pytest.raises(ShanhaiError, match="the file exists") as info:
        restore(dest, existing)
    assert str(existing) in str(info.value)
    assert existing.read_bytes() == b"precious"


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_restore_refuses_a_tampered_parquet_file(backed_up, tmp_path, damage):
    _, dest, _ = backed_up
    victim = dest / "enterprise_years.parquet"
    data = bytearray(victim.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    else:
        data = data[: len(data) - 7]
    victim.write_bytes(bytes(data))
    target = tmp_path / "restored.duckdb"
    with pytest.raises(ShanhaiError, match="damaged") as info:
        restore(dest, target)
    assert "enterprise_years.parquet" in str(info.value)
    assert _no_database_at(target)


def test_restore_refuses_a_missing_table_file(backed_up, tmp_path):
    _, dest, _ = backed_up
    (dest / "runs.parquet").unlink()
    target = tmp_path / "restored.duckdb"
    with pytest.raises(ShanhaiError, match="incomplete") as info:
        restore(dest, target)
    assert "runs.parquet" in str(info.value) and "missing" in str(info.value)
    assert _no_database_at(target)


def test_backup_refuses_a_non_empty_folder(source, tmp_path):
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine", "utf-8")
    audit_rows = source.checksum("audit_log")
    with pytest.raises(ShanhaiError, match="not empty") as info:
        backup(source, dest)
    assert str(dest) in str(info.value)
    assert sorted(p.name for p in dest.iterdir()) == ["keep.txt"]
    assert source.checksum("audit_log") == audit_rows  # nothing recorded for a refused backup


def test_backup_refuses_a_file_as_destination(source, tmp_path):
    dest = tmp_path / "a-file"
    dest.write_text("mine", "utf-8")
    with pytest.raises(ShanhaiError, match=str(dest)):
        backup(source, dest)
    assert dest.read_text("utf-8") == "mine"


def test_backup_into_an_existing_empty_folder(source, tmp_path):
    dest = tmp_path / "empty"
    dest.mkdir()
    manifest = backup(source, dest)
    assert (dest / "manifest.json").is_file()
    assert manifest["tables"]["regions"]["rows"] == 102


def test_restore_refuses_a_folder_without_manifest(tmp_path):
    (tmp_path / "not-a-backup").mkdir()
    with pytest.raises(ShanhaiError, match="not a Shanhai backup"):
        restore(tmp_path / "not-a-backup", tmp_path / "x.duckdb")
    assert _no_database_at(tmp_path / "x.duckdb")


def test_restore_refuses_a_broken_or_foreign_manifest(backed_up, tmp_path):
    _, dest, _ = backed_up
    manifest_path = dest / "manifest.json"
    good = manifest_path.read_text("utf-8")
    manifest_path.write_text(good[: len(good) // 2], "utf-8")
    with pytest.raises(ShanhaiError, match="not valid JSON"):
        restore(dest, tmp_path / "a.duckdb")
    manifest_path.write_text(good.replace(FORMAT, "someone-else/9"), "utf-8")
    with pytest.raises(ShanhaiError, match="unknown backup format 'someone-else/9'"):
        restore(dest, tmp_path / "b.duckdb")
    assert _no_database_at(tmp_path / "a.duckdb") and _no_database_at(tmp_path / "b.duckdb")


def test_restore_refuses_a_backup_newer_than_the_code(backed_up, tmp_path):
    _, dest, _ = backed_up
    manifest = json.loads((dest / "manifest.json").read_text("utf-8"))
    manifest["schema_version"] = latest_version() + 1
    (dest / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(ShanhaiError, match="newer than this Shanhai"):
        restore(dest, tmp_path / "restored.duckdb")
    assert _no_database_at(tmp_path / "restored.duckdb")


def _edit_manifest(dest: Path, edit) -> None:
    manifest = json.loads((dest / "manifest.json").read_text("utf-8"))
    edit(manifest)
    (dest / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")


def _wrong_checksum(manifest):
    entry = manifest["tables"]["enterprises"]
    entry["checksum"] = str(int(entry["checksum"]) + 1)


def _unknown_table(manifest):
    manifest["tables"]["not_in_the_schema"] = dict(manifest["tables"]["chains"])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_wrong_checksum, "restored table enterprises does not match the backup"),
        (_unknown_table, "backup table not_in_the_schema is not part of schema version"),
    ],
    ids=["checksum-mismatch", "unknown-table"],
)
def test_a_failed_restore_leaves_no_database_file(backed_up, tmp_path, edit, message):
    """These failures happen after the new file was created: it must be removed again."""
    _, dest, _ = backed_up
    _edit_manifest(dest, edit)
    target = tmp_path / "restored.duckdb"
    with pytest.raises(ShanhaiError, match=message):
        restore(dest, target)
    assert _no_database_at(target)
    assert list(tmp_path.glob("restored.duckdb*")) == []


# -- old backups --------------------------------------------------------------------------


def _version_1_file(path: Path, insert_v1_rows) -> dict:
    with open_store(path, migrate=False) as old:
        migrate(old.con, target=1)
        insert_v1_rows(old.con)
        return old.checksums(list(V1_TABLES))


def test_a_version_1_backup_restores_and_upgrades(tmp_path, insert_v1_rows, checksums_over):
    _version_1_file(tmp_path / "old.duckdb", insert_v1_rows)
    with open_store(tmp_path / "old.duckdb", read_only=True, migrate=False) as old:
        assert old.schema_version == 1
        before, v1_columns = checksums_over(old, V1_TABLES)
        manifest = backup(old, tmp_path / "backup")
    assert manifest["schema_version"] == 1
    assert "audit_log" not in manifest["tables"] and "chains" not in manifest["tables"]

    result = restore(tmp_path / "backup", tmp_path / "new.duckdb")
    assert result["schema_version"] == 1
    assert result["upgraded_to"] == latest_version()
    assert {t: result["tables"][t] for t in V1_TABLES} == {t: 3 for t in V1_TABLES}
    with open_store(tmp_path / "new.duckdb") as new:
        assert new.schema_version == latest_version()
        assert checksums_over(new, V1_TABLES, v1_columns)[0] == before
        assert {"chains", "runs", "audit_log"} <= set(new.tables())
        assert new.checksum("audit_log") == (0, "0")


def test_a_writable_version_1_store_can_be_backed_up(tmp_path, insert_v1_rows):
    before = _version_1_file(tmp_path / "old.duckdb", insert_v1_rows)
    with open_store(tmp_path / "old.duckdb", migrate=False) as old:
        manifest = backup(old, tmp_path / "backup")
    assert manifest["schema_version"] == 1
    assert {t: manifest["tables"][t]["checksum"] for t in V1_TABLES} == {t: c for t, (_, c) in before.items()}


def test_manifest_cannot_point_outside_the_backup(tmp_path):
    from shanhai.store import open_store

    with open_store(tmp_path / "a.duckdb") as store:
        manifest = backup(store, tmp_path / "b")
    manifest["tables"]["regions"]["file"] = "../regions.parquet"
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(ShanhaiError, match="outside the backup folder"):
        restore(tmp_path / "b", tmp_path / "c.duckdb")
    assert not (tmp_path / "c.duckdb").exists()


def test_manifest_missing_a_table_is_refused(tmp_path):
    from shanhai.store import open_store

    with open_store(tmp_path / "a.duckdb") as store:
        manifest = backup(store, tmp_path / "b")
    del manifest["tables"]["enterprises"]
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(ShanhaiError, match="no entry for table"):
        restore(tmp_path / "b", tmp_path / "c.duckdb")


def test_manifest_records_migrations_and_the_audit_head(tmp_path):
    from shanhai.store import audit, open_store

    with open_store(tmp_path / "a.duckdb") as store:
        audit.append(store.con, "test")
        manifest = backup(store, tmp_path / "b")
        head = store.con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    assert manifest["audit_head"] == {"seq": head[0], "hash": head[1]}
    assert set(manifest["migrations"]) == {str(v) for v in range(1, manifest["schema_version"] + 1)}
    manifest["migrations"]["1"] = "0" * 64
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(ShanhaiError, match="different schema definition"):
        restore(tmp_path / "b", tmp_path / "c.duckdb")
