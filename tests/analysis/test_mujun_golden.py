"""Golden cases of the per-mu evaluation: hand-made firms, every score worked out by hand.

Each packaged preset gets at least ten firms whose indicator scores are written below as the
arithmetic itself (value ÷ benchmark × weight, with the preset's published benchmark), so a
reader can check them against the policy text without running anything. The engine rounds each
indicator score to 4 decimals and the total to 4 decimals: scores are compared to 1e-4, totals
to 5e-4.

Units as stored: money 万元, land 亩, energy tce, emission t, electricity kWh; 单位电耗税收 is
万元 × 10,000 ÷ kWh (元/kWh).
"""

from __future__ import annotations

import datetime as dt

import pytest

from shanhai import policy
from shanhai.jobs import mujun as job

HY = "331003"    # 黄岩区
WL = "331081"    # 温岭市
LH = "331082"    # 临海市


def near(x: float, tol: float = 1e-4):
    return pytest.approx(x, abs=tol)


def check(row: dict, expected: dict[str, float], *, bonus: float = 0.0, penalty: float = 0.0) -> None:
    """Each ``<indicator>_score`` as expected, and the total = Σ scores + bonus − penalty."""
    for indicator, score in expected.items():
        assert row[f"{indicator}_score"] == near(score), (row["uscc"], indicator, row[f"{indicator}_score"], score)
    total = sum(round(s, 4) for s in expected.values()) + bonus - penalty
    assert row["total_score"] == near(total, 5e-4), (row["uscc"], row["total_score"], total)
    assert row["excluded_reason"] is None


def classes(results: dict, firms: dict[int, dict], mj) -> dict[int, str]:
    return {n: results[mj.key(f)]["class"] for n, f in firms.items()}


# ---------------------------------------------------------------------------------------------
# 黄岩 2022: fixed published benchmarks; a missing emission scores the population's mean score
# ---------------------------------------------------------------------------------------------

# benchmarks of 2022 (附件2): 亩均税收 24.097, 亩均增加值 136.16, 单位能耗增加值 2.694,
# 单位排放增加值 4929.81, 全员劳动生产率 18.14, 研发占比 0.0302; 规下 11.5932 and 0.2352.
T22, V22, E22, M22, L22, R22 = 24.097, 136.16, 2.694, 4929.81, 18.14, 0.0302
T22_BELOW, K22_BELOW = 11.5932, 0.2352

HY22 = {
    # a complete above-scale firm
    1: dict(n=1, above_scale=True, land_own_mu=10, tax_paid=300, value_added=1500, energy_tce=500, emission_t=0.3,
            headcount=75, rd_spending=90, main_revenue=3000, revenue=3000, electricity_kwh=1e6),
    2: dict(n=2, above_scale=True, land_own_mu=20, tax_paid=400, value_added=2000, energy_tce=1000, emission_t=0.5,
            headcount=100, rd_spending=30, main_revenue=3000),
    # no emission data: scores the mean emission score of the above-scale firms
    3: dict(n=3, above_scale=True, land_own_mu=8, tax_paid=160, value_added=800, energy_tce=400, emission_t=None,
            headcount=40, rd_spending=60, main_revenue=3000),
    # emission 0: the ratio is NULL (zero denominator), so it is missing too; R&D 0 is a real 0
    4: dict(n=4, above_scale=True, land_own_mu=5, tax_paid=50, value_added=500, energy_tce=250, emission_t=0,
            headcount=50, rd_spending=0, main_revenue=2500),
    # energy missing and headcount 0: those two score 0 (missing = zero)
    5: dict(n=5, above_scale=True, land_own_mu=10, tax_paid=100, value_added=1000, energy_tce=None, emission_t=0.25,
            headcount=0, rd_spending=30, main_revenue=3000),
    # no land at all: class T, not evaluated
    6: dict(n=6, above_scale=True, land_own_mu=0, tax_paid=100, value_added=1000),
    # 12 亩 own − 2 亩 leased out = 10 亩 used
    7: dict(n=7, above_scale=True, land_own_mu=12, land_leased_out_mu=2, tax_paid=150, value_added=1000,
            energy_tce=500, emission_t=0.2, headcount=50, rd_spending=30, main_revenue=3000),
    # a lessee: no own land, 5 亩 leased (Huangyan has no lessee population: it is above-scale)
    8: dict(n=8, above_scale=True, land_own_mu=0, land_leased_mu=5, tax_paid=60, value_added=600, energy_tce=200,
            emission_t=0.15, headcount=30, rd_spending=30, main_revenue=1500),
    # closed: out of scope
    9: dict(n=9, above_scale=True, status="closed", land_own_mu=10, tax_paid=500, value_added=5000),
    # below-scale: 亩均税收 ÷ 11.5932 × 50 + 单位电耗税收 ÷ 0.2352 × 50
    10: dict(n=10, above_scale=False, land_own_mu=4, tax_paid=40, electricity_kwh=2e6),
    11: dict(n=11, above_scale=False, land_own_mu=2, tax_paid=20, electricity_kwh=None),
    # a net tax refund: negative scores, no floor in the published method
    12: dict(n=12, above_scale=False, land_own_mu=3, tax_paid=-6, electricity_kwh=1e5),
}

# the emission scores of the firms that report emissions (1, 2, 5, 7, 8), each rounded as the engine
# does, and their mean: what firms 3 and 4 get
EMISSION_MEAN_22 = round((round(10 * 5000 / M22, 4) + round(10 * 4000 / M22, 4) + round(10 * 4000 / M22, 4)
                          + round(10 * 5000 / M22, 4) + round(10 * 4000 / M22, 4)) / 5, 4)

HY22_SCORES = {
    1: dict(tax_per_mu=30 * (300 / 10) / T22, value_added_per_mu=20 * (1500 / 10) / V22,
            value_added_per_energy=20 * (1500 / 500) / E22, value_added_per_emission=10 * (1500 / 0.3) / M22,
            labour_productivity=10 * (1500 / 75) / L22, rd_intensity=10 * (90 / 3000) / R22),
    2: dict(tax_per_mu=30 * 20 / T22, value_added_per_mu=20 * 100 / V22, value_added_per_energy=20 * 2 / E22,
            value_added_per_emission=10 * 4000 / M22, labour_productivity=10 * 20 / L22, rd_intensity=10 * 0.01 / R22),
    3: dict(tax_per_mu=30 * 20 / T22, value_added_per_mu=20 * 100 / V22, value_added_per_energy=20 * 2 / E22,
            value_added_per_emission=EMISSION_MEAN_22, labour_productivity=10 * 20 / L22,
            rd_intensity=10 * 0.02 / R22),
    4: dict(tax_per_mu=30 * 10 / T22, value_added_per_mu=20 * 100 / V22, value_added_per_energy=20 * 2 / E22,
            value_added_per_emission=EMISSION_MEAN_22, labour_productivity=10 * 10 / L22, rd_intensity=0.0),
    5: dict(tax_per_mu=30 * 10 / T22, value_added_per_mu=20 * 100 / V22, value_added_per_energy=0.0,
            value_added_per_emission=10 * 4000 / M22, labour_productivity=0.0, rd_intensity=10 * 0.01 / R22),
    7: dict(tax_per_mu=30 * 15 / T22, value_added_per_mu=20 * 100 / V22, value_added_per_energy=20 * 2 / E22,
            value_added_per_emission=10 * 5000 / M22, labour_productivity=10 * 20 / L22,
            rd_intensity=10 * 0.01 / R22),
    8: dict(tax_per_mu=30 * 12 / T22, value_added_per_mu=20 * 120 / V22, value_added_per_energy=20 * 3 / E22,
            value_added_per_emission=10 * 4000 / M22, labour_productivity=10 * 20 / L22,
            rd_intensity=10 * 0.02 / R22),
    10: dict(tax_per_mu=50 * (40 / 4) / T22_BELOW, tax_per_kwh=50 * (40 * 10_000 / 2e6) / K22_BELOW),
    # no electricity figure: missing = zero, but never better than the worst reported score in the
    # unit, which is firm 12's refund: 50 × (−6 × 10,000 ÷ 100,000) ÷ 0.2352 = −127.5510
    11: dict(tax_per_mu=50 * (20 / 2) / T22_BELOW, tax_per_kwh=round(50 * (-6 * 10_000 / 1e5) / K22_BELOW, 4)),
    12: dict(tax_per_mu=50 * (-6 / 3) / T22_BELOW, tax_per_kwh=50 * (-6 * 10_000 / 1e5) / K22_BELOW),
}
# totals, worked out from the scores above (rounded per indicator):
#   above-scale: 1 → 112.7552, 3 → 81.0090, 8 → 80.5994, 2 → 76.8864, 7 → 72.6900, 4 → 56.4241, 5 → 38.5635
#   seven firms, shares A .20 / B .60 / C .15 / D .05: the firm at rank r is in the first class with
#   (r − 1) < cumulative share × 7, i.e. A: r − 1 < 1.4 (ranks 1-2), B: < 5.6 (3-6), C: < 6.65 (7), no D.
#   below-scale: 10 → 85.6457, 11 → 43.1287 − 127.5510 = −84.4223, 12 → −136.1810: three firms,
#   A: r − 1 < 0.6, B: < 2.4.
HY22_CLASSES = {1: "A", 3: "A", 8: "B", 2: "B", 7: "B", 4: "B", 5: "C", 6: "T", 9: "T", 10: "A", 11: "B", 12: "B"}


