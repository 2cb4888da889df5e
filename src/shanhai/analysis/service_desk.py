"""Enterprise service desk formulas (pure): request clocks under an SLA profile, request KPIs, list
ranking, listing-pipeline tiers, staged awards and the reserve-pool entry test. The store-level
jobs are ``jobs/service_requests.py``, ``jobs/service_lists.py`` and ``jobs/service_pipeline.py``;
the presets ``policy/service_desk/*.toml`` (:mod:`shanhai.policy._service_desk`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np

from shanhai.analysis import workdays as wd
from shanhai.errors import ShanhaiError
from shanhai.policy._rules import Evaluation, Facts, evaluate
from shanhai.policy._service_desk import MILESTONE_LABELS, MILESTONES, Pipeline, SlaProfile

DUE_SOON_WD = 1          # a clock with at most this many working days left shows amber


# ---- request clocks --------------------------------------------------------------------------------

def _date(x) -> dt.date | None:
    if x is None:
        return None
    return x.date() if isinstance(x, dt.datetime) else x


def calc_due_dates(profile: SlaProfile, submitted, accepted=None, *, complex_case: bool = False) -> list[dict]:
    """Every step of ``profile`` that applies (complex-only steps only for a complex case) with its
    due date: due = :func:`shanhai.analysis.workdays.due_date` (start, limit, receipt_day), start =
    the submission or the acceptance date; a step counted from acceptance has no due date until the
    request is accepted. Hour limits: due = the start time + hours (calendar)."""
    out = []
    for s in profile.steps:
        if s.complex_only and not complex_case:
            continue
        start = submitted if s.start == "submitted" else accepted
        due = None
        if start is not None:
            if s.hours is not None:
                t = start if isinstance(start, dt.datetime) else dt.datetime.combine(start, dt.time())
                due = t + dt.timedelta(hours=s.hours)
            else:
                due = wd.due_date(_date(start), s.workdays, profile.receipt_day)
        out.append({"step": s.id, "label": s.label, "label_en": s.label_en, "start": s.start,
                    "workdays": s.workdays, "hours": s.hours, "due": due, "published": s.published,
                    "source": s.source, "closing": s.id == profile.closing(complex_case).id})
    return out


def calc_clock(profile: SlaProfile, submitted, accepted=None, *, done=None, today=None,
               complex_case: bool = False, extended_to=None) -> dict:
    """The clock of the closing step: its due date (``extended_to`` when an extension was granted),
    working days left (due − today, 0 on the day) or, once ``done``, whether it was on time and by how
    many working days it was late: overdue_wd = max(0, workdays_between(due, done or today)).
    ``state``: on_time | due_soon (≤ 1 wd left) | overdue | pending (no start yet) | closed_on_time |
    closed_late."""
    step = profile.closing(complex_case)
    start = submitted if step.start == "submitted" else accepted
    if start is None:
        return {"step": step.id, "label": step.label, "due": None, "state": "pending", "left_wd": None,
                "overdue_wd": 0}
    due = _date(extended_to) or wd.due_date(_date(start), step.workdays, profile.receipt_day)
    if done is not None:
        late = wd.overdue_workdays(due, _date(done))
        return {"step": step.id, "label": step.label, "due": due, "left_wd": None, "overdue_wd": late,
                "state": "closed_late" if late else "closed_on_time"}
    today = _date(today) or dt.date.today()
    late = wd.overdue_workdays(due, today)
    left = max(0, wd.workdays_between(today, due)) if not late else 0
    state = "overdue" if late else ("due_soon" if left <= DUE_SOON_WD else "on_time")
    return {"step": step.id, "label": step.label, "due": due, "left_wd": left, "overdue_wd": late, "state": state}


def calc_extension_allowed(profile: SlaProfile, due, asked_on, extra_wd: int) -> tuple[bool, str]:
    """An extension must be asked at least ``extension_before_wd`` working days before the due date
    (泉州: 1 wd, Q15) and may add at most ``max_extension_wd`` working days."""
    due, asked_on = _date(due), _date(asked_on)
    if extra_wd < 1 or extra_wd > profile.max_extension_wd:
        return False, f"延期须为 1–{profile.max_extension_wd} 个工作日 (an extension adds 1 to {profile.max_extension_wd} wd)"
    ahead = wd.workdays_between(asked_on, due)
    if ahead < profile.extension_before_wd:
        return False, (f"延期须在期限前 {profile.extension_before_wd} 个工作日提出 (asked {asked_on}, due {due}: "
                       f"{max(ahead, 0)} wd ahead)")
    return True, ""


def calc_rates(collected: int, closed: int, solved: int, closed_on_time: int, rated: int, satisfied: int) -> dict:
    """The four KPIs, each with its definition (enterprise_service.md §6.2; they are not comparable
    without it): 办结率 = closed ÷ collected; 解决率 = solved ÷ collected (solved is the firm's or the
    officer's finding, kept apart from closing); 按期办结率 = closed by the closing step's due date ÷
    closed; 满意率 = satisfied (rating ≥ 4 of 5) ÷ rated. None when the denominator is 0."""
    def r(a, b):
        return None if not b else round(a / b, 4)
    return {"collected": collected, "closed": closed, "solved": solved, "closed_on_time": closed_on_time,
            "rated": rated, "satisfied": satisfied, "close_rate": r(closed, collected),
            "solve_rate": r(solved, collected), "on_time_rate": r(closed_on_time, closed),
            "satisfaction_rate": r(satisfied, rated)}


KPI_DEFINITIONS = {
    "close_rate": ("办结率", "已办结 ÷ 受理诉求总数 (closed ÷ collected)"),
    "solve_rate": ("解决率", "已解决 ÷ 受理诉求总数 (solved ÷ collected; closed ≠ solved)"),
    "on_time_rate": ("按期办结率", "在办结环节期限内办结 ÷ 已办结 (closed by the due date ÷ closed)"),
    "satisfaction_rate": ("满意率", "评价4–5分 ÷ 已评价 (rating 4–5 of 5 ÷ rated)"),
}


# ---- lists -----------------------------------------------------------------------------------------

def calc_top_n(keys: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """Mask of the ``n`` highest scores (ties broken by key, ascending; missing scores never listed)."""
    mask = np.zeros(len(keys), bool)
    if n <= 0:
        return mask
    ok = np.where(~np.isnan(scores))[0]
    order = sorted(ok, key=lambda i: (-scores[i], keys[i]))
    mask[np.array(order[:n], dtype=int)] = True
    return mask


# ---- pipeline --------------------------------------------------------------------------------------

def calc_milestone_order(milestones: dict) -> list[str]:
    """Problems with the dates: a later milestone dated before an earlier one (empty list when fine)."""
    seen = [(m, _date(milestones[m])) for m in MILESTONES if milestones.get(m) is not None]
    out = []
    for (a, da), (b, db) in zip(seen, seen[1:]):
        if db < da:
            out.append(f"{MILESTONE_LABELS[b][0]} {db} 早于 {MILESTONE_LABELS[a][0]} {da} ({b} before {a})")
    return out


def calc_tier(pipeline: Pipeline, milestones: dict) -> str | None:
    """The last tier of the preset (in its order) reached by any of its milestones; a tier with no
    milestones is the entry tier (every pool member)."""
    tier = None
    for t in pipeline.tiers:
        if not t.reached or any(milestones.get(m) is not None for m in t.reached):
            tier = t.id
    return tier


def calc_stage_awards(pipeline: Pipeline, milestones: dict, *, reinvest_share=None) -> dict:
    """Staged awards (萧山 L7, 湖州 L8, 瓯海 L9): each award is earned at its milestone and due on
    ``paid_at``'s date when it has one (萧山: the 股改 award is released at 辅导备案), else on the
    earning date. An award with ``reinvest_min`` is paid in full when the reinvested share ≥ the bar;
    below it ``below_min`` decides: ``manual_review`` (the ambiguous "pro rata": candidates
    amount × share ÷ bar and amount × share, G8b), ``share_of_bar``, ``share`` or ``none``; an
    unknown share is manual review. Amounts in 万元 Decimal. Status: due | waiting (earned, not yet
    releasable) | not_reached | manual_review."""
    share = None if reinvest_share is None else Decimal(str(reinvest_share))
    rows = []
    total = Decimal(0)
    review = False
    for a in pipeline.awards:
        earned = _date(milestones.get(a.earned_at))
        release = a.paid_at or a.earned_at
        due_on = _date(milestones.get(release))
        row = {"award": a.id, "label": a.label, "milestone": a.earned_at, "release_at": release,
               "earned_on": earned, "due_on": None, "amount": None, "status": "not_reached", "candidates": [],
               "source": a.source, "rule": ""}
        if earned is None:
            rows.append(row)
            continue
        if due_on is None:
            row.update(status="waiting", rule=f"兑现于{MILESTONE_LABELS[release][0]} (released at {release})")
            rows.append(row)
            continue
        amount = a.amount
        if a.reinvest_min is not None:
            bar = a.reinvest_min
            if share is None:
                row.update(status="manual_review", due_on=due_on, rule="募资回投比例未知 (reinvested share unknown)")
                review = True
                rows.append(row)
                continue
            if share < bar:
                of_bar, plain = (a.amount * share / bar).quantize(Decimal("0.0001")), (a.amount * share).quantize(Decimal("0.0001"))
                if a.below_min == "manual_review":
                    row.update(status="manual_review", due_on=due_on, candidates=[of_bar, plain],
                               rule=(f"回投 {share:.0%} < {bar:.0%}：“低于80%按比例”有两种读法 "
                                     f"{a.amount}×{share}/{bar} = {of_bar} 或 {a.amount}×{share} = {plain}"))
                    review = True
                    rows.append(row)
                    continue
                amount = {"share_of_bar": of_bar, "share": plain, "none": Decimal(0)}[a.below_min]
        row.update(status="due", due_on=due_on, amount=amount)
        total += amount
        rows.append(row)
    return {"awards": rows, "total": total, "manual_review": review,
            "order_problems": calc_milestone_order(milestones)}


def calc_target_progress(target_value: int, actual: int) -> dict:
    return {"target": target_value, "actual": actual, "share": round(actual / target_value, 4) if target_value else None,
            "gap": max(0, target_value - actual)}


# ---- reserve-pool entry test -----------------------------------------------------------------------

def calc_entry_facts(keys, year: int, *, revenue: dict, net_profit: dict, rd_spending: dict | None = None,
                     founded_year=None, reform_planned=None, clean_record=None, restricted_industry=None,
                     star_market_expected=None, history_years: int = 5) -> Facts:
    """Facts of the entry test for firms ``keys`` evaluated on data year ``year`` from their yearly
    figures (``revenue[key] = {year: value}`` …): yearly histories of revenue, net profit and
    revenue growth (%), the two-year revenue CAGR ((rev_y ÷ rev_{y−2})^½ − 1) × 100, the three-year
    R&D share Σ rd ÷ Σ revenue × 100 and the years operating (``year`` − founded year; FY counted as
    whole years). Yes/no facts as 1/0, missing as NaN."""
    keys = np.asarray(list(keys), dtype=object)
    years = list(range(year - history_years + 1, year + 1))

    def hist(d):
        return np.array([[_f(d.get(k, {}).get(y)) for y in years] for k in keys], float).reshape(len(keys), len(years))
    rev, prof = hist(revenue), hist(net_profit)
    with np.errstate(invalid="ignore", divide="ignore"):
        prev = np.hstack([np.full((len(keys), 1), np.nan), rev[:, :-1]])
        growth = np.where(prev > 0, (rev / prev - 1) * 100, np.nan)
        cagr = np.where(rev[:, -3] > 0, (np.power(rev[:, -1] / rev[:, -3], 0.5) - 1) * 100, np.nan)
        if rd_spending is not None:
            rd = hist(rd_spending)[:, -3:]
            rsum = rev[:, -3:]
            share = np.where(np.isnan(rd).any(1) | np.isnan(rsum).any(1) | (rsum.sum(1) <= 0), np.nan,
                             rd.sum(1) / rsum.sum(1) * 100)
        else:
            share = np.full(len(keys), np.nan)

    def col(d, f=_f):
        return np.array([f((d or {}).get(k)) for k in keys], float)
    age = np.array([year - int(founded_year[k]) if founded_year and founded_year.get(k) is not None else np.nan
                    for k in keys], float)
    return Facts(keys, {"revenue_cagr_2y": cagr, "rd_share_3y": share, "years_operating": age,
                        "reform_planned": col(reform_planned, _b), "clean_record": col(clean_record, _b),
                        "restricted_industry": np.nan_to_num(col(restricted_industry, _b), nan=0.0),
                        "star_market_expected": col(star_market_expected, _b)},
                 {"revenue": rev, "net_profit": prof, "revenue_growth": growth})


def calc_entry(pipeline: Pipeline, facts: Facts, *, average_years: int | None = None) -> Evaluation:
    """The reserve-pool entry test of ``pipeline`` (its ``average_years`` unless given) over ``facts``."""
    rs = pipeline.entry_rules_for(pipeline.average_years if average_years is None else average_years)
    if rs is None:
        raise ShanhaiError(f"pipeline preset {pipeline.name} has no entry test")
    return evaluate(rs, facts)


def _f(v) -> float:
    return np.nan if v is None else float(v)


def _b(v) -> float:
    return np.nan if v is None else (1.0 if v else 0.0)
