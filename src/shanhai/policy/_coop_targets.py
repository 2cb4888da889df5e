"""The targets of the 产业链山海协作行动计划 as data (``coop/action_plan.toml``): the province-wide
targets of the 26 mountain counties for 2023 and 2025 (chain projects, new above-scale firms,
counties over value-added thresholds, enclaves, provincial 专精特新 firms) and each county's per-mu
targets by category (tax per mu 25 / 20 万元 for 跨越发展类 / 生态发展类, labour productivity
15 万元/人), with the document they come from and the light rule for the progress.

``coop_targets()`` reads the packaged file, or ``$SHANHAI_POLICY_DIR/coop/action_plan.toml`` when
there is one (a province that verifies the categories or changes the parameters keeps its own).
The category split itself is not here: it is ``regions.mountain_category`` and is not verified
(``regions.mountain_category_verified``).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._load import ENV_POLICY_DIR, PolicyError
from shanhai.policy._rulesets import read_model

ACTION_PLAN_FILE = Path(__file__).parent / "coop" / "action_plan.toml"
INDICATORS = ("chain_projects", "new_above_scale", "counties_va_over", "enclaves", "specialised")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionTarget(_Model):
    """One province-wide target of the 26 counties."""
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    year: int = Field(ge=2000, le=2100)
    indicator: Literal["chain_projects", "new_above_scale", "counties_va_over", "enclaves", "specialised"]
    label: str
    label_en: str
    value: float | None = Field(None, gt=0)          # the count to reach
    all_counties: bool = False                         # counties_va_over: every one of the 26
    threshold: float | None = Field(None, gt=0)        # counties_va_over: value added, 万元
    unit: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self):
        if (self.value is None) == (not self.all_counties):
            raise ValueError(f"target {self.id}: give value or all_counties = true, exactly one")
        if self.all_counties and self.indicator != "counties_va_over":
            raise ValueError(f"target {self.id}: all_counties applies to counties_va_over only")
        if (self.indicator == "counties_va_over") != (self.threshold is not None):
            raise ValueError(f"target {self.id}: threshold (万元) is needed by counties_va_over and only by it")
        return self


class CategoryTarget(_Model):
    """The per-mu target of the mountain counties of one category."""
    label: str
    tax_per_mu: float = Field(gt=0)                    # 规上工业亩均税收, 万元/亩
    label_target: str


class PerMu(_Model):
    year: int = Field(ge=2000, le=2100)
    labour_productivity: float = Field(gt=0)           # 全员劳动生产率, 万元/人
    label_productivity: str


class Lights(_Model):
    amber_points: float = Field(ge=0, le=100)
    note: str = ""


class CoopTargets(_Model):
    name: str
    display_name: str
    version: str
    source: str
    source_file: str = ""
    counted_from: int = Field(ge=2000, le=2100)        # first year whose new firms and projects count
    lights: Lights
    per_mu: PerMu
    categories: dict[Literal["leapfrog", "ecological"], CategoryTarget]
    targets: tuple[ActionTarget, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        ids = [t.id for t in self.targets]
        if len(ids) != len(set(ids)):
            raise ValueError("target ids must be unique")
        if any(t.year < self.counted_from for t in self.targets):
            raise ValueError("a target's year lies before counted_from")
        return self

    def category_target(self, category: str | None) -> CategoryTarget | None:
        return self.categories.get(category) if category else None

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


@lru_cache(maxsize=4)
def _load(path: Path, mtime: float) -> CoopTargets:
    return read_model(path, CoopTargets)


def coop_targets_path() -> Path:
    extra = os.environ.get(ENV_POLICY_DIR)
    if extra:
        mine = Path(extra) / "coop" / "action_plan.toml"
        if mine.is_file():
            return mine
    return ACTION_PLAN_FILE


def coop_targets() -> CoopTargets:
    """The action plan's targets (the packaged file, or the one in $SHANHAI_POLICY_DIR/coop)."""
    path = coop_targets_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise PolicyError(f"{path}: no such file") from None
    return _load(path, mtime)