def test_huangyan_2022_by_hand(mj):
    store = mj.store(list(HY22.values()))
    preset = policy.get("huangyan-2022")
    results, bms = mj.evaluate(store, preset, 2022, HY)
    assert len(results) == 12
    for n, expected in HY22_SCORES.items():
        check(results[mj.key(HY22[n])], expected)
    assert classes(results, HY22, mj) == HY22_CLASSES
    row = {n: results[mj.key(f)] for n, f in HY22.items()}
    # what each firm was divided by: the published figure, whatever the data say
    assert row[1]["tax_per_mu_benchmark"] == near(T22) and row[10]["tax_per_mu_benchmark"] == near(T22_BELOW)
    assert row[10]["tax_per_kwh_benchmark"] == near(K22_BELOW) and row[1]["tax_per_kwh_benchmark"] is None
    # the facts behind the figures
    assert row[7]["land_used_mu"] == 10 and row[8]["land_used_mu"] == 5 and row[8]["tax_per_mu"] == near(12)
    assert row[4]["value_added_per_emission"] is None and row[3]["value_added_per_emission"] is None
    assert row[5]["labour_productivity"] is None and row[4]["rd_intensity"] == 0
    assert row[12]["tax_per_kwh"] == near(-0.6)
    # not evaluated: T with the reason, no score, no rank
    assert row[6]["excluded_reason"] == "无用地面积" and row[6]["class_rule"] == "excluded"
    assert row[9]["excluded_reason"] == "企业状态不在评价范围: closed"
    for n in (6, 9):
        assert row[n]["population"] is None and row[n]["total_score"] is None and row[n]["rank"] is None
        assert row[n]["class_streak"] is None
    # ranks and unit sizes
    assert [row[n]["rank"] for n in (1, 3, 8, 2, 7, 4, 5)] == [1, 2, 3, 4, 5, 6, 7]
    assert {row[n]["unit_size"] for n in (1, 2, 3, 4, 5, 7, 8)} == {7}
    assert [row[n]["rank"] for n in (10, 11, 12)] == [1, 2, 3] and row[10]["unit_size"] == 3
    assert all(row[n]["class_rule"] == "rank_shares" for n in HY22_SCORES)
    # the benchmark table of a fixed-benchmark run: the published figures, no firm count
    table = {(b["population"], b["indicator"]): b for b in bms}
    assert len(table) == 8
    assert table["above_scale", "value_added_per_emission"]["benchmark"] == near(M22)
    assert all(b["kind"] == "fixed" and b["firms"] is None and b["unit_id"] == HY for b in bms)


def test_huangyan_2022_data_benchmarks_stored(mj):
    """benchmarks='data': every fixed benchmark becomes the district's own Σ numerator ÷ Σ denominator
    over the population's evaluated firms that have the indicator; the run stores that table."""
    store = mj.store(list(HY22.values()))
    summary = job.run(store, "huangyan-2022", 2022, HY, benchmarks="data")
    assert summary.benchmarks == "data" and summary.enterprises == 12 and summary.evaluated == 10
    stored = {(r[0], r[1]): (r[2], r[3], r[4]) for r in store.con.execute(
        "SELECT population, indicator, benchmark, kind, firms FROM mujun_benchmarks WHERE run_id = ?",
        [summary.run_id]).fetchall()}
    # above-scale, firms 1 2 3 4 5 7 8 (6 has no land, 9 is closed):
    #   tax 300+400+160+50+100+150+60 = 1220 over land 10+20+8+5+10+10+5 = 68
    #   value added 1500+2000+800+500+1000+1000+600 = 7400 over 68
    #   per tce: firm 5 has no energy: 6400 ÷ (500+1000+400+250+500+200 = 2850)
    #   per t: firms 3 and 4 have none: (1500+2000+1000+1000+600 = 6100) ÷ (0.3+0.5+0.25+0.2+0.15 = 1.4)
    #   per head: firm 5 has 0 heads: 6400 ÷ (75+100+40+50+50+30 = 345)
    #   R&D: (90+30+60+0+30+30+30 = 270) ÷ (3000×5 + 2500 + 1500 = 19000)
    # below-scale, firms 10 11 12: tax (40+20−6 = 54) ÷ (4+2+3 = 9) = 6; per kWh firms 10 and 12 only:
    #   (40 − 6) × 10,000 ÷ (2,000,000 + 100,000)
    expected = {
        ("above_scale", "tax_per_mu"): (1220 / 68, 7),
        ("above_scale", "value_added_per_mu"): (7400 / 68, 7),
        ("above_scale", "value_added_per_energy"): (6400 / 2850, 6),
        ("above_scale", "value_added_per_emission"): (6100 / 1.4, 5),
        ("above_scale", "labour_productivity"): (6400 / 345, 6),
        ("above_scale", "rd_intensity"): (270 / 19000, 7),
        ("below_scale", "tax_per_mu"): (54 / 9, 3),
        ("below_scale", "tax_per_kwh"): (34 * 10_000 / 2.1e6, 2),
    }
    assert set(stored) == set(expected)
    for k, (value, firms) in expected.items():
        assert stored[k][0] == pytest.approx(value, rel=1e-12), k
        assert stored[k][1] == "sum_ratio" and stored[k][2] == firms, k
    # the scores use them: firm 1's tax 30 ÷ (1220/68) × 30, firm 10's per kWh 0.2 ÷ (34/210) × 50
    r = dict(zip(["tax", "tax_b", "kwh", "kwh_b"], store.con.execute(
        "SELECT tax_per_mu_score, tax_per_mu_benchmark, tax_per_kwh_score, tax_per_kwh_benchmark FROM mujun_results "
        "WHERE run_id = ? AND uscc = ?", [summary.run_id, mj.key(HY22[1])]).fetchone()))
    assert r["tax"] == near(30 * 30 / (1220 / 68)) and r["tax_b"] == pytest.approx(1220 / 68)
    assert r["kwh"] is None and r["kwh_b"] is None
    s10 = store.con.execute("SELECT tax_per_kwh_score FROM mujun_results WHERE run_id = ? AND uscc = ?",
                            [summary.run_id, mj.key(HY22[10])]).fetchone()[0]
    assert s10 == near(50 * 0.2 / (34 * 10_000 / 2.1e6))


# ---------------------------------------------------------------------------------------------
# 黄岩 2021: missing emission scores 0; caps and floors (a variant: the published method has none)
# ---------------------------------------------------------------------------------------------

T21, V21, E21, M21, L21, R21 = 26.01, 132.27, 2.54, 4861.08, 17.45, 0.0305
T21_BELOW, K21_BELOW = 16.601058, 0.236565

