"""Contract suite over every registered support-policy item: the item loads, its facts exist in the
catalogue, matching is deterministic and independent of row order, the amount's explanation gives
the amount, eligible firms have a positive or unpublished amount, and raising a figure that no
condition caps never turns an eligible firm into a failing one."""

from __future__ import annotations

import numpy as np
import pytest

from shanhai.analysis import service as asv
from shanhai.policy._rules import Facts, explain_amount
from shanhai.policy._service import service_catalogue, service_items

ITEMS = sorted(service_items())
N = 400
YEARS = 6


def _facts(seed: int) -> Facts:
    rng = np.random.default_rng(seed)
    values, history = {}, {}
    for f in service_catalogue().values():
        if f.kind == "bool":
            v = (rng.random((N, YEARS)) < 0.5).astype(float)
        else:
            v = np.round(rng.lognormal(np.log(800), 1.2, (N, YEARS)), 2)
            if f.id == "first_set_level":
                v = rng.integers(0, 4, (N, YEARS)).astype(float)
            if f.id == "production_years":
                v = np.round(rng.uniform(0, 10, (N, YEARS)), 2)
        v[rng.random((N, YEARS)) < 0.08] = np.nan
        if f.yearly:
            history[f.id] = v
        else:
            values[f.id] = v[:, -1]
    return Facts(np.array([f"F{i:04d}" for i in range(N)], dtype=object), values, history)


def _counties(it) -> np.ndarray:
    """Every firm inside the item's issuing region (a county of it for a city or the province)."""
    a = it.adcode
    code = "330106" if a == "330000" else (a[:4] + "02" if a.endswith("00") else a)
    return np.array([code] * N, dtype=object)


@pytest.mark.parametrize("item_id", ITEMS)
def test_item_is_well_formed(item_id):
    it = service_items()[item_id]
    assert it.document and it.rule.source and it.rule.source_keys
    assert it.fields() <= set(service_catalogue())
    assert it.payment_mode in ("no_application", "on_application")


def test_firms_outside_the_region_are_not_evaluated():
    it = service_items()["zhuji-digital-spend-2024"]
    facts = _facts(7)
    counties = np.array(["330681", "330683"] * (N // 2), dtype=object)
    m = asv.match_item(it, facts, counties)
    assert m.facts.n == N // 2 and (m.outcome[1::2] == "not_eligible").all() and (m.position[1::2] == -1).all()
    whole = asv.match_item(it, facts.take(np.arange(0, N, 2)), counties[::2])
    assert list(whole.outcome) == list(m.outcome[::2])


@pytest.mark.parametrize("item_id", ITEMS)
def test_deterministic_and_row_order_invariant(item_id):
    it = service_items()[item_id]
    facts = _facts(1)
    a, b = asv.match_item(it, facts, _counties(it)), asv.match_item(it, facts, _counties(it))
    assert list(a.outcome) == list(b.outcome) and np.array_equal(a.amount, b.amount, equal_nan=True)
    perm = np.random.default_rng(2).permutation(N)
    c = asv.match_item(it, facts.take(perm), _counties(it)[perm])
    assert list(c.outcome) == list(a.outcome[perm])
    assert np.array_equal(c.amount, a.amount[perm], equal_nan=True)


@pytest.mark.parametrize("item_id", ITEMS)
def test_explanations_add_up_to_the_amount(item_id):
    it = service_items()[item_id]
    facts = _facts(3)
    m = asv.match_item(it, facts, _counties(it))
    eligible = np.nonzero(m.outcome == "eligible")[0]
    assert (m.outcome != "not_eligible").any(), "random firms should reach some outcome other than not eligible"
    for i in eligible[:40]:
        ex = explain_amount(it.amount, facts, int(i))
        if it.amount.kind == "unknown":
            assert ex["value"] is None and np.isnan(m.amount[i])
        else:
            assert ex["value"] == pytest.approx(float(m.amount[i]))
            assert m.amount[i] > 0
            most = it.amount.most()
            assert most is None or m.amount[i] <= most + 1e-9
        top = m.evaluation.explain(int(i))
        assert all(c["status"] == "pass" for c in top["conditions"]) and not top["exclusions_hit"]
    for i in np.nonzero(m.outcome == "manual_review")[0][:40]:
        assert np.isnan(m.amount[i])                  # never an amount for an open case


@pytest.mark.parametrize("item_id", ITEMS)
def test_raising_uncapped_figures_never_removes_eligibility(item_id):
    it = service_items()[item_id]
    facts = _facts(5)
    capped = it.rule.upper_bounded()
    up = Facts(facts.keys, {k: (v * 1.5 + 1 if service_catalogue()[k].kind == "number" and k not in capped else v)
                            for k, v in facts.values.items()},
               {k: (np.concatenate([h[:, :-1], h[:, -1:] * 1.5 + 1], axis=1)
                    if service_catalogue()[k].kind == "number" and k not in capped else h)
                for k, h in facts.history.items()})
    a, b = asv.match_item(it, facts, _counties(it)), asv.match_item(it, up, _counties(it))
    was = a.evaluation.outcome == "eligible"
    assert (b.evaluation.outcome[was] == "eligible").all()
    assert np.isin(b.outcome[a.outcome == "eligible"], ["eligible", "manual_review"]).all()
