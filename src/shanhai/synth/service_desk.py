"""The synthetic province's service desk — one step of ``generator.generate``: enterprise requests
(``service_requests`` with their ``service_request_events``) and a listing pipeline
(``listing_pipeline``, ``listing_milestones``), so the demo has requests (some overdue), list
candidates (the key list reads the yearly tax already generated) and pipeline firms.
Deterministic for the step's own random stream; invented, not calibrated.

Requests: about 1 per 100 active firms (at least 30), submitted on working days of the year after
the last data year, category by the routing's categories (policy 30 %, the rest even), channel
portal 40 % / hotline 25 % / walk-in 20 % / visit 15 %, 8 % complex; under the default routing's
SLA profile (NB-HAISHU-2018) with its working-day clock. 70 % are closed (accepted the next
working day; closed 1–7 working days after, so some late; solved 85 %; 80 % rated 3–5 with a
few 1–2), 10 % answered, 20 % still open (accepted or assigned — overdue in the demo). Pipeline:
the 0.4 % largest firms by revenue of the last data year (at least 6) enter the pool on a date in
the last data year; each reaches the milestones in order with probabilities 0.8, 0.6, 0.4, 0.25,
0.15, 0.1 (intermediary signed → listed), 60–400 days apart; a listed firm's reinvested share is
drawn in 0.5–1.0.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pyarrow as pa

from shanhai.analysis import workdays as wd
from shanhai.policy._service_desk import MILESTONES, routing, sla_profile

TABLES = ("service_requests", "service_request_events", "listing_pipeline", "listing_milestones")
MILESTONE_P = (0.8, 0.6, 0.4, 0.25, 0.15, 0.1)


def _ts(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


def generate(rng: np.random.Generator, config, tables: dict[str, pa.Table], geo, dataset: str) -> dict[str, pa.Table]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wd.CalendarCoverageWarning)
        return _generate(rng, config, tables, dataset)


def _generate(rng, config, tables, dataset):
    ent = tables["enterprises"]
    usccs = np.array(ent.column("uscc").to_pylist(), dtype=object)
    county = dict(zip(usccs, ent.column("county_adcode").to_pylist()))
    town = dict(zip(usccs, ent.column("town_adcode").to_pylist()))
    active = usccs[np.array([s == "active" for s in ent.column("status").to_pylist()])]
    r = routing("default")
    prof = sla_profile(r.sla)
    cats = [c for c in r.categories]
    cat_p = np.array([0.3 if c.id == "policy" else 0.7 / (len(cats) - 1) for c in cats])
    channels = np.array(["portal", "hotline", "walk_in", "visit"])
    year = int(config.years[-1]) + 1
    days = [d for d in (dt.date(year, 1, 2) + dt.timedelta(days=i) for i in range(360)) if wd.is_workday(d)]
    n = max(30, len(active) // 100)
    firms = rng.choice(active, size=min(n, len(active)), replace=False)
    reqs, events = [], []
    for k, uscc in enumerate(sorted(firms)):
        cat = cats[int(rng.choice(len(cats), p=cat_p))]
        submitted = _ts(days[int(rng.integers(0, len(days)))], int(rng.integers(8, 17)))
        complex_case = bool(rng.random() < 0.08)
        accepted = _ts(wd.add_workdays(submitted.date(), 1), 9)
        step = prof.closing(complex_case)
        start = submitted if step.start == "submitted" else accepted
        due = wd.due_date(start.date(), step.workdays, prof.receipt_day)
        fate = rng.random()
        rid = f"R{submitted:%Y%m%d}-s{k:06d}"
        row = {"request_id": rid, "uscc": uscc, "category": cat.id, "opened_at": submitted, "due_at": due,
               "closed_at": None, "solved": None, "status": "accepted", "county_adcode": county[uscc],
               "town_adcode": town[uscc], "title": f"{cat.label}诉求", "description": "合成数据 synthetic request",
               "channel": str(channels[int(rng.choice(4, p=[0.4, 0.25, 0.2, 0.15]))]), "department": cat.department,
               "level": r.complex_level if complex_case else cat.level, "sla_profile": prof.name,
               "receipt_day": prof.receipt_day, "complex_case": complex_case, "accepted_at": accepted,
               "assigned_at": None, "answered_at": None, "due_on": due, "overdue_from": wd.add_workdays(due, 1),
               "extended_wd": 0, "escalated_at": None, "reopened": 0, "overdue_wd": None, "satisfaction": None,
               "contact": None, "calendar_note": None, "created_by": "synth", "updated_at": accepted,
               "dataset_id": dataset}
        ev = [("submit", None, "submitted", None, submitted), ("accept", "submitted", "accepted", due, accepted)]
        if fate < 0.8:
            assigned = accepted + dt.timedelta(hours=2)
            answered = _ts(wd.add_workdays(accepted.date(), int(rng.integers(1, 8))), 15)
            row.update(assigned_at=assigned, answered_at=answered, status="answered", updated_at=answered)
            ev += [("assign", "accepted", "assigned", due, assigned), ("answer", "assigned", "answered", due, answered)]
            if fate < 0.7:
                closed = answered + dt.timedelta(hours=1)
                row.update(status="closed", closed_at=closed, solved=bool(rng.random() < 0.85),
                           overdue_wd=wd.overdue_workdays(due, closed.date()), updated_at=closed)
                ev.append(("close", "answered", "closed", due, closed))
                if rng.random() < 0.8:
                    row["satisfaction"] = int(rng.choice([1, 2, 3, 4, 5], p=[0.03, 0.05, 0.12, 0.3, 0.5]))
                    ev.append(("rate", "closed", "closed", due, closed + dt.timedelta(days=1)))
        elif fate < 0.9:
            row.update(status="assigned", assigned_at=accepted + dt.timedelta(hours=2))
            ev.append(("assign", "accepted", "assigned", due, accepted + dt.timedelta(hours=2)))
        reqs.append(row)
        for i, (action, frm, to, due_on, at) in enumerate(ev, 1):
            events.append({"request_id": rid, "seq": i, "action": action, "from_state": frm, "to_state": to,
                           "due_on": due_on, "note": None, "username": "synth", "occurred_at": at,
                           "dataset_id": dataset})
    pool, miles = _pipeline(rng, config, tables, county, dataset)
    return {"service_requests": pa.Table.from_pylist(reqs), "service_request_events": pa.Table.from_pylist(events),
            "listing_pipeline": pa.Table.from_pylist(pool, schema=_POOL),
            "listing_milestones": pa.Table.from_pylist(miles, schema=_MILES)}


_POOL = pa.schema([("uscc", pa.string()), ("county_adcode", pa.string()), ("entered_on", pa.date32()),
                   ("reform_plan_by", pa.date32()), ("reinvest_share", pa.decimal128(6, 4)), ("board", pa.string()),
                   ("officer", pa.string()), ("dataset_id", pa.string()), ("updated_at", pa.timestamp("us"))])
_MILES = pa.schema([("uscc", pa.string()), ("milestone", pa.string()), ("occurred_on", pa.date32()),
                    ("note", pa.string()), ("dataset_id", pa.string()), ("recorded_by", pa.string()),
                    ("recorded_at", pa.timestamp("us"))])


def _pipeline(rng, config, tables, county, dataset):
    from decimal import Decimal

    ey = tables["enterprise_years"]
    last = int(config.years[-1])
    rows = [(u, float(v)) for u, y, v in zip(ey.column("uscc").to_pylist(), ey.column("year").to_pylist(),
                                             ey.column("revenue").to_pylist()) if y == last and v is not None]
    rows.sort(key=lambda x: (-x[1], x[0]))
    take = [u for u, _ in rows[:max(6, len(rows) // 250)]]
    pool, miles = [], []
    stamp = dt.datetime(last + 1, 1, 1)
    for uscc in take:
        entered = dt.date(last, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
        day = entered
        listed_share = None
        for m, p in zip(MILESTONES, MILESTONE_P):
            if rng.random() >= p:
                break
            day = day + dt.timedelta(days=int(rng.integers(60, 400)))
            if day > dt.date(last + 1, 12, 31):
                break
            miles.append({"uscc": uscc, "milestone": m, "occurred_on": day, "note": None, "dataset_id": dataset,
                          "recorded_by": "synth", "recorded_at": stamp})
            if m == "listed":
                listed_share = Decimal(str(round(float(rng.uniform(0.5, 1.0)), 4)))
        pool.append({"uscc": uscc, "county_adcode": county.get(uscc), "entered_on": entered,
                     "reform_plan_by": dt.date(last + 2, 12, 31), "reinvest_share": listed_share, "board": None,
                     "officer": None, "dataset_id": dataset, "updated_at": stamp})
    return pool, miles
