"""``/monthly``: the monthly briefing (工业经济运行月报) of a region inside the caller's scope — the
summary written from the numbers on screen, and the document as PDF or Word
(:mod:`shanhai.reports.monthly`). A writer's download first computes the month's
electricity-index run when none covers it; a reader's document then says the indices are missing.
Every download is audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shanhai.errors import ShanhaiError
from shanhai.jobs import power_index as jp
from shanhai.reports import monthly as report
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_lang, get_store, render
from shanhai.web.routers.mujun import attachment
from shanhai.web.routers.power_index import _regions
from shanhai.web.screens import FMT, cached_view, can_write

router = APIRouter()
NAV = [(48, "/monthly", "运行月报", "Monthly briefing", None)]


def _months(store: Store) -> list[str]:
    return [f"{m:%Y-%m}" for (m,) in store.con.execute(
        "SELECT DISTINCT month FROM electricity_monthly WHERE kwh IS NOT NULL ORDER BY month DESC LIMIT 36").fetchall()]


@router.get("/monthly", name="monthly")
def monthly_page(request: Request, region: str | None = Query(None), month: str | None = Query(None),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    lang = get_lang(request)

    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        area = scope.narrow(store, region)
        months = _months(store)
        if month and month not in months:
            raise PageError(404, f"没有 {month} 的月度用电数据。",
                            f"There is no monthly electricity data for {month}.")
        facts = (report.gather(store, scope, area.adcode, month or months[0], lang) if months else None)
        return {"regions": _regions(store, scope), "area": area.as_dict(), "months": months,
                "facts": facts, "summary": report.sentences(facts, lang) if facts else [],
                "q": {"region": area.adcode, "month": facts["month"] if facts else None}}

    # computed once per data version, scope, role, language and query (web/screens.cached_view)
    ctx = {**cached_view(request, store, scope, user, compute), "fmt": FMT, "can_write": can_write(user)}
    return render(request, "monthly.html", ctx)


@router.get("/monthly/briefing", name="monthly_briefing")
def monthly_briefing(request: Request, region: str | None = Query(None), month: str | None = Query(None),
                     fmt: str = Query("pdf", pattern="^(pdf|docx)$"), lang: str = Query("zh", pattern="^(zh|en)$"),
                     store: Store = Depends(get_store), user: User = Depends(current_user),
                     scope: Scope = Depends(current_scope)):
    area = scope.narrow(store, region)
    try:
        at = jp._month(month) if month else jp.latest_month(store)
    except ShanhaiError as exc:
        raise PageError(400, f"月份无效：{exc}", str(exc)) from None
    if can_write(user):
        report.prepare(store, scope, area.adcode, at, user=user.username)
    data, filename, media_type = report.render(store, scope, area.adcode, at, fmt, lang)
    deps.audit(request, store, "export", target=f"monthly:{area.adcode}",
               detail={"kind": f"briefing.monthly_{fmt}", "region": area.adcode, "month": f"{at:%Y-%m}",
                       "bytes": len(data)})
    return attachment(data, filename, media_type)


def _jsonable(facts: dict) -> dict:
    """The facts without the document-building callables of the extra sections."""
    out = dict(facts)
    out["extra"] = [{k: v for k, v in part.items() if k != "items"} for part in facts["extra"]]
    return out


@router.get("/api/v1/monthly", response_model=dict[str, Any], tags=["monthly"],
            summary="运行月报 The monthly briefing's facts and summary sentences for a region inside your scope")
def api_monthly(request: Request,
                region: str | None = Query(None, description="adcode inside your region (default: yours)"),
                month: str | None = Query(None, description="YYYY-MM (default: the latest)"),
                lang: str = Query("zh", pattern="^(zh|en)$"),
                store: Store = Depends(get_store), user: User = Depends(current_user),
                scope: Scope = Depends(current_scope)):
    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        facts = report.gather(store, scope, region, month, lang)
        return {"facts": _jsonable(facts), "sentences": report.sentences(facts, lang)}
    return cached_view(request, store, scope, user, compute)
