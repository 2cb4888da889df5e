"""``/cultivation``: 梯度培育 — the pools per county by tier (title holders, eligible candidates,
firms to review, near ones), a rule set's candidate list with what each firm misses, one firm's
explanation, the rule sets, the Excel export; ``/api/v1/cultivation/…`` the same as JSON.

Everything reads through :mod:`shanhai.jobs.cultivation` with the caller's ``Scope``: a region
outside it is a 403, a firm outside it a 403, an unknown firm a 404. Pages read the newest stored
screening covering the region, else evaluate live (and say so). Exports are audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shanhai.jobs import cultivation as jc
from shanhai.jobs import dashboard
from shanhai.policy._rules import OUTCOME_LABELS, OUTCOMES, STATUS_LABELS, TIERS, cultivation_rule_sets, flatten
from shanhai.reports import cultivation_excel as cx
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web import deps
from shanhai.web.deps import current_scope, current_user, get_store, render
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT, cached_view

router = APIRouter()
NAV = [(47, "/cultivation", "梯度培育", "Cultivation", None)]
PAGE_ROWS = 500


def _common(request: Request, store: Store, scope: Scope, region_code: str) -> dict:
    return {"fmt": FMT, "regions": dashboard.sub_regions(store, scope), "region_code": region_code,
            "outcome_labels": OUTCOME_LABELS, "outcomes": OUTCOMES, "tiers": TIERS, "status_labels": STATUS_LABELS}


@router.get("/cultivation", name="cultivation")
def pools_page(request: Request, region: str | None = Query(None), year: int | None = Query(None),
               run: str | None = Query(None, max_length=80), store: Store = Depends(get_store),
               user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        doc = jc.pools(store, scope, region, year=year, run_id=run or None)
        q = {"region": region or None, "year": year, "run": run or None}
        return {**_common(request, store, scope, doc["region"]["adcode"]), "doc": doc, "q": q,
                "runs": jc.list_runs(store, scope, limit=10), "export_q": FMT.query(q)}

    # once per data version, scope, role, language and query (web/screens.cached_view)
    return render(request, "cultivation.html", cached_view(request, store, scope, user, compute))


@router.get("/cultivation/candidates", name="cultivation_candidates")
def candidates_page(request: Request, rule_set: str | None = Query(None, max_length=80),
                    region: str | None = Query(None), year: int | None = Query(None),
                    outcome: str | None = Query(None), run: str | None = Query(None, max_length=80),
                    store: Store = Depends(get_store), user: User = Depends(current_user),
                    scope: Scope = Depends(current_scope)):
    doc = jc.candidates(store, scope, region, rule_set=rule_set or None, outcome=outcome or None, year=year,
                        run_id=run or None)
    q = {"region": region or None, "year": year, "run": run or None}
    ctx = {**_common(request, store, scope, doc["region"]["adcode"]), "doc": doc, "q": q,
           "rows": doc["firms"][:PAGE_ROWS], "outcome": outcome or ""}
    return render(request, "cultivation_candidates.html", ctx)


@router.get("/cultivation/firms/{uscc}", name="cultivation_firm")
def firm_page(request: Request, uscc: str, year: int | None = Query(None), as_of: str | None = Query(None),
              store: Store = Depends(get_store), user: User = Depends(current_user),
              scope: Scope = Depends(current_scope)):
    doc = jc.firm(store, scope, uscc, year=year, as_of=as_of or None)
    deps.audit(request, store, "view_enterprise", target=uscc, detail={"page": "cultivation", "year": year})
    for t in doc["tiers"]:
        t["flat"] = [c for c in flatten(t["conditions"])]
    ctx = {**_common(request, store, scope, scope.adcode), "doc": doc, "q": {}}
    return render(request, "cultivation_firm.html", ctx)


@router.get("/cultivation/rules", name="cultivation_rules")
def rules_page(request: Request, store: Store = Depends(get_store), user: User = Depends(current_user),
               scope: Scope = Depends(current_scope)):
    sets = sorted(cultivation_rule_sets().values(), key=lambda r: (list(TIERS).index(r.tier), r.valid_from))
    ctx = {**_common(request, store, scope, scope.adcode), "sets": sets, "q": {}}
    return render(request, "cultivation_rules.html", ctx)


@router.get("/cultivation/export.xlsx", name="cultivation_export")
def export(request: Request, region: str | None = Query(None), year: int | None = Query(None),
           run: str | None = Query(None, max_length=80), store: Store = Depends(get_store),
           user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    doc = jc.pools(store, scope, region, year=year, run_id=run or None)
    rid = doc["basis"].get("run_id") or run or None
    lists = [jc.candidates(store, scope, region, rule_set=n, year=year, run_id=rid) for n in doc["rule_sets"]]
    data = cx.workbook(doc, lists)
    deps.audit(request, store, "export", target=f"cultivation:{doc['region']['adcode']}",
               detail={"kind": "cultivation", "region": doc["region"]["adcode"], "bytes": len(data),
                       "rows": sum(len(x["firms"]) for x in lists), "basis": doc["basis"]})
    return attachment(data, f"{doc['region']['name']}梯度培育库（{doc['basis']['year']}年度）.xlsx", XLSX)


# ---- JSON API ------------------------------------------------------------------------------------

@router.get("/api/v1/cultivation/pools", response_model=dict[str, Any], tags=["cultivation"],
            summary="培育库 Pools per county and tier: holders, candidates, firms to review, near ones")
def api_pools(region: str | None = None, year: int | None = None, run: str | None = None,
              store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jc.pools(store, scope, region, year=year, run_id=run or None)


@router.get("/api/v1/cultivation/candidates", response_model=dict[str, Any], tags=["cultivation"],
            summary="候选企业 The firms of a rule set with what they miss")
def api_candidates(rule_set: str | None = None, region: str | None = None, year: int | None = None,
                   outcome: str | None = None, run: str | None = None, limit: int | None = Query(None, ge=1, le=5000),
                   store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jc.candidates(store, scope, region, rule_set=rule_set or None, outcome=outcome or None, year=year,
                         run_id=run or None, limit=limit)


@router.get("/api/v1/cultivation/firms/{uscc}", response_model=dict[str, Any], tags=["cultivation"],
            summary="企业解释 One firm through the rule sets, with a reason per condition")
def api_firm(request: Request, uscc: str, year: int | None = None, as_of: str | None = None,
             store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    doc = jc.firm(store, scope, uscc, year=year, as_of=as_of or None)
    deps.audit(request, store, "view_enterprise", target=uscc, detail={"page": "api.cultivation", "year": year})
    return doc


@router.get("/api/v1/cultivation/rules", response_model=list[dict[str, Any]], tags=["cultivation"],
            summary="培育规则 The cultivation rule sets with their source and validity")
def api_rules(user: User = Depends(current_user)):
    return [{"name": r.name, "tier": r.tier, "display_name": r.display_name, "version": r.version,
             "valid_from": str(r.valid_from), "valid_to": str(r.valid_to) if r.valid_to else None,
             "source": r.source, "published": r.published, "rules": r.raw}
            for r in cultivation_rule_sets().values()]


@router.get("/api/v1/cultivation/runs", response_model=list[dict[str, Any]], tags=["cultivation"],
            summary="筛选批次 Stored screenings covering the caller's region")
def api_runs(store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    return jc.list_runs(store, scope)
