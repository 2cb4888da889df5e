"""一企一县 (1+N) firm–county pairing against the store: candidates, pair scores with reasons, the
optimal plan stored as a run, and reading a plan back inside the caller's ``Scope``.

**Counties** are the 26 mountain counties (山区26县) inside the region asked. **Candidates** are
firms of the developed counties (every county not among the 26) with data in the year, members
of a chain that matches one of the county's declared lead industries (``lead_industries``: a
chain matches when one of its segments' GB/T codes and one of the lead industry's codes are
prefixes of each other), admitted by the pairing rule set (``policy/coop/pairing_*.toml``): by
default the chain leaders (链主) of that chain and the firms in per-mu class A or B of the
per-mu run the plan reads (``jobs.chains.default_run``: the newest finished run of the year,
province-wide first). Segment memberships marked ``excluded`` do not count.

**A pair's score** = 100 × Σ weight × component, each component in [0, 1]:

- chain fit: ``gap`` (1) when the firm's segment is missing or weak in the county's chain,
  ``adjacent`` (0.7) when it is one stage upstream or downstream of a segment the county has
  (strong or present), ``other`` (0) otherwise; the best of the firm's matching segments;
  statuses from the chain rule set the pairing rules name (``jobs.chains`` panoramas);
- capacity: the firm's revenue percentile among all the candidates of the province
  (the share of candidates with a smaller revenue);
- efficiency: its per-mu class (A 1, B 0.7, …; a leader not evaluated 0.4);
- pairing: 1 when the firm's county is the county's 山海协作 partner (``pairings``);
- distance: 1 − km / max_km (0 beyond), or 0.5^(km / half_km), between the county centroids of
  the packaged GeoJSON (great-circle km).

With within-city-first as a bonus, a pair inside one city gets ``within_city_bonus`` more points.
Every pair carries its points (they add up to its score) and its reasons in Chinese and English.

**The plan** (``analysis.pairing.plan``, exact MILP): each county 1–2 firms (configurable), each
firm at most K counties, optionally at most one firm per industry (GB/T division) per county,
optionally within-city first (bonus, or lexicographic: most same-city pairs, then the best
score). Counties none of whose lead industries matches a chain, or whose chains have no candidate,
cannot be paired: by default they are listed with the reason and left out
(``skip_unmatched=True``); with ``skip_unmatched=False`` they make the plan infeasible. An
infeasible plan is stored too, with the diagnosis in words.

**Storage**: a plan is a run (``runs``: kind ``pairing``, the rule set's name and version, every
option in ``params``, the inputs' fingerprint, who and when; status ``done`` when optimal,
``infeasible`` or ``unsolved`` otherwise) with its pairs, counties and summary in ``run_results``
(entity kinds ``pair``, ``county``, ``plan``): never overwritten.

**Scope**: a plan shows only the counties inside the caller's region (a plan with none of them
is refused: 403), and a paired firm outside the caller's region is shown without name, USCC or
revenue — county, city, industry division, size band and class only — as ``jobs.chains.targets``
does. Province users see everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from shanhai import __version__
from shanhai.analysis import chains as ac
from shanhai.analysis import pairing as ap
from shanhai.engine import fetch
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import chains as jc
from shanhai.policy import chain_rules
from shanhai.policy._coop import PairingRules, pairing_rules
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import literal, values

KIND = "pairing"
COMPONENTS = ("chain_fit", "capacity", "efficiency", "pairing", "distance")
COMPONENT_LABELS = {"chain_fit": ("链条契合", "Chain fit"), "capacity": ("企业实力", "Capacity"),
                    "efficiency": ("亩均效益", "Efficiency"), "pairing": ("结对关系", "Pairing"),
                    "distance": ("距离", "Distance"), "within_city": ("同市优先", "Within city")}
WITHIN_CITY = {"off": ("不考虑", "off"), "bonus": ("同市加分", "bonus"), "first": ("同市优先（硬规则）", "first (hard)")}
PLAN_STATUS = {"optimal": ("最优方案", "optimal"), "infeasible": ("约束无法满足", "infeasible"),
               "unsolved": ("未求得最优解", "not solved")}
RUN_STATUS = {"optimal": "done", "infeasible": "infeasible", "unsolved": "unsolved"}
STAGE_ORDER = {"upstream": 0, "midstream": 1, "downstream": 2}
HAS = ("strong", "present")
GAP = ("missing", "weak")
MASKED_NAME = jc.MASKED_NAME


# ---- candidates ------------------------------------------------------------------------------

@dataclass
class Candidates:
    """Everything a plan is solved from: the counties (rows), the candidate firms (columns), which
    pairs are feasible, each component's values and the scores (points add up to them)."""
    basis: dict
    rules: PairingRules
    counties: list[dict]
    firms: list[dict]
    feasible: np.ndarray              # counties × firms
    values: dict[str, np.ndarray]     # component → counties × firms, in [0, 1]
    points: dict[str, np.ndarray]     # component → counties × firms, 100 × weight × value (4 decimals)
    scores: np.ndarray                # Σ points (4 decimals)
    same_city: np.ndarray
    partner: np.ndarray
    km: np.ndarray
    groups: np.ndarray                # per firm: its GB/T division as an integer
    group_codes: list[str]
    fit_detail: dict = field(default_factory=dict, repr=False)   # what explains chain fit (private)

    @property
    def shape(self) -> tuple[int, int]:
        return self.feasible.shape


