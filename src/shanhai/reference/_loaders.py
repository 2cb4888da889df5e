"""Read the packaged data files (importlib.resources) into typed records, once per process."""

from __future__ import annotations

import atexit
import contextlib
import csv
import io
import json
import tomllib
from functools import cache
from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from shanhai.errors import ShanhaiError
from shanhai.reference._chains import parse_chains
from shanhai.reference._models import (
    ENCLAVE_KINDS,
    Chain,
    CountyStat,
    Enclave,
    Industry,
    LeadIndustry,
    MountainSeaPair,
    Region,
)

PROVINCE_ADCODE = "330000"
PROVINCE_NAME = "浙江省"
GEOJSON = "zhejiang_counties.geojson"

_LEVELS = {"大类": "division", "中类": "group", "小类": "class"}
_COUNTY_KINDS = {
    "district": "district",
    "county-level city": "county_city",
    "city": "county_city",
    "county": "county",
}
_MOUNTAIN_CATEGORIES = {
    "跨越发展类": "leapfrog",
    "生态发展类": "ecological",
    "leapfrog": "leapfrog",
    "ecological": "ecological",
}


def _resource(name: str) -> Traversable:
    return files("shanhai.reference") / "data" / name


def _read_text(name: str) -> str:
    resource = _resource(name)
    if not resource.is_file():
        raise ShanhaiError(f"reference data file {name} is missing from the installed package")
    return resource.read_text(encoding="utf-8")


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_read_text(name))))


def _bool(value: str, name: str, line: int, column: str) -> bool:
    if value not in ("true", "false"):
        raise ShanhaiError(f"{name} line {line}, column {column}: expected true or false, got {value!r}")
    return value == "true"


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(";") if part.strip())


# -- regions ------------------------------------------------------------------------------


@cache
def regions() -> tuple[Region, ...]:
    """The province, its 11 cities and 90 county-level units, ordered by adcode."""
    name = "divisions.csv"
    counties: list[Region] = []
    cities: dict[str, str] = {}
    for line, row in enumerate(_rows(name), start=2):
        raw_category = row["mountain_category"].strip()
        category = _MOUNTAIN_CATEGORIES.get(raw_category) if raw_category else None
        if raw_category and category is None:
            raise ShanhaiError(f"{name} line {line}: unknown mountain_category {raw_category!r}")
        if row["level"] not in _COUNTY_KINDS:
            raise ShanhaiError(f"{name} line {line}: unknown level {row['level']!r}")
        verified = row["mountain_category_verified"].strip()
        counties.append(
            Region(
                adcode=row["adcode"],
                name=row["name"],
                level="county",
                parent_adcode=row["city_adcode"],
                city_adcode=row["city_adcode"],
                county_kind=_COUNTY_KINDS[row["level"]],
                mountain26=_bool(row["mountain26"], name, line, "mountain26"),
                mountain_category=category,
                mountain_category_verified=(
                    _bool(verified or "false", name, line, "mountain_category_verified") if category else None
                ),
                mountain_island_2023=_bool(row["mountain_island_2023"], name, line, "mountain_island_2023"),
                mountain_island_2025=_bool(row["mountain_island_2025"], name, line, "mountain_island_2025"),
            )
        )
        cities.setdefault(row["city_adcode"], row["city_name"])
    above = [_upper_region(PROVINCE_ADCODE, PROVINCE_NAME, "province", None, None)]
    above += [_upper_region(code, city, "city", PROVINCE_ADCODE, code) for code, city in cities.items()]
    return tuple(sorted(above + counties, key=lambda r: r.adcode))


def _upper_region(adcode: str, name: str, level: str, parent: str | None, city: str | None) -> Region:
    return Region(
        adcode=adcode,
        name=name,
        level=level,
        parent_adcode=parent,
        city_adcode=city,
        county_kind=None,
        mountain26=False,
        mountain_category=None,
        mountain_category_verified=None,
        mountain_island_2023=False,
        mountain_island_2025=False,
    )


@cache
def _regions_by_adcode() -> dict[str, Region]:
    return {r.adcode: r for r in regions()}


@cache
def counties() -> tuple[Region, ...]:
    """The 90 county-level units (districts, county-level cities, counties)."""
    return tuple(r for r in regions() if r.level == "county")


@cache
def cities() -> tuple[Region, ...]:
    """The 11 cities (设区市)."""
    return tuple(r for r in regions() if r.level == "city")


@cache
def mountain_counties() -> tuple[Region, ...]:
    """The 26 mountain counties (山区26县, 2021 list)."""
    return tuple(r for r in counties() if r.mountain26)


