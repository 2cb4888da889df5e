"""Units users write in headers and cells, and the factor to the schema's unit.

The schema's units: money 万元, land 亩, electricity kWh, energy tce (吨标准煤), mass t,
water t, gas m³, people 人. A header like 用地面积(平方米) or a cell like "1,234.5万元" names its
unit; the importer multiplies by the factor below.
"""

from __future__ import annotations

MU_PER_M2 = 1 / 666.6666666666666   # 1 亩 = 10,000/15 m²

FAMILIES: dict[str, dict[str, float]] = {
    "money": {"万元": 1.0, "元": 1e-4, "千元": 0.1, "百万元": 100.0, "亿元": 1e4, "万": 1.0, "亿": 1e4},
    "land": {"亩": 1.0, "平方米": MU_PER_M2, "㎡": MU_PER_M2, "m2": MU_PER_M2, "m²": MU_PER_M2,
             "平米": MU_PER_M2, "公顷": 15.0, "ha": 15.0, "万平方米": 1e4 * MU_PER_M2},
    "electricity": {"千瓦时": 1.0, "kwh": 1.0, "度": 1.0, "万千瓦时": 1e4, "万度": 1e4, "兆瓦时": 1e3, "mwh": 1e3},
    "energy": {"吨标准煤": 1.0, "吨标煤": 1.0, "tce": 1.0, "万吨标准煤": 1e4, "万吨标煤": 1e4,
               "千克标准煤": 1e-3, "千克标煤": 1e-3, "kgce": 1e-3},
    "mass": {"吨": 1.0, "t": 1.0, "千克": 1e-3, "公斤": 1e-3, "kg": 1e-3, "万吨": 1e4,
             "吨二氧化碳": 1.0, "吨CO2": 1.0, "tCO2": 1.0, "万吨二氧化碳": 1e4, "万吨CO2": 1e4},
    "volume": {"立方米": 1.0, "m3": 1.0, "m³": 1.0, "方": 1.0, "吨": 1.0, "万立方米": 1e4, "万方": 1e4},
    "people": {"人": 1.0, "个": 1.0, "名": 1.0},
    "percent": {"%": 0.01, "％": 0.01, "‰": 0.001},
    "area_km2": {"平方公里": 1.0, "km2": 1.0, "km²": 1.0},
}

CANONICAL = {"money": "万元", "land": "亩", "electricity": "千瓦时", "energy": "吨标准煤", "mass": "吨",
             "volume": "立方米", "people": "人", "percent": "", "area_km2": "平方公里"}


def factor(family: str, unit: str) -> float | None:
    """The factor from ``unit`` to the family's canonical unit, or None if unknown."""
    return FAMILIES.get(family, {}).get(unit.strip().lower() if unit.isascii() else unit.strip())


def units_of(family: str) -> list[str]:
    return list(FAMILIES.get(family, {}))
