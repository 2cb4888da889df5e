"""Counts and invariants of the packaged reference data."""

from __future__ import annotations

import csv
import io
from collections import Counter
from fractions import Fraction
from importlib.resources import files
from pathlib import Path

import pyarrow as pa
import pytest

from shanhai import reference as ref
from shanhai.errors import ShanhaiError
from shanhai.reference._build import HANGZHOU_FORMER_TOTAL, HANGZHOU_SPLIT, build, largest_remainder

DATA = files("shanhai.reference") / "data"
SOURCE_DIR = Path("/work/shared/reference")

MOUNTAIN_26 = {
    # 衢州 (6)
    "330802", "330803", "330822", "330824", "330825", "330881",
    # 丽水 (9)
    "331102", "331121", "331122", "331123", "331124", "331125", "331126", "331127", "331181",
    # 淳安, 永嘉, 平阳, 苍南, 文成, 泰顺, 武义, 磐安, 三门, 天台, 仙居
    "330127", "330324", "330326", "330327", "330328", "330329", "330723", "330727",
    "331022", "331023", "331024",
}  # fmt: skip
MODELLED_HANGZHOU = {"330102", "330109", "330110", "330113", "330114"}


def _csv(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((DATA / name).read_text(encoding="utf-8"))))


# -- regions ------------------------------------------------------------------------------


def test_region_counts() -> None:
    assert len(ref.counties()) == 90
    assert len(ref.cities()) == 11
    assert [r.adcode for r in ref.regions() if r.level == "province"] == ["330000"]
    assert len(ref.regions()) == 102
    assert [r.adcode for r in ref.regions()] == sorted(r.adcode for r in ref.regions())
    assert Counter(r.county_kind for r in ref.counties()) == {"district": 37, "county": 33, "county_city": 20}


def test_region_hierarchy() -> None:
    province = ref.region("330000")
    assert (province.name, province.parent_adcode, province.city_adcode) == ("浙江省", None, None)
    city_codes = {c.adcode for c in ref.cities()}
    for city in ref.cities():
        assert city.parent_adcode == "330000" and city.city_adcode == city.adcode
        assert city.county_kind is None and city.mountain_category is None
    for county in ref.counties():
        assert county.parent_adcode == county.city_adcode and county.city_adcode in city_codes
        assert county.adcode[:4] == county.city_adcode[:4]
    assert ref.region("330100").name == "杭州市"
    assert ref.region("331100").name == "丽水市"


def test_mountain_counties() -> None:
    mountain = ref.mountain_counties()
    assert {r.adcode for r in mountain} == MOUNTAIN_26
    assert {r.adcode for r in ref.regions() if r.mountain_category is not None} == MOUNTAIN_26
    assert Counter(r.mountain_category for r in mountain) == {"leapfrog": 15, "ecological": 11}
    assert all(r.mountain_category_verified is False for r in mountain)
    assert all(r.mountain_category_verified is None for r in ref.regions() if not r.mountain26)
    assert ref.region("330127").mountain_category_label == "生态发展类（待核实）"
    assert ref.region("330324").mountain_category_label == "跨越发展类（待核实）"
    assert all("待核实" in r.mountain_category_label for r in mountain)  # type: ignore[operator]
    assert ref.region("330106").mountain_category_label is None


def test_mountain_island_adjustments() -> None:
    in_2023 = {r.name for r in ref.counties() if r.mountain_island_2023}
    in_2025 = {r.name for r in ref.counties() if r.mountain_island_2025}
    assert len(in_2023) == 25 and len(in_2025) == 22
    assert {"洞头区", "嵊泗县"} <= in_2023 and not {"平阳县", "柯城区", "莲都区"} & in_2023
    assert in_2023 - in_2025 == {"永嘉县", "苍南县", "江山市"}


def test_unknown_adcode() -> None:
    with pytest.raises(ShanhaiError, match="unknown adcode 123456: expected one of Zhejiang's 102"):
        ref.region("123456")


# -- industries ---------------------------------------------------------------------------


def test_industry_levels_and_parents() -> None:
    items = ref.industries()
    assert len(items) == 818
    assert Counter(i.level for i in items) == {"division": 31, "group": 179, "class": 608}
    assert len(ref.industry_classes()) == 608
    codes = {i.code for i in items}
    assert len(codes) == 818
    digits = {"division": 2, "group": 3, "class": 4}
    zh = {"division": "大类", "group": "中类", "class": "小类"}
    for i in items:
        assert len(i.code) == digits[i.level] and i.level_zh == zh[i.level]
        if i.level == "division":
            assert i.parent_code == "C"
        else:
            assert i.parent_code in codes and i.code.startswith(i.parent_code)
            assert ref.industry(i.parent_code).level == ("division" if i.level == "group" else "group")


