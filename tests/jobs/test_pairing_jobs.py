"""一企一县 pairing against the small province (jobs.pairing): the candidates follow the rule (checked
against a direct computation from the tables), every constraint holds in the stored plan, the plan
is optimal (its objective equals the LP relaxation's bound), points add up, plans are stored as runs
and never overwritten, infeasible plans say why, and scope and masking hold."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from shanhai.analysis import pairing as ap
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import chains as jc
from shanhai.jobs import pairing as jp
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope

PROVINCE = Scope.province()
JINGNING = "331127"


@pytest.fixture(scope="module")
def world(small_evaluated, tmp_path_factory):
    """A writable copy of the evaluated small province with the plans the tests read."""
    source, year, run_id = small_evaluated
    path = tmp_path_factory.mktemp("pairing") / "pairing.duckdb"
    shutil.copy(source, path)
    with open_store(path) as store:
        plans = {
            "default": jp.build_plan(store, PROVINCE, user="tests"),
            "distinct": jp.build_plan(store, PROVINCE, distinct_industries=True, max_counties=1, user="tests"),
            "first": jp.build_plan(store, PROVINCE, within_city_first="first", user="tests"),
            "bonus": jp.build_plan(store, PROVINCE, within_city_first="bonus", per_county=(2, 2), user="tests"),
            "strict": jp.build_plan(store, PROVINCE, skip_unmatched=False, user="tests"),
        }
        cand = jp.candidates(store, PROVINCE)
    return path, year, run_id, plans, cand


@pytest.fixture
def store(world):
    with open_store(world[0], read_only=True) as s:
        yield s


def _expected_feasible(store, year, run_id) -> set[tuple[str, str]]:
    """(mountain county, firm) pairs by the candidate rule, straight from the tables."""
    leads = {}
    for adcode, codes in store.con.execute("SELECT adcode, codes FROM lead_industries").fetchall():
        leads.setdefault(adcode, []).extend(c.strip() for c in codes.split(";") if c.strip())
    chain_codes = {}
    for chain_id, code in store.con.execute(
            "SELECT s.chain_id, i.industry_code FROM segment_industries i JOIN chain_segments s USING (segment_id)"
            ).fetchall():
        chain_codes.setdefault(chain_id, set()).add(code)
    mountain = [r[0] for r in store.con.execute(
        "SELECT adcode FROM regions WHERE level = 'county' AND mountain26").fetchall()]
    admitted = store.con.execute(f"""
        SELECT DISTINCT es.uscc, s.chain_id FROM enterprise_segments es JOIN chain_segments s USING (segment_id)
        JOIN enterprises e USING (uscc) JOIN regions r ON r.adcode = e.county_adcode AND NOT r.mountain26
        JOIN enterprise_years y ON y.uscc = es.uscc AND y.year = {year}
        LEFT JOIN mujun_scores m ON m.run_id = '{run_id}' AND m.uscc = es.uscc
        WHERE es.role <> 'excluded' AND (es.role = 'chain_leader' OR m.class IN ('A', 'B'))""").fetchall()
    out = set()
    for county in mountain:
        chains = {c for c, codes in chain_codes.items()
                  if any(a.startswith(b) or b.startswith(a) for a in leads.get(county, []) for b in codes)}
        out |= {(county, u) for u, c in admitted if c in chains}
    return out


def test_candidates_follow_the_rule(world, store):
    _, year, run_id, _, cand = world
    got = {(c["adcode"], f["uscc"]) for i, c in enumerate(cand.counties) for j, f in enumerate(cand.firms)
           if cand.feasible[i, j]}
    assert got == _expected_feasible(store, year, run_id)
    assert len(cand.counties) == 26 and cand.basis["run_id"] == run_id and cand.basis["year"] == year
    mountain = {c["adcode"] for c in cand.counties}
    assert not any(f["county_adcode"] in mountain for f in cand.firms)
    assert all(f["leader"] or f["mujun_class"] in ("A", "B") for f in cand.firms)
    # components lie in [0, 1], points are 100 × weight × value and add up to the score
    weights = cand.rules.weights.model_dump()
    for k, v in cand.values.items():
        assert ((v >= 0) & (v <= 1)).all(), k
        assert np.allclose(cand.points[k][cand.feasible], np.round(100 * weights[k] * v[cand.feasible], 4))
    assert np.allclose(sum(cand.points.values()), cand.scores, atol=1e-6)


def test_counties_without_a_matching_chain_are_named(world):
    cand = world[4]
    jingning = next(c for c in cand.counties if c["adcode"] == JINGNING)
    assert jingning["chains"] == {} and jingning["candidates"] == 0
    assert "与现有产业链均不匹配" in jingning["unmatched_reason"][0]
    assert "matches a chain" in jingning["unmatched_reason"][1]


def _check_constraints(doc: dict, cand) -> None:
    """Every constraint of the plan's options holds in ``doc`` (a stored plan) over ``cand``."""
    o = doc["options"]
    lo, hi = o["per_county"]
    k = o["max_counties"]
    assert doc["status"] == "optimal" and doc["problems"] == []
    feasible = {(c["adcode"], f["uscc"]) for i, c in enumerate(cand.counties) for j, f in enumerate(cand.firms)
                if cand.feasible[i, j]}
    firm_use: dict[str, int] = {}
    for c in doc["counties"]:
        if not c["included"]:
            assert c["unmatched_reason"] and c["pairs"] == []
            continue
        assert lo <= len(c["pairs"]) <= hi, c["name"]
        assert c["assigned"] == len(c["pairs"])
        for p in c["pairs"]:
            assert (c["adcode"], p["uscc"]) in feasible
            firm_use[p["uscc"]] = firm_use.get(p["uscc"], 0) + 1
        if o["distinct_industries"]:
            divisions = [p["division"] for p in c["pairs"]]
            assert len(set(divisions)) == len(divisions)
    assert firm_use and max(firm_use.values()) <= k
    assert doc["objective"] == pytest.approx(sum(p["score"] for p in doc["pairs"]), abs=1e-6)
    assert doc["summary"]["pairs"] == len(doc["pairs"]) and not doc["masked"]


