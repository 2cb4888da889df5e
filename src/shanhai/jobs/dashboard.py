"""Every query behind the dashboard's screens and its JSON API, read from the store.

Each function takes the caller's :class:`shanhai.store.scope.Scope` and filters inside the SQL
with ``scope.sql(column)``: a county's user never receives another county's rows, whatever the
template or the client asks for. A region, run or enterprise outside the scope is an
:class:`OutOfScope` (HTTP 403); one that does not exist is a :class:`NotFound` (404).

The per-mu figures come from stored runs (``mujun_results``, ``mujun_rollups``,
``mujun_class_counts``) and are never recomputed here; the explanation of a firm's class, the
distance to the targets and two runs compared are the jobs' own functions
(``jobs.mujun.explain``, ``jobs.mujun.target_gaps``, ``jobs.mujun_review.compare``). Every
result carries the run (id, preset, version, year) it comes from.

Stored runs are never overwritten, so what is read from one run for one scope is cached
(:func:`_cached`); data that imports change (collection progress) is not.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.store import Store
from shanhai.store.scope import OutOfScopeError
from shanhai.store.sql import literal
from shanhai.jobs._memo import Memo

if TYPE_CHECKING:  # pragma: no cover
    from shanhai.store.scope import Scope


class NotFound(NotFoundError):
    """A run, region or enterprise that does not exist (HTTP 404)."""


class OutOfScope(OutOfScopeError):
    """Something outside the caller's region (HTTP 403)."""


LEVELS = ("province", "city", "county", "town")
LEVEL_LABELS = {"province": "省", "city": "设区市", "county": "县(市、区)", "town": "乡镇(街道)"}
CLASS_COLORS = {"A": "#1a9850", "B": "#4575b4", "C": "#f39c12", "D": "#d73027", "E": "#7b3294", "T": "#9e9e9e"}

# The map's metric switch: id → (中文, English, unit, source column description)
METRICS: dict[str, tuple[str, str, str]] = {
    "tax_per_mu": ("规上亩均税收", "Tax per mu (above-scale)", "万元/亩"),
    "value_added_per_mu": ("规上亩均增加值", "Value added per mu (above-scale)", "万元/亩"),
    "tax_growth": ("亩均税收增速", "Tax per mu, growth on the previous year", "%"),
    "value_added_growth": ("亩均增加值增速", "Value added per mu, growth", "%"),
    "share_top": ("A类企业占比", "Share of class A firms", "%"),
    "share_bottom": ("C、D类企业占比", "Share of class C and D firms", "%"),
}

# Per-mu bands for the distribution chart (万元/亩); the last band is open.
BANDS: dict[str, tuple[float, ...]] = {
    "tax_per_mu": (0, 2, 5, 10, 20, 30, 50, 100),
    "value_added_per_mu": (0, 10, 25, 50, 100, 150, 200, 300),
    "revenue_per_mu": (0, 50, 100, 200, 400, 600, 1000),
    "labour_productivity": (0, 5, 10, 15, 20, 30, 50),
}

RESULT_SORTS = {
    "score": "m.total_score", "rank": "m.rank", "tax_per_mu": "m.tax_per_mu",
    "value_added_per_mu": "m.value_added_per_mu", "land": "m.land_used_mu", "tax": "m.tax_paid",
    "name": "m.name", "surcharge": "m.surcharge_yuan", "class": None,  # class: the preset's order
}
PAGE_SIZE = 50
RUN_LIST_TTL = 5.0          # seconds a list of run ids is reused
MAX_PAGE_SIZE = 500


# ---- small helpers ---------------------------------------------------------------------------

def _plain(v):
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    return v


def _rows(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, (_plain(v) for v in row))) for row in cur.fetchall()]


def _one(store: Store, sql: str) -> dict | None:
    rows = _rows(store, sql)
    return rows[0] if rows else None


def _ratio(a, b):
    return None if a is None or not b else a / b


def _growth(now, before):
    return None if now is None or not before else (now / before - 1) * 100


def region_arg(scope: "Scope") -> str | None:
    """The ``region`` argument of the jobs' functions for a scope (None = the whole province)."""
    return None if scope.level == "province" else scope.adcode


def _scope_key(scope: "Scope") -> str:
    return f"{scope.level}:{scope.adcode}"


FEN = Decimal("0.01")
_CACHE = Memo(512)


def _cached(key: tuple, compute):
    """Memoise a read of an immutable stored run (``key`` names the database file); concurrent
    misses of one key compute it once (``jobs._memo``)."""
    return _CACHE.get(key, compute)


def _forget(key: tuple) -> None:
    _CACHE.forget(key)


def clear_cache() -> None:
    _CACHE.clear()


def _db(store: Store) -> str:
    return str(store.path)


# ---- regions ---------------------------------------------------------------------------------

@dataclass
class RegionRef:
    adcode: str
    name: str
    level: str
    parent_adcode: str | None = None
    city_adcode: str | None = None
    mountain26: bool = False
    mountain_category: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def region(store: Store, adcode: str) -> RegionRef:
    code = str(adcode or "").strip()

    def compute():
        row = store.con.execute(
            "SELECT adcode, name, level, parent_adcode, city_adcode, mountain26, mountain_category FROM regions "
            f"WHERE adcode = {literal(code)}").fetchone()
        return None if row is None else RegionRef(*row)

    key = (_db(store), "region", code)
    r = _cached(key, compute)
    if r is None:
        _forget(key)
        raise NotFound(f"区划 {code} 不存在 (no region {code!r})")
    return r


def mountain_counties(store: Store) -> list[str]:
    """The 26 mountain counties (public reference data, the same for every user)."""
    return _cached((_db(store), "mountain26"), lambda: [r[0] for r in store.con.execute(
        "SELECT adcode FROM regions WHERE level = 'county' AND mountain26 ORDER BY adcode").fetchall()])


def region_in_scope(store: Store, scope: "Scope", adcode: str) -> RegionRef:
    """The region if the scope covers it; OutOfScope when it lies outside or above the scope."""
    r = region(store, adcode)
    if r.level == "province":
        ok = scope.level == "province"
    elif r.level == "city":
        ok = scope.level == "province" or scope.adcode == r.adcode
    elif r.level == "county":
        ok = scope.covers(r.adcode)
    else:  # town: its county
        ok = scope.covers(r.parent_adcode)
    if not ok:
        raise OutOfScope(f"区划 {r.name} ({r.adcode}) 不在您的数据范围内 (outside your region)")
    return r


