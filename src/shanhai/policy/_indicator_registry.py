"""The indicator registry, the target presets, the monitoring rules and the composite index as
data (``monitoring/*.toml``), like the presets: packaged here, more (or replacements) in
``$SHANHAI_POLICY_DIR/monitoring/``.

- ``registry()``: every indicator (``monitoring/indicators.toml``): id, names, definition, unit,
  department, source (computed: from which table and formula; or imported), cadence, cumulative
  monthly figures, direction, headline figure, alert and excellence thresholds;
- ``preset_targets()``: the targets of the five policy documents, each with its document: the
  per-mu ones of ``targets.toml`` (shared with the per-mu roll-ups, read through
  ``policy.targets()``, growth converted to percent) and those of ``monitoring/targets_documents.toml``;
- ``monitoring_rules(name)``: calendar-progress basis, light bands, forecast and watch parameters
  (``rules_NAME.toml``); ``index_rules(name)``: the composite index (``index_NAME.toml``).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._load import PolicyError, targets as mu_targets
from shanhai.policy._rulesets import folders, pick, read_model, rule_sets

MONITORING_DIR = Path(__file__).parent / "monitoring"
LIGHTS = ("green", "amber", "orange", "red", "grey")
COMPUTE_COLUMNS = ("value_added", "tax_paid", "revenue", "main_revenue", "headcount", "energy_tce", "rd_spending",
                   "output_value", "profit", "electricity_kwh", "land_used")
# enterprise_flags ids a count may name (GLOSSARY; the synthetic data and the cultivation facts use them)
COUNT_FLAGS = {"high_tech": "高新技术企业", "tech_sme": "科技型中小企业", "innovative_sme": "创新型中小企业",
               "specialised": "专精特新中小企业", "little_giant": "专精特新“小巨人”", "hidden_champion": "隐形冠军",
               "single_champion": "单项冠军", "rd_institution": "研发机构"}
# service_facts titles a count may name: id → (SQL condition on the row, name)
COUNT_FACTS = {"future_factory": ("future_factory", "省级未来工厂"),
               "smart_factory_prov": ("smart_factory_prov", "省级智能工厂"),
               "smart_factory_city": ("smart_factory_city", "市级智能工厂"),
               "digital_workshop_prov": ("digital_workshop_prov", "省级数字化车间"),
               "digital_workshop_city": ("digital_workshop_city", "市级数字化车间"),
               "first_set": ("first_set_level > 0", "首台(套)认定")}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Named(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    display_name: str
    version: str
    source: str = ""

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


# ---- the registry ------------------------------------------------------------------------------

class Compute(_Model):
    """How a computed indicator is computed from the store (above-scale firms of the region; a
    ``count``: firms of the region, see ``count``)."""
    kind: Literal["ratio", "sum", "flag_share", "electricity", "count"]
    numerator: str | None = None
    denominator: str | None = None
    flag: str | None = None
    factor: float = 1.0
    # kind = "count": firms of the region counted in the year (unit 家)
    #   new_above_scale  above scale this year and not the year before (小升规; jobs.coop_profile's definition)
    #   flag             holding any of `flags` at some time in the year
    #   new_flag         newly granted any of `flags` in the year (months: January to month N)
    #   over             `numerator` at least `threshold` (万元) in the year (e.g. 营业收入超亿元: revenue ≥ 10000)
    #   fact             a service_facts title of the year, any of `facts` (未来工厂, 智能工厂, 首台(套))
    count: Literal["new_above_scale", "flag", "new_flag", "over", "fact"] | None = None
    flags: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    threshold: float | None = None

    @model_validator(mode="after")
    def _complete(self):
        need = {"ratio": ("numerator", "denominator"), "sum": ("numerator",), "flag_share": ("numerator", "flag"),
                "electricity": (), "count": ("count",)}[self.kind]
        for f in need:
            if getattr(self, f) is None:
                raise ValueError(f"compute kind {self.kind} needs {f}")
        if self.kind != "count" and (self.count or self.flags or self.facts or self.threshold is not None):
            raise ValueError(f"compute kind {self.kind}: count, flags, facts and threshold belong to kind count")
        if self.kind == "count":
            wants = {"new_above_scale": (), "flag": ("flags",), "new_flag": ("flags",),
                     "over": ("numerator", "threshold"), "fact": ("facts",)}[self.count]
            for f in ("numerator", "flags", "facts", "threshold"):
                have = getattr(self, f) not in (None, ())
                if have != (f in wants):
                    raise ValueError(f"count {self.count} {'needs' if f in wants else 'takes no'} {f}")
            if self.denominator is not None or self.flag is not None or self.factor != 1:
                raise ValueError("a count takes no denominator, flag (use flags) or factor")
            bad = [f for f in self.flags if f not in COUNT_FLAGS]
            if bad:
                raise ValueError(f"count flags {', '.join(bad)} unknown; known: {', '.join(COUNT_FLAGS)}")
            bad = [f for f in self.facts if f not in COUNT_FACTS]
            if bad:
                raise ValueError(f"count facts {', '.join(bad)} unknown; known: {', '.join(COUNT_FACTS)}")
            if self.count == "over" and self.numerator == "land_used":
                raise ValueError("count over: numerator must be a column of enterprise_years, not land_used")
            if self.threshold is not None and not self.threshold > 0:
                raise ValueError("count over: threshold must be above 0")
        for f in ("numerator", "denominator"):
            v = getattr(self, f)
            if v is not None and v not in COMPUTE_COLUMNS:
                raise ValueError(f"compute {f} {v!r} is not one of {', '.join(COMPUTE_COLUMNS)}")
        return self

    def formula(self) -> str:
        if self.kind == "ratio":
            f = f" × {self.factor:g}" if self.factor != 1 else ""
            return f"enterprise_years (above_scale): Σ {self.numerator} ÷ Σ {self.denominator}{f}"
        if self.kind == "sum":
            return f"enterprise_years (above_scale): Σ {self.numerator}"
        if self.kind == "flag_share":
            return (f"enterprise_years (above_scale): Σ {self.numerator} of firms with enterprise_flags "
                    f"{self.flag} valid on 31 Dec ÷ Σ {self.numerator} × 100")
        if self.kind == "count":
            return self._count_formula()
        return f"electricity_monthly: Σ kwh × {self.factor:g}, January to month N"

    def _count_formula(self) -> str:
        flags = " or ".join(f"{f} ({COUNT_FLAGS[f]})" for f in self.flags)
        if self.count == "new_above_scale":
            return ("enterprise_years: count of firms above_scale in year Y and not in Y − 1 (no row in Y − 1, or "
                    "below scale; 小升规, as jobs.coop_profile); none for the store's first year")
        if self.count == "flag":
            return f"enterprise_flags: count of firms holding {flags} at some time in year Y"
        if self.count == "new_flag":
            return (f"enterprise_flags: count of firms first granted {flags} in year Y (valid_from in January to "
                    f"month N) holding none of them on 31 Dec of Y − 1")
        if self.count == "over":
            return f"enterprise_years: count of firms with {self.numerator} ≥ {self.threshold:g} 万元 in year Y"
        facts = " or ".join(f"{COUNT_FACTS[f][0]} ({COUNT_FACTS[f][1]})" for f in self.facts)
        return f"service_facts: count of firms with {facts} in year Y"


class Indicator(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    name_en: str
    definition: str
    definition_en: str = ""
    unit: str
    department: str
    source: Literal["computed", "imported"]
    compute: Compute | None = None
    cadence: Literal["year", "quarter", "month"]
    cumulative: bool = False
    direction: Literal["higher", "lower"] = "higher"
    headline: Literal["level", "growth"] = "level"
    alert_threshold: float | None = None
    excellence_threshold: float | None = None

    @model_validator(mode="after")
    def _consistent(self):
        if (self.source == "computed") != (self.compute is not None):
            raise ValueError(f"indicator {self.id}: a computed indicator needs `compute`, an imported one none")
        if self.cumulative and self.cadence == "year":
            raise ValueError(f"indicator {self.id}: cumulative applies to monthly or quarterly figures")
        if self.compute is not None and self.compute.kind == "electricity" and self.cadence != "month":
            raise ValueError(f"indicator {self.id}: electricity is monthly")
        if self.compute is not None and self.compute.kind == "count":
            if self.compute.count == "new_flag":
                if self.cadence != "month" or not self.cumulative:
                    raise ValueError(f"indicator {self.id}: new_flag counts are monthly and cumulative (January to "
                                     f"month N)")
            elif self.cadence != "year":
                raise ValueError(f"indicator {self.id}: count {self.compute.count} is annual (cadence year): its "
                                 f"data are yearly")
            if self.unit != "家":
                raise ValueError(f"indicator {self.id}: a count of firms is in 家")
        if self.alert_threshold is not None and self.excellence_threshold is not None:
            bad = (self.excellence_threshold < self.alert_threshold if self.direction == "higher"
                   else self.excellence_threshold > self.alert_threshold)
            if bad:
                raise ValueError(f"indicator {self.id}: the excellence threshold lies on the wrong side of the alert "
                                 f"threshold for direction {self.direction}")
        return self

    @property
    def formula(self) -> str:
        return self.compute.formula() if self.compute else "imported (indicators import kind 指标数值与目标)"

    @property
    def integer(self) -> bool:
        """Whole numbers (a count of firms): shown without decimals."""
        return self.compute is not None and self.compute.kind == "count"


class Registry(_Named):
    indicators: tuple[Indicator, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        ids = [i.id for i in self.indicators]
        if len(ids) != len(set(ids)):
            raise ValueError("indicator ids must be unique")
        return self

    def get(self, indicator_id: str) -> Indicator | None:
        return next((i for i in self.indicators if i.id == indicator_id), None)


# ---- targets -----------------------------------------------------------------------------------

class PresetTarget(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    label: str
    source: str
    year: int = Field(ge=2000, le=2100)
    applies_to: str = Field(pattern=r"^(33\d{4}|mountain26:(leapfrog|ecological))$")
    zones: bool = False
    indicator: str
    kind: Literal["level", "growth"]
    value: float


class TargetFile(_Named):
    targets: tuple[PresetTarget, ...]


# ---- rules -------------------------------------------------------------------------------------

class Band(_Model):
    light: Literal["green", "amber", "orange", "red"]
    min: float
    inclusive: bool = True


class LightRule(_Model):
    measure: Literal["gap_points", "ratio"]
    bands: tuple[Band, ...] = Field(min_length=1)
    otherwise: Literal["amber", "orange", "red"] = "red"

    @model_validator(mode="after")
    def _order(self):
        mins = [b.min for b in self.bands]
        if mins != sorted(mins, reverse=True):
            raise ValueError("bands must be listed best first (their `min` falling)")
        return self


class Calendar(_Model):
    basis: Literal["months", "days", "plan"] = "months"
    plan: tuple[float, ...] = Field(default=(), max_length=12)

    @model_validator(mode="after")
    def _plan(self):
        if self.basis == "plan" or self.plan:
            if len(self.plan) != 12 or any(not 0 <= v <= 1 for v in self.plan) or list(self.plan) != sorted(self.plan) \
                    or self.plan[-1] != 1:
                raise ValueError("calendar.plan needs 12 cumulative shares between 0 and 1, rising, ending at 1")
        return self


class Future(_Model):
    amber_if_on_trend: bool = True


class ForecastRules(_Model):
    methods: tuple[Literal["share_of_year", "seasonal_naive"], ...] = Field(min_length=1)
    share_years: int = Field(1, ge=1, le=10)
    earliest_month: int = Field(3, ge=1, le=12)
    z: float = Field(1.645, gt=0, le=5)
    min_backtests: int = Field(1, ge=1, le=20)


class Watch(_Model):
    trending: bool = True


class MonitoringRules(_Named):
    calendar: Calendar
    growth: LightRule
    level: LightRule
    future: Future = Future()
    forecast: ForecastRules
    watch: Watch = Watch()


class IndexItem(_Model):
    indicator: str
    measure: Literal["level", "growth"]
    weight: float = Field(gt=0)


class IndexRules(_Named):
    base: float = 60
    span: float = Field(40, gt=0)
    missing: Literal["base", "skip"] = "base"
    items: tuple[IndexItem, ...] = Field(min_length=1)


# ---- reading -----------------------------------------------------------------------------------

def _dirs() -> tuple[Path, ...]:
    return folders(MONITORING_DIR, "monitoring")


def _single(file: str) -> Path:
    path = MONITORING_DIR / file
    for folder in _dirs()[1:]:
        if (folder / file).is_file():
            path = folder / file
    return path


@lru_cache(maxsize=4)
def _read(path: Path, mtime: float, model):
    return read_model(path, model)


def _load(path: Path, model):
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise PolicyError(f"{path}: no such file") from None
    return _read(path, mtime, model)


def registry() -> Registry:
    """The indicator registry (``monitoring/indicators.toml``, or the one in $SHANHAI_POLICY_DIR/monitoring)."""
    reg = _load(_single("indicators.toml"), Registry)
    return reg


def preset_targets() -> list[dict]:
    """Every target of the policy documents as plain dicts (id, label, source, year, applies_to,
    zones, indicator, kind, value): ``targets.toml`` (per-mu; growth in percent) then
    ``monitoring/targets_documents.toml``. An indicator not in the registry is a PolicyError."""
    reg = registry()
    out = []
    for t in mu_targets():
        out.append({"id": t.id, "label": t.label, "source": t.source, "year": t.year, "applies_to": t.applies_to,
                    "zones": t.level == "zone", "indicator": t.indicator,
                    "kind": "level" if t.value is not None else "growth",
                    "value": t.value if t.value is not None else round(100 * t.growth, 6),
                    "file": "targets.toml"})
    doc = _load(_single("targets_documents.toml"), TargetFile)
    for t in doc.targets:
        out.append({**t.model_dump(), "file": "monitoring/targets_documents.toml"})
    for t in out:
        if reg.get(t["indicator"]) is None:
            raise PolicyError(f"target {t['id']}: indicator {t['indicator']} is not in the registry")
    ids = [t["id"] for t in out]
    if len(ids) != len(set(ids)):
        raise PolicyError("target preset ids must be unique across targets.toml and targets_documents.toml")
    return out


def monitoring_rule_sets() -> dict[str, MonitoringRules]:
    return rule_sets(MonitoringRules, _dirs(), "rules_", "monitoring rule set")


def monitoring_rules(name: str = "default") -> MonitoringRules:
    return pick(monitoring_rule_sets(), name, "monitoring rule set")


def index_rule_sets() -> dict[str, IndexRules]:
    return rule_sets(IndexRules, _dirs(), "index_", "index rule set")


def index_rules(name: str = "default") -> IndexRules:
    rules = pick(index_rule_sets(), name, "index rule set")
    reg = registry()
    for item in rules.items:
        if reg.get(item.indicator) is None:
            raise PolicyError(f"index {name}: indicator {item.indicator} is not in the registry")
    return rules
