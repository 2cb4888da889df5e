"""Relatedness and economic complexity over locations × products (一县一业: county × industry).

A formula layer in the style of pymrio's ``calc_*``: each function states its formula, takes
NumPy arrays (a locations × products matrix, or vectors over locations or products) and returns
NumPy arrays, vectorised (no Python loop over cells). ``complexity`` runs the whole set for one
year; ``complexity_by_year`` and ``proximity_by_year`` take a long table (year, location,
product, value) and return a pyarrow Table.

The results are those of the Growth Lab's py-ecomplexity 0.5.3 (``ecomplexity(...)`` with its
defaults — presence by RCA ≥ 1, discrete symmetric proximity, density over all products — and
``check_logsupermodularity=False``) to within 1e-9, which ``tests/analysis/test_relatedness.py``
checks against the package itself. What that means in detail (see
``shared/reference/golden_cases.md`` §1):

* a year's locations and products whose values sum to 0 are left out of that year (their rows
  come back with nulls); the rest is a full rectangle, a missing cell counting 0;
* a missing (null or NaN) value counts 0 in every sum, its RCA is undefined (null) and its
  presence 0: ecomplexity's ``fillna(0, inplace=True)`` on a column no longer writes through under
  pandas ≥ 3 (copy-on-write), so its RCA comes out NaN there (0 under pandas 2);
* presence is RCA ≥ threshold (``>=``), an undefined RCA counting 0;
* ECI and PCI come from the eigenvector of the second largest eigenvalue, with the sign that
  makes ECI correlate positively with diversity; PCI is standardised with **ECI's** mean and
  standard deviation (ddof 0), COG divided by ECI's standard deviation, COI by its own; COI and
  COG use the raw (unstandardised) PCI;
* density keeps a product's proximity to itself (φ_pp = 1) in its denominator;
* where a diversity or ubiquity is 0 after the presence test ECI, PCI and COG are undefined
  (NaN, null in the tables) as in ecomplexity: its own rule is that NaN is inserted at the zero
  positions, except that exactly one zero location (or product) makes its eigen step fail
  (iterating a 0-d array) and every ECI and PCI NaN — copied here, so that the two agree. A
  constant diversity (the sign of a correlation with a constant) and fewer than two products or
  locations make every ECI and PCI NaN, as there.

Deliberate differences: duplicate (year, location, product) keys are refused (ecomplexity keeps
the first and appends the others as extra rows without results); NaN results are nulls.
When the eigenvalue used is not simple (λ₂ = λ₁ for a disconnected location–product network,
or λ₂ = λ₃) the eigenvector is not defined and no two implementations need agree.

Speed: ecomplexity solves the non-symmetric products × products eigenproblem (``np.linalg.eig``)
and also forms the locations × locations matrix it then discards. Here the symmetric form on the
smaller side is solved with ``eigh`` (golden_cases.md trap 4, ecomplexity issue #48): with
D_d, D_u the diagonal matrices of diversity and ubiquity,

    S_loc  = D_d^{-1/2} M D_u^{-1} Mᵀ D_d^{-1/2}      (locations × locations)
    S_prod = D_u^{-1/2} Mᵀ D_d^{-1} M D_u^{-1/2}      (products × products)

share their non-zero eigenvalues with M̃_cc = D_d^{-1} M D_u^{-1} Mᵀ and M̃_pp = D_u^{-1} Mᵀ D_d^{-1} M.
For 90 counties × 608 classes that is a 90 × 90 problem instead of a 608 × 608 one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import ThreadpoolController

COLUMNS = ("year", "location", "product", "value")
RESULTS = ("diversity", "ubiquity", "rca", "mcp", "eci", "pci", "density", "coi", "cog")
_INTEGERS = ("diversity", "ubiquity", "mcp")


# ---- the formulas ----------------------------------------------------------------------------

def calc_rca(values: np.ndarray) -> np.ndarray:
    """Balassa's revealed comparative advantage, locations × products.

    RCA_cp = (X_cp / Σ_p' X_cp') / (Σ_c' X_c'p / Σ_c'p' X_c'p')

    NaN cells count 0 in the sums; a location or product whose sum is 0 gives NaN (or inf).
    """
    x = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = x / np.nansum(x, axis=1)[:, None]
        totals = np.nansum(x, axis=0)[None, :]
        return shares / (totals / np.nansum(totals))


def calc_mcp(rca: np.ndarray, threshold: float = 1.0) -> np.ndarray:
    """Presence, locations × products (int64 0/1).

    M_cp = 1 if RCA_cp ≥ threshold else 0   (an undefined RCA counts 0; ``>=``, as ecomplexity)
    """
    return (np.nan_to_num(np.asarray(rca, dtype=float)) >= threshold).astype(np.int64)


def calc_diversity_ubiquity(mcp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Diversity and ubiquity: k_c,0 = Σ_p M_cp (per location), k_p,0 = Σ_c M_cp (per product)."""
    m = np.asarray(mcp)
    return m.sum(axis=1), m.sum(axis=0)


