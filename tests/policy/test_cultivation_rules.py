"""The rule language (``shanhai.policy._rules``): inclusiveness by wording at the exact boundary,
three-valued groups, at-least-k, yearly aggregates and first-time conditions, score intervals,
near misses with their gap, exclusions, and validation of hostile rule sets with clear messages."""

from __future__ import annotations

import datetime as dt
import tomllib

import numpy as np
import pytest

from shanhai.policy._load import PolicyError
from shanhai.policy._rules import (CULTIVATION_DIR, FactDef, Facts, cultivation_catalogue, cultivation_rule_sets, evaluate,
                                   parse_rule_set, read_rule_sets)

CAT = {
    "revenue": FactDef("revenue", "营业收入", unit="万元", yearly=True),
    "rd": FactDef("rd", "研发费用", unit="万元", yearly=True),
    "above": FactDef("above", "规上", kind="bool", yearly=True),
    "share": FactDef("share", "占有率", unit="%"),
    "ip": FactDef("ip", "知识产权", unit="件"),
    "ok": FactDef("ok", "信用良好", kind="bool"),
    "bad": FactDef("bad", "失信", kind="bool"),
}
HEAD = {"name": "t", "display_name": "测试", "tier": "specialised", "version": "1", "source": "test",
        "valid_from": "2026-01-01"}


def rs(conditions, **extra):
    return parse_rule_set({**HEAD, "conditions": conditions, **extra}, "t.toml", CAT)


def facts(**cols):
    n = len(next(iter(cols.values())))
    values, hist = {}, {}
    for k, v in cols.items():
        a = np.array([np.nan if x is None else float(x) for x in (v if np.ndim(v) == 1 else np.ravel(v))])
        if np.ndim(v) == 2:
            hist[k] = np.array(v, dtype=float)
        else:
            values[k] = a
    return Facts(np.array([f"F{i}" for i in range(n)], dtype=object), values, hist)


def outcomes(rule_set, f):
    return list(evaluate(rule_set, f).outcome)


def test_inclusive_wording_at_the_exact_boundary():
    above = rs([{"id": "A", "label": "营业收入", "field": "revenue", "op": ">=", "value": 2000, "wording": "以上"}])
    over = rs([{"id": "A", "label": "营业收入", "field": "revenue", "op": ">", "value": 2000, "wording": "超过"}])
    f = facts(revenue=[[2000.0], [2000.0001], [1999.9999]])
    assert outcomes(above, f)[:2] == ["eligible", "eligible"] and outcomes(above, f)[2] == "near"
    assert outcomes(over, f)[0] != "eligible" and outcomes(over, f)[1] == "eligible"
    below = rs([{"id": "A", "label": "营业收入", "field": "revenue", "op": "<=", "value": 2000, "wording": "以下"}])
    under = rs([{"id": "A", "label": "营业收入", "field": "revenue", "op": "<", "value": 2000, "wording": "不满"}])
    f = facts(revenue=[[2000.0]])
    assert outcomes(below, f) == ["eligible"] and outcomes(under, f) != ["eligible"]


def test_float_edges_do_not_flip():
    r = rs([{"id": "A", "label": "占比", "field": "share", "op": ">=", "value": 80, "wording": "以上"}])
    assert outcomes(r, facts(share=[1200 / 1500 * 100, (0.1 + 0.7) * 100])) == ["eligible", "eligible"]


@pytest.mark.parametrize("wording,op", [("以上", ">"), ("超过", ">="), ("不高于", "<"), ("低于", "<="), ("以内", ">=")])
def test_wording_must_agree_with_the_operator(wording, op):
    with pytest.raises(PolicyError, match="wording"):
        rs([{"id": "A", "label": "x", "field": "revenue", "op": op, "value": 1, "wording": wording}])


def test_missing_data_is_not_a_failure_and_near_says_the_gap():
    r = rs([{"id": "A", "label": "营业收入", "field": "revenue", "op": ">=", "value": 2000, "wording": "以上"},
            {"id": "B", "label": "知识产权", "field": "ip", "op": ">=", "value": 1}])
    ev = evaluate(r, facts(revenue=[[1850.0], [1850.0], [2100.0], [None]], ip=[1, None, None, 0]))
    assert list(ev.outcome) == ["near", "near", "needs_review", "not_eligible"]
    ex = ev.explain(0)
    assert ex["missed"] == ["A"] and ex["gaps"] == ["营业收入2,000 万元以上：未达到（营业收入 1,850 万元，差 150 万元）"]
    assert ev.explain(2)["review"] == "missing" and ev.explain(2)["unknown"] == ["B"]