HY21 = {
    1: dict(n=1, land_own_mu=10, tax_paid=520.2, value_added=1322.7, energy_tce=400, emission_t=0.2, headcount=60,
            rd_spending=61, main_revenue=2000),
    # no emission: 0 in 2021 (the mean-score rule is only in the 2022 notice)
    2: dict(n=2, land_own_mu=10, tax_paid=260.1, value_added=700, energy_tce=350, emission_t=None, headcount=50,
            rd_spending=20, main_revenue=2000),
    # a net refund: −2.601 万元/亩
    3: dict(n=3, land_own_mu=5, tax_paid=-13.005, value_added=500),
    # no tax figure at all
    4: dict(n=4, land_own_mu=5, tax_paid=None, value_added=500),
    # two identical firms: equal totals share the rank and the class
    5: dict(n=5, land_own_mu=8, tax_paid=416.16, value_added=1058.16),
    6: dict(n=6, land_own_mu=8, tax_paid=416.16, value_added=1058.16),
    # four times the benchmark tax: 120 points uncapped
    7: dict(n=7, land_own_mu=4, tax_paid=416.16, value_added=200),
    8: dict(n=8, land_own_mu=20, tax_paid=100, value_added=1000),
    9: dict(n=9, above_scale=False, land_own_mu=3, tax_paid=49.803174, electricity_kwh=2e6),
    10: dict(n=10, above_scale=False, land_own_mu=2, tax_paid=10, electricity_kwh=1e6),
}
HY21_SCORES = {
    1: dict(tax_per_mu=30 * 52.02 / T21, value_added_per_mu=20 * 132.27 / V21,
            value_added_per_energy=20 * (1322.7 / 400) / E21, value_added_per_emission=10 * (1322.7 / 0.2) / M21,
            labour_productivity=10 * (1322.7 / 60) / L21, rd_intensity=10 * (61 / 2000) / R21),
    2: dict(tax_per_mu=30 * 26.01 / T21, value_added_per_mu=20 * 70 / V21, value_added_per_energy=20 * 2 / E21,
            value_added_per_emission=0.0, labour_productivity=10 * 14 / L21, rd_intensity=10 * 0.01 / R21),
    3: dict(tax_per_mu=30 * -2.601 / T21, value_added_per_mu=20 * 100 / V21),
    # missing → 0, but never better than the worst reported tax score in the unit: firm 3's −3
    4: dict(tax_per_mu=30 * -2.601 / T21, value_added_per_mu=20 * 100 / V21),
    5: dict(tax_per_mu=30 * 52.02 / T21, value_added_per_mu=20 * 132.27 / V21),
    6: dict(tax_per_mu=30 * 52.02 / T21, value_added_per_mu=20 * 132.27 / V21),
    7: dict(tax_per_mu=30 * 104.04 / T21, value_added_per_mu=20 * 50 / V21),
    8: dict(tax_per_mu=30 * 5 / T21, value_added_per_mu=20 * 50 / V21),
    9: dict(tax_per_mu=50 * 16.601058 / T21_BELOW, tax_per_kwh=50 * (49.803174 * 10_000 / 2e6) / K21_BELOW),
    10: dict(tax_per_mu=50 * 5 / T21_BELOW, tax_per_kwh=50 * 0.1 / K21_BELOW),
}
# totals: 1 → 60 + 20 + 26.0374 + 13.6050 + 12.6332 + 10 = 142.2756; 7 → 120 + 7.5603 = 127.5603;
# 5 = 6 → 60 + 20 = 80; 2 → 30 + 10.5844 + 15.7480 + 0 + 8.0229 + 3.2787 = 67.6340;
# 8 → 5.7670 + 7.5603 = 13.3273; 3 → −3 + 15.1206 = 12.1206; 4 → −3 + 15.1206 = 12.1206 (ties 3).
# eight firms: A r − 1 < 1.6, B < 6.4, C < 7.6: 1 and 7 are A; 5 and 6 tie at rank 3 → both B;
# 2 (rank 5), 8 (6) B; 3 and 4 tie at rank 7 (r − 1 = 6 < 6.4) → both B. Below-scale: two firms,
# A r − 1 < 0.4, B < 1.6.
HY21_CLASSES = {1: "A", 7: "A", 5: "B", 6: "B", 2: "B", 4: "B", 8: "B", 3: "B", 9: "A", 10: "B"}


def _caps(data: dict) -> None:
    """Tax capped at 1.5 × weight (45 points) and floored at 0; labour productivity capped at 1.2 × 10."""
    for ind in data["populations"][0]["indicators"]:
        if ind["id"] == "tax_per_mu":
            ind["cap"], ind["floor"] = 1.5, 0
        if ind["id"] == "labour_productivity":
            ind["cap"] = 1.2


def test_huangyan_2021_by_hand_with_caps_floors_and_ties(mj):
    store = mj.store(list(HY21.values()), year=2021)
    results, _ = mj.evaluate(store, policy.get("huangyan-2021"), 2021, HY)
    for n, expected in HY21_SCORES.items():
        check(results[mj.key(HY21[n])], expected)
    assert classes(results, HY21, mj) == HY21_CLASSES
    r = {n: results[mj.key(f)] for n, f in HY21.items()}
    assert r[5]["rank"] == r[6]["rank"] == 3 and r[2]["rank"] == 5          # the tie shares rank 3; 4 is skipped
    assert r[2]["value_added_per_emission"] is None and r[2]["value_added_per_emission_score"] == 0
    assert r[4]["tax_per_mu"] is None and r[3]["tax_per_mu_score"] == near(-3)

    capped = mj.variant("huangyan-2021", _caps)
    results, _ = mj.evaluate(store, capped, 2021, HY)
    r = {n: results[mj.key(f)] for n, f in HY21.items()}
    # the cap is cap × weight: tax at most 1.5 × 30 = 45, labour productivity at most 1.2 × 10 = 12
    assert r[1]["tax_per_mu_score"] == 45 and r[7]["tax_per_mu_score"] == 45 and r[5]["tax_per_mu_score"] == 45
    assert r[1]["labour_productivity_score"] == 12                       # 10 × 22.045 / 17.45 = 12.6332 → 12
    assert r[2]["labour_productivity_score"] == near(10 * 14 / L21)      # 8.02: under the cap, untouched
    # the floor is floor × weight: the refund's −3 becomes 0
    assert r[3]["tax_per_mu_score"] == 0
    # a missing value takes the missing rule: 0, or the worst reported score if lower (floored at 0 here)
    assert r[4]["tax_per_mu_score"] == 0
    assert r[8]["tax_per_mu_score"] == near(30 * 5 / T21)                # between floor and cap: untouched
    # totals after capping: 1 → 45 + 20 + 26.0374 + 13.6050 + 12 + 10 = 126.6424; 5 = 6 → 45 + 20 = 65;
    # 7 → 45 + 7.5603 = 52.5603; 2 → 67.6340 (unchanged); ranks 1; 2; 5 = 6 share rank 3; 7 fifth.
    assert r[1]["total_score"] == near(126.6424, 5e-4) and r[7]["total_score"] == near(52.5603, 5e-4)
    assert r[5]["total_score"] == r[6]["total_score"] == near(65)
    assert [r[n]["rank"] for n in (1, 2, 5, 6, 7)] == [1, 2, 3, 3, 5]
    assert [r[n]["class"] for n in (1, 2, 5, 6, 7)] == ["A", "A", "B", "B", "B"]


# ---------------------------------------------------------------------------------------------
# class shares by rank, ties, thresholds
# ---------------------------------------------------------------------------------------------

COUNTIES = ["330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330113", "330114",
            "330122", "330127", "330182", "330203", "330205", "330206", "330211", "330212", "330213", "330225",
            "330226", "330281", "330282", "330302"]


SHARES = {"above_scale": {"A": 0.2, "B": 0.6, "C": 0.15, "D": 0.05},      # Huangyan's
          "below_scale": {"A": 0.1, "B": 0.2, "C": 0.3, "D": 0.4}}        # tenths: .1 + .2 overshoots .3 in floats


def _one_indicator(d: dict) -> None:
    """Huangyan 2022 with both populations scored on tax per mu alone (total = 100 × tax ÷ land, so the
    tests set each firm's total directly) and each population with its own shares."""
    for p in d["populations"]:
        p["indicators"] = [{"id": "tax_per_mu", "weight": 100, "benchmark": {"kind": "fixed", "value": 1}}]
        p["shares"] = SHARES[p["id"]]


