"""Golden cases A–F of reference/energy_carbon.md §8, to the decimals given there: through the
pure formulas and through the vectorised SQL (the path the job and the benchmark run)."""

from __future__ import annotations

import duckdb
import pytest

from shanhai.analysis import carbon as ac
from shanhai.policy._carbon import factors, grading

G = grading("default")
F = factors("default")


def convert(items, year=2022, **changes):
    g = G.with_(**changes)
    return ac.calc_firm_energy(items, ac.calc_coefficients(F, g, year))


def graded(co2, va, l_ind, **changes):
    g = G.with_(**changes)
    L = ac.calc_intensity(co2, va)
    k = ac.calc_k(L, l_ind)
    return L, ac.calc_level(L, g), k, ac.calc_grade(k, g)


def test_defaults_are_the_cases_common_defaults():
    c = ac.calc_coefficients(F, G, 2022)
    assert c.co2["grid_electricity"] == pytest.approx(0.0005366)
    assert c.tce_equivalent["grid_electricity"] == pytest.approx(0.0001229)
    assert (c.tce_equivalent["natural_gas"], c.co2["natural_gas"]) == (0.0012143, 0.0021622)
    assert (c.tce_equivalent["heat"], c.co2["heat"]) == (0.03412, 0.11)
    assert (c.tce_equivalent["coal"], c.co2["coal"]) == (0.7143, 1.9003)
    assert (c.tce_equivalent["diesel"], c.co2["diesel"]) == (1.4571, 3.0959)
    assert (c.tce_equivalent["lpg"], c.co2["lpg"]) == (1.7143, 3.1013)


def test_case_a_all_electric():
    e = convert([("grid_electricity", 2_000_000, "kWh")])
    assert round(e["tce_equivalent"], 1) == 245.8 and round(e["co2_t"], 1) == 1073.2
    L, level, k, grade = graded(e["co2_t"], 5000, 0.30)
    assert (round(L, 5), level, round(k, 5), grade) == (0.21464, "low", 0.71547, 2)
    assert round(e["tce_equivalent"] / 5000, 5) == 0.04916
    for changes, (l_exp, k_exp) in {
            (("grid_series", "carbon_market_2022"),): (0.22812, 0.76040),
            (("grid_geography", "zhejiang"),): (0.20612, 0.68707)}.items():
        e2 = convert([("grid_electricity", 2_000_000, "kWh")], **dict(changes))
        L, _, k, grade = graded(e2["co2_t"], 5000, 0.30)
        assert (round(L, 5), round(k, 5), grade) == (l_exp, k_exp, 2)
    e3 = convert([("grid_electricity", 2_000_000, "kWh")], year=2023, grid_geography="zhejiang")
    L, _, k, grade = graded(e3["co2_t"], 5000, 0.30)
    assert (round(L, 5), round(k, 5), grade) == (0.19896, 0.66320, 2)


CASE_B = [("grid_electricity", 8_000_000, "kWh"), ("heat", 60_000, "GJ"), ("natural_gas", 500_000, "m3")]


def test_case_b_level_flips_on_the_grid_factor():
    e = convert(CASE_B)
    assert round(e["tce_equivalent"], 2) == 3637.55 and round(e["co2_t"], 1) == 11973.9
    L, level, k, grade = graded(e["co2_t"], 6000, 2.9)
    assert (round(L, 5), level, round(k, 5), grade) == (1.99565, "medium", 0.68816, 2)
    assert round(e["tce_equivalent"] / 6000, 5) == 0.60626
    e2 = convert(CASE_B, grid_series="carbon_market_2022")
    L, level, k, grade = graded(e2["co2_t"], 6000, 2.9)
    assert round(e2["co2_t"], 1) == 12243.5
    assert (round(L, 5), level, round(k, 5), grade) == (2.04058, "high", 0.70365, 2)


def test_case_c_coal_and_electricity():
    e = convert([("coal", 20_000, "t"), ("grid_electricity", 30_000_000, "kWh")])
    assert round(e["tce_equivalent"]) == 17973 and round(e["co2_t"]) == 54104
    L, level, k, grade = graded(e["co2_t"], 12000, 4.0)
    assert (round(L, 5), level, round(k, 5), grade) == (4.50867, "high", 1.12717, 3)
    assert ac.badge(level, grade) == "高碳3级"
    assert round(e["tce_equivalent"] / 12000, 5) == 1.49775


