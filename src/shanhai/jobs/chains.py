"""Industrial chains against the store: the chain list, panoramas, the firms behind a segment,
attraction targets (招商图) and chain risk, each for a region inside the caller's ``Scope``.

The heavy stage (``analysis.chains.members`` → ``segment_cells``) runs once per year, per-mu run
and unit kind (county or zone) and is cached under a fingerprint of the data it read (the rows
per dataset of the facts, the last import change and the membership), so the panoramas of ten
chains × 90 counties cost one aggregation. Everything a user sees names its provenance: the data
year and fingerprint, the per-mu run its classes come from and the chain rule set's version.

Firms outside the caller's scope never appear by name: attraction targets elsewhere in the
province are shown with their county, segment, size band and class only (``masked``); a city or
province officer sees the same list with names.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from shanhai.analysis import chains as ac
from shanhai.engine import connect, fetch
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy import ChainRules, chain_rules
from shanhai.store import Store
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import literal
from shanhai.jobs._memo import Memo

STATUS_LABELS = {"strong": ("优势", "Strong"), "present": ("具备", "Present"), "weak": ("薄弱", "Weak"),
                 "missing": ("缺失", "Missing"), "outside": ("非制造环节", "Outside manufacturing")}
STAGE_LABELS = {"upstream": ("上游", "Upstream"), "midstream": ("中游", "Midstream"),
                "downstream": ("下游", "Downstream")}
SIZE_BANDS = ((200_000, "≥20亿", "≥ 2 bn"), (50_000, "5–20亿", "0.5–2 bn"), (10_000, "1–5亿", "100–500 m"),
              (2_000, "2000万–1亿", "20–100 m"), (0, "<2000万", "< 20 m"))
MASKED_NAME = ("（范围外企业）", "(firm outside your region)")

_CACHE = Memo(64)


@dataclass(frozen=True)
class SegmentDef:
    segment_id: str
    chain_id: str
    stage: str
    name: str
    name_en: str | None
    parent_segment_id: str | None
    position: int
    codes: tuple[str, ...]


@dataclass(frozen=True)
class ChainDef:
    chain_id: str
    name: str
    name_en: str | None
    note: str | None
    segments: tuple[SegmentDef, ...]


@dataclass(frozen=True)
class Area:
    """A region a panorama is drawn for: the province, a city, a county, or a zone."""
    code: str
    name: str
    level: str            # province | city | county | zone
    by: str               # the unit column: county_adcode | zone_id
    units: frozenset[str]
    county_adcode: str | None = None   # a zone's county; a county's own code


# ---- the chain model ---------------------------------------------------------------------------

def chain_list(store: Store) -> list[ChainDef]:
    """Every chain in the store (packaged and user-defined) with its segments in order."""
    codes: dict[str, list[str]] = {}
    for seg, code in store.con.execute(
            "SELECT segment_id, industry_code FROM segment_industries ORDER BY segment_id, industry_code").fetchall():
        codes.setdefault(seg, []).append(code)
    segs: dict[str, list[SegmentDef]] = {}
    for row in store.con.execute(
            "SELECT segment_id, chain_id, stage, name, name_en, parent_segment_id, position FROM chain_segments "
            "ORDER BY chain_id, CASE stage WHEN 'upstream' THEN 0 WHEN 'midstream' THEN 1 ELSE 2 END, "
            "position, segment_id").fetchall():
        segs.setdefault(row[1], []).append(SegmentDef(*row, codes=tuple(codes.get(row[0], ()))))
    return [ChainDef(c, n, ne, note, tuple(segs.get(c, ())))
            for c, n, ne, note in store.con.execute(
                "SELECT chain_id, name, name_en, note FROM chains ORDER BY chain_id").fetchall()]


def chain(store: Store, chain_id: str) -> ChainDef:
    for c in chain_list(store):
        if c.chain_id == chain_id or c.name == chain_id:
            return c
    known = ", ".join(c.chain_id for c in chain_list(store))
    raise NotFoundError(f"no chain {chain_id!r}: expected one of {known} (see `shanhai chains list`)")


# ---- regions, year, run ------------------------------------------------------------------------

def area(store: Store, scope: Scope, code: str | None) -> Area:
    """The region ``code`` (province, city or county adcode, or a zone id) if the scope covers it;
    the scope's own region when ``code`` is None."""
    code = (code or scope.adcode).strip()
    row = store.con.execute(f"SELECT adcode, name, level FROM regions WHERE adcode = {literal(code)}").fetchone()
    if row is not None:
        if row[2] not in ("province", "city", "county"):
            raise ShanhaiError(f"{code} is a {row[2]}: panoramas are drawn for the province, a city, a county or a zone")
        asked = Scope(row[0], row[2], row[1])
        if not scope.contains(asked):
            raise OutOfScopeError(f"区划 {row[1]} ({code}) 不在您的数据范围内 (outside your region)")
        units = frozenset(asked.counties(store))
        return Area(row[0], row[1], row[2], "county_adcode", units, row[0] if row[2] == "county" else None)
    z = store.con.execute(f"SELECT zone_id, name, county_adcode FROM zones WHERE zone_id = {literal(code)}").fetchone()
    if z is None:
        raise NotFoundError(f"{code!r} is neither a region adcode nor a zone id in the database")
    if not scope.covers(z[2]):
        raise OutOfScopeError(f"开发区 {z[1]} 不在您的数据范围内 (zone outside your region)")
    return Area(z[0], z[1], "zone", "zone_id", frozenset([z[0]]), z[2])