@cache
def _centroids() -> dict[str, tuple[float, float]]:
    from shanhai import reference

    return {f["properties"]["adcode"]: ap.centroid(f["geometry"]) for f in reference.geojson()["features"]}


def _codes_match(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _leads(store: Store) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for adcode, position, name, codes in store.con.execute(
            "SELECT adcode, position, name, codes FROM lead_industries ORDER BY adcode, position").fetchall():
        out.setdefault(adcode, []).append({"position": position, "name": name,
                                           "codes": [c.strip() for c in codes.split(";") if c.strip()]})
    return out


def _chain_codes(chains_: list) -> dict[str, set[str]]:
    return {c.chain_id: {code for s in c.segments for code in s.codes} for c in chains_}


def _matches(leads: list[dict], chain_codes: dict[str, set[str]]) -> dict[str, list[str]]:
    """chain id → the names of the county's lead industries it matches (by code prefix)."""
    out: dict[str, list[str]] = {}
    for lead in leads:
        for chain_id, codes in chain_codes.items():
            if any(_codes_match(a, b) for a in lead["codes"] for b in codes):
                out.setdefault(chain_id, []).append(lead["name"])
    return out


def _mountain_counties(store: Store) -> list[dict]:
    rows = store.con.execute(
        "SELECT c.adcode, c.name, c.city_adcode, p.name FROM regions c LEFT JOIN regions p ON p.adcode = c.city_adcode "
        "WHERE c.level = 'county' AND c.mountain26 ORDER BY c.adcode").fetchall()
    return [{"adcode": a, "name": n, "city_adcode": ca, "city_name": cn} for a, n, ca, cn in rows]


def plan_counties(store: Store, scope: Scope, region: str | None) -> tuple[Scope, list[str]]:
    """The region asked (the caller's own when None; 403 outside it) and its mountain counties."""
    target = scope.narrow(store, region) if region else scope
    mountain = {c["adcode"] for c in _mountain_counties(store)}
    counties = [c for c in target.counties(store) if c in mountain]
    if not counties:
        raise ShanhaiError(f"{target.name or target.adcode} ({target.adcode}) 没有山区26县，无需结对规划 "
                           "(no mountain county in this region: pairing plans are for the 26 mountain counties)")
    return target, counties


def data_fingerprint(store: Store, year: int, run_id: str | None) -> str:
    """What a plan reads: the chain figures' data fingerprint, the per-mu run, the pairings and
    the lead industries."""
    parts = [jc.data_fingerprint(store, year), str(run_id)]
    for sql in ("SELECT count(*), coalesce(sum(hash(coalesce(developed_adcode, '') || mountain_adcode)), 0) "
                "FROM pairings",
                "SELECT count(*), coalesce(sum(hash(adcode || name || codes)), 0) FROM lead_industries",
                "SELECT count(*), coalesce(sum(hash(adcode || coalesce(city_adcode, '') || mountain26)), 0) "
                "FROM regions WHERE level = 'county'"):
        parts.append(repr(store.con.execute(sql).fetchall()))
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


def candidates(store: Store, scope: Scope, year: int | None = None, run_id: str | None = None,
               rules: str = "default", *, region: str | None = None) -> Candidates:
    """The mountain counties of ``region`` (inside ``scope``) × the province's candidate firms,
    with every pair's components, points and score (module docstring). The firms are those of
    the whole province (shown masked outside the caller's region by :func:`plan_of`); a firm no
    county of the region may take is left out. Columnar: NumPy over the memberships, Python only
    per county and per segment."""
    r = pairing_rules(rules)
    crules = chain_rules(r.chain_rules)
    b = jc.basis(store, year, run_id, r.chain_rules)
    _, region_counties = plan_counties(store, scope, region)
    all_counties = _mountain_counties(store)
    leads = _leads(store)
    chains_ = jc.chain_list(store)
    by_chain = {c.chain_id: c for c in chains_}
    codes = _chain_codes(chains_)
    for c in all_counties:
        c["leads"] = leads.get(c["adcode"], [])
        c["chains"] = _matches(c["leads"], codes)
    wanted = sorted({ch for c in all_counties for ch in c["chains"]})

    # the pool: developed counties' firms in matching chains, admitted as leaders or by class
    mem = _members(store, b, wanted, r)
    col = {name: mem[name].to_numpy(zero_copy_only=False) for name in ("uscc", "segment_id", "role")}
    if mem.num_rows:
        pool, first, mem_firm = np.unique(col["uscc"].astype(str), return_index=True, return_inverse=True)
    else:
        pool, first, mem_firm = np.array([], dtype=str), np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    mem_firm = mem_firm.ravel()
    revenue_all = np.nan_to_num(np.asarray(mem["revenue"].to_numpy(zero_copy_only=False), dtype=float)[first], nan=0.0)
    ordered = np.sort(revenue_all)
    capacity_all = np.searchsorted(ordered, revenue_all, side="left") / max(len(pool) - 1, 1)
    leader_all = np.zeros(len(pool), dtype=bool)
    np.logical_or.at(leader_all, mem_firm, col["role"] == "chain_leader")

    # counties of the region (rows): each segment's fit value, from the county's panorama
    counties = [c for c in all_counties if c["adcode"] in set(region_counties)]
    segs = [s for c in chains_ for s in c.segments]
    seg_index = {s.segment_id: k for k, s in enumerate(segs)}
    n, nseg = len(counties), len(segs)
    fit_by_seg = np.zeros((n, nseg))           # 1 + fit value for a matching chain's segment, 0 otherwise
    statuses: list[dict[str, str]] = []
    neighbours: list[dict[str, tuple[str, str]]] = []
    for i, c in enumerate(counties):
        area = jc.area(store, Scope.province(), c["adcode"])
        st: dict[str, str] = {}
        nb: dict[str, tuple[str, str]] = {}
        c["gaps"], c["has"] = {}, {}
        for chain_id in c["chains"]:
            chain_def = by_chain[chain_id]
            for v in jc._views(store, b, area, chain_def, crules):
                st[v.segment_id] = v.status
            has = [seg for seg in chain_def.segments if st[seg.segment_id] in HAS]
            c["gaps"][chain_id] = [seg.name for seg in chain_def.segments if st[seg.segment_id] in GAP]
            c["has"][chain_id] = [seg.name for seg in has]
            for seg in chain_def.segments:
                if st[seg.segment_id] in GAP:
                    value = r.chain_fit.gap
                else:
                    near = [h for h in has if abs(STAGE_ORDER.get(h.stage, 9) - STAGE_ORDER.get(seg.stage, 9)) == 1]
                    value = r.chain_fit.adjacent if near else r.chain_fit.other
                    if near:
                        nb[seg.segment_id] = (near[0].name, "up" if STAGE_ORDER[seg.stage] < STAGE_ORDER[near[0].stage]
                                              else "down")
                fit_by_seg[i, seg_index[seg.segment_id]] = 1.0 + value
        statuses.append(st)
        neighbours.append(nb)

    # chain fit per (county, firm): the best of the firm's admitted memberships
    if len(col["segment_id"]):
        useg, inv = np.unique(col["segment_id"].astype(str), return_inverse=True)
        mem_seg = np.array([seg_index.get(x, -1) for x in useg], dtype=np.int64)[inv.ravel()]
    else:
        mem_seg = np.array([], dtype=np.int64)
    keep = mem_seg >= 0
    mf_all, ms_all = mem_firm[keep], mem_seg[keep]
    best = np.zeros((n, len(pool)))
    if len(mf_all):
        order = np.argsort(mf_all, kind="stable")
        mf, ms = mf_all[order], ms_all[order]
        starts = np.flatnonzero(np.r_[True, mf[1:] != mf[:-1]])
        best[:, mf[starts]] = np.maximum.reduceat(fit_by_seg[:, ms], starts, axis=1)
    feasible_all = best > 0
    used = np.flatnonzero(feasible_all.any(axis=0))        # firms some county of the region may take
    feasible = feasible_all[:, used]
    fit = np.where(feasible, best[:, used] - 1.0, 0.0)

    names = dict(store.con.execute("SELECT adcode, name FROM regions").fetchall())
    cities = dict(store.con.execute("SELECT adcode, city_adcode FROM regions WHERE level = 'county'").fetchall())
    info = mem.take(first[used]).select(["uscc", "name", "county_adcode", "revenue", "above_scale", "mujun_class",
                                         "industry_code", "division_name"]).to_pylist()
    firms = []
    for row, leader in zip(info, leader_all[used].tolist()):
        county = row["county_adcode"]
        firms.append({**row, "county_name": names.get(county, county), "city_adcode": cities.get(county),
                      "city_name": names.get(cities.get(county) or "", None),
                      "division": (row["industry_code"] or "")[:2], "leader": leader})
    m = len(firms)
    firm_county = np.array([f["county_adcode"] for f in firms], dtype=object)
    firm_city = np.array([f["city_adcode"] or "" for f in firms], dtype=object)
    capacity = np.broadcast_to(capacity_all[used], (n, m))
    efficiency = np.broadcast_to(np.array([r.class_value(f["mujun_class"]) for f in firms], dtype=float), (n, m))
    partners = _partners(store)
    partner = np.zeros((n, m), dtype=bool)
    for i, c in enumerate(counties):
        if partners.get(c["adcode"]) and m:
            partner[i] = np.isin(firm_county, sorted(partners[c["adcode"]]))
    same_city = (firm_city[None, :] == np.array([c["city_adcode"] or "?" for c in counties], dtype=object)[:, None]
                 ).reshape(n, m).astype(bool)
    cent = _centroids()
    far = (np.nan, np.nan)
    county_xy = np.array([cent.get(c["adcode"], far) for c in counties], dtype=float).reshape(n, 2)
    firm_xy = np.array([cent.get(a, far) for a in firm_county], dtype=float).reshape(m, 2)
    km = ap.distance_km(county_xy[:, :1], county_xy[:, 1:], firm_xy[None, :, 0], firm_xy[None, :, 1]).reshape(n, m)
    km = np.nan_to_num(km, nan=r.distance.max_km)
    vals = {"chain_fit": fit, "capacity": np.asarray(capacity, dtype=float),
            "efficiency": np.asarray(efficiency, dtype=float), "pairing": partner.astype(float),
            "distance": np.asarray(r.distance.value(km), dtype=float).reshape(n, m)}
    weights = r.weights.model_dump()
    points = {k: np.round(100.0 * weights[k] * np.where(feasible, v, 0.0), 4) for k, v in vals.items()}
    scores = np.round(sum(points[k] for k in COMPONENTS), 4) if m else np.zeros((n, 0))
    group_codes = sorted({f["division"] for f in firms})
    gindex = {g: k for k, g in enumerate(group_codes)}
    groups = np.array([gindex[f["division"]] for f in firms], dtype=np.int64)
    # the memberships behind chain fit, indexed by the firm's column (for the reasons of chosen pairs)
    column = np.full(len(pool), -1, dtype=np.int64)
    column[used] = np.arange(m)
    chain_col = mem["chain_id"].to_numpy(zero_copy_only=False)[keep]
    role_col = col["role"][keep]
    detail = {"mem_firm": column[mf_all], "mem_seg": ms_all, "mem_role": role_col, "mem_chain": chain_col,
              "segs": segs, "fit_by_seg": fit_by_seg, "statuses": statuses, "neighbours": neighbours,
              "by_chain": by_chain}
    cand_basis = {"year": b.year, "run_id": b.run_id, "data_fingerprint": b.data_fingerprint,
                  "chain_rules": b.rules, "chain_rules_version": b.rules_version,
                  "chain_rules_fingerprint": b.rules_fingerprint, "rules": r.name, "rules_version": r.version,
                  "rules_fingerprint": r.fingerprint()[:12],
                  "pairing_fingerprint": data_fingerprint(store, b.year, b.run_id), "pool": len(pool)}
    out = Candidates(cand_basis, r, counties, firms, feasible, vals, points, scores, same_city, partner, km,
                     groups, group_codes, detail)
    for i, c in enumerate(counties):
        c["candidates"] = int(feasible[i].sum())
        c["unmatched_reason"] = None
        if not c["chains"]:
            lead_text = "、".join(f"{x['name']}（{'/'.join(x['codes'])}）" for x in c["leads"]) or "未申报"
            c["unmatched_reason"] = (
                f"主导产业 {lead_text} 与现有产业链均不匹配，没有可结对的企业",
                "none of its lead industries matches a chain: no firm can be paired with it"
                if c["leads"] else "it has declared no lead industry: no firm can be paired with it")
        elif not c["candidates"]:
            names_ = "、".join(by_chain[ch].name for ch in c["chains"])
            c["unmatched_reason"] = (f"匹配的产业链（{names_}）中没有发达地区的链主或 {'/'.join(r.candidates.classes)} 类企业",
                                     f"the matching chains ({', '.join(c['chains'])}) have no chain leader or class "
                                     f"{'/'.join(r.candidates.classes)} firm in the developed counties")
    return out


def _members(store: Store, b: jc.Basis, chain_ids: list[str], r: PairingRules):
    """The admitted memberships (an Arrow table) of developed counties' firms in ``chain_ids``: a
    chain leader's (when the rules admit leaders) or a firm's in one of the admitted classes."""
    con = jc._backend(store)
    t = ac.members(con, b.year, b.run_id)
    regions = con.table("regions")
    developed = regions.filter((regions.level == "county") & ~regions.mountain26).select(dev=regions.adcode)
    t = t.filter(t.chain_id.isin(chain_ids or ["-"]))
    t = t.join(developed, t.county_adcode == developed.dev).drop("dev")
    admitted = []
    if r.candidates.leaders:
        admitted.append(t.role == "chain_leader")
    if r.candidates.classes:
        admitted.append(t.mujun_class.isin(list(r.candidates.classes)))
    t = t.filter(admitted[0] | admitted[1] if len(admitted) == 2 else admitted[0])
    firms = con.table("enterprises").select(uscc_e="uscc", industry_code="industry_code")
    t = t.join(firms, t.uscc == firms.uscc_e).drop("uscc_e")
    ind = con.table("industries")
    ind = ind.filter(ind.level == "division").select(division_code=ind.code, division_name=ind.name)
    t = t.left_join(ind, t.industry_code.substr(0, 2) == ind.division_code).drop("division_code")
    t = t.select("uscc", "name", "county_adcode", "segment_id", "chain_id", "role", "revenue", "above_scale",
                 "mujun_class", "industry_code", "division_name").order_by(["uscc", "segment_id"])
    return fetch(con, t)


def _partners(store: Store) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for dev, mountain in store.con.execute(
            "SELECT developed_adcode, mountain_adcode FROM pairings WHERE developed_adcode IS NOT NULL").fetchall():
        out.setdefault(mountain, set()).add(dev)
    return out


# ---- one pair in words -----------------------------------------------------------------------

def _fit_of(cand: Candidates, i: int, j: int) -> dict:
    """Which of the firm's memberships gives its chain fit in county ``i``, and why (the first of
    the best, by segment id)."""
    d = cand.fit_detail
    rows = np.flatnonzero(d["mem_firm"] == j)
    values = d["fit_by_seg"][i, d["mem_seg"][rows]]
    pick = rows[int(np.argmax(values))]
    seg = d["segs"][int(d["mem_seg"][pick])]
    status = d["statuses"][i].get(seg.segment_id, "missing")
    chain_def = d["by_chain"][seg.chain_id]
    kind = "gap" if status in GAP else "adjacent" if seg.segment_id in d["neighbours"][i] else "other"
    near = d["neighbours"][i].get(seg.segment_id)
    return {"chain_id": seg.chain_id, "chain_name": chain_def.name, "chain_name_en": chain_def.name_en,
            "segment_id": seg.segment_id, "segment_name": seg.name, "segment_name_en": seg.name_en,
            "stage": seg.stage, "segment_status": status, "fit_kind": kind,
            "neighbour": near[0] if near else None, "direction": near[1] if near else None,
            "role": str(d["mem_role"][pick]), "leads": cand.counties[i]["chains"].get(seg.chain_id, [])}


def pair_doc(cand: Candidates, i: int, j: int, bonus: float = 0.0) -> dict:
    """One pair: the firm, the segment that fits, each component's value and points (they add up
    to the score), and the reasons in Chinese and English."""
    county, firm = cand.counties[i], cand.firms[j]
    fit = _fit_of(cand, i, j)
    values_ = {k: float(cand.values[k][i, j]) for k in COMPONENTS}
    points = {k: float(cand.points[k][i, j]) for k in COMPONENTS}
    if bonus:
        points["within_city"] = round(float(bonus), 4)
    score = round(sum(points.values()), 4)
    band = jc.size_band(firm["revenue"])
    doc = {
        "county_adcode": county["adcode"], "county_name": county["name"], "county_city": county["city_name"],
        "uscc": firm["uscc"], "name": firm["name"], "firm_county_adcode": firm["county_adcode"],
        "firm_county_name": firm["county_name"], "firm_city_name": firm["city_name"],
        "industry_code": firm["industry_code"], "division": firm["division"], "division_name": firm["division_name"],
        "revenue": firm["revenue"], "size_band": band[0], "size_band_en": band[1], "above_scale": firm["above_scale"],
        "mujun_class": firm["mujun_class"], "leader": firm["leader"], **fit,
        "km": round(float(cand.km[i, j]), 1), "same_city": bool(cand.same_city[i, j]),
        "partner": bool(cand.partner[i, j]), "values": values_, "points": points, "score": score,
    }
    doc["reasons"], doc["reasons_en"] = reasons(doc)
    return doc


STATUS_WORD = {"missing": ("缺失", "missing"), "weak": ("薄弱", "weak")}


def reasons(p: dict) -> tuple[list[str], list[str]]:
    """A pair's points in words, Chinese and English, one line per component that scored (chain
    fit always). No line names the firm, so a masked pair's reasons stay masked."""
    pts, v = p["points"], p["values"]
    lead = "、".join(p["leads"])
    lead_en = ", ".join(p["leads"])
    seg, seg_en = p["segment_name"], p.get("segment_name_en") or p["segment_name"]
    chain, chain_en = p["chain_name"], p.get("chain_name_en") or p["chain_name"]
    if p["fit_kind"] == "gap":
        zh_word, en_word = STATUS_WORD[p["segment_status"]]
        zh = [f"补链：本县{chain}「{seg}」环节{zh_word}，对接主导产业「{lead}」 +{pts['chain_fit']:.1f}"]
        en = [f"fills a gap: the county's {chain_en} segment '{seg_en}' is {en_word}; lead industry "
              f"'{lead_en}' +{pts['chain_fit']:.1f}"]
    elif p["fit_kind"] == "adjacent":
        up = p["direction"] == "up"
        zh = [f"延链：{chain}「{seg}」位于本县已有「{p['neighbour']}」环节的{'上游' if up else '下游'}，"
              f"对接主导产业「{lead}」 +{pts['chain_fit']:.1f}"]
        en = [f"extends the chain: {chain_en} '{seg_en}' is {'upstream' if up else 'downstream'} of the county's "
              f"'{p['neighbour']}'; lead industry '{lead_en}' +{pts['chain_fit']:.1f}"]
    else:
        zh = [f"同链：属{chain}「{seg}」环节，与主导产业「{lead}」相关 +{pts['chain_fit']:.1f}"]
        en = [f"same chain: {chain_en} '{seg_en}', related to lead industry '{lead_en}' +{pts['chain_fit']:.1f}"]
    top = 100 * (1 - v["capacity"])
    zh.append(f"实力：营业收入位于全省候选企业前 {max(top, 1):.0f}%（{p['size_band']}） +{pts['capacity']:.1f}")
    en.append(f"capacity: revenue in the top {max(top, 1):.0f}% of the province's candidates ({p['size_band_en']}) "
              f"+{pts['capacity']:.1f}")
    cls = p["mujun_class"]
    who_zh = "链主企业" if p["leader"] else ""
    who_en = "chain leader, " if p["leader"] else ""
    zh.append(f"效益：{who_zh}亩均评价 {cls} 类 +{pts['efficiency']:.1f}" if cls
              else f"效益：{who_zh}未参加亩均评价 +{pts['efficiency']:.1f}")
    en.append(f"efficiency: {who_en}per-mu class {cls} +{pts['efficiency']:.1f}" if cls
              else f"efficiency: {who_en}not evaluated per mu +{pts['efficiency']:.1f}")
    if p["partner"]:
        zh.append(f"结对：{p['firm_county_name']}是本县山海协作结对地区 +{pts['pairing']:.1f}")
        en.append(f"pairing: {p['firm_county_name']} is the county's 山海协作 partner +{pts['pairing']:.1f}")
    zh.append(f"距离：两地相距约 {p['km']:.0f} 公里 +{pts['distance']:.1f}")
    en.append(f"distance: about {p['km']:.0f} km apart +{pts['distance']:.1f}")
    if pts.get("within_city"):
        zh.append(f"同市优先：企业与本县同属{p['county_city']} +{pts['within_city']:.1f}")
        en.append(f"within city: the firm is in the county's own city +{pts['within_city']:.1f}")
    return zh, en


# ---- the plan --------------------------------------------------------------------------------

def _within(value) -> str:
    if value is True:
        return "first"
    if value in (False, None, ""):
        return "off"
    if value == "hard":
        return "first"
    if value not in WITHIN_CITY:
        raise ShanhaiError(f"within_city_first must be one of off, bonus, first (hard), not {value!r}")
    return str(value)


def build_plan(store: Store, scope: Scope, *, region: str | None = None, year: int | None = None,
               run_id: str | None = None, rules: str = "default", per_county: tuple[int, int] | None = None,
               max_counties: int | None = None, distinct_industries: bool = False,
               within_city_first: bool | str = False, skip_unmatched: bool = True, user: str | None = None,
               progress=None) -> dict:
    """Plan the pairs of the mountain counties of ``region`` (the caller's whole region by
    default), store the plan as a run and return it as :func:`plan_of` shows it to ``scope``.

    ``per_county`` (min, max) and ``max_counties`` (K) default to the rule set's ``[plan]``;
    ``distinct_industries``: at most one firm per industry division per county;
    ``within_city_first``: False / "off", "bonus" (points for same-city pairs) or True / "first"
    (the most same-city pairs first, then the best score); ``skip_unmatched``: leave out, with
    their reason, the counties no firm can pair with (else they make the plan infeasible)."""
    started = time.perf_counter()
    step = progress or (lambda label, fraction: None)
    r = pairing_rules(rules)
    lo, hi = per_county if per_county is not None else (r.plan.per_county_min, r.plan.per_county_max)
    lo, hi = int(lo), int(hi)
    k = int(max_counties if max_counties is not None else r.plan.max_counties)
    if lo < 0 or hi < 1 or lo > hi:
        raise ShanhaiError(f"firms per county must be 0 ≤ min ≤ max with max ≥ 1, not {lo}–{hi}")
    if k < 1:
        raise ShanhaiError(f"a firm's maximum number of counties (K) must be at least 1, not {k}")
    mode = _within(within_city_first)
    target, _ = plan_counties(store, scope, region)
    step("候选企业 candidates", 0.1)
    cand = candidates(store, scope, year, run_id, rules, region=target.adcode)
    n, m = cand.shape
    included = [i for i, c in enumerate(cand.counties) if not (skip_unmatched and c["unmatched_reason"])]
    rows = np.array(included, dtype=np.int64)
    step("求解 solving", 0.5)
    labels = [cand.counties[i]["name"] for i in included]
    bonus = r.plan.within_city_bonus if mode == "bonus" else 0.0
    if len(rows):
        result = ap.plan(cand.scores[rows], cand.feasible[rows], per_county=(lo, hi), max_counties=k,
                         groups=cand.groups if distinct_industries else None, same_city=cand.same_city[rows],
                         within_city=mode, within_city_bonus=bonus, county_labels=labels)
    else:
        result = None
    pairs = []
    if result is not None and result.optimal:
        for c_local, j, b_ in zip(result.county.tolist(), result.firm.tolist(), result.pair_bonus.tolist()):
            pairs.append(pair_doc(cand, int(rows[c_local]), int(j), b_))
    problems = []
    if result is not None:
        for pr in result.problems:
            d = pr.as_dict()
            d["counties"] = [cand.counties[int(rows[c])]["adcode"] for c in pr.counties]
            if pr.kind == "no_candidates" and len(pr.counties) == 1:
                why = cand.counties[int(rows[pr.counties[0]])]["unmatched_reason"]
                if why:
                    d["zh"] += f"（{why[0]}）"
                    d["en"] += f" ({why[1]})"
            problems.append(d)
    status = result.status if result is not None else "infeasible"
    if result is None:
        problems.append({"kind": "no_counties", "counties": [c["adcode"] for c in cand.counties], "needed": 0,
                         "available": 0, "zh": "区域内没有任何可结对的山区县：各县主导产业与产业链均不匹配或没有候选企业",
                         "en": "no mountain county of the region can be paired: their lead industries match no chain "
                               "or their chains have no candidate"})
    county_docs = []
    for i, c in enumerate(cand.counties):
        mine = [p for p in pairs if p["county_adcode"] == c["adcode"]]
        for rank, p in enumerate(mine, 1):
            p["rank"] = rank
        county_docs.append({
            "adcode": c["adcode"], "name": c["name"], "city_adcode": c["city_adcode"], "city_name": c["city_name"],
            "leads": c["leads"], "chains": [{"chain_id": ch, "name": cand.fit_detail["by_chain"][ch].name,
                                             "leads": c["chains"][ch], "gaps": c["gaps"].get(ch, []),
                                             "has": c["has"].get(ch, [])} for ch in c["chains"]],
            "candidates": c["candidates"], "included": i in included, "min": lo, "max": hi,
            "assigned": len(mine), "score": round(sum(p["score"] for p in mine), 4),
            "unmatched_reason": c["unmatched_reason"][0] if c["unmatched_reason"] else None,
            "unmatched_reason_en": c["unmatched_reason"][1] if c["unmatched_reason"] else None,
            "problems": [p["zh"] for p in problems if c["adcode"] in p["counties"]],
            "problems_en": [p["en"] for p in problems if c["adcode"] in p["counties"]],
        })
    options = {"region": target.adcode, "region_name": target.name, "region_level": target.level,
               "year": cand.basis["year"], "run": cand.basis["run_id"], "rules": r.name,
               "per_county": [lo, hi], "max_counties": k, "distinct_industries": bool(distinct_industries),
               "within_city_first": mode, "within_city_bonus": bonus, "skip_unmatched": bool(skip_unmatched)}
    summary = {
        "status": status,
        "objective": round(result.objective, 4) if result is not None and result.objective is not None else None,
        "within_city_pairs": result.within_city_pairs if result is not None else 0,
        "within_city_max": result.within_city_max if result is not None else None,
        "problems": problems, "message": result.message if result is not None else "",
        "variables": result.variables if result is not None else 0,
        "constraints": result.constraints if result is not None else 0,
        "solve_s": round(result.solve_s, 4) if result is not None else 0.0,
        "build_s": round(result.build_s, 4) if result is not None else 0.0,
        "counties": len(cand.counties), "included": len(included), "firms": m,
        "feasible_pairs": int(cand.feasible[rows].sum()) if len(rows) else 0, "pairs": len(pairs),
        "weights": r.weights.model_dump(), "chain_fit": r.chain_fit.model_dump(),
        "class_points": dict(r.class_points), "distance": r.distance.model_dump(),
    }
    step("保存 storing", 0.8)
    run_id_ = _store(store, r, options, cand.basis, summary, county_docs, pairs, user, started)
    step("完成 done", 1.0)
    return plan_of(store, scope, run_id_)


def _store(store: Store, r: PairingRules, options: dict, basis: dict, summary: dict, counties: list[dict],
           pairs: list[dict], user: str | None, started: float) -> str:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    run_id = f"pairing-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    summary = {**summary, "seconds": round(time.perf_counter() - started, 3)}
    params = {**options, "counties": [c["adcode"] for c in counties], "basis": basis,
              "rules_version": r.version, "rules_fingerprint": r.fingerprint(), "policy": r.model_dump(mode="json")}
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status, note) VALUES ({values(run_id, KIND, r.name, r.version)}, "
            f"{literal(json.dumps(params, ensure_ascii=False))}::JSON, "
            f"{values(basis['pairing_fingerprint'], __version__, user or 'cli', now, RUN_STATUS[summary['status']])}, "
            f"{literal(_note(summary))})")
        rows = [(run_id, "plan", "summary", json.dumps(summary, ensure_ascii=False))]
        rows += [(run_id, "county", c["adcode"], json.dumps(c, ensure_ascii=False)) for c in counties]
        rows += [(run_id, "pair", f"{p['county_adcode']}:{p['uscc']}", json.dumps(p, ensure_ascii=False))
                 for p in pairs]
        con.executemany("INSERT INTO run_results (run_id, entity_kind, entity_id, result) VALUES (?, ?, ?, ?)", rows)
        audit_append(con, "plan.pairing", username=user, target=run_id,
                     detail={"region": options["region"], "year": options["year"], "rules": r.name,
                             "status": summary["status"], "objective": summary["objective"], "pairs": len(pairs),
                             "options": {k: options[k] for k in ("per_county", "max_counties", "distinct_industries",
                                                                 "within_city_first", "skip_unmatched")}})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return run_id