def test_case_d_medium_but_worst_in_industry():
    e = convert([("grid_electricity", 3_000_000, "kWh"), ("diesel", 50, "t"), ("lpg", 100, "t")])
    assert round(e["tce_equivalent"], 3) == 612.985 and round(e["co2_t"], 3) == 2074.725
    L, level, k, grade = graded(e["co2_t"], 1500, 0.6)
    assert (round(L, 5), level, round(k, 5), grade) == (1.38315, "medium", 2.30525, 5)
    assert round(e["tce_equivalent"] / 1500, 5) == 0.40866


CASE_E = [("grid_electricity", 5_000_000, "kWh"), ("pv_self", 1_000_000, "kWh")]


def test_case_e_deduction_switch():
    on = convert(CASE_E, deduct=True)
    assert round(on["co2_t"], 1) == 2683.0 and round(on["tce_equivalent"], 1) == 614.5
    L, level, k, grade = graded(on["co2_t"], 4500, 0.80)
    assert (round(L, 5), level, round(k, 5), grade) == (0.59622, "low", 0.74528, 2)
    assert round(on["tce_equivalent"] / 4500, 5) == 0.13656
    off = convert(CASE_E, deduct=False)
    assert round(off["co2_t"], 1) == 3219.6 and round(off["tce_equivalent"], 1) == 737.4
    L, level, k, grade = graded(off["co2_t"], 4500, 0.80)
    assert (round(L, 5), level, round(k, 5), grade) == (0.71547, "medium", 0.89433, 3)


def test_case_f_boundaries():
    assert [ac.calc_level(x, G) for x in (0.6, 2.0, 2.0001)] == ["low", "medium", "high"]
    assert [ac.calc_grade(x, G) for x in (0.6, 0.8, 1.2, 2.0, 2.0001)] == [1, 2, 3, 4, 5]
    assert ac.calc_intensity(100.0, 0) is None and ac.calc_intensity(100.0, -5) is None
    assert ac.calc_grade(ac.calc_k(ac.calc_intensity(100.0, 0), 1.0), G) is None


def test_case_f_aggregation_choice():
    co2, va = [1073.2, 900.0], [5000.0, 1000.0]
    ros = ac.calc_industry_intensity(co2, va, "ratio_of_sums")
    assert round(ros, 5) == 0.32887
    assert (round(ac.calc_k(co2[0] / va[0], ros), 5), round(ac.calc_k(co2[1] / va[1], ros), 5)) == (0.65267, 2.73667)
    assert [ac.calc_grade(ac.calc_k(c / v, ros), G) for c, v in zip(co2, va)] == [2, 5]
    mor = ac.calc_industry_intensity(co2, va, "mean_of_ratios")
    assert round(mor, 5) == 0.55732
    assert round(ac.calc_k(co2[0] / va[0], mor), 5) == 0.38513 and ac.calc_grade(ac.calc_k(co2[0] / va[0], mor), G) == 1


def test_case_f_low_carbon_share():
    s = ac.calc_low_carbon_share([(10_000, 25_000), (30_000, 20_000), (5_000, 10_000)], G.low_carbon.line)
    assert round(100 * s["share"], 2) == 63.64 and s["share"] >= G.low_carbon.target_share


# ---- the same cases through the SQL builders --------------------------------------------------

