"""Zone scoring, pure (``analysis.zones.evaluate``): a small example computed by hand, the missing
rules and a "lower is better" indicator, the tier move limit, ties, coverage and grouping. (The
indicator SQL is checked in ``test_zone_contract.py``.)"""

from __future__ import annotations

import pytest

from shanhai.analysis import zones as az
from shanhai.policy._zones import ZoneMethod


def method(**over) -> ZoneMethod:
    data = {
        "name": "golden", "display_name": "手算示例", "version": "1", "source": "test", "missing": "worst",
        "covers": {"levels": ["provincial"]},
        "groups": [
            {"id": "efficiency", "display_name": "效益", "weight": 0.6, "indicators": [
                {"id": "tax_per_mu", "weight": 0.5, "transform": "ratio_to_best"},
                {"id": "value_added_per_mu", "weight": 0.5, "transform": "ratio_to_target", "target": 100}]},
            {"id": "growth", "display_name": "增长", "weight": 0.4, "indicators": [
                {"id": "value_added_growth", "weight": 1.0, "transform": "min_max"}]},
        ],
        "tiers": {"basis": "rank_share", "levels": [{"id": "first", "display_name": "一档", "share": 0.3},
                                                    {"id": "second", "display_name": "二档"}]},
        "bottom": {"n": 1, "stages": [{"years": 1, "action": "warning", "display_name": "约谈"},
                                      {"years": 2, "action": "delist", "display_name": "撤销"}]},
    }
    data.update(over)
    return ZoneMethod.model_validate(data)


def zone(zid, **values):
    base = {"zone_id": zid, "zone_name": zid, "county_adcode": "330102", "city_adcode": "330100",
            "level": "provincial", "kind": "economic_development", "firms": 3}
    return {**base, **values}


ZONES = [zone("A", tax_per_mu=20.0, value_added_per_mu=150.0, value_added_growth=0.10),
         zone("B", tax_per_mu=10.0, value_added_per_mu=50.0, value_added_growth=-0.10),
         zone("C", tax_per_mu=5.0, value_added_per_mu=80.0, value_added_growth=None)]


def test_the_golden_example():
    """By hand: tax per mu ÷ best (20) × 30; VA per mu ÷ target 100, capped at 1, × 30; growth
    (v − lo) ÷ (hi − lo) × 40, C's missing growth scores the lowest reported (B's 0).
    A = 30 + 30 + 40 = 100; B = 15 + 15 + 0 = 30; C = 7.5 + 24 + 0 = 31.5."""
    previous = {"B": {"tier": "first", "bottom": True, "bottom_streak": 1, "run_id": "r0"},
                "C": {"tier": "second", "bottom": False, "bottom_streak": 0, "run_id": "r0"}}
    results, scores = az.evaluate(method(), ZONES, previous)
    got = {r["zone_id"]: r for r in results}
    assert {z: got[z]["total_score"] for z in got} == {"A": 100.0, "B": 30.0, "C": 31.5}
    assert [r["zone_id"] for r in results] == ["A", "C", "B"]
    assert {z: got[z]["rank"] for z in got} == {"A": 1, "C": 2, "B": 3}
    points = {(s["zone_id"], s["indicator"]): s["points"] for s in scores}
    assert points == {("A", "tax_per_mu"): 30.0, ("A", "value_added_per_mu"): 30.0, ("A", "value_added_growth"): 40.0,
                      ("B", "tax_per_mu"): 15.0, ("B", "value_added_per_mu"): 15.0, ("B", "value_added_growth"): 0.0,
                      ("C", "tax_per_mu"): 7.5, ("C", "value_added_per_mu"): 24.0, ("C", "value_added_growth"): 0.0}
    missing = {(s["zone_id"], s["indicator"]): s["missing"] for s in scores if s["missing"]}
    assert missing == {("C", "value_added_growth"): "worst"}
    refs = {s["indicator"]: (s["ref_low"], s["ref_high"]) for s in scores if s["zone_id"] == "A"}
    assert refs == {"tax_per_mu": (5.0, 20.0), "value_added_per_mu": (100, None), "value_added_growth": (-0.1, 0.1)}
    # tiers: 0.3 × 3 = 0.9 → only rank 1 in the first tier
    assert {z: got[z]["tier"] for z in got} == {"A": "first", "B": "second", "C": "second"}
    assert {z: got[z]["tier_change"] for z in got} == {"A": "new", "B": "down", "C": "same"}
    # bottom 1 of 3: B, in the bottom the year before too → streak 2 → delist
    assert {z: (got[z]["bottom"], got[z]["bottom_streak"], got[z]["action"]) for z in got} == {
        "A": (False, 0, None), "B": (True, 2, "delist"), "C": (False, 0, None)}
    assert got["B"]["previous_run_id"] == "r0" and got["A"]["previous_run_id"] is None
    expl = az.explain(method(), got["C"], [s for s in scores if s["zone_id"] == "C"])
    assert [e["indicator"] for e in expl] == ["tax_per_mu", "value_added_per_mu", "value_added_growth"]
    assert sum(e["points"] for e in expl) == pytest.approx(got["C"]["total_score"])
    assert [e["max_points"] for e in expl] == [30.0, 30.0, 40.0]


