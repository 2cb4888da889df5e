"""Data at rest (issue 13 item 7): with SHANHAI_DB_KEY the database file and its backups are
encrypted (no plaintext on disk), a wrong or missing key is one clear sentence, cursors see the
encrypted catalog, and a plain database moves to an encrypted one by backup and restore."""

from __future__ import annotations

import json

import duckdb
import pytest

from shanhai.errors import ShanhaiError
from shanhai.store import audit, backup, open_store, restore
from shanhai.store.connection import ENV_KEY, EncryptedConnection

KEY = "tests-key-7b1f0c2e9a4d"
SECRET = "千岛湖保密精密机械有限公司"


def _fill(store) -> None:
    store.con.execute("INSERT INTO regions (adcode, name, level) VALUES ('330127', ?, 'county')", [SECRET])
    audit.append(store.con, "import", username="cli:li", target=SECRET)
    store.con.execute("CHECKPOINT")


def test_an_encrypted_database_holds_no_plaintext(db_path, monkeypatch):
    monkeypatch.setenv(ENV_KEY, KEY)
    with open_store(db_path) as store:
        assert store.encrypted and isinstance(store.con, EncryptedConnection)
        _fill(store)
        cur = store.con.cursor()           # a cursor sees the encrypted catalog, not the empty in-memory one
        assert cur.execute("SELECT name FROM regions WHERE adcode = '330127'").fetchone() == (SECRET,)
        cur.close()
    raw = db_path.read_bytes()
    assert SECRET.encode() not in raw and b"regions" not in raw
    with open_store(db_path, read_only=True) as store:
        assert store.con.execute("SELECT name FROM regions WHERE adcode = '330127'").fetchone() == (SECRET,)
        assert audit.verify(store.con) is None


def test_a_plain_database_has_the_text_in_clear(db_path, monkeypatch):
    """The control: the same rows without a key are readable in the file (what the key prevents)."""
    monkeypatch.delenv(ENV_KEY, raising=False)
    with open_store(db_path) as store:
        assert not store.encrypted
        _fill(store)
    assert SECRET.encode() in db_path.read_bytes()


def test_without_or_with_a_wrong_key_one_clear_sentence(db_path, monkeypatch):
    monkeypatch.setenv(ENV_KEY, KEY)
    open_store(db_path).close()
    monkeypatch.delenv(ENV_KEY)
    with pytest.raises(ShanhaiError, match=f"is encrypted: set {ENV_KEY} to its key"):
        open_store(db_path)
    monkeypatch.setenv(ENV_KEY, "not-the-key")
    with pytest.raises(ShanhaiError, match=f"{ENV_KEY} is not its encryption key"):
        open_store(db_path, read_only=True)
    with pytest.raises(duckdb.Error):         # and DuckDB alone cannot open it either
        duckdb.connect(str(db_path))


def test_a_key_on_a_plain_file_is_refused(db_path, monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    open_store(db_path).close()
    monkeypatch.setenv(ENV_KEY, KEY)
    with pytest.raises(ShanhaiError, match="is not encrypted but SHANHAI_DB_KEY is set"):
        open_store(db_path)


def test_encrypted_backups_and_the_move_from_plain(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    plain = tmp_path / "plain.duckdb"
    with open_store(plain) as store:
        _fill(store)
        backup(store, tmp_path / "b-plain")
    monkeypatch.setenv(ENV_KEY, KEY)
    encrypted = tmp_path / "enc.duckdb"
    restore(tmp_path / "b-plain", encrypted)           # plain backup -> encrypted database
    assert SECRET.encode() not in encrypted.read_bytes()
    with open_store(encrypted) as store:
        assert store.encrypted
        manifest = backup(store, tmp_path / "b-enc")
    assert manifest["encrypted"] is True and KEY not in json.dumps(manifest)
    for file in (tmp_path / "b-enc").glob("*.parquet"):
        assert SECRET.encode() not in file.read_bytes()
    restore(tmp_path / "b-enc", tmp_path / "again.duckdb")
    with open_store(tmp_path / "again.duckdb", read_only=True) as store:
        assert store.con.execute("SELECT name FROM regions WHERE adcode = '330127'").fetchone() == (SECRET,)
        assert audit.verify(store.con) is None
    monkeypatch.setenv(ENV_KEY, "another-key-entirely")
    with pytest.raises(ShanhaiError, match="is not the key it was encrypted with"):
        restore(tmp_path / "b-enc", tmp_path / "wrong.duckdb")
    assert not (tmp_path / "wrong.duckdb").exists()
    monkeypatch.delenv(ENV_KEY)
    with pytest.raises(ShanhaiError, match="backup .* is encrypted: set SHANHAI_DB_KEY"):
        restore(tmp_path / "b-enc", tmp_path / "nokey.duckdb")
