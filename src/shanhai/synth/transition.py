"""The synthetic province's 腾笼换鸟 ledger: remediation actions and allocations of freed quota, so
the demo's ``/transition`` page and ``shanhai carbon ledger`` have a register to show. One step of
``generator.generate`` (``generate(rng, config, tables, geo, dataset)``), deterministic for its
own random stream; the amounts follow the packaged ``default`` ledger rules exactly as
:mod:`shanhai.jobs.transition` computes them (the same ``analysis.transition.calc_freed``).

Modelling choices: every firm that closed inside the synthetic years gets a done ``close`` action
on its closing date (planned half a year earlier); about 3 % of the other firms get a
``remediate`` or ``eliminate`` action in a random year, two thirds of them done, the rest planned
or in progress. Projects signed from 2021 on ask, in signing order, for energy at an intensity
drawn around 0.35 tce/万元 (value added ≈ 30 % of planned investment, capped at the county's
available quota): those that pass the threshold of their date and fit the balance get energy and
carbon (2.4 t CO2 per tce) — the rest are not allocated, as the job would refuse them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shanhai.analysis import transition as at
from shanhai.policy._transition import ledger_rules

TABLES = ("remediation_actions", "quota_allocations")
ACTION_SHARE = 0.03
CO2_PER_TCE = 2.4

_ACTIONS = pa.schema([
    ("action_id", pa.string()), ("uscc", pa.string()), ("kind", pa.string()), ("action_date", pa.date32()),
    ("freed_land_mu", pa.decimal128(14, 4)), ("freed_energy_tce", pa.float64()), ("freed_co2_t", pa.float64()),
    ("dataset_id", pa.string()), ("county_adcode", pa.string()), ("status", pa.string()), ("planned_on", pa.date32()),
    ("done_on", pa.date32()), ("credit_year", pa.int32()), ("figures_year", pa.int32()), ("basis", pa.string()),
    ("rule_set", pa.string()), ("rule_version", pa.string()), ("measured", pa.bool_()), ("source", pa.string()),
    ("note", pa.string()), ("created_by", pa.string())])
_ALLOCS = pa.schema([
    ("allocation_id", pa.string()), ("project_id", pa.string()), ("quota_kind", pa.string()), ("amount", pa.float64()),
    ("allocated_on", pa.date32()), ("dataset_id", pa.string()), ("county_adcode", pa.string()),
    ("credit_year", pa.int32()), ("basis", pa.string()), ("project_energy_tce", pa.float64()),
    ("project_value_added", pa.decimal128(18, 4)), ("project_intensity", pa.float64()), ("threshold", pa.float64()),
    ("threshold_inclusive", pa.bool_()), ("check_result", pa.string()), ("rule_set", pa.string()),
    ("rule_version", pa.string()), ("created_by", pa.string())])


def _last_year(facts: dict[str, dict[int, dict]], uscc: str, year: int) -> tuple[int | None, dict | None]:
    years = sorted(y for y in facts.get(uscc, {}) if y < year) or sorted(y for y in facts.get(uscc, {}) if y <= year)
    return (years[-1], facts[uscc][years[-1]]) if years else (None, None)


def generate(rng: np.random.Generator, config, tables: dict[str, pa.Table], geo, dataset: str) -> dict[str, pa.Table]:
    """The step (module docstring): returns ``remediation_actions`` and ``quota_allocations``."""
    r = ledger_rules("default")
    f = r.factors
    first, last = dt.date(config.years[0], 1, 1), dt.date(config.years[-1], 12, 31)
    firms = sorted(tables["enterprises"].to_pylist(), key=lambda e: e["uscc"])
    planned: list[tuple] = []
    for e in firms:
        closed = e.get("closed_on")
        if e.get("status") == "closed" and closed is not None and first <= closed <= last:
            planned.append((e, "close", closed - dt.timedelta(days=182), "done", closed))
        elif rng.random() < ACTION_SHARE:
            kind = "remediate" if rng.random() < 0.7 else "eliminate"
            year = int(rng.choice(config.years))
            day = dt.date(year, int(rng.integers(1, 13)), 15)
            state = rng.choice(["done", "done", "done", "done", "in_progress", "planned"])
            planned.append((e, kind, day - dt.timedelta(days=120), str(state),
                            day if state == "done" else None))
    ey = tables["enterprise_years"]
    wanted = pa.array(sorted({e["uscc"] for e, *_ in planned}), pa.string())
    ey = ey.filter(pc.is_in(ey.column("uscc"), value_set=wanted)).to_pylist()
    facts: dict[str, dict[int, dict]] = defaultdict(dict)
    for row in ey:
        land = sum(float(row.get(k) or 0) * s for k, s in (("land_own_mu", 1), ("land_leased_mu", 1),
                                                          ("land_leased_out_mu", -1)))
        facts[row["uscc"]][int(row["year"])] = {"land": land, "energy": row.get("energy_tce"),
                                                "kwh": row.get("electricity_kwh")}
    rows, counter = [], defaultdict(int)
    available: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"energy": Decimal(0), "carbon": Decimal(0)})
    credits: list[tuple[dt.date, str, Decimal, Decimal]] = []
    for e, kind, planned_on, state, done_on in planned:
        county = e["county_adcode"]
        counter[county] += 1
        row = {"action_id": f"TL{county}-{counter[county]:05d}", "uscc": e["uscc"], "kind": kind,
               "action_date": planned_on, "freed_land_mu": None, "freed_energy_tce": None, "freed_co2_t": None,
               "dataset_id": dataset, "county_adcode": county, "status": state, "planned_on": planned_on,
               "done_on": done_on, "credit_year": None, "figures_year": None, "basis": r.basis, "rule_set": r.name,
               "rule_version": r.version, "measured": False, "source": "synthetic", "note": None,
               "created_by": "synth"}
        if done_on is not None:
            fy, x = _last_year(facts, e["uscc"], done_on.year)
            if x is None:
                row.update(status="planned", done_on=None)
            else:
                k = r.kinds[kind]
                freed = at.calc_freed(x["land"], x["energy"], x["kwh"], land_share=k.land_share,
                                      energy_share=k.energy_share, co2_share=k.co2_share, basis=r.basis,
                                      grid_kg_per_kwh=f.grid_co2_kg_per_kwh, other_tce_per_unit=f.other_tce_per_unit,
                                      other_co2_per_unit=f.other_co2_t_per_unit,
                                      calorific=f.electricity_calorific_kgce_per_kwh, coal=f.coal_coefficient(fy))
                row.update(freed_land_mu=freed.land_mu, freed_energy_tce=float(freed.energy_tce),
                           freed_co2_t=float(freed.co2_t), credit_year=done_on.year, figures_year=fy)
                credits.append((done_on, county, freed.energy_tce, freed.co2_t))
        rows.append(row)
    credits.sort(key=lambda c: c[0])
    projects = sorted((p for p in tables["projects"].to_pylist()
                       if p.get("signed_on") is not None and dt.date(2021, 1, 1) <= p["signed_on"] <= last),
                      key=lambda p: (p["signed_on"], p["project_id"]))
    allocs, ci = [], 0
    for p in projects:
        day, county = p["signed_on"], p["landing_adcode"]
        while ci < len(credits) and credits[ci][0] <= day:
            _, c, en, co = credits[ci]
            available[c]["energy"] += en
            available[c]["carbon"] += co
            ci += 1
        have = available[county]["energy"]
        if have <= 0 or rng.random() < 0.4:
            continue
        va = at.d4(float(p.get("planned_investment") or 0) * 0.3)
        if va <= 0:
            continue
        intensity = float(rng.lognormal(np.log(0.35), 0.35))
        energy = at.d4(min(float(va) * intensity, float(have) * 0.5))
        carbon = at.d4(float(energy) * CO2_PER_TCE)
        t = r.threshold_on(day)
        actual = at.calc_intensity(float(energy), va)
        if energy <= 0 or not at.calc_admit(actual, t.value, r.inclusive) or carbon > available[county]["carbon"]:
            continue
        available[county]["energy"] -= energy
        available[county]["carbon"] -= carbon
        text = f"能耗强度 intensity {actual:.5f} tce/万元 ≤ {t.value:.2f} ({t.label}, {t.valid_from} 起, 含等于 inclusive)"
        for kind, amount in (("energy", energy), ("carbon", carbon)):
            allocs.append({"allocation_id": f"QA{county}-synth-{p['project_id']}-{kind[0]}", "project_id": p["project_id"],
                           "quota_kind": kind, "amount": float(amount), "allocated_on": day, "dataset_id": dataset,
                           "county_adcode": county, "credit_year": day.year, "basis": r.basis,
                           "project_energy_tce": float(energy), "project_value_added": va,
                           "project_intensity": round(actual, 6), "threshold": t.value, "threshold_inclusive": r.inclusive,
                           "check_result": text, "rule_set": r.name, "rule_version": r.version, "created_by": "synth"})
    return {"remediation_actions": pa.Table.from_pylist(rows, schema=_ACTIONS),
            "quota_allocations": pa.Table.from_pylist(allocs, schema=_ALLOCS)}