@pytest.mark.parametrize("name", ["default", "distinct", "first", "bonus"])
def test_every_constraint_holds_in_the_stored_plan(world, store, name):
    doc = jp.plan_of(store, PROVINCE, world[3][name]["run_id"])
    assert doc == world[3][name]
    _check_constraints(doc, world[4])


def test_every_constraint_holds_on_the_demo_province(tmp_path):
    """The issue's check on the province `shanhai demo` builds (scale 0.1, seed 7), with the
    default options and with the optional rules."""
    from shanhai.cli.demo import DEMO_POLICY, DEMO_SCALE, DEMO_SEED
    from shanhai.jobs import mujun
    from shanhai.synth import SynthConfig, build

    path = tmp_path / "demo.duckdb"
    build(path, SynthConfig(scale=DEMO_SCALE, seed=DEMO_SEED))
    with open_store(path) as store:
        year = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]
        mujun.run(store, DEMO_POLICY, year, user="tests")
        cand = jp.candidates(store, PROVINCE)
        for options in ({}, {"distinct_industries": True, "max_counties": 1},
                        {"within_city_first": "first", "per_county": (1, 2)}):
            doc = jp.build_plan(store, PROVINCE, user="tests", **options)
            _check_constraints(jp.plan_of(store, PROVINCE, doc["run_id"]), cand)


def test_points_add_up_and_reasons_explain_them(world):
    doc = world[3]["bonus"]
    bonus = doc["options"]["within_city_bonus"]
    assert bonus > 0
    for p in doc["pairs"]:
        assert p["score"] == pytest.approx(sum(p["points"].values()), abs=1e-6)
        assert ("within_city" in p["points"]) == p["same_city"]
        if p["same_city"]:
            assert p["points"]["within_city"] == bonus
        assert len(p["reasons"]) == len(p["reasons_en"]) >= 4
        assert p["reasons"][0].startswith(("补链", "延链", "同链"))
        assert f"+{p['points']['chain_fit']:.1f}" in p["reasons"][0]
        assert any(f"{p['km']:.0f} 公里" in r for r in p["reasons"])
        assert p["partner"] == any(r.startswith("结对") for r in p["reasons"])


def test_chain_fit_agrees_with_the_panorama(world, store):
    doc = world[3]["default"]
    rules = jp.pairing_rules("default")
    for p in doc["pairs"][:12]:
        pan = jc.panorama(store, PROVINCE, p["county_adcode"], p["chain_id"])
        status = {s["segment_id"]: s for s in pan["segments"]}
        assert status[p["segment_id"]]["status"] == p["segment_status"]
        expected = {"gap": rules.chain_fit.gap, "adjacent": rules.chain_fit.adjacent, "other": rules.chain_fit.other}
        assert p["values"]["chain_fit"] == expected[p["fit_kind"]]
        assert (p["fit_kind"] == "gap") == (p["segment_status"] in ("missing", "weak"))
        if p["fit_kind"] == "adjacent":
            neighbour = next(s for s in pan["segments"] if s["name"] == p["neighbour"])
            assert neighbour["status"] in ("strong", "present")
            order = {"upstream": 0, "midstream": 1, "downstream": 2}
            assert abs(order[neighbour["stage"]] - order[p["stage"]]) == 1


