"""Chinese names for synthetic enterprises and towns: plausible, not real."""

from __future__ import annotations

import numpy as np

BRAND_CHARS = list(
    "华宏泰鑫隆盛恒达丰瑞金新联创远辉腾越晶嘉诚信德和安康永兴昌明亚宇博海天正精威立中"
    "宝利通佳力凯顺富源豪聚峰汇众合伟捷科美欣益光荣万方振顺东南西北龙凤伦英卓越"
)
SUFFIXES_LARGE = ["股份有限公司", "集团有限公司", "有限公司", "科技股份有限公司"]
SUFFIXES_SMALL = ["有限公司", "有限公司", "有限公司", "科技有限公司", "厂"]
TOWN_CHARS = list("东西南北新城桥溪山湖江塘河港坑岭口头洋田石林竹茶梅桃花凤龙金银清白安平和兴")


def short_region(name: str) -> str:
    """杭州市 -> 杭州, 景宁畲族自治县 -> 景宁, 上城区 -> 上城."""
    for suffix in ("畲族自治县", "自治县", "市", "区", "县"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def brands(rng: np.random.Generator, n: int) -> np.ndarray:
    chars = np.array(BRAND_CHARS, dtype=object)
    first = chars[rng.integers(0, len(chars), n)]
    second = chars[rng.integers(0, len(chars), n)]
    return first + second


def enterprise_names(rng: np.random.Generator, prefixes: np.ndarray, words: np.ndarray,
                     large: np.ndarray) -> np.ndarray:
    """Names like 绍兴华泰纺织有限公司; large firms often carry the province's name (浙江)."""
    n = len(prefixes)
    brand = brands(rng, n)
    small_suffix = np.array(SUFFIXES_SMALL, dtype=object)[rng.integers(0, len(SUFFIXES_SMALL), n)]
    large_suffix = np.array(SUFFIXES_LARGE, dtype=object)[rng.integers(0, len(SUFFIXES_LARGE), n)]
    use_province = large & (rng.random(n) < 0.6)
    prefix = np.where(use_province, "浙江", prefixes)
    suffix = np.where(large, large_suffix, small_suffix)
    return prefix + brand + words + suffix


def town_names(rng: np.random.Generator, n: int, kind: str) -> list[str]:
    """``n`` distinct town names for one county; ``kind`` district -> 街道, else mostly 镇."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        a, b = rng.choice(TOWN_CHARS, 2)
        if kind == "district":
            suffix = "街道"
        else:
            suffix = "街道" if len(names) < 2 else ("乡" if rng.random() < 0.2 else "镇")
        name = f"{a}{b}{suffix}"
        if a != b and name not in seen:
            seen.add(name)
            names.append(name)
    return names
