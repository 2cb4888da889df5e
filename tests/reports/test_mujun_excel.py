"""Per-mu workbooks (``shanhai.reports.mujun_excel``): the published lists in the public-notice
layout and a county's workbook, read back with fastexcel; a county's export holds its firms only."""

from __future__ import annotations

import shutil
import zipfile
from types import SimpleNamespace

import fastexcel
import pytest

from shanhai import policy
from shanhai.errors import ShanhaiError
from shanhai.jobs import mujun
from shanhai.jobs import mujun_review as rv
from shanhai.reports import county_workbook, public_lists
from shanhai.reports.mujun_excel import LIST_COLUMNS, STANDARD_LISTS, list_of
from shanhai.store import open_store

HEADERS = [name for name, _ in LIST_COLUMNS]


@pytest.fixture(scope="module")
def run(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("excel") / "excel.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        run_id = mujun.run(store, "zhejiang-2018", 2023).run_id
        county, city = store.con.execute(
            f"SELECT county_adcode, city_adcode FROM mujun_results WHERE run_id = '{run_id}' "
            "AND \"class\" IN ('C', 'D') GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
    return SimpleNamespace(path=path, run_id=run_id, county=county, city=city)


@pytest.fixture
def store(run):
    with open_store(run.path, read_only=True) as s:
        yield s


def sheet_rows(path, sheet, header_row=1) -> list[dict]:
    """A sheet's rows below its header as dicts, footer lines (no USCC) left out."""
    data = fastexcel.read_excel(path).load_sheet(sheet, header_row=header_row).to_arrow().to_pylist()
    return [r for r in data if r.get("统一社会信用代码")]


def firms_of(store, run_id, where="true") -> dict[str, tuple]:
    rows = store.con.execute(f"""SELECT m.uscc, m.population, m."class", m.county_adcode FROM mujun_results m
        JOIN regions g ON g.adcode = m.county_adcode WHERE run_id = '{run_id}' AND {where}""").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_lists_follow_the_populations():
    zj = policy.get("zhejiang-2018")
    assert [list_of(p) for p in zj.populations] == ["规上企业", "租赁企业", "规下企业(≥3亩)", "规下企业(<3亩)"]
    hy = policy.get("huangyan-2022")
    assert [list_of(p) for p in hy.populations] == ["规上企业", "规下工业企业"]   # fits no standard list


def test_public_lists(store, run, tmp_path):
    path = tmp_path / "lists.xlsx"
    result = public_lists(store, run.run_id, path)
    reader = fastexcel.read_excel(path)
    assert reader.sheet_names == list(STANDARD_LISTS)
    assert list(result.sheets) == list(STANDARD_LISTS)
    firms = firms_of(store, run.run_id, "\"class\" <> 'T'")
    sheet_of = {p.id: list_of(p) for p in mujun.preset_of(store, run.run_id).populations}
    seen = set()
    for sheet in STANDARD_LISTS:
        raw = reader.load_sheet(sheet, header_row=None).to_arrow().to_pylist()
        title = raw[0]["__UNNAMED__0"]
        assert title == f"2023年度浙江省工业企业亩均效益综合评价结果（{sheet}）"
        assert [raw[1][f"__UNNAMED__{i}"] for i in range(len(HEADERS))] == HEADERS
        assert any(run.run_id in str(r["__UNNAMED__0"]) and "zhejiang-2018" in str(r["__UNNAMED__0"]) for r in raw[-3:])
        rows = sheet_rows(path, sheet)
        assert len(rows) == result.sheets[sheet] > 0
        assert [int(float(r["序号"])) for r in rows] == list(range(1, len(rows) + 1))
        for r in rows:
            population, code, _ = firms[r["统一社会信用代码"]]
            assert sheet_of[population] == sheet
            assert r["评价类别"].startswith(f"{code}类（")
        keys = [("ABCD".index(r["评价类别"][0]), r["企业名称"]) for r in rows]
        assert keys == sorted(keys)                     # class, then name
        seen |= {r["统一社会信用代码"] for r in rows}
    assert seen == set(firms)                           # every evaluated firm once, no T firm


@pytest.mark.parametrize("level", ["county", "city"])
def test_a_regions_lists_hold_its_firms_only(store, run, tmp_path, level):
    region = run.county if level == "county" else run.city
    path = tmp_path / f"{level}.xlsx"
    result = public_lists(store, run.run_id, path, region=region)
    where = f"m.county_adcode = '{region}'" if level == "county" else f"g.city_adcode = '{region}'"
    expected = firms_of(store, run.run_id, f"\"class\" <> 'T' AND {where}")
    got = {r["统一社会信用代码"] for sheet in result.sheets for r in sheet_rows(path, sheet)}
    assert got == set(expected)
    name = store.con.execute(f"SELECT name FROM regions WHERE adcode = '{region}'").fetchone()[0]
    title = fastexcel.read_excel(path).load_sheet(0, header_row=None).to_arrow().to_pylist()[0]["__UNNAMED__0"]
    assert title.startswith(f"2023年度{name}工业企业")


def fix_rows(rows):
    return [{"uscc": r["统一社会信用代码"]} for r in rows]


def test_county_workbook(store, run, tmp_path):
    path = tmp_path / "county.xlsx"
    result = county_workbook(store, run.run_id, run.county, path)
    reader = fastexcel.read_excel(path)
    assert reader.sheet_names == ["汇总", "企业明细", "基准值", "整改名单", "低效用地", "说明"]
    everyone = firms_of(store, run.run_id, f"m.county_adcode = '{run.county}'")
    detail = sheet_rows(path, "企业明细")
    assert {r["统一社会信用代码"] for r in detail} == set(everyone)      # T firms included, no other county
    assert len(detail) == result.sheets["企业明细"]
    first = detail[0]
    for header in ("企业名称", "亩均税收(万元/亩)", "亩均税收基准值", "亩均税收得分", "总分", "名次", "排名企业数",
                   "评价类别", "类别依据", "差别化电价加价(元)"):
        assert header in first
    assert isinstance(first["总分"], float) and isinstance(first["亩均税收(万元/亩)"], float)
    fix = sheet_rows(path, "整改名单")
    remediation = rv.remediation(store, run.run_id, run.county)
    assert [r["统一社会信用代码"] for r in fix] == [x["uscc"] for x in remediation.rows]
    assert {everyone[r["统一社会信用代码"]][1] for r in fix} <= {"C", "D"}
    for row, x in zip(fix, remediation.rows, strict=True):
        if x["extra_tax_wan"] is not None:
            assert float(row["需增税收(万元)"]) == pytest.approx(x["extra_tax_wan"], abs=1e-6)
    land = rv.inefficient_land(store, run.run_id, run.county)
    candidates = reader.load_sheet("低效用地", header_row=2, n_rows=len(land.firms)).to_arrow().to_pylist()
    assert [r["统一社会信用代码"] for r in candidates] == [x["uscc"] for x in land.firms]
    assert result.sheets["低效用地"] == len(land.firms) and {x["uscc"] for x in land.firms} == {x["uscc"] for x in fix_rows(fix)}
    bench = reader.load_sheet("基准值", header_row=1).to_arrow().to_pylist()
    assert bench and {b["单元代码"] for b in bench} == {run.county}        # zhejiang-2018: county units
    assert {b["指标"] for b in bench} >= {"亩均税收", "亩均增加值"}
    summary = reader.load_sheet("汇总", header_row=None).to_arrow().to_pylist()
    assert any(r["__UNNAMED__0"] == "全部企业" for r in summary)
    notes = {r["项目"]: r["内容"] for r in reader.load_sheet("说明").to_arrow().to_pylist()}
    assert notes["评价批次 Run"] == run.run_id
    assert notes["输入数据指纹 Inputs fingerprint"]
    assert "zhejiang-2018" in notes["评价办法 Policy"]


def test_layout_formats_and_print_setup(store, run, tmp_path):
    path = tmp_path / "county.xlsx"
    county_workbook(store, run.run_id, run.county, path)
    lists = tmp_path / "lists.xlsx"
    public_lists(store, run.run_id, lists, region=run.county)
    for book in (path, lists):
        with zipfile.ZipFile(book) as z:
            styles = z.read("xl/styles.xml").decode()
            workbook = z.read("xl/workbook.xml").decode()
            sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert "_xlnm.Print_Titles" in workbook                      # header rows repeat on each page
        assert 'orientation="landscape"' in sheet and 'fitToHeight="0"' in sheet
        assert 'state="frozen"' in sheet
        if book == path:
            assert "#,##0.00" in styles and 'formatCode="0.00"' in styles
        else:
            assert "<mergeCell " in sheet                           # the title across the columns


def test_refusals(store, run, tmp_path):
    with pytest.raises(ShanhaiError, match=r"\.xlsx"):
        public_lists(store, run.run_id, tmp_path / "lists.csv")
    with pytest.raises(ShanhaiError, match="does not exist"):
        public_lists(store, run.run_id, tmp_path / "missing" / "lists.xlsx")
    with pytest.raises(ShanhaiError, match="county"):
        county_workbook(store, run.run_id, run.city, tmp_path / "city.xlsx")
    with pytest.raises(ShanhaiError, match="no per-mu run"):
        public_lists(store, "mujun-nope", tmp_path / "x.xlsx")
