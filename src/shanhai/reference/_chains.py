"""Parse and validate chain definitions: the packaged chains.toml, a user's TOML file, or the rows
of a user's workbook (``jobs.chain_model`` turns them into the same structure and passes the
sheet's row numbers and column headers, so every error names the file, row and column).

A chain has segments (环节); a segment has a stage (upstream | midstream | downstream), GB/T
4754-2017 manufacturing codes, codes outside manufacturing, and product keywords; a sub-segment
(子环节) names a top-level segment of the same chain as ``parent_segment_id`` and takes its stage.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NoReturn

from shanhai.errors import ShanhaiError
from shanhai.reference._models import STAGES, Chain, Segment

_CHAIN_KEYS = {"chain_id", "name", "name_en", "status", "source", "note", "segments"}
_SEGMENT_KEYS = {"segment_id", "parent_segment_id", "stage", "name", "name_en", "codes", "non_manufacturing_codes",
                 "keywords"}
_CHAIN_ID = re.compile(r"[a-z][a-z0-9_]*")
_SEGMENT_TAIL = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)?")
_CODE = re.compile(r"\d{2,4}")
KEYWORD_MIN, KEYWORD_MAX = 2, 20
KEYWORD_FORBIDDEN = set(";；,，、|")    # stored ';'-joined; the workbook splits on the others


class _Where:
    """Where an error is: file, chain and segment — and, for a workbook, row and column."""

    def __init__(self, source: str, rows: Sequence[Sequence[int]] | None, columns: Mapping[str, str] | None):
        self.source = source
        self.rows = rows
        self.columns = columns

    def chain(self, number: int, chain_id: str | None = None) -> str:
        if self.rows is not None:
            row = self.rows[number - 1][0] if self.rows[number - 1] else 1
            return f"{self.source}: 第{row}行 row {row}" + (f" (chain {chain_id!r})" if chain_id else "")
        return f"{self.source}: " + (f"chain {chain_id!r}" if chain_id else f"chain #{number}")

    def segment(self, number: int, index: int, chain_id: str, segment_id: str | None = None) -> str:
        if self.rows is not None:
            row = self.rows[number - 1][index]
            inner = f"chain {chain_id!r}" + (f" segment {segment_id!r}" if segment_id else "")
            return f"{self.source}: 第{row}行 row {row} ({inner})"
        return f"{self.source}: chain {chain_id!r}" + (f" segment {segment_id!r}" if segment_id else "")

    def key(self, key: str) -> str:
        """A key as the reader knows it: a workbook's header, else the TOML key (chain-level keys
        are named ``chain.<key>`` so that a workbook can tell 产业链名称 from 环节名称)."""
        if self.columns and key in self.columns:
            return self.columns[key]
        return key.removeprefix("chain.")

    def fail(self, where: str, key: str | None, message: str) -> NoReturn:
        """Raise ``message`` at ``where``; ``{k}`` in it is the key (a workbook's column header)."""
        if key is not None and self.columns and key in self.columns:
            where = f"{where}, 列 column {self.columns[key]}"
        raise ShanhaiError(f"{where}: {message.replace('{k}', self.key(key) if key else '')}")


def parse_chains(data: Mapping[str, Any], source: str, known_codes: Collection[str], *,
                 rows: Sequence[Sequence[int]] | None = None,
                 columns: Mapping[str, str] | None = None) -> tuple[Chain, ...]:
    """Chains from parsed TOML ``data``; ``source`` names the file in error messages.

    ``rows`` (per chain, the sheet row of each segment) and ``columns`` (key → column header)
    make errors name a workbook's row and column instead of TOML keys.
    """
    at = _Where(source, rows, columns)
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
        where = at.chain(number)
        if not isinstance(entry, dict):
            raise ShanhaiError(f"{where}: expected a table")
        chain_id = _text(entry, "chain_id", where, at, column="chain.chain_id")
        where = at.chain(number, chain_id)
        if not _CHAIN_ID.fullmatch(chain_id):
            at.fail(where, "chain.chain_id", "{k} must be English snake_case (a-z, 0-9, _), starting with a letter")
        if chain_id in seen_chains:
            at.fail(where, "chain.chain_id", "duplicate chain_id")
        seen_chains.add(chain_id)
        _no_unknown_keys(entry, _CHAIN_KEYS, where)
        segments_data = entry.get("segments")
        if not isinstance(segments_data, list) or not segments_data:
            raise ShanhaiError(f"{where}: expected one or more [[chains.segments]] tables")
        segments = _segments(segments_data, number, chain_id, at, known_codes)
        for index, segment in enumerate(segments):
            if segment.segment_id in seen_segments:
                at.fail(at.segment(number, index, chain_id, segment.segment_id), "segment_id",
                        f"duplicate segment_id {segment.segment_id!r}")
            seen_segments.add(segment.segment_id)
        chains.append(
            Chain(
                chain_id=chain_id,
                name=_text(entry, "name", where, at, column="chain.name"),
                name_en=_text(entry, "name_en", where, at, default="", column="chain.name_en"),
                note=_text(entry, "note", where, at, default="", column="chain.note"),
                segments=segments,
                status=_text(entry, "status", where, at, default="", column="chain.status"),
                source=_text(entry, "source", where, at, default="", column="chain.source"),
            )
        )
    return tuple(chains)


def _segments(items: list, number: int, chain_id: str, at: _Where,
              known_codes: Collection[str]) -> tuple[Segment, ...]:
    """A chain's segments in file order: ids, parents and inherited stages resolved."""
    chain_where = at.chain(number, chain_id)
    raw: list[dict] = []
    for index, data in enumerate(items):
        if not isinstance(data, dict):
            raise ShanhaiError(f"{chain_where}: each segment must be a table")
        where = at.segment(number, index, chain_id)
        parent = _text(data, "parent_segment_id", where, at, default="") or None
        stage = data.get("stage")
        if stage is not None or parent is None:
            stage = _text(data, "stage", where if at.rows is not None else f"{chain_where} segment", at)
            if stage not in STAGES:
                at.fail(where, "stage", f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")
        if parent is None:
            segment_id = _text(data, "segment_id", where, at, default="") or f"{chain_id}.{stage}"
        else:
            segment_id = _text(data, "segment_id", where, at, default="")
            if not segment_id:
                at.fail(where, "segment_id", f"a sub-segment (of {parent!r}) needs its own {{k}}, such as "
                                             f"'{parent}.part'")
        where = at.segment(number, index, chain_id, segment_id)
        prefix = f"{chain_id}."
        if not (segment_id.startswith(prefix) and _SEGMENT_TAIL.fullmatch(segment_id[len(prefix):])):
            at.fail(where, "segment_id", f"{{k}} must be {prefix!r} followed by lower-case letters, digits and _ "
                                         f"(such as '{chain_id}.upstream', or '{chain_id}.upstream.materials' for a "
                                         "sub-segment)")
        _no_unknown_keys(data, _SEGMENT_KEYS, where)
        raw.append({"data": data, "where": where, "id": segment_id, "parent": parent, "stage": stage})

    by_id = {r["id"]: r for r in raw}
    children = {r["parent"] for r in raw if r["parent"]}
    segments = []
    for r in raw:
        data, where, parent = r["data"], r["where"], r["parent"]
        if parent is not None:
            if parent == r["id"]:
                at.fail(where, "parent_segment_id", "a segment cannot be its own parent")
            if parent not in by_id:
                at.fail(where, "parent_segment_id",
                        f"{{k}} {parent!r} is not a segment of chain {chain_id!r}: expected one of "
                        f"{', '.join(x['id'] for x in raw if not x['parent'])}")
            if by_id[parent]["parent"] is not None:
                at.fail(where, "parent_segment_id", f"{parent!r} is itself a sub-segment: sub-segments have one "
                                                    "level, name a top-level segment")
            if r["stage"] is not None and r["stage"] != by_id[parent]["stage"]:
                at.fail(where, "stage", f"stage {r['stage']!r} differs from its parent's {by_id[parent]['stage']!r}: "
                                        "a sub-segment has its parent's stage (leave it empty)")
            r["stage"] = by_id[parent]["stage"]
        codes = _codes(data, "codes", where, at)
        other = _codes(data, "non_manufacturing_codes", where, at)
        for code in codes:
            if code not in known_codes:
                at.fail(where, "codes", f"unknown GB/T 4754-2017 manufacturing code {code!r} in {{k}}"
                                        + (" (codes outside manufacturing go in non_manufacturing_codes)"
                                           if at.columns is None else ""))
        for code in other:
            if code in known_codes:
                at.fail(where, "non_manufacturing_codes",
                        f"{code!r} is a manufacturing code: list it in {at.key('codes')}, not {{k}}")
        keywords = _keywords(data, where, at)
        if not codes and not other and not keywords and r["id"] not in children:
            at.fail(where, None, f"no codes and no keywords: give {at.key('codes')}, "
                                 f"{at.key('non_manufacturing_codes')} or {at.key('keywords')}")
        segments.append(Segment(
            segment_id=r["id"],
            chain_id=chain_id,
            stage=r["stage"],
            name=_text(data, "name", where, at),
            name_en=_text(data, "name_en", where, at, default=""),
            codes=codes,
            non_manufacturing_codes=other,
            keywords=keywords,
            parent_segment_id=parent,
        ))
    return tuple(segments)


def _text(data: Mapping[str, Any], key: str, where: str, at: _Where, default: str | None = None,
          column: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        at.fail(where, column or key, "missing {k}")
    if not isinstance(value, str) or (default is None and not value.strip()):
        at.fail(where, column or key, "{k} must be a non-empty string")
    return value


def _codes(data: Mapping[str, Any], key: str, where: str, at: _Where) -> tuple[str, ...]:
    values = data.get(key, [])
    if not isinstance(values, list):
        at.fail(where, key, "{k} must be a list of quoted codes")
    for value in values:
        if not isinstance(value, str) or not _CODE.fullmatch(value):
            at.fail(where, key, f"{{k}} has {value!r}: expected a quoted 2- to 4-digit code such as \"3973\"")
    if len(set(values)) != len(values):
        at.fail(where, key, "duplicate code in {k}")
    return tuple(values)


def _keywords(data: Mapping[str, Any], where: str, at: _Where) -> tuple[str, ...]:
    values = data.get("keywords", [])
    if not isinstance(values, list):
        at.fail(where, "keywords", "{k} must be a list of quoted words, such as [\"摄像\", \"安防\"]")
    out = []
    for value in values:
        if not isinstance(value, str) or value != value.strip() or not value:
            at.fail(where, "keywords", f"{{k}} has {value!r}: expected a non-empty word without surrounding spaces")
        if not KEYWORD_MIN <= len(value) <= KEYWORD_MAX:
            at.fail(where, "keywords", f"keyword {value!r} has {len(value)} characters: keywords have "
                                       f"{KEYWORD_MIN} to {KEYWORD_MAX} (one character matches too many names)")
        if set(value) & KEYWORD_FORBIDDEN:
            at.fail(where, "keywords", f"keyword {value!r} contains a separator ({' '.join(sorted(KEYWORD_FORBIDDEN))}): "
                                       "give each word on its own")
        if value in out:
            at.fail(where, "keywords", f"duplicate keyword {value!r} in {{k}}")
        out.append(value)
    return tuple(out)


def _no_unknown_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = set(data) - allowed
    if extra:
        raise ShanhaiError(f"{where}: unknown keys {sorted(extra)}: expected some of {sorted(allowed)}")


def chain_row(c: Chain, origin: str) -> dict[str, object]:
    """A chain as a row of the ``chains`` table (``updated_at`` is left to the writer)."""
    return {"chain_id": c.chain_id, "name": c.name, "name_en": c.name_en or None, "note": c.note or None,
            "status": c.status or None, "source": c.source or None, "origin": origin}


def segment_row(s: Segment, position: int) -> dict[str, object]:
    """A segment as a row of ``chain_segments``: lists ';'-joined (NULL when empty), ``position``
    its order in the chain."""
    return {"segment_id": s.segment_id, "chain_id": s.chain_id, "stage": s.stage,
            "parent_segment_id": s.parent_segment_id, "name": s.name, "name_en": s.name_en or None,
            "position": position, "keywords": ";".join(s.keywords) or None,
            "non_manufacturing_codes": ";".join(s.non_manufacturing_codes) or None}
