"""``shanhai.analysis.relatedness`` against its oracle, the Growth Lab's py-ecomplexity 0.5.3 (a
test dependency), to 1e-9: random sparse inputs over several years, with zero rows and columns,
missing values and cells, the zero-diversity and zero-ubiquity paths; the golden vector of
shared/reference/golden_cases.md §1; and properties (row order, permutations, scale).

Random inputs are checked to have a simple second eigenvalue: where λ₂ = λ₁ (a disconnected
network) or λ₂ = λ₃ the eigenvector is not defined and no two implementations need agree.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import ecomplexity     # the oracle, a test dependency (pyproject's test group): missing, the module fails loudly
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shanhai.analysis import relatedness as rel

KEYS = ["year", "location", "product"]
COLS = {"time": "year", "loc": "location", "prod": "product", "val": "value"}
ATOL = 1e-9


# ---- the oracle ------------------------------------------------------------------------------

def _quiet(call):
    """ecomplexity warns about NaN and zero rows and prints from its eigen step's failure path."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return call()


def oracle(df: pd.DataFrame, threshold: float = 1.0) -> pd.DataFrame:
    out = _quiet(lambda: ecomplexity.ecomplexity(df, COLS, rca_mcp_threshold=threshold,
                                                 check_logsupermodularity=False, verbose=False))
    return out.sort_values(KEYS).reset_index(drop=True)


def ours(df: pd.DataFrame, threshold: float = 1.0) -> pd.DataFrame:
    return rel.complexity_by_year(pa.Table.from_pandas(df, preserve_index=False), threshold=threshold).to_pandas()


def assert_same(df: pd.DataFrame, threshold: float = 1.0) -> pd.DataFrame:
    theirs, mine = oracle(df, threshold), ours(df, threshold)
    assert mine[KEYS].to_numpy().tolist() == theirs[KEYS].to_numpy().tolist()
    for column in rel.RESULTS:
        np.testing.assert_allclose(mine[column].astype(float), theirs[column].astype(float), rtol=0, atol=ATOL,
                                   equal_nan=True, err_msg=column)
    given = mine["value"].notna()
    np.testing.assert_array_equal(mine["value"][given], theirs["value"][given])
    return mine


# ---- inputs ----------------------------------------------------------------------------------

def long(matrix: np.ndarray, year: int = 2023, *, prefix: str = "") -> pd.DataFrame:
    """Every cell of a locations × products matrix as a row (zeros and NaN included)."""
    n_l, n_p = matrix.shape
    return pd.DataFrame({"year": year, "location": np.repeat([f"{prefix}c{i:03d}" for i in range(n_l)], n_p),
                         "product": np.tile([f"p{j:03d}" for j in range(n_p)], n_l), "value": matrix.ravel()})


def sparse(rng: np.random.Generator, n_l: int, n_p: int, fill: float) -> np.ndarray:
    """Heavy-tailed values (Pareto) on a random share ``fill`` of the cells, drawn again until the
    eigenvalue ECI comes from is simple (a sparse draw is often a disconnected network)."""
    for _ in range(100):
        x = (rng.pareto(1.5, (n_l, n_p)) + 0.01) * (rng.random((n_l, n_p)) < fill)
        if simple_spectrum(x[x.sum(axis=1) > 0][:, x.sum(axis=0) > 0]):
            return x
    raise AssertionError(f"no {n_l} × {n_p} draw with a simple spectrum: fill {fill} is too sparse")


def simple_spectrum(matrix: np.ndarray, threshold: float = 1.0) -> bool:
    """Whether the eigenvalue ECI and PCI come from is simple (gaps of at least 1e-6)."""
    c = rel.complexity(matrix, threshold=threshold)
    m = c.mcp[c.diversity > 0][:, c.ubiquity > 0].astype(float)
    d, u = m.sum(axis=1), m.sum(axis=0)
    values = np.sort(np.linalg.eigvalsh((m / np.sqrt(d)[:, None] / u) @ (m / np.sqrt(d)[:, None]).T))
    return len(values) >= 3 and values[-1] - values[-2] > 1e-6 and values[-2] - values[-3] > 1e-6