def region(adcode: str) -> Region:
    """The region with this adcode; ShanhaiError if it is not one of Zhejiang's 102 codes."""
    found = _regions_by_adcode().get(str(adcode).strip())
    if found is None:
        raise ShanhaiError(
            f"unknown adcode {adcode}: expected one of Zhejiang's {len(regions())} province/city/county codes"
        )
    return found


# -- industries ---------------------------------------------------------------------------


@cache
def industries() -> tuple[Industry, ...]:
    """GB/T 4754-2017 section C: 31 divisions, 179 groups, 608 classes, in code-tree order."""
    result = []
    for line, row in enumerate(_rows("industries.csv"), start=2):
        if row["level"] not in _LEVELS:
            raise ShanhaiError(f"industries.csv line {line}: unknown level {row['level']!r}")
        result.append(
            Industry(
                code=row["code"],
                name=row["name"],
                level=_LEVELS[row["level"]],
                level_zh=row["level"],
                parent_code=row["parent_code"],
            )
        )
    return tuple(result)


@cache
def _industries_by_code() -> dict[str, Industry]:
    return {i.code: i for i in industries()}


def industry(code: str) -> Industry:
    """The industry with this code; ShanhaiError if unknown."""
    found = _industries_by_code().get(str(code).strip())
    if found is None:
        raise ShanhaiError(
            f"unknown industry code {code}: expected a GB/T 4754-2017 manufacturing code "
            "(2-digit division, 3-digit group or 4-digit class, e.g. 39, 397 or 3973)"
        )
    return found


@cache
def industry_classes() -> tuple[Industry, ...]:
    """The 608 four-digit classes (小类)."""
    return tuple(i for i in industries() if i.level == "class")


@cache
def _classes_below() -> dict[str, tuple[str, ...]]:
    children: dict[str, list[str]] = {}
    for item in industries():
        children.setdefault(item.parent_code, []).append(item.code)

    def collect(code: str) -> list[str]:
        if _industries_by_code()[code].level == "class":
            return [code]
        return [c for child in children.get(code, []) for c in collect(child)]

    return {item.code: tuple(sorted(collect(item.code))) for item in industries()}


def classes_under(code: str) -> tuple[str, ...]:
    """Four-digit class codes under a 2-, 3- or 4-digit code (a class returns itself)."""
    return _classes_below()[industry(code).code]


# -- chains -------------------------------------------------------------------------------


@cache
def chains() -> tuple[Chain, ...]:
    """The ten 标志性产业链 with one segment per stage (segment splits are modelling choices)."""
    try:
        data = tomllib.loads(_read_text("chains.toml"))
    except tomllib.TOMLDecodeError as exc:
        raise ShanhaiError(f"chains.toml: invalid TOML: {exc}") from exc
    return parse_chains(data, "chains.toml", _industries_by_code())


