"""腾笼换鸟 ledger formulas (pure; the store-level job is :mod:`shanhai.jobs.transition`).

**Freed by an action** (``calc_freed``), from the firm's last full year: land used
``L = own + leased − leased out`` (亩), energy ``E`` (综合能耗, tce 当量值, electricity at
``c = 0.1229`` kgce/kWh — the job reads the 当量值 kept beside a synced 等价值 figure) and
electricity ``W`` (kWh). On the ledger's basis

    E_basis = E                             (当量值, equivalent_calorific)
    E_basis = E + W × (p − c) / 1000        (等价值, equivalent_coal; p the year's coefficient)

and the CO2 of the year is ``W × g / 1000 + max(E − W × c / 1000, 0) × f_co2 / f_tce`` (g the grid
factor kg/kWh; the non-electric rest counted as one fuel with f_tce tce and f_co2 t CO2 per unit).
The action frees ``share × L``, ``share × E_basis`` and ``share × CO2`` with its kind's shares,
each rounded to 4 decimals (``Decimal``), unless audited figures are given.

**New-project check** (``calc_intensity``, ``calc_admit``): intensity ``I = energy ÷ value added``
(tce/万元); admitted when ``I ≤ T`` (inclusive) or ``I < T`` with ``T`` the threshold of the
allocation's date.

**Balance** (``calc_balance``): available = freed − allocated, exactly, in ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

Q4 = Decimal("0.0001")


def d4(value) -> Decimal:
    """A number as a Decimal rounded to 4 places (None → 0)."""
    if value is None:
        return Decimal(0)
    if not isinstance(value, Decimal):
        value = Decimal(repr(float(value))) if isinstance(value, float) else Decimal(str(value))
    return value.quantize(Q4, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Freed:
    land_mu: Decimal
    energy_tce: Decimal
    co2_t: Decimal


def calc_energy_on_basis(energy_tce: float, electricity_kwh: float, basis: str, *, calorific: float = 0.1229,
                         coal: float | None = None) -> float:
    """E on the ledger basis (module docstring): 当量值 as given, 等价值 with electricity re-valued
    at ``coal`` kgce/kWh instead of ``calorific``."""
    if basis == "equivalent_calorific":
        return float(energy_tce)
    if basis == "equivalent_coal":
        if coal is None:
            raise ValueError("an equivalent_coal (等价值) basis needs the year's electricity coefficient")
        return float(energy_tce) + float(electricity_kwh) * (coal - calorific) / 1000.0
    raise ValueError(f"unknown energy basis {basis!r}: expected equivalent_calorific or equivalent_coal")


def calc_co2(energy_tce: float, electricity_kwh: float, *, grid_kg_per_kwh: float, other_tce_per_unit: float,
             other_co2_per_unit: float, calorific: float = 0.1229) -> float:
    """t CO2 of a year: electricity × grid factor + the non-electric rest (当量值 tce) as one fuel."""
    w = float(electricity_kwh or 0.0)
    rest = max(float(energy_tce or 0.0) - w * calorific / 1000.0, 0.0)
    return w * grid_kg_per_kwh / 1000.0 + rest / other_tce_per_unit * other_co2_per_unit


def calc_freed(land_used_mu: float | None, energy_tce: float | None, electricity_kwh: float | None, *,
               land_share: float, energy_share: float, co2_share: float, basis: str, grid_kg_per_kwh: float,
               other_tce_per_unit: float, other_co2_per_unit: float, calorific: float = 0.1229,
               coal: float | None = None) -> Freed:
    """What an action frees from its firm's last full year (module docstring)."""
    e, w = float(energy_tce or 0.0), float(electricity_kwh or 0.0)
    on_basis = calc_energy_on_basis(e, w, basis, calorific=calorific, coal=coal)
    co2 = calc_co2(e, w, grid_kg_per_kwh=grid_kg_per_kwh, other_tce_per_unit=other_tce_per_unit,
                   other_co2_per_unit=other_co2_per_unit, calorific=calorific)
    return Freed(land_mu=d4(max(float(land_used_mu or 0.0), 0.0) * land_share),
                 energy_tce=d4(on_basis * energy_share), co2_t=d4(co2 * co2_share))


def calc_carriers(items: Iterable[tuple[float, float, float]]) -> tuple[float, float]:
    """(Σ tce, Σ t CO2) of carriers given as (quantity, tce per unit, t CO2 per unit)."""
    tce = co2 = 0.0
    for quantity, tce_per_unit, co2_per_unit in items:
        tce += quantity * tce_per_unit
        co2 += quantity * co2_per_unit
    return tce, co2


def calc_intensity(energy_tce: float, value_added: float | Decimal) -> float:
    """A project's energy intensity, tce per 万元 of value added (value added must be > 0)."""
    va = float(value_added)
    if not va > 0:
        raise ValueError("a project's value added must be above 0 to compute its energy intensity")
    return float(energy_tce) / va


def calc_admit(intensity: float, threshold: float, inclusive: bool = True) -> bool:
    """Whether a project of ``intensity`` passes ``threshold`` (≤ when inclusive, < otherwise);
    compared at 6 decimals so that 0.52 computed as 5,200 ÷ 10,000 is exactly 0.52."""
    i, t = round(float(intensity), 6), round(float(threshold), 6)
    return i <= t if inclusive else i < t


def calc_balance(freed: Decimal, allocated: Decimal) -> Decimal:
    """Available quota: freed − allocated (exact)."""
    return freed - allocated


__all__ = ["Freed", "d4", "calc_energy_on_basis", "calc_co2", "calc_freed", "calc_carriers", "calc_intensity",
           "calc_admit", "calc_balance"]
