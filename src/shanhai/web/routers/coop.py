"""``/coop``: 山海协作 for the 26 mountain counties (issue 7, parts 1 and 6) — the Zhejiang map with
the 26 coloured by a metric, their headline figures and the progress of the 产业链山海协作行动计划
(``/coop``); one county's profile (``/coop/counties/{adcode}``: category, lead industries and the
opportunity suggestions, per-mu figures against the category targets, partners, enclaves, projects
and chain statuses); the enclaves (``/coop/enclaves``); their workbooks; and the same as JSON under
``/api/v1/coop/…``.

Everything is read through :mod:`shanhai.jobs.coop_profile` with the caller's ``Scope``: a county
outside it is a 403 on the profile; the 26-county table shows every county's public aggregates
(projects only and money figures behind fewer than three above-scale firms never for a county
outside the region; no firm is named anywhere). The category split is not verified, and every
screen that shows a category says so."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shanhai.jobs import coop_profile as jp
from shanhai.jobs import dashboard
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import current_scope, current_user, get_lang, get_store, render
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT, cached_view

router = APIRouter()
NAV = [(39, "/coop", "山海协作", "Mountain–sea", None)]

# the map's metric switch: id → (中文, English, unit)
MAP_METRICS = {
    "tax_per_mu": ("规上亩均税收", "Tax per mu (above-scale)", "万元/亩"),
    "value_added_per_mu": ("规上亩均增加值", "Value added per mu (above-scale)", "万元/亩"),
    "labour_productivity": ("全员劳动生产率", "Labour productivity", "万元/人"),
    "value_added_yi": ("规上工业增加值", "Above-scale value added", "亿元"),
    "above_scale": ("规上企业数", "Above-scale firms", "家"),
    "new_above_scale": ("当年新上规企业", "Firms newly above scale", "家"),
}
LIGHT_COLORS = {"green": "#1a9850", "amber": "#f39c12", "red": "#d73027", "grey": "#9e9e9e"}
STATUS_COLORS = {"strong": "#1a9850", "present": "#4575b4", "weak": "#f39c12", "missing": "#d73027",
                 "outside": "#9e9e9e"}
STATUS_LABELS = {"strong": ("优势", "strong"), "present": ("具备", "present"), "weak": ("薄弱", "weak"),
                 "missing": ("缺失", "missing"), "outside": ("非制造", "outside")}


def _years(store: Store) -> list[int]:
    return dashboard.data_years(store)


def map_payload(doc: dict, scope: Scope, metric: str) -> dict:
    """What map.js draws: the 26 counties with the metrics (counties outside the 26 are grey); a
    county links to its profile only when the caller may open it."""
    counties = []
    for r in doc["rows"]:
        counties.append({
            "adcode": r["adcode"], "name": r["name"], "city_adcode": r["city_adcode"], "mountain26": True,
            "firms": r["firms"], "tax_per_mu": r["tax_per_mu"], "value_added_per_mu": r["value_added_per_mu"],
            "labour_productivity": r["labour_productivity"],
            "value_added_yi": None if r["value_added"] is None else r["value_added"] / 10_000,
            "above_scale": r["above_scale"], "new_above_scale": r["new_above_scale"],
            "href": f"/coop/counties/{r['adcode']}" if r["in_scope"] else None})
    return {"metrics": [{"id": k, "label": zh, "label_en": en, "unit": u} for k, (zh, en, u) in MAP_METRICS.items()],
            "counties": counties, "mountain26": [r["adcode"] for r in doc["rows"]],
            "region": {"adcode": "330000", "level": "province", "city_adcode": None, "county_adcode": None},
            "metric": metric}


def progress_payload(progress: dict, lang: str) -> dict:
    """What coop.js draws: each target's share achieved against calendar progress, by its light."""
    en = lang == "en"
    return {"lang": lang, "items": [
        {"id": i["id"], "label": f"{i['target_year']} · " + (i["label_en"] if en else i["label"]),
         "achieved": i["achieved"], "schedule": i["schedule"], "light": i["light"],
         "color": LIGHT_COLORS[i["light"]], "actual": i["actual"], "target": i["target"], "unit": i["unit"]}
        for i in progress["items"]]}


@router.get("/coop", name="coop")
def coop_page(request: Request, year: int | None = Query(None), metric: str = Query("tax_per_mu"),
              store: Store = Depends(get_store), user: User = Depends(current_user),
              scope: Scope = Depends(current_scope)):
    if metric not in MAP_METRICS:
        metric = "tax_per_mu"

    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        doc = jp.overview(store, scope, year)
        progress = jp.action_plan_progress(store, scope, doc["year"])
        return {"doc": doc, "progress": progress, "fmt": FMT, "years": _years(store), "metric": metric,
                "metrics": MAP_METRICS, "map_payload": map_payload(doc, scope, metric),
                "progress_payload": progress_payload(progress, get_lang(request)), "light_colors": LIGHT_COLORS,
                "q": {"year": year}}

    # once per data version, scope, role, language and query (web/screens.cached_view)
    return render(request, "coop.html", cached_view(request, store, scope, user, compute))


