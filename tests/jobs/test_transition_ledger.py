"""The 腾笼换鸟 ledger in the store (jobs.transition): golden case G of energy_carbon.md §8, seeding
from the per-mu C/D lists, status moves, refusals that change nothing, one basis per ledger, region
scope, and the balance property (freed = allocated + available per county and province)."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shanhai.errors import ShanhaiError
from shanhai.jobs import transition as jt
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import values

PROVINCE = Scope.province()
C_USCC = "91330602TLGOLDENC1"


@pytest.fixture()
def synthetic(small_evaluated, tmp_path):
    """A copy of the small province with its synthetic ledger."""
    path = tmp_path / "ledger.duckdb"
    shutil.copy(small_evaluated[0], path)
    with open_store(path) as s:
        yield s


@pytest.fixture()
def store(synthetic):
    """The same with an empty ledger (the golden case and the counts need a clean county)."""
    synthetic.con.execute("DELETE FROM quota_allocations")
    synthetic.con.execute("DELETE FROM remediation_actions")
    return synthetic


def test_synthetic_ledger_is_what_the_job_computes(synthetic):
    """The demo's ledger balances, and its done actions free what the job's rules compute."""
    b = jt.balances(synthetic, PROVINCE)
    assert b["balanced"] and b["basis"] == "equivalent_calorific" and b["total"]["actions_done"] > 0
    assert all(r[k]["available"] >= 0 for r in b["counties"] for k in ("land", "energy", "carbon"))
    rows = jt.register(synthetic, PROVINCE, status="done", limit=25)["actions"]
    rules = jt._rules("default")
    for a in rows:
        c = jt._credit(synthetic, a, a["done_on"], rules)
        assert (float(c["energy"]), float(c["carbon"]), float(c["land"])) == (
            a["freed_energy_tce"], a["freed_co2_t"], a["freed_land_mu"]), a["action_id"]
        assert c["figures_year"] == a["figures_year"]
    bad = synthetic.con.execute("SELECT count(*) FROM quota_allocations WHERE project_intensity > threshold").fetchone()[0]
    assert bad == 0


def _county(store) -> str:
    return store.con.execute("SELECT county_adcode FROM enterprises GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]


def _golden_county(store) -> str:
    """A county with firm C (coal 20,000 t + 30,000,000 kWh in 2022 → 17,973 tce 当量值) and projects P1–P3."""
    county = _county(store)
    con = store.con
    con.execute(f"INSERT INTO enterprises (uscc, name, county_adcode, industry_code) VALUES "
                f"({values(C_USCC, '丙化纤（黄金案例G）', county, '2822')})")
    con.execute("INSERT INTO enterprise_years (uscc, year, above_scale, value_added, land_own_mu, energy_tce, "
                f"electricity_kwh) VALUES ({values(C_USCC, 2022, True, Decimal('12000'), Decimal('80'), 17973.0, 30_000_000.0)})")
    for pid in ("TLP1", "TLP2", "TLP3"):
        con.execute("INSERT INTO projects (project_id, name, landing_adcode, stage) VALUES "
                    f"({values(pid, '项目' + pid, county, 'signed')})")
    return county


def test_a_synced_coal_equivalent_figure_is_not_counted_twice(store):
    """After `carbon sync-energy` (等价值 by default) energy_tce holds firm C's 等价值; the ledger reads
    the 当量值 the sync kept beside it, so golden case G frees the same 17,973 tce and 54,104 t CO2
    (read as 当量值, 等价值's electricity uplift would be counted as burnt coal: more CO2)."""
    _golden_county(store)
    coal_equivalent = 17973.0 + 30_000_000 * (0.2825 - 0.1229) / 1000      # any 等价值 coefficient will do
    store.con.execute(f"UPDATE enterprise_years SET energy_tce = {coal_equivalent}, energy_basis = 'equivalent_coal', "
                      f"energy_tce_calorific = 17973.0 WHERE uscc = '{C_USCC}'")
    a = jt.add_action(store, PROVINCE, C_USCC, "close", status="done", done_on="2023-03-01", user="tests")
    assert (a["freed_energy_tce"], a["freed_co2_t"]) == (17973.0, 54104.0)
    # an imported figure (no basis) is the 当量值 itself
    store.con.execute(f"UPDATE enterprise_years SET energy_basis = NULL, energy_tce_calorific = NULL "
                      f"WHERE uscc = '{C_USCC}'")
    b = jt._credit(store, {"uscc": C_USCC, "action_id": a["action_id"], "kind": "close"}, dt.date(2023, 3, 1),
                   jt._rules("default"))
    assert float(b["energy"]) == round(coal_equivalent, 4) and float(b["carbon"]) > 54104.0


def test_a_back_dated_allocation_cannot_use_quota_freed_later(store):
    """Quota is credited by year: firm C's closure in 2024 frees nothing a 2023 project may take, and
    a 2023 allocation may not take what a 2025 one already holds."""
    _golden_county(store)
    jt.add_action(store, PROVINCE, C_USCC, "close", status="done", done_on="2024-03-01", user="tests")
    with pytest.raises(ShanhaiError, match="dated 2023-06-01"):
        jt.allocate(store, PROVINCE, "TLP1", energy_tce=100, value_added=30000, on="2023-06-01")
    assert store.con.execute("SELECT count(*) FROM quota_allocations").fetchone()[0] == 0
    jt.allocate(store, PROVINCE, "TLP1", energy_tce=17000, value_added=60000, on="2025-02-01")
    # 973 tce are left at the end of 2024 and of 2025: a 2024 project may take them, not more
    with pytest.raises(ShanhaiError, match="available 973"):
        jt.allocate(store, PROVINCE, "TLP2", energy_tce=1000, value_added=30000, on="2024-06-01")
    got = jt.allocate(store, PROVINCE, "TLP2", energy_tce=973, value_added=30000, on="2024-06-01")
    assert got["available_after"]["energy"] == 0
    assert jt.balances(store, PROVINCE)["balanced"]


def test_golden_case_g(store):
    county = _golden_county(store)
    a = jt.add_action(store, PROVINCE, C_USCC, "close", status="done", done_on="2023-03-01", user="tests")
    assert (a["freed_energy_tce"], a["freed_co2_t"], a["figures_year"], a["credit_year"]) == (17973.0, 54104.0, 2022, 2023)
    assert a["county_adcode"] == county and a["basis"] == "equivalent_calorific"
    # P1: 50,000,000 kWh + 2,000,000 m³ gas = 8,573.6 tce, 31,154.4 t; VA 30,000 → 0.28579 ≤ 0.52
    got = jt.allocate(store, PROVINCE, "TLP1", energy_tce=8573.6, co2_t=31154.4, value_added=30000, on="2024-05-01",
                      user="tests")
    assert round(got["check"]["intensity"], 5) == 0.28579 and got["check"]["admitted"]
    assert got["available_after"]["energy"] == Decimal("9399.4") and got["available_after"]["carbon"] == Decimal("22949.6")
    b = jt.balances(store, PROVINCE, county)
    assert b["total"]["energy"] == {"freed": Decimal("17973"), "allocated": Decimal("8573.6"),
                                    "available": Decimal("9399.4")}
    assert b["balanced"]
    # P2: 6,000 tce on VA 10,000 = 0.60 > 0.52 → refused, nothing written
    before = store.con.execute("SELECT count(*) FROM quota_allocations").fetchone()[0]
    with pytest.raises(ShanhaiError, match="0.60000 tce/万元 > 0.52"):
        jt.allocate(store, PROVINCE, "TLP2", energy_tce=6000, value_added=10000, on="2024-05-01")
    assert store.con.execute("SELECT count(*) FROM quota_allocations").fetchone()[0] == before
    # ... but it passes the 13th-FYP 0.60 line when inclusive (dated before 2021)
    assert jt.check_project(6000, 10000, dt.date(2020, 6, 1), jt._rules("default"))["admitted"]
    assert not jt.check_project(6000, 10000, dt.date(2020, 6, 1), jt._rules("default").with_inclusive(False))["admitted"]
    # P3 at exactly 0.52: refused when exclusive, admitted when inclusive
    with pytest.raises(ShanhaiError, match="0.52000 tce/万元 ≥ 0.52"):
        jt.allocate(store, PROVINCE, "TLP3", energy_tce=5200, value_added=10000, on="2024-05-01", inclusive=False)
    got = jt.allocate(store, PROVINCE, "TLP3", energy_tce=5200, value_added=10000, on="2024-05-01", inclusive=True)
    assert got["available_after"]["energy"] == Decimal("4199.4")
    # no quota twice; over the balance refused
    with pytest.raises(ShanhaiError, match="already holds energy"):
        jt.allocate(store, PROVINCE, "TLP3", energy_tce=100, value_added=10000, on="2024-05-01")
    store.con.execute(f"INSERT INTO projects (project_id, name, landing_adcode, stage) VALUES "
                      f"({values('TLP4', '项目4', county, 'signed')})")
    with pytest.raises(ShanhaiError, match="over the balance"):
        jt.allocate(store, PROVINCE, "TLP4", energy_tce=4199.5, value_added=10000, on="2024-05-01")
    assert jt.balances(store, PROVINCE)["balanced"]


def test_basis_never_mixed_and_warning(store):
    _golden_county(store)
    jt.add_action(store, PROVINCE, C_USCC, "close", status="done", done_on="2023-03-01")
    with pytest.raises(ShanhaiError, match="never mix bases"):
        jt.allocate(store, PROVINCE, "TLP1", energy_tce=10, value_added=100, on="2024-01-01", rules="coal")
    assert jt.basis(store, "coal")["warning"] and jt.basis(store)["warning"] is None


def test_coal_basis_ledger(store):
    _golden_county(store)
    a = jt.add_action(store, PROVINCE, C_USCC, "close", status="done", done_on="2023-03-01", rules="coal")
    # 14,286 + 30,000,000 kWh × 0.3010 kgce/kWh (2022 coefficient, a Shanhai parameter) = 23,316
    assert a["freed_energy_tce"] == pytest.approx(14286 + 30_000_000 * 0.3010 / 1000) and a["basis"] == "equivalent_coal"


def test_seed_from_mujun_and_status(store, small_evaluated):
    _, year, run_id = small_evaluated
    doc = jt.seed_from_mujun(store, PROVINCE, run_id, user="tests")
    cd = store.con.execute(f"SELECT count(*) FROM mujun_results WHERE run_id = '{run_id}' AND class IN ('C', 'D')").fetchone()[0]
    assert doc["added"] == cd > 0 and doc["skipped"] == 0
    assert set(doc["by_class"]) <= {"C", "D"}
    again = jt.seed_from_mujun(store, PROVINCE, run_id)
    assert again["added"] == 0 and again["skipped"] == cd
    reg = jt.register(store, PROVINCE, status="planned", limit=5)
    assert reg["total"] == cd and len(reg["actions"]) == 5
    first = reg["actions"][0]
    assert first["kind"] == {"C": "remediate", "D": "eliminate"}[first["mujun_class"]]
    done = jt.set_status(store, PROVINCE, first["action_id"], "done", on=f"{year + 1}-06-30")
    assert done["status"] == "done" and done["credit_year"] == year + 1 and done["figures_year"] == year
    with pytest.raises(ShanhaiError, match="can move to none"):
        jt.set_status(store, PROVINCE, first["action_id"], "cancelled")
    assert store.con.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'transition_%'").fetchone()[0] >= 3


def test_scope(store, small_evaluated):
    _, _, run_id = small_evaluated
    county = _county(store)
    other = store.con.execute(f"SELECT county_adcode FROM enterprises WHERE county_adcode <> '{county}' LIMIT 1").fetchone()[0]
    mine = Scope.of(store, county)
    doc = jt.seed_from_mujun(store, mine, run_id)
    assert store.con.execute(f"SELECT count(*) FROM remediation_actions WHERE county_adcode <> '{county}'").fetchone()[0] == 0
    assert doc["added"] >= 0
    jt.seed_from_mujun(store, PROVINCE, run_id)
    assert {a["county_adcode"] for a in jt.register(store, mine)["actions"]} <= {county}
    with pytest.raises(OutOfScopeError):
        jt.register(store, mine, other)
    theirs = store.con.execute(f"SELECT action_id FROM remediation_actions WHERE county_adcode = '{other}' LIMIT 1").fetchone()
    if theirs:
        with pytest.raises(OutOfScopeError):
            jt.set_status(store, mine, theirs[0], "done", on="2030-01-01")
    firm = store.con.execute(f"SELECT uscc FROM enterprises WHERE county_adcode = '{other}' LIMIT 1").fetchone()[0]
    with pytest.raises(OutOfScopeError):
        jt.add_action(store, mine, firm, "close")


def test_progress_against_targets(store):
    _golden_county(store)
    jt.add_action(store, PROVINCE, C_USCC, "close", status="done", done_on="2023-03-01")
    p = jt.progress(store, PROVINCE)
    prov = next(t for t in p["targets"] if t["target_region"] == "330000")
    items = {i["field"]: i for i in prov["items"]}
    assert items["firms_eliminated"]["target"] == 5000 and items["land_mu"]["target"] == 150000
    assert items["energy_tce"]["achieved"] == Decimal("17973") and items["co2_t"]["target"] == 10_000_000
    assert {t["target_region"] for t in p["targets"]} == {"330000", "330600"}
    s = jt.summary(store, PROVINCE)
    assert s["balance"]["energy"]["freed"] == 17973.0 and s["progress"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["act", "alloc"]), st.integers(0, 10**6), st.floats(1, 5000),
                          st.floats(1000, 20000)), min_size=1, max_size=6))
