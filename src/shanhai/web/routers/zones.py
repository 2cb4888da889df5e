"""``/zones``: development-zone evaluation (开发区综合评价, 进退档) — a stored run's ranking within
its comparison groups with tier-change arrows, bottom-N flags and a chart of the scores;
``/zones/evaluate`` (POST; province-wide write roles) stores a run in the background;
``/zones/{zone_id}``: one zone's indicators, scores, the explanation (points that add up to the
total) and its history; ``/zones/export.xlsx`` the workbook; ``/api/v1/zones/…`` the same as JSON.

Everything reads through :mod:`shanhai.jobs.zones` with the caller's ``Scope``: the ranking is
public (every zone's name, rank, score, tier — no firm), a zone's indicators and explanation
only for a zone inside the caller's region (403 outside, 404 unknown). Runs are made with
``shanhai zones evaluate`` or the page's form (province and admin users: an evaluation ranks every
zone of the province); the pages read them. Exports are audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import zones as jz
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_lang, get_store, render, require_write
from shanhai.web.jobs import submit
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT

router = APIRouter()
NAV = [(46, "/zones", "开发区评价", "Zones", None)]

CHANGE_ARROWS = {"up": "▲", "down": "▼", "same": "＝", "new": "·"}
TIER_COLORS = ("#1a9850", "#2c7fb8", "#f39c12", "#d73027", "#7f7f7f")


def _chart(doc: dict, lang: str) -> dict:
    """What zones.js draws: per group, the zones by rank with their score, tier colour, own-zone
    and bottom-N marks."""
    tiers = [t["id"] for t in doc["tiers"]]
    colors = {t: TIER_COLORS[min(i, len(TIER_COLORS) - 1)] for i, t in enumerate(tiers)}
    groups = []
    for g in doc["groups"]:
        rows = [r for r in doc["zones"] if r["group"] == g["key"]]
        if not rows:
            continue
        groups.append({"key": g["key"], "label": g["label"] if lang == "zh" else g["label_en"],
                       "zones": [{"name": r["zone_name"], "score": r["total_score"], "rank": r["rank"],
                                  "tier": r["tier_label"] if lang == "zh" else r["tier_label_en"],
                                  "color": colors.get(r["tier"], "#7f7f7f"),
                                  "mine": r["in_scope"], "bottom": r["bottom"]} for r in rows]})
    return {"lang": lang, "groups": groups,
            "tiers": [{"label": t["label"] if lang == "zh" else t["label_en"], "color": colors[t["id"]]}
                      for t in doc["tiers"]]}


@router.get("/zones", name="zones")
def zones_page(request: Request, method: str | None = Query(None, max_length=80), year: int | None = Query(None),
               run: str | None = Query(None, max_length=80), group: str | None = Query(None, max_length=120),
               mine: bool = Query(False), store: Store = Depends(get_store), user: User = Depends(current_user),
               scope: Scope = Depends(current_scope)):
    methods = jz.methods()
    try:
        doc = jz.ranking(store, scope, run, method=method or None, year=year, group=group or None)
    except NotFoundError:
        if run or group:
            raise
        doc = None
    ctx: dict = {"fmt": FMT, "methods": methods, "doc": doc, "arrows": CHANGE_ARROWS, "mine": mine,
                 "q": {"method": method, "year": year, "run": run, "group": group},
                 "can_evaluate": user.can_write and scope.is_province, "data_years": jz.data_years(store)}
    if doc is not None:
        b = doc["basis"]
        ctx["runs"] = jz.runs(store, method=b["method"], limit=50)
        ctx["years"] = sorted({r["year"] for r in ctx["runs"]}, reverse=True)
        ctx["rows"] = [r for r in doc["zones"] if r["in_scope"]] if mine else doc["zones"]
        ctx["chart"] = _chart({**doc, "zones": ctx["rows"]}, get_lang(request))
        ctx["export_q"] = FMT.query({"run": b["run_id"], "group": group or None})
    return render(request, "zones.html", ctx)


def submit_evaluation(store: Store, scope: Scope, user: User, method: str, year: int | None) -> str:
    """Check the request, then queue the evaluation as a background job; the job id."""
    if not scope.is_province:
        raise PageError(403, "开发区评价对全省开发区排名，只能由省级用户发起。",
                        "A zone evaluation ranks the whole province's zones: only province-wide users may run it.")
    try:
        jz.zone_method(method)
    except ShanhaiError as exc:
        raise PageError(400, f"评价方法无效：{exc}", f"Unknown zone method: {exc}") from None
    if year is not None and year not in jz.data_years(store):
        raise PageError(400, f"没有 {year} 年度的企业数据。", f"There is no enterprise data for {year}.")
    username = user.username

    def job(progress):
        doc = jz.evaluate(progress.store, method, year, user=username, progress=progress.fraction)
        return {"url": f"/zones?{FMT.query({'run': doc['run_id']})}",
                "message": f"{doc['year']} {doc['method']}：{doc['zones']} 个开发区，进档 {doc['up']}，退档 {doc['down']}，"
                           f"后N位 {doc['bottom']}（批次 {doc['run_id']}）"}

    return submit("zones", f"开发区评价 {method} {year or ''}".strip(), job, user)


@router.post("/zones/evaluate", name="zones_evaluate")
def evaluate_form(request: Request, method: str = Form("zhejiang-2021", max_length=80), year: str = Form(""),
                  store: Store = Depends(get_store), user: User = Depends(require_write),
                  scope: Scope = Depends(current_scope)):
    """Evaluate in the background; the job page links to the ranking."""
    try:
        y = int(year) if year.strip() else None
    except ValueError:
        raise PageError(400, f"年度 {year!r} 无效。", f"Year {year!r} is not a year.") from None
    job_id = submit_evaluation(store, scope, user, method, y)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/zones/export.xlsx", name="zones_export")
def zones_export(request: Request, method: str | None = Query(None, max_length=80), year: int | None = Query(None),
                 run: str | None = Query(None, max_length=80), store: Store = Depends(get_store),
                 user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    """The run's ranking and, for the caller's own zones, the indicator scores, as a workbook (audited)."""
    from shanhai.reports.zones_excel import workbook_bytes

    doc = jz.export_doc(store, scope, run, method=method or None, year=year)
    data = workbook_bytes(doc)
    b = doc["basis"]
    deps.audit(request, store, "export", target=f"zones:{b['run_id']}",
               detail={"kind": "zones", "run": b["run_id"], "region": scope.adcode, "rows": len(doc["zones"]),
                       "details": len(doc["details"]), "bytes": len(data)})
    return attachment(data, f"开发区综合评价（{b['year']}年，{b['method']}）.xlsx", XLSX)


@router.get("/zones/{zone_id}", name="zones_zone")
def zone_page(request: Request, zone_id: str, method: str | None = Query(None, max_length=80),
              year: int | None = Query(None), run: str | None = Query(None, max_length=80),
              store: Store = Depends(get_store), user: User = Depends(current_user),
              scope: Scope = Depends(current_scope)):
    doc = jz.zone(store, scope, zone_id, run, method=method or None, year=year)
    lang = get_lang(request)
    history = {"years": [h["year"] for h in doc["history"]], "scores": [h["total_score"] for h in doc["history"]],
               "ranks": [h["rank"] for h in doc["history"]], "lang": lang}
    groups = {"lang": lang, "groups": [{"label": g["label"] if lang == "zh" else g["label_en"], "points": g["points"],
                                        "max": g["max_points"]}
                                       for g in doc["groups"]]}
    return render(request, "zones_zone.html", {"fmt": FMT, "doc": doc, "arrows": CHANGE_ARROWS,
                                               "history_chart": history, "groups_chart": groups,
                                               "methods": jz.methods()})


# ---- JSON API ------------------------------------------------------------------------------------

@router.get("/api/v1/zones", response_model=dict[str, Any], tags=["zones"],
            summary="开发区排名 A stored zone evaluation's ranking within its comparison groups (public figures)")
def api_ranking(method: str | None = None, year: int | None = None, run: str | None = None,
                group: str | None = None, store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jz.ranking(store, scope, run, method=method or None, year=year, group=group or None)


@router.post("/api/v1/zones/evaluate", response_model=dict[str, Any], tags=["zones"],
             summary="评价 Evaluate the province's zones with a method for a year, in the background (province users)")
def api_evaluate(payload: dict[str, Any] = Body(...), store: Store = Depends(get_store),
                 user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    method = payload.get("method") or "zhejiang-2021"
    year = payload.get("year")
    if not isinstance(method, str) or (year is not None and not isinstance(year, int)):
        raise ShanhaiError("method must be a method name and year an integer year")
    job_id = submit_evaluation(store, scope, user, method, year)
    return {"job_id": job_id, "url": f"/jobs/{job_id}"}


@router.get("/api/v1/zones/methods", response_model=list[dict[str, Any]], tags=["zones"],
            summary="评价方法 The registered zone evaluation methods")
def api_methods():
    return jz.methods()


@router.get("/api/v1/zones/runs", response_model=list[dict[str, Any]], tags=["zones"],
            summary="评价批次 Stored zone evaluation runs, newest first")
def api_runs(method: str | None = None, year: int | None = None, store: Store = Depends(get_store),
             user: User = Depends(current_user)):
    return jz.runs(store, method=method or None, year=year)


@router.get("/api/v1/zones/{zone_id}", response_model=dict[str, Any], tags=["zones"],
            summary="开发区 One zone of your region: indicators, scores, explanation, history")
def api_zone(zone_id: str, method: str | None = None, year: int | None = None, run: str | None = None,
             store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jz.zone(store, scope, zone_id, run, method=method or None, year=year)


@router.get("/api/v1/zones/{zone_id}/history", response_model=list[dict[str, Any]], tags=["zones"],
            summary="历年 A zone's result in the newest run of each year")
def api_history(zone_id: str, method: str | None = None, store: Store = Depends(get_store),
                scope: Scope = Depends(current_scope)):
    return jz.history(store, scope, zone_id, method or None)
