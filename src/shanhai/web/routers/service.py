"""``/service``: support policies delivered to the firms that qualify (惠企政策直达, issue 12) —
the items (document, conditions, amount formula), a match run per region (per item: eligible firms
and the budget they need; per firm: items with amounts and reasons, near misses with the missing
conditions, manual review), and the pay-out board (意愿确认 → 公示 → 审定 → 兑现, forms for officers,
CSRF, audited); the Excel exports. ``/api/v1/service/…`` the same as JSON.

Everything reads through :mod:`shanhai.jobs.service_policies` with the caller's ``Scope``: a firm
outside it is a 403, an unknown item or firm a 404. Officers (province, city, county) act inside
their region; viewers read. One firm's page and API record ``view_enterprise``; exports ``export``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from shanhai.analysis.service import REVIEW_LABELS, SERVICE_OUTCOME_LABELS, SERVICE_OUTCOMES
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import service_policies as sp
from shanhai.policy._load import PolicyError
from shanhai.policy._service import CATEGORIES, PAYMENT_MODES, service_item
from shanhai.reports.service_excel import match_bytes, payments_bytes
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_store, render, require_roles
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT

router = APIRouter()
NAV = [(47, "/service", "惠企政策", "Support policies", None)]
OFFICERS = ("province", "city", "county")
ACTIONS = ("apply", "confirm", "notice", "approve", "pay")
WRITE_WAIT_S = 10.0


def _item(item_id: str):
    try:
        return service_item(item_id)
    except PolicyError:
        raise NotFoundError(f"no policy item {item_id!r}") from None


def _common(store: Store, scope: Scope, section: str) -> dict:
    return {"fmt": FMT, "section": section, "outcome_labels": SERVICE_OUTCOME_LABELS, "outcomes": SERVICE_OUTCOMES,
            "review_labels": REVIEW_LABELS, "state_labels": sp.STATE_LABELS, "mode_labels": PAYMENT_MODES,
            "category_labels": CATEGORIES, "scope_name": scope.name or scope.adcode}


def _summary(store: Store, scope: Scope, run: str | None = None) -> dict | None:
    try:
        return sp.run_summary(store, scope, run)
    except NotFoundError:
        if run:
            raise
        return None


@router.get("/service", name="service")
def service_page(request: Request, run: str | None = Query(None, max_length=80),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    items = sp.items()
    summary = _summary(store, scope, run)
    years = [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1 DESC").fetchall()]
    ctx = {**_common(store, scope, "items"), "items": items, "summary": summary, "years": years,
           "can_match": user.role in OFFICERS or user.is_admin,
           "jobs": [j for j in request.app.state.jobs.jobs_of(user, 5) if j.kind == "service"]}
    return render(request, "service_items.html", ctx)


@router.post("/service/match", name="service_match")
def start_match(request: Request, year: str = Form(""), store: Store = Depends(get_store),
                user: User = Depends(require_roles(*OFFICERS)), scope: Scope = Depends(current_scope)):
    """Match every firm of the officer's region in the background; the job page links back."""
    y = None
    if year:
        if not year.isdigit():
            raise PageError(400, f"年度 {year} 无效。", f"Year {year} is not a year.")
        y = int(year)
    username, region = user.username, scope.adcode

    def job(progress):
        doc = sp.run(progress.store, scope, region, year=y, user=username,
                     progress=lambda k, n: progress.fraction(f"匹配 {k}/{n}", k / n))
        n = sum(s["counts"]["eligible"] for s in doc["items"])
        return {"url": f"/service?run={quote(doc['run_id'])}",
                "message": f"政策匹配 {doc['year']}：{doc['firms']} 家企业，符合 {n} 项次（批次 {doc['run_id']}）"}

    job_id = request.app.state.jobs.submit("service", f"惠企政策匹配 · {scope.name or region}", job, user)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/service/items/{item_id}", name="service_item")
