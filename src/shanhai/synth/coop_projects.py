"""The synthetic province's leads, lead transfers, project plans and sharing schedules, and the
供地 (land supplied) events of its projects — one step of ``generator.generate``, after the
projects (``generate(rng, config, tables, geo, dataset)`` reads ``tables['projects']`` and
``tables['project_events']``, appends land-supplied events to the latter and returns the new
tables). Deterministic for the step's own random stream.

- plans: every project's planned date per stage (the generator's mid-point durations after
  signing, so the planned full output is its ``expected_full_output``) and cumulative planned
  investment (5 % at land supply, 15 % at the start … 100 % at full output);
- land supplied: between signing and the start for every started project, and for half of
  those still only signed;
- leads: at least one found by every county (ids ``LD<adcode><nnn>``, so every county has
  ``LD<adcode>001``), industries drawn from other counties' lead industries, about one in seven
  above the 0.52 tce/万元 energy limit; a lead behind each project first contacted by one county
  and landed in another (transferred to it, ``landed``) and behind half the cooperation projects;
  a quarter of the other leads passed on to another county (``transferred``), a tenth dropped;
- sharing: the cooperation projects' schedules with their partner (the first-contact county),
  from the year they start producing (planned, while they do not): most the default of
  ``policy.sharing_rules`` written out, some their own (60/40 for five years, then 80/20), the
  rest left to the default.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from shanhai import reference
from shanhai.policy._coop_projects import sharing_rules
from shanhai.synth.params import divisions

TABLES = ("leads", "lead_transfers", "project_plans", "project_shares")
# planned days after the stage before (the generator's mid-point durations); land supply: after signing
PLAN_DAYS = (("started", 165), ("completed", 390), ("producing", 60), ("above_scale", 360), ("full_output", 547))
LAND_DAYS = 60
FRACTIONS = {"signed": 0.0, "land_supplied": 0.05, "started": 0.15, "completed": 0.7, "producing": 0.85,
             "above_scale": 0.95, "full_output": 1.0}
KINDS = ("新建", "扩建", "技改", "总部及研发")

_SCHEMAS = {
    "leads": pa.schema([("lead_id", pa.string()), ("name", pa.string()), ("industry_code", pa.string()),
                        ("chain_id", pa.string()), ("investment", pa.float64()), ("land_mu", pa.float64()),
                        ("energy_tce", pa.float64()), ("energy_per_va", pa.float64()), ("jobs", pa.int32()),
                        ("found_by_adcode", pa.string()), ("found_on", pa.date32()), ("status", pa.string()),
                        ("note", pa.string()), ("dataset_id", pa.string())]),
    "lead_transfers": pa.schema([("lead_id", pa.string()), ("from_adcode", pa.string()), ("to_adcode", pa.string()),
                                 ("transferred_on", pa.date32()), ("project_id", pa.string()), ("note", pa.string()),
                                 ("created_by", pa.string()), ("dataset_id", pa.string())]),
    "project_plans": pa.schema([("project_id", pa.string()), ("stage", pa.string()), ("planned_date", pa.date32()),
                                ("planned_investment", pa.float64()), ("dataset_id", pa.string())]),
    "project_shares": pa.schema([("project_id", pa.string()), ("from_year", pa.int32()), ("to_year", pa.int32()),
                                 ("landing_share", pa.float64()), ("partner_adcode", pa.string()),
                                 ("partner_share", pa.float64()), ("dataset_id", pa.string())]),
}


def _chain_of() -> dict[str, str]:
    out: dict[str, str] = {}
    for chain in reference.chains():
        for segment in chain.segments:
            for code in segment.codes:
                for cls in reference.classes_under(code):
                    out.setdefault(cls, chain.chain_id)
    return out


def _day(d: date, days: int) -> date:
    return d + timedelta(days=int(days))


def generate(rng: np.random.Generator, config, tables: dict[str, pa.Table], geo, dataset: str) -> dict[str, pa.Table]:
    """The step (module docstring): appends land-supplied events to ``tables['project_events']``
    and returns the tables of ``TABLES``."""
    years = config.years
    end = date(years[-1], 12, 31)
    projects = tables["projects"].to_pylist()
    events = tables["project_events"].to_pylist()
    by_project: dict[str, dict[str, dict]] = {}
    for e in events:
        by_project.setdefault(e["project_id"], {})[e["stage"]] = e
    D = divisions()
    chain_of = _chain_of()
    adcodes = [str(a) for a in geo.adcodes]
    weight = np.asarray(geo.weight, float) / float(np.sum(geo.weight))
    mountain = [i for i, g in enumerate(geo.group) if g > 0]

    # ---- plans and land supplied ----------------------------------------------------------------
    plans, land_events = [], []
    for p in projects:
        signed, amount = p["signed_on"], float(p["planned_investment"])
        dates = {"signed": signed, "land_supplied": _day(signed, LAND_DAYS)}
        current = signed
        for stage, days in PLAN_DAYS:
            current = _day(current, days)
            dates[stage] = current
        for stage, when in dates.items():
            plans.append({"project_id": p["project_id"], "stage": stage, "planned_date": when,
                          "planned_investment": round(amount * FRACTIONS[stage], 4), "dataset_id": dataset})
        reached = by_project.get(p["project_id"], {})
        u, f = float(rng.random()), float(rng.uniform(0.8, 1.0))
        when = None
        if "started" in reached:
            span = (reached["started"]["event_date"] - signed).days
            when = _day(signed, max(1, round(span * (0.3 + 0.5 * u))))
        elif (end - signed).days > 90 and u < 0.5:
            when = _day(signed, 30 + round(((end - signed).days - 30) * u))
        if when is not None and when <= end:
            land_events.append({"project_id": p["project_id"], "stage": "land_supplied", "event_date": when,
                                "invested": round(amount * FRACTIONS["land_supplied"] * f, 4), "output": None,
                                "note": None, "dataset_id": dataset})
    schema = tables["project_events"].schema
    extra = [{k: e.get(k) for k in schema.names} for e in land_events]
    tables["project_events"] = pa.Table.from_pylist(events + extra, schema=schema)

    # ---- leads and transfers ----------------------------------------------------------------------
    seq: dict[str, int] = {}
    leads, transfers = [], []

    def new_lead(finder: str, code: str, investment: float, found_on: date, status: str,
                 energy_cap: float | None = None) -> dict:
        seq[finder] = seq.get(finder, 0) + 1
        word = D.short_names[D.index(code)]
        e = float(np.exp(rng.normal(np.log(0.32), 0.45)))
        if energy_cap is not None:
            e = min(e, energy_cap)
        row = {"lead_id": f"LD{finder}{seq[finder]:03d}",
               "name": f"{word}{KINDS[int(rng.integers(0, len(KINDS)))]}项目（线索）",
               "industry_code": code, "chain_id": chain_of.get(code), "investment": round(investment, 4),
               "land_mu": round(investment / float(rng.uniform(150, 450)), 4),
               "energy_tce": round(e * investment * 0.25, 2), "energy_per_va": round(e, 4),
               "jobs": int(investment / float(rng.uniform(60, 160))), "found_by_adcode": finder,
               "found_on": found_on, "status": status, "note": None, "dataset_id": dataset}
        leads.append(row)
        return row

    def random_code() -> str:
        k = int(rng.choice(len(adcodes), p=weight))
        options = geo.lead_classes[k]
        if options:
            classes = options[int(rng.integers(0, len(options)))]
            if classes:
                return str(classes[int(rng.integers(0, len(classes)))])
        codes = [p["industry_code"] for p in projects] or ["3484"]
        return str(codes[int(rng.integers(0, len(codes)))])

    window = (end - date(years[0] - 1, 1, 1)).days
    for p in projects:
        first, landing = p["first_contact_adcode"], p["landing_adcode"]
        if first == landing or (p["is_cooperation"] and rng.random() >= 0.5):
            continue
        signed = p["signed_on"]
        lead = new_lead(first, p["industry_code"], float(p["planned_investment"]),
                        _day(signed, -int(rng.integers(60, 240))), "landed", energy_cap=0.5)
        transfers.append({"lead_id": lead["lead_id"], "from_adcode": first, "to_adcode": landing,
                          "transferred_on": _day(signed, -int(rng.integers(15, 60))), "project_id": p["project_id"],
                          "note": "山海协作结对推介" if p["is_cooperation"] else "首谈地不具备落地条件，流转落地",
                          "created_by": "synth", "dataset_id": dataset})
    finders = list(range(len(adcodes))) + [int(k) for k in rng.choice(
        len(adcodes), size=max(10, round(120 * np.sqrt(config.scale))), p=weight)]
    for k in finders:
        finder = adcodes[k]
        found_on = _day(date(years[0] - 1, 1, 1), int(rng.integers(0, window - 30)))
        investment = float(np.exp(rng.normal(np.log(15_000), 0.8)))
        u = float(rng.random())
        status = "transferred" if u < 0.25 else "dropped" if u < 0.35 else "open"
        lead = new_lead(finder, random_code(), investment, found_on, status)
        if status == "transferred":
            pool = mountain if mountain and rng.random() < 0.5 else list(range(len(adcodes)))
            to = adcodes[int(pool[int(rng.integers(0, len(pool)))])]
            while to == finder:
                to = adcodes[int(rng.integers(0, len(adcodes)))]
            when = min(end, _day(found_on, int(rng.integers(20, 200))))
            transfers.append({"lead_id": lead["lead_id"], "from_adcode": finder, "to_adcode": to,
                              "transferred_on": when, "project_id": None, "note": None, "created_by": "synth",
                              "dataset_id": dataset})

    # ---- sharing schedules ------------------------------------------------------------------------
    rules = sharing_rules()
    shares = []
    plan_of = {(r["project_id"], r["stage"]): r["planned_date"] for r in plans}
    for p in projects:
        if not p["is_cooperation"] or p["first_contact_adcode"] == p["landing_adcode"]:
            continue
        producing = by_project.get(p["project_id"], {}).get("producing")
        start = (producing["event_date"] if producing else plan_of[(p["project_id"], "producing")]).year
        u = float(rng.random())
        if u < 0.2:
            schedule = [(start, start + 4, 0.6), (start + 5, None, 0.8)]
        elif u < 0.75:
            schedule = rules.schedule(start)
        else:
            continue
        for a, b, s in schedule:
            shares.append({"project_id": p["project_id"], "from_year": a, "to_year": b, "landing_share": s,
                           "partner_adcode": p["first_contact_adcode"], "partner_share": round(1 - s, 4),
                           "dataset_id": dataset})

    rows = {"leads": leads, "lead_transfers": transfers, "project_plans": plans, "project_shares": shares}
    return {name: pa.Table.from_pylist(rows[name], schema=_SCHEMAS[name]) for name in TABLES}
