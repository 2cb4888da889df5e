"""``/mujun``: the per-mu evaluation screens — the runs, one run's results (filters, per-mu bands,
Excel export, briefing), one enterprise's account, two runs compared, what-if with another preset
and running an evaluation. Reads go through :mod:`shanhai.jobs.dashboard` with the user's scope;
evaluations run as background jobs (:mod:`shanhai.web.jobs`)."""

from __future__ import annotations

import functools
import importlib.util
import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from shanhai.errors import ShanhaiError
from shanhai.jobs import dashboard
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_store, render, require_write
from shanhai.web.screens import (FMT, can_write, filters_from, filters_query, fragment, reading, submit_evaluation,
                                 submit_whatif)

router = APIRouter(prefix="/mujun")
NAV = [(20, "/mujun/runs", "亩均评价", "Per-mu evaluation", None)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BRIEFING_FORMATS = ("pdf", "docx", "xlsx")


@functools.cache
def briefing_available() -> bool:
    return importlib.util.find_spec("shanhai.reports.briefing") is not None


def attachment(data: bytes, filename: str, media_type: str) -> Response:
    """A download with its (Chinese) file name in RFC 5987 form and an ASCII fallback."""
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in filename)
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition,
                                                          "Cache-Control": "no-store"})


def _narrow(store: Store, scope: Scope, region: str | None) -> Scope:
    """The scope of a chosen sub-region (the user's own when none): 403 outside the scope."""
    return scope.narrow(store, region) if region else scope


# ---- runs ------------------------------------------------------------------------------------

@router.get("/runs", name="mujun_runs")
def runs_page(request: Request, store: Store = Depends(get_store), user: User = Depends(current_user),
              scope: Scope = Depends(current_scope)):
    from shanhai.policy import presets

    runs = dashboard.runs(store, scope)
    years = dashboard.data_years(store)
    ctx = {"runs": runs, "fmt": FMT, "can_write": can_write(user), "years": years,
           "presets": dashboard.presets_list(), "regions": dashboard.sub_regions(store, scope),
           "default_preset": "zhejiang-2018" if "zhejiang-2018" in presets() else None,
           "jobs": [j for j in request.app.state.jobs.jobs_of(user, 10) if j.kind == "evaluate"]}
    return render(request, "mujun_runs.html", ctx)


@router.post("/runs", name="mujun_run_start")
def start_run(request: Request, policy: str = Form(...), year: int = Form(...), region: str = Form(""),
              store: Store = Depends(get_store), user: User = Depends(require_write),
              scope: Scope = Depends(current_scope)):
    """Run an evaluation in the background; the job page links to the new run."""
    job_id = submit_evaluation(request, store, scope, user, policy, year, region)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


# ---- one run ---------------------------------------------------------------------------------

@router.get("/runs/{run_id}", name="mujun_run")
def run_page(request: Request, run_id: str, sort: str = Query("class"), desc: bool = Query(False),
             page: int = Query(1, ge=1), band: str = Query("tax_per_mu"),
             store: Store = Depends(get_store), user: User = Depends(current_user),
             scope: Scope = Depends(current_scope)):
    f = filters_from(request.query_params)
    if sort not in dashboard.RESULT_SORTS:
        sort = "class"
    if band not in dashboard.BANDS:
        band = "tax_per_mu"
    with reading():
        info = dashboard.run_info(store, scope, run_id).as_dict()
        runs = dashboard.runs(store, scope)
    writer = can_write(user)
    key = ("run", scope.level, scope.adcode, run_id, f.key(), sort, desc, page, band, writer,
           tuple(r["run_id"] for r in runs))

    def context() -> dict:
        with reading():
            summary = dashboard.run_summary(store, scope, run_id)
            res = dashboard.results(store, scope, run_id, f, sort=sort, desc=desc, page=page)
            opts = dashboard.filter_options(store, scope, run_id, f.county)
            bands = dashboard.bands(store, scope, run_id, band, f)
        presets = [p for p in dashboard.presets_list() if p["name"] != info["policy"]]
        query = {**filters_query(f), "sort": sort, "desc": "1" if desc else None, "band": band}
        return {"run": info, "summary": summary, "res": res, "opts": opts, "bands": bands,
                "filters": filters_query(f), "query": query, "presets": presets,
                "others": [r for r in runs if r["run_id"] != run_id],
                "can_write": writer, "regions": dashboard.sub_regions(store, scope),
                "briefing": briefing_available(), "band": band,
                "band_choices": [("tax_per_mu", ("亩均税收", "Tax per mu")),
                                 ("value_added_per_mu", ("亩均增加值", "Value added per mu"))]}

    body = fragment(request, "partials/mujun_run_body.html", key, context)
    return render(request, "mujun_run.html", {"body": body, "run": info,
                                              "official": _official(store, scope, user, info)})


