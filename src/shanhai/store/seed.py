"""Load the packaged reference data (regions, industries, chains, pairings, lead industries).

Idempotent: rows are keyed, so loading twice changes nothing, and a newer package's reference
data replaces the old rows without touching imported ones (towns, user-defined chains). A packaged
chain a user has edited (``chains.origin = 'user'``) keeps the user's definition: the package's
rows of that chain and its segments are skipped.
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
    "enclaves": ("enclave_id",),
    "enclave_returns": ("enclave_id", "year"),
}


_USER_CHAINS = "SELECT chain_id FROM chains WHERE origin = 'user'"
# table -> the packaged rows that may replace stored ones (not those of chains a user edited)
_PACKAGE_ONLY: dict[str, str] = {
    "chains": f"chain_id NOT IN ({_USER_CHAINS})",
    "chain_segments": f"chain_id NOT IN ({_USER_CHAINS})",
    "segment_industries": f"segment_id NOT IN (SELECT segment_id FROM _reference_segments WHERE chain_id IN ({_USER_CHAINS}))",
    # an enclave imported under a packaged id (dataset_id set) is the user's and is kept; returns
    # carry no provenance, so a packaged return is only added, never written over a stored one
    "enclaves": "enclave_id NOT IN (SELECT enclave_id FROM enclaves WHERE dataset_id IS NOT NULL)",
    "enclave_returns": "NOT EXISTS (SELECT 1 FROM enclave_returns r WHERE r.enclave_id = _reference_rows.enclave_id "
                       "AND r.year = _reference_rows.year)",
}


def load_reference(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Insert or refresh the packaged reference tables; returns rows per table."""
    tables = reference.tables()
    counts: dict[str, int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("_reference_segments", tables["chain_segments"])
        for name in REFERENCE_TABLES:
            arrow = tables[name]
            con.register("_reference_rows", arrow)
            con.execute(f"INSERT OR REPLACE INTO {name} BY NAME SELECT * FROM _reference_rows "
                        f"WHERE {_PACKAGE_ONLY.get(name, 'true')}")
            con.unregister("_reference_rows")
            counts[name] = arrow.num_rows
        con.unregister("_reference_segments")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def reference_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM regions WHERE level = 'county'").fetchone()[0] > 0
