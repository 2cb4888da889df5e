"""``/``: the overview — the Zhejiang county choropleth with a metric switch (the 26 mountain
counties outlined), the drill-down province → city → county → town → enterprise list, and the
headline figures against the policy targets. Everything is read from one stored per-mu run
(``?run=``; default: the latest run covering the user's region) inside the user's scope."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from shanhai.jobs import dashboard
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web.deps import current_scope, current_user, get_store, render
from shanhai.web.screens import can_write, fragment, reading

router = APIRouter()
NAV = [(10, "/", "总览", "Overview", None)]

MAP_FIELDS = ("adcode", "name", "city_adcode", "mountain26", "firms", "evaluated", "tax_per_mu",
              "value_added_per_mu", "tax_growth", "value_added_growth", "share_top", "share_bottom")


def map_payload(store: Store, scope: Scope, run_id: str, drill: dict) -> dict:
    data = dashboard.county_metrics(store, scope, run_id)
    r = drill["region"]
    county = r["parent_adcode"] if r["level"] == "town" else (r["adcode"] if r["level"] == "county" else None)
    return {
        "run": {k: data["run"][k] for k in ("run_id", "year", "policy", "policy_version")},
        "metrics": data["metrics"],
        "counties": [{k: c.get(k) for k in MAP_FIELDS} for c in data["counties"] if c["has_data"]],
        "mountain26": dashboard.mountain_counties(store),
        "region": {"adcode": r["adcode"], "level": r["level"], "city_adcode": r["city_adcode"],
                   "county_adcode": county},
    }


@router.get("/", name="overview")
def overview(request: Request, run: str | None = Query(None, description="run id (default: latest)"),
             region: str | None = Query(None, description="adcode to drill into"),
             metric: str = Query("tax_per_mu"),
             store: Store = Depends(get_store), user: User = Depends(current_user),
             scope: Scope = Depends(current_scope)):
    if metric not in dashboard.METRICS:
        metric = "tax_per_mu"
    with reading():
        runs = dashboard.runs(store, scope)
        info = dashboard.run_info(store, scope, run) if run else dashboard.default_run(store, scope)
        if info is None and region:
            dashboard.region_in_scope(store, scope, region)
    writer = can_write(user)
    key = ("overview", scope.level, scope.adcode, info.run_id if info else None, region, metric, writer,
           tuple(r["run_id"] for r in runs))

    def context() -> dict:
        ctx = {"runs": runs, "run": info.as_dict() if info else None, "metric": metric, "region": region,
               "can_write": writer, "drill": None, "head": None, "map_payload": None}
        if info is not None:
            with reading():
                drill = dashboard.drill(store, scope, info.run_id, region or scope.adcode)
                ctx["drill"] = drill
                ctx["head"] = dashboard.headline(store, scope, info.run_id)
                ctx["map_payload"] = map_payload(store, scope, info.run_id, drill)
        return ctx

    body = fragment(request, "partials/overview_body.html", key, context)
    return render(request, "overview.html", {"body": body, "run": info.as_dict() if info else None})
