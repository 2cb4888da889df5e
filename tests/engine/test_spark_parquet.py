"""``--source parquet://DIR``: the input tables from a Parquet dataset partitioned by year and
county (``shanhai db export-parquet``) give the same stored results as the store itself, on
DuckDB and on Spark (read by Spark from the partitioned folders): the per-mu evaluation with its
benchmarks and roll-ups, the alerts scan; bad sources get a clear message. Over a Spark Connect
server: test_spark_connect.py."""

from __future__ import annotations

import json
import os
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from shanhai.engine import _parquet
from shanhai.errors import ShanhaiError
from shanhai.jobs import alerts as ja
from shanhai.jobs import mujun
from shanhai.store import open_store

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

YEAR = 2023


@pytest.fixture(scope="module")
def dataset(small_db, tmp_path_factory):
    """The small province exported to Parquet by the command, and its folder (exported from a copy:
    the export is recorded in the audit log, and the session's database stays as built)."""
    import shutil

    from shanhai.cli.app import app

    base = tmp_path_factory.mktemp("parquet")
    folder, copy = base / "province", base / "exported.duckdb"
    shutil.copy(small_db, copy)
    result = CliRunner().invoke(app, ["db", "export-parquet", str(folder), "--db", str(copy), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["source"] == f"parquet://{folder.resolve()}"
    return folder, doc["tables"]


def test_export_writes_the_documented_layout(dataset, small_db):
    folder, counts = dataset
    assert set(counts) == set(_parquet.TABLES)
    with open_store(small_db, read_only=True) as store:
        for name, n in counts.items():
            assert n == store.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] > 0
        county, uscc = store.con.execute("SELECT county_adcode, uscc FROM enterprises ORDER BY uscc LIMIT 1").fetchone()
        columns = [r[0] for r in store.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'enterprise_years' "
            "ORDER BY ordinal_position").fetchall()]
    part = folder / "enterprise_years" / f"year={YEAR}" / f"county={county}"
    assert (part / "part-0.parquet").exists()
    assert (folder / "electricity_monthly" / f"year={YEAR}" / f"county={county}").is_dir()
    assert (folder / "enterprises" / f"county={county}").is_dir()
    assert (folder / "regions" / "part-0.parquet").exists()
    inside = duckdb.sql(f"SELECT * FROM read_parquet('{part}/*.parquet', hive_partitioning = false)")
    assert inside.columns[:len(columns)] == columns, "every column of the store's table is inside the files"
    assert uscc in {r[0] for r in duckdb.sql(f"SELECT uscc FROM read_parquet('{part}/*.parquet')").fetchall()}
    # an existing dataset is not overwritten silently
    from shanhai.cli.app import app

    again = CliRunner().invoke(app, ["db", "export-parquet", str(folder), "--db", str(small_db), "--table", "regions"])
    assert again.exit_code != 0 and "already has regions" in str(again.exception)


def _copy(small_db, tmp_path, name):
    path = tmp_path / f"{name}.duckdb"
    shutil.copy(small_db, path)
    return path


def _same_rows(left: list[tuple], right: list[tuple]) -> None:
    """Equal row by row: exactly, but doubles to 1e-9 relative — the Parquet files hold the rows
    in another order (by partition), and a sum of doubles depends on the order it is added in
    (e.g. a firm's yearly kWh from its months); decimals, integers, text, classes are exact."""
    import math

    assert len(left) == len(right)
    bad = [(a, b) for ra, rb in zip(left, right) for a, b in zip(ra, rb)
           if not ((a is None and b is None) or (isinstance(a, float) and isinstance(b, float)
                                                  and math.isclose(a, b, rel_tol=1e-9)) or a == b)]
    assert not bad, f"{len(bad)} cells differ, e.g. {bad[:5]}"


