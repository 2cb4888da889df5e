"""The towns, enterprise-flags and enterprise-segments kinds: a valid file loads, every bad row is
rejected with its reason, re-importing changes nothing, a corrected file updates with history;
towns agree with those the register brings; a template's labels and examples import cleanly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import corpus
import pytest
from corpus import uscc

from shanhai.ingest import import_file, spec
from shanhai.ingest.template import example_text

ROOT = Path(__file__).resolve().parents[2]
NEW_KINDS = ("towns", "enterprise-flags", "enterprise-segments")


def write_csv(path, rows):
    path.write_bytes(corpus._csv(rows))
    return path


def counts(result) -> tuple[int, int, int, int]:
    return result.inserted, result.updated, result.unchanged, result.rejected


def reasons(result) -> dict[int, list[tuple[str, str | None, str]]]:
    out: dict[int, list] = {}
    for p in result.rejects:
        out.setdefault(p.row, []).append((p.column, p.value, p.message))
    return out


def assert_reimport_changes_nothing(store, kind, path, first):
    before = corpus.content_checksums(store)
    again = import_file(store, kind, path)
    assert counts(again) == (0, 0, first.loaded, first.rejected)
    assert [(p.row, p.column, p.value, p.message) for p in again.rejects] == \
        [(p.row, p.column, p.value, p.message) for p in first.rejects]
    after = corpus.content_checksums(store)
    assert {t: v for t, v in after.items() if v != before[t]} == {}


# ---------------------------------------------------------------------------- towns

TOWN_HEADER = ["乡镇(街道)代码", "乡镇(街道)名称", "所属县(市、区)"]


def towns(con) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in con.execute("""SELECT adcode, name, level, parent_adcode, city_adcode
                                               FROM regions WHERE level = 'town'""").fetchall()}


def not_towns(con) -> list[tuple]:
    return con.execute("SELECT * EXCLUDE (dataset_id) FROM regions WHERE level <> 'town' ORDER BY adcode").fetchall()


def test_towns_load_with_their_county_and_city(store, tmp_path):
    path = write_csv(tmp_path / "乡镇.csv", [
        TOWN_HEADER,
        ["330603001", "柯桥街道", "柯桥区"],           # county by name
        ["330825100000", "湖镇镇", "330825"],          # 12 digits, county by code
        ["331102002", "紫金街道", "莲都"]])            # a short name
    first = import_file(store, "towns", path)
    assert counts(first) == (3, 0, 0, 0)
    assert towns(store.con) == {"330603001": ("柯桥街道", "town", "330603", "330600"),
                                "330825100000": ("湖镇镇", "town", "330825", "330800"),
                                "331102002": ("紫金街道", "town", "331102", "331100")}
    assert_reimport_changes_nothing(store, "towns", path, first)


def test_towns_bad_rows_are_rejected_and_counties_stay_untouched(store, tmp_path):
    before = not_towns(store.con)
    result = import_file(store, "towns", write_csv(tmp_path / "坏乡镇.csv", [
        TOWN_HEADER,
        ["330603001", "柯桥街道", "柯桥区"],        # 2 loads
        ["33060300", "八位", "柯桥区"],             # 3 not 9 or 12 digits
        ["330825001", "别县", "柯桥区"],            # 4 code of another county
        ["330603002", "某镇", "火星"],              # 5 unknown county
        ["330603003", None, "柯桥区"],              # 6 no name
        ["330603", "改县名", "柯桥区"],             # 7 a county's own code
        ["330600", "改市名", "柯桥区"],             # 8 a city's code
        ["330603001", "重复", "柯桥区"]]))           # 9 duplicate of row 2
    assert counts(result) == (1, 0, 0, 7)
    found = reasons(result)
    assert set(found) == {3, 4, 5, 6, 7, 8, 9}
    assert any("9位或12位" in m for _, _, m in found[3])
    assert any("前6位" in m and v == "330825001" for _, v, m in found[4])
    assert any(c == "所属县(市、区)" and "未知" in m for c, _, m in found[5])
    assert any("必填" in m for _, _, m in found[6])
    for row in (7, 8):
        assert any("乡镇文件不能修改" in m and "towns only" in m for _, _, m in found[row])
    assert any("与第2行重复" in m for _, _, m in found[9])
    assert not_towns(store.con) == before
    assert towns(store.con) == {"330603001": ("柯桥街道", "town", "330603", "330600")}


def test_a_corrected_towns_file_updates_with_history(store, tmp_path):
    import_file(store, "towns", write_csv(tmp_path / "a.csv", [TOWN_HEADER, ["330603001", "柯桥镇", "柯桥区"]]))
    second = import_file(store, "towns", write_csv(tmp_path / "b.csv", [TOWN_HEADER, ["330603001", "柯桥街道", "柯桥区"]]))
    assert counts(second) == (0, 1, 0, 0)
    assert store.con.execute("""SELECT table_name, row_key, column_name, old_value, new_value FROM change_history""").fetchall() \
        == [("regions", "330603001", "name", "柯桥镇", "柯桥街道")]


def test_towns_file_and_register_agree(store, tmp_path):
    """A town the register brought is the row a towns file describes, and the other way round."""
    register = ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码", "乡镇(街道)代码", "乡镇(街道)"]
    import_file(store, "enterprises", write_csv(tmp_path / "e.csv", [
        register, [uscc(3100), "镇上公司", "柯桥区", "1752", "330603004", "钱清街道"]]))
    by_register = towns(store.con)
    assert by_register == {"330603004": ("钱清街道", "town", "330603", "330600")}
    same = import_file(store, "towns", write_csv(tmp_path / "t.csv", [TOWN_HEADER, ["330603004", "钱清街道", "柯桥区"]]))
    assert counts(same) == (0, 0, 1, 0)
    # towns first, then a register naming them: nothing added, nothing changed
    import_file(store, "towns", write_csv(tmp_path / "t2.csv", [TOWN_HEADER, ["330825101", "湖镇镇", "龙游县"]]))
    before = towns(store.con)
    import_file(store, "enterprises", write_csv(tmp_path / "e2.csv", [
        register, [uscc(3101), "湖镇公司", "龙游县", "2221", "330825101", "湖镇镇"]]))
    assert towns(store.con) == before


# ---------------------------------------------------------------------------- enterprise flags

FLAG_HEADER = ["统一社会信用代码", "企业名称", "资质或记录", "起始日期", "有效期至", "说明"]


def flags(con) -> dict[tuple, tuple]:
    return {(u, f, d): (t, x) for u, f, d, t, x in con.execute(
        "SELECT uscc, flag, valid_from, valid_to, detail FROM enterprise_flags").fetchall()}


def test_flags_load_from_labels_and_codes(store, tmp_path):
    path = write_csv(tmp_path / "资质.csv", [
        FLAG_HEADER,
        [uscc(1), "甲", "高新技术企业", "2022-01-01", "2024-12-31", "GR202233000001"],
        [uscc(1), "甲", '专精特新"小巨人"', "2023-07-01", None, None],
        [uscc(2), "乙", "专精特新“小巨人”", "2023-07-01", None, None],
        [uscc(3), "丙", "little_giant", "2023/7/1", None, None],
        [uscc(4), "丁", "省级专精特新中小企业", "2021-01-01", "2023-12-31", None],
        [uscc(5), "戊", "安全生产事故", "2023-03-05", "2024-03-05", "一般"],
        [uscc(6), "己", "失信", "2022-05-01", None, None],
        [uscc(7), "庚", "企业研发机构", "2020-01-01", None, None]])
    first = import_file(store, "enterprise-flags", path)
    assert counts(first) == (8, 0, 0, 0), first.rejects
    assert flags(store.con) == {
        (uscc(1), "high_tech", dt.date(2022, 1, 1)): (dt.date(2024, 12, 31), "GR202233000001"),
        (uscc(1), "little_giant", dt.date(2023, 7, 1)): (None, None),
        (uscc(2), "little_giant", dt.date(2023, 7, 1)): (None, None),
        (uscc(3), "little_giant", dt.date(2023, 7, 1)): (None, None),
        (uscc(4), "specialised", dt.date(2021, 1, 1)): (dt.date(2023, 12, 31), None),
        (uscc(5), "safety_violation", dt.date(2023, 3, 5)): (dt.date(2024, 3, 5), "一般"),
        (uscc(6), "dishonest", dt.date(2022, 5, 1)): (None, None),
        (uscc(7), "rd_institution", dt.date(2020, 1, 1)): (None, None)}
    assert_reimport_changes_nothing(store, "enterprise-flags", path, first)


def test_flags_bad_rows_are_rejected(store, tmp_path):
    result = import_file(store, "enterprise-flags", write_csv(tmp_path / "坏资质.csv", [
        FLAG_HEADER,
        [uscc(10), "甲", "高新技术企业", "2022-01-01", None, None],     # 2 loads
        [uscc(11), "乙", "优秀企业", "2022-01-01", None, None],          # 3 unknown flag
        [uscc(7777), "丙", "高新技术企业", "2022-01-01", None, None],    # 4 not in the register
        [uscc(12), "丁", "高新技术企业", "2024-01-01", "2023-12-31", None],  # 5 ends before it starts
        [uscc(13), "戊", "高新技术企业", None, None, None],               # 6 no start
        [uscc(10), "甲", "高企", "2022-01-01", "2025-01-01", None]]))     # 7 same key as row 2
    assert counts(result) == (1, 0, 0, 5)
    found = reasons(result)
    assert set(found) == {3, 4, 5, 6, 7}
    [(column, value, message)] = found[3]
    assert (column, value) == ("资质或记录", "优秀企业")
    assert all(label in message for label in ("高新技术企业", "科技型中小企业", "隐形冠军", "失信"))
    assert all(code in message for code in ("high_tech", "little_giant", "major_environmental_incident"))
    assert "名录" in found[4][0][2] and "enterprise register" in found[4][0][2]
    assert found[5] == [("有效期至", "2023-12-31", "有效期至早于起始日期 valid_to is before valid_from")]
    assert found[6][0][0] == "起始日期" and "必填" in found[6][0][2]
    assert "与第2行重复" in found[7][0][2]


def test_a_corrected_flags_file_updates_with_history(store, tmp_path):
    import_file(store, "enterprise-flags", write_csv(tmp_path / "a.csv", [
        FLAG_HEADER, [uscc(14), "甲", "高新技术企业", "2022-01-01", "2024-12-31", None]]))
    second = import_file(store, "enterprise-flags", write_csv(tmp_path / "b.csv", [
        FLAG_HEADER, [uscc(14), "甲", "high_tech", "2022-01-01", "2025-12-31", None]]))
    assert counts(second) == (0, 1, 0, 0)
    assert store.con.execute("SELECT row_key, column_name, old_value, new_value FROM change_history").fetchall() \
        == [(f"{uscc(14)}|high_tech|2022-01-01", "valid_to", "2024-12-31", "2025-12-31")]


# ---------------------------------------------------------------------------- enterprise segments

SEGMENT_HEADER = ["统一社会信用代码", "企业名称", "产业链环节", "角色", "认定方式"]


def segments(con) -> dict[tuple, tuple]:
    return {(u, s): (r, m) for u, s, r, m in con.execute(
        "SELECT uscc, segment_id, role, method FROM enterprise_segments").fetchall()}


def test_segments_load_by_code_name_or_chain_and_stage(store, tmp_path):
    path = write_csv(tmp_path / "环节.csv", [
        SEGMENT_HEADER,
        [uscc(20), "甲", "digital_security.upstream", "链主", None],
        [uscc(20), "甲", "前端与后端设备", None, "行业代码"],             # by name; role defaults to member
        [uscc(21), "乙", "数字安防-下游", "配套", "人工认定"],
        [uscc(22), "丙", "现代纺织下游", "chain_leader", "keyword"]])
    first = import_file(store, "enterprise-segments", path)
    assert counts(first) == (4, 0, 0, 0), first.rejects
    assert segments(store.con) == {
        (uscc(20), "digital_security.upstream"): ("chain_leader", "manual"),
        (uscc(20), "digital_security.midstream"): ("member", "code"),
        (uscc(21), "digital_security.downstream"): ("supplier", "manual"),
        (uscc(22), "modern_textiles.downstream"): ("chain_leader", "keyword")}
    assert_reimport_changes_nothing(store, "enterprise-segments", path, first)


def test_segments_bad_rows_are_rejected(store, tmp_path):
    result = import_file(store, "enterprise-segments", write_csv(tmp_path / "坏环节.csv", [
        SEGMENT_HEADER,
        [uscc(23), "甲", "digital_security.upstream", "成员", None],     # 2 loads
        [uscc(24), "乙", "不存在的环节", "成员", None],                   # 3 unknown segment
        [uscc(7778), "丙", "digital_security.upstream", "成员", None],   # 4 not in the register
        [uscc(25), "丁", "smart_home.upstream", "老大", None],            # 5 unknown role
        [uscc(26), "戊", None, "成员", None],                             # 6 no segment
        [uscc(23), "甲", "芯片、传感器与光学", "链主", None]]))             # 7 same key as row 2, by its name
    assert counts(result) == (1, 0, 0, 5)
    found = reasons(result)
    assert set(found) == {3, 4, 5, 6, 7}
    assert found[3] == [("产业链环节", "不存在的环节", found[3][0][2])] and "环节" in found[3][0][2]
    assert "enterprise register" in found[4][0][2]
    assert found[5][0][:2] == ("角色", "老大") and "链主" in found[5][0][2] and "chain_leader" in found[5][0][2]
    assert "必填" in found[6][0][2]
    assert "与第2行重复" in found[7][0][2]
    assert segments(store.con) == {(uscc(23), "digital_security.upstream"): ("member", "manual")}


# ---------------------------------------------------------------------------- templates, docs


@pytest.mark.parametrize("name", NEW_KINDS)
def test_a_template_filled_with_its_examples_imports_cleanly(name, store, tmp_path):
    kind = spec.kind(name)
    row = [uscc(30) if c.type == "uscc" else (example_text(c) or None) for c in kind.columns]
    path = tmp_path / f"{name}.xlsx"
    corpus._write_xlsx([[c.label for c in kind.columns], row])(path)
    result = import_file(store, name, path)
    assert counts(result) == (1, 0, 0, 0), result.rejects
    assert result.unknown_columns == []


def test_every_kind_is_in_the_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    for name in spec.kinds():     # (shanhai.ingest.kinds is also the package of the kinds' files)
        assert f"`{name}`" in readme, f"import kind {name} is not in README.md"