def item_page(request: Request, item_id: str, outcome: str | None = Query(None, max_length=20),
              run: str | None = Query(None, max_length=80), store: Store = Depends(get_store),
              user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    it = _item(item_id)
    doc = None
    try:
        doc = sp.item_results(store, scope, item_id, run_id=run, outcome=outcome or None)
    except NotFoundError:
        if run:
            raise
    ctx = {**_common(store, scope, "items"), "it": it.summary(), "rule": it.rule, "amount": it.amount, "doc": doc,
           "outcome": outcome or "", "q": {"outcome": outcome or None, "run": run or None},
           "can_act": user.can_write}
    return render(request, "service_item.html", ctx)


@router.get("/service/items/{item_id}/export.xlsx", name="service_item_export")
def item_export(request: Request, item_id: str, run: str | None = Query(None, max_length=80),
                store: Store = Depends(get_store), user: User = Depends(current_user),
                scope: Scope = Depends(current_scope)):
    _item(item_id)
    doc = sp.item_results(store, scope, item_id, run_id=run, limit=1_000_000)
    data = match_bytes(doc)
    deps.audit(request, store, "export", target=f"service:{item_id}",
               detail={"kind": "service_match", "run": doc["run"]["run_id"], "region": scope.adcode,
                       "rows": len(doc["rows"]), "bytes": len(data)})
    return attachment(data, f"{doc['item']['name']}匹配结果.xlsx", XLSX)


@router.get("/service/firms/{uscc}", name="service_firm")
def firm_page(request: Request, uscc: str, done: str | None = Query(None, max_length=20),
              store: Store = Depends(get_store), user: User = Depends(current_user),
              scope: Scope = Depends(current_scope)):
    doc = sp.firm_detail(store, scope, uscc)
    deps.audit(request, store, "view_enterprise", target=uscc)
    ctx = {**_common(store, scope, "firm"), "doc": doc, "uscc": uscc, "done": done,
           "can_act": user.can_write}
    return render(request, "service_firm.html", ctx)


@router.get("/service/payouts", name="service_payouts")
def payouts_page(request: Request, item: str | None = Query(None, max_length=80),
                 state: str | None = Query(None, max_length=20), done: str | None = Query(None, max_length=20),
                 refused: int | None = Query(None, ge=0, le=1_000_000),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    if item:
        _item(item)
    rows = sp.payments_list(store, scope, item_id=item or None, state=state or None)
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["item_id"], {s: 0 for s in sp.STATES})[r["state"]] += 1
    items = sp.items()
    ctx = {**_common(store, scope, "payouts"), "rows": rows, "counts": counts, "item": item or "",
           "state": state or "", "items": items, "done": done, "refused": refused, "can_act": user.can_write,
           "stages_of": {it["item_id"]: [s["label"] for s in it["stages"]] for it in items},
           "export_q": FMT.query({"item": item or None, "state": state or None})}
    return render(request, "service_payouts.html", ctx)


@router.get("/service/payouts/export.xlsx", name="service_payouts_export")
def payouts_export(request: Request, item: str | None = Query(None, max_length=80),
                   state: str | None = Query(None, max_length=20), store: Store = Depends(get_store),
                   user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    if item:
        _item(item)
    rows = sp.payments_list(store, scope, item_id=item or None, state=state or None)
    data = payments_bytes(rows, scope={"adcode": scope.adcode, "name": scope.name})
    deps.audit(request, store, "export", target=f"service-payments:{item or 'all'}",
               detail={"kind": "service_payments", "region": scope.adcode, "rows": len(rows), "bytes": len(data)})
    return attachment(data, f"{scope.name or scope.adcode}惠企政策兑现名单.xlsx", XLSX)


def _write_lock(request: Request):
    runner = request.app.state.jobs
    if not runner.write_lock.acquire(timeout=WRITE_WAIT_S):
        raise PageError(503, "系统正忙（后台任务正在写入），请稍后再试。",
                        "The system is busy (a background job is writing): try again in a moment.")
    return runner.write_lock


def _act(request: Request, store: Store, scope: Scope, user: User, item_id: str, action: str, uscc: str | None,
         on: str | None, days: str | None, order: str | None, stage: str | None = None) -> tuple[int, list[str]]:
    """Run one pay-out action: (how many firms moved, the refusal sentences of firms left where they
    were — approve: no lifetime room left)."""
    if action not in ACTIONS:
        raise NotFoundError(f"no pay-out action {action!r}: expected one of {', '.join(ACTIONS)}")
    _item(item_id)
    if uscc:
        sp._check_firm(store, scope, uscc)          # 404 unknown, 403 outside the caller's region
    if days not in (None, "") and not str(days).isdigit():
        raise ShanhaiError(f"notice days {days!r} is not a whole number")
    lock = _write_lock(request)
    try:
        actor = user.username
        if action in ("apply", "confirm"):
            if not uscc:
                raise ShanhaiError("an enterprise (uscc) is required")
            fn = sp.apply if action == "apply" else sp.confirm
            fn(store, item_id, uscc, actor=actor, on=on or None, on_behalf=True)
            return 1, []
        if action == "notice":
            return len(sp.notice(store, scope, item_id, actor=actor, on=on or None,
                                 days=int(days) if days not in (None, "") else None, uscc=uscc or None)), []
        if action == "approve":
            rows = sp.approve(store, scope, item_id, actor=actor, on=on or None, uscc=uscc or None, order=order or None)
            return sum(1 for r in rows if "refused" not in r), [r["refused"] for r in rows if "refused" in r]
        return len(sp.pay(store, scope, item_id, actor=actor, on=on or None, uscc=uscc or None,
                          stage=stage or None)), []
    finally:
        lock.release()


@router.post("/service/payouts/{item_id}/{action}", name="service_payout_action")
def payout_form(request: Request, item_id: str, action: str, uscc: str = Form(""), on: str = Form(""),
                days: str = Form(""), order: str = Form(""), stage: str = Form("", max_length=80),
                back: str = Form(""),
                store: Store = Depends(get_store), user: User = Depends(require_roles(*OFFICERS)),
                scope: Scope = Depends(current_scope)):
    _n, refused = _act(request, store, scope, user, item_id, action, uscc or None, on or None, days or None,
                       order or None, stage or None)
    if back == "firm" and uscc:
        return RedirectResponse(f"/service/firms/{quote(uscc)}?done={action}", status_code=303)
    more = f"&refused={len(refused)}" if refused else ""
    return RedirectResponse(f"/service/payouts?item={quote(item_id)}&done={action}{more}", status_code=303)


# ---- JSON API ------------------------------------------------------------------------------------

@router.get("/api/v1/service/items", response_model=list[dict[str, Any]], tags=["service"],
            summary="政策事项 The registered support-policy items")
def api_items(user: User = Depends(current_user)):
    return sp.items()


@router.get("/api/v1/service/runs/latest", response_model=dict[str, Any], tags=["service"],
            summary="最新匹配批次 The newest match run of the region: per item counts and budget needed")
def api_latest(run: str | None = Query(None, max_length=80), store: Store = Depends(get_store),
               scope: Scope = Depends(current_scope)):
    return sp.run_summary(store, scope, run)


@router.get("/api/v1/service/items/{item_id}/results", response_model=dict[str, Any], tags=["service"],
            summary="事项匹配结果 The firms of one item in the region: outcome, amount, formula, reasons")
def api_item_results(item_id: str, outcome: str | None = None, run: str | None = Query(None, max_length=80),
                     store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    _item(item_id)
    return sp.item_results(store, scope, item_id, run_id=run, outcome=outcome or None)


@router.get("/api/v1/service/firms/{uscc}", response_model=dict[str, Any], tags=["service"],
            summary="企业可享政策 One firm against every item in force, with amounts, reasons and pay-out states")
def api_firm(request: Request, uscc: str, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    doc = sp.firm_detail(store, scope, uscc)
    deps.audit(request, store, "view_enterprise", target=uscc)
    return doc


@router.get("/api/v1/service/payouts", response_model=list[dict[str, Any]], tags=["service"],
            summary="兑现台账 The pay-out ledger of the region")
def api_payouts(item: str | None = None, state: str | None = None, store: Store = Depends(get_store),
                scope: Scope = Depends(current_scope)):
    return sp.payments_list(store, scope, item_id=item or None, state=state or None)


@router.post("/api/v1/service/payouts/{item_id}/{action}", response_model=dict[str, Any], tags=["service"],
             summary="兑现操作 apply | confirm | notice | approve | pay (officers; JSON body: uscc, on, days, order, "
                     "stage — a staged item's next stage)")
def api_payout_action(request: Request, item_id: str, action: str, body: dict[str, Any] = Body(default_factory=dict),
                      store: Store = Depends(get_store), user: User = Depends(require_roles(*OFFICERS)),
                      scope: Scope = Depends(current_scope)):
    def text(key):
        v = body.get(key)
        return None if v in (None, "") else str(v)
    n, refused = _act(request, store, scope, user, item_id, action, text("uscc"), text("on"), text("days"),
                      text("order"), text("stage"))
    return {"item_id": item_id, "action": action, "firms": n, "refused": refused}