def panel(seed: int, n_l: int, n_p: int, fill: float, years: int = 3) -> pd.DataFrame:
    """Several years of a sparse matrix; in some years a location or product has no value at
    all (a zero row or column, or no row), some values are missing, some cells have no row."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(years):
        x = sparse(rng, n_l, n_p, fill)
        if k == 1:
            x[rng.integers(n_l)] = 0.0               # a location with zeros only: left out this year
            x[:, rng.integers(n_p)] = 0.0            # a product with zeros only
        df = long(x, 2021 + k)
        df = df[(df.value != 0) | (rng.random(len(df)) < 0.3)]   # most empty cells have no row
        if k == 2:
            df = df[df.location != df.location.iloc[0]]          # a location absent that year
            df.loc[df.sample(5, random_state=seed).index, "value"] = np.nan
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


# ---- against ecomplexity ---------------------------------------------------------------------

@pytest.mark.parametrize(("seed", "n_l", "n_p", "fill"), [
    (1, 30, 50, 0.3),     # fewer locations than products: the eigenproblem on the locations' side
    (2, 60, 20, 0.4),     # more locations than products: on the products' side
    (3, 40, 120, 0.12),   # sparse
    (4, 90, 200, 0.25),   # the province's shape, fewer classes
])
def test_equals_ecomplexity_on_random_panels(seed, n_l, n_p, fill):
    df = panel(seed, n_l, n_p, fill)
    out = assert_same(df)
    assert out["eci"].notna().any() and out["cog"].notna().any()
    assert out["rca"].isna().any()                   # the zero row and column came back without results


def test_equals_ecomplexity_on_numeric_codes_and_one_year():
    rng = np.random.default_rng(11)
    x = sparse(rng, 25, 40, 0.35)
    df = long(x)
    df["location"] = df.location.str[1:].astype(int) + 330100
    df["product"] = df["product"].str[1:].astype(int) + 1300
    assert_same(df)


def _flat(rng: np.random.Generator, x: np.ndarray, n: int) -> np.ndarray:
    """``n`` locations whose mix is the province's within ±5 %: every RCA ≈ 1."""
    return x.sum(axis=0)[None, :] * rng.uniform(0.01, 0.05, (n, 1)) * rng.uniform(0.95, 1.05, (n, x.shape[1]))


@pytest.mark.parametrize("flat", [1, 2])
def test_zero_diversity_locations_as_ecomplexity(flat):
    """Locations with no RCA above the threshold: one makes ecomplexity's eigen step fail (every
    ECI and PCI NaN), two make ECI NaN through its mean; both copied."""
    rng = np.random.default_rng(20 + flat)
    x = sparse(rng, 30, 40, 0.2) * 10
    assert simple_spectrum(x, threshold=1.2)
    out = assert_same(long(np.vstack([x, _flat(rng, x, flat)])), threshold=1.2)
    assert (out["diversity"] == 0).any() and out["eci"].isna().all()


@pytest.mark.parametrize("flat", [1, 2])
def test_zero_ubiquity_products_as_ecomplexity(flat):
    rng = np.random.default_rng(30 + flat)
    x = sparse(rng, 30, 40, 0.2) * 10
    assert simple_spectrum(x, threshold=1.2)
    out = assert_same(long(np.hstack([x, _flat(rng, x.T, flat).T])), threshold=1.2)
    assert (out["ubiquity"] == 0).any() and out["pci"].isna().any()


@pytest.mark.parametrize("matrix", [
    [[1.0, 0.0], [0.0, 1.0]],                # constant diversity: the sign is undefined
    [[1.0, 2.0, 3.0]],                       # one location
    [[1.0], [2.0]],                          # one product
    [[1.0, 2.0, 0.0], [0.0, 1.0, 5.0], [3.0, 0.0, 1.0]],
    [[0.0, 0.0], [0.0, 0.0]],                # nothing at all
])
def test_small_and_degenerate_inputs_as_ecomplexity(matrix):
    assert_same(long(np.array(matrix)))


