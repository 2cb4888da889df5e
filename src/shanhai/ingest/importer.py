"""One import: read, map headers, clean and validate, then merge into the store in one transaction.

Valid rows go in; rejected rows are reported (row, column, value, reason) and stored in
``import_rejects``; rows with warnings load and carry them in ``import_warnings``. Keyed rows that
exist are updated only where a value differs, each changed cell recorded in ``change_history``;
re-importing the same file changes nothing.

The rows never pass through Python: one ``CREATE TEMP TABLE _import_clean AS SELECT …`` reads
the file (DuckDB's CSV reader, or the workbook's Arrow record batch) and cleans and validates
every cell of every column in a single pass, with each column's plain-cell rules (a number in
plain notation, 是/否, a four-digit year, a registered code); the few rows with any other cell
(a unit, a blank marker, full-width digits …) are cleaned again with every rule. What follows
(codes not in the register, duplicate keys, the kind's rules, and the merge: new keys inserted,
changed keys updated with their history) are set operations on that table. An
electricity-by-account import then merges, in the same transaction, the months of the firms its
meter accounts belong to into ``electricity_monthly`` (:func:`_merge_accounts`).

Under a region scope (``scope=``: the web's uploads, ``shanhai import --region``) every row whose
region lies outside the scope, or cannot be found, is rejected with its reason like any other
bad row, before the merge: nothing outside the scope is inserted, updated or logged. Each kind
says where a row's region comes from (``[region]`` of its kind file, see ``spec``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb

from shanhai.errors import ShanhaiError
from shanhai.ingest import clean as _clean
from shanhai.ingest import headers as _headers
from shanhai.ingest.read import Source, open_source, with_reread
from shanhai.ingest.spec import Kind, kind as _kind
from shanhai.store import Store, audit, load_reference, reference_loaded
from shanhai.store.connection import disk_full
from shanhai.store.scope import Scope
from shanhai.store.sql import literal
from shanhai.store.sql import values as sql_values

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
    scope: dict | None = None                                    # the region scope the import ran under
    out_of_scope: int = 0                                        # rows rejected as outside it
    scope_rejects: list[Problem] = field(default_factory=list)   # their reasons (first 200)

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def as_dict(self, limit: int = 200) -> dict:
        data = asdict(self)
        data["loaded"] = self.loaded
        data["rejects"] = [asdict(p) for p in self.rejects[:limit]]
        data["warnings"] = [asdict(p) for p in self.warnings[:limit]]
        data["scope_rejects"] = [asdict(p) for p in self.scope_rejects[:limit]]
        return data


def _fingerprint(source: Source, kind: Kind, sheet: str | None, year: int | None,
                 scope: Scope | None = None) -> str:
    """sha256 of the file's bytes, the kind, the sheet and the year (and the region scope, when
    there is one: the same file loaded by a county is another dataset): the dataset's identity."""
    digest = source.digest()
    digest.update(json.dumps([kind.kind, sheet, year] + ([scope.adcode] if _scoped(scope) else [])).encode())
    return digest.hexdigest()


def _scoped(scope: Scope | None) -> bool:
    return scope is not None and not scope.is_province


def import_file(store: Store, kind_name: str, path: str | Path, *, year: int | None = None,
                sheet: str | None = None, encoding: str | None = None, dry_run: bool = False,
                username: str | None = None, progress: Progress | None = None,
                scope: Scope | None = None) -> ImportResult:
    """Import one file of ``kind_name`` into ``store``; see the module docstring.

    With ``scope`` (a county's or a city's), rows whose region lies outside it are rejected, each
    with a reason naming its row, column and region; ``None`` or the province admits every row."""
    progress = progress or (lambda label, fraction: None)
    kind = _kind(kind_name)
    path = Path(path)
    if year is not None and not 1949 <= year <= 2100:
        raise ShanhaiError(f"--year {year} is out of range (1949-2100)")
    try:
        source = open_source(path, sheet=sheet, encoding=encoding)
        return with_reread(source, lambda s: _import(store, kind, s, year, dry_run, username, progress, scope))
    except (OSError, duckdb.Error) as exc:
        raise_if_disk_full(store, path, exc)
        raise


def raise_if_disk_full(store: Store, path: Path, exc: BaseException) -> None:
    """One sentence instead of ``exc`` when it says the disk is full."""
    if disk_full(exc):
        # the transaction was rolled back (or never committed): the store holds what it held before
        raise ShanhaiError(
            f"the disk is full: importing {path.name} needed more space than is free where the database "
            f"({store.path}) or the temporary folder lives ({exc}); nothing of this file was stored: "
            "free some space and import it again") from exc


@dataclass
class Prepared:
    """What :func:`prepare` leaves for :func:`finish`, besides the ``_import_clean`` table."""

    result: ImportResult
    fingerprint: str
    stored: list[str]
    insert_only: list[str]
    headers: dict[str, str]     # column identifier -> the file's header (for the scope's reasons)


def _import(store: Store, kind: Kind, source: Source, year: int | None, dry_run: bool, username: str | None,
            progress: Progress, scope: Scope | None = None) -> ImportResult:
    prepared = prepare(store, kind, source, year, dry_run, progress, scope)
    return finish(store, kind, prepared, year, dry_run, username, progress, scope)


