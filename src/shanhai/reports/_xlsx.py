"""What every in-memory workbook of the reports shares: how it is opened (text is never turned
into numbers, formulas or links; NaN and infinity become Excel errors, not a crash) and the
说明 sheet of key–value notes (the basis, the rules, the scope) that closes each export."""

from __future__ import annotations

import io


def workbook(title: str, comments: str = ""):
    """A new in-memory xlsxwriter workbook and the buffer it is written to on ``close()``."""
    from shanhai.reports._safe import workbook as safe_workbook

    buffer = io.BytesIO()
    wb = safe_workbook(buffer, {"in_memory": True})
    wb.set_properties({"title": title, "comments": comments, "author": "山海 Shanhai"})
    return wb, buffer


def notes_sheet(wb, f, items) -> None:
    """The 说明 sheet: one row per (项目, 内容) pair, in the formats ``f`` of ``mujun_excel._Formats``."""
    from shanhai.reports.mujun_excel import _print_setup

    ws = wb.add_worksheet("说明")
    ws.write_string(0, 0, "项目", f.header)
    ws.write_string(0, 1, "内容", f.header)
    for n, (k, v) in enumerate(items, 1):
        ws.write_string(n, 0, k, f.key)
        ws.write_string(n, 1, "" if v is None else str(v), f.value)
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 100)
    _print_setup(ws, 0)