def test_industries_csv_has_no_descriptions() -> None:
    rows = _csv("industries.csv")
    assert list(rows[0]) == ["code", "name", "level", "parent_code", "level_en"]


def test_classes_under() -> None:
    under_35 = ref.classes_under("35")
    assert under_35 and all(len(c) == 4 and c.startswith("35") for c in under_35)
    assert set(under_35) == {i.code for i in ref.industry_classes() if i.code.startswith("35")}
    assert ref.classes_under("3973") == ("3973",)
    assert ref.classes_under("358") == ("3581", "3582", "3583", "3584", "3585", "3586", "3587", "3589")
    assert ref.classes_under("134") == ("1340",)
    assert sum(len(ref.classes_under(d.code)) for d in ref.industries() if d.level == "division") == 608


@pytest.mark.parametrize("code", ["9999", "C", "", "3"])
def test_unknown_industry_code(code: str) -> None:
    with pytest.raises(ShanhaiError, match="unknown industry code"):
        ref.industry(code)
    with pytest.raises(ShanhaiError, match="unknown industry code"):
        ref.classes_under(code)


# -- chains -------------------------------------------------------------------------------

CHAIN_IDS = [
    "digital_security", "integrated_circuits", "network_communication", "intelligent_computing",
    "biomedicine", "refining_new_materials", "new_energy_vehicles", "intelligent_equipment",
    "smart_home", "modern_textiles",
]  # fmt: skip


def test_chains() -> None:
    chains = ref.chains()
    assert [c.chain_id for c in chains] == CHAIN_IDS
    codes = {i.code for i in ref.industries()}
    for chain in chains:
        assert chain.name and chain.name_en and chain.note and "modelling" in chain.status
        top = [s for s in chain.segments if s.parent_segment_id is None]
        assert [s.stage for s in top] == ["upstream", "midstream", "downstream"]
        for segment in chain.segments:
            if segment.parent_segment_id is None:
                assert segment.segment_id == f"{chain.chain_id}.{segment.stage}"
            else:   # a sub-segment: under a top-level segment of the chain, with its stage
                parent = next(s for s in top if s.segment_id == segment.parent_segment_id)
                assert segment.segment_id.startswith(parent.segment_id + ".") and segment.stage == parent.stage
            assert segment.chain_id == chain.chain_id and segment.name and segment.name_en
            assert set(segment.codes) <= codes
            assert not set(segment.non_manufacturing_codes) & codes
            assert segment.keywords and all(2 <= len(k) <= 20 for k in segment.keywords)
    by_id = {s.segment_id: s for c in chains for s in c.segments}
    assert {s.parent_segment_id for s in by_id.values()} == {
        None, "new_energy_vehicles.upstream", "modern_textiles.midstream"}
    assert "印染" in by_id["modern_textiles.midstream.dyeing"].keywords
    assert "358" in by_id["biomedicine.midstream"].codes
    assert "35" in by_id["intelligent_equipment.midstream"].codes
    assert by_id["intelligent_equipment.downstream"].codes == ("43",)
    assert "282" in by_id["refining_new_materials.downstream"].codes
    assert by_id["digital_security.downstream"].non_manufacturing_codes == ("6531", "6510")


VALID_CHAIN = """
[[chains]]
chain_id = "pencils"
name = "文具"
[[chains.segments]]
stage = "midstream"
name = "笔的制造"
codes = ["2412"]
"""


SUB_SEGMENT = """
[[chains.segments]]
segment_id = "pencils.midstream.leads"
parent_segment_id = "pencils.midstream"
name = "铅芯"
keywords = ["铅芯", "笔芯"]
"""


