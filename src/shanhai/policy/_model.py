"""Typed models of a per-mu policy preset, with every constraint declared on its field.

The constraints do two jobs (scikit-learn's habit): they validate a preset file, with a message
naming the file and the field, and ``tests/policy`` reads them back from the JSON schema to
generate hostile presets. Cross-field rules (shares add up to 1, references resolve) are the
``model_validator``s at the end of each model.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._indicators import INDICATORS

FLAGS = ("high_tech", "tech_sme", "innovative_sme", "specialised", "little_giant", "hidden_champion",
         "single_champion", "rd_institution", "safety_violation", "environmental_violation", "major_safety_accident",
         "major_environmental_incident", "dishonest")
FLAG_LABELS = {
    "high_tech": "高新技术企业", "tech_sme": "科技型中小企业", "innovative_sme": "创新型中小企业",
    "specialised": "专精特新中小企业",
    "little_giant": "专精特新\"小巨人\"", "hidden_champion": "隐形冠军", "single_champion": "单项冠军",
    "rd_institution": "省级及以上研发机构", "safety_violation": "安全生产违法", "environmental_violation": "环保违法",
    "major_safety_accident": "重大安全事故", "major_environmental_incident": "重大环境事件", "dishonest": "严重失信",
}

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
ClassCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z+\-]?$")]
IndicatorId = Literal[tuple(INDICATORS)]  # type: ignore[valid-type]
Flag = Literal[FLAGS]  # type: ignore[valid-type]
IndustryPrefix = Annotated[str, Field(pattern=r"^\d{2}(\d{1,2})?$")]
Points = Annotated[float, Field(ge=0, le=1000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Benchmark(_Model):
    """What an indicator's value is divided by. ``fixed``: a published number; the others are
    statistics of the population in the evaluation unit (``sum_ratio`` = Σ numerator ÷ Σ
    denominator, the county's own figure), times ``multiple``."""

    kind: Literal["fixed", "sum_ratio", "mean", "median", "percentile", "max"]
    value: Annotated[float, Field(gt=0)] | None = None
    q: Annotated[float, Field(gt=0, lt=1)] | None = None
    multiple: Annotated[float, Field(gt=0, le=100)] = 1.0
    population: Identifier | None = None        # benchmark from another population's firms
    over: Literal["unit", "all"] = "unit"       # within each evaluation unit, or across all of them
    data: Literal["sum_ratio", "mean", "median", "max"] | None = None  # used instead of a fixed value
                                                                        # when evaluating with benchmarks=data

    @model_validator(mode="after")
    def _complete(self):
        if self.kind == "fixed" and self.value is None:
            raise ValueError("a fixed benchmark needs value")
        if self.kind != "fixed" and self.value is not None:
            raise ValueError(f"value is only for fixed benchmarks, not {self.kind}")
        if self.kind == "percentile" and self.q is None:
            raise ValueError("a percentile benchmark needs q (0 < q < 1)")
        if self.data is not None and self.kind != "fixed":
            raise ValueError("data names the statistic that replaces a fixed value; this benchmark is not fixed")
        return self


class IndicatorRule(_Model):
    """One scored indicator: score = value ÷ benchmark × weight (``higher``) or benchmark ÷ value ×
    weight (``lower``), then capped at ``cap`` × weight and floored at ``floor`` × weight."""

    id: IndicatorId
    weight: Annotated[float, Field(gt=0, le=1000)]
    benchmark: Benchmark
    direction: Literal["higher", "lower"] = "higher"
    cap: Annotated[float, Field(gt=0, le=100)] | None = None
    floor: Annotated[float, Field(ge=-100, le=100)] | None = None
    missing: Literal["zero", "mean_score", "min_score", "deduct"] = "zero"
    deduct: Points = 0.0
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self):
        if self.cap is not None and self.floor is not None and self.floor > self.cap:
            raise ValueError(f"floor {self.floor} is above cap {self.cap}")
        if self.missing == "deduct" and self.deduct == 0:
            raise ValueError("missing = 'deduct' needs deduct > 0")
        if self.missing != "deduct" and self.deduct:
            raise ValueError("deduct is only used with missing = 'deduct'")
        return self


