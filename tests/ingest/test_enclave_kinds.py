"""The enclaves and enclave-returns kinds: Chinese headers and labels load, bad rows are rejected
with their reasons, re-importing changes nothing, a corrected file updates with history, both ends
of an enclave must lie inside an import's region scope and a return belongs to the enclave's owner,
and a template filled with its examples imports cleanly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import corpus
import pytest

from shanhai.ingest import import_file, spec
from shanhai.ingest.template import example_text
from shanhai.store import load_reference
from shanhai.store.scope import Scope

ENCLAVE_HEADER = ["飞地编号", "飞地名称", "飞地类型", "飞入地", "飞出地", "签约日期", "占地面积(亩)"]
RETURN_HEADER = ["飞地编号", "飞地名称", "年度", "返还收益(万元)"]


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


def imported(con) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT enclave_id, name, kind, host_adcode, owner_adcode, established_on, area_mu FROM enclaves "
        "WHERE dataset_id IS NOT NULL").fetchall()}


def test_enclaves_load_from_names_labels_and_units(store, tmp_path):
    path = write_csv(tmp_path / "飞地.csv", [
        ENCLAVE_HEADER,
        ["FD-01", "镇海—龙游消薄飞地", "消薄飞地", "镇海区", "龙游县", "2019-11-01", "100"],
        ["FD-02", "衢州海创园", "科创飞地", "余杭", "衢州市", None, None],          # a short name, a city owner
        ["FD-03", "滨海—开化产业飞地", "产业飞地", "330600", "330824", "2021/4/14", "1500"]])
    first = import_file(store, "enclaves", path)
    assert counts(first) == (3, 0, 0, 0), first.rejects
    assert imported(store.con) == {
        "FD-01": ("镇海—龙游消薄飞地", "village_income", "330211", "330825", dt.date(2019, 11, 1), Decimal("100.0000")),
        "FD-02": ("衢州海创园", "innovation", "330110", "330800", None, None),
        "FD-03": ("滨海—开化产业飞地", "industrial", "330600", "330824", dt.date(2021, 4, 14), Decimal("1500.0000"))}
    before = corpus.content_checksums(store)
    again = import_file(store, "enclaves", path)
    assert counts(again) == (0, 0, 3, 0)
    assert corpus.content_checksums(store) == before


def test_enclave_bad_rows_are_rejected(store, tmp_path):
    result = import_file(store, "enclaves", write_csv(tmp_path / "坏飞地.csv", [
        ENCLAVE_HEADER,
        ["FD-10", "甲", "消薄飞地", "镇海区", "龙游县", None, None],        # 2 loads
        ["FD-11", "乙", "旅游飞地", "镇海区", "龙游县", None, None],        # 3 unknown kind
        ["FD-12", "丙", "产业飞地", "火星", "龙游县", None, None],          # 4 unknown host
        ["FD-13", "丁", "产业飞地", "龙游县", "龙游县", None, None],        # 5 host = owner
        ["FD-14", "戊", "产业飞地", "330000", "龙游县", None, None],        # 6 the province as host
        ["FD-15", None, "产业飞地", "镇海区", "龙游县", None, None],        # 7 no name
        ["FD-16", "己", "产业飞地", "镇海区", "龙游县", None, "-5"],        # 8 negative area
        ["FD-10", "甲", "产业飞地", "镇海区", "龙游县", None, None]]))      # 9 duplicate key
    assert counts(result) == (1, 0, 0, 7)
    found = reasons(result)
    assert set(found) == {3, 4, 5, 6, 7, 8, 9}
    assert found[3][0][:2] == ("飞地类型", "旅游飞地") and "消薄飞地" in found[3][0][2]
    assert found[4][0][:2] == ("飞入地", "火星")
    assert "飞出地与飞入地相同" in found[5][0][2]
    assert "设区市或县" in found[6][0][2]
    assert "必填" in found[7][0][2]
    assert found[8][0][0] == "占地面积(亩)"
    assert "与第2行重复" in found[9][0][2]
    assert set(imported(store.con)) == {"FD-10"}


def test_returns_load_need_their_enclave_and_update_with_history(store, tmp_path):
    import_file(store, "enclaves", write_csv(tmp_path / "e.csv", [
        ENCLAVE_HEADER, ["FD-20", "镇海—龙游消薄飞地", "消薄飞地", "镇海区", "龙游县", None, None]]))
    path = write_csv(tmp_path / "收益.csv", [
        RETURN_HEADER,
        ["FD-20", "镇海—龙游消薄飞地", "2021", "1000.8"],
        ["FD-20", None, "2022年", "1,000.80万元"],
        ["FD-99", "不存在", "2022", "10"],                 # 4 unknown enclave
        ["FD-20", None, "2023", "-1"]])                  # 5 negative
    first = import_file(store, "enclave-returns", path)
    assert counts(first) == (2, 0, 0, 2), first.rejects
    found = reasons(first)
    assert "请先导入飞地" in found[4][0][2] and found[5][0][0] == "返还收益(万元)"
    assert store.con.execute("SELECT year, amount FROM enclave_returns WHERE enclave_id = 'FD-20' ORDER BY 1"
                             ).fetchall() == [(2021, Decimal("1000.8000")), (2022, Decimal("1000.8000"))]
    second = import_file(store, "enclave-returns", write_csv(tmp_path / "改.csv", [
        RETURN_HEADER, ["FD-20", None, "2022", "1.2亿元"]]))
    assert counts(second) == (0, 1, 0, 0)
    assert store.con.execute("SELECT table_name, column_name, old_value, new_value FROM change_history").fetchall() \
        == [("enclave_returns", "amount", "1000.8000", "12000.0000")]


def test_the_region_scope_needs_both_ends_and_returns_go_by_the_owner(store, tmp_path):
    longyou, quzhou = Scope.of(store, "330825"), Scope.of(store, "330800")
    rows = [ENCLAVE_HEADER,
            ["FD-30", "龙游—镇海", "消薄飞地", "镇海区", "龙游县", None, None],     # host outside 衢州
            ["FD-31", "龙游—柯城", "产业飞地", "柯城区", "龙游县", None, None]]     # both in 衢州
    as_county = import_file(store, "enclaves", write_csv(tmp_path / "a.csv", rows), scope=longyou)
    assert counts(as_county) == (0, 0, 0, 2)
    assert all("该飞地涉及" in m for ps in reasons(as_county).values() for _, _, m in ps)
    as_city = import_file(store, "enclaves", write_csv(tmp_path / "b.csv", rows), scope=quzhou)
    assert counts(as_city) == (1, 0, 0, 1) and set(imported(store.con)) == {"FD-31"}
    import_file(store, "enclaves", write_csv(tmp_path / "c.csv", rows))       # the province loads both
    returns = [RETURN_HEADER, ["FD-30", None, "2023", "50"], ["FD-31", None, "2023", "20"]]
    by_owner = import_file(store, "enclave-returns", write_csv(tmp_path / "r.csv", returns), scope=longyou)
    assert counts(by_owner) == (2, 0, 0, 0)                                   # 龙游 owns both
    by_host = import_file(store, "enclave-returns", write_csv(tmp_path / "r2.csv", returns),
                          scope=Scope.of(store, "330211"))
    assert counts(by_host) == (0, 0, 0, 2)
    assert all("该飞地收益属于" in m for ps in reasons(by_host).values() for _, _, m in ps)


def test_reloading_the_reference_keeps_imported_enclaves(store, tmp_path):
    import_file(store, "enclaves", write_csv(tmp_path / "e.csv", [
        ENCLAVE_HEADER, ["ref-zhenhai-longyou", "改过的名称", "消薄飞地", "镇海区", "龙游县", None, None]]))
    import_file(store, "enclave-returns", write_csv(tmp_path / "r.csv", [
        RETURN_HEADER, ["ref-zhenhai-longyou", None, "2020", "300"]]))
    load_reference(store.con)
    assert store.con.execute("SELECT name FROM enclaves WHERE enclave_id = 'ref-zhenhai-longyou'").fetchone() \
        == ("改过的名称",)
    assert store.con.execute("SELECT amount FROM enclave_returns WHERE enclave_id = 'ref-zhenhai-longyou' "
                             "AND year = 2020").fetchone() == (Decimal("300.0000"),)
    assert store.con.execute("SELECT count(*) FROM enclaves").fetchone()[0] == 10


@pytest.mark.parametrize("name", ["enclaves", "enclave-returns"])
def test_a_template_filled_with_its_examples_imports_cleanly(name, store, tmp_path):
    if name == "enclave-returns":
        import_file(store, "enclaves", write_csv(tmp_path / "e.csv", [
            ENCLAVE_HEADER, ["FD-330825-01", "镇海—龙游消薄飞地", "消薄飞地", "镇海区", "龙游县", None, None]]))
    kind = spec.kind(name)
    row = [example_text(c) or None for c in kind.columns]
    path = tmp_path / f"{name}.xlsx"
    corpus._write_xlsx([[c.label for c in kind.columns], row])(path)
    result = import_file(store, name, path)
    assert counts(result) == (1, 0, 0, 0), result.rejects
    assert result.unknown_columns == []
