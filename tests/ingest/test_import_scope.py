"""Imports under a region scope (the web's uploads, ``shanhai import --region``): a row whose
region lies outside the uploader's region is rejected with its row, column and region, and
nothing outside is written — no insert, no update, no change history; rows inside load as
before. One family of kinds per test: a county column on the row (enterprises, land, projects,
indicators, pairings), the firm's county by its USCC (enterprise-years, electricity), a project's
landing county (project-events), a town's county (towns)."""

from __future__ import annotations

import corpus
import pytest
from corpus import uscc

from shanhai.errors import ShanhaiError
from shanhai.ingest import import_file, spec
from shanhai.ingest.rejects import write_rejects
from shanhai.store.scope import Scope

KEQIAO, YUECHENG, SHAOXING = "330603", "330602", "330600"       # corpus firms are in 柯桥区
JINGNING, LISHUI, LIANDU = "331127", "331100", "331102"
OTHER = [uscc(n, JINGNING) for n in range(3)]                   # firms of 景宁, another city


def write_csv(path, rows):
    path.write_bytes(corpus._csv(rows))
    return path


def counts(result) -> tuple[int, int, int, int]:
    return result.inserted, result.updated, result.unchanged, result.rejected


def rejects(result) -> dict[int, list[tuple[str, str | None, str]]]:
    out: dict[int, list] = {}
    for p in result.rejects:
        out.setdefault(p.row, []).append((p.column, p.value, p.message))
    return out


def history(store, key: str) -> int:
    return store.con.execute(f"SELECT count(*) FROM change_history WHERE row_key LIKE '%{key}%'").fetchone()[0]


@pytest.fixture
def keqiao(store) -> Scope:
    return Scope.of(store, KEQIAO)


@pytest.fixture
def others(store, tmp_path):
    """Three firms of 景宁 in the register, loaded by the province (no scope)."""
    result = import_file(store, "enterprises", write_csv(tmp_path / "景宁企业.csv", [
        ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码"],
        *[[code, f"景宁企业{n}", JINGNING, "1752"] for n, code in enumerate(OTHER)]]))
    assert counts(result) == (3, 0, 0, 0)
    return OTHER


# ---------------------------------------------------------------------------- a county column on the row

def test_enterprises_in_scope_load_and_another_countys_are_rejected(store, keqiao, tmp_path):
    path = write_csv(tmp_path / "名录.csv", [
        ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码"],
        [uscc(100), "柯桥新企业", "柯桥区", "1752"],              # row 2: inside
        [uscc(101, JINGNING), "景宁新企业", "景宁", "1752"],     # row 3: 景宁, outside 柯桥
        [uscc(102), "越城新企业", YUECHENG, "1752"]])            # row 4: 越城, same city, outside the county
    result = import_file(store, "enterprises", path, scope=keqiao)
    assert counts(result) == (1, 0, 0, 2)
    assert result.out_of_scope == 2 and result.scope == {"adcode": KEQIAO, "level": "county", "name": "柯桥区"}
    got = rejects(result)
    assert set(got) == {3, 4}
    [(column, value, message)] = got[3]
    assert column == "县(市、区)" and value == JINGNING
    assert message == (f"第3行 县(市、区) {JINGNING}: 该企业属于 {JINGNING} 景宁畲族自治县，不在您的数据范围 "
                       f"{KEQIAO} 柯桥区内 / the firm belongs to {JINGNING} 景宁畲族自治县, outside your region "
                       f"{KEQIAO} 柯桥区")
    assert "第4行" in got[4][0][2] and f"{YUECHENG} 越城区" in got[4][0][2]
    assert [p.row for p in result.scope_rejects] == [3, 4]
    firms = {r[0] for r in store.con.execute("SELECT uscc FROM enterprises WHERE uscc IN "
                                             f"('{uscc(100)}', '{uscc(101, JINGNING)}', '{uscc(102)}')").fetchall()}
    assert firms == {uscc(100)}
    # reported in the rejects table and the rejects workbook like every other rejection
    stored = store.con.execute(f"SELECT source_row, message FROM import_rejects "
                               f"WHERE dataset_id = '{result.dataset_id}' ORDER BY 1").fetchall()
    assert [r[0] for r in stored] == [3, 4] and "不在您的数据范围" in stored[0][1]
    workbook = write_rejects(result, tmp_path / "rejects.xlsx")
    assert "不在您的数据范围" in corpus_xlsx_text(workbook)