class Population(_Model):
    """Firms scored and classed together. A firm belongs to the first population whose every
    stated condition holds; a firm in none is not evaluated (class T)."""

    id: Identifier
    label: str
    label_en: str = ""
    above_scale: bool | None = None
    own_land_min: Annotated[float, Field(ge=0)] | None = None   # 自有用地 ≥ (亩)
    own_land_max: Annotated[float, Field(gt=0)] | None = None   # 自有用地 < (亩)
    lessee: bool | None = None          # no own land, leased land only (租赁企业)
    indicators: Annotated[list[IndicatorRule], Field(min_length=1, max_length=len(INDICATORS))]
    shares: dict[ClassCode, Annotated[float, Field(ge=0, le=1)]] | None = None
    thresholds: dict[ClassCode, float] | None = None

    @model_validator(mode="after")
    def _consistent(self):
        ids = [i.id for i in self.indicators]
        if len(set(ids)) != len(ids):
            raise ValueError(f"population {self.id}: an indicator is listed twice ({', '.join(ids)})")
        if self.own_land_min is not None and self.own_land_max is not None and self.own_land_min >= self.own_land_max:
            raise ValueError(f"population {self.id}: own_land_min must be below own_land_max")
        return self

    @property
    def weight(self) -> float:
        return sum(i.weight for i in self.indicators)


class Group(_Model):
    """An industry group inside which ranks are taken (Wenling: five groups)."""

    id: Identifier
    label: str
    industries: list[IndustryPrefix] = Field(default_factory=list)  # empty: every industry not in another group


class FlagPoints(_Model):
    flag: Flag
    points: Annotated[float, Field(gt=0, le=100)]
    populations: list[Identifier] = Field(default_factory=list)


class Condition(_Model):
    """All stated parts must hold."""

    indicator: IndicatorId | None = None
    below: float | None = None
    at_least: float | None = None
    flag: Flag | None = None
    founded_within_years: Annotated[int, Field(ge=1, le=50)] | None = None

    @model_validator(mode="after")
    def _some(self):
        if self.indicator is None and (self.below is not None or self.at_least is not None):
            raise ValueError("below / at_least need an indicator")
        if self.indicator is not None and self.below is None and self.at_least is None:
            raise ValueError(f"indicator {self.indicator} needs below or at_least")
        if self.indicator is None and self.flag is None and self.founded_within_years is None:
            raise ValueError("a rule needs a condition: indicator, flag or founded_within_years")
        return self


class Action(_Model):
    """``set``: this class; ``down``: N classes worse; ``best``: no better than; ``worst``: no worse than."""

    set: ClassCode | None = None
    down: Annotated[int, Field(ge=1, le=5)] | None = None
    best: ClassCode | None = None
    worst: ClassCode | None = None

    @model_validator(mode="after")
    def _one(self):
        if sum(v is not None for v in (self.set, self.down, self.best, self.worst)) != 1:
            raise ValueError("an action is exactly one of set, down, best, worst")
        return self


class Rule(_Model):
    """A hard rule applied after the score's class, in file order (a veto, a floor, a protection)."""

    id: Identifier
    label: str
    populations: list[Identifier] = Field(default_factory=list)
    when: Condition
    then: Action


class Escalation(_Model):
    consecutive_years: Annotated[int, Field(ge=2, le=10)]
    electricity: Annotated[float, Field(ge=-10, le=10)]


Quota = Literal["priority", "normal", "restricted", "cut"]


class Consequence(_Model):
    """What a class costs or earns: 差别化电价/水价/气价 per unit (元; negative = rebate), a
    collection window, a per-firm cap, a small-user exemption, escalation for repeated years in
    the class, land-use tax relief and quota priority."""

    populations: list[Identifier] = Field(default_factory=list)
    class_: ClassCode = Field(alias="class")
    electricity: Annotated[float, Field(ge=-10, le=10)] | None = None   # 元/kWh
    water: Annotated[float, Field(ge=-100, le=100)] | None = None       # 元/t
    gas: Annotated[float, Field(ge=-100, le=100)] | None = None         # 元/m³
    window_from: dt.date | None = None
    window_to: dt.date | None = None
    window_months: Annotated[int, Field(ge=1, le=36)] | None = None   # instead of dates: months charged
    cap_wan: Annotated[float, Field(gt=0)] | None = None               # per firm, 万元
    exempt_below_kwh: Annotated[float, Field(ge=0)] | None = None
    escalation: list[Escalation] = Field(default_factory=list)
    land_tax_relief: Annotated[float, Field(ge=0, le=1)] | None = None  # share of 城镇土地使用税 relieved
    energy_quota: Quota | None = None
    land_quota: Quota | None = None
    note: str = ""

    @model_validator(mode="after")
    def _window(self):
        if (self.window_from is None) != (self.window_to is None):
            raise ValueError("window_from and window_to go together")
        if self.window_from and self.window_to and self.window_to < self.window_from:
            raise ValueError("window_to is before window_from")
        if self.window_months is not None and self.window_from is not None:
            raise ValueError("give the collection window as dates or as window_months, not both")
        return self

    @property
    def months(self) -> int:
        """Months the surcharge is collected: from the dates, window_months, or a year."""
        if self.window_months is not None:
            return self.window_months
        if self.window_from is None or self.window_to is None:
            return 12
        return (self.window_to.year - self.window_from.year) * 12 + self.window_to.month - self.window_from.month + 1


