"""``/indices``: the electricity indices of a region inside the caller's scope — the production
index by industry division and by sub-region and the chain operation index by chain and segment
(:mod:`shanhai.jobs.power_index`), with the region's monthly series; ``/indices/run`` computes a
new run in the background (writers); ``/indices/export.xlsx`` the workbook; ``/api/v1/indices…``
the same as JSON.

Only cells of regions inside the caller's scope are shown: a county user sees its own county's
cells (never the city's or the province's, which include other counties' firms); no firm is named.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import power_index as jp
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.store.sql import literal
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_lang, get_store, render, require_write
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT, can_write

router = APIRouter()
NAV = [(45, "/indices", "电力指数", "Power indices", None)]
KINDS = {"production": ("生产指数", "Production index"), "chain": ("产业链运行指数", "Chain operation index")}


def _regions(store: Store, scope: Scope) -> list[dict]:
    """The regions the caller may pick: its own, then its cities and counties."""
    rows = [{"adcode": scope.adcode, "name": scope.name or scope.adcode, "level": scope.level}]
    for adcode, name, level in store.con.execute(
            "SELECT adcode, name, level FROM regions WHERE level IN ('city', 'county') "
            f"AND {scope.covers_sql('adcode')} AND adcode <> {literal(scope.adcode)} ORDER BY adcode").fetchall():
        rows.append({"adcode": adcode, "name": name, "level": level})
    return rows


def chart_payload(series: dict, lang: str) -> dict:
    return {"lang": lang, "name": series["group_name"],
            "periods": [r["period_label"] for r in series["rows"]],
            "composite": [r["composite_index"] for r in series["rows"]],
            "yoy": [r["yoy_index"] for r in series["rows"]],
            "base": [r["base_index"] for r in series["rows"]],
            "operating": [None if r["operating_share"] is None else 100 * r["operating_share"] for r in series["rows"]]}


def _docs(store: Store, scope: Scope, area: Scope, kind: str, group: str | None, period: str | None, run: str | None,
          lang: str):
    """The region's groups, the sub-regions of one group (default: all manufacturing, or the chain
    with the most firms) and that group's monthly series."""
    groups = jp.cells(store, scope, kind=kind, region=area.adcode, by="group", period=period, run_id=run, lang=lang)
    if not group:
        chains = sorted((r for r in groups["rows"] if "." not in r["group_id"]), key=lambda r: -(r["firms"] or 0))
        group = "all" if kind == "production" or not chains else chains[0]["group_id"]
    run_id = groups["run"]["run_id"]
    subs = jp.cells(store, scope, kind=kind, region=area.adcode, by="region", group=group, period=period,
                    run_id=run_id, lang=lang)
    try:
        series = jp.series(store, scope, kind=kind, group=group, region=area.adcode, run_id=run_id, lang=lang)
    except NotFoundError:
        series = None
    return groups, subs, series, group


@router.get("/indices", name="power_index")
def indices_page(request: Request, region: str | None = Query(None),
                 kind: str = Query("production", pattern="^(production|chain)$"), group: str | None = Query(None),
                 period: str | None = Query(None), run: str | None = Query(None), store: Store = Depends(get_store),
                 user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    lang = get_lang(request)
    area = scope.narrow(store, region)
    ctx = {"fmt": FMT, "kind": kind, "kinds": KINDS, "regions": _regions(store, scope), "area": area.as_dict(),
           "can_write": can_write(user), "runs": jp.runs(store, scope, limit=10),
           "jobs": [j for j in request.app.state.jobs.jobs_of(user, 5) if j.kind == "power_index"],
           "q": {"region": area.adcode, "kind": kind, "period": period, "run": run}}
    try:
        groups, subs, series, group = _docs(store, scope, area, kind, group, period, run, lang)
    except NotFoundError as exc:
        if run or period:
            raise
        return render(request, "indices.html", {**ctx, "missing": str(exc)})
    ctx.update({"groups": groups, "subs": subs, "series": series, "group": group, "info": groups["run"],
                "chart": chart_payload(series, lang) if series else None, "missing": None})
    return render(request, "indices.html", ctx)


@router.post("/indices/run", name="power_index_run")
def start_run(request: Request, region: str = Form(""), month: str = Form(""), store: Store = Depends(get_store),
              user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    """Compute a new run of the region (inside the caller's scope) in the background."""
    area = scope.narrow(store, region or None)
    try:
        last = jp._month(month) if month else jp.latest_month(store)
    except ShanhaiError as exc:
        raise PageError(400, f"月份无效：{exc}", str(exc)) from None
    username = user.username

    def job(progress):
        doc = jp.run(progress.store, month=last, region=area.adcode, user=username, progress=progress.fraction)
        return {"url": f"/indices?region={area.adcode}&run={doc['run_id']}",
                "message": f"电力指数 {doc['periods'][0]}–{doc['periods'][-1]}：{doc['cells']} 个单元（批次 {doc['run_id']}）"}

    job_id = request.app.state.jobs.submit("power_index", f"电力指数 · {area.name} · 截至 {last:%Y-%m}", job, user)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/indices/export.xlsx", name="power_index_export")
def export(request: Request, region: str | None = Query(None), period: str | None = Query(None),
           run: str | None = Query(None), store: Store = Depends(get_store), user: User = Depends(current_user),
           scope: Scope = Depends(current_scope)):
    from shanhai.reports.power_index_excel import power_index_workbook

    lang = get_lang(request)
    area = scope.narrow(store, region)
    kw = {"region": area.adcode, "period": period, "run_id": run, "lang": lang}
    industries = jp.cells(store, scope, kind="production", by="group", **kw)
    data = power_index_workbook(industries, jp.cells(store, scope, kind="production", by="region", **kw),
                                jp.cells(store, scope, kind="chain", by="group", **kw),
                                jp.series(store, scope, region=area.adcode, run_id=industries["run"]["run_id"], lang=lang))
    deps.audit(request, store, "export", target=f"indices:{area.adcode}",
               detail={"kind": "power_index", "region": area.adcode, "run": industries["run"]["run_id"],
                       "period": industries["period"], "bytes": len(data)})
    return attachment(data, f"{area.name}电力指数（{industries['period']}）.xlsx", XLSX)


@router.get("/api/v1/indices", response_model=dict[str, Any], tags=["indices"],
            summary="电力指数 One period's production or chain operation index cells of a region")
def api_cells(region: str | None = Query(None, description="adcode inside your region (default: yours)"),
              kind: str = Query("production", pattern="^(production|chain)$"),
              by: str = Query("group", pattern="^(group|region)$"), group: str = Query("all"),
              period: str | None = Query(None, description="YYYY-MM (default: the run's last)"),
              run: str | None = Query(None), store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jp.cells(store, scope, kind=kind, region=region, by=by, group=group, period=period, run_id=run)


@router.get("/api/v1/indices/series", response_model=dict[str, Any], tags=["indices"],
            summary="电力指数 One cell month by month")
def api_series(region: str | None = Query(None), kind: str = Query("production", pattern="^(production|chain)$"),
               group: str = Query("all"), run: str | None = Query(None), store: Store = Depends(get_store),
               scope: Scope = Depends(current_scope)):
    return jp.series(store, scope, kind=kind, group=group, region=region, run_id=run)


@router.get("/api/v1/indices/runs", response_model=list[dict[str, Any]], tags=["indices"],
            summary="电力指数 Stored runs overlapping your region, newest first")
def api_runs(limit: int = Query(50, ge=1, le=500), store: Store = Depends(get_store),
             scope: Scope = Depends(current_scope)):
    return jp.runs(store, scope, limit=limit)
