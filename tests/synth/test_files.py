"""``write_files``: the synthetic province as the files a county hands over, exact to the cell."""

from __future__ import annotations

import codecs
import csv
import io
import struct
from datetime import date
from decimal import Decimal

import duckdb
import fastexcel
import pytest

from shanhai.errors import ShanhaiError
from shanhai.ingest import spec
from shanhai.ingest.template import canonical_labels
from shanhai.store import open_store
from shanhai.synth import SynthConfig, build
from shanhai.synth import files as synth_files
from shanhai.synth.files import IMPORT_ORDER, README_NAME, source_table, transcode, write_files

EXPECTED = {"zones": "zones.xlsx", "towns": "towns.xlsx", "enterprises": "enterprises.xlsx",
            "enterprise-years": "enterprise-years.csv", "electricity": "electricity.csv", "land": "land.xlsx",
            "projects": "projects.xlsx", "project-events": "project-events.xlsx",
            "project-plans": "project-plans.xlsx", "project-shares": "project-shares.xlsx", "leads": "leads.xlsx",
            "lead-transfers": "lead-transfers.xlsx", "pairings": "pairings.xlsx",
            "enterprise-flags": "enterprise-flags.xlsx", "enterprise-segments": "enterprise-segments.xlsx",
            "zone-facts": "zone-facts.xlsx", "cultivation-facts": "cultivation-facts.xlsx",
            "service-facts": "service-facts.xlsx",
            "listing-milestones": "listing-milestones.xlsx"}
ENCODINGS = {"enterprise-years": "utf-8-sig", "electricity": "gb18030"}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    db = folder / "province.duckdb"
    build(db, SynthConfig(scale=0.02, seed=7))
    steps = []
    with open_store(db, read_only=True) as store:
        paths = write_files(store, folder / "out", progress=lambda label, fraction: steps.append(fraction))
    con = duckdb.connect(str(db), read_only=True)
    yield db, paths, con, steps
    con.close()


def cells(kind_name: str, path) -> tuple[list[str], list[list[str | None]]]:
    """(header, rows) of a written file, every cell as the text a reader sees."""
    if path.suffix == ".xlsx":
        sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string").to_arrow()
        columns = [sheet.column(i).to_pylist() for i in range(sheet.num_columns)]
        rows = [list(r) for r in zip(*columns)]
        return rows[0], rows[1:]
    text = path.read_bytes().decode(ENCODINGS[kind_name])
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    return rows[0], [[c if c != "" else None for c in r] for r in rows[1:]]


def stored(kind_name: str) -> list[spec.Column]:
    return [c for c in spec.kind(kind_name).columns if c.store]


def test_every_file_exists_in_import_order(written):
    _, paths, _, steps = written
    assert list(paths) == list(IMPORT_ORDER)
    for name, path in paths.items():
        assert path.name == EXPECTED[name] and path.is_file()
    folder = paths["zones"].parent
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "temporary files left behind"
    probe = folder / "probe.txt"
    probe.write_text("x")
    modes = {p.stat().st_mode & 0o777 for p in [*paths.values(), folder / README_NAME]}
    assert modes == {probe.stat().st_mode & 0o777}, "files get the usual permissions, like any new file"
    probe.unlink()
    readme = (folder / README_NAME).read_text("utf-8")
    positions = [readme.index(EXPECTED[name]) for name in IMPORT_ORDER]
    assert positions == sorted(positions)
    assert "GB18030" in readme and "BOM" in readme and "shanhai import electricity electricity.csv" in readme
    assert steps and steps[-1] == 1.0 and steps == sorted(steps)


@pytest.mark.parametrize("name", IMPORT_ORDER)
def test_headers_are_the_labels_and_rows_match_the_table(written, name):
    _, paths, con, _ = written
    header, rows = cells(name, paths[name])
    assert header == [c.label for c in stored(name)]
    table = source_table(spec.kind(name))
    assert len(rows) == con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0


def test_gb18030_file_is_not_utf8(written):
    data = written[1]["electricity"].read_bytes()
    text = data.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert text.splitlines()[0] == "统一社会信用代码,月份,用电量(千瓦时),用水量(吨),用气量(立方米)"
    assert not data.startswith(codecs.BOM_UTF8)


def test_utf8_file_has_a_bom(written):
    data = written[1]["enterprise-years"].read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert data.decode("utf-8-sig").startswith("统一社会信用代码,年份,是否规上,营业收入(万元)")


def parse(column: spec.Column, text: str | None, regions: dict[str, str]):
    """A cell back to the stored value (what the importer must produce), strictly."""
    if text is None:
        return None
    if column.type == "enum":
        return column.values[text]
    if column.type == "bool":
        return {"是": True, "否": False}[text]
    if column.type == "date":
        return date.fromisoformat(text)
    if column.type == "month":
        return date.fromisoformat(text + "-01")
    if column.type in ("integer", "year"):
        return int(text)
    if column.type == "decimal":
        return text  # compared by type below: Decimal for DECIMAL columns, float for DOUBLE
    if column.type == "region":
        return regions.get(text, text)
    return text


