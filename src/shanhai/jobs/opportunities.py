"""一县一业: a county's industries placed by feasibility and attractiveness, with suggestions.

The way the Atlas of Economic Complexity and Metroverse show a place: every manufacturing class
(GB/T 4754-2017, 4 digits) at its **density** (feasibility: how much of what is related to it the
county already has) against its **complexity outlook gain** (attractiveness: how far adding it
would open the way to more complex industries), with its product complexity (PCI) beside.

Input: ``enterprise_years`` ⋈ ``enterprises``, summed per county × class and year — value added
(万元) or headcount — over every firm with a figure (above and below scale), for the year asked
and every earlier year in the store. All 90 counties take part, since relatedness is a property
of the whole province's industrial structure; the result shows only aggregate county × class
totals, so any caller may have it for a county inside its scope (:class:`Scope`), and a county
outside is refused (:class:`OutOfScopeError`). The measures are those of
``shanhai.analysis.relatedness`` (= the Growth Lab's ecomplexity 0.5.3).

Suggestions, for the county:

* **培育 develop** — classes the county does not have (M = 0), ranked by
  ``score = 0.6·z(density) + 0.4·z(COG)``, z-scores over the county's absent classes: feasibility
  first, attractiveness second (the Atlas's "balanced" reading of the chart; the weights are a
  modelling choice, in ``WEIGHTS``);
* **做强 strengthen** — classes it has (M = 1) whose PCI exceeds the county's ECI, ranked by
  PCI: ECI is the mean PCI of what the county has, so growing these raises it.

Declared lead industries (``lead_industries``: ';'-joined GB/T codes at 2–4 digits) mark every
class whose code starts with one of their codes.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shanhai import __version__
from shanhai.analysis.relatedness import complexity_by_year
from shanhai.errors import ShanhaiError
from shanhai.store import Store
from shanhai.store.scope import Scope
from shanhai.store.sql import literal

# measure → (column, 中文, English, unit)
MEASURES = {
    "value_added": ("value_added", "工业增加值", "value added", "万元"),
    "headcount": ("headcount", "从业人员", "employment", "人"),
}
WEIGHTS = {"density": 0.6, "cog": 0.4}
METHOD = ("RCA ≥ 1 presence, discrete symmetric proximity, density over all classes, ECI/PCI by the "
          "eigenvector method, COI and COG (ecomplexity 0.5.3 defaults, check_logsupermodularity=False); "
          "develop score = 0.6·z(density) + 0.4·z(COG) over the county's absent classes; "
          "strengthen = present classes with PCI above the county's ECI, by PCI.")
METHOD_ZH = ("以显示性比较优势 RCA ≥ 1 判定本县已有；产品空间邻近度取对称离散口径，可行性（密度）按全部行业计算；"
             "经济复杂度 ECI / 产品复杂度 PCI 用特征向量法，复杂度前景 COI 与机会增益 COG 同 ecomplexity 0.5.3 默认设置"
             "（不检验对数超模性）；建议培育得分 = 0.6·z(可行性) + 0.4·z(COG)，只在本县尚无比较优势的行业中排序；"
             "建议做强 = 本县已有且 PCI 高于本县 ECI 的行业，按 PCI 排序。")


@dataclass
class Opportunities:
    adcode: str
    name: str
    year: int
    measure: str
    measure_label: str
    unit: str
    total: float                        # the county's value in the year
    eci: float | None
    eci_rank: int | None                # 1 = the most complex county
    counties: int                       # counties ranked (ECI defined)
    coi: float | None
    eci_history: list[dict]             # {year, eci, rank, counties} for every year used
    develop: list[dict]                 # the top absent classes by score
    strengthen: list[dict]              # the top present classes above the county's ECI
    leads: list[dict]                   # the county's declared lead industries
    industries: list[dict]              # every class of the year's computation
    provenance: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


# ---- reading the store -----------------------------------------------------------------------

def _county(store: Store, scope: Scope, adcode: str) -> Scope:
    asked = scope.narrow(store, adcode)
    if asked.level != "county":
        raise ShanhaiError(f"{asked.adcode} {asked.name} is a {asked.level}: opportunities are per county, "
                           "give a county's adcode (e.g. 330127)")
    return asked


def _year(store: Store, year: int | None) -> tuple[int, list[int]]:
    years = [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]
    if not years:
        raise ShanhaiError("the database has no enterprise data: build a province (`shanhai synth`) or import "
                           "enterprise-years first")
    if year is None:
        year = years[-1]
    if year not in years:
        raise ShanhaiError(f"no enterprise data for {year} (the database has {years[0]}-{years[-1]})")
    return year, [y for y in years if y <= year]


_FROM = ("FROM enterprise_years y JOIN enterprises e ON e.uscc = y.uscc "
         "WHERE y.year <= {year} AND y.{column} IS NOT NULL "
         "AND e.county_adcode IN (SELECT adcode FROM regions WHERE level = 'county') "
         "AND e.industry_code IN (SELECT code FROM industries WHERE level = 'class')")


_KEPT = ["year", "location", "product", "value", "rca", "mcp", "density", "pci", "cog", "coi"]


def matrix_expr(con, year: int, column: str):
    """The relatedness input as an Ibis expression (the same code on DuckDB and Spark): per year
    up to ``year``, county (location) and 4-digit class (product), the sum of ``column`` over the
    firms with a figure, as DOUBLE (the decimal sum is exact on both engines, then converted
    once), and the number of those firms; counties and classes as in ``regions`` and
    ``industries``. Ordered by year, location, product."""
    ey, firms = con.table("enterprise_years"), con.table("enterprises")
    regions, industries = con.table("regions"), con.table("industries")
    counties = regions.filter(regions.level == "county").select(adcode=regions.adcode)
    classes = industries.filter(industries.level == "class").select(code=industries.code)
    y = ey.filter(ey.year <= int(year), ey[column].notnull())
    j = y.join(firms, y.uscc == firms.uscc).select(year=y.year, location=firms.county_adcode,
                                                    product=firms.industry_code, v=y[column])
    j = j.filter(j.location.isin(counties.adcode), j.product.isin(classes.code))
    g = j.aggregate(by=["year", "location", "product"], value=j.v.sum().cast("float64"), firms=j.count())
    return g.order_by(["year", "location", "product"])


def matrix(store: Store, year: int, column: str, engine: str = "duckdb") -> pa.Table:
    """The relatedness input (year, location, product, value, firms), ordered: on DuckDB by the
    store's own SQL (``_FROM``; no Ibis: connecting Ibis costs ~0.8 s, more than the query on a
    province), on another engine by :func:`matrix_expr`. A test asserts the two agree exactly."""
    from shanhai.engine import ENGINES

    if column not in {c for c, *_ in MEASURES.values()}:
        raise ShanhaiError(f"unknown measure column {column!r}")
    if engine not in ENGINES:
        raise ShanhaiError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if engine == "duckdb":
        out = store.con.execute(
            f"SELECT y.year, e.county_adcode AS location, e.industry_code AS product, "
            f"CAST(sum(y.{column}) AS DOUBLE) AS value, count(*) AS firms "
            f"{_FROM.format(year=int(year), column=column)} GROUP BY ALL ORDER BY ALL").fetch_arrow_table()
    else:
        from shanhai.engine import connect, fetch

        backend = connect(store, engine)
        out = fetch(backend, matrix_expr(backend, year, column))
    return out.cast(pa.schema([("year", pa.int32()), ("location", pa.string()), ("product", pa.string()),
                               ("value", pa.float64()), ("firms", pa.int64())]))


def _computed(store: Store, year: int, years: list[int], column: str,
              engine: str = "duckdb") -> tuple[pa.Table, pa.Table, dict]:
    """The county × class measures of ``year`` and the year before (the rows with results), every
    county's ECI in every year, and the provenance of the input.

    Every county of the province reads the same computation, so it is cached per database, year
    and measure (``jobs.dashboard._cached``), one entry each, recomputed when the input's
    fingerprint (``inputs_fingerprint`` of each year: a new dataset or an import change) differs.
    """
    from shanhai.jobs.dashboard import _cached, _db, _forget
    from shanhai.jobs.mujun import inputs_fingerprint

    fingerprint = hashlib.sha256(";".join(inputs_fingerprint(store, y) for y in years).encode()).hexdigest()[:32]

    def compute() -> tuple[pa.Table, pa.Table, dict]:
        data = matrix(store, year, column, engine)
        result = complexity_by_year(data.select(["year", "location", "product", "value"]))
        result = result.filter(pc.is_valid(result["mcp"]))
        eci = result.group_by(["year", "location"]).aggregate([("eci", "max")])
        rows = result.filter(pc.greater_equal(result["year"], year - 1)).select(_KEPT)
        datasets = sorted({r[0] for r in store.con.execute(
            f"SELECT DISTINCT coalesce(dataset_id, '-') FROM enterprise_years WHERE year <= {int(year)} "
            f"AND {column} IS NOT NULL UNION SELECT DISTINCT coalesce(dataset_id, '-') FROM enterprises").fetchall()})
        firms = pc.sum(pc.filter(data["firms"], pc.equal(data["year"], year))).as_py() or 0
        return rows, eci, {"year": year, "years": years, "datasets": datasets, "firms": int(firms),
                           "fingerprint": fingerprint, "method": METHOD, "method_zh": METHOD_ZH, "weights": dict(WEIGHTS),
                           "code_version": __version__, "engine": engine}

    key = (_db(store), "opportunities", year, column, engine)
    computed = _cached(key, compute)
    if computed[2]["fingerprint"] != fingerprint:      # the data changed since: replace the entry
        _forget(key)
        computed = _cached(key, compute)
    return computed


def _leads(store: Store, adcode: str) -> list[dict]:
    return [{"position": p, "name": n, "codes": [c.strip() for c in codes.split(";") if c.strip()]}
            for p, n, codes in store.con.execute(
                f"SELECT position, name, codes FROM lead_industries WHERE adcode = {literal(adcode)} "
                "ORDER BY position").fetchall()]


def _lead_of(code: str, leads: list[dict]) -> dict | None:
    return next((lead for lead in leads if any(code.startswith(c) for c in lead["codes"])), None)


# ---- the job ---------------------------------------------------------------------------------

def opportunities(store: Store, adcode: str, *, scope: Scope, year: int | None = None,
                  measure: str = "value_added", top: int = 10, engine: str = "duckdb") -> Opportunities:
    """The county's classes by feasibility and attractiveness, its ECI and rank, and the
    suggestions (module docstring). ``scope`` is the caller's region: a county outside it is an
    :class:`OutOfScopeError`. ``engine``: where the county × class aggregation runs (duckdb or
    spark, :func:`matrix_expr`); the complexity measures are computed in numpy either way."""
    if measure not in MEASURES:
        raise ShanhaiError(f"unknown measure {measure!r}: expected one of {', '.join(MEASURES)}")
    if top < 1:
        raise ShanhaiError(f"top must be at least 1, not {top}")
    county = _county(store, scope, adcode)
    year, years = _year(store, year)
    column, label, label_en, unit = MEASURES[measure]
    result, eci, provenance = _computed(store, year, years, column, engine)
    history = [_eci_of(eci, county.adcode, y) for y in years]
    now = history[-1]
    mine = _rows_of(result, county.adcode, year)
    if not mine:
        raise ShanhaiError(f"{county.name} ({county.adcode}) has no {label_en} in {year}: nothing to compare")
    before = {r["product"]: r for r in _rows_of(result, county.adcode, year - 1)}
    names = dict(store.con.execute("SELECT code, name FROM industries WHERE level = 'class'").fetchall())
    leads = _leads(store, county.adcode)
    rows = _industries(mine, before, names, leads)
    develop, strengthen = _suggest(rows, now["eci"], top)
    return Opportunities(
        adcode=county.adcode, name=county.name, year=year, measure=measure, measure_label=label, unit=unit,
        total=float(sum(r["value"] for r in rows)), eci=now["eci"], eci_rank=now["rank"],
        counties=now["counties"], coi=_float(mine[0]["coi"]), eci_history=history,
        develop=develop, strengthen=strengthen, leads=_lead_summary(leads, rows), industries=rows,
        provenance={**provenance, "measure": measure, "counties": now["counties"], "classes": len(rows)})


def _float(v) -> float | None:
    return None if v is None or v != v else float(v)


def _rows_of(result: pa.Table, adcode: str, year: int) -> list[dict]:
    return result.filter(pc.and_(pc.equal(result["year"], year), pc.equal(result["location"], adcode))).to_pylist()


def _eci_of(eci: pa.Table, adcode: str, year: int) -> dict:
    """The county's ECI in ``year`` and its rank among the counties of that year's computation
    (1 = the most complex; ties share the better rank)."""
    counties = eci.filter(pc.and_(pc.equal(eci["year"], year), pc.is_valid(eci["eci_max"])))
    values = counties["eci_max"].to_numpy()
    here = counties.filter(pc.equal(counties["location"], adcode))["eci_max"].to_pylist()
    mine = _float(here[0]) if here else None
    rank = int((values > mine).sum()) + 1 if mine is not None else None
    return {"year": int(year), "eci": mine, "rank": rank, "counties": len(values)}


def _industries(mine: list[dict], before: dict, names: dict, leads: list[dict]) -> list[dict]:
    """One row per class of the county's year (every class with a provincial total)."""
    total = sum(r["value"] or 0.0 for r in mine)
    rows = []
    for r in mine:
        code, value = r["product"], r["value"] or 0.0
        lead, last = _lead_of(code, leads), before.get(code)
        present, was = r["mcp"] == 1, None if last is None else last["mcp"] == 1
        rows.append({
            "code": code, "name": names.get(code, ""), "value": value, "share": value / total if total else None,
            "rca": _float(r["rca"]), "present": present, "density": _float(r["density"]), "pci": _float(r["pci"]),
            "cog": _float(r["cog"]), "lead": lead["name"] if lead else None,
            "lead_position": lead["position"] if lead else None,
            "rca_previous": None if last is None else _float(last["rca"]), "present_previous": was,
            "change": None if was is None or was == present else ("new" if present else "lost"),
            "suggestion": None, "rank": None, "score": None, "reason_zh": None, "reason_en": None})
    return rows


