"""``/chains``: the industrial-chain screens (issue 6) — the chain list with each chain's segment
statuses and health for the caller's region (and, for a province or city, the county × chain
matrix), a chain's panorama (the diagram coloured by status, every segment's figures and the rule
that decided its status, the firms behind a segment), the attraction targets (招商图) with their
Excel export, and chain risk.

Everything is read through :mod:`shanhai.jobs.chains` with the caller's ``Scope``: a region
outside it is a 403, an unknown chain, segment or region a 404. Targets outside the caller's
region arrive masked (no name, no USCC) and stay masked on the page and in the workbook. Each
screen and export names its basis (data year and fingerprint, per-mu run, chain rule set)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from shanhai.errors import NotFoundError
from shanhai.jobs import chains as jc
from shanhai.jobs import dashboard
from shanhai.policy import chain_rules
from shanhai.reports import chains_excel as cx
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.web import deps
from shanhai.web.deps import PageError, current_scope, current_user, get_lang, get_store, render
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT, cached_view

router = APIRouter(prefix="/chains")
NAV = [(30, "/chains", "产业链", "Chains", None)]

STATUS_ORDER = tuple(jc.STATUS_LABELS)       # strong, present, weak, missing (and outside manufacturing)
COMPONENT_COLORS = {"fit": "#2c7fb8", "size": "#41b6c4", "efficiency": "#1a9850", "growth": "#f39c12",
                    "pairing": "#7b3294"}
TARGETS_SHOWN, TARGETS_EXPORTED = 100, 2000
FIRMS_FRAGMENT, FIRMS_PAGE = 50, 500


# ---- the selection every screen shares: region, year, per-mu run --------------------------------

@dataclass
class Selection:
    area: jc.Area
    year: int
    run_id: str | None
    run_visible: bool          # the caller may open the run (links to the enterprise page)
    query: dict                # region / year / run as asked, for links


def run_choice(store: Store, scope: Scope, year: int | None, run: str | None) -> tuple[int, str | None, bool]:
    """The data year and the per-mu run whose classes the chain figures show: the asked run (404
    when unknown, 403 outside the caller's region), else the analysis' default run of the year if
    the caller may see it, else the caller's latest run of that year."""
    if run and run != "latest":
        info = dashboard.run_info(store, scope, run)
        y = jc.data_year(store, year if year is not None else info.year)
        if info.year != y:
            raise PageError(400, f"评价批次 {run} 评价的是 {info.year} 年度，不是 {y} 年度。",
                            f"Per-mu run {run} evaluated {info.year}, not {y}: choose a run of the same year.")
        return y, info.run_id, True
    y = jc.data_year(store, year)
    default = jc.default_run(store, y)
    if default is not None:
        try:
            dashboard.run_info(store, scope, default)
            return y, default, True
        except (OutOfScopeError, NotFoundError):
            pass
    mine = [r for r in dashboard.runs(store, scope) if r["year"] == y]
    if mine:
        return y, mine[0]["run_id"], True
    return y, default, False


def selection(store: Store, scope: Scope, region: str | None, year: int | None, run: str | None) -> Selection:
    area = jc.area(store, scope, region)                 # 403 outside the scope, 404 unknown
    y, run_id, visible = run_choice(store, scope, year, run)
    query = {"region": region or None, "year": year, "run": run or None}
    return Selection(area, y, run_id, visible, query)


def pickers(store: Store, scope: Scope, sel: Selection) -> dict:
    """The region, year and run choices of the screens' toolbar (inside the caller's scope)."""
    regions = dashboard.sub_regions(store, scope)
    if not any(r["adcode"] == sel.area.code for r in regions):
        regions.append({"adcode": sel.area.code, "name": sel.area.name, "level": sel.area.level})
    runs = [r for r in dashboard.runs(store, scope) if r["year"] == sel.year]
    return {"regions": regions, "years": dashboard.data_years(store), "runs": runs}


def basis_view(basis: dict) -> dict:
    """The basis with the rule set's display name (for the trace line)."""
    try:
        rules = chain_rules(basis["rules"])
        return {**basis, "rules_name": rules.display_name}
    except Exception:
        return {**basis, "rules_name": basis["rules"]}


def _common(request: Request, store: Store, scope: Scope, sel: Selection) -> dict:
    return {"fmt": FMT, "sel": sel, "area": sel.area, "q": sel.query, **pickers(store, scope, sel),
            "status_order": STATUS_ORDER, "status_labels": jc.STATUS_LABELS, "status_colors": cx.STATUS_COLORS,
            "stage_labels": jc.STAGE_LABELS}


def _limit(value: int | None, default: int, most: int) -> int:
    return default if value is None else max(1, min(int(value), most))


# ---- the chain list --------------------------------------------------------------------------

def _mix(strong: int, missing: int, n: int) -> str:
    """A cell colour from red (every segment missing) through white to green (every one strong)."""
    if not n:
        return "#f5f7fa"
    v = (strong - missing) / n
    low, high, mid = (215, 48, 39), (26, 152, 80), (255, 255, 255)
    end = high if v >= 0 else low
    a = min(1.0, abs(v)) * 0.85
    rgb = tuple(round(m + (e - m) * a) for m, e in zip(mid, end))
    return "#%02x%02x%02x" % rgb


def county_matrix(store: Store, scope: Scope, sel: Selection, chains: list) -> dict | None:
    """Counties of the area × chains: segments per status (province and city areas only)."""
    if sel.area.by != "county_adcode" or len(sel.area.units) < 2:
        return None
    grid = jc.panorama_grid(store, scope, year=sel.year, run_id=sel.run_id)
    mountain = set(dashboard.mountain_counties(store))
    rows: dict[str, dict] = {}
    for g in grid:
        if g["county_adcode"] not in sel.area.units:
            continue
        row = rows.setdefault(g["county_adcode"], {"adcode": g["county_adcode"], "name": g["county_name"],
                                                   "mountain26": g["county_adcode"] in mountain, "cells": {}})
        counts = {s: 0 for s in STATUS_ORDER}
        for status in g["statuses"].values():
            counts[status] = counts.get(status, 0) + 1
        n = len(g["statuses"])
        row["cells"][g["chain_id"]] = {**counts, "n": n, "firms": g["firms"],
                                      "color": _mix(counts["strong"], counts["missing"], n)}
    return {"chains": [{"chain_id": c.chain_id, "name": c.name, "name_en": c.name_en} for c in chains],
            "rows": [rows[k] for k in sorted(rows)]}


@router.get("", name="chains")
def chains_page(request: Request, region: str | None = Query(None), year: int | None = Query(None),
                run: str | None = Query(None), store: Store = Depends(get_store),
                user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        sel = selection(store, scope, region, year, run)
        chains = jc.chain_list(store)
        risk = {c["chain_id"]: c
                for c in jc.risk(store, scope, sel.area.code, year=sel.year, run_id=sel.run_id)["chains"]}
        items, basis = [], None
        for c in chains:
            pan = jc.panorama(store, scope, sel.area.code, c.chain_id, year=sel.year, run_id=sel.run_id)
            basis = pan["basis"]
            items.append({"chain": pan["chain"], "segments": pan["segments"], "counts": pan["status_counts"],
                          "totals": pan["totals"], "health": risk.get(c.chain_id, {}).get("health")})
        if basis is None:
            basis = jc.basis(store, sel.year, sel.run_id).as_dict()
        return {**_common(request, store, scope, sel), "items": items, "basis": basis_view(basis),
                "matrix": county_matrix(store, scope, sel, chains)}

    # once per data version, scope, role, language and query (web/screens.cached_view)
    return render(request, "chains.html", cached_view(request, store, scope, user, compute))


# ---- attraction targets (招商图) ---------------------------------------------------------------

def reasons_en(row: dict) -> list[str]:
    """A target's reasons in English, from the same components as the Chinese ones."""
    p, v = row["points"], row["values"]
    out = [f"fills a {'missing' if row['segment_status'] == 'missing' else 'weak'} segment +{p['fit']:.1f}",
           f"size in the province's top {100 * (1 - v['size']):.0f}% of the segment +{p['size']:.1f}",
           f"per-mu efficiency +{p['efficiency']:.1f}"]
    if row.get("growth_rate") is not None:
        out.append(f"revenue growth {100 * row['growth_rate']:+.1f}% +{p['growth']:.1f}")
    elif p.get("growth"):
        out.append(f"revenue growth +{p['growth']:.1f}")
    if row.get("pairing"):
        out.append(f"{'山海协作 partner county' if row['pairing'] == 'paired' else 'same city'} +{p['pairing']:.1f}")
    return out


def _segments(segment: list[str] | None) -> list[str]:
    """The ``segment`` query values without the empty one (the form's "every segment")."""
    return [s for s in segment or () if s]


def _targets_doc(store, scope, sel: Selection, chain: str | None, segment: list[str] | None, limit: int) -> dict:
    if chain:
        jc.chain(store, chain)                                    # 404 for an unknown chain
    return jc.targets(store, scope, sel.area.code, chain_id=chain or None, segments=segment or None,
                      year=sel.year, run_id=sel.run_id, limit=limit)


@router.get("/targets", name="chains_targets")
def targets_page(request: Request, region: str | None = Query(None), chain: str | None = Query(None),
                 segment: list[str] | None = Query(None), year: int | None = Query(None),
                 run: str | None = Query(None), limit: int | None = Query(None, ge=1, le=TARGETS_EXPORTED),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    sel = selection(store, scope, region, year, run)
    segment = _segments(segment)
    doc = _targets_doc(store, scope, sel, chain, segment, _limit(limit, TARGETS_SHOWN, TARGETS_EXPORTED))
    lang = get_lang(request)
    for row in doc["targets"]:
        if lang == "en":
            row["reasons"] = reasons_en(row)
        row["bar"] = [{"key": k, "label": zh if lang == "zh" else en, "points": row["points"].get(k, 0.0),
                       "color": COMPONENT_COLORS[k]} for k, zh, en in cx.COMPONENTS]
    export_q = "&".join(x for x in (FMT.query({**sel.query, "chain": chain or None}),
                                     urlencode([("segment", s) for s in segment])) if x)
    ctx = {**_common(request, store, scope, sel), "doc": doc, "chain": chain, "segment": segment or [],
           "chains": jc.chain_list(store), "components": cx.COMPONENTS, "component_colors": COMPONENT_COLORS,
           "component_notes": cx.COMPONENT_NOTES, "pairing_labels": cx.PAIRING_LABELS,
           "masked_label": jc.MASKED_NAME, "basis": basis_view(doc["basis"]),
           "export_query": export_q}
    return render(request, "chains_targets.html", ctx)


@router.get("/targets.xlsx", name="chains_targets_export")
def targets_export(request: Request, region: str | None = Query(None), chain: str | None = Query(None),
                   segment: list[str] | None = Query(None), year: int | None = Query(None),
                   run: str | None = Query(None), limit: int | None = Query(None, ge=1, le=TARGETS_EXPORTED),
                   store: Store = Depends(get_store), user: User = Depends(current_user),
                   scope: Scope = Depends(current_scope)):
    """The target list as a workbook (招商目标 + 说明), audited."""
    sel = selection(store, scope, region, year, run)
    segment = _segments(segment)
    doc = _targets_doc(store, scope, sel, chain, segment, _limit(limit, TARGETS_EXPORTED, TARGETS_EXPORTED))
    data = cx.targets_workbook(doc)
    deps.audit(request, store, "export", target=f"chains:targets:{sel.area.code}",
               detail={"kind": "chain_targets", "region": sel.area.code, "chain": chain, "segments": segment,
                       "rows": len(doc["targets"]), "masked": sum(1 for t in doc["targets"] if t["masked"]),
                       "bytes": len(data), "basis": doc["basis"]})
    label = f"{jc.chain(store, chain).name}" if chain else "产业链"
    return attachment(data, f"{sel.area.name}{label}招商目标（{sel.year}年度）.xlsx", XLSX)


# ---- chain risk ------------------------------------------------------------------------------

@router.get("/risk", name="chains_risk")
def risk_page(request: Request, region: str | None = Query(None), chain: str | None = Query(None),
              year: int | None = Query(None), run: str | None = Query(None), store: Store = Depends(get_store),
              user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        sel = selection(store, scope, region, year, run)
        doc = jc.risk(store, scope, sel.area.code, chain_id=chain or None, year=sel.year, run_id=sel.run_id)
        th = doc["thresholds"]
        defs = {c.chain_id: c for c in jc.chain_list(store)}
        en = get_lang(request) == "en"
        for c in doc["chains"]:
            segs = defs[c["chain_id"]].segments if c["chain_id"] in defs else ()
            c["segments"] = [{"segment_id": s.segment_id, "name": (s.name_en or s.name) if en else s.name,
                              "status": c["statuses"].get(s.segment_id, "missing"), "sub": bool(s.parent_segment_id)}
                             for s in segs]
            c["lines"] = [{"key": k, "label": cx.PENALTY_LABELS[k], "count": c["counts"].get(k, 0),
                           "each": th["penalties"][k], "cap": th["caps"][k], "points": c["penalties"].get(k, 0.0)}
                          for k in cx.PENALTY_LABELS]
            c["penalty_total"] = sum(c["penalties"].values())
        return {**_common(request, store, scope, sel), "doc": doc, "chain": chain, "chains": list(defs.values()),
                "finding_labels": cx.FINDING_LABELS, "basis": basis_view(doc["basis"])}

    # once per data version, scope, role, language and query (web/screens.cached_view)
    return render(request, "chains_risk.html", cached_view(request, store, scope, user, compute))


# ---- one chain: the panorama ---------------------------------------------------------------------

def diagram_payload(doc: dict, lang: str, fragment_url: str) -> dict:
    """What chains.js draws: the segments with stage, parent, status and firm counts."""
    en = lang == "en"
    return {
        "lang": lang,
        "segments": [{"id": s["segment_id"], "name": (s.get("name_en") or s["name"]) if en else s["name"],
                      "stage": s["stage"], "parent": s.get("parent_segment_id"), "status": s["status"],
                      "firms": s["firms"], "above": s["above"], "leaders": s["leaders"]} for s in doc["segments"]],
        "statuses": [{"id": k, "label": jc.STATUS_LABELS[k][1 if en else 0],
                      "color": cx.STATUS_COLORS.get(k, "#9e9e9e")} for k in STATUS_ORDER],
        "stages": [{"id": k, "label": v[1 if en else 0]} for k, v in jc.STAGE_LABELS.items()],
        "fragment_url": fragment_url,
    }


@router.get("/{chain_id}", name="chain_panorama")
def panorama_page(request: Request, chain_id: str, region: str | None = Query(None), year: int | None = Query(None),
                  run: str | None = Query(None), store: Store = Depends(get_store),
                  user: User = Depends(current_user), scope: Scope = Depends(current_scope)):
    sel = selection(store, scope, region, year, run)
    doc = jc.panorama(store, scope, sel.area.code, chain_id, year=sel.year, run_id=sel.run_id)
    lang = get_lang(request)
    try:
        rules = chain_rules(doc["basis"]["rules"])
    except Exception:
        rules = None
    names = {s["segment_id"]: s["name"] for s in doc["segments"]}
    for s in doc["segments"]:
        s["rule_text"] = cx.rule_text(rules, s["status_rule"], lang, status=s["status"])
        s["parent_name"] = names.get(s.get("parent_segment_id") or "")
    base_q = FMT.query({"region": sel.area.code, "year": sel.year, "run": sel.run_id})
    fragment_url = f"/chains/{doc['chain']['chain_id']}/segments/{{id}}?{base_q}&fragment=1"
    ctx = {**_common(request, store, scope, sel), "doc": doc, "basis": basis_view(doc["basis"]),
           "diagram": diagram_payload(doc, lang, fragment_url), "base_q": base_q}
    return render(request, "chains_panorama.html", ctx)


@router.get("/{chain_id}/panorama.xlsx", name="chain_panorama_export")
def panorama_export(request: Request, chain_id: str, region: str | None = Query(None),
                    year: int | None = Query(None), run: str | None = Query(None),
                    store: Store = Depends(get_store), user: User = Depends(current_user),
                    scope: Scope = Depends(current_scope)):
    """The panorama's segments as a workbook (环节 + 说明), audited."""
    sel = selection(store, scope, region, year, run)
    doc = jc.panorama(store, scope, sel.area.code, chain_id, year=sel.year, run_id=sel.run_id)
    data = cx.panorama_workbook(doc)
    deps.audit(request, store, "export", target=f"chains:panorama:{doc['chain']['chain_id']}:{sel.area.code}",
               detail={"kind": "chain_panorama", "region": sel.area.code, "chain": doc["chain"]["chain_id"],
                       "bytes": len(data), "basis": doc["basis"]})
    return attachment(data, f"{sel.area.name}{doc['chain']['name']}产业链全景（{sel.year}年度）.xlsx", XLSX)


@router.get("/{chain_id}/segments/{segment_id}", name="chain_segment")
def segment_page(request: Request, chain_id: str, segment_id: str, region: str | None = Query(None),
                 year: int | None = Query(None), run: str | None = Query(None),
                 fragment: bool = Query(False), limit: int | None = Query(None, ge=1, le=5000),
                 store: Store = Depends(get_store), user: User = Depends(current_user),
                 scope: Scope = Depends(current_scope)):
    """The firms behind one segment: an HTML fragment (``?fragment=1``, for the diagram) or a page."""
    c = jc.chain(store, chain_id)
    seg = next((s for s in c.segments if s.segment_id == segment_id), None)
    if seg is None:
        raise NotFoundError(f"产业链 {c.name} 没有环节 {segment_id!r} (no such segment in chain {c.chain_id})")
    sel = selection(store, scope, region, year, run)
    n = _limit(limit, FIRMS_FRAGMENT if fragment else FIRMS_PAGE, 5000)
    doc = jc.segment_firms(store, scope, sel.area.code, segment_id, year=sel.year, run_id=sel.run_id, limit=n)
    for row in doc["firms"]:
        land = row.get("land")
        row["tax_per_mu"] = row["tax_paid"] / land if land and row.get("tax_paid") is not None else None
        prev = row.get("revenue_prev")
        row["growth"] = (row["revenue"] / prev - 1) if prev and row.get("revenue") is not None else None
    base_q = FMT.query({"region": sel.area.code, "year": sel.year, "run": sel.run_id})
    ctx = {**_common(request, store, scope, sel), "doc": doc, "chain": c, "segment": seg,
           "basis": basis_view(doc["basis"]), "base_q": base_q, "fragment": fragment}
    return render(request, "chains_segment_firms.html" if fragment else "chains_segment.html", ctx)
