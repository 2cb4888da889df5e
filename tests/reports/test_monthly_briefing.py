"""The monthly briefing (reports.monthly): every sentence states a figure the facts hold, the
month's index run is computed once and reused, the documents render in both languages and formats,
and a county's briefing names no firm or area outside the county."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest

from shanhai.reports import monthly as report
from shanhai.store import open_store
from shanhai.store.scope import Scope

COUNTY, CITY = "331127", "331100"


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("monthly") / "monthly.duckdb"
    shutil.copy(small_db, path)
    return path


def _text_of_pdf(data: bytes) -> str:
    """The PDF's text by poppler's pdftotext (installed by `make sysdeps`)."""
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def test_prepare_computes_once_and_sentences_follow_the_facts(db):
    with open_store(db) as store:
        scope = Scope.province()
        first = report.prepare(store, scope, CITY, None, user="tests")
        assert first and report.prepare(store, scope, CITY, None, user="tests") == first
        assert report.prepare(store, scope, COUNTY, None, user="tests") == first     # the city's run covers it
        facts = report.gather(store, scope, CITY)
    ix = facts["indices"]
    assert ix["run_id"] == first and ix["total"]["adcode"] == CITY
    text = " ".join(report.sentences(facts))
    assert f"{ix['total']['composite_index']:,.1f}" in text
    top = ix["divisions"]["top"][0]
    assert top["group_name"] in text and f"{top['composite_index']:,.1f}" in text
    assert ix["divisions"]["top"][0]["composite_index"] >= ix["divisions"]["bottom"][0]["composite_index"]
    if facts["targets"]:
        k = facts["targets"]["counts"]
        assert f"红灯 {k.get('red', 0)} 项" in text
        tg = facts["targets"]
        if tg["rose"] or tg["fell"]:
            assert f"{len(tg['rose'])} 项目标灯色好转、{len(tg['fell'])} 项转差" in text


def test_without_an_index_run_the_briefing_says_so(db, tmp_path):
    copy = tmp_path / "bare.duckdb"
    shutil.copy(db, copy)
    with open_store(copy) as store:
        store.con.execute("DELETE FROM power_index_values")
        store.con.execute("DELETE FROM runs WHERE kind = 'power_index'")
        facts = report.gather(store, Scope.province(), COUNTY)
    assert facts["indices"] is None
    assert "电力指数从略" in " ".join(report.sentences(facts))


@pytest.mark.parametrize("fmt, lang", [("pdf", "zh"), ("docx", "en")])
def test_documents_render(db, fmt, lang):
    with open_store(db) as store:
        data, name, media = report.render(store, Scope.province(), CITY, None, fmt, lang)
    assert name.endswith(f".{fmt}") and len(data) > 10_000
    assert media == report.FORMATS[fmt]
    if fmt == "pdf":
        assert data[:4] == b"%PDF"
        text = _text_of_pdf(data)
        assert "丽水市" in text and "电力指数" in text
    else:
        from docx import Document

        doc = Document(io.BytesIO(data))
        body = "\n".join(p.text for p in doc.paragraphs)
        assert "monthly briefing" in body and "Electricity indices" in body


def test_county_briefing_names_nothing_outside_the_county(db):
    with open_store(db) as store:
        scope = Scope.of(store, COUNTY)
        data, _, _ = report.render(store, scope, None, None, "pdf", "zh")
        outside = [n for (n,) in store.con.execute(
            f"SELECT name FROM regions WHERE level = 'county' AND adcode LIKE '3311%' AND adcode <> '{COUNTY}'").fetchall()]
        firms = [n for (n,) in store.con.execute(
            f"SELECT name FROM enterprises WHERE county_adcode <> '{COUNTY}' AND county_adcode LIKE '3311%'").fetchall()]
        with pytest.raises(Exception):
            report.gather(store, scope, CITY)
    text = _text_of_pdf(data)
    assert "景宁" in text
    assert not any(n in text for n in outside)
    assert not any(n in text for n in firms)


def test_carbon_and_ledger_sections_state_their_figures(db, tmp_path):
    from shanhai.jobs import carbon as jc
    from shanhai.jobs import transition as jt

    copy = tmp_path / "carbon.duckdb"
    shutil.copy(db, copy)
    with open_store(copy) as store:
        scope = Scope.province()
        jc.run(store, user="tests")
        facts = report.gather(store, scope, CITY)
        titles = [p["title"]["zh"] for p in facts["extra"]]
        assert "碳效与低碳产业" in titles
        text = " ".join(report.sentences(facts))
        doc = jc.briefing(store, CITY)
        for level, n in (doc["level_counts"] or {}).items():
            assert f" {n} 家" in text
        if doc["low_carbon_share"] is not None:
            assert f"{100 * doc['low_carbon_share']:.1f}%" in text
        ledger = jt.summary(store, scope, CITY)
        if ledger["actions_done"]:
            assert f"已完成整治与淘汰 {ledger['actions_done']} 项" in text
