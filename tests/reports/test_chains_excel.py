"""Industrial-chain workbooks (``shanhai.reports.chains_excel``): the attraction target list and a
chain's panorama, built from the documents of ``shanhai.jobs.chains`` and read back with
fastexcel — every row there, masked firms masked, the basis on the data sheet and on 说明."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import fastexcel
import pytest

from shanhai.jobs import chains as jc
from shanhai.jobs import mujun
from shanhai.policy import chain_rules
from shanhai.reports import chains_excel as cx
from shanhai.store import open_store
from shanhai.store.scope import Scope

COUNTY = "331127"     # 景宁, a mountain county


@pytest.fixture(scope="module")
def docs(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("chains_excel") / "chains.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        year = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]
        mujun.run(store, "zhejiang-2018", year, user="tests")
        county, province = Scope.of(store, COUNTY), Scope.of(store, "330000")
        chain_id = store.con.execute(f"""SELECT s.chain_id FROM enterprise_segments es
            JOIN chain_segments s USING (segment_id) JOIN enterprises e USING (uscc) WHERE e.county_adcode = '{COUNTY}' GROUP BY 1 ORDER BY count(*) DESC, 1
            LIMIT 1""").fetchone()[0]
        return SimpleNamespace(
            masked=jc.targets(store, county, None, limit=300),
            named=jc.targets(store, province, COUNTY, limit=300),
            panorama=jc.panorama(store, province, "331100", chain_id),
            chain_id=chain_id)


def read(data: bytes, tmp_path, name: str = "book.xlsx") -> dict[str, list[list]]:
    path = tmp_path / name
    path.write_bytes(data)
    reader = fastexcel.read_excel(str(path))
    return {sheet: [list(r.values()) for r in reader.load_sheet_by_name(sheet, header_row=None).to_arrow().to_pylist()]
            for sheet in reader.sheet_names}


def text(book) -> str:
    return "\n".join(str(v) for rows in book.values() for row in rows for v in row if v is not None)


def data_rows(book, sheet: str, key: str) -> tuple[list, list[list]]:
    header = book[sheet][1]
    col = header.index(key)
    return header, [row for row in book[sheet][2:] if row[col] not in (None, "")]


def test_targets_workbook_masks_and_explains(docs, tmp_path):
    doc = docs.masked
    assert doc["targets"], "a mountain county has weak or missing segments to fill"
    book = read(cx.targets_workbook(doc), tmp_path)
    assert list(book) == ["招商目标", "说明"]
    header, rows = data_rows(book, "招商目标", "目标环节")
    assert [h for h, _ in cx.TARGET_COLUMNS] == header
    assert len(rows) == len(doc["targets"])
    name, uscc, score = header.index("企业名称"), header.index("统一社会信用代码"), header.index("总分")
    for row, t in zip(rows, doc["targets"]):
        assert abs(float(row[score]) - t["score"]) < 1e-6
        if t["masked"]:
            assert row[name] == jc.MASKED_NAME[0] and row[uscc] in (None, "")
    points = [header.index(f"{zh}得分") for _, zh, _ in cx.COMPONENTS]
    assert all(abs(sum(float(row[i]) for i in points) - float(row[score])) < 1e-3 for row in rows)
    notes = {row[0]: row[1] for row in book["说明"][1:]}
    all_text = text(book)
    for value in doc["basis"].values():
        if value is not None:
            assert str(value) in all_text
    assert doc["basis"]["data_fingerprint"] in " ".join(str(v) for v in book["招商目标"][-1] if v)   # footer
    assert any(k.startswith("权重 环节契合") for k in notes) and "不显示名称" in notes["数据范围 Scope"]
    assert "default" in notes["判定规则名称 Rule set"]


def test_targets_workbook_names_firms_inside_the_region(docs, tmp_path):
    doc = docs.named
    assert all(not t["masked"] for t in doc["targets"])
    book = read(cx.targets_workbook(doc), tmp_path)
    header, rows = data_rows(book, "招商目标", "目标环节")
    name, uscc = header.index("企业名称"), header.index("统一社会信用代码")
    assert [r[name] for r in rows] == [t["name"] for t in doc["targets"]]
    assert [r[uscc] for r in rows] == [t["uscc"] for t in doc["targets"]]


def test_a_masked_row_stays_masked_even_if_it_carried_a_name(docs, tmp_path):
    doc = {**docs.named, "targets": [{**docs.named["targets"][0], "masked": True}]}
    data = cx.targets_workbook(doc)
    book = read(data, tmp_path)
    assert docs.named["targets"][0]["uscc"] not in text(book)
    assert docs.named["targets"][0]["name"] not in text(book)


def test_targets_workbook_without_targets(docs, tmp_path):
    book = read(cx.targets_workbook({**docs.masked, "targets": [], "segments": [], "total": 0}), tmp_path)
    assert "无薄弱或缺失环节" in text(book)


def test_panorama_workbook(docs, tmp_path):
    doc = docs.panorama
    book = read(cx.panorama_workbook(doc), tmp_path)
    assert list(book) == ["环节", "说明"]
    header, rows = data_rows(book, "环节", "判定规则")
    assert [h for h, _ in cx.SEGMENT_COLUMNS] == header
    assert [r[header.index("环节")] for r in rows] == [s["name"] for s in doc["segments"]]
    rules = chain_rules()
    for row, s in zip(rows, doc["segments"]):
        assert row[header.index("状态")] == jc.STATUS_LABELS[s["status"]][0]
        assert row[header.index("判定规则")] == cx.rule_text(rules, s["status_rule"], status=s["status"])
        assert float(row[header.index("企业数")]) == s["firms"]
    all_text = text(book)
    assert doc["basis"]["data_fingerprint"] in all_text and doc["basis"]["rules_fingerprint"] in all_text
    notes = {row[0]: row[1] for row in book["说明"][1:]}
    assert notes["产业链 Chain"].endswith(f"（{docs.chain_id}）")
    assert sum(1 for k in notes if k.startswith("状态规则")) == len(rules.status)


def test_rule_text():
    rules = chain_rules()
    assert cx.rule_text(rules, None) == "未满足任何规则，判为「具备」"
    assert cx.rule_text(rules, None, "en") == "no rule held: present"
    assert "非制造" in cx.rule_text(rules, None, status="outside")
    for n, rule in enumerate(rules.status, 1):
        zh, en = cx.rule_text(rules, n), cx.rule_text(rules, n, "en")
        assert zh.startswith(f"规则{n}：") and zh.endswith(jc.STATUS_LABELS[rule.status][0])
        assert en.startswith(f"rule {n}: {jc.STATUS_LABELS[rule.status][1]} when ")
    share_rule = next(n for n, r in enumerate(rules.status, 1) if r.share_min is not None)
    assert "占全省比重 ≥ 10%" in cx.rule_text(rules, share_rule)
    assert cx.rule_text(rules, 99) == "规则99"