def calc_proximity(mcp: np.ndarray, ubiquity: np.ndarray | None = None) -> np.ndarray:
    """Product proximity, products × products (discrete, symmetric).

    φ_pq = Σ_c M_cp M_cq / max(k_p,0, k_q,0)

    (the minimum of the two conditional probabilities of presence). φ_pp = 1; a product of
    ubiquity 0 has a NaN row and column.
    """
    m = np.asarray(mcp)
    # 0/1 presences: the co-occurrence counts are exact in float32 (below 2^24), and its product
    # (BLAS syrk, for Mᵀ M) takes half the time
    m = m.astype(np.float32 if m.dtype.kind in "biu" else float)
    u = m.sum(axis=0, dtype=float) if ubiquity is None else np.asarray(ubiquity, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = (m.T @ m).astype(float) / u[None, :]
    return np.minimum(phi, phi.T)


def calc_density(mcp: np.ndarray, proximity: np.ndarray) -> np.ndarray:
    """Density (feasibility), locations × products.

    ω_cp = Σ_q M_cq φ_pq / Σ_q φ_pq

    The denominator skips NaN and keeps φ_pp = 1, so a product a location lacks never reaches 1
    (golden_cases.md trap 2); a NaN proximity anywhere makes every density NaN, as in
    ecomplexity.
    """
    phi = np.asarray(proximity, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.asarray(mcp, dtype=float) @ phi.T) / np.nansum(phi, axis=1)[None, :]


def calc_eci_pci(mcp: np.ndarray, diversity: np.ndarray | None = None,
                 ubiquity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Raw economic and product complexity (eigenvector method), before standardisation.

    With M̃_pp = D_u^{-1} Mᵀ D_d^{-1} M, K_p is the unit-length eigenvector of M̃_pp for its second
    largest eigenvalue and K_c = D_d^{-1} M K_p (locations and products of diversity or ubiquity 0
    left out, NaN there). Both are multiplied by s = sign(corr(k_c,0, K_c)) so that complex
    locations are the diverse ones. :func:`standardise` turns them into ECI and PCI.

    Solved as the symmetric S_loc or S_prod (module docstring), whichever is smaller. Every value
    is NaN where ecomplexity's eigen step fails or the sign is undefined: exactly one location or
    product of diversity/ubiquity 0, fewer than two locations or products left, a constant
    diversity.
    """
    m = np.asarray(mcp, dtype=float)
    d = m.sum(axis=1) if diversity is None else np.asarray(diversity, dtype=float)
    u = m.sum(axis=0) if ubiquity is None else np.asarray(ubiquity, dtype=float)
    eci, pci = np.full(m.shape[0], np.nan), np.full(m.shape[1], np.nan)
    rows, cols = d != 0, u != 0
    n_rows, n_cols = int(rows.sum()), int(cols.sum())
    if m.shape[0] - n_rows == 1 or m.shape[1] - n_cols == 1 or n_rows < 2 or n_cols < 2:
        return eci, pci
    mv, dv, uv = m[rows][:, cols], d[rows], u[cols]
    kp = _second_eigenvector(mv, dv, uv)
    kc = (mv @ kp) / dv
    with np.errstate(divide="ignore", invalid="ignore"):
        sign = np.sign(np.corrcoef(dv, kc)[0, 1])
    eci[rows], pci[cols] = sign * kc, sign * kp
    return eci, pci


def _second_eigenvector(m: np.ndarray, d: np.ndarray, u: np.ndarray) -> np.ndarray:
    """K_p: the unit eigenvector of D_u^{-1} Mᵀ D_d^{-1} M for its second largest eigenvalue."""
    if m.shape[0] < m.shape[1]:
        a = m / np.sqrt(d)[:, None]                     # D_d^{-1/2} M
        _, vectors = np.linalg.eigh((a / u[None, :]) @ a.T)
        kc = vectors[:, -2] / np.sqrt(d)                # eigenvector of D_d^{-1} M D_u^{-1} Mᵀ
        kp = (m.T @ kc) / u                             # ∝ the products' eigenvector
    else:
        b = m / np.sqrt(u)[None, :]                     # M D_u^{-1/2}
        _, vectors = np.linalg.eigh((b.T / d[None, :]) @ b)
        kp = vectors[:, -2] / np.sqrt(u)
    return kp / np.linalg.norm(kp)


def calc_coi(density: np.ndarray, mcp: np.ndarray, pci: np.ndarray) -> np.ndarray:
    """Raw complexity outlook index, per location (standardised by :func:`standardise`).

    COI_c = Σ_p ω_cp (1 − M_cp) PCI_p      (PCI raw, as ecomplexity)
    """
    return ((np.asarray(density) * (1 - np.asarray(mcp))) * np.asarray(pci)[None, :]).sum(axis=1)


def calc_cog(mcp: np.ndarray, proximity: np.ndarray, pci: np.ndarray) -> np.ndarray:
    """Raw complexity outlook gain, locations × products (divided by ECI's s.d. in :func:`standardise`).

    COG_cp = (1 − M_cp) Σ_q (1 − M_cq) φ_qp PCI_q / Σ_r φ_qr      (PCI raw)

    What a location would gain in outlook by adding p: the products it still lacks, near p,
    weighted by their complexity.
    """
    absent = 1 - np.asarray(mcp, dtype=float)
    phi = np.asarray(proximity, dtype=float)
    return absent * ((absent * (np.asarray(pci) / phi.sum(axis=1))[None, :]) @ phi)


def standardise(eci: np.ndarray, pci: np.ndarray, coi: np.ndarray,
                cog: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ecomplexity's normalisation (after the Stata package), standard deviations with ddof 0:

    ECI = (K_c − mean K_c) / sd K_c     PCI = (K_p − mean K_c) / sd K_c
    COG = COG_raw / sd K_c              COI = (COI_raw − mean COI_raw) / sd COI_raw

    Using ECI's mean and s.d. for PCI keeps ECI_c = mean of PCI_p over the products c has. A NaN
    anywhere in K_c makes all four NaN except COI (NumPy's mean and std propagate NaN).
    """
    if not eci.size:
        return eci, pci, coi, cog
    with np.errstate(divide="ignore", invalid="ignore"):
        mean, sd = eci.mean(), eci.std()
        return (eci - mean) / sd, (pci - mean) / sd, (coi - coi.mean()) / coi.std(), cog / sd


# ---- one year --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Complexity:
    """One year's results over the matrix given. ``locations`` and ``products`` are the masks of
    the rows and columns whose values sum to non-zero: the others took no part, and their
    results are NaN (``mcp``, ``diversity``, ``ubiquity``: 0)."""

    locations: np.ndarray      # bool (L,)
    products: np.ndarray       # bool (P,)
    rca: np.ndarray            # (L, P)
    mcp: np.ndarray            # (L, P) int64
    diversity: np.ndarray      # (L,) int64
    ubiquity: np.ndarray       # (P,) int64
    proximity: np.ndarray      # (P, P)
    density: np.ndarray        # (L, P)
    eci: np.ndarray            # (L,)
    pci: np.ndarray            # (P,)
    coi: np.ndarray            # (L,)
    cog: np.ndarray            # (L, P)


def complexity(values: np.ndarray, *, threshold: float = 1.0) -> Complexity:
    """Every measure for one year of a locations × products matrix of values (value added,
    employment, exports …): RCA, presence, diversity, ubiquity, proximity, density, ECI, PCI, COI
    and COG as ecomplexity computes them (module docstring). NaN values count 0 (their RCA is NaN);
    rows and columns summing to 0 are left out."""
    with _one_blas_thread():
        rows, cols, kept = _measures(values, threshold)
    masks = {"cell": (rows, cols), "location": (rows,), "product": (cols,), "pair": (cols, cols)}
    return Complexity(locations=rows, products=cols,
                      **{name: _widen(a, masks[_SHAPES[name]]) for name, a in kept.items()})


_SHAPES = {"rca": "cell", "mcp": "cell", "diversity": "location", "ubiquity": "product", "proximity": "pair",
           "density": "cell", "eci": "location", "pci": "product", "coi": "location", "cog": "cell"}


def _measures(values: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The masks of the rows and columns summing to non-zero, and every measure over them only."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"values must be a locations × products matrix, not an array of shape {x.shape}")
    rows, cols = np.nansum(x, axis=1) != 0, np.nansum(x, axis=0) != 0
    rca = calc_rca(x[rows][:, cols] if not (rows.all() and cols.all()) else x)
    mcp = calc_mcp(rca, threshold)
    diversity, ubiquity = calc_diversity_ubiquity(mcp)
    proximity = calc_proximity(mcp, ubiquity)
    density = calc_density(mcp, proximity)
    kc, kp = calc_eci_pci(mcp, diversity, ubiquity)
    eci, pci, coi, cog = standardise(kc, kp, calc_coi(density, mcp, kp), calc_cog(mcp, proximity, kp))
    return rows, cols, {"rca": rca, "mcp": mcp, "diversity": diversity, "ubiquity": ubiquity,
                        "proximity": proximity, "density": density, "eci": eci, "pci": pci, "coi": coi, "cog": cog}


_BLAS = threading.RLock()


@cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries loaded (NumPy's, loaded with it), found once: the search reads every
    shared library of the process (about 10 ms)."""
    return ThreadpoolController()


@contextmanager
def _one_blas_thread():
    """BLAS on one thread while the measures are computed. The matrices are small (a few hundred
    to a thousand products), so OpenBLAS's threads gain little, and when another process keeps a
    core busy they make every product several times slower (90 × 608 × 4 on 2 busy cores:
    0.3–0.9 s with two threads, 0.08–0.14 s with one). threadpoolctl's limit is process-wide: the
    lock keeps two callers from restoring each other's setting."""
    with _BLAS, _blas().limit(limits=1, user_api="blas"):
        yield


def _widen(a: np.ndarray, masks: tuple[np.ndarray, ...]) -> np.ndarray:
    """``a`` (over the kept rows and/or columns) in a full-size array: NaN elsewhere (0 for the
    integer measures)."""
    if all(m.all() for m in masks):
        return a
    out = np.full(tuple(len(m) for m in masks), 0 if a.dtype.kind == "i" else np.nan, dtype=a.dtype)
    out[np.ix_(*masks)] = a
    return out


# ---- long tables over years ------------------------------------------------------------------

@dataclass(frozen=True)
class _Long:
    """A long table encoded: the sorted distinct years, locations and products, and each row's
    codes into them; values as float64 with NaN for missing."""

    years: pa.Array
    locations: pa.Array
    products: pa.Array
    year: np.ndarray
    location: np.ndarray
    product: np.ndarray
    value: np.ndarray

    @property
    def key(self) -> np.ndarray:
        """Each row's (year, location, product) as one int64: (year · L + location) · P + product."""
        return (self.year.astype(np.int64) * len(self.locations) + self.location) * len(self.products) + self.product

    def by_year(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(year code, the year's row numbers, its locations × products matrix over every
        location and product of the table: 0 where no row, NaN where the value is missing).
        Two rows for one cell are refused (ValueError), before any year is returned."""
        n_l, n_p = len(self.locations), len(self.products)
        order = np.argsort(self.year, kind="stable")
        bounds = np.searchsorted(self.year[order], np.arange(len(self.years) + 1))
        years = [order[bounds[y]:bounds[y + 1]] for y in range(len(self.years))]
        cells = [self.location[rows].astype(np.int64) * n_p + self.product[rows] for rows in years]
        for y, (rows, cell) in enumerate(zip(years, cells)):
            counts = np.bincount(cell, minlength=n_l * n_p)
            if counts.max(initial=0) > 1:
                twice = np.flatnonzero(counts > 1)
                raise ValueError(
                    f"{counts.max()} rows for year {self.years[y]}, location {self.locations[twice[0] // n_p]}, "
                    f"product {self.products[twice[0] % n_p]} (and {len(twice) - 1} more such cells that year): "
                    "sum the values per (year, location, product) first")
        for y, (rows, cell) in enumerate(zip(years, cells)):
            x = np.zeros(n_l * n_p)
            x[cell] = self.value[rows]
            yield y, rows, x.reshape(n_l, n_p)


def _encode(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    levels = pc.unique(column)
    levels = levels.take(pc.array_sort_indices(levels))
    return levels, pc.index_in(column, value_set=levels).to_numpy()


def _long(data: pa.Table | Mapping) -> _Long:
    if isinstance(data, Mapping):
        missing = [c for c in COLUMNS if c not in data]
        if missing:
            raise ValueError(f"the long table has no column {', '.join(missing)} (expected {', '.join(COLUMNS)})")
        data = pa.table({c: data[c] if isinstance(data[c], (pa.Array, pa.ChunkedArray)) else
                         pa.array(np.asarray(data[c])) for c in COLUMNS})
    elif not isinstance(data, pa.Table):
        raise TypeError(f"expected a pyarrow Table or a mapping of {', '.join(COLUMNS)} to arrays, "
                        f"not {type(data).__name__}")
    missing = [c for c in COLUMNS if c not in data.column_names]
    if missing:
        raise ValueError(f"the long table has no column {', '.join(missing)} (expected {', '.join(COLUMNS)})")
    for c in COLUMNS[:3]:
        if data[c].null_count:
            raise ValueError(f"column {c} has {data[c].null_count} missing values: every row needs a "
                             "year, a location and a product")
    (years, year), (locations, location), (products, product) = (_encode(data[c]) for c in COLUMNS[:3])
    value = data["value"].cast(pa.float64()).to_numpy()
    return _Long(years, locations, products, year, location, product, value)


def complexity_by_year(data: pa.Table | Mapping, *, threshold: float = 1.0) -> pa.Table:
    """ecomplexity's output for a long table of (year, location, product, value): a pyarrow
    Table with those four columns (value as float64) and ``diversity, ubiquity, rca, mcp, eci,
    pci, density, coi, cog``, one row per year × location × product of the year's rectangle
    (locations and products whose values sum to non-zero that year; a cell with no row has value
    0), plus every input row left out of it with null results; ordered by year, location, product.

    ``data``: a pyarrow Table, or a mapping of the four column names to arrays (NumPy or Arrow).
    Each year is computed on its own, by :func:`complexity`.
    """
    long = _long(data)
    n_l, n_p = len(long.locations), len(long.products)
    with _one_blas_thread():
        years = [(y, rows, x, *_measures(x, threshold)) for y, rows, x in long.by_year()]
    blocks, row_keys = [], long.key
    for y, rows, x, kept_l, kept_p, m in years:
        left = rows[~(kept_l[long.location[rows]] & kept_p[long.product[rows]])]
        blocks.append((y, x, np.flatnonzero(kept_l), np.flatnonzero(kept_p), m, left))
    total = sum(len(gl) * len(gp) + len(left) for _, _, gl, gp, _, left in blocks)
    key, value, ok = np.empty(total, np.int64), np.empty(total), np.zeros(total, bool)
    out = {name: np.zeros(total, np.int64) if name in _INTEGERS else np.full(total, np.nan) for name in RESULTS}
    at = 0
    for y, x, gl, gp, m, left in blocks:
        n = len(gl) * len(gp)
        cells, rest = slice(at, at + n), slice(at + n, at + n + len(left))
        key[cells] = ((y * n_l + gl[:, None]) * n_p + gp[None, :]).ravel()
        value[cells] = x[np.ix_(gl, gp)].ravel()
        ok[cells] = True
        key[rest], value[rest] = row_keys[left], long.value[left]
        for name in RESULTS:            # each measure broadcast over the year's rectangle, in place
            a, shape = m[name], _SHAPES[name]
            out[name][cells].reshape(len(gl), len(gp))[...] = (
                a[:, None] if shape == "location" else a[None, :] if shape == "product" else a)
        at += n + len(left)
    if total > 1 and not np.all(key[1:] > key[:-1]):    # rows left out of a rectangle: sort them in
        order = np.argsort(key, kind="stable")
        key, value, ok = key[order], value[order], ok[order]
        out = {name: a[order] for name, a in out.items()}
    columns = {"year": long.years.take(pa.array(key // max(n_l * n_p, 1))),
               "location": long.locations.take(pa.array(key // max(n_p, 1) % max(n_l, 1))),
               "product": long.products.take(pa.array(key % max(n_p, 1))),
               "value": _doubles(value)}
    mask = None if ok.all() else ~ok
    for name in RESULTS:
        columns[name] = pa.array(out[name], type=pa.int64(), mask=mask) if name in _INTEGERS else _doubles(out[name])
    return pa.table(columns)


def _doubles(a: np.ndarray) -> pa.Array:
    """float64 values as an Arrow array, NaN as null (without a copy when there is none)."""
    return pa.array(a, type=pa.float64(), from_pandas=bool(np.isnan(a).any()))


def proximity_by_year(data: pa.Table | Mapping, *, threshold: float = 1.0) -> pa.Table:
    """ecomplexity's ``proximity()``: per year, φ for every ordered pair of the year's products
    (those whose values sum to non-zero), itself included — columns ``year, product_1,
    product_2, proximity`` (null where NaN), ordered by year, product_1, product_2."""
    long = _long(data)
    years, firsts, seconds, values = [], [], [], []
    for y, _, x in long.by_year():
        with _one_blas_thread():
            _, products, m = _measures(x, threshold)
        kept = np.flatnonzero(products)
        years.append(np.full(len(kept) ** 2, y))
        firsts.append(np.repeat(kept, len(kept)))
        seconds.append(np.tile(kept, len(kept)))
        values.append(m["proximity"].ravel())
    if not years:
        years = firsts = seconds = [np.zeros(0, np.int64)]
        values = [np.zeros(0)]
    return pa.table({"year": long.years.take(pa.array(np.concatenate(years))),
                     "product_1": long.products.take(pa.array(np.concatenate(firsts))),
                     "product_2": long.products.take(pa.array(np.concatenate(seconds))),
                     "proximity": _doubles(np.concatenate(values))})