class Classes(_Model):
    """Class assignment: by rank shares inside each evaluation unit (× population, × group), or by
    score thresholds (score ≥ the class's threshold, best first; the last class takes the rest)."""

    method: Literal["rank_shares", "thresholds"]
    within: list[Literal["population", "group"]] = Field(default_factory=lambda: ["population"])
    order: Annotated[list[ClassCode], Field(min_length=2, max_length=6)] = Field(
        default_factory=lambda: ["A", "B", "C", "D"])
    labels: dict[ClassCode, str] = Field(default_factory=dict)
    labels_en: dict[ClassCode, str] = Field(default_factory=dict)
    shares: dict[ClassCode, Annotated[float, Field(ge=0, le=1)]] | None = None
    thresholds: dict[ClassCode, float] | None = None
    excluded_label: str = "不参评"


class Scope(_Model):
    """Who is evaluated at all; the rest get class T with the reason."""

    statuses: list[Literal["active", "closed", "moved_out"]] = Field(default_factory=lambda: ["active"])
    exclude_industries: list[IndustryPrefix] = Field(default_factory=list)
    exclude_flags: list[Flag] = Field(default_factory=list)
    min_age_years: Annotated[int, Field(ge=0, le=50)] = 0
    require_land: bool = True


class Preset(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=60)]
    display_name: str
    display_name_en: str = ""
    version: Annotated[str, Field(min_length=1, max_length=40)]
    years: Annotated[list[Annotated[int, Field(ge=2000, le=2100)]], Field(min_length=1)]
    region: Annotated[str, Field(pattern=r"^33\d{4}$")]
    source: Annotated[str, Field(min_length=5)]
    confidence: Literal["doc", "news", "secondary", "code", "shanhai"]
    caveats: list[str] = Field(default_factory=list)
    unit: Literal["county", "city", "province"] = "county"
    scope: Scope = Field(default_factory=Scope)
    groups: list[Group] = Field(default_factory=list)
    populations: Annotated[list[Population], Field(min_length=1, max_length=8)]
    bonuses: list[FlagPoints] = Field(default_factory=list)
    penalties: list[FlagPoints] = Field(default_factory=list)
    bonus_cap: Annotated[float, Field(gt=0)] | None = None
    penalty_cap: Annotated[float, Field(gt=0)] | None = None
    rules: list[Rule] = Field(default_factory=list)
    classes: Classes
    consequences: list[Consequence] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self):
        pops = [p.id for p in self.populations]
        if len(set(pops)) != len(pops):
            raise ValueError(f"population ids repeat: {', '.join(pops)}")
        order = self.classes.order
        if len(set(order)) != len(order):
            raise ValueError(f"classes.order repeats a class: {order}")
        if "T" in order:
            raise ValueError("T is the not-evaluated class and cannot be in classes.order")

        def check_pop(where: str, ids: list[str]) -> None:
            for p in ids:
                if p not in pops:
                    raise ValueError(f"{where}: unknown population {p!r} (populations: {', '.join(pops)})")

        def check_class(where: str, code: str | None) -> None:
            if code is not None and code not in order:
                raise ValueError(f"{where}: unknown class {code!r} (classes: {', '.join(order)})")

        for k, label in self.classes.labels.items():
            check_class("classes.labels", k)
        cls = self.classes
        for where, shares, thresholds in [("classes", cls.shares, cls.thresholds)] + [
                (f"populations.{p.id}", p.shares, p.thresholds) for p in self.populations]:
            if cls.method == "rank_shares" and shares is not None:
                if set(shares) != set(order):
                    raise ValueError(f"{where}.shares must give every class {order}, got {sorted(shares)}")
                total = sum(shares.values())
                if abs(total - 1) > 1e-9:
                    raise ValueError(f"{where}.shares add up to {total:g}, expected 1")
            if cls.method == "thresholds" and thresholds is not None:
                if set(thresholds) != set(order[:-1]):
                    raise ValueError(f"{where}.thresholds must give every class but the last ({order[:-1]}), "
                                     f"got {sorted(thresholds)}")
                values = [thresholds[c] for c in order[:-1]]
                if any(a <= b for a, b in zip(values, values[1:])):
                    raise ValueError(f"{where}.thresholds must fall from the best class to the worst: {values}")
        if cls.method == "rank_shares" and cls.shares is None and any(p.shares is None for p in self.populations):
            raise ValueError("rank_shares needs classes.shares (or shares on every population)")
        if cls.method == "thresholds" and cls.thresholds is None and any(
                p.thresholds is None for p in self.populations):
            raise ValueError("thresholds needs classes.thresholds (or thresholds on every population)")
        if "group" in cls.within and not self.groups:
            raise ValueError("classes.within names group but the preset has no groups")
        for p in self.populations:
            for i in p.indicators:
                check_pop(f"populations.{p.id}.{i.id}.benchmark", [i.benchmark.population] if i.benchmark.population
                          else [])
        for item in self.bonuses + self.penalties:
            check_pop(f"bonus/penalty {item.flag}", item.populations)
        for rule in self.rules:
            check_pop(f"rules.{rule.id}", rule.populations)
            for code in (rule.then.set, rule.then.best, rule.then.worst):
                check_class(f"rules.{rule.id}", code)
        rule_ids = [r.id for r in self.rules]
        if len(set(rule_ids)) != len(rule_ids):
            raise ValueError(f"rule ids repeat: {', '.join(rule_ids)}")
        seen = set()
        for c in self.consequences:
            check_pop(f"consequences (class {c.class_})", c.populations)
            check_class("consequences", c.class_)
            for p in c.populations or pops:
                if (p, c.class_) in seen:
                    raise ValueError(f"consequences: two entries for population {p}, class {c.class_}")
                seen.add((p, c.class_))
        group_ids = [g.id for g in self.groups]
        if len(set(group_ids)) != len(group_ids):
            raise ValueError(f"group ids repeat: {', '.join(group_ids)}")
        if self.groups and sum(not g.industries for g in self.groups) > 1:
            raise ValueError("at most one group may be the catch-all (no industries)")
        return self

    # ---- helpers the engine and the interface use ----
    def population(self, pid: str) -> Population:
        for p in self.populations:
            if p.id == pid:
                return p
        raise KeyError(pid)

    def shares_for(self, p: Population) -> dict[str, float]:
        return dict(p.shares or self.classes.shares or {})

    def thresholds_for(self, p: Population) -> dict[str, float]:
        return dict(p.thresholds or self.classes.thresholds or {})

    def class_label(self, code: str | None) -> str:
        if code is None or code == "T":
            return self.classes.excluded_label
        return self.classes.labels.get(code, code)

    def indicators_used(self) -> list[str]:
        seen: dict[str, None] = {}
        for p in self.populations:
            for i in p.indicators:
                seen[i.id] = None
        for r in self.rules:
            if r.when.indicator:
                seen[r.when.indicator] = None
        return list(seen)

    def consequence(self, population: str, code: str) -> Consequence | None:
        for c in self.consequences:
            if c.class_ == code and (not c.populations or population in c.populations):
                return c
        return None


NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")


class Target(_Model):
    """A per-mu target from a policy document (``targets.toml``)."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    label: str
    source: str
    year: Annotated[int, Field(ge=2000, le=2100)]
    level: Literal["province", "city", "county", "zone"]
    applies_to: Annotated[str, Field(pattern=r"^(33\d{4}|mountain26:(leapfrog|ecological))$")]
    indicator: Literal["tax_per_mu", "value_added_per_mu", "labour_productivity", "value_added_per_energy"]
    value: Annotated[float, Field(gt=0)] | None = None
    growth: Annotated[float, Field(gt=-1, lt=10)] | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.value is None) == (self.growth is None):
            raise ValueError(f"target {self.id}: give value or growth, exactly one")
        return self


class Targets(_Model):
    targets: list[Target]
