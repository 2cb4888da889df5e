"""Spark Connect, end to end: a real Spark Connect server in a process of its own (loopback, a free
port, ``local[2]``), and ``shanhai`` commands run in child processes with
``SPARK_REMOTE=sc://127.0.0.1:PORT`` — so this process (which may hold the local session of the
other spark tests: one Spark session per process) never talks to it — give the DuckDB engine's
results:

* the per-mu evaluation and its roll-ups (``shanhai evaluate mujun --engine spark``): store
  tables go to the server as Arrow over gRPC, and so does the previous year's classes (a
  memtable), since a previous run is in the store;
* the electricity scan (``shanhai alerts scan --engine spark --source parquet://DIR``): the
  server reads the Parquet source itself, from the shared folder;
* the relatedness inputs and a county's opportunities (``shanhai opportunities --engine spark``);
* a Parquet folder the server cannot read is a clear message naming the table and the path.

One server for the whole module (a JVM start costs 10–30 s), killed at teardown with its process
group even when a test fails. Comparison helpers are those of test_spark.py and
test_spark_alerts.py (tests/engine is on sys.path)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shanhai.store import open_store

# tests/engine is on sys.path (pytest's rootdir-less test folders)
from test_spark import REL_TOL, _assert_identical, _assert_rollups_identical
from test_spark_alerts import _same, _stored

pytestmark = pytest.mark.spark

YEAR = 2023
STARTUP_SECONDS = 240       # a JVM on a busy 2-core machine
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
STARTED: list[float] = []   # seconds the server took to listen, reported with the first command's time


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Spark Connect server on 127.0.0.1:PORT (spark-submit of the server class shipped in
    pyspark's jars), quiet, its scratch in a temp folder; yields ``sc://127.0.0.1:PORT``.
    ``STARTED`` receives the seconds it took to listen."""
    import pyspark

    from shanhai.engine import _spark

    _spark._require()                      # PySpark and Java 17+, else the message saying what to install
    home = Path(pyspark.__file__).parent
    folder = tmp_path_factory.mktemp("spark-connect")
    log4j = folder / "log4j2.properties"
    log4j.write_text(_spark._LOG4J)
    port = _free_port()
    conf = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.memory": _spark.DRIVER_MEMORY,
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": str(_spark.SHUFFLE_PARTITIONS),
        "spark.default.parallelism": str(_spark.SHUFFLE_PARTITIONS),
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.local.dir": str(folder / "local"),
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log4j} "
                                         f"-Dderby.system.home={folder / 'derby'}",
    }
    command = [str(home / "bin" / "spark-submit"), "--class", SERVER_CLASS, "--name", "shanhai-test-connect",
               "--master", "local[2]"]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    command.append("spark-internal")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOG_DIR": str(folder / "logs"), "SPARK_CONF_DIR": str(folder)}
    env.pop("SPARK_REMOTE", None)
    log = (folder / "server.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)       # its own process group: killed whole at teardown
    try:
        while not _listening(port):
            if proc.poll() is not None:
                pytest.fail(f"the Spark Connect server exited with {proc.returncode}:\n"
                            + (folder / "server.log").read_text(errors="replace")[-3000:])
            if time.monotonic() - started > STARTUP_SECONDS:
                pytest.fail(f"the Spark Connect server did not listen on {port} within {STARTUP_SECONDS} s:\n"
                            + (folder / "server.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        STARTED.append(time.monotonic() - started)
        yield f"sc://127.0.0.1:{port}"
    finally:
        stop_group(proc)
        log.close()


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a JVM started in a process group of its own, and everything it started: SIGTERM, then
    SIGKILL after 30 s (also used by test_spark_standalone.py)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _shanhai(remote: str, *args: str, figures=None) -> dict:
    """``shanhai ARGS --json`` in a child process on the Spark Connect server; its JSON document."""
    env = {**os.environ, "SPARK_REMOTE": remote}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "shanhai", *args, "--json"], env=env, capture_output=True,
                          text=True, timeout=900, check=False)
    seconds = time.monotonic() - started
    assert done.returncode == 0, f"shanhai {' '.join(args)} failed:\n{done.stderr[-4000:]}"
    if figures is not None:
        if STARTED:
            figures(f"Spark Connect server (spark-submit, local[2]) listening after {STARTED.pop():.1f} s")
        figures(f"shanhai {' '.join(a for a in args[:2] if not a.startswith('-'))} on Spark Connect: {seconds:.1f} s "
                "wall (child process: Python start, client session, the work on the server)")
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def copies(small_db, tmp_path_factory):
    """A copy of the small province per engine, each with the same DuckDB run of the year before
    (so the year evaluated has a previous run, whose classes go to the other engine), and the
    province as a Parquet dataset."""
    from shanhai.engine import _parquet
    from shanhai.jobs import mujun

    folder = tmp_path_factory.mktemp("connect-copies")
    paths = {}
    for engine in ("duckdb", "spark"):
        paths[engine] = folder / f"{engine}.duckdb"
        shutil.copy(small_db, paths[engine])
        with open_store(paths[engine]) as store:
            mujun.run(store, "zhejiang-2018", YEAR - 1)
    with open_store(small_db, read_only=True) as store:
        _parquet.export(store, folder / "parquet")
    return paths, folder / "parquet"


def test_evaluation_over_spark_connect_is_the_duckdb_one(server, copies, figures):
    from shanhai.jobs import mujun

    paths, _ = copies
    with open_store(paths["duckdb"]) as store:
        duck = mujun.run(store, "zhejiang-2018", YEAR)
    assert duck.engine == "duckdb"
    doc = _shanhai(server, "evaluate", "mujun", "--year", str(YEAR), "--engine", "spark", "--db", str(paths["spark"]),
                   figures=figures)
    assert doc["engine"] == "spark" and doc["evaluated"] > 5000
    ids = {"duckdb": duck.run_id, "spark": doc["run_id"]}
    _assert_identical(paths, ids)
    _assert_rollups_identical(paths, ids)
    with open_store(paths["spark"], read_only=True) as store:
        engine, streaks = store.con.execute(
            "SELECT r.params->>'engine', count(*) FILTER (WHERE m.class_streak = 2) FROM runs r "
            "JOIN mujun_results m USING (run_id) WHERE run_id = ? GROUP BY 1", [doc["run_id"]]).fetchone()
    assert engine == "spark"
    assert streaks > 0, "the previous run's classes reached the server: streaks of two years"


def test_scan_over_spark_connect_reads_the_parquet_source(server, copies, figures):
    from shanhai.jobs import alerts as ja

    paths, dataset = copies
    with open_store(paths["duckdb"]) as store:
        duck = ja.scan(store, None)
    source = f"parquet://{dataset}"
    doc = _shanhai(server, "alerts", "scan", "--engine", "spark", "--source", source, "--db", str(paths["spark"]),
                   figures=figures)
    (d_rows, d_tasks, d_params), (s_rows, s_tasks, s_params) = (_stored(paths["duckdb"], duck["run_id"]),
                                                                _stored(paths["spark"], doc["run_id"]))
    assert d_params == ("duckdb", "store") and s_params == ("spark", source)
    assert len(d_rows) == len(s_rows) > 0
    bad = [(x, y) for a, b in zip(d_rows, s_rows) for x, y in zip(a, b) if not _same(x, y, exact=False)]
    assert not bad, f"{len(bad)} cells differ (doubles to {REL_TOL}), e.g. {bad[:5]}"
    assert d_tasks == s_tasks
    for key in ("alerts", "new_alerts", "repeats", "tasks", "firms_scanned", "month"):
        assert duck[key] == doc[key], key


def test_opportunities_over_spark_connect_are_the_duckdb_ones(server, small_db, figures):
    from shanhai.cli.app import app

    with open_store(small_db, read_only=True) as store:
        county = store.con.execute("SELECT county_adcode FROM enterprises GROUP BY 1 ORDER BY count(*) DESC "
                                   "LIMIT 1").fetchone()[0]
    args = ["opportunities", "--region", county, "--db", str(small_db)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    duck = json.loads(result.stdout)
    spark = _shanhai(server, *args, "--engine", "spark", figures=figures)
    assert duck["provenance"].pop("engine") == "duckdb" and spark["provenance"].pop("engine") == "spark"
    assert duck == spark
    assert duck["develop"] and duck["eci"] is not None


CHILD_UNREADABLE = """
import shutil, sys
from pathlib import Path
from shanhai.engine import _parquet, connect
from shanhai.errors import ShanhaiError
from shanhai.store import open_store

db, folder = sys.argv[1], Path(sys.argv[2])
with open_store(db, read_only=True) as store, _parquet.attach(store, f"parquet://{folder}"):
    # the folder was there for this machine when the job began; the server cannot read it
    shutil.rmtree(folder / "enterprises")
    backend = connect(store, "spark")
    try:
        backend.table("enterprises")
    except ShanhaiError as exc:
        print(exc)
        sys.exit(3)
"""


def test_a_parquet_folder_the_server_cannot_read_is_a_clear_message(server, copies, small_db, tmp_path):
    _, dataset = copies
    folder = tmp_path / "gone"
    shutil.copytree(dataset, folder)
    done = subprocess.run([sys.executable, "-c", CHILD_UNREADABLE, str(small_db), str(folder)],
                          env={**os.environ, "SPARK_REMOTE": server}, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 3, done.stderr[-3000:]
    message = done.stdout.strip()
    assert message.startswith(f"Spark (remote:{server}) cannot read Parquet table enterprises at "
                              f"{(folder / 'enterprises').resolve()}"), message
    assert "readable by the Spark server and its executors under the same path" in message
