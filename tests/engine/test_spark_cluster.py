"""Choosing where Spark runs: ``--spark-master`` and ``SPARK_REMOTE`` (Spark Connect). No cluster
here: the local session is the one every spark test shares, a second master in the same process
is refused, and a Spark Connect server that cannot be reached (or a client without its grpc
dependency) is a clear message, not a traceback."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from shanhai.errors import ShanhaiError

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.mark.spark
def test_one_master_per_process(small_db):
    from shanhai.engine import _spark, configure, connect
    from shanhai.store import open_store

    with open_store(small_db, read_only=True) as store:
        connect(store, "spark")             # the local session (started here or by an earlier test)
        assert _spark.master() == _spark.MASTER
        assert connect(store, "spark", master=_spark.MASTER).name == "pyspark", "the same master is reused"
        with pytest.raises(ShanhaiError, match=r"already runs on local\[2\].*cannot switch to spark://h:7077"):
            connect(store, "spark", master="spark://h:7077")
        configure(spark_master="spark://h:7077")
        try:
            with pytest.raises(ShanhaiError, match="cannot switch"):
                connect(store, "spark")
        finally:
            configure(spark_master=None)


def test_spark_connect_unreachable_is_a_clear_message(monkeypatch):
    from shanhai.engine import _spark

    monkeypatch.setattr(_spark, "_session", None)     # as if no session had started in this process
    monkeypatch.setattr(_spark, "_master", None)
    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:1")
    with pytest.raises(ShanhaiError, match=r"could not reach the Spark Connect server SPARK_REMOTE=sc://127.0.0.1:1"):
        _spark.session()
    assert _spark._session is None


def test_cli_refuses_a_master_without_spark(small_db):
    from shanhai.cli.app import app

    result = CliRunner().invoke(app, ["alerts", "scan", "--spark-master", "spark://h:7077", "--db", str(small_db)])
    assert result.exit_code != 0 and "--spark-master needs --engine spark" in str(result.exception)
    result = CliRunner().invoke(app, ["opportunities", "--region", "330102", "--engine", "flink", "--db",
                                      str(small_db)])
    assert result.exit_code != 0 and "expected one of duckdb, spark" in str(result.exception)
