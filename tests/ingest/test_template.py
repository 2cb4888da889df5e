"""Import templates: the headers the importer expects, empty, validated, explained."""

from __future__ import annotations

import re
import zipfile
from xml.etree import ElementTree

import fastexcel
import pytest
from xlsxwriter.utility import xl_col_to_name

from shanhai.cli.template import template
from shanhai.errors import ShanhaiError
from shanhai.ingest import spec
from shanhai.ingest.template import (
    DATA_SHEET, LAST_ROW, NOTES_HEADERS, NOTES_SHEET, NOTES_TABLE_ROW, REQUIRED_COMMENT, canonical_labels,
    write_template,
)

NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
KINDS = sorted(spec.kinds())


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("templates")
    return {name: write_template(spec.kind(name), folder / f"{name}.xlsx") for name in KINDS}


def validations(path) -> dict[str, ElementTree.Element]:
    """sqref -> dataValidation element of the data sheet (the workbook's first sheet)."""
    with zipfile.ZipFile(path) as archive:
        root = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    return {v.get("sqref"): v for v in root.iterfind(".//x:dataValidation", NS)}


def column_range(index: int) -> str:
    letter = xl_col_to_name(index)
    return f"{letter}2:{letter}{LAST_ROW}"


@pytest.mark.parametrize("name", KINDS)
def test_data_sheet_has_exactly_the_labels_and_no_rows(templates, name):
    kind = spec.kind(name)
    reader = fastexcel.read_excel(str(templates[name]))
    assert reader.sheet_names[:2] == [DATA_SHEET, NOTES_SHEET]
    data = reader.load_sheet(DATA_SHEET, dtypes="string")
    assert data.to_arrow().schema.names == [c.label for c in kind.columns]
    assert data.height == 0
    assert len(set(c.label for c in kind.columns)) == len(kind.columns)
    assert not any("*" in c.label for c in kind.columns)


@pytest.mark.parametrize("name", KINDS)
def test_notes_sheet_explains_every_column(templates, name):
    kind = spec.kind(name)
    reader = fastexcel.read_excel(str(templates[name]))
    top = reader.load_sheet(NOTES_SHEET, header_row=None, n_rows=NOTES_TABLE_ROW, dtypes="string").to_arrow()
    title_block = " ".join(str(v) for v in top.column(0).to_pylist() if v)
    assert kind.label in title_block and kind.label_en in title_block and kind.note in title_block
    notes = reader.load_sheet(NOTES_SHEET, header_row=NOTES_TABLE_ROW, dtypes="string").to_arrow()
    assert notes.schema.names == list(NOTES_HEADERS)
    assert notes.num_rows == len(kind.columns)
    assert notes.column("列名").to_pylist() == [c.label for c in kind.columns]
    assert notes.column("字段").to_pylist() == [c.id for c in kind.columns]
    assert notes.column("必填").to_pylist() == ["是" if c.required else "否" for c in kind.columns]
    for column, headers, note, units in zip(kind.columns, notes.column("可识别的表头").to_pylist(),
                                            notes.column("说明").to_pylist(),
                                            notes.column("单位及可用单位").to_pylist()):
        assert all(h in headers for h in column.headers)  # joined with 、 (which 县(市、区) also holds)
        if not column.store:
            assert note.startswith("(仅核对)")
        if column.unit == "money":
            assert units.startswith("万元") and "亿元" in units


def test_notes_show_units_choices_and_examples(templates):
    notes = fastexcel.read_excel(str(templates["enterprises"])).load_sheet(
        NOTES_SHEET, header_row=NOTES_TABLE_ROW, dtypes="string").to_arrow().to_pylist()
    by_id = {row["字段"]: row for row in notes}
    assert by_id["status"]["取值"].split("、")[:3] == ["在营", "存续", "正常"]
    assert by_id["uscc"]["示例"] == "91330602MA2BDXXXX0"
    assert "空则为 在营" in by_id["status"]["说明"]
    years = fastexcel.read_excel(str(templates["enterprise-years"])).load_sheet(
        NOTES_SHEET, header_row=NOTES_TABLE_ROW, dtypes="string").to_arrow().to_pylist()
    land = next(r for r in years if r["字段"] == "land_own_mu")
    assert land["单位及可用单位"].startswith("亩") and "平方米" in land["单位及可用单位"]
    assert "自有用地面积" in land["可识别的表头"]


