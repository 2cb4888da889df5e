"""Open a workbook or CSV as records of text cells for DuckDB, whatever its encoding, keeping row numbers.

Every cell is read as text (the cleaning step parses it), so nothing is lost to a reader's
guess of a column's type. Rows keep the number a user sees: the sheet row in Excel, the line
in a CSV file (1-based, the header included).

A :class:`Source` gives the first records in Python (to find the header) and a SQL table
expression over all of them (columns ``c0`` … ``cN``, in file order) that the importer cleans
in one statement inside the store's connection: the file's rows never pass through Python.

CSV files take a fast path when they can (encoding UTF-8 as far as a sample shows, no quote
characters, every record as wide as the widest of the sample): DuckDB's parallel reader in
strict mode, and a record's row number is its position in the file, unless a count of the
lines (made in a thread meanwhile, with the file's sha256) shows blank lines, which DuckDB
skips; numpy then finds the lines. When DuckDB finds the guess wrong (bytes that are not
UTF-8, a wider record, mixed line ends) the import starts again on the exact path: encoding
detected over the whole file (and transcoded to UTF-8), every line counted, the widest record
found, the lenient reader.

The fast path never holds the whole file in Python: the sample, the check for quote characters
and the thread's hash and count read it in pieces (a large file would otherwise add its size to
the import's peak memory). The exact path and the numbering of a file with blank lines read
all of it, when they are needed.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from shanhai.errors import ShanhaiError
from shanhai.store.sql import literal

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")
HEAD_ROWS = 30                  # records kept in Python for header detection
SAMPLE_LINES = 2000             # the fast path takes the width of a CSV from its first lines ...
SAMPLE_BYTES = 4 << 20          # ... or its first 4 MB, whichever ends first
MAGIC_ZIP, MAGIC_OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
CHUNK = 1 << 20                 # pieces in which a file is scanned and hashed


class Reread(Exception):
    """The fast path's guess about a CSV file was wrong: import again from ``source``."""

    def __init__(self, source: "Source"):
        super().__init__("reread")
        self.source = source


def with_reread(source: "Source", work):
    """``work(source)``; when the CSV fast path guessed wrong (:class:`Reread`: nothing is written
    yet), ``work`` once more on the source it names. Whichever source was used last is closed."""
    try:
        try:
            return work(source)
        except Reread as again:
            source.close()
            source = again.source
            return work(source)
    finally:
        source.close()


@dataclass
class Source:
    """Records of text cells: the first ones in Python, all of them as SQL."""

    path: Path
    data: bytes | None                           # the file's bytes (None: read from path when needed)
    width: int
    head: list[list[str | None]]                 # the first HEAD_ROWS records, ``width`` cells each
    head_rows: list[int]                         # their row numbers as the user sees them
    sheet: str | None = None
    encoding: str | None = None
    relation: str = ""                           # SQL table expression: c0..cN in file order
    fast: bool = False                           # CSV fast path (see the module docstring)
    lines: list[int] | None = None               # record index -> row number; None: index + 1
    arrow: object = None                         # Excel: the Arrow stream behind ``relation``
    exact: Callable[[], Source] | None = None    # CSV fast path: builds the exact path's Source
    delimiter: str = ","
    temp: Path | None = None                     # a transcoded copy, deleted by close()
    registered: list[str] = field(default_factory=list)
    facts: _Facts | None = None

    def __post_init__(self):
        if self.facts is None:
            self.facts = _Facts(self.path if self.data is None else self.data)

    def content(self) -> bytes:
        """The file's bytes (read now if the Source was made without them)."""
        if self.data is None:
            self.data = self.path.read_bytes()
        return self.data

    def digest(self):
        """sha256 of the file's bytes (a hashlib object to update further)."""
        return self.facts.result()[0].copy()

    def attach(self, con) -> None:
        """Make ``relation`` readable on ``con`` (Excel: register the sheet's Arrow stream)."""
        if self.arrow is not None:
            con.register("_import_sheet", self.arrow)
            self.registered.append("_import_sheet")

    def detach(self, con) -> None:
        for name in self.registered:
            con.unregister(name)
        self.registered.clear()

    def close(self) -> None:
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)
            self.temp = None

    def failed(self, exc: duckdb.Error) -> ShanhaiError | Reread:
        """What a DuckDB error while reading ``relation`` means: on the fast path, read again
        exactly; else the file cannot be read."""
        if self.fast and self.exact is not None:
            return Reread(self.exact())
        return ShanhaiError(f"{self.path} cannot be read as CSV: {_first_line(exc)}")

    def row_numbers(self, records: int) -> list[int] | None:
        """The row number of each of ``records`` records (None: record index + 1).

        On the fast path, a count of the lines shows whether blank lines (which DuckDB skips)
        shift the numbers; if they do, numpy finds the lines. Raises :class:`Reread` when the
        counts still disagree (odd line ends), ShanhaiError when the exact path's do.
        """
        if self.arrow is not None:
            return None
        if self.fast:
            if records == self.facts.result()[1]:
                return None
            lines, _ = _record_lines(self.content(), self.delimiter, quoted=False)
            if len(lines) == records:
                return lines
            raise Reread(self.exact())
        if records != len(self.lines):
            raise ShanhaiError(f"{self.path}: read {records} records but counted {len(self.lines)} lines; "
                               "the file's quoting is inconsistent (an unclosed quote?)")
        return self.lines


