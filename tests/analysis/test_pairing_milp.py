"""analysis.pairing: the plan is optimal (checked by enumerating every assignment of small cases),
respects each rule, and an infeasible plan is diagnosed before the solver with the right kind."""

from __future__ import annotations

import numpy as np
import pytest

from shanhai.analysis.pairing import diagnose, plan
from shanhai.errors import ShanhaiError

TOL = 1e-7


def _subsets(i, feasible, lo, hi, groups):
    """Every choice of firms for county ``i``: its feasible firms, lo_i ≤ size ≤ hi_i, at most one
    firm per group when ``groups`` is given; as 0/1 rows over the firms."""
    from itertools import combinations

    firms = np.flatnonzero(feasible[i])
    rows = []
    for size in range(int(lo[i]), int(min(hi[i], len(firms))) + 1):
        for chosen in combinations(firms, size):
            if groups is not None and len({int(groups[j]) for j in chosen}) < size:
                continue
            row = np.zeros(feasible.shape[1], dtype=np.int64)
            row[list(chosen)] = 1
            rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(-1, feasible.shape[1])


def brute_force(scores, feasible, lo, hi, k, groups=None, same_city=None, mode="off", bonus=0.0):
    """The best (within-city pairs, score) over every assignment, or None when none is feasible.
    "first": lexicographic (most same-city pairs, then score); otherwise score only."""
    n, m = scores.shape
    weight = scores + (bonus * same_city if mode == "bonus" else 0.0)
    city = same_city.astype(np.int64) if same_city is not None else np.zeros((n, m), np.int64)
    usage = np.zeros((1, m), dtype=np.int64)
    total = np.zeros(1)
    within = np.zeros(1, dtype=np.int64)
    for i in range(n):
        rows = _subsets(i, feasible, lo, hi, groups)
        if len(rows) == 0:
            return None
        usage = (usage[:, None, :] + rows[None, :, :]).reshape(-1, m)
        total = (total[:, None] + (rows * weight[i]).sum(axis=1)[None, :]).ravel()
        within = (within[:, None] + (rows * city[i]).sum(axis=1)[None, :]).ravel()
        keep = (usage <= k[None, :]).all(axis=1)
        usage, total, within = usage[keep], total[keep], within[keep]
        if len(total) == 0:
            return None
    if mode == "first":
        w = within.max()
        return int(w), float(total[within == w].max())
    best = int(np.argmax(total))
    return int(within[best]), float(total[best])


def _random_case(seed: int, n: int = 3, m: int = 6):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.uniform(0, 100, (n, m)), 3)
    feasible = rng.random((n, m)) < rng.uniform(0.35, 0.9)
    if rng.random() < 0.5:
        lo, hi = int(rng.integers(0, 3)), 2
        hi = max(lo, int(rng.integers(lo, 3)))
        lo_a, hi_a = np.full(n, lo), np.full(n, hi)
    else:
        lo_a = rng.integers(0, 3, n)
        hi_a = lo_a + rng.integers(0, 2, n)
    k = int(rng.integers(1, 4)) if rng.random() < 0.6 else rng.integers(0, 3, m)
    k_a = np.broadcast_to(np.asarray(k), (m,)).astype(np.int64)
    groups = rng.integers(0, 3, m) if rng.random() < 0.5 else None
    same_city = rng.random((n, m)) < 0.35
    return scores, feasible, lo_a, hi_a, k, k_a, groups, same_city


def _check_valid(p, feasible, lo, hi, k, groups):
    n, m = feasible.shape
    pairs = p.pairs()
    assert len(set(pairs)) == len(pairs)
    assert all(feasible[i, j] for i, j in pairs)
    per_county = np.bincount(p.county, minlength=n)
    assert (per_county >= lo).all() and (per_county <= hi).all()
    assert (np.bincount(p.firm, minlength=m) <= k).all()
    if groups is not None:
        seen = [(i, int(groups[j])) for i, j in pairs]
        assert len(set(seen)) == len(seen)


@pytest.mark.parametrize("mode", ["off", "bonus", "first"])
@pytest.mark.parametrize("seed", range(60))
def test_plan_is_optimal_by_brute_force(seed, mode):
    scores, feasible, lo, hi, k, k_a, groups, same_city = _random_case(seed * 7 + len(mode))
    bonus = 7.5
    best = brute_force(scores, feasible, lo, hi, k_a, groups, same_city, mode, bonus)
    p = plan(scores, feasible, per_county=(lo, hi), max_counties=k, groups=groups, same_city=same_city,
             within_city=mode, within_city_bonus=bonus)
    if best is None:
        assert p.status == "infeasible" and p.problems, "the brute force found no plan: the plan must say why"
        assert p.objective is None and len(p.county) == 0
        return
    assert p.status == "optimal", [x.en for x in p.problems]
    _check_valid(p, feasible, lo, hi, k_a, groups)
    within, total = best
    assert p.objective == pytest.approx(total, abs=TOL)
    # the reported objective is the plan's own score
    weight = scores + (bonus * same_city if mode == "bonus" else 0)
    assert p.objective == pytest.approx(sum(weight[i, j] for i, j in p.pairs()), abs=TOL)
    assert p.pair_scores.sum() == pytest.approx(p.objective, abs=TOL)
    assert p.within_city_pairs == sum(bool(same_city[i, j]) for i, j in p.pairs())
    if mode == "first":
        assert p.within_city_pairs == within == p.within_city_max
    if mode == "bonus":
        assert p.pair_bonus.sum() == pytest.approx(bonus * p.within_city_pairs)


