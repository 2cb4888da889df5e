"""The synthetic province as the files a county hands over: one file per import kind.

``write_files(store, dest)`` reads the tables of an open store (a ``synth`` build, or anything
else) and writes, for every import kind, the file ``shanhai import KIND FILE`` reads back into
the same table contents:

* headers are the kinds' column labels (``实缴税金(万元)``), informational columns left out;
* codes become what people write: enum identifiers their canonical Chinese label (``在营``),
  booleans ``是``/``否``, dates ``YYYY-MM-DD``, months ``YYYY-MM``, NULL an empty cell; the
  county of towns, enterprises, projects and pairings its name (``柯桥区``, to exercise name
  resolution), of zones and land parcels its 6-digit code;
* numbers are exact: DECIMAL columns their decimal text (``1234.5678``, trailing zeros
  dropped; text cells in a workbook, since Excel stores numbers as binary doubles), DOUBLE
  columns the shortest text that reads back to the same double (DuckDB's double-to-text, which
  is Python's ``repr``), integers as numbers;
* small kinds become ``.xlsx`` (xlsxwriter, constant memory), the big ones CSV written by
  DuckDB's ``COPY``: ``enterprise-years.csv`` in UTF-8 with a BOM, ``electricity.csv`` in
  GB18030 (transcoded in streaming chunks), as a county's systems export them;
* ``README.txt`` lists the files, encodings and the import order.
"""

from __future__ import annotations

import codecs
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import xlsxwriter

from shanhai.errors import ShanhaiError
from shanhai.ingest import spec
from shanhai.ingest.spec import Column, Kind
from shanhai.ingest.template import DATA_SHEET, TEXT_TYPES, canonical_labels, display_width

Progress = Callable[[str, float], None]

IMPORT_ORDER = ("zones", "towns", "enterprises", "enterprise-years", "electricity", "land", "projects",
                "project-events", "project-plans", "project-shares", "leads", "lead-transfers", "pairings",
                "enterprise-flags", "enterprise-segments", "zone-facts", "cultivation-facts", "service-facts",
                "listing-milestones")
CSV_ENCODINGS = {"enterprise-years": "utf-8-sig", "electricity": "gb18030"}
ENCODING_LABELS = {"utf-8-sig": "UTF-8 (带 BOM with BOM)", "gb18030": "GB18030", "xlsx": "Excel .xlsx"}
XLSX_MAX_ROWS = 1_000_000            # a sheet holds 1,048,576 rows: more than this goes to CSV
README_NAME = "README.txt"
# (kind, column) whose county is written as its name; other region columns keep the adcode
NAMED_REGIONS = {("enterprises", "county_adcode"), ("projects", "first_contact_adcode"),
                 ("projects", "landing_adcode"), ("pairings", "mountain_adcode"), ("towns", "parent_adcode")}
ORDER_BY = {"pairings": ("pairing_id",)}
# kinds with no row order of their own (electricity: 7.8 M rows) keep the table's order
UNSORTED = {"electricity"}
CHUNK = 1 << 24

_WEIGHTS = {"electricity": 0.55, "enterprise-years": 0.15, "enterprises": 0.15, "land": 0.12}


def write_files(store, dest: str | Path, progress: Progress | None = None) -> dict[str, Path]:
    """Write one import file per kind into ``dest`` (created if absent) and a README.

    Returns kind -> the file written, in import order. Existing files of the same names are
    replaced; every file is written under a temporary name first and then moved into place.
    """
    progress = progress or (lambda label, fraction: None)
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ShanhaiError(f"{dest} exists and is not a folder")
    dest.mkdir(parents=True, exist_ok=True)
    con = store.con
    kinds = spec.kinds()
    total = sum(_WEIGHTS.get(k, 0.01) for k in IMPORT_ORDER)
    done = 0.0
    written: dict[str, Path] = {}
    rows: dict[str, int] = {}
    plan = []  # every query is built (and every enum value checked) before any file is written
    for name in IMPORT_ORDER:
        kind = kinds[name]
        count = con.execute(f"SELECT count(*) FROM {source_table(kind)}").fetchone()[0]
        as_csv = name in CSV_ENCODINGS or count > XLSX_MAX_ROWS
        plan.append((name, kind, count, as_csv, export_sql(con, kind, numbers_as_text=as_csv)))
    for name, kind, count, as_csv, sql in plan:
        progress(f"写出 {name}", done / total)
        if as_csv:
            path = dest / f"{name}.csv"
            _write_csv(con, sql, path, CSV_ENCODINGS.get(name, "utf-8-sig"))
        else:
            path = dest / f"{name}.xlsx"
            _write_xlsx(con, sql, kind, path)
        written[name], rows[name] = path, count
        done += _WEIGHTS.get(name, 0.01)
    _write_readme(dest / README_NAME, written, rows)
    progress("完成 done", 1.0)
    return written