def breadcrumb(store: Store, scope: "Scope", adcode: str) -> list[dict]:
    """From the scope's own region down to ``adcode``."""
    r = region_in_scope(store, scope, adcode)
    chain = [r]
    while chain[-1].level != "province" and chain[-1].parent_adcode:
        if chain[-1].adcode == scope.adcode:
            break
        chain.append(region(store, chain[-1].parent_adcode))
    chain.reverse()
    return [{"adcode": x.adcode, "name": x.name, "level": x.level} for x in chain]


def scope_regions(store: Store, scope: "Scope") -> list[dict]:
    """The counties a scope covers (for region pickers), city by city."""
    return _rows(store, f"""
        SELECT c.adcode, c.name, c.city_adcode, p.name AS city_name, c.mountain26
        FROM regions c LEFT JOIN regions p ON p.adcode = c.city_adcode
        WHERE c.level = 'county' AND {scope.sql('c.adcode')} ORDER BY c.adcode""")


def sub_regions(store: Store, scope: "Scope") -> list[dict]:
    """The scope's region and every city and county inside it (for a briefing or export)."""
    out = [{"adcode": scope.adcode, "name": region(store, scope.adcode).name, "level": scope.level}]
    if scope.level == "province":
        out += _rows(store, "SELECT adcode, name, level FROM regions WHERE level = 'city' ORDER BY adcode")
    if scope.level in ("province", "city"):
        out += [{"adcode": r["adcode"], "name": r["name"], "level": "county"} for r in scope_regions(store, scope)]
    return out


# ---- runs ------------------------------------------------------------------------------------

@dataclass
class RunInfo:
    run_id: str
    policy: str
    policy_version: str
    policy_name: str
    year: int
    region: str
    region_name: str
    benchmarks: str
    created_by: str | None
    created_at: str
    note: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def label(self) -> str:
        return f"{self.year} 年度 · {self.policy_name} ({self.policy} v{self.policy_version}) · {self.run_id}"


def _run_infos(store: Store, where: str = "true", limit: int = 200) -> list[RunInfo]:
    """Finished per-mu runs, latest first. A stored run never changes, so each run's metadata is
    read once (its params hold the whole preset: extracting from them costs milliseconds)."""
    def read_ids():
        return (time.monotonic(), [r[0] for r in store.con.execute(f"""
            SELECT r.run_id FROM runs r WHERE r.kind = 'mujun' AND r.status = 'done' AND {where}
            ORDER BY r.created_at DESC, r.run_id DESC LIMIT {int(limit)}""").fetchall()])

    key = (_db(store), "run_ids", where, int(limit))
    at, ids = _cached(key, read_ids)
    if time.monotonic() - at > RUN_LIST_TTL:       # runs written by this process clear it at once
        _forget(key)
        at, ids = _cached(key, read_ids)
    out = []
    for run_id in ids:
        info = _cached((_db(store), "run_info", run_id), lambda run_id=run_id: _read_run_info(store, run_id))
        if info is not None:
            out.append(info)
    return out


def _read_run_info(store: Store, run_id: str) -> RunInfo | None:
    r = store.con.execute(f"""
        SELECT r.run_id, r.policy_name, r.policy_version,
               json_extract_string(r.params, '$.policy.display_name'),
               json_extract_string(r.params, '$.year'), json_extract_string(r.params, '$.region'),
               g.name, coalesce(json_extract_string(r.params, '$.benchmarks'), 'preset'), r.created_by,
               r.created_at, r.note
        FROM runs r LEFT JOIN regions g ON g.adcode = json_extract_string(r.params, '$.region')
        WHERE r.run_id = {literal(run_id)} AND r.kind = 'mujun' AND r.status = 'done'""").fetchone()
    if r is None:
        return None
    return RunInfo(run_id=r[0], policy=r[1], policy_version=r[2], policy_name=r[3] or r[1], year=int(r[4]),
                   region=r[5], region_name=r[6] or r[5], benchmarks=r[7], created_by=r[8],
                   created_at=str(r[9])[:19], note=r[10])


def _run_overlaps(store: Store, scope: "Scope", run_region: str) -> bool:
    """A run is visible when it covers the scope (the province's, the scope's city's, its own)
    or lies inside it."""
    return _cached((_db(store), "overlaps", _scope_key(scope), run_region),
                   lambda: _overlaps(store, scope, run_region))


def _overlaps(store: Store, scope: "Scope", run_region: str) -> bool:
    if run_region == "330000" or scope.level == "province" or run_region == scope.adcode:
        return True
    r = store.con.execute(f"SELECT level, city_adcode FROM regions WHERE adcode = {literal(run_region)}").fetchone()
    if r is None:
        return False
    level, city = r
    if scope.level == "city":
        return level == "county" and city == scope.adcode
    # county scope: its city's run
    own_city = store.con.execute(f"SELECT city_adcode FROM regions WHERE adcode = {literal(scope.adcode)}").fetchone()
    return level == "city" and own_city is not None and run_region == own_city[0]


def runs(store: Store, scope: "Scope", limit: int = 200) -> list[dict]:
    """The per-mu runs the scope may see, latest first, each with its firms and classes inside
    the scope."""
    infos = [r for r in _run_infos(store, limit=limit) if _run_overlaps(store, scope, r.region)]
    if not infos:
        return []
    out = []
    for r in infos:
        c = _scope_classes(store, scope, r.run_id)
        out.append({**r.as_dict(), "firms": sum(c.values()), "evaluated": sum(v for k, v in c.items() if k != "T"),
                    "classes": dict(sorted(c.items(), key=lambda kv: (kv[0] == "T", kv[0])))})
    return out


def _scope_classes(store: Store, scope: "Scope", run_id: str) -> dict[str, int]:
    """Firms per class of a run inside the scope, from the stored class counts of the scope's
    own roll-up row (province, city or county: the run's firms inside it)."""
    def compute():
        level, key = ("province", "330000") if scope.level == "province" else (scope.level, scope.adcode)
        return {c: int(n) for c, n in store.con.execute(f"""
            SELECT "class", firms FROM mujun_class_counts WHERE run_id = {literal(run_id)}
              AND level = {literal(level)} AND key = {literal(key)} AND scope = 'all'""").fetchall()}

    return _cached((_db(store), "scope_classes", run_id, _scope_key(scope)), compute)


def run_info(store: Store, scope: "Scope", run_id: str) -> RunInfo:
    """The run, if it exists (NotFound) and the scope may see it (OutOfScope)."""
    key = (_db(store), "run_info", str(run_id))
    info = _cached(key, lambda: _read_run_info(store, str(run_id)))
    if info is None:
        _forget(key)
        raise NotFound(f"评价批次 {run_id} 不存在 (no per-mu run {run_id!r})")
    if not _run_overlaps(store, scope, info.region):
        raise OutOfScope(f"评价批次 {run_id} 的范围 {info.region_name} 不在您的数据范围内 (outside your region)")
    return info