def _note(summary: dict) -> str | None:
    if summary["status"] == "optimal":
        return None
    return "; ".join(p["zh"] for p in summary["problems"][:3]) or summary.get("message") or None


# ---- reading plans back ----------------------------------------------------------------------

def _run_row(store: Store, run_id: str) -> dict:
    row = store.con.execute(
        "SELECT run_id, policy_name, policy_version, params::VARCHAR, inputs_fingerprint, code_version, created_by, "
        f"created_at, status, note FROM runs WHERE run_id = {literal(run_id)} AND kind = {literal(KIND)}").fetchone()
    if row is None:
        raise NotFoundError(f"没有结对方案 {run_id!r} (no pairing plan {run_id!r}: see `shanhai coop plan --list`)")
    keys = ("run_id", "rules", "rules_version", "params", "inputs_fingerprint", "code_version", "created_by",
            "created_at", "run_status", "note")
    out = dict(zip(keys, row))
    out["params"] = json.loads(out["params"])
    out["created_at"] = str(out["created_at"])[:19]
    return out


def _visible(scope: Scope, counties: list[str]) -> list[str]:
    return [c for c in counties if scope.covers(c)]


def plans(store: Store, scope: Scope, limit: int = 50) -> list[dict]:
    """The stored plans with a county inside ``scope``, newest first (what the caller may open)."""
    rows = store.con.execute(
        "SELECT r.run_id, r.params::VARCHAR, r.created_by, r.created_at, r.status, s.result::VARCHAR "
        "FROM runs r LEFT JOIN run_results s ON s.run_id = r.run_id AND s.entity_kind = 'plan' "
        f"WHERE r.kind = {literal(KIND)} ORDER BY r.created_at DESC, r.run_id DESC").fetchall()
    out = []
    for run_id, params, by, at, run_status, summary in rows:
        p = json.loads(params)
        s = json.loads(summary) if summary else {}
        mine = _visible(scope, p.get("counties", []))
        if not mine:
            continue
        out.append({"run_id": run_id, "created_by": by, "created_at": str(at)[:19],
                    "status": s.get("status", run_status),
                    "status_label": PLAN_STATUS.get(s.get("status"), (run_status, run_status))[0],
                    "region": p.get("region"), "region_name": p.get("region_name"), "year": p.get("year"),
                    "rules": p.get("rules"), "per_county": p.get("per_county"), "max_counties": p.get("max_counties"),
                    "distinct_industries": p.get("distinct_industries"),
                    "within_city_first": p.get("within_city_first"),
                    "objective": s.get("objective"), "pairs": s.get("pairs"), "counties": len(p.get("counties", [])),
                    "visible_counties": len(mine)})
        if len(out) >= limit:
            break
    return out


