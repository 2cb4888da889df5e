"""The public API is explicit: what each public module exports is pinned here."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "shanhai": {"ShanhaiError", "__version__"},
    "shanhai.store": {"Store", "backup", "current_version", "default_db_path", "latest_version",
                      "load_reference", "migrate", "open_store", "read_manifest", "reference_loaded", "restore"},
    "shanhai.synth": {"BuildResult", "CalibrationRow", "SynthConfig", "build", "calibration_table", "generate"},
    "shanhai.engine": {"ENGINES", "configure", "connect", "fetch", "insert", "materialize", "release"},
    "shanhai.cli": {"app", "main"},
    "shanhai.ingest": {"ImportResult", "Kind", "Problem", "import_file", "kind", "kinds"},
    "shanhai.policy": {"LIFECYCLE", "CreditRules", "LifecycleRules", "RankingRules", "SharingRules", "coop_rule_sets", "credit_rules", "lifecycle_rules", "ranking_rules", "sharing_rules", "ChainRules", "CoopTargets", "PairingRules", "coop_targets", "pairing_rule_sets", "pairing_rules", "chain_rule_sets", "chain_rules", "ENV_POLICY_DIR", "FLAGS", "FLAG_LABELS", "INDICATORS", "IndicatorDef", "PolicyError", "Preset",
                       "diff", "fingerprint", "get", "load_file", "parse", "presets", "Target", "targets"},
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all_is_pinned(module):
    mod = importlib.import_module(module)
    assert set(mod.__all__) == PUBLIC[module]
    for name in mod.__all__:
        assert hasattr(mod, name)


def test_reference_api_is_explicit():
    reference = importlib.import_module("shanhai.reference")
    assert {"regions", "counties", "cities", "region", "mountain_counties", "industries", "industry",
            "industry_classes", "classes_under", "chains", "load_chains", "county_stats", "lead_industries",
            "mountain_sea_pairs", "geojson_path", "geojson", "licences_text", "tables"} <= set(reference.__all__)


def test_layers_point_down():
    """store never imports analysis/cli; analysis never imports cli/web/reports or duckdb."""
    from pathlib import Path

    root = Path(importlib.import_module("shanhai").__file__).parent
    rules = {
        "store": ("shanhai.analysis", "shanhai.cli", "shanhai.engine", "shanhai.synth"),
        "analysis": ("shanhai.cli", "shanhai.web", "shanhai.reports", "import duckdb", "import pyspark"),
        "synth": ("shanhai.analysis", "shanhai.cli"),
        "reference": ("shanhai.store", "shanhai.analysis", "shanhai.cli"),
        "engine": ("shanhai.analysis", "shanhai.cli"),
        "policy": ("shanhai.store", "shanhai.analysis", "shanhai.cli", "shanhai.engine", "shanhai.jobs"),
        "jobs": ("shanhai.cli", "shanhai.web"),
        "reports": ("shanhai.cli", "shanhai.web"),
        "ingest": ("shanhai.analysis", "shanhai.cli", "shanhai.engine"),
    }
    # synth may use the analysis modules that are pure stdlib arithmetic (its synthetic ledger must
    # follow the ledger's own formulas); they stay pure: no shanhai import, no backend
    # (workdays: its synthetic requests' due dates follow the real working-day clock, over the
    # official calendar package)
    stdlib = {"__future__", "bisect", "collections", "dataclasses", "decimal", "functools", "math", "datetime",
              "typing", "warnings"}
    pure = {"transition": stdlib, "workdays": stdlib | {"chinese_calendar", "shanhai.errors"}}
    for module, allowed in pure.items():
        text = (root / "analysis" / f"{module}.py").read_text("utf-8")
        imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
        assert all(line.split()[1] in allowed or line.split()[1].split(".")[0] in allowed for line in imports), \
            f"analysis/{module}.py is imported by synth, so it may import only {sorted(allowed)}"
    for package, forbidden in rules.items():
        for file in (root / package).rglob("*.py"):
            text = file.read_text("utf-8")
            if package == "synth":
                for module in pure:
                    text = text.replace(f"from shanhai.analysis import {module} as", "")
            for name in forbidden:
                assert name not in text, f"{file.relative_to(root)} must not use {name}"


def test_ingest_kinds_stays_a_function_after_its_subpackage_is_imported():
    """``shanhai.ingest.kinds`` is both a function and the subpackage of kind files: importing the
    subpackage (importlib.resources does) must not replace the function (a web test caught it)."""
    import importlib

    import shanhai.ingest as ingest

    importlib.import_module("shanhai.ingest.kinds")
    assert callable(ingest.kinds) and "enterprise-years" in ingest.kinds()
