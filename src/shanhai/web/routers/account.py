"""The account page (every signed-in user): change the password, enrol two-factor sign-in (TOTP,
the QR code drawn on the server as inline SVG with segno — no script), recovery codes shown once,
the account's sessions and "sign out everywhere".

A user with a pending step (``User.pending``: a password to change, or a role that must use two
factors) can reach only this page until the step is done (:func:`shanhai.web.deps.current_user`).
"""

from __future__ import annotations

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup

from shanhai.errors import ShanhaiError
from shanhai.store import accounts
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.web import deps
from shanhai.web.deps import current_user, get_store, render

router = APIRouter(prefix="/account", include_in_schema=False)
NAV = [(95, "/account", "我的账号", "My account", None)]


def _qr_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code (segno; no image request, no script)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, title="TOTP QR")
    return Markup(svg)  # noqa: S704 - segno's own SVG markup, built from our URI only


def _page(request: Request, store: Store, user: User, *, message=None, error=None, codes=None, status=200):
    fresh = accounts.user_by_id(store, user.user_id)
    cfg = accounts.settings(store)
    secret = None if fresh.totp_enabled else accounts.totp_pending_secret(store, fresh)
    token = deps.session_token(request)
    current_key = accounts.session_key(token) if token else None
    return render(request, "account.html", {
        "me": fresh, "pending": user.pending, "cfg": cfg, "message": message, "error": error,
        "days_left": accounts.password_days_left(fresh, cfg), "required": accounts.totp_required(fresh, cfg),
        "secret": secret, "qr": _qr_svg(accounts.totp_uri(fresh, secret)) if secret else None,
        "codes": codes, "codes_left": accounts.recovery_codes_left(store, fresh) if fresh.totp_enabled else None,
        "sessions": accounts.list_sessions(store, fresh), "current_key": current_key}, status=status)


@router.get("", name="account")
def account_page(request: Request, store: Store = Depends(get_store), user: User = Depends(current_user)):
    return _page(request, store, user)


@router.get("/password", name="account_password")
def password_page(request: Request, store: Store = Depends(get_store), user: User = Depends(current_user)):
    return _page(request, store, user)


@router.get("/totp", name="account_totp")
def totp_page(request: Request, store: Store = Depends(get_store), user: User = Depends(current_user)):
    return _page(request, store, user)


@router.post("/password", name="account_password_change")
def change_password(request: Request, current: str = Form(""), new: str = Form(""), repeat: str = Form(""),
                    store: Store = Depends(get_store), user: User = Depends(current_user)):
    if new != repeat:
        return _page(request, store, user, error=("两次输入的新密码不一致。", "The two new passwords differ."), status=400)
    try:
        accounts.change_password(store, user, current, new, client=deps.client_address(request),
                                 log=deps.audit_writer(request, store), keep_session=deps.session_token(request))
    except ShanhaiError as exc:
        return _page(request, store, user, error=str(exc), status=400)
    deps.accounts_changed(request)
    user = accounts.user_for_session(store, deps.session_token(request)) or user
    return _page(request, store, user, message=("密码已修改；其他会话已结束。",
                                                "Password changed; your other sessions have ended."))


@router.post("/totp/start", name="account_totp_start")
def totp_start(request: Request, store: Store = Depends(get_store), user: User = Depends(current_user)):
    try:
        accounts.totp_begin(store, accounts.user_by_id(store, user.user_id))
    except ShanhaiError as exc:
        return _page(request, store, user, error=str(exc), status=400)
    return RedirectResponse("/account/totp#totp", status_code=303)


@router.post("/totp/confirm", name="account_totp_confirm")
def totp_confirm(request: Request, code: str = Form(""), store: Store = Depends(get_store),
                 user: User = Depends(current_user)):
    try:
        codes = accounts.totp_confirm(store, accounts.user_by_id(store, user.user_id), code,
                                      log=deps.audit_writer(request, store))
    except ShanhaiError as exc:
        return _page(request, store, user, error=str(exc), status=400)
    deps.accounts_changed(request)
    user = accounts.user_for_session(store, deps.session_token(request)) or user
    return _page(request, store, user, codes=codes, message=(
        "双因素登录已启用。请保存下面的恢复码：它们只显示这一次。",
        "Two-factor sign-in is on. Keep the recovery codes below: they are shown only this once."))


@router.post("/recovery-codes", name="account_recovery_codes")
def recovery_codes(request: Request, code: str = Form(""), store: Store = Depends(get_store),
                   user: User = Depends(current_user)):
    fresh = accounts.user_by_id(store, user.user_id)
    if not accounts.verify_totp(store, fresh, code):
        return _page(request, store, user, status=400, error=(
            "验证码错误或已使用过：生成新恢复码需要当前的验证码。",
            "The code is wrong or was already used: new recovery codes need a current code."))
    codes = accounts.new_recovery_codes(store, fresh, log=deps.audit_writer(request, store))
    return _page(request, store, user, codes=codes, message=(
        "已生成新的恢复码（旧的已作废），它们只显示这一次。",
        "New recovery codes (the old ones no longer work): they are shown only this once."))


@router.post("/signout-all", name="account_signout_all")
def signout_all(request: Request, store: Store = Depends(get_store), user: User = Depends(current_user)):
    accounts.end_all_sessions(store, user, log=deps.audit_writer(request, store), client=deps.client_address(request))
    deps.accounts_changed(request)
    response = RedirectResponse("/signin", status_code=303)
    deps.clear_cookie(request, response, deps.SESSION_COOKIE)
    return response
