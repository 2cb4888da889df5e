"""The PySpark engine: an Ibis PySpark backend in local mode over a snapshot of the store.

Spark cannot read a DuckDB file, so the first time the backend is asked for one of the store's
tables (``con.table("enterprise_years")``) DuckDB writes that table to Parquet in a temporary
folder (``COPY … TO … (FORMAT parquet)``: decimals keep their precision and scale, dates stay
dates) and the file is registered as a temporary view of the same name. Each :func:`connect`
gets its own Spark session (``newSession``: its own views, one shared JVM) and its own export
folder, removed when the backend or the store is garbage-collected, and at the latest when the
process exits (with the whole temporary folder: exports, Spark's warehouse and scratch space).

One JVM per process (``local[2]``, four shuffle partitions, no UI, bound to 127.0.0.1, logs at
ERROR, ANSI SQL), started on first use and stopped at exit. A cluster instead: ``master`` (the
CLI's ``--spark-master``: ``spark://host:7077``, ``yarn``, ``k8s://…``), whose executors cannot
read the driver's temporary folder, so store tables go to Spark as Arrow; or Spark Connect when
``SPARK_REMOTE`` is set: no JVM in this process, each :func:`connect` opens its own session on the
server (``builder.remote(URL).create()``: its own temp views, closed with the backend), sets the
SQL settings Shanhai needs on it (``SQL_CONF``), and sends store tables as Arrow over gRPC (the
server need not see this machine's files). A Parquet source attached to the store
(``engine._parquet``) is read by Spark itself, from its partitioned folders, under their absolute
path: on a cluster or a Connect server that path must be readable by Spark (a shared file system),
else a :class:`ShanhaiError` says so. See docs/spark.md. PySpark (the ``spark`` extra) and a
Java 17+ runtime are optional: a missing one is a :class:`ShanhaiError` saying how to install it.

Two fixes to ibis 12's PySpark backend live here: data goes into and out of Spark as Arrow, not
pandas (``_register_in_memory_table``, ``to_pyarrow``): see their docstrings.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from shanhai.errors import ShanhaiError
from shanhai.store.sql import literal

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

    from shanhai.store import Store

INSTALL_PYSPARK = "install it with `uv sync --extra spark` (or `pip install 'shanhai[spark]'`)"
INSTALL_JAVA = "install one, e.g. `apt-get install openjdk-17-jre-headless`"

MASTER = "local[2]"          # tests and one machine; a cluster: --spark-master URL or SPARK_REMOTE
SHUFFLE_PARTITIONS = 4
DRIVER_MEMORY = os.environ.get("SHANHAI_SPARK_MEMORY", "2g")

_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
# PySpark starts Spark as a shell, which prints "Setting default log level" unless Spark's own
# logger has a level of its own equal to the root's
logger.spark.name = org.apache.spark
logger.spark.level = error
"""

# SQL settings every Shanhai session runs with: set when the local JVM starts, and on each Spark
# Connect session (the server's own defaults may differ; these are runtime settings a client may set)
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # as DuckDB: an overflow or a bad cast is an error, never a silent NULL or wrap
    "spark.sql.ansi.enabled": "true",
    # DuckDB's TIMESTAMP has no time zone: read it back as TIMESTAMP_NTZ, not shifted
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}

_lock = threading.Lock()
_session = None          # the process's root SparkSession (one JVM)
_root: Path | None = None  # temp folder: warehouse, log config, per-backend exports
_master: str | None = None  # the master the session was started with ("remote:URL" for Spark Connect)


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _java_major(java: str) -> int | None:
    """The major version of a Java runtime (``17`` for ``openjdk version "17.0.15"``), or None."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if "version" in line and '"' in line:
            v = line.split('"')[1]
            head = v.split(".")[1] if v.startswith("1.") else v.split(".")[0]
            try:
                return int(head.split("-")[0].split("+")[0])
            except ValueError:
                return None
    return None


def _require(need_java: bool = True) -> None:
    """PySpark importable and (``need_java``: not for a Spark Connect client, whose JVM is the server's)
    a Java 17+ runtime found, else a ShanhaiError saying what to install."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ShanhaiError(f"the spark engine needs PySpark, which is not installed: {INSTALL_PYSPARK}; "
                           "it also needs a Java 17+ runtime") from exc
    if not need_java:
        return
    java = _java()
    if java is None:
        raise ShanhaiError(f"the spark engine needs a Java 17+ runtime and found no `java` on PATH or in "
                           f"JAVA_HOME: {INSTALL_JAVA}")
    major = _java_major(java)
    if major is not None and major < 17:
        raise ShanhaiError(f"the spark engine needs Java 17 or newer, and {java} is Java {major}: {INSTALL_JAVA}")


