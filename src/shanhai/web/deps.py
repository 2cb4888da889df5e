"""What every route depends on: the store, the signed-in user and its scope, roles, CSRF, and
page rendering.

- :func:`get_store` hands a request its own cursor on the server's one DuckDB connection.
- :func:`current_user`: the session cookie's user; an HTML request without one is redirected to
  ``/signin?next=…``, an ``/api/…`` request gets 401 JSON.
- :func:`current_scope`: the user's :class:`~shanhai.store.scope.Scope`; every reader filters
  with it (``scope.sql(column)``, ``scope.check(county, what)``, ``scope.narrow(store, adcode)``).
- :func:`require_roles` / :func:`require_write`: 403 for the wrong role (admins pass all).
- :func:`csrf_protect` runs on every request (the app's global dependency): a POST, PUT, PATCH
  or DELETE must carry the page's token in the form field ``csrf_token`` or the header
  ``X-CSRF-Token``.
- :func:`render`: a template with ``user``, ``scope``, ``lang``, ``csrf_token``, ``nav`` and
  ``t(zh, en)`` in its context.
- :func:`label`: every template's ``label(vocabulary, code)``: the word for an internal code (a
  job's kind, a pay-out state, a role …) in the page's language, from :data:`LABEL_MAPS`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.concurrency import run_in_threadpool

from shanhai.store import accounts
from shanhai.store.accounts import ROLE_LABELS, User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope

SESSION_COOKIE = "shanhai_session"
ANON_COOKIE = "shanhai_anon"          # seeds the CSRF token of pages shown before sign-in
LANG_COOKIE = "shanhai_lang"
LANGS = ("zh", "en")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


class PageError(HTTPException):
    """An HTTP error with its sentence in Chinese and English (pages show the user's language,
    the API answers ``{"detail": en, "detail_zh": zh}``)."""

    def __init__(self, status_code: int, zh: str, en: str, headers: dict | None = None):
        super().__init__(status_code=status_code, detail=en, headers=headers)
        self.zh = zh
        self.en = en


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, the API answers 401."""


# ---- signing ---------------------------------------------------------------------------------

def _mac(request_or_app, message: str) -> str:
    app = getattr(request_or_app, "app", request_or_app)
    key = app.state.secret_key
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign(request_or_app, value: str) -> str:
    return f"{value}.{_mac(request_or_app, 'cookie:' + value)}"


def unsign(request_or_app, signed: str | None) -> str | None:
    if not signed or "." not in signed or len(signed) > 400:
        return None
    value, _, mac = signed.rpartition(".")
    return value if hmac.compare_digest(mac, _mac(request_or_app, "cookie:" + value)) else None


def session_token(request: Request) -> str | None:
    return unsign(request, request.cookies.get(SESSION_COOKIE))