@pytest.mark.parametrize("name", IMPORT_ORDER)
def test_cells_read_back_to_the_table_exactly(written, name):
    """Every cell of every file parses back to the stored value: decimals as exact decimals,
    doubles bit for bit, codes through their labels, counties through their names."""
    _, paths, con, _ = written
    kind = spec.kind(name)
    columns = stored(name)
    regions = dict(con.execute("SELECT name, adcode FROM regions WHERE level = 'county'").fetchall())
    types = dict(con.execute(f"SELECT column_name, data_type FROM information_schema.columns "
                             f"WHERE table_name = '{kind.table}'").fetchall())
    _, rows = cells(name, paths[name])
    back = []
    for row in rows:
        values = []
        for column, text in zip(columns, row):
            value = parse(column, text, regions)
            if column.type == "decimal" and value is not None:
                value = Decimal(value) if types[column.id].startswith("DECIMAL") else float(value)
            if column.type == "enum" and value is not None and types[column.id] == "INTEGER":
                value = int(value)          # integer codes (levels) are labelled like text codes
            values.append(value)
        back.append(tuple(values))
    select = ", ".join(f'"{c.id}"' for c in columns)
    truth = con.execute(f"SELECT {select} FROM {source_table(kind)}").fetchall()
    key = lambda r: tuple((v is None, str(v)) for v in r)  # noqa: E731
    assert sorted(back, key=key) == sorted(truth, key=key)


def test_decimal_cells_are_the_exact_decimal_text(written):
    _, paths, con, _ = written
    header, rows = cells("enterprise-years", paths["enterprise-years"])
    i_uscc, i_year, i_tax = header.index("统一社会信用代码"), header.index("年份"), header.index("实缴税金(万元)")
    truth = {(u, y): t for u, y, t in con.execute("SELECT uscc, year, tax_paid FROM enterprise_years").fetchall()}
    for row in rows[::97]:
        value = truth[(row[i_uscc], int(row[i_year]))]
        assert Decimal(row[i_tax]) == value
        assert row[i_tax] == format(value.normalize(), "f")  # no float detour, no trailing zeros
    # in a workbook too: text cells, not binary doubles
    header, rows = cells("zones", paths["zones"])
    area = dict(con.execute("SELECT zone_id, planned_area_mu FROM zones").fetchall())
    for row in rows:
        assert Decimal(row[header.index("规划面积(亩)")]) == area[row[0]]


def test_doubles_round_trip_bit_for_bit(written):
    _, paths, con, _ = written
    header, rows = cells("enterprise-years", paths["enterprise-years"])
    truth = {(u, y): (e, m, k) for u, y, e, m, k in con.execute(
        "SELECT uscc, year, energy_tce, emission_t, electricity_kwh FROM enterprise_years").fetchall()}
    labels = ("综合能耗(吨标准煤)", "排放当量(吨)", "用电量(千瓦时)")
    checked = 0
    for row in rows[::13]:
        expected = truth[(row[0], int(row[1]))]
        for label, value in zip(labels, expected):
            text = row[header.index(label)]
            if value is None:
                assert text is None
                continue
            assert struct.pack("<d", float(text)) == struct.pack("<d", value)
            assert text == repr(value)  # the shortest text that round-trips
            checked += 1
    assert checked > 1000
    header, rows = cells("electricity", paths["electricity"])
    months = {(u, m.strftime("%Y-%m")): k for u, m, k in con.execute(
        "SELECT uscc, month, kwh FROM electricity_monthly").fetchall()}
    for row in rows[::101]:
        assert struct.pack("<d", float(row[2])) == struct.pack("<d", months[(row[0], row[1])])


def test_codes_are_written_as_people_write_them(written):
    _, paths, con, _ = written
    header, rows = cells("enterprises", paths["enterprises"])
    county = [r[header.index("县(市、区)")] for r in rows]
    assert "柯桥区" in county and not any(c.isdigit() for c in county)
    statuses = {r[header.index("经营状态")] for r in rows}
    assert statuses <= set(canonical_labels(spec.kind("enterprises").column("status")).values())
    assert "在营" in statuses and "注销" in statuses
    zone_ids = {z for (z,) in con.execute("SELECT zone_id FROM zones").fetchall()}
    assert {r[header.index("所在开发区")] for r in rows} - {None} <= zone_ids
    founded = [r[header.index("成立日期")] for r in rows]
    assert all(len(d) == 10 and d[4] == "-" for d in founded)
    header, rows = cells("zones", paths["zones"])
    assert all(len(r[header.index("所在县(市、区)")]) == 6 for r in rows)
    assert {r[header.index("级别")] for r in rows} <= {"国家级", "省级"}
    header, rows = cells("pairings", paths["pairings"])
    assert "绍兴滨海新区" in {r[header.index("结对地区")] for r in rows}
    assert {r[header.index("结对类型")] for r in rows} == {"省级", "市内"}
    assert {r[header.index("可信度")] for r in rows} <= {"高", "中", "低"}
    header, rows = cells("enterprise-years", paths["enterprise-years"])
    assert {r[header.index("是否规上")] for r in rows} == {"是", "否"}
    assert "企业名称" not in header  # informational columns are not written
    header, rows = cells("electricity", paths["electricity"])
    assert all(len(r[1]) == 7 and r[1][4] == "-" for r in rows[:1000])