def corpus_xlsx_text(path) -> str:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def test_an_existing_firm_of_another_county_is_neither_updated_nor_moved(store, keqiao, others, tmp_path):
    before = store.con.execute(f"SELECT * FROM enterprises WHERE uscc IN ('{OTHER[0]}', '{OTHER[1]}') "
                               "ORDER BY uscc").fetchall()
    path = write_csv(tmp_path / "改名录.csv", [
        ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码"],
        [uscc(0), "登记企业0(更名)", KEQIAO, "1752"],            # row 2: our own firm, renamed
        [OTHER[0], "景宁企业0(更名)", JINGNING, "1752"],         # row 3: their firm, renamed
        [OTHER[1], "景宁企业1", KEQIAO, "1752"]])                # row 4: their firm, moved into 柯桥
    result = import_file(store, "enterprises", path, scope=keqiao)
    assert counts(result) == (0, 1, 0, 2)
    got = rejects(result)
    assert "该企业属于 331127 景宁畲族自治县" in got[3][0][2]
    [(column, value, message)] = got[4]
    assert column == "统一社会信用代码" and value == OTHER[1]
    assert message.startswith(f"第4行 统一社会信用代码 {OTHER[1]}: 数据库中已有的记录: 该企业属于 {JINGNING} 景宁畲族自治县")
    assert "不能修改" in message and "it cannot be changed" in message
    after = store.con.execute(f"SELECT * FROM enterprises WHERE uscc IN ('{OTHER[0]}', '{OTHER[1]}') "
                              "ORDER BY uscc").fetchall()
    assert after == before
    assert history(store, OTHER[0]) == 0 and history(store, OTHER[1]) == 0
    assert history(store, uscc(0)) == 1        # the firm inside changed, with its history


def test_land_parcel_stored_in_another_county_cannot_be_taken_over(store, keqiao, tmp_path):
    header = ["宗地编号", "县(市、区)", "宗地面积", "土地状态"]
    import_file(store, "land", write_csv(tmp_path / "a.csv", [header, ["JN-001", JINGNING, "10", "在用"]]))
    result = import_file(store, "land", write_csv(tmp_path / "b.csv", [
        header, ["KQ-001", KEQIAO, "5", "在用"], ["JN-001", KEQIAO, "99", "批而未供"]]), scope=keqiao)
    assert counts(result) == (1, 0, 0, 1)
    assert "数据库中已有的记录: 该宗地属于 331127 景宁畲族自治县" in rejects(result)[3][0][2]
    assert store.con.execute("SELECT county_adcode, area_mu FROM land_parcels WHERE parcel_id = 'JN-001'"
                             ).fetchone() == (JINGNING, 10)
    assert history(store, "JN-001") == 0


def test_reimport_under_a_scope_changes_nothing(store, keqiao, others, tmp_path):
    path = write_csv(tmp_path / "年度.csv", [
        ["统一社会信用代码", "年份", "主营业务收入"],
        [uscc(0), "2023", "2500"], [OTHER[0], "2023", "3000"], [uscc(1), "2023", "100"]])
    first = import_file(store, "enterprise-years", path, scope=keqiao)
    assert counts(first) == (2, 0, 0, 1)
    before = corpus.content_checksums(store)
    again = import_file(store, "enterprise-years", path, scope=keqiao)
    assert counts(again) == (0, 0, 2, 1) and again.dataset_id == first.dataset_id
    assert [(p.row, p.column, p.value, p.message) for p in again.rejects] == \
        [(p.row, p.column, p.value, p.message) for p in first.rejects]
    assert {t: v for t, v in corpus.content_checksums(store).items() if v != before[t]} == {}
    # the same file loaded by the province is another dataset, and loads the rest
    province = import_file(store, "enterprise-years", path)
    assert province.dataset_id != first.dataset_id and counts(province) == (1, 0, 2, 0)


