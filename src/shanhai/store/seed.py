"""Load the packaged reference data (regions, industries, chains, pairings, lead industries).

Idempotent: rows are keyed, so loading twice changes nothing, and a newer package's reference
data replaces the old rows without touching imported ones (towns, user-defined chains).
"""

from __future__ import annotations

import duckdb

from shanhai import reference

# table -> key columns; the order matters only for readability
REFERENCE_TABLES: dict[str, tuple[str, ...]] = {
    "regions": ("adcode",),
    "industries": ("code",),
    "chains": ("chain_id",),
    "chain_segments": ("segment_id",),
    "segment_industries": ("segment_id", "industry_code"),
    "pairings": ("pairing_id",),
    "lead_industries": ("adcode", "position"),
}


def load_reference(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Insert or refresh the packaged reference tables; returns rows per table."""
    tables = reference.tables()
    counts: dict[str, int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for name in REFERENCE_TABLES:
            arrow = tables[name]
            con.register("_reference_rows", arrow)
            con.execute(f"INSERT OR REPLACE INTO {name} BY NAME SELECT * FROM _reference_rows")
            con.unregister("_reference_rows")
            counts[name] = arrow.num_rows
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def reference_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM regions WHERE level = 'county'").fetchone()[0] > 0
