"""Blank import templates: one workbook per import kind, written from the kind's spec.

``write_template(kind, path)`` writes an ``.xlsx`` with two sheets:

* ``数据`` (data): one header row with the column labels exactly as the importer expects them
  (required columns in red bold with an Excel comment, informational ones in grey), a frozen
  header, text/date formats per column, and data validation for rows 2..100000 where Excel
  offers it (dropdowns for choices, number bounds, dates, 18-character USCCs) with an input
  message per column. No data rows: examples live on the notes sheet.
* ``说明`` (notes): the kind's label, English label and note, then one row per column: label,
  identifier, type, required, units, the headers the importer recognises, choices, note, example.

The header text is never decorated (no ``*``): the importer matches it literally.
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from datetime import date
from pathlib import Path

import xlsxwriter

from shanhai.ingest import units as _units
from shanhai.ingest.spec import Column, Kind
from shanhai.reports._safe import workbook as safe_workbook

DATA_SHEET = "数据"
NOTES_SHEET = "说明"
LISTS_SHEET = "选项"          # hidden; only used when a choice list is too long to inline
LAST_ROW = 100_000            # validations cover rows 2..LAST_ROW (1-based)
NOTES_TABLE_ROW = 5           # 0-based row of the notes table's header (rows 0-3: title block)
NOTES_HEADERS = ("列名", "字段", "类型", "必填", "单位及可用单位", "可识别的表头", "取值", "说明", "示例")
INFORMATIONAL = "(仅核对)"
REQUIRED_COMMENT = "必填 required"
INFORMATIONAL_COMMENT = "仅核对, 不入库 for checking only, not stored"

TYPE_LABELS = {
    "uscc": "统一社会信用代码(18位) USCC",
    "text": "文本 text",
    "region": "行政区划: 名称或6位代码 region name or adcode",
    "region_or_name": "地区名称或区划代码 region or area name",
    "industry": "行业代码(GB/T 4754-2017) industry code",
    "zone": "开发区代码 zone id",
    "chain": "产业链代码 chain id",
    "segment": "产业链环节: 代码或名称 chain segment id or name",
    "date": "日期 YYYY-MM-DD date",
    "month": "月份 YYYY-MM month",
    "year": "年份(4位) year",
    "period": "期间(2023、2023-06、2023Q2) period",
    "decimal": "数值 number",
    "integer": "整数 whole number",
    "bool": "是/否 yes/no",
    "enum": "选项 choice",
}
LEVEL_LABELS = {"county": "县(市、区)", "city": "设区市", "province": "省", "any": "省、市、县"}
TYPE_EXAMPLES = {"date": "2024-01-31", "month": "2023-06", "year": "2023", "period": "2023", "bool": "是"}
MIN_WIDTHS = {"uscc": 22, "date": 12, "month": 10, "year": 8, "decimal": 14, "integer": 10, "text": 16,
              "region": 12, "region_or_name": 14, "industry": 10, "zone": 12, "chain": 14, "segment": 26,
              "enum": 10, "bool": 8, "period": 10}
TEXT_TYPES = ("uscc", "text", "region", "region_or_name", "industry", "zone", "chain", "segment", "month", "period")


def canonical_labels(column: Column) -> dict[str, str]:
    """identifier -> the label to write: the first label listed for each identifier."""
    labels: dict[str, str] = {}
    for label, ident in column.values.items():
        labels.setdefault(ident, label)
    return labels


def display_width(text: str) -> int:
    """Columns a string takes in a spreadsheet: CJK characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unit_text(column: Column) -> str:
    if not column.unit:
        return ""
    canonical = _units.CANONICAL.get(column.unit) or next(iter(_units.FAMILIES[column.unit]))
    others = [u for u in _units.units_of(column.unit) if u != canonical]
    return f"{canonical} (可用 also: {'、'.join(others)})" if others else canonical


def default_text(column: Column) -> str:
    """The value an empty cell gets, as a user would write it."""
    if column.default is None:
        return ""
    if column.type == "enum":
        return canonical_labels(column).get(column.default, column.default)
    if column.type == "bool":
        return "是" if str(column.default).lower() in ("true", "1", "是", "yes") else "否"
    return str(column.default)


