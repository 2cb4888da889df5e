"""Counts of firms on the targets board (compute kind ``count``, ``analysis.firm_counts``) against a
hand-built store: six firms in two counties of 绍兴 and one of 舟山 with above-scale years, flags
valid, expired and renewed, and service-facts titles, the golden numbers written out below; the
region scope (a county sees its own count); counts shown in whole firms; and the board's 小升规
equal to the mountain-county profile's on the small synthetic province (one definition)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from shanhai.jobs import coop_profile as cp
from shanhai.jobs import targets as jt
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import values

P = Scope.province()
A, B, C = "330602", "330683", "330922"        # 越城区, 嵊州市 (绍兴 330600); 嵊泗县 (舟山 330900)
SHAOXING, ZHOUSHAN = "330600", "330900"
D = dt.date

# (uscc, county, zone?) and its years: year → (above_scale, revenue 万元)
FIRMS = {
    "F1": (A, True, {2021: (False, 1500), 2022: (True, 5000), 2023: (True, 5000), 2024: (True, 5000)}),
    "F2": (A, False, {2021: (True, 3000), 2022: (True, 3000), 2023: (False, 1800), 2024: (True, 3000)}),
    "F3": (A, False, {2021: (True, 3000), 2022: (True, 25000), 2023: (True, 3000), 2024: (True, 3000)}),
    "F4": (B, False, {2021: (True, 3000), 2023: (True, 3000), 2024: (True, 3000)}),      # no row in 2022
    "F5": (B, False, {2023: (True, 2500), 2024: (True, 2600)}),                          # first row 2023
    "F6": (C, False, {2021: (False, 900), 2022: (False, 900), 2023: (False, 9999.99), 2024: (True, 10000)}),
}
FLAGS = [  # uscc, flag, valid_from, valid_to
    ("F1", "specialised", D(2021, 3, 1), D(2024, 3, 1)),
    ("F1", "specialised", D(2024, 3, 1), None),            # renewed without a gap: not new in 2024
    ("F2", "specialised", D(2023, 7, 15), D(2023, 10, 1)),  # expired in 2023 …
    ("F2", "specialised", D(2024, 5, 1), None),             # … granted again in 2024: new
    ("F4", "specialised", D(2020, 1, 1), D(2022, 6, 30)),   # held 2021–2022, granted before the data
    ("F5", "little_giant", D(2024, 7, 1), None),
    ("F6", "tech_sme", D(2023, 2, 1), None),
    ("F6", "high_tech", D(2024, 4, 1), None),               # held tech_sme on 31 Dec 2023: not new
    ("F3", "safety_violation", D(2022, 1, 1), None),        # another flag: never counted
]
FACTS = [  # uscc, year, future_factory, smart_factory_prov, digital_workshop_prov, first_set_level
    ("F1", 2023, True, None, None, None),
    ("F4", 2023, None, True, None, None),
    ("F5", 2023, None, True, True, None),                   # two titles, one firm
    ("F6", 2024, None, None, None, 2),
    ("F2", 2024, False, False, False, 0),
]


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    """The small province's regions and zones, its firms replaced by the six above."""
    path = tmp_path_factory.mktemp("targets_counts") / "counts.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as s:
        con = s.con
        for table in ("enterprise_flags", "service_facts", "enterprise_years", "electricity_monthly",
                      "indicator_values", "targets", "enterprises"):
            con.execute(f"DELETE FROM {table}")
        zone = con.execute(f"SELECT zone_id FROM zones WHERE county_adcode = '{A}' ORDER BY 1 LIMIT 1").fetchone()
        zone = zone[0] if zone else None
        for uscc, (county, in_zone, years) in FIRMS.items():
            con.execute("INSERT INTO enterprises (uscc, name, county_adcode, industry_code, zone_id) VALUES "
                        f"({values(uscc, '企业' + uscc, county, '3311', zone if in_zone else None)})")
            for y, (above, revenue) in years.items():
                con.execute("INSERT INTO enterprise_years (uscc, year, above_scale, revenue) VALUES "
                            f"({values(uscc, y, above, revenue)})")
        for uscc, flag, start, end in FLAGS:
            con.execute("INSERT INTO enterprise_flags (uscc, flag, valid_from, valid_to) VALUES "
                        f"({values(uscc, flag, start, end)})")
        for row in FACTS:
            con.execute("INSERT INTO service_facts (uscc, year, future_factory, smart_factory_prov, "
                        f"digital_workshop_prov, first_set_level) VALUES ({values(*row)})")
    return path, zone


