"""山海协作 rule sets (``coop/*.toml``): how firm–county pairs (一企一县, 1+N) are found and scored,
and the pairing plan's defaults. Data, like the presets and the chain rule sets.

``pairing_rules(name)`` reads ``coop/pairing_NAME.toml`` (packaged, then
``$SHANHAI_POLICY_DIR/coop/``); ``pairing_rule_sets()`` lists them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._rulesets import folders, pick, rule_sets

COOP_DIR = Path(__file__).parent / "coop"
PREFIX = "pairing_"
Share = Field(ge=0, le=1)
CLASSES = ("A", "B", "C", "D")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Candidates(_Model):
    leaders: bool = True
    classes: tuple[Literal["A", "B", "C", "D"], ...] = ("A", "B")

    @model_validator(mode="after")
    def _someone(self):
        if not self.leaders and not self.classes:
            raise ValueError("candidates admit nobody: set leaders = true or list some classes")
        return self


class PairWeights(_Model):
    chain_fit: float = Share
    capacity: float = Share
    efficiency: float = Share
    pairing: float = Share
    distance: float = Share

    @model_validator(mode="after")
    def _sum_one(self):
        total = sum(self.model_dump().values())
        if abs(total - 1) > 1e-9:
            raise ValueError(f"the pairing weights must add up to 1 (they add up to {total:g})")
        return self


class ChainFit(_Model):
    gap: float = Share
    adjacent: float = Share
    other: float = Share


class Distance(_Model):
    kind: Literal["linear", "decay"] = "linear"
    max_km: float = Field(460.0, gt=0, le=5000)
    half_km: float = Field(100.0, gt=0, le=5000)

    def value(self, km):
        """The distance component in [0, 1] of a distance in km (a float or a NumPy array)."""
        import numpy as np

        km = np.asarray(km, dtype=float)
        if self.kind == "linear":
            out = np.clip(1.0 - km / self.max_km, 0.0, 1.0)
        else:
            out = np.power(0.5, km / self.half_km)
        return out if out.ndim else float(out)


class PlanDefaults(_Model):
    per_county_min: int = Field(1, ge=0, le=10)
    per_county_max: int = Field(2, ge=1, le=10)
    max_counties: int = Field(2, ge=1, le=26)
    within_city_bonus: float = Field(5.0, ge=0, le=100)

    @model_validator(mode="after")
    def _order(self):
        if self.per_county_min > self.per_county_max:
            raise ValueError(f"per_county_min ({self.per_county_min}) exceeds per_county_max ({self.per_county_max})")
        return self


class PairingRules(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    display_name: str
    version: str
    source: str = ""
    chain_rules: str = "default"
    candidates: Candidates
    weights: PairWeights
    chain_fit: ChainFit
    class_points: dict[str, float]
    distance: Distance
    plan: PlanDefaults

    @model_validator(mode="after")
    def _points(self):
        if "other" not in self.class_points:
            raise ValueError("class_points needs an 'other' entry (firms not evaluated in the per-mu run)")
        if any(not 0 <= v <= 1 for v in self.class_points.values()):
            raise ValueError("class_points must lie between 0 and 1")
        unknown = set(self.class_points) - {*CLASSES, "other"}
        if unknown:
            raise ValueError(f"class_points has unknown classes {sorted(unknown)}: expected A, B, C, D and other")
        return self

    def class_value(self, cls: str | None) -> float:
        return self.class_points.get(cls or "", self.class_points["other"])

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def pairing_rule_sets() -> dict[str, PairingRules]:
    """Every pairing rule set by name: the packaged ones, then $SHANHAI_POLICY_DIR/coop."""
    return dict(rule_sets(PairingRules, folders(COOP_DIR, "coop"), PREFIX, "pairing rule set"))


def pairing_rules(name: str = "default") -> PairingRules:
    return pick(pairing_rule_sets(), name, "pairing rule set")
