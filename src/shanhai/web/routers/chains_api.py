"""``/api/v1/chains``: the industrial-chain screens' data as JSON — the chains with their segment
statuses and health for a region, the county × chain grid, a chain's panorama, the firms behind a
segment, attraction targets and chain risk. Same session and region scope as the pages (401
without a session, 403 outside the caller's region, 404 for an unknown chain, segment, region or
run). Targets outside the caller's region are masked (``masked: true``, no name, no USCC). Every
answer carries its ``basis``: data year and fingerprint, per-mu run, chain rule set."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from shanhai.errors import NotFoundError
from shanhai.jobs import chains as jc
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web.deps import current_scope, current_user, get_store
from shanhai.web.routers.chains import TARGETS_EXPORTED, selection
from shanhai.web.screens import cached_view

router = APIRouter(prefix="/api/v1/chains", tags=["chains"])


class _M(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class BasisOut(_M):
    """What the figures were computed from."""
    year: int = Field(description="data year")
    run_id: str | None = Field(description="per-mu run the firms' classes come from")
    data_fingerprint: str
    rules: str = Field(description="chain rule set name")
    rules_version: str
    rules_fingerprint: str


class AreaOut(_M):
    code: str = Field(description="adcode, or a zone id")
    name: str
    level: str = Field(description="province | city | county | zone")
    by: str
    units: list[str]
    county_adcode: str | None = None


class SegmentDefOut(_M):
    segment_id: str
    stage: str
    name: str
    name_en: str | None
    parent_segment_id: str | None
    position: int
    codes: list[str] = Field(description="GB/T 4754-2017 codes")


class ChainItem(_M):
    chain_id: str
    name: str
    name_en: str | None
    note: str | None
    segments: list[SegmentDefOut]
    statuses: dict[str, str] = Field(description="segment id → strong | present | weak | missing in the region")
    status_counts: dict[str, int]
    firms: int
    above: int
    value_added: float = Field(description="万元, summed over segments")
    health: float | None = Field(description="chain health 0–100 (100 − penalties)")


class ChainsOut(_M):
    region: AreaOut
    basis: BasisOut
    chains: list[ChainItem]


class GridRow(_M):
    county_adcode: str
    county_name: str | None
    chain_id: str
    statuses: dict[str, str]
    firms: int
    value_added: float
    lq: dict[str, float | None]


class GridOut(_M):
    basis: BasisOut
    rows: list[GridRow]


class SegmentOut(_M):
    segment_id: str
    name: str
    name_en: str | None
    stage: str
    stage_label: str
    stage_label_en: str
    parent_segment_id: str | None
    codes: list[str]
    firms: int
    above: int
    leaders: int
    revenue: float = Field(description="万元")
    value_added: float = Field(description="万元")
    tax_paid: float = Field(description="万元")
    tax_per_mu: float | None = Field(description="万元/亩")
    value_added_per_mu: float | None = Field(description="万元/亩")
    revenue_growth: float | None = Field(description="on the year before, a fraction")
    share: float | None = Field(description="share of the province's segment value added")
    lq: float | None = Field(description="location quotient of value added")
    hhi: float | None = Field(description="Herfindahl index of revenue")
    top1_share: float | None
    classes: dict[str, int] = Field(description="member firms per per-mu class")
    status: str
    status_label: str
    status_label_en: str
    status_rule: int | None = Field(description="1-based number of the status rule that decided (null: none held)")
    leader_names: list[str]


class PanoramaOut(_M):
    region: AreaOut
    chain: dict[str, Any]
    segments: list[SegmentOut]
    status_counts: dict[str, int]
    totals: dict[str, float]
    basis: BasisOut


class FirmOut(_M):
    uscc: str
    name: str | None
    county_adcode: str
    county_name: str | None
    zone_id: str | None
    role: str
    above_scale: bool | None
    revenue: float | None
    revenue_prev: float | None
    value_added: float | None
    tax_paid: float | None
    headcount: int | None
    land: float | None = Field(description="亩")
    mujun_class: str | None


class SegmentFirmsOut(_M):
    region: AreaOut
    chain_id: str
    segment_id: str
    segment_name: str
    total: int
    firms: list[FirmOut]
    basis: BasisOut


class TargetOut(_M):
    rank: int
    score: float = Field(description="0–100 = Σ points")
    points: dict[str, float] = Field(description="fit, size, efficiency, growth, pairing")
    values: dict[str, float] = Field(description="each component in [0, 1]")
    chain_id: str
    chain_name: str
    segment_id: str
    segment_name: str
    segment_status: str
    county_adcode: str
    county_name: str | None
    city_name: str | None
    masked: bool = Field(description="outside the caller's region: no name, no USCC")
    uscc: str | None
    name: str
    revenue: float | None
    size_band: str
    size_band_en: str
    mujun_class: str | None
    role: str | None
    above_scale: bool | None
    growth_rate: float | None
    pairing: str | None = Field(description="paired (山海协作) | same_city | null")
    reasons: list[str]


class TargetsOut(_M):
    region: AreaOut
    segments: list[dict[str, Any]] = Field(description="the region's weak and missing segments targeted")
    total: int
    targets: list[TargetOut]
    weights: dict[str, float]
    basis: BasisOut


class RiskChain(_M):
    chain_id: str
    chain_name: str
    health: float
    counts: dict[str, int]
    penalties: dict[str, float] = Field(description="capped; they add up to 100 − health")
    findings: list[dict[str, Any]]
    statuses: dict[str, str]


class RiskOut(_M):
    region: AreaOut
    chains: list[RiskChain]
    basis: BasisOut
    thresholds: dict[str, Any]


# ---- routes ------------------------------------------------------------------------------------

@router.get("", response_model=ChainsOut, summary="产业链 The chains with their segment statuses and health")
def api_chains(request: Request, region: str | None = None, year: int | None = None, run: str | None = None,
               store: Store = Depends(get_store), user: User = Depends(current_user),
               scope: Scope = Depends(current_scope)):
    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        sel = selection(store, scope, region, year, run)
        health = {c["chain_id"]: c["health"]
                  for c in jc.risk(store, scope, sel.area.code, year=sel.year, run_id=sel.run_id)["chains"]}
        out, basis = [], jc.basis(store, sel.year, sel.run_id).as_dict()
        for c in jc.chain_list(store):
            pan = jc.panorama(store, scope, sel.area.code, c.chain_id, year=sel.year, run_id=sel.run_id)
            out.append({"chain_id": c.chain_id, "name": c.name, "name_en": c.name_en, "note": c.note,
                        "segments": [{"segment_id": s.segment_id, "stage": s.stage, "name": s.name,
                                      "name_en": s.name_en, "parent_segment_id": s.parent_segment_id,
                                      "position": s.position, "codes": list(s.codes)} for s in c.segments],
                        "statuses": {s["segment_id"]: s["status"] for s in pan["segments"]},
                        "status_counts": pan["status_counts"], "firms": pan["totals"]["firms"],
                        "above": pan["totals"]["above"], "value_added": pan["totals"]["value_added"],
                        "health": health.get(c.chain_id)})
        return {"region": _area(sel), "basis": basis, "chains": out}
    # once per data version, scope, role and query (web/screens.cached_view)
    return cached_view(request, store, scope, user, compute)


@router.get("/grid", response_model=GridOut, summary="分县矩阵 Every county × chain in your region: segment statuses")
def api_grid(region: str | None = None, year: int | None = None, run: str | None = None,
             store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    sel = selection(store, scope, region, year, run)
    rows = [r for r in jc.panorama_grid(store, scope, year=sel.year, run_id=sel.run_id)
            if r["county_adcode"] in sel.area.units]
    return {"basis": jc.basis(store, sel.year, sel.run_id).as_dict(), "rows": rows}


@router.get("/targets", response_model=TargetsOut,
            summary="招商图 Firms elsewhere to attract for the region's weak and missing segments")
def api_targets(region: str | None = None, chain: str | None = None,
                segment: list[str] | None = Query(None), year: int | None = None, run: str | None = None,
                limit: int = Query(100, ge=1, le=TARGETS_EXPORTED),
                store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    sel = selection(store, scope, region, year, run)
    if chain:
        jc.chain(store, chain)
    segment = [s for s in segment or () if s]
    return jc.targets(store, scope, sel.area.code, chain_id=chain or None, segments=segment or None,
                      year=sel.year, run_id=sel.run_id, limit=limit)


@router.get("/risk", response_model=RiskOut, summary="链风险 Health, penalties and findings per chain")
def api_risk(request: Request, region: str | None = None, chain: str | None = None, year: int | None = None,
             run: str | None = None, store: Store = Depends(get_store), user: User = Depends(current_user),
             scope: Scope = Depends(current_scope)):
    def compute(store: Store) -> dict:   # the request's store, or the job's when it re-warms the view
        sel = selection(store, scope, region, year, run)
        return jc.risk(store, scope, sel.area.code, chain_id=chain or None, year=sel.year, run_id=sel.run_id)
    return cached_view(request, store, scope, user, compute)


@router.get("/{chain_id}", response_model=PanoramaOut, summary="全景图 One chain in one region, per segment")
def api_panorama(chain_id: str, region: str | None = None, year: int | None = None, run: str | None = None,
                 store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    sel = selection(store, scope, region, year, run)
    return jc.panorama(store, scope, sel.area.code, chain_id, year=sel.year, run_id=sel.run_id)


@router.get("/{chain_id}/segments/{segment_id}", response_model=SegmentFirmsOut,
            summary="环节企业 The firms behind one segment in the region, largest first")
def api_segment(chain_id: str, segment_id: str, region: str | None = None, year: int | None = None,
                run: str | None = None, limit: int = Query(200, ge=1, le=5000),
                store: Store = Depends(get_store), scope: Scope = Depends(current_scope)):
    c = jc.chain(store, chain_id)
    if segment_id not in {s.segment_id for s in c.segments}:
        raise NotFoundError(f"no segment {segment_id!r} in chain {c.chain_id}")
    sel = selection(store, scope, region, year, run)
    return jc.segment_firms(store, scope, sel.area.code, segment_id, year=sel.year, run_id=sel.run_id, limit=limit)


def _area(sel) -> dict:
    a = sel.area
    return {"code": a.code, "name": a.name, "level": a.level, "by": a.by, "units": sorted(a.units),
            "county_adcode": a.county_adcode}