@pytest.fixture
def store(db):
    with open_store(db[0]) as s:
        yield s


def test_new_above_scale_golden(store):
    v = jt.load_values(store)
    # F1 enters 2022; F2 re-enters 2024 (below scale in 2023); F3 above since the first year: never;
    # F4 has no row in 2022: enters 2023; F5's first row (2023) is an entry; F6 enters 2024.
    assert v[("new_above_scale_firms", A)] == {"2022": 1, "2023": 0, "2024": 1}
    assert v[("new_above_scale_firms", B)] == {"2022": 0, "2023": 2, "2024": 0}
    assert v[("new_above_scale_firms", C)] == {"2022": 0, "2023": 0, "2024": 1}
    assert v[("new_above_scale_firms", SHAOXING)] == {"2022": 1, "2023": 2, "2024": 1}
    assert v[("new_above_scale_firms", ZHOUSHAN)] == {"2022": 0, "2023": 0, "2024": 1}
    assert v[("new_above_scale_firms", "330000")] == {"2022": 1, "2023": 2, "2024": 2}
    assert all(isinstance(n, int) for n in v[("new_above_scale_firms", "330000")].values())


def test_flags_held_and_granted_golden(store, db):
    v = jt.load_values(store)
    assert v[("specialised_firms", A)] == {"2021": 1, "2022": 1, "2023": 2, "2024": 2}
    assert v[("specialised_firms", B)] == {"2021": 1, "2022": 1, "2023": 0, "2024": 0}   # F4 expired mid-2022
    assert v[("specialised_firms", SHAOXING)] == {"2021": 2, "2022": 2, "2023": 2, "2024": 2}
    assert v[("little_giant_firms", B)] == {"2021": 0, "2022": 0, "2023": 0, "2024": 1}
    new = v[("new_specialised_firms", A)]     # January to month N, cumulative
    assert [new[f"2021-{m:02d}"] for m in range(1, 13)] == [0, 0] + [1] * 10
    assert [new[f"2023-{m:02d}"] for m in range(1, 13)] == [0] * 6 + [1] * 6
    assert [new[f"2024-{m:02d}"] for m in range(1, 13)] == [0] * 4 + [1] * 8      # F2 again; F1's renewal is not new
    assert v[("new_specialised_firms", B)]["2021-12"] == 0                         # granted 2020, before the data
    assert v[("new_little_giant_firms", B)]["2024-06"] == 0 and v[("new_little_giant_firms", B)]["2024-07"] == 1
    tech = v[("new_tech_firms", C)]
    assert (tech["2023-01"], tech["2023-02"], tech["2023-12"], tech["2024-12"]) == (0, 1, 1, 0)
    zone = db[1]
    if zone:      # F1 lies in a zone of 越城区: the zone has its own count
        assert v[("specialised_firms", f"zone:{zone}")] == {"2021": 1, "2022": 1, "2023": 1, "2024": 1}


def test_over_threshold_and_facts_golden(store):
    v = jt.load_values(store)
    assert v[("revenue_100m_firms", C)] == {"2021": 0, "2022": 0, "2023": 0, "2024": 1}    # 10000 counts, 9999.99 not
    assert v[("revenue_100m_firms", A)] == {"2021": 0, "2022": 1, "2023": 0, "2024": 0}
    assert v[("new_future_factories", SHAOXING)] == {"2023": 1, "2024": 0}                 # only the facts' years
    assert v[("new_smart_factories_prov", B)] == {"2023": 2, "2024": 0}
    assert v[("new_first_set_firms", "330000")] == {"2023": 0, "2024": 1}