def _sql_grades(firms: list[tuple], energy: list[tuple], g=G, year=2022):
    """firms: (uscc, industry_code, va); energy: (uscc, carrier, quantity, unit)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE en (uscc VARCHAR, period VARCHAR, carrier VARCHAR, quantity DOUBLE, unit VARCHAR, "
                "measured_tce_per_unit DOUBLE, measured_co2_per_unit DOUBLE)")
    con.executemany("INSERT INTO en VALUES (?, ?, ?, ?, ?, NULL, NULL)", [(u, str(year), c, q, un) for u, c, q, un in energy])
    con.execute("CREATE TABLE fi (uscc VARCHAR, year INTEGER, value_added DECIMAL(18, 4), industry_code VARCHAR, "
                "county_adcode VARCHAR, city_adcode VARCHAR)")
    con.executemany("INSERT INTO fi VALUES (?, ?, ?, ?, '330102', '330100')", [(u, year, va, ic) for u, ic, va in firms])
    fe = ac.firm_energy_sql("en", ac.coefficients_sql(F, g, [year]))
    cur = con.execute(f"SELECT * FROM ({ac.grades_sql(f'({fe})', 'fi', g)}) ORDER BY uscc")
    cols = [d[0] for d in cur.description]
    return {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}


def _with_peers(uscc, industry, va, items, co2, l_ind):
    """The case's firm plus two peers of VA 10,000 burning coal so that Σ CO2 ÷ Σ VA = l_ind."""
    need = l_ind * (va + 20_000) - co2
    firms = [(uscc, industry, va), ("P1", industry, 10_000), ("P2", industry, 10_000)]
    energy = [(uscc, c, q, u) for c, q, u in items] + [(p, "coal", need / 2 / 1.9003, "t") for p in ("P1", "P2")]
    return firms, energy


@pytest.mark.parametrize("case, industry, va, items, l_ind, changes, expected", [
    ("A", "3911", 5000, [("grid_electricity", 2_000_000, "kWh")], 0.30, {}, (0.21464, "low", 0.71547, 2)),
    ("B", "1711", 6000, CASE_B, 2.9, {}, (1.99565, "medium", 0.68816, 2)),
    ("B'", "1711", 6000, CASE_B, 2.9, {"grid_series": "carbon_market_2022"}, (2.04058, "high", 0.70365, 2)),
    ("C", "2821", 12000, [("coal", 20_000, "t"), ("grid_electricity", 30_000_000, "kWh")], 4.0, {},
     (4.50867, "high", 1.12717, 3)),
    ("D", "3311", 1500, [("grid_electricity", 3_000_000, "kWh"), ("diesel", 50, "t"), ("lpg", 100, "t")], 0.6, {},
     (1.38315, "medium", 2.30525, 5)),
    ("E", "3411", 4500, CASE_E, 0.80, {"deduct": True}, (0.59622, "low", 0.74528, 2)),
    ("E'", "3411", 4500, CASE_E, 0.80, {"deduct": False}, (0.71547, "medium", 0.89433, 3)),
])
def test_cases_through_sql(case, industry, va, items, l_ind, changes, expected):
    g = G.with_(**changes)
    co2 = ac.calc_firm_energy(items, ac.calc_coefficients(F, g, 2022))["co2_t"]
    firms, energy = _with_peers("X", industry, va, items, co2, l_ind)
    r = _sql_grades(firms, energy, g)["X"]
    assert round(r["industry_intensity"], 5) == round(l_ind, 5)
    assert (round(r["intensity"], 5), r["level"], round(r["k"], 5), r["grade"]) == expected


def test_case_f_aggregation_through_sql():
    energy = [("A", "grid_electricity", 2_000_000, "kWh"), ("A2", "coal", 900 / 1.9003, "t")]
    firms = [("A", "3911", 5000), ("A2", "3912", 1000)]
    ros = _sql_grades(firms, energy, G.with_(**{}).model_copy(update={"industry": G.industry.model_copy(update={"min_firms": 2})}))
    assert (round(ros["A"]["k"], 5), ros["A"]["grade"], round(ros["A2"]["k"], 5), ros["A2"]["grade"]) == (0.65267, 2, 2.73667, 5)
    g = G.with_(aggregation="mean_of_ratios")
    g = g.model_copy(update={"industry": g.industry.model_copy(update={"min_firms": 2})})
    mor = _sql_grades(firms, energy, g)
    assert (round(mor["A"]["k"], 5), mor["A"]["grade"]) == (0.38513, 1)


def test_sql_flags_value_added_not_positive():
    energy = [(u, "grid_electricity", 1_000_000, "kWh") for u in ("A", "B", "C", "Z")]
    r = _sql_grades([("A", "3911", 5000), ("B", "3911", 4000), ("C", "3911", 3000), ("Z", "3911", -10)], energy)
    assert r["Z"]["grade"] is None and r["Z"]["flag"] == "va_not_positive" and r["Z"]["intensity"] is None
    assert r["A"]["industry_firms"] == 3 and r["A"]["grade"] is not None