@pytest.mark.parametrize("name", KINDS)
def test_every_column_has_a_validation_with_an_input_message(templates, name):
    kind = spec.kind(name)
    found = validations(templates[name])
    for index, column in enumerate(kind.columns):
        v = found[column_range(index)]
        assert v.get("promptTitle") == column.label[:32]
        assert v.get("prompt")
        if column.type == "enum":
            assert v.get("type") == "list"
            listed = v.find("x:formula1", NS).text.strip('"').split(",")
            assert listed == list(canonical_labels(column).values())
        elif column.type == "bool":
            assert v.get("type") == "list" and v.find("x:formula1", NS).text == '"是,否"'
        elif column.type == "uscc":
            assert v.get("type") == "textLength" and v.find("x:formula1", NS).text == "18"
        elif column.type == "year":
            assert v.get("type") == "whole"
            assert [v.find("x:formula1", NS).text, v.find("x:formula2", NS).text] == ["1949", "2100"]
        elif column.type == "integer":
            assert v.get("type") == "whole"
        elif column.type == "date":
            assert v.get("type") == "date"
        elif column.type == "decimal":
            assert v.get("type") == "decimal"
            if column.min is not None and column.max is None:
                assert v.get("operator") == "greaterThanOrEqual"
                assert float(v.find("x:formula1", NS).text) == column.min
            if column.unit:
                assert column.default_unit in v.get("prompt")


def test_enum_dropdowns_list_the_canonical_labels(templates):
    found = validations(templates["zones"])
    kind = spec.kind("zones")
    level = found[column_range([c.id for c in kind.columns].index("level"))]
    assert level.find("x:formula1", NS).text == '"国家级,省级,其他"'
    status = validations(templates["enterprises"])[column_range(9)]
    assert status.find("x:formula1", NS).text == '"在营,注销,迁出"'
    assert status.get("errorStyle") == "warning"  # 存续, 吊销 … are accepted too
    stage = validations(templates["project-events"])[column_range(1)]
    assert stage.get("errorStyle") is None  # stop: only the six stages


def test_canonical_label_is_the_first_listed():
    column = spec.kind("pairings").column("confidence")
    assert canonical_labels(column) == {"high": "高", "medium": "中", "low": "低"}


def test_required_headers_are_marked_by_format_and_comment_not_text(templates):
    kind = spec.kind("enterprises")
    with zipfile.ZipFile(templates["enterprises"]) as archive:
        names = archive.namelist()
        comments = next(n for n in names if re.fullmatch(r"xl/comments\d+\.xml", n))
        root = ElementTree.fromstring(archive.read(comments))
        sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    marked = {c.get("ref"): "".join(t.text or "" for t in c.iter(f"{{{NS['x']}}}t"))
              for c in root.iterfind(".//x:comment", NS)}
    required = {f"{xl_col_to_name(i)}1" for i, c in enumerate(kind.columns) if c.required}
    assert {ref for ref, text in marked.items() if text == REQUIRED_COMMENT} == required
    styles = {c.get("r"): c.get("s") for c in sheet.iterfind(".//x:row[@r='1']/x:c", NS)}
    required_style = {styles[ref] for ref in required}
    optional_style = {styles[f"{xl_col_to_name(i)}1"] for i, c in enumerate(kind.columns) if not c.required and c.store}
    assert len(required_style) == 1 and required_style.isdisjoint(optional_style)
    assert sheet.find(".//x:pane", NS).get("state") == "frozen"


def test_cli_writes_and_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    target = tmp_path / "zones.xlsx"
    template("zones", out=target)
    assert "7" in capsys.readouterr().out
    before = target.read_bytes()
    with pytest.raises(ShanhaiError, match="already exists"):
        template("zones", out=target)
    assert target.read_bytes() == before
    probe = tmp_path / "probe.txt"
    probe.write_text("x")
    assert target.stat().st_mode & 0o777 == probe.stat().st_mode & 0o777
    template("land", out=target, force=True)
    assert fastexcel.read_excel(str(target)).load_sheet(0).to_arrow().schema.names[0] == "宗地编号"


def test_cli_default_name_folder_and_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    template("enterprise-years")
    assert (tmp_path / "enterprise-years-template.xlsx").is_file()
    folder = tmp_path / "out"
    folder.mkdir()
    template("pairings", out=folder)
    assert (folder / "pairings-template.xlsx").is_file()
    with pytest.raises(ShanhaiError, match="unknown import kind"):
        template("people")
    with pytest.raises(ShanhaiError, match=r"\.xlsx"):
        template("zones", out=tmp_path / "zones.csv")
    with pytest.raises(ShanhaiError, match="does not exist"):
        template("zones", out=tmp_path / "missing" / "zones.xlsx")
    assert not list(tmp_path.glob(".*"))
