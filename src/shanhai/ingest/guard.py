"""Hostile files stopped before any parser sees them (the command-line import and web uploads alike).

- **Type by content, not by name**: the first bytes decide. A spreadsheet is an Office Open XML
  zip (``PK\\x03\\x04`` holding ``[Content_Types].xml`` and ``xl/workbook.xml``) or a legacy OLE
  compound file (``D0 CF 11 E0``); text (CSV) has no NUL byte among its first 4 KB. Anything
  else — a program, a PDF, an image, an archive, a zip that is not a workbook — is refused with
  what it looks like, whatever its name says.
- **Zip bombs**: an ``.xlsx`` is a zip. Its central directory is read (no member is
  decompressed) and the workbook refused when it has too many members, a member whose declared
  size is more than :data:`MAX_RATIO` times its compressed size, a declared total above
  :data:`MAX_DECOMPRESSED`, a member whose declared size is below its compressed size (a forged
  header), or more than :data:`MAX_SHEETS` worksheets. The declared sizes are then proved: every
  member is decompressed once, in 1 MiB pieces that are thrown away, by Python's ``zipfile``, which
  stops at the declared size and checks the CRC-32 there. A member declared small but holding
  more (the Excel reader, calamine, reads a deflate stream to its end whatever the header says:
  measured with a forged header) fails its CRC and the file is refused — so no more than the
  declared total is ever decompressed, here or by the reader. About 0.03 s per 20 MB of XML.

The limits are generous for real workbooks (the largest Excel sheet, 1,048,576 rows, compresses
10–30×) and fixed here so an assessor can read them.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from shanhai.errors import ShanhaiError

MAX_DECOMPRESSED = 4 << 30     # 4 GiB of XML in all: about 8× the largest upload the web accepts
MAX_RATIO = 200                # declared / compressed size of one member
RATIO_FLOOR = 1 << 20          # members under 1 MiB declared are not judged by ratio
MAX_MEMBERS = 10_000
MAX_SHEETS = 1_000
MAX_WORKBOOK_XML = 16 << 20    # xl/workbook.xml read to count <sheet> elements

MAGIC_ZIP, MAGIC_OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
_SIGNATURES = (
    (b"MZ", "a Windows program (.exe/.dll)"),
    (b"\x7fELF", "a Linux program (ELF)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"SQLite format 3", "an SQLite database"),
    (b"\xca\xfe\xba\xbe", "a Java class or Mach-O program"),
    (b"#!", "a script"),
)


def sniff(head: bytes) -> str:
    """What the first bytes of a file are: ``xlsx`` (a zip), ``xls`` (OLE), ``text`` or a description."""
    if head.startswith(MAGIC_ZIP):
        return "xlsx"
    if head.startswith(MAGIC_OLE):
        return "xls"
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    if b"\x00" in head[:4096]:
        return "binary data"
    return "text"


def check_file(path: str | Path, *, name: str | None = None) -> str:
    """Refuse a file that is not a spreadsheet or text, or a workbook that would explode when read.

    ``name`` is what the user called the file (an upload's name) for the messages. Returns the
    detected type: ``xlsx``, ``xls`` or ``text``.
    """
    path = Path(path)
    shown = name or str(path)
    with path.open("rb") as handle:
        head = handle.read(4096)
    kind = sniff(head)
    if kind == "xlsx":
        check_workbook(path, shown)
    elif kind not in ("xls", "text"):
        raise ShanhaiError(f"{shown} is {kind}, not an Excel workbook or CSV file (checked by its content, not its "
                           "name): nothing was imported")
    return kind


def check_workbook(path: Path, shown: str) -> None:
    """The zip-level checks of an .xlsx (see the module docstring); nothing is decompressed but
    ``xl/workbook.xml`` (itself capped)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ShanhaiError(f"{shown} is a damaged zip/Excel file ({exc}): open and re-save it in Excel") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ShanhaiError(f"{shown} holds {len(members):,} parts (at most {MAX_MEMBERS:,} expected in a "
                               "workbook): refused before reading")
        names = {m.filename for m in members}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise ShanhaiError(f"{shown} is a zip archive but not an Excel workbook (no xl/workbook.xml): "
                               "save it from Excel as .xlsx")
        total = 0
        for m in members:
            if m.compress_type != zipfile.ZIP_STORED and m.file_size + 1024 < m.compress_size:
                raise ShanhaiError(f"{shown}: part {m.filename} declares {m.file_size:,} bytes but holds "
                                   f"{m.compress_size:,} compressed: a forged workbook, refused before reading")
            if m.file_size > RATIO_FLOOR and m.file_size > MAX_RATIO * max(m.compress_size, 1):
                raise ShanhaiError(
                    f"{shown}: part {m.filename} would expand {m.file_size / max(m.compress_size, 1):,.0f}-fold "
                    f"to {m.file_size / 2**20:,.0f} MB (at most {MAX_RATIO}-fold): a zip bomb, refused before reading")
            total += m.file_size
        if total > MAX_DECOMPRESSED:
            raise ShanhaiError(f"{shown} would expand to {total / 2**30:,.1f} GB (at most "
                               f"{MAX_DECOMPRESSED / 2**30:,.0f} GB): refused before reading")
        sheets = sum(1 for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
        info = archive.getinfo("xl/workbook.xml")
        if info.file_size > MAX_WORKBOOK_XML:
            raise ShanhaiError(f"{shown}: its sheet list (xl/workbook.xml) is {info.file_size / 2**20:,.0f} MB: "
                               "refused before reading")
        with archive.open(info) as handle:
            listed = handle.read(MAX_WORKBOOK_XML + 1).count(b"<sheet ")
        count = max(sheets, listed)
        if count > MAX_SHEETS:
            raise ShanhaiError(f"{shown} has {count:,} sheets (at most {MAX_SHEETS:,}): refused before reading")
        _prove_sizes(archive, members, shown)


def _prove_sizes(archive: zipfile.ZipFile, members: list, shown: str) -> None:
    """Decompress every member up to its declared size (``zipfile`` stops there) and let its
    CRC-32 check prove the header: a member holding more or other bytes than declared is refused."""
    for m in members:
        if m.is_dir():
            continue
        try:
            with archive.open(m) as handle:
                while handle.read(1 << 20):
                    pass
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            # a CRC that does not match (more or other bytes than declared), a corrupt deflate
            # stream, a truncated member, an unsupported method, an encrypted member
            raise ShanhaiError(f"{shown}: part {m.filename} does not hold what its header declares ({exc}): a "
                               "damaged or forged workbook, refused before reading; open and re-save it in Excel"
                               ) from None