def test_near_respects_the_margin_and_the_number_missed():
    r = rs([{"id": "A", "label": "营业收入", "field": "revenue", "op": ">=", "value": 2000},
            {"id": "B", "label": "研发", "field": "rd", "op": ">=", "value": 100, "near": 5}],
           near={"relative": 0.1, "max_missed": 1})
    f = facts(revenue=[[1850.0], [1750.0], [1850.0], [1850.0]], rd=[[100.0], [100.0], [96.0], [94.0]])
    assert outcomes(r, f) == ["near", "not_eligible", "not_eligible", "not_eligible"]


def test_groups_in_three_valued_logic():
    leaf = lambda i, f: {"id": i, "label": i, "field": f, "op": "is_true"}          # noqa: E731
    any_ = rs([{"id": "G", "label": "g", "any": [leaf("a", "ok"), leaf("b", "bad")]}])
    all_ = rs([{"id": "G", "label": "g", "all": [leaf("a", "ok"), leaf("b", "bad")]}])
    k2 = rs([{"id": "G", "label": "g", "at_least": 2, "of": [leaf("a", "ok"), leaf("b", "bad"),
                                                             {"id": "c", "label": "c", "field": "ip", "op": ">=", "value": 1}]}])
    f = facts(ok=[1, 0, None, 0, 1], bad=[0, 0, 1, None, 1], ip=[1, 0, None, 5, 0])
    assert outcomes(any_, f) == ["eligible", "not_eligible", "eligible", "needs_review", "eligible"]
    assert outcomes(all_, f)[0] != "eligible" and outcomes(all_, f)[2] == "needs_review" and \
        outcomes(all_, f)[4] == "eligible"
    assert outcomes(k2, f) == ["eligible", "not_eligible", "needs_review", "needs_review", "eligible"]


def test_manual_conditions_never_pass_unless_recorded():
    r = rs([{"id": "M", "label": "市场地位", "field": "ok", "op": "manual"}, {"id": "Q", "label": "定性", "op": "manual"}])
    ev = evaluate(r, facts(ok=[None, 1, 0]))
    assert list(ev.outcome) == ["needs_review", "needs_review", "not_eligible"]
    assert list(ev.review[:2]) == ["manual", "manual"]


def test_yearly_each_sum_mean_and_first_time():
    each = rs([{"id": "A", "label": "研发", "field": "rd", "years": 2, "aggregate": "each", "op": ">=", "value": 100}])
    total = rs([{"id": "A", "label": "研发", "field": "rd", "years": 2, "aggregate": "sum", "op": ">=", "value": 200}])
    mean = rs([{"id": "A", "label": "研发", "field": "rd", "years": 3, "aggregate": "mean", "op": ">=", "value": 100}])
    rd = [[50, 99, 120], [50, 100, 100], [None, 150, 90], [90, None, 100]]
    f = facts(rd=rd)
    assert outcomes(each, f) == ["near", "eligible", "near", "needs_review"]       # worst years 99 and 90: within 10 %
    assert outcomes(total, f) == ["eligible", "eligible", "eligible", "needs_review"]
    assert outcomes(mean, f)[1] != "eligible" and outcomes(mean, f)[2] == "needs_review"
    first_above = rs([{"id": "A", "label": "首次规上", "field": "above", "years": 3, "aggregate": "first_time",
                       "op": "is_true"}])
    assert outcomes(first_above, facts(above=[[0, 0, 1], [1, 0, 1], [None, 0, 1], [0, 0, 0]])) == \
        ["eligible", "not_eligible", "needs_review", "not_eligible"]
    firsttime = rs([{"id": "A", "label": "营业收入", "field": "revenue", "years": 3, "aggregate": "first_time",
                     "op": ">=", "value": 2000, "wording": "以上"}])
    rev = [[1500, 1800, 2100], [2100, 1900, 2100], [None, 1900, 2100], [1500, 1800, 1900]]
    assert outcomes(firsttime, facts(revenue=rev)) == ["eligible", "not_eligible", "needs_review", "near"]