def prepare(store: Store, kind: Kind, source: Source, year: int | None, dry_run: bool, progress: Progress,
            scope: Scope | None = None) -> Prepared:
    """Read, map, clean and check the file into the temporary table ``_import_clean``: every step
    that reads the file and none that needs the target table's rows (``_isolated`` runs this in a
    separate process on a copy of the lookup tables). Writes nothing to the store's own tables
    (the reference data aside, loaded once into a store that lacks it)."""
    path = source.path
    hmap = _headers.detect(kind, source)
    progress("读取 read", 0.1)   # the bar appears only once the file is known to be readable
    result = ImportResult(kind=kind.kind, file=str(path), dataset_id="", sheet=source.sheet,
                          encoding=source.encoding, dry_run=dry_run, header_rows=hmap.header_rows,
                          scope=scope.as_dict() if _scoped(scope) else None)
    _check_columns(kind, hmap, source, year, result)
    con = store.con
    if not reference_loaded(con):
        load_reference(con)
    progress("清洗校验 cleaning", 0.25)
    for statement in _clean.macros():
        con.execute(statement)
    con.execute(_clean.REGION_LABELS)
    schema = dict(con.execute(
        f"SELECT column_name, data_type FROM information_schema.columns WHERE table_name = {literal(kind.table)}").fetchall())
    source.attach(con)
    try:
        if kind.wide_months and hmap.months:
            _load_rows(con, source, hmap.data_from, "_import_raw",
                       f"SELECT NULL::INTEGER AS _row, * FROM ({_with_flags(source)})", result)
            hmap = _melt_months(con, kind, hmap, year, result)
            query, present, defaulted = _clean_sql(con, kind, hmap, schema, year, "SELECT * FROM _import_melt", True)
            con.execute(f"CREATE OR REPLACE TEMP TABLE _import_clean AS {query}")
        else:
            query, present, defaulted = _clean_sql(con, kind, hmap, schema, year, _with_flags(source), False,
                                                   width=source.width)
            _load_rows(con, source, hmap.data_from, "_import_clean", query, result)
            _unregistered(con, kind, hmap)
            _reclean(con, kind, hmap, schema, year, source.width)
    finally:
        source.detach(con)
    fingerprint = _fingerprint(source, kind, source.sheet, year, scope)      # hashed meanwhile
    result.dataset_id = f"import-{kind.kind}-{fingerprint[:16]}"
    mapped = hmap.by_id()
    _kind_rules(con, kind, schema, mapped)
    _checks(con, kind, mapped)
    stored = [c.id for c in kind.columns if c.store and c.id in present]
    stored += [extra for extra in _derived(kind) if extra not in stored]
    insert_only = [c.id for c in kind.columns if c.store and c.id in defaulted]
    return Prepared(result, fingerprint, stored, insert_only, {c: m.header for c, m in mapped.items()})


def finish(store: Store, kind: Kind, prepared: Prepared, year: int | None, dry_run: bool, username: str | None,
           progress: Progress, scope: Scope | None = None) -> ImportResult:
    """The steps after :func:`prepare` that read the store: the region scope (it compares with the
    rows stored under the same keys), duplicate keys, and the merge in one transaction."""
    con = store.con
    result, fingerprint, stored, insert_only = (prepared.result, prepared.fingerprint, prepared.stored,
                                                prepared.insert_only)
    path = Path(result.file)
    dataset_id = result.dataset_id
    if _scoped(scope):
        _region_scope(con, kind, scope, prepared.headers, result)
    _duplicates(con, kind)
    progress("合并 merging", 0.6)
    _collect_problems(con, kind, result)
    if dry_run:
        _count_changes(con, kind, stored, result)
        if kind.kind == "electricity-by-account":
            result.notes.append("试运行: 未合并到企业月度用电 dry run: the firms' monthly electricity was not merged")
    else:
        con.execute("BEGIN TRANSACTION")
        try:
            _merge(con, kind, stored, insert_only, dataset_id, username, result)
            _store_reports(con, kind, dataset_id, result)
            params = {"kind": kind.kind, "file": path.name, "sheet": result.sheet,
                      "encoding": result.encoding, "year": year, "rows": result.rows_in}
            if result.scope:
                params["region"] = result.scope["adcode"]
            params = json.dumps(params, ensure_ascii=False)
            con.execute(f"INSERT OR IGNORE INTO datasets VALUES ({literal(dataset_id)}, 'import', "
                        f"{sql_values(f'导入 {kind.label} {path.name}', params, fingerprint, _code_version())})")
            audit.append(con, "import", username=username, target=str(path),
                         detail={"kind": kind.kind, "dataset_id": dataset_id, "inserted": result.inserted,
                                 "updated": result.updated, "unchanged": result.unchanged,
                                 "rejected": result.rejected, "warned": result.warned,
                                 **({"region": result.scope["adcode"], "out_of_scope": result.out_of_scope}
                                    if result.scope else {})})
            con.execute("COMMIT")
        except BaseException:
            # a failed COMMIT (a full disk at the checkpoint) has already ended the transaction:
            # a second ROLLBACK would raise and hide the error that matters
            try:
                con.execute("ROLLBACK")
            except duckdb.TransactionException:
                pass
            raise
    progress("完成 done", 1.0)
    return result


# --------------------------------------------------------------------------- reading and cleaning

def _with_flags(source: Source) -> str:
    """The source's records with ``_blank`` (every cell empty) and ``_total`` (a 合计 row)."""
    cells = [f"c{i}" for i in range(source.width)]
    # CASE, not AND: a CASE stops at the first filled cell, an AND evaluates every cell
    blank = "CASE " + " ".join(f"WHEN NOT sh_blankcell({c}) THEN false" for c in cells) + " ELSE true END"
    total = " OR ".join(f"sh_total({c})" for c in cells[:3]) or "false"
    return f"SELECT *, {blank} AS _blank, {total} AS _total FROM ({source.relation})"


def _load_rows(con, source: Source, data_from: int, table: str, query: str, result: ImportResult) -> None:
    """``CREATE TEMP TABLE table AS query`` over the whole file, then number the rows as the user
    sees them and drop the header rows, blank rows and total rows.

    The table keeps the file's order (DuckDB preserves insertion order), so a row's position in
    it (``rowid``) is its record's position in the file.
    """
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {query}")
    except duckdb.InvalidInputException as exc:
        if "CSV" not in str(exc) and "unicode" not in str(exc):
            raise
        raise source.failed(exc) from exc
    records = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    lines = source.row_numbers(records)
    if lines is None:
        con.execute(f"UPDATE {table} SET _row = CAST(rowid + 1 AS INTEGER)")
    else:
        _number_rows(con, table, lines)
    blank, total = con.execute(f"""SELECT count(*) FILTER (WHERE _blank), count(*) FILTER (WHERE _total AND NOT _blank)
                                   FROM {table} WHERE rowid >= {data_from}""").fetchone()
    con.execute(f"DELETE FROM {table} WHERE rowid < {data_from} OR _blank OR _total")
    result.blank_rows = blank
    if total:
        result.total_rows = total
        result.notes.append(f"跳过合计行 skipped {total} total row(s) (合计/总计)")


