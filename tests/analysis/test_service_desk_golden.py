"""Golden cases G8, G9 and G10 of enterprise_service.md §7 (issue 12), exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from shanhai.analysis import service_desk as sd
from shanhai.policy import _service_desk as p

D = dt.date

G8 = {"joint_stock": D(2022, 3, 15), "counselling_filed": D(2022, 11, 20), "application_accepted": D(2023, 6, 30),
      "listed": D(2024, 4, 18)}


def test_g8_xiaoshan_staged_awards():
    pl = p.pipeline("xiaoshan-2021")
    out = sd.calc_stage_awards(pl, G8, reinvest_share="0.85")
    got = {(a["award"], a["amount"], a["due_on"]) for a in out["awards"]}
    assert got == {("joint_stock", Decimal(100), D(2022, 11, 20)),     # released at 辅导备案, not at 股改
                   ("accepted", Decimal(200), D(2023, 6, 30)), ("listed", Decimal(700), D(2024, 4, 18))}
    assert out["total"] == Decimal(1000) and not out["manual_review"] and out["order_problems"] == []
    assert [m for m in p.MILESTONES if G8.get(m)] == ["joint_stock", "counselling_filed", "application_accepted",
                                                       "listed"]
    assert sd.calc_tier(pl, G8) == "listed"


def test_g8_release_waits_for_counselling():
    out = sd.calc_stage_awards(p.pipeline("xiaoshan-2021"), {"joint_stock": D(2022, 3, 15)})
    js = next(a for a in out["awards"] if a["award"] == "joint_stock")
    assert js["status"] == "waiting" and js["amount"] is None and out["total"] == 0


def test_g8b_pro_rata_below_80_is_manual_review():
    out = sd.calc_stage_awards(p.pipeline("xiaoshan-2021"), G8, reinvest_share="0.65")
    listed = next(a for a in out["awards"] if a["award"] == "listed")
    assert listed["status"] == "manual_review" and listed["amount"] is None
    assert listed["candidates"] == [Decimal("568.75"), Decimal("455")]
    assert out["manual_review"] and out["total"] == Decimal(300)    # never paid as a pass


def test_g8_out_of_order_dates_are_flagged():
    bad = dict(G8, counselling_filed=D(2022, 1, 1))
    assert sd.calc_milestone_order(bad)


def _g9(average_years=None):
    keys = ["山海丁", "山海戊"]
    facts = sd.calc_entry_facts(
        keys, 2023,
        revenue={"山海丁": {2022: 3900, 2023: 4300}, "山海戊": {2021: 2000, 2022: 2700, 2023: 3600}},
        net_profit={"山海丁": {2022: -50, 2023: 420}, "山海戊": {2021: -30, 2022: -80, 2023: -20}},
        founded_year={k: 2020 for k in keys}, reform_planned={k: True for k in keys},
        clean_record={k: True for k in keys}, star_market_expected={k: False for k in keys})
    ev = sd.calc_entry(p.pipeline("xiaoshan-2021"), facts, average_years=average_years)
    return facts, ev


def test_g9_reserve_entry_both_eligible_with_a_two_year_average():
    facts, ev = _g9()
    assert list(ev.outcome) == ["eligible", "eligible"]
    ding, wu = ev.explain(0), ev.explain(1)
    fin = lambda x: {c["id"]: c["status"] for c in x["conditions"][3]["children"]}     # noqa: E731
    assert fin(ding)["E-FIN-1"] == "fail" and fin(ding)["E-FIN-2"] == "pass"
    assert fin(wu)["E-FIN-4"] == "pass"
    assert facts.values["revenue_cagr_2y"][1] == pytest.approx(34.1641, abs=1e-4)


def test_g9b_flips_when_the_average_covers_three_years():
    _, ev = _g9(average_years=3)
    assert ev.outcome[0] == "eligible"            # 山海丁 passes on test (2) whatever the window
    assert ev.outcome[1] != "eligible"            # 2,766.7 < 3,000
    four = next(c for c in ev.explain(1)["conditions"][3]["children"] if c["id"] == "E-FIN-4")
    mean = next(c for c in four["children"] if c["id"] == "E-4c")
    assert mean["status"] == "fail" and mean["value"] == pytest.approx(8300 / 3)


def test_g9_star_standard_unrecorded_is_review_not_pass():
    keys = ["x"]
    facts = sd.calc_entry_facts(keys, 2023, revenue={"x": {2022: 100, 2023: 100}},
                                net_profit={"x": {2022: -1, 2023: -1}}, founded_year={"x": 2015},
                                reform_planned={"x": True}, clean_record={"x": True})
    ev = sd.calc_entry(p.pipeline("xiaoshan-2021"), facts)
    assert ev.outcome[0] == "needs_review"


def test_g10_haishu_due_dates_and_overdue_escalation():
    prof = p.sla_profile("NB-HAISHU-2018")
    steps = {s["step"]: s["due"] for s in sd.calc_due_dates(prof, D(2025, 3, 6), D(2025, 3, 7))}
    assert steps == {"route": D(2025, 3, 10), "close": D(2025, 3, 14)}
    clock = sd.calc_clock(prof, D(2025, 3, 6), D(2025, 3, 7), done=D(2025, 3, 17))
    assert clock["due"] == D(2025, 3, 14) and clock["overdue_wd"] == 1 and clock["state"] == "closed_late"
    live = sd.calc_clock(prof, D(2025, 3, 6), D(2025, 3, 7), today=D(2025, 3, 17))
    assert live["state"] == "overdue" and live["overdue_wd"] == 1
    assert sd.calc_clock(prof, D(2025, 3, 6), D(2025, 3, 7), today=D(2025, 3, 13))["state"] == "due_soon"
    assert sd.calc_clock(prof, D(2025, 3, 6), D(2025, 3, 7), done=D(2025, 3, 14))["state"] == "closed_on_time"


def test_g10_shandong_profile_on_the_same_request():
    prof = p.sla_profile("SD-2020")
    steps = {s["step"]: s["due"] for s in sd.calc_due_dates(prof, D(2025, 3, 6), D(2025, 3, 7))}
    assert steps == {"verify": D(2025, 3, 7), "answer": D(2025, 3, 11), "solve": D(2025, 3, 27)}
    cx = {s["step"]: s["due"] for s in sd.calc_due_dates(prof, D(2025, 3, 6), complex_case=True)}
    assert cx["complex"] == D(2025, 4, 18)    # 30 wd, Qingming (04-04) off


def test_g10_key_list_tax_line_inclusive():
    from shanhai.policy._rules import Facts, evaluate
    rs = p.list_rules("haishu-2018").get("key").rule_set
    keys = np.array(["山海己", "edge", "below"], dtype=object)
    facts = Facts(keys, {"leader_linked": np.array([0.0, 0.0, 0.0])},
                  {"tax_paid": np.array([[620.0], [500.0], [499.0]])})
    assert list(evaluate(rs, facts).outcome) == ["eligible", "eligible", "near"]


def test_extension_must_precede_the_deadline():
    prof = p.sla_profile("FJ-QZ-2022")
    assert sd.calc_extension_allowed(prof, D(2025, 3, 14), D(2025, 3, 13), 3)[0]
    ok, why = sd.calc_extension_allowed(prof, D(2025, 3, 14), D(2025, 3, 14), 3)
    assert not ok and "前 1 个工作日" in why


def test_every_published_profile_is_shipped_and_cites_its_source():
    assert set(p.sla_profiles()) >= {"ZJ-POLICY-2019", "NB-HAISHU-2018", "WZ-TOWN-2023", "GD-ZS", "SD-2020",
                                     "SD-ZZ", "FJ-QZ-2022", "HA-XC-2011"}
    for prof in p.sla_profiles().values():
        assert prof.source and prof.source_keys and all(s.source for s in prof.steps if s.published)


def test_rates_keep_closed_and_solved_apart():
    r = sd.calc_rates(collected=10, closed=9, solved=7, closed_on_time=6, rated=5, satisfied=4)
    assert (r["close_rate"], r["solve_rate"], r["on_time_rate"], r["satisfaction_rate"]) == (0.9, 0.7, 0.6667, 0.8)
    assert sd.calc_rates(0, 0, 0, 0, 0, 0)["close_rate"] is None
