"""Firm–county pairing (一企一县, 1+N): the optimal plan as a mixed-integer programme.

A pure layer over NumPy arrays: counties i = 0 … n−1, candidate firms j = 0 … m−1, a score
s_ij for every pair and a mask of the feasible pairs. ``plan`` chooses the pairs

    x_ij ∈ {0, 1},  x_ij = 0 where (i, j) is not feasible

maximising the total score

    max  Σ_ij (s_ij + b·c_ij) x_ij                          (b = within_city_bonus, c_ij = same city)

subject to

    lo_i ≤ Σ_j x_ij ≤ hi_i            for every county i     (each county gets 1–2 firms, say)
    Σ_i x_ij ≤ K_j                     for every firm j       (each firm at most K counties)
    Σ_{j : g_j = g} x_ij ≤ 1           for every county i and industry group g
                                       (only with ``groups``: different industries per county)

and, with ``within_city="first"``, lexicographically: first the largest number of pairs inside
one city W* = max Σ_ij c_ij x_ij over the same constraints, then the best score among the plans
with Σ_ij c_ij x_ij ≥ W* (two exact solves). ``within_city="bonus"`` instead adds b points to every
same-city pair (the soft rule); ``"off"`` ignores cities.

Solved with ``scipy.optimize.milp`` (HiGHS branch and cut, presolve off) to proven optimality:
relative gap 0 (``mip_rel_gap=0``), so the objective is the maximum, not an approximation of it. One variable per
feasible pair only; the constraint matrix is built vectorised as a ``scipy.sparse`` matrix (a
firm's row only when it has more feasible counties than K_j, a group's row only when the county
has two or more feasible firms of that group). Without the within-city row the matrix is the
incidence matrix of two laminar families (counties and their groups; firms), hence totally
unimodular: the LP relaxation is integral and HiGHS ends at the root.

Exact pruning before the model is built. Call a county's candidates of one *class* — the same
industry group (with ``groups``) and the same city flag (with ``within_city="first"``) — alike
for every constraint but the firms' capacities. If an optimal plan gives county i a firm j that is
not among the T_i best (by weight, then index) of its class, one of those T_i firms is unused by i
and has spare capacity — else all T_i − (u − 1) of them, u = the firms i takes from the class, are
each used by K_min other counties, which needs (T_i − u + 1)·K_min ≤ H_i, H_i = Σ_{i' ≠ i} hi_i' —
and swapping j for it keeps every constraint and does not lower the score. So with

    T_i = u_max + ⌊H_i / K_min⌋,    u_max = hi_i (1 with ``groups``)

an optimal plan exists among each class's T_i best candidates, and only those become variables
(26 counties × 2 firms, K = 2: 27 per county, whatever the number of candidates). ``prune_pairs=False``
keeps every feasible pair (the tests compare the two).

Infeasibility is diagnosed BEFORE the solver, in words, with the counties it concerns:

1. a county with fewer feasible candidates than its minimum (none at all, or too few);
2. with ``groups``: a county whose candidates span fewer industry groups than its minimum;
3. Σ_i lo_i > Σ_j K_j over the firms feasible somewhere: K too small for the whole plan;
4. otherwise the exact test: a maximum flow source → county (capacity lo_i) → [county, group]
   (capacity 1) → firm (capacity 1) → sink (capacity K_j) saturates every county's minimum iff the
   minimums can be met together (the maxima never conflict with them). When it cannot, the
   counties on the source side of the minimum cut are the ones that compete for too few firms
   (Hall's condition fails for them): they are named with what they need and what their common
   candidates can give.

If the solver still reports no solution, its status message is returned as the diagnosis.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from shanhai.errors import ShanhaiError

WITHIN_CITY = ("off", "bonus", "first")
STATUSES = ("optimal", "infeasible", "unsolved")


@dataclass(frozen=True)
class Problem:
    """Why the constraints cannot be met: a kind, the counties (indices) it concerns, what they
    need and what is available, and the sentence in Chinese and English."""
    # no_candidates | too_few_candidates | too_few_groups | capacity_total | capacity_local | solver
    kind: str
    counties: tuple[int, ...]
    needed: int
    available: int
    zh: str
    en: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "counties": list(self.counties), "needed": self.needed,
                "available": self.available, "zh": self.zh, "en": self.en}


@dataclass
class Plan:
    """The result of :func:`plan`. ``county``/``firm`` are the chosen pairs (indices), sorted by
    county, then by descending score; ``pair_scores`` their scores with the within-city bonus
    included (``pair_bonus``); ``objective`` = Σ pair_scores (None unless optimal)."""
    status: str
    objective: float | None
    county: np.ndarray
    firm: np.ndarray
    pair_scores: np.ndarray
    pair_bonus: np.ndarray
    within_city_pairs: int
    within_city_max: int | None          # W* of the first stage with within_city="first"
    problems: list[Problem] = field(default_factory=list)
    message: str = ""
    variables: int = 0
    constraints: int = 0
    feasible_pairs: int = 0              # before pruning
    build_s: float = 0.0
    solve_s: float = 0.0

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    def pairs(self) -> list[tuple[int, int]]:
        return list(zip(self.county.tolist(), self.firm.tolist()))

    def per_county(self, n: int) -> np.ndarray:
        return np.bincount(self.county, minlength=n)

    def as_dict(self) -> dict:
        return {"status": self.status, "objective": self.objective, "pairs": self.pairs(),
                "pair_scores": self.pair_scores.tolist(), "pair_bonus": self.pair_bonus.tolist(),
                "within_city_pairs": self.within_city_pairs, "within_city_max": self.within_city_max,
                "problems": [p.as_dict() for p in self.problems], "message": self.message,
                "variables": self.variables, "constraints": self.constraints, "feasible_pairs": self.feasible_pairs,
                "build_s": self.build_s,
                "solve_s": self.solve_s}


# ---- inputs ------------------------------------------------------------------------------------

def _per_county(per_county, n: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        lo, hi = per_county
    except (TypeError, ValueError):
        raise ShanhaiError(f"per_county must be (min, max), not {per_county!r}") from None
    lo = np.broadcast_to(np.asarray(lo), (n,)).astype(np.int64)
    hi = np.broadcast_to(np.asarray(hi), (n,)).astype(np.int64)
    if (lo < 0).any():
        raise ShanhaiError("a county's minimum number of firms cannot be negative")
    bad = np.flatnonzero(lo > hi)
    if len(bad):
        raise ShanhaiError(f"a county's minimum ({lo[bad[0]]}) exceeds its maximum ({hi[bad[0]]}) firms")
    return lo, hi


def _capacity(max_counties, m: int) -> np.ndarray:
    k = np.broadcast_to(np.asarray(max_counties), (m,)).astype(np.int64)
    if (k < 0).any():
        raise ShanhaiError("a firm's maximum number of counties (K) cannot be negative")
    return k


def _labels(county_labels: Sequence[str] | None, n: int) -> list[str]:
    if county_labels is None:
        return [f"county {i}" for i in range(n)]
    if len(county_labels) != n:
        raise ShanhaiError(f"county_labels has {len(county_labels)} names for {n} counties")
    return [str(x) for x in county_labels]


def _k_text(k: np.ndarray, firms: np.ndarray) -> tuple[str, str]:
    ks = np.unique(k[firms]) if len(firms) else np.unique(k)
    if len(ks) == 1:
        most = int(ks[0])
        return f"每家最多结对 {most} 个县", f"each paired with at most {most} count{'y' if most == 1 else 'ies'}"
    return "每家按各自上限结对", "each up to its own limit"


def _names(labels: list[str], idx, most: int = 8) -> tuple[str, str]:
    idx = list(idx)
    shown = [labels[i] for i in idx[:most]]
    more_zh = f" 等 {len(idx)} 个县" if len(idx) > most else ""
    more_en = f" and {len(idx) - most} more" if len(idx) > most else ""
    return "、".join(shown) + more_zh, ", ".join(shown) + more_en


# ---- diagnosis before the solver ---------------------------------------------------------------

def diagnose(feasible: np.ndarray, lo: np.ndarray, k: np.ndarray, groups: np.ndarray | None = None,
             county_labels: Sequence[str] | None = None) -> list[Problem]:
    """Why the minimums cannot all be met (empty list: they can). Exact: see the module docstring."""
    feasible = np.asarray(feasible, dtype=bool)
    n, m = feasible.shape
    labels = _labels(county_labels, n)
    problems: list[Problem] = []
    # a firm can serve a county only if K_j ≥ 1
    usable = feasible & (k[None, :] > 0)
    counts = usable.sum(axis=1)
    for i in np.flatnonzero(counts < lo):
        c = int(counts[i])
        if c == 0:
            problems.append(Problem(
                "no_candidates", (int(i),), int(lo[i]), 0,
                f"{labels[i]}：没有任何可选企业，无法满足每县至少 {lo[i]} 家的要求",
                f"{labels[i]}: no candidate firm at all, so its minimum of {lo[i]} cannot be met"))
        else:
            problems.append(Problem(
                "too_few_candidates", (int(i),), int(lo[i]), c,
                f"{labels[i]}：只有 {c} 家可选企业，少于每县至少 {lo[i]} 家",
                f"{labels[i]}: only {c} candidate firm{'s' if c != 1 else ''}, fewer than its minimum of {lo[i]}"))
    if groups is not None:
        for i in range(n):
            if counts[i] < lo[i]:
                continue
            g = len(np.unique(groups[usable[i]]))
            if g < lo[i]:
                problems.append(Problem(
                    "too_few_groups", (int(i),), int(lo[i]), g,
                    f"{labels[i]}：可选企业只分属 {g} 个行业，按“每县不同行业”规则至少需要 {lo[i]} 个行业",
                    f"{labels[i]}: its candidates span only {g} industr{'ies' if g != 1 else 'y'}, but with "
                    f"different industries per county it needs {lo[i]}"))
    if problems:
        return problems
    firms = np.flatnonzero(usable.any(axis=0))
    need, supply = int(lo.sum()), int(k[firms].sum())
    if need > supply:
        kz, ke = _k_text(k, firms)
        return [Problem("capacity_total", tuple(range(n)), need, supply,
                        f"各县合计至少需要 {need} 个结对，但 {len(firms)} 家可选企业{kz}，合计最多只能提供 {supply} 个："
                        "请提高每家企业结对县数上限 K，或降低每县最少企业数",
                        f"the counties need at least {need} pairs in all, but the {len(firms)} candidate firms, "
                        f"{ke}, can give at most {supply}: raise K or lower the minimum per county")]
    if need == 0:
        return []
    flow_value, side_counties, side_firms = _flow(usable, lo, k, groups)
    if flow_value >= need:
        return []
    need_s = int(lo[side_counties].sum())
    got = need_s - (need - flow_value)
    kz, ke = _k_text(k, side_firms)
    rule_zh = "，且每县每个行业只取一家" if groups is not None else ""
    rule_en = ", one per industry per county" if groups is not None else ""
    nz, ne = _names(labels, side_counties)
    return [Problem("capacity_local", tuple(int(i) for i in side_counties), need_s, int(got),
                    f"{nz} 合计至少需要 {need_s} 个结对，但它们的可选企业（共 {len(side_firms)} 家，{kz}{rule_zh}）"
                    f"最多只能满足 {got} 个：请提高 K、降低每县最少企业数，或放宽规则",
                    f"{ne} need at least {need_s} pairs together, but their candidate firms ({len(side_firms)}, "
                    f"{ke}{rule_en}) can fill at most {got}: raise K, lower the minimum or relax a rule")]


def _flow(usable: np.ndarray, lo: np.ndarray, k: np.ndarray, groups: np.ndarray | None):
    """Max flow source → county → [county, group] → firm → sink; returns the flow value and the
    counties (with their candidate firms) on the source side of a minimum cut: every county left
    short is among them, and together they cannot get more than they got."""
    n, m = usable.shape
    ci, fj = np.nonzero(usable)
    source, counties0 = 0, 1
    if groups is not None:
        key = ci.astype(np.int64) * (int(groups.max()) + 1) + groups[fj]
        uniq, inv = np.unique(key, return_inverse=True)
        mid0 = counties0 + n
        firms0 = mid0 + len(uniq)
        mid_county = (uniq // (int(groups.max()) + 1)).astype(np.int64)
        src = np.concatenate([np.full(n, source), counties0 + mid_county, mid0 + inv, firms0 + np.arange(m)])
        dst = np.concatenate([counties0 + np.arange(n), mid0 + np.arange(len(uniq)), firms0 + fj,
                              np.full(m, firms0 + m)])
        cap = np.concatenate([lo, np.ones(len(uniq), np.int64), np.ones(len(ci), np.int64), k])
    else:
        firms0 = counties0 + n
        src = np.concatenate([np.full(n, source), counties0 + ci, firms0 + np.arange(m)])
        dst = np.concatenate([counties0 + np.arange(n), firms0 + fj, np.full(m, firms0 + m)])
        cap = np.concatenate([lo, np.ones(len(ci), np.int64), k])
    sink = firms0 + m
    size = sink + 1
    cap = np.minimum(cap, np.iinfo(np.int32).max).astype(np.int32)
    graph = sparse.csr_matrix((cap, (src, dst)), shape=(size, size))
    graph.sum_duplicates()
    result = maximum_flow(graph, source, sink)
    value = int(result.flow_value)
    flow = result.flow.tocsr()
    residual = (graph - flow).tocsr()
    residual.data[residual.data < 0] = 0
    residual.eliminate_zeros()
    reach = breadth_first_order(residual, source, directed=True, return_predecessors=False)
    reached = np.zeros(size, dtype=bool)
    reached[reach] = True
    side_counties = np.flatnonzero(reached[counties0:counties0 + n])
    side_firms = np.flatnonzero(usable[side_counties].any(axis=0)) if len(side_counties) else np.array([], int)
    return value, side_counties, side_firms


# ---- the model ---------------------------------------------------------------------------------

@dataclass
class _Model:
    ci: np.ndarray          # county of each variable
    fj: np.ndarray          # firm of each variable
    A: sparse.csr_matrix
    lb: np.ndarray
    ub: np.ndarray


def prune(weight: np.ndarray, feasible: np.ndarray, hi: np.ndarray, k: np.ndarray,
          groups: np.ndarray | None = None, same_city: np.ndarray | None = None) -> np.ndarray:
    """The feasible pairs that can matter (module docstring, "Exact pruning"): per county and
    class (group × city flag), the T_i best by weight, ties by firm index."""
    n, m = feasible.shape
    ci, fj = np.nonzero(feasible)
    if len(ci) == 0:
        return feasible.copy()
    used = k[fj] > 0
    k_min = int(k[k > 0].min()) if (k > 0).any() else 1
    hi_c = np.minimum(hi, m).astype(np.int64)
    others = hi_c.sum() - hi_c
    cap = (1 if groups is not None else hi_c) + others // k_min
    cls = np.zeros(len(ci), dtype=np.int64)
    if groups is not None:
        cls = np.asarray(groups, dtype=np.int64)[fj]
    if same_city is not None:
        cls = cls * 2 + np.asarray(same_city, dtype=bool)[ci, fj]
    key = ci.astype(np.int64) * (int(cls.max()) + 1) + cls
    order = np.lexsort((fj, -weight[ci, fj], key))
    key_sorted = key[order]
    starts = np.r_[0, np.flatnonzero(key_sorted[1:] != key_sorted[:-1]) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    rank = np.arange(len(order)) - first
    keep = np.zeros(len(ci), dtype=bool)
    keep[order] = rank < cap[ci[order]]
    out = np.zeros_like(feasible)
    out[ci[keep & used], fj[keep & used]] = True
    return out


def build_model(feasible: np.ndarray, lo: np.ndarray, hi: np.ndarray, k: np.ndarray,
                groups: np.ndarray | None = None) -> _Model:
    """The constraint rows of the module docstring over one variable per feasible pair (sparse)."""
    n, m = feasible.shape
    ci, fj = np.nonzero(feasible)
    nv = len(ci)
    cols = np.arange(nv)
    rows, cs, lbs, ubs = [ci], [cols], [lo.astype(float)], [np.minimum(hi, m).astype(float)]
    next_row = n
    per_firm = np.bincount(fj, minlength=m)
    binding = per_firm > k                          # a firm's row only when K can bind
    if binding.any():
        index = np.full(m, -1, dtype=np.int64)
        index[binding] = next_row + np.arange(int(binding.sum()))
        take = binding[fj]
        rows.append(index[fj[take]])
        cs.append(cols[take])
        lbs.append(np.zeros(int(binding.sum())))
        ubs.append(k[binding].astype(float))
        next_row += int(binding.sum())
    if groups is not None and nv:
        g = np.asarray(groups, dtype=np.int64)
        key = ci.astype(np.int64) * (int(g.max()) + 1) + g[fj]
        uniq, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
        several = counts > 1
        if several.any():
            index = np.full(len(uniq), -1, dtype=np.int64)
            index[several] = next_row + np.arange(int(several.sum()))
            take = several[inv]
            rows.append(index[inv[take]])
            cs.append(cols[take])
            lbs.append(np.zeros(int(several.sum())))
            ubs.append(np.ones(int(several.sum())))
            next_row += int(several.sum())
    r, c = np.concatenate(rows), np.concatenate(cs)
    A = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(next_row, nv))
    return _Model(ci, fj, A, np.concatenate(lbs), np.concatenate(ubs))


def _solve(c: np.ndarray, A, lb, ub, time_limit: float | None):
    # presolve off: on these matrices (few rows, many near-identical columns) HiGHS's presolve costs
    # far more than the solve itself — 1.5 s against 0.04 s for 3 counties × 1,428 firms — and the
    # root LP is integral anyway without the within-city row
    options = {"disp": False, "mip_rel_gap": 0.0, "presolve": False}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    nv = len(c)
    return milp(c, constraints=[LinearConstraint(A, lb, ub)], integrality=np.ones(nv, dtype=np.uint8),
                bounds=Bounds(np.zeros(nv), np.ones(nv)), options=options)


def plan(scores: np.ndarray, feasible: np.ndarray | None = None, *, per_county=(1, 2), max_counties=1,
         groups: np.ndarray | None = None, same_city: np.ndarray | None = None, within_city: str = "off",
         within_city_bonus: float = 0.0, county_labels: Sequence[str] | None = None,
         time_limit: float | None = 60.0, prune_pairs: bool = True) -> Plan:
    """The optimal pairing plan (module docstring).

    ``scores``: counties × firms; ``feasible``: the pairs allowed (default: every finite score);
    ``per_county``: (min, max), each an int or one per county; ``max_counties``: K, an int or one
    per firm; ``groups``: one integer per firm (its industry group) to allow at most one firm of a
    group per county, or None; ``same_city``: counties × firms booleans, needed for
    ``within_city`` "bonus" (b = ``within_city_bonus`` points per same-city pair) or "first"
    (lexicographic: most same-city pairs, then the best score); ``county_labels``: names for the
    diagnosis; ``prune_pairs``: keep only the pairs that can matter (exact, module docstring).
    Raises :class:`ShanhaiError` for inconsistent options; an infeasible plan is returned with
    ``status="infeasible"`` and its ``problems``.
    """
    started = time.perf_counter()
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ShanhaiError(f"scores must be a counties × firms matrix, not of shape {scores.shape}")
    n, m = scores.shape
    if n == 0:
        raise ShanhaiError("no county to plan for")
    feasible = np.isfinite(scores) if feasible is None else np.asarray(feasible, dtype=bool)
    if feasible.shape != scores.shape:
        raise ShanhaiError(f"the feasible mask {feasible.shape} does not match the scores {scores.shape}")
    if not np.isfinite(scores[feasible]).all():
        raise ShanhaiError("every feasible pair needs a finite score")
    lo, hi = _per_county(per_county, n)
    k = _capacity(max_counties, m)
    if groups is not None:
        groups = np.asarray(groups, dtype=np.int64)
        if groups.shape != (m,) or (m and groups.min() < 0):
            raise ShanhaiError(f"groups must be one non-negative integer per firm ({m}), not shape {groups.shape}")
    if within_city not in WITHIN_CITY:
        raise ShanhaiError(f"within_city must be one of {', '.join(WITHIN_CITY)}, not {within_city!r}")
    if within_city != "off" and same_city is None:
        raise ShanhaiError(f"within_city={within_city!r} needs the same_city matrix")
    if same_city is not None:
        same_city = np.asarray(same_city, dtype=bool)
        if same_city.shape != scores.shape:
            raise ShanhaiError(f"same_city {same_city.shape} does not match the scores {scores.shape}")
    labels = _labels(county_labels, n)
    feasible = feasible & (k[None, :] > 0)

    empty = np.array([], dtype=np.int64)

    def failed(problems: list[Problem], message: str, status: str = "infeasible", **kw) -> Plan:
        return Plan(status, None, empty, empty, np.array([]), np.array([]), 0, None, problems, message,
                    build_s=time.perf_counter() - started, **kw)

    problems = diagnose(feasible, lo, k, groups, labels)
    if problems:
        return failed(problems, "constraints cannot be met (found before solving)")

    candidates = int(feasible.sum())
    if prune_pairs:
        weight_all = scores + (float(within_city_bonus) * same_city if within_city == "bonus" else 0.0)
        feasible = prune(weight_all, feasible, hi, k, groups, same_city if within_city == "first" else None)
    model = build_model(feasible, lo, hi, k, groups)
    nv = len(model.ci)
    bonus = np.zeros(nv)
    city = np.zeros(nv)
    if same_city is not None:         # counted whatever the rule, so a plan says how many pairs stay in a city
        city = same_city[model.ci, model.fj].astype(float)
        if within_city == "bonus":
            bonus = float(within_city_bonus) * city
    weight = scores[model.ci, model.fj] + bonus
    A, lb, ub = model.A, model.lb, model.ub
    built = time.perf_counter()
    if nv == 0:      # every minimum is 0 and nothing is feasible: the empty plan is optimal
        return Plan("optimal", 0.0, empty, empty, np.array([]), np.array([]), 0,
                    0 if within_city == "first" else None, [], "nothing to pair", 0, A.shape[0], candidates,
                    built - started, 0.0)
    w_max = None
    if within_city == "first":
        first = _solve(-city, A, lb, ub, time_limit)
        if first.status != 0 or first.x is None:
            return failed([Problem("solver", tuple(range(n)), int(lo.sum()), 0,
                                   f"求解器未能完成第一阶段（同市优先）：{first.message}",
                                   f"the solver did not finish the first (within-city) stage: {first.message}")],
                          str(first.message), "infeasible" if first.status == 2 else "unsolved",
                          variables=nv, constraints=A.shape[0])
        w_max = int(round(-first.fun))
        if w_max > 0:
            A = sparse.vstack([A, sparse.csr_matrix(city[None, :])], format="csr")
            lb, ub = np.append(lb, w_max), np.append(ub, np.inf)
    res = _solve(-weight, A, lb, ub, time_limit)
    solved = time.perf_counter()
    if res.status != 0 or res.x is None:
        status = "infeasible" if res.status == 2 else "unsolved"
        return failed([Problem("solver", tuple(range(n)), int(lo.sum()), 0,
                               f"求解器未得到最优方案：{res.message}",
                               f"the solver found no optimal plan: {res.message}")],
                      str(res.message), status, variables=nv, constraints=A.shape[0])
    chosen = np.flatnonzero(res.x > 0.5)
    c, f = model.ci[chosen], model.fj[chosen]
    s, b = weight[chosen], bonus[chosen]
    order = np.lexsort((f, -s, c))
    c, f, s, b = c[order], f[order], s[order], b[order]
    return Plan("optimal", float(s.sum()), c, f, s, b, int(city[chosen].sum()), w_max, [], str(res.message),
                nv, A.shape[0], candidates, built - started, solved - built)


# ---- distance ----------------------------------------------------------------------------------

EARTH_RADIUS_KM = 6371.0088


def centroid(geometry: dict) -> tuple[float, float]:
    """The area-weighted centroid (lon, lat) of a GeoJSON Polygon or MultiPolygon, computed on the
    plane of longitude × latitude (a county is small enough); holes subtract."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    area = cx = cy = 0.0
    for polygon in polygons:
        for n, ring in enumerate(polygon):
            pts = np.asarray(ring, dtype=float)
            x, y = pts[:, 0], pts[:, 1]
            x1, y1 = np.roll(x, -1), np.roll(y, -1)
            cross = x * y1 - x1 * y
            a = cross.sum() / 2
            if a == 0:
                continue
            sign = 1.0 if n == 0 else -1.0           # the outer ring, then holes
            area += sign * abs(a)
            cx += sign * abs(a) * ((x + x1) * cross).sum() / (6 * a)
            cy += sign * abs(a) * ((y + y1) * cross).sum() / (6 * a)
    if area == 0:
        pts = np.asarray(polygons[0][0], dtype=float)
        return float(pts[:, 0].mean()), float(pts[:, 1].mean())
    return float(cx / area), float(cy / area)


def distance_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in km (haversine, mean Earth radius), broadcast over arrays:

        d = 2R · asin √( sin²(Δφ/2) + cos φ₁ cos φ₂ sin²(Δλ/2) )
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
