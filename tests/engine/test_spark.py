"""The per-mu evaluation on ``--engine spark`` (Ibis over PySpark, local mode) stores the same rows
as on DuckDB: every packaged preset, with its own benchmarks and with ``benchmarks='data'``, and
the previous-year path (class streaks, escalated surcharges) over three years.

Equality is exact — decimals, integers, strings and doubles alike — except for the benchmarks
that are statistics of the data (``sum_ratio``, ``mean``, ``median``, ``percentile``: the
``<indicator>_benchmark`` columns of mujun_results and ``benchmark`` in mujun_benchmarks): a sum
of doubles depends on the order it is added in, and Spark adds per partition then merges, so
those agree to about 1e-16 relative and are compared to 1e-9. Scores are rounded to 4 decimals
from them, so the scores, totals, ranks and classes still match exactly.
"""

from __future__ import annotations

import gc
import math
import os
import shutil
from decimal import Decimal

import pytest

from shanhai import policy
from shanhai.errors import ShanhaiError
from shanhai.jobs import mujun as job
from shanhai.store import open_store

# local mode binds to the loopback address and never looks up the host's (read when Spark starts)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

pytestmark = pytest.mark.spark

YEAR = 2023
REL_TOL = 1e-9
# statistics whose last bits depend on the engine: sums of doubles are added in another order
# (Spark per partition, then merged), and median/percentile interpolate with their own formula;
# ``max`` picks a value and ``fixed`` is a literal, so those stay exact
INEXACT_KINDS = ("sum_ratio", "mean", "median", "percentile")


# zhejiang-2018 escalates the surcharge after three years in D: it runs three years in a row, so
# the previous run's classes go from the store into Spark and the streaks reach 3
STREAK_PRESET = "zhejiang-2018"


def _cases() -> list[tuple[str, str, tuple[int, ...]]]:
    """Every packaged preset with its own benchmarks, and with benchmarks='data' where that changes
    something (a fixed benchmark that names the data statistic replacing it)."""
    cases = []
    for name, preset in sorted(policy.presets().items()):
        years = (YEAR - 2, YEAR - 1, YEAR) if name == STREAK_PRESET else (YEAR,)
        cases.append((name, "preset", years))
        if any(r.benchmark.kind == "fixed" and r.benchmark.data for p in preset.populations for r in p.indicators):
            cases.append((name, "data", (YEAR,)))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def engine_dbs(small_db, tmp_path_factory):
    """One copy of the small province per engine (runs write to the store)."""
    folder = tmp_path_factory.mktemp("engines")
    paths = {}
    for engine in ("duckdb", "spark"):
        paths[engine] = folder / f"{engine}.duckdb"
        shutil.copy(small_db, paths[engine])
    return paths


def _rows(path, table: str, run_id: str, key: list[str]) -> tuple[list[str], list[tuple]]:
    with open_store(path, read_only=True) as store:
        cur = store.con.execute(f'SELECT * EXCLUDE (run_id) FROM "{table}" WHERE run_id = ? ORDER BY '
                                + ", ".join(f'"{k}"' for k in key), [run_id])
        columns = [d[0] for d in cur.description]
        return columns, cur.fetchall()


def _same(a, b, tolerant: bool) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and tolerant:
        return math.isclose(a, b, rel_tol=REL_TOL)
    return a == b


def _compare(table: str, key: list[str], duck: tuple[str, str], spark: tuple[str, str], tolerant) -> None:
    """Assert the rows of two runs (path, run_id) are identical but for run_id; ``tolerant(row,
    column)`` says which cells are compared to REL_TOL instead of exactly."""
    columns, left = _rows(duck[0], table, duck[1], key)
    columns_s, right = _rows(spark[0], table, spark[1], key)
    assert columns == columns_s
    assert len(left) == len(right) > 0, f"{table}: {len(left)} rows on duckdb, {len(right)} on spark"
    problems = []
    for a, b in zip(left, right):
        ra, rb = dict(zip(columns, a)), dict(zip(columns, b))
        for c in columns:
            if not _same(ra[c], rb[c], tolerant(ra, c)):
                problems.append(f"{[ra[k] for k in key]} {c}: duckdb {ra[c]!r} spark {rb[c]!r}")
    assert not problems, f"{table}: {len(problems)} cells differ, e.g.\n" + "\n".join(problems[:20])


def _inexact(path, run_id: str) -> set[tuple[str, str]]:
    """The (population, ``<indicator>_benchmark`` column) pairs whose benchmark is an inexact statistic."""
    with open_store(path, read_only=True) as store:
        rows = store.con.execute("SELECT DISTINCT population, indicator FROM mujun_benchmarks WHERE run_id = ? AND "
                                 f"kind IN ({', '.join('?' * len(INEXACT_KINDS))})", [run_id, *INEXACT_KINDS]).fetchall()
    return {(population, f"{indicator}_benchmark") for population, indicator in rows}


