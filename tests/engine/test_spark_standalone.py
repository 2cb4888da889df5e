"""A Spark standalone cluster, end to end: a master and one worker in processes of their own
(loopback, free ports, ``spark-class`` of the classes shipped in pyspark's jars), and ``shanhai
evaluate mujun --engine spark --spark-master spark://127.0.0.1:PORT`` in a child process (one Spark
session per process: this one may hold the local session of the other spark tests). The driver
runs in the child, the executors in the worker's JVM with their own Python workers, so the store's
tables go to them as Arrow through the driver (executors cannot read the driver's temporary
folder) — the path a real cluster takes. The run equals the DuckDB engine's: results, benchmarks,
roll-ups. The cluster's defaults (four shuffle partitions, the executors' memory) come from a
``spark-defaults.conf`` in ``SPARK_CONF_DIR``, as an operator would set them (docs/spark.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# tests/engine is on sys.path (pytest's rootdir-less test folders)
from test_spark import _assert_identical, _assert_rollups_identical
from test_spark_connect import YEAR, _free_port, _listening, copies, stop_group  # noqa: F401 (copies: a fixture)

pytestmark = pytest.mark.spark

STARTUP_SECONDS = 240


def _start(command: list[str], env: dict, folder: Path, name: str, port: int) -> subprocess.Popen:
    log = (folder / f"{name}.log").open("wb")
    proc = subprocess.Popen(command, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)       # its own process group: killed whole at teardown
    log.close()
    started = time.monotonic()
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() - started > STARTUP_SECONDS:
            stop_group(proc)
            pytest.fail(f"the Spark {name} did not listen on {port}:\n"
                        + (folder / f"{name}.log").read_text(errors="replace")[-3000:])
        time.sleep(0.5)
    return proc


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A standalone master and one worker (2 cores, 2 GB) on 127.0.0.1; yields the master's URL
    and the environment the driver needs (``SPARK_CONF_DIR`` with the cluster's defaults)."""
    import pyspark

    from shanhai.engine import _spark

    _spark._require()
    home = Path(pyspark.__file__).parent
    folder = tmp_path_factory.mktemp("spark-standalone")
    (folder / "log4j2.properties").write_text(_spark._LOG4J)
    (folder / "spark-defaults.conf").write_text(
        f"spark.sql.shuffle.partitions {_spark.SHUFFLE_PARTITIONS}\n"
        f"spark.default.parallelism {_spark.SHUFFLE_PARTITIONS}\n"
        "spark.executor.memory 1g\n"
        "spark.ui.enabled false\n")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_CONF_DIR": str(folder),
           "PYSPARK_PYTHON": sys.executable, "SPARK_LOG_DIR": str(folder / "logs"),
           "SPARK_WORKER_DIR": str(folder / "work"), "SPARK_LOCAL_DIRS": str(folder / "local")}
    env.pop("SPARK_REMOTE", None)
    spark_class = str(home / "bin" / "spark-class")
    port = _free_port()
    master = _start([spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                     str(port), "--webui-port", str(_free_port())], env, folder, "master", port)
    url = f"spark://127.0.0.1:{port}"
    worker_port = _free_port()
    try:
        worker = _start([spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                         "--port", str(worker_port), "--webui-port", str(_free_port()), "--cores", "2",
                         "--memory", "2g", "--work-dir", str(folder / "work")], env, folder, "worker", worker_port)
        try:
            yield url, env, folder / "work"
        finally:
            stop_group(worker)
    finally:
        stop_group(master)


def test_evaluation_on_a_standalone_cluster_is_the_duckdb_one(cluster, copies, figures):  # noqa: F811
    from shanhai.jobs import mujun
    from shanhai.store import open_store

    url, env, work = cluster
    paths, _ = copies
    with open_store(paths["duckdb"]) as store:
        duck = mujun.run(store, "huangyan-2022", YEAR)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "shanhai", "evaluate", "mujun", "--year", str(YEAR), "--policy",
                           "huangyan-2022", "--engine", "spark", "--spark-master", url, "--db", str(paths["spark"]),
                           "--json"], env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    figures(f"shanhai evaluate mujun on a standalone cluster (master + one worker, 2 cores): "
            f"{time.monotonic() - started:.1f} s wall (child process: driver start, executors, the work)")
    doc = json.loads(done.stdout)
    assert doc["engine"] == "spark" and doc["evaluated"] > 5000
    ids = {"duckdb": duck.run_id, "spark": doc["run_id"]}
    _assert_identical(paths, ids)
    _assert_rollups_identical(paths, ids)
    with open_store(paths["spark"], read_only=True) as store:
        master = store.con.execute("SELECT params->>'engine' FROM runs WHERE run_id = ?", [doc["run_id"]]).fetchone()
    assert master == ("spark",)
    # the application ran on the worker: its executor's folder is there (not local mode)
    apps = list(work.glob("app-*"))
    assert len(apps) == 1 and list(apps[0].iterdir()), apps
