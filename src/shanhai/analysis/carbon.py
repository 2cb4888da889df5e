"""Energy and carbon formulas: natural units → tce (当量值 / 等价值) → CO2 → intensity L → level,
K against the industry and the 碳效 grade 1–5; industries' intensity and the low-carbon share.
Pure ``calc_*`` functions (one firm, one industry: the golden cases of
reference/energy_carbon.md §8 test them) and the vectorised SQL builders the job and the
benchmark run over whole tables. The factors and bounds come from
:mod:`shanhai.policy._carbon` (``carbon/*.toml``); nothing here is a policy number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from shanhai.errors import ShanhaiError
from shanhai.policy._carbon import CARRIERS, ELECTRIC, Factors, Grading

# Units a quantity may be stored in (energy_use.unit) → (canonical unit, factor to it). Physics,
# not policy: 1 百万千焦 = 1 GJ.
UNITS: dict[str, tuple[str, float]] = {
    "kWh": ("kWh", 1.0), "MWh": ("kWh", 1e3), "10k_kWh": ("kWh", 1e4),
    "t": ("t", 1.0), "kg": ("t", 1e-3), "10k_t": ("t", 1e4),
    "m3": ("m3", 1.0), "10k_m3": ("m3", 1e4),
    "GJ": ("GJ", 1.0), "MJ": ("GJ", 1e-3),
}
CANONICAL_UNIT = {**{c: "kWh" for c in ELECTRIC}, "coal": "t", "natural_gas": "m3", "diesel": "t",
                  "gasoline": "t", "fuel_oil": "t", "lpg": "t", "heat": "GJ"}
LEVELS = {"low": ("低碳", "low carbon"), "medium": ("中碳", "medium carbon"), "high": ("高碳", "high carbon")}
FLAGS = {"va_not_positive": ("增加值≤0, 不评级", "value added ≤ 0: no grade"),
         "no_value_added": ("缺增加值, 不评级", "no value added: no grade"),
         "thin_industry": ("行业企业数不足, 不评级", "too few firms in the industry: no grade"),
         "zero_industry": ("行业排放为零, 不评级", "industry emits nothing: no grade")}


def calc_to_canonical(carrier: str, quantity: float, unit: str) -> float:
    """quantity in the carrier's canonical unit = quantity × factor(unit → canonical); a unit of
    another dimension (kWh for coal) is an error."""
    if carrier not in CANONICAL_UNIT:
        raise ShanhaiError(f"unknown energy carrier {carrier!r}: expected one of {', '.join(CARRIERS)}")
    if unit not in UNITS:
        raise ShanhaiError(f"unknown unit {unit!r} for {carrier}: expected one of {', '.join(UNITS)}")
    canonical, mult = UNITS[unit]
    if canonical != CANONICAL_UNIT[carrier]:
        raise ShanhaiError(f"unit {unit!r} does not fit carrier {carrier} (measured in {CANONICAL_UNIT[carrier]})")
    return quantity * mult


@dataclass(frozen=True)
class Coefficients:
    """Per canonical unit for one year: tce 当量值, tce 等价值, t CO2; and which years were used."""
    tce_equivalent: dict[str, float]
    tce_equal: dict[str, float]
    co2: dict[str, float]
    grid_year: int
    equal_year: int


def calc_coefficients(f: Factors, g: Grading, year: int) -> Coefficients:
    """The coefficients of ``year``: fuels from the factor set; grid electricity 当量值
    ``equivalent_tce_per_kwh``, 等价值 the year's coefficient, CO2 the grid factor of
    (series, geography, year); green power and self-consumed PV as grid power, or — with the
    zero-carbon deduction — CO2 0 and tce 0 unless ``count_in_energy``."""
    grid = f.grid_factor(g.grid_series, g.grid_geography, year)
    equal = f.equal_value(year)
    teq = {c: v.tce_per_unit for c, v in f.carriers.items()}
    tel = dict(teq)
    co2 = {c: v.co2_per_unit for c, v in f.carriers.items()}
    e_eq, e_el = f.electricity.equivalent_tce_per_kwh, equal.tce_per_kwh
    for c in ELECTRIC:
        zero = c != "grid_electricity" and g.zero_carbon.deduct
        counted = not zero or g.zero_carbon.count_in_energy
        teq[c] = e_eq if counted else 0.0
        tel[c] = e_el if counted else 0.0
        co2[c] = 0.0 if zero else grid.t_per_kwh
    return Coefficients(teq, tel, co2, grid.year, equal.year)


def calc_firm_energy(items: Iterable[tuple[str, float, str]], coeffs: Coefficients,
                     measured: dict[str, tuple[float | None, float | None]] | None = None) -> dict:
    """One firm-period: tce 当量值 = Σ q·a_c, tce 等价值 = Σ q·b_c, CO2 = Σ q·e_c over its carriers,
    q in canonical units (``calc_to_canonical``); a measured (tce, CO2) per canonical unit of a fuel
    overrides the default (electricity always takes the grid and electricity coefficients)."""
    measured = measured or {}
    teq = tel = co2 = 0.0
    for carrier, quantity, unit in items:
        q = calc_to_canonical(carrier, quantity, unit)
        m_tce, m_co2 = measured.get(carrier, (None, None)) if carrier not in ELECTRIC else (None, None)
        teq += q * (m_tce if m_tce is not None else coeffs.tce_equivalent[carrier])
        tel += q * (m_tce if m_tce is not None else coeffs.tce_equal[carrier])
        co2 += q * (m_co2 if m_co2 is not None else coeffs.co2[carrier])
    return {"tce_equivalent": teq, "tce_equal": tel, "co2_t": co2}


def calc_intensity(co2_t: float | None, value_added: float | None) -> float | None:
    """L = CO2 (t) ÷ value added (万元); None when value added is missing or ≤ 0 (no grade)."""
    if co2_t is None or value_added is None or value_added <= 0:
        return None
    return co2_t / value_added


def calc_level(intensity: float | None, g: Grading) -> str | None:
    """碳效水平: L ≤ low → 'low' (低碳); low < L ≤ medium → 'medium' (中碳); above → 'high' (高碳)."""
    if intensity is None:
        return None
    if intensity <= g.levels.low:
        return "low"
    return "medium" if intensity <= g.levels.medium else "high"


def calc_industry_intensity(co2: Iterable[float], value_added: Iterable[float], aggregation: str) -> float | None:
    """The industry's L over its firms with value added > 0: ratio of sums Σ CO2 ÷ Σ VA, or the
    mean of the firms' ratios (1/n) Σ CO2_i ÷ VA_i."""
    pairs = [(c, v) for c, v in zip(co2, value_added) if v is not None and v > 0 and c is not None]
    if not pairs:
        return None
    if aggregation == "ratio_of_sums":
        return sum(c for c, _ in pairs) / sum(v for _, v in pairs)
    if aggregation == "mean_of_ratios":
        return sum(c / v for c, v in pairs) / len(pairs)
    raise ShanhaiError(f"unknown aggregation {aggregation!r}: expected ratio_of_sums or mean_of_ratios")


