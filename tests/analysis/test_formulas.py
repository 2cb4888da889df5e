"""The formula layer against hand-computed values, NULL rules included."""

from __future__ import annotations

import ibis
import pytest

from shanhai.analysis.formulas import (
    calc_labour_productivity,
    calc_land_used,
    calc_per_mu,
    calc_ratio,
    calc_size_class,
)


def evaluate(table: dict, **expressions):
    t = ibis.memtable(table)
    con = ibis.duckdb.connect()
    return con.to_pyarrow(t.select(**{k: f(t) for k, f in expressions.items()})).to_pydict()


def test_ratio_is_null_for_zero_negative_or_missing_denominator():
    out = evaluate({"a": [10.0, 10.0, 10.0, None, 10.0], "b": [4.0, 0.0, -1.0, 2.0, None]},
                   r=lambda t: calc_ratio(t.a, t.b))
    assert out["r"][0] == pytest.approx(2.5)
    assert out["r"][1:] == [None, None, None, None]


def test_land_used_counts_missing_parts_as_zero():
    out = evaluate({"land_own_mu": [30.0, 0.0, None, 20.0],
                    "land_leased_mu": [0.0, 12.5, 8.0, None],
                    "land_leased_out_mu": [5.0, 0.0, None, 2.5]},
                   land=calc_land_used)
    assert out["land"] == [25.0, 12.5, 8.0, 17.5]


def test_per_mu_and_productivity():
    out = evaluate({"tax": [93.0, 5.0], "land": [3.0, 0.0], "va": [450.0, 10.0], "heads": [15, 0]},
                   tax_per_mu=lambda t: calc_per_mu(t.tax, t.land),
                   productivity=lambda t: calc_labour_productivity(t.va, t.heads))
    assert out["tax_per_mu"][0] == pytest.approx(31.0)
    assert out["productivity"][0] == pytest.approx(30.0)
    assert out["tax_per_mu"][1] is None and out["productivity"][1] is None


@pytest.mark.parametrize("head, revenue, expected", [
    (1000, 40_000, "large"),
    (999, 40_000, "medium"),       # both bounds must hold, else one class down
    (1000, 39_999, "medium"),
    (300, 2_000, "medium"),
    (299, 100_000, "small"),
    (20, 300, "small"),
    (19, 300, "micro"),
    (5000, 299, "micro"),
])
def test_size_class_boundaries(head, revenue, expected):
    out = evaluate({"h": [head], "r": [float(revenue)]}, size=lambda t: calc_size_class(t.h, t.r))
    assert out["size"] == [expected]


def test_size_class_null_when_unknown():
    out = evaluate({"h": [None, 50.0], "r": [5000.0, None]}, size=lambda t: calc_size_class(t.h, t.r))
    assert out["size"] == [None, None]
