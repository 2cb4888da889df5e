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
    return [
        f"CREATE OR REPLACE TEMP MACRO sh_text(x) AS CASE WHEN lower(trim(translate(x, '\u3000\u00a0\t\r\n', '     '))) "
        f"IN ({blanks}) THEN NULL ELSE trim(translate(x, '\u3000\u00a0\t\r\n', '     ')) END",
        f"CREATE OR REPLACE TEMP MACRO sh_norm(x) AS CASE WHEN lower(trim(translate(x, {q(FULL)}, {q(HALF)}))) "
        f"IN ({blanks}) THEN NULL ELSE trim(translate(x, {q(FULL)}, {q(HALF)})) END",
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


def column_sql(kind: Kind, column: Column, raw: str, factor: float | None, schema_type: str) -> tuple[str, str]:
    """(value expression, error expression) for one column over the raw text ``raw``."""
    t = column.type
    label = column.label
    if t == "text" or t == "region_or_name":
        x = f"sh_text({raw})"
        value = x
        if column.default is not None:
            value = f"coalesce({x}, {q(column.default)})"
        error = f"CASE {_required(column, x)} END" if column.required else "NULL"
        return value, error
    x = f"sh_norm({raw})"
    if t == "uscc":
        u = f"upper(replace({x}, ' ', ''))"
        value = u
        error = (f"CASE {_required(column, x)} "
                 f"WHEN length({u}) <> 18 THEN '应为18位, 实为' || length({u}) || '位 a USCC has 18 characters, this has ' || length({u}) "
                 f"WHEN NOT regexp_matches({u}, '^[0-9A-HJ-NPQRTUW-Y]{{18}}$') THEN "
                 f"'含不允许的字符(I、O、Z、S、V 或其他) characters not allowed in a USCC' "
                 f"WHEN sh_uscc_check({u}) <> substr({u}, 18, 1) THEN '校验码应为' || sh_uscc_check({u}) || "
                 f"', 实为' || substr({u}, 18, 1) || ' check character is ' || substr({u}, 18, 1) || ', expected ' || sh_uscc_check({u}) "
                 "END")
        if column.registered:
            error = (f"coalesce({error}, CASE WHEN {u} IS NOT NULL AND {u} NOT IN (SELECT uscc FROM enterprises) "
                     f"THEN '企业不在名录中, 请先导入企业名录 not in the enterprise register: import enterprises first' END)")
        return value, error
    if t in ("decimal", "integer"):
        parts = f"sh_num({x})"
        unit_case = " ".join(f"WHEN {q(u)} THEN {f!r}" for u, f in _units.FAMILIES.get(column.unit or "", {}).items())
        unit_lower = " ".join(f"WHEN {q(u.lower())} THEN {f!r}" for u, f in _units.FAMILIES.get(column.unit or "", {}).items() if u.isascii())
        header_factor = 1.0 if factor is None else factor
        f_expr = (f"CASE WHEN {parts}.unit = '' THEN {header_factor!r} "
                  + (f"WHEN {parts}.unit IN ('%', '％') AND {q(column.unit or '')} = '' THEN 0.01 " )
                  + (f"ELSE CASE {parts}.unit {unit_case} ELSE CASE lower({parts}.unit) {unit_lower} ELSE NULL END END END"
                     if unit_case else "ELSE NULL END"))
        number = f"TRY_CAST({parts}.num AS DOUBLE)"
        if t == "integer" or not schema_type.startswith("DECIMAL"):
            value = f"({number} * {f_expr})"
            if t == "integer":
                value = f"CAST(round({value}) AS BIGINT)"
        else:
            exact = f"coalesce(TRY_CAST({parts}.num AS DECIMAL(38, 10)), TRY_CAST({number} AS DECIMAL(38, 10)))"
            value = f"CASE WHEN abs({number} * {f_expr}) < {LIMIT!r} THEN ({exact} * CAST({f_expr} AS DECIMAL(28, 10)))::DECIMAL(38, 10) END"
        checks = [
            _required(column, x),
            f"WHEN {parts}.num = '' OR {number} IS NULL THEN '不是数字 not a number'",
            f"WHEN ({f_expr}) IS NULL THEN '单位「' || {parts}.unit || '」不是{label}的单位 unknown unit ' || {parts}.unit",
            f"WHEN abs({number} * {f_expr}) >= {LIMIT!r} THEN '数值过大 value too large'",
        ]
        if t == "integer":
            checks.append(f"WHEN abs({number} * {f_expr} - round({number} * {f_expr})) > 1e-9 "
                          "THEN '应为整数 expected a whole number'")
        if column.min is not None:
            message = ("不能为负 must not be negative" if column.min == 0
                       else f"应不小于 {column.min} must be at least {column.min}")
            checks.append(f"WHEN {number} * {f_expr} < {column.min!r} THEN {q(message)}")
        if column.max is not None:
            checks.append(f"WHEN {number} * {f_expr} > {column.max!r} THEN {q(f'应不大于 {column.max} must be at most {column.max}')}")
        return value, "CASE " + " ".join(checks) + " END"
    if t == "date":
        value = f"sh_date({x})"
        error = (f"CASE {_required(column, x)} WHEN {value} IS NULL THEN '不是有效日期 not a date (expected 2023-06-30)' "
                 f"WHEN year({value}) NOT BETWEEN 1900 AND 2100 THEN '日期超出范围 date out of range' END")
        return value, error
    if t == "month":
        value = f"sh_month({x})"
        error = (f"CASE {_required(column, x)} WHEN {value} IS NULL THEN '不是有效月份 not a month (expected 2023-06)' "
                 f"WHEN year({value}) NOT BETWEEN 1990 AND 2100 THEN '月份超出范围 month out of range' END")
        return value, error
    if t == "year":
        value = f"sh_year({x})"
        error = (f"CASE {_required(column, x)} WHEN {value} IS NULL THEN '不是有效年份 not a year (expected 2023)' "
                 f"WHEN {value} NOT BETWEEN 1949 AND 2100 THEN '年份超出范围 year out of range (1949-2100)' END")
        return value, error
    if t == "period":
        value = f"sh_period({x})"
        error = (f"CASE {_required(column, x)} WHEN {value} IS NULL THEN "
                 "'不是有效期间 not a period (expected 2023, 2023-06 or 2023Q2)' END")
        return value, error
    if t == "bool":
        low = f"lower({x})"
        value = (f"CASE WHEN {low} IN ({', '.join(q(v) for v in TRUE)}) THEN true "
                 f"WHEN {low} IN ({', '.join(q(v) for v in FALSE)}) THEN false END")
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
        error = (f"CASE {_required(column, x)} WHEN {value} IS NULL THEN "
                 f"'未知的{level_name}「' || {x} || '」 unknown {column.level or 'region'}: expected a Zhejiang "
                 f"{column.level or 'region'} name or 6-digit code{mountain_note}' END")
        return value, error
    if t == "industry":
        code = f"regexp_extract({x}, '^[Cc]?([0-9]{{2,4}})(?:\\.0+)?', 1)"
        level = f" AND level = {q(column.level)}" if column.level else ""
        value = f"(SELECT min(code) FROM industries WHERE code = {code}{level})"
        error = (f"CASE {_required(column, x)} WHEN {value} IS NULL THEN '未知的行业代码 unknown industry code: "
                 f"expected a GB/T 4754-2017 {'4-digit class' if column.level == 'class' else 'code'}' END")
        return value, error
    if t == "zone":
        value = f"(SELECT min(zone_id) FROM zones z WHERE z.zone_id = {x} OR z.name = {x})"
        error = (f"CASE {_required(column, x)} WHEN {value} IS NULL THEN "
                 "'未知的开发区, 请先导入开发区 unknown zone: import zones first' END")
        return value, error
    if t == "chain":
        value = f"(SELECT min(chain_id) FROM chains c WHERE c.chain_id = {x} OR c.name = {x})"
        error = f"CASE {_required(column, x)} WHEN {value} IS NULL THEN '未知的产业链 unknown chain' END"
        return value, error
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