def calc_k(intensity: float | None, industry_intensity: float | None) -> float | None:
    """碳效值 K = firm L ÷ industry L of the same period; None when either is missing or L_ind ≤ 0."""
    if intensity is None or industry_intensity is None or industry_intensity <= 0:
        return None
    return intensity / industry_intensity


def calc_grade(k: float | None, g: Grading) -> int | None:
    """碳效等级: K ≤ c1 → 1, ≤ c2 → 2, ≤ c3 → 3, ≤ c4 → 4, above → 5 (upper bounds inclusive)."""
    if k is None:
        return None
    for grade, bound in enumerate(g.grades.cutoffs, start=1):
        if k <= bound:
            return grade
    return 5


def badge(level: str | None, grade: int | None) -> str | None:
    """The 碳效码 badge text, e.g. 高碳3级."""
    if level is None or grade is None:
        return None
    return f"{LEVELS[level][0]}{grade}级"


def calc_low_carbon_share(industries: Iterable[tuple[float, float]], line: float) -> dict:
    """Industries as (CO2, VA): an industry is low-carbon when Σ CO2 ÷ Σ VA ≤ line; the share is
    Σ VA of low-carbon industries ÷ Σ VA of all (industries with VA ≤ 0 count in neither)."""
    low = total = 0.0
    for co2, va in industries:
        if va is None or va <= 0:
            continue
        total += va
        if co2 / va <= line:
            low += va
    return {"low_carbon_va": low, "total_va": total, "share": low / total if total else None}


