"""Parse and validate chain definitions written in TOML (the packaged file or a user's)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from shanhai.errors import ShanhaiError
from shanhai.reference._models import STAGES, Chain, Segment

_CHAIN_KEYS = {"chain_id", "name", "name_en", "status", "source", "note", "segments"}
_SEGMENT_KEYS = {"segment_id", "stage", "name", "name_en", "codes", "non_manufacturing_codes"}
_CHAIN_ID = re.compile(r"[a-z][a-z0-9_]*")
_CODE = re.compile(r"\d{2,4}")


def parse_chains(data: Mapping[str, Any], source: str, known_codes: Collection[str]) -> tuple[Chain, ...]:
    """Chains from parsed TOML ``data``; ``source`` names the file in error messages."""
    entries = data.get("chains")
    if not isinstance(entries, list) or not entries:
        raise ShanhaiError(f"{source}: expected one or more [[chains]] tables")
    extra = set(data) - {"chains"}
    if extra:
        raise ShanhaiError(f"{source}: unknown top-level keys {sorted(extra)}: expected only [[chains]]")
    chains: list[Chain] = []
    seen_chains: set[str] = set()
    seen_segments: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: chain #{number}"
        if not isinstance(entry, dict):
            raise ShanhaiError(f"{where}: expected a table")
        chain_id = _text(entry, "chain_id", where)
        where = f"{source}: chain {chain_id!r}"
        if not _CHAIN_ID.fullmatch(chain_id):
            raise ShanhaiError(f"{where}: chain_id must be English snake_case (a-z, 0-9, _)")
        if chain_id in seen_chains:
            raise ShanhaiError(f"{where}: duplicate chain_id")
        seen_chains.add(chain_id)
        _no_unknown_keys(entry, _CHAIN_KEYS, where)
        segments_data = entry.get("segments")
        if not isinstance(segments_data, list) or not segments_data:
            raise ShanhaiError(f"{where}: expected one or more [[chains.segments]] tables")
        segments = tuple(_segment(s, chain_id, where, known_codes) for s in segments_data)
        for segment in segments:
            if segment.segment_id in seen_segments:
                raise ShanhaiError(f"{where}: duplicate segment_id {segment.segment_id!r}")
            seen_segments.add(segment.segment_id)
        chains.append(
            Chain(
                chain_id=chain_id,
                name=_text(entry, "name", where),
                name_en=_text(entry, "name_en", where, default=""),
                note=_text(entry, "note", where, default=""),
                segments=segments,
                status=_text(entry, "status", where, default=""),
                source=_text(entry, "source", where, default=""),
            )
        )
    return tuple(chains)


def _segment(data: Any, chain_id: str, chain_where: str, known_codes: Collection[str]) -> Segment:
    if not isinstance(data, dict):
        raise ShanhaiError(f"{chain_where}: each segment must be a table")
    stage = _text(data, "stage", f"{chain_where} segment")
    if stage not in STAGES:
        raise ShanhaiError(f"{chain_where}: unknown stage {stage!r}: expected one of {', '.join(STAGES)}")
    segment_id = _text(data, "segment_id", chain_where, default=f"{chain_id}.{stage}")
    where = f"{chain_where} segment {segment_id!r}"
    _no_unknown_keys(data, _SEGMENT_KEYS, where)
    codes = _codes(data, "codes", where)
    other = _codes(data, "non_manufacturing_codes", where)
    for code in codes:
        if code not in known_codes:
            raise ShanhaiError(f"{where}: unknown GB/T 4754-2017 manufacturing code {code!r} in codes")
    for code in other:
        if code in known_codes:
            raise ShanhaiError(
                f"{where}: {code!r} is a manufacturing code: list it in codes, not non_manufacturing_codes"
            )
    if not codes and not other:
        raise ShanhaiError(f"{where}: no codes: give codes or non_manufacturing_codes")
    return Segment(
        segment_id=segment_id,
        chain_id=chain_id,
        stage=stage,
        name=_text(data, "name", where),
        name_en=_text(data, "name_en", where, default=""),
        codes=codes,
        non_manufacturing_codes=other,
    )


def _text(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise ShanhaiError(f"{where}: missing {key}")
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise ShanhaiError(f"{where}: {key} must be a non-empty string")
    return value


def _codes(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = data.get(key, [])
    if not isinstance(values, list):
        raise ShanhaiError(f"{where}: {key} must be a list of quoted codes")
    for value in values:
        if not isinstance(value, str) or not _CODE.fullmatch(value):
            raise ShanhaiError(
                f"{where}: {key} has {value!r}: expected a quoted 2- to 4-digit code such as \"3973\""
            )
    if len(set(values)) != len(values):
        raise ShanhaiError(f"{where}: duplicate code in {key}")
    return tuple(values)


def _no_unknown_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = set(data) - allowed
    if extra:
        raise ShanhaiError(f"{where}: unknown keys {sorted(extra)}: expected some of {sorted(allowed)}")
