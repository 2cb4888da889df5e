"""Read a workbook or CSV into a grid of text cells, whatever its encoding, keeping row numbers.

Every cell is read as text (the cleaning step parses it), so nothing is lost to a reader's
guess of a column's type. Rows keep the number a user sees: the sheet row in Excel, the line
in a CSV file (1-based, the header included).
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from shanhai.errors import ShanhaiError
from shanhai.store.sql import literal

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")


@dataclass
class Grid:
    """Text cells: ``table`` has columns c0..cn (strings) and ``_row`` (the user's row number)."""

    path: Path
    table: pa.Table
    sheet: str | None = None
    encoding: str | None = None

    @property
    def width(self) -> int:
        return self.table.num_columns - 1

    def head(self, n: int) -> list[list[str | None]]:
        """The first ``n`` rows as lists of cells (for header detection)."""
        part = self.table.slice(0, n)
        columns = [part.column(f"c{i}").to_pylist() for i in range(self.width)]
        return [list(cells) for cells in zip(*columns)] if columns else []


def read(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> Grid:
    path = Path(path)
    if not path.exists():
        raise ShanhaiError(f"file {path} does not exist")
    if not path.is_file():
        raise ShanhaiError(f"{path} is not a file")
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(path, sheet)
    if suffix in CSV_SUFFIXES or suffix == "":
        return _read_csv(path, encoding)
    raise ShanhaiError(f"{path}: unsupported file type {suffix!r}: expected .xlsx, .xls or .csv")


# --------------------------------------------------------------------------- Excel

def _read_excel(path: Path, sheet: str | None) -> Grid:
    import fastexcel

    head = path.read_bytes()[:8]
    looks_like = head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0")
    if not looks_like:
        raise ShanhaiError(f"{path} is not an Excel workbook (its content is not .xlsx or .xls): "
                           "save it from Excel, or if it is text, rename it to .csv")
    try:
        reader = fastexcel.read_excel(str(path))
        names = reader.sheet_names
    except Exception as exc:  # fastexcel raises its own error types
        raise ShanhaiError(f"{path} cannot be read as an Excel workbook ({_first_line(exc)}): "
                           "is it truncated or damaged? Open and re-save it in Excel") from exc
    if not names:
        raise ShanhaiError(f"{path} has no sheets")
    if sheet is None:
        chosen = names[0]
    elif sheet in names:
        chosen = sheet
    elif sheet.isdigit() and 0 < int(sheet) <= len(names):
        chosen = names[int(sheet) - 1]
    else:
        raise ShanhaiError(f"{path} has no sheet {sheet!r}: its sheets are {', '.join(names)}")
    try:
        batch = reader.load_sheet(chosen, header_row=None, skip_rows=0, dtypes="string").to_arrow()
    except Exception as exc:
        raise ShanhaiError(f"{path}, sheet {chosen}: cannot read the cells ({_first_line(exc)})") from exc
    columns = {f"c{i}": batch.column(i).cast(pa.string()) for i in range(batch.num_columns)}
    columns["_row"] = pa.array(np.arange(1, batch.num_rows + 1, dtype=np.int32))  # numpy: pyarrow imports pandas for lists
    return Grid(path, pa.table(columns), sheet=chosen)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


# --------------------------------------------------------------------------- CSV

def detect_encoding(data: bytes) -> str:
    """utf-8-sig with a BOM; utf-8 when the bytes decode as such; else gb18030 (a superset of
    GBK, so GBK files read correctly too)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        try:
            data.decode("gb18030")
            return "gb18030"
        except UnicodeDecodeError:
            raise ShanhaiError(
                f"the file is neither UTF-8 nor GBK/GB18030 text (byte {exc.start}): pass --encoding") from None


def _read_csv(path: Path, encoding: str | None) -> Grid:
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04" or data[:4] == b"\xd0\xcf\x11\xe0":
        raise ShanhaiError(f"{path} is an Excel workbook with a CSV name: rename it to .xlsx")
    if b"\x00" in data[:4096]:
        raise ShanhaiError(f"{path} is not a text file (it contains NUL bytes): expected CSV")
    detected = encoding is None
    if encoding is None:
        try:
            encoding = detect_encoding(data)
        except ShanhaiError as exc:
            raise ShanhaiError(f"{path}: {exc}") from None
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ShanhaiError(f"unknown --encoding {encoding!r}: try utf-8, gbk or gb18030") from None
    had_bom = data.startswith(codecs.BOM_UTF8)
    if had_bom:
        data = data[len(codecs.BOM_UTF8):]
    if encoding in ("utf-8", "utf-8-sig") and detected:
        utf8 = data                      # detect_encoding has decoded it once already
    else:
        try:
            utf8 = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise ShanhaiError(f"{path} does not decode as {encoding} at byte {exc.start}: "
                               "check --encoding (utf-8, gbk or gb18030)") from None
    sample = utf8[:65536]
    delimiter = "\t" if path.suffix.lower() == ".tsv" or sample.count(b"\t") > sample.count(b",") else ","
    quoted = b'"' in utf8
    lines, width = _record_lines(utf8, delimiter, quoted)
    if width == 0 or len(lines) == 0:
        raise ShanhaiError(f"{path} is empty")
    names = [f"c{i}" for i in range(width)]
    source = path
    tmp = None
    if utf8 is not data or had_bom:
        tmp = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)
        tmp.write(utf8)
        tmp.close()
        source = Path(tmp.name)
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    delim = literal(delimiter)
    try:
        con = duckdb.connect()
        table = con.execute(
            f"""SELECT * FROM read_csv({literal(str(source))}, header = false, auto_detect = false, columns = {columns},
                    delim = {delim}, quote = '"', escape = '"', null_padding = true, strict_mode = false,
                    parallel = {str(not quoted).lower()}, nullstr = '')""",
            ).fetch_arrow_table()
        con.close()
    except duckdb.Error as exc:
        raise ShanhaiError(f"{path} cannot be read as CSV: {_first_line(exc)}") from exc
    finally:
        if tmp is not None:
            Path(tmp.name).unlink(missing_ok=True)
    if table.num_rows != len(lines):
        raise ShanhaiError(f"{path}: read {table.num_rows} records but counted {len(lines)} lines; "
                           "the file's quoting is inconsistent (an unclosed quote?)")
    table = table.append_column("_row", pa.array(np.asarray(lines, dtype=np.int32)))
    return Grid(path, table, encoding=encoding)


def _record_lines(data: bytes, delimiter: str, quoted: bool) -> tuple[np.ndarray | list[int], int]:
    """The line on which each non-blank record starts, and the widest record's field count.

    Without quotes a record is a line, and numpy finds the lines and counts the delimiters in
    the bytes directly (UTF-8 never puts a newline or comma inside a multi-byte character).
    """
    if not quoted:
        arr = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10)
        starts = np.r_[0, ends + 1]
        ends = np.r_[ends, arr.size]
        length = ends - starts
        has_cr = np.zeros(length.size, bool)
        nonempty = length > 0
        has_cr[nonempty] = arr[np.minimum(ends[nonempty] - 1, arr.size - 1)] == 13
        blank = (length == 0) | ((length == 1) & has_cr)
        marks = np.flatnonzero(arr == ord(delimiter))
        fields = np.searchsorted(marks, ends) - np.searchsorted(marks, starts) + 1
        keep = ~blank
        width = int(fields[keep].max()) if keep.any() else 0
        return np.flatnonzero(keep) + 1, width
    text = data.decode("utf-8")
    lines, width = [], 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for record in reader:
        if record and any(field != "" for field in record) or len(record) > 1:
            lines.append(start)
            width = max(width, len(record))
        start = reader.line_num + 1
    return lines, width