def test_the_plan_is_optimal_lp_bound(world):
    """Without the optional rules the constraint matrix is totally unimodular: the LP relaxation's
    optimum is an upper bound that the integer plan must reach."""
    doc, cand = world[3]["default"], world[4]
    rows = np.array([i for i, c in enumerate(cand.counties) if not c["unmatched_reason"]])
    lo, hi = doc["options"]["per_county"]
    model = ap.build_model(cand.feasible[rows], np.full(len(rows), lo), np.full(len(rows), hi),
                           np.full(cand.shape[1], doc["options"]["max_counties"]))
    w = cand.scores[rows][model.ci, model.fj]
    relaxed = milp(-w, constraints=[LinearConstraint(model.A, model.lb, model.ub)], integrality=np.zeros(len(w)),
                   bounds=Bounds(0, 1))
    assert relaxed.status == 0
    assert doc["objective"] == pytest.approx(-relaxed.fun, abs=1e-6)


def test_within_city_first_takes_the_most_same_city_pairs(world):
    first, default = world[3]["first"], world[3]["default"]
    s = first["summary"]
    assert s["within_city_pairs"] == s["within_city_max"] >= default["summary"]["within_city_pairs"]
    assert first["objective"] <= default["objective"] + 1e-6
    assert sum(p["same_city"] for p in first["pairs"]) == s["within_city_pairs"]


def test_plans_are_runs_never_overwritten(world, store):
    plans = world[3]
    ids = [d["run_id"] for d in plans.values()]
    assert len(set(ids)) == len(ids)
    rows = store.con.execute(
        "SELECT run_id, kind, policy_name, policy_version, params::VARCHAR, inputs_fingerprint, created_by, status "
        f"FROM runs WHERE run_id IN ({', '.join(repr(i) for i in ids)})").fetchall()
    assert len(rows) == len(ids)
    by_id = {r[0]: r for r in rows}
    for name, doc in plans.items():
        _, kind, policy, version, params, fingerprint, by, status = by_id[doc["run_id"]]
        params = json.loads(params)
        assert (kind, policy, by) == ("pairing", "default", "tests") and version
        assert status == ("infeasible" if name == "strict" else "done")
        for key in ("region", "year", "run", "rules", "per_county", "max_counties", "distinct_industries",
                    "within_city_first", "within_city_bonus", "skip_unmatched", "counties"):
            assert key in params, key
        assert fingerprint == doc["basis"]["inputs_fingerprint"] and len(fingerprint) == 16
        kinds = dict(store.con.execute(
            f"SELECT entity_kind, count(*) FROM run_results WHERE run_id = '{doc['run_id']}' GROUP BY 1").fetchall())
        assert kinds.get("plan") == 1 and kinds.get("county") == 26 and kinds.get("pair", 0) == len(doc["pairs"])
    audited = store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'plan.pairing'").fetchone()[0]
    assert audited >= len(ids)
    listed = [p["run_id"] for p in jp.plans(store, PROVINCE)]
    assert set(ids) <= set(listed)
    assert jp.plan_of(store, PROVINCE)["run_id"] == listed[0]


def test_an_infeasible_plan_says_which_counties_and_why(world):
    doc = world[3]["strict"]
    assert doc["status"] == "infeasible" and doc["objective"] is None and doc["pairs"] == []
    kinds = {p["kind"] for p in doc["problems"]}
    assert kinds == {"no_candidates"}
    named = {c for p in doc["problems"] for c in p["counties"]}
    unmatched = {c["adcode"] for c in world[4].counties if c["unmatched_reason"]}
    assert named == unmatched and JINGNING in named
    jingning = next(p for p in doc["problems"] if p["counties"] == [JINGNING])
    assert "景宁" in jingning["zh"] and "没有任何可选企业" in jingning["zh"] and "与现有产业链均不匹配" in jingning["zh"]


def test_too_few_industries_is_diagnosed_before_solving(world):
    """温州: 永嘉's candidates (one chain) span fewer industry divisions than six, 平阳's and 苍南's more."""
    with open_store(world[0]) as store:
        doc = jp.build_plan(store, PROVINCE, region="330300", per_county=(6, 6), distinct_industries=True,
                            user="tests")
    assert doc["status"] == "infeasible" and doc["summary"]["variables"] == 0
    assert [(p["kind"], p["counties"]) for p in doc["problems"]] == [("too_few_groups", ["330324"])]
    assert "永嘉县" in doc["problems"][0]["zh"] and "industr" in doc["problems"][0]["en"]
    yongjia = next(c for c in doc["counties"] if c["adcode"] == "330324")
    assert yongjia["problems"] == [doc["problems"][0]["zh"]]


