"""Energy and carbon against the store: conversions of ``energy_use`` (natural units by carrier)
into tce and CO2, the 工业碳效码 per firm and year, the low-carbon industries and the
low-carbon share of manufacturing value added, as stored runs. Formulas in
:mod:`shanhai.analysis.carbon`, numbers in ``policy/carbon/*.toml``.

``run`` computes every year with energy data (or one) under a grading preset, optionally with
another grid-factor series or geography, aggregation or deduction setting (what-if), and stores
``carbon_grades`` and ``carbon_industries`` under a new ``runs`` row (kind ``carbon``) — never
overwritten. Industry averages are taken over the preset's geography (the province by default)
whatever region the run stores: they are aggregates; firm rows and region cells are stored only
for the run's region.

``sync_energy`` is the one source of the per-mu evaluation's energy: it writes
``enterprise_years.energy_tce`` (等价值 by default, the basis of 单位能耗增加值) from ``energy_use``,
audited and idempotent.

**Scope.** Readers return only firms and cells inside the caller's scope.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from typing import Callable

from shanhai import __version__
from shanhai.analysis import carbon as ac
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._carbon import CARRIERS, Grading, factors as load_factors, grading as load_grading
from shanhai.jobs._runs import overlapping
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import Scope
from shanhai.store.sql import literal, values

KIND = "carbon"
SYNC_KIND = "carbon_energy_sync"
Progress = Callable[[str, float], None]
CARRIER_LABELS = {"grid_electricity": ("电网购电", "Grid electricity"), "green_power": ("绿电(认证)", "Certified green power"),
                  "pv_self": ("光伏自发自用", "Self-consumed PV"), "coal": ("原煤", "Raw coal"),
                  "natural_gas": ("天然气", "Natural gas"), "diesel": ("柴油", "Diesel"), "gasoline": ("汽油", "Gasoline"),
                  "fuel_oil": ("燃料油", "Fuel oil"), "lpg": ("液化石油气", "LPG"), "heat": ("热力", "Heat")}
GRADE_COLUMNS = ("uscc", "year", "county_adcode", "industry", "industry_region", "value_added", "tce_equivalent",
                 "tce_equal", "co2_t", "zero_carbon_kwh", "grid_year", "equal_year", "intensity", "energy_intensity",
                 "level", "industry_firms", "industry_intensity", "k", "grade", "flag")


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _preset(preset: str | Grading, **changes) -> Grading:
    g = load_grading(preset) if isinstance(preset, str) else preset
    g = g.with_(**changes)
    load_factors(g.factors).grid_factor(g.grid_series, g.grid_geography, 2100)
    return g


def energy_years(store: Store) -> list[int]:
    return [r[0] for r in store.con.execute(
        "SELECT DISTINCT CAST(substr(period, 1, 4) AS INTEGER) FROM energy_use ORDER BY 1").fetchall()]


def _firms_sql(g: Grading) -> str:
    above = "y.above_scale" if g.above_scale_only else "true"
    return ("(SELECT y.uscc, y.year, y.value_added, e.industry_code, e.county_adcode, r.city_adcode "
            "FROM enterprise_years y JOIN enterprises e ON e.uscc = y.uscc "
            f"LEFT JOIN regions r ON r.adcode = e.county_adcode WHERE {above})")


def check_units(store: Store) -> None:
    bad = store.con.execute(f"SELECT * FROM ({ac.bad_units_sql('energy_use')}) LIMIT 3").fetchall()
    if bad:
        shown = "; ".join(f"{u} {p} {c} in {unit!r}" for u, p, c, unit in bad)
        raise ShanhaiError(f"energy_use has rows whose carrier or unit is not known or does not fit: {shown} "
                           f"(carriers {', '.join(CARRIERS)}; units {', '.join(ac.UNITS)})")


def fingerprint(store: Store) -> str:
    e = store.con.execute("SELECT count(*), sum(quantity), bit_xor(hash(uscc || period || carrier || unit || "
                          "coalesce(quantity::VARCHAR, ''))) FROM energy_use").fetchone()
    y = store.con.execute("SELECT count(*), sum(value_added), bit_xor(hash(uscc || year::VARCHAR || "
                          "coalesce(value_added::VARCHAR, ''))) FROM enterprise_years").fetchone()
    return hashlib.sha256(repr((e, y)).encode()).hexdigest()[:16]


def grades_relation(store: Store, g: Grading, years: list[int], table: str = "_cb_g") -> None:
    """Create temp table ``table`` with every firm-year's grade under ``g`` for ``years``."""
    f = load_factors(g.factors)
    years_sql = ", ".join(str(int(y)) for y in years)
    fe = ac.firm_energy_sql("energy_use", ac.coefficients_sql(f, g, years),
                            where=f"CAST(substr(e.period, 1, 4) AS INTEGER) IN ({years_sql})")
    store.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {ac.grades_sql(f'({fe})', _firms_sql(g), g)}")


