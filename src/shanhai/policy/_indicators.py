"""The indicators a per-mu preset may score, as data: what each divides by what, and its unit.

The formulas themselves live in the analysis layer (``formulas.calc_*``); this catalogue is
what a preset file is checked against, and what the interface shows. ``factor`` converts the
stored units (万元, 亩, 人, tce, t, kWh) into the unit users read: 元/kWh is 万元 × 10,000 ÷ kWh.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndicatorDef:
    id: str
    label: str
    label_en: str
    unit: str
    numerator: str      # enterprise_years column
    denominator: str    # enterprise_years column, or land_used / water_t (derived)
    factor: float = 1.0


INDICATORS: dict[str, IndicatorDef] = {d.id: d for d in (
    IndicatorDef("tax_per_mu", "亩均税收", "Tax per mu", "万元/亩", "tax_paid", "land_used"),
    IndicatorDef("value_added_per_mu", "亩均增加值", "Value added per mu", "万元/亩", "value_added", "land_used"),
    IndicatorDef("revenue_per_mu", "亩均营业收入", "Revenue per mu", "万元/亩", "revenue", "land_used"),
    IndicatorDef("labour_productivity", "全员劳动生产率", "Labour productivity", "万元/人", "value_added",
                 "headcount"),
    IndicatorDef("value_added_per_energy", "单位能耗增加值", "Value added per tce", "万元/吨标准煤", "value_added",
                 "energy_tce"),
    IndicatorDef("value_added_per_emission", "单位排放增加值", "Value added per t of discharge", "万元/吨",
                 "value_added", "emission_t"),
    IndicatorDef("value_added_per_water", "单位用水增加值", "Value added per t of water", "万元/吨", "value_added",
                 "water_t"),
    IndicatorDef("rd_intensity", "研发经费占主营业务收入比重", "R&D spending / main-business revenue", "比值",
                 "rd_spending", "main_revenue"),
    IndicatorDef("rd_intensity_revenue", "研发经费占营业收入比重", "R&D spending / revenue", "比值", "rd_spending",
                 "revenue"),
    IndicatorDef("tax_per_kwh", "单位电耗税收", "Tax per kWh", "元/千瓦时", "tax_paid", "electricity_kwh", 10_000.0),
    IndicatorDef("revenue_per_kwh", "单位电耗营业收入", "Revenue per kWh", "元/千瓦时", "revenue", "electricity_kwh",
                 10_000.0),
)}

# The roll-up figures: sums over sums of the same columns (never means of ratios).
SUM_COLUMNS = ("tax_paid", "value_added", "revenue", "main_revenue", "headcount", "energy_tce", "emission_t",
               "rd_spending", "electricity_kwh")
