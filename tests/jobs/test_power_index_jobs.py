"""``jobs.power_index`` on the small province: a stored run's cells equal an independent pandas
computation of the same definitions; runs are never overwritten; readers keep to the scope."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import power_index as jp
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope

COUNTY, CITY = "331127", "331100"


@pytest.fixture(scope="module")
def indexed(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("power") / "power.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        doc = jp.run(store, user="tests")
    return path, doc


def _pandas_cell(store, county: str | None, division: str | None, period: dt.date) -> dict:
    """The definitions, the plain way: average daily use per firm and period (Jan–Feb pooled),
    totals over firms, the operating test against the same period a year before."""
    m = store.con.execute("SELECT m.uscc, m.month, m.kwh, e.county_adcode, substr(e.industry_code, 1, 2) AS division "
                          "FROM electricity_monthly m JOIN enterprises e USING (uscc) WHERE m.kwh IS NOT NULL").df()
    if county:
        m = m[m.county_adcode == county]
    if division:
        m = m[m.division == division]
    m["month"] = pd.to_datetime(m["month"])
    m["period"] = m["month"].where(~m["month"].dt.month.isin([1, 2]), m["month"].map(lambda x: x.replace(month=2)))
    m["days"] = m["month"].dt.days_in_month
    g = m.groupby(["uscc", "period"]).agg(kwh=("kwh", "sum"), days=("days", "sum")).reset_index()
    g = g[g.kwh > 0]
    g["daily"] = g.kwh / g.days
    p = pd.Timestamp(period)
    prev = p - pd.DateOffset(years=1)
    cur = g[g.period == p].set_index("uscc")["daily"]
    before = g[g.period == prev].set_index("uscc")["daily"]
    both = pd.concat([cur.rename("cur"), before.rename("prev")], axis=1)
    base = both[both.prev.notna()]
    operating = int((base.cur.fillna(0) >= 0.3 * base.prev).sum())
    return {"firms": len(cur), "daily": cur.sum(), "daily_prev": before.sum(), "with_base": len(base),
            "operating": operating, "composite": 100 * (0.5 * cur.sum() / before.sum() + 0.5 * operating / len(base))}


@pytest.mark.parametrize("county, division", [(None, None), (COUNTY, None), ("330102", "13")])
def test_cells_equal_plain_computation(indexed, county, division):
    path, doc = indexed
    with open_store(path, read_only=True) as store:
        scope = Scope.province()
        period = dt.date.fromisoformat(doc["periods"][-1] + "-01")
        got = jp.cells(store, scope, region=county, by="group")
        row = got["total"] if division is None else next(r for r in got["rows"] if r["group_id"] == division)
        want = _pandas_cell(store, county, division, period)
    assert row["firms"] == want["firms"] and row["with_base"] == want["with_base"]
    assert row["operating"] == want["operating"]
    assert row["daily_kwh"] == pytest.approx(want["daily"], rel=1e-9)
    assert row["daily_kwh_prev"] == pytest.approx(want["daily_prev"], rel=1e-9)
    assert row["composite_index"] == pytest.approx(want["composite"], rel=1e-9)


def test_run_covers_the_rule_sets_months_with_january_pooled(indexed):
    _, doc = indexed
    assert len(doc["periods"]) == 13
    assert not any(p.endswith("-01") for p in doc["periods"])
    assert doc["cells"] > 0 and doc["firms"] > 0


def test_chain_cells_count_member_firms(indexed):
    path, _ = indexed
    with open_store(path, read_only=True) as store:
        got = jp.cells(store, Scope.province(), kind="chain")
        firms = dict(store.con.execute(
            "SELECT s.segment_id, count(DISTINCT s.uscc) FROM enterprise_segments s JOIN electricity_monthly m "
            f"ON m.uscc = s.uscc AND m.month IN ({', '.join(repr(p + '-01') for p in [got['period']])}) "
            "WHERE s.role <> 'excluded' AND m.kwh > 0 GROUP BY 1").fetchall())
    rows = {r["group_id"]: r for r in got["rows"]}
    assert firms and all(rows[seg]["firms"] == n for seg, n in firms.items())
    chains = [r for r in got["rows"] if "." not in r["group_id"]]
    assert chains, "chain totals are cells too"


def test_runs_are_never_overwritten(indexed, tmp_path):
    path, doc = indexed
    copy = tmp_path / "again.duckdb"
    shutil.copy(path, copy)
    with open_store(copy) as store:
        again = jp.run(store, region=COUNTY, user="tests")
        assert again["run_id"] != doc["run_id"]
        n = store.con.execute("SELECT count(DISTINCT run_id) FROM power_index_values").fetchone()[0]
        assert n == 2
        # a county reads the newest run covering it; the city the province-wide one
        assert jp.run_info(store, Scope.of(store, COUNTY))["run_id"] == again["run_id"]
        assert jp.run_info(store, Scope.of(store, CITY))["run_id"] == doc["run_id"]


def test_scope_county_sees_only_its_own_cells(indexed):
    path, _ = indexed
    with open_store(path, read_only=True) as store:
        county = Scope.of(store, COUNTY)
        doc = jp.cells(store, county, by="region")
        assert {r["adcode"] for r in [doc["total"], *doc["rows"]]} == {COUNTY}
        for kind in ("production", "chain"):
            assert all(r["adcode"] == COUNTY for r in jp.cells(store, county, kind=kind)["rows"])
        with pytest.raises(OutOfScopeError):
            jp.cells(store, county, region=CITY)
        with pytest.raises(OutOfScopeError):
            jp.series(store, county, region="330102")
        city = jp.cells(store, Scope.of(store, CITY), by="region")
        assert city["total"]["adcode"] == CITY and all(r["adcode"].startswith("3311") for r in city["rows"])
        assert len(city["rows"]) > 1


def test_bad_input_is_explained(indexed, tmp_path):
    path, doc = indexed
    with open_store(path, read_only=True) as store:
        with pytest.raises(ShanhaiError, match="expected YYYY-MM"):
            jp.cells(store, Scope.province(), period="June")
        with pytest.raises(NotFoundError, match="not in run"):
            jp.cells(store, Scope.province(), period="1999-06")
        with pytest.raises(ShanhaiError, match="index kind"):
            jp.cells(store, Scope.province(), kind="gdp")
    empty = tmp_path / "empty.duckdb"
    with open_store(empty) as store:
        with pytest.raises(ShanhaiError, match="no monthly electricity"):
            jp.run(store)
        with pytest.raises(NotFoundError, match="no electricity index run"):
            jp.cells(store, Scope.province())
