"""``shanhai synth``: build the calibrated synthetic province."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, fmt, lazy_progress, out
from shanhai.errors import ShanhaiError
from shanhai.store import default_db_path


def parse_years(text: str) -> tuple[int, ...]:
    match = re.fullmatch(r"\s*(\d{4})\s*(?:[-–~至]\s*(\d{4}))?\s*", text)
    if not match:
        raise ShanhaiError(f"--years {text!r}: expected a year or a range like 2021-2024")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first:
        raise ShanhaiError(f"--years {text!r}: the range ends before it starts")
    return tuple(range(first, last + 1))


def calibration_table(result) -> Table:
    """The calibration rows of a ``shanhai.synth.BuildResult`` as a Rich table."""
    table = Table(title=f"校准 Calibration — {result.config.base_year} 年, scale {result.config.scale:g}",
                  title_justify="left")
    for column, justify in (("指标 Quantity", "left"), ("单位 Unit", "left"), ("目标 Target", "right"),
                            ("生成 Generated", "right"), ("差异 Difference", "right"), ("", "center")):
        table.add_column(column, justify=justify)
    for row in result.calibration:
        if row.low == row.target * 0.9 and row.high == row.target * 1.1:
            target = fmt(row.target, 2)
        elif row.high == float("inf"):
            target = f"> {fmt(row.low, 2)}"
        else:
            target = f"{fmt(row.low, 2)} – {fmt(row.high, 2)}"
        difference = "—" if row.difference is None else f"{row.difference * 100:+.1f}%"
        table.add_row(f"{row.label}\n[dim]{row.label_en}[/dim]", row.unit, target, fmt(row.actual, 2),
                      difference, "[green]✓[/green]" if row.ok else "[red]✗[/red]")
    return table


def synth(
    scale: Annotated[float, typer.Option(help="规模 Scale: 1.0 ≈ 58,000 above-scale + 108,000 below-scale firms.")] = 1.0,
    seed: Annotated[int, typer.Option(help="随机种子 Random seed: the same seed gives the same database.")] = 7,
    years: Annotated[str, typer.Option(help="年份 Years, a range within 2020-2025.")] = "2021-2024",
    db: DbOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="先删除已有的合成数据 Delete earlier synthetic rows first (imported rows are kept).")] = False,
    as_files: Annotated[Path | None, typer.Option("--as-files", show_default=False,
        help="另写出导入文件 Also write the province as the files a county hands over (one per import kind, with README.txt) into this folder.")] = None,
    json_output: JsonOption = False,
) -> None:
    """生成合成浙江省 Build the synthetic province, calibrated to public statistics.

    Enterprises with valid USCCs spread over the 90 counties by census weights, yearly
    indicators, monthly electricity with injected anomalies (ground truth kept), zones, land
    parcels, investment projects and chain membership. Prints the calibration table.
    """
    from shanhai.synth import SynthConfig, build  # numpy and the generator load only for this command

    path = db or default_db_path()
    config = SynthConfig(scale=scale, seed=seed, years=parse_years(years))
    console = err if json_output else out
    if as_files is not None and as_files.exists() and not as_files.is_dir():
        raise ShanhaiError(f"--as-files {as_files} exists and is not a folder")
    started = time.perf_counter()
    with lazy_progress(err) as progress:
        result = build(path, config, replace=replace, progress=progress)
    files = {}
    if as_files is not None:
        from shanhai.store import open_store
        from shanhai.synth.files import README_NAME, write_files

        with open_store(path, read_only=True) as store, lazy_progress(err) as progress:
            files = write_files(store, as_files, progress=progress)
        # the files carry every row of the store's tables (imported ones too), so they are an export
        audit_export(path, "import_files", as_files, parts=[*files.values(), as_files / README_NAME],
                     format="folder", kind="synth_files", dataset=config.dataset_id, years=years,
                     files={kind: file.name for kind, file in files.items()})
    elapsed = time.perf_counter() - started
    if json_output:
        emit_json({"db": str(path), "dataset_id": config.dataset_id, **config.as_dict(),
                   "files": {kind: str(file) for kind, file in files.items()},
                   "base_year": config.base_year, "seconds": round(elapsed, 2), "rows": result.rows,
                   "calibration": [row.as_dict() for row in result.calibration]})
        return
    console.print(f"已生成 Built [bold]{config.dataset_id}[/bold] in {path} ({elapsed:.1f} s): "
                  f"{fmt(result.rows['enterprises'])} 企业 enterprises, "
                  f"{fmt(result.rows['enterprise_years'])} 企业年 firm-years, "
                  f"{fmt(result.rows['electricity_monthly'])} 月度用电 monthly readings.")
    console.print(calibration_table(result))
    if files:
        console.print(f"已写出导入文件 Wrote {len(files)} import files to {as_files} (see README.txt)")
    failed = [row.key for row in result.calibration if not row.ok]
    if failed:
        console.print(f"[yellow]注意 note:[/yellow] outside ±10 % of the target: {', '.join(failed)} "
                      "(expected only at small scales, where a few dozen mountain firms carry the figures)")
