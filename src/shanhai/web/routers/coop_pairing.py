"""``/coop/pairing``: 一企一县 (1+N) firm–county pairing — the planner (options, the stored plans,
planning as a background job), a plan (its objective, per county its firms with points and
reasons, the constraints that cannot be met explained), its workbook; and the same as JSON under
``/api/v1/coop/pairing`` (list, start a plan, read one).

Everything reads :mod:`shanhai.jobs.pairing` with the caller's ``Scope``: a plan shows only the
mountain counties inside the caller's region (a plan with none of them is a 403, an unknown id a
404), and a paired firm outside the region is masked (county, city, industry division, size band
and class; no name, no USCC) on the page, in the JSON and in the workbook. Planning needs a write
role; a plan is stored as a run and never overwritten."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from shanhai.errors import ShanhaiError
from shanhai.jobs import dashboard
from shanhai.jobs import pairing as jp
from shanhai.policy._coop import pairing_rule_sets, pairing_rules
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_lang, get_store, render, require_write
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT, can_write

router = APIRouter()
NAV = [(40, "/coop/pairing", "结对规划", "Pairing", None)]

COMPONENT_COLORS = {"chain_fit": "#2c7fb8", "capacity": "#41b6c4", "efficiency": "#1a9850", "pairing": "#7b3294",
                    "distance": "#f39c12", "within_city": "#d95f02"}
FIT_LABELS = {"gap": ("补链", "fills a gap"), "adjacent": ("延链", "extends"), "other": ("同链", "same chain")}
STATUS_LABELS = {"missing": ("缺失", "missing"), "weak": ("薄弱", "weak"), "present": ("具备", "present"),
                 "strong": ("优势", "strong"), "outside": ("非制造环节", "outside manufacturing")}
MOST_PER_COUNTY, MOST_K = 10, 26


# ---- choices the planner offers ----------------------------------------------------------------

def planner_regions(store: Store, scope: Scope) -> list[dict]:
    """The caller's region and the cities and counties inside it that hold a mountain county."""
    mountain = set(dashboard.mountain_counties(store))
    out = []
    for r in dashboard.sub_regions(store, scope):
        if r["level"] == "county":
            ok = r["adcode"] in mountain
        elif r["level"] == "city":
            ok = any(c[:4] == r["adcode"][:4] for c in mountain)
        else:
            ok = True
        if ok:
            out.append(r)
    return out


def _bool(value: str | bool | None) -> bool:
    return value in (True, "1", "true", "on", "yes")


def submit_plan(request: Request, store: Store, scope: Scope, user: User, *, region: str, year: int | None,
                run: str | None, rules: str, per_county_min: int, per_county_max: int, max_counties: int,
                distinct_industries: bool, within_city: str, strict: bool) -> str:
    """Check the options, then queue the plan as a background job; the job id. Shared by the page
    and the API. The job page links to the plan."""
    try:
        r = pairing_rules(rules)
    except ShanhaiError as exc:
        raise PageError(400, f"结对规则无效：{exc}", f"Unknown pairing rule set: {exc}") from None
    if year is not None and year not in dashboard.data_years(store):
        raise PageError(400, f"没有 {year} 年度的企业数据。", f"There is no enterprise data for {year}.")
    if not 0 <= per_county_min <= per_county_max <= MOST_PER_COUNTY or per_county_max < 1:
        raise PageError(400, f"每县企业数须满足 0 ≤ 最少 ≤ 最多 ≤ {MOST_PER_COUNTY}，且最多至少为 1。",
                        f"Firms per county must satisfy 0 ≤ min ≤ max ≤ {MOST_PER_COUNTY}, with max at least 1.")
    if not 1 <= max_counties <= MOST_K:
        raise PageError(400, f"每家企业结对县数上限 K 须在 1 到 {MOST_K} 之间。",
                        f"K (counties per firm) must lie between 1 and {MOST_K}.")
    if within_city not in jp.WITHIN_CITY:
        raise PageError(400, "同市优先选项无效。", "within_city must be off, bonus or first.")
    target, counties = jp.plan_counties(store, scope, region or None)     # 403 outside, 400 without a mountain county
    username = user.username
    options = {"region": target.adcode, "year": year, "run_id": run or None, "rules": r.name,
               "per_county": (per_county_min, per_county_max), "max_counties": max_counties,
               "distinct_industries": distinct_industries, "within_city_first": within_city,
               "skip_unmatched": not strict}

    def job(progress):
        doc = jp.build_plan(progress.store, scope, user=username, progress=progress.fraction, **options)
        objective = f"{doc['objective']:.2f}" if doc["objective"] is not None else "—"
        return {"url": f"/coop/pairing/{doc['run_id']}",
                "message": f"{doc['status_label']}：{len(doc['pairs'])} 对，目标值 {objective} (plan {doc['run_id']})"}

    label = (f"一企一县结对规划 · {target.name} · {len(counties)} 个山区县 · "
             f"每县 {per_county_min}–{per_county_max} 家 · K={max_counties}")
    return request.app.state.jobs.submit("pairing", label, job, user)


