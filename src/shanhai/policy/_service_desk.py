"""Enterprise service desk presets (``service_desk/*.toml``): request time-limit profiles, routing,
key and struggling enterprise lists, and the listing pipeline — data, like the other presets.

* ``sla-NAME.toml`` — a time-limit profile (SLA) of enterprise_service.md §1.3: its steps, each a
  limit in working days (or hours) counted from submission or from acceptance, which step closes
  the request (and which one a complex case closes by), the counting convention ``receipt_day``
  (0: the day after receipt is day 1; 1: the receipt day is day 1 — not stated in any source, so a
  parameter), how long before a deadline an extension must be asked for, and what an overdue
  request leads to (督办). Every published number cites its source key; ``published = false``
  marks a Shanhai parameter.
* ``routing-NAME.toml`` — request categories (the province's tag list was not found: §6.2 — a
  configuration) with the department each goes to and the level (county / city) that handles it.
* ``lists-NAME.toml`` — key-enterprise and struggling-enterprise lists (§5, §6.4): a rule set in
  the shared rule language (:mod:`shanhai.policy._rules`) per list, plus the top-N by composite
  score; the struggling thresholds are assumed (no published rule).
* ``pipeline-NAME.toml`` — listing-pipeline milestones (§4, §6.3), the tiers derived from them
  (起跑 / 加速 / 冲刺: a project assumption), staged awards paid at milestones, the reserve-pool
  entry test (a rule set: the Sichuan template L10, averaging window a parameter) and the
  province's and Shaoxing's targets (§4.1, §4.2).

The rule sets' facts are in ``service_desk/_facts.toml``.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._load import PolicyError
from shanhai.policy._rules import FactDef, RuleSet, _catalogue, parse_rule_set
from shanhai.policy._rulesets import folders, pick, rule_sets

SERVICE_DESK_DIR = Path(__file__).parent / "service_desk"

# request states (§6.2): the main line, then the side states
STATES = ("submitted", "accepted", "assigned", "answered", "closed", "reopened", "escalated")
STATE_LABELS = {"submitted": ("已提交", "Submitted"), "accepted": ("已受理", "Accepted"),
                "assigned": ("已交办", "Assigned"), "answered": ("已答复", "Answered"),
                "closed": ("已办结", "Closed"), "reopened": ("重新办理", "Reopened"),
                "escalated": ("督办中", "Escalated")}
CHANNELS = {"portal": ("企业码/浙里办", "Enterprise portal"), "hotline": ("12345热线", "12345 hotline"),
            "review": ("好差评", "Service review"), "walk_in": ("企服中心窗口", "Walk-in centre"),
            "visit": ("助企服务员走访", "Officer visit"), "leader": ("领导交办", "Leader assignment"),
            "discovered": ("主动发现", "Proactive discovery"), "import": ("批量导入", "Import")}
MILESTONES = ("intermediary_signed", "joint_stock", "counselling_filed", "application_accepted", "approved", "listed")
MILESTONE_LABELS = {"intermediary_signed": ("中介签约", "Intermediaries signed"),
                    "joint_stock": ("股改完成（股份有限公司登记）", "Joint-stock company registered"),
                    "counselling_filed": ("辅导备案", "Counselling filed"),
                    "application_accepted": ("申报受理", "Application accepted"),
                    "approved": ("审核/注册通过", "Approved / registered"), "listed": ("上市", "Listed")}
LIST_KINDS = {"key": ("重点企业", "Key enterprises"), "struggling": ("困难企业", "Struggling enterprises")}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _fp(model: BaseModel) -> str:
    return hashlib.sha256(json.dumps(model.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


# ---- SLA profiles ----------------------------------------------------------------------------------

class Step(_Model):
    id: str = Field(pattern=r"^[a-z][a-z_]*$")
    label: str
    label_en: str = ""
    start: Literal["submitted", "accepted"] = "submitted"     # the clock starts at this state
    workdays: int | None = Field(None, ge=1, le=120)
    hours: int | None = Field(None, ge=1, le=72)               # calendar hours (中山 1-hour contact)
    complex_only: bool = False                                 # applies to complex cases only
    published: bool = True
    source: str = ""

    @model_validator(mode="after")
    def _check(self):
        if (self.workdays is None) == (self.hours is None):
            raise ValueError(f"step {self.id}: give exactly one of workdays or hours")
        if self.published and not self.source:
            raise ValueError(f"step {self.id}: a published limit cites its source key")
        return self


class SlaProfile(_Model):
    name: str = Field(pattern=r"^[A-Z][A-Z0-9-]*$")
    display_name: str
    display_name_en: str = ""
    where: str
    source: str
    source_keys: tuple[str, ...] = Field(min_length=1)
    confidence: str = ""
    receipt_day: Literal[0, 1] = 0
    receipt_day_published: bool = False
    steps: tuple[Step, ...] = Field(min_length=1)
    close_step: str                                           # the step whose due date 按期办结 is measured by
    complex_close_step: str | None = None
    extension_before_wd: int = Field(1, ge=0, le=10)          # an extension must be asked ≥ this many wd before
    extension_published: bool = False
    max_extension_wd: int = Field(10, ge=1, le=60)
    overdue_action: Literal["escalate"] = "escalate"          # 逾期 → 督办
    overdue_published: bool = False
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self):
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("a step id is used twice")
        for k in ("close_step", "complex_close_step"):
            v = getattr(self, k)
            if v is not None and v not in ids:
                raise ValueError(f"{k} {v!r} is not one of the steps ({', '.join(ids)})")
        if self.step(self.close_step).complex_only:
            raise ValueError("close_step must apply to every case (not complex_only)")
        if self.step(self.close_step).workdays is None:
            raise ValueError("close_step must be counted in working days")
        return self

    def step(self, sid: str) -> Step:
        for s in self.steps:
            if s.id == sid:
                return s
        raise PolicyError(f"SLA profile {self.name} has no step {sid!r}")

    def closing(self, complex_case: bool = False) -> Step:
        return self.step(self.complex_close_step if complex_case and self.complex_close_step else self.close_step)

    def fingerprint(self) -> str:
        return _fp(self)


# ---- routing ---------------------------------------------------------------------------------------

class Category(_Model):
    id: str = Field(pattern=r"^[a-z][a-z_]*$")
    label: str
    label_en: str = ""
    department: str
    department_en: str = ""
    level: Literal["county", "city"] = "county"


class Routing(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    display_name: str
    source: str
    published: bool = False
    sla: str                                                    # the default SLA profile
    complex_level: Literal["county", "city"] = "city"           # 分层: a complex case goes up a level
    categories: tuple[Category, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self):
        ids = [c.id for c in self.categories]
        if len(set(ids)) != len(ids):
            raise ValueError("a category id is used twice")
        if "other" not in ids:
            raise ValueError("routing needs an 'other' category for requests no other fits")
        return self

    def category(self, cid: str | None) -> Category:
        for c in self.categories:
            if c.id == cid:
                return c
        return self.category("other") if cid != "other" else self.categories[-1]

    def fingerprint(self) -> str:
        return _fp(self)


# ---- lists -----------------------------------------------------------------------------------------

class ListRule(_Model):
    kind: Literal["key", "struggling"]
    display_name: str
    top_n: int = Field(0, ge=0, le=10000)            # + the N best composite scores (0: none)
    top_n_published: bool = False
    service_tasks: bool = True                        # each listed firm gets a one-to-one service task
    rules: dict                                       # a rule set in the shared rule language

    @cached_property
    def rule_set(self) -> RuleSet:
        return parse_rule_set(self.rules, f"list {self.kind}", service_desk_catalogue())

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))


class ListRules(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    display_name: str
    display_name_en: str = ""
    version: str
    source: str
    source_keys: tuple[str, ...] = ()
    score_from: Literal["mujun"] = "mujun"           # composite score: the latest per-mu run's total_score
    decline_months: int = Field(3, ge=1, le=12)      # electricity change: last N months vs the same months a year before
    lists: tuple[ListRule, ...] = Field(min_length=1)
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self):
        kinds = [x.kind for x in self.lists]
        if len(set(kinds)) != len(kinds):
            raise ValueError("a list kind is defined twice")
        for x in self.lists:
            try:
                x.rule_set
            except PolicyError as exc:
                raise ValueError(str(exc)) from None
        return self

    def get(self, kind: str) -> ListRule:
        for x in self.lists:
            if x.kind == kind:
                return x
        raise PolicyError(f"list rules {self.name} define no {kind!r} list (they define "
                          f"{', '.join(x.kind for x in self.lists)})")

    def fingerprint(self) -> str:
        return _fp(self)


# ---- pipeline --------------------------------------------------------------------------------------

class Award(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    amount: Decimal = Field(gt=0, le=100000, decimal_places=4)  # 万元
    earned_at: Literal[MILESTONES]                             # the milestone that earns it
    paid_at: Literal[MILESTONES] | None = None                 # released at a later milestone (萧山: after 辅导备案)
    reinvest_min: Decimal | None = Field(None, gt=0, le=1)     # share of proceeds reinvested locally for the full amount
    below_min: Literal["manual_review", "share_of_bar", "share", "none"] = "manual_review"
    source: str


class Tier(_Model):
    id: str = Field(pattern=r"^[a-z][a-z_]*$")
    label: str
    label_en: str = ""
    reached: tuple[Literal[MILESTONES], ...] = ()              # milestones that put a firm in this tier (any)
    published: bool = False


class Target(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    region: str = Field(pattern=r"^33\d{4}$")
    year: int = Field(ge=2017, le=2035)
    measure: Literal["listed", "new_listings", "reserve", "filed", "joint_stock"]
    value: int = Field(ge=1)
    since: int | None = None                                   # new_listings: counted from this year
    source: str


class Pipeline(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    display_name: str
    display_name_en: str = ""
    version: str
    source: str
    source_keys: tuple[str, ...] = ()
    one_award_per_firm: bool = True                            # 萧山: one award per firm for multiple listings
    awards: tuple[Award, ...] = ()
    tiers: tuple[Tier, ...] = ()
    tiers_published: bool = False
    pool_size: int | None = Field(None, ge=1)
    entry: dict | None = None                                  # reserve-pool entry test (a rule set)
    average_years: int = Field(2, ge=1, le=5)                  # the window of every "average" (mean) in the entry test
    targets: tuple[Target, ...] = ()
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self):
        for a in self.awards:
            if a.paid_at and MILESTONES.index(a.paid_at) < MILESTONES.index(a.earned_at):
                raise ValueError(f"award {a.id}: paid_at {a.paid_at} comes before earned_at {a.earned_at}")
        if self.entry is not None:
            try:
                self.entry_rules
            except PolicyError as exc:
                raise ValueError(str(exc)) from None
        return self

    @cached_property
    def entry_rules(self) -> RuleSet | None:
        return self.entry_rules_for(self.average_years)

    def entry_rules_for(self, average_years: int) -> RuleSet | None:
        """The entry test with every ``aggregate = "mean"`` condition read over ``average_years`` years
        (the averaging window is a parameter: G9b flips between 2 and 3)."""
        if self.entry is None:
            return None
        if isinstance(average_years, bool) or not isinstance(average_years, int) or not 1 <= average_years <= 5:
            raise PolicyError(f"average_years must be a whole number from 1 to 5 (got {average_years!r})")

        def walk(node):
            if isinstance(node, dict):
                out = {k: walk(v) for k, v in node.items()}
                if out.get("aggregate") == "mean":
                    out["years"] = average_years
                return out
            if isinstance(node, list):
                return [walk(x) for x in node]
            return node
        data = walk(self.entry)
        data["version"] = f"{data.get('version', '')}+avg{average_years}"
        return parse_rule_set(data, f"pipeline {self.name} entry", service_desk_catalogue())

    def fingerprint(self) -> str:
        return _fp(self)


# ---- reading ---------------------------------------------------------------------------------------

def service_desk_catalogue() -> dict[str, FactDef]:
    """The facts the list and entry rule sets may read (``service_desk/_facts.toml``)."""
    return _catalogue(SERVICE_DESK_DIR / "_facts.toml")


def _where() -> tuple[Path, ...]:
    return folders(SERVICE_DESK_DIR, "service_desk")


def sla_profiles() -> dict[str, SlaProfile]:
    return rule_sets(SlaProfile, _where(), "sla-", "SLA profile")


def sla_profile(name: str) -> SlaProfile:
    return pick(sla_profiles(), name, "SLA profile")


def routings() -> dict[str, Routing]:
    return rule_sets(Routing, _where(), "routing-", "routing")


def routing(name: str = "default") -> Routing:
    r = pick(routings(), name, "routing")
    sla_profile(r.sla)
    return r


def list_rule_sets() -> dict[str, ListRules]:
    return rule_sets(ListRules, _where(), "lists-", "list rules")


def list_rules(name: str) -> ListRules:
    return pick(list_rule_sets(), name, "list rules")


def pipelines() -> dict[str, Pipeline]:
    return rule_sets(Pipeline, _where(), "pipeline-", "pipeline preset")


def pipeline(name: str) -> Pipeline:
    return pick(pipelines(), name, "pipeline preset")