def data_year(store: Store, year: int | None) -> int:
    years = [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]
    if not years:
        raise ShanhaiError("the database holds no enterprise data yet: run `shanhai synth` or `shanhai import`")
    if year is None:
        return years[-1]
    if year not in years:
        raise ShanhaiError(f"no enterprise data for {year}: the database has {years[0]}–{years[-1]}")
    return int(year)


def default_run(store: Store, year: int) -> str | None:
    """The per-mu run whose classes a panorama shows: the province's published result of ``year``
    (``jobs.mujun_official``), else the newest finished run of ``year``, province-wide ones first."""
    from shanhai.jobs import mujun_official

    published = mujun_official.official(store, year, mujun_official.PROVINCE)
    if published is not None:
        return published
    row = store.con.execute(
        "SELECT run_id FROM runs WHERE kind = 'mujun' AND status = 'done' "
        f"AND json_extract_string(params, '$.year') = {literal(str(year))} "
        "ORDER BY (json_extract_string(params, '$.region') = '330000') DESC, created_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def _check_run(store: Store, run_id: str | None, year: int) -> str | None:
    if run_id in (None, "", "latest"):
        return default_run(store, year)
    row = store.con.execute(f"SELECT json_extract_string(params, '$.year') FROM runs WHERE run_id = {literal(run_id)} "
                            "AND kind = 'mujun'").fetchone()
    if row is None:
        raise NotFoundError(f"no per-mu run {run_id!r}")
    if row[0] != str(year):
        raise ShanhaiError(f"per-mu run {run_id} evaluated {row[0]}, not {year}: choose a run of the same year")
    return run_id


def data_fingerprint(store: Store, year: int) -> str:
    """What the chain figures of ``year`` read: rows per dataset of the facts (this year and the
    one before), the register, the last import change, and the membership and model."""
    parts = []
    for sql in (f"SELECT coalesce(dataset_id, '-'), count(*) FROM enterprise_years WHERE year IN ({year}, {year - 1}) "
                "GROUP BY 1 ORDER BY 1",
                "SELECT coalesce(dataset_id, '-'), count(*) FROM enterprises GROUP BY 1 ORDER BY 1",
                "SELECT coalesce(max(change_id), 0) FROM change_history",
                "SELECT count(*), coalesce(sum(hash(uscc || segment_id || role)), 0) FROM enterprise_segments",
                "SELECT count(*), coalesce(sum(hash(segment_id || industry_code)), 0) FROM segment_industries",
                "SELECT count(*), coalesce(sum(hash(segment_id || chain_id || stage)), 0) FROM chain_segments"):
        parts.append(repr(store.con.execute(sql).fetchall()))
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Basis:
    """What chain figures were computed from (shown under every screen and export)."""
    year: int
    run_id: str | None
    data_fingerprint: str
    rules: str
    rules_version: str
    rules_fingerprint: str

    def as_dict(self) -> dict:
        return asdict(self)


def basis(store: Store, year: int | None = None, run_id: str | None = None, rules: str = "default") -> Basis:
    y = data_year(store, year)
    r = chain_rules(rules)
    return Basis(y, _check_run(store, run_id, y), data_fingerprint(store, y), r.name, r.version, r.fingerprint()[:12])


def _backend(store: Store):
    return connect(store)


def _rows(store: Store, build, *args) -> list[dict]:
    con = _backend(store)
    return fetch(con, build(con, *args)).to_pylist()


def _memo(key: tuple, compute):
    return _CACHE.get(key, compute)


def clear_cache() -> None:
    _CACHE.clear()


def cells(store: Store, b: Basis, by: str = "county_adcode") -> list[dict]:
    """The segment cells of every unit (cached per data fingerprint, run and unit kind)."""
    def compute():
        con = _backend(store)
        return fetch(con, ac.segment_cells(ac.members(con, b.year, b.run_id), by)).to_pylist()
    return _memo(("cells", str(store.path), b.year, b.run_id, by, b.data_fingerprint), compute)


def totals(store: Store, b: Basis, by: str = "county_adcode") -> dict[str, float]:
    def compute():
        con = _backend(store)
        rows = fetch(con, ac.unit_totals(con, b.year, by)).to_pylist()
        return {r["unit"]: r["value_added"] or 0.0 for r in rows}
    return _memo(("totals", str(store.path), b.year, by, b.data_fingerprint), compute)


def _province(store: Store, b: Basis) -> tuple[dict[str, dict], float]:
    def compute():
        return ac.rollup(cells(store, b), None), sum(totals(store, b).values())
    return _memo(("province", str(store.path), b.year, b.run_id, b.data_fingerprint), compute)


# ---- panorama ----------------------------------------------------------------------------------

def _views(store: Store, b: Basis, a: Area, c: ChainDef, rules: ChainRules) -> list[ac.SegmentView]:
    region_cells = ac.rollup(cells(store, b, a.by), set(a.units))
    unit_va = totals(store, b, a.by)
    region_va = sum(unit_va.get(u, 0.0) for u in a.units)
    province_cells, province_va = _province(store, b)
    return [ac.segment_view(s, region_cells.get(s.segment_id), province_cells.get(s.segment_id), region_va,
                            province_va, rules) for s in c.segments]


def _view_dict(v: ac.SegmentView, seg: SegmentDef) -> dict:
    d = asdict(v)
    d["name_en"] = seg.name_en
    d["codes"] = list(seg.codes)
    d["status_label"], d["status_label_en"] = STATUS_LABELS[v.status]
    d["stage_label"], d["stage_label_en"] = STAGE_LABELS.get(v.stage, (v.stage, v.stage))
    return d


def leaders(store: Store, b: Basis, a: Area, chain_id: str | None = None) -> list[dict]:
    """The chain leaders (链主) inside the area, with their class and Q4 electricity."""
    where = f"e.{a.by} IN ({', '.join(literal(u) for u in sorted(a.units)) or 'NULL'})"
    chain_sql = f"AND s.chain_id = {literal(chain_id)}" if chain_id else ""
    run_join = (f"LEFT JOIN mujun_scores m ON m.run_id = {literal(b.run_id)} AND m.uscc = es.uscc"
                if b.run_id else "LEFT JOIN (SELECT NULL::VARCHAR AS uscc, NULL::VARCHAR AS class) m ON false")
    rows = store.con.execute(f"""
        SELECT es.uscc, e.name, e.county_adcode, r.name AS county_name, s.chain_id, es.segment_id,
               m.class AS mujun_class
        FROM enterprise_segments es JOIN chain_segments s USING (segment_id)
        JOIN enterprises e USING (uscc) LEFT JOIN regions r ON r.adcode = e.county_adcode
        {run_join}
        WHERE es.role = 'chain_leader' AND {where} {chain_sql}
        ORDER BY s.chain_id, es.segment_id, e.name""").fetchall()
    cols = ("uscc", "name", "county_adcode", "county_name", "chain_id", "segment_id", "mujun_class")
    out = [dict(zip(cols, r)) for r in rows]
    if out:
        elec = _memo(("elec", str(store.path), b.year, b.data_fingerprint),
                     lambda: {r["uscc"]: r for r in _rows(store, ac.leader_electricity, b.year)})
        for row in out:
            e = elec.get(row["uscc"], {})
            row["kwh_now"], row["kwh_before"] = e.get("kwh_now"), e.get("kwh_before")
    return out


def panorama(store: Store, scope: Scope, region: str | None, chain_id: str, *, year: int | None = None,
             run_id: str | None = None, rules: str = "default") -> dict:
    """One chain in one region: per segment the firms, money, per-mu figures, share of the
    province, location quotient, leaders and status."""
    a = area(store, scope, region)
    c = chain(store, chain_id)
    b = basis(store, year, run_id, rules)
    r = chain_rules(rules)
    views = _views(store, b, a, c, r)
    lead = leaders(store, b, a, c.chain_id)
    segments = []
    for v, seg in zip(views, c.segments):
        d = _view_dict(v, seg)
        d["leader_names"] = [x["name"] for x in lead if x["segment_id"] == seg.segment_id]
        segments.append(d)
    counts = {s: sum(1 for v in views if v.status == s) for s in STATUS_LABELS}
    return {
        "region": asdict(a) | {"units": sorted(a.units)},
        "chain": {"chain_id": c.chain_id, "name": c.name, "name_en": c.name_en, "note": c.note},
        "segments": segments,
        "status_counts": counts,
        "totals": {"firms": sum(v.firms for v in views), "above": sum(v.above for v in views),
                   "value_added": sum(v.value_added for v in views), "revenue": sum(v.revenue for v in views)},
        "basis": b.as_dict(),
    }


def panorama_grid(store: Store, scope: Scope, *, year: int | None = None, run_id: str | None = None,
                  rules: str = "default") -> list[dict]:
    """Every chain × every county in the scope: the status of each segment (the province-wide
    overview, and what the benchmark times)."""
    b = basis(store, year, run_id, rules)
    r = chain_rules(rules)
    county_cells = cells(store, b)
    by_county: dict[str, list[dict]] = {}
    for cell in county_cells:
        by_county.setdefault(cell["unit"], []).append(cell)
    unit_va = totals(store, b)
    province_cells, province_va = _province(store, b)
    names = dict(store.con.execute("SELECT adcode, name FROM regions WHERE level = 'county'").fetchall())
    out = []
    chains_ = chain_list(store)
    for county in scope.counties(store):
        region_cells = ac.rollup(by_county.get(county, ()), None)
        for c in chains_:
            views = [ac.segment_view(s, region_cells.get(s.segment_id), province_cells.get(s.segment_id),
                                     unit_va.get(county, 0.0), province_va, r) for s in c.segments]
            out.append({"county_adcode": county, "county_name": names.get(county), "chain_id": c.chain_id,
                        "statuses": {v.segment_id: v.status for v in views},
                        "firms": sum(v.firms for v in views), "value_added": sum(v.value_added for v in views),
                        "lq": {v.segment_id: v.lq for v in views}})
    return out


def segment_firms(store: Store, scope: Scope, region: str | None, segment_id: str, *, year: int | None = None,
                  run_id: str | None = None, limit: int = 200) -> dict:
    """The firms behind one segment of a region's panorama, largest first."""
    a = area(store, scope, region)
    seg = store.con.execute(f"SELECT chain_id, name FROM chain_segments WHERE segment_id = {literal(segment_id)}"
                            ).fetchone()
    if seg is None:
        raise NotFoundError(f"no chain segment {segment_id!r}")
    b = basis(store, year, run_id)
    con = _backend(store)
    t = ac.members(con, b.year, b.run_id)
    t = t.filter((t.segment_id == segment_id) & t[a.by].isin(sorted(a.units)))
    total = fetch(con, t.aggregate(n=t.count())).to_pylist()[0]["n"]
    rows = fetch(con, t.order_by([t.revenue.desc(), t.uscc]).limit(max(1, min(limit, 5000)))).to_pylist()
    names = dict(store.con.execute("SELECT adcode, name FROM regions WHERE level = 'county'").fetchall())
    for row in rows:
        scope.check(row["county_adcode"], "企业 firm")
        row["county_name"] = names.get(row["county_adcode"])
    return {"region": asdict(a) | {"units": sorted(a.units)}, "segment_id": segment_id, "chain_id": seg[0],
            "segment_name": seg[1], "total": total, "firms": rows, "basis": b.as_dict()}


# ---- attraction targets (招商图) -----------------------------------------------------------------

def _partners(store: Store, a: Area) -> tuple[set[str], set[str]]:
    """Counties paired with the area (山海协作, either side) and the counties of its cities."""
    counties = sorted(a.units) if a.by == "county_adcode" else [a.county_adcode]
    inlist = ", ".join(literal(c) for c in counties) or "NULL"
    paired = {r[0] for r in store.con.execute(
        f"SELECT developed_adcode FROM pairings WHERE mountain_adcode IN ({inlist}) AND developed_adcode IS NOT NULL "
        f"UNION SELECT mountain_adcode FROM pairings WHERE developed_adcode IN ({inlist})").fetchall()}
    same_city = {r[0] for r in store.con.execute(
        f"SELECT adcode FROM regions WHERE level = 'county' AND city_adcode IN "
        f"(SELECT city_adcode FROM regions WHERE adcode IN ({inlist}))").fetchall()}
    return paired, same_city


def size_band(revenue: float | None) -> tuple[str, str]:
    if revenue is None:
        return "未知", "unknown"
    for low, zh, en in SIZE_BANDS:
        if revenue >= low:
            return zh, en
    return SIZE_BANDS[-1][1:]


def targets(store: Store, scope: Scope, region: str | None, *, chain_id: str | None = None,
            segments: list[str] | None = None, year: int | None = None, run_id: str | None = None,
            rules: str = "default", limit: int = 100) -> dict:
    """Firms elsewhere in the province to attract or partner with, for the area's weak and
    missing segments (of one chain, or of every chain), best first, each with its reasons."""
    a = area(store, scope, region)
    b = basis(store, year, run_id, rules)
    r = chain_rules(rules)
    chains_ = [chain(store, chain_id)] if chain_id else chain_list(store)
    wanted: dict[str, tuple[ChainDef, SegmentDef, ac.SegmentView]] = {}
    for c in chains_:
        for v, seg in zip(_views(store, b, a, c, r), c.segments):
            if v.status in ("weak", "missing") and (not segments or seg.segment_id in segments):
                wanted[seg.segment_id] = (c, seg, v)
    rows: list[dict] = []
    if wanted:
        con = _backend(store)
        t = ac.members(con, b.year, b.run_id)
        outside = sorted(a.units) if a.by == "county_adcode" else []
        if a.by == "zone_id":
            t = t.filter(t.zone_id.isnull() | (t.zone_id != a.code))
        cand = ac.candidates(t, sorted(wanted), outside, "county_adcode", r.targets.per_segment,
                             r.targets.above_scale_only)
        cand = fetch(con, cand).to_pylist()
        paired, same_city = _partners(store, a)
        names = {k: (n, city) for k, n, city in store.con.execute(
            "SELECT c.adcode, c.name, p.name FROM regions c LEFT JOIN regions p ON p.adcode = c.city_adcode "
            "WHERE c.level = 'county'").fetchall()}
        for row in cand:
            c, seg, v = wanted[row["segment_id"]]
            pairing = 1.0 if row["county_adcode"] in paired else 0.5 if row["county_adcode"] in same_city else 0.0
            score, why = ac.score_target(row, v.status, pairing, r)
            visible = scope.covers(row["county_adcode"])
            band = size_band(row["revenue"])
            county_name, city_name = names.get(row["county_adcode"], (row["county_adcode"], None))
            rows.append({
                "score": score, "points": why["points"], "values": why["values"],
                "chain_id": c.chain_id, "chain_name": c.name, "segment_id": seg.segment_id,
                "segment_name": seg.name, "segment_status": v.status,
                "segment_status_label": STATUS_LABELS[v.status][0],
                "county_adcode": row["county_adcode"], "county_name": county_name, "city_name": city_name,
                "masked": not visible,
                "uscc": row["uscc"] if visible else None,
                "name": row["name"] if visible else MASKED_NAME[0],
                "revenue": row["revenue"] if visible else None,
                "size_band": band[0], "size_band_en": band[1],
                "mujun_class": row["mujun_class"], "role": row["role"], "above_scale": row["above_scale"],
                "growth_rate": why["growth_rate"] if visible else None,
                "pairing": "paired" if pairing == 1.0 else "same_city" if pairing else None,
                "reasons": _reasons(v.status, why, pairing, visible),
            })
    rows.sort(key=lambda x: (-x["score"], x["segment_id"], x["county_adcode"], x["uscc"] or ""))
    for place, row in enumerate(rows, start=1):
        row["rank"] = place
    return {"region": asdict(a) | {"units": sorted(a.units)}, "segments": [
                {"segment_id": s.segment_id, "name": s.name, "chain_id": c.chain_id, "chain_name": c.name,
                 "status": v.status} for c, s, v in wanted.values()],
            "total": len(rows), "targets": rows[:limit], "weights": r.targets.weights.model_dump(),
            "basis": b.as_dict()}


def _reasons(status: str, why: dict, pairing: float, visible: bool) -> list[str]:
    """The score in words; a masked firm's growth rate is not spelled out (its points are)."""
    v, p = why["values"], why["points"]
    out = [f"{'补缺' if status == 'missing' else '补弱'}环节 +{p['fit']:.1f}",
           f"规模位于全省该环节前 {100 * (1 - v['size']):.0f}% +{p['size']:.1f}",
           f"亩均效益 +{p['efficiency']:.1f}"]
    if why["growth_rate"] is not None:
        rate = f" {100 * why['growth_rate']:+.1f}%" if visible else ""
        out.append(f"营收增速{rate} +{p['growth']:.1f}")
    if pairing:
        out.append(f"{'山海协作结对地区' if pairing == 1.0 else '同一设区市'} +{p['pairing']:.1f}")
    return out


# ---- chain risk ----------------------------------------------------------------------------------

def risk(store: Store, scope: Scope, region: str | None, *, chain_id: str | None = None, year: int | None = None,
         run_id: str | None = None, rules: str = "default") -> dict:
    """Per chain in the area: concentrated and single-firm segments, leaders in class C/D or whose
    electricity collapsed, and the health score with the penalties behind it."""
    a = area(store, scope, region)
    b = basis(store, year, run_id, rules)
    r = chain_rules(rules)
    chains_ = [chain(store, chain_id)] if chain_id else chain_list(store)
    lead = leaders(store, b, a)
    out = []
    names = {}
    for c in chains_:
        views = _views(store, b, a, c, r)
        names.update({v.segment_id: v.name for v in views})
        res = ac.chain_risk(views, [x for x in lead if x["chain_id"] == c.chain_id], r)
        by_uscc = {x["uscc"]: x["name"] for x in lead}
        for f in res["findings"]:
            f["segment_name"] = names.get(f["segment_id"])
            if "uscc" in f:
                f["name"] = by_uscc.get(f["uscc"])
        out.append({"chain_id": c.chain_id, "chain_name": c.name, **res,
                    "statuses": {v.segment_id: v.status for v in views}})
    out.sort(key=lambda x: (x["health"], x["chain_id"]))
    return {"region": asdict(a) | {"units": sorted(a.units)}, "chains": out, "basis": b.as_dict(),
            "thresholds": r.risk.model_dump()}
