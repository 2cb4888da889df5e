"""Consequences and what-if of stored per-mu runs (``shanhai.jobs.mujun_review``): surcharges,
the remediation list and its arithmetic, inefficient land, two runs compared, roll-ups, and the
region scope of every one of them."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from shanhai import policy
from shanhai.errors import ShanhaiError
from shanhai.jobs import mujun
from shanhai.jobs import mujun_review as rv
from shanhai.store import open_store


@pytest.fixture(scope="module")
def runs(small_db, tmp_path_factory):
    """A copy of the session's small province with three runs: zhejiang-2018 on 2022 and 2023,
    huangyan-2022 on 2023 (a what-if on the same year)."""
    path = tmp_path_factory.mktemp("review") / "review.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        a = mujun.run(store, "zhejiang-2018", 2022).run_id
        b = mujun.run(store, "zhejiang-2018", 2023).run_id
        c = mujun.run(store, "huangyan-2022", 2023).run_id
        county, city = store.con.execute(
            f"SELECT county_adcode, city_adcode FROM mujun_results WHERE run_id = '{b}' "
            "AND \"class\" IN ('C', 'D') GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
        d = mujun.run(store, "zhejiang-2018", 2023, region=county).run_id      # one county only
    return SimpleNamespace(path=path, a=a, b=b, c=c, d=d, county=county, city=city)


@pytest.fixture
def store(runs):
    with open_store(runs.path, read_only=True) as s:
        yield s


def scalar(store, sql):
    return store.con.execute(sql).fetchone()[0]


def counties_of_city(store, city):
    return {r[0] for r in store.con.execute(
        f"SELECT adcode FROM regions WHERE level = 'county' AND city_adcode = '{city}'").fetchall()}


# ---- region scope ----------------------------------------------------------------------------

def test_region_is_a_city_or_a_county(store, runs):
    assert rv.region_of(store, None) is None
    assert rv.region_of(store, "330000") is None
    assert rv.region_of(store, runs.county).level == "county"
    assert rv.region_of(store, runs.city).level == "city"
    with pytest.raises(ShanhaiError, match="not a region"):
        rv.region_of(store, "339999")
    town = scalar(store, f"SELECT min(adcode) FROM regions WHERE level = 'town' AND parent_adcode = '{runs.county}'")
    with pytest.raises(ShanhaiError, match="is a town"):
        rv.region_of(store, town)


def _counties_in(result) -> set[str]:
    """Every county adcode any list of a result mentions."""
    found = set()

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "county_adcode" and v is not None:
                    found.add(v)
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(result.as_dict())
    if isinstance(result, rv.Rollup):          # town keys start with their county's adcode
        found |= {row["key"][:6] for row in result.rows}
    return found


@pytest.mark.parametrize("call", ["surcharges", "remediation", "inefficient_land", "compare", "rollup"])
def test_a_county_sees_only_its_own_firms(store, runs, call):
    fn = {
        "surcharges": lambda region: rv.surcharges(store, runs.b, region),
        "remediation": lambda region: rv.remediation(store, runs.b, region),
        "inefficient_land": lambda region: rv.inefficient_land(store, runs.b, region),
        "compare": lambda region: rv.compare(store, runs.a, runs.b, region),
        "rollup": lambda region: rv.rollup(store, runs.b, "town", "all", region),
    }[call]
    everything = _counties_in(fn(None))
    assert len(everything) > 1
    assert _counties_in(fn(runs.county)) <= {runs.county}
    assert _counties_in(fn(runs.city)) <= counties_of_city(store, runs.city)


# ---- surcharges ------------------------------------------------------------------------------

def test_surcharges_add_up_to_the_run(store, runs):
    s = rv.surcharges(store, runs.b)
    summary = mujun.summary_of(store, runs.b)
    assert s.total["surcharge_yuan"] == pytest.approx(summary.surcharge_yuan, abs=0.01)
    assert sum(c["surcharge_yuan"] for c in s.counties) == pytest.approx(s.total["surcharge_yuan"], abs=0.01)
    assert sum(r["surcharge_yuan"] for r in s.rows) == pytest.approx(s.total["surcharge_yuan"], abs=0.01)
    assert s.total["firms_charged"] + s.total["firms_exempt"] == s.total["firms_rated"]
    assert s.total["firms_charged"] > 0
    # zhejiang-2018 charges no above-scale C firm, and only classes with a rate appear
    assert not [r for r in s.rows if r["population"] == "above_scale" and r["class"] == "C"]
    assert {r["class"] for r in s.rows} <= {"C", "D"}
    assert all(r["rate_min"] > 0 for r in s.rows)


def test_surcharges_of_a_city(store, runs):
    s = rv.surcharges(store, runs.b, runs.city)
    expected = scalar(store, f"""SELECT coalesce(sum(surcharge_yuan), 0)::DOUBLE FROM mujun_results m
        JOIN regions g ON g.adcode = m.county_adcode WHERE run_id = '{runs.b}' AND g.city_adcode = '{runs.city}'""")
    assert s.total["surcharge_yuan"] == pytest.approx(expected, abs=0.01)
    assert s.region == {"adcode": runs.city, "name": s.region["name"], "level": "city"}


# ---- remediation -----------------------------------------------------------------------------

def _row(**over):
    base = dict(uscc="X", name="甲", county_adcode="331003", county_name="黄岩区", town_name="东城街道",
                industry_code="3311", population="above_scale", unit_id="331003", group_id=None, **{"class": "C"},
                score_class="C", class_rule="rank_shares", class_streak=1, total_score=80.0, base_score=80.0,
                bonus=0.0, penalty=0.0, rank=9, unit_size=10, tax_paid=50.0, land_used_mu=5.0, tax_per_mu=10.0,
                tax_per_mu_benchmark=20.0, tax_per_mu_score=15.0, electricity_rate=None, surcharge_yuan=None,
                bar_score=90.0, bar_rank=8)
    base.update(over)
    return base


def test_remediation_arithmetic_by_hand():
    """Score 80, the worst B firm scored 90: 10 points short. Tax per mu weighs 30 against a
    benchmark of 20 万元/亩, so one 万元/亩 is worth 1.5 points: 10 ÷ 1.5 = 6.6667 万元/亩 more,
    on 5 亩 = 33.3333 万元 more tax; the firm's tax per mu goes from 10 to 16.6667."""
    preset = policy.get("zhejiang-2018")
    x = rv._remediate(preset, _row(), "rank_shares", "B")
    assert x["target_score"] == 90.0
    assert x["gap"] == 10.0
    assert x["tax_per_mu_weight"] == 30
    assert x["extra_tax_per_mu"] == pytest.approx(6.6667, abs=1e-4)
    assert x["target_tax_per_mu"] == pytest.approx(16.6667, abs=1e-4)
    assert x["extra_tax_wan"] == pytest.approx(33.3333, abs=1e-3)
    assert x["note"] == ""
    # below scale: tax per mu weighs 50 → 10 ÷ (50 / 20) = 4 万元/亩, × 5 亩 = 20 万元
    y = rv._remediate(preset, _row(population="below_scale_3mu"), "rank_shares", "B")
    assert (y["extra_tax_per_mu"], y["extra_tax_wan"]) == (4.0, 20.0)
    # already at or above the bar (a hard rule put it in C): no gap, and the note says why
    z = rv._remediate(preset, _row(total_score=95.0, class_rule="major_safety_accident"), "rank_shares", "B")
    assert z["gap"] == 0 and z["extra_tax_per_mu"] == 0 and "重大安全生产事故" in z["note"]