def test_proximity_equals_ecomplexity():
    df = panel(5, 30, 45, 0.3)
    theirs = _quiet(lambda: ecomplexity.proximity(df, COLS)).sort_values(["year", "product_1", "product_2"])
    mine = rel.proximity_by_year(pa.Table.from_pandas(df, preserve_index=False)).to_pandas()
    assert mine.columns.tolist() == ["year", "product_1", "product_2", "proximity"]
    assert mine[["year", "product_1", "product_2"]].to_numpy().tolist() == \
        theirs[["year", "product_1", "product_2"]].to_numpy().tolist()
    np.testing.assert_allclose(mine.proximity, theirs.proximity, rtol=0, atol=ATOL)


# ---- the golden vector (golden_cases.md §1) --------------------------------------------------

GOLDEN = np.array([[10, 0, 5, 0, 1], [8, 6, 4, 2, 0], [0, 9, 0, 7, 3], [5, 5, 5, 5, 5]], dtype=float)


def test_golden_vector():
    c = rel.complexity(GOLDEN)
    np.testing.assert_allclose(c.eci, [-1.2277, -0.7265, 1.1436, 0.8107], atol=5e-5)
    np.testing.assert_allclose(c.coi, [0.5957, 1.3188, -1.1487, -0.7658], atol=5e-5)
    np.testing.assert_array_equal(c.diversity, [2, 3, 3, 3])
    np.testing.assert_allclose(c.pci, [-1.7323, 0.2757, -0.7230, 1.5775, 1.5775], atol=5e-5)
    np.testing.assert_array_equal(c.ubiquity, [2, 2, 3, 2, 2])
    for (loc, prod), (rca, mcp, density, cog) in {
            (0, 0): (2.1739, 1, 0.7692, 0), (0, 3): (0, 0, 0.1176, 1.0637), (1, 0): (1.3913, 1, 1.0000, 0),
            (1, 3): (0.5714, 0, 0.2941, 1.0347), (2, 0): (0, 0, 0.2308, -1.0597),
            (3, 1): (0.8000, 0, 0.4706, -0.3676), (3, 4): (1.7778, 1, 0.8235, 0)}.items():
        assert c.rca[loc, prod] == pytest.approx(rca, abs=5e-5)
        assert c.mcp[loc, prod] == mcp
        assert c.density[loc, prod] == pytest.approx(density, abs=5e-5)
        assert c.cog[loc, prod] == pytest.approx(cog, abs=5e-5)
    # ECI is the mean PCI of what a location has (PCI standardised with ECI's mean and s.d.)
    assert c.eci[0] == pytest.approx((c.pci[0] + c.pci[2]) / 2, abs=1e-12)
    assert_same(long(GOLDEN))


# ---- properties ------------------------------------------------------------------------------

def test_row_order_does_not_matter():
    df = panel(6, 20, 30, 0.35)
    table = pa.Table.from_pandas(df, preserve_index=False)
    shuffled = table.take(np.random.default_rng(0).permutation(table.num_rows))
    assert rel.complexity_by_year(shuffled).equals(rel.complexity_by_year(table))


def test_permuting_locations_and_products_permutes_the_results():
    rng = np.random.default_rng(7)
    x = sparse(rng, 25, 35, 0.3)
    pl, pp = rng.permutation(25), rng.permutation(35)
    a, b = rel.complexity(x), rel.complexity(x[pl][:, pp])
    for name in ("rca", "mcp", "density", "cog"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name)[pl][:, pp], atol=ATOL, err_msg=name)
    for name in ("diversity", "eci", "coi"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name)[pl], atol=ATOL, err_msg=name)
    for name in ("ubiquity", "pci"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name)[pp], atol=ATOL, err_msg=name)
    np.testing.assert_allclose(b.proximity, a.proximity[pp][:, pp], atol=ATOL)