def test_class_shares_by_rank_and_ties(mj):
    """n = 1 … 20 firms with distinct totals per population, one county each: the class of every rank
    follows the rule (e.g. 20 firms at A .20 / B .60 / C .15 / D .05 → 4 / 12 / 3 / 1; 7 firms →
    2 / 4 / 1 / 0; 10 firms at .1/.2/.3/.4 → 1 / 2 / 3 / 4 exactly)."""
    firms = []
    for i, n in enumerate(range(1, 21)):
        for r in range(1, n + 1):     # total 100 × (100 − r)
            firms.append(dict(n=r, county=COUNTIES[i], land_own_mu=1, tax_paid=100 - r))
            firms.append(dict(n=100 + r, county=COUNTIES[i], above_scale=False, land_own_mu=1, tax_paid=100 - r))
    # ties: two firms share first place of five → both A (A holds 40 % here); all four equal → all A;
    # the last two of twenty tie at rank 19 → both C (19 − 1 < 0.95 × 20), none D
    ties = {"330303": [90, 90, 80, 70, 60], "330304": [50, 50, 50, 50],
            "330305": [100 - r for r in range(1, 19)] + [5, 5]}
    for county, taxes in ties.items():
        firms += [dict(n=i + 1, county=county, land_own_mu=1, tax_paid=t) for i, t in enumerate(taxes)]
    store = mj.store(firms)
    results, _ = mj.evaluate(store, mj.variant("huangyan-2022", _one_indicator), 2022, None)
    for i, n in enumerate(range(1, 21)):
        for offset, pop in ((0, "above_scale"), (100, "below_scale")):
            rows = [results[mj.uscc(offset + r, COUNTIES[i])] for r in range(1, n + 1)]
            assert [x["rank"] for x in rows] == list(range(1, n + 1))
            assert [x["class"] for x in rows] == mj.rank_classes(n, SHARES[pop], "ABCD"), (pop, n)
    above20 = [results[mj.uscc(r, COUNTIES[19])]["class"] for r in range(1, 21)]
    assert above20 == ["A"] * 4 + ["B"] * 12 + ["C"] * 3 + ["D"]
    above7 = [results[mj.uscc(r, COUNTIES[6])]["class"] for r in range(1, 8)]
    assert above7 == ["A"] * 2 + ["B"] * 4 + ["C"]
    below10 = [results[mj.uscc(100 + r, COUNTIES[9])]["class"] for r in range(1, 11)]
    assert below10 == ["A"] + ["B"] * 2 + ["C"] * 3 + ["D"] * 4
    first = [results[mj.uscc(i, "330303")] for i in range(1, 6)]
    assert [x["rank"] for x in first] == [1, 1, 3, 4, 5] and [x["class"] for x in first] == ["A", "A", "B", "B", "C"]
    assert {results[mj.uscc(i, "330304")]["class"] for i in range(1, 5)} == {"A"}
    assert {results[mj.uscc(i, "330304")]["rank"] for i in range(1, 5)} == {1}
    last = [results[mj.uscc(i, "330305")] for i in range(1, 21)]
    assert [x["rank"] for x in last[-2:]] == [19, 19] and [x["class"] for x in last[-2:]] == ["C", "C"]
    assert [x["class"] for x in last].count("D") == 0


# ---------------------------------------------------------------------------------------------
# 临海 2016: fixed benchmarks, firms split at 3 亩 of own land; score thresholds (a variant)
# ---------------------------------------------------------------------------------------------

LH16 = {
    # ≥ 3 亩: 亩均税收 ÷ 15 × 40, 亩均销售 ÷ 300 × 10, 能耗 ÷ 3 × 20, 排放 ÷ 500 × 15, 用水 ÷ 0.1 × 5, 劳动生产率 ÷ 15 × 10
    1: dict(n=1, land_own_mu=10, tax_paid=300, revenue=4500, value_added=900, energy_tce=200, emission_t=1.2,
            water_t=6000, headcount=45),
    2: dict(n=2, land_own_mu=3, tax_paid=45, revenue=900, value_added=300, energy_tce=100, emission_t=0.6,
            headcount=20),                                   # exactly 3 亩: the ≥ 3 population; no water: 0
    7: dict(n=7, land_own_mu=20, tax_paid=60, revenue=2000, value_added=400, energy_tce=400, emission_t=None,
            water_t=2000, headcount=40),
    11: dict(n=11, land_own_mu=5, tax_paid=None, revenue=1500, value_added=150, energy_tce=50, emission_t=0.3,
             water_t=1500, headcount=10),
    # < 3 亩: 亩均税收 ÷ 15 × 50, 亩均销售 ÷ 300 × 20, 单位电耗税收 ÷ 2 × 30
    3: dict(n=3, land_own_mu=2.9999, tax_paid=29.999, revenue=599.98, electricity_kwh=149995),
    4: dict(n=4, land_own_mu=0, land_leased_mu=5, tax_paid=37.5, revenue=750, electricity_kwh=375000),  # lessee
    8: dict(n=8, land_own_mu=1, tax_paid=15, revenue=300, electricity_kwh=75000),
    9: dict(n=9, land_own_mu=1, tax_paid=15, revenue=300, electricity_kwh=112500),
    10: dict(n=10, land_own_mu=2, tax_paid=12, revenue=120, electricity_kwh=None),
    # no land used: 4 亩 own, all 4 leased out; and no land figures at all
    5: dict(n=5, land_own_mu=4, land_leased_out_mu=4, tax_paid=10, revenue=100),
    6: dict(n=6, land_own_mu=None, tax_paid=10, revenue=100),
}
LH16_SCORES = {
    1: dict(tax_per_mu=40 * 30 / 15, revenue_per_mu=10 * 450 / 300, value_added_per_energy=20 * 4.5 / 3,
            value_added_per_emission=15 * 750 / 500, value_added_per_water=5 * 0.15 / 0.1,
            labour_productivity=10 * 20 / 15),                                  # 168.3333
    2: dict(tax_per_mu=40 * 15 / 15, revenue_per_mu=10 * 300 / 300, value_added_per_energy=20 * 3 / 3,
            value_added_per_emission=15 * 500 / 500, value_added_per_water=0.0, labour_productivity=10 * 15 / 15),  # 95
    7: dict(tax_per_mu=40 * 3 / 15, revenue_per_mu=10 * 100 / 300, value_added_per_energy=20 * 1 / 3,
            value_added_per_emission=0.0, value_added_per_water=5 * 0.2 / 0.1, labour_productivity=10 * 10 / 15),
    11: dict(tax_per_mu=0.0, revenue_per_mu=10 * 300 / 300, value_added_per_energy=20 * 3 / 3,
             value_added_per_emission=15 * 500 / 500, value_added_per_water=5 * 0.1 / 0.1,
             labour_productivity=10 * 15 / 15),                                 # exactly 60
    3: dict(tax_per_mu=50 * 10 / 15, revenue_per_mu=20 * 200 / 300, tax_per_kwh=30 * (299_990 / 149_995) / 2),
    4: dict(tax_per_mu=50 * 7.5 / 15, revenue_per_mu=20 * 150 / 300, tax_per_kwh=30 * (375_000 / 375_000) / 2),
    8: dict(tax_per_mu=50 * 15 / 15, revenue_per_mu=20 * 300 / 300, tax_per_kwh=30 * (150_000 / 75_000) / 2),  # 100
    9: dict(tax_per_mu=50 * 15 / 15, revenue_per_mu=20 * 300 / 300, tax_per_kwh=30 * (150_000 / 112_500) / 2),  # 90
    10: dict(tax_per_mu=50 * 6 / 15, revenue_per_mu=20 * 60 / 300, tax_per_kwh=0.0),                           # 24
}
# ≥ 3 亩: 1 (168.33), 2 (95), 11 (60), 7 (34.67): four firms, A r − 1 < 0.8, B < 3.2 → A, B, B, B.
# < 3 亩: 8 (100), 9 (90), 3 (76.67), 4 (50), 10 (24): five firms, A r − 1 < 1, B < 4, C < 4.75 → A B B B C.
LH16_CLASSES = {1: "A", 2: "B", 11: "B", 7: "B", 8: "A", 9: "B", 3: "B", 4: "B", 10: "C", 5: "T", 6: "T"}
# thresholds A ≥ 90, B ≥ 60, C ≥ 40, else D; a total exactly on a threshold takes the better class
LH16_THRESHOLD_CLASSES = {1: "A", 2: "A", 11: "B", 7: "D", 8: "A", 9: "A", 3: "B", 4: "C", 10: "D", 5: "T", 6: "T"}


