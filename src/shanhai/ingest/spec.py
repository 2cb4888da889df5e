"""The import kinds: column maps from the headers users write to the schema, as data.

Each ``kinds/<kind>.toml`` names the target table, its key, and per column: the identifier, a
type, the Chinese headers (and synonyms) users write, the unit family and bounds, enum labels,
and a note for the template. Cross-column ``checks`` are SQL conditions over a row's cleaned
columns, evaluated in the cleaning pass. After it, ``derived`` columns are computed (SQL that may
read other tables, in order) and ``rules`` reject rows by conditions that may read other tables;
both see the imported row as ``s`` (``s.parent_adcode``).
``scope`` limits a kind to part of its table (towns: the rows of ``regions`` at level town).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from shanhai.errors import ShanhaiError
from shanhai.ingest import units as _units

TYPES = ("uscc", "text", "region", "region_or_name", "industry", "zone", "chain", "segment", "date", "month",
         "year", "period", "decimal", "integer", "bool", "enum")


@dataclass(frozen=True)
class Column:
    id: str
    type: str
    label: str
    headers: tuple[str, ...]
    required: bool = False
    store: bool = True               # False: read and checked, not written (a name kept for checking)
    unit: str | None = None          # unit family for decimal/integer
    min: float | None = None
    max: float | None = None
    level: str | None = None         # region level / industry level
    mountain: bool = False           # region must be one of the 26
    registered: bool = False         # uscc must be in the enterprise register
    values: dict[str, str] = field(default_factory=dict)
    default: str | None = None
    note: str = ""
    example: str = ""

    @property
    def default_unit(self) -> str | None:
        return _units.CANONICAL.get(self.unit) if self.unit else None


@dataclass(frozen=True)
class Check:
    level: str       # error | warning
    when: str        # SQL over cleaned columns: the row is bad when this is true
    column: str
    message: str
    value: str | None = None     # SQL for the value reported (default: the column's value)


@dataclass(frozen=True)
class Derived:
    column: str      # a column of the table, filled for every row after the cleaning
    sql: str         # SQL over the cleaned columns (may read other tables)


@dataclass(frozen=True)
class Kind:
    kind: str
    table: str
    label: str
    label_en: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    checks: tuple[Check, ...] = ()
    note: str = ""
    wide_months: bool = False
    derived: tuple[Derived, ...] = ()
    rules: tuple[Check, ...] = ()    # error rules after the cleaning (may read other tables)
    scope: str | None = None         # SQL condition: the table's rows this kind covers

    def column(self, column_id: str) -> Column:
        for column in self.columns:
            if column.id == column_id:
                return column
        raise KeyError(column_id)


def normalise_header(text: str) -> str:
    """Full-width to half-width, no spaces, unified brackets: （万元） -> (万元)."""
    text = unicodedata.normalize("NFKC", str(text))
    text = text.replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")")
    return re.sub(r"\s+", "", text).replace("：", ":").strip(":*").lower()


@cache
def kinds() -> dict[str, Kind]:
    found = {}
    for entry in sorted(resources.files("shanhai.ingest.kinds").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            kind = parse(tomllib.loads(entry.read_text("utf-8")), entry.name)
            found[kind.kind] = kind
    return found


def kind(name: str) -> Kind:
    try:
        return kinds()[name]
    except KeyError:
        raise ShanhaiError(f"unknown import kind {name!r}: expected one of {', '.join(kinds())}") from None


def parse(data: dict, source: str) -> Kind:
    columns = []
    for raw in data.get("columns", []):
        if raw.get("type") not in TYPES:
            raise ShanhaiError(f"{source}: column {raw.get('id')!r} has unknown type {raw.get('type')!r}")
        if raw.get("unit") and raw["unit"] not in _units.FAMILIES:
            raise ShanhaiError(f"{source}: column {raw['id']!r} has unknown unit family {raw['unit']!r}")
        columns.append(Column(
            id=raw["id"], type=raw["type"], label=raw.get("label", raw["id"]),
            headers=tuple(raw.get("headers", [])), required=raw.get("required", False),
            store=raw.get("store", True), unit=raw.get("unit"), min=raw.get("min"), max=raw.get("max"),
            level=raw.get("level"), mountain=raw.get("mountain", False), registered=raw.get("registered", False),
            values=dict(raw.get("values", {})), default=raw.get("default"), note=raw.get("note", ""),
            example=raw.get("example", ""),
        ))
    ids = [c.id for c in columns]
    for key in data["key"]:
        if key not in ids:
            raise ShanhaiError(f"{source}: key column {key!r} is not among the columns")
    checks = tuple(Check(c["level"], c["when"], c["column"], c["message"]) for c in data.get("checks", []))
    rules = tuple(Check("error", r["when"], r["column"], r["message"], r.get("value")) for r in data.get("rules", []))
    for check in (*checks, *rules):
        if check.column not in ids:
            raise ShanhaiError(f"{source}: check on unknown column {check.column!r}")
    derived = tuple(Derived(d["column"], d["sql"]) for d in data.get("derived", []))
    return Kind(kind=data["kind"], table=data["table"], label=data["label"], label_en=data.get("label_en", ""),
                key=tuple(data["key"]), columns=tuple(columns), checks=checks, note=data.get("note", ""),
                wide_months=data.get("wide_months", False), derived=derived, rules=rules,
                scope=data.get("scope"))
