"""The rejects workbook: every rejected cell with its row, column, value and reason, in Chinese."""

from __future__ import annotations

from pathlib import Path

from shanhai.errors import ShanhaiError
from shanhai.ingest.importer import ImportResult


def write_rejects(result: ImportResult, path: Path) -> Path:
    from shanhai.reports._safe import workbook as safe_workbook  # xlsxwriter: only when there is a workbook

    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ShanhaiError(f"cannot write the rejects workbook {path}: folder {path.parent} does not exist")
    workbook = safe_workbook(str(path), {"constant_memory": True})
    bold = workbook.add_format({"bold": True, "bg_color": "#F2DCDB"})
    sheet = workbook.add_worksheet("被拒绝的单元格")
    sheet.write_row(0, 0, ["源文件行号 row", "列 column", "值 value", "原因 reason"], bold)
    for i, problem in enumerate(result.rejects, start=1):
        sheet.write_row(i, 0, [problem.row, problem.column, "" if problem.value is None else str(problem.value),
                               problem.message])
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 2, 24)
    sheet.set_column(3, 3, 70)
    info = workbook.add_worksheet("说明")
    lines = [
        ("文件 file", result.file), ("类型 kind", result.kind), ("工作表 sheet", result.sheet or ""),
        ("数据集 dataset", result.dataset_id), ("数据行 rows", result.rows_in),
        ("拒绝行 rejected rows", result.rejected), ("拒绝单元格 rejected cells", len(result.rejects)),
        ("说明 note", "改正源文件中这些行后重新导入即可; 已导入的行不会重复。 Fix these rows in the source file and "
                     "import it again: rows already loaded are not duplicated."),
    ]
    for i, (key, value) in enumerate(lines):
        info.write(i, 0, key, bold)
        info.write(i, 1, value)
    info.set_column(0, 0, 24)
    info.set_column(1, 1, 90)
    workbook.close()
    return path