def _zscores(a: np.ndarray) -> np.ndarray:
    sd = a.std()
    return (a - a.mean()) / sd if sd > 0 else np.zeros_like(a)


def _suggest(rows: list[dict], eci: float | None, top: int) -> tuple[list[dict], list[dict]]:
    """Score and explain the develop and strengthen candidates in ``rows``; the top of each."""
    absent = [r for r in rows if not r["present"] and r["density"] is not None and r["cog"] is not None]
    if absent:
        density = np.array([r["density"] for r in absent])
        cog = np.array([r["cog"] for r in absent])
        scores = WEIGHTS["density"] * _zscores(density) + WEIGHTS["cog"] * _zscores(cog)
        for r, score in zip(absent, scores):
            r["suggestion"], r["score"] = "develop", float(score)
            feasible, gain = (100 * (density < r["density"]).mean(), 100 * (cog < r["cog"]).mean())
            r["reason_zh"] = (f"本县尚未形成比较优势 (RCA {r['rca']:.2f})；可行性 {r['density']:.3f}，高于本县 "
                              f"{feasible:.0f}% 的未有行业；机会增益 {r['cog']:+.3f}，高于 {gain:.0f}%"
                              + (f"；属主导产业「{r['lead']}」" if r["lead"] else ""))
            r["reason_en"] = (f"not yet a comparative advantage (RCA {r['rca']:.2f}); feasibility {r['density']:.3f}, "
                              f"above {feasible:.0f}% of the county's absent industries; outlook gain "
                              f"{r['cog']:+.3f}, above {gain:.0f}%"
                              + (f"; declared lead industry '{r['lead']}'" if r["lead"] else ""))
        absent.sort(key=lambda r: (-r["score"], r["code"]))
    above = [] if eci is None else [r for r in rows if r["present"] and r["pci"] is not None and r["pci"] > eci]
    for r in above:
        r["suggestion"], r["score"] = "strengthen", r["pci"]
        r["reason_zh"] = (f"已具比较优势 (RCA {r['rca']:.2f})；产业复杂度 {r['pci']:+.3f} 高于本县经济复杂度 "
                          f"{eci:+.3f}，做强可提升全县复杂度" + (f"；属主导产业「{r['lead']}」" if r["lead"] else ""))
        r["reason_en"] = (f"a comparative advantage (RCA {r['rca']:.2f}) more complex ({r['pci']:+.3f}) than the "
                          f"county ({eci:+.3f}): growing it raises the county's complexity"
                          + (f"; declared lead industry '{r['lead']}'" if r["lead"] else ""))
    above.sort(key=lambda r: (-r["pci"], r["code"]))
    for ranked in (absent, above):
        for n, r in enumerate(ranked, 1):
            r["rank"] = n
    return absent[:top], above[:top]


def _lead_summary(leads: list[dict], rows: list[dict]) -> list[dict]:
    """Each declared lead industry: its classes in the computation, how many the county has, its
    share of the county's value, and which of its classes are suggested (with their rank in the
    whole list, not only the top shown)."""
    out = []
    for lead in leads:
        mine = [r for r in rows if any(r["code"].startswith(c) for c in lead["codes"])]
        out.append({**lead, "classes": len(mine), "present": sum(r["present"] for r in mine),
                    "share": sum(r["share"] or 0.0 for r in mine),
                    "suggested": [{"code": r["code"], "name": r["name"], "suggestion": r["suggestion"],
                                   "rank": r["rank"]} for r in mine if r["suggestion"]]})
    return out