def test_load_chains_sub_segment_takes_its_parents_stage(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(VALID_CHAIN + SUB_SEGMENT, encoding="utf-8")
    (chain,) = ref.load_chains(path)
    parent, sub = chain.segments
    assert (sub.parent_segment_id, sub.stage, sub.codes, sub.keywords) == (
        "pencils.midstream", "midstream", (), ("铅芯", "笔芯"))
    assert parent.keywords == () and parent.parent_segment_id is None


def test_load_chains_user_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(VALID_CHAIN, encoding="utf-8")
    (chain,) = ref.load_chains(path)
    assert chain.chain_id == "pencils" and chain.segments[0].segment_id == "pencils.midstream"
    assert chain.segments[0].codes == ("2412",) and chain.segments[0].non_manufacturing_codes == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (VALID_CHAIN.replace('"2412"', '"9999"'), r"chain 'pencils' segment 'pencils.midstream': unknown .* code '9999'"),
        (VALID_CHAIN.replace('"midstream"', '"sideways"'), r"chain 'pencils': unknown stage 'sideways'"),
        (VALID_CHAIN.replace("codes", "code"), r"unknown keys \['code'\]"),
        (VALID_CHAIN.replace('["2412"]', "[2412]"), "expected a quoted"),
        (VALID_CHAIN.replace('"pencils"', '"Pencils"'), "snake_case"),
        (VALID_CHAIN + VALID_CHAIN, "duplicate chain_id"),
        (VALID_CHAIN.replace('codes = ["2412"]', 'codes = ["2412"]\nkeywords = ["笔"]'), "keyword '笔' has 1 characters"),
        (VALID_CHAIN.replace('codes = ["2412"]', 'codes = ["2412"]\nkeywords = ["铅笔;钢笔"]'), "contains a separator"),
        (VALID_CHAIN.replace('codes = ["2412"]', 'codes = []'), "no codes and no keywords"),
        (VALID_CHAIN + SUB_SEGMENT.replace('"pencils.midstream"\n', '"pencils.upstream"\n'),
         r"segment 'pencils.midstream.leads': parent_segment_id 'pencils.upstream' is not a segment"),
        (VALID_CHAIN + SUB_SEGMENT.replace("parent_segment_id", 'stage = "upstream"\nparent_segment_id'),
         "differs from its parent's 'midstream'"),
        (VALID_CHAIN + SUB_SEGMENT.replace('segment_id = "pencils.midstream.leads"\n', ""), "needs its own segment_id"),
        (VALID_CHAIN + SUB_SEGMENT.replace("pencils.midstream.leads", "leads"), "must be 'pencils.' followed by"),
        ("chains = [", "invalid TOML"),
        ("", r"\[\[chains\]\]"),
    ],
)
def test_load_chains_rejects(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ShanhaiError, match=message):
        ref.load_chains(path)


def test_load_chains_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ShanhaiError, match="not found"):
        ref.load_chains(tmp_path / "none.toml")


def test_packaged_chains_reload_as_user_file() -> None:
    assert ref.load_chains(ref.geojson_path().with_name("chains.toml")) == ref.chains()


# -- county statistics --------------------------------------------------------------------


def test_county_stats_population() -> None:
    stats = ref.county_stats()
    assert [s.adcode for s in stats] == [r.adcode for r in ref.counties()]
    rows = _csv("county_stats.csv")
    census = sum(int(r["pop_census2020"]) for r in rows if r["pop_census2020"])
    modelled = [s for s in stats if s.population_modelled]
    assert {s.adcode for s in modelled} == MODELLED_HANGZHOU
    assert {s.adcode for s in stats if s.modelled} == MODELLED_HANGZHOU
    assert sum(s.population for s in modelled) == 6_506_830 == HANGZHOU_FORMER_TOTAL
    assert census + 6_506_830 == 64_318_245 == sum(s.population for s in stats)
    assert sum(s.population for s in stats if s.adcode.startswith("3301")) == 11_936_010
    for s in stats:
        row = next(r for r in rows if r["adcode"] == s.adcode)
        if not s.population_modelled:
            assert s.population == int(row["pop_census2020"]) and s.note == ""
        else:
            assert "modelled" in s.note


def test_modelled_split_follows_weights() -> None:
    by_code = {s.adcode: s.population for s in ref.county_stats()}
    weights = list(HANGZHOU_SPLIT.values())
    for code, weight in HANGZHOU_SPLIT.items():
        exact = HANGZHOU_FORMER_TOTAL * weight / sum(weights)
        assert abs(by_code[code] - exact) < 1
    assert largest_remainder(10, [Fraction(1)] * 3) == [4, 3, 3]
    assert sum(largest_remainder(7, [Fraction(1, 3), Fraction(1, 3), Fraction(1, 3)])) == 7


