"""Every family of policy files, in one list, so that a deployment can check all of them at once.

Each family is read by its own module — per-mu presets (``$SHANHAI_POLICY_DIR/*.toml``), and
rule sets in the folders ``monitoring/``, ``carbon/``, ``chain_rules/``, ``coop/``, ``indices/``,
``cultivation/``, ``service/``, ``service_desk/``, ``transition/``, ``zones/`` — packaged beside the
code and optionally in ``$SHANHAI_POLICY_DIR``. A county that writes its own method drops a file
into that folder; a mistake there used to surface only when a command first read that family.
:func:`check` reads every family the way the commands do and reports, per family, what loaded or
the error (which names the file and the field). ``shanhai policy check`` prints it.

:data:`FAMILIES` must name every folder of packaged policy files (a test holds it to that).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from shanhai.policy._load import ENV_POLICY_DIR, PolicyError

PACKAGED = Path(__file__).parent


@dataclass(frozen=True)
class Family:
    folder: str            # sub-folder of the policy folders ("": the top — per-mu presets; packaged in presets/)
    label: str             # 中文 label
    label_en: str
    load: Callable[[], object]


def _names(found) -> list[str]:
    """What a family loaded: rule sets by name, a single file by its name, a list by its size."""
    if isinstance(found, dict):
        return sorted(found)
    if isinstance(found, (list, tuple)):
        return [f"{len(found)} 条 entries"]
    return [getattr(found, "name", "") or type(found).__name__]


def _load(module: str, function: str, *args) -> Callable[[], object]:
    def load():
        import importlib

        return getattr(importlib.import_module(f"shanhai.policy.{module}"), function)(*args)

    return load


FAMILIES: tuple[Family, ...] = (
    Family("", "亩均评价办法", "per-mu presets", _load("_load", "presets")),
    Family("", "亩均目标", "per-mu targets", _load("_load", "targets")),
    Family("monitoring", "指标库", "indicator registry", _load("_indicator_registry", "registry")),
    Family("monitoring", "目标文件", "targets from documents", _load("_indicator_registry", "preset_targets")),
    Family("monitoring", "监测规则", "monitoring rule sets", _load("_indicator_registry", "monitoring_rule_sets")),
    Family("monitoring", "综合指数规则", "composite index rule sets", _load("_indicator_registry", "index_rule_sets")),
    Family("monitoring", "预警规则", "alert rule sets", _load("_alerts", "alert_rule_sets")),
    Family("carbon", "排放因子", "factor sets", _load("_carbon", "factor_sets")),
    Family("carbon", "碳效分级", "carbon gradings", _load("_carbon", "gradings")),
    Family("chain_rules", "产业链规则", "chain rule sets", _load("_chain_rules", "chain_rule_sets")),
    Family("coop", "结对规则", "pairing rule sets", _load("_coop", "pairing_rule_sets")),
    Family("coop", "项目全周期规则", "project lifecycle rule sets", _load("_coop_projects", "coop_rule_sets", "lifecycle")),
    Family("coop", "招商首谈认定规则", "lead credit rule sets", _load("_coop_projects", "coop_rule_sets", "credit")),
    Family("coop", "增量分成规则", "output-sharing rule sets", _load("_coop_projects", "coop_rule_sets", "sharing")),
    Family("coop", "排名规则", "ranking rule sets", _load("_coop_projects", "coop_rule_sets", "ranking")),
    Family("coop", "山海协作行动目标", "action-plan targets", _load("_coop_targets", "coop_targets")),
    Family("indices", "电力指数规则", "power index rule sets", _load("_power_index", "index_rule_sets")),
    Family("cultivation", "梯度培育认定条件", "cultivation rule sets", _load("_rules", "cultivation_rule_sets")),
    Family("service", "惠企政策条款", "support-policy items", _load("_service", "service_items")),
    Family("service_desk", "办理时限", "SLA profiles", _load("_service_desk", "sla_profiles")),
    Family("service_desk", "分办规则", "routings", _load("_service_desk", "routings")),
    Family("service_desk", "服务名单规则", "list rule sets", _load("_service_desk", "list_rule_sets")),
    Family("service_desk", "上市培育路径", "listing pipelines", _load("_service_desk", "pipelines")),
    Family("transition", "腾笼换鸟台账规则", "ledger rule sets", _load("_transition", "ledger_rule_sets")),
    Family("zones", "开发区评价办法", "zone methods", _load("_zones", "zone_methods")),
    Family("security", "安全设置默认值", "security defaults", _load("_security", "defaults")),
)


@contextmanager
def _policy_dir(folder: str | Path | None):
    """``$SHANHAI_POLICY_DIR`` set to ``folder`` for the block (unchanged when None)."""
    if folder is None:
        yield
        return
    before = os.environ.get(ENV_POLICY_DIR)
    os.environ[ENV_POLICY_DIR] = str(Path(folder).resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_POLICY_DIR, None)
        else:
            os.environ[ENV_POLICY_DIR] = before


def check(folder: str | Path | None = None) -> list[dict]:
    """Every family read as the commands read it (the packaged files and ``folder``, else
    ``$SHANHAI_POLICY_DIR``): one row per family with ``ok``, the names loaded or the error."""
    if folder is not None and not Path(folder).is_dir():
        raise PolicyError(f"{folder}: not a folder")
    rows = []
    with _policy_dir(folder):
        for f in FAMILIES:
            row = {"folder": f.folder, "family": f.label_en, "label": f.label}
            try:
                row.update(ok=True, names=_names(f.load()), error=None)
            except (PolicyError, ValidationError, ValueError, OSError) as exc:
                row.update(ok=False, names=[], error=str(exc))
            rows.append(row)
    return rows
