"""The ``encryption`` workload: what ``SHANHAI_DB_KEY`` (DuckDB 1.4 AES-GCM database encryption,
httpfs loaded from the ``duckdb-ext-httpfs`` package) costs against a plain file, on the same
synthetic firm-years through :func:`shanhai.store.open_store` — the path every command takes.

Phases, each timed separately, the plain and the encrypted file alternating, figures the median
of ``--repeat`` runs (each run on new files):

* ``write``: create the store (migrations), load N firm-years (tax in 万元 DECIMAL, energy DOUBLE)
  and CHECKPOINT;
* ``open``: open the file again (read-only) and count the rows;
* ``scan``: a county × year aggregate over all rows (the shape of the dashboards' queries);
* ``lookups``: 2,000 single-firm lookups (the shape of enterprise pages);
* ``backup``: ``shanhai.store.backup`` of the file (Parquet, encrypted too when keyed).

Run: ``python -m benchmarks.encryption [--rows N] [--repeat R]`` or ``python -m benchmarks --only
encryption``. No target: the result is recorded in docs/security.md to document the choice.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shanhai.store import backup, open_store
from shanhai.store.connection import ENV_KEY

PHASES = ("write", "open", "scan", "lookups", "backup")
KEY = "benchmark-key-0123456789abcdef"
LOOKUPS = 2_000


def _load(store, rows: int) -> None:
    store.con.execute(f"""
        CREATE TABLE bench_firm_years AS
        SELECT 'F' || lpad(CAST(i // 4 AS VARCHAR), 10, '0') AS uscc,
               '3301' || lpad(CAST((i // 4) % 90 AS VARCHAR), 2, '0') AS county_adcode,
               2021 + i % 4 AS year,
               CAST(((i * 7919) % 100000) / 10.0 AS DECIMAL(18, 4)) AS tax_wan,
               ((i * 104729) % 1000003) / 3.0 AS energy_tce
        FROM range({int(rows)}) t(i)""")
    store.con.execute("CHECKPOINT")


def one_run(folder: Path, rows: int, keyed: bool) -> dict:
    if keyed:
        os.environ[ENV_KEY] = KEY
    else:
        os.environ.pop(ENV_KEY, None)
    path = folder / ("enc.duckdb" if keyed else "plain.duckdb")
    out = {}
    t = time.perf_counter()
    with open_store(path) as store:
        _load(store, rows)
    out["write"] = time.perf_counter() - t
    t = time.perf_counter()
    store = open_store(path, read_only=True)
    store.con.execute("SELECT count(*) FROM bench_firm_years").fetchone()
    out["open"] = time.perf_counter() - t
    t = time.perf_counter()
    store.con.execute("SELECT county_adcode, year, sum(tax_wan), sum(energy_tce), count(*) FROM bench_firm_years "
                      "GROUP BY ALL ORDER BY ALL").fetchall()
    out["scan"] = time.perf_counter() - t
    firms = rows // 4
    t = time.perf_counter()
    for n in range(LOOKUPS):
        uscc = "F" + str((n * 7907) % max(firms, 1)).zfill(10)
        store.con.execute(f"SELECT year, tax_wan FROM bench_firm_years WHERE uscc = '{uscc}'").fetchall()
    out["lookups"] = time.perf_counter() - t
    store.close()
    t = time.perf_counter()
    with open_store(path, read_only=True) as store:
        backup(store, folder / ("b-enc" if keyed else "b-plain"))
    out["backup"] = time.perf_counter() - t
    out["size_mb"] = path.stat().st_size / 1e6
    return out


def measure(rows: int, repeat: int) -> dict[str, dict[str, float]]:
    runs: dict[str, list[dict]] = {"plain": [], "encrypted": []}
    saved = os.environ.get(ENV_KEY)
    try:
        for _ in range(repeat):
            for label in ("plain", "encrypted"):
                with tempfile.TemporaryDirectory(prefix="shanhai-bench-enc-") as tmp:
                    runs[label].append(one_run(Path(tmp), rows, label == "encrypted"))
    finally:
        if saved is None:
            os.environ.pop(ENV_KEY, None)
        else:
            os.environ[ENV_KEY] = saved
    return {label: {k: statistics.median(r[k] for r in rs) for k in (*PHASES, "size_mb")}
            for label, rs in runs.items()}


def markdown(result: dict, rows: int, repeat: int) -> str:
    lines = [f"Encryption at rest, {rows:,} firm-years, median of {repeat}:", "",
             "| phase | plain s | encrypted s | ratio |", "|---|---:|---:|---:|"]
    for phase in PHASES:
        p, e = result["plain"][phase], result["encrypted"][phase]
        lines.append(f"| {phase} | {p:.3f} | {e:.3f} | {e / p:.2f}× |")
    lines.append(f"| file size MB | {result['plain']['size_mb']:.1f} | {result['encrypted']['size_mb']:.1f} | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.encryption",
                                     description="Plain vs SHANHAI_DB_KEY-encrypted store on synthetic firm-years.")
    parser.add_argument("--rows", type=int, default=4_000_000, help="firm-years (default 4,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; figures are medians (default 3)")
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    args = parser.parse_args(argv)
    result = measure(args.rows, args.repeat)
    table = Table("phase", "plain s", "encrypted s", "ratio",
                  title=f"encryption — {args.rows:,} firm-years, median of {args.repeat}", title_justify="left")
    for phase in PHASES:
        p, e = result["plain"][phase], result["encrypted"][phase]
        table.add_row(phase, f"{p:.3f}", f"{e:.3f}", f"{e / p:.2f}×")
    table.add_row("file size MB", f"{result['plain']['size_mb']:.1f}", f"{result['encrypted']['size_mb']:.1f}", "")
    Console().print(table)
    if args.out:
        args.out.write_text(markdown(result, args.rows, args.repeat), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
