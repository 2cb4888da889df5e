"""The light stage of the chain analysis (analysis.chains): roll-ups, the segment view's
formulas (location quotient, share, HHI), target scores and chain risk, on hand-made cells."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from shanhai import policy
from shanhai.analysis import chains as ac
from shanhai.policy import PolicyError

RULES = policy.chain_rules()
SEG = SimpleNamespace(segment_id="x.upstream", name="上游", stage="upstream", parent_segment_id=None)


def cell(unit, seg="x.upstream", **kw):
    base = {k: 0 for k in ac.SUM_FIELDS} | {"unit": unit, "segment_id": seg, "revenue_max": None}
    return base | kw


def test_rollup_sums_and_keeps_the_largest_revenue_whatever_the_order():
    cells = [cell("a", firms=2, revenue=30.0, revenue_sq=500.0, revenue_max=20.0, above=1),
             cell("b", firms=1, revenue=10.0, revenue_sq=100.0, revenue_max=10.0),
             cell("c", firms=5, revenue=50.0, revenue_sq=900.0, revenue_max=25.0),
             cell("a", seg="x.midstream", firms=1, revenue=7.0, revenue_sq=49.0, revenue_max=7.0)]
    want = ac.rollup(cells, {"a", "b"})
    for _ in range(5):
        random.shuffle(cells)
        assert ac.rollup(cells, {"a", "b"}) == want
    up = want["x.upstream"]
    assert (up["firms"], up["above"], up["revenue"], up["revenue_sq"], up["revenue_max"]) == (3, 1, 40.0, 600.0, 20.0)
    assert ac.rollup(cells, None)["x.upstream"]["firms"] == 8


def test_segment_view_formulas():
    # region: VA 40 of 200 manufacturing; province: segment VA 100 of 2,000
    c = cell("a", firms=3, above=3, leaders=1, revenue=100.0, value_added=40.0, tax_paid=12.0, land=6.0,
             tax_on_land=12.0, va_on_land=30.0, revenue_sq=100.0 ** 2 * 0.5, revenue_max=60.0,
             revenue_prev=80.0, revenue_both=90.0, class_A=2, class_C=1)
    p = cell("P", firms=50, value_added=100.0)
    v = ac.segment_view(SEG, c, p, 200.0, 2000.0, RULES)
    assert v.share == pytest.approx(0.4)
    assert v.lq == pytest.approx((40 / 200) / (100 / 2000))          # 4.0
    assert v.hhi == pytest.approx(0.5)
    assert v.top1_share == pytest.approx(0.6)
    assert v.tax_per_mu == pytest.approx(2.0) and v.value_added_per_mu == pytest.approx(5.0)
    assert v.revenue_growth == pytest.approx(90 / 80 - 1)
    assert v.classes == {"A": 2, "B": 0, "C": 1, "D": 0}
    assert (v.status, v.status_rule) == ("strong", 2)                 # lq ≥ 1.5 and 3 above-scale


def test_an_empty_segment_is_missing_and_has_no_ratios():
    v = ac.segment_view(SEG, None, cell("P", value_added=100.0), 200.0, 2000.0, RULES)
    assert (v.status, v.firms, v.lq, v.share, v.hhi, v.tax_per_mu) == ("missing", 0, 0.0, 0.0, None, None)


def test_a_segment_outside_manufacturing_without_firms_is_outside_not_missing():
    services = SimpleNamespace(**vars(SEG) | {"codes": ()})
    assert ac.segment_view(services, None, None, 200.0, 2000.0, RULES).status == "outside"
    joined = ac.segment_view(services, cell("a", firms=1, revenue=5.0), None, 200.0, 2000.0, RULES)
    assert joined.status != "outside"
    assert ac.segment_view(SimpleNamespace(**vars(SEG) | {"codes": ("3911",)}), None, None, 1.0, 1.0,
                           RULES).status == "missing"


@pytest.mark.parametrize("firms,above,lq,share,want", [
    (0, 0, 0.0, 0.0, "missing"), (4, 3, 1.5, 0.01, "strong"), (9, 5, 1.0, 0.10, "strong"),
    (9, 0, 2.0, 0.20, "weak"), (2, 0, 1.0, 0.01, "weak"), (5, 2, 0.5, 0.01, "weak"), (5, 2, 0.51, 0.01, "present"),
])
def test_status_rules_first_match(firms, above, lq, share, want):
    assert RULES.status_of({"firms": firms, "above": above, "lq": lq, "share": share, "leaders": 0})[0] == want


def test_target_points_add_up_to_the_score():
    row = {"size_pct": 0.8, "mujun_class": "B", "revenue": 120.0, "revenue_prev": 100.0}
    score, why = ac.score_target(row, "weak", 0.5, RULES)
    w = RULES.targets.weights
    want = {"fit": 0.6, "size": 0.8, "efficiency": 0.7, "growth": (0.2 + 0.2) / 0.5, "pairing": 0.5}
    assert why["values"] == pytest.approx(want)
    assert why["points"] == pytest.approx({k: 100 * getattr(w, k) * v for k, v in want.items()})
    assert score == pytest.approx(sum(why["points"].values()))
    # unknown class and no previous year: the 'other' points and no growth
    score2, why2 = ac.score_target({"size_pct": 0.0, "mujun_class": None, "revenue": 5.0}, "missing", 0.0, RULES)
    assert why2["values"]["efficiency"] == RULES.targets.class_points["other"] and why2["values"]["growth"] == 0
    assert why2["growth_rate"] is None and score2 == pytest.approx(sum(why2["points"].values()))


def test_chain_risk_penalties_are_capped_and_make_the_health():
    views = []
    for i, (status, firms, hhi, top1) in enumerate([("missing", 0, None, None), ("weak", 1, 1.0, 1.0),
                                                     ("present", 10, 0.3, 0.4), ("strong", 30, 0.05, 0.1)]):
        v = ac.SegmentView(segment_id=f"s{i}", name=f"s{i}", stage="upstream", parent_segment_id=None,
                           firms=firms, hhi=hhi, top1_share=top1, status=status)
        views.append(v)
    leaders = [{"uscc": "u1", "segment_id": "s3", "mujun_class": "D", "kwh_now": 10.0, "kwh_before": 100.0},
               {"uscc": "u2", "segment_id": "s3", "mujun_class": "A", "kwh_now": 90.0, "kwh_before": 100.0}]
    res = ac.chain_risk(views, leaders, RULES)
    assert res["counts"] == {"missing": 1, "weak": 1, "concentrated": 2, "leader_low_class": 1, "leader_collapse": 1}
    p = RULES.risk.penalties
    assert res["penalties"] == {"missing": p.missing, "weak": p.weak, "concentrated": 2 * p.concentrated,
                                "leader_low_class": p.leader_low_class, "leader_collapse": p.leader_collapse}
    assert res["health"] == pytest.approx(100 - sum(res["penalties"].values()))
    kinds = sorted(f["kind"] for f in res["findings"])
    assert kinds == ["concentrated", "leader_collapse", "leader_low_class", "single_firm"]
    many = [ac.SegmentView(segment_id=f"m{i}", name="m", stage="upstream", parent_segment_id=None, status="missing")
            for i in range(20)]
    worst = ac.chain_risk(many, [], RULES)
    assert worst["penalties"]["missing"] == RULES.risk.caps.missing and worst["health"] >= 0


def test_rule_sets_are_validated(tmp_path, monkeypatch):
    text = (policy._chain_rules.CHAIN_RULES_DIR / "default.toml").read_text("utf-8")
    bad = tmp_path / "chain_rules"
    bad.mkdir()
    (bad / "county.toml").write_text(text.replace('name = "default"', 'name = "county"')
                                     .replace("fit = 0.30", "fit = 0.50"), "utf-8")
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    with pytest.raises(PolicyError, match="add up to 1"):
        policy.chain_rules("county")
    (bad / "county.toml").write_text(text.replace('name = "default"', 'name = "county"')
                                     .replace("firms_max = 0", "").replace('status = "missing"\n',
                                                                            'status = "missing"\nlq_max = 0.0\n'),
                                     "utf-8")
    assert policy.chain_rules("county").status[0].lq_max == 0.0
    with pytest.raises(PolicyError, match="unknown chain rule set"):
        policy.chain_rules("nope")
