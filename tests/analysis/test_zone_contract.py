"""The contract every registered zone method keeps (the per-mu presets' habit, for zones).

One hand-made province (26 zones in 丽水, 杭州, 温州 and 宁波 — national and provincial,
economic-development and high-tech —, six firms each with two years of figures, flags, parcels,
zone facts and projects, some figures missing) is evaluated with every method in
``policy._zones.zone_methods()``. The same rows inserted in shuffled order make a second store;
two more stores raise one zone's taxes, exports and FDI. Per method:

* a stored run and a second evaluation of the same store agree (determinism);
* the shuffled store gives the same results (row-order invariance);
* raising a zone's taxes, exports and FDI never lowers its score nor worsens its rank;
* every total is the sum of its points, every point is 100 × group weight × weight × score, and
  every score is recomputed here from the value and the group's other values (or the target);
* a missing value never scores better than the worst reported one;
* ranks, tiers, bottom-N flags, streaks and tier changes follow the method's rules, against the
  previous year's stored run; runs are never overwritten.

The indicator SQL is checked on the same data: sums over sums, never means of ratios.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest

from shanhai.jobs import zones as jz
from shanhai.policy._zones import zone_method, zone_methods
from shanhai.store import open_store

METHODS = sorted(zone_methods())
YEARS = (2022, 2023)
# (county, level, kind)
ZONES = [
    ("331102", "national", "economic_development"), ("331121", "provincial", "economic_development"),
    ("331122", "provincial", "high_tech"), ("331123", "provincial", "economic_development"),
    ("331124", "provincial", "economic_development"), ("331125", "provincial", "high_tech"),
    ("331126", "provincial", "economic_development"), ("331127", "provincial", "economic_development"),
    ("331181", "provincial", "high_tech"),
    ("330102", "national", "economic_development"), ("330105", "national", "economic_development"),
    ("330106", "provincial", "economic_development"), ("330108", "national", "high_tech"),
    ("330109", "provincial", "high_tech"), ("330110", "provincial", "economic_development"),
    ("330111", "provincial", "economic_development"), ("330112", "provincial", "high_tech"),
    ("330302", "national", "economic_development"), ("330303", "provincial", "economic_development"),
    ("330304", "provincial", "economic_development"), ("330305", "provincial", "high_tech"),
    ("330324", "national", "economic_development"),
    ("330203", "national", "economic_development"), ("330205", "provincial", "economic_development"),
    ("330206", "national", "economic_development"), ("330211", "provincial", "high_tech"),
]
RAISED = ("Z331102", "Z331123")          # a national ED zone of 丽水, a provincial one
FACTOR = Decimal("1.5")
MONEY = ("revenue", "main_revenue", "value_added", "profit", "tax_paid", "rd_spending", "land_own_mu",
         "land_leased_mu", "land_leased_out_mu")


def world(seed: int = 3) -> dict[str, list[dict]]:
    """The rows of every table, deterministic."""
    rng = random.Random(seed)

    def money(lo, hi):
        return Decimal(str(round(rng.uniform(lo, hi), 2)))

    def maybe(v, p=0.12):
        return None if rng.random() < p else v

    t: dict[str, list[dict]] = defaultdict(list)
    serial = 0
    for i, (county, level, kind) in enumerate(ZONES):
        zid = f"Z{county}"
        t["zones"].append({"zone_id": zid, "name": f"测试{county}开发区", "level": level, "kind": kind,
                           "county_adcode": county, "planned_area_mu": Decimal("3000"), "established_year": 2000 + i})
        t["zone_counties"].append({"zone_id": zid, "adcode": county})
        strength = rng.uniform(0.5, 2.0)
        revenue_zone = {y: Decimal(0) for y in YEARS}
        for f in range(6):
            serial += 1
            uscc = f"91{county}{serial:08d}XT"
            t["enterprises"].append({"uscc": uscc, "name": f"企业{serial}", "county_adcode": county,
                                     "industry_code": "3484", "zone_id": zid, "status": "active"})
            land = Decimal(rng.choice(["8", "12.5", "20", "36"]))
            t["land_parcels"].append({"parcel_id": f"P{serial}", "county_adcode": county, "zone_id": zid,
                                      "area_mu": land, "land_use_status": "in_use", "holder_uscc": uscc,
                                      "supplied_on": dt.date(2015, 6, 30)})
            if rng.random() < 0.4:
                t["enterprise_flags"].append({"uscc": uscc, "flag": "high_tech", "valid_from": dt.date(2019, 1, 1),
                                              "valid_to": None})
            for year in YEARS:
                grow = 1 + (year - YEARS[0]) * rng.uniform(-0.15, 0.25)
                revenue = money(2000, 30000) * Decimal(str(round(strength * grow, 4)))
                revenue_zone[year] += revenue
                t["enterprise_years"].append({
                    "uscc": uscc, "year": year, "above_scale": revenue >= 2000, "revenue": revenue,
                    "main_revenue": revenue * Decimal("0.95"), "value_added": maybe(revenue * Decimal("0.22"), 0.05),
                    "profit": maybe(revenue * Decimal(str(round(rng.uniform(-0.05, 0.12), 4)))),
                    "tax_paid": maybe(money(5, 40) * land, 0.05), "headcount": maybe(rng.randint(20, 600)),
                    "land_own_mu": land, "land_leased_mu": maybe(Decimal("2"), 0.7), "land_leased_out_mu": None,
                    "energy_tce": maybe(round(rng.uniform(50, 3000), 3)), "rd_spending": maybe(money(10, 800), 0.2),
                    "emission_t": None, "electricity_kwh": None})
                row = t["enterprise_years"][-1]
                for c in MONEY:                                   # as DECIMAL(18, 4) stores them
                    if isinstance(row.get(c), Decimal):
                        row[c] = row[c].quantize(Decimal("0.0001"))
        # an idle parcel, one approved but not supplied (never land of the zone), one supplied later
        t["land_parcels"].append({"parcel_id": f"I{county}", "county_adcode": county, "zone_id": zid,
                                  "area_mu": Decimal(str(rng.choice([3, 10, 25]))),
                                  "land_use_status": "supplied_not_used", "holder_uscc": None,
                                  "supplied_on": dt.date(2020, 3, 1)})
        t["land_parcels"].append({"parcel_id": f"A{county}", "county_adcode": county, "zone_id": zid,
                                  "area_mu": Decimal("40"), "land_use_status": "approved_not_supplied",
                                  "holder_uscc": None, "supplied_on": None})
        t["land_parcels"].append({"parcel_id": f"L{county}", "county_adcode": county, "zone_id": zid,
                                  "area_mu": Decimal("15"), "land_use_status": "built_not_operating",
                                  "holder_uscc": None, "supplied_on": dt.date(2023, 5, 1)})
        for year in YEARS:
            t["zone_facts"].append({
                "zone_id": zid, "year": year,
                "exports": maybe((revenue_zone[year] * Decimal(str(round(rng.uniform(0.05, 0.3), 4)))).quantize(
                    Decimal("0.0001")), 0.08),
                "actual_fdi": maybe(Decimal(str(round(rng.uniform(10, 3000), 2))), 0.08),
                "fixed_asset_investment": Decimal(str(round(rng.uniform(1e4, 9e4), 2)))})
        if i % 3 == 0:
            pid = f"PJ{county}"
            t["projects"].append({"project_id": pid, "name": f"项目{county}", "landing_adcode": county, "zone_id": zid,
                                  "signed_on": dt.date(2021, 3, 1), "planned_investment": Decimal("50000"),
                                  "stage": "completed"})
            for stage, day, invested in (("signed", dt.date(2021, 3, 1), 0), ("started", dt.date(2022, 2, 1), 8000),
                                         ("completed", dt.date(2023, 6, 1), 30000 + 1000 * i)):
                t["project_events"].append({"project_id": pid, "stage": stage, "event_date": day,
                                            "invested": Decimal(invested)})
    return dict(t)


def raised(rows: dict[str, list[dict]], zone_id: str) -> dict[str, list[dict]]:
    """The same province with one zone's taxes, exports and FDI × 1.5."""
    members = {e["uscc"] for e in rows["enterprises"] if e["zone_id"] == zone_id}
    out = {k: [dict(r) for r in v] for k, v in rows.items()}
    for r in out["enterprise_years"]:
        if r["uscc"] in members and r["tax_paid"] is not None:
            r["tax_paid"] *= FACTOR
    for r in out["zone_facts"]:
        if r["zone_id"] == zone_id:
            r["exports"] = None if r["exports"] is None else r["exports"] * FACTOR
            r["actual_fdi"] = None if r["actual_fdi"] is None else r["actual_fdi"] * FACTOR
    return out


