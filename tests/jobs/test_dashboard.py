"""The dashboard's data layer (``shanhai.jobs.dashboard``): its numbers are the stored run's, and
the region scope is applied in the queries — a county scope never returns another county's rows,
and asking for one is refused."""

from __future__ import annotations

import shutil
from decimal import Decimal
from types import SimpleNamespace

import pytest

from shanhai import policy
from shanhai.jobs import dashboard as d
from shanhai.jobs import mujun
from shanhai.jobs import mujun_review
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    """The small province with zhejiang-2018 on two years, and a run of one county of another
    city (a run a county elsewhere must not see)."""
    path = tmp_path_factory.mktemp("dashboard") / "dashboard.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        years = [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]
        a = mujun.run(store, "zhejiang-2018", years[-2]).run_id
        b = mujun.run(store, "zhejiang-2018", years[-1]).run_id
        county, city = store.con.execute(
            f"SELECT county_adcode, city_adcode FROM mujun_results WHERE run_id = '{b}' "
            "AND \"class\" IN ('C', 'D') GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
        other = store.con.execute(
            f"SELECT county_adcode FROM mujun_results WHERE run_id = '{b}' AND city_adcode <> '{city}' "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]
        far = mujun.run(store, "zhejiang-2018", years[-1], region=other).run_id
    d.clear_cache()
    return SimpleNamespace(path=path, a=a, b=b, far=far, county=county, city=city, other=other,
                           year=years[-1])


@pytest.fixture
def store(world):
    with open_store(world.path, read_only=True) as s:
        yield s


def scalar(store, sql):
    return store.con.execute(sql).fetchone()[0]


def counties_in(value) -> set[str]:
    """Every county adcode anywhere in a result (keys county_adcode, and adcodes of counties)."""
    found: set[str] = set()

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ("county_adcode",) and v:
                    found.add(v)
                elif k == "adcode" and isinstance(v, str) and x.get("level") == "county":
                    found.add(v)
                else:
                    walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    walk(value)
    return found


# ---- numbers match the stored run ------------------------------------------------------------

def test_county_metrics_are_the_stored_rollups(store, world):
    data = d.county_metrics(store, Scope.province(), world.b)
    assert len(data["counties"]) == 90
    row = next(c for c in data["counties"] if c["adcode"] == world.county)
    tax, va, prev = store.con.execute(
        f"SELECT tax_per_mu, value_added_per_mu, prev_tax_per_mu FROM mujun_rollups WHERE run_id = '{world.b}' "
        f"AND level = 'county' AND scope = 'above_scale' AND key = '{world.county}'").fetchone()
    assert row["tax_per_mu"] == pytest.approx(tax)
    assert row["value_added_per_mu"] == pytest.approx(va)
    assert row["tax_growth"] == pytest.approx((tax / prev - 1) * 100)
    counts = dict(store.con.execute(
        f"SELECT \"class\", count(*) FROM mujun_results WHERE run_id = '{world.b}' "
        f"AND county_adcode = '{world.county}' GROUP BY 1").fetchall())
    assert {k: v for k, v in row["classes"].items() if v} == counts
    evaluated = sum(v for k, v in counts.items() if k != "T")
    assert row["share_top"] == pytest.approx(100 * counts.get("A", 0) / evaluated)
    assert row["share_bottom"] == pytest.approx(100 * (counts.get("C", 0) + counts.get("D", 0)) / evaluated)
    assert {m["id"] for m in data["metrics"]} == set(d.METRICS)
    assert data["run"]["run_id"] == world.b and data["run"]["policy"] == "zhejiang-2018"


def test_headline_is_the_region_rollup_and_target_gaps(store, world):
    h = d.headline(store, Scope.province(), world.b)
    tax = scalar(store, f"SELECT tax_per_mu FROM mujun_rollups WHERE run_id = '{world.b}' AND level = 'province' "
                        "AND scope = 'above_scale'")
    assert h["figures"]["tax_per_mu"] == pytest.approx(tax)
    gaps = mujun.target_gaps(store, world.b)
    province = [g for g in gaps if g["level"] in ("province", "city")]
    assert {(g["target_id"], g["actual"]) for g in h["targets"]} == {(g["target_id"], g["actual"]) for g in province}
    grouped = sum(g["total"] for g in h["target_groups"])
    assert grouped == len([g for g in gaps if g["level"] in ("county", "zone")])
    for g in h["target_groups"]:
        assert g["reached"] == sum(1 for r in g["rows"] if r["achieved"] is not None and r["achieved"] >= 1)
    assert {m["key"] for m in h["mountain26"]} == {"mountain26", "rest"}

    county = Scope.of(store, world.county)
    hc = d.headline(store, county, world.b)
    assert hc["figures"]["adcode"] == world.county
    assert all(g["key"] == world.county or g["level"] == "zone" for g in hc["targets"] + [
        r for grp in hc["target_groups"] for r in grp["rows"]])
    assert not any(g["level"] == "province" for g in hc["targets"])
    assert hc["mountain26"] is None


def test_results_filter_sort_and_page(store, world):
    scope = Scope.of(store, world.county)
    res = d.results(store, scope, world.b, d.Filters(cls="D"), sort="tax_per_mu", desc=True, per_page=5)
    expected = scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{world.b}' "
                             f"AND county_adcode = '{world.county}' AND \"class\" = 'D'")
    assert res["total"] == expected and expected > 0
    assert all(r["class"] == "D" for r in res["rows"])
    taxes = [r["tax_per_mu"] for r in res["rows"] if r["tax_per_mu"] is not None]
    assert taxes == sorted(taxes, reverse=True)
    # pages partition the list
    everyone = d.results(store, scope, world.b, per_page=500)
    assert everyone["total"] == scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{world.b}' "
                                              f"AND county_adcode = '{world.county}'")
    p1 = d.results(store, scope, world.b, per_page=7, page=1)["rows"]
    p2 = d.results(store, scope, world.b, per_page=7, page=2)["rows"]
    assert [r["uscc"] for r in p1 + p2] == [r["uscc"] for r in everyone["rows"][:14]]
    # class order: best first, T last
    order = [r["class"] for r in everyone["rows"]]
    rank = {c: i for i, c in enumerate(["A", "B", "C", "D", "T"])}
    assert [rank[c] for c in order] == sorted(rank[c] for c in order)
    # a town, a zone and an industry filter
    town = everyone["rows"][0]["town_adcode"]
    by_town = d.results(store, scope, world.b, d.Filters(town=town), per_page=500)
    assert by_town["total"] == sum(1 for r in everyone["rows"] if r["town_adcode"] == town)
    code = everyone["rows"][0]["industry_code"][:2]
    by_ind = d.results(store, scope, world.b, d.Filters(industry=code), per_page=500)
    assert by_ind["total"] == sum(1 for r in everyone["rows"] if r["industry_code"].startswith(code))
    name = everyone["rows"][0]["name"]
    assert any(r["uscc"] == everyone["rows"][0]["uscc"]
               for r in d.results(store, scope, world.b, d.Filters(q=name))["rows"])
    with pytest.raises(d.ShanhaiError, match="sort"):
        d.results(store, scope, world.b, sort="password")