def set_cookie(request: Request, response, name: str, value: str, *, max_age: int | None = None,
               http_only: bool = True) -> None:
    """A signed, SameSite=Lax cookie; HttpOnly unless asked, Secure when served over https."""
    response.set_cookie(name, sign(request, value), max_age=max_age, httponly=http_only, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


def clear_cookie(request: Request, response, name: str) -> None:
    response.delete_cookie(name, path="/", samesite="lax", secure=request.url.scheme == "https", httponly=True)


# ---- store, user, scope ---------------------------------------------------------------------

async def get_store(request: Request) -> AsyncIterator[Store]:
    """The request's cursor on the server's connection (closed when the request ends).

    ``async``: making a cursor does not block, and a synchronous dependency would cost every
    request a hop to the thread pool and back (measured: the hops were a third of a page's
    server time under load, benchmarks/web.py)."""
    base: Store = request.app.state.store
    cursor = base.con.cursor()
    try:
        yield Store(base.path, cursor, False)
    finally:
        cursor.close()


# A signed-in user's session is looked up in the database at most every SESSION_RECHECK_S seconds
# per session; in between the answer comes from memory. Safe because this process owns the
# database file: every change to users or sessions goes through this server, and each one that can
# end a session (sign-out, disable, password reset, a new sign-in) calls :func:`accounts_changed`,
# which empties the cache at once.
SESSION_RECHECK_S = 10.0


def accounts_changed(request_or_app) -> None:
    """Forget every cached session: the next request of each session is checked in the database."""
    app = getattr(request_or_app, "app", request_or_app)
    app.state.session_cache = {}


def _cached_user(request: Request, key: str) -> tuple[bool, User | None]:
    cache = getattr(request.app.state, "session_cache", None)
    if cache is None:
        return False, None
    hit = cache.get(key)
    if hit is None or not 0 <= (accounts.now() - hit[1]).total_seconds() <= SESSION_RECHECK_S:
        return False, None
    return True, hit[0]


def _lookup_user(base: Store, token: str) -> User | None:
    cursor = base.con.cursor()
    try:
        return accounts.user_for_session(Store(base.path, cursor, False), token)
    finally:
        cursor.close()


async def optional_user(request: Request) -> User | None:
    """The signed-in user, or None (pages that work both ways: the sign-in form, errors)."""
    if hasattr(request.state, "user"):
        return request.state.user
    token = session_token(request)
    user = None
    if token:
        key = accounts.session_key(token)
        found, user = _cached_user(request, key)
        if not found:
            started = accounts.now()
            user = await run_in_threadpool(_lookup_user, request.app.state.store, token)
            cache = getattr(request.app.state, "session_cache", None)
            if cache is not None:
                if len(cache) > 10_000:
                    cache.clear()
                cache[key] = (user, started)
        if user is not None:
            request.state.session_key = key
    request.state.user = user
    return user


# What a signed-in user with a pending step (a password to change, two-factor sign-in to enrol)
# may still reach; every other route sends them there first (pages: 303, the API: 403).
PENDING_PATHS = ("/account", "/signout", "/lang")
PENDING_STEPS = {
    "password": ("/account/password", "请先修改密码：首次登录、管理员重置或密码已过期。",
                 "Change your password first: first sign-in, an administrator's reset, or it has expired."),
    "enrol": ("/account/totp", "您的角色必须启用双因素登录：请先完成绑定。",
              "Your role must use two-factor sign-in: enrol first."),
}


async def current_user(request: Request, user: User | None = Depends(optional_user)) -> User:
    if user is None:
        raise SignInRequired()
    if user.pending is not None:
        path = request.url.path
        if not any(path == p or path.startswith(p + "/") for p in PENDING_PATHS):
            target, zh, en = PENDING_STEPS[user.pending]
            if path.startswith("/api/"):
                raise PageError(403, zh, en)
            raise PageError(303, zh, en, headers={"Location": target})
    return user


async def current_scope(request: Request, user: User = Depends(current_user)) -> Scope:
    scope = getattr(request.state, "scope", None)
    if scope is None:
        cache = request.app.state.scopes          # regions of a user's scope are reference data
        scope = cache.get(user.region_adcode)
        if scope is None:
            scope = cache[user.region_adcode] = await run_in_threadpool(_user_scope, request.app.state.store, user)
        request.state.scope = scope
    return scope


def _user_scope(base: Store, user: User) -> Scope:
    cursor = base.con.cursor()
    try:
        return user.scope(Store(base.path, cursor, False))
    finally:
        cursor.close()


def require_roles(*roles: str):
    """A dependency admitting users whose role is one of ``roles`` (admins always pass)."""
    unknown = set(roles) - set(accounts.ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}: expected some of {accounts.ROLES}")

    async def dependency(user: User = Depends(current_user)) -> User:
        if user.role != "admin" and user.role not in roles:
            names_zh = "、".join(ROLE_LABELS[r][0] for r in roles) or "管理员"
            names_en = ", ".join(roles) or "admin"
            raise PageError(403, f"该页面仅限{names_zh}使用。", f"This page is for {names_en} users only.")
        return user

    return dependency


async def require_write(user: User = Depends(current_user)) -> User:
    if not user.can_write:
        raise PageError(403, "只读账号不能执行此操作。", "A read-only (viewer) account cannot do this.")
    return user


# ---- CSRF ------------------------------------------------------------------------------------

def csrf_token_for(request: Request) -> str:
    """The page's CSRF token: bound to the session when signed in, else to the anonymous cookie."""
    token = session_token(request)
    if token:
        return _mac(request, "csrf:session:" + accounts.session_key(token))
    seed = getattr(request.state, "anon_seed", None) or unsign(request, request.cookies.get(ANON_COOKIE))
    if not seed:
        seed = request.state.anon_seed = secrets.token_urlsafe(16)
    return _mac(request, "csrf:anon:" + seed)


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request without the page's CSRF token (403)."""
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, csrf_token_for(request)):
        raise PageError(403, "表单已过期或并非来自本站（CSRF 校验失败），请刷新页面后重试。",
                        "The form has expired or did not come from this site (CSRF check failed): "
                        "reload the page and try again.")


# ---- language and rendering -----------------------------------------------------------------

