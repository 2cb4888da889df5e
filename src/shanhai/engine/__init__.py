"""The analysis engine: an Ibis backend over the store.

Analysis code asks this module for tables and never imports duckdb or pyspark itself, so the
same expressions run on DuckDB (the default, embedded) and on PySpark (``engine="spark"``: local
mode over a Parquet snapshot of the store's tables, a cluster, or Spark Connect, see ``_spark``;
needs the ``spark`` extra). Input tables may come from a Parquet dataset partitioned by year and
county instead of the store (``_parquet``: ``--source parquet://DIR``). See docs/spark.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import secrets

import ibis
from ibis.backends import BaseBackend

from shanhai.errors import ShanhaiError
from shanhai.store import Store

ENGINES = ("duckdb", "spark")

# the Spark master for ``connect(store, "spark")`` when none is passed: set by the CLI's
# ``--spark-master`` (``configure``); None = local mode, or Spark Connect when SPARK_REMOTE is set
_spark_master: str | None = None


def configure(*, spark_master: str | None = None) -> None:
    """Set the Spark master every later ``connect(store, "spark")`` of this process uses."""
    global _spark_master
    _spark_master = spark_master or None


if TYPE_CHECKING:
    import pyarrow as pa


def connect(store: Store, engine: str = "duckdb", master: str | None = None) -> BaseBackend:
    """An Ibis backend on which the store's tables read under their own names: DuckDB through the
    store's own connection, or PySpark (``engine="spark"``: local mode, or ``master`` / the
    configured master, or Spark Connect when ``SPARK_REMOTE`` is set). A Parquet source attached
    to the store (:func:`shanhai.engine._parquet.attach`) replaces its input tables on both."""
    if engine not in ENGINES:
        raise ShanhaiError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if engine == "spark":
        from shanhai.engine import _spark

        return _spark.connect(store, master or _spark_master)
    return ibis.duckdb.from_connection(store.con)


def insert(store: Store, backend: BaseBackend | None, table: str, expr, extra: dict | None = None, *,
           log: list | None = None) -> int:
    """Append an Ibis expression's rows to a store table, matching columns by name; returns rows.

    On the store's own DuckDB backend the rows never leave DuckDB (``INSERT … SELECT`` of the
    compiled expression); from another engine they come back as Arrow and are appended.
    ``expr`` may also be DuckDB SQL already compiled (``backend`` is then not used).
    ``extra``: constant columns added to every row (e.g. the run id). ``log``: a list that
    receives ``("insert", table, sql, extra)`` of what ran on DuckDB (a run's plan, see
    ``jobs.mujun``).
    """
    from shanhai.store.sql import literal

    consts = ", ".join(f"{literal(v)} AS \"{k}\"" for k, v in (extra or {}).items())
    prefix = f"{consts}, " if consts else ""
    if isinstance(expr, str) or getattr(backend, "con", None) is store.con:
        sql = expr if isinstance(expr, str) else ibis.to_sql(expr, dialect="duckdb")
        if log is not None:
            log.append(("insert", table, sql, dict(extra or {})))
        before = store.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        store.con.execute(f'INSERT INTO "{table}" BY NAME SELECT {prefix}* FROM ({sql})')
        return store.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] - before
    arrow = expr.to_pyarrow()
    store.con.register("_shanhai_insert", arrow)
    try:
        store.con.execute(f'INSERT INTO "{table}" BY NAME SELECT {prefix}* FROM _shanhai_insert')
    finally:
        store.con.unregister("_shanhai_insert")
    return arrow.num_rows


def fetch(backend: BaseBackend, expr) -> "pa.Table":
    """An expression's rows as Arrow. On DuckDB the compiled SQL runs on the backend's own
    connection (ibis 12's ``to_pyarrow`` costs ~1.5 s of its own on a first call, measured on a
    90-row aggregate); elsewhere ``to_pyarrow``."""
    if backend.name == "duckdb":
        return backend.con.execute(ibis.to_sql(expr, dialect="duckdb")).fetch_arrow_table()
    return expr.to_pyarrow()


def table(backend: BaseBackend, name: str) -> "ibis.expr.types.Table":
    """``backend.table(name)``; on DuckDB the same table expression without ibis 12's Arrow round
    trip for the schema (its ``get_schema`` fetches ``DESCRIBE`` as Arrow: the first call of a
    process imports pyarrow, about 0.3 s, for a few dozen rows of names and types)."""
    if backend.name != "duckdb":
        return backend.table(name)
    import ibis.expr.operations as ops

    rows = backend.con.execute(f'DESCRIBE "{name}"').fetchall()     # name, type, null, key, default, extra
    if not rows:
        raise ShanhaiError(f"table {name} has no columns")
    mapper = backend.compiler.type_mapper
    schema = ibis.schema({col: mapper.from_string(typ, nullable=null == "YES") for col, typ, null, *_ in rows})
    return ops.DatabaseTable(name, schema=schema, source=backend,
                             namespace=ops.Namespace(catalog=None, database=None)).to_expr()


def stage_name() -> str:
    """A fresh name for a temp table made by :func:`materialize`."""
    return f"_shanhai_stage_{secrets.token_hex(6)}"


def materialize(backend: BaseBackend, expr, *, log: list | None = None) -> "ibis.expr.types.Table":
    """Compute an expression once and return a table over the result (a temp table on DuckDB, a
    cached DataFrame elsewhere). Drop it with :func:`release`. ``log``: a list that receives
    ``("stage", name, sql)`` of the temp table made on DuckDB.

    On DuckDB this is plain ``CREATE TEMP TABLE … AS``: ibis 12's own ``Table.cache().release()``
    emits ``DROP TABLE IF EXISTS`` without the name under sqlglot 30, a syntax error.
    """
    if backend.name == "duckdb":
        name = stage_name()
        sql = ibis.to_sql(expr, dialect="duckdb")
        backend.con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}')
        if log is not None:
            log.append(("stage", name, sql))
        return table(backend, name)
    return expr.cache()


def release(backend: BaseBackend, table) -> None:
    """Drop a table made by :func:`materialize`."""
    if backend.name == "duckdb":
        backend.con.execute(f'DROP TABLE IF EXISTS "{table.get_name()}"')
    else:
        table.release()


__all__ = ["ENGINES", "configure", "connect", "fetch", "insert", "materialize", "release"]