def test_modelled_mfg_share_is_hangzhou_average() -> None:
    rows = [r for r in _csv("county_stats.csv") if r["adcode"].startswith("3301")]
    districts = {r.adcode for r in ref.counties() if r.city_adcode == "330100" and r.county_kind == "district"}
    both = [r for r in rows if r["adcode"] in districts and r["mfg_employed_sample_census2020"]]
    average = sum(int(r["mfg_employed_sample_census2020"]) for r in both) / sum(
        int(r["employed_sample_census2020"]) for r in both
    )
    for s in ref.county_stats():
        if s.mfg_share_modelled:
            assert s.mfg_share == pytest.approx(average, abs=5e-5)
        assert 0 < s.mfg_share < 1


# -- lead industries and pairings ---------------------------------------------------------


def test_lead_industries() -> None:
    items = ref.lead_industries()
    assert len(items) == 52
    assert MOUNTAIN_26 <= {li.adcode for li in items}
    for li in items:
        assert ref.region(li.adcode).name == li.name
        assert li.industries and li.codes
        assert len(li.industry_codes) == len(li.industries)
        assert sorted(c for group in li.industry_codes for c in group) == sorted(li.codes)
        for code in li.codes:
            ref.industry(code)
    yongjia = next(li for li in items if li.adcode == "330324")
    assert yongjia.industries == ("泵阀", "鞋服") and yongjia.industry_codes == (("3441", "3443"), ("195",))


def test_mountain_sea_pairs() -> None:
    pairs = ref.mountain_sea_pairs()
    assert len(pairs) == 24
    for p in pairs:
        assert p.mountain_adcode in MOUNTAIN_26
        assert ref.region(p.mountain_adcode).name == p.mountain_name
        assert p.source_url.startswith("http")
        assert p.scope in {"within-city", "province"} and p.confidence in {"high", "medium", "low"}
        if p.developed_adcode is not None:
            assert ref.region(p.developed_adcode).name == p.developed_name
    assert [p.developed_name for p in pairs if p.developed_adcode is None] == ["绍兴滨海新区"]
    assert next(p for p in pairs if p.mountain_name == "泰顺县").paired_since == 2002


# -- map, licences ------------------------------------------------------------------------


def test_geojson() -> None:
    path = ref.geojson_path()
    assert isinstance(path, Path) and path.is_file()
    data = ref.geojson()
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 90
    assert {f["properties"]["adcode"] for f in data["features"]} == {r.adcode for r in ref.counties()}
    names = {f["properties"]["adcode"]: f["properties"]["name"] for f in data["features"]}
    assert all(names[r.adcode] == r.name for r in ref.counties())


def test_licences_and_sources() -> None:
    text = ref.licences_text()
    assert "MIT License" in text
    data_files = {p.name for p in DATA.iterdir() if p.is_file()} - {"LICENSES.txt"}
    assert data_files == {
        "divisions.csv", "industries.csv", "county_stats.csv", "chains.toml", "lead_industries.csv",
        "mountain_sea_pairs.csv", "zhejiang_counties.geojson", "SOURCES.md", "enclaves.csv",
    }  # fmt: skip
    for name in data_files:
        assert name in text, name
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert len(sources.splitlines()) <= 60
    for caveat in ("NOT verified", "Partial", "modelling choices", "Modelled"):
        assert caveat in sources


# -- tables -------------------------------------------------------------------------------