def test_remediation_with_thresholds_and_caps():
    base = policy.get("zhejiang-2018")
    classes = base.classes.model_copy(update={"method": "thresholds", "shares": None,
                                              "thresholds": {"A": 120.0, "B": 100.0, "C": 60.0}})
    preset = base.model_copy(update={"classes": classes})
    x = rv._remediate(preset, _row(bar_score=None), "thresholds", "B")
    assert x["target_score"] == 100.0 and x["gap"] == 20.0
    assert x["extra_tax_per_mu"] == pytest.approx(20 / (30 / 20), abs=1e-4)
    # a cap of 1.2 × weight = 36 points: the tax score 15 + 20 needed = 35 fits, + 25 does not
    pop = preset.population("above_scale")
    capped = [i.model_copy(update={"cap": 1.2}) if i.id == "tax_per_mu" else i for i in pop.indicators]
    pops = [pop.model_copy(update={"indicators": capped})] + list(preset.populations[1:])
    preset = preset.model_copy(update={"populations": pops})
    assert rv._remediate(preset, _row(bar_score=None), "thresholds", "B")["extra_tax_per_mu"] is not None
    out = rv._remediate(preset, _row(bar_score=None, total_score=75.0), "thresholds", "B")
    assert out["gap"] == 25.0 and out["extra_tax_per_mu"] is None and "封顶" in out["note"]