def test_missing_zero_and_a_lower_indicator():
    m = method(missing="zero", groups=[
        {"id": "efficiency", "display_name": "效益", "weight": 0.5, "indicators": [
            {"id": "idle_land_share", "weight": 1.0, "direction": "lower", "transform": "min_max"}]},
        {"id": "green", "display_name": "绿色", "weight": 0.5, "indicators": [
            {"id": "value_added_per_energy", "weight": 1.0, "direction": "lower", "transform": "ratio_to_target",
             "target": 2.0, "cap": 1.5}]}])
    zones = [zone("A", idle_land_share=0.1, value_added_per_energy=1.0),
             zone("B", idle_land_share=0.3, value_added_per_energy=4.0),
             zone("C", idle_land_share=None, value_added_per_energy=0.0)]
    results, _ = az.evaluate(m, zones)
    got = {r["zone_id"]: r["total_score"] for r in results}
    # A: (0.3 − 0.1)/0.2 × 50 = 50, target 2 ÷ 1 = 2 → cap 1.5 × 50 = 75; B: 0 + 2/4 × 50 = 25;
    # C: missing → 0, value ≤ 0 for a lower indicator → cap 1.5 × 50 = 75
    assert got == {"A": 125.0, "B": 25.0, "C": 75.0}


def test_the_move_limit_and_score_tiers():
    tiers = {"basis": "score", "max_step": 1, "levels": [
        {"id": "t1", "display_name": "一", "min_score": 80}, {"id": "t2", "display_name": "二", "min_score": 50},
        {"id": "t3", "display_name": "三"}]}
    m = method(tiers=tiers)
    previous = {"B": {"tier": "t1", "bottom": False, "bottom_streak": 0}, "A": {"tier": "t3"},
                "C": {"tier": "no-longer-a-tier"}}
    got = {r["zone_id"]: r for r in az.evaluate(m, ZONES, previous)[0]}
    assert (got["B"]["score_tier"], got["B"]["tier"], got["B"]["tier_change"]) == ("t3", "t2", "down")
    assert (got["A"]["score_tier"], got["A"]["tier"], got["A"]["tier_change"]) == ("t1", "t2", "up")
    assert (got["C"]["tier"], got["C"]["tier_change"], got["C"]["previous_tier"]) == ("t3", "new", None)
    # bottom streak restarts when the previous year was not in the bottom
    assert (got["B"]["bottom"], got["B"]["bottom_streak"], got["B"]["action"]) == (True, 1, "warning")


def test_ties_share_the_best_rank_and_small_groups_have_no_bottom():
    zones = [zone("A", tax_per_mu=10.0, value_added_per_mu=50.0, value_added_growth=0.0),
             zone("B", tax_per_mu=10.0, value_added_per_mu=50.0, value_added_growth=0.0)]
    results, _ = az.evaluate(method(), zones)
    assert [(r["rank"], r["total_score"]) for r in results] == [(1, 100.0 * 0.3 + 15.0 + 40.0)] * 2
    m = method(bottom={"n": 2, "stages": [{"years": 1, "action": "warning", "display_name": "约谈"}]})
    assert not any(r["bottom"] for r in az.evaluate(m, zones)[0])


def test_coverage_and_groups():
    m = method(covers={"levels": ["provincial", "national"], "kinds": ["high_tech"], "cities": ["3311"]},
               comparison={"by": ["level", "area"], "areas": [
                   {"id": "ne", "display_name": "东北片", "cities": ["3301", "3302", "3304", "3305", "3306", "3309"]},
                   {"id": "sw", "display_name": "西南片", "cities": ["3303", "3307", "3308", "3310", "3311"]}]})
    zones = [zone("A", kind="high_tech", city_adcode="331100", level="national", tax_per_mu=1.0),
             zone("B", kind="high_tech", city_adcode="331100", tax_per_mu=2.0),
             zone("C", kind="economic_development", city_adcode="331100", tax_per_mu=3.0),
             zone("D", kind="high_tech", city_adcode="330100", tax_per_mu=4.0)]
    results, _ = az.evaluate(m, zones)
    assert {r["zone_id"]: r["comparison_group"] for r in results} == {"A": "level=national;area=sw",
                                                                     "B": "level=provincial;area=sw"}
    assert az.group_label(m, "level=national;area=sw") == "国家级·西南片"
    assert az.group_label(m, "all") == "全部"


def test_every_zone_scores_zero_when_nobody_reports():
    results, scores = az.evaluate(method(), [zone("A"), zone("B")])
    assert [r["total_score"] for r in results] == [0.0, 0.0]
    assert all(s["missing"] == "worst" and s["points"] == 0 for s in scores
               if s["indicator"] != "value_added_per_mu")
