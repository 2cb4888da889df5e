"""``/targets``: the targets board (issue 8) — indicators × regions with their lights, progress
against calendar progress (序时进度), the watch list and the composite regional index; one
indicator's drill-down (its monthly series, targets and year-end forecast band as an ECharts
chart); the indicator registry; the form to set a region's own target (write roles, audited) and
to store a run; the Excel export. ``/api/v1/targets/…`` the same as JSON.

Everything reads through :mod:`shanhai.jobs.targets` with the caller's ``Scope``: a region
outside it is a 403; rows are regions' and zones' figures inside the scope, never a firm.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from shanhai.analysis.targets import LIGHT_LABELS, METHOD_LABELS
from shanhai.errors import ShanhaiError
from shanhai.jobs import dashboard
from shanhai.jobs import targets as jt
from shanhai.policy._indicator_registry import monitoring_rule_sets
from shanhai.reports import targets_excel as tx
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_lang, get_store, render, require_write
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT, cached_view

router = APIRouter()
NAV = [(43, "/targets", "目标监测", "Targets", None)]

LIGHT_COLORS = {"green": "#1a9850", "amber": "#f39c12", "orange": "#e8590c", "red": "#d73027", "grey": "#adb5bd"}
WRITE_WAIT_S = 10.0
GROUP_PATTERN = "^(cities|counties|mountain26)$"
# how a rule set counts 序时进度 (policy/monitoring/rules_*.toml, [calendar] basis)
CALENDAR_BASIS_LABELS = {"months": ("按月计", "by months"), "days": ("按天计", "by days"),
                         "plan": ("按分月计划", "by the monthly plan")}
# how often an indicator is reported (policy/monitoring/indicators.toml, cadence)
CADENCE_LABELS = {"year": ("年度", "yearly"), "quarter": ("季度", "quarterly"), "month": ("月度", "monthly")}


def _rule_choices() -> list[tuple[str, str]]:
    """(name, display name) of the monitoring rule sets, the default first: the rules picker shows the names
    a reader knows, not the file ids (days, ratio4 …)."""
    sets = monitoring_rule_sets()
    return sorted(((name, r.display_name or name) for name, r in sets.items()), key=lambda x: (x[0] != "default", x[0]))


def _common(store: Store, scope: Scope, region_code: str, section: str) -> dict:
    return {"fmt": FMT, "regions": dashboard.sub_regions(store, scope), "region_code": region_code,
            "section": section, "light_labels": LIGHT_LABELS, "light_colors": LIGHT_COLORS,
            "rule_sets": _rule_choices(), "groups": jt.GROUPS, "method_labels": METHOD_LABELS}


def _matrix(doc: dict) -> dict:
    """Regions (rows) × indicators (columns) of the current year's targets: the worst light of a
    cell and its rows."""
    cols: dict[str, str] = {}
    cells: dict[tuple[str, str], list[dict]] = {}
    names: dict[str, tuple[str, str]] = {}
    for r in doc["rows"]:
        if r["horizon"] == "past":
            continue
        cols.setdefault(r["indicator_id"], r["indicator_name"])
        cells.setdefault((r["entity"], r["indicator_id"]), []).append(r)
        names[r["entity"]] = (r["entity_name"], r["level"])
    order = {"province": 0, "city": 1, "county": 2, "zone": 3}
    entities = sorted(names, key=lambda e: (order.get(names[e][1], 9), e))
    from shanhai.analysis.targets import worst

    grid = [{"entity": e, "name": names[e][0], "level": names[e][1],
             "cells": [{"indicator_id": c, "light": worst(x["light"] for x in cells.get((e, c), [])) if (e, c) in cells
                        else None, "rows": cells.get((e, c), [])} for c in cols]} for e in entities]
    return {"columns": [{"indicator_id": k, "name": v} for k, v in cols.items()], "grid": grid}


def _query(region, year, month, rules) -> dict:
    return {"region": region or None, "year": year, "month": month, "rules": None if rules == "default" else rules}


@router.get("/targets", name="targets")
def board(request: Request, region: str | None = Query(None), year: int | None = Query(None, ge=2000, le=2100),
          month: int | None = Query(None, ge=1, le=12), rules: str = Query("default", max_length=60),
          group: str = Query("counties", pattern=GROUP_PATTERN), light: str | None = Query(None, max_length=10),
          done: str | None = Query(None, max_length=120), store: Store = Depends(get_store),
          user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        doc = jt.evaluate(store, scope, region, year, month, rules=rules)
        w = jt.watch(store, scope, region, year, month, rules=rules)
        idx = jt.composite(store, scope, region, year, month, group=group)
        rows = [r for r in doc["rows"] if not light or r["light"] == light]
        q = _query(region, year, month, rules)
        return {**_common(store, scope, doc["region"]["adcode"], "board"), "doc": doc, "watch": w, "index": idx,
                "matrix": _matrix(doc), "rows": rows, "light": light or "", "group": group, "rules": rules, "q": q,
                "export_q": FMT.query(q), "done": done, "indicators": jt.indicators(store),
                "runs": jt.list_runs(store, scope, 10),
                "targetable": [r for r in dashboard.sub_regions(store, scope)],
                "index_payload": {"lang": get_lang(request), "group": jt.GROUPS[group][0],
                                  "rows": [{"name": r["name"], "index": r["index"], "rank": r["rank"], "of": r["of"]}
                                           for r in idx["rows"]][:40]}}

    # once per data version, scope, role, language and query (web/screens.cached_view)
    ctx = {**cached_view(request, store, scope, user, compute), "can_write": user.can_write}
    return render(request, "targets.html", ctx)


@router.get("/targets/indicators/{indicator_id}", name="targets_indicator")
def indicator_page(request: Request, indicator_id: str, region: str | None = Query(None),
                   year: int | None = Query(None, ge=2000, le=2100), month: int | None = Query(None, ge=1, le=12),
                   rules: str = Query("default", max_length=60), store: Store = Depends(get_store),
                   user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    doc = jt.indicator_series(store, scope, indicator_id, region, year, month, rules=rules)
    q = _query(region, year, month, rules)
    ctx = {**_common(store, scope, doc["region"]["adcode"], "indicator"), "doc": doc, "q": q, "rules": rules,
           "chart": _chart_payload(doc, get_lang(request))}
    return render(request, "targets_indicator.html", ctx)


def _chart_payload(doc: dict, lang: str) -> dict:
    """The drill-down chart: each year's monthly (cumulative) series, the level targets' calendar
    path (target × 序时进度), and the year-end forecast band."""
    a = doc["as_of"]
    series = [{"year": int(y), "values": v} for y, v in doc["monthly"].items() if int(y) >= a["year"] - 2]
    path = None
    for r in doc["rows"]:
        if r["kind"] == "level" and r["target_year"] == a["year"] and r["cumulative"]:
            path = {"target": r["target"], "values": [r["target"] * (m / 12) if a["basis"] == "months" else None
                                                      for m in range(1, 13)]}
            if a["basis"] != "months":
                from shanhai.analysis.targets import calendar_progress
                from shanhai.policy._indicator_registry import monitoring_rules

                rr = monitoring_rules(doc["rules"]["name"])
                path["values"] = [r["target"] * calendar_progress(a["year"], m, rr.calendar.basis,
                                                                  rr.calendar.plan or None) for m in range(1, 13)]
            break
    goal = None                     # the year-end figure the current year's target asks for
    for r in doc["rows"]:
        if r["target_year"] == a["year"] and r["cumulative"]:
            last = (doc["monthly"].get(str(a["year"] - 1)) or [None] * 12)[11]
            goal = r["target"] if r["kind"] == "level" else (last * (1 + r["target"] / 100) if last else None)
            break
    fc = doc["forecast"]
    return {"lang": lang, "goal": goal, "unit": doc["indicator"]["unit"], "year": a["year"], "month": a["month"],
            "series": series, "annual": doc["annual"], "path": path,
            "forecast": None if not fc or fc.get("point") is None else
            {"point": fc["point"], "low": fc.get("low"), "high": fc.get("high"), "method": fc["method"]}}


@router.get("/targets/registry", name="targets_registry")
def registry_page(request: Request, store: Store = Depends(get_store), user: User = Depends(current_user),
                  scope: Scope = Depends(current_scope)):
    ctx = {**_common(store, scope, scope.adcode, "registry"), "indicators": jt.indicators(store),
           "targets": jt.list_targets(store, scope)["targets"], "q": {}}
    return render(request, "targets_registry.html", ctx)


def _write_lock(request: Request):
    runner = request.app.state.jobs
    if not runner.write_lock.acquire(timeout=WRITE_WAIT_S):
        raise PageError(503, "系统正忙（后台任务正在写入），请稍后再试。",
                        "The system is busy (a background job is writing): try again in a moment.")
    return runner.write_lock


def _set(request: Request, store: Store, scope: Scope, user: User, payload: dict) -> dict:
    try:
        value = float(str(payload.get("value", "")).strip())
        year = int(str(payload.get("year", "")).strip())
    except ValueError:
        raise ShanhaiError("year must be a whole number and value a number (growth in percent: 6.5)") from None
    indicator_id = str(payload.get("indicator_id") or "").strip()
    adcode = str(payload.get("adcode") or "").strip()
    if not indicator_id or not adcode:
        raise ShanhaiError("indicator_id and adcode are required")
    lock = _write_lock(request)
    try:
        return jt.set_target(store, scope, indicator_id, adcode, year, value,
                             kind=str(payload.get("kind") or "level"),
                             applies_to="zones" if payload.get("zones") in (True, "1", "on", "true") else "region",
                             label=payload.get("label") or None, source=payload.get("source") or None,
                             user=user.username)
    finally:
        lock.release()


@router.post("/targets/set", name="targets_set")
def set_form(request: Request, indicator_id: str = Form(...), adcode: str = Form(...), year: str = Form(...),
             value: str = Form(...), kind: str = Form("level"), zones: str = Form(""), label: str = Form(""),
             source: str = Form(""), store: Store = Depends(get_store), user: User = Depends(require_write),
             scope: Scope = Depends(current_scope)):
    """Set a region's own target (write roles, inside the caller's scope; audited), back to the board."""
    row = _set(request, store, scope, user, {"indicator_id": indicator_id, "adcode": adcode, "year": year,
                                             "value": value, "kind": kind, "zones": zones, "label": label,
                                             "source": source})
    return RedirectResponse(f"/targets?region={quote(row['adcode'])}&done={quote(row['indicator_id'])}",
                            status_code=303)


@router.post("/targets/run", name="targets_run")
def run_form(request: Request, region: str = Form(""), year: str = Form(""), month: str = Form(""),
             rules: str = Form("default"), store: Store = Depends(get_store), user: User = Depends(require_write),
             scope: Scope = Depends(current_scope)):
    """Store the status, watch list and index as a run (never overwritten), back to the board."""
    try:
        y = int(year) if year.strip() else None
        m = int(month) if month.strip() else None
    except ValueError:
        raise ShanhaiError("year and month must be whole numbers") from None
    area = scope.narrow(store, region or None)
    lock = _write_lock(request)
    try:
        doc = jt.run(store, scope, area.adcode, y, m, rules=rules or "default", user=user.username)
    finally:
        lock.release()
    return RedirectResponse(f"/targets?region={quote(area.adcode)}&done={quote(doc['run_id'])}", status_code=303)


@router.get("/targets/export.xlsx", name="targets_export")
def export(request: Request, region: str | None = Query(None), year: int | None = Query(None, ge=2000, le=2100),
           month: int | None = Query(None, ge=1, le=12), rules: str = Query("default", max_length=60),
           store: Store = Depends(get_store), user: User = Depends(current_user),
           scope: Scope = Depends(current_scope)):
    """Status, watch list, the index of every group and the registry as a workbook, audited."""
    doc = jt.evaluate(store, scope, region, year, month, rules=rules)
    w = jt.watch(store, scope, region, year, month, rules=rules)
    idx = [jt.composite(store, scope, region, year, month, group=g) for g in jt.GROUPS]
    data = tx.workbook_bytes(doc, w, idx, jt.indicators(store))
    a = doc["as_of"]
    deps.audit(request, store, "export", target=f"targets:{doc['region']['adcode']}:{a['year']}-{a['month']:02d}",
               detail={"kind": "targets", "region": doc["region"]["adcode"], "rows": len(doc["rows"]),
                       "bytes": len(data), "rules": doc["rules"]["name"], "fingerprint": doc["fingerprint"]})
    return attachment(data, f"{doc['region']['name']}目标监测（{a['year']}年1–{a['month']}月）.xlsx", XLSX)


# ---- JSON API ------------------------------------------------------------------------------------

@router.get("/api/v1/targets/indicators", response_model=list[dict[str, Any]], tags=["targets"],
            summary="指标库 The indicator registry")
def api_indicators(store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jt.indicators(store)


@router.get("/api/v1/targets/indicators/{indicator_id}", response_model=dict[str, Any], tags=["targets"],
            summary="单个指标 One indicator of a region: monthly series, targets, year-end forecast")
def api_indicator(indicator_id: str, region: str | None = None, year: int | None = None, month: int | None = None,
                  rules: str = "default", store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jt.indicator_series(store, scope, indicator_id, region, year, month, rules=rules)


@router.get("/api/v1/targets/status", response_model=dict[str, Any], tags=["targets"],
            summary="目标完成情况 Every target of the region against 序时进度, with lights and the forecast")
def api_status(region: str | None = None, year: int | None = None, month: int | None = None, rules: str = "default",
               light: str | None = None, indicator: str | None = None, store: Store = Depends(get_store),
               scope: Scope = Depends(current_scope)):
    return jt.evaluate(store, scope, region, year, month, rules=rules, light=light or None,
                       indicator_id=indicator or None)


@router.get("/api/v1/targets/summary", response_model=dict[str, Any], tags=["targets"],
            summary="月度摘要 The region's status for the briefing: red, trending to miss, rose and fell")
def api_summary(request: Request, region: str | None = None, year: int | None = None, month: int | None = None,
                rules: str = "default", store: Store = Depends(get_store), user: User = Depends(current_user),
                scope: Scope = Depends(current_scope)):
    return cached_view(request, store, scope, user,
                       lambda store: jt.region_status(store, scope, region, year, month, rules=rules))


@router.get("/api/v1/targets/watch", response_model=dict[str, Any], tags=["targets"],
            summary="预警清单 Targets red or trending to miss; regions past an alert threshold")
def api_watch(region: str | None = None, year: int | None = None, month: int | None = None, rules: str = "default",
              store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jt.watch(store, scope, region, year, month, rules=rules)


@router.get("/api/v1/targets/index", response_model=dict[str, Any], tags=["targets"],
            summary="综合指数 The composite regional index ranked within a group")
def api_index(region: str | None = None, year: int | None = None, month: int | None = None,
              group: str = Query("counties", pattern=GROUP_PATTERN), rules: str = "default",
              store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jt.composite(store, scope, region, year, month, group=group, rules=rules)


@router.get("/api/v1/targets/list", response_model=dict[str, Any], tags=["targets"],
            summary="目标清单 The targets in force for the region (presets, users', imported, synthetic)")
def api_list(region: str | None = None, year: int | None = None, indicator: str | None = None,
             store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jt.list_targets(store, scope, region, year, indicator or None)


@router.get("/api/v1/targets/runs", response_model=dict[str, Any], tags=["targets"],
            summary="运行记录 Stored target runs in the caller's scope, or one run (?run_id=)")
def api_runs(run_id: str | None = None, limit: int = Query(20, ge=1, le=200), store: Store = Depends(get_store),
             scope: Scope = Depends(current_scope)):
    if run_id:
        return jt.run_doc(store, scope, run_id)
    return {"runs": jt.list_runs(store, scope, limit)}


@router.post("/api/v1/targets", response_model=dict[str, Any], tags=["targets"],
             summary="设定目标 Set a region's own target (write roles, inside the scope; audited)")
def api_set(request: Request, payload: dict[str, Any] = Body(...), store: Store = Depends(get_store),
            user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    return _set(request, store, scope, user, payload)