def test_score_interval_and_thresholds_on_blocks():
    r = rs([{"id": "S1", "label": "总分", "field": "score:S", "op": ">=", "value": 60},
            {"id": "S2", "label": "甲类", "field": "score:S:甲", "op": ">=", "value": 20}],
           scores=[{"id": "S", "label": "评分", "items": [
               {"id": "a", "label": "a", "block": "甲", "field": "share", "bands": [{"min": 50, "points": 40},
                                                                                  {"min": 30, "points": 20}]},
               {"id": "b", "label": "b", "block": "乙", "field": "ok", "points_true": 30, "points_false": 10},
               {"id": "c", "label": "c", "block": "乙", "cap": 25, "sum_of": [
                   {"id": "c1", "label": "c1", "field": "ip", "bands": [{"min": 3, "points": 20}, {"min": 1, "points": 10}]},
                   {"id": "c2", "label": "c2", "field": "bad", "points_true": 10}]}]}])
    f = facts(share=[50, 30, None, 10], ok=[1, 0, 1, 1], ip=[3, 0, 0, 0], bad=[1, 0, 0, None])
    ev = evaluate(r, f)
    lo, hi = ev.scores["S"]
    assert list(lo) == [95, 30, 30, 30] and list(hi) == [95, 30, 70, 40]
    assert list(ev.outcome) == ["eligible", "not_eligible", "needs_review", "not_eligible"]


def test_shared_band_edge_goes_to_the_higher_band_unless_told():
    items = [{"id": "d", "label": "负债率", "block": "x", "field": "share",
              "bands": [{"max": 55, "points": 10}, {"max": 75, "points": 5}, {"points": 0}]}]
    cond = [{"id": "S", "label": "分", "field": "score:S", "op": ">=", "value": 0}]
    hi = evaluate(rs(cond, scores=[{"id": "S", "label": "s", "items": items}]), facts(share=[55, 75, 75.01]))
    lo = evaluate(rs(cond, scores=[{"id": "S", "label": "s", "edge": "lower", "items": items}]), facts(share=[55, 75, 75.01]))
    assert list(hi.scores["S"][0]) == [10, 5, 0] and list(lo.scores["S"][0]) == [5, 0, 0]


def test_exclusions_override_everything():
    r = rs([{"id": "A", "label": "营业收入", "field": "revenue", "op": ">=", "value": 1}],
           exclusions=[{"id": "X", "label": "失信", "field": "bad", "op": "is_true"}])
    ev = evaluate(r, facts(revenue=[[5.0], [5.0]], bad=[1, 0]))
    assert list(ev.outcome) == ["not_eligible", "eligible"] and ev.explain(0)["exclusions_hit"] == ["X"]


HOSTILE = [
    ({"conditions": []}, "non-empty list of conditions"),
    ({"conditions": [{"id": "A", "label": "x", "field": "nope", "op": ">=", "value": 1}]}, "not a known fact"),
    ({"conditions": [{"id": "A", "label": "x", "field": "revenue", "op": "=>", "value": 1}]}, "op must be one of"),
    ({"conditions": [{"id": "A", "label": "x", "field": "revenue", "op": ">=", "value": "2000"}]}, "finite number"),
    ({"conditions": [{"id": "A", "label": "x", "field": "revenue", "op": ">=", "value": float("nan")}]}, "finite number"),
    ({"conditions": [{"id": "A", "label": "x", "field": "revenue", "op": ">=", "value": 1, "unit": "元"}]}, "unit"),
    ({"conditions": [{"id": "A", "label": "x", "field": "ok", "op": ">=", "value": 1}]}, "yes/no"),
    ({"conditions": [{"id": "A", "label": "x", "field": "share", "op": "is_true"}]}, "yes/no fact"),
    ({"conditions": [{"id": "A", "label": "x", "field": "share", "op": ">=", "value": 1, "years": 2}]}, "yearly"),
    ({"conditions": [{"id": "A", "label": "x", "field": "revenue", "op": ">=", "value": 1, "years": 0}]}, "years"),
    ({"conditions": [{"id": "A", "label": "x", "field": "revenue", "op": ">=", "value": 1},
                     {"id": "A", "label": "y", "field": "revenue", "op": ">=", "value": 1}]}, "used twice"),
    ({"conditions": [{"id": "G", "label": "g", "any": []}]}, "non-empty list"),
    ({"conditions": [{"id": "G", "label": "g", "at_least": 3, "of": [{"id": "a", "label": "a", "field": "ok",
                                                                      "op": "is_true"}]}]}, "at_least"),
    ({"conditions": [{"id": "A", "label": "x", "field": "revenue", "op": ">=", "value": 1, "colour": "red"}]},
     "unknown keys"),
    ({"conditions": [{"id": "A", "label": "x", "field": "score:T", "op": ">=", "value": 1}]}, "no score"),
    ({"valid_to": "2025-01-01", "conditions": [{"id": "A", "label": "x", "field": "ok", "op": "is_true"}]},
     "before valid_from"),
    ({"valid_from": "2026-13-01", "conditions": [{"id": "A", "label": "x", "field": "ok", "op": "is_true"}]}, "date"),
    ({"conditions": [{"id": "A", "label": "x", "field": "ok", "op": "is_true"}],
      "scores": [{"id": "S", "label": "s", "items": [{"id": "a", "label": "a", "field": "share",
                                                     "bands": [{"min": 1, "points": 1}, {"min": 2, "points": 2}]}]}]},
     "highest min down"),
    ({"conditions": [{"id": "A", "label": "x", "field": "ok", "op": "is_true"}],
      "scores": [{"id": "S", "label": "s", "items": [{"id": "a", "label": "a", "field": "share",
                                                     "bands": [{"min": 2, "points": 1}, {"min": 1, "points": 2}]}]}]},
     "must not increase"),
    ({"conditions": [{"id": "A", "label": "x", "field": "ok", "op": "is_true"}],
      "exclusions": [{"id": "E", "label": "e", "op": "manual"}]}, "exclusion cannot be manual"),
]


