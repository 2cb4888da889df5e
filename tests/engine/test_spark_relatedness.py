"""The relatedness inputs (county × 4-digit class sums feeding ``analysis.relatedness``) on
``--engine spark`` are the DuckDB ones, exactly: the sums are decimal sums (exact on both
engines) converted to DOUBLE once, the counts integers. So the county's opportunities — ECI,
ranks, densities, suggestions — are the same too."""

from __future__ import annotations

import os

import pytest

from shanhai.jobs import opportunities as jo
from shanhai.store import open_store
from shanhai.store.scope import Scope

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def _latest(store) -> int:
    return store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]


def test_ibis_matrix_on_duckdb_is_the_sql_matrix(small_db):
    from shanhai.engine import connect, fetch

    with open_store(small_db, read_only=True) as store:
        year = _latest(store)
        backend = connect(store)
        for column in ("value_added", "headcount"):
            want = jo.matrix(store, year, column)
            got = fetch(backend, jo.matrix_expr(backend, year, column)).cast(want.schema)
            assert want.num_rows > 10_000
            assert got.to_pylist() == want.to_pylist()
            assert sorted(set(want["year"].to_pylist()))[-1] == year


@pytest.mark.spark
def test_spark_matrix_and_opportunities_are_the_duckdb_ones(small_db):
    with open_store(small_db, read_only=True) as store:
        year = _latest(store)
        want = jo.matrix(store, year, "value_added")
        got = jo.matrix(store, year, "value_added", engine="spark")
        assert got.schema == want.schema
        assert got.to_pylist() == want.to_pylist()
        county = store.con.execute("SELECT county_adcode FROM enterprises GROUP BY 1 ORDER BY count(*) DESC "
                                   "LIMIT 1").fetchone()[0]
        a = jo.opportunities(store, county, scope=Scope.province(), year=year).as_dict()
        b = jo.opportunities(store, county, scope=Scope.province(), year=year, engine="spark").as_dict()
    assert a["provenance"].pop("engine") == "duckdb" and b["provenance"].pop("engine") == "spark"
    assert a == b
    assert a["develop"] and a["eci"] is not None


def test_unknown_engine_is_refused_by_the_matrix(small_db):
    from shanhai.errors import ShanhaiError

    with open_store(small_db, read_only=True) as store, pytest.raises(ShanhaiError, match="duckdb, spark"):
        jo.matrix(store, _latest(store), "value_added", engine="polars")
