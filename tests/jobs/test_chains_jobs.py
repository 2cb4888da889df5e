"""Chain panoramas, targets and risk against a small synthetic province (jobs.chains): the
figures equal a direct SQL computation, regions roll up, scope is enforced and masked firms
never carry a name."""

from __future__ import annotations

import shutil

import pytest

from shanhai.errors import NotFoundError
from shanhai.jobs import chains as jc
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope

JINGNING, LISHUI = "331127", "331100"


@pytest.fixture(scope="module")
def world(small_evaluated):
    return small_evaluated


@pytest.fixture
def store(world):
    with open_store(world[0], read_only=True) as s:
        yield s


def sql_segment(store, year, run_id, segment_id, counties):
    inlist = ", ".join(f"'{c}'" for c in counties)
    return store.con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE y.above_scale), coalesce(sum(y.value_added), 0)::DOUBLE,
               coalesce(sum(y.tax_paid), 0)::DOUBLE, sum(y.revenue::DOUBLE * y.revenue::DOUBLE) / (sum(y.revenue)::DOUBLE ^ 2),
               count(*) FILTER (WHERE m.class = 'A')
        FROM enterprise_segments es JOIN enterprises e USING (uscc)
        JOIN enterprise_years y ON y.uscc = es.uscc AND y.year = {year}
        LEFT JOIN mujun_scores m ON m.run_id = '{run_id}' AND m.uscc = es.uscc
        WHERE es.segment_id = '{segment_id}' AND es.role <> 'excluded' AND e.county_adcode IN ({inlist})""").fetchone()


def busiest_county_chain(store):
    return store.con.execute("""
        SELECT e.county_adcode, s.chain_id FROM enterprise_segments es JOIN enterprises e USING (uscc)
        JOIN chain_segments s USING (segment_id) GROUP BY ALL ORDER BY count(*) DESC, 1, 2 LIMIT 1""").fetchone()


def test_panorama_figures_equal_sql(store, world):
    _, year, run_id = world
    county, chain_id = busiest_county_chain(store)
    doc = jc.panorama(store, Scope.province(), county, chain_id)
    assert doc["basis"]["year"] == year and doc["basis"]["run_id"] == run_id
    assert [s["segment_id"] for s in doc["segments"]] == [s.segment_id for s in jc.chain(store, chain_id).segments]
    region_va = store.con.execute(f"SELECT sum(value_added)::DOUBLE FROM enterprise_years y JOIN enterprises e "
                                  f"USING (uscc) WHERE y.year = {year} AND e.county_adcode = '{county}'").fetchone()[0]
    province_va = store.con.execute(f"SELECT sum(value_added)::DOUBLE FROM enterprise_years WHERE year = {year}"
                                    ).fetchone()[0]
    all_counties = [r[0] for r in store.con.execute("SELECT adcode FROM regions WHERE level = 'county'").fetchall()]
    checked = 0
    for s in doc["segments"]:
        n, above, va, tax, hhi, class_a = sql_segment(store, year, run_id, s["segment_id"], [county])
        assert (s["firms"], s["above"], s["classes"]["A"]) == (n, above, class_a)
        assert s["value_added"] == pytest.approx(va) and s["tax_paid"] == pytest.approx(tax)
        if n:
            checked += 1
            assert s["hhi"] == pytest.approx(hhi)
            p_va = sql_segment(store, year, run_id, s["segment_id"], all_counties)[2]
            assert s["share"] == pytest.approx(va / p_va)
            assert s["lq"] == pytest.approx((va / region_va) / (p_va / province_va))
        if s["status"] == "outside":
            assert not s["codes"] and not s["firms"]
            continue
        assert s["status"] == jc.chain_rules().status_of(
            {"firms": s["firms"], "above": s["above"], "lq": s["lq"], "share": s["share"], "leaders": s["leaders"]})[0]
    assert checked


def test_a_city_is_the_sum_of_its_counties_and_the_province_has_lq_one(store):
    chain_id = busiest_county_chain(store)[1]
    city = jc.panorama(store, Scope.province(), LISHUI, chain_id)
    parts = [jc.panorama(store, Scope.province(), c, chain_id) for c in city["region"]["units"]]
    for i, s in enumerate(city["segments"]):
        assert s["firms"] == sum(p["segments"][i]["firms"] for p in parts)
        assert s["value_added"] == pytest.approx(sum(p["segments"][i]["value_added"] for p in parts))
    province = jc.panorama(store, Scope.province(), "330000", chain_id)
    for s in province["segments"]:
        if s["firms"]:
            assert s["lq"] == pytest.approx(1.0) and s["share"] == pytest.approx(1.0)


def test_grid_covers_every_chain_and_county_of_the_scope(store):
    grid = jc.panorama_grid(store, Scope.of(store, LISHUI))
    counties = Scope.of(store, LISHUI).counties(store)
    assert {(g["county_adcode"], g["chain_id"]) for g in grid} == {
        (c, ch.chain_id) for c in counties for ch in jc.chain_list(store)}
    one = next(g for g in grid if g["county_adcode"] == JINGNING)
    doc = jc.panorama(store, Scope.province(), JINGNING, one["chain_id"])
    assert one["statuses"] == {s["segment_id"]: s["status"] for s in doc["segments"]}


def test_scope_is_enforced(store):
    county = Scope.of(store, JINGNING)
    chain_id = jc.chain_list(store)[0].chain_id
    with pytest.raises(OutOfScopeError):
        jc.panorama(store, county, "330102", chain_id)
    with pytest.raises(OutOfScopeError):
        jc.panorama(store, county, LISHUI, chain_id)          # above the scope
    with pytest.raises(OutOfScopeError):
        jc.risk(store, county, "330000")
    with pytest.raises(NotFoundError):
        jc.panorama(store, county, JINGNING, "no_such_chain")
    with pytest.raises(NotFoundError):
        jc.panorama(store, county, "NOZONE", chain_id)
    other_zone = store.con.execute("SELECT zone_id FROM zones WHERE county_adcode <> ? LIMIT 1", [JINGNING]).fetchone()
    if other_zone:
        with pytest.raises(OutOfScopeError):
            jc.panorama(store, county, other_zone[0], chain_id)


def test_zone_panorama_counts_the_zone_firms(store, world):
    zone, county = store.con.execute("""SELECT e.zone_id, any_value(z.county_adcode) FROM enterprise_segments es
        JOIN enterprises e USING (uscc) JOIN zones z ON z.zone_id = e.zone_id GROUP BY 1 ORDER BY count(*) DESC, 1
        LIMIT 1""").fetchone()
    chain_id = store.con.execute(f"""SELECT s.chain_id FROM enterprise_segments es JOIN enterprises e USING (uscc)
        JOIN chain_segments s USING (segment_id) WHERE e.zone_id = '{zone}' GROUP BY 1 ORDER BY count(*) DESC, 1
        LIMIT 1""").fetchone()[0]
    doc = jc.panorama(store, Scope.of(store, county), zone, chain_id)
    assert doc["region"]["level"] == "zone"
    want = store.con.execute(f"""SELECT count(*) FROM enterprise_segments es JOIN enterprises e USING (uscc)
        JOIN chain_segments s USING (segment_id) JOIN enterprise_years y ON y.uscc = es.uscc AND y.year = {world[1]}
        WHERE e.zone_id = '{zone}' AND s.chain_id = '{chain_id}' AND es.role <> 'excluded'""").fetchone()[0]
    assert doc["totals"]["firms"] == want > 0


def test_targets_mask_firms_outside_the_scope_and_explain_the_score(store):
    county = Scope.of(store, JINGNING)
    doc = jc.targets(store, county, JINGNING, limit=50)
    assert doc["targets"], "Jingning should have weak or missing segments"
    wanted = {s["segment_id"] for s in doc["segments"]}
    assert all(s["status"] in ("weak", "missing") for s in doc["segments"])
    scores = [r["score"] for r in doc["targets"]]
    assert scores == sorted(scores, reverse=True)
    for r in doc["targets"]:
        assert r["segment_id"] in wanted and r["county_adcode"] != JINGNING
        assert r["masked"] and r["uscc"] is None and r["revenue"] is None and r["name"] == jc.MASKED_NAME[0]
        assert r["score"] == pytest.approx(sum(r["points"].values()))
        assert r["reasons"] and not any("%" in x for x in r["reasons"] if x.startswith("营收增速"))
    province = jc.targets(store, Scope.province(), JINGNING, limit=50)
    assert [(r["segment_id"], r["county_adcode"], r["score"]) for r in province["targets"]] == \
        [(r["segment_id"], r["county_adcode"], r["score"]) for r in doc["targets"]]
    assert all(not r["masked"] and r["uscc"] for r in province["targets"])
    city = jc.targets(store, Scope.of(store, LISHUI), JINGNING, limit=500)
    for r in city["targets"]:
        assert r["masked"] == (not r["county_adcode"].startswith("3311"))


def test_an_excluded_membership_is_not_counted(world, tmp_path):
    path = tmp_path / "excluded.duckdb"
    shutil.copy(world[0], path)
    with open_store(path) as store:
        county, chain_id = busiest_county_chain(store)
        before = jc.panorama(store, Scope.province(), county, chain_id)
        seg = next(s for s in before["segments"] if s["firms"])
        uscc = store.con.execute(f"""SELECT es.uscc FROM enterprise_segments es JOIN enterprises e USING (uscc)
            JOIN enterprise_years y ON y.uscc = es.uscc AND y.year = {world[1]}
            WHERE es.segment_id = '{seg['segment_id']}' AND e.county_adcode = '{county}' LIMIT 1""").fetchone()[0]
        store.con.execute(f"UPDATE enterprise_segments SET role = 'excluded', method = 'manual' "
                          f"WHERE uscc = '{uscc}' AND segment_id = '{seg['segment_id']}'")
        after = jc.panorama(store, Scope.province(), county, chain_id)
        assert after["basis"]["data_fingerprint"] != before["basis"]["data_fingerprint"]
        got = next(s for s in after["segments"] if s["segment_id"] == seg["segment_id"])
        assert got["firms"] == seg["firms"] - 1


def test_risk_health_is_100_minus_penalties(store):
    doc = jc.risk(store, Scope.of(store, LISHUI), LISHUI)
    assert {c["chain_id"] for c in doc["chains"]} == {c.chain_id for c in jc.chain_list(store)}
    for c in doc["chains"]:
        assert c["health"] == pytest.approx(max(0.0, 100 - sum(c["penalties"].values())))
        for f in c["findings"]:
            if "uscc" in f:
                assert store.con.execute("SELECT county_adcode FROM enterprises WHERE uscc = ?",
                                         [f["uscc"]]).fetchone()[0].startswith("3311")


def test_segment_firms_are_the_region_s_only(store):
    county, chain_id = busiest_county_chain(store)
    seg = jc.chain(store, chain_id).segments[0].segment_id
    doc = jc.segment_firms(store, Scope.of(store, county), county, seg, limit=5)
    assert doc["total"] >= len(doc["firms"]) and len(doc["firms"]) <= 5
    assert all(f["county_adcode"] == county for f in doc["firms"])
    revenues = [f["revenue"] or 0 for f in doc["firms"]]
    assert revenues == sorted(revenues, reverse=True)
