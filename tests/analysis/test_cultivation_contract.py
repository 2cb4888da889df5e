"""The contract every registered cultivation rule set keeps (like ``test_mujun_contract.py`` for the
per-mu presets). 400 random firms — every size, R&D from none to heavy, titles, exclusions, about a
tenth of every figure missing — are screened with every rule set in ``cultivation_rule_sets()``:

* the same input gives the same result, to the bit; shuffled input rows give the same result per firm;
* raising a firm's R&D expense in the data year never makes it less eligible
  (eligible > needs review > near > not eligible);
* growing a firm (revenue, main revenue, R&D and a positive profit × 1.3 in the data year: its ratios
  unchanged, its growth higher) never makes it less eligible — unless it ends on or above a ceiling the
  rule set itself states (``<``/``<=`` on revenue, e.g. 小升规's 2,000 万元 or 小巨人 R-2022's bands);
* every explanation agrees with the outcome: eligible → nothing missed, unknown, manual or excluded;
  needs review → nothing missed, and the data missing or the manual conditions named; near → at most
  the rule set's number of misses, each with its gap in words; not eligible → a miss or an exclusion;
  the stored columns (missed, unknown, manual) agree with the explanation.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from shanhai.analysis.cultivation import FACT_COLUMNS, FLAG_FACTS, YEARLY, build_facts, screen_tier
from shanhai.policy._rules import OUTCOME_RANK, cultivation_rule_sets

YEAR = 2025
SETS = sorted(cultivation_rule_sets())
SIZE = ("revenue", "main_revenue", "rd_spending", "profit")


def random_firms(seed: int = 3, n: int = 400):
    rng = random.Random(seed)

    def maybe(v, p=0.1):
        return None if rng.random() < p else v
    firms = {"uscc": [], "founded_on": [], "niche_since": [], **{c: [] for c in FACT_COLUMNS + FLAG_FACTS}}
    years = {"uscc": [], "year": [], **{c: [] for c in YEARLY}}
    for i in range(n):
        u = f"F{i:04d}"
        firms["uscc"].append(u)
        founded = dt.date(rng.randint(1990, 2022), rng.randint(1, 12), 1)
        firms["founded_on"].append(maybe(founded, 0.05))
        firms["niche_since"].append(maybe(dt.date(min(founded.year + rng.randint(0, 5), 2025), 1, 1)))
        for c in FACT_COLUMNS:
            if c in ("debt_ratio", "market_share_national", "market_share_niche", "rd_staff_share"):
                v = round(rng.uniform(0, 100), 1)
            elif c in ("platform_score", "platform_score_prev"):
                v = round(rng.uniform(30, 90), 1)
            elif c == "specialty_score":
                v = rng.randint(0, 15)
            elif c in ("world_rank", "national_rank"):
                v = rng.randint(1, 30)
            elif c in ("equity_financing_2y", "equity_financing_3y"):
                v = rng.choice([0, 0, 0, 500, 2000, 6000, 9000])
            elif c in ("rd_institution_level", "digital_level", "key_field_level", "main_products"):
                v = rng.randint(0, 4)
            elif c.startswith("ip_") or c == "invention_patents":
                v = rng.randint(0, 6)
            else:
                v = rng.random() < 0.5
            firms[c].append(maybe(v))
        for c in FLAG_FACTS:
            firms[c].append(rng.random() < (0.03 if c in ("dishonest", "major_incident_3y") else 0.3))
        base = rng.lognormvariate(8, 1.3)
        intensity = rng.choice([0, 0.01, 0.03, 0.05, 0.08, 0.15])
        for y in range(2021, YEAR + 1):
            if rng.random() < 0.05:
                continue
            rev = round(base * (1 + rng.uniform(-0.1, 0.25)) ** (y - 2021), 2)
            years["uscc"].append(u)
            years["year"].append(y)
            years["revenue"].append(maybe(rev, 0.05))
            years["main_revenue"].append(maybe(round(rev * rng.uniform(0.5, 1.0), 2), 0.05))
            years["profit"].append(maybe(round(rev * rng.uniform(-0.05, 0.15), 2)))
            years["rd_spending"].append(maybe(round(rev * intensity * rng.uniform(0.8, 1.2), 2)))
            years["headcount"].append(rng.randint(5, 900))
            years["above_scale"].append(rev >= 2000)
    return firms, years


@pytest.fixture(scope="module")
def data():
    return random_firms()


def _screen(name, firms, years):
    return screen_tier(cultivation_rule_sets()[name], build_facts(firms, years, YEAR))


def _raised(years, fn):
    out = {k: list(v) for k, v in years.items()}
    for i, y in enumerate(out["year"]):
        if y == YEAR:
            fn(out, i)
    return out


@pytest.mark.parametrize("name", SETS)
def test_deterministic_and_row_order_invariant(name, data):
    firms, years = data
    a, b = _screen(name, firms, years), _screen(name, firms, years)
    for attr in ("missed", "unknown", "manual", "gaps", "holds_title"):
        assert list(getattr(a, attr)) == list(getattr(b, attr))
    assert list(a.outcome) == list(b.outcome)
    assert np.array_equal(a.score_low, b.score_low, equal_nan=True)
    order = list(range(len(firms["uscc"])))
    random.Random(9).shuffle(order)
    shuffled = {k: [v[i] for i in order] for k, v in firms.items()}
    yorder = list(range(len(years["uscc"])))
    random.Random(4).shuffle(yorder)
    yshuffled = {k: [v[i] for i in yorder] for k, v in years.items()}
    c = _screen(name, shuffled, yshuffled)
    assert list(c.evaluation.keys) == list(a.evaluation.keys)
    assert list(c.outcome) == list(a.outcome) and list(c.missed) == list(a.missed) and list(c.gaps) == list(a.gaps)


def _ranks(tr):
    return np.array([OUTCOME_RANK[o] for o in tr.outcome])


@pytest.mark.parametrize("name", SETS)
def test_more_r_and_d_never_makes_a_firm_less_eligible(name, data):
    firms, years = data
    before = _screen(name, firms, years)

    def more(out, i):
        if out["rd_spending"][i] is not None:
            out["rd_spending"][i] = out["rd_spending"][i] * 1.5 + 100
    after = _screen(name, firms, _raised(years, more))
    worse = np.where(_ranks(after) < _ranks(before))[0]
    assert worse.size == 0, [(before.evaluation.keys[i], before.outcome[i], after.outcome[i]) for i in worse[:5]]


def _ceilings(rs) -> list[tuple[str, float]]:
    return [(leaf.field, leaf.value) for leaf in rs.leaves() if leaf.op in ("<", "<=") and leaf.field in SIZE]


@pytest.mark.parametrize("name", SETS)
def test_growing_never_makes_a_firm_less_eligible_below_the_stated_ceilings(name, data):
    firms, years = data
    rs = cultivation_rule_sets()[name]
    factor = 1.3

    def grow(out, i):
        for c in ("revenue", "main_revenue", "rd_spending"):
            if out[c][i] is not None:
                out[c][i] = out[c][i] * factor
        if out["profit"][i] is not None and out["profit"][i] > 0:
            out["profit"][i] = out["profit"][i] * factor
    before = _screen(name, firms, years)
    after = _screen(name, firms, _raised(years, grow))
    facts = build_facts(firms, years, YEAR)
    crossing = np.zeros(facts.n, bool)
    for field, ceiling in _ceilings(rs):
        x = facts.history[field][:, -1]
        crossing |= x * factor > ceiling - 1e-9          # ends on or above the ceiling
    worse = np.where((_ranks(after) < _ranks(before)) & ~crossing)[0]
    assert worse.size == 0, [(before.evaluation.keys[i], before.outcome[i], after.outcome[i]) for i in worse[:5]]
    if not _ceilings(rs):
        assert not crossing.any()


@pytest.mark.parametrize("name", SETS)
def test_explanations_agree_with_the_outcome(name, data):
    firms, years = data
    tr = _screen(name, firms, years)
    rs = tr.rule_set
    seen = set()
    for i in range(tr.evaluation.keys.size):
        ex = tr.evaluation.explain(i)
        out = ex["outcome"]
        seen.add(out)
        stored_missed = [x for x in tr.missed[i].split(",") if x]
        assert stored_missed == ex["missed"] + ex["exclusions_hit"]
        assert sorted(x for x in tr.unknown[i].split(",") if x) == sorted(ex["unknown"]) or out != "needs_review"
        if out == "eligible":
            assert not ex["missed"] and not ex["exclusions_hit"] and not ex["unknown"] and not ex["manual"]
            assert all(c["status"] == "pass" for c in ex["conditions"])
        elif out == "needs_review":
            assert not ex["missed"] and not ex["exclusions_hit"]
            assert (ex["unknown"] if ex["review"] == "missing" else ex["manual"])
        elif out == "near":
            assert 1 <= len(ex["missed"]) <= rs.near_max_missed and not ex["exclusions_hit"]
            assert tr.gaps[i] and all(("差" in g or "超出" in g) for g in tr.gaps[i].split("；"))
        else:
            assert ex["missed"] or ex["exclusions_hit"]
    assert "not_eligible" in seen
