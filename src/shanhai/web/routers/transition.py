"""``/transition``: the 腾笼换鸟 ledger — the remediation register with its filters, the region's
balance per county (freed, allocated, available land, energy and carbon), progress against the 2023
targets, the allocations; for write roles the forms to seed the register from a per-mu run's C/D
lists, add an action by hand, move an action on (done credits what it frees) and allocate freed quota to a project (CSRF,
audited, refused with the reason when over the threshold or the balance);
``/transition/export.xlsx`` the workbook (audited); ``/api/v1/transition/…`` the same as JSON.

Everything reads and writes through :mod:`shanhai.jobs.transition` with the caller's ``Scope``: a
county sees and acts on its own county's register and projects only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from shanhai.errors import ShanhaiError
from shanhai.jobs import transition as jt
from shanhai.policy._transition import KINDS
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.store.sql import literal
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_lang, get_store, render, require_write
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT, cached_view

router = APIRouter()
NAV = [(49, "/transition", "腾笼换鸟", "Cage swap", None)]
WRITE_WAIT_S = 10.0


def _write_lock(request: Request):
    runner = request.app.state.jobs
    if not runner.write_lock.acquire(timeout=WRITE_WAIT_S):
        raise PageError(503, "系统正忙（后台任务正在写入），请稍后再试。",
                        "The system is busy (a background job is writing): try again in a moment.")
    return runner.write_lock


def _projects(store: Store, scope: Scope) -> list[dict]:
    cur = store.con.execute(f"""SELECT p.project_id, p.name, r.name AS county,
            EXISTS (SELECT 1 FROM quota_allocations q WHERE q.project_id = p.project_id) AS allocated
        FROM projects p LEFT JOIN regions r ON r.adcode = p.landing_adcode
        WHERE {scope.sql('p.landing_adcode')} ORDER BY p.project_id LIMIT 500""")
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _mujun_runs(store: Store) -> list[dict]:
    rows = store.con.execute("SELECT run_id, policy_name, json_extract_string(params, '$.year') FROM runs "
                             "WHERE kind = 'mujun' AND status = 'done' ORDER BY created_at DESC LIMIT 20").fetchall()
    return [{"run_id": r[0], "policy": r[1], "year": r[2]} for r in rows]


def _q(region, kind, status, year) -> dict:
    return {"region": region or None, "kind": kind or None, "status": status or None, "year": year}


def _check_filters(kind: str | None, status: str | None) -> None:
    if kind and kind not in KINDS:
        raise PageError(400, f"行动类型 {kind!r} 无效。", f"Unknown action kind {kind!r}.")
    if status and status not in jt.STATUSES:
        raise PageError(400, f"状态 {status!r} 无效。", f"Unknown status {status!r}.")


@router.get("/transition", name="transition")
def transition_page(request: Request, region: str | None = Query(None, max_length=12),
                    kind: str | None = Query(None, max_length=20), status: str | None = Query(None, max_length=20),
                    year: int | None = Query(None, ge=1990, le=2100), done: str | None = Query(None, max_length=120),
                    store: Store = Depends(get_store), user: User = Depends(current_user),
                    scope: Scope = Depends(current_scope)):
    _check_filters(kind, status)

    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        from shanhai.jobs import dashboard

        reg = jt.register(store, scope, region or None, kind=kind or None, status=status or None, year=year,
                          limit=300)
        narrowed = scope.narrow(store, region or None)
        balance = jt.plain(jt.balances(store, scope, region or None))
        chart = {"lang": get_lang(request), "counties": [
            {"name": c["county"], "allocated": c["energy"]["allocated"], "available": c["energy"]["available"]}
            for c in balance["counties"]]}
        return {"fmt": FMT, "doc": jt.plain(reg), "balance": balance, "chart": chart,
                "progress": jt.plain(jt.progress(store, scope, region or None)),
                "allocations": jt.plain(jt.allocations(store, scope, region or None, limit=200))["allocations"],
                "basis": jt.basis(store), "kinds": jt.action_kinds(), "statuses": jt.STATUS_LABELS,
                "labels": jt.PROGRESS_LABELS, "regions": dashboard.scope_regions(store, scope),
                "q": _q(region, kind, status, year), "export_q": FMT.query(_q(region, kind, status, year)),
                "projects": _projects(store, narrowed) if user.can_write else [],
                "runs": _mujun_runs(store) if user.can_write else [], "done": done}

    # once per data version, scope, role, language and query (web/screens.cached_view; the role
    # decides can_write, so the writers' lists are in the right entries)
    ctx = {**cached_view(request, store, scope, user, compute), "can_write": user.can_write}
    return render(request, "transition.html", ctx)


@router.post("/transition/seed", name="transition_seed")
def seed_form(request: Request, run: str = Form(..., max_length=80), classes: str = Form("C,D", max_length=8),
              store: Store = Depends(get_store), user: User = Depends(require_write),
              scope: Scope = Depends(current_scope)):
    """Seed the caller's region from a per-mu run's C/D lists (planned actions)."""
    lock = _write_lock(request)
    try:
        doc = jt.seed_from_mujun(store, scope, run, classes=tuple(c.strip() for c in classes.split(",") if c.strip()),
                                 user=user.username)
    finally:
        lock.release()
    return RedirectResponse('/transition?' + FMT.query({'status': 'planned', 'done': f"seed:{doc['added']}"}),
                            status_code=303)


@router.post("/transition/add", name="transition_add")
def add_form(request: Request, uscc: str = Form(..., max_length=18), kind: str = Form(..., max_length=20),
             planned_on: str = Form("", max_length=10), done_on: str = Form("", max_length=10),
             note: str = Form("", max_length=200), store: Store = Depends(get_store), user: User = Depends(require_write),
             scope: Scope = Depends(current_scope)):
    """Add an action on a firm of the caller's region by hand (done and credited when a completion date is given)."""
    _check_filters(kind, None)
    jt._firm(store, scope, uscc)                       # 404 unknown, 403 another region's firm
    lock = _write_lock(request)
    try:
        row = jt.add_action(store, scope, uscc, kind, planned_on=planned_on or None,
                            status="done" if done_on else "planned", done_on=done_on or None, note=note or None,
                            user=user.username)
    finally:
        lock.release()
    return RedirectResponse('/transition?' + FMT.query({'done': f"add:{row['action_id']}"}), status_code=303)


