"""``shanhai.jobs.opportunities`` on the small synthetic province: the county × class totals it
reads, the scope it enforces, the declared lead industries it marks, the suggestions it ranks."""

from __future__ import annotations

import contextlib
import io
import json
import warnings

import ecomplexity     # the oracle of analysis.relatedness, a test dependency
import numpy as np
import pytest

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs.opportunities import WEIGHTS, opportunities
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope


@pytest.fixture(scope="module")
def store(small_db):
    with open_store(small_db, read_only=True) as s:
        yield s


@pytest.fixture(scope="module")
def county(store) -> str:
    """A county with declared lead industries, at least one of whose classes it has firms in."""
    return store.con.execute(
        "SELECT l.adcode FROM lead_industries l JOIN enterprises e ON e.county_adcode = l.adcode "
        "AND starts_with(e.industry_code, split_part(l.codes, ';', 1)) GROUP BY 1 ORDER BY count(*) DESC, 1 "
        "LIMIT 1").fetchone()[0]


@pytest.fixture(scope="module")
def result(store, county):
    return opportunities(store, county, scope=Scope.province(), top=5)


def test_the_county_its_year_and_provenance(store, result, county):
    years = [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]
    assert result.adcode == county and result.year == years[-1] and result.measure == "value_added"
    p = result.provenance
    assert p["years"] == years and p["counties"] == 90 and p["classes"] == len(result.industries)
    synthetic = store.con.execute("SELECT dataset_id FROM datasets WHERE kind = 'synthetic'").fetchone()[0]
    assert p["datasets"] == [synthetic]
    assert len(p["fingerprint"]) == 32 and p["firms"] == store.con.execute(
        f"SELECT count(*) FROM enterprise_years WHERE year = {result.year} AND value_added IS NOT NULL").fetchone()[0]
    assert [h["year"] for h in result.eci_history] == years
    assert result.eci == result.eci_history[-1]["eci"] and 1 <= result.eci_rank <= result.counties == 90
    json.dumps(result.as_dict())                    # the CLI's --json and the web's API


def test_values_are_the_county_by_class_sums(store, result, county):
    sums = dict(store.con.execute(
        "SELECT e.industry_code, CAST(sum(y.value_added) AS DOUBLE) FROM enterprise_years y JOIN enterprises e "
        f"USING (uscc) WHERE y.year = {result.year} AND e.county_adcode = '{county}' GROUP BY 1").fetchall())
    got = {r["code"]: r["value"] for r in result.industries if r["value"]}
    assert got.keys() == sums.keys()
    assert all(got[k] == pytest.approx(v, rel=1e-12) for k, v in sums.items())
    assert result.total == pytest.approx(sum(sums.values()), rel=1e-12)
    assert {r["code"] for r in result.industries if r["present"]} <= sums.keys()


def test_measures_equal_ecomplexity_on_the_same_totals(store, county):
    """End to end: the store's totals through ecomplexity give the job's ECI, PCI, density, COG."""
    got = opportunities(store, county, scope=Scope.province(), measure="headcount")
    df = store.con.execute(
        "SELECT y.year, e.county_adcode AS location, e.industry_code AS product, CAST(sum(y.headcount) AS DOUBLE) "
        f"AS value FROM enterprise_years y JOIN enterprises e USING (uscc) WHERE y.headcount IS NOT NULL "
        f"AND y.year <= {got.year} GROUP BY ALL").df()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        out = ecomplexity.ecomplexity(df, {"time": "year", "loc": "location", "prod": "product", "val": "value"},
                                      check_logsupermodularity=False, verbose=False)
    theirs = out[(out.year == got.year) & (out.location == county)].set_index("product")
    assert got.eci == pytest.approx(theirs.eci.iloc[0], abs=1e-9)
    for row in got.industries:
        for name in ("rca", "density", "pci", "cog"):
            assert row[name] == pytest.approx(theirs.loc[row["code"], name], abs=1e-9), (row["code"], name)
    assert [h["eci"] for h in got.eci_history] == pytest.approx(
        [out[(out.year == h["year"]) & (out.location == county)].eci.iloc[0] for h in got.eci_history], abs=1e-9)


def test_declared_lead_industries_are_marked(store, result, county):
    leads = store.con.execute(f"SELECT name, codes FROM lead_industries WHERE adcode = '{county}' "
                              "ORDER BY position").fetchall()
    codes = {name: c.split(";") for name, c in leads}
    for row in result.industries:
        expected = next((name for name, cs in codes.items() if any(row["code"].startswith(c) for c in cs)), None)
        assert row["lead"] == expected, row["code"]
    assert [x["name"] for x in result.leads] == [name for name, _ in leads]
    marked = [r for r in result.industries if r["lead"]]
    assert marked and sum(x["classes"] for x in result.leads) >= len(marked)
    for x in result.leads:
        mine = [r for r in result.industries if any(r["code"].startswith(c) for c in x["codes"])]
        assert x["present"] == sum(r["present"] for r in mine)
        assert x["share"] == pytest.approx(sum(r["share"] for r in mine))


