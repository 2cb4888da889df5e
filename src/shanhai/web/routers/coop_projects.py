"""``/coop/projects``, ``/coop/leads``, ``/coop/ledger``: 山海协作 investment projects (issue 7,
parts 3–5) — the project tracker with its red/amber/green lights, the stalled list and the KPIs by
county, city and pairing; the lead board, one lead's receiving counties ranked and the transfer
form (write roles; audited; a single write, so no background job); the credit and sharing ledger.
``/api/v1/coop/…`` the same as JSON.

Everything reads through :mod:`shanhai.jobs.projects`, :mod:`shanhai.jobs.leads` and
:mod:`shanhai.jobs.ledger` with the caller's ``Scope``: a region outside it is a 403, an unknown
lead a 404; investors outside the caller's region arrive masked and stay masked. Exports are
audited.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from shanhai.analysis.leads import COMPONENTS
from shanhai.analysis.projects import LIGHT_LABELS, LIGHTS, STAGE_LABELS
from shanhai.errors import ShanhaiError
from shanhai.jobs import dashboard
from shanhai.jobs import leads as jle
from shanhai.jobs import ledger as jld
from shanhai.jobs import projects as jp
from shanhai.policy._coop_projects import LIFECYCLE
from shanhai.reports import coop_excel as cx
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_lang, get_store, render, require_write
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT, cached_view

router = APIRouter()
NAV = [(41, "/coop/projects", "项目跟踪", "Projects", None)]

LIGHT_COLORS = {"green": "#1a9850", "amber": "#f39c12", "red": "#d73027"}
ROLE_LABELS = jp.ROLE_LABELS
PAGE_ROWS = 500
WRITE_WAIT_S = 10.0


def _regions(store: Store, scope: Scope) -> list[dict]:
    return dashboard.sub_regions(store, scope)


def _common(store: Store, scope: Scope, region_code: str, section: str) -> dict:
    return {"fmt": FMT, "regions": _regions(store, scope), "region_code": region_code, "section": section,
            "stage_labels": STAGE_LABELS, "lifecycle": LIFECYCLE, "light_labels": LIGHT_LABELS,
            "light_colors": LIGHT_COLORS, "lights": LIGHTS, "role_labels": ROLE_LABELS,
            "lead_status_labels": jle.STATUS_LABELS}


# ---- projects ------------------------------------------------------------------------------------

@router.get("/coop/projects", name="coop_projects")
def projects_page(request: Request, region: str | None = Query(None), as_of: str | None = Query(None),
                  light: str | None = Query(None), stage: str | None = Query(None), role: str | None = Query(None),
                  by: str = Query("county", pattern="^(county|city|pairing)$"),
                  store: Store = Depends(get_store), user: User = Depends(current_user),
                  scope: Scope = Depends(current_scope)):
    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        doc = jp.tracker(store, scope, region, as_of=as_of, light=light or None, stage=stage or None,
                         role=role or None)
        kpi = jp.kpis(store, scope, region, by=by, as_of=as_of)
        q = {"region": region or None, "as_of": as_of or None}
        return {**_common(store, scope, doc["region"]["adcode"], "projects"), "doc": doc, "kpi": kpi, "by": by,
                "q": q, "light": light or "", "stage": stage or "", "role": role or "",
                "rows": doc["projects"][:PAGE_ROWS], "export_q": FMT.query({**q, "light": light, "stage": stage,
                                                                             "role": role, "by": by})}

    # once per data version, scope, role, language and query (web/screens.cached_view)
    return render(request, "coop_projects.html", cached_view(request, store, scope, user, compute))


@router.get("/coop/projects/stalled", name="coop_projects_stalled")
def stalled_page(request: Request, region: str | None = Query(None), as_of: str | None = Query(None),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    doc = jp.stalled(store, scope, region, as_of=as_of)
    q = {"region": region or None, "as_of": as_of or None}
    ctx = {**_common(store, scope, doc["region"]["adcode"], "stalled"), "doc": doc, "q": q}
    return render(request, "coop_projects_stalled.html", ctx)


@router.get("/coop/projects/export.xlsx", name="coop_projects_export")
def projects_export(request: Request, region: str | None = Query(None), as_of: str | None = Query(None),
                    light: str | None = Query(None), stage: str | None = Query(None), role: str | None = Query(None),
                    by: str = Query("county", pattern="^(county|city|pairing)$"),
                    store: Store = Depends(get_store), user: User = Depends(current_user),
                    scope: Scope = Depends(current_scope)):
    """The tracker, the stalled list and the KPIs as a workbook, audited."""
    doc = jp.tracker(store, scope, region, as_of=as_of, light=light or None, stage=stage or None, role=role or None)
    kpi = jp.kpis(store, scope, region, by=by, as_of=as_of)
    data = cx.projects_workbook(doc, [kpi])
    deps.audit(request, store, "export", target=f"coop:projects:{doc['region']['adcode']}",
               detail={"kind": "coop_projects", "region": doc["region"]["adcode"], "rows": len(doc["projects"]),
                       "masked": sum(1 for p in doc["projects"] if p["investor_masked"]), "bytes": len(data),
                       "basis": doc["basis"]})
    return attachment(data, f"{doc['region']['name']}招商项目跟踪（截至{doc['basis']['as_of']}）.xlsx", XLSX)


# ---- leads ---------------------------------------------------------------------------------------

@router.get("/coop/leads", name="coop_leads")
def leads_page(request: Request, region: str | None = Query(None), status: str | None = Query(None),
               store: Store = Depends(get_store), user: User = Depends(current_user),
               scope: Scope = Depends(current_scope)):
    doc = jle.leads(store, scope, region, status=status or None)
    ctx = {**_common(store, scope, doc["region"]["adcode"], "leads"), "doc": doc, "status": status or "",
           "q": {"region": region or None}, "chain_names": _chain_names(store)}
    return render(request, "coop_leads.html", ctx)


def _chain_names(store: Store) -> dict[str, tuple[str, str]]:
    """chain id → (name, English name): a lead names its chain, not its id (modern_textiles)."""
    from shanhai.jobs.chains import chain_list

    return {c.chain_id: (c.name, c.name_en or c.name) for c in chain_list(store)}


def _rank_view(doc: dict, lang: str) -> dict:
    for r in doc["ranked"]:
        r["bar"] = [{"key": k, "label": zh if lang == "zh" else en, "points": r["points"].get(k, 0.0)}
                    for k, zh, en in COMPONENTS]
        r["why"] = r["reasons_en"] if lang == "en" else r["reasons"]
    return doc


@router.get("/coop/leads/{lead_id}", name="coop_leads_lead")
def lead_page(request: Request, lead_id: str, limit: int = Query(30, ge=1, le=200),
              done: str | None = Query(None, max_length=80), store: Store = Depends(get_store),
              user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    doc = _rank_view(jle.rank(store, scope, lead_id), get_lang(request))
    lead = doc["lead"]
    counties = [c for c in dashboard.scope_regions(store, Scope.province()) if c["adcode"] != lead["found_by_adcode"]]
    ctx = {**_common(store, scope, scope.adcode, "leads"), "doc": doc, "lead": lead,
           "ranked": doc["ranked"][:limit], "limit": limit, "counties": counties, "components": COMPONENTS,
           "can_transfer": user.can_write and scope.covers(lead["found_by_adcode"]) and lead["status"] != "dropped",
           "done": done, "q": {}, "chain_names": _chain_names(store)}
    return render(request, "coop_leads_lead.html", ctx)


def _write_lock(request: Request):
    runner = request.app.state.jobs
    if not runner.write_lock.acquire(timeout=WRITE_WAIT_S):
        raise PageError(503, "系统正忙（后台任务正在写入），请稍后再试。",
                        "The system is busy (a background job is writing): try again in a moment.")
    return runner.write_lock


def _transfer(request: Request, store: Store, scope: Scope, user: User, lead_id: str, to_adcode: str,
              transferred_on: str | None, note: str | None, project_id: str | None) -> dict:
    jle.lead(store, scope, lead_id)                  # 404 unknown, 403 not the caller's lead
    lock = _write_lock(request)
    try:
        return jle.transfer_lead(store, scope, lead_id, to_adcode, user=user.username,
                                 transferred_on=transferred_on or None, note=note, project_id=project_id or None)
    finally:
        lock.release()


@router.post("/coop/leads/{lead_id}/transfer", name="coop_leads_transfer")
def transfer_form(request: Request, lead_id: str, to_adcode: str = Form(...), transferred_on: str = Form(""),
                  note: str = Form(""), project_id: str = Form(""), store: Store = Depends(get_store),
                  user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    """Record the transfer (the finder's side only), then back to the lead's page."""
    row = _transfer(request, store, scope, user, lead_id, to_adcode, transferred_on, note, project_id)
    return RedirectResponse(f"/coop/leads/{quote(lead_id)}?done={quote(row['to_adcode'])}", status_code=303)


@router.get("/coop/leads/{lead_id}/rank.xlsx", name="coop_leads_rank_export")
def rank_export(request: Request, lead_id: str, store: Store = Depends(get_store),
                user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    doc = jle.rank(store, scope, lead_id)
    data = cx.rank_workbook(doc)
    deps.audit(request, store, "export", target=f"coop:lead:{lead_id}",
               detail={"kind": "coop_lead_rank", "lead": lead_id, "rows": len(doc["ranked"]), "bytes": len(data),
                       "basis": doc["basis"]})
    return attachment(data, f"{doc['lead']['name']}承接地排序.xlsx", XLSX)


# ---- ledger --------------------------------------------------------------------------------------

@router.get("/coop/ledger", name="coop_ledger")
def ledger_page(request: Request, region: str | None = Query(None), year: int | None = Query(None),
                store: Store = Depends(get_store), user: User = Depends(current_user),
                scope: Scope = Depends(current_scope)):
    doc = jld.ledger(store, scope, region, year=year)
    sched = jld.schedules(store, scope, region)
    q = {"region": region or None, "year": year}
    ctx = {**_common(store, scope, doc["region"]["adcode"], "ledger"), "doc": doc, "schedules": sched, "q": q,
           "export_q": FMT.query(q)}
    return render(request, "coop_ledger.html", ctx)


@router.get("/coop/ledger/export.xlsx", name="coop_ledger_export")
def ledger_export(request: Request, region: str | None = Query(None), year: int | None = Query(None),
                  store: Store = Depends(get_store), user: User = Depends(current_user),
                  scope: Scope = Depends(current_scope)):
    doc = jld.ledger(store, scope, region, year=year)
    data = cx.ledger_workbook(doc)
    deps.audit(request, store, "export", target=f"coop:ledger:{doc['region']['adcode']}:{doc['year']}",
               detail={"kind": "coop_ledger", "region": doc["region"]["adcode"], "year": doc["year"],
                       "rows": len(doc["rows"]), "bytes": len(data), "basis": doc["basis"]})
    return attachment(data, f"{doc['region']['name']}山海协作台账（{doc['year']}年）.xlsx", XLSX)


# ---- JSON API ------------------------------------------------------------------------------------

@router.get("/api/v1/coop/projects", response_model=dict[str, Any], tags=["coop"],
            summary="项目跟踪 Projects the region is involved in, with lights, KPIs and the stalled ones")
def api_projects(region: str | None = None, as_of: str | None = None, light: str | None = None,
                 stage: str | None = None, role: str | None = None, store: Store = Depends(get_store),
                 scope: Scope = Depends(current_scope)):
    return jp.tracker(store, scope, region, as_of=as_of, light=light or None, stage=stage or None, role=role or None)


@router.get("/api/v1/coop/projects/stalled", response_model=dict[str, Any], tags=["coop"],
            summary="停滞项目 Projects without a new stage for months, and red ones")
def api_stalled(region: str | None = None, as_of: str | None = None, store: Store = Depends(get_store),
                scope: Scope = Depends(current_scope)):
    return jp.stalled(store, scope, region, as_of=as_of)


@router.get("/api/v1/coop/projects/kpis", response_model=dict[str, Any], tags=["coop"],
            summary="项目指标 Contracts honoured, funds in place, started, producing — by county, city or pairing")
def api_kpis(region: str | None = None, by: str = Query("county", pattern="^(county|city|pairing)$"),
             as_of: str | None = None, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jp.kpis(store, scope, region, by=by, as_of=as_of)


@router.get("/api/v1/coop/leads", response_model=dict[str, Any], tags=["coop"],
            summary="招商线索 Leads the region found or received")
def api_leads(region: str | None = None, status: str | None = None, store: Store = Depends(get_store),
              scope: Scope = Depends(current_scope)):
    return jle.leads(store, scope, region, status=status or None)


@router.get("/api/v1/coop/leads/{lead_id}", response_model=dict[str, Any], tags=["coop"],
            summary="承接地排序 One lead and the counties ranked to receive it")
def api_lead(lead_id: str, limit: int | None = Query(None, ge=1, le=200), store: Store = Depends(get_store),
             scope: Scope = Depends(current_scope)):
    return jle.rank(store, scope, lead_id, limit=limit)


@router.post("/api/v1/coop/leads/{lead_id}/transfer", response_model=dict[str, Any], tags=["coop"],
             summary="项目流转 Record a lead's transfer to a county (the finder's side; audited)")
def api_transfer(request: Request, lead_id: str, payload: dict[str, Any] = Body(...),
                 store: Store = Depends(get_store), user: User = Depends(require_write),
                 scope: Scope = Depends(current_scope)):
    to = payload.get("to_adcode")
    if not isinstance(to, str) or not to.strip():
        raise ShanhaiError("to_adcode (the receiving county's adcode) is required")
    text = {k: (str(payload[k]) if payload.get(k) not in (None, "") else None)
            for k in ("transferred_on", "note", "project_id")}
    return _transfer(request, store, scope, user, lead_id, to, text["transferred_on"], text["note"],
                     text["project_id"])


@router.get("/api/v1/coop/ledger", response_model=dict[str, Any], tags=["coop"],
            summary="协作台账 Credit, dual counting and sharing per county in a year (totals add landing rows only)")
def api_ledger(region: str | None = None, year: int | None = None, store: Store = Depends(get_store),
               scope: Scope = Depends(current_scope)):
    return jld.ledger(store, scope, region, year=year)


@router.get("/api/v1/coop/ledger/schedules", response_model=list[dict[str, Any]], tags=["coop"],
            summary="分成方案 The sharing schedule of every shared project the region is involved in")
def api_schedules(region: str | None = None, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jld.schedules(store, scope, region)
