"""``/e/{token}``: the enterprise-facing portal (企业码-style, issue 12). Enterprise users are not
accounts: an officer issues a firm a personal access link from the firm's service page
(``/service/firm/{uscc}``); the link shows ONLY that firm — the support policies it qualifies for
and why, near misses with what is missing (:func:`shanhai.jobs.service_policies.for_firm`), its
requests with their working-day clocks — and lets it submit a request (web intake) and confirm a
policy (意愿确认, :func:`shanhai.jobs.service_policies.confirm`).

Security: the token is random and stored as its hash; an unknown, expired or revoked link gets a
clear page (404 / 410), never a traceback; no path or form field names a firm (the firm comes from
the token only), and a request id or uscc of another firm answers 404. Forms carry the anonymous
CSRF token like the sign-in form; every portal request is rate-limited per client address
(:data:`LIMIT` requests per :data:`WINDOW_S` seconds, failed look-ups counted apart with a lower
limit), answering 429 beyond it. Views and actions are audited as ``portal:<uscc>``.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from shanhai.errors import ShanhaiError
from shanhai.jobs import service_requests as jr
from shanhai.policy._service_desk import routing
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.store.sql import literal
from shanhai.web import deps
from shanhai.web.deps import PageError, get_store, render

router = APIRouter()
NAV: list = []
LIMIT = 120            # portal requests per client address per window
FAIL_LIMIT = 60        # failed token look-ups per client address per window
WINDOW_S = 600.0
_hits: dict[tuple[str, str], deque] = defaultdict(deque)
_lock = threading.Lock()


def _count(kind: str, client: str, limit: int) -> bool:
    now = time.monotonic()
    with _lock:
        if len(_hits) > 10_000:               # many addresses: forget the idle ones
            for key in [k for k, v in _hits.items() if not v or now - v[-1] > WINDOW_S]:
                del _hits[key]
        q = _hits[(kind, client)]
        while q and now - q[0] > WINDOW_S:
            q.popleft()
        if len(q) >= limit:
            return False
        q.append(now)
        return True


def reset_limits() -> None:
    with _lock:
        _hits.clear()


def _firm(request: Request, store: Store, token: str) -> dict:
    """The link's firm, or a clear error page: 429 rate limit, 404 unknown, 410 expired/revoked."""
    client = deps.client_address(request)
    if not _count("all", client, LIMIT):
        raise PageError(429, "访问过于频繁，请稍后再试。", "Too many requests from this address: try again later.")
    state, link = jr.resolve_token(store, token)
    if state != "active":
        if not _count("fail", client, FAIL_LIMIT):
            raise PageError(429, "访问过于频繁，请稍后再试。", "Too many requests from this address: try again later.")
        if state == "unknown":
            raise PageError(404, "链接无效：请向为您服务的经信部门索取新的访问链接。",
                            "This link is not valid: ask the bureau that serves your firm for a new one.")
        if state == "expired":
            raise PageError(410, f"链接已于 {link['expires_at']:%Y-%m-%d} 过期：请向经信部门索取新的访问链接。",
                            f"This link expired on {link['expires_at']:%Y-%m-%d}: ask the bureau for a new one.")
        raise PageError(410, "链接已被撤销：请向经信部门索取新的访问链接。",
                        "This link has been revoked: ask the bureau for a new one.")
    row = store.con.execute(f"SELECT uscc, name, county_adcode FROM enterprises WHERE uscc = {literal(link['uscc'])}"
                            ).fetchone()
    if row is None:
        raise PageError(404, "企业不存在。", "The firm no longer exists.")
    asked = request.query_params.get("uscc")
    if asked not in (None, "") and asked.strip().upper() != row[0]:
        raise PageError(404, "没有这家企业的信息。", "Nothing about that firm here.")
    return {"uscc": row[0], "name": row[1], "county_adcode": row[2], "scope": Scope(row[2], "county", "")}


def _same(firm: dict, uscc: str) -> None:
    if uscc and uscc.strip().upper() != firm["uscc"]:
        raise PageError(404, "没有这家企业的信息。", "Nothing about that firm here.")


