"""The analysis engine: an Ibis backend over the store.

Analysis code asks this module for tables and never imports duckdb or pyspark itself, so the
same expressions run on DuckDB (the default, embedded) and, later, on PySpark for scale-out.
"""

from __future__ import annotations

import ibis
from ibis.backends import BaseBackend

from shanhai.errors import ShanhaiError
from shanhai.store import Store

ENGINES = ("duckdb",)


def connect(store: Store, engine: str = "duckdb") -> BaseBackend:
    """An Ibis backend reading the store's tables through the store's own connection."""
    if engine not in ENGINES:
        raise ShanhaiError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    return ibis.duckdb.from_connection(store.con)


__all__ = ["ENGINES", "connect"]