def test_bands_count_every_evaluated_firm(store, world):
    scope = Scope.of(store, world.county)
    for indicator in ("tax_per_mu", "value_added_per_mu"):
        b = d.bands(store, scope, world.b, indicator)
        evaluated = scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{world.b}' "
                                  f"AND county_adcode = '{world.county}' AND \"class\" <> 'T'")
        assert b["total"] == evaluated
        assert len(b["labels"]) == len(d.BANDS[indicator]) + 2          # below, bands, open top, no data
        low = d.BANDS[indicator][1]
        under = scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{world.b}' AND county_adcode = "
                              f"'{world.county}' AND \"class\" <> 'T' AND {indicator} >= 0 AND {indicator} < {low}")
        assert sum(counts[1] for counts in b["counts"].values()) == under


def test_drill_down_province_city_county_town(store, world):
    p = Scope.province()
    top = d.drill(store, p, world.b)
    assert top["child_level"] == "city" and len(top["children"]) == 11
    city = d.drill(store, p, world.b, world.city)
    assert city["child_level"] == "county"
    assert {c["adcode"] for c in city["children"]} == {
        r[0] for r in store.con.execute(f"SELECT adcode FROM regions WHERE level = 'county' "
                                        f"AND city_adcode = '{world.city}'").fetchall()}
    county = d.drill(store, p, world.b, world.county)
    assert county["child_level"] == "town"
    firms = sum(t["firms"] or 0 for t in county["children"])
    assert firms == scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{world.b}' "
                                  f"AND county_adcode = '{world.county}' AND town_adcode IS NOT NULL")
    town = county["children"][0]["adcode"]
    firms_of_town = d.drill(store, p, world.b, town)
    assert firms_of_town["child_level"] == "enterprise"
    assert {r["town_adcode"] for r in firms_of_town["children"]} == {town}
    assert [c["adcode"] for c in firms_of_town["breadcrumb"]] == ["330000", world.city, world.county, town]
    # a county's user starts at the county
    mine = d.drill(store, Scope.of(store, world.county), world.b)
    assert [c["adcode"] for c in mine["breadcrumb"]] == [world.county]