# ---- SQL builders ----------------------------------------------------------------------------

def _num(x: float) -> str:
    return repr(float(x))


def units_sql() -> str:
    """A VALUES relation (unit, canonical, mult)."""
    rows = ", ".join(f"('{u}', '{c}', {_num(m)})" for u, (c, m) in UNITS.items())
    return f"(VALUES {rows}) AS u(unit, canonical, mult)"


def _case(expr: str, mapping: dict, cast: str = "DOUBLE") -> str:
    whens = " ".join(f"WHEN '{k}' THEN {_num(v) if cast == 'DOUBLE' else repr(v)}" for k, v in mapping.items())
    return f"CASE {expr} {whens} END"


def coefficients_sql(f: Factors, g: Grading, years: Iterable[int]) -> dict[str, str]:
    """SQL expressions over a row's ``year`` and ``carrier`` giving the policy numbers of that
    year (tce_equivalent, tce_equal, co2, grid_year, equal_year): inlined CASEs, so the conversion
    is one scan with no join. A year not asked for gives NULL."""
    out: dict[str, list[str]] = {k: [] for k in ("tce_equivalent", "tce_equal", "co2", "grid_year", "equal_year")}
    for year in sorted(set(int(y) for y in years)):
        c = calc_coefficients(f, g, year)
        out["tce_equivalent"].append(f"WHEN {year} THEN {_case('carrier', c.tce_equivalent)}")
        out["tce_equal"].append(f"WHEN {year} THEN {_case('carrier', c.tce_equal)}")
        out["co2"].append(f"WHEN {year} THEN {_case('carrier', c.co2)}")
        out["grid_year"].append(f"WHEN {year} THEN {c.grid_year}")
        out["equal_year"].append(f"WHEN {year} THEN {c.equal_year}")
    return {k: (f"(CASE year {' '.join(v)} END)" if v else "NULL") for k, v in out.items()}


