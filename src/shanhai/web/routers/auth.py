"""Sign-in (password, then the TOTP code when the account has one), sign-out, the language switch
and the health check.

A sign-in always starts a new session identifier (the old session, if any, ends and the anonymous
CSRF cookie is dropped); an account has one session at a time, so the browser it replaced is told
on its next page who signed in, when and from where (:func:`shanhai.store.accounts.session_end`).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from shanhai import __version__
from shanhai.store import accounts
from shanhai.store.accounts import SignInError, User
from shanhai.store.connection import Store
from shanhai.web import deps
from shanhai.web.deps import get_store, optional_user, render, safe_next

router = APIRouter()

END_MESSAGES = {
    "replaced": ("您的账号于 {at} (UTC) 在 {client} 登录，本页面的会话已结束。",
                 "Signed out because the account signed in elsewhere at {at} UTC from {client}."),
    "signout_all": ("已在所有设备上退出登录。", "Signed out everywhere."),
    "password": ("密码已修改，请用新密码重新登录。", "The password was changed: sign in with the new one."),
    "idle": ("闲置超过 {idle} 分钟，已自动退出。", "Signed out after {idle} idle minutes."),
    "expired": ("会话已达 {hours} 小时上限，请重新登录。", "The session reached its {hours}-hour limit: sign in again."),
    "disabled": ("该账号已停用。", "This account was disabled."),
    "role": ("管理员更改了您的角色或数据范围，请重新登录。",
             "An administrator changed your role or region: sign in again."),
    "reset_2fa": ("管理员重置了您的双因素登录，请重新登录。", "An administrator reset your two-factor sign-in: sign in again."),
}
FAILURES = {
    "invalid": ("用户名或密码错误。", "Wrong username or password."),
    "disabled": ("该账号已停用，请联系管理员。", "This account is disabled: ask an administrator."),
}


def _throttled(minutes: int) -> tuple[str, str]:
    return (f"登录失败次数过多，请 {minutes} 分钟后再试。",
            f"Too many failed sign-ins for this account or address: try again in {minutes} minutes.")


def _demo(store: Store) -> bool:
    return bool(store.con.execute("SELECT count(*) FROM users WHERE demo").fetchone()[0])


def _signin_page(request: Request, store: Store, next_url: str, username: str = "",
                 error: tuple[str, str] | None = None, notice: tuple[str, str] | None = None, status: int = 200):
    return render(request, "signin.html", {
        "next": next_url, "username": username, "error": error, "notice": notice, "demo": _demo(store),
        "cfg": accounts.settings(store)}, status=status)


def _ended_notice(store: Store, token: str | None) -> tuple[str, str] | None:
    end = accounts.session_end(store, token) if token else None
    if end is None or end["reason"] not in END_MESSAGES:
        return None
    cfg = accounts.settings(store)
    values = {"at": end["at"].strftime("%Y-%m-%d %H:%M") if end["at"] else "—", "client": end["client"] or "—",
              "idle": cfg.idle_minutes, "hours": cfg.absolute_hours}
    zh, en = END_MESSAGES[end["reason"]]
    return zh.format(**values), en.format(**values)


def _start_session(request: Request, store: Store, user: User, next_url: str, stage: str = "full"):
    """A fresh session identifier (the old session and the anonymous cookie go)."""
    accounts.revoke_session(store, deps.session_token(request), "signin")
    token = accounts.create_session(store, user, client=deps.client_address(request), stage=stage)
    deps.accounts_changed(request)
    target = f"/signin/totp?next={quote(next_url, safe='/')}" if stage == "totp" else next_url
    response = RedirectResponse(target, status_code=303)
    hours = accounts.settings(store).absolute_hours
    deps.set_cookie(request, response, deps.SESSION_COOKIE, token, max_age=hours * 3600)
    deps.clear_cookie(request, response, deps.ANON_COOKIE)
    return response


@router.get("/signin", name="signin", include_in_schema=False)
def signin_form(request: Request, next: str = "/", user: User | None = Depends(optional_user),
                store: Store = Depends(get_store)):
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _signin_page(request, store, safe_next(next), notice=_ended_notice(store, deps.session_token(request)))


@router.post("/signin", include_in_schema=False)
def signin(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
           store: Store = Depends(get_store)):
    runner = request.app.state.jobs
    try:
        user = accounts.authenticate(store, username, password, deps.client_address(request),
                                     log=runner.writer(store), pending=runner.pending())
    except SignInError as exc:
        message = _throttled(exc.minutes) if exc.reason == "throttled" else FAILURES[exc.reason]
        status = 429 if exc.reason == "throttled" else 401
        return _signin_page(request, store, safe_next(next), username, message, status=status)
    return _start_session(request, store, user, safe_next(next), "totp" if user.totp_enabled else "full")


@router.get("/signin/totp", name="signin_totp", include_in_schema=False)
def totp_form(request: Request, next: str = "/", store: Store = Depends(get_store)):
    user = accounts.user_for_second_factor(store, deps.session_token(request))
    if user is None:
        return RedirectResponse(f"/signin?next={quote(safe_next(next), safe='/')}", status_code=303)
    return render(request, "signin_totp.html", {"next": safe_next(next), "error": None, "pending_user": user})


@router.post("/signin/totp", include_in_schema=False)
def totp_submit(request: Request, code: str = Form(""), next: str = Form("/"), store: Store = Depends(get_store)):
    user = accounts.user_for_second_factor(store, deps.session_token(request))
    if user is None:
        return RedirectResponse(f"/signin?next={quote(safe_next(next), safe='/')}", status_code=303)
    runner = request.app.state.jobs
    try:
        accounts.second_factor(store, user, code, deps.client_address(request), log=runner.writer(store),
                               pending=runner.pending())
    except SignInError as exc:
        if exc.reason == "throttled":
            error, status = _throttled(exc.minutes), 429
        else:
            error, status = ("验证码错误或已使用过。", "The code is wrong or was already used."), 401
        return render(request, "signin_totp.html", {"next": safe_next(next), "error": error, "pending_user": user},
                      status=status)
    return _start_session(request, store, user, safe_next(next))


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
