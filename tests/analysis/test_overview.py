"""The overview on a hand-built database whose answers are computed by hand."""

from __future__ import annotations

import pytest

from shanhai.analysis.overview import overview
from shanhai.engine import connect
from shanhai.errors import ShanhaiError
from shanhai.store import load_reference, open_store

# (uscc, county, above, revenue, va, tax, head, own, leased, leased_out)
FIRMS = [
    ("A", "330102", True, 50_000, 12_000, 3_000, 400, 80, 0, 0),     # 上城区, not mountain
    ("B", "330102", True, 3_000, 600, 100, 30, 0, 10, 0),            # lessee
    ("C", "331127", True, 2_500, 500, 60, 50, 12, 0, 2),             # 景宁, mountain (ecological)
    ("D", "331127", False, 800, 150, 20, 12, 5, 0, 0),               # below scale: not in totals
]


@pytest.fixture()
def con(tmp_path):
    store = open_store(tmp_path / "o.duckdb")
    load_reference(store.con)
    for uscc, county, above, revenue, va, tax, head, own, leased, out in FIRMS:
        store.con.execute("INSERT INTO enterprises (uscc, name, county_adcode, industry_code) VALUES (?, ?, ?, '3441')",
                          [uscc, f"firm {uscc}", county])
        store.con.execute(
            """INSERT INTO enterprise_years (uscc, year, above_scale, revenue, main_revenue, value_added, tax_paid,
               headcount, land_own_mu, land_leased_mu, land_leased_out_mu, dataset_id)
               VALUES (?, 2023, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'hand')""",
            [uscc, above, revenue, revenue, va, tax, head, own, leased, out])
    yield connect(store)
    store.close()


def test_groups_by_hand(con):
    o = overview(con)
    g = {x.group: x for x in o.groups}
    assert o.year == 2023 and o.counties == 90 and o.mountain_counties == 26
    province = g["province"]
    assert province.above_scale == 3 and province.enterprises == 4
    assert province.land_mu == pytest.approx(80 + 10 + 10)           # C uses 12 - 2
    assert province.value_added_yi == pytest.approx(13_100 / 1e4)
    assert province.value_added_per_mu == pytest.approx(13_100 / 100)
    assert province.tax_per_mu == pytest.approx(3_160 / 100)
    assert province.labour_productivity == pytest.approx(13_100 / 480)
    mountain = g["mountain26"]
    assert mountain.above_scale == 1 and mountain.tax_per_mu == pytest.approx(6.0)
    assert g["rest"].value_added_per_mu == pytest.approx(12_600 / 90)
    # A: 400 people, 50,000 万元 -> medium (large needs 1000 people); B and C small; D micro
    assert o.size_classes == {"above_scale": {"medium": 1, "small": 2}, "below_scale": {"micro": 1}}
    assert o.datasets == ["hand"]


def test_year_must_exist(con):
    with pytest.raises(ShanhaiError, match="no enterprise data for 2020"):
        overview(con, 2020)


def test_empty_database_says_what_to_do(tmp_path):
    with open_store(tmp_path / "empty.duckdb") as store:
        with pytest.raises(ShanhaiError, match="shanhai synth"):
            overview(connect(store))