class _Facts:
    """The file's sha256 and its count of lines (blank lines at the end left out), worked out in
    a thread while DuckDB reads the file: hashing releases the GIL, and the main thread waits in
    DuckDB, which releases it too. From the bytes when the caller has them, else from the file,
    read in pieces of ``CHUNK`` bytes."""

    def __init__(self, data: bytes | Path):
        self._data = data
        self._done: tuple | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="shanhai-file-facts", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if isinstance(self._data, Path):
                self._done = _file_facts(self._data)
            else:
                self._done = _bytes_facts(self._data)
        except BaseException as exc:    # re-raised by result(), in the caller's thread
            self._error = exc
        finally:
            self._data = None

    def result(self) -> tuple:
        self._thread.join()
        if self._error is not None:
            raise ShanhaiError(f"cannot read the file: {_first_line(self._error)}") from self._error
        return self._done


def _bytes_facts(data: bytes) -> tuple:
    digest = hashlib.sha256(data)
    end = len(data)
    while end and data[end - 1] in (10, 13):        # blank lines at the end shift nothing
        end -= 1
    return digest, data.count(b"\n", 0, end) + 1 if end else 0


def _file_facts(path: Path) -> tuple:
    """As :func:`_bytes_facts`, reading the file in pieces: the newlines in a trailing run of
    line ends (which may span pieces) are left out of the count."""
    digest = hashlib.sha256()
    newlines, trailing, filled = 0, 0, False
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb") as handle:
        while True:
            size = handle.readinto(buffer)
            if not size:
                break
            piece = view[:size]
            digest.update(piece)
            count = buffer.count(b"\n", 0, size)
            newlines += count
            end = size
            while end and buffer[end - 1] in (10, 13):
                end -= 1
            if end:                                  # the piece has text: a new trailing run
                trailing, filled = buffer.count(b"\n", end, size), True
            else:                                    # line ends only: the run goes on
                trailing += count
    return digest, newlines - trailing + 1 if filled else 0


