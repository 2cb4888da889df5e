"""Helpers shared by the dashboard's screen routers (overview, per-mu, data, policies, API):
number formatting with units, the mapping of the data layer's errors to HTTP statuses, and the
query-string filters of the results screens."""

from __future__ import annotations

import math
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


def num(v, digits: int = 2, dash: str = "—") -> str:
    """1234.5 → '1,234.50'; None → '—'."""
    if _bad(v):
        return dash
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return f"{float(v):,.{digits}f}"


def count(v) -> str:
    return "—" if _bad(v) else f"{int(v):,}"


def unit(v, u: str, digits: int = 2) -> str:
    return "—" if _bad(v) else f"{num(v, digits)} {u}"


def wan(v, digits: int = 2) -> str:
    """An amount in 万元; ≥ 10,000 万元 is shown in 亿元."""
    if _bad(v):
        return "—"
    if abs(v) >= 10_000:
        return f"{v / 10_000:,.{digits}f} 亿元"
    return f"{v:,.{digits}f} 万元"


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
    return f"{v:+.{digits}f}%" if signed else f"{v:.{digits}f}%"


def share(v, digits: int = 1) -> str:
    """A fraction (0.123 → '12.3%')."""
    return "—" if _bad(v) else f"{v * 100:.{digits}f}%"


def indicator_value(v, u: str) -> str:
    if _bad(v):
        return "—"
    if u == "比值":
        return f"{v * 100:.2f}%"
    return f"{num(v, 4 if abs(v) < 1 else 2)} {u}"


class Fmt:
    """The formatting functions, handed to templates as ``fmt``."""
    num = staticmethod(num)
    count = staticmethod(count)
    unit = staticmethod(unit)
    wan = staticmethod(wan)
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
                "message": f"模拟完成 what-if done: {preset.display_name} (run {out['b']})"}

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
                "message": f"评价完成：{summary['evaluated']:,} 家参评 (run {summary['run_id']})"}

    label = f"亩均评价 {year} · {preset.display_name} · {target.name}"
    return request.app.state.jobs.submit("evaluate", label, job, user)