# --------------------------------------------------------------------------- SQL

def table_types(con, table: str) -> dict[str, str]:
    # a literal, not a parameter: DuckDB imports pandas to inspect parameters (a second on a cold start)
    return {name: type_.upper() for name, type_ in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = 'main' AND table_name = {_quote(table)} ORDER BY ordinal_position").fetchall()}


def source_table(kind: Kind) -> str:
    """The kind's rows of its table, as a FROM item (towns: the rows of ``regions`` at level town)."""
    if kind.scope:
        return f'(SELECT * FROM "{kind.table}" WHERE {kind.scope})'
    return f'"{kind.table}"'


def export_columns(kind: Kind) -> list[Column]:
    """The columns written: every stored column of the kind, in spec order."""
    return [c for c in kind.columns if c.store]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _check_enum(con, kind: Kind, column: Column) -> None:
    known = set(column.values.values())
    values = [v for (v,) in con.execute(
        f'SELECT DISTINCT "{column.id}" FROM {source_table(kind)} WHERE "{column.id}" IS NOT NULL').fetchall()]
    unknown = sorted(str(v) for v in values if str(v) not in known)     # integer codes (levels) are labelled as text
    if unknown:
        raise ShanhaiError(
            f"{kind.table}.{column.id} holds {', '.join(map(repr, unknown))}, which no label of the "
            f"{kind.kind} kind maps to: add a label to kinds/{kind.kind}.toml")


def export_sql(con, kind: Kind, *, numbers_as_text: bool = True) -> str:
    """A SELECT giving the kind's columns as the cells a user writes, headed by the labels.

    Every column is text (NULL for an empty cell) except integers and years when
    ``numbers_as_text`` is false (workbooks write them as numbers).
    """
    types = table_types(con, kind.table)
    if not types:
        raise ShanhaiError(f"the database has no table {kind.table} (for the {kind.kind} kind)")
    selects, joins = [], []
    for column in export_columns(kind):
        if column.id not in types:
            raise ShanhaiError(f"{kind.kind}: column {column.id!r} is not in table {kind.table}")
        sql_type = types[column.id]
        ref = f't."{column.id}"'
        if column.type == "enum":
            _check_enum(con, kind, column)
            cases = " ".join(f"WHEN {_quote(ident)} THEN {_quote(label)}"
                             for ident, label in canonical_labels(column).items())
            expr = f"CASE {ref} {cases} END"
        elif column.type == "bool":
            expr = f"CASE WHEN {ref} THEN '是' WHEN NOT {ref} THEN '否' END"
        elif column.type == "date" and sql_type == "DATE":
            expr = f"strftime({ref}, '%Y-%m-%d')"
        elif column.type == "month" and sql_type == "DATE":
            expr = f"strftime({ref}, '%Y-%m')"
        elif sql_type.startswith("DECIMAL"):
            # exact decimal text; DECIMAL(p, s>0) always prints s decimals: drop trailing zeros
            expr = rf"regexp_replace({ref}::VARCHAR, '\.?0+$', '')" if not sql_type.endswith(",0)") else f"{ref}::VARCHAR"
        elif column.type in ("integer", "year") and not numbers_as_text:
            expr = ref
        elif column.type in ("region", "region_or_name") and (kind.kind, column.id) in NAMED_REGIONS:
            alias = f"r{len(joins)}"
            joins.append(f'LEFT JOIN county_names AS {alias} ON {alias}.adcode = {ref}')
            expr = f"coalesce({alias}.name, {ref})"
        else:  # text, codes, DOUBLE (DuckDB prints the shortest text that reads back the same double)
            expr = f"{ref}::VARCHAR"
        selects.append(f'{expr} AS "{column.label}"')
    order = ORDER_BY.get(kind.kind, kind.key)
    sql = f'SELECT {", ".join(selects)} FROM {source_table(kind)} AS t {" ".join(joins)}'
    if kind.kind not in UNSORTED:
        sql += " ORDER BY " + ", ".join(f't."{c}"' for c in order)
    if joins:
        # names unique among the province, cities and counties; an ambiguous name keeps its code
        sql = ("WITH county_names AS (SELECT adcode, name FROM regions WHERE level = 'county' AND name IN "
               "(SELECT name FROM regions WHERE level IN ('province', 'city', 'county') "
               "GROUP BY name HAVING count(*) = 1)) " + sql)
    return sql


# --------------------------------------------------------------------------- writers

def _temporary(path: Path) -> Path:
    """A hidden name beside ``path`` (not created: the writer creates it, with the usual permissions)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _write_csv(con, sql: str, path: Path, encoding: str) -> None:
    """DuckDB writes UTF-8; the bytes are then copied (with a BOM) or transcoded in chunks."""
    raw = _temporary(path)
    final = _temporary(path)
    try:
        con.execute(f"COPY ({sql}) TO {_quote(str(raw))} (FORMAT csv, HEADER true)")
        transcode(raw, final, encoding)
        os.replace(final, path)
    finally:
        raw.unlink(missing_ok=True)
        final.unlink(missing_ok=True)


def transcode(source: Path, target: Path, encoding: str) -> None:
    """Copy UTF-8 ``source`` to ``target`` in ``encoding`` (``utf-8-sig`` adds a BOM), streaming.

    ASCII chunks (all of the data rows of the numeric files) are the same bytes in GB18030 and
    pass through untouched; others go through an incremental decoder, so a character split
    across two chunks is kept whole.
    """
    name = codecs.lookup(encoding).name
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(source, "rb") as fin, open(target, "wb") as fout:
        if name == "utf-8-sig":
            fout.write(codecs.BOM_UTF8)
        plain = name in ("utf-8", "utf-8-sig")
        while chunk := fin.read(CHUNK):
            if plain or (chunk.isascii() and not decoder.getstate()[0]):
                fout.write(chunk)
            else:
                fout.write(decoder.decode(chunk).encode(encoding))
        if not plain:
            fout.write(decoder.decode(b"", final=True).encode(encoding))


def _write_xlsx(con, sql: str, kind: Kind, path: Path) -> None:
    columns = export_columns(kind)
    numbers = [c.type in ("integer", "year") for c in columns]
    result = con.execute(sql)
    tmp = _temporary(path)
    try:
        workbook = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_numbers": False,
                                                  "strings_to_formulas": False, "strings_to_urls": False})
        sheet = workbook.add_worksheet(DATA_SHEET)
        header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        text = workbook.add_format({"num_format": "@"})
        sheet.freeze_panes(1, 0)
        for col, column in enumerate(columns):
            width = min(40, max(10, display_width(column.label) + 2, 20 if column.type == "uscc" else 0))
            sheet.set_column(col, col, width, text if column.type in TEXT_TYPES else None)
            sheet.write_string(0, col, column.label, header)
        write_string, write_number = sheet.write_string, sheet.write_number
        row = 1
        while batch := result.fetchmany(20_000):
            for values in batch:
                for col, value in enumerate(values):
                    if value is None:
                        continue
                    if numbers[col]:
                        write_number(row, col, value)
                    else:
                        write_string(row, col, value)
                row += 1
        workbook.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _pad(text: str, width: int, align: str = "left") -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if align == "right" else text + fill


def _write_readme(path: Path, written: dict[str, Path], rows: dict[str, int]) -> None:
    kinds = spec.kinds()
    lines = [
        "山海 Shanhai — 合成浙江省的导入文件 / the synthetic province as import files",
        "",
        "这些文件是合成数据(非真实企业), 格式与县里报送的表格相同: 表头为导入模板的列名, 代码写成中文",
        "(经营状态 在营/注销, 是否 是/否), 日期 YYYY-MM-DD, 月份 YYYY-MM, 空单元格为无数据。",
        "乡镇、企业、项目、结对文件的县(市、区)写名称(如 柯桥区), 开发区与宗地文件写6位区划代码。",
        "按下列顺序导入即可重建同样的数据库内容 (先 shanhai db init 建库并载入参考数据)。",
        "",
        "Synthetic data (no real firms), laid out like the files a county hands over: the template's",
        "column labels as headers, codes as Chinese labels (在营, 是/否), dates YYYY-MM-DD, months",
        "YYYY-MM, empty cells for missing values. Counties are names in the town, enterprise, project",
        "and pairing files and 6-digit codes in the zone and land files. Importing them in this order",
        "into a fresh database (shanhai db init) reproduces the same table contents.",
        "",
        _pad("顺序 order", 11) + _pad("文件 file", 24) + _pad("编码 encoding", 26) + _pad("行数 rows", 12, "right")
        + "   类型 kind",
    ]
    for i, (name, file) in enumerate(written.items(), start=1):
        encoding = "xlsx" if file.suffix == ".xlsx" else CSV_ENCODINGS.get(name, "utf-8-sig")
        lines.append(_pad(f"{i:>2}.", 11) + _pad(file.name, 24) + _pad(ENCODING_LABELS[encoding], 26)
                     + _pad(f"{rows[name]:,}", 12, "right") + f"   {kinds[name].label} {kinds[name].label_en}")
    lines += ["", "导入 Import:", ""]
    lines += [f"    shanhai import {name} {file.name}" for name, file in written.items()]
    lines.append("")
    text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")


__all__ = ["IMPORT_ORDER", "README_NAME", "export_sql", "transcode", "write_files"]