def test_develop_is_absent_classes_by_the_documented_score(result):
    absent = [r for r in result.industries if not r["present"] and r["density"] is not None]
    d = np.array([r["density"] for r in absent])
    g = np.array([r["cog"] for r in absent])
    score = WEIGHTS["density"] * (d - d.mean()) / d.std() + WEIGHTS["cog"] * (g - g.mean()) / g.std()
    assert [r["score"] for r in absent] == pytest.approx(score.tolist())
    assert len(result.develop) == 5 and all(r["suggestion"] == "develop" for r in result.develop)
    assert [r["code"] for r in result.develop] == \
        [absent[i]["code"] for i in sorted(range(len(absent)), key=lambda i: (-score[i], absent[i]["code"]))][:5]
    assert [r["rank"] for r in result.develop] == [1, 2, 3, 4, 5]
    for r in result.develop:
        assert "可行性" in r["reason_zh"] and "feasibility" in r["reason_en"]
        assert ("主导产业" in r["reason_zh"]) == bool(r["lead"])


def test_strengthen_is_present_classes_above_the_county(result):
    above = [r for r in result.industries if r["present"] and r["pci"] > result.eci]
    assert [r["code"] for r in result.strengthen] == \
        [r["code"] for r in sorted(above, key=lambda r: (-r["pci"], r["code"]))][:5]
    assert all(r["suggestion"] == "strengthen" and "复杂度" in r["reason_zh"] for r in result.strengthen)
    assert not any(r["suggestion"] for r in result.industries if r["present"] and r["pci"] <= result.eci)


def test_scope_is_enforced(store, county):
    city = county[:4] + "00"
    other = store.con.execute(f"SELECT adcode FROM regions WHERE level = 'county' AND city_adcode <> '{city}' "
                              "ORDER BY adcode LIMIT 1").fetchone()[0]
    assert opportunities(store, county, scope=Scope.of(store, county), top=1).adcode == county
    assert opportunities(store, county, scope=Scope.of(store, city), top=1).adcode == county
    for scope in (Scope.of(store, other), Scope.of(store, other[:4] + "00")):
        with pytest.raises(OutOfScopeError):
            opportunities(store, county, scope=scope)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"adcode": "330100"}, ShanhaiError, "is a city"),
    ({"adcode": "330000"}, ShanhaiError, "is a province"),
    ({"adcode": "339999"}, NotFoundError, "not a region"),
    ({"measure": "profit"}, ShanhaiError, "unknown measure"),
    ({"year": 1999}, ShanhaiError, "no enterprise data for 1999"),
    ({"top": 0}, ShanhaiError, "at least 1"),
])
def test_mistakes_are_one_sentence(store, county, kwargs, error, message):
    args = {"adcode": county, **kwargs}
    with pytest.raises(error, match=message):
        opportunities(store, args.pop("adcode"), scope=Scope.province(), **args)


def test_an_earlier_year_uses_only_the_years_up_to_it(store, county, result):
    first = result.provenance["years"][0]
    early = opportunities(store, county, scope=Scope.province(), year=first, top=3)
    assert early.year == first and early.provenance["years"] == [first]
    assert all(r["present_previous"] is None and r["change"] is None for r in early.industries)
    later = opportunities(store, county, scope=Scope.province(), year=first + 1, top=3)
    changes = {r["change"] for r in later.industries}
    assert changes <= {None, "new", "lost"}
    assert all(r["change"] == "new" for r in later.industries if r["present"] and r["present_previous"] is False)


def test_a_change_in_the_data_is_not_hidden_by_the_cache(small_db, tmp_path, county):
    """Every county reads one cached computation per year and measure; new data replaces it."""
    import shutil

    path = tmp_path / "changed.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        before = opportunities(store, county, scope=Scope.province(), top=3)
        code = max((r for r in before.industries if r["value"]), key=lambda r: r["value"])["code"]
        store.con.execute(f"DELETE FROM enterprise_years WHERE year = {before.year} AND uscc IN (SELECT uscc FROM "
                          f"enterprises WHERE county_adcode = '{county}' AND industry_code = '{code}')")
        after = opportunities(store, county, scope=Scope.province(), top=3)
    assert after.provenance["fingerprint"] != before.provenance["fingerprint"]
    assert after.provenance["firms"] < before.provenance["firms"]
    assert next((r["value"] for r in after.industries if r["code"] == code), 0.0) == 0.0
