"""Properties of the carbon SQL against the pure formulas, on random small industries: the SQL
equals the formulas; writing a quantity in another unit (kWh ↔ 万kWh ↔ MWh, m³ ↔ 万m³, t ↔ kg,
GJ ↔ MJ) changes no grade; shuffling the rows changes nothing; the industry average is the ratio
of sums (or the mean of ratios when the preset says so)."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings, strategies as st

from shanhai.analysis import carbon as ac
from shanhai.policy._carbon import factors, grading

G = grading("default")
F = factors("default")
ALT = {"kWh": [("10k_kWh", 1e-4), ("MWh", 1e-3)], "m3": [("10k_m3", 1e-4)], "t": [("kg", 1e3)], "GJ": [("MJ", 1e3)]}
CARRIERS = ["grid_electricity", "pv_self", "green_power", "coal", "natural_gas", "diesel", "lpg", "heat"]

firm = st.tuples(st.sampled_from(["3911", "3912", "2611", "1711"]),
                 st.one_of(st.floats(100, 50_000), st.just(0.0), st.floats(-500, -1)),
                 st.lists(st.tuples(st.sampled_from(CARRIERS), st.floats(0, 5e6), st.integers(0, 2)),
                          min_size=1, max_size=5, unique_by=lambda x: x[0]))


def _run(firms, shuffle_seed: int, alt: bool, g=G):
    con = duckdb.connect()
    con.execute("CREATE TABLE en (uscc VARCHAR, period VARCHAR, carrier VARCHAR, quantity DOUBLE, unit VARCHAR, "
                "measured_tce_per_unit DOUBLE, measured_co2_per_unit DOUBLE)")
    con.execute("CREATE TABLE fi (uscc VARCHAR, year INTEGER, value_added DECIMAL(18, 4), industry_code VARCHAR, "
                "county_adcode VARCHAR, city_adcode VARCHAR)")
    rows = []
    for i, (ind, va, items) in enumerate(firms):
        con.execute("INSERT INTO fi VALUES (?, 2023, ?, ?, '330102', '330100')", [f"F{i:03d}", round(va, 4), ind])
        for carrier, q, pick in items:
            unit = ac.CANONICAL_UNIT[carrier]
            if alt and pick and ALT.get(unit):
                unit, m = ALT[unit][(pick - 1) % len(ALT[unit])]
                q = q * m
            rows.append((f"F{i:03d}", "2023", carrier, q, unit))
    rows.sort(key=lambda r: hash((r, shuffle_seed)))
    con.executemany("INSERT INTO en VALUES (?, ?, ?, ?, ?, NULL, NULL)", rows)
    fe = ac.firm_energy_sql("en", ac.coefficients_sql(F, g, [2023]))
    cur = con.execute(f"SELECT uscc, intensity, k, grade, level, flag, industry_intensity FROM "
                      f"({ac.grades_sql(f'({fe})', 'fi', g)}) ORDER BY uscc")
    return cur.fetchall()


@settings(max_examples=40, deadline=None)
@given(st.lists(firm, min_size=1, max_size=12), st.integers(0, 1000))
def test_units_and_row_order_do_not_change_grades(firms, seed):
    base = _run(firms, 0, False)
    other = _run(firms, seed, True)
    assert [(r[0], r[3], r[4], r[5]) for r in base] == [(r[0], r[3], r[4], r[5]) for r in other]
    for a, b in zip(base, other):
        assert (a[1] is None) == (b[1] is None)
        if a[1] is not None:
            assert abs(a[1] - b[1]) <= 1e-6 * max(1.0, abs(a[1]))


@settings(max_examples=40, deadline=None)
@given(st.lists(firm, min_size=1, max_size=12), st.sampled_from(["ratio_of_sums", "mean_of_ratios"]))
def test_sql_matches_the_formulas(firms, aggregation):
    g = G.with_(aggregation=aggregation)
    got = {r[0]: r for r in _run(firms, 1, False, g)}
    coeffs = ac.calc_coefficients(F, g, 2023)
    per = {}
    for i, (ind, va, items) in enumerate(firms):
        e = ac.calc_firm_energy([(c, q, ac.CANONICAL_UNIT[c]) for c, q, _p in items], coeffs)
        per[f"F{i:03d}"] = (ind[:2], round(va, 4), round(e["co2_t"], 6))
    for uscc, (div, va, co2) in per.items():
        peers = [(c, v) for d, v, c in per.values() if d == div and v > 0]
        l_ind = ac.calc_industry_intensity([c for c, _ in peers], [v for _, v in peers], aggregation)
        L = ac.calc_intensity(co2, va)
        r = got[uscc]
        assert ac.calc_level(L, g) == r[4]
        if va <= 0:
            assert r[3] is None and r[5] == "va_not_positive"
            continue
        assert abs(r[1] - L) <= 1e-9 * max(1.0, L)
        if len(peers) >= g.industry.min_firms and l_ind and l_ind > 0:
            assert abs(r[6] - l_ind) <= 1e-9 * max(1.0, l_ind)
            k = ac.calc_k(L, l_ind)
            if min(abs(k - c) for c in g.grades.cutoffs) > 1e-9:
                assert r[3] == ac.calc_grade(k, g)
        else:
            assert r[3] is None