def test_remediation_on_a_stored_run(store, runs):
    result = rv.remediation(store, runs.b)
    rows = result.rows
    assert rows and {r["class"] for r in rows} <= {"C", "D"}
    n = scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{runs.b}' AND \"class\" IN ('C', 'D')")
    assert len(rows) == n
    keys = [(r["county_adcode"], r["gap"]) for r in rows]
    assert keys == sorted(keys)
    # one firm checked against the store directly: the bar is the worst-ranked B of its unit
    x = next(r for r in rows if r["population"] == "above_scale" and r["class_rule"] == "rank_shares")
    bar = scalar(store, f"""SELECT min(total_score) FROM mujun_results WHERE run_id = '{runs.b}'
        AND unit_id = '{x["unit_id"]}' AND population = 'above_scale' AND score_class = 'B'""")
    total, bench, land = store.con.execute(f"""SELECT total_score, tax_per_mu_benchmark, land_used_mu
        FROM mujun_results WHERE run_id = '{runs.b}' AND uscc = '{x["uscc"]}'""").fetchone()
    assert x["target_score"] == bar
    assert x["gap"] == pytest.approx(max(bar - total, 0), abs=1e-4)
    assert x["extra_tax_per_mu"] == pytest.approx(x["gap"] / (30 / bench), abs=1e-4)
    assert x["extra_tax_wan"] == pytest.approx(x["extra_tax_per_mu"] * land, rel=1e-6, abs=1e-3)
    # the worst B firm itself would be no better off: its own score is the bar
    assert all(r["gap"] is None or r["gap"] >= 0 for r in rows)
    only_d = rv.remediation(store, runs.b, classes="D")
    assert {r["class"] for r in only_d.rows} == {"D"}
    with pytest.raises(ShanhaiError, match="not a class"):
        rv.remediation(store, runs.b, classes=("E",))


# ---- inefficient land ------------------------------------------------------------------------

def test_inefficient_land(store, runs):
    land = rv.inefficient_land(store, runs.b)
    assert land.firms and land.parcels
    assert {f["class"] for f in land.firms} <= {"C", "D"}
    order = [({"D": 0, "C": 1}[f["class"]], -(f["land_used_mu"] or 0), f["total_score"]) for f in land.firms]
    assert order == sorted(order)
    assert {p["land_use_status"] for p in land.parcels} <= set(rv.INEFFICIENT_STATUSES)
    assert "in_use" not in {p["land_use_status"] for p in land.parcels}
    held = [p for p in land.parcels if p["holder_class"] is not None]
    assert held
    for p in held[:20]:
        assert p["holder_class"] == scalar(
            store, f"SELECT \"class\" FROM mujun_results WHERE run_id = '{runs.b}' AND uscc = '{p['holder_uscc']}'")
    total = scalar(store, "SELECT count(*) FROM land_parcels WHERE land_use_status <> 'in_use'")
    assert len(land.parcels) == total      # the run covers the province
    assert sum(c["parcels"] for c in land.by_county) == len(land.parcels)
    local = rv.inefficient_land(store, runs.b, runs.county)
    assert {p["county_adcode"] for p in local.parcels} <= {runs.county}
    assert [c["county_adcode"] for c in local.by_county] == [runs.county]


# ---- compare ---------------------------------------------------------------------------------

@pytest.mark.parametrize("region", [None, "county"])
def test_transition_matrix_sums_to_the_firms_in_both_runs(store, runs, region):
    region = runs.county if region else None
    c = rv.compare(store, runs.a, runs.b, region)
    where = f"AND a.county_adcode = '{region}' AND b.county_adcode = '{region}'" if region else ""
    both = scalar(store, f"""SELECT count(*) FROM mujun_results a JOIN mujun_results b USING (uscc)
        WHERE a.run_id = '{runs.a}' AND b.run_id = '{runs.b}' {where}""")
    assert c.both == both == sum(sum(row.values()) for row in c.matrix.values())
    assert c.classes == ["A", "B", "C", "D", "T"]
    off = sum(n for ca, row in c.matrix.items() for cb, n in row.items() if ca != cb)
    assert off == c.moved == len(c.movers)
    in_a = scalar(store, f"SELECT count(*) FROM mujun_results a WHERE run_id = '{runs.a}' "
                         f"{where.replace(' AND b.county_adcode = ' + repr(region), '') if region else ''}")
    assert in_a == c.both + len(c.only_a)
    assert all(m["class_a"] != m["class_b"] for m in c.movers)


