"""Loading the packaged reference data into a database: counts, idempotence, imported rows kept."""

from __future__ import annotations

import pytest

from shanhai.store import load_reference, open_store, reference_loaded
from shanhai.store.seed import REFERENCE_TABLES

MOUNTAIN_26 = {
    "330802", "330803", "330822", "330824", "330825", "330881",
    "331102", "331121", "331122", "331123", "331124", "331125", "331126", "331127", "331181",
    "330127", "330324", "330326", "330327", "330328", "330329", "330723", "330727",
    "331022", "331023", "331024",
}  # fmt: skip


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A database with the reference data loaded once, opened read-only by the tests."""
    path = tmp_path_factory.mktemp("seed") / "ref.duckdb"
    with open_store(path) as store:
        counts = load_reference(store.con)
    return path, counts


def _scalar(con, sql):
    return con.execute(sql).fetchone()[0]


def test_reference_counts(loaded):
    path, counts = loaded
    assert counts == {
        "regions": 102, "industries": 818, "chains": 10, "chain_segments": 35,
        "segment_industries": 141, "pairings": 24, "lead_industries": 101, "enclaves": 10, "enclave_returns": 1,
    }  # fmt: skip
    with open_store(path, read_only=True) as store:
        con = store.con
        assert {t: store.row_counts()[t] for t in REFERENCE_TABLES} == counts
        assert con.execute("SELECT level, count(*) FROM regions GROUP BY level ORDER BY level").fetchall() == [
            ("city", 11), ("county", 90), ("province", 1)
        ]
        assert _scalar(con, "SELECT count(*) FROM regions WHERE mountain26") == 26
        mountain = {r[0] for r in con.execute("SELECT adcode FROM regions WHERE mountain26").fetchall()}
        assert mountain == MOUNTAIN_26
        assert _scalar(con, "SELECT count(*) FROM industries") == 818
        assert con.execute("SELECT level, count(*) FROM industries GROUP BY level ORDER BY level").fetchall() == [
            ("class", 608), ("division", 31), ("group", 179)
        ]
        assert _scalar(con, "SELECT count(*) FROM chains") == 10
        assert _scalar(con, "SELECT count(*) FROM chain_segments") == 35
        assert reference_loaded(con) is True


def test_reference_rows_are_consistent(loaded):
    with open_store(loaded[0], read_only=True) as store:
        con = store.con
        # every county's parent is a loaded city, every segment's chain a loaded chain
        assert _scalar(con, """
            SELECT count(*) FROM regions c LEFT JOIN regions p ON p.adcode = c.parent_adcode
            WHERE c.level = 'county' AND (p.adcode IS NULL OR p.level <> 'city')""") == 0
        assert _scalar(con, """
            SELECT count(*) FROM chain_segments s LEFT JOIN chains c USING (chain_id)
            WHERE c.chain_id IS NULL""") == 0
        assert _scalar(con, """
            SELECT count(*) FROM segment_industries si LEFT JOIN industries i ON i.code = si.industry_code
            WHERE i.code IS NULL""") == 0
        assert _scalar(con, """
            SELECT count(*) FROM pairings p LEFT JOIN regions r ON r.adcode = p.mountain_adcode
            WHERE r.adcode IS NULL OR NOT r.mountain26""") == 0
        assert con.execute("SELECT name, level FROM regions WHERE adcode = '330000'").fetchone() == (
            "浙江省", "province"
        )
        assert _scalar(con, "SELECT count(*) FROM regions WHERE dataset_id IS NOT NULL") == 0


def test_reference_loaded_is_false_before_loading(store):
    assert reference_loaded(store.con) is False


def test_loading_twice_changes_nothing(store):
    first = load_reference(store.con)
    before = store.checksums(list(REFERENCE_TABLES))
    second = load_reference(store.con)
    assert second == first
    assert store.checksums(list(REFERENCE_TABLES)) == before
    assert {t: n for t, (n, _) in before.items()} == first


def test_reload_keeps_imported_towns_and_restores_edited_reference_rows(store):
    load_reference(store.con)
    store.con.execute(
        "INSERT INTO regions (adcode, name, level, parent_adcode, city_adcode, dataset_id) "
        "VALUES ('330127100', '千岛湖镇', 'town', '330127', '330100', 'import-abc')"
    )
    store.con.execute("INSERT INTO chains (chain_id, name, name_en, note) VALUES ('my_chain', '自定义链', NULL, '用户定义')")
    store.con.execute("UPDATE regions SET name = '改过的名字' WHERE adcode = '330127'")
    town = store.con.execute("SELECT * FROM regions WHERE adcode = '330127100'").fetchall()

    load_reference(store.con)

    assert store.con.execute("SELECT * FROM regions WHERE adcode = '330127100'").fetchall() == town
    assert _scalar(store.con, "SELECT count(*) FROM regions") == 103
    assert _scalar(store.con, "SELECT count(*) FROM regions WHERE level = 'town'") == 1
    assert _scalar(store.con, "SELECT count(*) FROM chains") == 11
    assert _scalar(store.con, "SELECT name FROM regions WHERE adcode = '330127'") == "淳安县"
