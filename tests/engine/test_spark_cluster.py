"""Choosing where Spark runs: ``--spark-master`` and ``SPARK_REMOTE`` (Spark Connect). No cluster
here: the local session is the one every spark test shares, a second master in the same process
is refused, and a Spark Connect server that cannot be reached (or a client without its grpc
dependency), or that refuses a setting results depend on, is a clear message, not a traceback.
A real Spark Connect server: test_spark_connect.py."""

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
    # a Connect client runs no JVM: no Java needed here, the server is what is missing
    monkeypatch.setattr(_spark, "_java", lambda: None)
    with pytest.raises(ShanhaiError, match=r"could not reach the Spark Connect server SPARK_REMOTE=sc://127.0.0.1:1"):
        _spark.session()
    assert _spark._session is None


class _Conf:
    """A Spark Connect session's ``conf`` that refuses to be set (as some managed servers do)."""

    def __init__(self, values):
        self.values = values

    def set(self, key, value):
        raise RuntimeError(f"[CANNOT_MODIFY_CONFIG] {key}")

    def get(self, key):
        return self.values[key]


class _Session:
    def __init__(self, values):
        self.conf = _Conf(values)


def test_spark_connect_settings_a_server_refuses():
    from shanhai.engine import _spark

    # refused but already in force: fine
    _spark._configure_remote(_Session(dict(_spark.SQL_CONF)), "sc://h:15002")
    # refused and not in force: results could differ from DuckDB's, so it is an error naming the setting
    values = {**_spark.SQL_CONF, "spark.sql.ansi.enabled": "false"}
    with pytest.raises(ShanhaiError, match=r"SPARK_REMOTE=sc://h:15002 refuses spark.sql.ansi.enabled=true.*"
                                           r"CANNOT_MODIFY_CONFIG"):
        _spark._configure_remote(_Session(values), "sc://h:15002")


def test_cli_refuses_a_master_without_spark(small_db):
    from shanhai.cli.app import app

    result = CliRunner().invoke(app, ["alerts", "scan", "--spark-master", "spark://h:7077", "--db", str(small_db)])
    assert result.exit_code != 0 and "--spark-master needs --engine spark" in str(result.exception)
    result = CliRunner().invoke(app, ["opportunities", "--region", "330102", "--engine", "flink", "--db",
                                      str(small_db)])
    assert result.exit_code != 0 and "expected one of duckdb, spark" in str(result.exception)
