"""腾笼换鸟 ledger rules (``transition/ledger_*.toml``): data, like the other presets.

A rule set declares the ledger's ONE energy basis (当量值 ``equivalent_calorific`` or 等价值
``equivalent_coal``; never mixed inside a ledger), the factors it converts a firm's last full year
with (electricity kgce/kWh, grid CO2 kg/kWh, CO2 per tce of the non-electric rest, 等价值
coefficients per year), what each action kind (close, eliminate, remediate, relocate) frees as
shares of that year's land, energy and CO2, which action a per-mu class C or D is seeded with, the
new-project energy-intensity thresholds by date (0.60 tce/万元 in the 13th FYP, 0.52 in the 14th)
with their inclusiveness, and the 2023 targets of the province (seed 001) and Shaoxing (seed 002).
Each number says whether it is published or a Shanhai parameter.

``ledger_rules(name)`` reads one (the packaged ones, then ``$SHANHAI_POLICY_DIR/transition/``, or
a path to a TOML file); ``ledger_rule_sets()`` lists them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._load import PolicyError
from shanhai.policy._rulesets import folders, pick, read_model, rule_sets

TRANSITION_DIR = Path(__file__).parent / "transition"
KINDS = ("close", "eliminate", "remediate", "relocate")
BASES = ("equivalent_calorific", "equivalent_coal")
BASIS_LABELS = {"equivalent_calorific": ("当量值", "calorific equivalent"),
                "equivalent_coal": ("等价值", "coal equivalent")}
QUOTA_KINDS = ("land", "energy", "carbon")
QUOTA_UNITS = {"land": "亩", "energy": "tce", "carbon": "t CO2"}
TARGET_FIELDS = ("firms_eliminated", "firms_remediated", "land_mu", "energy_tce", "co2_t")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CoalCoefficient(_Model):
    year: int = Field(ge=2000, le=2100)
    kgce_per_kwh: float = Field(gt=0.1229, lt=0.6)


class Factors(_Model):
    electricity_calorific_kgce_per_kwh: float = Field(0.1229, gt=0, lt=1)
    grid_co2_kg_per_kwh: float = Field(gt=0, lt=2)
    other_fuel: str = "原煤 raw coal"
    other_tce_per_unit: float = Field(gt=0, lt=5)
    other_co2_t_per_unit: float = Field(gt=0, lt=10)
    electricity_coal: tuple[CoalCoefficient, ...] = ()
    published: bool = False

    def coal_coefficient(self, year: int) -> float | None:
        """The 等价值 coefficient of ``year`` (the latest at or before it; else the earliest)."""
        rows = sorted(self.electricity_coal, key=lambda c: c.year)
        before = [c for c in rows if c.year <= year]
        pick_ = before[-1] if before else (rows[0] if rows else None)
        return None if pick_ is None else pick_.kgce_per_kwh


class KindRule(_Model):
    zh: str
    en: str
    land_share: float = Field(ge=0, le=1)
    energy_share: float = Field(ge=0, le=1)
    co2_share: float = Field(ge=0, le=1)
    published: bool = False


class SeedRule(_Model):
    C: Literal["close", "eliminate", "remediate", "relocate"] = "remediate"
    D: Literal["close", "eliminate", "remediate", "relocate"] = "eliminate"
    published: bool = False


class Threshold(_Model):
    valid_from: dt.date
    value: float = Field(gt=0, lt=100)
    label: str = ""
    published: bool = False


class Target(_Model):
    region: str = Field(pattern=r"^33\d{4}$")
    period_from: dt.date
    period_to: dt.date
    firms_eliminated: int | None = Field(None, gt=0)
    firms_remediated: int | None = Field(None, gt=0)
    land_mu: float | None = Field(None, gt=0)
    energy_tce: float | None = Field(None, gt=0)
    co2_t: float | None = Field(None, gt=0)
    source: str
    published: bool = False

    @model_validator(mode="after")
    def _check(self):
        if self.period_to < self.period_from:
            raise ValueError(f"target {self.region}: period_to is before period_from")
        if all(getattr(self, f) is None for f in TARGET_FIELDS):
            raise ValueError(f"target {self.region}: no figure (one of {', '.join(TARGET_FIELDS)})")
        return self


class LedgerRules(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    version: str
    display_name: str
    display_name_en: str = ""
    basis: Literal["equivalent_calorific", "equivalent_coal"]
    sources: tuple[str, ...] = Field(min_length=1)
    factors: Factors
    kinds: dict[str, KindRule]
    seed: SeedRule = SeedRule()
    inclusive: bool = True
    thresholds: tuple[Threshold, ...] = Field(min_length=1)
    targets: tuple[Target, ...] = ()

    @model_validator(mode="after")
    def _check(self):
        missing = [k for k in KINDS if k not in self.kinds]
        extra = [k for k in self.kinds if k not in KINDS]
        if missing or extra:
            raise ValueError(f"kinds: expected exactly {', '.join(KINDS)}"
                             + (f" (missing {', '.join(missing)})" if missing else "")
                             + (f" (unknown {', '.join(extra)})" if extra else ""))
        dates = [t.valid_from for t in self.thresholds]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("thresholds: valid_from dates must be distinct and in increasing order")
        if self.basis == "equivalent_coal" and not self.factors.electricity_coal:
            raise ValueError("an equivalent_coal (等价值) ledger needs factors.electricity_coal coefficients by year")
        return self

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True,
                                         ensure_ascii=False).encode()).hexdigest()

    def threshold_on(self, day: dt.date) -> Threshold:
        """The threshold valid on ``day``: the last whose valid_from is on or before it."""
        valid = [t for t in self.thresholds if t.valid_from <= day]
        if not valid:
            raise PolicyError(f"ledger rules {self.name}: no new-project threshold is valid on {day} "
                              f"(the first starts {self.thresholds[0].valid_from})")
        return valid[-1]

    def with_inclusive(self, inclusive: bool | None) -> "LedgerRules":
        return self if inclusive is None or inclusive == self.inclusive else self.model_copy(update={"inclusive": inclusive})


def load_ledger_rules(path: str | Path) -> LedgerRules:
    return read_model(Path(path), LedgerRules)


def ledger_rule_sets() -> dict[str, LedgerRules]:
    """Every ledger rule set by name (packaged ``transition/ledger_NAME.toml``, then
    ``$SHANHAI_POLICY_DIR/transition/``)."""
    return rule_sets(LedgerRules, folders(TRANSITION_DIR, "transition"), "ledger_", "ledger rule set")


def ledger_rules(name: str = "default") -> LedgerRules:
    """A ledger rule set by name, or a path to a TOML file."""
    if name.endswith(".toml"):
        return load_ledger_rules(name)
    return pick(ledger_rule_sets(), name, "ledger rule set")