def note_text(column: Column) -> str:
    """The column's note for the notes sheet and input messages (informational columns marked)."""
    parts = []
    if not column.store:
        parts.append(INFORMATIONAL)
    if column.type in ("region", "region_or_name") and column.level in LEVEL_LABELS:
        parts.append(f"{LEVEL_LABELS[column.level]}名称或代码")
    if column.mountain:
        parts.append("须为山区26县之一")
    if column.registered:
        parts.append("企业须已在企业名录中")
    if column.note:
        parts.append(column.note)
    default = default_text(column)
    if default:
        parts.append(f"空则为 {default}")
    return "; ".join(parts)


def example_text(column: Column) -> str:
    if column.example:
        return column.example
    if column.type == "enum" and column.values:
        return next(iter(canonical_labels(column).values()))
    return TYPE_EXAMPLES.get(column.type, "")


def recognised_headers(column: Column) -> str:
    return "、".join(dict.fromkeys((column.label, *column.headers)))


def _bounds_text(column: Column) -> str:
    if column.min is not None and column.max is not None:
        return f"{column.min:g} – {column.max:g}"
    if column.min is not None:
        return f"≥ {column.min:g}"
    if column.max is not None:
        return f"≤ {column.max:g}"
    return ""


def _input_message(column: Column) -> str:
    parts = [TYPE_LABELS[column.type]]
    if column.required:
        parts.append("必填 required")
    if column.unit:
        canonical = _units.CANONICAL.get(column.unit) or ""
        others = "、".join(u for u in _units.units_of(column.unit) if u != canonical)
        parts.append(f"单位 unit: {canonical}" + (f" (表头括号内可改写为 {others})" if others else ""))
    bounds = _bounds_text(column)
    if bounds:
        parts.append(f"取值 {bounds}")
    if column.type == "enum":
        parts.append("可选 " + "、".join(canonical_labels(column).values()))
    note = note_text(column)
    if note:
        parts.append(note)
    return _truncate("; ".join(parts), 255)


def _validation(column: Column, list_ref: str | None) -> dict:
    """The xlsxwriter data-validation options for one column (always with an input message)."""
    options: dict = {"validate": "any"}
    if column.type == "enum" and column.values:
        labels = list(canonical_labels(column).values())
        synonyms = [label for label in column.values if label not in labels]
        options = {"validate": "list", "source": list_ref or labels,
                   "error_type": "warning" if synonyms else "stop",
                   "error_title": "不在选项中 not a choice",
                   "error_message": _truncate("可填 accepted: " + "、".join(column.values), 255)}
    elif column.type == "bool":
        options = {"validate": "list", "source": ["是", "否"], "error_title": "是/否 yes/no",
                   "error_message": "请填 是 或 否 (enter 是 or 否)"}
    elif column.type in ("decimal", "integer", "year"):
        kind = "decimal" if column.type == "decimal" else "integer"
        low, high = column.min, column.max
        if column.type == "year":
            low = 1949 if low is None else low
            high = 2100 if high is None else high
        if low is not None and high is not None:
            options = {"validate": kind, "criteria": "between", "minimum": low, "maximum": high}
        elif low is not None:
            options = {"validate": kind, "criteria": ">=", "value": low}
        elif high is not None:
            options = {"validate": kind, "criteria": "<=", "value": high}
        else:
            options = {"validate": kind, "criteria": "between", "minimum": -1e15, "maximum": 1e15}
        what = {"decimal": "数值 a number", "integer": "整数 a whole number", "year": "四位年份 a year"}[column.type]
        bounds = _bounds_text(column) if column.type != "year" else f"{low:g} – {high:g}"
        options["error_title"] = "数值无效 invalid number"
        options["error_message"] = _truncate(f"请填{what}" + (f", {bounds}" if bounds else ""), 255)
    elif column.type == "date":
        options = {"validate": "date", "criteria": "between", "minimum": date(1900, 1, 1),
                   "maximum": date(2100, 12, 31), "error_title": "日期无效 invalid date",
                   "error_message": "请填日期 YYYY-MM-DD (enter a date, e.g. 2024-01-31)"}
    elif column.type == "uscc":
        options = {"validate": "length", "criteria": "==", "value": 18, "error_title": "信用代码 USCC",
                   "error_message": "统一社会信用代码为18位 (a USCC has 18 characters)"}
    options["input_title"] = _truncate(column.label, 32)
    options["input_message"] = _input_message(column)
    return options