def latest_plan(store: Store, scope: Scope) -> str:
    found = plans(store, scope, limit=1)
    if not found:
        raise NotFoundError("还没有结对方案 (no pairing plan yet: run `shanhai coop pair` first)")
    return found[0]["run_id"]


def mask(pair: dict, scope: Scope) -> dict:
    """A pair as ``scope`` may see it: a firm outside the region keeps its county, city, industry
    division, size band and class, and loses name, USCC, revenue and 4-digit industry."""
    if scope.covers(pair["firm_county_adcode"]):
        return {**pair, "masked": False}
    return {**pair, "masked": True, "uscc": None, "name": MASKED_NAME[0], "name_en": MASKED_NAME[1],
            "revenue": None, "industry_code": None}


def plan_of(store: Store, scope: Scope, run_id: str | None = None) -> dict:
    """A stored plan as ``scope`` may see it: its options, basis and status, the objective, the
    counties inside the region each with its firms (points, score, reasons), the diagnosis when
    it is infeasible. A plan with no county inside the region is refused (OutOfScopeError); an
    unknown id is a NotFoundError; ``None``/"latest": the newest plan the caller may see."""
    if run_id in (None, "", "latest"):
        run_id = latest_plan(store, scope)
    run = _run_row(store, run_id)
    p = run["params"]
    counties_all = p.get("counties", [])
    mine = set(_visible(scope, counties_all))
    if not mine:
        raise OutOfScopeError(f"结对方案 {run_id} 的县均不在您的数据范围内 (the plan's counties are outside your region)")
    results = store.con.execute(
        "SELECT entity_kind, entity_id, result::VARCHAR FROM run_results "
        f"WHERE run_id = {literal(run_id)} ORDER BY entity_kind, entity_id").fetchall()
    summary: dict = {}
    counties: dict[str, dict] = {}
    pairs: list[dict] = []
    for kind, entity, result in results:
        doc = json.loads(result)
        if kind == "plan":
            summary = doc
        elif kind == "county" and entity in mine:
            counties[entity] = doc
        elif kind == "pair" and doc["county_adcode"] in mine:
            pairs.append(mask(doc, scope))
    for c in counties.values():
        c["pairs"] = sorted([x for x in pairs if x["county_adcode"] == c["adcode"]], key=lambda x: x["rank"])
    ordered = [counties[a] for a in counties_all if a in counties]
    status = summary.get("status", "infeasible")
    return {
        "run_id": run_id, "created_at": run["created_at"], "created_by": run["created_by"],
        "status": status, "status_label": PLAN_STATUS.get(status, (status, status))[0],
        "status_label_en": PLAN_STATUS.get(status, (status, status))[1],
        "objective": summary.get("objective"),
        "objective_visible": round(sum(x["score"] for x in pairs), 4) if pairs else 0.0,
        "options": {k: p.get(k) for k in ("region", "region_name", "region_level", "year", "run", "rules",
                                          "per_county", "max_counties", "distinct_industries", "within_city_first",
                                          "within_city_bonus", "skip_unmatched")},
        "basis": {**p.get("basis", {}), "rules_version": run["rules_version"],
                  "inputs_fingerprint": run["inputs_fingerprint"], "code_version": run["code_version"]},
        "summary": {k: v for k, v in summary.items() if k != "problems"},
        "problems": summary.get("problems", []),
        "counties": ordered,
        "pairs": sorted(pairs, key=lambda x: (x["county_adcode"], x["rank"])),
        "scope": scope.as_dict(),
        "complete": len(mine) == len(counties_all),
        "counties_total": len(counties_all),
        "masked": sum(1 for x in pairs if x["masked"]),
    }
