"""Chain rule sets (``chain_rules/*.toml``): how a segment's status is decided, how attraction
targets are scored and how a chain's risk becomes a health score. Data, like the presets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._rulesets import folders, pick, rule_sets

CHAIN_RULES_DIR = Path(__file__).parent / "chain_rules"
Share = Field(ge=0, le=1)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatusRule(_Model):
    """Every stated bound must hold (min: ≥, max: ≤); the first rule that holds decides."""
    status: Literal["strong", "weak", "missing"]
    firms_min: int | None = Field(None, ge=0)
    firms_max: int | None = Field(None, ge=0)
    above_min: int | None = Field(None, ge=0)
    above_max: int | None = Field(None, ge=0)
    lq_min: float | None = Field(None, ge=0)
    lq_max: float | None = Field(None, ge=0)
    share_min: float | None = Field(None, ge=0, le=1)
    share_max: float | None = Field(None, ge=0, le=1)
    leaders_min: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _some_bound(self):
        if all(getattr(self, k) is None for k in type(self).model_fields if k != "status"):
            raise ValueError("a status rule needs at least one bound (firms_, above_, lq_, share_ or leaders_min/max)")
        return self

    def holds(self, cell: dict) -> bool:
        values = {"firms": cell["firms"], "above": cell["above"], "lq": cell["lq"], "share": cell["share"],
                  "leaders": cell["leaders"]}
        for key, value in values.items():
            low, high = getattr(self, f"{key}_min", None), getattr(self, f"{key}_max", None)
            if low is None and high is None:
                continue
            if value is None or (low is not None and value < low) or (high is not None and value > high):
                return False
        return True


class TargetWeights(_Model):
    fit: float = Share
    size: float = Share
    efficiency: float = Share
    growth: float = Share
    pairing: float = Share

    @model_validator(mode="after")
    def _sum_one(self):
        total = self.fit + self.size + self.efficiency + self.growth + self.pairing
        if abs(total - 1) > 1e-9:
            raise ValueError(f"the target weights must add up to 1 (they add up to {total:g})")
        return self


class GrowthBand(_Model):
    low: float = Field(ge=-1, le=0)
    high: float = Field(gt=0, le=10)


class Targets(_Model):
    per_segment: int = Field(200, ge=1, le=10_000)
    above_scale_only: bool = True
    weights: TargetWeights
    class_points: dict[str, float]
    growth_band: GrowthBand

    @model_validator(mode="after")
    def _points(self):
        if "other" not in self.class_points:
            raise ValueError("class_points needs an 'other' entry (firms not evaluated or in no run)")
        if any(not 0 <= v <= 1 for v in self.class_points.values()):
            raise ValueError("class_points must lie between 0 and 1")
        return self


class RiskPoints(_Model):
    missing: float = Field(ge=0, le=100)
    weak: float = Field(ge=0, le=100)
    concentrated: float = Field(ge=0, le=100)
    leader_low_class: float = Field(ge=0, le=100)
    leader_collapse: float = Field(ge=0, le=100)


class Risk(_Model):
    hhi_concentrated: float = Share
    top1_share: float = Share
    electricity_drop: float = Share
    penalties: RiskPoints
    caps: RiskPoints


class ChainRules(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    display_name: str
    version: str
    source: str = ""
    status: tuple[StatusRule, ...] = Field(min_length=1)
    targets: Targets
    risk: Risk

    def status_of(self, cell: dict) -> tuple[str, int | None]:
        """The cell's status and the number (1-based) of the rule that decided it (None: no rule, present)."""
        for number, rule in enumerate(self.status, start=1):
            if rule.holds(cell):
                return rule.status, number
        return "present", None

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def chain_rule_sets() -> dict[str, ChainRules]:
    """Every chain rule set by name: the packaged ones, then $SHANHAI_POLICY_DIR/chain_rules."""
    return dict(rule_sets(ChainRules, folders(CHAIN_RULES_DIR, "chain_rules"), "", "chain rule set"))


def chain_rules(name: str = "default") -> ChainRules:
    return pick(chain_rule_sets(), name, "chain rule set")