@router.get("/coop/export.xlsx", name="coop_export")
def coop_export(request: Request, year: int | None = Query(None), store: Store = Depends(get_store),
                user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    """The 26 counties and the action plan's progress as a workbook, audited."""
    from shanhai.reports.coop_profile_excel import overview_workbook

    doc = jp.overview(store, scope, year)
    progress = jp.action_plan_progress(store, scope, doc["year"])
    data = overview_workbook(doc, progress)
    deps.audit(request, store, "export", target="coop:counties",
               detail={"kind": "coop_counties", "year": doc["year"], "bytes": len(data),
                       "suppressed": doc["totals"]["suppressed"], "fingerprint": doc["basis"]["data_fingerprint"]})
    return attachment(data, f"山区26县山海协作概览（{doc['year']}年度）.xlsx", XLSX)


@router.get("/coop/enclaves", name="coop_enclaves")
def enclaves_page(request: Request, year: int | None = Query(None, ge=2000, le=2100), store: Store = Depends(get_store),
                  user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    doc = jp.enclaves(store, scope, year)
    lang = get_lang(request)
    chart = {"lang": lang, "years": [r["year"] for r in doc["returns_by_year"]],
             "amounts": [r["amount"] for r in doc["returns_by_year"]]}
    ctx = {"doc": doc, "fmt": FMT, "years": _years(store), "chart": chart, "q": {"year": year}}
    return render(request, "coop_enclaves.html", ctx)


@router.get("/coop/enclaves.xlsx", name="coop_enclaves_export")
def enclaves_export(request: Request, year: int | None = Query(None, ge=2000, le=2100), store: Store = Depends(get_store),
                    user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    from shanhai.reports.coop_profile_excel import enclaves_workbook

    doc = jp.enclaves(store, scope, year)
    data = enclaves_workbook(doc)
    deps.audit(request, store, "export", target="coop:enclaves",
               detail={"kind": "coop_enclaves", "year": doc["year"], "rows": len(doc["enclaves"]),
                       "hidden": doc["hidden"], "bytes": len(data)})
    return attachment(data, f"山海协作飞地（{doc['year']}年）.xlsx", XLSX)


def targets_payload(doc: dict, lang: str) -> dict:
    """What coop.js draws on a profile: each per-mu target's achievement (actual ÷ target)."""
    en = lang == "en"
    items = [t for t in doc["targets"] if t["indicator"] in ("tax_per_mu", "labour_productivity")]
    return {"lang": lang, "items": [
        {"label": (t["label_en"] if en else t["label"]) + (" *" if t.get("unverified") else ""),
         "actual": t["actual"], "target": t["target"], "unit": t["unit"], "met": t["met"]} for t in items]}


@router.get("/coop/counties/{adcode}", name="coop_county")
def county_page(request: Request, adcode: str, year: int | None = Query(None), store: Store = Depends(get_store),
                user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    doc = jp.profile(store, scope, adcode, year)
    lang = get_lang(request)
    ctx = {"doc": doc, "fmt": FMT, "years": _years(store), "status_colors": STATUS_COLORS,
           "status_labels": STATUS_LABELS, "targets_payload": targets_payload(doc, lang),
           "stage_labels": jp.PROJECT_STAGES, "q": {"year": year}}
    return render(request, "coop_county.html", ctx)


@router.get("/coop/counties/{adcode}/profile.xlsx", name="coop_county_export")
def county_export(request: Request, adcode: str, year: int | None = Query(None), store: Store = Depends(get_store),
                  user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    from shanhai.reports.coop_profile_excel import profile_workbook

    doc = jp.profile(store, scope, adcode, year)
    data = profile_workbook(doc)
    c = doc["county"]
    deps.audit(request, store, "export", target=f"coop:county:{c['adcode']}",
               detail={"kind": "coop_profile", "region": c["adcode"], "year": doc["year"], "bytes": len(data),
                       "fingerprint": doc["basis"]["data_fingerprint"]})
    return attachment(data, f"{c['name']}山海协作画像（{doc['year']}年度）.xlsx", XLSX)


# ---- JSON API ---------------------------------------------------------------------------------

@router.get("/api/v1/coop/counties", response_model=dict[str, Any], tags=["coop"],
            summary="山区26县 The 26 mountain counties with their headline figures")
def api_counties(request: Request, year: int | None = Query(None, description="data year (default: the latest)"),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    return cached_view(request, store, scope, user, lambda store: jp.overview(store, scope, year))


@router.get("/api/v1/coop/counties/{adcode}", response_model=dict[str, Any], tags=["coop"],
            summary="山区县画像 One mountain county's profile (inside your region)")
def api_county(adcode: str, year: int | None = Query(None, description="data year (default: the latest)"),
               store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jp.profile(store, scope, adcode, year)


@router.get("/api/v1/coop/targets", response_model=dict[str, Any], tags=["coop"],
            summary="行动计划目标 The action plan's 2023 and 2025 targets: value, gap, light")
def api_targets(year: int | None = Query(None, description="data year (default: the latest)"),
                store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jp.action_plan_progress(store, scope, year)


@router.get("/api/v1/coop/enclaves", response_model=dict[str, Any], tags=["coop"],
            summary="飞地 Enclaves with host, owner, returns and the progress to 30")
def api_enclaves(year: int | None = Query(None, ge=2000, le=2100, description="year (default: the latest data year)"),
                 store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jp.enclaves(store, scope, year)
