"""Find the header row(s) in a grid and map each column to a schema column with its unit.

Users put titles above the table, merge header cells over two rows (用地面积 over 自有(亩) and
租用(亩)), add units in brackets or without them, and leave blank columns. The header row is
the row among the first 30 that names most known columns; a second row below it joins in when
its cells name columns alone or together with the merged cell above.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from shanhai.errors import ShanhaiError
from shanhai.ingest import units as _units
from shanhai.ingest.read import HEAD_ROWS, Source
from shanhai.ingest.spec import Column, Kind, normalise_header

SCAN_ROWS = HEAD_ROWS
_BRACKET = re.compile(r"^(.*?)\(([^()]*)\)$")
_MONTH = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月(?:份)?(?:用电量|用电|电量)?$")


@dataclass(frozen=True)
class Mapped:
    grid_column: str          # c0, c1, ...
    letter: str               # A, B, ... (Excel) or the field number (CSV), for messages
    header: str               # as written
    column: Column
    unit: str | None          # unit named in the header, if any
    factor: float | None      # to the schema unit; None where the header names no unit
    month: int | None = None  # wide electricity tables: 1..12
    year: int | None = None   # ... and the year when the header names it (2023年1月)


@dataclass
class HeaderMap:
    header_rows: list[int]                 # the user's row numbers of the header row(s)
    data_from: int                         # index of the first data record (header rows before it)
    mapped: list[Mapped]
    unknown: list[tuple[str, str]] = field(default_factory=list)     # (letter, header)
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)  # (letter, header, id)
    unit_problems: list[str] = field(default_factory=list)
    assumed_units: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, Mapped]:
        return {m.column.id: m for m in self.mapped if m.month is None}

    @property
    def months(self) -> list[Mapped]:
        return [m for m in self.mapped if m.month is not None]


def letter(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _split_unit(text: str) -> tuple[str, str | None]:
    match = _BRACKET.match(text)
    if match:
        return match.group(1), match.group(2)
    return text, None


def _lookup(kind: Kind) -> dict[str, Column]:
    table: dict[str, Column] = {}
    for column in kind.columns:
        for name in (*column.headers, _split_unit(normalise_header(column.label))[0]):
            table.setdefault(_split_unit(normalise_header(name))[0], column)
    return table


def match(kind: Kind, text: str | None, lookup: dict[str, Column] | None = None):
    """(column, unit, month, year) for a header text, or None."""
    if text is None or str(text).strip() == "":
        return None
    lookup = lookup or _lookup(kind)
    norm = normalise_header(text)
    base, unit = _split_unit(norm)
    if kind.wide_months:
        m = _MONTH.match(base)
        if m and 1 <= int(m.group(2)) <= 12:
            return kind.column("kwh"), unit, int(m.group(2)), int(m.group(1)) if m.group(1) else None
    if base in lookup:
        return lookup[base], unit, None, None
    # a unit written without brackets: 实缴税金万元, 用地面积亩
    for column in kind.columns:
        if column.unit:
            for candidate in sorted(_units.units_of(column.unit), key=len, reverse=True):
                if base.endswith(candidate.lower()) and base[: -len(candidate)] in lookup \
                        and lookup[base[: -len(candidate)]] is column:
                    return column, candidate, None, None
    return None


def detect(kind: Kind, source: Source) -> HeaderMap:
    head = source.head[:SCAN_ROWS]
    if not head:
        raise ShanhaiError(f"{source.path}: the file has no rows")
    lookup = _lookup(kind)
    rows = source.head_rows[: len(head)]
    scores = [sum(1 for cell in row if match(kind, cell, lookup)) for row in head]
    best = max(range(len(head)), key=lambda i: (scores[i], -i))
    if scores[best] == 0:
        expected = "、".join(c.label for c in kind.columns if c.required)
        raise ShanhaiError(
            f"{source.path}: no header row found in the first {SCAN_ROWS} rows: expected headers such as "
            f"{expected} for a {kind.kind} file ({kind.label})")
    head = [[_cell(c) for c in row] for row in head]   # whitespace-only cells are empty
    parent = head[best]
    two_rows = False
    if best + 1 < len(head):
        child = head[best + 1]
        filled = _forward_fill(parent, child)
        hits = sum(1 for c, p in zip(child, filled)
                   if c and (match(kind, c, lookup) or match(kind, f"{p or ''}{c}", lookup)))
        key_like = any(c and re.fullmatch(r"[0-9A-Za-z]{15,20}", unicodedata.normalize("NFKC", c)) for c in child)
        two_rows = hits >= 1 and not key_like and hits >= sum(1 for c in child if c) / 2
    mapped: list[Mapped] = []
    unknown: list[tuple[str, str]] = []
    duplicates: list[tuple[str, str, str]] = []
    seen: set[tuple[str, int | None]] = set()
    filled = _forward_fill(parent, head[best + 1]) if two_rows else parent
    for index in range(source.width):
        texts = []
        if two_rows:
            child = head[best + 1][index]
            if child:
                texts = [child, f"{filled[index] or ''}{child}"]
            elif parent[index]:
                texts = [parent[index]]
        elif parent[index]:
            texts = [parent[index]]
        if not texts:
            continue
        found = None
        for text in texts:
            found = match(kind, text, lookup)
            if found:
                break
        header = " / ".join(str(t) for t in texts[-1:])
        if not found:
            unknown.append((letter(index), header))
            continue
        column, unit, month, year = found
        if (column.id, month, year) in seen:
            duplicates.append((letter(index), header, column.id))
            continue
        seen.add((column.id, month, year))
        mapped.append(Mapped(f"c{index}", letter(index), header, column, unit, None, month, year))
    result = HeaderMap(header_rows=rows[best: best + 1 + two_rows], data_from=best + 1 + two_rows,
                       mapped=[], unknown=unknown, duplicates=duplicates)
    for m in mapped:
        result.mapped.append(_with_factor(m, result))
    return result


def _cell(value) -> str | None:
    text = None if value is None else str(value).strip().strip("\u3000")
    return text or None


def _forward_fill(parent: list, child: list) -> list:
    """A merged header cell's text, carried right over the blank cells it spans (where the row
    below has sub-headers)."""
    out, last = [], None
    for p, c in zip(parent, child):
        if p:
            last = p
            out.append(p)
        else:
            out.append(last if c else None)
    return out


def _with_factor(m: Mapped, result: HeaderMap) -> Mapped:
    column = m.column
    if not column.unit:
        return m
    if m.unit is None:
        result.assumed_units.append(f"{m.letter} {m.header}: {column.default_unit}")
        return Mapped(m.grid_column, m.letter, m.header, column, None, 1.0, m.month, m.year)
    f = _units.factor(column.unit, m.unit)
    if f is None:
        result.unit_problems.append(
            f"column {m.letter} {m.header}: unit {m.unit!r} is not a unit of {column.label} "
            f"(expected one of {'、'.join(_units.units_of(column.unit))})")
        return m
    return Mapped(m.grid_column, m.letter, m.header, column, m.unit, f, m.month, m.year)