def test_without_a_scope_or_with_the_province_nothing_changes(store, tmp_path):
    path = write_csv(tmp_path / "名录.csv", [["统一社会信用代码", "企业名称", "县(市、区)", "行业代码"],
                                           [uscc(200, JINGNING), "景宁", JINGNING, "1752"]])
    dry = import_file(store, "enterprises", path, dry_run=True)
    province = import_file(store, "enterprises", path, scope=Scope.province())
    assert counts(province) == (1, 0, 0, 0) and province.scope is None and province.out_of_scope == 0
    assert province.dataset_id == dry.dataset_id


def test_dry_run_under_a_scope_counts_only_the_rows_inside(store, keqiao, tmp_path):
    path = write_csv(tmp_path / "名录.csv", [["统一社会信用代码", "企业名称", "县(市、区)", "行业代码"],
                                           [uscc(300), "柯桥", KEQIAO, "1752"],
                                           [uscc(301, JINGNING), "景宁", JINGNING, "1752"]])
    result = import_file(store, "enterprises", path, scope=keqiao, dry_run=True)
    assert counts(result) == (1, 0, 0, 1)
    assert store.con.execute(f"SELECT count(*) FROM enterprises WHERE uscc = '{uscc(300)}'").fetchone()[0] == 0


def test_a_city_scope_admits_its_counties(store, tmp_path):
    shaoxing = Scope.of(store, SHAOXING)
    path = write_csv(tmp_path / "名录.csv", [
        ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码"],
        [uscc(400), "柯桥", KEQIAO, "1752"], [uscc(401, YUECHENG), "越城", "越城区", "1752"],
        [uscc(402, JINGNING), "景宁", JINGNING, "1752"]])
    result = import_file(store, "enterprises", path, scope=shaoxing)
    assert counts(result) == (2, 0, 0, 1)
    assert "不在您的数据范围 330600 绍兴市内" in rejects(result)[4][0][2]


def test_projects_by_landing_county_and_their_events_by_project(store, keqiao, tmp_path):
    import_file(store, "projects", write_csv(tmp_path / "p.csv", [
        ["项目编号", "项目名称", "首谈地", "落地地", "项目阶段"],
        ["P-KQ", "柯桥项目", "上城区", KEQIAO, "签约"],     # first talked about in 上城区: still 柯桥's
        ["P-JN", "景宁项目", KEQIAO, JINGNING, "签约"]]))
    header = ["项目编号", "阶段", "日期"]
    result = import_file(store, "project-events", write_csv(tmp_path / "e.csv", [
        header, ["P-KQ", "开工", "2024-03-01"], ["P-JN", "开工", "2024-03-01"], ["P-XX", "开工", "2024-03-01"]]),
        scope=keqiao)
    assert counts(result) == (1, 0, 0, 2)
    got = rejects(result)
    assert got[3] == [("项目编号", "P-JN", f"第3行 项目编号 P-JN: 该项目落地于 {JINGNING} 景宁畲族自治县，不在您的数据范围 "
                                         f"{KEQIAO} 柯桥区内 / the project lands in {JINGNING} 景宁畲族自治县, "
                                         f"outside your region {KEQIAO} 柯桥区")]
    assert len(got[4]) == 1 and "项目不存在" in got[4][0][2]     # its own reason, not a second one
    assert store.con.execute("SELECT project_id FROM project_events").fetchall() == [("P-KQ",)]
    again = import_file(store, "projects", write_csv(tmp_path / "p2.csv", [
        ["项目编号", "项目名称", "首谈地", "落地地", "项目阶段"],
        ["P-KQ", "柯桥项目", "上城区", KEQIAO, "开工"], ["P-JN", "景宁项目(改)", KEQIAO, JINGNING, "开工"]]),
        scope=keqiao)
    assert counts(again) == (0, 1, 0, 1)
    assert store.con.execute("SELECT name, stage FROM projects WHERE project_id = 'P-JN'").fetchone() == \
        ("景宁项目", "signed")