def test_linhai_2016_by_hand_and_thresholds(mj):
    firms = [dict(f, county=LH) for f in LH16.values()]
    store = mj.store(firms, year=2016)
    results, _ = mj.evaluate(store, policy.get("linhai-2016"), 2016, LH)
    key = {n: mj.uscc(n, LH) for n in LH16}
    for n, expected in LH16_SCORES.items():
        check(results[key[n]], expected)
    assert {n: results[key[n]]["class"] for n in LH16} == LH16_CLASSES
    pops = {n: results[key[n]]["population"] for n in LH16}
    assert pops == {1: "land_3mu", 2: "land_3mu", 7: "land_3mu", 11: "land_3mu", 3: "land_small", 4: "land_small",
                    8: "land_small", 9: "land_small", 10: "land_small", 5: None, 6: None}
    assert results[key[1]]["water_t"] == 6000 and results[key[1]]["value_added_per_water"] == near(0.15)
    assert results[key[2]]["water_t"] is None
    assert results[key[5]]["excluded_reason"] == "无用地面积" and results[key[6]]["excluded_reason"] == "无用地面积"
    assert results[key[9]]["total_score"] == 90 and results[key[11]]["total_score"] == 60

    def thresholds(d):
        d["classes"]["method"] = "thresholds"
        d["classes"]["thresholds"] = {"A": 90, "B": 60, "C": 40}
    results, _ = mj.evaluate(store, mj.variant("linhai-2016", thresholds), 2016, LH)
    assert {n: results[key[n]]["class"] for n in LH16} == LH16_THRESHOLD_CLASSES
    assert {results[key[n]]["class_rule"] for n in LH16_SCORES} == {"thresholds"}


# ---------------------------------------------------------------------------------------------
# 温岭 2022: data benchmarks (Σ ÷ Σ over the county's population), ranks inside industry groups
# ---------------------------------------------------------------------------------------------

WL22 = {
    # above-scale: only tax and value added reported (the other indicators score 0)
    1: dict(n=1, industry="3484", land_own_mu=10, tax_paid=200, value_added=1000),   # 泵阀通用机械 (34)
    2: dict(n=2, industry="3441", land_own_mu=10, tax_paid=100, value_added=500),
    3: dict(n=3, industry="3443", land_own_mu=5, tax_paid=25, value_added=250),
    4: dict(n=4, industry="3311", land_own_mu=20, tax_paid=200, value_added=2000),   # 金属制品 (33)
    5: dict(n=5, industry="3130", land_own_mu=5, tax_paid=100, value_added=200),
    6: dict(n=6, industry="2611", land_own_mu=10, tax_paid=75, value_added=550),     # 化工 (26): 其他行业
    # below-scale: 亩均税收 40, 亩均营业收入 30, 单位用电营业收入 30
    8: dict(n=8, above_scale=False, industry="3484", land_own_mu=4, tax_paid=8, revenue=400, electricity_kwh=4e5),
    9: dict(n=9, above_scale=False, industry="3484", land_own_mu=2, tax_paid=2, revenue=100, electricity_kwh=2e5),
    10: dict(n=10, above_scale=False, industry="1711", land_own_mu=3, tax_paid=6, revenue=300),  # 纺织 (17)
    11: dict(n=11, above_scale=False, industry="2911", land_own_mu=0, tax_paid=6, revenue=300),  # no land: T
}
# above-scale benchmarks: tax (200+100+25+200+100+75 = 700) ÷ (10+10+5+20+5+10 = 60);
#   value added (1000+500+250+2000+200+550 = 4500) ÷ 60 = 75
# below-scale: tax (8+2+6 = 16) ÷ (4+2+3 = 9); revenue (400+100+300 = 800) ÷ 9;
#   revenue per kWh over firms 8 and 9: (500 × 10,000) ÷ 600,000 = 25/3 元/kWh
BT, BV = 700 / 60, 75.0
BT_BELOW, BR_BELOW, BK_BELOW = 16 / 9, 800 / 9, 25 / 3
WL22_SCORES = {
    1: dict(tax_per_mu=30 * 20 / BT, value_added_per_mu=20 * 100 / BV),       # 51.4286 + 26.6667 = 78.0952
    2: dict(tax_per_mu=30 * 10 / BT, value_added_per_mu=20 * 50 / BV),        # 25.7143 + 13.3333 = 39.0476
    3: dict(tax_per_mu=30 * 5 / BT, value_added_per_mu=20 * 50 / BV),         # 12.8571 + 13.3333 = 26.1905
    4: dict(tax_per_mu=30 * 10 / BT, value_added_per_mu=20 * 100 / BV),       # 25.7143 + 26.6667 = 52.3810
    5: dict(tax_per_mu=30 * 20 / BT, value_added_per_mu=20 * 40 / BV),        # 51.4286 + 10.6667 = 62.0952
    6: dict(tax_per_mu=30 * 7.5 / BT, value_added_per_mu=20 * 55 / BV),       # 19.2857 + 14.6667 = 33.9524
    8: dict(tax_per_mu=40 * 2 / BT_BELOW, revenue_per_mu=30 * 100 / BR_BELOW, revenue_per_kwh=30 * 10 / BK_BELOW),
    9: dict(tax_per_mu=40 * 1 / BT_BELOW, revenue_per_mu=30 * 50 / BR_BELOW, revenue_per_kwh=30 * 5 / BK_BELOW),
    10: dict(tax_per_mu=40 * 2 / BT_BELOW, revenue_per_mu=30 * 100 / BR_BELOW, revenue_per_kwh=0.0),
}
# ranks inside (population, group): pumps above 1 > 2 > 3 (three firms: A r − 1 < 0.6, B < 2.4);
# metals 5 > 4 (A r − 1 < 0.4, B < 1.6); other: 6 alone → A. Below-scale shares A .05 / B .70 / C .20 / D .05:
# pumps 8 > 9 (A r − 1 < 0.1, B < 1.5); textiles: 10 alone → A.
WL22_CLASSES = {1: "A", 2: "B", 3: "B", 5: "A", 4: "B", 6: "A", 8: "A", 9: "B", 10: "A", 11: "T"}
WL22_GROUPS = {1: "pump_valve_machinery", 2: "pump_valve_machinery", 3: "pump_valve_machinery", 4: "metal",
               5: "metal", 6: "other", 8: "pump_valve_machinery", 9: "pump_valve_machinery",
               10: "textile_shoe_rubber_plastic", 11: "textile_shoe_rubber_plastic"}


@pytest.fixture(scope="module")
def wenling(mj_session):
    store = mj_session.store([dict(f, county=WL) for f in WL22.values()])
    return mj_session.evaluate(store, policy.get("wenling-2022"), 2022, WL)


def test_wenling_2022_by_hand(mj, wenling):
    results, bms = wenling
    key = {n: mj.uscc(n, WL) for n in WL22}
    for n, expected in WL22_SCORES.items():
        check(results[key[n]], expected)
    assert {n: results[key[n]]["class"] for n in WL22} == WL22_CLASSES
    assert {n: results[key[n]]["group_id"] for n in WL22} == WL22_GROUPS
    assert [results[key[n]]["unit_size"] for n in (1, 2, 3, 4, 5, 6, 8, 9, 10)] == [3, 3, 3, 2, 2, 1, 2, 2, 1]
    assert [results[key[n]]["rank"] for n in (1, 2, 3, 5, 4, 6)] == [1, 2, 3, 1, 2, 1]
    table = {(b["population"], b["indicator"]): b for b in bms}
    assert table["above_scale", "tax_per_mu"]["benchmark"] == pytest.approx(BT)
    assert table["above_scale", "tax_per_mu"]["firms"] == 6
    assert table["above_scale", "tax_per_mu"]["kind"] == "sum_ratio"
    assert table["below_scale", "revenue_per_kwh"]["benchmark"] == pytest.approx(BK_BELOW)
    assert table["below_scale", "revenue_per_kwh"]["firms"] == 2
    # indicators with no data in the population: no benchmark, no firm, every score 0
    assert table["above_scale", "labour_productivity"]["benchmark"] is None
    assert table["above_scale", "labour_productivity"]["firms"] == 0


