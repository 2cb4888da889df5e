"""The province at a glance: what ``shanhai demo`` prints and the dashboard's first numbers.

Totals and per-mu figures of above-scale firms for the province, the 26 mountain counties and
the rest, enterprise counts by scale and size class, and which datasets they come from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import ibis
from ibis.backends import BaseBackend

from shanhai.analysis.formulas import (
    calc_labour_productivity,
    calc_land_used,
    calc_per_mu,
    calc_size_class,
)
from shanhai.errors import ShanhaiError

GROUPS = ("province", "mountain26", "rest")
GROUP_LABELS = {"province": "全省", "mountain26": "山区26县", "rest": "其他64县(市、区)"}
SIZE_CLASSES = ("large", "medium", "small", "micro")
SIZE_LABELS = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型", None: "未知"}


@dataclass(frozen=True)
class GroupFigures:
    group: str
    label: str
    counties: int
    enterprises: int           # enterprises with a row in the year
    above_scale: int
    value_added_yi: float | None
    tax_yi: float | None
    land_mu: float | None
    headcount: int | None
    value_added_per_mu: float | None
    tax_per_mu: float | None
    labour_productivity: float | None


@dataclass(frozen=True)
class Overview:
    year: int
    years: list[int]
    counties: int
    mountain_counties: int
    groups: list[GroupFigures]
    size_classes: dict[str, dict[str, int]]   # scale (above/below) -> size class -> count
    datasets: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _none(value):
    if value is None:
        return None
    try:
        if value != value:  # NaN
            return None
    except TypeError:
        pass
    return value


def overview(con: BaseBackend, year: int | None = None) -> Overview:
    """Figures for ``year`` (default: the latest year with data)."""
    ey = con.table("enterprise_years")
    firms = con.table("enterprises")
    regions = con.table("regions")
    years = sorted(int(y) for y in ey.select("year").distinct().to_pyarrow()["year"].to_pylist())
    if not years:
        raise ShanhaiError("the database holds no enterprise data yet: run `shanhai synth` or `shanhai import`")
    if year is None:
        year = years[-1]
    elif year not in years:
        raise ShanhaiError(f"no enterprise data for {year}: the database has {years[0]}-{years[-1]}")
    counties = regions.filter(regions.level == "county")
    joined = (
        ey.filter(ey.year == year)
        .join(firms.select("uscc", "county_adcode"), "uscc")
        .join(counties.select(county_adcode=counties.adcode, mountain26=counties.mountain26), "county_adcode")
    )
    joined = joined.mutate(land_used=calc_land_used(joined))

    def figures(t, group, n_counties):
        above = t.filter(t.above_scale)
        agg = above.aggregate(
            va=above.value_added.sum().cast("float64"),
            tax=above.tax_paid.sum().cast("float64"),
            land=above.land_used.sum(),
            heads=above.headcount.sum(),
            n_above=above.count(),
        )
        agg = agg.mutate(
            va_per_mu=calc_per_mu(agg.va, agg.land),
            tax_per_mu=calc_per_mu(agg.tax, agg.land),
            productivity=calc_labour_productivity(agg.va, agg.heads),
        )
        row = agg.to_pyarrow().to_pylist()[0]
        total = int(t.count().to_pyarrow().as_py())
        yi = lambda v: None if _none(v) is None else v / 1e4  # noqa: E731
        return GroupFigures(
            group=group, label=GROUP_LABELS[group], counties=n_counties, enterprises=total,
            above_scale=int(row["n_above"]), value_added_yi=yi(row["va"]), tax_yi=yi(row["tax"]),
            land_mu=_none(row["land"]), headcount=_none(row["heads"]),
            value_added_per_mu=_none(row["va_per_mu"]), tax_per_mu=_none(row["tax_per_mu"]),
            labour_productivity=_none(row["productivity"]),
        )

    n_counties = int(counties.count().to_pyarrow().as_py())
    n_mountain = int(counties.filter(counties.mountain26).count().to_pyarrow().as_py())
    groups = [
        figures(joined, "province", n_counties),
        figures(joined.filter(joined.mountain26), "mountain26", n_mountain),
        figures(joined.filter(~joined.mountain26), "rest", n_counties - n_mountain),
    ]
    sized = joined.mutate(size=calc_size_class(joined.headcount, joined.main_revenue),
                          scale=ibis.ifelse(joined.above_scale, "above_scale", "below_scale"))
    counts = sized.group_by(["scale", "size"]).aggregate(n=sized.count()).to_pyarrow().to_pylist()
    size_classes: dict[str, dict[str, int]] = {"above_scale": {}, "below_scale": {}}
    for row in counts:
        size_classes[row["scale"]][row["size"] or "unknown"] = int(row["n"])
    datasets = sorted(
        d for d in ey.filter(ey.year == year).select("dataset_id").distinct().to_pyarrow()["dataset_id"].to_pylist()
        if d is not None
    )
    return Overview(year=year, years=years, counties=n_counties, mountain_counties=n_mountain,
                    groups=groups, size_classes=size_classes, datasets=datasets)
