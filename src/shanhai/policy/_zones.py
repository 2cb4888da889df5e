"""Development-zone evaluation methods (开发区综合评价, ``zones/*.toml``): data, like the per-mu presets.

A method names its source documents and says which zones it covers (level, kind, city), how they
are grouped for comparison (level, kind, city, area), which indicators it scores in which groups
(scale, quality, efficiency, innovation, opening-up, growth, green …) with which weights, how a
value becomes a 0–1 score (``ratio_to_best``, ``min_max`` or ``ratio_to_target``), what a
missing value scores, how tiers (梯队/档) are assigned and how far a zone may move in a year
(进档/退档), and what follows N years in a row in the bottom of its group (约谈/通报 → 限期整改 →
降级/摘牌撤销).

Points: each indicator earns ``100 × group weight × indicator weight × score``, so the points
add up to the total (0–100). ``zone_method(name)`` reads one; ``zone_methods()`` lists them (the
packaged ones, then ``$SHANHAI_POLICY_DIR/zones/``). The catalogue :data:`ZONE_INDICATORS` says
what each indicator id means and how the job computes it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._load import PolicyError
from shanhai.policy._rulesets import folders, pick, read_model

ZONES_DIR = Path(__file__).parent / "zones"
ZONE_LEVELS = ("national", "provincial", "other")
ZONE_KINDS = ("economic_development", "high_tech", "industrial_park", "other")
GROUP_BY = ("level", "kind", "city", "area")
TRANSFORMS = ("ratio_to_best", "min_max", "ratio_to_target")
MISSING_RULES = ("zero", "worst")
ACTIONS = ("warning", "rectify", "downgrade", "delist")
CITIES = ("3301", "3302", "3303", "3304", "3305", "3306", "3307", "3308", "3309", "3310", "3311")
LAND_BASES = ("parcels", "enterprise")


class ZoneIndicator(BaseModel):
    """One indicator of the catalogue: labels, unit, whether it can be negative, the formula."""
    model_config = ConfigDict(frozen=True)
    id: str
    zh: str
    en: str
    unit: str
    signed: bool          # may be negative (growth, margins): ratio_to_best is refused
    formula: str


def _ind(id_, zh, en, unit, signed, formula):
    return id_, ZoneIndicator(id=id_, zh=zh, en=en, unit=unit, signed=signed, formula=formula)


# id → definition; "Σ" runs over the zone's firms with a row for the year (enterprises.zone_id)
ZONE_INDICATORS: dict[str, ZoneIndicator] = dict([
    _ind("value_added", "工业增加值", "Industrial value added", "万元", False, "Σ value_added"),
    _ind("tax_paid", "实缴税金", "Taxes paid", "万元", False, "Σ tax_paid"),
    _ind("revenue", "营业收入", "Revenue", "万元", False, "Σ revenue"),
    _ind("above_scale_firms", "规上工业企业数", "Above-scale firms", "家", False, "count of above_scale firms"),
    _ind("value_added_per_mu", "亩均增加值", "Value added per mu", "万元/亩", False, "Σ value_added ÷ land (亩)"),
    _ind("tax_per_mu", "亩均税收", "Tax per mu", "万元/亩", False, "Σ tax_paid ÷ land (亩)"),
    _ind("labour_productivity", "全员劳动生产率", "Labour productivity", "万元/人", False,
         "Σ value_added ÷ Σ headcount (firms reporting both)"),
    _ind("value_added_per_energy", "单位能耗增加值", "Value added per tce", "万元/吨标准煤", False,
         "Σ value_added ÷ Σ energy_tce (firms reporting both)"),
    _ind("profit_margin", "营业收入利润率", "Profit margin", "%", True, "Σ profit ÷ Σ revenue (firms reporting both)"),
    _ind("idle_land_share", "低效用地占比", "Inefficient land share", "%", False,
         "parcels not in_use ÷ all supplied parcels (areas, supplied by the year's end)"),
    _ind("rd_intensity", "研发经费投入强度", "R&D intensity", "%", False,
         "Σ rd_spending ÷ Σ main_revenue (firms reporting both)"),
    _ind("high_tech_share", "高新技术企业增加值占比", "High-tech firms' share of value added", "%", False,
         "Σ value_added of high_tech firms ÷ Σ value_added"),
    _ind("high_tech_firms", "高新技术企业数", "High-tech firms", "家", False,
         "count of firms flagged high_tech at the year's end"),
    _ind("exports", "出口额", "Exports", "万元", False, "zone_facts.exports"),
    _ind("export_share", "出口占营业收入比重", "Exports ÷ revenue", "%", False, "zone_facts.exports ÷ Σ revenue"),
    _ind("actual_fdi", "实际使用外资", "Foreign direct investment used", "万美元", False, "zone_facts.actual_fdi"),
    _ind("fixed_asset_investment", "固定资产投资", "Fixed-asset investment", "万元", False,
         "zone_facts.fixed_asset_investment"),
    _ind("project_investment", "项目完成投资", "Project investment in the year", "万元", False,
         "Σ over projects in the zone of (cumulative invested at the year's end − at the previous year's end)"),
    _ind("value_added_growth", "工业增加值增速", "Value added growth", "%", True,
         "Σ value_added (year) ÷ Σ value_added (year − 1) − 1, the zone's firms of each year"),
    _ind("tax_growth", "税收增速", "Tax growth", "%", True, "Σ tax_paid (year) ÷ Σ tax_paid (year − 1) − 1"),
])

Weight = Field(gt=0, le=1)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndicatorRule(_Model):
    id: str
    weight: float = Weight                     # share of its group (a group's weights add up to 1)
    direction: Literal["higher", "lower"] = "higher"
    transform: Literal["ratio_to_best", "min_max", "ratio_to_target"] = "ratio_to_best"
    target: float | None = Field(None, gt=0, le=1e9)
    cap: float = Field(1.0, ge=1, le=10)       # ratio_to_target: the score's ceiling
    missing: Literal["zero", "worst"] | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.id not in ZONE_INDICATORS:
            raise ValueError(f"unknown indicator {self.id!r}: expected one of {', '.join(ZONE_INDICATORS)}")
        if self.transform == "ratio_to_target" and self.target is None:
            raise ValueError(f"indicator {self.id}: ratio_to_target needs a target above 0")
        if self.transform != "ratio_to_target" and self.target is not None:
            raise ValueError(f"indicator {self.id}: a target is only read by ratio_to_target")
        if self.transform == "ratio_to_best" and ZONE_INDICATORS[self.id].signed:
            raise ValueError(f"indicator {self.id} can be negative: use min_max or ratio_to_target, not ratio_to_best")
        if self.transform == "ratio_to_best" and self.direction == "lower":
            raise ValueError(f"indicator {self.id}: a 'lower is better' indicator needs min_max or ratio_to_target "
                             "(the best of a lower indicator can be 0)")
        return self


class IndicatorGroup(_Model):
    id: Literal["scale", "quality", "efficiency", "innovation", "opening_up", "growth", "green", "coordination"]
    display_name: str
    display_name_en: str = ""
    weight: float = Weight                     # share of the total
    published: bool = False                    # the weight is read in the source (else a Shanhai parameter)
    indicators: tuple[IndicatorRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self):
        total = sum(i.weight for i in self.indicators)
        if abs(total - 1) > 1e-9:
            raise ValueError(f"group {self.id}: the indicator weights must add up to 1 (they add up to {total:g})")
        ids = [i.id for i in self.indicators]
        if len(set(ids)) != len(ids):
            raise ValueError(f"group {self.id}: an indicator is listed twice")
        return self


class Covers(_Model):
    levels: tuple[Literal["national", "provincial", "other"], ...] = Field(min_length=1)
    kinds: tuple[Literal["economic_development", "high_tech", "industrial_park", "other"], ...] = ZONE_KINDS
    cities: tuple[str, ...] = ()               # 4-digit city prefixes (3301 …); empty: every city

    @model_validator(mode="after")
    def _check(self):
        bad = [c for c in self.cities if c not in CITIES]
        if bad:
            raise ValueError(f"cities: {', '.join(bad)} not a Zhejiang city prefix (3301 … 3311)")
        return self


class Area(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    display_name: str
    display_name_en: str = ""
    cities: tuple[str, ...] = Field(min_length=1)


class Comparison(_Model):
    by: tuple[Literal["level", "kind", "city", "area"], ...] = ()
    areas: tuple[Area, ...] = ()
    areas_published: bool = False              # the area membership is read in the source

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.by)) != len(self.by):
            raise ValueError("by names a field twice")
        if "area" in self.by:
            seen: dict[str, str] = {}
            for a in self.areas:
                for c in a.cities:
                    if c not in CITIES:
                        raise ValueError(f"areas.{a.id}: {c} is not a Zhejiang city prefix (3301 … 3311)")
                    if c in seen:
                        raise ValueError(f"areas: city {c} is in both {seen[c]} and {a.id}")
                    seen[c] = a.id
            missing = [c for c in CITIES if c not in seen]
            if missing:
                raise ValueError(f"areas: cities {', '.join(missing)} belong to no area")
        elif self.areas:
            raise ValueError("areas is only read when comparison.by names 'area'")
        return self

    def area_of(self, city_prefix: str) -> str | None:
        for a in self.areas:
            if city_prefix in a.cities:
                return a.id
        return None


class Tier(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    display_name: str
    display_name_en: str = ""
    share: float | None = Field(None, gt=0, le=1)       # basis rank_share
    min_score: float | None = Field(None, ge=0, le=100)  # basis score


class Tiers(_Model):
    basis: Literal["rank_share", "score"]
    levels: tuple[Tier, ...] = Field(min_length=2)
    max_step: int = Field(0, ge=0, le=10)               # 0: a zone may move any number of tiers in a year
    published: bool = False

    @model_validator(mode="after")
    def _check(self):
        ids = [t.id for t in self.levels]
        if len(set(ids)) != len(ids):
            raise ValueError("levels: a tier id is used twice")
        *upper, last = self.levels
        if self.basis == "rank_share":
            if any(t.min_score is not None for t in self.levels):
                raise ValueError("min_score is only read with basis = 'score'")
            if any(t.share is None for t in upper):
                raise ValueError("every tier but the last needs a share (basis rank_share)")
            total = sum(t.share for t in upper)
            if total >= 1 - 1e-9:
                raise ValueError(f"the shares of the tiers above the last must add up to less than 1 "
                                 f"(they add up to {total:g}; the last tier takes the rest)")
            if last.share is not None:
                raise ValueError("the last tier takes the rest: leave its share out")
        else:
            if any(t.share is not None for t in self.levels):
                raise ValueError("share is only read with basis = 'rank_share'")
            if any(t.min_score is None for t in upper):
                raise ValueError("every tier but the last needs a min_score (basis score)")
            scores = [t.min_score for t in upper]
            if any(b >= a for a, b in zip(scores, scores[1:])):
                raise ValueError("min_score must fall from the first tier to the last")
            if last.min_score is not None:
                raise ValueError("the last tier takes the rest: leave its min_score out")
        return self


class Stage(_Model):
    years: int = Field(ge=1, le=10)            # consecutive years in the bottom N
    action: Literal["warning", "rectify", "downgrade", "delist"]
    display_name: str
    display_name_en: str = ""
    published: bool = False


class Bottom(_Model):
    n: int = Field(ge=1, le=50)
    stages: tuple[Stage, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self):
        years = [s.years for s in self.stages]
        if any(b <= a for a, b in zip(years, years[1:])):
            raise ValueError("stages: years must rise from one stage to the next")
        return self


class ZoneMethod(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    display_name: str
    version: str = Field(min_length=1)
    source: str = Field(min_length=1)
    confidence: str = ""
    notes: str = ""
    land_basis: Literal["parcels", "enterprise"] = "parcels"
    missing: Literal["zero", "worst"] = "worst"
    covers: Covers
    comparison: Comparison = Comparison()
    groups: tuple[IndicatorGroup, ...] = Field(min_length=1)
    tiers: Tiers
    bottom: Bottom

    @model_validator(mode="after")
    def _check(self):
        total = sum(g.weight for g in self.groups)
        if abs(total - 1) > 1e-9:
            raise ValueError(f"the group weights must add up to 1 (they add up to {total:g})")
        ids = [g.id for g in self.groups]
        if len(set(ids)) != len(ids):
            raise ValueError("a group is listed twice")
        inds = [i.id for g in self.groups for i in g.indicators]
        twice = sorted({i for i in inds if inds.count(i) > 1})
        if twice:
            raise ValueError(f"indicator {', '.join(twice)} is scored in more than one group")
        return self

    # ---- helpers -----------------------------------------------------------------------------

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True,
                                         ensure_ascii=False).encode()).hexdigest()

    def rules(self) -> list[tuple[IndicatorGroup, IndicatorRule]]:
        return [(g, i) for g in self.groups for i in g.indicators]

    def missing_rule(self, rule: IndicatorRule) -> str:
        return rule.missing or self.missing

    def tier_ids(self) -> list[str]:
        return [t.id for t in self.tiers.levels]

    def tier_label(self, tier_id: str | None, lang: str = "zh") -> str | None:
        for t in self.tiers.levels:
            if t.id == tier_id:
                return t.display_name_en or t.display_name if lang == "en" else t.display_name
        return None


def zone_methods() -> dict[str, ZoneMethod]:
    """Every zone method by name: the packaged ones (``policy/zones/NAME.toml``), then those in
    $SHANHAI_POLICY_DIR/zones."""
    return dict(_methods(folders(ZONES_DIR, "zones")))


def _methods(where: tuple[Path, ...]) -> dict[str, ZoneMethod]:
    found: dict[str, ZoneMethod] = {}
    for folder in where:
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            method = read_model(path, ZoneMethod)
            if path.stem != method.name:
                raise PolicyError(f"{path}: the file name must be {method.name}.toml (the method's name)")
            if method.name in found:
                raise PolicyError(f"{path}: zone method {method.name} is already defined")
            found[method.name] = method
    return found


def load_zone_method(path: str | Path) -> ZoneMethod:
    """One method from a file (its name need not match: a draft being tried)."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"{path}: no such zone method file")
    return read_model(path, ZoneMethod)


def zone_method(name: str) -> ZoneMethod:
    """A zone method by name, or a path to a TOML file."""
    if name.endswith(".toml"):
        return load_zone_method(name)
    return pick(zone_methods(), name, "zone method")