def test_unmapped_enum_value_is_refused(tmp_path):
    db = tmp_path / "odd.duckdb"
    with open_store(db) as store:
        store.con.execute("INSERT INTO enterprises (uscc, name, county_adcode, industry_code, status) "
                          "VALUES ('91330602MA2BDXXX01', '某公司', '330602', '1752', 'dormant')")
    with open_store(db, read_only=True) as store, pytest.raises(ShanhaiError, match="dormant"):
        write_files(store, tmp_path / "out")
    assert not list((tmp_path / "out").iterdir()), "nothing is written when a value cannot be"


def test_an_empty_store_gives_header_only_files(tmp_path):
    db = tmp_path / "empty.duckdb"
    open_store(db).close()
    with open_store(db, read_only=True) as store:
        paths = write_files(store, tmp_path / "out")
    for name, path in paths.items():
        header, rows = cells(name, path)
        assert header == [c.label for c in stored(name)] and rows == []


def test_transcode_keeps_characters_split_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(synth_files, "CHUNK", 7)
    text = "统一社会信用代码,月份\n" + "".join(f"91330602MA2BD{i:05d},2023-0{i % 9 + 1}\n" for i in range(50)) + "备注,完\n"
    source = tmp_path / "in.csv"
    source.write_text(text, encoding="utf-8")
    for encoding, decode in (("gb18030", "gb18030"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk")):
        target = tmp_path / f"out-{encoding}.csv"
        transcode(source, target, encoding)
        assert target.read_bytes().decode(decode) == text
    assert (tmp_path / "out-utf-8-sig.csv").read_bytes().startswith(codecs.BOM_UTF8)


def test_refuses_a_file_as_the_folder(tmp_path, written):
    db = written[0]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with open_store(db, read_only=True) as store, pytest.raises(ShanhaiError, match="not a folder"):
        write_files(store, blocker)


def test_importing_the_files_reproduces_the_tables(written, tmp_path):
    """The point of the files: `shanhai import` of each, in README order, into a fresh database
    gives back the same rows, cell for cell (the derived columns too: a pairing's developed_adcode,
    a town's level and city)."""
    from shanhai.ingest import import_file
    from shanhai.store import load_reference

    db, paths, _, _ = written
    fresh = tmp_path / "fresh.duckdb"
    with open_store(fresh) as store:
        load_reference(store.con)
        store.con.execute("DELETE FROM pairings")  # the reference pairings: the file brings them back
        for name in IMPORT_ORDER:
            result = import_file(store, name, paths[name])
            assert (result.rejected, result.inserted) == (0, result.rows_in), (name, result.rejects[:3])
        store.con.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
        for name in IMPORT_ORDER:
            kind = spec.kind(name)
            columns = [c.id for c in stored(name)] + [d.column for d in kind.derived
                                                      if d.column not in [c.id for c in stored(name)]]
            select = ", ".join(f'"{c}"' for c in columns)
            where = f"WHERE {kind.scope}" if kind.scope else ""
            for a, b in (("src", "main"), ("main", "src")):
                differing = store.con.execute(
                    f"SELECT count(*) FROM (SELECT {select} FROM {a}.{kind.table} {where} "
                    f"EXCEPT ALL SELECT {select} FROM {b}.{kind.table} {where})").fetchone()[0]
                assert differing == 0, f"{name}: {differing} rows in {a} not in {b}"
        # the whole regions table (the towns file brings every town back, the register adds
        # none), and each zone's county with the zones
        for table, columns in (("regions", "adcode, name, level, parent_adcode, city_adcode"),
                               ("zone_counties", "zone_id, adcode")):
            for a, b in (("src", "main"), ("main", "src")):
                differing = store.con.execute(
                    f"SELECT count(*) FROM (SELECT {columns} FROM {a}.{table} "
                    f"EXCEPT ALL SELECT {columns} FROM {b}.{table})").fetchone()[0]
                assert differing == 0, f"{table}: {differing} rows in {a} not in {b}"