def _covers_scope(store: Store, scope: "Scope", run_region: str) -> bool:
    if run_region == "330000" or run_region == scope.adcode:
        return True
    if scope.level == "county":
        row = store.con.execute(f"SELECT city_adcode FROM regions WHERE adcode = {literal(scope.adcode)}").fetchone()
        return bool(row) and row[0] == run_region
    return False


def default_run(store: Store, scope: "Scope") -> RunInfo | None:
    """The run an overview shows: the scope's published result (``jobs.mujun_official``: its own,
    its city's or the province's) of the latest year evaluated, else the latest run with preset
    benchmarks covering the whole scope, else the latest run the scope may see."""
    from shanhai.jobs import mujun_official

    infos = [r for r in _run_infos(store) if _run_overlaps(store, scope, r.region)]
    if infos:
        published = mujun_official.official_for(store, infos[0].year, None if scope.level == "province"
                                                else scope.adcode)
        for r in infos:
            if r.run_id == published:
                return r
    for r in infos:
        if r.benchmarks == "preset" and _covers_scope(store, scope, r.region):
            return r
    return infos[0] if infos else None


def _preset(store: Store, run_id: str):
    from shanhai.jobs import mujun

    return _cached((_db(store), "preset", run_id), lambda: mujun.preset_of(store, run_id))


def run_summary(store: Store, scope: "Scope", run_id: str) -> dict:
    """A run inside the scope: firms, evaluated, firms per class, land, tax and the estimated
    electricity surcharge (元)."""
    info = run_info(store, scope, run_id)

    def compute():
        row = _one(store, f"""
            SELECT count(*) AS firms, count(*) FILTER (WHERE "class" <> 'T') AS evaluated,
                   count(*) FILTER (WHERE above_scale) AS above_scale, sum(land_used_mu) AS land_used_mu,
                   sum(tax_paid) AS tax_paid, sum(value_added) AS value_added,
                   coalesce(sum(surcharge_yuan), 0) AS surcharge_yuan,
                   count(*) FILTER (WHERE surcharge_yuan <> 0) AS charged
            FROM {_run_base(store, run_id)} WHERE {scope.sql('county_adcode')}""")
        counts = dict(store.con.execute(f"""
            SELECT "class", count(*) FROM {_run_base(store, run_id)}
            WHERE {scope.sql('county_adcode')} GROUP BY 1""").fetchall())
        classes = [{**c, "firms": int(counts.get(c["code"], 0))} for c in class_meta(store, run_id)]
        return {**row, "classes": classes}

    out = _cached((_db(store), "summary", run_id, _scope_key(scope)), compute)
    return {"run": info.as_dict(), **out}


def class_meta(store: Store, run_id: str) -> list[dict]:
    """The run's classes, best first, with labels and colours (T last)."""
    preset = _preset(store, run_id)
    out = [{"code": c, "label": preset.class_label(c), "label_en": preset.classes.labels_en.get(c, c),
            "color": CLASS_COLORS.get(c, "#888")} for c in preset.classes.order]
    out.append({"code": "T", "label": preset.classes.excluded_label, "label_en": "not evaluated",
                "color": CLASS_COLORS["T"]})
    return out


# ---- overview: the map, the drill-down, the headline ------------------------------------------

def _class_counts(store: Store, run_id: str, level: str, keys_sql: str, scope_name: str = "all") -> dict:
    out: dict[str, dict[str, int]] = {}
    for key, code, n in store.con.execute(f"""
            SELECT key, "class", firms FROM mujun_class_counts
            WHERE run_id = {literal(run_id)} AND level = {literal(level)} AND scope = {literal(scope_name)}
              AND key IN ({keys_sql})""").fetchall():
        out.setdefault(key, {})[code] = int(n)
    return out


def _shares(classes: dict[str, int], order: list[str]) -> dict:
    evaluated = sum(v for k, v in classes.items() if k != "T")
    top = classes.get(order[0], 0)
    bottom = sum(classes.get(c, 0) for c in order[-2:])
    return {"share_top": _ratio(top * 100, evaluated), "share_bottom": _ratio(bottom * 100, evaluated),
            "shares": {c: _ratio(classes.get(c, 0) * 100, evaluated) for c in order}}


def _level_rows(store: Store, run_id: str, level: str, where: str) -> list[dict]:
    """Regions of ``level`` matching ``where`` (over ``g``) with the run's roll-up figures:
    per-mu figures of above-scale firms (the statistical 规上 scope, as the targets are set),
    class counts over all firms."""
    preset = _preset(store, run_id)
    order = list(preset.classes.order)
    run = literal(run_id)
    rows = _rows(store, f"""
        SELECT g.adcode, g.name, g.level, g.parent_adcode, g.city_adcode, g.mountain26, g.mountain_category,
               g.county_kind,
               a.firms AS firms_above_scale, a.tax_per_mu, a.value_added_per_mu, a.labour_productivity,
               a.prev_tax_per_mu, a.prev_value_added_per_mu, a.land_used_mu AS land_above_scale_mu,
               a.tax_paid AS tax_above_scale, a.value_added AS value_added_above_scale,
               al.firms, al.evaluated, al.land_used_mu, al.tax_paid, al.value_added, al.surcharge_yuan
        FROM regions g
             LEFT JOIN mujun_rollups a ON a.run_id = {run} AND a.level = {literal(level)}
                  AND a.scope = 'above_scale' AND a.key = g.adcode
             LEFT JOIN mujun_rollups al ON al.run_id = {run} AND al.level = {literal(level)}
                  AND al.scope = 'all' AND al.key = g.adcode
        WHERE g.level = {literal(level)} AND {where}
        ORDER BY g.adcode""")
    if not rows:
        return rows
    counts = _class_counts(store, run_id, level, ", ".join(literal(r["adcode"]) for r in rows))
    for r in rows:
        c = counts.get(r["adcode"], {})
        r["classes"] = {k: c.get(k, 0) for k in order + ["T"]}
        r.update(_shares(r["classes"], order))
        r["tax_growth"] = _growth(r["tax_per_mu"], r["prev_tax_per_mu"])
        r["value_added_growth"] = _growth(r["value_added_per_mu"], r["prev_value_added_per_mu"])
        r["has_data"] = bool(r["firms"])
    return rows


def county_metrics(store: Store, scope: "Scope", run_id: str) -> dict:
    """Every county of the scope with the map's metrics from the run's roll-ups; counties outside
    the scope are not returned (the map draws them without data)."""
    info = run_info(store, scope, run_id)

    def compute():
        rows = _level_rows(store, run_id, "county", scope.sql("g.adcode"))
        return {"run": info.as_dict(), "metrics": _metric_defs(store, run_id), "counties": rows}

    return _cached((_db(store), "county_metrics", run_id, _scope_key(scope)), compute)


