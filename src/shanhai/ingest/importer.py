"""One import: read, map headers, clean and validate, then merge into the store in one transaction.

Valid rows go in; rejected rows are reported (row, column, value, reason) and stored in
``import_rejects``; rows with warnings load and carry them in ``import_warnings``. Keyed rows that
exist are updated only where a value differs, each changed cell recorded in ``change_history``;
re-importing the same file changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pyarrow as pa

from shanhai.errors import ShanhaiError
from shanhai.ingest import clean as _clean
from shanhai.ingest import headers as _headers
from shanhai.ingest.read import Grid, read
from shanhai.ingest.spec import Kind, kind as _kind
from shanhai.store import Store, audit, load_reference, reference_loaded
from shanhai.store.sql import literal
from shanhai.store.sql import values as sql_values

TOTAL_WORDS = ("合计", "总计", "小计", "合 计", "总 计", "全部合计")
Progress = Callable[[str, float], None]


@dataclass
class Problem:
    row: int
    column: str
    value: str | None
    message: str


@dataclass
class ImportResult:
    kind: str
    file: str
    dataset_id: str
    sheet: str | None
    encoding: str | None
    rows_in: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warned: int = 0
    blank_rows: int = 0
    total_rows: int = 0
    dry_run: bool = False
    header_rows: list[int] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)        # header -> identifier
    unknown_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejects: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rejects_file: str | None = None

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def as_dict(self, limit: int = 200) -> dict:
        data = asdict(self)
        data["loaded"] = self.loaded
        data["rejects"] = [asdict(p) for p in self.rejects[:limit]]
        data["warnings"] = [asdict(p) for p in self.warnings[:limit]]
        return data


def _fingerprint(path: Path, kind: Kind, sheet: str | None, year: int | None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update(json.dumps([kind.kind, sheet, year]).encode())
    return digest.hexdigest()


def import_file(store: Store, kind_name: str, path: str | Path, *, year: int | None = None,
                sheet: str | None = None, encoding: str | None = None, dry_run: bool = False,
                username: str | None = None, progress: Progress | None = None) -> ImportResult:
    """Import one file of ``kind_name`` into ``store``; see the module docstring."""
    progress = progress or (lambda label, fraction: None)
    kind = _kind(kind_name)
    path = Path(path)
    if year is not None and not 1949 <= year <= 2100:
        raise ShanhaiError(f"--year {year} is out of range (1949-2100)")
    grid = read(path, sheet=sheet, encoding=encoding)
    hmap = _headers.detect(kind, grid)
    progress("读取 read", 0.1)   # the bar appears only once the file is known to be readable
    fingerprint = _fingerprint(path, kind, grid.sheet, year)
    dataset_id = f"import-{kind.kind}-{fingerprint[:16]}"
    result = ImportResult(kind=kind.kind, file=str(path), dataset_id=dataset_id, sheet=grid.sheet,
                          encoding=grid.encoding, dry_run=dry_run, header_rows=hmap.header_rows)
    _check_columns(kind, hmap, grid, year, result)
    con = store.con
    if not reference_loaded(con):
        load_reference(con)
    progress("清洗校验 cleaning", 0.25)
    raw = _data_rows(grid, hmap, result)
    if kind.wide_months and hmap.months:
        raw, hmap = _melt_months(raw, hmap, year, result)
    con.register("_import_raw", raw)
    for statement in _clean.macros():
        con.execute(statement)
    con.execute(_clean.REGION_LABELS)
    schema = dict(con.execute(
        f"SELECT column_name, data_type FROM information_schema.columns WHERE table_name = {literal(kind.table)}").fetchall())
    mapped = hmap.by_id()
    levels: list[dict[str, str]] = [{} for _ in range(6)]
    values: list[str] = []
    errors: list[str] = []
    present: list[str] = []
    defaulted: list[str] = []
    for column in kind.columns:
        m = mapped.get(column.id)
        target_type = schema.get(column.id, "VARCHAR")
        if m is None:
            constant = _constant(kind, column.id, year)
            if constant is not None:
                source, factor = _clean.q(constant), 1.0
                present.append(column.id)
            elif column.default is not None:
                values.append(f'{_default_sql(column)} AS "{column.id}"')
                defaulted.append(column.id)     # a new row gets the default; a stored row keeps its value
                continue
            else:
                values.append(f'CAST(NULL AS {_sql_type(column, target_type)}) AS "{column.id}"')
                continue
        else:
            source, factor = f'"{m.grid_column}"', m.factor
            present.append(column.id)
        for level, stage in enumerate(_clean.stages(column, source, factor)):
            levels[level].update(stage)
        value, error = _clean.column_sql(kind, column, source, factor, target_type)
        values.append(f'{value} AS "{column.id}"')
        # refer to the computed value by name, except for a USCC: inside its EXISTS over the
        # register, a bare "uscc" would bind to the register's own column
        if column.type != "uscc" and len(value) > 12:
            error = error.replace(value, f'"{column.id}"')
        label = _clean.q(m.header if m else column.label)
        if m is not None and m.header == "_kcol":
            label = '"_kcol"'             # wide tables: the month column the cell came from
        if error != "NULL":
            errors.append((f'e_{column.id}', error,
                           f"{{'column': {label}, 'value': CAST({source} AS VARCHAR), "
                           f"'message': \"e_{column.id}\"}}"))
    query = "SELECT * FROM _import_raw"
    for stage in levels:
        if stage:
            named = ", ".join(f'{e} AS "{n}"' for n, e in stage.items())
            query = f"SELECT *, {named} FROM ({query})"
    query = f"SELECT *, {', '.join(values)} FROM ({query})"
    for i, check in enumerate(kind.checks):
        if check.level == "error":
            label = mapped[check.column].header if check.column in mapped else kind.column(check.column).label
            errors.append((f"k_{i}", f"CASE WHEN coalesce(({check.when}), false) THEN {_clean.q(check.message)} END",
                           f"{{'column': {_clean.q(label)}, 'value': CAST(\"{check.column}\" AS VARCHAR), "
                           f"'message': \"k_{i}\"}}"))
    if errors:
        named = ", ".join(f'{e} AS "{n}"' for n, e, _ in errors)
        query = f"SELECT *, {named} FROM ({query})"
        any_error = " OR ".join(f'"{n}" IS NOT NULL' for n, _, _ in errors)
        error_list = (f"CASE WHEN {any_error} THEN list_filter([{', '.join(s for _, _, s in errors)}], "
                      "e -> e.message IS NOT NULL) ELSE [] END")
    else:
        error_list = EMPTY_PROBLEMS
    ids = ", ".join(f'"{c.id}"' for c in kind.columns)
    warning_list = _check_sql(kind, mapped, errors)
    query = f"SELECT _row, {ids}, {error_list} AS _errors, {warning_list} AS _warnings FROM ({query})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _import_clean AS {query}")
    con.unregister("_import_raw")
    _kind_rules(con, kind, present, result)
    _checks(con, kind, mapped)
    _duplicates(con, kind)
    progress("合并 merging", 0.6)
    _collect_problems(con, kind, result)
    result.rows_in = con.execute("SELECT count(*) FROM _import_clean").fetchone()[0]
    stored = [c.id for c in kind.columns if c.store and c.id in present]
    stored += [extra for extra in _derived(kind) if extra not in stored]
    insert_only = [c.id for c in kind.columns if c.store and c.id in defaulted]
    if dry_run:
        _count_changes(con, kind, stored, result)
    else:
        con.execute("BEGIN TRANSACTION")
        try:
            _merge(con, kind, stored, insert_only, dataset_id, username, result)
            _store_reports(con, kind, dataset_id, result)
            params = json.dumps({"kind": kind.kind, "file": path.name, "sheet": grid.sheet, "encoding": grid.encoding,
                                 "year": year, "rows": result.rows_in}, ensure_ascii=False)
            con.execute(f"INSERT OR IGNORE INTO datasets VALUES ({literal(dataset_id)}, 'import', "
                        f"{sql_values(f'导入 {kind.label} {path.name}', params, fingerprint, _code_version())})")
            audit.append(con, "import", username=username, target=str(path),
                         detail={"kind": kind.kind, "dataset_id": dataset_id, "inserted": result.inserted,
                                 "updated": result.updated, "unchanged": result.unchanged,
                                 "rejected": result.rejected, "warned": result.warned})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    progress("完成 done", 1.0)
    return result


def _code_version() -> str:
    from shanhai import __version__

    return __version__


# --------------------------------------------------------------------------- columns and rows

def _constant(kind: Kind, column_id: str, year: int | None) -> str | None:
    if column_id == "year" and year is not None:
        return str(year)
    return None


def _default_sql(column) -> str:
    if column.type == "bool":
        return str(column.default).lower()
    return _clean.q(column.default)


def _sql_type(column, target_type: str) -> str:
    return {"bool": "BOOLEAN", "date": "DATE", "month": "DATE", "year": "INTEGER", "integer": "BIGINT",
            "decimal": target_type if target_type.startswith("DECIMAL") else "DOUBLE"}.get(column.type, "VARCHAR")


def _check_columns(kind: Kind, hmap, grid: Grid, year: int | None, result: ImportResult) -> None:
    mapped = hmap.by_id()
    for problem in hmap.unit_problems:
        raise ShanhaiError(f"{grid.path}: {problem}")
    missing = []
    for column in kind.columns:
        if not column.required or column.id in mapped:
            continue
        if column.id == "year" and year is not None:
            continue
        if kind.wide_months and column.id == "month" and hmap.months:
            continue
        missing.append(column.label)
    if kind.wide_months and not hmap.months and "kwh" not in mapped:
        missing.append("用电量 (or month columns 1月…12月)")
    if missing:
        found = "、".join(m.header for m in hmap.mapped) or "none"
        hint = " (or pass --year)" if any("年份" in m for m in missing) else ""
        raise ShanhaiError(f"{grid.path}: no column for {'、'.join(missing)}{hint}; recognised columns: {found}")
    result.columns = {m.header: m.column.id + (f"[{m.month}月]" if m.month else "") for m in hmap.mapped}
    result.unknown_columns = [f"{col} {header}" for col, header in hmap.unknown]
    for col, header, column_id in hmap.duplicates:
        result.notes.append(f"column {col} {header} names {column_id} again: ignored (the first one is used)")
    for text in hmap.assumed_units:
        result.notes.append(f"no unit in header {text} assumed")
    if hmap.unknown:
        result.notes.append("未识别的列(未导入) columns not recognised, not imported: "
                            + "; ".join(result.unknown_columns))


def _data_rows(grid: Grid, hmap, result: ImportResult) -> pa.Table:
    table = grid.table.slice(hmap.data_from)
    cells = [f"c{i}" for i in range(grid.width)]
    import pyarrow.compute as pc

    empty = None
    for name in cells:
        column = pc.utf8_trim_whitespace(table.column(name).fill_null(""))
        blank = pc.equal(column, "")
        empty = blank if empty is None else pc.and_(empty, blank)
    if empty is not None:
        result.blank_rows = int(pc.sum(empty).as_py() or 0)
        table = table.filter(pc.invert(empty))
    # a total row (合计) at the bottom is not an enterprise
    first_cells = [table.column(name) for name in cells[: min(3, len(cells))]]
    is_total = None
    for column in first_cells:
        hit = pc.is_in(pc.utf8_trim_whitespace(column.fill_null("")), pa.array(TOTAL_WORDS))
        is_total = hit if is_total is None else pc.or_(is_total, hit)
    if is_total is not None and pc.sum(is_total).as_py():
        result.total_rows = int(pc.sum(is_total).as_py())
        result.notes.append(f"跳过合计行 skipped {result.total_rows} total row(s) (合计/总计)")
        table = table.filter(pc.invert(is_total))
    return table


def _melt_months(raw: pa.Table, hmap, year: int | None, result: ImportResult):
    """A wide electricity table (one column per month) becomes one row per firm and month.

    Each month column keeps its own unit and its own header (so a rejected cell is reported
    under the column the user sees); the year comes from the header (2023年1月) or ``--year``;
    empty cells and blank markers (—, -, 无) give no row.
    """
    import pyarrow.compute as pc

    from shanhai.ingest.spec import kinds

    undated = [m for m in hmap.months if m.year is None]
    if undated and year is None:
        raise ShanhaiError(f"{result.file}: month columns such as {undated[0].header} do not name the year: "
                           "pass --year")
    others = [m for m in hmap.mapped if m.month is None and m.column.id not in ("month", "kwh")]
    parts = []
    for m in hmap.months:
        columns = {"_row": raw.column("_row")}
        for other in others:
            columns[other.grid_column] = raw.column(other.grid_column)
        n = raw.num_rows
        columns["_month"] = pa.array([f"{m.year or year}-{m.month:02d}"] * n, pa.string())
        columns["_kwh"] = raw.column(m.grid_column)
        columns["_kfactor"] = pa.array([1.0 if m.factor is None else m.factor] * n, pa.float64())
        columns["_kcol"] = pa.array([m.header] * n, pa.string())
        parts.append(pa.table(columns))
    melted = pa.concat_tables(parts)
    from shanhai.ingest.clean import BLANKS

    cell = pc.utf8_lower(pc.utf8_trim_whitespace(melted.column("_kwh").fill_null("")))
    melted = melted.filter(pc.invert(pc.is_in(cell, pa.array(list(BLANKS)))))
    spec = kinds()["electricity"]
    mapped = list(others)
    mapped.append(_headers.Mapped("_month", "—", "月份 (列名)", spec.column("month"), None, None))
    mapped.append(_headers.Mapped("_kwh", "—", "_kcol", spec.column("kwh"), None, "_kfactor"))
    result.notes.append(f"宽表 wide table: {len(hmap.months)} month columns read as rows")
    return melted, _headers.HeaderMap(hmap.header_rows, hmap.data_from, mapped, hmap.unknown, hmap.duplicates)


# --------------------------------------------------------------------------- rules

def _append_error(con, condition: str, column: str, message: str, value: str = "NULL") -> None:
    con.execute(f"""UPDATE _import_clean SET _errors = list_append(_errors,
                    {{'column': {_clean.q(column)}, 'value': {value}, 'message': {_clean.q(message)}}})
                    WHERE {condition}""")


def _kind_rules(con, kind: Kind, present: list[str], result: ImportResult) -> None:
    if kind.kind == "enterprise-years":
        if "above_scale" not in present and "main_revenue" not in present:
            raise ShanhaiError(f"{result.file}: an enterprise-years file needs a column 是否规上 or 主营业务收入 "
                               "to tell above-scale firms")
        con.execute("ALTER TABLE _import_clean ADD COLUMN above_scale_final BOOLEAN")
        con.execute("UPDATE _import_clean SET above_scale_final = coalesce(above_scale, main_revenue >= 2000)")
        _append_error(con, "above_scale_final IS NULL AND len(_errors) = 0", "是否规上",
                      "是否规上和主营业务收入都为空 neither 是否规上 nor 主营业务收入 given")
    if kind.kind == "pairings":
        con.execute("ALTER TABLE _import_clean ADD COLUMN developed_adcode VARCHAR")
        con.execute("""UPDATE _import_clean SET developed_adcode = (
                           SELECT min(r.adcode) FROM _region_labels r WHERE r.label = developed_name AND r.level = 'county')""")
        con.execute("""UPDATE _import_clean SET developed_name = (SELECT name FROM regions WHERE adcode = developed_adcode)
                       WHERE developed_adcode IS NOT NULL""")
    if kind.kind == "project-events":
        _append_error(con, "project_id IS NOT NULL AND project_id NOT IN (SELECT project_id FROM projects)",
                      "项目编号", "项目不存在, 请先导入项目 unknown project: import projects first", "project_id")


def _derived(kind: Kind) -> list[str]:
    return {"enterprise-years": ["above_scale"], "pairings": ["developed_adcode"]}.get(kind.kind, [])


EMPTY_PROBLEMS = '[]::STRUCT("column" VARCHAR, "value" VARCHAR, message VARCHAR)[]'


def _check_sql(kind: Kind, mapped, errors) -> str:
    """The warnings list of a row: the kind's warning-level checks, built only where one fires."""
    parts, conditions = [], []
    for check in kind.checks:
        if check.level != "warning":
            continue
        label = mapped[check.column].header if check.column in mapped else kind.column(check.column).label
        condition = f"coalesce(({check.when}), false)"
        conditions.append(condition)
        parts.append(f"CASE WHEN {condition} THEN {{'column': {_clean.q(label)}, "
                     f"'value': CAST(\"{check.column}\" AS VARCHAR), 'message': {_clean.q(check.message)}}} END")
    if not parts:
        return EMPTY_PROBLEMS
    return (f"CASE WHEN {' OR '.join(conditions)} THEN list_filter([{', '.join(parts)}], w -> w IS NOT NULL) "
            f"ELSE {EMPTY_PROBLEMS} END")


