"""Hostile files at the edge of the import: type by content, zip bombs and absurd sheet counts refused
before any parser runs, with a clear message and nothing written to the database."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from shanhai.errors import ShanhaiError
from shanhai.ingest import guard, import_file

CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                 b'2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')


def _workbook_xml(sheets: int) -> bytes:
    body = "".join(f'<sheet name="S{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, sheets + 1))
    return ('<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets>{body}</sheets></workbook>').encode()


def zip_bomb(path: Path, mib: int = 256) -> Path:
    """An .xlsx whose one sheet is ``mib`` MiB of the same row: a few hundred KB on disk."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("xl/workbook.xml", _workbook_xml(1))
        row = b'<row><c t="inlineStr"><is><t>0</t></is></c></row>' * 20_000
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as h:
            left = mib << 20
            while left > 0:
                h.write(row[:left])
                left -= len(row)
    return path


def _datasets(store) -> int:
    return store.con.execute("SELECT count(*) FROM datasets").fetchone()[0]


def _good(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("企业").write_row(0, 0, ["统一社会信用代码", "企业名称"])
    wb.close()
    return path


def test_a_real_workbook_and_a_csv_pass(tmp_path):
    assert guard.check_file(_good(tmp_path / "a.xlsx")) == "xlsx"
    (tmp_path / "a.csv").write_text("代码,名称\n1,甲\n", "utf-8")
    assert guard.check_file(tmp_path / "a.csv") == "text"


def test_a_zip_bomb_is_refused_before_parsing(store, tmp_path):
    path = zip_bomb(tmp_path / "企业名录.xlsx")
    assert path.stat().st_size < 8 << 20
    before = _datasets(store)
    with pytest.raises(ShanhaiError) as caught:
        import_file(store, "enterprises", path)
    message = str(caught.value)
    assert "企业名录.xlsx" in message and "zip bomb" in message and "refused before reading" in message
    assert "xl/worksheets/sheet1.xml" in message
    assert _datasets(store) == before


def test_a_forged_size_is_refused(tmp_path):
    path = zip_bomb(tmp_path / "f.xlsx", mib=4)
    data = bytearray(path.read_bytes())
    # the central directory entry of the sheet: declare a size smaller than its compressed bytes
    name = b"xl/worksheets/sheet1.xml"
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    data[at + 24:at + 28] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ShanhaiError, match="forged|damaged"):
        guard.check_file(path)


def _declare(path: Path, member: str, size: int) -> None:
    """Rewrite ``member``'s declared uncompressed size in its local header and its central
    directory entry (a forged header the ratio checks cannot see through)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        local = z.getinfo(member).header_offset
    data[local + 22:local + 26] = size.to_bytes(4, "little")
    name = member.encode()
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    data[at + 24:at + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


def test_a_bomb_declared_small_is_refused_by_its_crc(store, tmp_path):
    """A 64 MiB sheet declared as twice its compressed size passes every ratio check on the
    header, and the Excel reader would decompress all of it (it reads the deflate stream to its
    end): decompressing up to the declared size and checking the CRC refuses it."""
    path = tmp_path / "small-bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("xl/workbook.xml", _workbook_xml(1))
        z.writestr("xl/worksheets/sheet1.xml", b'<row><c t="inlineStr"><is><t>0</t></is></c></row>' * (64 << 14))
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size > guard.MAX_RATIO * info.compress_size   # honest, the ratio check would catch it
        lie = 2 * info.compress_size
    _declare(path, "xl/worksheets/sheet1.xml", lie)
    with zipfile.ZipFile(path) as z:
        assert z.getinfo("xl/worksheets/sheet1.xml").file_size == lie   # the header now passes the ratio checks
    before = _datasets(store)
    with pytest.raises(ShanhaiError) as caught:
        import_file(store, "enterprises", path)
    message = str(caught.value)
    assert "small-bomb.xlsx" in message and "xl/worksheets/sheet1.xml" in message
    assert "forged" in message and "refused before reading" in message
    assert _datasets(store) == before


def test_a_real_workbook_with_a_lying_header_is_refused_and_an_honest_one_passes(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "a.xlsx"))
    sheet = wb.add_worksheet("企业")
    for r in range(2000):
        sheet.write_row(r, 0, ["913300000000000000", f"企业{r}", r])
    wb.close()
    assert guard.check_file(tmp_path / "a.xlsx") == "xlsx"
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    _declare(tmp_path / "a.xlsx", "xl/worksheets/sheet1.xml", info.file_size - 1)
    with pytest.raises(ShanhaiError, match="does not hold what its header declares"):
        guard.check_file(tmp_path / "a.xlsx")


def test_an_absurd_sheet_count_is_refused(tmp_path):
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("xl/workbook.xml", _workbook_xml(guard.MAX_SHEETS + 1))
    with pytest.raises(ShanhaiError, match=f"has {guard.MAX_SHEETS + 1:,} sheets"):
        guard.check_file(path)


@pytest.mark.parametrize("head, what", [
    (b"MZ\x90\x00\x03\x00\x00\x00", "Windows program"),
    (b"\x7fELF\x02\x01\x01", "Linux program"),
    (b"%PDF-1.7\n", "PDF document"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\x1f\x8b\x08\x00", "gzip archive"),
    (b"\x00\x01\x02\x03binary", "binary data"),
])
@pytest.mark.parametrize("name", ["企业名录.xlsx", "企业名录.csv"])
def test_a_renamed_binary_is_refused_whatever_its_name(store, tmp_path, head, what, name):
    path = tmp_path / name
    path.write_bytes(head + os.urandom(2048))
    before = _datasets(store)
    with pytest.raises(ShanhaiError) as caught:
        import_file(store, "enterprises", path)
    message = str(caught.value)
    assert name in message and what in message and "checked by its content" in message
    assert _datasets(store) == before


def test_a_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ShanhaiError, match="zip archive but not an Excel workbook"):
        guard.check_file(path, name="上传.xlsx")
