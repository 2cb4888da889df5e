"""Child process of the ``pairing`` workload (``benchmarks/pairing.py``).

    python -P benchmarks/pairing_child.py shanhai [--seed 7] [--firms 5000]
    python -P benchmarks/pairing_child.py pulp [--seed 7] [--firms 5000]

Both make the same input (:func:`make_input`, not timed): 26 mountain counties × 5,000 candidate
firms with a score for every pair and the feasibility of the real candidate rule. ``shanhai``
imports ``shanhai.analysis.pairing`` (and SciPy) before the clock starts, then times
``plan(...)`` — the feasibility check, the exact pruning, the sparse model and HiGHS — with each
county 1–2 firms and each firm at most K = 2 counties (the target), then the same plan without
pruning (the whole model), then with both optional rules (different industries per county and
within-city first: two solves). ``pulp`` writes the whole model (one binary per feasible pair,
the same rows) with PuLP and solves it with its bundled CBC at a relative gap of 0; PuLP's model
building and CBC's solve are timed apart. The last line of stdout is a JSON report with the
objective and the pairs, which the parent compares.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

COUNTIES, FIRMS = 26, 5_000
PER_COUNTY, K = (1, 2), 2
# The candidate pool of the synthetic province at scale 1.0 (seed 7, one province-wide
# zhejiang-2018 run; measured with shanhai.jobs.pairing.candidates): firms per chain, and how many
# of the ten chains a candidate belongs to.
CHAIN_FIRMS = {"intelligent_equipment": 13936, "smart_home": 11937, "modern_textiles": 11037,
               "new_energy_vehicles": 10138, "integrated_circuits": 5385, "biomedicine": 3221,
               "refining_new_materials": 2912, "network_communication": 2746, "digital_security": 2145,
               "intelligent_computing": 1897}
CHAINS_PER_FIRM = {1: 44068, 2: 8784, 4: 481, 6: 299}
FIT = {"gap": (1.0, 0.5), "adjacent": (0.7, 0.3), "other": (0.0, 0.2)}     # value, share of pairs
CLASS_A_SHARE = 0.16                                                         # A among A/B candidates
PARTNER_SHARE = 0.01
DIVISIONS = 18
WEIGHTS = {"chain_fit": 0.35, "capacity": 0.20, "efficiency": 0.20, "pairing": 0.15, "distance": 0.10}
MAX_KM = 460.0


def make_input(seed: int, firms: int = FIRMS) -> dict:
    """Scores, feasibility, industry groups and same-city flags for 26 counties × ``firms`` firms
    (5,000: the target's input).

    Counties: the 26 mountain counties of the reference data with their real cities and centroids;
    their chains are those their declared lead industries match (the real rule, 17 of them), and
    each of the 9 that match none gets 1–2 chains drawn by chain size (the real rule would leave
    them out; here every county takes part). Firms: 5,000 of the developed counties (uniformly),
    each in 1, 2, 4 or 6 chains drawn by chain size with the shares measured at scale 1.0. A pair
    is feasible when the firm and the county share a chain (about 30 % of the pairs, as at scale
    1.0). Score = 100 × Σ weight × component: chain fit 1 / 0.7 / 0 (gap / adjacent / other, 50 /
    30 / 20 %), capacity the firm's revenue percentile (uniform), efficiency A 1 / B 0.7 (16 % A),
    pairing 1 for 1 % of the pairs, distance 1 − km / 460 between the real county centroids.
    """
    from shanhai import reference
    from shanhai.analysis.pairing import centroid, distance_km
    from shanhai.jobs.pairing import _matches

    rng = np.random.default_rng(seed)
    regions = {r.adcode: r for r in reference.regions()}
    mountain = sorted(a for a, r in regions.items() if r.level == "county" and r.mountain26)
    developed = sorted(a for a, r in regions.items() if r.level == "county" and not r.mountain26)
    chains = list(CHAIN_FIRMS)
    size = np.array([CHAIN_FIRMS[c] for c in chains], dtype=float)
    size /= size.sum()
    codes = {}
    for chain in reference.chains():
        codes[chain.chain_id] = {code for s in chain.segments for code in s.codes}
    leads: dict[str, list[dict]] = {}
    for lead in reference.lead_industries():
        for name, lead_codes in zip(lead.industries, lead.industry_codes):
            leads.setdefault(lead.adcode, []).append({"name": name, "codes": list(lead_codes)})
    county_chains = np.zeros((COUNTIES, len(chains)), dtype=bool)
    real = 0
    for i, adcode in enumerate(mountain):
        matched = _matches(leads.get(adcode, []), codes)
        if matched:
            real += 1
            county_chains[i, [chains.index(c) for c in matched]] = True
        else:
            county_chains[i, rng.choice(len(chains), int(rng.integers(1, 3)), replace=False, p=size)] = True
    counts = np.array(list(CHAINS_PER_FIRM), dtype=int)
    shares = np.array(list(CHAINS_PER_FIRM.values()), dtype=float)
    firm_chains = np.zeros((firms, len(chains)), dtype=bool)
    for j, k in enumerate(rng.choice(counts, firms, p=shares / shares.sum())):
        firm_chains[j, rng.choice(len(chains), int(k), replace=False, p=size)] = True
    feasible = (county_chains.astype(np.int32) @ firm_chains.T.astype(np.int32)) > 0
    firm_county = rng.choice(developed, firms)
    geo = {f["properties"]["adcode"]: centroid(f["geometry"]) for f in reference.geojson()["features"]}
    cxy = np.array([geo[a] for a in mountain])
    fxy = np.array([geo[a] for a in firm_county])
    km = distance_km(cxy[:, :1], cxy[:, 1:], fxy[None, :, 0], fxy[None, :, 1])
    fit = rng.choice([v for v, _ in FIT.values()], (COUNTIES, firms), p=[p for _, p in FIT.values()])
    values = {"chain_fit": fit,
              "capacity": np.broadcast_to(rng.permutation(firms) / (firms - 1), (COUNTIES, firms)),
              "efficiency": np.broadcast_to(np.where(rng.random(firms) < CLASS_A_SHARE, 1.0, 0.7), (COUNTIES, firms)),
              "pairing": (rng.random((COUNTIES, firms)) < PARTNER_SHARE).astype(float),
              "distance": np.clip(1 - km / MAX_KM, 0, 1)}
    scores = np.round(sum(np.round(100 * WEIGHTS[k] * v, 4) for k, v in values.items()), 4)
    city = np.array([regions[a].city_adcode for a in mountain])
    firm_city = np.array([regions[a].city_adcode for a in firm_county])
    return {"scores": scores, "feasible": feasible, "groups": rng.integers(0, DIVISIONS, firms),
            "same_city": city[:, None] == firm_city[None, :], "real_counties": real}


def _shanhai(data: dict) -> dict:
    started = time.perf_counter()
    from shanhai.analysis.pairing import plan

    import_s = time.perf_counter() - started
    out = {"import_s": import_s}
    runs = (("", {}), ("full_", {"prune_pairs": False}),
            ("rules_", {"groups": data["groups"], "same_city": data["same_city"], "within_city": "first"}))
    for prefix, kw in runs:
        cpu, began = time.process_time(), time.perf_counter()
        p = plan(data["scores"], data["feasible"], per_county=PER_COUNTY, max_counties=K, **kw)
        out.update({f"{prefix}run_s": time.perf_counter() - began, f"{prefix}run_cpu_s": time.process_time() - cpu,
                    f"{prefix}build_s": p.build_s, f"{prefix}solve_s": p.solve_s, f"{prefix}status": p.status,
                    f"{prefix}objective": p.objective, f"{prefix}variables": p.variables,
                    f"{prefix}constraints": p.constraints, f"{prefix}pairs": len(p.county)})
        if not prefix:
            out["plan"] = sorted(p.pairs())
    return out


def _pulp(data: dict) -> dict:
    started = time.perf_counter()
    import pulp

    import_s = time.perf_counter() - started
    scores, feasible = data["scores"], data["feasible"]
    began = time.perf_counter()
    cpu = time.process_time()
    ci, fj = np.nonzero(feasible)
    prob = pulp.LpProblem("pairing", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x_{i}_{j}", cat=pulp.LpBinary) for i, j in zip(ci.tolist(), fj.tolist())]
    prob += pulp.lpSum(float(scores[i, j]) * v for i, j, v in zip(ci.tolist(), fj.tolist(), x))
    by_county: dict[int, list] = {}
    by_firm: dict[int, list] = {}
    for i, j, v in zip(ci.tolist(), fj.tolist(), x):
        by_county.setdefault(i, []).append(v)
        by_firm.setdefault(j, []).append(v)
    for i in range(feasible.shape[0]):
        prob += pulp.lpSum(by_county.get(i, [])) >= PER_COUNTY[0]
        prob += pulp.lpSum(by_county.get(i, [])) <= PER_COUNTY[1]
    for j, vs in by_firm.items():
        if len(vs) > K:
            prob += pulp.lpSum(vs) <= K
    build_s = time.perf_counter() - began
    solve_began = time.perf_counter()
    prob.solve(pulp.PULP_CBC_CMD(msg=False, gapRel=0.0, threads=1))
    solve_s = time.perf_counter() - solve_began
    status = pulp.LpStatus[prob.status]
    chosen = [(int(i), int(j)) for i, j, v in zip(ci.tolist(), fj.tolist(), x) if (v.value() or 0) > 0.5]
    objective = float(sum(scores[i, j] for i, j in chosen))
    return {"import_s": import_s, "run_s": time.perf_counter() - began, "run_cpu_s": time.process_time() - cpu,
            "build_s": build_s, "solve_s": solve_s, "status": "optimal" if status == "Optimal" else status,
            "objective": objective, "variables": len(x), "constraints": len(prob.constraints),
            "pairs": len(chosen), "plan": sorted(chosen)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=("shanhai", "pulp"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--firms", type=int, default=FIRMS, help="candidate firms (5,000 by default)")
    args = parser.parse_args(argv)
    data = make_input(args.seed, args.firms)
    feasible = data["feasible"]
    report = _shanhai(data) if args.which == "shanhai" else _pulp(data)
    report.update({"counties": int(feasible.shape[0]), "firms": int(feasible.shape[1]),
                   "feasible_pairs": int(feasible.sum()), "density": float(feasible.mean()),
                   "real_counties": data["real_counties"]})
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