def test_parquet_source_gives_the_store_results_on_duckdb(dataset, small_db, tmp_path):
    folder, _ = dataset
    source = f"parquet://{folder}"
    runs = {}
    for name, src in (("store", None), ("parquet", source)):
        with open_store(_copy(small_db, tmp_path, name)) as store:
            summary = mujun.run(store, "zhejiang-2018", YEAR, source=src)
            scan = ja.scan(store, None, source=src)
            left = store.con.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name IN "
                                     f"({', '.join(repr(t) for t in _parquet.TABLES)})").fetchone()[0]
            assert left == 0, "the source's views are gone after the job"
            rows = store.con.execute("SELECT * EXCLUDE (run_id) FROM mujun_results WHERE run_id = ? ORDER BY uscc",
                                     [summary.run_id]).fetchall()
            counts = store.con.execute("SELECT * EXCLUDE (run_id) FROM mujun_class_counts WHERE run_id = ? "
                                       "ORDER BY ALL", [summary.run_id]).fetchall()
            scores = store.con.execute("SELECT * EXCLUDE (run_id, alert_id) FROM alert_scores WHERE run_id = ? "
                                       "ORDER BY uscc", [scan["run_id"]]).fetchall()
            params = store.con.execute("SELECT params->>'source', inputs_fingerprint FROM runs WHERE run_id = ?",
                                       [summary.run_id]).fetchone()
            runs[name] = (rows, counts, scores, params)
    assert len(runs["store"][0]) > 5000
    _same_rows(runs["store"][0], runs["parquet"][0])
    _same_rows(runs["store"][1], runs["parquet"][1])   # the roll-ups
    assert runs["store"][2]
    _same_rows(runs["store"][2], runs["parquet"][2])   # the alerts scan
    assert runs["store"][3][0] == "store" and runs["parquet"][3][0] == source, "the run says where its input came from"


@pytest.mark.spark
def test_parquet_source_on_spark_gives_the_store_scan(dataset, small_db, tmp_path):
    folder, _ = dataset
    docs, rows = {}, {}
    for name, engine, src in (("duckdb", "duckdb", None), ("spark", "spark", f"parquet://{folder}")):
        with open_store(_copy(small_db, tmp_path, name)) as store:
            docs[name] = ja.scan(store, None, engine=engine, source=src)
            rows[name] = store.con.execute(
                "SELECT * EXCLUDE (run_id, alert_id) FROM alert_scores WHERE run_id = ? ORDER BY uscc",
                [docs[name]["run_id"]]).fetchall()
    assert len(rows["duckdb"]) == len(rows["spark"]) > 0
    _same_rows(rows["duckdb"], rows["spark"])
    assert docs["duckdb"]["tasks"] == docs["spark"]["tasks"]


@pytest.mark.spark
def test_parquet_source_on_spark_gives_the_store_evaluation(dataset, small_db, tmp_path):
    """The whole per-mu evaluation on Spark over the Parquet dataset against DuckDB over the store:
    results, benchmarks and roll-ups. Doubles to 1e-9 (sums over months and firms added in another
    order: the files hold the rows by partition); everything else exactly."""
    from test_spark import _assert_rollups_identical, _compare  # tests/engine is on sys.path

    folder, _ = dataset
    source = f"parquet://{folder}"
    paths = {"duckdb": _copy(small_db, tmp_path, "duckdb"), "spark": _copy(small_db, tmp_path, "spark")}
    ids = {}
    for engine, src in (("duckdb", None), ("spark", source)):
        with open_store(paths[engine]) as store:
            summary = mujun.run(store, "zhejiang-2018", YEAR, engine=engine, source=src)
            assert summary.engine == engine
            ids[engine] = summary.run_id
            params = store.con.execute("SELECT params->>'engine', params->>'source' FROM runs WHERE run_id = ?",
                                       [summary.run_id]).fetchone()
            assert params == (engine, src or "store"), "the run says where its input came from"
    duck, spark = (paths["duckdb"], ids["duckdb"]), (paths["spark"], ids["spark"])
    doubles = lambda row, c: isinstance(row[c], float)  # noqa: E731
    _compare("mujun_results", ["uscc"], duck, spark, doubles)
    _compare("mujun_benchmarks", ["unit_id", "population", "indicator"], duck, spark, doubles)
    _assert_rollups_identical(paths, ids)
    with open_store(paths["spark"], read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM mujun_results WHERE run_id = ?", [ids["spark"]]).fetchone()[0] > 5000


def test_bad_sources_are_refused_clearly(dataset, small_db, tmp_path):
    folder, _ = dataset
    with open_store(_copy(small_db, tmp_path, "bad")) as store:
        with pytest.raises(ShanhaiError, match="give parquet://DIR"):
            ja.scan(store, source="s3://bucket/x")
        with pytest.raises(ShanhaiError, match="is not a folder"):
            ja.scan(store, source=f"parquet://{tmp_path / 'missing'}")
        (tmp_path / "empty").mkdir()
        with pytest.raises(ShanhaiError, match="no table of the layout"):
            ja.scan(store, source=f"parquet://{tmp_path / 'empty'}")
        broken = tmp_path / "broken" / "electricity_monthly"
        broken.mkdir(parents=True)
        duckdb.sql(f"COPY (SELECT 'x' AS uscc, DATE '2024-01-01' AS month) TO '{broken / 'part-0.parquet'}'")
        with pytest.raises(ShanhaiError, match=r"table electricity_monthly .* does not match the store's columns"):
            ja.scan(store, source=f"parquet://{tmp_path / 'broken'}")
        assert not _parquet.attached(store)