def _checks(con, kind: Kind, mapped) -> None:
    if kind.kind == "enterprise-years" and "land_own_mu" in mapped:
        con.execute("""UPDATE _import_clean SET _warnings = list_append(_warnings,
                         {'column': '自有用地', 'value': CAST(land_own_mu AS VARCHAR),
                          'message': '申报用地与土地登记相差超过10% (登记 ' || round(reg.area, 2) || ' 亩) '
                                     || 'declared land differs from the land register by more than 10 %'})
                       FROM (SELECT holder_uscc, sum(area_mu) AS area FROM land_parcels
                             WHERE holder_uscc IS NOT NULL GROUP BY holder_uscc) reg
                       WHERE reg.holder_uscc = _import_clean.uscc AND land_own_mu IS NOT NULL AND reg.area > 0
                         AND abs(land_own_mu - reg.area) > 0.1 * reg.area""")


def _key_text(kind: Kind, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return " || '|' || ".join(f"coalesce(CAST({prefix}\"{k}\" AS VARCHAR), '')" for k in kind.key)


def _duplicates(con, kind: Kind) -> None:
    keys = ", ".join(f'"{k}"' for k in kind.key)
    con.execute(f"""UPDATE _import_clean SET _errors = list_append(_errors,
                    {{'column': {_clean.q('、'.join(kind.column(k).label for k in kind.key))},
                      'value': d.key_text, 'message': '与第' || d.first_row || '行重复 duplicate key, same as row ' || d.first_row}})
                    FROM (SELECT _row, {_key_text(kind)} AS key_text,
                                 first_value(_row) OVER (PARTITION BY {keys} ORDER BY _row) AS first_row,
                                 row_number() OVER (PARTITION BY {keys} ORDER BY _row) AS n
                          FROM _import_clean WHERE len(_errors) = 0) d
                    WHERE d._row = _import_clean._row AND d.n > 1""")


def _collect_problems(con, kind: Kind, result: ImportResult) -> None:
    rows = con.execute("""SELECT _row, e."column", e."value", e.message
                          FROM (SELECT _row, unnest(_errors) AS e FROM _import_clean) ORDER BY _row""").fetchall()
    result.rejects = [Problem(r, c, v, m) for r, c, v, m in rows]
    result.rejected = con.execute("SELECT count(*) FROM _import_clean WHERE len(_errors) > 0").fetchone()[0]
    rows = con.execute("""SELECT _row, w."column", w."value", w.message
                          FROM (SELECT _row, unnest(_warnings) AS w FROM _import_clean WHERE len(_errors) = 0)
                          ORDER BY _row""").fetchall()
    result.warnings = [Problem(r, c, v, m) for r, c, v, m in rows]
    result.warned = con.execute(
        "SELECT count(*) FROM _import_clean WHERE len(_errors) = 0 AND len(_warnings) > 0").fetchone()[0]


# --------------------------------------------------------------------------- merge

def _stage(con, kind: Kind, stored: list[str], dataset_id: str) -> None:
    expressions = []
    for column in stored:
        source = "above_scale_final" if (kind.kind == "enterprise-years" and column == "above_scale") else column
        expressions.append(f'"{source}" AS "{column}"')
    if kind.kind == "pairings":
        expressions.append("NULL::INTEGER AS pairing_id")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _import_ok AS
                    SELECT {', '.join(expressions)}, {_clean.q(dataset_id)} AS dataset_id, _row
                    FROM _import_clean WHERE len(_errors) = 0""")


def _join_on(kind: Kind, a: str, b: str) -> str:
    return " AND ".join(f'{a}."{k}" IS NOT DISTINCT FROM {b}."{k}"' for k in kind.key)


def _count_changes(con, kind: Kind, stored: list[str], result: ImportResult) -> None:
    _stage(con, kind, stored, "dry-run")
    changed = " OR ".join(f't."{c}" IS DISTINCT FROM s."{c}"' for c in stored if c not in kind.key) or "false"
    inserted, updated, unchanged = con.execute(f"""
        SELECT count(*) FILTER (WHERE t_exists IS NULL), count(*) FILTER (WHERE t_exists AND changed),
               count(*) FILTER (WHERE t_exists AND NOT changed)
        FROM (SELECT s._row, (SELECT true FROM {kind.table} t WHERE {_join_on(kind, 't', 's')}) AS t_exists,
                     coalesce((SELECT bool_or({changed}) FROM {kind.table} t WHERE {_join_on(kind, 't', 's')}), false) AS changed
              FROM _import_ok s)""").fetchone()
    result.inserted, result.updated, result.unchanged = inserted, updated, unchanged


def _merge(con, kind: Kind, stored: list[str], insert_only: list[str], dataset_id: str, username: str | None,
           result: ImportResult) -> None:
    _stage(con, kind, stored + insert_only, dataset_id)
    table = kind.table
    values = [c for c in stored if c not in kind.key]
    on = _join_on(kind, "t", "s")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    start = con.execute("SELECT coalesce(max(change_id), 0) FROM change_history").fetchone()[0]
    if values:
        union = " UNION ALL ".join(
            f"""SELECT {_key_text(kind, 's')} AS row_key, {_clean.q(c)} AS column_name,
                       CAST(t."{c}" AS VARCHAR) AS old_value, CAST(s."{c}" AS VARCHAR) AS new_value
                FROM _import_ok s JOIN {table} t ON {on} WHERE t."{c}" IS DISTINCT FROM s."{c}" """
            for c in values)
        con.execute(f"""INSERT INTO change_history
                        SELECT {start} + row_number() OVER (ORDER BY row_key, column_name), {_clean.q(table)},
                               row_key, column_name, old_value, new_value,
                               {sql_values(dataset_id, username or audit.cli_user(), now)}
                        FROM ({union})""")
    changed_keys = con.execute(f"""SELECT count(DISTINCT row_key) FROM change_history
                                   WHERE change_id > {start}""").fetchone()[0]
    exists = f"EXISTS (SELECT 1 FROM {table} t WHERE {on})"
    total = con.execute("SELECT count(*) FROM _import_ok").fetchone()[0]
    new_rows = con.execute(f"SELECT count(*) FROM _import_ok s WHERE NOT {exists}").fetchone()[0]
    has_dataset = bool(con.execute(f"SELECT count(*) FROM information_schema.columns WHERE table_name = {literal(table)} "
                                   "AND column_name = 'dataset_id'").fetchone()[0])
    if values and changed_keys:
        assignments = ", ".join(f'"{c}" = s."{c}"' for c in values) + (", dataset_id = s.dataset_id" if has_dataset else "")
        differs = " OR ".join(f't."{c}" IS DISTINCT FROM s."{c}"' for c in values)
        con.execute(f"""UPDATE {table} AS t SET {assignments} FROM _import_ok s
                        WHERE {on} AND ({differs})""")
    if kind.kind == "pairings":
        con.execute(f"""UPDATE _import_ok SET pairing_id = (SELECT coalesce(max(pairing_id), 0) FROM pairings)
                        + n FROM (SELECT _row AS r, row_number() OVER (ORDER BY _row) AS n FROM _import_ok s
                                  WHERE NOT {exists}) x WHERE x.r = _import_ok._row""")
    insert_columns = stored + insert_only + ["dataset_id"] + (["pairing_id"] if kind.kind == "pairings" else [])
    if not has_dataset:
        insert_columns.remove("dataset_id")
    column_list = ", ".join(f'"{c}"' for c in insert_columns)
    con.execute(f"""INSERT INTO {table} ({column_list})
                    SELECT {', '.join(f's."{c}"' for c in insert_columns)} FROM _import_ok s WHERE NOT {exists}""")
    if kind.kind == "zones":
        con.execute("INSERT OR IGNORE INTO zone_counties SELECT zone_id, county_adcode FROM _import_ok")
    if kind.kind == "enterprises" and "town_adcode" in stored and "town_name" in stored:
        # towns come with the register: a town code and name the regions table lacks is added
        con.execute(f"""INSERT OR IGNORE INTO regions (adcode, name, level, parent_adcode, city_adcode, dataset_id)
                        SELECT s.town_adcode, min(s.town_name), 'town', min(s.county_adcode), min(c.city_adcode),
                               {literal(dataset_id)}
                        FROM _import_ok s JOIN regions c ON c.adcode = s.county_adcode
                        WHERE s.town_adcode IS NOT NULL AND s.town_name IS NOT NULL
                          AND s.town_adcode LIKE s.county_adcode || '%'
                        GROUP BY s.town_adcode""")
    if kind.kind == "indicators":
        _indicator_extras(con, dataset_id)
    result.inserted = new_rows
    result.updated = changed_keys
    result.unchanged = total - new_rows - changed_keys


def _indicator_extras(con, dataset_id: str) -> None:
    con.execute("""INSERT OR IGNORE INTO indicators (indicator_id, name, unit, source)
                   SELECT indicator_id, coalesce(min(indicator_name), indicator_id), min(unit_text), 'imported'
                   FROM _import_clean WHERE len(_errors) = 0 GROUP BY indicator_id""")
    con.execute(f"""INSERT OR REPLACE INTO targets (indicator_id, adcode, year, kind, value, source)
                   SELECT indicator_id, adcode, CAST(substr(period, 1, 4) AS INTEGER), 'level', CAST(target AS DOUBLE), {literal(dataset_id)}
                   FROM _import_clean WHERE len(_errors) = 0 AND target IS NOT NULL""")


def _store_reports(con, kind: Kind, dataset_id: str, result: ImportResult) -> None:
    con.execute(f"DELETE FROM import_rejects WHERE dataset_id = {literal(dataset_id)}")
    con.execute(f"DELETE FROM import_warnings WHERE dataset_id = {literal(dataset_id)}")
    con.execute(f"""INSERT INTO import_rejects
                    SELECT {literal(dataset_id)}, _row, e."column", e."value", e.message
                    FROM (SELECT _row, unnest(_errors) AS e FROM _import_clean)""")
    con.execute(f"""INSERT INTO import_warnings
                    SELECT {_clean.q(dataset_id)}, {_clean.q(kind.table)}, {_key_text(kind)}, _row,
                           w."column", w."value", w.message
                    FROM (SELECT *, unnest(_warnings) AS w FROM _import_clean WHERE len(_errors) = 0)""")