# ---- computing a run --------------------------------------------------------------------------

def run(store: Store, *, year: int | None = None, region: str | None = None, preset: str | Grading = "default",
        grid_series: str | None = None, grid_geography: str | None = None, aggregation: str | None = None,
        deduct: bool | None = None, user: str | None = None, progress: Progress | None = None) -> dict:
    """Grade every firm-year of ``region`` (default the province) for ``year`` (default: every year
    with energy data) and store the run. Returns its summary."""
    step = progress or (lambda label, fraction: None)
    started = time.perf_counter()
    g = _preset(preset, grid_series=grid_series, grid_geography=grid_geography, aggregation=aggregation,
                deduct=deduct)
    scope = Scope.of(store, region)
    have = energy_years(store)
    if not have:
        raise ShanhaiError("no energy data (energy_use is empty): import some (`shanhai import energy FILE`) "
                           "or build a synthetic province (`shanhai synth`)")
    if year is not None and int(year) not in have:
        raise ShanhaiError(f"no energy data for {year}: years with data are {', '.join(map(str, have))}")
    years = [int(year)] if year is not None else have
    check_units(store)
    con = store.con
    step("折算与评级 converting and grading", 0.2)
    grades_relation(store, g, years)
    step("行业 industries", 0.6)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cb_i AS {ac.industries_sql('_cb_g', g, 'regions')}")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    run_id = f"carbon-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    f = load_factors(g.factors)
    used = {y: {"grid_year": f.grid_factor(g.grid_series, g.grid_geography, y).year,
                "grid_t_per_kwh": f.grid_factor(g.grid_series, g.grid_geography, y).t_per_kwh,
                "equal_year": f.equal_value(y).year, "equal_tce_per_kwh": f.equal_value(y).tce_per_kwh} for y in years}
    where = scope.sql("county_adcode")
    in_scope = scope.covers_sql("adcode")
    summary = {"region": scope.adcode, "region_name": scope.name, "years": years, "preset": g.name,
               "preset_version": g.version, "factors": f.name, "factors_version": f.version,
               "grid_series": g.grid_series, "grid_geography": g.grid_geography,
               "aggregation": g.industry.aggregation, "deduct": g.zero_carbon.deduct, "factors_used": used}
    step("保存 storing", 0.8)
    con.execute("BEGIN TRANSACTION")
    try:
        cols = ", ".join(GRADE_COLUMNS)
        con.execute(f"INSERT INTO carbon_grades (run_id, {cols}) SELECT {literal(run_id)}, {cols} FROM _cb_g WHERE {where}")
        con.execute(f"INSERT INTO carbon_industries SELECT {literal(run_id)}, year, industry, adcode, region_level, firms, "
                    f"co2_t, value_added, tce_equal, intensity, low_carbon FROM _cb_i WHERE {in_scope}")
        n, graded, flagged = con.execute(
            f"SELECT count(*), count(grade), count(flag) FROM carbon_grades WHERE run_id = {literal(run_id)}").fetchone()
        if n == 0:
            raise ShanhaiError(f"no firm in {scope.name or scope.adcode} has both energy data and a value added "
                               f"for {', '.join(map(str, years))}: nothing to grade")
        summary.update(firm_years=n, graded=graded, flagged=flagged, seconds=round(time.perf_counter() - started, 3))
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status, note) VALUES ({values(run_id, KIND, g.name, g.version)}, "
            f"{literal(json.dumps({**summary, 'preset_fingerprint': g.fingerprint(), 'factors_fingerprint': f.fingerprint(), 'policy': g.model_dump(mode='json')}, ensure_ascii=False, default=str))}::JSON, "
            f"{values(fingerprint(store), __version__, user or 'cli', now, 'done')}, NULL)")
        audit_append(con, "run.carbon", username=user, target=run_id,
                     detail={"region": scope.adcode, "years": years, "preset": g.name, "version": g.version,
                             "firm_years": n})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for t in ("_cb_g", "_cb_i"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    step("完成 done", 1.0)
    return {"run_id": run_id, **summary}


# ---- reading runs back ------------------------------------------------------------------------

def runs(store: Store, scope: Scope, limit: int = 50) -> list[dict]:
    """Stored carbon runs whose region contains or lies inside ``scope``, newest first."""
    return overlapping(store, scope, KIND, "run_id, policy_name AS preset, policy_version AS preset_version, "
                       "created_by, created_at",
                       ("region", "region_name", "years", "factors", "grid_series", "grid_geography", "aggregation",
                        "deduct", "firm_years", "graded", "flagged", "factors_used"), limit)


def run_info(store: Store, scope: Scope, run_id: str | None = None) -> dict:
    """The run asked for (checked to overlap ``scope``), or the newest run whose region contains ``scope``."""
    for row in runs(store, scope, limit=10_000):
        if run_id is not None:
            if row["run_id"] == run_id:
                return row
            continue
        if Scope.of(store, row["region"]).contains(scope):
            return row
    if run_id is not None:
        raise NotFoundError(f"no carbon run {run_id!r} in your region (see `shanhai carbon grade --list`)")
    raise NotFoundError(f"no carbon run covers {scope.name or scope.adcode} yet: run `shanhai carbon grade` "
                        "(or 计算 on the 碳效 screen)")


def _year(info: dict, year: int | None) -> int:
    if year is None:
        return max(info["years"])
    if int(year) not in info["years"]:
        raise NotFoundError(f"run {info['run_id']} has no year {year}: it covers {', '.join(map(str, info['years']))}")
    return int(year)


def _names(store: Store) -> tuple[dict, dict]:
    regions = dict(store.con.execute("SELECT adcode, name FROM regions").fetchall())
    regions.setdefault("330000", "浙江省")
    industries = dict(store.con.execute("SELECT code, name FROM industries").fetchall())
    return regions, industries


def _public(r: dict, regions: dict, industries: dict) -> dict:
    level = r.get("level")
    return {**r, "county_name": regions.get(r.get("county_adcode")), "industry_name": industries.get(r.get("industry")),
            "level_label": ac.LEVELS[level][0] if level else None, "level_label_en": ac.LEVELS[level][1] if level else None,
            "badge": ac.badge(level, r.get("grade")),
            "flag_label": ac.FLAGS[r["flag"]][0] if r.get("flag") else None,
            "flag_label_en": ac.FLAGS[r["flag"]][1] if r.get("flag") else None}


def grades(store: Store, scope: Scope, run_id: str | None = None, *, year: int | None = None,
           grade: int | None = None, level: str | None = None, limit: int | None = 500) -> dict:
    """A run's firm grades for a year inside ``scope`` (worst first) with counts by grade and level."""
    info = run_info(store, scope, run_id)
    y = _year(info, year)
    cond = [f"g.run_id = {literal(info['run_id'])}", f"g.year = {y}", scope.sql("g.county_adcode")]
    counts = _dicts(store, f"SELECT grade, level, count(*) AS n FROM carbon_grades g WHERE {' AND '.join(cond)} "
                           "GROUP BY ALL ORDER BY grade NULLS LAST, level")
    if grade is not None:
        cond.append(f"g.grade = {int(grade)}")
    if level is not None:
        if level not in ac.LEVELS:
            raise ShanhaiError(f"level {level!r}: expected one of {', '.join(ac.LEVELS)}")
        cond.append(f"g.level = {literal(level)}")
    lim = f"LIMIT {int(limit)}" if limit else ""
    rows = _dicts(store, f"SELECT g.*, e.name FROM carbon_grades g JOIN enterprises e ON e.uscc = g.uscc "
                         f"WHERE {' AND '.join(cond)} ORDER BY g.grade DESC NULLS LAST, g.k DESC NULLS LAST, g.uscc {lim}")
    regions, industries = _names(store)
    by_grade = {str(k): 0 for k in range(1, 6)} | {"none": 0}
    by_level = {k: 0 for k in ac.LEVELS}
    for c in counts:
        by_grade["none" if c["grade"] is None else str(c["grade"])] += c["n"]
        if c["level"]:
            by_level[c["level"]] += c["n"]
    return {"run": info, "year": y, "scope": scope.as_dict(), "by_grade": by_grade, "by_level": by_level,
            "firms": [_public(r, regions, industries) for r in rows]}


def firm(store: Store, scope: Scope, uscc: str, run_id: str | None = None) -> dict:
    """One firm's badge (latest year of the run), its history across the run's years and the
    energy by carrier behind it."""
    row = store.con.execute(f"SELECT name, county_adcode, industry_code FROM enterprises WHERE uscc = {literal(uscc)}").fetchone()
    if row is None:
        raise NotFoundError(f"no enterprise {uscc!r}")
    scope.check(row[1], f"enterprise {uscc}")
    info = run_info(store, scope, run_id)
    regions, industries = _names(store)
    hist = [_public(r, regions, industries) for r in _dicts(
        store, f"SELECT * FROM carbon_grades WHERE run_id = {literal(info['run_id'])} AND uscc = {literal(uscc)} "
               "ORDER BY year")]
    energy = _dicts(store, "SELECT period, carrier, quantity, unit, measured_tce_per_unit, measured_co2_per_unit, dataset_id "
                           f"FROM energy_use WHERE uscc = {literal(uscc)} ORDER BY period, carrier")
    for e in energy:
        e["carrier_label"] = CARRIER_LABELS.get(e["carrier"], (e["carrier"],))[0]
    return {"uscc": uscc, "name": row[0], "county_adcode": row[1], "county_name": regions.get(row[1]),
            "industry_code": row[2], "industry_name": industries.get(row[2]), "run": info,
            "current": hist[-1] if hist else None, "history": hist, "energy": energy}


def what_if(store: Store, scope: Scope, uscc: str, *, year: int | None = None, preset: str = "default",
            grid_series: str | None = None, grid_geography: str | None = None, aggregation: str | None = None,
            deduct: bool | None = None) -> dict:
    """The firm's grade for a year under other settings (computed, not stored), beside the preset's."""
    row = store.con.execute(f"SELECT county_adcode FROM enterprises WHERE uscc = {literal(uscc)}").fetchone()
    if row is None:
        raise NotFoundError(f"no enterprise {uscc!r}")
    scope.check(row[0], f"enterprise {uscc}")
    have = energy_years(store)
    if not have:
        raise ShanhaiError("no energy data")
    y = int(year) if year is not None else max(have)
    out = {}
    for label, g in (("base", _preset(preset)),
                     ("what_if", _preset(preset, grid_series=grid_series, grid_geography=grid_geography,
                                         aggregation=aggregation, deduct=deduct))):
        grades_relation(store, g, [y], "_cb_w")
        r = _dicts(store, f"SELECT * FROM _cb_w WHERE uscc = {literal(uscc)}")
        store.con.execute("DROP TABLE IF EXISTS _cb_w")
        regions, industries = _names(store)
        out[label] = {"settings": {"grid_series": g.grid_series, "grid_geography": g.grid_geography,
                                   "aggregation": g.industry.aggregation, "deduct": g.zero_carbon.deduct,
                                   "version": g.version},
                      "result": _public(r[0], regions, industries) if r else None}
    return {"uscc": uscc, "year": y, **out}


def industries(store: Store, scope: Scope, run_id: str | None = None, *, year: int | None = None,
               adcode: str | None = None) -> dict:
    """Each industry's intensity in one region (default: the scope's) and year, under the line or not."""
    info = run_info(store, scope, run_id)
    y = _year(info, year)
    region = scope.narrow(store, adcode)
    rows = _dicts(store, f"SELECT * FROM carbon_industries WHERE run_id = {literal(info['run_id'])} "
                         f"AND year = {int(y)} AND adcode = {literal(region.adcode)} ORDER BY intensity DESC")
    _, names = _names(store)
    for r in rows:
        r["industry_name"] = names.get(r["industry"])
    return {"run": info, "year": y, "region": region.as_dict(), "industries": rows}


def share(store: Store, scope: Scope, run_id: str | None = None, *, year: int | None = None) -> dict:
    """The low-carbon share of manufacturing VA against the target, for every region cell of the
    scope (the scope itself and the cities and counties inside it) and every year of the run."""
    info = run_info(store, scope, run_id)
    policy = json.loads(store.con.execute(f"SELECT params::VARCHAR FROM runs WHERE run_id = {literal(info['run_id'])}"
                                          ).fetchone()[0])["policy"]["low_carbon"]
    ys = [int(year)] if year is not None else info["years"]
    if year is not None:
        _year(info, year)
    rel = f"(SELECT * FROM carbon_industries WHERE run_id = {literal(info['run_id'])} AND {scope.covers_sql('adcode')})"
    rows = _dicts(store, f"SELECT * FROM ({ac.share_sql(rel)}) WHERE year IN ({', '.join(map(str, ys))}) "
                         "ORDER BY year, region_level, adcode")
    regions, _ = _names(store)
    for r in rows:
        r["region_name"] = regions.get(r["adcode"])
        r["target"] = policy["target_share"]
        r["meets_target"] = None if r["share"] is None else r["share"] >= policy["target_share"]
    return {"run": info, "years": ys, "line": policy["line"], "target": policy["target_share"],
            "target_year": policy["target_year"], "target_status": policy["target_status"], "rows": rows}


def map_data(store: Store, scope: Scope, run_id: str | None = None, *, year: int | None = None) -> dict:
    """Per county in scope: all-manufacturing intensity (Σ CO2 ÷ Σ VA) and the low-carbon share."""
    info = run_info(store, scope, run_id)
    y = _year(info, year)
    s = share(store, scope, info["run_id"], year=y)
    inten = dict(store.con.execute(
        "SELECT adcode, sum(co2_t) / nullif(sum(value_added), 0) FROM carbon_industries "
        f"WHERE run_id = {literal(info['run_id'])} AND year = {int(y)} "
        "AND region_level = 'county' GROUP BY adcode").fetchall())
    counties = [{"adcode": r["adcode"], "name": r["region_name"], "intensity": inten.get(r["adcode"]),
                 "share": r["share"], "meets_target": r["meets_target"]}
                for r in s["rows"] if r["region_level"] == "county" and scope.covers(r["adcode"])]
    return {"run_id": info["run_id"], "year": y, "target": s["target"], "line": s["line"], "counties": counties}


# ---- conversions and the per-mu energy --------------------------------------------------------

def convert(quantity: float, unit: str, carrier: str, year: int, *, preset: str = "default",
            grid_series: str | None = None, grid_geography: str | None = None, deduct: bool | None = None) -> dict:
    """One quantity converted: tce 当量值 and 等价值 and t CO2, with the factors used and their sources."""
    g = _preset(preset, grid_series=grid_series, grid_geography=grid_geography, deduct=deduct)
    f = load_factors(g.factors)
    c = ac.calc_coefficients(f, g, int(year))
    got = ac.calc_firm_energy([(carrier, float(quantity), unit)], c)
    canonical = ac.calc_to_canonical(carrier, float(quantity), unit)
    if carrier in f.carriers:
        src = f.carriers[carrier].source
    else:
        src = (f"{f.electricity.equivalent_source}; {f.equal_value(int(year)).source}; "
               f"{f.grid_factor(g.grid_series, g.grid_geography, int(year)).source}")
    return {"carrier": carrier, "quantity": quantity, "unit": unit, "canonical_quantity": canonical,
            "canonical_unit": ac.CANONICAL_UNIT[carrier], "year": int(year), **got,
            "grid_year": c.grid_year, "equal_year": c.equal_year, "factors": f.name, "factors_version": f.version,
            "grid_series": g.grid_series, "grid_geography": g.grid_geography, "deduct": g.zero_carbon.deduct,
            "source": src}


def factor_table(name: str = "default") -> dict:
    """The factor set as rows (for `shanhai carbon factors` and the screen)."""
    f = load_factors(name)
    return {"name": f.name, "version": f.version, "source": f.source,
            "fuels": [{"carrier": c, **v.model_dump()} for c, v in f.carriers.items()],
            "electricity_equivalent": {"tce_per_kwh": f.electricity.equivalent_tce_per_kwh,
                                       "source": f.electricity.equivalent_source},
            "electricity_equal": [e.model_dump() for e in sorted(f.electricity.equal, key=lambda e: e.year)],
            "grid": [g.model_dump() for g in sorted(f.grid, key=lambda g: (g.series, g.geography, g.year))]}


# the basis sync_energy writes, by its own name (``equal`` 等价值, ``equivalent`` 当量值), in the
# GLOSSARY's identifiers that enterprise_years.energy_basis stores
SYNC_BASIS = {"equal": "equivalent_coal", "equivalent": "equivalent_calorific"}


def sync_energy(store: Store, *, year: int | None = None, basis: str = "equal", preset: str = "default",
                region: str | None = None, user: str | None = None) -> dict:
    """Write ``enterprise_years.energy_tce`` from ``energy_use``: Σ over the year's carriers of
    quantity × the 等价值 (default; ``basis='equivalent'`` for 当量值) coefficient, zero-carbon power
    per the preset, with ``energy_basis`` (:data:`SYNC_BASIS`) and the same sum at 当量值 in
    ``energy_tce_calorific``. Only rows whose value changes are written; each sync is a run (kind
    ``carbon_energy_sync``) and an audit entry naming the factor set, its version and the basis.
    Idempotent: a second sync changes nothing."""
    if basis not in ("equal", "equivalent"):
        raise ShanhaiError(f"basis {basis!r}: expected equal (等价值) or equivalent (当量值)")
    g = _preset(preset)
    f = load_factors(g.factors)
    scope = Scope.of(store, region)
    have = energy_years(store)
    years = [int(year)] if year is not None else have
    if not years or (year is not None and int(year) not in have):
        raise ShanhaiError(f"no energy data for {year if year is not None else 'any year'}")
    check_units(store)
    col = "tce_equal" if basis == "equal" else "tce_equivalent"
    written = SYNC_BASIS[basis]
    fe = ac.firm_energy_sql("energy_use", ac.coefficients_sql(f, g, years),
                            where=f"CAST(substr(e.period, 1, 4) AS INTEGER) IN ({', '.join(map(str, years))})")
    con = store.con
    # energy_basis and energy_tce_calorific say what energy_tce now holds (migration 0025): the
    # 腾笼换鸟 ledger reads the 当量值 beside a 等价值 figure instead of counting the uplift twice
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _cb_s AS
        SELECT uscc, year, tce, calorific FROM (
            SELECT x.uscc, x.year, round(x.{col}, 6) AS tce, round(x.tce_equivalent, 6) AS calorific,
                   y.energy_tce, y.energy_basis, y.energy_tce_calorific
            FROM ({fe}) x JOIN enterprises e ON e.uscc = x.uscc
            JOIN enterprise_years y ON y.uscc = x.uscc AND y.year = x.year
            WHERE {scope.sql('e.county_adcode')})
        WHERE energy_tce IS DISTINCT FROM tce OR energy_basis IS DISTINCT FROM {literal(written)}
              OR energy_tce_calorific IS DISTINCT FROM calorific""")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    run_id = f"carbon-sync-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    con.execute("BEGIN TRANSACTION")
    try:
        changed = con.execute("SELECT count(*) FROM _cb_s").fetchone()[0]
        con.execute(f"UPDATE enterprise_years SET energy_tce = s.tce, energy_basis = {literal(written)}, "
                    "energy_tce_calorific = s.calorific FROM _cb_s s "
                    "WHERE enterprise_years.uscc = s.uscc AND enterprise_years.year = s.year")
        doc = {"region": scope.adcode, "region_name": scope.name, "years": years, "basis": basis,
               "factors": f.name, "factors_version": f.version, "factors_fingerprint": f.fingerprint(),
               "preset": g.name, "deduct": g.zero_carbon.deduct, "count_in_energy": g.zero_carbon.count_in_energy,
               "changed": changed}
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status, note) VALUES ({values(run_id, SYNC_KIND, f.name, f.version)}, "
            f"{literal(json.dumps(doc, ensure_ascii=False))}::JSON, {values(fingerprint(store), __version__, user or 'cli', now, 'done')}, "
            "'enterprise_years.energy_tce from energy_use')")
        audit_append(con, "carbon.sync_energy", username=user, target=run_id, detail=doc)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS _cb_s")
    return {"run_id": run_id, **doc}


# ---- the monthly briefing and the export ------------------------------------------------------

def briefing(store: Store, region: str | None = None, year: int | None = None, worst: int = 5) -> dict:
    """A region's carbon figures for a year as plain dicts: grade and level counts, the low-carbon
    share against the target and the worst industries (highest intensity) — for the monthly briefing."""
    scope = Scope.of(store, region)
    info = run_info(store, scope)
    y = _year(info, year)
    gr = grades(store, scope, info["run_id"], year=y, limit=0)
    s = share(store, scope, info["run_id"], year=y)
    own = next((r for r in s["rows"] if r["adcode"] == scope.adcode), None)
    ind = industries(store, scope, info["run_id"], year=y)["industries"]
    return {"run_id": info["run_id"], "region": scope.adcode, "region_name": scope.name, "year": y,
            "grade_counts": gr["by_grade"], "level_counts": gr["by_level"],
            "low_carbon_share": own["share"] if own else None, "target": s["target"],
            "meets_target": own["meets_target"] if own else None,
            "worst_industries": [{"industry": r["industry"], "name": r["industry_name"], "intensity": r["intensity"],
                                  "value_added": r["value_added"], "firms": r["firms"]} for r in ind[:worst]]}


def export_doc(store: Store, scope: Scope, run_id: str | None = None, *, year: int | None = None) -> dict:
    info = run_info(store, scope, run_id)
    y = _year(info, year)
    return {"run": info, "year": y, "scope": scope.as_dict(),
            "grades": grades(store, scope, info["run_id"], year=y, limit=None),
            "industries": industries(store, scope, info["run_id"], year=y),
            "share": share(store, scope, info["run_id"], year=y),
            "factors": factor_table(info.get("factors") or "default")}
