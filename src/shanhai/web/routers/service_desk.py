"""``/service/requests``, ``/service/lists``, ``/service/pipeline``: the enterprise service desk for
officers (issue 12) — the request queue with working-day clocks and overdue colours, one request
with its due dates, state history and actions (write roles, CSRF, audited), the KPIs with their
definitions; the key and struggling lists with officers and one-to-one service tasks; the listing
pipeline board with targets; a firm's service page that issues and revokes its enterprise-portal
access links (QR code rendered server-side as SVG with segno). ``/api/v1/service/…`` the same as
JSON. Everything reads through the jobs with the caller's Scope (403 outside, 404 unknown); a page
or response that shows one firm records ``view_enterprise``, every export ``export``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from shanhai.errors import ShanhaiError
from shanhai.jobs import dashboard
from shanhai.jobs import service_lists as jl
from shanhai.jobs import service_pipeline as jp
from shanhai.jobs import service_requests as jr
from shanhai.policy._service_desk import CHANNELS, LIST_KINDS, MILESTONE_LABELS, MILESTONES, STATE_LABELS
from shanhai.policy._service_desk import pipeline as pipeline_preset, routing
from shanhai.reports.service_desk_excel import lists_workbook, pipeline_workbook, requests_workbook
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.store.sql import literal
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_store, render, require_roles, require_write
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT

router = APIRouter()
NAV = [(62, "/service/requests", "企业诉求", "Requests", None),
       (63, "/service/lists", "重点企业", "Key firms", None),
       (64, "/service/pipeline", "上市梯队", "Listing pipeline", None)]
WRITE_WAIT_S = 10.0
BUILD_ROLES = ("province",)


def _write_lock(request: Request):
    runner = request.app.state.jobs
    if not runner.write_lock.acquire(timeout=WRITE_WAIT_S):
        raise PageError(503, "系统正忙（后台任务正在写入），请稍后再试。",
                        "The system is busy (a background job is writing): try again in a moment.")
    return runner.write_lock


def _common(store: Store, scope: Scope, region_code: str, section: str) -> dict:
    return {"fmt": FMT, "regions": dashboard.sub_regions(store, scope), "region_code": region_code,
            "section": section, "state_labels": STATE_LABELS, "clock_labels": jr.CLOCK_LABELS,
            "action_labels": jr.ACTION_LABELS, "list_kinds": LIST_KINDS, "milestone_labels": MILESTONE_LABELS,
            "milestones": MILESTONES}


# ---- requests ------------------------------------------------------------------------------------

@router.get("/service/requests", name="desk_requests")
def requests_page(request: Request, region: str | None = Query(None), status: str = Query("open"),
                  overdue: bool = Query(False), store: Store = Depends(get_store), user: User = Depends(current_user),
                  scope: Scope = Depends(current_scope)):
    doc = jr.list_requests(store, scope, region, status=status or "open", overdue=overdue, limit=500)
    kpi = jr.kpis(store, scope, region)
    q = {"region": region or None, "status": status or None}
    ctx = {**_common(store, scope, doc["region"]["adcode"], "requests"), "doc": doc, "kpi": kpi, "q": q,
           "status": status, "overdue": overdue, "export_q": FMT.query(q), "can_write": user.can_write,
           "categories": routing().categories, "channels": CHANNELS}
    return render(request, "service_desk_requests.html", ctx)


@router.post("/service/requests/new", name="desk_request_new")
def request_new(request: Request, uscc: str = Form(""), title: str = Form(""), description: str = Form(""),
                category: str = Form(""), channel: str = Form("walk_in"), store: Store = Depends(get_store),
                user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    lock = _write_lock(request)
    try:
        q = jr.submit(store, scope, uscc=uscc, title=title, description=description, category=category or None,
                      channel=channel or "walk_in", user=user.username)
    finally:
        lock.release()
    return RedirectResponse(f"/service/requests/{quote(q['request_id'])}?done=submit", status_code=303)


@router.get("/service/requests/export.xlsx", name="desk_requests_export")
def requests_export(request: Request, region: str | None = Query(None), status: str = Query("all"),
                    store: Store = Depends(get_store), user: User = Depends(current_user),
                    scope: Scope = Depends(current_scope)):
    doc = jr.list_requests(store, scope, region, status=status or "all", limit=1_000_000)
    kpi = jr.kpis(store, scope, region)
    data = requests_workbook(doc, kpi)
    deps.audit(request, store, "export", target=f"service_requests:{doc['region']['adcode']}",
               detail={"kind": "service_requests", "region": doc["region"]["adcode"], "rows": len(doc["requests"]),
                       "bytes": len(data)})
    return attachment(data, f"{doc['region']['name']}企业诉求.xlsx", XLSX)


@router.get("/service/requests/{request_id}", name="desk_request")
def request_page(request: Request, request_id: str, done: str | None = Query(None, max_length=20),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    q = jr.request(store, scope, request_id)
    deps.audit(request, store, "view_enterprise", target=q["uscc"], detail={"request": request_id})
    ctx = {**_common(store, scope, scope.adcode, "requests"), "r": q, "done": done, "q": {},
           "actions": q["actions"] if user.can_write else []}
    return render(request, "service_desk_request.html", ctx)


def _act(request: Request, store: Store, scope: Scope, user: User, request_id: str, action: str, form: dict) -> dict:
    jr.request(store, scope, request_id)                        # 404 unknown, 403 outside
    solved = {"yes": True, "no": False}.get(form.get("solved") or "")
    sat = form.get("satisfaction")
    extra = form.get("extra_wd")
    try:
        sat = int(sat) if sat not in (None, "") else None
        extra = int(extra) if extra not in (None, "") else None
    except ValueError:
        raise ShanhaiError("满意度和延期天数须为整数 (satisfaction and extra_wd are whole numbers)") from None
    lock = _write_lock(request)
    try:
        return jr.transition(store, scope, request_id, action, user=user.username, note=form.get("note"),
                             department=form.get("department") or None, solved=solved, satisfaction=sat,
                             extra_wd=extra)
    finally:
        lock.release()


@router.post("/service/requests/{request_id}/{action}", name="desk_request_action")
def request_action(request: Request, request_id: str, action: str, note: str = Form(""), department: str = Form(""),
                   solved: str = Form(""), satisfaction: str = Form(""), extra_wd: str = Form(""),
                   store: Store = Depends(get_store), user: User = Depends(require_write),
                   scope: Scope = Depends(current_scope)):
    if action not in jr.ACTIONS:
        raise PageError(404, "没有这个操作。", f"No action {action!r}.")
    _act(request, store, scope, user, request_id, action,
         {"note": note, "department": department, "solved": solved, "satisfaction": satisfaction, "extra_wd": extra_wd})
    return RedirectResponse(f"/service/requests/{quote(request_id)}?done={action}", status_code=303)


@router.post("/service/requests-escalate", name="desk_requests_escalate")
def requests_escalate(request: Request, store: Store = Depends(get_store), user: User = Depends(require_write),
                      scope: Scope = Depends(current_scope)):
    lock = _write_lock(request)
    try:
        jr.escalate_overdue(store, scope, user=user.username)
    finally:
        lock.release()
    return RedirectResponse("/service/requests?overdue=true", status_code=303)


# ---- lists ---------------------------------------------------------------------------------------

@router.get("/service/lists", name="desk_lists")
def lists_page(request: Request, region: str | None = Query(None), kind: str = Query("key"),
               store: Store = Depends(get_store), user: User = Depends(current_user),
               scope: Scope = Depends(current_scope)):
    if kind not in LIST_KINDS:
        kind = "key"
    doc = jl.entries(store, scope, region, kind=kind, limit=1000)
    q = {"region": region or None, "kind": kind}
    ctx = {**_common(store, scope, doc["region"]["adcode"], "lists"), "doc": doc, "q": q, "kind": kind,
           "export_q": FMT.query(q), "can_build": user.role in ("admin",) + BUILD_ROLES, "can_write": user.can_write}
    return render(request, "service_desk_lists.html", ctx)


@router.post("/service/lists/build", name="desk_lists_build")
def lists_build(request: Request, rules: str = Form("haishu-2018"), store: Store = Depends(get_store),
                user: User = Depends(require_roles(*BUILD_ROLES))):
    username = user.username

    def job(progress):
        doc = jl.build(progress.store, rules or "haishu-2018", user=username, progress=progress.fraction)
        return {"url": "/service/lists", "message": f"名单 {doc['run_id']}：" + "，".join(
            f"{LIST_KINDS[k][0]} {v['listed']} 家" for k, v in doc["lists"].items())}

    job_id = request.app.state.jobs.submit("service_lists", "重点/困难企业名单", job, user)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/service/lists/export.xlsx", name="desk_lists_export")
def lists_export(request: Request, region: str | None = Query(None), kind: str = Query("key"),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    doc = jl.entries(store, scope, region, kind=kind if kind in LIST_KINDS else "key", limit=1_000_000)
    run = next((r for r in jl.runs(store, 100) if r["run_id"] == doc["run_id"]), None)
    data = lists_workbook(doc, run)
    deps.audit(request, store, "export", target=f"service_lists:{doc['region']['adcode']}",
               detail={"kind": f"service_list_{doc['kind']}", "run": doc["run_id"], "rows": len(doc["entries"]),
                       "bytes": len(data)})
    return attachment(data, f"{doc['region']['name']}{doc.get('label', '')}.xlsx", XLSX)


@router.post("/service/lists/tasks/{task_id}/{action}", name="desk_list_task")
def list_task(request: Request, task_id: str, action: str, note: str = Form(""), store: Store = Depends(get_store),
              user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    if action not in jl.TASK_ACTIONS:
        raise PageError(404, "没有这个操作。", f"No action {action!r}.")
    t = jl.service_task(store, scope, task_id)
    lock = _write_lock(request)
    try:
        jl.log(store, scope, task_id, action, user=user.username, note=note)
    finally:
        lock.release()
    return RedirectResponse(f"/service/firm/{quote(t['uscc'])}?done={action}", status_code=303)


# ---- pipeline ------------------------------------------------------------------------------------

@router.get("/service/pipeline", name="desk_pipeline")
def pipeline_page(request: Request, region: str | None = Query(None), store: Store = Depends(get_store),
                  user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    doc = jp.board(store, scope, region)
    q = {"region": region or None}
    ctx = {**_common(store, scope, doc["region"]["adcode"], "pipeline"), "doc": doc, "q": q,
           "export_q": FMT.query(q), "can_build": user.role in ("admin",) + BUILD_ROLES}
    return render(request, "service_desk_pipeline.html", ctx)


@router.post("/service/pipeline/run", name="desk_pipeline_run")
def pipeline_run(request: Request, preset: str = Form("xiaoshan-2021"), store: Store = Depends(get_store),
                 user: User = Depends(require_roles(*BUILD_ROLES))):
    lock = _write_lock(request)
    try:
        jp.run(store, preset or "xiaoshan-2021", user=user.username)
    finally:
        lock.release()
    return RedirectResponse("/service/pipeline", status_code=303)


@router.get("/service/pipeline/export.xlsx", name="desk_pipeline_export")
def pipeline_export(request: Request, region: str | None = Query(None), store: Store = Depends(get_store),
                    user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    doc = jp.board(store, scope, region)
    data = pipeline_workbook(doc)
    deps.audit(request, store, "export", target=f"service_pipeline:{doc['region']['adcode']}",
               detail={"kind": "service_pipeline", "run": doc["run_id"], "rows": len(doc["firms"]), "bytes": len(data)})
    return attachment(data, f"{doc['region']['name']}上市后备企业.xlsx", XLSX)


# ---- one firm: requests, list tasks, pipeline, portal links --------------------------------------

def _firm_doc(store: Store, scope: Scope, uscc: str) -> dict:
    links = jr.tokens_of(store, scope, uscc)                     # 404 unknown, 403 outside
    u = literal(uscc.strip().upper())
    name = store.con.execute(f"SELECT name FROM enterprises WHERE uscc = {u}").fetchone()[0]
    tasks = store.con.execute(f"""SELECT task_id FROM visit_tasks WHERE uscc = {u}
                                  AND source IN ('key_list', 'struggling_list') ORDER BY created_at DESC""").fetchall()
    try:
        pipe = jp.firm(store, scope, uscc)
    except ShanhaiError:
        pipe = None
    # the words for the preset's tier ids (起跑/加速/冲刺 …), which the preset itself defines
    tier_labels = {t.id: (t.label, t.label_en or t.label) for t in pipeline_preset(pipe["preset"]).tiers} if pipe else {}
    return {"uscc": uscc.strip().upper(), "name": name, "links": links,
            "requests": jr.list_requests(store, scope, None, status="all", uscc=uscc.strip().upper())["requests"],
            "tasks": [jl.service_task(store, scope, t) for (t,) in tasks], "pipeline": pipe, "tier_labels": tier_labels}


@router.get("/service/firm/{uscc}", name="desk_firm")
def firm_page(request: Request, uscc: str, done: str | None = Query(None, max_length=20),
              store: Store = Depends(get_store), user: User = Depends(current_user),
              scope: Scope = Depends(current_scope)):
    doc = _firm_doc(store, scope, uscc)
    deps.audit(request, store, "view_enterprise", target=doc["uscc"], detail={"page": "service_firm"})
    ctx = {**_common(store, scope, scope.adcode, "firm"), "f": doc, "done": done, "q": {}, "new_link": None,
           "can_write": user.can_write, "task_actions": jl.TASK_ACTIONS, "task_action_labels": jl.TASK_ACTION_LABELS}
    return render(request, "service_desk_firm.html", ctx)


@router.post("/service/firm/{uscc}/link", name="desk_firm_link")
def firm_link(request: Request, uscc: str, days: int = Form(jr.TOKEN_DAYS), store: Store = Depends(get_store),
              user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    """Issue an access link: shown once on this page (with its QR code), never stored in clear."""
    import segno

    jr.tokens_of(store, scope, uscc)
    lock = _write_lock(request)
    try:
        link = jr.issue_token(store, scope, uscc, user=user.username, days=days)
    finally:
        lock.release()
    url = str(request.base_url).rstrip("/") + f"/e/{link['token']}"
    svg = segno.make(url, error="m").svg_inline(scale=4, dark="#1f2937")
    doc = _firm_doc(store, scope, uscc)
    ctx = {**_common(store, scope, scope.adcode, "firm"), "f": doc, "done": "link", "q": {},
           "new_link": {"url": url, "svg": svg, "expires_at": link["expires_at"]}, "can_write": user.can_write,
           "task_actions": jl.TASK_ACTIONS, "task_action_labels": jl.TASK_ACTION_LABELS}
    return render(request, "service_desk_firm.html", ctx, headers={"Cache-Control": "no-store"})


@router.post("/service/firm/{uscc}/revoke", name="desk_firm_revoke")
def firm_revoke(request: Request, uscc: str, token_id: str = Form(""), store: Store = Depends(get_store),
                user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    jr.tokens_of(store, scope, uscc)
    lock = _write_lock(request)
    try:
        jr.revoke_token(store, scope, uscc, token_id, user=user.username)
    finally:
        lock.release()
    return RedirectResponse(f"/service/firm/{quote(uscc)}?done=revoke", status_code=303)


@router.post("/service/firm/{uscc}/milestone", name="desk_firm_milestone")
def firm_milestone(request: Request, uscc: str, milestone: str = Form(""), date: str = Form(""),
                   store: Store = Depends(get_store), user: User = Depends(require_write),
                   scope: Scope = Depends(current_scope)):
    jr.tokens_of(store, scope, uscc)
    lock = _write_lock(request)
    try:
        if not store.con.execute(f"SELECT 1 FROM listing_pipeline WHERE uscc = {literal(uscc.strip().upper())}").fetchone():
            jp.enrol(store, scope, uscc, user=user.username)
        jp.record(store, scope, uscc, milestone, date, user=user.username)
    finally:
        lock.release()
    return RedirectResponse(f"/service/firm/{quote(uscc)}?done=milestone", status_code=303)


# ---- JSON API ------------------------------------------------------------------------------------

@router.get("/api/v1/service/requests", response_model=dict[str, Any], tags=["service desk"],
            summary="企业诉求 Requests of the region with their clocks, overdue first")
def api_requests(region: str | None = None, status: str = "open", overdue: bool = False,
                 limit: int = Query(500, ge=1, le=5000), store: Store = Depends(get_store),
                 scope: Scope = Depends(current_scope)):
    return jr.list_requests(store, scope, region, status=status, overdue=overdue, limit=limit)


@router.get("/api/v1/service/requests/kpi", response_model=dict[str, Any], tags=["service desk"],
            summary="考核指标 办结率/解决率/按期办结率/满意率 by department, county, category or channel")
def api_kpi(region: str | None = None, by: str = "department", since: str | None = None, until: str | None = None,
            store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jr.kpis(store, scope, region, by=by, since=since, until=until)


@router.get("/api/v1/service/requests/{request_id}", response_model=dict[str, Any], tags=["service desk"],
            summary="诉求详情 One request: due dates, clock, history")
def api_request(request: Request, request_id: str, store: Store = Depends(get_store),
                scope: Scope = Depends(current_scope)):
    q = jr.request(store, scope, request_id)
    deps.audit(request, store, "view_enterprise", target=q["uscc"], detail={"request": request_id, "api": True})
    return q


@router.post("/api/v1/service/requests", response_model=dict[str, Any], tags=["service desk"],
             summary="受理登记 Record a request {uscc, title, description, category, channel} (audited)")
def api_submit(request: Request, payload: dict[str, Any] = Body(...), store: Store = Depends(get_store),
               user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    lock = _write_lock(request)
    try:
        return jr.submit(store, scope, uscc=str(payload.get("uscc") or ""), title=str(payload.get("title") or ""),
                         description=str(payload.get("description") or ""), category=payload.get("category") or None,
                         channel=str(payload.get("channel") or "walk_in"), user=user.username)
    finally:
        lock.release()


@router.post("/api/v1/service/requests/{request_id}", response_model=dict[str, Any], tags=["service desk"],
             summary="诉求流转 {action, note, department, solved (yes|no), satisfaction, extra_wd} (audited)")
def api_act(request: Request, request_id: str, payload: dict[str, Any] = Body(...),
            store: Store = Depends(get_store), user: User = Depends(require_write),
            scope: Scope = Depends(current_scope)):
    jr.request(store, scope, request_id)
    action = payload.get("action")
    if action not in jr.ACTIONS:
        raise ShanhaiError(f"action must be one of {', '.join(jr.ACTIONS)}")
    form = {k: (str(payload[k]) if payload.get(k) not in (None, "") else None)
            for k in ("note", "department", "solved", "satisfaction", "extra_wd")}
    return _act(request, store, scope, user, request_id, action, form)


@router.get("/api/v1/service/lists", response_model=dict[str, Any], tags=["service desk"],
            summary="重点/困难企业名单 The firms of a list in the region (latest run)")
def api_lists(kind: str = "key", region: str | None = None, run: str | None = None,
              store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jl.entries(store, scope, region, kind=kind, run_id=run)


@router.get("/api/v1/service/pipeline", response_model=dict[str, Any], tags=["service desk"],
            summary="上市梯队 Pool firms by tier, awards and targets of the region")
def api_pipeline(region: str | None = None, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jp.board(store, scope, region)
