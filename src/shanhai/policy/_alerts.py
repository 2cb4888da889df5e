"""Enterprise early-warning rules (``monitoring/alerts_*.toml``): the signals computed from a
firm's monthly electricity (and water and gas where present), their thresholds, the composite
risk score, the Spring Festival handling and the visit-task policy. Data, like the presets: each
file is ``alerts_NAME.toml`` holding ``name = "NAME"``; the packaged ones here, more in
``$SHANHAI_POLICY_DIR/monitoring/``.

``alert_rules(name)`` reads one; ``alert_rule_sets()`` lists them. ``fingerprint()`` hashes one.
The method and its sources are in the analysis layer (``analysis/alerts.py``) and ``docs/alerts.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shanhai.policy._load import PolicyError
from shanhai.policy._rulesets import folders, pick, rule_sets

MONITORING_DIR = Path(__file__).parent / "monitoring"
SIGNALS = ("yoy_drop", "zscore_drop", "near_zero", "decline", "spike", "utilities_drop")
KINDS = ("collapse", "decline", "spike")
# which kind of anomaly a signal points to (the kind of an alert is its largest contributor's)
SIGNAL_KIND = {"yoy_drop": "collapse", "zscore_drop": "collapse", "near_zero": "collapse",
               "utilities_drop": "collapse", "decline": "decline", "spike": "spike"}
SIGNAL_LABELS = {"yoy_drop": ("日均用电同比大降", "Year-on-year drop of daily use"),
                 "zscore_drop": ("低于近12个月水平(Z分数)", "Below the last 12 months (z-score)"),
                 "near_zero": ("用电接近于零", "Use near zero"),
                 "decline": ("持续下降", "Sustained decline"),
                 "spike": ("用电异常激增", "Spike"),
                 "utilities_drop": ("用水/用气同步下降", "Water or gas down as well")}
KIND_LABELS = {"collapse": ("骤降/停产", "Collapse"), "decline": ("持续下滑", "Decline"),
               "spike": ("异常激增", "Spike")}
RESULTS = ("stopped", "reduced", "relocated", "normal", "false_alarm")
RESULT_LABELS = {"stopped": ("确认停产", "Confirmed stopped"), "reduced": ("确认减产", "Confirmed reduced"),
                 "relocated": ("已迁出", "Relocated"), "normal": ("生产正常", "Normal"),
                 "false_alarm": ("误报", "False alarm")}
POSITIVE_RESULTS = ("stopped", "reduced", "relocated")   # a visit that confirms the warning
Share = Field(ge=0, le=1)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class History(_Model):
    min_months: int = Field(ge=3, le=60)          # months of data before the scan month
    min_baseline_months: int = Field(ge=2, le=12)  # non-festival months in the 12-month window


class YoyDrop(_Model):
    ratio_below: float = Share        # average daily use ÷ the aligned month a year before
    full_at: float = Share            # ratio at (or below) which the signal is at full strength


class ZscoreDrop(_Model):
    z_below: float = Field(le=0)      # z = (use − mean of the previous 12 months) ÷ sd
    full_at: float = Field(le=0)
    min_cv: float = Field(ge=0, le=1)  # the sd is at least this share of the mean (flat series)


class NearZero(_Model):
    share_below: float = Share        # use ÷ the previous 12 months' mean
    floor_kwh_per_day: float = Field(ge=0)   # or below this absolute daily use
    active_floor_kwh_per_day: float = Field(ge=0)  # the firm's prior level must have been above this
    full_after_months: int = Field(ge=1, le=12)  # consecutive near-zero months for full strength


class Decline(_Model):
    falls: int = Field(ge=2, le=12)   # k consecutive monthly falls …
    ratio_below: float = Share        # … or the last 3 months' mean ÷ the previous 12 months' mean below this
    full_at: float = Share


class Spike(_Model):
    ratio_above: float = Field(gt=1)  # use ÷ the previous 12 months' mean
    full_at: float = Field(gt=1)


class Utilities(_Model):
    ratio_below: float = Share        # water or gas ÷ their previous 12 months' mean


class Festival(_Model):
    method: str = Field(pattern=r"^lunar_aligned$")
    dates: dict[str, dt.date]         # year → 春节 (Spring Festival) date
    late_day: int = Field(ge=1, le=29)   # a festival on or after this day of February disturbs March too

    @model_validator(mode="after")
    def _check(self):
        for year, day in self.dates.items():
            if not (year.isdigit() and int(year) == day.year and day.month in (1, 2)):
                raise ValueError(f"festival.dates.{year} = {day}: expected a date in January or February of {year}")
        return self

    def month_of(self, year: int) -> int | None:
        day = self.dates.get(str(year))
        return day.month if day else None


class Score(_Model):
    weights: dict[str, float]
    alert_at: float = Field(ge=0, le=100)      # composite score (0–100) from which a firm-month is an alert

    @model_validator(mode="after")
    def _check(self):
        unknown = sorted(set(self.weights) - set(SIGNALS))
        if unknown:
            raise ValueError(f"score.weights has unknown signals {', '.join(unknown)}: expected some of {', '.join(SIGNALS)}")
        missing = [s for s in SIGNALS if s not in self.weights]
        if missing:
            raise ValueError(f"score.weights needs every signal: {', '.join(missing)} missing")
        if any(not 0 <= w <= 100 for w in self.weights.values()):
            raise ValueError("score.weights must lie between 0 and 100")
        return self


class Tasks(_Model):
    score_at: float = Field(ge=0, le=100)      # alerts from this score become visit tasks
    cap_per_town: int = Field(ge=1, le=10_000)  # tasks per town per cycle (scan run)
    suppress_months: int = Field(ge=0, le=60)  # no new task for a firm visited this recently
    size_weight: float = Field(ge=0, le=100)   # priority = score + size_weight × the firm's size percentile


class Evaluation(_Model):
    tolerance_months: int = Field(ge=0, le=12)  # an alert up to this many months after the anomaly's end counts
    repeat_gap_months: int = Field(ge=0, le=24)  # alert months closer than this belong to one alert


class AlertRules(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    display_name: str
    version: str
    source: str = ""
    history: History
    yoy_drop: YoyDrop
    zscore_drop: ZscoreDrop
    near_zero: NearZero
    decline: Decline
    spike: Spike
    utilities: Utilities
    festival: Festival
    score: Score
    tasks: Tasks
    evaluation: Evaluation

    @model_validator(mode="after")
    def _order(self):
        if self.yoy_drop.full_at > self.yoy_drop.ratio_below:
            raise ValueError("yoy_drop.full_at must not be above ratio_below")
        if self.zscore_drop.full_at > self.zscore_drop.z_below:
            raise ValueError("zscore_drop.full_at must not be above z_below")
        if self.decline.full_at > self.decline.ratio_below:
            raise ValueError("decline.full_at must not be above ratio_below")
        if self.spike.full_at < self.spike.ratio_above:
            raise ValueError("spike.full_at must not be below ratio_above")
        if self.tasks.score_at < self.score.alert_at:
            raise ValueError("tasks.score_at must not be below score.alert_at (tasks come from alerts)")
        return self

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def alert_rule_sets() -> dict[str, AlertRules]:
    """Every alert rule set by name: the packaged ones, then those in $SHANHAI_POLICY_DIR/monitoring."""
    return dict(rule_sets(AlertRules, folders(MONITORING_DIR, "monitoring"), "alerts_", "alert rule set"))


def alert_rules(name: str = "default") -> AlertRules:
    if not isinstance(name, str) or not name:
        raise PolicyError("an alert rule set name is required")
    return pick(alert_rule_sets(), name, "alert rule set")
