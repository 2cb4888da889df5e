"""The import kinds: column maps from the headers users write to the schema, as data.

Each ``kinds/<kind>.toml`` names the target table, its key, and per column: the identifier, a
type, the Chinese headers (and synonyms) users write, the unit family and bounds, enum labels,
and a note for the template. Cross-column ``checks`` are SQL conditions over a row's cleaned
columns, evaluated in the cleaning pass. After it, ``derived`` columns are computed (SQL that may
read other tables, in order) and ``rules`` reject rows by conditions that may read other tables
(``level = "warning"``: the row loads and carries the message); both see the imported row as ``s``
(``s.parent_adcode``).
A column's ``resets`` names table columns that describe its stored value (a basis, a source): an
import that changes the value sets them NULL and records that in ``change_history``.
``scope`` limits a kind to part of its table (towns: the rows of ``regions`` at level town).

``[region]`` says which region a row belongs to, for an import under a region scope (the web's
uploads, ``shanhai import --region``): ``columns``, region codes on the row itself (each must lie
inside the scope, and so must those of the row already stored under the same key), or
``lookup``, a column of the row whose value is found in another table's ``key`` and whose
``column`` there decides (a firm's county by its USCC). Every kind declares it.
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
    # table columns that describe this one's stored value (how it was computed, by whom): set NULL
    # on a stored row whose value of this column an import changes, so they never describe a
    # figure they were not written with (energy_tce's basis after `carbon sync-energy`)
    resets: tuple[str, ...] = ()

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
class Region:
    """Where a row's region comes from (``[region]`` of a kind file); see the module docstring."""
    belongs: str                     # 该企业属于 — the reason's subject, in Chinese …
    belongs_en: str                  # the firm belongs to — … and in English
    columns: tuple[str, ...] = ()    # region codes on the row (cleaned or derived columns)
    shown: dict[str, str] = field(default_factory=dict)   # a derived column reported under the one the user wrote
    lookup: str | None = None        # the row's column looked up …
    table: str | None = None         # … in this table's
    key: str | None = None           # … key column,
    column: str | None = None        # whose region column decides


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
    rules: tuple[Check, ...] = ()    # error (or warning) rules after the cleaning (may read other tables)
    scope: str | None = None         # SQL condition: the table's rows this kind covers
    region: Region | None = None     # where a row's region comes from (for imports under a region scope)

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
            example=raw.get("example", ""), resets=tuple(raw.get("resets", ())),
        ))
    ids = [c.id for c in columns]
    for column in columns:
        for target in column.resets:
            if not IDENTIFIER.fullmatch(target) or target in ids:
                raise ShanhaiError(f"{source}: column {column.id!r} resets {target!r}: expected a column of the "
                                   "table that the kind does not import")
    for key in data["key"]:
        if key not in ids:
            raise ShanhaiError(f"{source}: key column {key!r} is not among the columns")
    checks = tuple(Check(c["level"], c["when"], c["column"], c["message"]) for c in data.get("checks", []))
    rules = tuple(Check(r.get("level", "error"), r["when"], r["column"], r["message"], r.get("value"))
                  for r in data.get("rules", []))
    for rule in rules:
        if rule.level not in ("error", "warning"):
            raise ShanhaiError(f"{source}: rule on {rule.column!r} has level {rule.level!r}: expected error or warning")
    for check in (*checks, *rules):
        if check.column not in ids:
            raise ShanhaiError(f"{source}: check on unknown column {check.column!r}")
    derived = tuple(Derived(d["column"], d["sql"]) for d in data.get("derived", []))
    region = _region(data.get("region"), source, {c.id: c for c in columns}, [d.column for d in derived])
    return Kind(kind=data["kind"], table=data["table"], label=data["label"], label_en=data.get("label_en", ""),
                key=tuple(data["key"]), columns=tuple(columns), checks=checks, note=data.get("note", ""),
                wide_months=data.get("wide_months", False), derived=derived, rules=rules,
                scope=data.get("scope"), region=region)


IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
REGION_KEYS = {"columns", "shown", "lookup", "table", "key", "column", "belongs", "belongs_en"}


def _region(raw, source: str, columns: dict[str, Column], derived: list[str]) -> Region:
    """The kind's ``[region]``, checked: every kind says where a row's region comes from, so that an
    import under a region scope can never write a row it cannot place."""
    if not isinstance(raw, dict):
        raise ShanhaiError(f"{source}: no [region] table: every kind must say where a row's region comes from "
                           "(columns = [...] on the row, or lookup/table/key/column)")
    unknown = sorted(set(raw) - REGION_KEYS)
    if unknown:
        raise ShanhaiError(f"{source}: [region] has unknown keys {', '.join(unknown)}: expected some of "
                           f"{', '.join(sorted(REGION_KEYS))}")
    for name in ("belongs", "belongs_en"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise ShanhaiError(f"{source}: [region] needs {name}, the subject of the out-of-region reason "
                               "(e.g. belongs = \"该企业属于\", belongs_en = \"the firm belongs to\")")
    has_columns, has_lookup = "columns" in raw, "lookup" in raw
    if has_columns == has_lookup:
        raise ShanhaiError(f"{source}: [region] needs exactly one of columns (region codes on the row) "
                           "or lookup (a column found in another table)")
    region = dict(belongs=raw["belongs"], belongs_en=raw["belongs_en"])
    if has_columns:
        found = raw["columns"]
        if not isinstance(found, list) or not found or not all(isinstance(c, str) for c in found):
            raise ShanhaiError(f"{source}: [region] columns must be a non-empty list of column ids")
        shown = raw.get("shown", {})
        if not isinstance(shown, dict):
            raise ShanhaiError(f"{source}: [region] shown must be a table {{derived column = column}}")
        for column_id in found:
            if column_id in columns:
                if columns[column_id].type != "region":
                    raise ShanhaiError(f"{source}: [region] column {column_id!r} has type "
                                       f"{columns[column_id].type!r}, not region")
            elif column_id in derived:
                if column_id not in shown:
                    raise ShanhaiError(f"{source}: [region] column {column_id!r} is derived: name the column "
                                       f"it is reported under in shown = {{ {column_id} = \"...\" }}")
            else:
                raise ShanhaiError(f"{source}: [region] column {column_id!r} is neither a column nor derived")
        for column_id, under in shown.items():
            if column_id not in found or under not in columns:
                raise ShanhaiError(f"{source}: [region] shown maps {column_id!r} to {under!r}: expected one of "
                                   "the region columns to one of the kind's columns")
        return Region(columns=tuple(found), shown=dict(shown), **region)
    if "shown" in raw:
        raise ShanhaiError(f"{source}: [region] shown applies to columns, not to lookup")
    for name in ("lookup", "table", "key", "column"):
        value = raw.get(name)
        if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
            raise ShanhaiError(f"{source}: [region] {name} must be a lower-case identifier, got {value!r}")
    if raw["lookup"] not in columns:
        raise ShanhaiError(f"{source}: [region] lookup column {raw['lookup']!r} is not among the columns")
    return Region(lookup=raw["lookup"], table=raw["table"], key=raw["key"], column=raw["column"], **region)