def test_indicators_of_the_province_or_city_are_not_a_countys(store, keqiao, tmp_path):
    path = write_csv(tmp_path / "i.csv", [
        ["指标代码", "指标名称", "地区", "期间", "数值"],
        ["test_x", "测试指标", KEQIAO, "2023", "1"], ["test_x", "测试指标", "330000", "2023", "2"],
        ["test_x", "测试指标", SHAOXING, "2023", "3"]])
    result = import_file(store, "indicators", path, scope=keqiao)
    assert counts(result) == (1, 0, 0, 2)
    got = rejects(result)
    assert "该指标数值属于 330000 浙江省" in got[3][0][2] and "该指标数值属于 330600 绍兴市" in got[4][0][2]
    # the city loads its own figure beside its counties'; the province's stays the province's
    city = import_file(store, "indicators", path, scope=Scope.of(store, SHAOXING))
    assert counts(city) == (1, 0, 1, 1)
    assert store.con.execute("SELECT adcode FROM indicator_values WHERE indicator_id = 'test_x' ORDER BY 1"
                             ).fetchall() == [(SHAOXING,), (KEQIAO,)]


def test_pairings_need_both_ends_inside(store, tmp_path):
    lishui = Scope.of(store, LISHUI)
    header = ["结对地区", "山区县", "结对类型"]
    result = import_file(store, "pairings", write_csv(tmp_path / "结对.csv", [
        header, ["莲都区", JINGNING, "市内"], ["上城区", JINGNING, "省级"], ["某功能区", JINGNING, "省级"]]),
        scope=lishui)
    assert counts(result) == (1, 0, 0, 2)
    got = rejects(result)
    assert got[3][0][:2] == ("结对地区", "上城区") and "该结对涉及 330102 上城区" in got[3][0][2]
    assert got[4][0][:2] == ("结对地区", "某功能区") and "无法确定该行所属的地区" in got[4][0][2]
    assert store.con.execute(f"SELECT count(*) FROM pairings WHERE mountain_adcode = '{JINGNING}' "
                             "AND developed_name IN ('上城区', '某功能区')").fetchone()[0] == 0


# ---------------------------------------------------------------------------- the firm's county by its USCC

def test_enterprise_years_by_the_firms_county(store, keqiao, others, tmp_path):
    result = import_file(store, "enterprise-years", write_csv(tmp_path / "年度.csv", [
        ["统一社会信用代码", "年份", "主营业务收入"],
        [uscc(0), "2023", "2500"],                 # row 2: 柯桥's firm
        [OTHER[0], "2023", "3000"],                # row 3: 景宁's firm
        [uscc(999), "2023", "10"]]),               # row 4: not in the register: its own reason only
        scope=keqiao)
    assert counts(result) == (1, 0, 0, 2)
    got = rejects(result)
    assert got[3] == [("统一社会信用代码", OTHER[0],
                       f"第3行 统一社会信用代码 {OTHER[0]}: 该企业属于 {JINGNING} 景宁畲族自治县，不在您的数据范围 "
                       f"{KEQIAO} 柯桥区内 / the firm belongs to {JINGNING} 景宁畲族自治县, outside your region "
                       f"{KEQIAO} 柯桥区")]
    assert len(got[4]) == 1 and "数据范围" not in got[4][0][2]
    assert result.out_of_scope == 1
    assert store.con.execute("SELECT uscc FROM enterprise_years").fetchall() == [(uscc(0),)]


def test_wide_electricity_rejects_every_month_of_a_firm_outside(store, keqiao, others, tmp_path):
    result = import_file(store, "electricity", write_csv(tmp_path / "用电.csv", [
        ["统一社会信用代码", "1月", "2月", "3月"],
        [uscc(0), "100", "110", "120"], [OTHER[0], "200", "210", "220"]]), year=2023, scope=keqiao)
    assert counts(result) == (3, 0, 0, 3)
    assert {p.row for p in result.rejects} == {3} and len(result.rejects) == 3
    assert store.con.execute("SELECT DISTINCT uscc FROM electricity_monthly").fetchall() == [(uscc(0),)]


