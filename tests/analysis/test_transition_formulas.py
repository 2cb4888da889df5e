"""The ledger formulas (analysis.transition) on golden case G of energy_carbon.md §8."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shanhai.analysis import transition as at

COAL = dict(grid_kg_per_kwh=0.5366, other_tce_per_unit=0.7143, other_co2_per_unit=1.9003)
ALL = dict(land_share=1.0, energy_share=1.0, co2_share=1.0)


def test_close_firm_c_frees_its_last_year():
    # raw coal 20,000 t → 14,286 tce; 30,000,000 kWh → 3,687 tce
    f = at.calc_freed(80, 14286 + 3687, 30_000_000, basis="equivalent_calorific", **ALL, **COAL)
    assert (f.energy_tce, f.co2_t, f.land_mu) == (Decimal("17973.0000"), Decimal("54104.0000"), Decimal("80.0000"))


def test_basis_warning_size():
    # 等价值 with the outdated statistical 0.404 kgce/kWh: 14,286 + 12,120 = 26,406 instead of 17,973
    f = at.calc_freed(0, 17973, 30_000_000, basis="equivalent_coal", coal=0.404, **ALL, **COAL)
    assert f.energy_tce == Decimal("26406.0000") and f.co2_t == Decimal("54104.0000")
    with pytest.raises(ValueError, match="coefficient"):
        at.calc_energy_on_basis(1, 1, "equivalent_coal")
    with pytest.raises(ValueError, match="unknown energy basis"):
        at.calc_energy_on_basis(1, 1, "primary")


def test_projects_p1_p2_p3():
    tce, co2 = at.calc_carriers([(50_000_000, 0.1229e-3, 0.5366e-3), (2_000_000, 1.2143e-3, 2.1622e-3)])
    assert round(tce, 1) == 8573.6 and round(co2, 1) == 31154.4
    i1 = at.calc_intensity(tce, 30000)
    assert round(i1, 5) == 0.28579 and at.calc_admit(i1, 0.52)
    assert round(co2 / 30000, 5) == 1.03848
    assert at.calc_balance(Decimal("17973"), at.d4(tce)) == Decimal("9399.4000")
    assert at.calc_balance(Decimal("54104"), at.d4(co2)) == Decimal("22949.6000")
    i2 = at.calc_intensity(6000, 10000)
    assert i2 == pytest.approx(0.60) and not at.calc_admit(i2, 0.52) and at.calc_admit(i2, 0.60, inclusive=True)
    assert not at.calc_admit(i2, 0.60, inclusive=False)
    i3 = at.calc_intensity(5200, 10000)
    assert at.calc_admit(i3, 0.52, inclusive=True) and not at.calc_admit(i3, 0.52, inclusive=False)
    with pytest.raises(ValueError):
        at.calc_intensity(10, 0)


def test_shares_and_audited_rounding():
    f = at.calc_freed(100, 1000, 0, basis="equivalent_calorific", land_share=0, energy_share=0.15, co2_share=0.15, **COAL)
    assert f.land_mu == 0 and f.energy_tce == Decimal("150.0000")
    assert f.co2_t == at.d4(1000 / 0.7143 * 1.9003 * 0.15)


@given(st.floats(0, 1e7), st.floats(0, 1e9), st.sampled_from([0.0, 0.15, 0.3, 1.0]))
def test_freed_never_negative_and_units(energy, kwh, share):
    """A firm reporting more electricity than its total (bad data) never frees negative CO2; the
    freed energy scales with the share."""
    f = at.calc_freed(10, energy, kwh, basis="equivalent_calorific", land_share=share, energy_share=share,
                      co2_share=share, **COAL)
    assert f.co2_t >= 0 and f.energy_tce == at.d4(energy * share)