@pytest.mark.parametrize("seed", range(40))
def test_four_counties_by_brute_force(seed):
    """A slightly larger shape: 4 counties × 7 firms, both rules on."""
    scores, feasible, lo, hi, k, k_a, _, same_city = _random_case(1000 + seed, n=4, m=7)
    groups = np.random.default_rng(seed).integers(0, 4, 7)
    best = brute_force(scores, feasible, lo, hi, k_a, groups, same_city, "first")
    p = plan(scores, feasible, per_county=(lo, hi), max_counties=k, groups=groups, same_city=same_city,
             within_city="first")
    if best is None:
        assert p.status == "infeasible" and p.problems
        return
    _check_valid(p, feasible, lo, hi, k_a, groups)
    assert (p.within_city_pairs, p.objective) == (best[0], pytest.approx(best[1], abs=TOL))


@pytest.mark.parametrize("seed", range(200))
def test_the_diagnosis_is_exact(seed):
    """diagnose() finds a problem exactly when no assignment meets every minimum."""
    scores, feasible, lo, hi, k, k_a, groups, _ = _random_case(5000 + seed)
    hi = np.maximum(hi, lo)
    possible = brute_force(scores, feasible, lo, lo, k_a, groups) is not None
    assert (not diagnose(feasible & (k_a[None, :] > 0), lo, k_a, groups)) == possible


# ---- the diagnosis in words --------------------------------------------------------------------

LABELS = ["甲县", "乙县", "丙县"]


def _kinds(p):
    return [x.kind for x in p.problems]


def test_a_county_without_candidates():
    feasible = np.ones((3, 4), dtype=bool)
    feasible[1] = False
    p = plan(np.ones((3, 4)), feasible, per_county=(1, 2), max_counties=2, county_labels=LABELS)
    assert p.status == "infeasible" and _kinds(p) == ["no_candidates"]
    assert p.problems[0].counties == (1,)
    assert "乙县" in p.problems[0].zh and "no candidate" in p.problems[0].en


def test_too_few_candidates_for_the_minimum():
    feasible = np.ones((3, 4), dtype=bool)
    feasible[2, 1:] = False
    p = plan(np.ones((3, 4)), feasible, per_county=(2, 2), max_counties=3, county_labels=LABELS)
    assert _kinds(p) == ["too_few_candidates"]
    problem = p.problems[0]
    assert (problem.counties, problem.needed, problem.available) == ((2,), 2, 1)
    assert "丙县" in problem.zh and "只有 1 家" in problem.zh


def test_too_few_industries_with_different_industries_per_county():
    feasible = np.ones((3, 4), dtype=bool)
    groups = np.array([0, 0, 0, 1])
    feasible[0, 3] = False             # 甲县 keeps only firms of group 0
    p = plan(np.ones((3, 4)), feasible, per_county=(2, 2), max_counties=3, groups=groups, county_labels=LABELS)
    assert _kinds(p) == ["too_few_groups"] and p.problems[0].counties == (0,)
    # without the rule the same plan is feasible
    assert plan(np.ones((3, 4)), feasible, per_county=(2, 2), max_counties=3).status == "optimal"


def test_k_too_small_overall():
    p = plan(np.ones((3, 2)), None, per_county=(1, 2), max_counties=1, county_labels=LABELS)
    assert _kinds(p) == ["capacity_total"]
    problem = p.problems[0]
    assert (problem.needed, problem.available) == (3, 2)
    assert "K" in problem.zh and "raise K" in problem.en


def test_counties_competing_for_the_same_firms():
    """Hall's condition: 甲 and 乙 both need the one firm they share; 丙 has plenty."""
    feasible = np.zeros((3, 5), dtype=bool)
    feasible[0, 0] = feasible[1, 0] = True
    feasible[2, 1:] = True
    p = plan(np.ones((3, 5)), feasible, per_county=(1, 2), max_counties=1, county_labels=LABELS)
    assert _kinds(p) == ["capacity_local"]
    problem = p.problems[0]
    assert problem.counties == (0, 1) and (problem.needed, problem.available) == (2, 1)
    assert "甲县、乙县" in problem.zh and "丙县" not in problem.zh
    # K = 2 lets the shared firm serve both
    assert plan(np.ones((3, 5)), feasible, per_county=(1, 2), max_counties=2).status == "optimal"