def _metric_defs(store: Store, run_id: str) -> list[dict]:
    preset = _preset(store, run_id)
    order = list(preset.classes.order)
    top, bottom = order[0], "、".join(order[-2:])
    out = []
    for mid, (zh, en, unit) in METRICS.items():
        if mid == "share_top":
            zh, en = f"{top}类企业占比", f"Share of class {top} firms"
        elif mid == "share_bottom":
            zh, en = f"{bottom}类企业占比", f"Share of class {'/'.join(order[-2:])} firms"
        out.append({"id": mid, "label": zh, "label_en": en, "unit": unit})
    return out


def drill(store: Store, scope: "Scope", run_id: str, adcode: str | None = None, limit: int = 100) -> dict:
    """One step of the drill-down province → city → county → town → enterprise list: the
    region's children with their figures (a town's children are its enterprises)."""
    info = run_info(store, scope, run_id)
    adcode = adcode or scope.adcode
    r = region_in_scope(store, scope, adcode)
    crumbs = breadcrumb(store, scope, adcode)

    def compute():
        if r.level == "province":
            child_level, rows = "city", _level_rows(store, run_id, "city", "true")
        elif r.level == "city":
            child_level = "county"
            rows = _level_rows(store, run_id, "county",
                               f"g.city_adcode = {literal(r.adcode)} AND {scope.sql('g.adcode')}")
        elif r.level == "county":
            child_level = "town"
            rows = _level_rows(store, run_id, "town",
                               f"g.parent_adcode = {literal(r.adcode)} AND {scope.sql('g.parent_adcode')}")
            rows = [x for x in rows if x["has_data"]] or rows
        else:
            child_level = "enterprise"
            rows = results(store, scope, run_id, Filters(town=r.adcode), per_page=limit)["rows"]
        return rows, child_level

    rows, child_level = _cached((_db(store), "drill", run_id, _scope_key(scope), adcode, limit), compute)
    own = headline_figures(store, scope, run_id, r)
    return {"run": info.as_dict(), "region": r.as_dict(), "breadcrumb": crumbs, "child_level": child_level,
            "children": rows, "figures": own}


def headline_figures(store: Store, scope: "Scope", run_id: str, r: RegionRef) -> dict:
    """One region's own roll-up (above-scale per-mu figures, all firms' classes)."""
    def compute():
        rows = _level_rows(store, run_id, r.level, f"g.adcode = {literal(r.adcode)}")
        return rows[0] if rows else None
    return _cached((_db(store), "figures", run_id, r.adcode), compute)


def headline(store: Store, scope: "Scope", run_id: str) -> dict:
    """The scope's headline figures and their distance to the policy targets (``target_gaps``),
    with the mountain-26 counties reaching theirs, for the overview's cards."""
    from shanhai.jobs import mujun

    info = run_info(store, scope, run_id)

    def compute():
        own = headline_figures(store, scope, run_id, region(store, scope.adcode))
        gaps = mujun.target_gaps(store, run_id, region_arg(scope))
        # target_gaps already limits to the region; check again: nothing outside the scope
        gaps = [g for g in gaps if _gap_in_scope(store, scope, g)]
        for g in gaps:
            g["unit"] = _unit_of(g["indicator"])
        cards = [g for g in gaps if g["level"] in ("province", "city") or
                 (g["level"] == "county" and scope.level == "county")]
        groups: dict[str, dict] = {}
        for g in gaps:
            if g["level"] in ("county", "zone") and not (g["level"] == "county" and scope.level == "county"):
                grp = groups.setdefault(g["target_id"], {"target_id": g["target_id"], "label": g["label"],
                                                         "source": g["source"], "target_year": g["target_year"],
                                                         "indicator": g["indicator"], "unit": g["unit"],
                                                         "level": g["level"], "note": g["note"],
                                                         "note_zh": g.get("note_zh"), "note_en": g.get("note_en"),
                                                         "rows": []})
                grp["rows"].append(g)
        for grp in groups.values():
            grp["total"] = len(grp["rows"])
            grp["reached"] = sum(1 for g in grp["rows"] if g["achieved"] is not None and g["achieved"] >= 1)
            grp["rows"].sort(key=lambda g: (g["achieved"] is None, -(g["achieved"] or 0)))
        mountain = None
        if scope.level == "province":
            mountain = _rows(store, f"""
                SELECT key, label, firms, tax_per_mu, value_added_per_mu, prev_tax_per_mu, prev_value_added_per_mu
                FROM mujun_rollups WHERE run_id = {literal(run_id)} AND level = 'mountain26'
                  AND scope = 'above_scale' ORDER BY key""")
            for m in mountain:
                m["tax_growth"] = _growth(m["tax_per_mu"], m["prev_tax_per_mu"])
        return {"figures": own, "targets": cards, "target_groups": list(groups.values()), "mountain26": mountain}

    out = _cached((_db(store), "headline", run_id, _scope_key(scope)), compute)
    return {"run": info.as_dict(), "classes": class_meta(store, run_id), **out}


def _gap_in_scope(store: Store, scope: "Scope", g: dict) -> bool:
    if scope.level == "province":
        return True
    if g["level"] == "province":
        return False
    if g["level"] == "city":
        return scope.level == "city" and g["key"] == scope.adcode
    if g["level"] == "county":
        return scope.covers(g["key"])
    if g["level"] == "zone":
        row = store.con.execute(f"SELECT county_adcode FROM zones WHERE zone_id = {literal(g['key'])}").fetchone()
        return bool(row) and scope.covers(row[0])
    return False


def _unit_of(indicator: str) -> str:
    from shanhai.policy import INDICATORS

    d = INDICATORS.get(indicator)
    return d.unit if d else ""


# ---- a run's firms, fast ---------------------------------------------------------------------

# The per-firm columns the screens read, as the view ``mujun_results`` defines them (migration
# 0007: a run's scores joined to the facts in the store now). The view joins every year of
# enterprise_years and every benchmark on each query (≈ 0.3 s per query at 170k firms, whatever
# the filter); the screens read the run's own year only and no benchmark, so they build the same
# columns over ``mujun_scores`` with the year pushed down (≈ 30 ms). Land used and the per-mu
# figures are the view's expressions (the formula layer's ``calc_land_used`` / ``calc_per_mu``),
# NULL when the run's preset does not score the indicator, as in the view.
_LAND_USED = ("CAST((COALESCE(land_own_mu, 0) + COALESCE(land_leased_mu, 0)) - COALESCE(land_leased_out_mu, 0) "
              "AS DOUBLE)")