def _shutdown() -> None:
    global _session, _root, _master
    with _lock:
        if _session is not None:
            with contextlib.suppress(Exception):  # the JVM may already be gone at exit
                _session.stop()
            _session = None
            _master = None
        if _root is not None:
            shutil.rmtree(_root, ignore_errors=True)
            _root = None


def _is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def session(master: str | None = None):
    """The process's Spark session, started on first call and reused: local mode (``local[2]``)
    unless ``master`` names a cluster (``spark://host:7077``, ``yarn``, ``k8s://…``) or
    ``SPARK_REMOTE`` names a Spark Connect server (``sc://host:15002``), which wins. One process
    holds one session: asking for another master afterwards is a :class:`ShanhaiError`."""
    global _session, _root, _master
    remote = os.environ.get("SPARK_REMOTE")
    want = f"remote:{remote}" if remote else (master or MASTER)
    with _lock:
        if _session is not None:
            if master is not None and want != _master:
                raise ShanhaiError(f"Spark already runs on {_master} in this process: cannot switch to {want}")
            return _session
        _require(need_java=not remote)
        from pyspark.sql import SparkSession

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        root = Path(tempfile.mkdtemp(prefix="shanhai-spark-"))
        if remote:
            try:
                _probe(remote)
                s = SparkSession.builder.remote(remote).appName("shanhai").getOrCreate()
                _configure_remote(s, remote)
            except ShanhaiError:
                shutil.rmtree(root, ignore_errors=True)
                raise
            except Exception as exc:  # ImportError for the connect client's grpcio, or a refused connection
                shutil.rmtree(root, ignore_errors=True)
                raise ShanhaiError(f"could not reach the Spark Connect server SPARK_REMOTE={remote} (the client "
                                   f"needs `pip install 'pyspark[connect]'`): {_first_line(exc)}") from exc
            _session, _root, _master = s, root, want
            atexit.register(_shutdown)
            return s
        log4j = root / "log4j2.properties"
        log4j.write_text(_LOG4J)
        java_opts = f"-Dlog4j2.configurationFile=file:{log4j} -Dderby.system.home={root / 'derby'}"
        builder = (SparkSession.builder.master(want).appName("shanhai")
                   .config("spark.driver.memory", DRIVER_MEMORY)
                   .config("spark.driver.extraJavaOptions", java_opts)
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.warehouse.dir", str(root / "warehouse"))
                   .config("spark.local.dir", str(root / "local")))
        for key, value in SQL_CONF.items():
            builder = builder.config(key, value)
        if _is_local(want):
            # one machine: loopback only, few partitions; a cluster keeps its own defaults
            builder = (builder.config("spark.driver.host", "127.0.0.1")
                       .config("spark.driver.bindAddress", "127.0.0.1")
                       .config("spark.sql.shuffle.partitions", str(SHUFFLE_PARTITIONS))
                       .config("spark.default.parallelism", str(SHUFFLE_PARTITIONS)))
        try:
            s = builder.getOrCreate()
        except Exception as exc:  # PySparkRuntimeError when the JVM does not start
            shutil.rmtree(root, ignore_errors=True)
            raise ShanhaiError(f"could not start Spark on {want} (it needs a Java 17+ runtime): "
                               f"{_first_line(exc)}") from exc
        s.sparkContext.setLogLevel("ERROR")
        _session, _root, _master = s, root, want
        atexit.register(_shutdown)
        return s


PROBE_SECONDS = 10


def _probe(remote: str) -> None:
    """Open (and close) a TCP connection to the Spark Connect server first: the client itself
    only connects on its first request, and then retries an unreachable server with growing
    back-off for about ten minutes before it gives up."""
    import socket

    from pyspark.sql.connect.client import DefaultChannelBuilder   # ImportError without pyspark[connect]

    url = DefaultChannelBuilder(remote)                     # PySparkValueError for a malformed URL
    with socket.create_connection((url.host, url._port), timeout=PROBE_SECONDS):
        pass