def _official(store: Store, scope: Scope, user: User, info: dict) -> dict:
    """Whether the run is its (year, region)'s published result, which run is, and whether the
    user may change that: a write role whose region holds the run's whole region."""
    from shanhai.jobs import mujun_official

    current = mujun_official.official(store, info["year"], info["region"])
    region_inside = scope.is_province or (info["region"] != "330000" and scope.covers(info["region"]))
    return {"this": current == info["run_id"], "current": current,
            "can_set": can_write(user) and region_inside}


@router.post("/runs/{run_id}/official", name="mujun_official")
def set_official(request: Request, run_id: str, action: str = Form("set", pattern="^(set|withdraw)$"),
                 note: str = Form(""), store: Store = Depends(get_store), user: User = Depends(require_write),
                 scope: Scope = Depends(current_scope)):
    """Publish the run as its year's and region's official result, or withdraw it (write roles whose
    region holds the run's region; audited)."""
    from shanhai.jobs import mujun_official

    with reading():
        info = dashboard.run_info(store, scope, run_id).as_dict()
    if not _official(store, scope, user, info)["can_set"]:
        raise PageError(403, f"只有覆盖{info['region_name']}的账号才能设定其正式结果。",
                        f"Only an account whose region holds {info['region_name']} can publish its official result.")
    if action == "set":
        mujun_official.designate(store, run_id, user=user.username, note=note or None)
    elif mujun_official.official(store, info["year"], info["region"]) == run_id:
        mujun_official.withdraw(store, info["year"], info["region"], user=user.username, note=note or None)
    else:
        raise PageError(400, "本批次不是正式结果，无需撤销。", "This run is not the official result: nothing to withdraw.")
    dashboard.clear_cache_for(store)
    return RedirectResponse(f"/mujun/runs/{run_id}", status_code=303)


