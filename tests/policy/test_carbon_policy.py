"""policy/carbon/*.toml: the packaged factor set and grading preset load, carry a source and a
status on every number, pick the right grid factor by series, geography and year, and bad files
are refused with the file and field named."""

from __future__ import annotations

import pytest

from shanhai.policy._carbon import FUELS, Factors, factors, gradings, grading
from shanhai.policy._load import PolicyError
from shanhai.policy._rulesets import read_model


def test_packaged_sets_load_with_sources():
    f = factors("default")
    assert set(f.carriers) == set(FUELS)
    assert all(v.source and v.status for v in f.carriers.values())
    assert all(g.source and g.status for g in f.grid)
    assert all(e.status == "assumed" for e in f.electricity.equal)       # not found in the sources: say so
    g = grading("default")
    assert g.levels.low == 0.6 and g.levels.medium == 2.0 and g.grades.cutoffs == (0.6, 0.8, 1.2, 2.0)
    assert g.industry.aggregation == "ratio_of_sums" and g.low_carbon.target_share == 0.55
    assert "default" in gradings()


@pytest.mark.parametrize("series, geo, year, expected, used", [
    ("mee_nbs_average", "national", 2022, 0.0005366, 2022),
    ("mee_nbs_average", "zhejiang", 2023, 0.0004974, 2023),
    ("mee_nbs_average", "east_china", 2025, 0.0005500, 2023),     # latest earlier year
    ("mee_nbs_average", "national", 2019, 0.0005568, 2021),       # before the first: the first
    ("carbon_market_2022", "national", 2024, 0.0005703, 2022),
])
def test_grid_factor_by_series_geography_and_year(series, geo, year, expected, used):
    g = factors().grid_factor(series, geo, year)
    assert (g.t_per_kwh, g.year) == (expected, used)


def test_unknown_series_is_refused():
    with pytest.raises(PolicyError, match="no grid factor series 'x'"):
        factors().grid_factor("x", "national", 2022)
    with pytest.raises(PolicyError, match="unknown grading setting 'nonsense'"):
        grading().with_(nonsense=1)


def test_bad_files_name_the_field(tmp_path):
    text = (factors.__globals__["CARBON_DIR"] / "factors-default.toml").read_text("utf-8")
    bad = tmp_path / "factors-bad.toml"
    bad.write_text(text.replace('name = "default"', 'name = "bad"').replace("tce_per_unit = 0.7143", "tce_per_unit = -1"),
                   "utf-8")
    with pytest.raises(PolicyError, match=r"factors-bad.toml: carriers.coal.tce_per_unit"):
        read_model(bad, Factors)
    from shanhai.policy._carbon import Grading
    gtext = (factors.__globals__["CARBON_DIR"] / "grading-default.toml").read_text("utf-8")
    badg = tmp_path / "grading-bad.toml"
    badg.write_text(gtext.replace("cutoffs = [0.6, 0.8, 1.2, 2.0]", "cutoffs = [0.8, 0.6, 1.2, 2.0]"), "utf-8")
    with pytest.raises(PolicyError, match="increasing"):
        read_model(badg, Grading)