def _configure_remote(s, remote: str) -> None:
    """Set ``SQL_CONF`` on a Spark Connect session; a server that refuses one (and does not
    already run with that value) is a :class:`ShanhaiError`: results would differ from DuckDB's.
    A server that cannot be reached raises its own error (the callers say so)."""
    for key, value in SQL_CONF.items():
        try:
            s.conf.set(key, value)
        except Exception as exc:
            if str(s.conf.get(key)).lower() != value.lower():    # raises too when the server is gone
                raise ShanhaiError(f"the Spark Connect server SPARK_REMOTE={remote} refuses {key}={value}, which "
                                   f"Shanhai needs for results identical to DuckDB's: {_first_line(exc)}") from exc


def _remote_session(remote: str):
    """A new session of its own on the Spark Connect server (its own temp views, so two backends
    never see each other's tables), configured as :func:`session` configures the local JVM."""
    from pyspark.sql import SparkSession

    try:
        _probe(remote)
        s = SparkSession.builder.remote(remote).create()
        _configure_remote(s, remote)
    except ShanhaiError:
        raise
    except Exception as exc:
        raise ShanhaiError(f"could not open a session on the Spark Connect server SPARK_REMOTE={remote}: "
                           f"{_first_line(exc)}") from exc
    return s


def _stop(s) -> None:
    """Close a Spark Connect session (the server drops its views and cached data)."""
    with contextlib.suppress(Exception):     # the server (or the interpreter) may already be gone
        s.stop()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def master() -> str | None:
    """The master of the running session (``remote:URL`` for Spark Connect), or None."""
    return _master