# ---------------------------------------------------------------------------------------------
# 浙江 2018: four populations incl. lessees, bonuses and penalties with caps, hard rules, consequences
# ---------------------------------------------------------------------------------------------

EXPIRED = ("high_tech", dt.date(2018, 1, 1), dt.date(2021, 12, 31))
ZJ18 = {
    # above-scale, 10 亩 each, tax only: benchmark Σ tax ÷ Σ land = 1050 ÷ 60 = 17.5
    1: dict(n=1, land_own_mu=10, tax_paid=300, flags=["safety_violation", "environmental_violation"]),
    2: dict(n=2, land_own_mu=10, tax_paid=250),
    3: dict(n=3, land_own_mu=10, tax_paid=200, flags=["high_tech", "specialised", "little_giant"]),
    4: dict(n=4, land_own_mu=10, tax_paid=150, flags=["rd_institution", EXPIRED]),
    5: dict(n=5, land_own_mu=10, tax_paid=100, flags=["major_safety_accident"]),
    6: dict(n=6, land_own_mu=10, tax_paid=50),
    # below-scale lessees (no own land, leased land): tax (6 + 3) ÷ 6 亩 = 1.5; per kWh 90,000 ÷ 300,000 = 0.3
    7: dict(n=7, above_scale=False, land_own_mu=0, land_leased_mu=3, tax_paid=6, electricity_kwh=1e5),
    8: dict(n=8, above_scale=False, land_own_mu=None, land_leased_mu=3, tax_paid=3, electricity_kwh=2e5),
    # below-scale with ≥ 3 亩 own land (3 exactly counts) and < 3 亩 (own 1 + leased 1: not a lessee)
    9: dict(n=9, above_scale=False, land_own_mu=3, tax_paid=6, electricity_kwh=1e5),
    10: dict(n=10, above_scale=False, land_own_mu=5, tax_paid=5, electricity_kwh=1e5),
    11: dict(n=11, above_scale=False, land_own_mu=2, tax_paid=4, electricity_kwh=1e5),
    12: dict(n=12, above_scale=False, land_own_mu=1, land_leased_mu=1, tax_paid=1, electricity_kwh=1e5),
    # below-scale without any land: T
    13: dict(n=13, above_scale=False, land_own_mu=0, tax_paid=1, electricity_kwh=1e5),
}
ZJ18_SCORES = {
    # value added, energy, emission, heads, R&D missing: 0 (emission's mean-score rule: nobody reports → 0)
    1: dict(tax_per_mu=30 * 30 / 17.5),      # 51.4286, penalties 3 + 3 = 6 → 45.4286
    2: dict(tax_per_mu=30 * 25 / 17.5),      # 42.8571
    3: dict(tax_per_mu=30 * 20 / 17.5),      # 34.2857, bonuses 2 + 2 + 3 = 7 capped at 5 → 39.2857
    4: dict(tax_per_mu=30 * 15 / 17.5),      # 25.7143, rd_institution 1 (high_tech expired in 2021) → 26.7143
    5: dict(tax_per_mu=30 * 10 / 17.5),      # 17.1429
    6: dict(tax_per_mu=30 * 5 / 17.5),       # 8.5714
    7: dict(tax_per_mu=50 * 2 / 1.5, tax_per_kwh=50 * 0.6 / 0.3),      # 66.6667 + 100
    8: dict(tax_per_mu=50 * 1 / 1.5, tax_per_kwh=50 * 0.15 / 0.3),     # 33.3333 + 25
    # ≥ 3 亩: tax (6 + 5) ÷ 8 亩; per kWh 110,000 ÷ 200,000
    9: dict(tax_per_mu=50 * 2 / (11 / 8), tax_per_kwh=50 * 0.6 / (11e4 / 2e5)),
    10: dict(tax_per_mu=50 * 1 / (11 / 8), tax_per_kwh=50 * 0.5 / (11e4 / 2e5)),
    # < 3 亩: tax (4 + 1) ÷ (2 + 2) 亩; per kWh 50,000 ÷ 200,000
    11: dict(tax_per_mu=50 * 2 / (5 / 4), tax_per_kwh=50 * 0.4 / (5e4 / 2e5)),
    12: dict(tax_per_mu=50 * 0.5 / (5 / 4), tax_per_kwh=50 * 0.1 / (5e4 / 2e5)),
}
ZJ18_POINTS = {1: (0, 6), 3: (5, 0), 4: (1, 0)}
# above-scale: 1 (45.43), 2 (42.86), 3 (39.29), 4 (26.71), 5 (17.14), 6 (8.57): six firms,
#   A r − 1 < 1.2, B < 4.8, C < 5.7 → A A B B B C; firm 5's major accident moves it down one: B → C.
# the other populations (A .05 / B .70 / C .20 / D .05), two firms each: A r − 1 < 0.1, B < 1.5.
ZJ18_CLASSES = {1: "A", 2: "A", 3: "B", 4: "B", 5: "C", 6: "C", 7: "A", 8: "B", 9: "A", 10: "B", 11: "A", 12: "B",
                13: "T"}


def test_zhejiang_2018_by_hand(mj):
    store = mj.store([dict(f, above_scale=f.get("above_scale", True)) for f in ZJ18.values()])
    results, _ = mj.evaluate(store, policy.get("zhejiang-2018"), 2022, HY)
    r = {n: results[mj.key(f)] for n, f in ZJ18.items()}
    for n, expected in ZJ18_SCORES.items():
        bonus, penalty = ZJ18_POINTS.get(n, (0, 0))
        check(r[n], expected, bonus=bonus, penalty=penalty)
        assert (r[n]["bonus"], r[n]["penalty"]) == (bonus, penalty)
    assert {n: r[n]["class"] for n in ZJ18} == ZJ18_CLASSES
    assert {n: r[n]["population"] for n in ZJ18} == {
        1: "above_scale", 2: "above_scale", 3: "above_scale", 4: "above_scale", 5: "above_scale", 6: "above_scale",
        7: "lessee", 8: "lessee", 9: "below_scale_3mu", 10: "below_scale_3mu", 11: "below_scale_small",
        12: "below_scale_small", 13: None}
    assert r[3]["bonus_flags"] == "high_tech,specialised,little_giant" and r[4]["bonus_flags"] == "rd_institution"
    assert r[1]["penalty_flags"] == "safety_violation,environmental_violation" and r[2]["bonus_flags"] is None
    assert r[5]["score_class"] == "B" and r[5]["class"] == "C" and r[5]["class_rule"] == "major_safety_accident"
    assert r[6]["class_rule"] == "rank_shares"
    assert r[13]["excluded_reason"] == "无用地面积"
    # consequences of the classes: above-scale A → quotas first; C → energy quota restricted, no surcharge
    assert (r[1]["energy_quota"], r[1]["land_quota"]) == ("priority", "priority")
    assert r[5]["energy_quota"] == "restricted" and r[5]["electricity_rate"] is None and r[5]["surcharge_yuan"] is None
    assert r[3]["energy_quota"] is None


def _tax_floor(data: dict, *, escalation: list | None = None) -> None:
    """zhejiang-2018 plus a hard rule: tax per mu below 1 万元 → D, whatever the rank; and a penalty cap
    of 4 points instead of 10."""
    data["penalty_cap"] = 4
    data["rules"].append({"id": "tax_floor", "label": "亩均税收低于1万元的, 直接列为D类",
                          "when": {"indicator": "tax_per_mu", "below": 1}, "then": {"set": "D"}})
    if escalation is not None:
        for c in data["consequences"]:
            if c["class"] == "D":
                c["escalation"] = escalation