# ---- pages -----------------------------------------------------------------------------------

@router.get("/coop/pairing", name="coop_pairing")
def planner_page(request: Request, store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    rule_sets = pairing_rule_sets()
    defaults = pairing_rules("default").plan if "default" in rule_sets else None
    ctx = {"fmt": FMT, "plans": jp.plans(store, scope), "regions": planner_regions(store, scope),
           "years": dashboard.data_years(store), "rule_sets": list(rule_sets.values()), "defaults": defaults,
           "can_write": can_write(user), "within_labels": jp.WITHIN_CITY,
           "jobs": [j for j in request.app.state.jobs.jobs_of(user, 10) if j.kind == "pairing"]}
    return render(request, "coop_pairing.html", ctx)


@router.post("/coop/pairing", name="coop_pairing_start")
def start_plan(request: Request, region: str = Form(""), year: str = Form(""), run: str = Form(""),
               rules: str = Form("default"), per_county_min: int = Form(1), per_county_max: int = Form(2),
               max_counties: int = Form(2), distinct_industries: str = Form(""), within_city: str = Form("off"),
               strict: str = Form(""), store: Store = Depends(get_store), user: User = Depends(require_write),
               scope: Scope = Depends(current_scope)):
    """Plan in the background; the job page links to the plan."""
    job_id = submit_plan(request, store, scope, user, region=region, year=_year(year), run=run or None, rules=rules,
                         per_county_min=per_county_min, per_county_max=per_county_max, max_counties=max_counties,
                         distinct_industries=_bool(distinct_industries), within_city=within_city,
                         strict=_bool(strict))
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def _year(value: str | int | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise PageError(400, f"年度 {value!r} 无效。", f"Year {value!r} is not a year.") from None


def chart_payload(doc: dict, lang: str) -> dict:
    """What coop_pairing.js draws: per county (with pairs) the points of each component summed."""
    en = lang == "en"
    keys = [*jp.COMPONENTS, "within_city"]
    rows = [c for c in doc["counties"] if c["pairs"]]
    return {"lang": lang, "counties": [c["name"] for c in rows],
            "series": [{"key": k, "name": jp.COMPONENT_LABELS[k][1 if en else 0], "color": COMPONENT_COLORS[k],
                        "data": [round(sum(p["points"].get(k, 0.0) for p in c["pairs"]), 2) for c in rows]}
                       for k in keys if any(p["points"].get(k) for c in rows for p in c["pairs"])]}


@router.get("/coop/pairing/{plan_id}", name="coop_pairing_plan")
def plan_page(request: Request, plan_id: str, store: Store = Depends(get_store), user: User = Depends(current_user),
              scope: Scope = Depends(current_scope)):
    doc = jp.plan_of(store, scope, plan_id)        # 404 unknown, 403 none of its counties in the region
    lang = get_lang(request)
    for p in doc["pairs"]:
        p["bar"] = [{"key": k, "label": jp.COMPONENT_LABELS[k][1 if lang == "en" else 0],
                     "points": p["points"].get(k, 0.0), "color": COMPONENT_COLORS[k]}
                    for k in (*jp.COMPONENTS, "within_city") if k in p["points"]]
        p["why"] = p["reasons_en"] if lang == "en" else p["reasons"]
    ctx = {"fmt": FMT, "doc": doc, "chart": chart_payload(doc, lang), "components": jp.COMPONENT_LABELS,
           "component_colors": COMPONENT_COLORS, "fit_labels": FIT_LABELS, "status_labels": STATUS_LABELS,
           "within_labels": jp.WITHIN_CITY, "masked_label": jp.MASKED_NAME, "can_write": can_write(user)}
    return render(request, "coop_pairing_plan.html", ctx)


@router.get("/coop/pairing/{plan_id}/export.xlsx", name="coop_pairing_export")
def plan_export(request: Request, plan_id: str, store: Store = Depends(get_store), user: User = Depends(current_user),
                scope: Scope = Depends(current_scope)):
    """The plan as a workbook (结对方案, 县域汇总, 说明), as the caller may see it; audited."""
    from shanhai.reports.pairing_excel import plan_workbook

    doc = jp.plan_of(store, scope, plan_id)
    data = plan_workbook(doc)
    deps.audit(request, store, "export", target=f"coop:pairing:{doc['run_id']}",
               detail={"kind": "pairing_plan", "plan": doc["run_id"], "counties": len(doc["counties"]),
                       "pairs": len(doc["pairs"]), "masked": doc["masked"], "bytes": len(data)})
    region = doc["options"].get("region_name") or ""
    return attachment(data, f"{region}一企一县结对方案（{doc['options'].get('year')}年度，{doc['run_id']}）.xlsx", XLSX)


# ---- JSON API --------------------------------------------------------------------------------

class _M(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class PlanBrief(_M):
    run_id: str
    created_by: str | None
    created_at: str
    status: str = Field(description="optimal | infeasible | unsolved")
    status_label: str
    region: str | None
    region_name: str | None
    year: int | None
    rules: str | None
    per_county: list[int] | None
    max_counties: int | None
    distinct_industries: bool | None
    within_city_first: str | None
    objective: float | None = Field(description="Σ of every pair's score, the maximum the constraints allow")
    pairs: int | None
    counties: int = Field(description="mountain counties in the plan")
    visible_counties: int = Field(description="of them inside your region")


class PairOut(_M):
    county_adcode: str
    county_name: str
    rank: int
    score: float = Field(description="Σ points")
    points: dict[str, float] = Field(description="chain_fit, capacity, efficiency, pairing, distance (+ within_city)")
    values: dict[str, float] = Field(description="each component in [0, 1]")
    masked: bool = Field(description="the firm lies outside your region: no name, no USCC, no revenue")
    uscc: str | None
    name: str
    firm_county_adcode: str
    firm_county_name: str | None
    firm_city_name: str | None
    division: str | None = Field(description="GB/T 4754 division (2 digits)")
    division_name: str | None
    size_band: str
    size_band_en: str
    revenue: float | None
    mujun_class: str | None
    leader: bool
    chain_id: str
    chain_name: str
    segment_id: str
    segment_name: str
    segment_status: str = Field(description="the segment's status in the county")
    fit_kind: str = Field(description="gap | adjacent | other")
    km: float
    same_city: bool
    partner: bool = Field(description="the firm's county is the county's 山海协作 partner")
    reasons: list[str]
    reasons_en: list[str]


class CountyOut(_M):
    adcode: str
    name: str
    city_name: str | None
    leads: list[dict[str, Any]]
    chains: list[dict[str, Any]] = Field(description="chains matching its lead industries, with their gaps")
    candidates: int
    included: bool
    min: int
    max: int
    assigned: int
    score: float
    unmatched_reason: str | None
    unmatched_reason_en: str | None
    problems: list[str]
    problems_en: list[str]
    pairs: list[PairOut]


class ProblemOut(_M):
    kind: str = Field(description="no_candidates | too_few_candidates | too_few_groups | capacity_total | "
                                  "capacity_local | solver | no_counties")
    counties: list[str]
    needed: int
    available: int
    zh: str
    en: str


class PlanOut(_M):
    run_id: str
    created_at: str
    created_by: str | None
    status: str
    status_label: str
    status_label_en: str
    objective: float | None
    objective_visible: float = Field(description="Σ score of the pairs inside your region")
    options: dict[str, Any]
    basis: dict[str, Any]
    summary: dict[str, Any]
    problems: list[ProblemOut]
    counties: list[CountyOut]
    complete: bool = Field(description="every county of the plan is inside your region")
    counties_total: int
    masked: int


class JobStarted(_M):
    job_id: str
    url: str = Field(description="the job's page; GET /api/v1/jobs/{job_id} for its status")


@router.get("/api/v1/coop/pairing", response_model=list[PlanBrief], tags=["coop"],
            summary="结对方案 The stored pairing plans with a county inside your region, newest first")
def api_plans(limit: int = Query(50, ge=1, le=500), store: Store = Depends(get_store),
              scope: Scope = Depends(current_scope)):
    return jp.plans(store, scope, limit=limit)


@router.post("/api/v1/coop/pairing", response_model=JobStarted, status_code=202, tags=["coop"],
             summary="结对规划 Plan firm–county pairs in the background (write roles, X-CSRF-Token)")
def api_start_plan(request: Request, region: str = Form(""), year: str = Form(""), run: str = Form(""),
                   rules: str = Form("default"), per_county_min: int = Form(1), per_county_max: int = Form(2),
                   max_counties: int = Form(2), distinct_industries: str = Form(""), within_city: str = Form("off"),
                   strict: str = Form(""), store: Store = Depends(get_store), user: User = Depends(require_write),
                   scope: Scope = Depends(current_scope)):
    job_id = submit_plan(request, store, scope, user, region=region, year=_year(year), run=run or None, rules=rules,
                         per_county_min=per_county_min, per_county_max=per_county_max, max_counties=max_counties,
                         distinct_industries=_bool(distinct_industries), within_city=within_city,
                         strict=_bool(strict))
    return {"job_id": job_id, "url": f"/jobs/{job_id}"}


@router.get("/api/v1/coop/pairing/{plan_id}", response_model=PlanOut, tags=["coop"],
            summary="结对方案 One plan: objective, per county its firms with points and reasons, or why not")
def api_plan(plan_id: str, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jp.plan_of(store, scope, plan_id)