def get_lang(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = unsign(request, request.cookies.get(LANG_COOKIE))
    return cookie if cookie in LANGS else "zh"


def translator(lang: str):
    def t(zh: str, en: str | None = None) -> str:
        return en if lang == "en" and en is not None else zh

    return t


def t(request: Request, zh: str, en: str) -> str:
    """One sentence in the request's language."""
    return translator(get_lang(request))(zh, en)


def nav_for(request: Request, user: User | None) -> list[dict]:
    if user is None:
        return []
    lang = get_lang(request)
    path = request.url.path
    items = []
    for order, href, zh, en, roles in request.app.state.nav:
        if roles is not None and user.role not in roles and user.role != "admin":
            continue
        matches = path == href if href == "/" else (path == href or path.startswith(href.rstrip("/") + "/"))
        items.append({"href": href, "label": zh if lang == "zh" else en, "active": matches, "order": order})
    # only the most specific entry is active (/coop/pairing, not also /coop)
    longest = max((len(i["href"]) for i in items if i["active"]), default=0)
    for item in items:
        item["active"] = item["active"] and len(item["href"]) == longest
    return items


def render(request: Request, template: str, context: dict | None = None, status: int = 200,
           headers: dict | None = None):
    """A page: ``template`` with ``context`` plus user, scope, lang, csrf_token, nav and t()."""
    lang = get_lang(request)
    user = getattr(request.state, "user", None)
    scope = getattr(request.state, "scope", None)
    region_name = scope.name if scope is not None else (
        getattr(request.app.state, "region_names", {}).get(user.region_adcode, user.region_adcode) if user else "")
    ctx = {
        "request": request,
        "user": user,
        "scope": scope,
        "region_name": region_name,
        "lang": lang,
        "t": translator(lang),
        "csrf_token": csrf_token_for(request),
        "nav": nav_for(request, user),
        "role_label": lambda role: translator(lang)(*ROLE_LABELS.get(role, (role, role))),
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "lang_url": lambda to: f"/lang?to={to}&next=" + quote(
            request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe=""),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, template, ctx, status_code=status, headers=headers)


# ---- words for codes -------------------------------------------------------------------------

# vocabulary → "module:NAME" of its label map, {code: (zh, en)} or {code: zh}, next to the codes'
# definition (imported on first use: deps is imported before the modules that own the codes)
LABEL_MAPS = {
    "job_kind": "shanhai.web.jobs:KIND_LABELS",
    "job_status": "shanhai.web.jobs:STATUS_LABELS",
    "role": "shanhai.store.accounts:ROLE_LABELS",
    "payout_state": "shanhai.jobs.service_policies:STATE_LABELS",
    "payment_mode": "shanhai.policy._service:PAYMENT_MODES",
    "amount_kind": "shanhai.analysis.service:AMOUNT_KIND_LABELS",
    "department_level": "shanhai.jobs.service_requests:LEVEL_LABELS",
    "link_state": "shanhai.jobs.service_requests:LINK_STATE_LABELS",
    "service_task_state": "shanhai.jobs.service_lists:TASK_STATE_LABELS",
    "service_task_source": "shanhai.jobs.service_lists:TASK_SOURCE_LABELS",
    "target_kind": "shanhai.jobs.targets:KIND_LABELS",
    "action_source": "shanhai.jobs.transition:SOURCE_LABELS",
    "quota_kind": "shanhai.jobs.transition:QUOTA_KIND_LABELS",
    "missing_rule": "shanhai.analysis.mujun:MISSING_LABELS",
    "benchmark_kind": "shanhai.analysis.mujun:BENCHMARK_LABELS",
    "evidence_confidence": "shanhai.reference._models:CONFIDENCE_LABELS",
    "calendar_basis": "shanhai.web.routers.targets:CALENDAR_BASIS_LABELS",
    "cadence": "shanhai.web.routers.targets:CADENCE_LABELS",
    "grid_series": "shanhai.web.routers.carbon:GRID_SERIES_LABELS",
    "grid_geography": "shanhai.web.routers.carbon:GRID_GEOGRAPHY_LABELS",
    "carbon_aggregation": "shanhai.web.routers.carbon:AGGREGATION_LABELS",
}
_label_maps: dict[str, dict] = {}


def label_map(vocabulary: str) -> dict:
    """The {code: (zh, en)} map of ``vocabulary`` (a key of :data:`LABEL_MAPS`)."""
    found = _label_maps.get(vocabulary)
    if found is None:
        if vocabulary not in LABEL_MAPS:
            raise KeyError(f"no label map {vocabulary!r}: expected one of {sorted(LABEL_MAPS)}")
        module, _, name = LABEL_MAPS[vocabulary].partition(":")
        found = _label_maps[vocabulary] = getattr(importlib.import_module(module), name)
    return found


def label_of(vocabulary: str, code, lang: str) -> str:
    """The word for ``code`` in ``lang``; a code the map does not know (yet) shows as itself."""
    if code is None or code == "":
        return ""
    word = label_map(vocabulary).get(code)
    if word is None:
        return str(code)
    if isinstance(word, str):
        return word
    return word[1] if lang == "en" and len(word) > 1 and word[1] else word[0]


@pass_context
def label(context, vocabulary: str, code) -> str:
    """``{{ label('job_status', j.status) }}`` in a template: the page's language decides."""
    return label_of(vocabulary, code, context.get("lang") or "zh")


templates.env.globals["label"] = label


# ---- audit from requests ---------------------------------------------------------------------

def audit(request: Request, store: Store, action: str, target: str | None = None,
          detail: dict | None = None, result: str | None = None) -> None:
    """Write an audit entry as the signed-in user from the request's client address (queued while
    a background job writes). ``result`` defaults to ``success`` (``failure`` for failed actions)."""
    user = getattr(request.state, "user", None)
    subject = {"client": client_address(request)}
    if result:
        subject["result"] = result
    request.app.state.jobs.log(store, action, username=user.username if user else "-", target=target,
                               detail={**(detail or {}), **subject})


def audit_writer(request: Request, store: Store):
    """The ``log=`` argument for :mod:`shanhai.store.accounts` functions called from a request."""
    return request.app.state.jobs.writer(store)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(target: str | None) -> str:
    """A local path to go to after sign-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