def load_chains(path: str | Path) -> tuple[Chain, ...]:
    """Chains from a user's TOML file in the same format as the packaged chains.toml."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShanhaiError(f"chain file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ShanhaiError(f"chain file {path} cannot be read as UTF-8 text: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ShanhaiError(f"{path}: invalid TOML: {exc}") from None
    return parse_chains(data, str(path), _industries_by_code())


# -- county statistics, lead industries, pairings -----------------------------------------


@cache
def county_stats() -> tuple[CountyStat, ...]:
    """2020 census population and manufacturing share per county, 5 Hangzhou districts modelled."""
    result = []
    for line, row in enumerate(_rows("county_stats.csv"), start=2):
        try:
            population = int(row["pop_model"])
            share = float(row["mfg_share_model"])
        except ValueError:
            raise ShanhaiError(
                f"county_stats.csv line {line}: pop_model and mfg_share_model must be numbers"
            ) from None
        pop_modelled = not row["pop_census2020"].strip()
        share_modelled = not row["mfg_share_employed_census2020"].strip()
        result.append(
            CountyStat(
                adcode=row["adcode"],
                name=row["name"],
                population=population,
                mfg_share=share,
                modelled=pop_modelled or share_modelled,
                note=row["model_note"],
                population_modelled=pop_modelled,
                mfg_share_modelled=share_modelled,
            )
        )
    return tuple(result)


@cache
def lead_industries() -> tuple[LeadIndustry, ...]:
    """Lead industries of the 26 mountain counties and of well-known industrial counties."""
    known = _industries_by_code()
    result = []
    for line, row in enumerate(_rows("lead_industries.csv"), start=2):
        where = f"lead_industries.csv line {line} ({row['adcode']} {row['name']})"
        region(row["adcode"])
        labels = _split(row["lead_industries"])
        codes = _split(row["gbt_codes"])
        groups = tuple(_split(group) for group in row["codes_by_industry"].split("|"))
        for code in codes:
            if code not in known:
                raise ShanhaiError(f"{where}: unknown GB/T 4754-2017 code {code!r}")
        if len(groups) != len(labels) or sorted(c for g in groups for c in g) != sorted(codes):
            raise ShanhaiError(f"{where}: codes_by_industry does not match lead_industries and gbt_codes")
        result.append(
            LeadIndustry(
                adcode=row["adcode"],
                name=row["name"],
                industries=labels,
                codes=codes,
                basis=row["basis"],
                industry_codes=groups,
            )
        )
    return tuple(result)


@cache
def mountain_sea_pairs() -> tuple[MountainSeaPair, ...]:
    """山海协作 pairings found in public news (24, partial), in file order."""
    mountain = {r.adcode for r in mountain_counties()}
    result = []
    for line, row in enumerate(_rows("mountain_sea_pairs.csv"), start=2):
        where = f"mountain_sea_pairs.csv line {line}"
        if row["mountain_adcode"] not in mountain:
            raise ShanhaiError(
                f"{where}: mountain_adcode {row['mountain_adcode']} is not one of the 26 mountain counties"
            )
        developed = row["developed_adcode"].strip() or None
        if developed is not None:
            region(developed)
        since = row["paired_since"].strip()
        if since and not since.isdigit():
            raise ShanhaiError(f"{where}: paired_since must be a year, got {since!r}")
        result.append(
            MountainSeaPair(
                developed_adcode=developed,
                developed_name=row["developed_name"],
                developed_city=row["developed_city"],
                mountain_adcode=row["mountain_adcode"],
                mountain_name=row["mountain_name"],
                mountain_city=row["mountain_city"],
                scope=row["scope"],
                paired_since=int(since) if since else None,
                evidence_date=row["evidence_date"],
                confidence=row["confidence"],
                source_url=row["source_url"],
                source_note=row["source_note"],
            )
        )
    return tuple(result)


@cache
def enclaves() -> tuple[Enclave, ...]:
    """Publicly reported 飞地 (enclaves) of the 26 mountain counties, in file order (partial)."""
    result = []
    seen: set[str] = set()
    for line, row in enumerate(_rows("enclaves.csv"), start=2):
        where = f"enclaves.csv line {line} ({row['enclave_id']})"
        if row["enclave_id"] in seen:
            raise ShanhaiError(f"{where}: duplicate enclave_id")
        seen.add(row["enclave_id"])
        if row["kind"] not in ENCLAVE_KINDS:
            raise ShanhaiError(f"{where}: kind must be one of {', '.join(ENCLAVE_KINDS)}, got {row['kind']!r}")
        for column in ("host_adcode", "owner_adcode"):
            if region(row[column]).level not in ("city", "county"):
                raise ShanhaiError(f"{where}: {column} must be a city or a county")
        if row["host_adcode"] == row["owner_adcode"] or not row["source_url"].startswith("http"):
            raise ShanhaiError(f"{where}: host and owner must differ and source_url must be an address")

        def number(column: str) -> float | None:
            value = row[column].strip()
            try:
                return float(value) if value else None
            except ValueError:
                raise ShanhaiError(f"{where}: {column} must be a number, got {value!r}") from None

        year = row["observed_return_year"].strip()
        result.append(Enclave(
            enclave_id=row["enclave_id"], name=row["name"], kind=row["kind"], host_adcode=row["host_adcode"],
            host_name=row["host_name"], owner_adcode=row["owner_adcode"], owner_name=row["owner_name"],
            established=row["established"].strip(), area_mu=number("area_mu"),
            investment_wan=number("investment_wan"), return_model=row["return_model"],
            return_terms=row["return_terms"], observed_return_year=int(year) if year else None,
            observed_return_wan=number("observed_return_wan"), confidence=row["confidence"],
            source_tag=row["source_tag"], source_url=row["source_url"], note=row["note"]))
    return tuple(result)


# -- map and licences ---------------------------------------------------------------------

_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


@cache
def geojson_path() -> Path:
    """Filesystem path of the county GeoJSON (90 features, WGS84, properties adcode/name/city)."""
    resource = _resource(GEOJSON)
    if isinstance(resource, Path):
        return resource
    return _extracted.enter_context(as_file(resource))  # zipped install: extracted until exit


@cache
def geojson() -> dict[str, Any]:
    """The county GeoJSON as a dict (cached and shared: do not modify it)."""
    return json.loads(_read_text(GEOJSON))


@cache
def licences_text() -> str:
    """Origins and licence texts of the packaged third-party data (LICENSES.txt)."""
    return _read_text("LICENSES.txt")