def firm_energy_sql(energy: str, coefficients: dict[str, str], where: str = "true", measured: bool = True) -> str:
    """Per (uscc, year): tce 当量值, tce 等价值, CO2 and zero-carbon kWh from ``energy`` (columns uscc,
    period 'YYYY', 'YYYY-Qn' or 'YYYY-MM', carrier, quantity, unit [, measured_tce_per_unit,
    measured_co2_per_unit]); monthly rows are summed into the year first (ratios of sums): Σ q·m_u·a_c
    with m_u the unit's factor to the carrier's canonical unit and a_c the year's coefficient (a
    measured per-unit value of a fuel first). Sums are rounded to 6 decimals (a gram, a gram of
    coal equivalent) so that the parallel summation order cannot move a grade. A row with an
    unknown carrier or a unit of another dimension counts nothing — ``bad_units_sql`` lists them
    (the job refuses to run while there are any)."""
    mult = _case("unit", {u: m for u, (_c, m) in UNITS.items()})
    fits = (f"{_case('unit', {u: c for u, (c, _m) in UNITS.items()}, 'str')} = "
            f"{_case('carrier', CANONICAL_UNIT, 'str')}")
    fuel = f"carrier NOT IN {tuple(ELECTRIC)}"
    m_tce = f"CASE WHEN {fuel} THEN measured_tce_per_unit END" if measured else "NULL"
    m_co2 = f"CASE WHEN {fuel} THEN measured_co2_per_unit END" if measured else "NULL"
    k = coefficients
    return f"""
        SELECT uscc, year,
               round(sum(q * coalesce(m_tce, {k['tce_equivalent']})), 6) AS tce_equivalent,
               round(sum(q * coalesce(m_tce, {k['tce_equal']})), 6) AS tce_equal,
               round(sum(q * coalesce(m_co2, {k['co2']})), 6) AS co2_t,
               round(sum(CASE WHEN carrier IN ('green_power', 'pv_self') THEN q ELSE 0 END), 6) AS zero_carbon_kwh,
               any_value({k['grid_year']}) AS grid_year, any_value({k['equal_year']}) AS equal_year
        FROM (SELECT uscc, year, carrier, CASE WHEN fits THEN quantity * mult END AS q,
                     {m_tce} / mult AS m_tce, {m_co2} / mult AS m_co2
              FROM (SELECT uscc, CAST(left(period, 4) AS INTEGER) AS year, carrier, quantity, measured_tce_per_unit,
                           measured_co2_per_unit, {mult} AS mult, {fits} AS fits
                    FROM {energy} e WHERE quantity IS NOT NULL AND ({where})))
        WHERE q IS NOT NULL
        GROUP BY uscc, year"""


def bad_units_sql(energy: str) -> str:
    """energy rows whose carrier is unknown or whose unit does not fit the carrier."""
    canon = ", ".join(f"('{c}', '{u}')" for c, u in CANONICAL_UNIT.items())
    return f"""
        SELECT e.uscc, e.period, e.carrier, e.unit FROM {energy} e
        LEFT JOIN (VALUES {canon}) AS cc(carrier, canonical) ON cc.carrier = e.carrier
        LEFT JOIN {units_sql()} ON u.unit = e.unit
        WHERE cc.carrier IS NULL OR u.unit IS NULL OR u.canonical <> cc.canonical"""


