"""A per-mu run replayed from its recorded plan (``jobs.mujun``: the statements of the first run in
the process with the same preset, year, region, benchmark mode, previous-run presence and tables)
stores exactly what the run built from the Ibis expressions stores, and never compiles Ibis."""

from __future__ import annotations

import shutil

import ibis
import pytest

from shanhai.jobs import mujun
from shanhai.store import open_store

TABLES = {"mujun_scores": "uscc", "mujun_benchmarks": "unit_id, population, indicator",
          "mujun_rollups": "level, key, scope", "mujun_class_counts": "level, key, scope, class"}


def _rows(store, run_id: str) -> dict[str, list]:
    """The run's stored rows. The roll-ups' doubles (sums of the firms' doubles, and ratios of
    them) are compared to 1e-12: DuckDB adds a million firms' values in the order its threads
    and the stored rows come, which two runs of the same plan need not share (the last bit of a
    roll-up ratio already differs between two runs built from the Ibis expressions)."""
    out = {}
    for table, order in TABLES.items():
        cur = store.con.execute(f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ? ORDER BY {order}",
                                [run_id])
        rows = cur.fetchall()
        if table == "mujun_rollups":
            rows = [tuple(pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for v in r) for r in rows]
        out[table] = rows
    return out


@pytest.fixture
def plans(monkeypatch):
    monkeypatch.setattr(mujun, "_plans", {})
    return mujun._plans


@pytest.fixture
def db(small_db, tmp_path):
    path = tmp_path / "p.duckdb"
    shutil.copy(small_db, path)
    return path


def _no_compiling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a replayed run compiled an Ibis expression")
    monkeypatch.setattr(ibis, "to_sql", refuse)


def test_a_replayed_run_stores_the_same_rows_without_compiling(db, plans, monkeypatch):
    with open_store(db) as store:
        first = mujun.run(store, "zhejiang-2018", 2023)
        assert len(plans) == 1
        with monkeypatch.context() as m:
            _no_compiling(m)
            second = mujun.run(store, "zhejiang-2018", 2023)
        assert second.run_id != first.run_id and second.classes == first.classes
        assert _rows(store, second.run_id) == _rows(store, first.run_id)
        # the stages of the replay are gone
        assert not store.con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE "
                                     "'_shanhai_stage_%'").fetchall()


def test_the_previous_run_of_a_replay_is_its_own(db, plans, monkeypatch):
    """The class streak reads the previous year's latest run: a replay reads its own previous run,
    not the one the plan was recorded with."""
    with open_store(db) as store:
        mujun.run(store, "zhejiang-2018", 2022)
        first = mujun.run(store, "zhejiang-2018", 2023)
        store.con.execute("UPDATE mujun_scores SET class_streak = 7 WHERE run_id = (SELECT run_id FROM runs "
                          "WHERE kind = 'mujun' AND json_extract_string(params, '$.year') = '2022')")
        again = mujun.run(store, "zhejiang-2018", 2022)     # replayed: now the latest 2022 run
        with monkeypatch.context() as m:
            _no_compiling(m)
            second = mujun.run(store, "zhejiang-2018", 2023)
        prev = store.con.execute("SELECT json_extract_string(params, '$.previous_run') FROM runs WHERE run_id = ?",
                                 [second.run_id]).fetchone()[0]
        assert prev == again.run_id
        assert _rows(store, second.run_id) == _rows(store, first.run_id)


def test_other_keys_are_not_replayed(db, plans, monkeypatch):
    calls = []
    real = ibis.to_sql

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ibis, "to_sql", counting)
    with open_store(db) as store:
        mujun.run(store, "huangyan-2022", 2023)
        assert calls
        county = store.con.execute("SELECT county_adcode FROM enterprises LIMIT 1").fetchone()[0]
        calls.clear()
        mujun.run(store, "huangyan-2022", 2023, county)      # another region: another plan
        assert calls
        assert len(plans) == 2
        calls.clear()
        mujun.run(store, "huangyan-2022", 2023)              # the first key again: replayed
        assert not calls and len(plans) == 2


def _stored_plans(store) -> list[tuple]:
    return store.con.execute("SELECT plan_key, code_fingerprint FROM compiled_plans ORDER BY created_at").fetchall()


def test_a_plan_is_kept_in_the_store_and_replayed_by_another_process(db, plans, monkeypatch):
    """A CLI run or a restarted server finds the plan in the store (``compiled_plans``)."""
    with open_store(db) as store:
        first = mujun.run(store, "huangyan-2022", 2023)
        assert [c for _, c in _stored_plans(store)] == [mujun.code_fingerprint()]
    plans.clear()                                       # what a new process starts with
    with open_store(db) as store, monkeypatch.context() as m:
        _no_compiling(m)
        second = mujun.run(store, "huangyan-2022", 2023)
        assert _rows(store, second.run_id) == _rows(store, first.run_id)
        assert len(_stored_plans(store)) == 1


def test_a_plan_of_other_code_is_never_replayed(db, plans, monkeypatch):
    calls = []
    real = ibis.to_sql
    monkeypatch.setattr(ibis, "to_sql", lambda *a, **k: calls.append(1) or real(*a, **k))
    with open_store(db) as store:
        mujun.run(store, "huangyan-2022", 2023)
        old = mujun.code_fingerprint()
        plans.clear()
        monkeypatch.setattr(mujun, "_code", "0" * 32)   # the package's sources changed
        calls.clear()
        mujun.run(store, "huangyan-2022", 2023)
        assert calls, "a plan recorded by other code was replayed"
        # saving the new plan deleted the stale one
        assert [c for _, c in _stored_plans(store)] == ["0" * 32] and old != "0" * 32


def test_a_plan_the_store_refuses_is_dropped_and_the_run_built_afresh(db, plans):
    with open_store(db) as store:
        first = mujun.run(store, "zhejiang-2018", 2023)
        plans.clear()
        store.con.execute("""UPDATE compiled_plans SET plan = json_object('key', plan_key, 'run_id', 'x',
                             'prev_id', NULL, 'steps', json_array(json_array('stage', 's', 'SELECT * FROM no_such_table'),
                             json_array('begin')))""")
        second = mujun.run(store, "zhejiang-2018", 2023)
        assert _rows(store, second.run_id) == _rows(store, first.run_id)
        plan = store.con.execute("SELECT plan->>'run_id' FROM compiled_plans").fetchall()
        assert plan == [(second.run_id,)]
        # the failed replay left no run behind
        assert store.con.execute("SELECT count(*) FROM runs WHERE kind = 'mujun'").fetchone()[0] == 2


def test_code_fingerprint_covers_the_package_sources(monkeypatch, tmp_path):
    import shanhai

    base = mujun.code_fingerprint()
    pkg = tmp_path / "shanhai"
    shutil.copytree(shanhai.__path__[0], pkg, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(shanhai, "__file__", str(pkg / "__init__.py"))
    monkeypatch.setattr(mujun, "_code", None)
    assert mujun.code_fingerprint() == base
    sql = pkg / "analysis" / "mujun.py"
    sql.write_text(sql.read_text() + "\n# changed\n")
    monkeypatch.setattr(mujun, "_code", None)
    assert mujun.code_fingerprint() != base