def test_scaling_the_values_changes_nothing():
    x = sparse(np.random.default_rng(8), 20, 30, 0.4)
    a, b = rel.complexity(x), rel.complexity(x * 37.5)
    for name in rel.RESULTS + ("proximity",):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=ATOL, err_msg=name)


def test_eci_is_the_mean_pci_of_present_products():
    c = rel.complexity(sparse(np.random.default_rng(9), 30, 40, 0.3))
    means = (c.mcp * c.pci[None, :]).sum(axis=1) / c.diversity
    np.testing.assert_allclose(c.eci, means, atol=ATOL)


def test_zero_rows_and_columns_are_left_out_of_the_matrix_results():
    x = sparse(np.random.default_rng(10), 12, 18, 0.5)
    x[3], x[:, 5] = 0.0, 0.0
    c = rel.complexity(x)
    assert not c.locations[3] and not c.products[5]
    assert np.isnan(c.eci[3]) and np.isnan(c.pci[5]) and np.isnan(c.rca[3]).all() and c.mcp[:, 5].sum() == 0
    kept = rel.complexity(np.delete(np.delete(x, 3, axis=0), 5, axis=1))
    np.testing.assert_allclose(np.delete(c.eci, 3), kept.eci, atol=ATOL)
    np.testing.assert_allclose(np.delete(np.delete(c.cog, 3, axis=0), 5, axis=1), kept.cog, atol=ATOL)


# ---- the long-table interface ----------------------------------------------------------------

def test_numpy_arrays_and_decimal_values_give_the_same_table():
    df = panel(12, 15, 20, 0.4, years=2).dropna()
    table = pa.Table.from_pandas(df, preserve_index=False)
    arrays = {c: df[c].to_numpy() for c in rel.COLUMNS}
    from_arrays = rel.complexity_by_year(arrays)
    assert from_arrays.equals(rel.complexity_by_year(table).cast(from_arrays.schema))   # large_string → string
    decimals = table.set_column(3, "value", pa.array(df.value.round(4).astype(str)).cast(pa.decimal128(18, 4)))
    out = rel.complexity_by_year(decimals)
    assert out.schema.field("value").type == pa.float64() and out.num_rows == rel.complexity_by_year(table).num_rows


def test_output_columns_and_types():
    out = rel.complexity_by_year(pa.Table.from_pandas(panel(13, 10, 12, 0.5, years=1), preserve_index=False))
    assert out.column_names == [*rel.COLUMNS, *rel.RESULTS]
    assert out.schema.field("location").type == pa.large_string()    # the input's (pandas 3 strings)
    for name in ("diversity", "ubiquity", "mcp"):
        assert out.schema.field(name).type == pa.int64()


def test_a_missing_value_counts_zero_and_has_no_rca():
    df = long(GOLDEN)
    df.loc[1, "value"] = np.nan          # c0 · p1 was 0 already: the results are the golden ones
    out = ours(df)
    assert len(out) == 20 and pd.isna(out.loc[1, "value"]) and pd.isna(out.loc[1, "rca"])
    assert out.loc[1, "mcp"] == 0 and out.loc[1, "density"] == pytest.approx(rel.complexity(GOLDEN).density[0, 1])
    np.testing.assert_allclose(out.eci.to_numpy()[::5], rel.complexity(GOLDEN).eci, atol=ATOL)


@pytest.mark.parametrize(("data", "message"), [
    ({"year": [2023, 2023], "location": ["a", "a"], "product": ["x", "x"], "value": [1.0, 2.0]}, "2 rows for year"),
    ({"year": [2023], "location": ["a"], "value": [1.0]}, "no column product"),
    ({"year": [2023, None], "location": ["a", "b"], "product": ["x", "y"], "value": [1.0, 2.0]}, "missing values"),
])
def test_bad_long_tables_are_refused(data, message):
    table = pa.table({k: pa.array(v) for k, v in data.items()})
    with pytest.raises(ValueError, match=message):
        rel.complexity_by_year(table)


def test_not_a_table_is_refused():
    with pytest.raises(TypeError):
        rel.complexity_by_year([1, 2, 3])
