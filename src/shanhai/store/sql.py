"""SQL literals, for statements on hot paths.

DuckDB's Python client imports pandas the first time a statement binds Python parameters (to
recognise DataFrames among them), which costs about a second in a fresh process. Code that runs
in every command writes its few values as literals through :func:`literal` instead.
"""

from __future__ import annotations

from datetime import date, datetime


def literal(value) -> str:
    """A SQL literal for None, bool, int, float, str, date or datetime."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else "NULL"
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def values(*items) -> str:
    return ", ".join(literal(item) for item in items)
