"""Parquet datasets as the input of the heavy analyses (``--source parquet://DIR``).

Layout (written by ``shanhai db export-parquet DIR``, or by any tool that follows it), one
folder per table under DIR, hive-style partitions, every file holding every column of the
store's table (the partition folders repeat ``year``/``county`` for file listing and pruning by
other tools; the readers here take the values from inside the files, so a file moved to the
wrong folder cannot change a figure)::

    DIR/enterprise_years/year=2023/county=330102/part-0.parquet     (year; county of the firm)
    DIR/electricity_monthly/year=2023/county=330102/part-0.parquet  (year of the month; county of the firm)
    DIR/enterprise_flags/county=330102/part-0.parquet               (county of the firm)
    DIR/enterprises/county=330102/part-0.parquet                    (county_adcode)
    DIR/regions/part-0.parquet                                      (small tables: one file)
    DIR/industries/part-0.parquet
    DIR/zones/part-0.parquet

A firm with no row in ``enterprises`` goes to ``county=NULL``. Column names and types are the
store's (``docs/data-model.md``): DECIMAL(p, s) money and areas, DATE months, DOUBLE energy.

Reading: :func:`attach` puts a temporary view over each table folder present in DIR in front of
the store's table of the same name (DuckDB looks in ``temp`` before ``main``), so every reader of
the store — the DuckDB engine, input fingerprints, month checks — reads the Parquet dataset; the
Spark engine reads the same folders itself (:mod:`shanhai.engine._spark`), distributed. Tables
absent from DIR are read from the store. Results are still written to the store.
"""

from __future__ import annotations

import contextlib
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from shanhai.errors import ShanhaiError
from shanhai.store.sql import literal

if TYPE_CHECKING:
    from shanhai.store import Store

PREFIX = "parquet://"

# table → (SELECT of its rows with the partition columns, partition columns)
_FIRM_COUNTY = "(SELECT county_adcode FROM enterprises e WHERE e.uscc = t.uscc)"
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "enterprise_years": (f"SELECT t.*, {_FIRM_COUNTY} AS county FROM enterprise_years t", ("year", "county")),
    "electricity_monthly": (f"SELECT t.*, year(t.month) AS year, {_FIRM_COUNTY} AS county FROM electricity_monthly t",
                            ("year", "county")),
    "enterprise_flags": (f"SELECT t.*, {_FIRM_COUNTY} AS county FROM enterprise_flags t", ("county",)),
    "enterprises": ("SELECT t.*, t.county_adcode AS county FROM enterprises t", ("county",)),
    "regions": ("SELECT * FROM regions", ()),
    "industries": ("SELECT * FROM industries", ()),
    "zones": ("SELECT * FROM zones", ()),
}

# store → {table: folder} of the Parquet source attached to it
_attached: "weakref.WeakKeyDictionary[Store, dict[str, Path]]" = weakref.WeakKeyDictionary()


def parse(source: str | None) -> Path | None:
    """The folder of a ``parquet://DIR`` source; None for the store (``None``, '', 'store')."""
    if source in (None, "", "store"):
        return None
    if not source.startswith(PREFIX):
        raise ShanhaiError(f"source {source!r} is not understood: give parquet://DIR (a folder written by "
                           "`shanhai db export-parquet DIR`) or store")
    folder = Path(source[len(PREFIX):]).expanduser()
    if not folder.is_dir():
        raise ShanhaiError(f"source {source}: {folder} is not a folder")
    return folder


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _columns(store: Store, table: str) -> list[tuple[str, str]]:
    return store.con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
        f"AND table_name = {literal(table)} ORDER BY ordinal_position").fetchall()


def export(store: Store, folder: Path, tables: list[str] | None = None, *, overwrite: bool = False) -> dict[str, int]:
    """Write the store's input tables to ``folder`` in the layout above; rows per table."""
    names = list(tables or TABLES)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise ShanhaiError(f"cannot export {', '.join(unknown)}: the Parquet layout has {', '.join(TABLES)}")
    folder = Path(folder)
    taken = [n for n in names if (folder / n).exists()]
    if taken and not overwrite:
        raise ShanhaiError(f"{folder} already has {', '.join(taken)}: choose an empty folder or pass --force")
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in names:
        select, parts = TABLES[name]
        cols = _columns(store, name)
        # JSON has no Parquet logical type every reader knows: it goes over as text
        keep = ", ".join(f'"{c}"::VARCHAR AS "{c}"' if t == "JSON" else f'"{c}"' for c, t in cols)
        extra = "".join(f', "{p}"' for p in parts if p not in {c for c, _ in cols})
        target = folder / name
        if parts:
            # the partition columns stay inside the files too: readers take every value from there
            opts = f"FORMAT parquet, PARTITION_BY ({', '.join(parts)}), WRITE_PARTITION_COLUMNS true, " \
                   "FILENAME_PATTERN 'part-{i}', OVERWRITE_OR_IGNORE true"
            store.con.execute(f"COPY (SELECT {keep}{extra} FROM ({select}) t) TO {_quote(target)} ({opts})")
            counts[name] = store.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        else:
            target.mkdir(parents=True, exist_ok=True)
            store.con.execute(f"COPY (SELECT {keep} FROM ({select}) t) TO {_quote(target / 'part-0.parquet')} "
                              "(FORMAT parquet)")
            counts[name] = store.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    return counts


def files(folder: Path, table: str) -> str:
    """The glob of a table's files under a source folder."""
    return str(Path(folder) / table / "**" / "*.parquet")


def tables_in(folder: Path) -> dict[str, Path]:
    """The tables of the layout present (with at least one file) under ``folder``."""
    return {n: Path(folder) / n for n in TABLES if any((Path(folder) / n).rglob("*.parquet"))}


@contextlib.contextmanager
def attach(store: Store, source: str | None):
    """Read the input tables from ``source`` (``parquet://DIR``) while the block runs: a temporary
    view per table present, with the store's column names and types, dropped afterwards."""
    folder = parse(source)
    if folder is None:
        yield None
        return
    present = tables_in(folder)
    if not present:
        raise ShanhaiError(f"source {source}: no table of the layout under {folder} (expected folders like "
                           f"{folder / 'electricity_monthly'}; write them with `shanhai db export-parquet`)")
    made = []
    try:
        for name, path in present.items():
            cols = _columns(store, name)
            select = ", ".join(f'CAST("{c}" AS {"VARCHAR" if t == "JSON" else t}) AS "{c}"' for c, t in cols)
            try:
                store.con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT {select} FROM '
                                  f"read_parquet({_quote(files(folder, name))}, hive_partitioning = false, "
                                  "union_by_name = true)")
                store.con.execute(f'SELECT * FROM "{name}" LIMIT 0').fetchall()
            except Exception as exc:   # a file missing a column, or of another type
                raise ShanhaiError(f"source {source}: table {name} ({path}) does not match the store's columns: "
                                   f"{str(exc).splitlines()[0]}") from None
            made.append(name)
        _attached[store] = present
        yield present
    finally:
        _attached.pop(store, None)
        for name in made:
            with contextlib.suppress(Exception):
                store.con.execute(f'DROP VIEW IF EXISTS temp.main."{name}"')


def attached(store: Store) -> dict[str, Path]:
    """The Parquet tables attached to ``store`` by :func:`attach` (empty when none)."""
    return _attached.get(store, {})


__all__ = ["PREFIX", "TABLES", "attach", "attached", "export", "parse", "tables_in"]