def test_count_targets_follow_the_calendar_in_whole_firms(store):
    jt.set_target(store, P, "new_specialised_firms", A, 2024, 2, user="tests")
    jt.set_target(store, P, "new_above_scale_firms", B, 2023, 3, user="tests")
    rows = {(r["indicator_id"], r["entity"], r["target_year"]): r
            for r in jt.evaluate(store, P, None, 2024, 6)["rows"]}
    r = rows[("new_specialised_firms", A, 2024)]
    # June: 1 firm of 2, due 2 × 6/12 = 1 → ratio 1.00, green
    assert (r["actual"], r["target"], r["due"], r["progress"], r["light"]) == (1, 2, 1, 0.5, "green")
    assert r["period"] == "2024-06" and isinstance(r["target"], int) and r["unit"] == "家"
    r = {(x["indicator_id"], x["entity"]): x for x in jt.evaluate(store, P, None, 2024, 4)["rows"]}[
        ("new_specialised_firms", A)]
    assert (r["actual"], r["due"], r["light"]) == (0, 1, "red")          # due 2 × 4/12 = 0.67, shown as 1
    r = rows[("new_above_scale_firms", B, 2023)]                          # a past year: 2 of 3
    assert (r["horizon"], r["actual"], r["completion"], r["light"]) == ("past", 2, pytest.approx(2 / 3), "red")
    r = rows[("new_tech_firms", C, 2024)]                                  # 嵊泗's preset: 8 a year (seed 003)
    assert r["preset_id"] == "shengsi-2024-new-tech-firms" and r["actual"] == 0 and r["light"] == "red"
    r = rows[("revenue_100m_firms", C, 2027)]                              # 5 by 2027: 1 now
    assert r["horizon"] == "future" and r["actual"] == 1 and r["target"] == 5
    doc = jt.indicator_series(store, P, "new_specialised_firms", A, 2024, 6)
    assert doc["monthly"]["2024"][:6] == [0, 0, 0, 0, 1, 1]
    fc = doc["forecast"]
    assert fc["point"] is not None and all(isinstance(fc[k], int) for k in ("point", "low", "high") if fc[k] is not None)
    listed = {t["preset_id"]: t for t in jt.list_targets(store, P, C)["targets"] if t["preset_id"]}
    assert listed["shengsi-2027-revenue-100m"]["value"] == 5 and isinstance(listed["shengsi-2027-revenue-100m"]["value"], int)


def test_a_county_sees_its_own_count(store):
    jt.set_target(store, P, "new_above_scale_firms", A, 2024, 1, user="tests")
    jt.set_target(store, P, "new_above_scale_firms", B, 2024, 1, user="tests")
    county = Scope.of(store, A)
    rows = [r for r in jt.evaluate(store, county, None, 2024, 12)["rows"] if r["indicator_id"] == "new_above_scale_firms"]
    assert {r["entity"] for r in rows} == {A}
    assert [(r["actual"], r["light"]) for r in rows] == [(1, "green")]
    city = {r["entity"] for r in jt.evaluate(store, Scope.of(store, SHAOXING), None, 2024, 12)["rows"]
            if r["indicator_id"] == "new_above_scale_firms" and r["target_year"] == 2024}
    assert {A, B} <= city and C not in city
    with pytest.raises(OutOfScopeError):
        jt.evaluate(store, county, B, 2024, 12)


def test_board_and_profile_count_the_same_new_above_scale_firms(small_db, tmp_path):
    path = tmp_path / "small.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as s:
        years = [r[0] for r in s.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]
        data = cp._figures(s, years)
        board = jt.load_values(s)
        counties = [r[0] for r in s.con.execute(
            "SELECT adcode FROM regions WHERE level = 'county' AND mountain26 ORDER BY 1").fetchall()]
        total = 0
        for county in counties:
            for y in years[1:]:
                fig = cp.county_figures(s, county, y, years, data)["new_above_scale"]
                assert board[("new_above_scale_firms", county)][str(y)] == fig, (county, y)
                total += fig
        assert total > 0