def test_why_explains_each_move(store, runs):
    c = rv.compare(store, runs.a, runs.b)
    assert c.movers and c.benchmark_changes and not c.policy_changes
    checked = 0
    for m in c.movers:
        kinds = {w["kind"] for w in m["why"]}
        assert m["why"] and m["why_text"]
        if m["total_delta"] is None or kinds & {"rule", "population"}:
            continue
        contributions = sum(w["delta"] for w in m["why"] if w["kind"] in ("indicator", "bonus", "penalty"))
        assert contributions == pytest.approx(m["total_delta"], abs=2e-3)
        deltas = [abs(w["delta"]) for w in m["why"] if "delta" in w]
        assert deltas == sorted(deltas, reverse=True)
        checked += 1
    assert checked > 10
    assert c.surcharge["change"] == pytest.approx(c.surcharge["b"] - c.surcharge["a"], abs=0.01)
    assert c.surcharge["b"] == pytest.approx(mujun.summary_of(store, runs.b).surcharge_yuan, abs=0.01)
    assert sum(x["change"] for x in c.surcharge_by_county) == pytest.approx(c.surcharge["change"], abs=0.05)


def test_what_if_two_presets_on_one_year(store, runs):
    c = rv.compare(store, runs.b, runs.c)
    assert c.run_a["year"] == c.run_b["year"] == 2023
    assert c.policy_changes                          # zhejiang-2018 vs huangyan-2022
    assert c.both == sum(sum(r.values()) for r in c.matrix.values()) > 0
    assert not c.only_a and not c.only_b             # same year, same firms
    assert c.surcharge["b"] == 0                     # huangyan publishes no surcharge
    moved_population = [m for m in c.movers if any(w["kind"] == "population" for w in m["why"])]
    assert moved_population                          # three below-scale lists became one


# ---- roll-ups and runs -----------------------------------------------------------------------

def test_rollup_rows_carry_their_class_counts(store, runs):
    r = rv.rollup(store, runs.b, "county", "all")
    counties = scalar(store, f"SELECT count(DISTINCT county_adcode) FROM mujun_results WHERE run_id = '{runs.b}'")
    assert len(r.rows) == counties
    for row in r.rows:
        assert sum(row["classes"].values()) == row["firms"]
    local = rv.rollup(store, runs.b, "town", "all", runs.county)
    assert local.rows and not local.recomputed
    assert sum(x["firms"] for x in local.rows) <= scalar(
        store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{runs.b}' AND county_adcode = '{runs.county}'")


def test_rollup_across_a_region_is_recomputed_over_its_firms(store, runs):
    r = rv.rollup(store, runs.b, "industry", "all", runs.county)
    assert r.recomputed
    assert sum(x["firms"] for x in r.rows) == scalar(
        store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{runs.b}' AND county_adcode = '{runs.county}'")
    with pytest.raises(ShanhaiError, match="above"):
        rv.rollup(store, runs.b, "city", "all", runs.county)
    with pytest.raises(ShanhaiError, match="--level"):
        rv.rollup(store, runs.b, "galaxy")
    with pytest.raises(ShanhaiError, match="--scope"):
        rv.rollup(store, runs.b, "county", "nobody")


def test_runs_covering_a_region(store, runs):
    ours = {runs.a, runs.b, runs.c}           # the session's store may hold other tests' runs too
    assert ours <= {x["run_id"] for x in rv.runs(store)}
    assert ours <= {x["run_id"] for x in rv.runs(store, runs.county)}   # province runs cover every county
    assert runs.d in {x["run_id"] for x in rv.runs(store, runs.county)}
    assert runs.d in {x["run_id"] for x in rv.runs(store, runs.city)}      # a county of the city
    elsewhere = scalar(store, f"SELECT min(adcode) FROM regions WHERE level = 'county' "
                              f"AND city_adcode <> '{runs.city}'")
    seen = {x["run_id"] for x in rv.runs(store, elsewhere)}
    assert ours <= seen and runs.d not in seen


def test_a_county_run_against_the_province_run(store, runs):
    """The same county evaluated alone and inside the province (county units): same classes."""
    c = rv.compare(store, runs.b, runs.d, runs.county)
    in_county = scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{runs.d}'")
    assert c.both == in_county and not c.only_b and not c.only_a
    assert c.moved == 0