CQ = {
    # above-scale: two firms, the second under 1 万元/亩 → D; 0.10 元/kWh for 7 months (2022-12 … 2023-06);
    # the first has both penalties, 3 + 3 = 6 points, capped at 4 in this variant
    1: dict(n=1, land_own_mu=10, tax_paid=100, electricity_kwh=1e6, flags=["safety_violation",
                                                                          "environmental_violation"]),
    2: dict(n=2, land_own_mu=10, tax_paid=5, electricity_kwh=2e6),
    # below-scale < 3 亩, four under the floor → D at 0.30 元/kWh for 7 months, at most 50 万元, exempt < 50,000 kWh
    3: dict(n=3, above_scale=False, land_own_mu=2, tax_paid=0.5, electricity_kwh=1e6),
    4: dict(n=4, above_scale=False, land_own_mu=2, tax_paid=1, electricity_kwh=40_000),
    5: dict(n=5, above_scale=False, land_own_mu=2, tax_paid=1.5, electricity_kwh=5e6),
    6: dict(n=6, above_scale=False, land_own_mu=2, tax_paid=1.9, electricity_kwh=50_000),
    7: dict(n=7, above_scale=False, land_own_mu=2, tax_paid=20, electricity_kwh=1e5),
    # below-scale ≥ 3 亩: four firms, the fourth by rank is C (A r − 1 < 0.2, B < 3, C < 3.8):
    # 0.10 元/kWh for 6 months (2023-01 … 2023-06)
    8: dict(n=8, above_scale=False, land_own_mu=4, tax_paid=40, electricity_kwh=1e5),
    9: dict(n=9, above_scale=False, land_own_mu=4, tax_paid=30, electricity_kwh=1e5),
    10: dict(n=10, above_scale=False, land_own_mu=4, tax_paid=20, electricity_kwh=1e5),
    11: dict(n=11, above_scale=False, land_own_mu=4, tax_paid=10, electricity_kwh=3e5),
}
CQ_EXPECTED = {
    # class, 元/kWh, surcharge in 元
    1: ("A", None, None),
    2: ("D", 0.10, 0.10 * 2e6 * 7 / 12),           # 116,666.67
    3: ("D", 0.30, 0.30 * 1e6 * 7 / 12),           # 175,000
    4: ("D", 0.30, 0.0),                           # 40,000 kWh < 50,000: exempt
    5: ("D", 0.30, 500_000.0),                     # 0.30 × 5e6 × 7/12 = 875,000 > the 50 万元 cap
    6: ("D", 0.30, 0.30 * 50_000 * 7 / 12),        # 50,000 kWh is not under the threshold: 8,750
    7: ("A", None, None),
    8: ("A", None, None),
    9: ("B", None, None),
    10: ("B", None, None),
    11: ("C", 0.10, 0.10 * 3e5 * 6 / 12),          # 15,000
}


def test_zhejiang_2018_hard_rule_and_surcharges(mj):
    store = mj.store([dict(f, above_scale=f.get("above_scale", True)) for f in CQ.values()])
    preset = mj.variant("zhejiang-2018", _tax_floor)
    results, _ = mj.evaluate(store, preset, 2022, HY)
    for n, (code, rate, amount) in CQ_EXPECTED.items():
        row = results[mj.key(CQ[n])]
        assert row["class"] == code, (n, row["class"])
        assert (row["electricity_rate"] is None) == (rate is None), n
        assert rate is None or float(row["electricity_rate"]) == near(rate), n
        assert (row["surcharge_yuan"] is None) == (amount is None), n
        if amount is not None:
            assert float(row["surcharge_yuan"]) == pytest.approx(amount, abs=0.006), n
    row = {n: results[mj.key(f)] for n, f in CQ.items()}
    # tax benchmark (100 + 5) ÷ 20 = 5.25: firm 1 scores 30 × 10 ÷ 5.25 − 4 (the capped penalties)
    assert row[1]["penalty"] == 4 and row[1]["total_score"] == near(30 * 10 / 5.25 - 4)
    assert row[2]["class_rule"] == "tax_floor" and row[2]["score_class"] == "B"
    assert row[3]["class_rule"] == "tax_floor" and row[11]["class_rule"] == "rank_shares"
    assert (row[2]["energy_quota"], row[2]["land_quota"]) == ("cut", "restricted")


def test_a_missing_tax_does_not_escape_the_tax_floor_rule(mj):
    firms = [dict(n=1, land_own_mu=10, tax_paid=100), dict(n=2, land_own_mu=10, tax_paid=90),
             dict(n=3, land_own_mu=10, tax_paid=5), dict(n=4, land_own_mu=10, tax_paid=None)]
    store = mj.store(firms)
    results, _ = mj.evaluate(store, mj.variant("zhejiang-2018", _tax_floor), 2022, HY)
    assert results[mj.key(firms[2])]["class"] == "D"            # 0.5 万元/亩: caught
    assert results[mj.key(firms[3])]["class"] == "D"            # no tax figure at all


def test_zhejiang_2018_escalation_over_two_stored_runs(mj, tmp_path):
    """jobs.mujun.run twice: the second year's run finds the first and counts the streak; a firm in D
    two years running pays the escalated rate (a variant: two years instead of the published three)."""
    preset = mj.variant("zhejiang-2018", lambda d: _tax_floor(d, escalation=[{"consecutive_years": 2,
                                                                                "electricity": 0.40}]))
    path = mj.write_preset(preset, tmp_path, "zj-escalate")
    firms = {
        1: dict(n=1, land_own_mu=10, tax_paid=5, electricity_kwh=1e6),      # D in both years
        2: dict(n=2, land_own_mu=10, tax_paid=5, electricity_kwh=1e6),      # D, then out of D (tax raised)
        3: dict(n=3, land_own_mu=10, tax_paid=200, electricity_kwh=1e6),    # A both years
        4: dict(n=4, land_own_mu=10, tax_paid=100, electricity_kwh=1e6),
        5: dict(n=5, land_own_mu=10, tax_paid=90, electricity_kwh=1e6),
        6: dict(n=6, above_scale=False, land_own_mu=2, tax_paid=1, electricity_kwh=1e6),  # below-scale D twice
    }
    store = mj.store()
    mj.insert(store, list(firms.values()), 2021)
    firms[2] = dict(firms[2], tax_paid=150)
    mj.insert(store, list(firms.values()), 2022, register=False)
    first = job.run(store, str(path), 2021, HY)
    second = job.run(store, str(path), 2022, HY)
    def stored(run_id: str, columns: str) -> dict[int, tuple]:
        return {n: store.con.execute(f"SELECT {columns} FROM mujun_results WHERE run_id = ? AND uscc = ?",
                                     [run_id, mj.key(f)]).fetchone() for n, f in firms.items()}

    before = stored(first.run_id, "class, class_streak")
    got = stored(second.run_id, "class, class_streak, electricity_rate, surcharge_yuan")
    assert before[1] == ("D", 1) and before[2] == ("D", 1) and before[6] == ("D", 1)
    assert got[1][:2] == ("D", 2) and float(got[1][2]) == 0.40
    assert float(got[1][3]) == pytest.approx(0.40 * 1e6 * 7 / 12, abs=0.006)      # 233,333.33
    assert got[6][:2] == ("D", 2) and float(got[6][2]) == 0.40                      # below-scale escalates too
    assert got[2][0] != "D" and got[2][1] == 1 and got[2][3] is None               # left D: streak restarts
    assert before[3][0] == got[3][0] == "A" and got[3][1] == 2                     # any class keeps its streak
    params = store.con.execute("SELECT json_extract_string(params, '$.previous_run') FROM runs WHERE run_id = ?",
                               [second.run_id]).fetchone()[0]
    assert params == first.run_id


def test_escalation_with_several_steps_takes_the_longest_streak_reached(mj):
    """Shandong's pattern: D +0.05, two years running +0.10, three or more +0.15 元/kWh."""
    preset = mj.variant("zhejiang-2018", lambda d: _tax_floor(d, escalation=[
        {"consecutive_years": 2, "electricity": 0.10}, {"consecutive_years": 3, "electricity": 0.15}]))
    firms = [dict(n=1, land_own_mu=10, tax_paid=5, electricity_kwh=1e6),
             dict(n=2, land_own_mu=10, tax_paid=5, electricity_kwh=1e6),
             dict(n=3, land_own_mu=10, tax_paid=100, electricity_kwh=1e6)]
    store = mj.store(firms)
    # last year: firm 1 in D for the second year running, firm 2 for the first
    store.con.execute("CREATE TABLE prev AS SELECT * FROM (VALUES (?, 'D', 2), (?, 'D', 1)) "
                      "t(uscc, class, class_streak)", [mj.key(firms[0]), mj.key(firms[1])])
    results, _ = mj.evaluate(store, preset, 2022, HY, previous="prev")
    one, two = results[mj.key(firms[0])], results[mj.key(firms[1])]
    assert two["class_streak"] == 2 and float(two["electricity_rate"]) == 0.10
    assert one["class_streak"] == 3 and float(one["electricity_rate"]) == 0.15


