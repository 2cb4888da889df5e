"""The electricity scan of early warning on ``--engine spark`` gives the figures of the DuckDB query.

Three checks, each month chosen to exercise a branch: the latest month (a plain month), a
February (a festival month: no z-score, the lunar-aligned year-on-year with its 11/13-month lag,
festival months left out of the baselines) and the March after it.

* The Ibis expression (``analysis.alerts_ibis.scan_expr``) on DuckDB gives exactly the rows of
  ``analysis.alerts.scan_sql`` for every firm — every figure, point, score and kind, bit for bit
  (no JVM: fast).
* The same expression on Spark gives the same rows; integers, strings, booleans, dates, kinds and
  rounded scores exactly, doubles to 1e-9 relative: Spark adds the means and the sample standard
  deviation per partition and then merges the partial sums, so their last bits may differ.
* ``jobs.alerts.scan`` stored on both engines, two months in a row (the second de-duplicates
  against the first's open alerts): identical ``alert_scores`` (but for the run id in the alert
  ids), alerts and visit tasks.
"""

from __future__ import annotations

import math
import os
import shutil

import pytest

from shanhai.analysis import alerts as aa
from shanhai.analysis import alerts_ibis as ai
from shanhai.jobs import alerts as ja
from shanhai.policy._alerts import alert_rules
from shanhai.store import open_store

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

REL_TOL = 1e-9


def _months(path) -> list:
    with open_store(path, read_only=True) as store:
        last = ja.latest_month(store)
    feb = last.replace(month=2) if last.month > 3 else last.replace(year=last.year - 1, month=2)
    return [last, feb, aa.add_months(feb, 1)]


def _same(a, b, exact: bool) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and not exact:
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)
    return a == b


def _compare_scan(store, backend, month, exact: bool) -> int:
    """Every firm's row of ``scan_sql`` against ``scan_expr`` on ``backend``; returns the rows."""
    from shanhai.engine import fetch

    r = alert_rules("default")
    cur = store.con.execute(f"SELECT * FROM ({aa.scan_sql(r, month=month)}) ORDER BY uscc")
    columns = [d[0] for d in cur.description]
    want = [dict(zip(columns, row)) for row in cur.fetchall()]
    got = fetch(backend, ai.scan_expr(backend, r, month).order_by("uscc")).to_pylist()
    assert len(want) == len(got) > 1000
    problems = []
    for w, g in zip(want, got):
        g["score"] = store.con.execute("SELECT round(?::DOUBLE, 2)", [g.pop("score_raw")]).fetchone()[0]
        assert set(g) == set(w)
        for c in columns:
            if not _same(w[c], g[c], exact or c == "score"):
                problems.append(f"{w['uscc']} {c}: sql {w[c]!r} ibis {g[c]!r}")
    assert not problems, f"{month}: {len(problems)} cells differ, e.g.\n" + "\n".join(problems[:20])
    # the branches were reached: festival months without a z-score, alerts of more than one kind
    return len(want)


def test_ibis_scan_on_duckdb_is_the_sql_scan(small_db):
    from shanhai.engine import connect

    with open_store(small_db, read_only=True) as store:
        backend = connect(store)
        for month in _months(small_db):
            _compare_scan(store, backend, month, exact=True)
        r = alert_rules("default")
        assert ai.festival(r, aa._mi(_months(small_db)[1]))[0], "February is a festival month"


@pytest.mark.spark
def test_ibis_scan_on_spark_is_the_sql_scan(small_db):
    from shanhai.engine import connect

    with open_store(small_db, read_only=True) as store:
        backend = connect(store, "spark")
        assert backend.name == "pyspark"
        for month in _months(small_db)[:2]:
            _compare_scan(store, backend, month, exact=False)


def _stored(path, run_id: str) -> list[tuple]:
    with open_store(path, read_only=True) as store:
        rows = store.con.execute(
            # a repeat points at the previous run's alert, whose id names that engine's own run
            "SELECT * EXCLUDE (run_id, alert_id), CASE WHEN is_new THEN replace(alert_id, run_id, '') END AS alert "
            "FROM alert_scores "
            "WHERE run_id = ? ORDER BY uscc", [run_id]).fetchall()
        tasks = store.con.execute("SELECT uscc, county_adcode, town_adcode, priority, state FROM visit_tasks "
                                  "WHERE run_id = ? ORDER BY uscc", [run_id]).fetchall()
        params = store.con.execute("SELECT params->>'engine', params->>'source' FROM runs WHERE run_id = ?",
                                   [run_id]).fetchone()
    return rows, tasks, params


@pytest.mark.spark
def test_stored_scan_is_the_same_on_both_engines(small_db, tmp_path):
    paths = {e: tmp_path / f"{e}.duckdb" for e in ("duckdb", "spark")}
    for p in paths.values():
        shutil.copy(small_db, p)
    last = _months(small_db)[0]
    for month in (aa.add_months(last, -1), last):
        docs = {}
        for engine, path in paths.items():
            with open_store(path) as store:
                docs[engine] = ja.scan(store, month, engine=engine)
        (d_rows, d_tasks, d_params), (s_rows, s_tasks, s_params) = (_stored(paths[e], docs[e]["run_id"])
                                                                    for e in ("duckdb", "spark"))
        assert d_params == ("duckdb", "store") and s_params == ("spark", "store")
        assert len(d_rows) == len(s_rows) > 0
        for a, b in zip(d_rows, s_rows):
            assert all(_same(x, y, exact=False) for x, y in zip(a, b)), [(x, y) for x, y in zip(a, b) if x != y]
        assert d_tasks == s_tasks
        for key in ("alerts", "new_alerts", "repeats", "tasks", "firms_scanned"):
            assert docs["duckdb"][key] == docs["spark"][key], key
    assert docs["spark"]["repeats"] > 0, "the second month finds firms with an open alert"


def test_unknown_engine_is_refused_by_the_scan(small_db, tmp_path):
    from shanhai.errors import ShanhaiError

    path = tmp_path / "x.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store, pytest.raises(ShanhaiError, match="expected one of duckdb, spark"):
        ja.scan(store, engine="polars")