def fill(store, rows: dict[str, list[dict]], shuffle: int | None = None) -> None:
    for table, items in rows.items():
        items = list(items)
        if shuffle is not None:
            random.Random(shuffle).shuffle(items)
        cols = sorted({c for r in items for c in r})
        store.con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                              [[r.get(c) for c in cols] for r in items])


@pytest.fixture(scope="module")
def stores(mujun_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("zone-contract")
    rows = world()
    made = {}
    for key, data, shuffle in (("ordered", rows, None), ("shuffled", rows, 17),
                               (RAISED[0], raised(rows, RAISED[0]), None), (RAISED[1], raised(rows, RAISED[1]), None)):
        path = folder / f"{key}.duckdb"
        shutil.copyfile(mujun_template, path)
        store = open_store(path)
        fill(store, data, shuffle)
        made[key] = store
    yield made, rows
    for store in made.values():
        store.close()


@pytest.fixture(scope="module")
def runs(stores):
    """Per method, once: the previous year's stored run, this year's stored run (rows read back),
    a second computation of the same store, and the shuffled and raised stores' computations."""
    made, _ = stores
    cache: dict = {}

    def get(name: str) -> dict:
        if name not in cache:
            store = made["ordered"]
            first = jz.evaluate(store, name, YEARS[0], user="tests")
            second = jz.evaluate(store, name, YEARS[1], user="tests")
            jz.evaluate(made["shuffled"], name, YEARS[0], user="tests")      # the same previous year
            cache[name] = {
                "first": first, "second": second,
                "prev_rows": {r["zone_id"]: r for r in _rows(store, "zone_results", first["run_id"])},
                "rows": {r["zone_id"]: r for r in _rows(store, "zone_results", second["run_id"])},
                "scores": _rows(store, "zone_scores", second["run_id"]),
                "again": jz.compute(store, name, YEARS[1]),
                "shuffled": jz.compute(made["shuffled"], name, YEARS[1]),
                "raised": {z: jz.compute(made[z], name, YEARS[1]) for z in RAISED},
                "indicators": {r["zone_id"]: r for r in jz.indicators(store, YEARS[1], zone_method(name).land_basis)},
            }
        return cache[name]

    return get


def _rows(store, table: str, run_id: str) -> list[dict]:
    cur = store.con.execute(f"SELECT * FROM {table} WHERE run_id = ? ORDER BY ALL", [run_id])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _close(a, b, tol=1e-9) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= tol * max(1.0, abs(a))
    return a == b


@pytest.mark.parametrize("name", METHODS)
def test_a_second_evaluation_is_identical_to_the_stored_run(runs, name):
    r = runs(name)
    again = {x["zone_id"]: x for x in r["again"]["results"]}
    assert set(again) == set(r["rows"]) and len(again) >= 5
    assert r["again"]["previous_run_id"] == r["first"]["run_id"]
    for zid, row in again.items():
        stored = r["rows"][zid]
        diff = [c for c in row if c != "city_adcode" and not _close(row[c], stored[c])]
        assert not diff, (zid, diff)
    stored_scores = {(s["zone_id"], s["indicator"]): s for s in r["scores"]}
    assert len(stored_scores) == len(r["again"]["scores"])
    for s in r["again"]["scores"]:
        t = stored_scores[s["zone_id"], s["indicator"]]
        assert all(_close(s[c], t[c]) for c in s), (s, t)
    assert r["second"]["zones"] == len(again)


@pytest.mark.parametrize("name", METHODS)
def test_row_order_does_not_matter(runs, name):
    r = runs(name)
    a = {x["zone_id"]: x for x in r["again"]["results"]}
    b = {x["zone_id"]: x for x in r["shuffled"]["results"]}
    assert set(a) == set(b)
    for zid in a:
        assert a[zid]["total_score"] == pytest.approx(b[zid]["total_score"], abs=2e-4), zid
        assert (a[zid]["rank"], a[zid]["tier"], a[zid]["bottom"]) == (b[zid]["rank"], b[zid]["tier"], b[zid]["bottom"])
    sa = {(s["zone_id"], s["indicator"]): s for s in r["again"]["scores"]}
    for s in r["shuffled"]["scores"]:
        t = sa[s["zone_id"], s["indicator"]]
        assert (s["value"] is None) == (t["value"] is None)
        assert s["value"] is None or s["value"] == pytest.approx(t["value"], rel=1e-9)
        assert s["points"] == pytest.approx(t["points"], abs=1e-4)


@pytest.mark.parametrize("name", METHODS)
def test_raising_a_zones_taxes_and_exports_never_lowers_its_score_or_rank(runs, name):
    r = runs(name)
    base = {x["zone_id"]: x for x in r["again"]["results"]}
    checked = 0
    for zid in RAISED:
        if zid not in base:
            continue
        after = {x["zone_id"]: x for x in r["raised"][zid]["results"]}[zid]
        assert after["total_score"] >= base[zid]["total_score"] - 1e-9, (zid, base[zid]["total_score"], after)
        assert after["rank"] <= base[zid]["rank"], zid
        checked += 1
    assert checked >= 1


def _score(rule, value, values):
    """The score recomputed here, independently of analysis.zones."""
    if value is None:
        return None
    if rule.transform == "ratio_to_best":
        best = max(values)
        return 0.0 if best <= 0 else max(value, 0.0) / best
    if rule.transform == "min_max":
        lo, hi = min(values), max(values)
        if hi == lo:
            return 1.0
        return (value - lo) / (hi - lo) if rule.direction == "higher" else (hi - value) / (hi - lo)
    if rule.direction == "higher":
        return min(max(value, 0.0) / rule.target, rule.cap)
    return rule.cap if value <= 0 else min(rule.target / value, rule.cap)


@pytest.mark.parametrize("name", METHODS)
def test_explanations_add_up_and_scores_follow_the_method(runs, name):
    m = zone_method(name)
    r = runs(name)
    groups = defaultdict(list)
    for row in r["rows"].values():
        groups[row["comparison_group"]].append(row["zone_id"])
    scores = defaultdict(dict)
    for s in r["scores"]:
        scores[s["zone_id"]][s["indicator"]] = s
    missing_seen = 0
    for zid, row in r["rows"].items():
        got = scores[zid]
        assert set(got) == {i.id for _, i in m.rules()}
        assert row["total_score"] == pytest.approx(sum(s["points"] for s in got.values()), abs=1e-9)
        peers = groups[row["comparison_group"]]
        for g, rule in m.rules():
            s = got[rule.id]
            value = r["indicators"][zid][rule.id]
            assert (s["value"] is None) == (value is None)
            values = [r["indicators"][p][rule.id] for p in peers if r["indicators"][p][rule.id] is not None]
            expected = _score(rule, value, values)
            if expected is None:
                missing_seen += 1
                reported = [_score(rule, v, values) for v in values]
                worst = min(reported) if reported else 0.0
                want = 0.0 if m.missing_rule(rule) == "zero" else worst
                assert s["missing"] == m.missing_rule(rule)
                assert s["score"] == pytest.approx(want, abs=1e-12)
                assert s["score"] <= worst + 1e-12          # never better than the worst reported one
            else:
                assert s["missing"] is None and s["score"] == pytest.approx(expected, rel=1e-12, abs=1e-12)
            assert s["points"] == round(100 * g.weight * rule.weight * s["score"], 4)
    assert missing_seen >= 1, "the data should exercise the missing rules"


@pytest.mark.parametrize("name", METHODS)
def test_ranks_tiers_and_the_bottom_follow_the_rules(runs, name):
    m = zone_method(name)
    r = runs(name)
    tiers = m.tier_ids()
    groups = defaultdict(list)
    for row in r["rows"].values():
        groups[row["comparison_group"]].append(row)
    for key, rows in groups.items():
        n = len(rows)
        for row in rows:
            assert row["group_size"] == n and row["year"] == YEARS[1]
            assert row["rank"] == 1 + sum(o["total_score"] > row["total_score"] for o in rows)
            if m.tiers.basis == "rank_share":
                cumulative, want = Fraction(0), tiers[-1]
                for t in m.tiers.levels[:-1]:
                    cumulative += Fraction(str(t.share))
                    if row["rank"] - 1 < cumulative * n:
                        want = t.id
                        break
            else:
                want = next((t.id for t in m.tiers.levels[:-1] if row["total_score"] >= t.min_score), tiers[-1])
            assert row["score_tier"] == want, (key, row["zone_id"])
            prev = r["prev_rows"].get(row["zone_id"])
            assert row["previous_run_id"] == (r["first"]["run_id"] if prev else None)
            if prev is None:
                assert row["tier_change"] == "new" and row["tier"] == row["score_tier"]
            else:
                p, now, raw = tiers.index(prev["tier"]), tiers.index(row["tier"]), tiers.index(row["score_tier"])
                if m.tiers.max_step:
                    assert now == min(max(raw, p - m.tiers.max_step), p + m.tiers.max_step)
                else:
                    assert now == raw
                assert row["tier_change"] == ("up" if now < p else "down" if now > p else "same")
            bottom = n > m.bottom.n and row["rank"] > n - m.bottom.n
            assert row["bottom"] == bottom
            streak = ((prev["bottom_streak"] if prev and prev["bottom"] else 0) + 1) if bottom else 0
            assert row["bottom_streak"] == streak
            stages = [s.action for s in m.bottom.stages if streak >= s.years]
            assert row["action"] == (stages[-1] if stages else None)
        if n > m.bottom.n and len({x["total_score"] for x in rows}) == n:
            assert sum(x["bottom"] for x in rows) == m.bottom.n


def test_runs_are_never_overwritten(stores, runs):
    made, _ = stores
    store = made["ordered"]
    first = runs("zhejiang-2021")["second"]
    again = jz.evaluate(store, "zhejiang-2021", YEARS[1], user="tests")
    assert again["run_id"] != first["run_id"] and again["previous_run_id"] == first["previous_run_id"]
    for run_id in (first["run_id"], again["run_id"]):
        assert store.con.execute("SELECT count(*) FROM zone_results WHERE run_id = ?", [run_id]).fetchone()[0] \
            == first["zones"]
    assert store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'evaluate.zones' AND target = ?",
                             [again["run_id"]]).fetchone()[0] == 1
    assert jz.resolve(store, method="zhejiang-2021", year=YEARS[1])["run_id"] == again["run_id"]


