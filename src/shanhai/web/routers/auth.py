"""Sign-in, sign-out, the language switch and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from shanhai import __version__
from shanhai.store import accounts
from shanhai.store.accounts import SignInError, User
from shanhai.store.connection import Store
from shanhai.web import deps
from shanhai.web.deps import get_store, optional_user, render, safe_next

router = APIRouter()
SESSION_HOURS = 8


def _signin_page(request: Request, next_url: str, username: str = "", error: tuple[str, str] | None = None,
                 status: int = 200):
    return render(request, "signin.html", {"next": next_url, "username": username, "error": error},
                  status=status)


@router.get("/signin", name="signin", include_in_schema=False)
def signin_form(request: Request, next: str = "/", user: User | None = Depends(optional_user)):
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _signin_page(request, safe_next(next))


@router.post("/signin", include_in_schema=False)
def signin(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
           store: Store = Depends(get_store)):
    runner = request.app.state.jobs
    try:
        user = accounts.authenticate(store, username, password, deps.client_address(request),
                                     log=runner.writer(store), pending=runner.pending())
    except SignInError as exc:
        messages = {
            "invalid": ("用户名或密码错误。", "Wrong username or password."),
            "disabled": ("该账号已停用，请联系管理员。", "This account is disabled: ask an administrator."),
            "throttled": (f"登录失败次数过多，请 {exc.minutes} 分钟后再试。",
                          f"Too many failed sign-ins for this account or address: try again in {exc.minutes} minutes."),
        }
        status = 429 if exc.reason == "throttled" else 401
        return _signin_page(request, safe_next(next), username, messages[exc.reason], status)
    accounts.revoke_session(store, deps.session_token(request))   # no session survives a new sign-in
    deps.accounts_changed(request)
    token = accounts.create_session(store, user, ttl_hours=SESSION_HOURS)
    response = RedirectResponse(safe_next(next), status_code=303)
    deps.set_cookie(request, response, deps.SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600)
    return response


@router.post("/signout", name="signout", include_in_schema=False)
def signout(request: Request, store: Store = Depends(get_store), user: User | None = Depends(optional_user)):
    token = deps.session_token(request)
    accounts.revoke_session(store, token)
    deps.accounts_changed(request)
    if user is not None:
        deps.audit(request, store, "sign_out", target=user.username)
    response = RedirectResponse("/signin", status_code=303)
    deps.clear_cookie(request, response, deps.SESSION_COOKIE)
    return response


@router.get("/lang", name="lang", include_in_schema=False)
def switch_language(request: Request, to: str = "zh", next: str = "/"):
    """中文/English: stores the choice in a cookie and goes back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if to in deps.LANGS:
        response.set_cookie(deps.LANG_COOKIE, deps.sign(request, to), max_age=365 * 24 * 3600, httponly=True,
                            samesite="lax", secure=request.url.scheme == "https", path="/")
    return response


@router.get("/healthz", name="healthz", tags=["system"])
def healthz(request: Request, store: Store = Depends(get_store)) -> JSONResponse:
    """健康检查 Liveness: the database answers; no data, no sign-in needed."""
    store.con.execute("SELECT 1").fetchone()
    return JSONResponse({"status": "ok", "version": __version__, "schema_version": store.schema_version,
                         "jobs_running": bool(request.app.state.jobs.busy)})