def _run_base(store: Store, run_id: str) -> str:
    """A FROM item (aliased ``m``) with the run's firms and the columns the screens use."""
    def compute():
        from shanhai.jobs import mujun

        table = mujun._table_of(store, run_id)
        if table != mujun.SCORES:
            return f"(SELECT * FROM mujun_results WHERE run_id = {literal(run_id)}) m"
        year, used = store.con.execute(
            "SELECT json_extract_string(params, '$.year'), "
            "coalesce(CAST(json_extract(params, '$.indicators_used') AS VARCHAR[]), []) "
            f"FROM runs WHERE run_id = {literal(run_id)}").fetchone()

        def ratio(column: str, denominator: str, indicator: str) -> str:
            if indicator not in used:
                return f"CAST(NULL AS DOUBLE) AS {indicator}"
            return (f"CASE WHEN f.{denominator} > 0 THEN CAST(f.{column} AS DOUBLE) / CAST(f.{denominator} AS DOUBLE) "
                    f"ELSE NULL END AS {indicator}")

        return f"""(SELECT s.run_id, s.uscc, s.year, e.name, e.county_adcode, e.town_adcode, e.town_name, e.zone_id,
                   e.industry_code, f.above_scale, s.population, s.unit_id, s.group_id, s.excluded_reason,
                   f.tax_paid, f.value_added, f.land_used_mu,
                   {ratio('tax_paid', 'land_used_mu', 'tax_per_mu')},
                   {ratio('value_added', 'land_used_mu', 'value_added_per_mu')},
                   {ratio('revenue', 'land_used_mu', 'revenue_per_mu')},
                   {ratio('value_added', 'headcount', 'labour_productivity')},
                   s.total_score, s.rank, s.unit_size, s.score_class, s."class", s.class_rule, s.class_streak,
                   s.electricity_rate, s.surcharge_yuan
            FROM mujun_scores s JOIN enterprises e ON e.uscc = s.uscc
                 LEFT JOIN (SELECT uscc, above_scale, tax_paid, value_added, revenue, headcount,
                                   {_LAND_USED} AS land_used_mu
                            FROM enterprise_years WHERE year = {int(year)}) f ON f.uscc = s.uscc
            WHERE s.run_id = {literal(run_id)}) m"""

    return _cached((_db(store), "run_base", run_id), compute)


# ---- results ---------------------------------------------------------------------------------

@dataclass
class Filters:
    cls: str | None = None          # a class code
    population: str | None = None   # the preset's population id
    industry: str | None = None     # a 2-digit division or longer prefix of the GB/T 4754 code
    county: str | None = None
    town: str | None = None
    zone: str | None = None
    q: str | None = None            # name or USCC contains

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}

    def key(self) -> tuple:
        return tuple(sorted(self.as_dict().items()))


def _filter_sql(f: Filters) -> str:
    parts = []
    if f.cls:
        parts.append(f'm."class" = {literal(f.cls.strip().upper())}')
    if f.population:
        parts.append(f"m.population = {literal(f.population)}")
    if f.industry:
        code = "".join(ch for ch in f.industry if ch.isalnum())
        parts.append(f"starts_with(m.industry_code, {literal(code)})")
    if f.county:
        parts.append(f"m.county_adcode = {literal(f.county)}")
    if f.town:
        parts.append(f"m.town_adcode = {literal(f.town)}")
    if f.zone:
        parts.append(f"m.zone_id = {literal(f.zone)}")
    if f.q:
        q = f.q.strip()
        parts.append(f"(contains(m.name, {literal(q)}) OR starts_with(m.uscc, {literal(q.upper())}))")
    return " AND ".join(parts) or "true"


RESULT_COLUMNS = """m.uscc, m.name, m.county_adcode, g.name AS county_name, m.town_adcode, m.town_name, m.zone_id,
    m.industry_code, i.name AS industry_name, m.above_scale, m.population, m."class", m.score_class, m.class_rule,
    m.class_streak, m.total_score, m.rank, m.unit_size, m.land_used_mu, m.tax_paid, m.value_added,
    m.tax_per_mu, m.value_added_per_mu, m.surcharge_yuan, m.excluded_reason"""


def results(store: Store, scope: "Scope", run_id: str, filters: Filters | None = None, *, sort: str = "class",
            desc: bool = False, page: int = 1, per_page: int = PAGE_SIZE) -> dict:
    """One page of a run's firms inside the scope, filtered and sorted; with the total."""
    info = run_info(store, scope, run_id)
    f = filters or Filters()
    if f.county and not scope.covers(f.county):
        raise OutOfScope(f"县(市、区) {f.county} 不在您的数据范围内 (outside your region)")
    if f.town:
        region_in_scope(store, scope, f.town)
    if sort not in RESULT_SORTS:
        raise ShanhaiError(f"sort={sort}: expected one of {', '.join(RESULT_SORTS)}")
    per_page = max(1, min(int(per_page), MAX_PAGE_SIZE))
    page = max(1, int(page))

    def compute():
        preset = _preset(store, run_id)
        order = list(preset.classes.order)
        base = _run_base(store, run_id)
        where = f"{scope.sql('m.county_adcode')} AND {_filter_sql(f)}"
        if f.as_dict():
            total = store.con.execute(f"SELECT count(*) FROM {base} WHERE {where}").fetchone()[0]
        else:       # the scope's own firms: the stored class counts say how many
            total = sum(_scope_classes(store, scope, run_id).values())
        direction = "DESC" if desc else "ASC"
        if sort == "class":
            cases = " ".join(f"WHEN {literal(c)} THEN {i}" for i, c in enumerate(order))
            order_by = (f'CASE m."class" {cases} ELSE {len(order)} END {direction}, '
                        "m.total_score DESC NULLS LAST, m.uscc")
        else:
            order_by = f"{RESULT_SORTS[sort]} {direction} NULLS LAST, m.uscc"
        # the page's firms first (a narrow sort), then their columns
        ids = [r[0] for r in store.con.execute(f"""
            SELECT m.uscc FROM {base} WHERE {where} ORDER BY {order_by}
            LIMIT {per_page} OFFSET {(page - 1) * per_page}""").fetchall()]
        rows = []
        if ids:
            found = {r["uscc"]: r for r in _rows(store, f"""
                SELECT {RESULT_COLUMNS} FROM {base}
                     LEFT JOIN regions g ON g.adcode = m.county_adcode
                     LEFT JOIN industries i ON i.code = m.industry_code
                WHERE m.uscc IN ({", ".join(literal(u) for u in ids)})""")}
            rows = [found[u] for u in ids if u in found]
        from shanhai.jobs.mujun_review import _population_label   # one label rule for review and screens

        for r in rows:
            r["class_label"] = preset.class_label(r["class"])
            r["population_label"] = _population_label(preset, r["population"])
        return total, rows

    total, rows = _cached((_db(store), "results", run_id, _scope_key(scope), f.key(), sort, desc, page, per_page),
                          compute)
    pages = max(1, math.ceil(total / per_page))
    return {"run": info.as_dict(), "filters": f.as_dict(), "sort": sort, "desc": desc, "page": page,
            "per_page": per_page, "pages": pages, "total": total, "rows": rows}