def _number_rows(con, table: str, lines: list[int]) -> None:
    """Row numbers from a list (files with blank lines or quoted line breaks)."""
    import numpy as np
    import pyarrow as pa

    numbers = np.asarray(lines, dtype=np.int32)
    # from a buffer: pa.array() of a numpy array or a list imports pandas
    column = pa.Array.from_buffers(pa.int32(), len(numbers), [None, pa.py_buffer(numbers)])
    con.register("_import_lines_batch", pa.RecordBatch.from_arrays([column], names=["line"]))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _import_lines AS SELECT line FROM _import_lines_batch")
    finally:
        con.unregister("_import_lines_batch")
    con.execute(f"UPDATE {table} SET _row = l.line FROM _import_lines l WHERE l.rowid = {table}.rowid")
    con.execute("DROP TABLE _import_lines")


def _clean_sql(con, kind: Kind, hmap, schema: dict[str, str], year: int | None, relation: str,
               numbered: bool, width: int | None = None) -> tuple[str, list[str], list[str]]:
    """The SELECT that cleans and validates every cell of ``relation`` (columns c0…cN, or the
    melted wide table), and the columns it fills from the file or a constant (``present``) and
    with a default (``defaulted``).

    ``width`` (the number of cells c0…cN): columns with a plain-cell cleaning (``clean.fast_sql``)
    use it, and a row with any other cell is flagged ``_slow`` and keeps its cells in ``_raw``
    for :func:`_reclean`.
    """
    fast = width is not None
    mapped = hmap.by_id()
    lookups = _clean.Lookups(con, ordered=not numbered)
    levels: list[dict[str, str]] = [{} for _ in range(8)]
    values: list[str] = []
    errors: list[tuple[str, str, str]] = []
    present: list[str] = []
    defaulted: list[str] = []
    simple: list[str] = []            # plain-cell conditions of the columns other than numbers
    bounded: list[tuple] = []         # (column, scaled value, type) of plain-cell number columns
    numbers: list[tuple[str, str]] = []   # (plain-cell condition, parsed double) of number columns
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
        plain = _clean.fast_sql(column, source, factor, target_type) if fast else None
        if plain is not None and column.type == "uscc" and column.registered and column is not kind.columns[0]:
            plain = None          # _unregistered puts its error first: only for the first column
        if plain is not None:
            for level, stage in enumerate(plain.stages):
                levels[level].update(stage)
            value, error = plain.value, plain.error
            if plain.number:
                numbers.append((plain.simple, plain.number))
                bounded.append((column, plain.scaled, target_type))
                error = f'CASE WHEN "_numok" THEN NULL ELSE {error} END'
            else:
                simple.append(plain.simple)
        else:
            registered = None
            if column.type == "uscc" and column.registered:
                registered = lookups.member(_clean.REGISTER, "{}")
            for level, stage in enumerate(_clean.stages(column, source, factor, registered)):
                levels[level].update(stage)
            value, error = _clean.column_sql(kind, column, source, factor, target_type, lookups)
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
    query = relation
    for stage in levels:
        if stage:
            named = ", ".join(f'{e} AS "{n}"' for n, e in stage.items())
            query = f"SELECT *, {named} FROM ({query})"
    if bounded:
        values.append(f"{_numbers_ok(bounded)} AS _numok")
    query = f"SELECT *, {', '.join(values)} FROM ({query})"
    for i, check in enumerate(kind.checks):
        if check.level == "error":
            label = mapped[check.column].header if check.column in mapped else kind.column(check.column).label
            errors.append((f"k_{i}", f"CASE WHEN coalesce(({check.when}), false) THEN {_clean.q(check.message)} END",
                           f"{{'column': {_clean.q(label)}, 'value': CAST(\"{check.column}\" AS VARCHAR), "
                           f"'message': \"k_{i}\"}}"))
    outputs = {c.id: f'"{c.id}"' for c in kind.columns if _kept(kind, c)}
    outputs.update(_final_values(kind))
    otherwise = EMPTY_PROBLEMS
    for condition, column_label, message in _rule_errors(kind, outputs):
        # a kind's rule, for a row the cells and checks found nothing wrong with
        problem = f"{{'column': {_clean.q(column_label)}, 'value': NULL::VARCHAR, 'message': {_clean.q(message)}}}"
        otherwise = f"CASE WHEN coalesce({condition}, false) THEN [{problem}] ELSE {otherwise} END"
    if fast:
        cells = [f"coalesce({c}, false)" for c in simple if c != "true"]
        if numbers:
            each = " AND ".join(f"coalesce({c}, false)" for c, _ in numbers)
            # the sum of the numbers is finite only if each is there and finite: the usual row
            # needs no test per cell
            cells.append(f"CASE WHEN isfinite({' + '.join(n for _, n in numbers)}) THEN true ELSE {each} END")
        plain_row = " AND ".join(cells) or "true"
        errors.append(("_slow", f"NOT ({plain_row})", None))
    if errors:
        named = ", ".join(f'{e} AS "{n}"' for n, e, _ in errors)
        query = f"SELECT *, {named} FROM ({query})"
        errors = [e for e in errors if e[2] is not None]
        any_error = f"coalesce({', '.join(f'{chr(34)}{n}{chr(34)}' for n, _, _ in errors)}) IS NOT NULL"
        error_list = (f"CASE WHEN {any_error} THEN list_filter([{', '.join(s for _, _, s in errors)}], "
                      f"e -> e.message IS NOT NULL) ELSE {otherwise} END")
    else:
        error_list = otherwise
    ids = ", ".join(f'{expression} AS "{column_id}"' for column_id, expression in outputs.items())
    warning_list = _check_sql(kind, mapped, errors)
    flags = "_row, false AS _blank, false AS _total" if numbered else "NULL::INTEGER AS _row, _blank, _total"
    if fast:
        cells = ", ".join(f"c{i}" for i in range(width))
        flags += f", _slow, CASE WHEN _slow THEN [{cells}] END AS _raw"
    query = f"SELECT {flags}, {ids}, {error_list} AS _errors, {warning_list} AS _warnings FROM ({query})"
    return query, present, defaulted


