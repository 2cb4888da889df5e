"""``/carbon``: energy and carbon — the county map of carbon intensity and low-carbon share, the
grade and level counts, the low-carbon industries of the caller's region against the 0.6 t/万元
line and the 55 % target, the firms by grade; ``/carbon/firms/{uscc}``: a firm's 碳效码 badge,
its history, its energy by carrier and a what-if with another grid-factor series, geography,
aggregation or deduction; ``/carbon/grade`` (POST; province-wide write roles) stores a run in the
background; ``/carbon/export.xlsx`` the workbook; ``/api/v1/carbon/…`` the same as JSON.

Everything reads through :mod:`shanhai.jobs.carbon` with the caller's ``Scope``: firms and region
cells outside it are never returned (a firm outside: 403; unknown: 404). Exports are audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import carbon as jc
from shanhai.policy._carbon import GEOGRAPHIES, factors as load_factors
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_lang, get_store, render, require_write
from shanhai.web.jobs import submit
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT

router = APIRouter()
NAV = [(48, "/carbon", "碳效", "Carbon", None)]
GRADE_COLORS = {"1": "#1a9850", "2": "#91cf60", "3": "#fee08b", "4": "#fc8d59", "5": "#d73027", "none": "#bdbdbd"}


# the settings of a carbon run in words (policy/carbon/factors-default.toml: grid series and geographies;
# the industry average of the grading preset)
GRID_SERIES_LABELS = {
    "mee_nbs_average": ("全国电力平均二氧化碳排放因子（生态环境部、国家统计局）", "MEE/NBS average grid factor"),
    "mee_nbs_excl_market": ("不含市场化交易非化石能源电量的电力平均排放因子", "MEE/NBS factor excluding market-traded non-fossil power"),
    "mee_nbs_fossil": ("化石能源电力二氧化碳排放因子", "MEE/NBS fossil-power factor"),
    "carbon_market_2022": ("全国碳市场电网排放因子（2022）", "carbon-market grid factor (2022)"),
}
GRID_GEOGRAPHY_LABELS = {"national": ("全国", "national"), "east_china": ("华东区域", "East China"),
                         "zhejiang": ("浙江省", "Zhejiang")}
AGGREGATION_LABELS = {"ratio_of_sums": ("总量比（行业Σ排放 ÷ Σ增加值）", "ratio of sums"),
                      "mean_of_ratios": ("企业强度平均", "mean of the firms' ratios")}


def _series() -> list[str]:
    return load_factors("default").series()


@router.get("/carbon", name="carbon")
def carbon_page(request: Request, year: int | None = Query(None), run: str | None = Query(None, max_length=80),
                grade: int | None = Query(None, ge=1, le=5), store: Store = Depends(get_store),
                user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    lang = get_lang(request)
    try:
        doc = jc.grades(store, scope, run, year=year, grade=grade, limit=200)
    except NotFoundError:
        if run:
            raise
        doc = None
    ctx: dict = {"fmt": FMT, "doc": doc, "colors": GRADE_COLORS, "grade": grade,
                 "can_grade": user.can_write and scope.is_province, "energy_years": jc.energy_years(store)}
    if doc is not None:
        rid, y = doc["run"]["run_id"], doc["year"]
        ctx["runs"] = jc.runs(store, scope, limit=30)
        ctx["industries"] = jc.industries(store, scope, rid, year=y)
        ctx["share"] = jc.share(store, scope, rid, year=y)
        ctx["own_share"] = next((r for r in ctx["share"]["rows"] if r["adcode"] == scope.adcode), None)
        m = jc.map_data(store, scope, rid, year=y)
        ctx["map"] = {**m, "lang": lang, "region": scope.as_dict()}
        ctx["chart"] = {"lang": lang, "line": ctx["share"]["line"],
                        "industries": [{"code": r["industry"], "name": r["industry_name"], "intensity": r["intensity"],
                                        "low": r["low_carbon"]} for r in ctx["industries"]["industries"]],
                        "grades": [{"grade": k, "n": v, "color": GRADE_COLORS[k]} for k, v in doc["by_grade"].items()]}
        ctx["export_q"] = FMT.query({"run": rid, "year": y})
        ctx["q"] = {"run": rid, "year": y}
    return render(request, "carbon.html", ctx)


def submit_grading(store: Store, scope: Scope, user: User, year: int | None, grid_series: str | None,
                   grid_geography: str | None) -> str:
    if not scope.is_province:
        raise PageError(403, "碳效评级以全省行业平均为基准，只能由省级用户发起。",
                        "Carbon grading compares firms with province-wide industry averages: only province-wide users may run it.")
    if year is not None and year not in jc.energy_years(store):
        raise PageError(400, f"没有 {year} 年度的能源数据。", f"There is no energy data for {year}.")
    try:
        jc._preset("default", grid_series=grid_series, grid_geography=grid_geography)
    except ShanhaiError as exc:
        raise PageError(400, f"因子设置无效：{exc}", f"Invalid factor setting: {exc}") from None
    username = user.username

    def job(progress):
        doc = jc.run(progress.store, year=year, grid_series=grid_series, grid_geography=grid_geography,
                     user=username, progress=progress.fraction)
        return {"url": f"/carbon?{FMT.query({'run': doc['run_id']})}",
                "message": f"{','.join(map(str, doc['years']))}：{doc['firm_years']} 企业年，评级 {doc['graded']}，"
                           f"不评级 {doc['flagged']}（批次 {doc['run_id']}）"}

    return submit("carbon", f"碳效评级 {year or ''}".strip(), job, user)


@router.post("/carbon/grade", name="carbon_grade")
def grade_form(request: Request, year: str = Form(""), grid_series: str = Form("", max_length=40),
               geography: str = Form("", max_length=20), store: Store = Depends(get_store),
               user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    try:
        y = int(year) if year.strip() else None
    except ValueError:
        raise PageError(400, f"年度 {year!r} 无效。", f"Year {year!r} is not a year.") from None
    job_id = submit_grading(store, scope, user, y, grid_series or None, geography or None)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/carbon/export.xlsx", name="carbon_export")
def carbon_export(request: Request, year: int | None = Query(None), run: str | None = Query(None, max_length=80),
                  store: Store = Depends(get_store), user: User = Depends(current_user),
                  scope: Scope = Depends(current_scope)):
    """The run's grades of the caller's firms, industries and share, as a workbook (audited)."""
    from shanhai.reports.carbon_excel import workbook_bytes

    doc = jc.export_doc(store, scope, run, year=year)
    data = workbook_bytes(doc)
    deps.audit(request, store, "export", target=f"carbon:{doc['run']['run_id']}",
               detail={"kind": "carbon", "run": doc["run"]["run_id"], "region": scope.adcode, "year": doc["year"],
                       "rows": len(doc["grades"]["firms"]), "bytes": len(data)})
    return attachment(data, f"工业碳效码（{doc['year']}年）.xlsx", XLSX)


@router.get("/carbon/firms/{uscc}", name="carbon_firm")
def firm_page(request: Request, uscc: str, run: str | None = Query(None, max_length=80),
              grid_series: str | None = Query(None, max_length=40), geography: str | None = Query(None, max_length=20),
              aggregation: str | None = Query(None, max_length=20), deduct: str | None = Query(None, max_length=5),
              year: int | None = Query(None), store: Store = Depends(get_store), user: User = Depends(current_user),
              scope: Scope = Depends(current_scope)):
    doc = jc.firm(store, scope, uscc, run)
    deps.audit(request, store, "view_enterprise", target=uscc, detail={"page": "carbon", "run": run})
    lang = get_lang(request)
    what_if = None
    d = {"true": True, "false": False}.get(deduct or "")
    if any(v for v in (grid_series, geography, aggregation)) or d is not None:
        try:
            what_if = jc.what_if(store, scope, uscc, year=year, grid_series=grid_series or None,
                                 grid_geography=geography or None, aggregation=aggregation or None, deduct=d)
        except ShanhaiError as exc:
            raise PageError(400, f"假设设置无效：{exc}", f"Invalid what-if setting: {exc}") from None
    history = {"lang": lang, "years": [h["year"] for h in doc["history"]],
               "intensity": [h["intensity"] for h in doc["history"]], "k": [h["k"] for h in doc["history"]],
               "industry": [h["industry_intensity"] for h in doc["history"]]}
    return render(request, "carbon_firm.html", {"fmt": FMT, "doc": doc, "what_if": what_if, "colors": GRADE_COLORS,
                                                "history_chart": history, "series": _series(), "geographies": GEOGRAPHIES,
                                                "q": {"grid_series": grid_series, "geography": geography,
                                                      "aggregation": aggregation, "deduct": deduct}})


# ---- JSON API ------------------------------------------------------------------------------------

@router.get("/api/v1/carbon/grades", response_model=dict[str, Any], tags=["carbon"],
            summary="碳效码 A carbon run's firm grades in your region for a year, with counts")
def api_grades(run: str | None = None, year: int | None = None, grade: int | None = None, level: str | None = None,
               limit: int = Query(500, ge=1, le=100_000), store: Store = Depends(get_store),
               scope: Scope = Depends(current_scope)):
    return jc.grades(store, scope, run, year=year, grade=grade, level=level, limit=limit)


@router.get("/api/v1/carbon/runs", response_model=list[dict[str, Any]], tags=["carbon"],
            summary="碳效批次 Stored carbon runs overlapping your region, newest first")
def api_runs(store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jc.runs(store, scope)


@router.post("/api/v1/carbon/grade", response_model=dict[str, Any], tags=["carbon"],
             summary="评级 Grade the province's firms (a new run), in the background (province users)")
def api_grade(payload: dict[str, Any] = Body(...), store: Store = Depends(get_store),
              user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    year = payload.get("year")
    if year is not None and not isinstance(year, int):
        raise ShanhaiError("year must be an integer year")
    job_id = submit_grading(store, scope, user, year, payload.get("grid_series"), payload.get("grid_geography"))
    return {"job_id": job_id, "url": f"/jobs/{job_id}"}


@router.get("/api/v1/carbon/industries", response_model=dict[str, Any], tags=["carbon"],
            summary="低碳产业 Each industry's intensity in a region of yours, under the line or not")
def api_industries(run: str | None = None, year: int | None = None, region: str | None = None,
                   store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jc.industries(store, scope, run, year=year, adcode=region)


@router.get("/api/v1/carbon/share", response_model=dict[str, Any], tags=["carbon"],
            summary="低碳占比 The low-carbon share of manufacturing VA against the target, by region and year")
def api_share(run: str | None = None, year: int | None = None, store: Store = Depends(get_store),
              scope: Scope = Depends(current_scope)):
    return jc.share(store, scope, run, year=year)


@router.get("/api/v1/carbon/factors", response_model=dict[str, Any], tags=["carbon"],
            summary="因子 The conversion factor set with sources")
def api_factors(name: str = "default"):
    return jc.factor_table(name)


@router.get("/api/v1/carbon/firms/{uscc}", response_model=dict[str, Any], tags=["carbon"],
            summary="企业碳效码 A firm of your region: badge, history, energy by carrier")
def api_firm(request: Request, uscc: str, run: str | None = None, store: Store = Depends(get_store),
             scope: Scope = Depends(current_scope)):
    doc = jc.firm(store, scope, uscc, run)
    deps.audit(request, store, "view_enterprise", target=uscc, detail={"page": "api.carbon", "run": run})
    return doc


@router.get("/api/v1/carbon/firms/{uscc}/what-if", response_model=dict[str, Any], tags=["carbon"],
            summary="假设 A firm's grade under another grid series, geography, aggregation or deduction")
def api_what_if(request: Request, uscc: str, year: int | None = None, grid_series: str | None = None,
                geography: str | None = None, aggregation: str | None = None, deduct: bool | None = None,
                store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    doc = jc.what_if(store, scope, uscc, year=year, grid_series=grid_series, grid_geography=geography,
                     aggregation=aggregation, deduct=deduct)
    deps.audit(request, store, "view_enterprise", target=uscc, detail={"page": "api.carbon.what_if"})
    return doc