def test_a_region_without_a_pairable_county_is_stored_as_infeasible(world):
    with open_store(world[0]) as store:
        doc = jp.build_plan(store, PROVINCE, region=JINGNING, user="tests")
    assert doc["status"] == "infeasible" and doc["problems"][0]["kind"] == "no_counties"
    assert doc["counties"][0]["unmatched_reason"]


@pytest.mark.parametrize("kwargs, words", [
    ({"per_county": (2, 1)}, "min ≤ max"),
    ({"max_counties": 0}, "at least 1"),
    ({"within_city_first": "sometimes"}, "within_city_first must be"),
    ({"region": "330200"}, "no mountain county"),
    ({"rules": "nosuch"}, "unknown pairing rule set"),
])
def test_bad_options_are_refused(world, kwargs, words):
    with open_store(world[0]) as store:
        before = store.con.execute("SELECT count(*) FROM runs WHERE kind = 'pairing'").fetchone()[0]
        with pytest.raises(ShanhaiError, match=words):
            jp.build_plan(store, PROVINCE, user="tests", **kwargs)
        assert store.con.execute("SELECT count(*) FROM runs WHERE kind = 'pairing'").fetchone()[0] == before


# ---- scope -----------------------------------------------------------------------------------

def _county_with_pairs(doc) -> tuple[str, str]:
    c = next(c for c in doc["counties"] if c["pairs"])
    return c["adcode"], c["city_adcode"]


def test_a_county_sees_its_own_pairs_with_outside_firms_masked(world, store):
    doc = world[3]["default"]
    county, _ = _county_with_pairs(doc)
    scope = Scope.of(store, county)
    mine = jp.plan_of(store, scope, doc["run_id"])
    assert [c["adcode"] for c in mine["counties"]] == [county]
    assert {p["county_adcode"] for p in mine["pairs"]} == {county}
    assert mine["objective"] == doc["objective"]
    assert mine["objective_visible"] == pytest.approx(sum(p["score"] for p in mine["pairs"]))
    assert not mine["complete"] and mine["counties_total"] == 26
    text = json.dumps(mine, ensure_ascii=False)
    full = {p["uscc"]: p["name"] for p in doc["pairs"]}
    for p in mine["pairs"]:
        assert p["masked"]            # every firm is in a developed county, outside a mountain county's scope
        assert p["uscc"] is None and p["name"] == jp.MASKED_NAME[0] and p["revenue"] is None
        assert p["size_band"] and p["firm_county_name"] and p["division"]
    for uscc, name in full.items():
        assert uscc not in text and name not in text


def test_a_city_sees_its_own_firms_by_name(world, store):
    doc = world[3]["default"]
    # a city with a mountain county paired with a firm of the same city
    pair = next((p for p in doc["pairs"] if p["same_city"]), None)
    assert pair is not None
    city = Scope.of(store, pair["county_adcode"][:4] + "00")
    seen = jp.plan_of(store, city, doc["run_id"])
    assert {p["county_adcode"][:4] for p in seen["pairs"]} == {pair["county_adcode"][:4]}
    same = [p for p in seen["pairs"] if p["same_city"]]
    assert same and all(not p["masked"] and p["uscc"] and p["name"] != jp.MASKED_NAME[0] for p in same)
    assert all(p["masked"] for p in seen["pairs"] if not city.covers(p["firm_county_adcode"]))


def test_outside_the_plan_is_403_and_unknown_is_404(world, store):
    doc = world[3]["default"]
    with pytest.raises(OutOfScopeError):
        jp.plan_of(store, Scope.of(store, "330102"), doc["run_id"])          # 上城区: no mountain county
    with pytest.raises(NotFoundError):
        jp.plan_of(store, PROVINCE, "pairing-19990101T000000-000000")
    with pytest.raises(NotFoundError):
        jp.plan_of(store, PROVINCE, world[2])                               # a per-mu run is not a plan
    assert jp.plans(store, Scope.of(store, "330102")) == []
    wenzhou = jp.plans(store, Scope.of(store, "330300"))
    assert wenzhou and all(p["visible_counties"] <= p["counties"] for p in wenzhou)


def test_the_workbook_keeps_masked_firms_masked(world, store):
    import io
    import zipfile

    from shanhai.reports.pairing_excel import plan_workbook

    doc = world[3]["default"]
    county, _ = _county_with_pairs(doc)
    data = plan_workbook(jp.plan_of(store, Scope.of(store, county), doc["run_id"]))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        text = "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xml"))
    assert "结对方案" in text and "县域汇总" in text and "说明" in text
    for p in doc["pairs"]:
        assert p["uscc"] not in text and p["name"] not in text
    full = plan_workbook(doc)
    with zipfile.ZipFile(io.BytesIO(full)) as z:
        text = "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xml"))
    assert doc["pairs"][0]["name"] in text