def _numbers_ok(bounded: list[tuple]) -> str:
    """True for a row whose plain numbers are all within their bounds (and there when required):
    one least() and one greatest() per set of bounds instead of a test per cell, so that a
    number's error CASE is skipped for such a row."""
    groups: dict[tuple, list[str]] = {}
    parts = []
    for column, scaled, schema_type in bounded:
        groups.setdefault(_clean.bounds(column, schema_type), []).append(scaled)
        if column.type == "integer":
            parts.append(f"coalesce(abs({scaled} - round({scaled})) <= 1e-9, true)")
        if column.required:
            parts.append(f"{scaled} IS NOT NULL")
    for (low_op, low, high_op, high), values in groups.items():
        joined = ", ".join(values)
        parts.append(f"coalesce(least({joined}) {low_op} {low!r} AND greatest({joined}) {high_op} {high!r}, true)")
    return " AND ".join(parts)


def _kept(kind: Kind, column) -> bool:
    """A column the cleaned table keeps: stored, or read by the kind's derived columns, rules
    or extras (a name kept only for checking is dropped once checked)."""
    if column.store or kind.kind == "indicators":
        return True
    return any(column.id in sql for sql in [d.sql for d in kind.derived] + [r.when for r in kind.rules])


def _reclean(con, kind: Kind, hmap, schema: dict[str, str], year: int | None, width: int) -> None:
    """Rows the plain-cell cleaning flagged (a cell with a unit, a blank marker, full-width
    digits, a code not in the register …) are cleaned again with every rule and replace their
    first cleaning; they keep their row numbers."""
    if not con.execute("SELECT count(*) FROM (SELECT 1 FROM _import_clean WHERE _slow LIMIT 1)").fetchone()[0]:
        return
    cells = ", ".join(f"_raw[{i + 1}] AS c{i}" for i in range(width))
    query, _, _ = _clean_sql(con, kind, hmap, schema, year,
                             f"SELECT _row, {cells} FROM _import_clean WHERE _slow", numbered=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _import_slow AS {query}")
    con.execute("DELETE FROM _import_clean WHERE _slow")
    con.execute("INSERT INTO _import_clean BY NAME SELECT * FROM _import_slow")
    con.execute("DROP TABLE _import_slow")


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


def _check_columns(kind: Kind, hmap, source: Source, year: int | None, result: ImportResult) -> None:
    mapped = hmap.by_id()
    for problem in hmap.unit_problems:
        raise ShanhaiError(f"{source.path}: {problem}")
    missing = []
    for column in kind.columns:
        if not column.required or column.id in mapped:
            continue
        if column.id == "year" and year is not None:
            continue
        if kind.wide_months and column.id in ("month", "kwh") and hmap.months:
            continue
        missing.append(column.label)
    if kind.wide_months and not hmap.months and "kwh" not in mapped and not kind.column("kwh").required:
        missing.append("用电量 (or month columns 1月…12月)")
    if missing:
        found = "、".join(m.header for m in hmap.mapped) or "none"
        hint = " (or pass --year)" if any("年份" in m for m in missing) else ""
        raise ShanhaiError(f"{source.path}: no column for {'、'.join(missing)}{hint}; recognised columns: {found}")
    if kind.kind == "enterprise-years" and "above_scale" not in mapped and "main_revenue" not in mapped:
        raise ShanhaiError(f"{result.file}: an enterprise-years file needs a column 是否规上 or 主营业务收入 "
                           "to tell above-scale firms")
    if kind.wide_months and hmap.months and year is None:
        undated = [m for m in hmap.months if m.year is None]
        if undated:
            raise ShanhaiError(f"{result.file}: month columns such as {undated[0].header} do not name the year: "
                               "pass --year")
    result.columns = {m.header: m.column.id + (f"[{m.month}月]" if m.month else "") for m in hmap.mapped}
    result.unknown_columns = [f"{col} {header}" for col, header in hmap.unknown]
    for col, header, column_id in hmap.duplicates:
        result.notes.append(f"column {col} {header} names {column_id} again: ignored (the first one is used)")
    for text in hmap.assumed_units:
        result.notes.append(f"no unit in header {text} assumed")
    if hmap.unknown:
        result.notes.append("未识别的列(未导入) columns not recognised, not imported: "
                            + "; ".join(result.unknown_columns))


def _melt_months(con, kind: Kind, hmap, year: int | None, result: ImportResult):
    """A wide electricity table (one column per month) becomes one row per firm (or meter account)
    and month.

    Each month column keeps its own unit and its own header (so a rejected cell is reported
    under the column the user sees); the year comes from the header (2023年1月) or ``--year``;
    empty cells and blank markers (—, -, 无) give no row.
    """
    others = [m for m in hmap.mapped if m.month is None and m.column.id not in ("month", "kwh")]
    parts = []
    for m in hmap.months:
        carried = "".join(f'"{other.grid_column}", ' for other in others)
        parts.append(f"""SELECT _row, {carried}{literal(f"{m.year or year}-{m.month:02d}")} AS _month,
                                "{m.grid_column}" AS _kwh, {1.0 if m.factor is None else m.factor!r}::DOUBLE AS _kfactor,
                                {literal(m.header)} AS _kcol
                         FROM _import_raw WHERE NOT sh_blankmarker("{m.grid_column}")""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _import_melt AS {' UNION ALL '.join(parts)}")
    spec = kind
    mapped = list(others)
    mapped.append(_headers.Mapped("_month", "—", "月份 (列名)", spec.column("month"), None, None))
    mapped.append(_headers.Mapped("_kwh", "—", "_kcol", spec.column("kwh"), None, "_kfactor"))
    result.notes.append(f"宽表 wide table: {len(hmap.months)} month columns read as rows")
    return _headers.HeaderMap(hmap.header_rows, hmap.data_from, mapped, hmap.unknown, hmap.duplicates)


# --------------------------------------------------------------------------- rules

def _append_error(con, condition: str, column: str, message: str, value: str = "NULL",
                  problems: str = "_errors") -> None:
    con.execute(f"""UPDATE _import_clean AS s SET {problems} = list_append({problems},
                    {{'column': {_clean.q(column)}, 'value': {value}, 'message': {_clean.q(message)}}})
                    WHERE {condition}""")


def _final_values(kind: Kind) -> dict[str, str]:
    """Stored values a kind derives from its cleaned cells (by column id), in the cleaning SELECT."""
    if kind.kind == "enterprise-years":
        return {"above_scale": 'coalesce("above_scale", "main_revenue" >= 2000)'}
    return {}


def _rule_errors(kind: Kind, outputs: dict[str, str]) -> list[tuple[str, str, str]]:
    """(condition, column, message) of a kind's rules for rows without another problem, in the
    cleaning SELECT."""
    if kind.kind == "enterprise-years":
        return [(f"({outputs['above_scale']}) IS NULL", "是否规上",
                 "是否规上和主营业务收入都为空 neither 是否规上 nor 主营业务收入 given")]
    return []


def _unregistered(con, kind: Kind, hmap) -> None:
    """The first cleaning keeps a code as it is when it is exactly one of the register's
    (``clean.fast_sql``). One anti-join finds the other codes, and the full rules clean them:
    upper case, spaces and full-width characters are mended, and a missing, malformed or
    unregistered code gets its error, first in its row's list (the USCC is the first column);
    that row then loses the kind's rule errors, which apply only to rows without another."""
    column = kind.columns[0]
    mapped = hmap.by_id()
    if column.type != "uscc" or not column.registered or column.id not in mapped:
        return
    cid = column.id
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _import_codes AS
                    SELECT _row, "{cid}" AS c0 FROM _import_clean
                    WHERE _slow = false AND ("{cid}" IS NULL OR "{cid}" NOT IN (SELECT e.uscc FROM enterprises e))""")
    if con.execute("SELECT count(*) FROM _import_codes").fetchone()[0]:
        lookups = _clean.Lookups(con, ordered=False)
        query = "SELECT * FROM _import_codes"
        for stage in _clean.stages(column, "c0", None, lookups.member(_clean.REGISTER, "{}")):
            query = f"SELECT *, {', '.join(f'{e} AS {chr(34)}{n}{chr(34)}' for n, e in stage.items())} FROM ({query})"
        value, error = _clean.column_sql(kind, column, "c0", None, "VARCHAR", lookups)
        problem = f"{{'column': {_clean.q(mapped[cid].header)}, 'value': f.c0, 'message': f.error}}"
        rules = [_clean.q(m) for _, _, m in _rule_errors(kind, {c.id: f'"{c.id}"' for c in kind.columns})]
        kept = f"list_filter(s._errors, e -> e.message NOT IN ({', '.join(rules)}))" if rules else "s._errors"
        con.execute(f"""UPDATE _import_clean AS s
                        SET "{cid}" = f.value,
                            _errors = CASE WHEN f.error IS NULL THEN s._errors ELSE list_prepend({problem}, {kept}) END
                        FROM (SELECT _row, c0, {value} AS value, {error} AS error FROM ({query})) f
                        WHERE f._row = s._row""")
    con.execute("DROP TABLE _import_codes")


def _kind_rules(con, kind: Kind, schema: dict[str, str], mapped) -> None:
    """After the cleaning: the kind's derived columns, then its rules (both may read other
    tables, which the cleaning statement may not: see ``clean.Lookups``)."""
    have = {name for (name,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = '_import_clean'").fetchall()}
    for derived in kind.derived:
        if derived.column not in have:
            con.execute(f'ALTER TABLE _import_clean ADD COLUMN "{derived.column}" {schema.get(derived.column, "VARCHAR")}')
            have.add(derived.column)
        con.execute(f'UPDATE _import_clean AS s SET "{derived.column}" = {derived.sql}')
    for rule in sorted(kind.rules, key=lambda r: r.level == "warning"):     # errors first
        label = mapped[rule.column].header if rule.column in mapped else kind.column(rule.column).label
        if rule.level == "warning":     # on a row that loads (a rejected row's warnings are not shown)
            _append_error(con, f"len(s._errors) = 0 AND coalesce(({rule.when}), false)", label, rule.message,
                          rule.value or f'CAST("{rule.column}" AS VARCHAR)', problems="_warnings")
            continue
        _append_error(con, f"coalesce(({rule.when}), false)", label, rule.message,
                      rule.value or f'CAST("{rule.column}" AS VARCHAR)')


def _region_scope(con, kind: Kind, scope: Scope, headers: dict[str, str], result: ImportResult) -> None:
    """Reject every row whose region lies outside ``scope``, before duplicates and the merge.

    A row's region comes from its kind's ``[region]``: its own region columns (and those of the
    row stored under the same key, so that a county neither changes another county's row nor
    moves it into its own), or a lookup (a firm's county in the register by its USCC). A row whose
    region cannot be found is rejected too, unless it is already rejected for another reason
    (an unregistered firm, a missing county). The cleaned table is rebuilt once with the
    reasons appended: one pass, whatever the number of probes."""
    spec = kind.region
    q = _clean.q
    name = scope.name or (con.execute(f"SELECT name FROM regions WHERE adcode = {literal(scope.adcode)}").fetchone()
                          or [""])[0]
    yours = f"{scope.adcode} {name}".strip()

    def header(column_id: str) -> str:
        return headers.get(column_id) or kind.column(column_id).label

    def where(code: str, unknown: str) -> str:     # 330102 上城区 (the code alone if regions lacks it)
        name = f"(SELECT r.name FROM regions r WHERE r.adcode = {code})"
        return f"coalesce({code} || coalesce(' ' || {name}, ''), {q(unknown)})"

    probes: list[str] = []
    joins: list[str] = []

    def probe(condition: str, column_id: str, value: str, message: str) -> None:
        label = header(column_id)
        prefix = f"'第' || s._row || '行 ' || {q(label)} || coalesce(' ' || {value}, '') || ': '"
        probes.append(f"CASE WHEN {condition} THEN {{'column': {q(label)}, 'value': {value}, "
                      f"'message': {prefix} || {message}}} END")

    def outside(code: str, stored: bool = False) -> str:
        zh, en = ("数据库中已有的记录: ", "the record already stored: ") if stored else ("", "")
        tail_zh, tail_en = ("，不能修改", "; it cannot be changed") if stored else ("", "")
        return (f"{q(zh + spec.belongs + ' ')} || {where(code, '未知地区')} || "
                f"{q('，不在您的数据范围 ' + yours + '内' + tail_zh)} "
                f"|| ' / ' || {q(en + spec.belongs_en + ' ')} || {where(code, 'an unknown region')} || "
                f"{q(', outside your region ' + yours + tail_en)}")

    unknown = q(f"无法确定该行所属的地区，不能在您的数据范围 {yours} 内导入 / the row's region cannot be determined, "
                f"so it cannot be imported within your region {yours}")
    if spec.lookup:
        column_id = spec.lookup
        code = "_scope_l._region"
        joins.append(f"""LEFT JOIN (SELECT "{spec.key}" AS _key,
                                           CASE WHEN count(DISTINCT "{spec.column}") = 1 THEN min("{spec.column}") END AS _region
                                    FROM {spec.table}
                                    WHERE "{spec.key}" IN (SELECT "{column_id}" FROM _import_clean)
                                    GROUP BY 1) _scope_l ON _scope_l._key = s.{_quoted(column_id)}""")
        value = f'CAST(s."{column_id}" AS VARCHAR)'
        probe(f"{code} IS NOT NULL AND NOT ({scope.covers_sql(code)})", column_id, value, outside(code))
        probe(f"{code} IS NULL AND len(s._errors) = 0", column_id, value, unknown)
        if column_id not in kind.key and kind.column(column_id).store and _has_rows(con, kind.table):
            # the row stored under the same key names another firm (an account registered to
            # another county's firm): the import may neither change it nor move it into the scope
            keys = ", ".join(f't."{k}"' for k in kind.key)
            stored_code = "_scope_st._region"
            joins.append(f"""LEFT JOIN (SELECT {keys}, min(l."{spec.column}") AS _region
                                        FROM {kind.table} t JOIN {spec.table} l ON l."{spec.key}" = t."{column_id}"
                                        WHERE EXISTS (SELECT 1 FROM _import_clean c WHERE {_join_on(kind, 'c', 't')})
                                          AND NOT ({scope.covers_sql(f'l."{spec.column}"')})
                                        GROUP BY {keys}) _scope_st ON {_join_on(kind, '_scope_st', 's')}""")
            key_id = kind.key[0]
            probe(f"{stored_code} IS NOT NULL AND {code} IS NOT NULL AND ({scope.covers_sql(code)})", key_id,
                  f'CAST(s."{key_id}" AS VARCHAR)', outside(stored_code, stored=True))
    else:
        for column_id in spec.columns:
            shown = spec.shown.get(column_id, column_id)
            code = f's."{column_id}"'
            value = f'CAST(s."{shown}" AS VARCHAR)'
            probe(f"{code} IS NOT NULL AND NOT ({scope.covers_sql(code)})", shown, value, outside(code))
            probe(f"{code} IS NULL AND len(s._errors) = 0", shown, value, unknown)
        stored = [c for c in spec.columns if c not in kind.key]
        if stored and _has_rows(con, kind.table):
            keys = ", ".join(f'"{k}"' for k in kind.key)
            key_id = kind.key[0]
            value = f'CAST(s."{key_id}" AS VARCHAR)'
            own = " AND ".join(f"({scope.covers_sql(f's.{_quoted(c)}')})" for c in spec.columns)
            for i, column_id in enumerate(stored):
                alias = f"_scope_t{i}"
                joins.append(f"""LEFT JOIN (SELECT {keys}, min(coalesce(t."{column_id}", '')) AS _region
                                            FROM {kind.table} t
                                            WHERE EXISTS (SELECT 1 FROM _import_clean c WHERE {_join_on(kind, 'c', 't')})
                                              AND NOT ({scope.covers_sql(f't."{column_id}"')})
                                            GROUP BY {keys}) {alias} ON {_join_on(kind, alias, 's')}""")
                code = f"nullif({alias}._region, '')"
                # reported only where the row's own region is inside (else that is the reason)
                probe(f"{alias}._region IS NOT NULL AND {own}", key_id, value, outside(code, stored=True))
    problems = f"list_filter([{', '.join(probes)}], p -> p IS NOT NULL)"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _import_scoped AS
                    SELECT * REPLACE (list_concat(_errors, _scope) AS _errors)
                    FROM (SELECT s.*, {problems} AS _scope FROM _import_clean s {' '.join(joins)})""")
    con.execute("DROP TABLE _import_clean")
    con.execute("ALTER TABLE _import_scoped RENAME TO _import_clean")
    result.out_of_scope = con.execute("SELECT count(*) FROM _import_clean WHERE len(_scope) > 0").fetchone()[0]
    if result.out_of_scope:
        result.scope_rejects = [Problem(*row) for row in con.execute(
            """SELECT _row, p."column", p."value", p.message
               FROM (SELECT _row, unnest(_scope) AS p FROM _import_clean WHERE len(_scope) > 0)
               ORDER BY _row LIMIT 200""").fetchall()]
    con.execute("ALTER TABLE _import_clean DROP COLUMN _scope")


def _quoted(identifier: str) -> str:
    return f'"{identifier}"'


def _derived(kind: Kind) -> list[str]:
    """Stored columns the kind fills itself (beyond those read from the file)."""
    return (["above_scale"] if kind.kind == "enterprise-years" else []) + [d.column for d in kind.derived]


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
        registered = con.execute("SELECT count(*) FROM (SELECT 1 FROM land_parcels "
                                 "WHERE holder_uscc IS NOT NULL LIMIT 1)").fetchone()[0]
        if not registered:
            return
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
    """A key already on an earlier valid row rejects the later ones. Found by grouping (one
    parallel hash aggregate), and only the few duplicated keys are then updated."""
    keys = ", ".join(f'"{k}"' for k in kind.key)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _import_dups AS
                    SELECT {keys}, min(_row) AS first_row FROM _import_clean WHERE len(_errors) = 0
                    GROUP BY {keys} HAVING count(*) > 1""")
    if con.execute("SELECT count(*) FROM _import_dups").fetchone()[0]:
        con.execute(f"""UPDATE _import_clean AS s SET _errors = list_append(_errors,
                        {{'column': {_clean.q('、'.join(kind.column(k).label for k in kind.key))},
                          'value': {_key_text(kind, 's')},
                          'message': '与第' || d.first_row || '行重复 duplicate key, same as row ' || d.first_row}})
                        FROM _import_dups d
                        WHERE {_join_on(kind, 'd', 's')} AND s._row > d.first_row AND len(s._errors) = 0""")
    con.execute("DROP TABLE _import_dups")


def _collect_problems(con, kind: Kind, result: ImportResult) -> None:
    rows = con.execute("""SELECT _row, e."column", e."value", e.message
                          FROM (SELECT _row, unnest(_errors) AS e, generate_subscripts(_errors, 1) AS i
                                FROM _import_clean WHERE len(_errors) > 0) ORDER BY _row, i""").fetchall()
    result.rejects = [Problem(r, c, v, m) for r, c, v, m in rows]
    rows = con.execute("""SELECT _row, w."column", w."value", w.message
                          FROM (SELECT _row, unnest(_warnings) AS w, generate_subscripts(_warnings, 1) AS i
                                FROM _import_clean WHERE len(_errors) = 0 AND len(_warnings) > 0)
                          ORDER BY _row, i""").fetchall()
    result.warnings = [Problem(r, c, v, m) for r, c, v, m in rows]
    result.rows_in, result.rejected, result.warned = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE len(_errors) > 0),
                  count(*) FILTER (WHERE len(_errors) = 0 AND len(_warnings) > 0) FROM _import_clean""").fetchone()