def filter_options(store: Store, scope: "Scope", run_id: str, county: str | None = None) -> dict:
    """What the results' filters may take inside the scope: classes, populations, counties, towns
    (of one county), zones, industry divisions."""
    run_info(store, scope, run_id)

    def compute():
        preset = _preset(store, run_id)
        src = _run_base(store, run_id)
        base = scope.sql("m.county_adcode")
        counties = _rows(store, f"""
            SELECT m.county_adcode AS adcode, g.name, count(*) AS firms FROM {src}
            LEFT JOIN regions g ON g.adcode = m.county_adcode WHERE {base} GROUP BY ALL ORDER BY 1""")
        town_where = base
        if county:
            town_where += f" AND m.county_adcode = {literal(county)}"
        towns = []
        if county or scope.level == "county":
            towns = _rows(store, f"""
                SELECT m.town_adcode AS adcode, any_value(m.town_name) AS name, count(*) AS firms FROM {src}
                WHERE {town_where} AND m.town_adcode IS NOT NULL GROUP BY 1 ORDER BY 1""")
        zones = _rows(store, f"""
            SELECT m.zone_id, z.name, count(*) AS firms FROM {src} LEFT JOIN zones z ON z.zone_id = m.zone_id
            WHERE {town_where} AND m.zone_id IS NOT NULL GROUP BY ALL ORDER BY 1""")
        industries = _rows(store, f"""
            SELECT left(m.industry_code, 2) AS code, i.name, count(*) AS firms FROM {src}
            LEFT JOIN industries i ON i.code = left(m.industry_code, 2)
            WHERE {base} GROUP BY ALL ORDER BY 1""")
        pops = [{"id": p.id, "label": p.label, "label_en": p.label_en} for p in preset.populations]
        return {"classes": class_meta(store, run_id), "populations": pops, "counties": counties, "towns": towns,
                "zones": zones, "industries": industries}

    return _cached((_db(store), "options", run_id, _scope_key(scope), county), compute)


def bands(store: Store, scope: "Scope", run_id: str, indicator: str = "tax_per_mu",
          filters: Filters | None = None) -> dict:
    """The run's evaluated firms inside the scope by per-mu band and class (firms with no value,
    e.g. no land, in a band of their own)."""
    info = run_info(store, scope, run_id)
    if indicator not in BANDS:
        raise ShanhaiError(f"indicator={indicator}: expected one of {', '.join(BANDS)}")
    f = filters or Filters()
    edges = BANDS[indicator]

    def compute():
        where = f"{scope.sql('m.county_adcode')} AND {_filter_sql(f)} AND m.\"class\" <> 'T'"
        case = "CASE WHEN m.{c} IS NULL THEN -1 ".format(c=indicator) + " ".join(
            f"WHEN m.{indicator} < {e} THEN {i}" for i, e in enumerate(edges)) + f" ELSE {len(edges)} END"
        rows = store.con.execute(f"""
            SELECT {case} AS band, m."class", count(*) FROM {_run_base(store, run_id)} WHERE {where}
            GROUP BY ALL""").fetchall()
        labels = [f"< {edges[0]:g}"] + [f"{a:g}–{b:g}" for a, b in zip(edges, edges[1:])] + [f"≥ {edges[-1]:g}"]
        classes = [c for c in class_meta(store, run_id) if c["code"] != "T"]
        counts = {c["code"]: [0] * (len(labels) + 1) for c in classes}
        for band, code, n in rows:
            if code in counts:
                counts[code][band if band >= 0 else len(labels)] = int(n)
        labels.append("无数据")
        return {"labels": labels, "classes": classes, "counts": counts,
                "total": sum(sum(v) for v in counts.values())}

    out = _cached((_db(store), "bands", run_id, _scope_key(scope), indicator, f.key()), compute)
    from shanhai.policy import INDICATORS
    d = INDICATORS[indicator]
    return {"run": info.as_dict(), "indicator": indicator, "indicator_label": d.label, "unit": d.unit, **out}


# ---- one enterprise --------------------------------------------------------------------------

def enterprise(store: Store, scope: "Scope", run_id: str, uscc: str) -> dict:
    """One firm of a run: the explanation of its class (``jobs.mujun.explain``), its facts over the
    years and its classes over the runs the scope may see."""
    from shanhai.jobs import mujun

    info = run_info(store, scope, run_id)
    code = str(uscc or "").strip().upper()
    row = store.con.execute(f"SELECT county_adcode FROM {_run_base(store, run_id)} "
                            f"WHERE uscc = {literal(code)}").fetchone()
    if row is None:
        raise NotFound(f"评价批次 {run_id} 中没有企业 {code} (run {run_id} has no enterprise {code})")
    if not scope.covers(row[0]):
        raise OutOfScope(f"企业 {code} 不在您的数据范围内 (outside your region)")
    doc = mujun.explain(store, run_id, code, region=scope.adcode)
    doc["explain_text"] = mujun.explain_text(doc)
    if doc.get("industry_code") and not doc.get("industry_name"):
        name = store.con.execute(f"SELECT name FROM industries WHERE code = {literal(doc['industry_code'])}").fetchone()
        doc["industry_name"] = name[0] if name else None
    return {"run": info.as_dict(), "explain": doc, "years": enterprise_years(store, scope, code),
            "runs": enterprise_runs(store, scope, code)}


def enterprise_years(store: Store, scope: "Scope", uscc: str) -> list[dict]:
    """The firm's yearly facts with land used and its per-mu figures (the expressions of the view
    mujun_results, i.e. the formula layer's), only while the firm lies inside the scope."""
    return _rows(store, f"""
        SELECT y.year, y.above_scale, y.revenue, y.value_added, y.tax_paid, y.headcount, y.land_own_mu,
               y.land_leased_mu, y.land_leased_out_mu, y.land_used_mu, y.energy_tce, y.electricity_kwh,
               y.rd_spending, y.confirmed,
               CASE WHEN y.land_used_mu > 0 THEN CAST(y.tax_paid AS DOUBLE) / y.land_used_mu END AS tax_per_mu,
               CASE WHEN y.land_used_mu > 0 THEN CAST(y.value_added AS DOUBLE) / y.land_used_mu END
                    AS value_added_per_mu,
               CASE WHEN y.headcount > 0 THEN CAST(y.value_added AS DOUBLE) / y.headcount END AS labour_productivity
        FROM (SELECT *, {_LAND_USED} AS land_used_mu FROM enterprise_years WHERE uscc = {literal(uscc)}) y
             JOIN enterprises e ON e.uscc = y.uscc
        WHERE {scope.sql('e.county_adcode')} ORDER BY y.year""")


