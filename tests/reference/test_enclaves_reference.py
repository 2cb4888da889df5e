"""The packaged enclaves (``data/enclaves.csv``): publicly reported 飞地 of the mountain counties,
each with a source address and a confidence, short notes only, loaded into the store as package
rows (dataset_id NULL) with the one observed return, and documented in SOURCES.md and LICENSES.txt."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from shanhai import reference as ref
from shanhai.errors import ShanhaiError
from shanhai.reference import _loaders
from shanhai.store import load_reference, open_store

DATA = Path(ref.__file__).parent / "data"


def test_every_enclave_is_sourced_and_placed() -> None:
    enclaves = ref.enclaves()
    assert len(enclaves) == 10
    assert len({e.enclave_id for e in enclaves}) == 10
    mountain = {r.adcode for r in ref.mountain_counties()}
    all_mountain_cities = {c.adcode for c in ref.cities()
                           if all(r.mountain26 for r in ref.counties() if r.city_adcode == c.adcode)}
    assert all_mountain_cities == {"330800", "331100"}
    for e in enclaves:
        assert e.kind in ("industrial", "innovation", "village_income")
        assert e.source_url.startswith("http") and e.source_tag in ("news", "secondary")
        assert e.confidence in ("high", "medium", "low")
        assert ref.region(e.host_adcode).level in ("city", "county")
        assert ref.region(e.owner_adcode).level in ("city", "county")
        assert e.host_adcode != e.owner_adcode
        # every one involves the mountain counties, as the 山海协作 enclaves do
        assert e.owner_adcode in mountain | all_mountain_cities or e.host_adcode in mountain
        assert len(e.note) <= 120 and len(e.return_terms) <= 60           # facts, not copied texts
        if e.established:
            assert dt.date.fromisoformat(e.established_on) <= dt.date(2021, 12, 31)
    kinds = {e.kind for e in enclaves}
    assert kinds == {"industrial", "innovation", "village_income"}


def test_the_observed_return_and_the_tables() -> None:
    zhenhai = next(e for e in ref.enclaves() if e.enclave_id == "ref-zhenhai-longyou")
    assert (zhenhai.observed_return_year, zhenhai.observed_return_wan) == (2020, 331.0)
    assert zhenhai.established == "2019-11" and zhenhai.established_on == "2019-11-01"
    tables = ref.tables()
    rows = {r["enclave_id"]: r for r in tables["enclaves"].to_pylist()}
    assert set(rows) == {e.enclave_id for e in ref.enclaves()}
    assert rows["ref-zhenhai-longyou"]["established_on"] == dt.date(2019, 11, 1)
    assert rows["ref-ruian-wencheng"]["established_on"] is None
    assert rows["ref-binhai-kaihua"]["host_adcode"] == "330600"        # a functional zone: its city
    assert tables["enclave_returns"].to_pylist() == [{"enclave_id": "ref-zhenhai-longyou", "year": 2020,
                                                      "amount": 331.0}]


def test_loaded_as_package_rows(tmp_path) -> None:
    with open_store(tmp_path / "ref.duckdb") as store:
        counts = load_reference(store.con)
        assert (counts["enclaves"], counts["enclave_returns"]) == (10, 1)
        assert store.con.execute("SELECT count(*) FROM enclaves WHERE dataset_id IS NULL").fetchone()[0] == 10
        again = load_reference(store.con)
        assert again == counts
        assert store.con.execute("SELECT count(*) FROM enclaves").fetchone()[0] == 10


def test_documented() -> None:
    sources = (DATA / "SOURCES.md").read_text("utf-8")
    assert "**enclaves.csv**" in sources and "Partial" in sources.split("**enclaves.csv**")[1][:600]
    assert "enclaves.csv" in ref.licences_text()


def test_a_bad_row_is_refused(monkeypatch) -> None:
    good = (DATA / "enclaves.csv").read_text("utf-8")
    for bad, message in ((good.replace(",village_income,330482,", ",tourism,330482,", 1), "kind"),
                         (good.replace(",330482,平湖市,331121,", ",330482,平湖市,330482,", 1), "differ"),
                         (good.replace(",330482,平湖市,", ",339999,平湖市,", 1), "339999")):
        monkeypatch.setattr(_loaders, "_read_text", lambda name, text=bad: text)
        _loaders.enclaves.cache_clear()
        try:
            with pytest.raises(ShanhaiError, match=message):
                _loaders.enclaves()
        finally:
            _loaders.enclaves.cache_clear()
    monkeypatch.undo()
    assert len(_loaders.enclaves()) == 10