# --------------------------------------------------------------------------- merge

OK = "len(s._errors) = 0"


def _join_on(kind: Kind, a: str, b: str) -> str:
    return " AND ".join(f'{a}."{k}" IS NOT DISTINCT FROM {b}."{k}"' for k in kind.key)


def _has_rows(con, table: str) -> bool:
    return bool(con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchone()[0])


def _count_changes(con, kind: Kind, stored: list[str], result: ImportResult) -> None:
    valid = result.rows_in - result.rejected
    if not _has_rows(con, kind.table):
        result.inserted, result.updated, result.unchanged = valid, 0, 0
        return
    changed = " OR ".join(f't."{c}" IS DISTINCT FROM s."{c}"' for c in stored if c not in kind.key) or "false"
    inserted, updated = con.execute(f"""
        SELECT count(*) FILTER (WHERE t._found IS NULL), count(*) FILTER (WHERE t._found AND ({changed}))
        FROM _import_clean s LEFT JOIN (SELECT *, true AS _found FROM {kind.table}) t ON {_join_on(kind, 't', 's')}
        WHERE {OK}""").fetchone()
    result.inserted, result.updated, result.unchanged = inserted, updated, valid - inserted - updated


def _resets(kind: Kind, values: list[str]) -> list[tuple[str, str]]:
    """(column, described column) pairs: the table columns an import clears where it changes ``column``."""
    return [(c.id, r) for c in kind.columns if c.id in values for r in c.resets]