def enterprise_runs(store: Store, scope: "Scope", uscc: str) -> list[dict]:
    """The firm in every stored run the scope may see: year, preset, class, score, rank, and its
    per-mu figures that year."""
    u = literal(uscc)
    cols = 'run_id, uscc, year, "class", total_score, rank, unit_size, population, surcharge_yuan'
    rows = _rows(store, f"""
        SELECT m.run_id, m.year, r.policy_name AS policy, r.policy_version,
               json_extract_string(r.params, '$.policy.display_name') AS policy_name,
               json_extract_string(r.params, '$.region') AS run_region, r.created_at::VARCHAR AS created_at,
               m."class", m.total_score, m.rank, m.unit_size, m.population,
               CASE WHEN f.land_used_mu > 0 THEN CAST(f.tax_paid AS DOUBLE) / f.land_used_mu END AS tax_per_mu,
               CASE WHEN f.land_used_mu > 0 THEN CAST(f.value_added AS DOUBLE) / f.land_used_mu END
                    AS value_added_per_mu,
               m.surcharge_yuan, e.county_adcode
        FROM (SELECT {cols} FROM mujun_scores WHERE uscc = {u}
              UNION ALL SELECT {cols} FROM mujun_results_0006 WHERE uscc = {u}) m
             JOIN runs r ON r.run_id = m.run_id
             JOIN enterprises e ON e.uscc = m.uscc
             LEFT JOIN (SELECT year, tax_paid, value_added, {_LAND_USED} AS land_used_mu
                        FROM enterprise_years WHERE uscc = {u}) f ON f.year = m.year
        WHERE {scope.sql('e.county_adcode')}
        ORDER BY m.year, r.created_at""")
    out = []
    for r in rows:
        if _run_overlaps(store, scope, r.pop("run_region")):
            r["created_at"] = (r["created_at"] or "")[:19]
            out.append(r)
    return out


# ---- two runs --------------------------------------------------------------------------------

def review(store: Store, scope: "Scope", run_id: str, limit: int = 200) -> dict:
    """The run's follow-up lists inside the scope: 整改名单 (every C/D firm's distance to class B,
    ``jobs.mujun_review.remediation``) and 低效用地 (C/D firms by land held, parcels in an
    inefficient status, by county: ``inefficient_land``). Rows are cut at ``limit`` per list, with
    the totals; the county workbook and the API's ``limit=0`` have them all."""
    from shanhai.jobs import mujun_review

    info = run_info(store, scope, run_id)

    def compute():
        from shanhai.jobs import mujun

        classes, target = mujun_review.follow_up_classes(mujun.preset_of(store, run_id))
        rem = mujun_review.remediation(store, run_id, region_arg(scope), classes=classes, target=target).as_dict()
        land = mujun_review.inefficient_land(store, run_id, region_arg(scope), classes=classes).as_dict()
        return {"classes": classes, "target_class": target, "method": rem["method"], "notes": rem["notes"],
                "remediation_total": len(rem["rows"]), "remediation": rem["rows"],
                "extra_tax_wan": sum(x["extra_tax_wan"] or 0 for x in rem["rows"]),
                # stored to the fen (DECIMAL(18, 2)), read as floats: summed as fen, exactly
                "surcharge_yuan": float(sum((Decimal(repr(float(x["surcharge_yuan"] or 0))).quantize(FEN)
                                             for x in rem["rows"]), Decimal(0))),
                "firms_total": len(land["firms"]), "firms": land["firms"],
                "parcels_total": len(land["parcels"]), "parcels": land["parcels"],
                "by_county": land["by_county"]}

    out = dict(_cached((_db(store), "review", run_id, _scope_key(scope)), compute))
    if limit:
        for key in ("remediation", "firms", "parcels"):
            out[key] = out[key][:limit]
    return {"run": info.as_dict(), "limit": limit, **out}


def transitions(store: Store, scope: "Scope", run_a: str, run_b: str, movers_limit: int = 200) -> dict:
    """Two runs compared inside the scope (``jobs.mujun_review.compare``): the class transition
    matrix, who moved and why, the surcharge change, what changed in the policy."""
    from shanhai.jobs import mujun_review

    a, b = run_info(store, scope, run_a), run_info(store, scope, run_b)

    def compute():
        c = mujun_review.compare(store, run_a, run_b, region_arg(scope)).as_dict()
        c["movers_total"] = len(c["movers"])
        c["up"] = c["down"] = 0
        index = {k: i for i, k in enumerate(c["classes"])}
        for m in c["movers"]:
            if index[m["class_b"]] < index[m["class_a"]]:
                c["up"] += 1
            else:
                c["down"] += 1
        c["movers"] = c["movers"][:movers_limit]
        c["only_a_total"], c["only_b_total"] = len(c["only_a"]), len(c["only_b"])
        c["only_a"], c["only_b"] = c["only_a"][:movers_limit], c["only_b"][:movers_limit]
        return c

    out = _cached((_db(store), "compare", run_a, run_b, _scope_key(scope), movers_limit), compute)
    return {"a": a.as_dict(), "b": b.as_dict(), **out}


def whatif_region(store: Store, scope: "Scope", base: RunInfo) -> str:
    """Where a what-if evaluation runs: the base run's region, narrowed to the scope."""
    if base.region == "330000" and scope.level != "province":
        return scope.adcode
    if scope.level == "county" and base.region != scope.adcode:
        return scope.adcode
    return base.region


def run_evaluation(store: Store, scope: "Scope", policy_name: str, year: int, region_code: str | None,
                   user: str | None, progress=None) -> dict:
    """Run the per-mu evaluation of ``year`` with a preset for a region inside the scope (the
    scope's own region when none is given) and store it."""
    from shanhai import policy
    from shanhai.jobs import mujun

    policy.get(policy_name)   # a clear error for an unknown preset before anything runs
    code = region_code or scope.adcode
    r = region_in_scope(store, scope, code)
    if r.level == "town":
        raise ShanhaiError(f"区划 {r.name} 是乡镇: 评价范围须为省、设区市或县 (a run covers a province, city or county)")
    summary = mujun.run(store, policy_name, int(year), None if r.level == "province" else r.adcode,
                        user=user, progress=progress)
    clear_cache_for(store)
    return summary.as_dict()


