"""``/api/v1``: the dashboard's data as JSON for integration, with the same session and region
scope as the pages (401 without a session, 403 outside the caller's region, 404 for what does
not exist). Every answer names the run (id, preset, version, year) its figures come from.
Response models are declared so the OpenAPI document (``/api/v1/openapi.json``) describes them."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from shanhai.errors import ShanhaiError
from shanhai.jobs import dashboard
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web.deps import PageError, audit, current_scope, current_user, get_store, require_write
from shanhai.web.screens import reading, submit_evaluation, submit_whatif

router = APIRouter(prefix="/api/v1", tags=["per-mu"])


class _M(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


# ---- models ----------------------------------------------------------------------------------

class RunOut(_M):
    """一个评价批次 A stored per-mu evaluation run."""
    run_id: str
    policy: str = Field(description="preset name")
    policy_version: str
    policy_name: str = Field(description="preset display name (Chinese)")
    year: int = Field(description="data year evaluated")
    region: str = Field(description="adcode the run covers (330000: the province)")
    region_name: str
    benchmarks: str
    created_by: str | None = None
    created_at: str
    note: str | None = None


class RunListItem(RunOut):
    firms: int = Field(description="firms of the run inside the caller's region")
    evaluated: int
    classes: dict[str, int] = Field(description="firms per class inside the caller's region (T: not evaluated)")


class ClassOut(_M):
    code: str
    label: str
    label_en: str
    color: str


class ClassCount(ClassOut):
    firms: int


class RunSummaryOut(_M):
    run: RunOut
    firms: int
    evaluated: int
    above_scale: int
    land_used_mu: float | None = Field(None, description="亩")
    tax_paid: float | None = Field(None, description="万元")
    value_added: float | None = Field(None, description="万元")
    surcharge_yuan: float | None = Field(None, description="estimated electricity surcharge, 元")
    charged: int
    classes: list[ClassCount]


class ResultRow(_M):
    uscc: str
    name: str | None
    county_adcode: str
    county_name: str | None
    town_adcode: str | None
    town_name: str | None
    zone_id: str | None
    industry_code: str | None
    industry_name: str | None
    above_scale: bool | None
    population: str | None
    population_label: str | None
    class_: str = Field(alias="class")
    class_label: str
    score_class: str | None
    class_rule: str
    class_streak: int | None
    total_score: float | None
    rank: int | None
    unit_size: int | None
    land_used_mu: float | None = Field(description="亩")
    tax_paid: float | None = Field(description="万元")
    value_added: float | None = Field(description="万元")
    tax_per_mu: float | None = Field(description="万元/亩")
    value_added_per_mu: float | None = Field(description="万元/亩")
    surcharge_yuan: float | None = Field(description="元")
    excluded_reason: str | None


class ResultsPage(_M):
    run: RunOut
    filters: dict[str, str]
    sort: str
    desc: bool
    page: int
    per_page: int
    pages: int
    total: int
    rows: list[ResultRow]


class BandsOut(_M):
    run: RunOut
    indicator: str
    indicator_label: str
    unit: str
    labels: list[str]
    classes: list[ClassOut]
    counts: dict[str, list[int]] = Field(description="class → firms per band (the last band: no value)")
    total: int


class RegionFigures(_M):
    adcode: str
    name: str
    level: str
    parent_adcode: str | None = None
    city_adcode: str | None = None
    mountain26: bool = False
    mountain_category: str | None = None
    firms: int | None = None
    evaluated: int | None = None
    firms_above_scale: int | None = None
    tax_per_mu: float | None = Field(None, description="above-scale, 万元/亩 (sums over sums)")
    value_added_per_mu: float | None = Field(None, description="above-scale, 万元/亩")
    labour_productivity: float | None = Field(None, description="above-scale, 万元/人")
    prev_tax_per_mu: float | None = None
    prev_value_added_per_mu: float | None = None
    tax_growth: float | None = Field(None, description="% on the previous year")
    value_added_growth: float | None = None
    land_used_mu: float | None = None
    tax_paid: float | None = None
    value_added: float | None = None
    surcharge_yuan: float | None = None
    classes: dict[str, int] = Field(default_factory=dict)
    shares: dict[str, float | None] = Field(default_factory=dict, description="% of evaluated firms")
    share_top: float | None = None
    share_bottom: float | None = None
    has_data: bool = False


class MetricOut(_M):
    id: str
    label: str
    label_en: str
    unit: str


class CountyMetricsOut(_M):
    run: RunOut
    metrics: list[MetricOut]
    counties: list[RegionFigures]


class Crumb(_M):
    adcode: str
    name: str
    level: str


class DrillOut(_M):
    run: RunOut
    region: dict[str, Any]
    breadcrumb: list[Crumb]
    child_level: Literal["city", "county", "town", "enterprise"]
    children: list[dict[str, Any]] = Field(description="regions with their figures, or a town's enterprises")
    figures: RegionFigures | None


class TargetGap(_M):
    target_id: str
    label: str
    source: str
    target_year: int
    level: str
    key: str
    name: str | None
    indicator: str
    unit: str
    actual: float | None
    target: float | None
    gap: float | None
    achieved: float | None = Field(description="actual ÷ target")
    note: str | None


class TargetGroup(_M):
    target_id: str
    label: str
    source: str
    target_year: int
    indicator: str
    unit: str
    level: str
    note: str | None
    total: int
    reached: int
    rows: list[TargetGap]


class HeadlineOut(_M):
    run: RunOut
    classes: list[ClassOut]
    figures: RegionFigures | None
    targets: list[TargetGap]
    target_groups: list[TargetGroup]
    mountain26: list[dict[str, Any]] | None


class EnterpriseYear(_M):
    year: int
    above_scale: bool | None
    revenue: float | None
    value_added: float | None
    tax_paid: float | None
    headcount: int | None
    land_own_mu: float | None
    land_leased_mu: float | None
    land_leased_out_mu: float | None
    land_used_mu: float | None
    energy_tce: float | None
    electricity_kwh: float | None
    rd_spending: float | None
    confirmed: bool | None
    tax_per_mu: float | None
    value_added_per_mu: float | None
    labour_productivity: float | None


class EnterpriseRun(_M):
    run_id: str
    year: int
    policy: str
    policy_version: str
    policy_name: str | None
    created_at: str
    class_: str = Field(alias="class")
    total_score: float | None
    rank: int | None
    unit_size: int | None
    population: str | None
    tax_per_mu: float | None
    value_added_per_mu: float | None
    surcharge_yuan: float | None
    county_adcode: str


class EnterpriseOut(_M):
    run: RunOut
    explain: dict[str, Any] = Field(description="jobs.mujun.explain: every indicator, benchmark, weight and score, "
                                                "the rank, the class rule and the consequences")
    years: list[EnterpriseYear]
    runs: list[EnterpriseRun]


class CompareOut(_M):
    a: RunOut
    b: RunOut
    region: dict[str, Any] | None
    classes: list[str]
    matrix: dict[str, dict[str, int]] = Field(description="class in A → class in B → firms")
    both: int
    moved: int
    up: int
    down: int
    movers_total: int
    movers: list[dict[str, Any]] = Field(description="firms that changed class, with the reasons (first 200)")
    only_a_total: int
    only_b_total: int
    only_a: list[dict[str, Any]]
    only_b: list[dict[str, Any]]
    surcharge: dict[str, float]
    surcharge_by_county: list[dict[str, Any]]
    benchmark_changes: list[dict[str, Any]]
    policy_changes: list[dict[str, Any]]


class ProgressRow(_M):
    adcode: str
    name: str | None
    firms: int
    reported: int
    confirmed: int
    above_scale: int
    reported_share: float | None
    confirmed_share: float | None


class CollectionOut(_M):
    year: int | None
    years: list[int]
    county: str | None
    counties: list[ProgressRow]
    towns: list[ProgressRow]
    total: dict[str, float | int | None] | None


class PresetBrief(_M):
    name: str
    display_name: str
    display_name_en: str
    version: str
    years: list[int]
    region: str
    confidence: str
    source: str


class PresetCompareOut(_M):
    a: dict[str, Any]
    b: dict[str, Any]
    diff: list[dict[str, Any]]


class JobOut(_M):
    job_id: str
    url: str = Field(description="the job's page; GET /api/v1/jobs/{job_id} for its status")


# ---- runs and results ------------------------------------------------------------------------

@router.get("/runs", response_model=list[RunListItem], summary="评价批次 Runs covering your region")
def api_runs(store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return dashboard.runs(store, scope)


@router.get("/runs/{run_id}", response_model=RunSummaryOut, summary="一个批次 A run inside your region")
def api_run(run_id: str, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    with reading():
        return dashboard.run_summary(store, scope, run_id)


@router.get("/runs/{run_id}/results", response_model=ResultsPage, summary="企业结果 Firms of a run, filtered")
def api_results(run_id: str, request: Request,
                class_: str | None = Query(None, alias="class", description="class code, e.g. D"),
                population: str | None = None, industry: str | None = Query(None, description="GB/T 4754 prefix"),
                county: str | None = None, town: str | None = None, zone: str | None = None,
                q: str | None = Query(None, description="name contains, or USCC starts with"),
                sort: Literal["class", "score", "rank", "tax_per_mu", "value_added_per_mu", "land", "tax", "name",
                              "surcharge"] = "class",
                desc: bool = False, page: int = Query(1, ge=1), per_page: int = Query(50, ge=1, le=500),
                store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    f = dashboard.Filters(cls=class_, population=population, industry=industry, county=county, town=town,
                          zone=zone, q=q)
    with reading():
        return dashboard.results(store, scope, run_id, f, sort=sort, desc=desc, page=page, per_page=per_page)


@router.get("/runs/{run_id}/bands", response_model=BandsOut, summary="亩均分档分布 Firms by per-mu band and class")
def api_bands(run_id: str, indicator: Literal["tax_per_mu", "value_added_per_mu", "revenue_per_mu",
                                              "labour_productivity"] = "tax_per_mu",
              class_: str | None = Query(None, alias="class"), population: str | None = None,
              industry: str | None = None, county: str | None = None, town: str | None = None,
              zone: str | None = None, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    f = dashboard.Filters(cls=class_, population=population, industry=industry, county=county, town=town, zone=zone)
    with reading():
        if f.county and not scope.covers(f.county):
            raise dashboard.OutOfScope(f"county {f.county} is outside your region")
        if f.town:
            dashboard.region_in_scope(store, scope, f.town)
        return dashboard.bands(store, scope, run_id, indicator, f)


@router.get("/runs/{run_id}/enterprises/{uscc}", response_model=EnterpriseOut,
            summary="一家企业 One firm: indicator breakdown, history over years and runs")
def api_enterprise(request: Request, run_id: str, uscc: str, store: Store = Depends(get_store),
                   scope: Scope = Depends(current_scope)):
    with reading():
        doc = dashboard.enterprise(store, scope, run_id, uscc)
    audit(request, store, "view_enterprise", target=uscc, detail={"page": "api.mujun", "run": run_id})
    return doc


@router.get("/runs/{run_id}/counties", response_model=CountyMetricsOut,
            summary="分县指标 The map's county metrics (your region's counties only)")
def api_counties(run_id: str, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    with reading():
        return dashboard.county_metrics(store, scope, run_id)


@router.get("/runs/{run_id}/regions/{adcode}", response_model=DrillOut,
            summary="下钻 A region's children with their figures (a town: its firms)")
def api_drill(run_id: str, adcode: str, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    with reading():
        return dashboard.drill(store, scope, run_id, adcode)


@router.get("/runs/{run_id}/headline", response_model=HeadlineOut,
            summary="核心指标与目标 Headline figures and the distance to targets")
def api_headline(run_id: str, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    with reading():
        return dashboard.headline(store, scope, run_id)


@router.get("/runs/{run_id}/review", response_model=dict[str, Any],
            summary="整改名单与低效用地 C/D firms' distance to class B and inefficient-land candidates")
def api_review(run_id: str, region: str | None = None, limit: int = Query(200, ge=0, le=1_000_000),
               store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    """``limit`` rows per list (0 = all), inside your region or the sub-region ``region``."""
    target = scope.narrow(store, region) if region else scope
    with reading():
        return dashboard.review(store, target, run_id, limit=limit)


@router.get("/compare", response_model=CompareOut, summary="两批次比较 Class transitions between two runs")
def api_compare(a: str, b: str, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    with reading():
        out = dashboard.transitions(store, scope, a, b)
    return out


@router.post("/runs", response_model=JobOut, status_code=202,
             summary="运行评价 Start an evaluation in the background (write roles, X-CSRF-Token)")
def api_start_run(request: Request, policy: str = Form(...), year: int = Form(...), region: str = Form(""),
                  store: Store = Depends(get_store), user: User = Depends(require_write),
                  scope: Scope = Depends(current_scope)):
    job_id = submit_evaluation(request, store, scope, user, policy, year, region)
    return {"job_id": job_id, "url": f"/jobs/{job_id}"}


@router.post("/runs/{run_id}/whatif", response_model=JobOut, status_code=202,
             summary="模拟 Re-evaluate a run's year with another preset, then compare (write roles)")
def api_whatif(request: Request, run_id: str, policy: str = Form(...), store: Store = Depends(get_store),
               user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    job_id = submit_whatif(request, store, scope, user, run_id, policy)
    return {"job_id": job_id, "url": f"/jobs/{job_id}"}


# ---- data, presets ---------------------------------------------------------------------------

@router.get("/collection", response_model=CollectionOut, tags=["data"],
            summary="采集进度 Share of firms with the year's data, by county (and town)")
def api_collection(year: int | None = None, county: str | None = None, store: Store = Depends(get_store),
                   scope: Scope = Depends(current_scope)):
    with reading():
        return dashboard.collection_progress(store, scope, year, county)


@router.get("/policies", response_model=list[PresetBrief], tags=["policies"], summary="评价办法 The presets")
def api_policies(user: User = Depends(current_user)):
    return dashboard.presets_list()


@router.get("/policies/compare", response_model=PresetCompareOut, tags=["policies"],
            summary="并排比较 Two presets side by side, with every field that differs")
def api_policies_compare(a: str, b: str, user: User = Depends(current_user)):
    try:
        return dashboard.presets_compare(a, b)
    except ShanhaiError as exc:
        raise PageError(404, f"没有该评价办法：{exc}", f"No such preset: {exc}") from None


@router.get("/policies/{name}", response_model=dict[str, Any], tags=["policies"], summary="一个评价办法 One preset")
def api_policy(name: str, user: User = Depends(current_user)):
    try:
        return dashboard.preset_summary(name)
    except ShanhaiError as exc:
        raise PageError(404, f"没有该评价办法：{exc}", f"No such preset: {exc}") from None