def test_an_infeasible_plan_never_reaches_the_solver():
    p = plan(np.ones((3, 2)), None, per_county=(1, 1), max_counties=0)
    assert p.status == "infeasible" and p.variables == 0 and "before solving" in p.message


def test_minimum_zero_and_nothing_feasible_is_the_empty_plan():
    p = plan(np.ones((2, 3)), np.zeros((2, 3), dtype=bool), per_county=(0, 2), max_counties=1)
    assert p.status == "optimal" and p.objective == 0 and p.pairs() == []


def test_maxima_are_used_when_they_pay():
    p = plan(np.full((2, 4), 5.0), None, per_county=(1, 2), max_counties=1)
    assert p.objective == 20.0 and len(p.pairs()) == 4


def test_within_city_first_beats_a_higher_score():
    scores = np.array([[100.0, 1.0]])
    same = np.array([[False, True]])
    off = plan(scores, None, per_county=(1, 1), max_counties=1)
    first = plan(scores, None, per_county=(1, 1), max_counties=1, same_city=same, within_city="first")
    bonus = plan(scores, None, per_county=(1, 1), max_counties=1, same_city=same, within_city="bonus",
                 within_city_bonus=5)
    assert off.pairs() == [(0, 0)] and first.pairs() == [(0, 1)] and bonus.pairs() == [(0, 0)]
    assert first.within_city_max == 1 and first.objective == 1.0
    big = plan(scores, None, per_county=(1, 1), max_counties=1, same_city=same, within_city="bonus",
               within_city_bonus=200)
    assert big.pairs() == [(0, 1)] and big.objective == 201.0 and big.pair_bonus.tolist() == [200.0]


@pytest.mark.parametrize("kwargs, words", [
    ({"per_county": (2, 1)}, "exceeds its maximum"),
    ({"per_county": (-1, 1)}, "negative"),
    ({"max_counties": -1}, "negative"),
    ({"within_city": "sometimes"}, "within_city must be"),
    ({"within_city": "first"}, "needs the same_city"),
    ({"groups": np.array([0, 1])}, "one non-negative integer per firm"),
    ({"feasible": np.ones((2, 2), dtype=bool)}, "does not match"),
])
def test_bad_options_are_refused(kwargs, words):
    with pytest.raises(ShanhaiError, match=words):
        plan(np.ones((2, 3)), **kwargs)


def test_a_larger_plan_holds_every_constraint():
    rng = np.random.default_rng(3)
    n, m = 26, 400
    scores = rng.uniform(0, 100, (n, m))
    feasible = rng.random((n, m)) < 0.3
    groups = rng.integers(0, 12, m)
    same = rng.random((n, m)) < 0.1
    p = plan(scores, feasible, per_county=(1, 2), max_counties=2, groups=groups, same_city=same,
             within_city="first")
    assert p.status == "optimal"
    _check_valid(p, feasible, np.ones(n), np.full(n, 2), np.full(m, 2), groups)
    # with 2 firms per county available everywhere, the plan fills every county to its maximum
    assert (p.per_county(n) == 2).all()


@pytest.mark.parametrize("mode", ["off", "bonus", "first"])
@pytest.mark.parametrize("seed", range(12))
def test_pruning_keeps_the_optimum(seed, mode):
    """Pruning to each class's T_i best candidates gives the same optimum as the whole model, on
    cases where it removes most pairs (many firms, few counties, small K)."""
    rng = np.random.default_rng(200 + seed)
    n, m = int(rng.integers(3, 8)), int(rng.integers(60, 200))
    scores = np.round(rng.uniform(0, 100, (n, m)), 1)           # ties happen
    feasible = rng.random((n, m)) < rng.uniform(0.2, 0.9)
    k = rng.integers(0, 3, m) if seed % 3 == 0 else int(rng.integers(1, 3))
    groups = rng.integers(0, 6, m) if seed % 2 else None
    same = rng.random((n, m)) < 0.2
    kw = dict(per_county=(rng.integers(0, 2, n), rng.integers(2, 4, n)), max_counties=k, groups=groups,
              same_city=same, within_city=mode, within_city_bonus=6.0)
    pruned = plan(scores, feasible, **kw)
    whole = plan(scores, feasible, prune_pairs=False, **kw)
    assert pruned.status == whole.status
    if whole.status == "optimal":
        assert pruned.variables <= whole.variables
        if groups is None:
            assert pruned.variables < whole.variables
        assert pruned.feasible_pairs == whole.feasible_pairs == whole.variables
        assert pruned.objective == pytest.approx(whole.objective, abs=1e-6)
        assert pruned.within_city_pairs == whole.within_city_pairs or mode != "first"
        k_a = np.broadcast_to(np.asarray(k), (m,))
        _check_valid(pruned, feasible, kw["per_county"][0], kw["per_county"][1], k_a, groups)
