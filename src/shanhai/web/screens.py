"""Helpers shared by the dashboard's screen routers (overview, per-mu, data, policies, API):
number formatting with units, the mapping of the data layer's errors to HTTP statuses, and the
query-string filters of the results screens."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from datetime import date
from typing import Any, Callable
from urllib.parse import urlencode

from markupsafe import Markup

from shanhai.errors import ShanhaiError
from shanhai.jobs import dashboard
from shanhai.jobs._memo import Memo
from shanhai.store.scope import OutOfScopeError

WRITE_ROLES = ("admin", "province", "city", "county")


# ---- numbers with units ----------------------------------------------------------------------

def _bad(v) -> bool:
    return v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))


def _unsigned_zero(v: float, digits: int) -> float:
    """``v``, or 0.0 when it rounds to zero at ``digits`` (-0.001 shows 0.00, never -0.00)."""
    return 0.0 if round(v, digits) == 0 else v


def num(v, digits: int = 2, dash: str = "—") -> str:
    """1234.5 → '1,234.50'; None → '—'; -0.001 → '0.00' (no negative zero)."""
    if _bad(v):
        return dash
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return f"{_unsigned_zero(float(v), digits):,.{digits}f}"


def count(v) -> str:
    return "—" if _bad(v) else f"{int(v):,}"


def unit(v, u: str, digits: int = 2) -> str:
    return "—" if _bad(v) else f"{num(v, digits)} {u}"


def wan(v, digits: int = 2) -> str:
    """An amount in 万元; ≥ 10,000 万元 is shown in 亿元. (A table column uses :func:`wan_unit` and
    :func:`wan_in`: one unit for the whole column.)"""
    if _bad(v):
        return "—"
    if abs(v) >= 10_000:
        return f"{num(v / 10_000, digits)} 亿元"
    return f"{num(float(v), digits)} 万元"


def wan_unit(values) -> str:
    """The unit of a column of amounts in 万元: 亿元 when one of them reaches 10,000 万元, else 万元 —
    so a column never mixes '7,620.59 万元' with '32.80 亿元' (where the smaller looks larger)."""
    return "亿元" if any(not _bad(v) and abs(v) >= 10_000 for v in values) else "万元"


def wan_in(v, unit: str, digits: int = 2) -> str:
    """An amount in 万元 as a number in ``unit`` (万元 or 亿元, from :func:`wan_unit`), without the unit
    (the column's header carries it)."""
    if _bad(v):
        return "—"
    return num(v / 10_000 if unit == "亿元" else float(v), digits)


def per_mu(v, digits: int = 2) -> str:
    return unit(v, "万元/亩", digits)


def mu(v, digits: int = 2) -> str:
    return unit(v, "亩", digits)


def yuan(v) -> str:
    if _bad(v):
        return "—"
    if abs(v) >= 10_000:
        return f"{v / 10_000:,.2f} 万元"
    return f"{v:,.0f} 元"


def pct(v, digits: int = 1, signed: bool = False) -> str:
    """A percentage already × 100 (12.3 → '12.3%')."""
    if _bad(v):
        return "—"
    v = _unsigned_zero(float(v), digits)
    if signed and v == 0:
        return f"{0:.{digits}f}%"
    return f"{v:+.{digits}f}%" if signed else f"{v:.{digits}f}%"


def share(v, digits: int = 1) -> str:
    """A fraction (0.123 → '12.3%')."""
    return "—" if _bad(v) else f"{_unsigned_zero(v * 100, digits):.{digits}f}%"


def indicator_value(v, u: str) -> str:
    if _bad(v):
        return "—"
    if u == "比值":
        return f"{v * 100:.2f}%"
    return f"{num(v, 4 if abs(v) < 1 else 2)} {u}"


def setting(v) -> str:
    """A policy field's value as a reader writes it: a list as 'A、B', a table as 'k = v; …', yes/no
    as 是/否, a whole float without '.0' (the preset comparison's value columns)."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "、".join(setting(x) for x in v) if v else "（无）"
    if isinstance(v, dict):
        return "；".join(f"{k} = {setting(x)}" for k, x in v.items()) if v else "（无）"
    return str(v)


class Fmt:
    """The formatting functions, handed to templates as ``fmt``."""
    setting = staticmethod(setting)
    num = staticmethod(num)
    count = staticmethod(count)
    unit = staticmethod(unit)
    wan = staticmethod(wan)
    wan_unit = staticmethod(wan_unit)
    wan_in = staticmethod(wan_in)
    per_mu = staticmethod(per_mu)
    mu = staticmethod(mu)
    yuan = staticmethod(yuan)
    pct = staticmethod(pct)
    share = staticmethod(share)
    indicator_value = staticmethod(indicator_value)

    @staticmethod
    def query(base: dict, **changes) -> str:
        """A query string from ``base`` with ``changes`` (None removes a key)."""
        q = {k: v for k, v in {**base, **changes}.items() if v not in (None, "", False)}
        return urlencode(q)


FMT = Fmt()


# ---- errors → HTTP ---------------------------------------------------------------------------

async def save_upload(file, path, max_bytes: int) -> int:
    """Write an uploaded file to ``path`` (its folder is new) in 1 MB pieces; a file larger than
    ``max_bytes`` removes the folder and is a 413. Returns the size."""
    import shutil

    from shanhai.web.deps import PageError

    size = 0
    with path.open("wb") as out:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                out.close()
                shutil.rmtree(path.parent, ignore_errors=True)
                mb = max_bytes // 2**20
                raise PageError(413, f"文件超过 {mb} MB。", f"The file is larger than {mb} MB.")
            out.write(chunk)
    return size


def page_error(exc: ShanhaiError):
    """A PageError (the core's error page) for a data-layer error: 404 for what does not exist,
    403 for what lies outside the caller's region, 400 for a bad parameter."""
    from shanhai.web.deps import PageError

    msg = str(exc)
    if isinstance(exc, dashboard.NotFound):
        return PageError(404, msg, msg)
    if isinstance(exc, OutOfScopeError):
        return PageError(403, msg, msg)
    return PageError(400, msg, msg)


def can_write(user) -> bool:
    return bool(getattr(user, "can_write", False))


class reading:
    """``with reading(): ...``: the data layer's NotFound becomes a 404 page (OutOfScope is
    already a 403 and other ShanhaiErrors a 400 through the app's handlers)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is not None and isinstance(exc, dashboard.NotFound):
            raise page_error(exc) from None
        return False


# ---- results filters from the query string ---------------------------------------------------

def filters_from(params) -> dashboard.Filters:
    get = params.get
    return dashboard.Filters(cls=get("class") or None, population=get("population") or None,
                             industry=get("industry") or None, county=get("county") or None,
                             town=get("town") or None, zone=get("zone") or None, q=get("q") or None)


def filters_query(f: dashboard.Filters) -> dict:
    d = f.as_dict()
    if "cls" in d:
        d["class"] = d.pop("cls")
    return d


# ---- cached page bodies ----------------------------------------------------------------------

CSRF_PLACEHOLDER = "\ue000csrf-token\ue000"
FRAGMENTS_KEPT = 256
_FRAGMENTS = Memo(FRAGMENTS_KEPT)


def fragment(request, template: str, key: tuple, context) -> Markup:
    """A page's body rendered once per ``key`` and kept (the overview and results pages read an
    immutable stored run, so the body only depends on the run, the scope, the query and the
    language): a repeated request costs a dictionary lookup instead of queries and a template.
    ``context()`` builds the template's context on a miss; the caller has checked the scope
    before (the key includes it). The CSRF token is put in per request."""
    from shanhai.web.deps import csrf_token_for, get_lang, translator

    lang = get_lang(request)
    full = (str(request.app.state.db_path), template, lang, key)

    def render() -> str:
        from shanhai.web.deps import templates

        ctx = {"t": translator(lang), "lang": lang, "scope": getattr(request.state, "scope", None),
               "csrf_token": CSRF_PLACEHOLDER, "fmt": FMT, **context()}
        return templates.env.get_template(template).render(ctx)

    html = _FRAGMENTS.get(full, render)
    if CSRF_PLACEHOLDER in html:
        html = html.replace(CSRF_PLACEHOLDER, csrf_token_for(request))
    return Markup(html)


def clear_fragments() -> None:
    _FRAGMENTS.clear()


# ---- cached views: pages and API answers computed from the data ------------------------------

VIEWS_KEPT = 512
_VIEWS = Memo(VIEWS_KEPT)
# audit actions that change no data a view shows: reading, exporting, signing in and out, one's own
# password and second factor, a backup, a refused upload, a verification of the chain
READ_ONLY_ACTIONS = ("sign_in", "sign_out", "view_", "export", "audit.verify", "db_backup", "import.refused",
                     "user.password", "user.totp_enrol", "user.recovery_code")
_HEADS: dict[str, tuple[int, int]] = {}          # database → (audit head, head of the data-changing records)


def _changing(since: int) -> str:
    skip = " OR ".join(f"starts_with(action, '{a}')" for a in READ_ONLY_ACTIONS)
    # an import that inserted and updated nothing (the same file again) changed no fact
    same = ("(action = 'import' AND json_extract(detail, '$.inserted')::BIGINT = 0 "
            "AND json_extract(detail, '$.updated')::BIGINT = 0)")
    return f"SELECT max(seq) FROM audit_log WHERE seq > {int(since)} AND NOT ({skip} OR coalesce({same}, false))"


def data_version(store) -> int:
    """The data version readers see: :func:`live_version`, except while a job that may change the
    data runs (:func:`publishing`): then the version from before the job, until the views readers
    used are computed again for the job's data."""
    pinned = _PINNED.get(str(store.path))
    return pinned if pinned is not None else live_version(store)


def live_version(store) -> int:
    """The sequence number of the newest audit record that changed data: what a cached view's
    data can have changed by. Every change to the data is audited — an import's record is written
    in the transaction of its merge, a run's, an edit's and a job's in the transaction of the rows
    they wrote or after it — so a view computed at version ``n`` holds until the next such record.
    Records of reading (sign-ins, exports, enterprise views: :data:`READ_ONLY_ACTIONS`) and of an
    import that inserted and updated nothing are not changes. Costs the audit log's newest
    sequence number per request (well under a millisecond); the records after the last one seen
    are read only when it moved."""
    db = str(store.path)
    head = store.con.execute("SELECT coalesce(max(seq), 0) FROM audit_log").fetchone()[0]
    known = _HEADS.get(db)
    if known is not None and known[0] == head:
        return known[1]
    since, version = (known if known is not None and known[0] < head else (0, 0))
    newer = store.con.execute(_changing(since)).fetchone()[0]
    version = newer if newer is not None else version
    _HEADS[db] = (head, version)
    return version


def view_key(request, store, scope, user) -> tuple:
    """The key of the current request's view: database and its data version, the day (views
    with 'today' in them: due dates, as-of dates), the caller's scope and role, the language, the
    path and the whole query string (sorted: every parameter, also the ones a view ignores)."""
    from shanhai.web.deps import get_lang

    return (str(store.path), data_version(store), date.today().isoformat(), scope.level, scope.adcode,
            getattr(user, "role", None), get_lang(request), request.url.path,
            tuple(sorted(request.query_params.multi_items())))


def cached_view(request, store, scope, user, compute: Callable[[Any], Any]) -> Any:
    """``compute(store)`` — a page's template context or an API answer that depends only on the data,
    the caller's scope and role, the language and the query — once per :func:`view_key`, kept
    (least recently used dropped beyond ``VIEWS_KEPT``), shared: when a hundred readers ask for it
    at once after an import, one computes and the others wait for its value (``jobs._memo``).
    Errors (a 403 outside the scope, a 404) are raised to every caller and nothing is kept. The
    caller checks nothing before: the scope is in the key and ``compute`` reads through it, so
    a county's view is never another county's. The value is shared between requests: callers
    must not change it (build the per-request parts — the CSRF token, the user's buttons — around
    it). ``compute`` reads only through the store it is given (the request's, or the job's when
    :func:`publishing` computes the view again for new data) and is kept as the view's recipe."""
    key = view_key(request, store, scope, user)
    recipe = _recipe_key(key)
    with _RECIPES_LOCK:
        _RECIPES[recipe] = compute
        _RECIPES.move_to_end(recipe)
        while len(_RECIPES) > RECIPES_KEPT:
            _RECIPES.popitem(last=False)
    return _VIEWS.get(key, lambda: compute(store))


def clear_views() -> None:
    _VIEWS.clear()
    with _RECIPES_LOCK:
        _RECIPES.clear()


# ---- new data published once the views are ready ---------------------------------------------
#
# A job that brings new data (an import, an evaluation) would otherwise send the first readers of
# every view to compute it afresh, all at once, on the two cores the import and a hundred readers
# share: 2-3.4 s answers right after an import's commit under the load test (docs/operations.md,
# "Load"). Instead readers keep the version from before the job while it runs; after the job's
# own work, still on the job thread, the views readers used most recently are computed for the
# new data (``REWARM_KEPT`` of them at most, for ``REWARM_SECONDS`` at most), and only then is
# the new version published and the job reported done. A reader then sees the job's data exactly
# when its job says done, as before, and never waits for a view to be recomputed for it. A view
# no reader had is computed by its first reader, as any view.

RECIPES_KEPT = 128
REWARM_KEPT = 64
REWARM_SECONDS = 30.0
_RECIPES: OrderedDict = OrderedDict()          # a view's key without its data version → compute(store)
_RECIPES_LOCK = threading.Lock()
_PINNED: dict[str, int] = {}                   # database → the version readers see while a job runs


def _recipe_key(key: tuple) -> tuple:
    return key[:1] + key[2:]


def _with_version(recipe: tuple, version: int) -> tuple:
    return recipe[:1] + (version,) + recipe[1:]


@contextmanager
def publishing(store):
    """Around a job on the job thread that may change data (see above): readers see the data
    version from before it until :func:`rewarm` has computed their views for the new one."""
    db = str(store.path)
    before = live_version(store)
    _PINNED[db] = before
    try:
        yield
        after = live_version(store)
        if after != before:
            rewarm(store, before, after)
    finally:
        _PINNED.pop(db, None)


def rewarm(store, before: int, after: int) -> int:
    """Compute, with ``store`` (the job's), the views readers had for version ``before`` again for
    ``after``, most recently used first; a view that fails now (a 404 for a vanished region) is left
    to its first reader. Returns how many were computed."""
    with _RECIPES_LOCK:
        recipes = list(reversed(_RECIPES.items()))
    deadline = time.monotonic() + REWARM_SECONDS
    done = 0
    for recipe, compute in recipes[:REWARM_KEPT]:
        if time.monotonic() > deadline:
            break
        if _with_version(recipe, before) not in _VIEWS:
            continue
        try:
            _VIEWS.get(_with_version(recipe, after), lambda: compute(store))
            done += 1
        except Exception:  # noqa: BLE001 - whatever a view raises, its reader will get it
            continue
    return done


def submit_whatif(request, store, scope, user, run_id: str, policy_name: str) -> str:
    """Queue a what-if (the run's year evaluated again with another preset inside the user's
    scope, then compared with the run); the job id. Shared by the page and the API."""
    from urllib.parse import quote

    from shanhai import policy as policies
    from shanhai.web.deps import PageError

    with reading():
        base = dashboard.run_info(store, scope, run_id)
    try:
        preset = policies.get(policy_name)
    except ShanhaiError as exc:
        raise PageError(400, f"评价办法无效：{exc}", f"Unknown preset: {exc}") from None
    username = user.username

    def job(progress):
        out = dashboard.whatif(progress.store, scope, base.run_id, preset.name, username,
                               progress=progress.fraction)
        return {"url": f"/mujun/compare?a={quote(out['a'])}&b={quote(out['b'])}",
                "message": f"模拟完成 what-if done: {preset.display_name}（批次 {out['b']}）"}

    region_name = dashboard.region(store, dashboard.whatif_region(store, scope, base)).name
    label = f"模拟评价 what-if {base.year} · {preset.display_name} · {region_name}"
    return request.app.state.jobs.submit("evaluate", label, job, user)


def submit_evaluation(request, store, scope, user, policy_name: str, year: int, region: str) -> str:
    """Queue a per-mu evaluation of ``year`` with a preset for ``region`` (default: the user's
    whole scope; 403 outside it); the job id. Shared by the page and the API."""
    from shanhai import policy as policies
    from shanhai.web.deps import PageError

    try:
        preset = policies.get(policy_name)
    except ShanhaiError as exc:
        raise PageError(400, f"评价办法无效：{exc}", f"Unknown preset: {exc}") from None
    if year not in dashboard.data_years(store):
        raise PageError(400, f"没有 {year} 年度的企业数据。", f"There is no enterprise data for {year}.")
    target = dashboard.region_in_scope(store, scope, region or scope.adcode)   # 403 outside the scope
    username = user.username

    def job(progress):
        summary = dashboard.run_evaluation(progress.store, scope, preset.name, year, target.adcode, username,
                                           progress=progress.fraction)
        return {"url": f"/mujun/runs/{summary['run_id']}",
                "message": f"评价完成：{summary['evaluated']:,} 家参评（批次 {summary['run_id']}）"}

    label = f"亩均评价 {year} · {preset.display_name} · {target.name}"
    return request.app.state.jobs.submit("evaluate", label, job, user)