def grades_sql(firm_energy: str, firms: str, g: Grading) -> str:
    """Per firm-year: value added, L, level, the industry's L (same year, industry level and
    geography of the preset; aggregation ratio of sums or mean of ratios over firms with VA > 0),
    its firm count, K, grade and flag. ``firm_energy``: uscc, year, tce_equivalent, tce_equal,
    co2_t, zero_carbon_kwh, grid_year, equal_year; the industry's L and K are rounded to 12
    decimals (Kahan sums) so that the summation order cannot move a grade; ``firms``: uscc, year, value_added,
    industry_code (4-digit), county_adcode, city_adcode."""
    ind = "left(f.industry_code, 2)" if g.industry.level == "division" else "f.industry_code"
    geo = {"province": "'330000'", "city": "f.city_adcode", "county": "f.county_adcode"}[g.industry.geography]
    agg = ("round(fsum(co2_t) / fsum(value_added), 12)" if g.industry.aggregation == "ratio_of_sums"
           else "round(fsum(co2_t / value_added) / count(*), 12)")
    low, medium = _num(g.levels.low), _num(g.levels.medium)
    c1, c2, c3, c4 = (_num(c) for c in g.grades.cutoffs)
    return f"""
        WITH base AS (
            SELECT e.uscc, e.year, e.tce_equivalent, e.tce_equal, e.co2_t, e.zero_carbon_kwh, e.grid_year,
                   e.equal_year, f.county_adcode, f.city_adcode, {ind} AS industry, {geo} AS industry_region,
                   CAST(f.value_added AS DOUBLE) AS value_added
            FROM {firm_energy} e JOIN {firms} f ON f.uscc = e.uscc AND f.year = e.year),
        ind AS (
            SELECT year, industry, industry_region, count(*) AS industry_firms, {agg} AS industry_intensity
            FROM base WHERE value_added > 0 GROUP BY ALL),
        lk AS (
            SELECT b.*, i.industry_firms, i.industry_intensity,
                   CASE WHEN b.value_added > 0 THEN b.co2_t / b.value_added END AS intensity,
                   CASE WHEN b.value_added > 0 THEN b.tce_equal / b.value_added END AS energy_intensity
            FROM base b LEFT JOIN ind i ON i.year = b.year AND i.industry = b.industry
                 AND i.industry_region IS NOT DISTINCT FROM b.industry_region),
        fl AS (
            SELECT *, CASE WHEN value_added IS NULL THEN 'no_value_added'
                           WHEN value_added <= 0 THEN 'va_not_positive'
                           WHEN industry_firms < {int(g.industry.min_firms)} THEN 'thin_industry'
                           WHEN industry_intensity <= 0 THEN 'zero_industry' END AS flag
            FROM lk)
        SELECT uscc, year, county_adcode, industry, industry_region, value_added, tce_equivalent, tce_equal,
               co2_t, zero_carbon_kwh, grid_year, equal_year, intensity, energy_intensity,
               CASE WHEN intensity IS NULL THEN NULL WHEN intensity <= {low} THEN 'low'
                    WHEN intensity <= {medium} THEN 'medium' ELSE 'high' END AS level,
               industry_firms, industry_intensity,
               CASE WHEN flag IS NULL THEN round(intensity / industry_intensity, 12) END AS k,
               CASE WHEN flag IS NOT NULL THEN NULL
                    WHEN round(intensity / industry_intensity, 12) <= {c1} THEN 1
                    WHEN round(intensity / industry_intensity, 12) <= {c2} THEN 2
                    WHEN round(intensity / industry_intensity, 12) <= {c3} THEN 3
                    WHEN round(intensity / industry_intensity, 12) <= {c4} THEN 4 ELSE 5 END AS grade,
               flag
        FROM fl"""


def industries_sql(grades: str, g: Grading, regions: str) -> str:
    """Each industry's CO2, VA and L by region and year (province, city and county cells; firms
    with VA > 0), and whether it is under the low-carbon line (L ≤ line, ratio of sums: an
    industry is an aggregate). ``grades``: the output of ``grades_sql``; ``regions``: adcode,
    city_adcode."""
    line = _num(g.low_carbon.line)
    return f"""
        WITH b AS (SELECT g.year, g.industry, g.county_adcode AS county, r.city_adcode AS city, g.co2_t,
                          g.value_added, g.tce_equal
                   FROM {grades} g LEFT JOIN {regions} r ON r.adcode = g.county_adcode WHERE g.value_added > 0)
        SELECT year, industry, coalesce(county, city, '330000') AS adcode,
               CASE WHEN county IS NOT NULL THEN 'county' WHEN city IS NOT NULL THEN 'city' ELSE 'province' END AS region_level,
               count(*) AS firms, round(fsum(co2_t), 6) AS co2_t, round(fsum(value_added), 4) AS value_added,
               round(fsum(tce_equal), 6) AS tce_equal, round(fsum(co2_t) / fsum(value_added), 12) AS intensity,
               round(fsum(co2_t) / fsum(value_added), 12) <= {line} AS low_carbon
        FROM b GROUP BY GROUPING SETS ((year, industry, county), (year, industry, city), (year, industry))"""


def share_sql(industries: str) -> str:
    """Per region and year: VA in low-carbon industries ÷ manufacturing VA (all industries)."""
    return f"""
        SELECT year, adcode, region_level, count(*) AS industries, count_if(low_carbon) AS low_industries,
               sum(CASE WHEN low_carbon THEN value_added ELSE 0 END) AS low_carbon_va, sum(value_added) AS total_va,
               sum(CASE WHEN low_carbon THEN value_added ELSE 0 END) / nullif(sum(value_added), 0) AS share
        FROM {industries} GROUP BY year, adcode, region_level"""
