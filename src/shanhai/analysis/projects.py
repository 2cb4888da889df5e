"""Investment projects through their lifecycle: planned against actual dates and investment per
stage, a red/amber/green light by a rule set (``policy.lifecycle_rules``), the stalled list and
the KPIs (contracts honoured, funds in place, started, producing) by any grouping.

Plain Python over rows (a province has hundreds to a few thousand projects); the jobs layer reads
them from the store. The lifecycle is 签约 signed → 供地 land supplied → 开工 started → 竣工
completed → 投产 producing → 上规 above scale → 达产 full output. A project has reached the
furthest stage it has an event for (a stage it skipped counts as passed).

Formulas (as-of date T, signing date S, planned full-output date F, stage weights w from the rule set):

- calendar progress c = clip((T − S) ÷ (F − S), 0, 1) (days); stage progress p = w[last stage reached];
  gap g = c − p. Progress rule: g > red_gap → red, g > amber_gap → amber.
- months overdue m = whole months from the planned date of the next stage not reached to T (0 when
  that date is not past). Overdue rule: m ≥ red_months → red, m ≥ amber_months → amber.
- due but not started: not yet started and T is past the planned start by more than grace_months
  → the rule set's light (red by default).
- the light is the worst of the three; a project at full output is green.
- stalled: not at full output and no new stage for ``stalled.months`` months (from its last event,
  or its signing date).
- KPIs over a group of n projects: honoured = projects with m ≤ honoured_grace_months (÷ n);
  funds in place = Σ invested ÷ Σ planned investment; started, producing = projects that reached
  开工 (投产) or beyond ÷ n.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from shanhai.policy._coop_projects import LIFECYCLE, LifecycleRules

STAGE_LABELS = {"signed": ("签约", "Signed"), "land_supplied": ("供地", "Land supplied"),
                "started": ("开工", "Started"), "completed": ("竣工", "Completed"),
                "producing": ("投产", "Producing"), "above_scale": ("上规", "Above scale"),
                "full_output": ("达产", "Full output")}
LIGHTS = ("green", "amber", "red")
LIGHT_LABELS = {"green": ("绿灯", "Green"), "amber": ("黄灯", "Amber"), "red": ("红灯", "Red")}
_ORDER = {s: i for i, s in enumerate(LIFECYCLE)}


def stage_index(stage: str | None) -> int:
    """The stage's place in the lifecycle (−1 for None or an unknown stage)."""
    return _ORDER.get(stage or "", -1)


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end`` (0 when ``end`` is not after ``start``):
    2024-01-31 → 2024-02-29 is 0, → 2024-03-01 is 1."""
    if end <= start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(0, months)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months, on the same day of the month or the month's last day."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def _worst(lights: Iterable[str]) -> str:
    return max(lights, key=LIGHTS.index, default="green")


# ---- the plan ------------------------------------------------------------------------------------

def plan_dates(signed_on: dt.date | None, expected_full_output: dt.date | None, plan: dict[str, dict],
               rules: LifecycleRules) -> dict[str, dt.date | None]:
    """Planned date per stage: the project's plan rows, else months after signing from the rule
    set (the expected full-output date for full output when the project has one)."""
    out: dict[str, dt.date | None] = {}
    for stage in LIFECYCLE:
        row = plan.get(stage) or {}
        if row.get("planned_date") is not None:
            out[stage] = row["planned_date"]
        elif stage == "signed":
            out[stage] = signed_on
        elif stage == "full_output" and expected_full_output is not None:
            out[stage] = expected_full_output
        elif signed_on is not None:
            out[stage] = add_months(signed_on, rules.default_plan_months[stage])
        else:
            out[stage] = None
    return out


# ---- the light -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Light:
    light: str                              # green | amber | red
    calendar: float | None                  # c
    progress: float                         # p
    gap: float | None                       # c − p
    months_overdue: int                     # m
    next_stage: str | None                  # the next stage not reached
    not_started: bool                       # due but not started
    reasons: tuple[tuple[str, str, str], ...] = ()   # (rule, zh, en) of every rule that lit amber or red

    def as_dict(self) -> dict:
        return asdict(self)


def calc_light(*, as_of: dt.date, signed_on: dt.date | None, reached: str, planned: dict[str, dt.date | None],
               rules: LifecycleRules) -> Light:
    """The light of one project on ``as_of`` (formulas in the module docstring)."""
    p = rules.stage_weights.get(reached, 0.0)
    k = stage_index(reached)
    nxt = next((s for s in LIFECYCLE[k + 1:] if planned.get(s) is not None), None)
    if reached == "full_output":
        return Light("green", 1.0, 1.0, 0.0, 0, None, False)
    reasons, lights = [], []
    c = gap = None
    end = planned.get("full_output")
    if signed_on is not None and end is not None and end > signed_on:
        c = min(1.0, max(0.0, (as_of - signed_on).days / (end - signed_on).days))
        gap = round(c - p, 6)
        band = "red" if gap > rules.progress.red_gap else "amber" if gap > rules.progress.amber_gap else None
        if band:
            lights.append(band)
            reasons.append(("progress", f"时序进度 {c:.0%}，形象进度 {p:.0%}，落后 {gap:.0%}",
                            f"calendar progress {c:.0%}, stage progress {p:.0%}: {gap:.0%} behind"))
    m = 0
    if nxt is not None and planned[nxt] < as_of:
        m = months_between(planned[nxt], as_of)
        band = "red" if m >= rules.overdue.red_months else "amber" if m >= rules.overdue.amber_months else None
        if band:
            lights.append(band)
            zh, en = STAGE_LABELS[nxt]
            reasons.append(("overdue", f"{zh}节点逾期 {m} 个月", f"{en.lower()} {m} months overdue"))
    not_started = False
    start = planned.get("started")
    if k < stage_index("started") and start is not None:
        due = add_months(start, rules.not_started.grace_months)
        if as_of > due:
            not_started = True
            lights.append(rules.not_started.light)
            reasons.append(("not_started", f"应开工未开工（计划 {start.isoformat()}）",
                            f"due to start on {start.isoformat()} and not started"))
    return Light(_worst(lights), c, p, gap, m, nxt, not_started, tuple(reasons))


# ---- one project's lifecycle ---------------------------------------------------------------------

def reached_stage(events: Iterable[dict], fallback: str | None = None) -> str:
    """The furthest stage with an event (``fallback``, e.g. the project's reported stage, when
    it is further; 'signed' without either)."""
    best = max((e["stage"] for e in events if e.get("stage") in _ORDER), key=stage_index, default=None)
    if fallback in _ORDER and stage_index(fallback) > stage_index(best):
        best = fallback
    return best or "signed"


@dataclass
class Lifecycle:
    project_id: str
    reached: str
    light: Light
    stages: list[dict]                       # per stage: planned/actual date and investment, delay
    invested: float | None                   # cumulative, at the last event with an amount
    planned_investment: float | None
    last_event: dt.date | None
    stalled: bool
    stalled_months: int
    honoured: bool
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["light"] = self.light.as_dict()
        return d


def _num(v) -> float | None:
    return None if v is None else float(v)


def lifecycle(project: dict, events: list[dict], plan: dict[str, dict], rules: LifecycleRules,
              as_of: dt.date) -> Lifecycle:
    """Planned against actual per stage, the light, stalled or not, honoured or not.

    ``project``: project_id, signed_on, expected_full_output, planned_investment, stage;
    ``events``: stage, event_date, invested, output (events after ``as_of`` are ignored);
    ``plan``: stage → planned_date, planned_investment."""
    events = [e for e in events if e.get("event_date") is None or e["event_date"] <= as_of]
    by_stage = {e["stage"]: e for e in events if e.get("stage") in _ORDER}
    signed_on = project.get("signed_on") or (by_stage.get("signed") or {}).get("event_date")
    planned = plan_dates(signed_on, project.get("expected_full_output"), plan, rules)
    reached = reached_stage(events, project.get("stage"))
    light = calc_light(as_of=as_of, signed_on=signed_on, reached=reached, planned=planned, rules=rules)
    stages = []
    for stage in LIFECYCLE:
        e = by_stage.get(stage) or {}
        actual = e.get("event_date")
        due = planned.get(stage)
        delay = (actual - due).days if actual and due else ((as_of - due).days if due and not actual
                                                             and stage_index(stage) > stage_index(reached)
                                                             and due < as_of else None)
        stages.append({"stage": stage, "label": STAGE_LABELS[stage][0], "label_en": STAGE_LABELS[stage][1],
                       "planned_date": due, "actual_date": actual,
                       "planned_investment": _num((plan.get(stage) or {}).get("planned_investment")),
                       "invested": _num(e.get("invested")), "output": _num(e.get("output")),
                       "reached": stage_index(stage) <= stage_index(reached), "delay_days": delay})
    with_money = [e for e in events if e.get("invested") is not None]
    invested = _num(max(with_money, key=lambda e: (e["event_date"], stage_index(e["stage"])))["invested"]) \
        if with_money else None
    dates = [e["event_date"] for e in events if e.get("event_date") is not None]
    last = max(dates) if dates else signed_on
    idle = months_between(last, as_of) if last else 0
    stalled = reached != "full_output" and last is not None and idle >= rules.stalled.months
    honoured = light.months_overdue <= rules.kpi.honoured_grace_months
    return Lifecycle(project["project_id"], reached, light, stages, invested,
                     _num(project.get("planned_investment")), last, stalled, idle if stalled else 0, honoured)


# ---- KPIs ----------------------------------------------------------------------------------------

def _rate(a, b):
    return None if not b else a / b


def calc_kpis(items: Iterable[Lifecycle]) -> dict:
    """Contracts honoured, funds in place, started and producing over ``items`` (formulas in the
    module docstring), with the counts of each light and of stalled projects."""
    items = list(items)
    n = len(items)
    honoured = sum(1 for x in items if x.honoured)
    started = sum(1 for x in items if stage_index(x.reached) >= stage_index("started"))
    producing = sum(1 for x in items if stage_index(x.reached) >= stage_index("producing"))
    planned = sum(x.planned_investment for x in items if x.planned_investment is not None)
    invested = sum(x.invested for x in items if x.invested is not None and x.planned_investment is not None)
    lights = {k: sum(1 for x in items if x.light.light == k) for k in LIGHTS}
    return {"projects": n, "honoured": honoured, "honoured_rate": _rate(honoured, n),
            "planned_investment": planned, "invested": invested, "funds_rate": _rate(invested, planned),
            "started": started, "started_rate": _rate(started, n),
            "producing": producing, "producing_rate": _rate(producing, n),
            "lights": lights, "stalled": sum(1 for x in items if x.stalled)}


def kpis_by(items: Iterable[Lifecycle], key: Callable[[Lifecycle], Iterable[str]]) -> dict[str, dict]:
    """KPIs per group; ``key`` gives the groups an item belongs to (none, one or several)."""
    groups: dict[str, list[Lifecycle]] = {}
    for x in items:
        for k in key(x):
            groups.setdefault(k, []).append(x)
    return {k: calc_kpis(v) for k, v in sorted(groups.items())}
