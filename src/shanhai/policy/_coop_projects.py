"""山海协作 project rule sets (``coop/*.toml``): the lifecycle lights, first-contact credit, the
output and tax sharing schedule and the ranking of receiving regions for a lead. Data, like the
presets: each file is ``KIND_NAME.toml`` (``lifecycle_default.toml``) holding ``name = "NAME"``;
the packaged ones here, more in ``$SHANHAI_POLICY_DIR/coop/``.

``lifecycle_rules(name)``, ``credit_rules(name)``, ``sharing_rules(name)``, ``ranking_rules(name)``
read one; ``coop_rule_sets(kind)`` lists a kind's. Every model has ``fingerprint()``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._load import PolicyError
from shanhai.policy._rulesets import folders, pick, rule_sets

COOP_DIR = Path(__file__).parent / "coop"
# the lifecycle of an investment project, in order (签约 → 供地 → 开工 → 竣工 → 投产 → 上规 → 达产)
LIFECYCLE = ("signed", "land_supplied", "started", "completed", "producing", "above_scale", "full_output")
Share = Field(ge=0, le=1)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Named(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    display_name: str
    version: str
    source: str = ""

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def _stage_map(values: dict, what: str, *, need_all: bool, allow_signed: bool = True) -> dict:
    unknown = sorted(set(values) - set(LIFECYCLE))
    if unknown:
        raise ValueError(f"{what} has unknown stages {', '.join(unknown)}: expected some of {', '.join(LIFECYCLE)}")
    if not allow_signed and "signed" in values:
        raise ValueError(f"{what} cannot name 'signed' (the plan counts from the signing date)")
    wanted = [s for s in LIFECYCLE if allow_signed or s != "signed"]
    missing = [s for s in wanted if s not in values]
    if need_all and missing:
        raise ValueError(f"{what} needs every stage: {', '.join(missing)} missing")
    return values


# ---- lifecycle lights ------------------------------------------------------------------------

class ProgressBands(_Model):
    amber_gap: float = Share
    red_gap: float = Share

    @model_validator(mode="after")
    def _order(self):
        if self.red_gap < self.amber_gap:
            raise ValueError("red_gap must be at least amber_gap")
        return self


class OverdueBands(_Model):
    amber_months: int = Field(ge=0, le=120)
    red_months: int = Field(ge=0, le=120)

    @model_validator(mode="after")
    def _order(self):
        if self.red_months < self.amber_months:
            raise ValueError("red_months must be at least amber_months")
        return self


class NotStarted(_Model):
    grace_months: int = Field(0, ge=0, le=60)
    light: Literal["amber", "red"] = "red"


class Stalled(_Model):
    months: int = Field(ge=1, le=120)


class Kpi(_Model):
    honoured_grace_months: int = Field(ge=0, le=60)


class LifecycleRules(_Named):
    stage_weights: dict[str, float]
    default_plan_months: dict[str, int]
    progress: ProgressBands
    overdue: OverdueBands
    not_started: NotStarted
    stalled: Stalled
    kpi: Kpi

    @model_validator(mode="after")
    def _stages(self):
        _stage_map(self.stage_weights, "stage_weights", need_all=True)
        weights = [self.stage_weights[s] for s in LIFECYCLE]
        if any(not 0 <= w <= 1 for w in weights):
            raise ValueError("stage_weights must lie between 0 and 1")
        if any(b < a for a, b in zip(weights, weights[1:])):
            raise ValueError("stage_weights must not decrease along the lifecycle")
        if self.stage_weights["full_output"] != 1:
            raise ValueError("stage_weights.full_output must be 1 (a project at full output is done)")
        _stage_map(self.default_plan_months, "default_plan_months", need_all=True, allow_signed=False)
        months = [self.default_plan_months[s] for s in LIFECYCLE[1:]]
        if any(m < 0 for m in months) or any(b < a for a, b in zip(months, months[1:])):
            raise ValueError("default_plan_months must be non-negative and not decrease along the lifecycle")
        if months[-1] <= 0:
            raise ValueError("default_plan_months.full_output must be above 0")
        return self


# ---- first-contact credit --------------------------------------------------------------------

class CreditCaps(_Model):
    per_project: float = Field(ge=0, le=10_000)
    per_region: float = Field(ge=0, le=100_000)


class CreditRules(_Named):
    transferred_lead: float = Field(ge=0, le=1000)
    per_100m: float = Field(ge=0, le=1000)
    stages: dict[str, float]
    caps: CreditCaps

    @model_validator(mode="after")
    def _check(self):
        _stage_map(self.stages, "stages", need_all=False)
        if any(not 0 <= v <= 1000 for v in self.stages.values()):
            raise ValueError("stage points must lie between 0 and 1000")
        return self


# ---- sharing -----------------------------------------------------------------------------------

class SharePeriod(_Model):
    years: int = Field(ge=0, le=100)          # 0: every year after the periods before
    landing_share: float = Share

    @property
    def partner_share(self) -> float:
        return round(1 - self.landing_share, 4)


class SharingRules(_Named):
    start: Literal["producing", "signed", "started"] = "producing"
    periods: tuple[SharePeriod, ...] = Field(min_length=1)
    default_tax_rate: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _check(self):
        for i, p in enumerate(self.periods):
            if p.years == 0 and i != len(self.periods) - 1:
                raise ValueError("only the last period may be open-ended (years = 0)")
            if round(p.landing_share, 4) != p.landing_share:
                raise ValueError("landing_share has at most 4 decimals")
        return self

    def schedule(self, first_year: int) -> list[tuple[int, int | None, float]]:
        """(from_year, to_year or None, landing_share) from ``first_year`` on."""
        out, year = [], first_year
        for p in self.periods:
            if p.years == 0:
                out.append((year, None, p.landing_share))
                break
            out.append((year, year + p.years - 1, p.landing_share))
            year += p.years
        return out


# ---- ranking of receiving regions -------------------------------------------------------------

class RankWeights(_Model):
    chain: float = Share
    lead_industry: float = Share
    land: float = Share
    zone: float = Share
    energy: float = Share

    @model_validator(mode="after")
    def _sum_one(self):
        total = self.chain + self.lead_industry + self.land + self.zone + self.energy
        if abs(total - 1) > 1e-9:
            raise ValueError(f"the ranking weights must add up to 1 (they add up to {total:g})")
        return self


class ChainPoints(_Model):
    strong: float = Share
    present: float = Share
    weak: float = Share
    missing: float = Share
    absent: float = Share
    outside: float = Share


class LeadIndustryPoints(_Model):
    first: float = Share
    other: float = Share
    division: float = Share


class EnergyRule(_Model):
    good_ratio: float = Field(ge=0, le=100)
    bad_ratio: float = Field(gt=0, le=100)
    default_limit: float | None = Field(None, gt=0, le=100)
    limits: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self):
        if self.bad_ratio <= self.good_ratio:
            raise ValueError("energy.bad_ratio must be above good_ratio")
        for code, value in self.limits.items():
            if not (len(code) == 6 and code.isdigit()) or not 0 < value <= 100:
                raise ValueError(f"energy.limits: {code!r} = {value!r}: expected a 6-digit county adcode and a limit above 0")
        return self

    def limit(self, adcode: str) -> float | None:
        return self.limits.get(adcode, self.default_limit)


LAND_STATUSES = ("in_use", "approved_not_supplied", "supplied_not_used", "underused", "built_not_operating",
                 "operating_below_standard")


class RankingRules(_Named):
    weights: RankWeights
    chain_points: ChainPoints
    lead_industry: LeadIndustryPoints
    free_land_statuses: tuple[str, ...] = Field(min_length=1)
    energy: EnergyRule

    @model_validator(mode="after")
    def _check(self):
        unknown = sorted(set(self.free_land_statuses) - set(LAND_STATUSES))
        if unknown:
            raise ValueError(f"free_land_statuses: unknown {', '.join(unknown)}: expected some of {', '.join(LAND_STATUSES)}")
        return self


# ---- loading -----------------------------------------------------------------------------------

KINDS: dict[str, type[_Named]] = {"lifecycle": LifecycleRules, "credit": CreditRules, "sharing": SharingRules,
                                  "ranking": RankingRules}


def coop_rule_sets(kind: str) -> dict:
    """Every rule set of ``kind`` (lifecycle, credit, sharing, ranking) by name: the packaged ones,
    then those in $SHANHAI_POLICY_DIR/coop."""
    if kind not in KINDS:
        raise PolicyError(f"unknown kind of project rules {kind!r}: expected one of {', '.join(KINDS)}")
    return dict(rule_sets(KINDS[kind], folders(COOP_DIR, "coop"), f"{kind}_", f"{kind} rule set"))


def _get(kind: str, name: str):
    return pick(coop_rule_sets(kind), name, f"{kind} rule set")


def lifecycle_rules(name: str = "default") -> LifecycleRules:
    return _get("lifecycle", name)


def credit_rules(name: str = "default") -> CreditRules:
    return _get("credit", name)


def sharing_rules(name: str = "default") -> SharingRules:
    return _get("sharing", name)


def ranking_rules(name: str = "default") -> RankingRules:
    return _get("ranking", name)