def whatif(store: Store, scope: "Scope", base_run: str, policy_name: str, user: str | None, progress=None) -> dict:
    """Evaluate the base run's year with another preset (over the base run's region, narrowed to
    the scope) and compare: returns both run ids."""
    base = run_info(store, scope, base_run)
    summary = run_evaluation(store, scope, policy_name, base.year, whatif_region(store, scope, base), user,
                             progress)
    return {"a": base.run_id, "b": summary["run_id"], "summary": summary}


def clear_cache_for(store: Store) -> None:
    """After a new run: forget what was cached for this database (the run lists, the defaults)."""
    db = _db(store)
    _CACHE.clear(lambda key: bool(key) and key[0] == db)


# ---- data collection -------------------------------------------------------------------------

def data_years(store: Store) -> list[int]:
    return [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]


def collection_progress(store: Store, scope: "Scope", year: int | None = None, county: str | None = None) -> dict:
    """Share of the scope's active enterprises with a row for ``year`` (default: the latest year
    with data), and of those rows confirmed, by county and (for one county) by town."""
    years = data_years(store)
    if year is None:
        year = years[-1] if years else None
    if county:
        region_in_scope(store, scope, county)
    if year is None:
        return {"year": None, "years": years, "counties": [], "towns": [], "total": None, "county": county}
    y = int(year)
    active = (f"e.status = 'active' AND (e.founded_on IS NULL OR e.founded_on <= DATE '{y}-12-31') "
              f"AND {scope.sql('e.county_adcode')}")
    measures = """count(*) AS firms, count(ey.uscc) AS reported,
                  count(ey.uscc) FILTER (WHERE ey.confirmed) AS confirmed,
                  count(ey.uscc) FILTER (WHERE ey.above_scale) AS above_scale"""
    join = f"LEFT JOIN enterprise_years ey ON ey.uscc = e.uscc AND ey.year = {y}"
    counties = _rows(store, f"""
        SELECT e.county_adcode AS adcode, g.name, g.mountain26, {measures}
        FROM enterprises e {join} LEFT JOIN regions g ON g.adcode = e.county_adcode
        WHERE {active} GROUP BY ALL ORDER BY 1""")
    towns = []
    if county or scope.level == "county":
        c = county or scope.adcode
        towns = _rows(store, f"""
            SELECT coalesce(e.town_adcode, '') AS adcode, coalesce(t.name, any_value(e.town_name), '未填乡镇') AS name,
                   {measures}
            FROM enterprises e {join} LEFT JOIN regions t ON t.adcode = e.town_adcode
            WHERE {active} AND e.county_adcode = {literal(c)} GROUP BY e.town_adcode, t.name ORDER BY 1""")
    for r in counties + towns:
        r["reported_share"] = _ratio(r["reported"], r["firms"])
        r["confirmed_share"] = _ratio(r["confirmed"], r["reported"])
    total = {k: sum(r[k] for r in counties) for k in ("firms", "reported", "confirmed", "above_scale")}
    total["reported_share"] = _ratio(total["reported"], total["firms"])
    total["confirmed_share"] = _ratio(total["confirmed"], total["reported"])
    return {"year": y, "years": years, "counties": counties, "towns": towns, "total": total,
            "county": county or (scope.adcode if scope.level == "county" else None)}


def imports(store: Store, scope: "Scope", limit: int = 20) -> list[dict]:
    """The latest import datasets (files) with their row counts; a file is listed for a region's
    user when every row it loaded lies in the region... which the datasets table cannot say, so
    only the importer's own and province users see the list of files."""
    rows = _rows(store, f"""
        SELECT dataset_id, kind, description, params::VARCHAR AS params, fingerprint, code_version
        FROM datasets WHERE kind = 'import' ORDER BY dataset_id DESC LIMIT {int(limit)}""")
    return rows if scope.level == "province" else []


# ---- presets ---------------------------------------------------------------------------------

def preset_summary(name: str) -> dict:
    """A preset as the policies screen shows it."""
    from shanhai import policy
    from shanhai.policy import INDICATORS

    p = policy.get(name)
    pops = []
    for pop in p.populations:
        pops.append({
            "id": pop.id, "label": pop.label, "label_en": pop.label_en,
            "indicators": [{"id": i.id, "label": INDICATORS[i.id].label, "unit": INDICATORS[i.id].unit,
                            "weight": i.weight, "benchmark": i.benchmark.kind, "direction": i.direction,
                            "cap": i.cap, "floor": i.floor, "missing": i.missing} for i in pop.indicators],
            "shares": p.shares_for(pop) if p.classes.method == "rank_shares" else None,
            "thresholds": p.thresholds_for(pop) if p.classes.method == "thresholds" else None,
        })
    consequences = []
    for c in p.consequences:
        consequences.append({"class": c.class_, "populations": c.populations, "electricity": c.electricity,
                             "water": c.water, "gas": c.gas, "months": c.months, "cap_wan": c.cap_wan,
                             "exempt_below_kwh": c.exempt_below_kwh, "energy_quota": c.energy_quota,
                             "land_quota": c.land_quota, "note": c.note})
    return {"name": p.name, "display_name": p.display_name, "display_name_en": p.display_name_en,
            "version": p.version, "years": p.years, "region": p.region, "source": p.source,
            "confidence": p.confidence, "caveats": p.caveats, "unit": p.unit,
            "fingerprint": policy.fingerprint(p)[:12],
            "classes": {"method": p.classes.method, "within": p.classes.within, "order": p.classes.order,
                        "labels": {c: p.class_label(c) for c in p.classes.order}},
            "populations": pops, "consequences": consequences,
            "bonuses": [{"flag": b.flag, "points": b.points} for b in p.bonuses],
            "penalties": [{"flag": b.flag, "points": b.points} for b in p.penalties],
            "rules": [{"id": r.id, "label": r.label} for r in p.rules]}


def presets_list() -> list[dict]:
    from shanhai import policy

    return [{"name": p.name, "display_name": p.display_name, "display_name_en": p.display_name_en,
             "version": p.version, "years": p.years, "region": p.region, "confidence": p.confidence,
             "source": p.source} for p in sorted(policy.presets().values(), key=lambda p: p.name)]


def presets_compare(a: str, b: str) -> dict:
    """Two presets side by side and every field that differs (``policy.diff``)."""
    from shanhai import policy

    pa, pb = policy.get(a), policy.get(b)
    return {"a": preset_summary(a), "b": preset_summary(b),
            "diff": [{"path": path, "a": va, "b": vb} for path, va, vb in policy.diff(pa, pb)]}

