"""``shanhai template``: the blank workbook a county fills in for ``shanhai import``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shanhai.cli._common import out as console
from shanhai.errors import ShanhaiError
from shanhai.ingest import spec

KIND_HELP = ("导入类型 Import kind: " + ", ".join(f"{name} ({k.label})" for name, k in spec.kinds().items()) + ".")


def template(
    kind: Annotated[str, typer.Argument(help=KIND_HELP, show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", help="输出文件 Output .xlsx file, or a folder (default ./<kind>-template.xlsx).",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="覆盖已有文件 Overwrite an existing file.")] = False,
) -> None:
    """导入模板 Write the blank Excel template for one import kind.

    Sheet 数据 has the headers `shanhai import` expects (required ones in red), dropdowns and
    checks for the cells; sheet 说明 explains every column: units, accepted headers, choices,
    examples.
    """
    from shanhai.ingest.template import write_template  # xlsxwriter loads only for this command

    chosen = spec.kind(kind)
    path = out if out is not None else Path(f"{chosen.kind}-template.xlsx")
    if path.is_dir():
        path = path / f"{chosen.kind}-template.xlsx"
    if path.suffix.lower() != ".xlsx":
        raise ShanhaiError(f"--out {path}: a template is an Excel workbook, so the name must end in .xlsx")
    parent = path.parent
    if not parent.is_dir():
        raise ShanhaiError(f"--out {path}: folder {parent} does not exist")
    if path.exists() and not force:
        raise ShanhaiError(f"{path} already exists: choose another --out, or pass --force to overwrite it")
    try:
        write_template(chosen, path)
    except OSError as exc:
        raise ShanhaiError(f"cannot write {path}: {exc.strerror or exc}") from exc
    console.print(f"已写出模板 Wrote the {chosen.kind} template ({chosen.label}) to {escape(str(path))}: "
                  f"{len(chosen.columns)} 列 columns, {sum(c.required for c in chosen.columns)} 必填 required.")