@router.get("/e/{token}/requests/{request_id}", name="firm_portal_req", include_in_schema=False)
def portal_request_page(request: Request, token: str, request_id: str, store: Store = Depends(get_store)):
    """One of the firm's requests with its due dates and history (another firm's id: 404)."""
    firm = _firm(request, store, token)
    try:
        q = jr.request(store, firm["scope"], request_id)
    except ShanhaiError:
        q = None
    if q is None or q["uscc"] != firm["uscc"]:
        raise PageError(404, "没有这条诉求。", "No such request for your firm.")
    _audit(request, store, "view_enterprise", firm, {"portal": True, "request": request_id})
    return render(request, "firm_portal_request.html", {"firm": firm, "token": token, "r": q,
                                                        "clock_labels": jr.CLOCK_LABELS},
                  headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _policies(store: Store, uscc: str) -> tuple[list[dict], str | None]:
    try:
        from shanhai.jobs import service_policies
    except ImportError:                                       # pragma: no cover - the module ships with issue 12
        return [], "政策匹配尚未启用"
    try:
        return service_policies.for_firm(store, uscc), None
    except ShanhaiError as exc:
        return [], str(exc)


def _audit(request: Request, store: Store, action: str, firm: dict, detail: dict | None = None) -> None:
    request.app.state.jobs.log(store, action, username=f"portal:{firm['uscc']}", target=firm["uscc"], detail=detail)


@router.get("/e/{token}", name="firm_portal", include_in_schema=False)
def portal(request: Request, token: str, done: str | None = None, store: Store = Depends(get_store)):
    firm = _firm(request, store, token)
    policies, note = _policies(store, firm["uscc"])
    reqs = jr.list_requests(store, firm["scope"], None, status="all", uscc=firm["uscc"], limit=200)["requests"]
    _audit(request, store, "view_enterprise", firm, {"portal": True})
    ctx = {"firm": firm, "token": token, "policies": policies, "policy_note": note, "requests": reqs,
           "categories": routing().categories, "clock_labels": jr.CLOCK_LABELS, "done": done if done in (
               "submit", "confirm") else None,
           "eligible": [p for p in policies if p.get("outcome") == "eligible"],
           "near": [p for p in policies if p.get("outcome") in ("near", "needs_review", "manual_review")]}
    return render(request, "firm_portal.html", ctx, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@router.post("/e/{token}/request", name="firm_portal_request", include_in_schema=False)
def portal_request(request: Request, token: str, title: str = Form(""), description: str = Form(""),
                   category: str = Form(""), contact: str = Form(""), uscc: str = Form(""),
                   store: Store = Depends(get_store)):
    firm = _firm(request, store, token)
    _same(firm, uscc)
    runner = request.app.state.jobs
    if not runner.write_lock.acquire(timeout=10.0):
        raise PageError(503, "系统正忙，请稍后再试。", "The system is busy: try again in a moment.")
    try:
        jr.submit(store, firm["scope"], uscc=firm["uscc"], title=title, description=description,
                  category=category or None, channel="portal", contact=contact, user=f"portal:{firm['uscc']}")
    finally:
        runner.write_lock.release()
    return RedirectResponse(f"/e/{token}?done=submit", status_code=303)


@router.post("/e/{token}/confirm", name="firm_portal_confirm", include_in_schema=False)
def portal_confirm(request: Request, token: str, item_id: str = Form(""), uscc: str = Form(""),
                   store: Store = Depends(get_store)):
    firm = _firm(request, store, token)
    _same(firm, uscc)
    from shanhai.jobs import service_policies

    if item_id not in {p["item_id"] for p in _policies(store, firm["uscc"])[0]}:
        raise PageError(404, "没有这项政策。", "No such policy for your firm.")
    runner = request.app.state.jobs
    if not runner.write_lock.acquire(timeout=10.0):
        raise PageError(503, "系统正忙，请稍后再试。", "The system is busy: try again in a moment.")
    try:
        service_policies.confirm(store, item_id, firm["uscc"], actor=f"portal:{firm['uscc']}")
    finally:
        runner.write_lock.release()
    return RedirectResponse(f"/e/{token}?done=confirm", status_code=303)