def _merge(con, kind: Kind, stored: list[str], insert_only: list[str], dataset_id: str, username: str | None,
           result: ImportResult) -> None:
    """New keys are inserted; stored keys whose values differ are updated, each changed cell
    recorded in ``change_history``; a table without rows skips the comparison."""
    table = kind.table
    values = [c for c in stored if c not in kind.key]
    on = _join_on(kind, "t", "s")
    has_dataset = bool(con.execute(f"SELECT count(*) FROM information_schema.columns WHERE table_name = {literal(table)} "
                                   "AND column_name = 'dataset_id'").fetchone()[0])
    existing = _has_rows(con, table)
    changed_keys = 0
    if existing and values:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        start = con.execute("SELECT coalesce(max(change_id), 0) FROM change_history").fetchone()[0]
        differs = " OR ".join(f't."{c}" IS DISTINCT FROM s."{c}"' for c in values)
        cells = ", ".join(
            f"""CASE WHEN t."{c}" IS DISTINCT FROM s."{c}" THEN {{'column_name': {_clean.q(c)},
                     'old_value': CAST(t."{c}" AS VARCHAR), 'new_value': CAST(s."{c}" AS VARCHAR)}} END"""
            for c in values)
        resets = _resets(kind, values)
        cells += "".join(
            f""", CASE WHEN t."{c}" IS DISTINCT FROM s."{c}" AND t."{r}" IS NOT NULL THEN {{'column_name': {_clean.q(r)},
                     'old_value': CAST(t."{r}" AS VARCHAR), 'new_value': CAST(NULL AS VARCHAR)}} END"""
            for c, r in resets)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _import_changes AS
                        SELECT row_key, ch.column_name, ch.old_value, ch.new_value
                        FROM (SELECT {_key_text(kind, 's')} AS row_key,
                                     unnest(list_filter([{cells}], x -> x IS NOT NULL)) AS ch
                              FROM _import_clean s JOIN {table} t ON {on} WHERE {OK} AND ({differs}))""")
        changed_keys = con.execute("SELECT count(DISTINCT row_key) FROM _import_changes").fetchone()[0]
        if changed_keys:
            con.execute(f"""INSERT INTO change_history
                            SELECT {start} + row_number() OVER (ORDER BY row_key, column_name), {_clean.q(table)},
                                   row_key, column_name, old_value, new_value,
                                   {sql_values(dataset_id, username or audit.cli_user(), now)}
                            FROM _import_changes""")
            assignments = ", ".join([f'"{c}" = s."{c}"' for c in values] + [
                f'"{r}" = CASE WHEN t."{c}" IS DISTINCT FROM s."{c}" THEN NULL ELSE t."{r}" END' for c, r in resets]) + (
                f", dataset_id = {literal(dataset_id)}" if has_dataset else "")
            con.execute(f"""UPDATE {table} AS t SET {assignments} FROM _import_clean s
                            WHERE {on} AND {OK} AND ({differs})""")
        con.execute("DROP TABLE _import_changes")
    new = OK + (f" AND NOT EXISTS (SELECT 1 FROM {table} t WHERE {on})" if existing else "")
    columns = stored + insert_only
    selects = [f's."{c}"' for c in columns]
    if has_dataset:
        columns.append("dataset_id")
        selects.append(literal(dataset_id))
    if kind.kind == "pairings":
        columns.append("pairing_id")
        selects.append("(SELECT coalesce(max(pairing_id), 0) FROM pairings) + row_number() OVER (ORDER BY s._row)")
    con.execute("SET preserve_insertion_order = false")   # the table's row order means nothing
    try:
        inserted = con.execute(f"""INSERT INTO {table} ({', '.join(f'"{c}"' for c in columns)})
                                   SELECT {', '.join(selects)} FROM _import_clean s WHERE {new}""").fetchone()[0]
    finally:
        con.execute("RESET preserve_insertion_order")
    if kind.kind == "zones":
        con.execute(f"INSERT OR IGNORE INTO zone_counties SELECT zone_id, county_adcode FROM _import_clean s WHERE {OK}")
    if kind.kind == "enterprises" and "town_adcode" in stored and "town_name" in stored:
        # towns come with the register: a town code and name the regions table lacks is added
        con.execute(f"""INSERT OR IGNORE INTO regions (adcode, name, level, parent_adcode, city_adcode, dataset_id)
                        SELECT s.town_adcode, min(s.town_name), 'town', min(s.county_adcode), min(c.city_adcode),
                               {literal(dataset_id)}
                        FROM _import_clean s JOIN regions c ON c.adcode = s.county_adcode
                        WHERE {OK} AND s.town_adcode IS NOT NULL AND s.town_name IS NOT NULL
                          AND s.town_adcode LIKE s.county_adcode || '%'
                        GROUP BY s.town_adcode""")
    if kind.kind == "indicators":
        _indicator_extras(con, dataset_id)
    if kind.kind == "electricity-by-account":
        _merge_accounts(con, dataset_id, username, result)
    result.inserted = inserted
    result.updated = changed_keys
    result.unchanged = result.rows_in - result.rejected - inserted - changed_keys


VALID_IN = "(a.valid_from IS NULL OR {m} >= a.valid_from) AND (a.valid_to IS NULL OR {m} <= a.valid_to)"


def _merge_accounts(con, dataset_id: str, username: str | None, result: ImportResult) -> None:
    """After an electricity-by-account import has merged its rows: every (firm, month) it touched
    (an imported account's firm in the register, for a month the account is valid) gets as
    ``electricity_monthly.kwh`` the sum over the firm's accounts valid that month. A missing
    firm-month is inserted; a stored one whose kwh differs is updated, the change recorded in
    ``change_history`` like any import's (a figure imported directly by USCC is replaced too);
    water and gas are never touched. Re-importing the same file changes nothing."""
    electricity = _kind("electricity")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _import_firm_months AS
                    WITH touched AS (
                        SELECT DISTINCT a.uscc, s.month
                        FROM _import_clean s JOIN electricity_accounts a ON a.account_no = s.account_no
                        WHERE {OK} AND {VALID_IN.format(m='s.month')})
                    SELECT t.uscc, t.month,
                           -- in account order: the same accounts always give the same double
                           sum(m.kwh ORDER BY a.account_no) AS kwh
                    FROM touched t
                    JOIN electricity_accounts a ON a.uscc = t.uscc AND {VALID_IN.format(m='t.month')}
                    JOIN electricity_account_monthly m ON m.account_no = a.account_no AND m.month = t.month
                    WHERE m.kwh IS NOT NULL
                    GROUP BY t.uscc, t.month""")
    on = "t.uscc = f.uscc AND t.month = f.month"
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    start = con.execute("SELECT coalesce(max(change_id), 0) FROM change_history").fetchone()[0]
    updated = con.execute(f"""INSERT INTO change_history
                              SELECT {start} + row_number() OVER (ORDER BY f.uscc, f.month), 'electricity_monthly',
                                     {_key_text(electricity, 'f')}, 'kwh', CAST(t.kwh AS VARCHAR), CAST(f.kwh AS VARCHAR),
                                     {sql_values(dataset_id, username or audit.cli_user(), now)}
                              FROM _import_firm_months f JOIN electricity_monthly t ON {on}
                              WHERE t.kwh IS DISTINCT FROM f.kwh""").fetchone()[0]
    if updated:
        con.execute(f"""UPDATE electricity_monthly AS t SET kwh = f.kwh, dataset_id = {literal(dataset_id)}
                        FROM _import_firm_months f WHERE {on} AND t.kwh IS DISTINCT FROM f.kwh""")
    inserted = con.execute(f"""INSERT INTO electricity_monthly (uscc, month, kwh, dataset_id)
                               SELECT f.uscc, f.month, f.kwh, {literal(dataset_id)} FROM _import_firm_months f
                               WHERE NOT EXISTS (SELECT 1 FROM electricity_monthly t WHERE {on})""").fetchone()[0]
    con.execute("DROP TABLE _import_firm_months")
    if inserted or updated:
        result.notes.append(f"合并到企业月度用电: 新增 {inserted} 个企业月, 改写 {updated} 个 / merged into the firms' "
                            f"monthly electricity: {inserted} firm-month(s) added, {updated} changed (kwh only)")


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
    if result.rejected:
        con.execute(f"""INSERT INTO import_rejects
                        SELECT {literal(dataset_id)}, _row, e."column", e."value", e.message
                        FROM (SELECT _row, unnest(_errors) AS e FROM _import_clean WHERE len(_errors) > 0)""")
    if result.warned:
        con.execute(f"""INSERT INTO import_warnings
                        SELECT {_clean.q(dataset_id)}, {_clean.q(kind.table)}, {_key_text(kind)}, _row,
                               w."column", w."value", w.message
                        FROM (SELECT *, unnest(_warnings) AS w FROM _import_clean
                              WHERE len(_errors) = 0 AND len(_warnings) > 0)""")
