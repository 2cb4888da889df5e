"""Ledger rule sets (policy._transition): the packaged ones load with their sources, thresholds by
date, the seed's 2023 targets, and bad files are refused naming the field."""

from __future__ import annotations

import datetime as dt

import pytest

from shanhai.policy._load import PolicyError
from shanhai.policy._transition import KINDS, ledger_rule_sets, ledger_rules, load_ledger_rules


def test_packaged_rule_sets():
    sets = ledger_rule_sets()
    assert {"default", "coal"} <= set(sets)
    d = ledger_rules()
    assert d.basis == "equivalent_calorific" and sets["coal"].basis == "equivalent_coal"
    assert set(d.kinds) == set(KINDS) and d.sources and d.inclusive
    assert d.threshold_on(dt.date(2020, 12, 31)).value == 0.60
    assert d.threshold_on(dt.date(2021, 1, 1)).value == 0.52
    with pytest.raises(PolicyError, match="no new-project threshold"):
        d.threshold_on(dt.date(2010, 1, 1))
    prov = next(t for t in d.targets if t.region == "330000")
    assert (prov.firms_eliminated, prov.firms_remediated, prov.land_mu, prov.energy_tce, prov.co2_t) == (
        5000, 10000, 150000, 5_000_000, 10_000_000) and prov.published and "seed 001" in prov.source
    sx = [t for t in d.targets if t.region == "330600"]
    assert any(t.land_mu == 15000 and t.published and "seed 002" in t.source for t in sx)
    assert d.with_inclusive(False).inclusive is False and d.fingerprint() != d.with_inclusive(False).fingerprint()


def _write(tmp_path, body: str):
    p = tmp_path / "ledger_bad.toml"
    p.write_text(body, "utf-8")
    return p


BASE = """name = "bad"
version = "1"
display_name = "x"
basis = "equivalent_calorific"
sources = ["s"]
[factors]
grid_co2_kg_per_kwh = 0.5366
other_tce_per_unit = 0.7143
other_co2_t_per_unit = 1.9003
[kinds.close]
zh = "关停"
en = "Close"
land_share = 1.0
energy_share = 1.0
co2_share = 1.0
[[thresholds]]
valid_from = 2021-01-01
value = 0.52
"""


def test_bad_rule_sets(tmp_path):
    with pytest.raises(PolicyError, match="kinds: expected exactly"):
        load_ledger_rules(_write(tmp_path, BASE))
    kinds = "".join(f'[kinds.{k}]\nzh = "{k}"\nen = "{k}"\nland_share = 0\nenergy_share = 0.5\nco2_share = 0.5\n'
                    for k in ("eliminate", "remediate", "relocate"))
    ok = BASE + kinds
    assert load_ledger_rules(_write(tmp_path, ok)).name == "bad"
    with pytest.raises(PolicyError, match="energy_share"):
        load_ledger_rules(_write(tmp_path, ok.replace("energy_share = 1.0", "energy_share = 1.5")))
    with pytest.raises(PolicyError, match="needs factors.electricity_coal"):
        load_ledger_rules(_write(tmp_path, ok.replace('basis = "equivalent_calorific"', 'basis = "equivalent_coal"')))
    with pytest.raises(PolicyError, match="basis"):
        load_ledger_rules(_write(tmp_path, ok.replace('basis = "equivalent_calorific"', 'basis = "mixed"')))


@pytest.mark.parametrize("name", sorted(ledger_rule_sets()))
def test_every_rule_set_keeps_the_contract(name):
    """Every registered rule set: all four kinds with shares in [0, 1], a close frees the whole last
    year, thresholds by date with 0.52 from 2021, sources, and a basis its factors can serve."""
    r = ledger_rules(name)
    assert set(r.kinds) == set(KINDS) and r.sources
    close = r.kinds["close"]
    assert (close.land_share, close.energy_share, close.co2_share) == (1.0, 1.0, 1.0)
    assert r.threshold_on(dt.date(2024, 1, 1)).value == 0.52
    if r.basis == "equivalent_coal":
        assert r.factors.coal_coefficient(2023) is not None
    assert r.factors.electricity_calorific_kgce_per_kwh == 0.1229
