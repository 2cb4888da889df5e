"""``shanhai db export-parquet DIR`` (the store's input tables as a Parquet dataset partitioned by
year and county, the layout of ``--source parquet://DIR``), and the options shared by every
command that can run on Spark: ``--engine``, ``--spark-master``, ``--source``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, fmt, out
from shanhai.store import default_db_path, open_store

EngineOption = Annotated[str, typer.Option(
    "--engine", help="计算引擎 Engine: duckdb (default, embedded) or spark (PySpark: local mode, a cluster with "
                     "--spark-master, or Spark Connect when $SPARK_REMOTE is set).")]
SparkMasterOption = Annotated[str | None, typer.Option(
    "--spark-master", help="集群地址 Spark master URL for --engine spark (spark://host:7077, yarn, k8s://…; "
                           "default local[2]). $SPARK_REMOTE (sc://host:15002) selects Spark Connect instead.",
    show_default=False)]
SourceOption = Annotated[str | None, typer.Option(
    "--source", help="输入数据 Read the input tables from parquet://DIR (written by `shanhai db export-parquet`, "
                     "partitioned by year and county) instead of the database; results still go to the database.",
    show_default=False)]


def configure_engine(engine: str, spark_master: str | None) -> None:
    """Check ``--engine`` and hand ``--spark-master`` to the engine layer."""
    from shanhai.engine import ENGINES, configure
    from shanhai.errors import ShanhaiError

    if engine not in ENGINES:
        raise ShanhaiError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if spark_master and engine != "spark":
        raise ShanhaiError("--spark-master needs --engine spark")
    configure(spark_master=spark_master)


def export_parquet(
    folder: Annotated[Path, typer.Argument(help="目标目录 Folder to write (one sub-folder per table).",
                                           show_default=False)],
    table: Annotated[list[str] | None, typer.Option(
        "--table", help="只导出 Only this table (repeatable; default: every input table of the layout).",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="覆盖 Write into a folder that already has these tables "
                                                        "(their files are replaced).")] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """导出 Parquet Write the input tables as a Parquet dataset partitioned by year and county.

    Layout: DIR/<table>/year=YYYY/county=ADCODE/part-0.parquet for enterprise_years and
    electricity_monthly, DIR/<table>/county=ADCODE/… for enterprises and enterprise_flags, one
    file for regions, industries and zones. Read it back with --source parquet://DIR
    (`shanhai evaluate mujun`, `shanhai alerts scan`), on DuckDB or Spark. See docs/spark.md.
    """
    import shutil
    import time

    from shanhai.engine import _parquet

    started = time.perf_counter()
    with open_store(db or default_db_path(), read_only=True) as store:
        if force:
            for name in table or _parquet.TABLES:
                if (folder / name).exists():
                    shutil.rmtree(folder / name)
        counts = _parquet.export(store, folder, table, overwrite=force)
    audit_export(db, "parquet", folder, parts=[folder / name for name in counts], format="parquet",
                 kind="parquet", tables=counts, rows=sum(counts.values()))
    seconds = round(time.perf_counter() - started, 3)
    if json_output:
        emit_json({"folder": str(folder), "tables": counts, "seconds": seconds,
                   "source": f"{_parquet.PREFIX}{folder.resolve()}"})
        return
    t = Table(title=f"Parquet {folder}", title_justify="left")
    t.add_column("表 table")
    t.add_column("行 rows", justify="right")
    t.add_column("分区 partitions", justify="left")
    for name, n in counts.items():
        t.add_row(name, fmt(n), "/".join(f"{p}=…" for p in _parquet.TABLES[name][1]) or "—")
    out.print(t)
    err.print(f"用法 Use it with --source {_parquet.PREFIX}{folder.resolve()} ({seconds:.1f} s)")