@router.post("/transition/status", name="transition_status")
def status_form(request: Request, action_id: str = Form(..., max_length=40), to: str = Form(..., max_length=20),
                on: str = Form("", max_length=10), store: Store = Depends(get_store),
                user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    """Move an action of the caller's region on (done credits its freed quota)."""
    jt.action(store, scope, action_id)                 # 404 unknown, 403 another region's
    lock = _write_lock(request)
    try:
        row = jt.set_status(store, scope, action_id, to, on=on or None, user=user.username)
    finally:
        lock.release()
    return RedirectResponse('/transition?' + FMT.query({'done': f"status:{row['action_id']}"}), status_code=303)


@router.post("/transition/allocate", name="transition_allocate")
def allocate_form(request: Request, project_id: str = Form(..., max_length=40), energy_tce: float = Form(...),
                  value_added: float = Form(...), on: str = Form(..., max_length=10), co2_t: str = Form(""),
                  land_mu: str = Form(""), note: str = Form("", max_length=200), store: Store = Depends(get_store),
                  user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    """Allocate freed quota of the project's county to it; refused with the reason (400)."""
    row = store.con.execute(f"SELECT landing_adcode FROM projects WHERE project_id = {literal(project_id)}").fetchone()
    if row is None:
        raise PageError(404, f"没有项目 {project_id}。", f"No project {project_id}.")
    scope.check(row[0], f"project {project_id}")
    try:
        co2 = float(co2_t) if co2_t.strip() else None
        land = float(land_mu) if land_mu.strip() else None
    except ValueError:
        raise PageError(400, "碳排放或土地指标不是数字。", "The carbon or land amount is not a number.") from None
    lock = _write_lock(request)
    try:
        doc = jt.allocate(store, scope, project_id, energy_tce=energy_tce, value_added=value_added, on=on,
                          co2_t=co2, land_mu=land, note=note or None, user=user.username)
    except ShanhaiError as exc:
        raise PageError(400, f"分配未通过：{exc}", f"Allocation refused: {exc}") from None
    finally:
        lock.release()
    return RedirectResponse('/transition?' + FMT.query({'done': f"allocate:{doc['project_id']}"}), status_code=303)


@router.get("/transition/export.xlsx", name="transition_export")
def transition_export(request: Request, region: str | None = Query(None, max_length=12),
                      kind: str | None = Query(None, max_length=20), status: str | None = Query(None, max_length=20),
                      year: int | None = Query(None, ge=1990, le=2100), store: Store = Depends(get_store),
                      user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    """The ledger workbook of the caller's region (audited)."""
    from shanhai.reports.transition_excel import workbook_bytes

    _check_filters(kind, status)
    doc = jt.export_doc(store, scope, region or None, kind=kind or None, status=status or None, year=year)
    data = workbook_bytes(doc)
    reg = doc["region"]
    deps.audit(request, store, "export", target=f"transition:{reg['adcode']}",
               detail={"kind": "transition", "region": reg["adcode"], "actions": len(doc["register"]["actions"]),
                       "allocations": len(doc["allocations"]), "bytes": len(data), "rule_set": doc["basis"]["rule_set"]})
    return attachment(data, f"{reg['name'] or reg['adcode']}腾笼换鸟台账.xlsx", XLSX)


# ---- JSON API ------------------------------------------------------------------------------------

@router.get("/api/v1/transition/actions", response_model=dict[str, Any], tags=["transition"],
            summary="整治清单 The remediation register of the region")
def api_actions(region: str | None = None, kind: str | None = None, status: str | None = None,
                year: int | None = None, limit: int = Query(500, ge=1, le=5000), store: Store = Depends(get_store),
                scope: Scope = Depends(current_scope)):
    _check_filters(kind, status)
    return jt.plain(jt.register(store, scope, region, kind=kind or None, status=status or None, year=year, limit=limit))


@router.get("/api/v1/transition/balance", response_model=dict[str, Any], tags=["transition"],
            summary="指标余额 Freed, allocated and available quota per county and for the region")
def api_balance(region: str | None = None, year: int | None = None, store: Store = Depends(get_store),
                scope: Scope = Depends(current_scope)):
    return jt.plain(jt.balances(store, scope, region, year=year))


@router.get("/api/v1/transition/allocations", response_model=dict[str, Any], tags=["transition"],
            summary="指标分配 Allocations of freed quota to projects with their check")
def api_allocations(region: str | None = None, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jt.plain(jt.allocations(store, scope, region))


@router.get("/api/v1/transition/progress", response_model=dict[str, Any], tags=["transition"],
            summary="目标进度 Progress against the 2023 targets (province, Shaoxing)")
def api_progress(region: str | None = None, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jt.plain(jt.progress(store, scope, region))
