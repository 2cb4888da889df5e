"""``/alerts``: enterprise early warning from monthly electricity (企业用电预警, issue 8) — open
alerts by county and town with their scores and a sparkline of daily use; one alert with the
firm's series and the months its signals fired (ECharts), the visit task and its history, and the
task's actions as forms (push for online verification, visit with the result, close; write roles,
CSRF, audited); the task board with the precision the visits give; the Excel export.
``/api/v1/alerts/…`` the same as JSON.

Everything reads through :mod:`shanhai.jobs.alerts` with the caller's ``Scope``: a region outside
it is a 403, an alert or task outside it a 403, an unknown one a 404. Exports are audited.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from shanhai.errors import ShanhaiError
from shanhai.jobs import alerts as ja
from shanhai.jobs import dashboard
from shanhai.policy._alerts import KIND_LABELS, RESULT_LABELS, RESULTS, SIGNAL_LABELS
from shanhai.reports.alerts_excel import alerts_workbook
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import (PageError, current_scope, current_user, get_store, render, require_roles,
                              require_write)
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT

router = APIRouter()
NAV = [(44, "/alerts", "用电预警", "Early warning", None)]
PAGE_ROWS = 300
WRITE_WAIT_S = 10.0


def sparkline(series: list, width: int = 120, height: int = 24) -> str:
    """SVG polyline points of a [[month, value], …] series (no script: the CSP allows inline SVG)."""
    values = [v for _, v in series if v is not None]
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = width / (len(series) - 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (height - 4) * ((v if v is not None else lo) - lo) / span:.1f}"
                    for i, (_, v) in enumerate(series))


def _common(store: Store, scope: Scope, region_code: str, section: str) -> dict:
    return {"fmt": FMT, "regions": dashboard.sub_regions(store, scope), "region_code": region_code,
            "section": section, "kind_labels": KIND_LABELS, "state_labels": ja.STATE_LABELS,
            "result_labels": RESULT_LABELS, "results": RESULTS, "signal_labels": SIGNAL_LABELS}


@router.get("/alerts", name="alerts")
def alerts_page(request: Request, region: str | None = Query(None), status: str = Query("open"),
                kind: str | None = Query(None), town: str | None = Query(None),
                store: Store = Depends(get_store), user: User = Depends(current_user),
                scope: Scope = Depends(current_scope)):
    doc = ja.list_alerts(store, scope, region, status=status or "open", kind=kind or None, town=town or None,
                         limit=PAGE_ROWS)
    for a in doc["alerts"]:
        a["spark"] = sparkline(a["series"])
    q = {"region": region or None, "status": status or None, "kind": kind or None}
    ctx = {**_common(store, scope, doc["region"]["adcode"], "alerts"), "doc": doc, "q": q, "status": status,
           "kind": kind or "", "export_q": FMT.query(q), "can_scan": user.role in SCAN_ROLES,
           "months": _months(store) if user.role in SCAN_ROLES else [],
           "jobs": [j for j in request.app.state.jobs.jobs_of(user, 5) if j.kind == "alerts"]}
    return render(request, "alerts.html", ctx)


SCAN_ROLES = ("admin", "province")


def _months(store: Store) -> list[str]:
    return [f"{m:%Y-%m}" for (m,) in store.con.execute(
        "SELECT DISTINCT month FROM electricity_monthly WHERE kwh IS NOT NULL ORDER BY month DESC LIMIT 24").fetchall()]


@router.post("/alerts/scan", name="alerts_scan")
def start_scan(request: Request, month: str = Form(""), rules: str = Form("default"),
               store: Store = Depends(get_store), user: User = Depends(require_roles("province"))):
    """Scan a month in the background (the province's job: a scan scores every firm and issues
    visit tasks to every town); the job page links back to the alerts."""
    if month and month not in _months(store):
        raise PageError(400, f"没有 {month} 的月度用电数据。", f"There is no monthly electricity data for {month}.")
    username = user.username

    def job(progress):
        doc = ja.scan(progress.store, month or None, rules=rules or "default", user=username,
                      progress=progress.fraction)
        return {"url": "/alerts", "message": f"预警扫描 {doc['month'][:7]}：预警 {doc['alerts']} 条（新 {doc['new_alerts']}），"
                                             f"走访任务 {doc['tasks']} 件（批次 {doc['run_id']}）"}

    job_id = request.app.state.jobs.submit("alerts", f"用电预警扫描 · {month or '最新月份'}", job, user)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/alerts/tasks", name="alerts_tasks")
def tasks_page(request: Request, region: str | None = Query(None), state: str | None = Query(None),
               store: Store = Depends(get_store), user: User = Depends(current_user),
               scope: Scope = Depends(current_scope)):
    doc = ja.list_tasks(store, scope, region, state=state or None)
    q = {"region": region or None}
    ctx = {**_common(store, scope, doc["region"]["adcode"], "tasks"), "doc": doc, "q": q, "state": state or ""}
    return render(request, "alerts_tasks.html", ctx)


@router.get("/alerts/export.xlsx", name="alerts_export")
def alerts_export(request: Request, region: str | None = Query(None), status: str = Query("open"),
                  store: Store = Depends(get_store), user: User = Depends(current_user),
                  scope: Scope = Depends(current_scope)):
    doc = ja.list_alerts(store, scope, region, status=status or "open", limit=100_000)
    tasks = ja.list_tasks(store, scope, region, limit=100_000)
    data = alerts_workbook(doc, tasks)
    deps.audit(request, store, "export", target=f"alerts:{doc['region']['adcode']}",
               detail={"kind": "alerts", "region": doc["region"]["adcode"], "status": doc["status"],
                       "rows": len(doc["alerts"]), "tasks": len(tasks["tasks"]), "bytes": len(data),
                       "latest_run": doc["latest_run"]})
    return attachment(data, f"{doc['region']['name']}企业用电预警.xlsx", XLSX)


@router.get("/alerts/{alert_id}", name="alerts_alert")
def alert_page(request: Request, alert_id: str, done: str | None = Query(None, max_length=20),
               store: Store = Depends(get_store), user: User = Depends(current_user),
               scope: Scope = Depends(current_scope)):
    doc = ja.alert_detail(store, scope, alert_id)
    deps.audit(request, store, "view_enterprise", target=doc["alert"].get("uscc"),
               detail={"page": "alerts", "alert": alert_id})
    chart = {"months": [m["month"] for m in doc["months"]], "daily": [m["daily_kwh"] for m in doc["months"]],
             "baseline": [m["baseline_daily_kwh"] for m in doc["months"]],
             "score": [m["score"] for m in doc["months"]], "alert_at": doc["rules"]["alert_at"],
             "signals": [[SIGNAL_LABELS[s][0] + "/" + SIGNAL_LABELS[s][1] for s in m["signals"]] for m in doc["months"]],
             "alert": [m["alert"] for m in doc["months"]]}
    t = doc["task"]
    actions = []
    if t and user.can_write:
        actions = [a for a, (starts, _) in ja.ACTIONS.items() if t["state"] in starts]
    ctx = {**_common(store, scope, scope.adcode, "alerts"), "doc": doc, "a": doc["alert"], "task": t,
           "chart": chart, "actions": actions, "done": done, "q": {}}
    return render(request, "alerts_alert.html", ctx)


def _write_lock(request: Request):
    runner = request.app.state.jobs
    if not runner.write_lock.acquire(timeout=WRITE_WAIT_S):
        raise PageError(503, "系统正忙（后台任务正在写入），请稍后再试。",
                        "The system is busy (a background job is writing): try again in a moment.")
    return runner.write_lock


def _move(request: Request, store: Store, scope: Scope, user: User, task_id: str, action: str,
          result: str | None, note: str | None) -> dict:
    ja.task(store, scope, task_id)                  # 404 unknown, 403 outside the caller's region
    lock = _write_lock(request)
    try:
        return ja.transition(store, scope, task_id, action, user=user.username, result=result or None, note=note)
    finally:
        lock.release()


def _form_route(action: str):
    def handler(request: Request, task_id: str, result: str = Form(""), note: str = Form(""),
                store: Store = Depends(get_store), user: User = Depends(require_write),
                scope: Scope = Depends(current_scope)):
        t = _move(request, store, scope, user, task_id, action, result, note)
        return RedirectResponse(f"/alerts/{quote(t['alert_id'])}?done={action}", status_code=303)
    handler.__name__ = f"task_{action}_form"
    return handler


for _action in ja.ACTIONS:
    router.post(f"/alerts/tasks/{{task_id}}/{_action}", name=f"alerts_task_{_action}")(_form_route(_action))


# ---- JSON API ------------------------------------------------------------------------------------

@router.get("/api/v1/alerts", response_model=dict[str, Any], tags=["alerts"],
            summary="用电预警 Alerts of firms in the region, highest score first, with their latest scan and task")
def api_alerts(region: str | None = None, status: str = "open", kind: str | None = None,
               limit: int = Query(200, ge=1, le=5000), store: Store = Depends(get_store),
               scope: Scope = Depends(current_scope)):
    return ja.list_alerts(store, scope, region, status=status, kind=kind or None, limit=limit)


@router.get("/api/v1/alerts/runs", response_model=list[dict[str, Any]], tags=["alerts"],
            summary="预警扫描批次 The stored scans (province-wide counts, no firm)")
def api_runs(store: Store = Depends(get_store), user: User = Depends(current_user)):
    return ja.runs(store)


@router.get("/api/v1/alerts/tasks", response_model=dict[str, Any], tags=["alerts"],
            summary="走访任务 Visit tasks of the region with the precision their results give")
def api_tasks(region: str | None = None, state: str | None = None, store: Store = Depends(get_store),
              scope: Scope = Depends(current_scope)):
    return ja.list_tasks(store, scope, region, state=state or None)


@router.get("/api/v1/alerts/tasks/{task_id}", response_model=dict[str, Any], tags=["alerts"],
            summary="走访任务详情 One task and its history")
def api_task(request: Request, task_id: str, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    doc = ja.task(store, scope, task_id)
    deps.audit(request, store, "view_enterprise", target=doc.get("uscc"), detail={"page": "api.alerts.task",
                                                                                "task": task_id})
    return doc


@router.post("/api/v1/alerts/tasks/{task_id}", response_model=dict[str, Any], tags=["alerts"],
             summary="任务流转 Move a task: {action: push | visit | close, result, note} (audited)")
def api_move(request: Request, task_id: str, payload: dict[str, Any] = Body(...),
             store: Store = Depends(get_store), user: User = Depends(require_write),
             scope: Scope = Depends(current_scope)):
    ja.task(store, scope, task_id)
    action = payload.get("action")
    if action not in ja.ACTIONS:
        raise ShanhaiError(f"action must be one of {', '.join(ja.ACTIONS)}")
    text = {k: (str(payload[k]) if payload.get(k) not in (None, "") else None) for k in ("result", "note")}
    return _move(request, store, scope, user, task_id, action, text["result"], text["note"])


@router.get("/api/v1/alerts/{alert_id}", response_model=dict[str, Any], tags=["alerts"],
            summary="预警详情 One alert: the firm's months with signals and score, the scans, the task")
def api_alert(request: Request, alert_id: str, store: Store = Depends(get_store),
              scope: Scope = Depends(current_scope)):
    doc = ja.alert_detail(store, scope, alert_id)
    deps.audit(request, store, "view_enterprise", target=doc["alert"].get("uscc"),
               detail={"page": "api.alerts", "alert": alert_id})
    return doc
