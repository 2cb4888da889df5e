"""How a per-mu run is stored (migration 0007): the run's own per-firm columns in
``mujun_scores``, and ``mujun_results`` a view with the columns and types of the 0006 table,
adding the facts, the indicator values and the benchmarks; runs stored before keep their rows."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from shanhai.jobs import mujun
from shanhai.store import open_store
from shanhai.store.migrator import migrate


def _columns(con, name: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [name]).fetchall()]


def test_runs_stored_before_0007_keep_their_rows(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    migrate(con, target=6)
    con.execute("""INSERT INTO mujun_results (run_id, uscc, year, county_adcode, unit_id, tax_paid, tax_per_mu,
                   tax_per_mu_benchmark, tax_per_mu_score, total_score, "class", class_rule)
                   VALUES ('old-run', '91330000000000001X', 2021, '331003', '331003', 12.5, 2.5, 5, 15, 15,
                           'B', 'rank_shares')""")
    before = con.execute("SELECT * FROM mujun_results").fetchall()
    table = _columns(con, "mujun_results")
    migrate(con)
    assert con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'mujun_results'"
                       ).fetchone()[0] == "VIEW"
    assert _columns(con, "mujun_results") == table == _columns(con, "mujun_results_0006")
    assert con.execute("SELECT * FROM mujun_results").fetchall() == before


@pytest.fixture(scope="module")
def stored(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("storage") / "s.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        run_id = mujun.run(store, "huangyan-2022", 2023).run_id
    return path, run_id


def test_the_view_has_the_columns_and_types_of_the_0006_table(stored):
    path, run_id = stored
    with open_store(path, read_only=True) as store:
        assert _columns(store.con, "mujun_results") == _columns(store.con, "mujun_results_0006")
        n = store.con.execute(f"SELECT count(*) FROM mujun_scores WHERE run_id = '{run_id}'").fetchone()[0]
        assert n > 0 and n == store.con.execute(
            f"SELECT count(*) FROM mujun_results WHERE run_id = '{run_id}'").fetchone()[0]
        # a preset that does not score an indicator leaves its value, benchmark and score NULL
        assert store.con.execute(f"SELECT count(revenue_per_mu), count(revenue_per_mu_benchmark), "
                                 f"count(revenue_per_mu_score) FROM mujun_results WHERE run_id = '{run_id}'"
                                 ).fetchone() == (0, 0, 0)


def test_explain_says_when_the_facts_changed_since_the_run(stored, tmp_path):
    path, run_id = stored
    copy = tmp_path / "changed.duckdb"
    shutil.copy(path, copy)
    with open_store(copy) as store:
        uscc, tax, score = store.con.execute(
            f"SELECT uscc, tax_paid, tax_per_mu_score FROM mujun_results WHERE run_id = '{run_id}' "
            "AND tax_paid > 0 ORDER BY uscc LIMIT 1").fetchone()
        assert "facts_changed" not in mujun.explain(store, run_id, uscc)
        # what an import correction does: the cell updated in place, the change recorded
        store.con.execute(f"UPDATE enterprise_years SET tax_paid = tax_paid * 2 WHERE uscc = '{uscc}' AND year = 2023")
        store.con.execute(f"""INSERT INTO change_history VALUES ((SELECT coalesce(max(change_id), 0) + 1
                              FROM change_history), 'enterprise_years', '{uscc}|2023', 'tax_paid', '{tax}',
                              '{tax * 2}', 'fix', 'test', now()::TIMESTAMP)""")
        now = store.con.execute(f"SELECT tax_paid, tax_per_mu_score FROM mujun_results WHERE run_id = '{run_id}' "
                                f"AND uscc = '{uscc}'").fetchone()
        assert now == (tax * 2, score)
        doc = mujun.explain(store, run_id, uscc)
        assert "facts_changed" in doc and "注意 note" in mujun.explain_text(doc)