# ---------------------------------------------------------------------------- towns by their county

def test_towns_by_their_county(store, keqiao, tmp_path):
    path = write_csv(tmp_path / "乡镇.csv", [["乡镇(街道)代码", "乡镇(街道)名称", "所属县(市、区)"],
                                           ["330603001", "柯桥街道", "柯桥区"],
                                           ["331127100", "鹤溪街道", JINGNING]])
    result = import_file(store, "towns", path, scope=keqiao)
    assert counts(result) == (1, 0, 0, 1)
    [(column, value, message)] = rejects(result)[3]
    assert column == "所属县(市、区)" and value == JINGNING and "该乡镇(街道)属于 331127 景宁畲族自治县" in message
    assert store.con.execute("SELECT adcode FROM regions WHERE level = 'town'").fetchall() == [("330603001",)]
    # a town stored under another county is not renamed from here
    import_file(store, "towns", write_csv(tmp_path / "jn.csv", [["乡镇(街道)代码", "乡镇(街道)名称", "所属县(市、区)"],
                                                                ["331127100", "鹤溪街道", JINGNING]]))
    renamed = import_file(store, "towns", write_csv(tmp_path / "改.csv", [
        ["乡镇(街道)代码", "乡镇(街道)名称", "所属县(市、区)"], ["331127100", "改名街道", JINGNING]]), scope=keqiao)
    assert counts(renamed) == (0, 0, 0, 1)
    assert store.con.execute("SELECT name FROM regions WHERE adcode = '331127100'").fetchone() == ("鹤溪街道",)
    assert history(store, "331127100") == 0


# ---------------------------------------------------------------------------- the kind files and the scope

def test_every_kind_declares_its_region_and_the_tables_exist(store):
    for kind in spec.kinds().values():
        region = kind.region
        assert region is not None and region.belongs and region.belongs_en, kind.kind
        if region.lookup:
            cols = {r[0] for r in store.con.execute(
                f"SELECT column_name FROM information_schema.columns WHERE table_name = '{region.table}'").fetchall()}
            assert {region.key, region.column} <= cols, kind.kind


@pytest.mark.parametrize("region, message", [
    (None, "no [region]"),
    ({"columns": ["nope"], "belongs": "x", "belongs_en": "x"}, "neither a column nor derived"),
    ({"columns": ["name"], "belongs": "x", "belongs_en": "x"}, "not region"),
    ({"lookup": "uscc", "table": "enterprises; drop", "key": "uscc", "column": "county_adcode",
      "belongs": "x", "belongs_en": "x"}, "lower-case identifier"),
    ({"columns": ["county_adcode"], "lookup": "uscc", "belongs": "x", "belongs_en": "x"}, "exactly one"),
    ({"columns": ["county_adcode"], "belongs": "x"}, "belongs_en"),
    ({"columns": ["county_adcode"], "belongs": "x", "belongs_en": "x", "colums": 1}, "unknown keys"),
])
def test_the_spec_loader_checks_the_region(region, message):
    data = {"kind": "k", "table": "enterprises", "label": "k", "key": ["uscc"], "columns": [
        {"id": "uscc", "type": "uscc"}, {"id": "name", "type": "text"},
        {"id": "county_adcode", "type": "region", "level": "county"}]}
    if region is not None:
        data["region"] = region
    with pytest.raises(ShanhaiError, match=message.replace("[", r"\[").replace("]", r"\]")):
        spec.parse(data, "k.toml")


def test_covers_sql_agrees_with_covers(store):
    codes = [KEQIAO, YUECHENG, SHAOXING, JINGNING, LISHUI, "330603001", "331127100000", "330000", "3306", "", None]
    for scope in (Scope.of(store, KEQIAO), Scope.of(store, SHAOXING), Scope.of(store, JINGNING)):
        for code in codes:
            got = store.con.execute(f"SELECT {scope.covers_sql('c')} FROM (SELECT ?::VARCHAR AS c)",
                                    [code]).fetchone()[0]
            assert got is scope.covers(code), (scope.adcode, code)
