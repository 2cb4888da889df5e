"""The reference data as pyarrow tables named and typed like the database tables."""

from __future__ import annotations

import datetime as dt
from functools import cache

import pyarrow as pa

from shanhai.reference import _loaders as load
from shanhai.reference._chains import chain_row, segment_row

SCHEMAS: dict[str, pa.Schema] = {
    "regions": pa.schema(
        [
            ("adcode", pa.string()),
            ("name", pa.string()),
            ("level", pa.string()),
            ("parent_adcode", pa.string()),
            ("city_adcode", pa.string()),
            ("county_kind", pa.string()),
            ("mountain26", pa.bool_()),
            ("mountain_category", pa.string()),
            ("mountain_category_verified", pa.bool_()),
            ("mountain_island_2023", pa.bool_()),
            ("mountain_island_2025", pa.bool_()),
            ("population", pa.int64()),
            ("mfg_share", pa.float64()),
            ("population_modelled", pa.bool_()),
        ]
    ),
    "industries": pa.schema(
        [("code", pa.string()), ("name", pa.string()), ("level", pa.string()), ("parent_code", pa.string())]
    ),
    "chains": pa.schema(
        [
            ("chain_id", pa.string()),
            ("name", pa.string()),
            ("name_en", pa.string()),
            ("note", pa.string()),
            ("status", pa.string()),
            ("source", pa.string()),
            ("origin", pa.string()),
        ]
    ),
    "chain_segments": pa.schema(
        [
            ("segment_id", pa.string()),
            ("chain_id", pa.string()),
            ("stage", pa.string()),
            ("parent_segment_id", pa.string()),
            ("name", pa.string()),
            ("name_en", pa.string()),
            ("position", pa.int32()),
            ("keywords", pa.string()),
            ("non_manufacturing_codes", pa.string()),
        ]
    ),
    "segment_industries": pa.schema([("segment_id", pa.string()), ("industry_code", pa.string())]),
    "pairings": pa.schema(
        [
            ("pairing_id", pa.int32()),
            ("developed_adcode", pa.string()),
            ("developed_name", pa.string()),
            ("mountain_adcode", pa.string()),
            ("scope", pa.string()),
            ("paired_since", pa.int32()),
            ("evidence_date", pa.string()),
            ("confidence", pa.string()),
            ("source_url", pa.string()),
        ]
    ),
    "lead_industries": pa.schema(
        [("adcode", pa.string()), ("position", pa.int32()), ("name", pa.string()), ("codes", pa.string())]
    ),
    "enclaves": pa.schema(
        [
            ("enclave_id", pa.string()),
            ("name", pa.string()),
            ("kind", pa.string()),
            ("host_adcode", pa.string()),
            ("owner_adcode", pa.string()),
            ("established_on", pa.date32()),
            ("area_mu", pa.float64()),
        ]
    ),
    "enclave_returns": pa.schema([("enclave_id", pa.string()), ("year", pa.int32()), ("amount", pa.float64())]),
}


def _table(name: str, rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])


def _regions() -> pa.Table:
    stats = {s.adcode: s for s in load.county_stats()}
    rows = []
    for r in load.regions():
        if r.level == "county":
            members = [stats[r.adcode]]
        elif r.level == "city":
            members = [stats[c.adcode] for c in load.counties() if c.city_adcode == r.adcode]
        else:
            members = list(stats.values())
        rows.append(
            {
                "adcode": r.adcode,
                "name": r.name,
                "level": r.level,
                "parent_adcode": r.parent_adcode,
                "city_adcode": r.city_adcode,
                "county_kind": r.county_kind,
                "mountain26": r.mountain26,
                "mountain_category": r.mountain_category,
                "mountain_category_verified": r.mountain_category_verified,
                "mountain_island_2023": r.mountain_island_2023,
                "mountain_island_2025": r.mountain_island_2025,
                "population": sum(s.population for s in members),
                "mfg_share": members[0].mfg_share if r.level == "county" else None,
                "population_modelled": any(s.population_modelled for s in members),
            }
        )
    return _table("regions", rows)


@cache
def _all() -> dict[str, pa.Table]:
    chains = load.chains()
    segments = [s for c in chains for s in c.segments]
    return {
        "regions": _regions(),
        "industries": _table(
            "industries",
            [
                {"code": i.code, "name": i.name, "level": i.level, "parent_code": i.parent_code}
                for i in load.industries()
            ],
        ),
        "chains": _table("chains", [chain_row(c, origin="package") for c in chains]),
        "chain_segments": _table(
            "chain_segments", [segment_row(s, position) for c in chains for position, s in enumerate(c.segments)]
        ),
        "segment_industries": _table(
            "segment_industries",
            [{"segment_id": s.segment_id, "industry_code": code} for s in segments for code in s.codes],
        ),
        "pairings": _table(
            "pairings",
            [
                {
                    "pairing_id": number,
                    "developed_adcode": p.developed_adcode,
                    "developed_name": p.developed_name,
                    "mountain_adcode": p.mountain_adcode,
                    "scope": p.scope,
                    "paired_since": p.paired_since,
                    "evidence_date": p.evidence_date,
                    "confidence": p.confidence,
                    "source_url": p.source_url,
                }
                for number, p in enumerate(load.mountain_sea_pairs(), start=1)
            ],
        ),
        "lead_industries": _table(
            "lead_industries",
            [
                {"adcode": li.adcode, "position": position, "name": label, "codes": ";".join(codes)}
                for li in load.lead_industries()
                for position, (label, codes) in enumerate(zip(li.industries, li.industry_codes))
            ],
        ),
        "enclaves": _table(
            "enclaves",
            [
                {
                    "enclave_id": e.enclave_id,
                    "name": e.name,
                    "kind": e.kind,
                    "host_adcode": e.host_adcode,
                    "owner_adcode": e.owner_adcode,
                    "established_on": dt.date.fromisoformat(e.established_on) if e.established_on else None,
                    "area_mu": e.area_mu,
                }
                for e in load.enclaves()
            ],
        ),
        "enclave_returns": _table(
            "enclave_returns",
            [
                {"enclave_id": e.enclave_id, "year": e.observed_return_year, "amount": e.observed_return_wan}
                for e in load.enclaves()
                if e.observed_return_year is not None
            ],
        ),
    }


def tables() -> dict[str, pa.Table]:
    """Reference tables keyed by database table name (a new dict of shared, immutable tables)."""
    return dict(_all())