def test_enterprise_is_the_explanation_and_history(store, world):
    scope = Scope.of(store, world.county)
    uscc, cls = store.con.execute(
        f"SELECT uscc, \"class\" FROM mujun_results WHERE run_id = '{world.b}' AND county_adcode = '{world.county}' "
        "AND \"class\" <> 'T' ORDER BY uscc LIMIT 1").fetchone()
    e = d.enterprise(store, scope, world.b, uscc)
    assert e["explain"]["class"] == cls and e["explain"]["uscc"] == uscc
    assert "总分" in e["explain"]["explain_text"]
    assert [y["year"] for y in e["years"]] == [r[0] for r in store.con.execute(
        f"SELECT year FROM enterprise_years WHERE uscc = '{uscc}' ORDER BY year").fetchall()]
    y = next(y for y in e["years"] if y["year"] == world.year)
    land = scalar(store, f"SELECT land_used_mu FROM mujun_results WHERE run_id = '{world.b}' AND uscc = '{uscc}'")
    assert y["land_used_mu"] == pytest.approx(land)
    assert {r["run_id"] for r in e["runs"]} >= {world.a, world.b}
    assert world.far not in {r["run_id"] for r in e["runs"]}


def test_transitions_are_the_review_comparison(store, world):
    scope = Scope.of(store, world.county)
    t = d.transitions(store, scope, world.a, world.b)
    c = mujun_review.compare(store, world.a, world.b, world.county)
    assert t["matrix"] == c.matrix and t["both"] == c.both and t["moved"] == c.moved
    assert t["up"] + t["down"] == c.moved
    assert sum(sum(r.values()) for r in t["matrix"].values()) == t["both"]
    assert t["a"]["run_id"] == world.a and t["b"]["run_id"] == world.b


def test_collection_progress(store, world):
    scope = Scope.of(store, world.county)
    p = d.collection_progress(store, scope)
    assert p["year"] == world.year
    assert [c["adcode"] for c in p["counties"]] == [world.county]
    reported = scalar(store, f"SELECT count(*) FROM enterprises e JOIN enterprise_years y ON y.uscc = e.uscc "
                             f"AND y.year = {world.year} WHERE e.county_adcode = '{world.county}' "
                             f"AND e.status = 'active'")
    assert p["total"]["reported"] == reported
    assert sum(t["reported"] for t in p["towns"]) == reported
    assert all(t["adcode"].startswith(world.county) for t in p["towns"] if t["adcode"])
    assert 0 <= p["total"]["reported_share"] <= 1


def test_presets_side_by_side():
    cmp = d.presets_compare("zhejiang-2018", "huangyan-2022")
    assert len(cmp["diff"]) == len(policy.diff(policy.get("zhejiang-2018"), policy.get("huangyan-2022")))
    assert cmp["a"]["name"] == "zhejiang-2018" and cmp["a"]["populations"]
    assert {p["name"] for p in d.presets_list()} == set(policy.presets())


# ---- scope ----------------------------------------------------------------------------------

def test_a_county_scope_never_returns_another_countys_rows(store, world):
    scope = Scope.of(store, world.county)
    uscc = scalar(store, f"SELECT min(uscc) FROM mujun_results WHERE run_id = '{world.b}' "
                         f"AND county_adcode = '{world.county}'")
    outputs = [
        d.runs(store, scope), d.county_metrics(store, scope, world.b), d.drill(store, scope, world.b),
        d.headline(store, scope, world.b), d.results(store, scope, world.b, per_page=500),
        d.filter_options(store, scope, world.b), d.bands(store, scope, world.b),
        d.enterprise(store, scope, world.b, uscc), d.transitions(store, scope, world.a, world.b),
        d.collection_progress(store, scope), d.run_summary(store, scope, world.b), d.scope_regions(store, scope),
    ]
    for out in outputs:
        assert counties_in(out) <= {world.county}, out
    metrics = d.county_metrics(store, scope, world.b)["counties"]
    assert [c["adcode"] for c in metrics] == [world.county]
    assert d.run_summary(store, scope, world.b)["firms"] == scalar(
        store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{world.b}' AND county_adcode = '{world.county}'")


def test_a_city_scope_stays_in_its_city(store, world):
    scope = Scope.of(store, world.city)
    res = d.results(store, scope, world.b, per_page=500)
    cities = {r[0] for r in store.con.execute(
        f"SELECT adcode FROM regions WHERE level = 'county' AND city_adcode = '{world.city}'").fetchall()}
    assert {r["county_adcode"] for r in res["rows"]} <= cities
    assert res["total"] == scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{world.b}' "
                                         f"AND city_adcode = '{world.city}'")
    assert {c["adcode"] for c in d.county_metrics(store, scope, world.b)["counties"]} == cities
    top = d.drill(store, scope, world.b)
    assert top["child_level"] == "county" and {c["adcode"] for c in top["children"]} == cities


