"""Energy and carbon policy data (``carbon/*.toml``): the conversion factor sets
(``factors-NAME.toml``: tce per unit by 当量值 and by 等价值 a coefficient per year, grid CO2
factors by series, geography and year, fuel defaults) and the 碳效码 grading presets
(``grading-NAME.toml``: levels, grade cut-offs, the industry average, the zero-carbon deduction,
the low-carbon line and target). Data, like the per-mu presets; read through
:mod:`shanhai.policy._rulesets`. Every value carries its source and a status (published,
secondary, assumed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._load import PolicyError
from shanhai.policy._rulesets import folders, pick, rule_sets

CARBON_DIR = Path(__file__).parent / "carbon"
ELECTRIC = ("grid_electricity", "green_power", "pv_self")
FUELS = ("coal", "natural_gas", "diesel", "gasoline", "fuel_oil", "lpg", "heat")
CARRIERS = ELECTRIC + FUELS
Status = Literal["published", "secondary", "assumed", "not confirmed"]
GEOGRAPHIES = ("national", "east_china", "zhejiang")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FuelFactor(_Model):
    label: str
    unit: Literal["t", "m3", "GJ"]
    tce_per_unit: float = Field(gt=0)
    co2_per_unit: float = Field(ge=0)
    source: str
    status: Status


class EqualValue(_Model):
    year: int = Field(ge=1990, le=2100)
    tce_per_kwh: float = Field(gt=0, lt=0.001)
    source: str
    status: Status


class Electricity(_Model):
    equivalent_tce_per_kwh: float = Field(gt=0, lt=0.001)
    equivalent_source: str
    equal: tuple[EqualValue, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        years = [e.year for e in self.equal]
        if len(set(years)) != len(years):
            raise ValueError("electricity.equal: a year is listed twice")
        return self


class GridFactor(_Model):
    series: str = Field(pattern=r"^[a-z0-9_]+$")
    geography: Literal["national", "east_china", "zhejiang"]
    year: int = Field(ge=1990, le=2100)
    t_per_kwh: float = Field(ge=0, lt=0.002)
    source: str
    status: Status


class Factors(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    display_name: str
    version: str
    source: str
    carriers: dict[str, FuelFactor]
    electricity: Electricity
    grid: tuple[GridFactor, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self):
        missing = [c for c in FUELS if c not in self.carriers]
        unknown = [c for c in self.carriers if c not in FUELS]
        if missing or unknown:
            raise ValueError(f"carriers: missing {missing or '-'}, unknown {unknown or '-'} "
                             f"(expected exactly {', '.join(FUELS)})")
        keys = [(g.series, g.geography, g.year) for g in self.grid]
        if len(set(keys)) != len(keys):
            raise ValueError("grid: a (series, geography, year) is listed twice")
        return self

    def series(self) -> list[str]:
        return sorted({g.series for g in self.grid})

    def grid_factor(self, series: str, geography: str, year: int) -> GridFactor:
        """The factor of ``year``; else the latest earlier year; else the first year of the series."""
        rows = sorted((g for g in self.grid if g.series == series and g.geography == geography), key=lambda g: g.year)
        if not rows:
            have = sorted({f"{g.series}/{g.geography}" for g in self.grid})
            raise PolicyError(f"factor set {self.name!r} has no grid factor series {series!r} for geography "
                              f"{geography!r}: expected one of {', '.join(have)}")
        earlier = [g for g in rows if g.year <= year]
        return earlier[-1] if earlier else rows[0]

    def equal_value(self, year: int) -> EqualValue:
        rows = sorted(self.electricity.equal, key=lambda e: e.year)
        earlier = [e for e in rows if e.year <= year]
        return earlier[-1] if earlier else rows[0]

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


class Levels(_Model):
    low: float = Field(gt=0)
    medium: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self):
        if self.medium <= self.low:
            raise ValueError(f"levels: medium ({self.medium:g}) must be above low ({self.low:g})")
        return self


class Grades(_Model):
    cutoffs: tuple[float, float, float, float]

    @model_validator(mode="after")
    def _order(self):
        if any(b <= a for a, b in zip(self.cutoffs, self.cutoffs[1:])) or self.cutoffs[0] <= 0:
            raise ValueError(f"grades.cutoffs must be positive and increasing, got {list(self.cutoffs)}")
        return self


class Industry(_Model):
    aggregation: Literal["ratio_of_sums", "mean_of_ratios"] = "ratio_of_sums"
    level: Literal["division", "class"] = "division"
    geography: Literal["province", "city", "county"] = "province"
    min_firms: int = Field(3, ge=1)


class ZeroCarbon(_Model):
    deduct: bool = True
    count_in_energy: bool = False


class LowCarbon(_Model):
    line: float = Field(gt=0)
    target_share: float = Field(gt=0, le=1)
    target_year: int = Field(ge=2000, le=2100)
    target_status: Status


class Grading(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    display_name: str
    version: str
    source: str
    factors: str = "default"
    grid_series: str = "mee_nbs_average"
    grid_geography: Literal["national", "east_china", "zhejiang"] = "national"
    above_scale_only: bool = True
    levels: Levels
    grades: Grades
    industry: Industry = Industry()
    zero_carbon: ZeroCarbon = ZeroCarbon()
    low_carbon: LowCarbon

    def with_(self, **changes) -> "Grading":
        """A copy with some settings changed (what-if): keys ``grid_series``, ``grid_geography``,
        ``factors``, ``aggregation``, ``deduct``; the copy's version says so."""
        data = self.model_dump(mode="json")
        note = []
        for key, value in changes.items():
            if value is None:
                continue
            if key in ("grid_series", "grid_geography", "factors"):
                data[key] = value
            elif key == "aggregation":
                data["industry"]["aggregation"] = value
            elif key == "deduct":
                data["zero_carbon"]["deduct"] = bool(value)
            else:
                raise PolicyError(f"unknown grading setting {key!r}")
            note.append(f"{key}={value}")
        if note:
            data["version"] = f"{self.version}+" + ",".join(note)
        return Grading.model_validate(data)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


def factor_sets() -> dict[str, Factors]:
    """Every factor set by name (packaged, then ``$SHANHAI_POLICY_DIR/carbon``)."""
    return rule_sets(Factors, folders(CARBON_DIR, "carbon"), "factors-", "factor set")


def factors(name: str = "default") -> Factors:
    return pick(factor_sets(), name, "factor set")


def gradings() -> dict[str, Grading]:
    """Every 碳效码 grading preset by name."""
    return rule_sets(Grading, folders(CARBON_DIR, "carbon"), "grading-", "carbon grading preset")


def grading(name: str = "default") -> Grading:
    g = pick(gradings(), name, "carbon grading preset")
    f = factors(g.factors)
    f.grid_factor(g.grid_series, g.grid_geography, 2100)   # the series exists
    return g