def test_the_indicator_sql_is_sums_over_sums(stores, runs):
    """value added per mu, R&D intensity, high-tech share, labour productivity and growth of one
    zone from the inserted rows by hand; land: the zone's parcels supplied by the year's end."""
    _, rows = stores
    got = runs("zhejiang-2021")["indicators"]
    zid = "Z331123"
    members = {e["uscc"] for e in rows["enterprises"] if e["zone_id"] == zid}
    flagged = {f["uscc"] for f in rows["enterprise_flags"]}
    years = {y: [r for r in rows["enterprise_years"] if r["uscc"] in members and r["year"] == y] for y in YEARS}
    now = years[YEARS[1]]
    land = sum(float(p["area_mu"]) for p in rows["land_parcels"] if p["zone_id"] == zid
               and p["land_use_status"] != "approved_not_supplied" and p["supplied_on"] <= dt.date(YEARS[1], 12, 31))
    va = sum(float(r["value_added"]) for r in now if r["value_added"] is not None)
    g = got[zid]
    assert g["value_added_per_mu"] == pytest.approx(va / land, rel=1e-12)
    both = [r for r in now if r["rd_spending"] is not None]
    assert g["rd_intensity"] == pytest.approx(sum(float(r["rd_spending"]) for r in both)
                                              / sum(float(r["main_revenue"]) for r in both), rel=1e-12)
    assert g["high_tech_share"] == pytest.approx(
        sum(float(r["value_added"]) for r in now if r["uscc"] in flagged and r["value_added"] is not None) / va,
        rel=1e-12)
    hc = [r for r in now if r["headcount"] is not None and r["value_added"] is not None]
    assert g["labour_productivity"] == pytest.approx(sum(float(r["value_added"]) for r in hc)
                                                     / sum(r["headcount"] for r in hc), rel=1e-12)
    before = sum(float(r["value_added"]) for r in years[YEARS[0]] if r["value_added"] is not None)
    assert g["value_added_growth"] == pytest.approx(va / before - 1, rel=1e-9)
    idle = sum(float(p["area_mu"]) for p in rows["land_parcels"] if p["zone_id"] == zid
               and p["land_use_status"] not in ("in_use", "approved_not_supplied"))
    assert g["idle_land_share"] == pytest.approx(idle / land, rel=1e-12)
    # never the mean of the firms' ratios
    ratios = [float(r["value_added"]) / float(r["land_own_mu"]) for r in now if r["value_added"] is not None]
    assert g["value_added_per_mu"] != pytest.approx(sum(ratios) / len(ratios), rel=1e-6)
    # project investment: cumulative at the year's end minus at the previous year's end
    proj = got["Z331102"]["project_investment"]
    assert proj == pytest.approx(30000 - 8000)
    assert got["Z331121"]["project_investment"] is None