# ---------------------------------------------------------------------------------------------
# benchmark statistics, missing rules, direction, scope and a protection rule (one variant)
# ---------------------------------------------------------------------------------------------

def _kinds(d: dict) -> None:
    d["populations"] = [{
        "id": "above_scale", "label": "规上", "above_scale": True, "indicators": [
            {"id": "tax_per_mu", "weight": 30, "benchmark": {"kind": "mean"}},
            {"id": "value_added_per_mu", "weight": 20, "benchmark": {"kind": "median"}},
            {"id": "revenue_per_mu", "weight": 10, "benchmark": {"kind": "max", "over": "all"}},
            {"id": "labour_productivity", "weight": 10, "benchmark": {"kind": "percentile", "q": 0.75}},
            {"id": "value_added_per_energy", "weight": 20, "benchmark": {"kind": "sum_ratio", "multiple": 2}},
            {"id": "rd_intensity", "weight": 10, "benchmark": {"kind": "fixed", "value": 0.02}, "missing": "min_score"},
            {"id": "value_added_per_emission", "weight": 10, "benchmark": {"kind": "fixed", "value": 1000},
             "missing": "deduct", "deduct": 3},
            {"id": "tax_per_kwh", "weight": 10, "benchmark": {"kind": "fixed", "value": 0.5}, "direction": "lower"},
        ]}]
    d["scope"] = {"exclude_industries": ["2611"], "exclude_flags": ["dishonest"], "min_age_years": 2}
    d["rules"] = [{"id": "new_firm", "label": "成立5年内的企业不列A类", "when": {"founded_within_years": 5},
                   "then": {"best": "B"}}]


KINDS = {
    # 10 亩 each; energy = value added ÷ 5 for all, so Σ va ÷ Σ energy = 5, × 2 = 10
    1: dict(n=1, land_own_mu=10, tax_paid=100, value_added=1000, revenue=2000, headcount=100, energy_tce=200,
            rd_spending=10, main_revenue=1000, emission_t=1, electricity_kwh=1e5),
    2: dict(n=2, land_own_mu=10, tax_paid=200, value_added=3000, revenue=4000, headcount=150, energy_tce=600,
            rd_spending=20, main_revenue=1000),
    3: dict(n=3, land_own_mu=10, tax_paid=300, value_added=2000, revenue=6000, headcount=80, energy_tce=400,
            rd_spending=30, main_revenue=1000, electricity_kwh=2e5),
    4: dict(n=4, land_own_mu=10, tax_paid=400, value_added=5000, revenue=8000, headcount=125, energy_tce=1000,
            rd_spending=40, main_revenue=1000, electricity_kwh=4e6, founded_on=dt.date(2019, 3, 1)),
    5: dict(n=5, land_own_mu=10, tax_paid=500, value_added=4000, revenue=10000, headcount=80, energy_tce=800,
            rd_spending=None, main_revenue=1000),
    # out of scope, with figures large enough to show if they leaked into a benchmark
    6: dict(n=6, industry="2611", land_own_mu=1, tax_paid=9000, value_added=90000, revenue=90000, headcount=1),
    7: dict(n=7, flags=["dishonest"], land_own_mu=1, tax_paid=9000, value_added=90000, revenue=90000, headcount=1),
    8: dict(n=8, founded_on=dt.date(2022, 6, 1), land_own_mu=1, tax_paid=9000, value_added=90000, revenue=90000,
            headcount=1),
    # another county: its 2,000 万元/亩 of revenue is the max over all units
    9: dict(n=9, county="330102", land_own_mu=10, tax_paid=10, revenue=20000),
}
# benchmarks in 黄岩: tax mean(10, 20, 30, 40, 50) = 30; value added median(100, 300, 200, 500, 400) = 300;
# revenue max over all = 2000 (firm 9); labour 75th percentile of (10, 20, 25, 40, 50) = the 4th = 40;
# energy Σ ÷ Σ × 2 = 10; R&D, emission and per-kWh fixed.
KINDS_SCORES = {
    1: dict(tax_per_mu=30 * 10 / 30, value_added_per_mu=20 * 100 / 300, revenue_per_mu=10 * 200 / 2000,
            labour_productivity=10 * 10 / 40, value_added_per_energy=20 * 5 / 10, rd_intensity=10 * 0.01 / 0.02,
            value_added_per_emission=10 * 1000 / 1000, tax_per_kwh=10 * 0.5 / (100 * 10_000 / 1e5)),   # 45.6667
    2: dict(tax_per_mu=30 * 20 / 30, value_added_per_mu=20 * 300 / 300, revenue_per_mu=10 * 400 / 2000,
            labour_productivity=10 * 20 / 40, value_added_per_energy=20 * 5 / 10, rd_intensity=10 * 0.02 / 0.02,
            value_added_per_emission=-3, tax_per_kwh=0.0),                                                # 64
    3: dict(tax_per_mu=30 * 30 / 30, value_added_per_mu=20 * 200 / 300, revenue_per_mu=10 * 600 / 2000,
            labour_productivity=10 * 25 / 40, value_added_per_energy=20 * 5 / 10, rd_intensity=10 * 0.03 / 0.02,
            value_added_per_emission=-3, tax_per_kwh=10 * 0.5 / (300 * 10_000 / 2e5)),                   # 74.9167
    4: dict(tax_per_mu=30 * 40 / 30, value_added_per_mu=20 * 500 / 300, revenue_per_mu=10 * 800 / 2000,
            labour_productivity=10 * 40 / 40, value_added_per_energy=20 * 5 / 10, rd_intensity=10 * 0.04 / 0.02,
            value_added_per_emission=-3, tax_per_kwh=10 * 0.5 / (400 * 10_000 / 4e6)),                   # 119.3333
    # no R&D figure: the lowest R&D score of the population (firm 1's 5)
    5: dict(tax_per_mu=30 * 50 / 30, value_added_per_mu=20 * 400 / 300, revenue_per_mu=10 * 1000 / 2000,
            labour_productivity=10 * 50 / 40, value_added_per_energy=20 * 5 / 10, rd_intensity=5.0,
            value_added_per_emission=-3, tax_per_kwh=0.0),                                                # 106.1667
}
# ranks 4, 5, 3, 2, 1 (five firms: A r − 1 < 1, B < 4, C < 4.75): A B B B C by score; firm 4, founded in 2019,
# may not be A under the rule: B.


def test_benchmark_statistics_missing_rules_scope_and_protection(mj):
    store = mj.store(list(KINDS.values()))
    results, bms = mj.evaluate(store, mj.variant("huangyan-2022", _kinds), 2022, None)
    r = {n: results[mj.key(f)] for n, f in KINDS.items()}
    for n, expected in KINDS_SCORES.items():
        check(r[n], expected)
    assert [r[n]["score_class"] for n in (4, 5, 3, 2, 1)] == ["A", "B", "B", "B", "C"]
    assert r[4]["class"] == "B" and r[4]["class_rule"] == "new_firm" and r[5]["class_rule"] == "rank_shares"
    assert r[6]["excluded_reason"] == "行业不参评 (2611)"
    assert r[7]["excluded_reason"] == "资质或名单不参评 (dishonest)"
    assert r[8]["excluded_reason"] == "成立不满2年"
    table = {(b["unit_id"], b["indicator"]): (b["benchmark"], b["kind"], b["firms"]) for b in bms}
    assert table[HY, "tax_per_mu"] == (pytest.approx(30), "mean", 5)
    assert table[HY, "value_added_per_mu"] == (pytest.approx(300), "median", 5)
    assert table[HY, "revenue_per_mu"] == (pytest.approx(2000), "max", 6)       # over all units: 6 firms
    assert table["330102", "revenue_per_mu"] == (pytest.approx(2000), "max", 6)
    assert table[HY, "labour_productivity"] == (pytest.approx(40), "percentile", 5)
    assert table[HY, "value_added_per_energy"] == (pytest.approx(10), "sum_ratio", 5)
    assert table[HY, "rd_intensity"] == (pytest.approx(0.02), "fixed", None)
