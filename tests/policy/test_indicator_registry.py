"""The indicator registry's contract (policy/monitoring/indicators.toml and targets_documents.toml):
every indicator says how it is computed (a formula naming its table), units and cadences fit the
compute kind, the count kinds refuse what they cannot count (unknown flags or facts, a missing
threshold, a count in another unit or cadence), and every preset names a registered indicator and
cites its seed document — the count targets also the line, checked against the seed text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from shanhai.policy._indicator_registry import COUNT_FACTS, COUNT_FLAGS, Compute, Indicator, preset_targets, registry
from shanhai.policy._load import PolicyError

SEEDS = Path("/work/shared/seeds")
TABLE = {"ratio": "enterprise_years", "sum": "enterprise_years", "flag_share": "enterprise_years",
         "electricity": "electricity_monthly"}
COUNT_TABLE = {"new_above_scale": "enterprise_years", "flag": "enterprise_flags", "new_flag": "enterprise_flags",
               "over": "enterprise_years", "fact": "service_facts"}


def _ind(**kw) -> dict:
    base = {"id": "x_firms", "name": "某企业数", "name_en": "Some firms", "definition": "d", "unit": "家",
            "department": "经信", "source": "computed", "cadence": "year",
            "compute": {"kind": "count", "count": "flag", "flags": ["specialised"]}}
    return base | kw


def test_every_indicator_states_its_formula_and_source():
    reg = registry()
    assert len({i.id for i in reg.indicators}) == len(reg.indicators)
    for i in reg.indicators:
        assert i.name and i.name_en and i.definition and i.unit and i.department, i.id
        if i.compute is None:
            assert i.source == "imported" and i.formula.startswith("imported"), i.id
            continue
        table = COUNT_TABLE[i.compute.count] if i.compute.kind == "count" else TABLE[i.compute.kind]
        assert i.formula.startswith(table), (i.id, i.formula)
        assert i.integer == (i.compute.kind == "count"), i.id


def test_counts_are_in_firms_with_the_cadence_their_data_allow():
    counts = [i for i in registry().indicators if i.integer]
    assert {i.compute.count for i in counts} == set(COUNT_TABLE)
    for i in counts:
        assert i.unit == "家" and i.direction == "higher" and i.headline == "level", i.id
        assert i.alert_threshold is None and i.excellence_threshold is None, i.id
        if i.compute.count == "new_flag":
            assert (i.cadence, i.cumulative) == ("month", True), i.id
        else:
            assert (i.cadence, i.cumulative) == ("year", False), i.id
    f = registry().get("new_tech_firms").compute
    assert set(f.flags) == {"tech_sme", "high_tech"}
    assert "tech_sme (科技型中小企业) or high_tech (高新技术企业)" in f.formula()
    assert "revenue ≥ 10000 万元" in registry().get("revenue_100m_firms").formula
    assert "above_scale in year Y and not in Y − 1" in registry().get("new_above_scale_firms").formula


@pytest.mark.parametrize("compute, message", [
    ({"kind": "count"}, "needs count"),
    ({"kind": "count", "count": "flag"}, "needs flags"),
    ({"kind": "count", "count": "flag", "flags": ["zhuanjingtexin"]}, "unknown"),
    ({"kind": "count", "count": "fact", "facts": ["future_factories"]}, "unknown"),
    ({"kind": "count", "count": "over", "numerator": "revenue"}, "needs threshold"),
    ({"kind": "count", "count": "over", "numerator": "revenue", "threshold": 0}, "above 0"),
    ({"kind": "count", "count": "over", "numerator": "land_used", "threshold": 10}, "not land_used"),
    ({"kind": "count", "count": "new_above_scale", "flags": ["specialised"]}, "takes no flags"),
    ({"kind": "count", "count": "flag", "flags": ["specialised"], "factor": 100}, "no denominator, flag"),
    ({"kind": "sum", "numerator": "revenue", "threshold": 5}, "belong to kind count"),
])
def test_bad_counts_are_refused(compute, message):
    with pytest.raises(ValidationError, match=message):
        Compute(**compute)


def test_count_cadence_and_unit_are_checked():
    Indicator(**_ind())
    with pytest.raises(ValidationError, match="in 家"):
        Indicator(**_ind(unit="个"))
    with pytest.raises(ValidationError, match="annual"):
        Indicator(**_ind(cadence="month"))
    with pytest.raises(ValidationError, match="monthly and cumulative"):
        Indicator(**_ind(compute={"kind": "count", "count": "new_flag", "flags": ["little_giant"]}))
    Indicator(**_ind(cadence="month", cumulative=True,
                     compute={"kind": "count", "count": "new_flag", "flags": ["little_giant"]}))


def test_count_flags_and_facts_exist_in_the_store_schema():
    """The flag ids are those the synthetic data, the cultivation facts and the GLOSSARY use; the
    facts are service_facts columns."""
    migrations = Path(__file__).parents[2] / "src/shanhai/store/migrations"
    sql = "\n".join(p.read_text(encoding="utf-8") for p in sorted(migrations.glob("*.sql")))
    for condition, _ in COUNT_FACTS.values():
        assert re.search(rf"\b{condition.split()[0]}\s+(BOOLEAN|INTEGER)", sql), condition
    cultivation = (Path(__file__).parents[2] / "src/shanhai/jobs/cultivation.py").read_text(encoding="utf-8")
    for flag in COUNT_FLAGS:
        assert f'"{flag}"' in cultivation, flag


def test_presets_name_registered_indicators_and_cite_their_seed():
    reg = registry()
    presets = preset_targets()
    assert all(reg.get(t["indicator"]) is not None for t in presets)
    assert all(re.search(r"seed 00\d", t["source"]) for t in presets)
    counts = [t for t in presets if reg.get(t["indicator"]).integer]
    assert len(counts) == 17
    for t in counts:
        assert t["kind"] == "level" and float(t["value"]).is_integer() and t["value"] > 0, t["id"]
        assert re.search(r"seed 00\d, line \d+", t["source"]), t["id"]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed documents are not on this machine")
def test_count_targets_are_in_the_seed_text_at_the_cited_line():
    reg = registry()
    for t in preset_targets():
        if not reg.get(t["indicator"]).integer:
            continue
        seed, line = re.search(r"seed (00\d), line (\d+)", t["source"]).groups()
        text = next(SEEDS.glob(f"{seed}_*.txt")).read_text(encoding="utf-8").splitlines()[int(line) - 1]
        assert f"{int(t['value'])}家" in text or f"{int(t['value'])}项" in text, (t["id"], text[:80])


def test_a_target_on_an_unknown_indicator_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "monitoring"
    folder.mkdir()
    (folder / "targets_documents.toml").write_text(
        'name = "documents"\ndisplay_name = "x"\nversion = "1"\n[[targets]]\nid = "t-1"\nlabel = "l"\n'
        'source = "seed 002, line 17"\nyear = 2023\napplies_to = "330600"\nindicator = "new_firms"\n'
        'kind = "level"\nvalue = 500\n', encoding="utf-8")
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    with pytest.raises(PolicyError, match="new_firms is not in the registry"):
        preset_targets()
