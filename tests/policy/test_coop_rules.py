"""山海协作 pairing rule sets (``policy/coop/pairing_*.toml``, ``policy._coop``): the packaged one
loads and is consistent, a user's folder adds rule sets, and a broken file is refused with its
field named."""

from __future__ import annotations

import numpy as np
import pytest

from shanhai.policy import PolicyError
from shanhai.policy._coop import COOP_DIR, pairing_rule_sets, pairing_rules


def test_the_default_rule_set():
    r = pairing_rules("default")
    assert r.name == "default" and r.version and r.display_name
    assert sum(r.weights.model_dump().values()) == pytest.approx(1.0)
    assert (r.chain_fit.gap, r.chain_fit.adjacent, r.chain_fit.other) == (1.0, 0.7, 0.0)
    assert r.class_value("A") == 1.0 and r.class_value("B") == 0.7 and r.class_value(None) == r.class_points["other"]
    assert r.candidates.leaders and r.candidates.classes == ("A", "B")
    assert (r.plan.per_county_min, r.plan.per_county_max) == (1, 2)
    assert r.distance.value(0) == 1.0 and r.distance.value(r.distance.max_km * 2) == 0.0
    assert np.allclose(r.distance.value(np.array([0.0, r.distance.max_km / 2])), [1.0, 0.5])
    assert len(r.fingerprint()) == 64
    assert set(pairing_rule_sets()) >= {"default"}


def _write(folder, name, text):
    (folder / "coop").mkdir(exist_ok=True)
    path = folder / "coop" / f"pairing_{name}.toml"
    path.write_text(text, "utf-8")
    return path


def _default_text() -> str:
    return (COOP_DIR / "pairing_default.toml").read_text("utf-8")


def test_a_users_rule_set_is_found(tmp_path, monkeypatch):
    text = _default_text().replace('name = "default"', 'name = "lishui"').replace(
        'kind = "linear"', 'kind = "decay"')
    _write(tmp_path, "lishui", text)
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    r = pairing_rules("lishui")
    assert r.distance.kind == "decay" and r.distance.value(r.distance.half_km) == pytest.approx(0.5)


@pytest.mark.parametrize("change, words", [
    (("chain_fit = 0.35", "chain_fit = 0.45"), "add up to 1"),
    (('classes = ["A", "B"]', 'classes = ["E"]'), "candidates.classes"),
    (("per_county_min = 1", "per_county_min = 3"), "exceeds per_county_max"),
    (("other = 0.4 ", "other_firms = 0.4 "), "class_points"),
    (("max_km = 460.0", "max_km = -1"), "distance.max_km"),
])
def test_a_broken_rule_set_names_its_field(tmp_path, monkeypatch, change, words):
    text = _default_text().replace('name = "default"', 'name = "broken"')
    assert change[0] in text
    _write(tmp_path, "broken", text.replace(change[0], change[1]))
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    with pytest.raises(PolicyError, match=words):
        pairing_rules("broken")


def test_the_file_name_must_be_the_rule_sets_name(tmp_path, monkeypatch):
    _write(tmp_path, "other", _default_text().replace('name = "default"', 'name = "mine"'))
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    with pytest.raises(PolicyError, match="pairing_mine.toml"):
        pairing_rule_sets()


def test_an_unknown_rule_set():
    with pytest.raises(PolicyError, match="unknown pairing rule set"):
        pairing_rules("no-such-rules")
