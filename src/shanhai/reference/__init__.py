"""Public reference data shipped with Shanhai, with typed, cached loaders.

Regions (province, 11 cities, 90 counties with the 山区26县 flags), GB/T 4754-2017
manufacturing codes, the ten 标志性产业链 with their segments, 2020 census county figures,
lead industries, 山海协作 pairings and the county map. Origins, licences and caveats:
``licences_text()`` and ``data/SOURCES.md``. The files in ``data/`` are rebuilt by
``python -m shanhai.reference._build``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shanhai.reference._loaders import (
    chains,
    cities,
    classes_under,
    counties,
    county_stats,
    enclaves,
    geojson,
    geojson_path,
    industries,
    industry,
    industry_classes,
    lead_industries,
    licences_text,
    load_chains,
    mountain_counties,
    mountain_sea_pairs,
    region,
    regions,
)
from shanhai.reference._models import (
    LEADER_RULE,
    STAGES,
    Chain,
    CountyStat,
    Enclave,
    Industry,
    LeaderRule,
    LeadIndustry,
    MountainSeaPair,
    Region,
    Segment,
)

if TYPE_CHECKING:
    import pyarrow


def tables() -> dict[str, pyarrow.Table]:
    """The reference data as pyarrow tables named and typed like the database tables.

    Keys: regions, industries, chains, chain_segments, segment_industries, pairings,
    lead_industries, enclaves, enclave_returns (the packaged enclaves and their reported returns).
    ``lead_industries.position`` counts from 0; ``chain_segments.position`` is a
    segment's order in its chain (from 0, sub-segments included); list columns of
    ``chain_segments`` (keywords, non_manufacturing_codes) are ';'-joined; ``chains.origin`` is
    'package'.
    """
    from shanhai.reference._tables import tables as _tables  # pyarrow only when needed

    return _tables()


__all__ = [
    "LEADER_RULE",
    "STAGES",
    "Chain",
    "CountyStat",
    "Enclave",
    "Industry",
    "LeaderRule",
    "LeadIndustry",
    "MountainSeaPair",
    "Region",
    "Segment",
    "chains",
    "cities",
    "classes_under",
    "counties",
    "county_stats",
    "enclaves",
    "geojson",
    "geojson_path",
    "industries",
    "industry",
    "industry_classes",
    "lead_industries",
    "licences_text",
    "load_chains",
    "mountain_counties",
    "mountain_sea_pairs",
    "region",
    "regions",
    "tables",
]
