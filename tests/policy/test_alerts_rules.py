"""The alert rule sets (policy/monitoring/alerts_*.toml): the packaged one loads, cites its sources,
has every signal weighted, and a broken copy is refused with the file and the field named."""

from __future__ import annotations

import datetime as dt

import pytest

from shanhai.policy._alerts import SIGNALS, alert_rule_sets, alert_rules
from shanhai.policy._load import PolicyError
from shanhai.policy._rulesets import rule_sets


def test_packaged_rules():
    r = alert_rules()
    assert r.name == "default" and r.version and "monitoring_methods" in r.source
    assert set(r.score.weights) == set(SIGNALS)
    assert r.festival.dates["2024"] == dt.date(2024, 2, 10) and r.festival.month_of(2025) == 1
    assert r.tasks.score_at >= r.score.alert_at
    assert len(r.fingerprint()) == 64 and "default" in alert_rule_sets()
    with pytest.raises(PolicyError, match="unknown alert rule set"):
        alert_rules("nosuch")


def _write(tmp_path, text):
    folder = tmp_path / "monitoring"
    folder.mkdir()
    source = (alert_rules.__globals__["MONITORING_DIR"] / "alerts_default.toml").read_text("utf-8")
    (folder / "alerts_county.toml").write_text(text(source), "utf-8")
    return tmp_path


@pytest.mark.parametrize("change, message", [
    (lambda s: s.replace('name = "default"', 'name = "county"').replace("alert_at = 50", "alert_at = 70"),
     "tasks.score_at must not be below"),
    (lambda s: s.replace('name = "default"', 'name = "county"').replace("spike = 60\n", ""), "needs every signal"),
    (lambda s: s.replace('name = "default"', 'name = "county"').replace("2024 = 2024-02-10", "2024 = 2024-03-10"),
     "January or February"),
    (lambda s: s.replace('name = "default"', 'name = "county"').replace("[yoy_drop]\nratio_below = 0.5",
                                                                         "[yoy_drop]\nratio_below = 0.1"),
     "full_at must not be above"),
])
def test_broken_copies_are_refused(tmp_path, monkeypatch, change, message):
    folder = _write(tmp_path, change)
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(folder))
    rule_sets.cache_clear()
    try:
        with pytest.raises(PolicyError, match=message) as err:
            alert_rules("county")
        assert "alerts_county.toml" in str(err.value)
    finally:
        rule_sets.cache_clear()


def test_a_county_copy_loads(tmp_path, monkeypatch):
    folder = _write(tmp_path, lambda s: s.replace('name = "default"', 'name = "county"').replace(
        "cap_per_town = 5", "cap_per_town = 2"))
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(folder))
    rule_sets.cache_clear()
    try:
        assert alert_rules("county").tasks.cap_per_town == 2 and alert_rules("default").tasks.cap_per_town == 5
    finally:
        rule_sets.cache_clear()