def _backend_class():
    """An Ibis PySpark backend that exports a store table to Parquet the first time it is asked
    for it, and returns Arrow straight from Spark (``DataFrame.toArrow``, not via pandas)."""
    import ibis
    from ibis.backends.pyspark import Backend as PySparkBackend

    ibis.pyspark  # noqa: B018 - loading the backend through ibis registers its options (options.pyspark)

    class StoreBackend(PySparkBackend):
        _shanhai_store = None
        _shanhai_folder: Path | None = None
        _shanhai_exported: set

        def _shanhai_attach(self, store: Store, folder: Path) -> None:
            self._shanhai_store = store
            self._shanhai_folder = folder
            self._shanhai_exported = set()
            self._shanhai_store_tables = {r[0] for r in store.con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}

        def export(self, name: str) -> None:
            """Make store table ``name`` a temp view of this session (once): from the Parquet
            source attached to the store (read by Spark itself, distributed), else written to
            Parquet by DuckDB (local mode) or sent as Arrow (a cluster cannot read the driver's
            temporary folder)."""
            if name in self._shanhai_exported or name not in self._shanhai_store_tables:
                return
            from shanhai.engine import _parquet

            con = self._shanhai_store.con
            cols = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_schema = 'main' AND table_name = {literal(name)} ORDER BY ordinal_position").fetchall()
            source = _parquet.attached(self._shanhai_store).get(name)
            if source is not None:
                self._shanhai_parquet(name, source, cols)
                self._shanhai_exported.add(name)
                return
            # JSON has no Spark type: it goes over as text; everything else keeps its DuckDB type
            select = ", ".join(f'"{c}"::VARCHAR AS "{c}"' if t == "JSON" else f'"{c}"' for c, t in cols)
            if not _is_local(_master or MASTER):
                # a cluster's executors or a Spark Connect server cannot see this machine's temporary
                # folder: the rows go as Arrow, through the driver (Connect: over gRPC)
                self._session.createDataFrame(con.execute(f'SELECT {select} FROM main."{name}"').fetch_arrow_table()
                                              ).createOrReplaceTempView(name)
                self._shanhai_exported.add(name)
                return
            path = self._shanhai_folder / f"{name}.parquet"
            self._shanhai_folder.mkdir(parents=True, exist_ok=True)
            target = str(path).replace("'", "''")
            con.execute(f'COPY (SELECT {select} FROM "{name}") TO \'{target}\' (FORMAT parquet)')
            self._session.read.parquet(str(path)).createOrReplaceTempView(name)
            self._shanhai_exported.add(name)

        def _shanhai_parquet(self, name: str, folder: Path, cols: list[tuple[str, str]]) -> None:
            """A table folder of the Parquet layout as a view with the store's columns and types:
            every file read (``recursiveFileLookup``: the values come from inside the files, not
            from the partition folder names), each column cast to the store's type."""
            import ibis
            from ibis.backends.pyspark.datatypes import PySparkSchema
            from ibis.backends.sql.datatypes import DuckDBType

            # the store's own table (not the source's DuckDB view, which this machine reads): JSON as text
            schema = ibis.schema({c: DuckDBType.from_string("VARCHAR" if t == "JSON" else t) for c, t in cols})
            want = {f.name: f.dataType for f in PySparkSchema.from_ibis(schema).fields}
            # absolute: a Spark Connect server or a cluster resolves a relative path in its own folder
            path = str(Path(folder).resolve())
            try:
                df = self._session.read.option("recursiveFileLookup", "true").parquet(path)
                have = {f.name: f.dataType for f in df.schema.fields}
            except Exception as exc:   # PATH_NOT_FOUND, permissions, unreadable files
                raise ShanhaiError(
                    f"Spark ({_master}) cannot read Parquet table {name} at {path}: with Spark Connect or a "
                    "cluster the source folder must be readable by the Spark server and its executors under the "
                    f"same path (a shared file system, HDFS or object storage): {_first_line(exc)}") from None
            missing = [c for c, _ in cols if c not in have]
            if missing:
                raise ShanhaiError(f"Parquet table {name} ({folder}) lacks column(s) {', '.join(missing)}")
            df.select(*(df[c] if have[c] == want[c] else df[c].cast(want[c]).alias(c) for c, _ in cols)
                      ).createOrReplaceTempView(name)

        def table(self, name: str, /, *, database=None):
            if database is None and self._shanhai_store is not None:
                self.export(name)
            return super().table(name, database=database)

        def _register_in_memory_table(self, op) -> None:
            """Memtables (and ``create_table`` from Arrow) go to Spark as Arrow: ibis 12 goes
            through pandas, where an int column with NULLs becomes float and Spark, told the
            column is an int, silently reads every value as NULL."""
            from ibis.backends.pyspark.datatypes import PySparkSchema

            schema = op.schema
            df = self._session.createDataFrame(op.data.to_pyarrow(schema))
            want = PySparkSchema.from_ibis(schema)
            df = df.select(*(df[f.name].cast(f.dataType).alias(f.name) for f in want.fields))
            df.createOrReplaceTempView(op.name)

        def to_pyarrow(self, expr, /, *, params=None, limit=None, **kwargs):
            """Arrow straight from Spark, each column cast *in Spark* to the type Ibis expects.

            A float literal compiles to a SQL decimal (``26.01``), so a column Ibis types as
            float64 may come out of Spark as DECIMAL(4, 2); pyarrow's decimal → double cast is
            not correctly rounded (26.01 → 26.009999999999998), Spark's is (as DuckDB's)."""
            from ibis.backends.pyspark.datatypes import PySparkSchema
            from ibis.formats.pyarrow import PyArrowData

            self._run_pre_execute_hooks(expr)
            table_expr = expr.as_table()
            schema = table_expr.schema()
            df = self._session.sql(self.compile(table_expr, params=params, limit=limit, **kwargs))
            want = PySparkSchema.from_ibis(schema)
            have = {f.name: f.dataType for f in df.schema.fields}
            if any(have[f.name] != f.dataType for f in want.fields):
                df = df.select(*(df[f.name] if have[f.name] == f.dataType else df[f.name].cast(f.dataType).alias(f.name)
                                 for f in want.fields))
            return expr.__pyarrow_result__(PyArrowData.convert_table(df.toArrow(), schema))

    return StoreBackend


_BACKEND_CLASS = None


def connect(store: Store, master: str | None = None) -> BaseBackend:
    """An Ibis PySpark backend on which the store's tables read under their names (local mode
    unless ``master`` or ``SPARK_REMOTE`` says otherwise, see :func:`session`)."""
    global _BACKEND_CLASS
    root_session = session(master)
    if _BACKEND_CLASS is None:
        _BACKEND_CLASS = _backend_class()
    backend = _BACKEND_CLASS()
    remote = _master[len("remote:"):] if (_master or "").startswith("remote:") else None
    # Spark Connect has no newSession (no JVM here): a session of its own on the server instead
    own = _remote_session(remote) if remote else root_session.newSession()
    backend = backend.connect(own)
    if remote:
        weakref.finalize(backend, _stop, own)
    folder = _root / "exports" / secrets.token_hex(6)
    backend._shanhai_attach(store, folder)
    # the exports go with the backend or the store, whichever goes first (and all of them at exit)
    weakref.finalize(backend, shutil.rmtree, folder, True)
    weakref.finalize(store, shutil.rmtree, folder, True)
    return backend


__all__ = ["connect", "master", "session"]