def _run_both(paths, name: str, benchmarks: str, year: int = YEAR) -> dict[str, str]:
    ids = {}
    for engine, path in paths.items():
        with open_store(path) as store:
            summary = job.run(store, name, year, engine=engine, benchmarks=benchmarks)
            assert summary.engine == engine
            ids[engine] = summary.run_id
    return ids


def _assert_identical(paths, ids) -> None:
    duck, spark = (paths["duckdb"], ids["duckdb"]), (paths["spark"], ids["spark"])
    inexact = _inexact(*duck)
    _compare("mujun_results", ["uscc"], duck, spark, lambda row, c: (row["population"], c) in inexact)
    _compare("mujun_benchmarks", ["unit_id", "population", "indicator"], duck, spark,
             lambda row, c: c == "benchmark" and row["kind"] in INEXACT_KINDS)


def _assert_rollups_identical(paths, ids) -> None:
    """The roll-ups of two runs: class counts exactly; figures exactly but doubles (sums of
    energy, land, kWh and ratios of them, added in another order) to REL_TOL."""
    duck, spark = (paths["duckdb"], ids["duckdb"]), (paths["spark"], ids["spark"])
    _compare("mujun_rollups", ["level", "key", "scope"], duck, spark, lambda row, c: isinstance(row[c], float))
    _compare("mujun_class_counts", ["level", "key", "scope", "class"], duck, spark, lambda row, c: False)


@pytest.mark.parametrize(("name", "benchmarks", "years"), CASES, ids=[f"{n}-{b}" for n, b, _ in CASES])
def test_spark_gives_the_same_results(engine_dbs, name, benchmarks, years):
    for year in years:
        ids = _run_both(engine_dbs, name, benchmarks, year)
        _assert_identical(engine_dbs, ids)
        _assert_rollups_identical(engine_dbs, ids)
    if len(years) == 3:
        with open_store(engine_dbs["spark"], read_only=True) as store:
            longest, escalated = store.con.execute(
                "SELECT max(class_streak), count(*) FILTER (WHERE class_streak >= 3 AND electricity_rate = 0.4) "
                "FROM mujun_results WHERE run_id = ?", [ids["spark"]]).fetchone()
        assert longest == 3 and escalated > 0, "three years in a row: streaks of 3 and escalated surcharges"


def test_store_tables_read_on_spark_with_their_types(small_db):
    from shanhai.engine import connect

    with open_store(small_db, read_only=True) as store:
        con = connect(store, "spark")
        assert con.name == "pyspark"
        ey = con.table("enterprise_years")
        assert str(ey.schema()["tax_paid"]) == "decimal(18, 4)"
        assert str(ey.schema()["land_own_mu"]) == "decimal(14, 4)"
        assert con.table("enterprises").schema()["founded_on"].is_date()
        expected = store.con.execute("SELECT count(*), sum(tax_paid), min(founded_on) FROM enterprise_years "
                                     "JOIN enterprises USING (uscc) WHERE year = 2023").fetchone()
        firms = con.table("enterprises")
        joined = ey.filter(ey.year == 2023).join(firms, "uscc")
        got = joined.aggregate(n=joined.count(), tax=joined.tax_paid.sum(), first=joined.founded_on.min()).to_pyarrow()
        assert (got["n"][0].as_py(), got["tax"][0].as_py(), got["first"][0].as_py()) == expected
        assert isinstance(got["tax"][0].as_py(), Decimal)
        folder = con._shanhai_folder
        assert (folder / "enterprise_years.parquet").exists()
        del con, ey, firms, joined
        gc.collect()
        assert not folder.exists(), "the export folder goes with the backend"


def test_missing_pyspark_says_how_to_install_it(monkeypatch):
    import sys

    from shanhai.engine import _spark

    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ShanhaiError, match=r"needs PySpark, which is not installed: install it with `uv sync --extra spark`"):
        _spark._require()


def test_missing_java_says_how_to_install_it(monkeypatch):
    from shanhai.engine import _spark

    monkeypatch.setattr(_spark, "_java", lambda: None)
    with pytest.raises(ShanhaiError, match=r"needs a Java 17\+ runtime .*apt-get install openjdk-17-jre-headless"):
        _spark._require()


def test_unknown_engine_is_refused(small_db):
    from shanhai.engine import connect

    with open_store(small_db, read_only=True) as store, pytest.raises(ShanhaiError, match="duckdb, spark"):
        connect(store, "polars")
