"""Policy presets: per-mu evaluation methods as dated, versioned data (``presets/*.toml``).

A preset names its source document and says which populations are scored on which indicators
with which weights and benchmarks, how classes are assigned, which hard rules override the
score and what each class costs. ``get(name)`` reads one; ``presets()`` lists them (the
packaged ones plus any in ``$SHANHAI_POLICY_DIR``); ``diff(a, b)`` compares two. ``chain_rules(name)`` reads a chain rule set (``chain_rules/*.toml``:
segment status rules, attraction weights, risk thresholds).
"""

from shanhai.policy._chain_rules import ChainRules, chain_rule_sets, chain_rules
from shanhai.policy._coop import PairingRules, pairing_rule_sets, pairing_rules
from shanhai.policy._coop_projects import (LIFECYCLE, CreditRules, LifecycleRules, RankingRules, SharingRules,
                                           coop_rule_sets, credit_rules, lifecycle_rules, ranking_rules, sharing_rules)
from shanhai.policy._coop_targets import CoopTargets, coop_targets
from shanhai.policy._indicators import INDICATORS, IndicatorDef
from shanhai.policy._load import (ENV_POLICY_DIR, PolicyError, diff, fingerprint, get, load_file, parse, presets,
                                  targets)
from shanhai.policy._model import FLAG_LABELS, FLAGS, Preset, Target

__all__ = ["LIFECYCLE", "CreditRules", "LifecycleRules", "RankingRules", "SharingRules", "coop_rule_sets", "credit_rules", "lifecycle_rules", "ranking_rules", "sharing_rules", "ChainRules", "CoopTargets", "PairingRules", "coop_targets", "pairing_rule_sets", "pairing_rules", "chain_rule_sets", "chain_rules", "ENV_POLICY_DIR", "FLAGS", "FLAG_LABELS", "INDICATORS", "IndicatorDef", "PolicyError", "Preset", "diff",
           "fingerprint", "get", "load_file", "parse", "presets", "Target", "targets"]
