"""Electricity index rule sets (``indices/*.toml``): the weights and tests of the composite
operation index (the 企业复工电力指数 form), the history a run covers, the Spring Festival pooling
and the fixed base. Data, like the presets; read through :mod:`shanhai.policy._rulesets`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._rulesets import folders, pick, rule_sets

INDEX_RULES_DIR = Path(__file__).parent / "indices"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndexWeights(_Model):
    energy: float = Field(ge=0, le=1)
    count: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _sum_one(self):
        if abs(self.energy + self.count - 1) > 1e-9:
            raise ValueError(f"weights energy + count must add up to 1, got {self.energy + self.count:g}")
        return self


class IndexRules(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    display_name: str
    version: str
    source: str
    weights: IndexWeights
    operating_share: float = Field(gt=0, le=1)
    normal_share: float = Field(gt=0, le=2)
    months: int = Field(ge=1, le=120)
    pool_jan_feb: bool = True
    thin_firms: int = Field(3, ge=1)
    base_year: int | None = Field(None, ge=1990, le=2100)

    @model_validator(mode="after")
    def _order(self):
        if self.normal_share < self.operating_share:
            raise ValueError(f"normal_share ({self.normal_share:g}) must not be below operating_share "
                             f"({self.operating_share:g})")
        return self

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


def index_rule_sets() -> dict[str, IndexRules]:
    """Every index rule set by name (packaged, then ``$SHANHAI_POLICY_DIR/indices``)."""
    return rule_sets(IndexRules, folders(INDEX_RULES_DIR, "indices"), "", "index rule set")


def index_rules(name: str = "default") -> IndexRules:
    return pick(index_rule_sets(), name, "index rule set")