EXPECTED_SCHEMAS = {
    "regions": [
        ("adcode", pa.string()), ("name", pa.string()), ("level", pa.string()),
        ("parent_adcode", pa.string()), ("city_adcode", pa.string()), ("county_kind", pa.string()),
        ("mountain26", pa.bool_()), ("mountain_category", pa.string()),
        ("mountain_category_verified", pa.bool_()), ("mountain_island_2023", pa.bool_()),
        ("mountain_island_2025", pa.bool_()), ("population", pa.int64()), ("mfg_share", pa.float64()),
        ("population_modelled", pa.bool_()),
    ],
    "industries": [("code", pa.string()), ("name", pa.string()), ("level", pa.string()), ("parent_code", pa.string())],
    "chains": [
        ("chain_id", pa.string()), ("name", pa.string()), ("name_en", pa.string()), ("note", pa.string()),
        ("status", pa.string()), ("source", pa.string()), ("origin", pa.string()),
    ],
    "chain_segments": [
        ("segment_id", pa.string()), ("chain_id", pa.string()), ("stage", pa.string()),
        ("parent_segment_id", pa.string()), ("name", pa.string()), ("name_en", pa.string()), ("position", pa.int32()),
        ("keywords", pa.string()), ("non_manufacturing_codes", pa.string()),
    ],
    "segment_industries": [("segment_id", pa.string()), ("industry_code", pa.string())],
    "pairings": [
        ("pairing_id", pa.int32()), ("developed_adcode", pa.string()), ("developed_name", pa.string()),
        ("mountain_adcode", pa.string()), ("scope", pa.string()), ("paired_since", pa.int32()),
        ("evidence_date", pa.string()), ("confidence", pa.string()), ("source_url", pa.string()),
    ],
    "lead_industries": [("adcode", pa.string()), ("position", pa.int32()), ("name", pa.string()), ("codes", pa.string())],
    "enclaves": [
        ("enclave_id", pa.string()), ("name", pa.string()), ("kind", pa.string()), ("host_adcode", pa.string()),
        ("owner_adcode", pa.string()), ("established_on", pa.date32()), ("area_mu", pa.float64()),
    ],
    "enclave_returns": [("enclave_id", pa.string()), ("year", pa.int32()), ("amount", pa.float64())],
}  # fmt: skip


def test_tables_schemas_and_counts() -> None:
    tables = ref.tables()
    assert set(tables) == set(EXPECTED_SCHEMAS)
    for name, fields in EXPECTED_SCHEMAS.items():
        assert [(f.name, f.type) for f in tables[name].schema] == fields, name
    segments = [s for c in ref.chains() for s in c.segments]
    assert tables["regions"].num_rows == len(ref.regions()) == 102
    assert tables["industries"].num_rows == len(ref.industries())
    assert tables["chains"].num_rows == len(ref.chains())
    assert tables["chain_segments"].num_rows == len(segments) == 35
    assert tables["segment_industries"].num_rows == sum(len(s.codes) for s in segments)
    assert tables["pairings"].num_rows == len(ref.mountain_sea_pairs())
    assert tables["lead_industries"].num_rows == sum(len(li.industries) for li in ref.lead_industries())


def test_tables_content() -> None:
    tables = ref.tables()
    regions = {r["adcode"]: r for r in tables["regions"].to_pylist()}
    assert regions["330000"]["population"] == 64_318_245 and regions["330000"]["mfg_share"] is None
    assert regions["330100"]["population"] == 11_936_010 and regions["330100"]["population_modelled"]
    assert not regions["330200"]["population_modelled"]
    assert regions["330102"]["population_modelled"] and regions["330102"]["mfg_share"] is not None
    for city in ref.cities():
        members = [r["population"] for r in regions.values() if r["level"] == "county" and r["city_adcode"] == city.adcode]
        assert regions[city.adcode]["population"] == sum(members)
    assert set(tables["segment_industries"].column("industry_code").to_pylist()) <= {i.code for i in ref.industries()}
    positions = tables["chain_segments"].column("position").to_pylist()
    assert positions == [p for c in ref.chains() for p in range(len(c.segments))]
    assert set(tables["chains"].column("origin").to_pylist()) == {"package"}
    pairings = tables["pairings"].to_pylist()
    assert [p["pairing_id"] for p in pairings] == list(range(1, 25))
    assert sum(p["developed_adcode"] is None for p in pairings) == 1
    lead = [r for r in tables["lead_industries"].to_pylist() if r["adcode"] == "331181"]
    assert [(r["position"], r["name"], r["codes"]) for r in lead] == [
        (0, "汽车空调零部件", "3670"),
        (1, "刀剑与青瓷", "338;307"),
    ]
    keys = [(r["adcode"], r["position"]) for r in tables["lead_industries"].to_pylist()]
    assert len(keys) == len(set(keys))


# -- build ----------------------------------------------------------------------------------


@pytest.mark.skipif(not SOURCE_DIR.is_dir(), reason="research folder of sources not available")
def test_build_reproduces_packaged_files(tmp_path: Path) -> None:
    (tmp_path / "chains.toml").write_text((DATA / "chains.toml").read_text(encoding="utf-8"), encoding="utf-8")
    written = build(SOURCE_DIR, tmp_path)
    for name in written:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_build_reports_missing_source(tmp_path: Path) -> None:
    with pytest.raises(ShanhaiError, match="missing source file"):
        build(tmp_path / "nowhere", tmp_path / "out")