def test_asking_outside_the_scope_is_refused(store, world):
    scope = Scope.of(store, world.county)
    outsider = scalar(store, f"SELECT min(uscc) FROM mujun_results WHERE run_id = '{world.b}' "
                             f"AND county_adcode = '{world.other}'")
    with pytest.raises(OutOfScopeError):
        d.enterprise(store, scope, world.b, outsider)
    with pytest.raises(OutOfScopeError):
        d.drill(store, scope, world.b, world.other)
    with pytest.raises(OutOfScopeError):
        d.drill(store, scope, world.b, "330000")
    with pytest.raises(OutOfScopeError):
        d.results(store, scope, world.b, d.Filters(county=world.other))
    town = scalar(store, f"SELECT min(adcode) FROM regions WHERE level = 'town' AND parent_adcode = '{world.other}'")
    with pytest.raises(OutOfScopeError):
        d.results(store, scope, world.b, d.Filters(town=town))
    with pytest.raises(OutOfScopeError):
        d.collection_progress(store, scope, county=world.other)
    # another county's run is neither listed nor readable
    assert world.far not in {r["run_id"] for r in d.runs(store, scope)}
    with pytest.raises(OutOfScopeError):
        d.run_info(store, scope, world.far)
    with pytest.raises(OutOfScopeError):
        d.transitions(store, scope, world.b, world.far)
    # what does not exist is NotFound
    with pytest.raises(d.NotFound):
        d.run_info(store, scope, "mujun-1999-nothing")
    with pytest.raises(d.NotFound):
        d.enterprise(store, scope, world.b, "91330000000000000X")
    # the province sees the far run
    assert world.far in {r["run_id"] for r in d.runs(store, Scope.province())}


def test_default_run_covers_the_scope(store, world):
    assert d.default_run(store, Scope.province()).run_id == world.b       # not the far county's later run
    assert d.default_run(store, Scope.of(store, world.other)).run_id == world.far


def test_whatif_runs_inside_the_scope_and_compares(world):
    with open_store(world.path) as store:
        scope = Scope.of(store, world.county)
        out = d.whatif(store, scope, world.b, "huangyan-2022", "tests")
        info = d.run_info(store, scope, out["b"])
        assert info.region == world.county and info.policy == "huangyan-2022" and info.year == world.year
        t = d.transitions(store, scope, out["a"], out["b"])
        assert t["both"] == scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{world.b}' "
                                          f"AND county_adcode = '{world.county}'")
        assert t["policy_changes"]
        with pytest.raises(OutOfScopeError):
            d.run_evaluation(store, scope, "zhejiang-2018", world.year, world.other, "tests")


def test_run_lists_count_the_scopes_firms(store, world):
    for scope in (Scope.province(), Scope.of(store, world.city), Scope.of(store, world.county),
                  Scope.of(store, world.other)):
        for r in d.runs(store, scope):
            n = scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{r['run_id']}' "
                              f"AND {scope.sql('county_adcode')}")
            assert r["firms"] == n, (scope, r["run_id"])
            assert r["evaluated"] == n - r["classes"].get("T", 0)


def test_the_fast_run_rows_are_the_views_rows(store, world):
    """The screens read a run's firms without the view mujun_results (which joins every year's
    facts on each query); what they read must be exactly the view's values."""
    scope = Scope.of(store, world.city)
    res = d.results(store, scope, world.b, per_page=500, sort="score", desc=True)
    cols = ["uscc", "name", "county_adcode", "town_adcode", "zone_id", "industry_code", "above_scale", "population",
            "class", "score_class", "class_rule", "total_score", "rank", "unit_size", "land_used_mu", "tax_paid",
            "value_added", "tax_per_mu", "value_added_per_mu", "surcharge_yuan", "excluded_reason"]
    view = {r[0]: dict(zip(cols, r)) for r in store.con.execute(
        f"SELECT {', '.join(chr(34) + c + chr(34) for c in cols)} FROM mujun_results "
        f"WHERE run_id = '{world.b}' AND city_adcode = '{world.city}'").fetchall()}
    assert res["total"] == len(view)
    for row in res["rows"]:
        expected = view[row["uscc"]]
        for c in cols:
            want, got = expected[c], row[c]
            if isinstance(want, (float, int, Decimal)) and not isinstance(want, bool):
                assert got == pytest.approx(float(want)), (row["uscc"], c)
            else:
                assert got == want, (row["uscc"], c)
    b = d.bands(store, scope, world.b, "value_added_per_mu")
    low = d.BANDS["value_added_per_mu"][1]
    assert sum(c[1] for c in b["counts"].values()) == scalar(
        store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{world.b}' AND city_adcode = '{world.city}' "
               f"AND \"class\" <> 'T' AND value_added_per_mu >= 0 AND value_added_per_mu < {low}")
