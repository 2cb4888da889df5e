"""The FastAPI application: one process owns the database, routers are plugins.

``create_app(db_path)`` builds the app; at startup (lifespan) it opens the DuckDB file once —
writable, so DuckDB's lock keeps every other process (the CLI included) out while the server
runs, and they fail with one sentence from :func:`shanhai.store.open_store`. Each request gets
its own cursor (:func:`shanhai.web.deps.get_store`); background jobs run on one worker thread
(:mod:`shanhai.web.jobs`).

Screens are plugins: every module in :mod:`shanhai.web.routers` that defines
``router: APIRouter`` is included, in module-name order, and may define
``NAV = [(order, path, zh_label, en_label, roles_or_None), ...]`` for the top navigation.
Add a screen by adding a file there; this module does not change.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import secrets
import traceback
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRouter, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from shanhai import __version__
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.store import accounts, audit, open_store
from shanhai.store.scope import OutOfScopeError
from shanhai.web import deps
from shanhai.web import jobs as _jobs
from shanhai.web.security import SecurityMiddleware

log = logging.getLogger("shanhai.web")

STATIC_DIR = Path(__file__).parent / "static"
SECRET_ENV = "SHANHAI_SECRET_KEY"

ERROR_SENTENCES = {
    400: ("请求无法完成。", "The request could not be completed."),
    401: ("请先登录。", "Please sign in first."),
    403: ("您没有权限查看该页面或数据（超出您的数据范围或角色）。",
          "You are not allowed to see this page or data (it is outside your region or role)."),
    404: ("没有找到该页面或数据。", "There is no such page or data."),
    405: ("该地址不支持此操作。", "This address does not accept this kind of request."),
    422: ("请求参数有误。", "The request's parameters are not valid."),
    500: ("系统内部错误，已记录，请稍后再试或联系管理员。",
          "An internal error occurred and was logged: try again later or contact the administrator."),
    503: ("系统正忙，请稍后再试。", "The system is busy: try again in a moment."),
}


def load_secret_key(db_path: Path, secret_key: str | None) -> bytes:
    """The key signing cookies and CSRF tokens: the argument, ``$SHANHAI_SECRET_KEY``, or a random
    key kept beside the database in ``<db>.secret`` (created with mode 0600), so sessions survive
    a restart."""
    if secret_key:
        return secret_key.encode("utf-8")
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV].encode("utf-8")
    path = Path(f"{db_path}.secret")
    if path.exists():
        return path.read_text("ascii").strip().encode("ascii")
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key.encode("ascii")


def plugin_modules() -> list:
    """The router modules of :mod:`shanhai.web.routers`, in name order (an import error is raised:
    a broken screen must not disappear silently)."""
    import shanhai.web.routers as package

    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if isinstance(getattr(module, "router", None), APIRouter):
            found.append(module)
    return found


def _nav_entries(modules) -> list[tuple]:
    entries = []
    for module in modules:
        for entry in getattr(module, "NAV", []) or []:
            if len(entry) != 5:
                raise ValueError(f"{module.__name__}.NAV entry {entry!r} must be "
                                 "(order, path, zh_label, en_label, roles_or_None)")
            order, path, zh, en, roles = entry
            entries.append((order, path, zh, en, tuple(roles) if roles is not None else None))
    return sorted(entries, key=lambda e: (e[0], e[1]))


def app_routes(app: FastAPI) -> list:
    """Every route of the app, with routers' routes flattened (FastAPI keeps included routers as
    nested objects in ``app.routes``): objects with ``path``, ``methods``, ``name``, ``endpoint``."""
    return list(iter_route_contexts(app.routes))


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, zh: str | None = None, en: str | None = None,
           headers: dict | None = None) -> Response:
    base_zh, base_en = ERROR_SENTENCES.get(status, ERROR_SENTENCES[400 if status < 500 else 500])
    zh, en = zh or base_zh, en or base_en
    if _is_api(request):
        return JSONResponse({"detail": en, "detail_zh": zh, "status": status}, status_code=status, headers=headers)
    _resolve_user(request)  # so an error page keeps the navigation of a signed-in user
    return deps.render(request, "error.html", {"status": status, "message_zh": zh, "message_en": en},
                       status=status, headers=headers)


def _resolve_user(request: Request) -> None:
    if hasattr(request.state, "user") or not deps.session_token(request):
        return
    base = getattr(request.app.state, "store", None)
    if base is None:
        return
    from shanhai.store.connection import Store

    cursor = base.con.cursor()
    try:
        token = deps.session_token(request)
        request.state.user = accounts.user_for_session(Store(base.path, cursor, False), token)
    except Exception:  # an error page must render whatever went wrong before it
        request.state.user = None
    finally:
        cursor.close()


def create_app(db_path: Path, *, secret_key: str | None = None) -> FastAPI:
    """The dashboard over the database at ``db_path`` (opened at startup, closed at shutdown)."""
    db_path = Path(db_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = open_store(db_path)  # writable: takes DuckDB's lock, upgrades an older file
        try:
            audit.check_writable(store.con)  # a malformed audit key, or a keyed log and none: refuse to start
            accounts.check_secrets(store.con)  # a malformed secrets key, or encrypted seeds and none: the same
        except BaseException:
            store.close()
            raise
        runner = _jobs.JobRunner(store)
        app.state.store = store
        app.state.jobs = runner
        app.state.region_names = dict(store.con.execute(
            "SELECT adcode, name FROM regions WHERE level IN ('province', 'city', 'county')").fetchall())
        runner.start()
        previous = _jobs._runner
        _jobs.set_runner(runner)
        try:
            yield
        finally:
            runner.stop()
            _jobs.set_runner(previous)
            store.close()

    app = FastAPI(
        title="山海 Shanhai 产业大脑",
        version=__version__,
        description="浙江制造业治理产业大脑 — an open industry brain for Zhejiang manufacturing governance. "
                    "The JSON API is under /api/v1; it uses the same sign-in session and region scope as the pages.",
        lifespan=lifespan,
        dependencies=[Depends(deps.csrf_protect)],
        docs_url=None,          # Swagger UI loads from a CDN: no request leaves the host
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.db_path = db_path
    app.state.secret_key = load_secret_key(db_path, secret_key)
    app.state.scopes = {}
    app.state.session_cache = {}       # deps.optional_user: sessions checked at most every few seconds

    @app.exception_handler(deps.SignInRequired)
    async def _sign_in(request: Request, exc: deps.SignInRequired):
        if _is_api(request):
            return _error(request, 401, "请先登录（会话不存在或已过期）。",
                          "Sign in first: there is no session or it has expired.")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if isinstance(exc, deps.PageError):
            return _error(request, exc.status_code, exc.zh, exc.en, getattr(exc, "headers", None))
        en = exc.detail if isinstance(exc.detail, str) and exc.status_code not in (404, 405) else None
        return _error(request, exc.status_code, None, en, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        problems = []
        for e in exc.errors()[:3]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
            problems.append(f"{where}: {e.get('msg')}")
        detail = "; ".join(problems)
        return _error(request, 422, f"请求参数有误：{detail}", f"The request's parameters are not valid: {detail}")

    @app.exception_handler(OutOfScopeError)
    async def _out_of_scope(request: Request, exc: OutOfScopeError):
        return _error(request, 403, f"超出您的数据范围：{exc}", f"Outside your region: {exc}")

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError):
        return _error(request, 404, f"没有找到：{exc}", f"Not found: {exc}")

    @app.exception_handler(ShanhaiError)
    async def _shanhai(request: Request, exc: ShanhaiError):
        return _error(request, 400, f"请求无法完成：{exc}", f"The request could not be completed: {exc}")

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.error("%s %s failed:\n%s", request.method, request.url.path, traceback.format_exc())
        return _error(request, 500)

    # the county map from the package data (a route, not a copy), before the /static mount
    @app.get("/static/geo/zhejiang_counties.geojson", include_in_schema=False, name="geo_counties")
    def geo_counties() -> Response:
        data = resources.files("shanhai.reference").joinpath("data/zhejiang_counties.geojson").read_bytes()
        return Response(data, media_type="application/geo+json",
                        headers={"Cache-Control": "public, max-age=86400"})

    modules = plugin_modules()
    for module in modules:
        app.include_router(module.router)
    app.include_router(_jobs.router)
    app.state.nav = _nav_entries(modules)

    if not any(r.path == "/" for r in app_routes(app)):
        @app.get("/", include_in_schema=False, name="home")
        def home(request: Request, user=Depends(deps.current_user)):
            """No overview screen installed: go to the first screen the user may open."""
            items = deps.nav_for(request, user)
            return RedirectResponse(items[0]["href"] if items else "/jobs", status_code=303)

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_middleware(SecurityMiddleware)
    return app
