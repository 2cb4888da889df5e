"""Values as users type them, cleaned and validated in one vectorised SQL pass.

For every mapped column the SQL yields the typed value and, where the cell is bad, a reason
in Chinese and English. Full-width digits and punctuation, thousands separators, units in the
cell ("30亩", "1,234.5万元"), percentages, blank-like markers (-, —, /, 无) and Excel dates are
understood; a cell that cannot be understood is an error, never a silent NULL.
"""

from __future__ import annotations

from shanhai.ingest import units as _units
from shanhai.ingest.spec import Column, Kind

FULL = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000\u00a0\t\r\n。"
HALF = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + "    " + " " + "."
BLANKS = ("", "-", "--", "—", "——", "–", "/", "\\", "无", "暂无", "空", "n/a", "na", "null", "none", "#n/a", "nan")
TRUE = ("是", "y", "yes", "true", "1", "1.0", "√", "✓", "对", "有", "t")
FALSE = ("否", "n", "no", "false", "0", "0.0", "×", "✗", "x", "错", "无", "f")
LIMIT = 1e14      # DECIMAL(18, 4) holds values below 10^14


def q(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def macros() -> list[str]:
    blanks = ", ".join(q(b) for b in BLANKS)
    # translate() with a long map is slow; most cells are ASCII (byte length = character length)
    return [
        "CREATE OR REPLACE TEMP MACRO sh_ascii(x) AS strlen(x) = length(x)",
        # translate only cells that hold a full-width character (Chinese text mostly has none)
        "CREATE OR REPLACE TEMP MACRO sh_fw(x) AS NOT sh_ascii(x) AND regexp_matches(x, '[\uff01-\uff5e\u3000\u00a0。]')",
        "CREATE OR REPLACE TEMP MACRO sh_space(x) AS trim(CASE WHEN regexp_matches(x, '[\\t\\r\\n\u3000\u00a0]') "
        "THEN regexp_replace(x, '[\\t\\r\\n\u3000\u00a0]', ' ', 'g') ELSE x END)",
        f"CREATE OR REPLACE TEMP MACRO sh_half(x) AS trim(CASE WHEN sh_fw(x) THEN translate(x, {q(FULL)}, {q(HALF)}) ELSE x END)",
        # list_contains, not IN: DuckDB plans a long IN list as a join against a constant table
        f"CREATE OR REPLACE TEMP MACRO sh_blank(y) AS CASE WHEN length(y) <= 4 AND list_contains([{blanks}], lower(y)) "
        "THEN NULL ELSE y END",
        "CREATE OR REPLACE TEMP MACRO sh_text(x) AS sh_blank(sh_space(x))",
        "CREATE OR REPLACE TEMP MACRO sh_norm(x) AS sh_blank(sh_half(x))",
        "CREATE OR REPLACE TEMP MACRO sh_num(x) AS regexp_extract(replace(replace(x, ',', ''), ' ', ''), "
        "'^([+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?)(.*)$', ['num', 'unit'])",
        # dates: 2023-06-05, 2023/6/5, 2023.6.5, 2023年6月5日, 20230605, '2023-06-05 00:00:00', Excel serials
        "CREATE OR REPLACE TEMP MACRO sh_datetext(x) AS split_part(replace(replace(replace(replace(replace("
        "x, '年', '-'), '月', '-'), '日', ''), '/', '-'), '.', '-'), ' ', 1)",
        "CREATE OR REPLACE TEMP MACRO sh_date(x) AS CASE "
        "WHEN regexp_matches(x, '^[0-9]{5}(\\.[0-9]+)?$') AND TRY_CAST(x AS DOUBLE) BETWEEN 1 AND 2958465 "
        "THEN DATE '1899-12-30' + CAST(floor(CAST(x AS DOUBLE)) AS INTEGER) "
        "WHEN regexp_matches(x, '^[0-9]{8}$') THEN TRY_CAST(substr(x, 1, 4) || '-' || substr(x, 5, 2) || '-' || substr(x, 7, 2) AS DATE) "
        "ELSE TRY_CAST(regexp_replace(sh_datetext(x), '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', "
        "'\\1-\\2-\\3') AS DATE) END",
        "CREATE OR REPLACE TEMP MACRO sh_month(x) AS CASE "
        "WHEN regexp_matches(x, '^[0-9]{5}(\\.[0-9]+)?$') THEN date_trunc('month', sh_date(x))::DATE "
        "WHEN regexp_matches(x, '^[0-9]{6}$') THEN TRY_CAST(substr(x, 1, 4) || '-' || substr(x, 5, 2) || '-01' AS DATE) "
        "WHEN regexp_matches(rtrim(sh_datetext(x), '-'), '^[0-9]{4}-[0-9]{1,2}$') "
        "THEN TRY_CAST(rtrim(sh_datetext(x), '-') || '-01' AS DATE) "
        "ELSE date_trunc('month', sh_date(x))::DATE END",
        "CREATE OR REPLACE TEMP MACRO sh_year(x) AS TRY_CAST(regexp_extract(x, '^([0-9]{4})(?:\\.0+)?(?:年度|年)?$', 1) AS INTEGER)",
        "CREATE OR REPLACE TEMP MACRO sh_period(x) AS CASE "
        "WHEN regexp_matches(x, '^[0-9]{4}(\\.0+)?(年度|年)?$') THEN substr(x, 1, 4) "
        "WHEN regexp_matches(x, '^[0-9]{4}\\s*(-|年)?\\s*(Q|q|第)[1-4](季度)?$') "
        "THEN substr(x, 1, 4) || '-Q' || regexp_extract(x, '([1-4])(季度)?$', 1) "
        "WHEN sh_month(x) IS NOT NULL THEN strftime(sh_month(x), '%Y-%m') END",
        "CREATE OR REPLACE TEMP MACRO sh_uscc_check(u) AS substr('0123456789ABCDEFGHJKLMNPQRTUWXY', "
        "CAST(((31 - CAST(list_sum(list_transform(range(17), i -> (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', "
        "substr(u, i + 1, 1)) - 1) * ([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])[i + 1])) AS BIGINT) "
        "% 31) % 31) + 1 AS BIGINT), 1)",
    ]


def _required(column: Column, x: str) -> str:
    if column.required:
        return f"WHEN {x} IS NULL THEN {q('必填, 不能为空 required value missing')}"
    return f"WHEN {x} IS NULL THEN NULL"


def _parsed(column: Column, x: str, value: str, message: str, extra: str = "") -> tuple[str, str]:
    """(value, error) for a type parsed from text: missing if required, ``message`` (SQL) when
    the text does not parse, then any ``extra`` WHEN branches."""
    return value, f"CASE {_required(column, x)} WHEN {value} IS NULL THEN {message} {extra}END"


def stages(column: Column, raw: str, factor: float | None) -> list[dict[str, str]]:
    """Intermediate columns, in the order they are computed, each stage a SELECT over the last.

    Naming the normalised text (``n_``), the number's parts (``p_``), the unit factor (``f_``) and
    the parsed number (``x_``) once keeps the final expressions small: written inline, the
    nested macros grow into an expression tree that takes DuckDB minutes to bind. Numbers take
    a fast path: a cell that already parses as a plain number (``d_``, nearly all of them in a
    system export) skips normalising, the regular expression and the unit lookup.
    """
    cid = column.id
    n = f'"n_{cid}"'
    if column.type in ("text", "region_or_name"):
        return [{f"n_{cid}": f"sh_text({raw})"}]
    if column.type not in ("decimal", "integer"):
        return [{f"n_{cid}": f"sh_norm({raw})"}]
    family = _units.FAMILIES.get(column.unit or "", {})
    unit_case = " ".join(f"WHEN {q(u)} THEN {f!r}" for u, f in family.items())
    unit_lower = " ".join(f"WHEN {q(u.lower())} THEN {f!r}" for u, f in family.items() if u.isascii())
    # a factor is a number, or the name of a column holding one per row (wide tables)
    header_factor = "1.0" if factor is None else (f'"{factor}"' if isinstance(factor, str) else repr(factor))
    p, d = f'"p_{cid}"', f'"d_{cid}"'
    lower_branch = f"CASE lower({p}.unit) {unit_lower} ELSE NULL END" if unit_lower else "NULL"
    family_branch = f"CASE {p}.unit {unit_case} ELSE {lower_branch} END" if unit_case else "NULL"
    percent = "0.01" if not column.unit else "NULL"
    factor_sql = (f"CASE WHEN {d} IS NOT NULL THEN {header_factor} WHEN {p}.unit = '' THEN {header_factor} "
                  f"WHEN {p}.unit IN ('%', '％') THEN {percent} ELSE {family_branch} END")
    return [
        {f"t_{cid}": f"TRY_CAST({raw} AS DOUBLE)"},
        {f"d_{cid}": f'CASE WHEN isfinite("t_{cid}") THEN "t_{cid}" END'},
        {f"n_{cid}": f"CASE WHEN {d} IS NULL THEN sh_norm({raw}) END"},
        {f"p_{cid}": f"CASE WHEN {n} IS NOT NULL THEN sh_num({n}) END"},
        {f"f_{cid}": factor_sql, f"x_{cid}": f"coalesce({d}, TRY_CAST({p}.num AS DOUBLE))"},
    ]


def column_sql(kind: Kind, column: Column, raw: str, factor: float | None, schema_type: str) -> tuple[str, str]:
    """(value expression, error expression) for one column, over the columns of :func:`stages`."""
    t = column.type
    label = column.label
    cid = column.id
    x = f'"n_{cid}"'
    if t == "text" or t == "region_or_name":
        value = x
        if column.default is not None:
            value = f"coalesce({x}, {q(column.default)})"
        error = f"CASE {_required(column, x)} END" if column.required else "NULL"
        return value, error
    if t == "uscc":
        u = f"upper(replace({x}, ' ', ''))"
        value = u
        shape = (f"WHEN length({u}) <> 18 THEN '应为18位, 实为' || length({u}) || '位 a USCC has 18 characters, this has ' || length({u}) "
                 f"WHEN NOT regexp_matches({u}, '^[0-9A-HJ-NPQRTUW-Y]{{18}}$') THEN "
                 f"'含不允许的字符(I、O、Z、S、V 或其他) characters not allowed in a USCC' "
                 f"WHEN sh_uscc_check({u}) <> substr({u}, 18, 1) THEN '校验码应为' || sh_uscc_check({u}) || "
                 f"', 实为' || substr({u}, 18, 1) || ' check character is ' || substr({u}, 18, 1) || ', expected ' || sh_uscc_check({u}) ")
        if column.registered:
            # a code in the register was checked when the register was imported
            error = (f"CASE {_required(column, x)} WHEN EXISTS (SELECT 1 FROM enterprises e WHERE e.uscc = {u}) THEN NULL "
                     f"{shape} ELSE '企业不在名录中, 请先导入企业名录 not in the enterprise register: import enterprises first' END")
        else:
            error = f"CASE {_required(column, x)} {shape} END"
        return value, error
    if t in ("decimal", "integer"):
        p, f, number = f'"p_{cid}"', f'"f_{cid}"', f'"x_{cid}"'
        scaled = f"({number} * {f})"
        limit = LIMIT
        if t == "integer" or not schema_type.startswith("DECIMAL"):
            value = scaled
            if t == "integer":
                value = f"CAST(round({scaled}) AS BIGINT)"
        else:
            # the text parsed as DOUBLE (15.9 significant digits) and cast to the column's own
            # DECIMAL rounds to exactly the typed value: exact to the yuan below 10^11 万元.
            # 128-bit DECIMAL parsing would be as exact and ten times slower.
            width, scale = (int(v) for v in schema_type[schema_type.index("(") + 1:-1].split(","))
            limit = 10.0 ** (width - scale)
            value = f"CASE WHEN abs({scaled}) < {limit!r} THEN CAST({scaled} AS {schema_type}) END"
        d = f'"d_{cid}"'
        blank = f"({d} IS NULL AND {x} IS NULL)"
        checks = [
            _required(column, blank).replace(f"{blank} IS NULL", blank),
            f"WHEN {d} IS NULL AND ({p}.num = '' OR {number} IS NULL) THEN '不是数字 not a number'",
            f"WHEN {f} IS NULL THEN '单位「' || {p}.unit || '」不是{label}的单位 unknown unit ' || {p}.unit",
            f"WHEN abs({scaled}) >= {limit!r} THEN '数值过大 value too large'",
        ]
        if t == "integer":
            checks.append(f"WHEN abs({scaled} - round({scaled})) > 1e-9 THEN '应为整数 expected a whole number'")
        if column.min is not None:
            message = ("不能为负 must not be negative" if column.min == 0
                       else f"应不小于 {column.min} must be at least {column.min}")
            checks.append(f"WHEN {scaled} < {column.min!r} THEN {q(message)}")
        if column.max is not None:
            checks.append(f"WHEN {scaled} > {column.max!r} THEN {q(f'应不大于 {column.max} must be at most {column.max}')}")
        return value, "CASE " + " ".join(checks) + " END"
    if t == "date":
        value = f"sh_date({x})"
        return _parsed(column, x, value, q("不是有效日期 not a date (expected 2023-06-30)"),
                       f"WHEN year({value}) NOT BETWEEN 1900 AND 2100 THEN '日期超出范围 date out of range' ")
    if t == "month":
        value = f"sh_month({x})"
        return _parsed(column, x, value, q("不是有效月份 not a month (expected 2023-06)"),
                       f"WHEN year({value}) NOT BETWEEN 1990 AND 2100 THEN '月份超出范围 month out of range' ")
    if t == "year":
        value = f"sh_year({x})"
        return _parsed(column, x, value, q("不是有效年份 not a year (expected 2023)"),
                       f"WHEN {value} NOT BETWEEN 1949 AND 2100 THEN '年份超出范围 year out of range (1949-2100)' ")
    if t == "period":
        return _parsed(column, x, f"sh_period({x})", q("不是有效期间 not a period (expected 2023, 2023-06 or 2023Q2)"))
    if t == "bool":
        low = f"lower({x})"
        value = (f"CASE WHEN list_contains([{', '.join(q(v) for v in TRUE)}], {low}) THEN true "
                 f"WHEN list_contains([{', '.join(q(v) for v in FALSE)}], {low}) THEN false END")
        if column.default is not None:
            value = f"coalesce({value}, CASE WHEN {x} IS NULL THEN {column.default} END)"
        error = (f"CASE {_required(column, x)} WHEN {value} IS NULL THEN '应为 是 或 否 expected 是/否 (yes/no)' END")
        return value, error
    if t == "enum":
        pairs = {**{k: v for k, v in column.values.items()}, **{v: v for v in column.values.values()}}
        case = " ".join(f"WHEN {q(k)} THEN {q(v)}" for k, v in pairs.items())
        value = f"CASE {x} {case} END"
        if column.default is not None:
            value = f"coalesce({value}, CASE WHEN {x} IS NULL THEN {q(column.default)} END)"
        allowed = "、".join(dict.fromkeys(column.values))
        error = (f"CASE {_required(column, x) if column.default is None else 'WHEN false THEN NULL'} "
                 f"WHEN {x} IS NOT NULL AND ({value}) IS NULL THEN {q(f'取值应为 {allowed} expected one of {allowed}')} END")
        return value, error
    if t == "region":
        conditions = ["TRUE"]
        if column.level and column.level != "any":
            conditions.append(f"r.level = {q(column.level)}")
        if column.mountain:
            conditions.append("r.mountain26")
        value = f"(SELECT min(r.adcode) FROM _region_labels r WHERE r.label = {x} AND {' AND '.join(conditions)})"
        level_name = {"county": "县(市、区)", "city": "设区市"}.get(column.level or "", "地区")
        mountain_note = ", 须为山区26县 must be one of the 26 mountain counties" if column.mountain else ""
        return _parsed(column, x, value,
                       f"'未知的{level_name}「' || {x} || '」 unknown {column.level or 'region'}: expected a Zhejiang "
                       f"{column.level or 'region'} name or 6-digit code{mountain_note}'")
    if t == "industry":
        code = f"regexp_extract({x}, '^[Cc]?([0-9]{{2,4}})(?:\\.0+)?', 1)"
        level = f" AND level = {q(column.level)}" if column.level else ""
        expected = "4-digit class" if column.level == "class" else "code"
        return _parsed(column, x, f"(SELECT min(code) FROM industries WHERE code = {code}{level})",
                       q(f"未知的行业代码 unknown industry code: expected a GB/T 4754-2017 {expected}"))
    if t == "zone":
        return _parsed(column, x, f"(SELECT min(zone_id) FROM zones z WHERE z.zone_id = {x} OR z.name = {x})",
                       q("未知的开发区, 请先导入开发区 unknown zone: import zones first"))
    if t == "chain":
        return _parsed(column, x, f"(SELECT min(chain_id) FROM chains c WHERE c.chain_id = {x} OR c.name = {x})",
                       q("未知的产业链 unknown chain"))
    raise ValueError(f"no cleaning rule for type {t}")


REGION_LABELS = """
CREATE OR REPLACE TEMP TABLE _region_labels AS
WITH named AS (
    SELECT adcode, name, level, mountain26,
           regexp_replace(name, '(畲族自治县|自治县|市|区|县|街道|镇|乡)$', '') AS short
    FROM regions
)
SELECT adcode AS label, adcode, level, mountain26 FROM named
UNION ALL SELECT name, adcode, level, mountain26 FROM named
UNION ALL SELECT short, adcode, level, mountain26 FROM named
WHERE short <> name AND length(short) >= 2
  AND short NOT IN (SELECT name FROM regions)
  AND (SELECT count(*) FROM named n2 WHERE n2.short = named.short AND n2.level = named.level) = 1
"""
