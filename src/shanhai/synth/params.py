"""The synthetic province's parameters, read from ``params.toml`` and ``divisions.csv``."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np


@dataclass(frozen=True)
class Divisions:
    """Per GB/T 4754 division (2-digit) parameters, as parallel arrays in ``codes`` order."""

    codes: tuple[str, ...]
    short_names: tuple[str, ...]
    name_words: tuple[str, ...]
    firm_share: np.ndarray
    va_margin: np.ndarray
    tax_rate: np.ndarray
    profit_margin: np.ndarray
    energy_intensity: np.ndarray    # tce per 万元 value added
    elec_share: np.ndarray          # share of energy use that is electricity
    emission_intensity: np.ndarray  # t pollutant equivalent per 万元 value added
    rd_intensity: np.ndarray        # R&D spending / revenue
    revenue_per_mu: np.ndarray      # 万元 revenue per 亩 of land used
    va_per_worker: np.ndarray       # 万元 value added per worker

    def index(self, code: str) -> int:
        return self.codes.index(code[:2])


@cache
def params() -> dict:
    return tomllib.loads(resources.files("shanhai.synth").joinpath("params.toml").read_text("utf-8"))


@cache
def divisions() -> Divisions:
    text = resources.files("shanhai.synth").joinpath("divisions.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    col = lambda name: np.array([float(r[name]) for r in rows])  # noqa: E731
    share = col("firm_share")
    return Divisions(
        codes=tuple(r["division"] for r in rows),
        short_names=tuple(r["short_name"] for r in rows),
        name_words=tuple(r["name_word"] for r in rows),
        firm_share=share / share.sum(),
        va_margin=col("va_margin"),
        tax_rate=col("tax_rate"),
        profit_margin=col("profit_margin"),
        energy_intensity=col("energy_intensity"),
        elec_share=col("elec_share"),
        emission_intensity=col("emission_intensity"),
        rd_intensity=col("rd_intensity"),
        revenue_per_mu=col("revenue_per_mu"),
        va_per_worker=col("va_per_worker"),
    )