def test_ledger_always_balances(store, steps):
    """After any sequence of completed actions and allocations the ledger balances per county and for
    the province, available never goes below 0, and a refused allocation changes nothing."""
    con = store.con
    firms = [r[0] for r in con.execute("SELECT uscc FROM enterprises e WHERE EXISTS (SELECT 1 FROM enterprise_years y "
                                       "WHERE y.uscc = e.uscc) ORDER BY uscc LIMIT 40").fetchall()]
    projects = [r[0] for r in con.execute("SELECT project_id FROM projects ORDER BY project_id LIMIT 40").fetchall()]
    for op, pick, energy, va in steps:
        if op == "act":
            jt.add_action(store, PROVINCE, firms[pick % len(firms)], ["close", "eliminate", "remediate", "relocate"][pick % 4],
                          status="done", done_on="2024-06-30")
        else:
            before = con.execute("SELECT count(*), coalesce(sum(amount), 0) FROM quota_allocations").fetchone()
            try:
                jt.allocate(store, PROVINCE, projects[pick % len(projects)], energy_tce=energy, value_added=va,
                            co2_t=energy * 2, on="2024-07-01")
            except ShanhaiError:
                assert con.execute("SELECT count(*), coalesce(sum(amount), 0) FROM quota_allocations").fetchone() == before
        b = jt.balances(store, PROVINCE)
        assert b["balanced"]
        for row in [*b["counties"], b["total"]]:
            for k in ("land", "energy", "carbon"):
                assert row[k]["freed"] == row[k]["allocated"] + row[k]["available"] and row[k]["available"] >= 0
        dup = con.execute("SELECT count(*) FROM (SELECT project_id, quota_kind FROM quota_allocations "
                          "GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
        assert dup == 0