def write_template(kind: Kind, path: str | Path) -> Path:
    """Write the blank import template for ``kind`` to ``path`` (replacing it); returns the path.

    The workbook is written to a temporary file in the same folder and moved into place, so an
    interrupted run leaves no half-written template.
    """
    path = Path(path)
    # a hidden name beside the target, created by xlsxwriter (so with the usual permissions)
    tmp_name = path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.xlsx")
    try:
        _write(kind, Path(tmp_name))
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def _write(kind: Kind, path: Path) -> None:
    workbook = safe_workbook(str(path))
    workbook.set_properties({"title": f"{kind.label} {kind.label_en} 导入模板 import template",
                             "subject": f"shanhai import {kind.kind}", "comments": kind.note})
    base = {"font_name": "等线", "font_size": 11}
    header = workbook.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1,
                                  "valign": "vcenter", "text_wrap": True})
    required = workbook.add_format({**base, "bold": True, "font_color": "#C00000", "bg_color": "#FCE4D6",
                                    "border": 1, "valign": "vcenter", "text_wrap": True})
    informational = workbook.add_format({**base, "italic": True, "font_color": "#595959", "bg_color": "#EDEDED",
                                         "border": 1, "valign": "vcenter", "text_wrap": True})
    text = workbook.add_format({**base, "num_format": "@"})
    date_format = workbook.add_format({**base, "num_format": "yyyy-mm-dd"})
    plain = workbook.add_format(base)

    data = workbook.add_worksheet(DATA_SHEET)
    notes = workbook.add_worksheet(NOTES_SHEET)
    lists = None
    data.freeze_panes(1, 0)
    data.set_row(0, 30)
    for col, column in enumerate(kind.columns):
        if not column.store:
            cell_format, comment = informational, INFORMATIONAL_COMMENT
        elif column.required:
            cell_format, comment = required, REQUIRED_COMMENT
        else:
            cell_format, comment = header, None
        data.write_string(0, col, column.label, cell_format)
        if comment:
            data.write_comment(0, col, comment, {"author": "shanhai", "x_scale": 1.4})
        body = text if column.type in TEXT_TYPES else date_format if column.type == "date" else plain
        width = min(40, max(MIN_WIDTHS.get(column.type, 10), display_width(column.label) + 4))
        data.set_column(col, col, width, body)
        list_ref = None
        if column.type == "enum" and len(",".join(canonical_labels(column).values())) > 250:
            if lists is None:
                lists = workbook.add_worksheet(LISTS_SHEET)
                lists.hide()
            labels = list(canonical_labels(column).values())
            lists.write_string(0, col, column.id)
            for i, label in enumerate(labels, start=1):
                lists.write_string(i, col, label)
            letter = xlsxwriter.utility.xl_col_to_name(col)
            list_ref = f"='{LISTS_SHEET}'!${letter}$2:${letter}${len(labels) + 1}"
        data.data_validation(1, col, LAST_ROW - 1, col, _validation(column, list_ref))

    title = workbook.add_format({**base, "bold": True, "font_size": 14})
    wrap = workbook.add_format({**base, "text_wrap": True, "valign": "top"})
    table_header = workbook.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1})
    notes.write_string(0, 0, f"{kind.label} 导入模板", title)
    notes.write_string(1, 0, f"{kind.label_en} import template — shanhai import {kind.kind} FILE")
    notes.write_string(2, 0, kind.note)
    key_labels = "、".join(kind.column(k).label for k in kind.key)
    notes.write_string(3, 0, f"主键 key: {key_labels}。红色表头为必填, 灰色为仅核对(不入库)。"
                             "Red headers are required, grey ones are read for checking only.")
    for col, name in enumerate(NOTES_HEADERS):
        notes.write_string(NOTES_TABLE_ROW, col, name, table_header)
    for i, column in enumerate(kind.columns, start=NOTES_TABLE_ROW + 1):
        type_text = TYPE_LABELS[column.type]
        bounds = _bounds_text(column)
        if bounds and column.type in ("decimal", "integer"):
            type_text += f", {bounds}"
        cells = (column.label, column.id, type_text, "是" if column.required else "否", unit_text(column),
                 recognised_headers(column), "、".join(column.values), note_text(column), example_text(column))
        for col, value in enumerate(cells):
            if value:
                notes.write_string(i, col, value, wrap)
    for col, width in enumerate((22, 20, 24, 6, 30, 40, 30, 40, 22)):
        notes.set_column(col, col, width)
    notes.freeze_panes(NOTES_TABLE_ROW + 1, 1)
    data.activate()
    workbook.close()
