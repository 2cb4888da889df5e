"""``/opportunities``: 一县一业 — a county's manufacturing classes by feasibility (density) and
attractiveness (complexity outlook gain), its economic complexity and rank, the declared lead
industries marked, and the suggestions to develop and to strengthen
(:func:`shanhai.jobs.opportunities.opportunities`); ``/api/v1/opportunities`` the same as JSON.

Only county × class totals are shown (no firm), for a county inside the caller's region (403
outside it; a city or the province is a 400: the analysis is per county)."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shanhai.jobs import dashboard
from shanhai.jobs import opportunities as jo
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_lang, get_store, render
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT

router = APIRouter()
NAV = [(35, "/opportunities", "一县一业", "Opportunities", None)]

TOP_MOST = 50


def workbook_available() -> bool:
    return importlib.util.find_spec("shanhai.reports.opportunities_excel") is not None


def county_of(store: Store, scope: Scope, region: str | None) -> str:
    """The county asked, else the caller's own county, else the first county of the caller's region."""
    if region:
        return region
    if scope.level == "county":
        return scope.adcode
    counties = dashboard.scope_regions(store, scope)
    return counties[0]["adcode"] if counties else scope.adcode


def scatter_payload(doc: dict, lang: str) -> dict:
    """What opportunities.js draws: every class at (density, COG), its value, whether the county
    has it, its suggestion (top ones only) and its declared lead industry."""
    top = {r["code"]: r["suggestion"] for r in doc["develop"] + doc["strengthen"]}
    points = [{"code": r["code"], "name": r["name"], "x": r["density"], "y": r["cog"], "value": r["value"],
               "pci": r["pci"], "rca": r["rca"], "present": r["present"], "lead": r["lead"],
               "top": top.get(r["code"]), "rank": r["rank"] if r["code"] in top else None}
              for r in doc["industries"] if r["density"] is not None and r["cog"] is not None]
    return {"lang": lang, "unit": doc["unit"], "measure": doc["measure_label"], "points": points}


@router.get("/opportunities", name="opportunities")
def opportunities_page(request: Request, region: str | None = Query(None), year: int | None = Query(None),
                       measure: str = Query("value_added", pattern="^(value_added|headcount)$"),
                       top: int = Query(10, ge=1, le=TOP_MOST), store: Store = Depends(get_store),
                       user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    county = county_of(store, scope, region)
    doc = jo.opportunities(store, county, scope=scope, year=year, measure=measure, top=top).as_dict()
    lang = get_lang(request)
    ctx = {"doc": doc, "fmt": FMT, "counties": dashboard.scope_regions(store, scope),
           "years": dashboard.data_years(store), "measures": jo.MEASURES, "measure": measure, "top": top,
           "scatter": scatter_payload(doc, lang), "export": workbook_available(),
           "q": {"region": county, "year": year, "measure": measure, "top": top}}
    return render(request, "opportunities.html", ctx)


@router.get("/api/v1/opportunities", response_model=dict[str, Any], tags=["opportunities"],
            summary="一县一业 A county's industries by feasibility and attractiveness, with suggestions")
def api_opportunities(region: str | None = Query(None, description="county adcode (default: your county)"),
                      year: int | None = None,
                      measure: str = Query("value_added", pattern="^(value_added|headcount)$"),
                      top: int = Query(10, ge=1, le=TOP_MOST),
                      industries: bool = Query(True, description="include every class (the scatter's points)"),
                      store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    doc = jo.opportunities(store, county_of(store, scope, region), scope=scope, year=year, measure=measure,
                           top=top).as_dict()
    if not industries:
        doc.pop("industries")
    return doc


@router.get("/opportunities/export.xlsx", name="opportunities_export")
def opportunities_export(request: Request, region: str | None = Query(None), year: int | None = Query(None),
                         measure: str = Query("value_added", pattern="^(value_added|headcount)$"),
                         top: int = Query(10, ge=1, le=TOP_MOST), store: Store = Depends(get_store),
                         user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    """The county's opportunities as a workbook (``reports.opportunities_excel``), audited."""
    if not workbook_available():
        raise PageError(404, "一县一业工作簿尚未安装。", "The opportunities workbook is not installed.")
    from shanhai.reports.opportunities_excel import opportunities_workbook

    result = jo.opportunities(store, county_of(store, scope, region), scope=scope, year=year, measure=measure,
                              top=top)
    with tempfile.TemporaryDirectory(prefix="shanhai-export-") as tmp:
        path = Path(tmp) / "opportunities.xlsx"
        opportunities_workbook(result, path)
        data = path.read_bytes()
    deps.audit(request, store, "export", target=f"opportunities:{result.adcode}",
               detail={"kind": "opportunities", "region": result.adcode, "year": result.year, "measure": measure,
                       "bytes": len(data), "fingerprint": result.provenance.get("fingerprint")})
    return attachment(data, f"{result.name}一县一业产业机会（{result.year}年度）.xlsx", XLSX)
