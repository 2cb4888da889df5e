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