@router.get("/runs/{run_id}/export", name="mujun_export")
def export(request: Request, run_id: str, kind: str = Query("lists", pattern="^(lists|county)$"),
           region: str | None = Query(None), store: Store = Depends(get_store),
           user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    """The run's published lists (公示名单) or one county's workbook, as Excel, for the user's
    region or a sub-region of it."""
    from shanhai.reports import mujun_excel

    with reading():
        info = dashboard.run_info(store, scope, run_id)
    target = _narrow(store, scope, region)
    if kind == "county" and target.level != "county":
        raise PageError(400, "县级工作簿需要选择一个县（市、区）。", "The county workbook needs a county: choose one.")
    with tempfile.TemporaryDirectory(prefix="shanhai-export-") as tmp:
        path = Path(tmp) / "export.xlsx"
        if kind == "county":
            mujun_excel.county_workbook(store, run_id, target.adcode, path)
            name = f"{info.year}年度{target.name}亩均效益综合评价（县级工作簿）.xlsx"
        else:
            mujun_excel.public_lists(store, run_id, path, None if target.is_province else target.adcode)
            name = f"{info.year}年度{target.name or '浙江省'}工业企业亩均效益综合评价结果（公示名单）.xlsx"
        data = path.read_bytes()
    deps.audit(request, store, "export", target=run_id,
               detail={"kind": f"mujun_{kind}", "region": target.adcode, "bytes": len(data)})
    return attachment(data, name, XLSX)


if briefing_available():
    @router.get("/runs/{run_id}/briefing", name="mujun_briefing")
    def briefing(request: Request, run_id: str, fmt: str = Query("pdf", pattern="^(pdf|docx|xlsx)$"),
                 region: str | None = Query(None), lang: str = Query("zh", pattern="^(zh|en)$"),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
        """专报 the briefing of a run for the user's region or a sub-region, as PDF, Word or Excel."""
        from shanhai.reports import briefing as briefings

        with reading():
            dashboard.run_info(store, scope, run_id)
        target = _narrow(store, scope, region)
        data, filename, media_type = briefings.render(store, run_id, target.adcode, fmt, lang=lang)
        deps.audit(request, store, "export", target=run_id,
                   detail={"kind": f"briefing_{fmt}", "region": target.adcode, "bytes": len(data)})
        return attachment(data, filename, media_type)


# ---- one enterprise --------------------------------------------------------------------------

@router.get("/runs/{run_id}/enterprises/{uscc}", name="mujun_enterprise")
def enterprise_page(request: Request, run_id: str, uscc: str, store: Store = Depends(get_store),
                    user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    with reading():
        ent = dashboard.enterprise(store, scope, run_id, uscc)
        classes = dashboard.class_meta(store, run_id)
    deps.audit(request, store, "view_enterprise", target=uscc, detail={"page": "mujun", "run": run_id})
    years = ent["years"]
    history = {"years": [y["year"] for y in years], "tax_per_mu": [y["tax_per_mu"] for y in years],
               "value_added_per_mu": [y["value_added_per_mu"] for y in years]}
    return render(request, "enterprise.html", {"run": ent["run"], "ent": ent, "doc": ent["explain"],
                                               "classes": classes, "history": history, "fmt": FMT,
                                               "carbon": _carbon_badge(store, scope, uscc)})


def _carbon_badge(store: Store, scope: Scope, uscc: str) -> dict | None:
    """The firm's 碳效码 in the newest grading run covering it (None when there is none)."""
    from shanhai.jobs import carbon as jc

    try:
        doc = jc.firm(store, scope, uscc)
    except ShanhaiError:
        return None
    return doc["current"]


# ---- follow-up lists ---------------------------------------------------------------------------

@router.get("/runs/{run_id}/review", name="mujun_review")
def review_page(request: Request, run_id: str, region: str | None = Query(None),
                store: Store = Depends(get_store), user: User = Depends(current_user),
                scope: Scope = Depends(current_scope)):
    """整改名单 and 低效用地 of a run: the C/D firms' distance to class B and the inefficient-land
    candidates, for the user's region or a sub-region of it."""
    target = _narrow(store, scope, region or None)
    with reading():
        doc = dashboard.review(store, target, run_id)
        regions = dashboard.sub_regions(store, scope)
    return render(request, "mujun_review.html", {"doc": doc, "run": doc["run"], "target": target,
                                                 "regions": regions, "region": region or "", "fmt": FMT})


# ---- two runs --------------------------------------------------------------------------------

@router.get("/compare", name="mujun_compare")
def compare_page(request: Request, a: str | None = Query(None), b: str | None = Query(None),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    runs = dashboard.runs(store, scope)
    cmp = None
    with reading():
        if a and b:
            cmp = dashboard.transitions(store, scope, a, b)
        elif a or b:
            dashboard.run_info(store, scope, a or b)
    return render(request, "mujun_compare.html", {"runs": runs, "a": a, "b": b, "cmp": cmp, "fmt": FMT,
                                                  "can_write": can_write(user)})


@router.post("/runs/{run_id}/whatif", name="mujun_whatif")
def whatif(request: Request, run_id: str, policy: str = Form(...), store: Store = Depends(get_store),
           user: User = Depends(require_write), scope: Scope = Depends(current_scope)):
    """Evaluate the run's year again with another preset (in the background), then compare."""
    job_id = submit_whatif(request, store, scope, user, run_id, policy)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