def open_source(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> Source:
    path = Path(path)
    if not path.exists():
        raise ShanhaiError(f"file {path} does not exist")
    if not path.is_file():
        raise ShanhaiError(f"{path} is not a file")
    from shanhai.ingest.guard import check_file

    check_file(path)        # type by content, zip bombs: before any parser reads the file
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _excel(path, sheet)
    if suffix in CSV_SUFFIXES or suffix == "":
        return _csv(path, encoding)
    raise ShanhaiError(f"{path}: unsupported file type {suffix!r}: expected .xlsx, .xls or .csv")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


# --------------------------------------------------------------------------- Excel

def _excel(path: Path, sheet: str | None) -> Source:
    import fastexcel

    data = path.read_bytes()
    if not (data.startswith(MAGIC_ZIP) or data.startswith(MAGIC_OLE)):
        raise ShanhaiError(f"{path} is not an Excel workbook (its content is not .xlsx or .xls): "
                           "save it from Excel, or if it is text, rename it to .csv")
    try:
        reader = fastexcel.read_excel(data)
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
    if "pyarrow" not in sys.modules:
        # the sheet arrives as a pyarrow RecordBatch: import pyarrow (a quarter to half a second
        # in a fresh process) while calamine parses the sheet, which releases the GIL
        importer = threading.Thread(target=_import_pyarrow, name="shanhai-import-pyarrow", daemon=True)
        importer.start()
    try:
        batch = reader.load_sheet_eager(chosen, header_row=None, skip_rows=0, dtypes="string")
    except Exception as exc:
        raise ShanhaiError(f"{path}, sheet {chosen}: cannot read the cells ({_first_line(exc)})") from exc
    width = batch.num_columns
    batch = batch.rename_columns([f"c{i}" for i in range(width)])
    part = batch.slice(0, HEAD_ROWS)
    columns = [part.column(i).to_pylist() for i in range(width)]
    head = [[None if v is None else str(v) for v in row] for row in zip(*columns)] if columns else []
    relation = "SELECT " + ", ".join(f"CAST(c{i} AS VARCHAR) AS c{i}" for i in range(width)) + " FROM _import_sheet"
    return Source(path, data, width, head, list(range(1, len(head) + 1)), sheet=chosen, relation=relation,
                  arrow=_Batches(batch))


def _import_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except Exception:       # fastexcel's own import of it reports the problem
        pass


class _Batches:
    """A record batch as an Arrow C stream of slices, for DuckDB to scan in parallel (in order).

    Not a pyarrow Table or RecordBatchReader: DuckDB scans those through pyarrow.dataset, which
    imports pandas (a second and a half in a fresh process).
    """

    ROWS = 8192

    def __init__(self, batch):
        self.batch = batch

    def __arrow_c_stream__(self, requested_schema=None):
        import pyarrow as pa

        parts = [self.batch.slice(i, self.ROWS) for i in range(0, self.batch.num_rows, self.ROWS)]
        return pa.RecordBatchReader.from_batches(self.batch.schema, parts).__arrow_c_stream__(requested_schema)


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


def _csv(path: Path, encoding: str | None) -> Source:
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        if head[:4] == MAGIC_ZIP or head[:4] == MAGIC_OLE:
            raise ShanhaiError(f"{path} is an Excel workbook with a CSV name: rename it to .xlsx")
        if b"\x00" in head[:4096]:
            raise ShanhaiError(f"{path} is not a text file (it contains NUL bytes): expected CSV")
        whole = len(head) == os.fstat(handle.fileno()).st_size
        quoted = encoding is not None or b'"' in head or (not whole and _finds(handle, b'"'))
    if not quoted:
        fast = _fast_csv(path, head, whole)
        if fast is not None:
            return fast
    return _exact_csv(path, path.read_bytes(), encoding)


def _finds(handle, needle: bytes) -> bool:
    """Whether the rest of the open file holds ``needle`` (one byte), read in pieces."""
    buffer = bytearray(CHUNK)
    while True:
        size = handle.readinto(buffer)
        if not size:
            return False
        if buffer.find(needle, 0, size) >= 0:
            return True


def _delimiter(path: Path, sample: bytes) -> str:
    return "\t" if path.suffix.lower() == ".tsv" or sample.count(b"\t") > sample.count(b",") else ","


def _relation(source: Path, width: int, delimiter: str, *, strict: bool, parallel: bool) -> str:
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    return (f"SELECT * FROM read_csv({literal(str(source))}, header = false, auto_detect = false, "
            f"columns = {columns}, delim = {literal(delimiter)}, quote = '\"', escape = '\"', "
            f"null_padding = true, strict_mode = {str(strict).lower()}, parallel = {str(parallel).lower()}, "
            "nullstr = '')")


def _fast_csv(path: Path, data: bytes, whole: bool) -> Source | None:
    """The fast path's Source, or None when the sample already shows it does not apply.

    ``data``: the file's first ``SAMPLE_BYTES`` bytes, all of them when ``whole``."""
    limit = len(data)
    end, count = 0, 0
    while count < SAMPLE_LINES:
        newline = data.find(b"\n", end, limit)
        if newline < 0:
            break
        end, count = newline + 1, count + 1
    if whole and count < SAMPLE_LINES:
        end = len(data)                  # the sample is the whole file
    elif end == 0:
        return None                      # a first line longer than SAMPLE_BYTES
    sample = data[:end]
    text_start = 3 if sample.startswith(codecs.BOM_UTF8) else 0
    try:
        text = sample[text_start:].decode("utf-8")
    except UnicodeDecodeError:
        return None
    delimiter = _delimiter(path, data[:65536])
    head: list[list[str | None]] = []
    head_rows: list[int] = []
    width = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if line == "":
            continue
        cells = line.split(delimiter)
        width = max(width, len(cells))
        if len(head) < HEAD_ROWS:
            head.append([c if c != "" else None for c in cells])
            head_rows.append(number)
    if width == 0:
        return None                      # the exact path says what is wrong with the file
    head = [row + [None] * (width - len(row)) for row in head]
    relation = _relation(path, width, delimiter, strict=True, parallel=True)
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    return Source(path, None, width, head, head_rows, encoding=encoding, relation=relation, fast=True,
                  exact=lambda: _exact_csv(path, path.read_bytes(), None), delimiter=delimiter)


def _exact_csv(path: Path, data: bytes, encoding: str | None) -> Source:
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
    body = data[len(codecs.BOM_UTF8):] if had_bom else data
    transcoded = not (encoding in ("utf-8", "utf-8-sig") and detected)
    if not transcoded:
        utf8 = body                      # detect_encoding has decoded it once; DuckDB skips a BOM
    else:
        try:
            utf8 = body.decode(encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise ShanhaiError(f"{path} does not decode as {encoding} at byte {exc.start}: "
                               "check --encoding (utf-8, gbk or gb18030)") from None
    sample = utf8[:65536]
    delimiter = _delimiter(path, sample)
    quoted = b'"' in utf8
    lines, width = _record_lines(utf8, delimiter, quoted)
    if width == 0 or len(lines) == 0:
        raise ShanhaiError(f"{path} is empty")
    source_file, temp = path, None
    if transcoded:
        handle = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)
        handle.write(utf8)
        handle.close()
        source_file = temp = Path(handle.name)
    relation = _relation(source_file, width, delimiter, strict=False, parallel=not quoted)
    try:
        con = duckdb.connect()
        try:
            head = con.execute(f"SELECT * FROM ({relation}) LIMIT {HEAD_ROWS}").fetchall()
        finally:
            con.close()
    except duckdb.Error as exc:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise ShanhaiError(f"{path} cannot be read as CSV: {_first_line(exc)}") from exc
    lines = list(lines)
    return Source(path, data, width, [list(r) for r in head], lines[: len(head)], encoding=encoding,
                  relation=relation, lines=lines, temp=temp)


def _record_lines(data: bytes, delimiter: str, quoted: bool) -> tuple[list[int], int]:
    """The line on which each non-blank record starts, and the widest record's field count.

    Without quotes a record is a line, and numpy finds the lines and counts the delimiters in
    the bytes directly (UTF-8 never puts a newline or comma inside a multi-byte character).
    """
    if not quoted:
        import numpy as np

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
        return (np.flatnonzero(keep) + 1).tolist(), width
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