@pytest.mark.parametrize("patch,message", HOSTILE)
def test_hostile_rule_sets_fail_with_a_clear_message(patch, message):
    with pytest.raises(PolicyError, match=message) as err:
        parse_rule_set({**HEAD, **patch}, "bad.toml", CAT)
    assert str(err.value).startswith("bad.toml: ")


def test_deep_nesting_is_refused():
    node = {"id": "leaf", "label": "x", "field": "ok", "op": "is_true"}
    for i in range(10):
        node = {"id": f"g{i}", "label": "g", "all": [node]}
    with pytest.raises(PolicyError, match="nest"):
        rs([node])


def test_registry_refuses_overlapping_validity_and_bad_files(tmp_path):
    cat = cultivation_catalogue()
    for name, frm, to in (("a-1", "2022-01-01", "2026-04-01"), ("a-2", "2026-04-01", None)):
        text = (f'name = "{name}"\ndisplay_name = "x"\ntier = "specialised"\nversion = "1"\nsource = "s"\n'
                f'valid_from = {frm}\n' + (f"valid_to = {to}\n" if to else "") +
                '[[conditions]]\nid = "A"\nlabel = "x"\nfield = "specialised"\nop = "is_true"\n')
        (tmp_path / f"{name}.toml").write_text(text, "utf-8")
    with pytest.raises(PolicyError, match="both in force on 2026-04-01"):
        read_rule_sets((tmp_path,), cat)
    (tmp_path / "a-1.toml").write_text((tmp_path / "a-1.toml").read_text("utf-8").replace("2026-04-01", "2026-03-31"))
    assert sorted(read_rule_sets((tmp_path,), cat)) == ["a-1", "a-2"]
    (tmp_path / "wrong.toml").write_text((tmp_path / "a-2.toml").read_text("utf-8").replace('"a-2"', '"b-2"'))
    with pytest.raises(PolicyError, match="file name must be b-2.toml"):
        read_rule_sets((tmp_path,), cat)
    (tmp_path / "wrong.toml").write_text("name = [", "utf-8")
    with pytest.raises(PolicyError, match="not a readable UTF-8 TOML"):
        read_rule_sets((tmp_path,), cat)


def test_every_packaged_rule_set_cites_its_source_and_dates():
    sets = cultivation_rule_sets()
    assert {"scale-up-2011", "specialised-2022", "specialised-2026", "little-giant-2022", "little-giant-2026",
            "hidden-champion-2025", "hidden-champion-2026"} <= set(sets)
    for r in sets.values():
        assert r.source and r.source_keys and r.valid_from
        assert all(leaf.op in ("is_true", "is_false", "manual") or leaf.wording for leaf in r.leaves()), r.name
    assert tomllib.loads((CULTIVATION_DIR / "scale-up-2011.toml").read_text("utf-8"))["published"] is False
    assert dt.date(2026, 4, 1) == sets["specialised-2026"].valid_from
