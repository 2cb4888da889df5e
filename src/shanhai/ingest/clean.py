"""Values as users type them, cleaned and validated in one vectorised SQL pass.

For every mapped column the SQL yields the typed value and, where the cell is bad, a reason
in Chinese and English. Full-width digits and punctuation, thousands separators, units in the
cell ("30亩", "1,234.5万元"), percentages, blank-like markers (-, —, /, 无) and Excel dates are
understood; a cell that cannot be understood is an error, never a silent NULL.
"""

from __future__ import annotations

from dataclasses import dataclass

from shanhai.ingest import units as _units
from shanhai.ingest.spec import Column, Kind

FULL = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000\u00a0\t\r\n。"
HALF = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + "    " + " " + "."
BLANKS = ("", "-", "--", "—", "——", "–", "/", "\\", "无", "暂无", "空", "n/a", "na", "null", "none", "#n/a", "nan")
TRUE = ("是", "y", "yes", "true", "1", "1.0", "√", "✓", "对", "有", "t")
FALSE = ("否", "n", "no", "false", "0", "0.0", "×", "✗", "x", "错", "无", "f")
LIMIT = 1e14      # DECIMAL(18, 4) holds values below 10^14
TOTAL_WORDS = ("合计", "总计", "小计", "合 计", "总 计", "全部合计")
# Unicode white space (as str.isspace and Arrow's utf8_trim_whitespace see it), for RE2
WHITE = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]"


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
        # whole rows: a cell of white space only; a total row's first cells; a wide table's empty month
        # (a cell that starts with a printable ASCII character is not blank: no regular expression)
        f"CREATE OR REPLACE TEMP MACRO sh_blankcell(x) AS x IS NULL OR "
        f"(NOT (unicode(x) BETWEEN 33 AND 126) AND regexp_full_match(x, '{WHITE}*'))",
        f"CREATE OR REPLACE TEMP MACRO sh_trimws(x) AS regexp_replace(x, '^{WHITE}+|{WHITE}+$', '', 'g')",
        f"CREATE OR REPLACE TEMP MACRO sh_total(x) AS CASE WHEN strpos(x, '计') > 0 "
        f"THEN list_contains([{', '.join(q(w) for w in TOTAL_WORDS)}], sh_trimws(x)) ELSE false END",
        f"CREATE OR REPLACE TEMP MACRO sh_blankmarker(x) AS list_contains([{blanks}], lower(sh_trimws(coalesce(x, ''))))",
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
        f"CREATE OR REPLACE TEMP MACRO sh_uscc_check(u) AS substr({q(USCC_ALPHABET)}, "
        f"CAST((31 - ({_uscc_sum('u')}) % 31) % 31 + 1 AS BIGINT), 1)",
    ]


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _uscc_sum(u: str) -> str:
    """GB 32100's weighted sum of a code's first 17 characters, as one arithmetic expression."""
    return " + ".join(f"(strpos({q(USCC_ALPHABET)}, substr({u}, {i + 1}, 1)) - 1) * {w}"
                      for i, w in enumerate(USCC_WEIGHTS))


def _required(column: Column, x: str) -> str:
    if column.required:
        return f"WHEN {x} IS NULL THEN {q('必填, 不能为空 required value missing')}"
    return f"WHEN {x} IS NULL THEN NULL"


def _parsed(column: Column, x: str, value: str, message: str, extra: str = "") -> tuple[str, str]:
    """(value, error) for a type parsed from text: missing if required, ``message`` (SQL) when
    the text does not parse, then any ``extra`` WHEN branches."""
    return value, f"CASE {_required(column, x)} WHEN {value} IS NULL THEN {message} {extra}END"


def stages(column: Column, raw: str, factor: float | None, registered: str | None = None) -> list[dict[str, str]]:
    """Intermediate columns, in the order they are computed, each stage a SELECT over the last.

    Naming the normalised text (``n_``), the number's parts (``p_``), the unit factor of a cell
    that names one (``u_``) and the scaled number (``x_``) once keeps the final expressions
    small: written inline, the nested macros grow into an expression tree that takes DuckDB
    minutes to bind. Numbers take a fast path: a cell that already parses as a plain number
    (``s_``, nearly all of them in a system export) skips normalising, the regular expression
    and the unit lookup, and every slower step sits in a CASE branch that such cells never
    reach. A USCC's check character (``k_``) is computed only for a code that needs it
    (``registered``: the SQL of the register lookup, for codes that must be in the register).
    """
    cid = column.id
    n = f'"n_{cid}"'
    if column.type in ("text", "region_or_name"):
        return [{f"n_{cid}": f"sh_text({raw})"}]
    if column.type == "uscc":
        u = f'"u_{cid}"'
        needs_check = f"length({u}) = 18 AND regexp_full_match({u}, '{USCC_SHAPE}')"
        found = [{f"r_{cid}": registered.format(u)}] if registered is not None else []
        if found:
            needs_check = f'NOT coalesce("r_{cid}", false) AND {needs_check}'
        return [{f"n_{cid}": f"sh_norm({raw})"}, {f"u_{cid}": f"upper(replace({n}, ' ', ''))"}, *found,
                {f"k_{cid}": f"CASE WHEN {needs_check} THEN sh_uscc_check({u}) END"}]
    if column.type not in ("decimal", "integer"):
        return [{f"n_{cid}": f"sh_norm({raw})"}]
    family = _units.FAMILIES.get(column.unit or "", {})
    unit_case = " ".join(f"WHEN {q(u)} THEN {f!r}" for u, f in family.items())
    unit_lower = " ".join(f"WHEN {q(u.lower())} THEN {f!r}" for u, f in family.items() if u.isascii())
    # a factor is a number, or the name of a column holding one per row (wide tables)
    header_factor = "1.0" if factor is None else (f'"{factor}"' if isinstance(factor, str) else repr(factor))
    p, s = f'"p_{cid}"', f'"s_{cid}"'
    lower_branch = f"CASE lower({p}.unit) {unit_lower} ELSE NULL END" if unit_lower else "NULL"
    family_branch = f"CASE {p}.unit {unit_case} ELSE {lower_branch} END" if unit_case else "NULL"
    percent = "0.01" if not column.unit else "NULL"
    unit_factor = (f"CASE WHEN {p} IS NULL THEN NULL WHEN {p}.unit = '' THEN {header_factor} "
                   f"WHEN {p}.unit IN ('%', '％') THEN {percent} ELSE {family_branch} END")
    plain = f'"t_{cid}"' if header_factor == "1.0" else f'"t_{cid}" * {header_factor}'
    return [
        {f"t_{cid}": f"TRY_CAST({raw} AS DOUBLE)"},
        {f"s_{cid}": f'coalesce(isfinite("t_{cid}"), false)'},
        {f"n_{cid}": f"CASE WHEN {s} THEN NULL ELSE sh_norm({raw}) END"},
        {f"p_{cid}": f"CASE WHEN {n} IS NOT NULL THEN sh_num({n}) END"},
        {f"u_{cid}": unit_factor},
        {f"x_{cid}": f'CASE WHEN {s} THEN {plain} ELSE TRY_CAST({p}.num AS DOUBLE) * "u_{cid}" END'},
    ]


class Lookups:
    """Lookups of cleaned cells in the store's tables.

    The first cleaning statement numbers the rows by their order in the file, and DuckDB keeps
    that order through scalar expressions but not through joins (nor through correlated
    subqueries, which it runs as joins). There (``ordered``) a lookup is a cast to an ENUM, a
    hash lookup inside a scalar expression: each lookup table becomes a temporary ENUM type of
    its labels and, for a lookup of a value, a session variable holding the values in the ENUM's
    order. Over rows already numbered, a lookup is a correlated subquery.
    """

    def __init__(self, con, ordered: bool = True):
        self.con = con
        self.ordered = ordered
        self.made: dict[tuple[str, bool], str] = {}

    def _type(self, domain: str, with_values: bool) -> str:
        key = (domain, with_values)
        if key not in self.made:
            name = f"_import_lookup_{len(self.made)}"
            if with_values:
                grouped = (f"SELECT label, min(value) AS value FROM ({domain}) "
                           "WHERE label IS NOT NULL GROUP BY label")
                self.con.execute(f"CREATE OR REPLACE TEMP TYPE {name} AS ENUM "
                                 f"(SELECT label FROM ({grouped}) ORDER BY label)")
                self.con.execute(f"SET VARIABLE {name} = (SELECT list(value ORDER BY label) FROM ({grouped}))")
            else:
                self.con.execute(f"CREATE OR REPLACE TEMP TYPE {name} AS ENUM "
                                 f"(SELECT DISTINCT label FROM ({domain}) WHERE label IS NOT NULL)")
            self.made[key] = name
        return self.made[key]

    def value(self, domain: str, x: str) -> str:
        """The value for label ``x`` among ``domain`` (a SELECT of label, value; the least value
        of a label that occurs more than once), NULL when there is none."""
        if not self.ordered:
            return f"(SELECT min(d.value) FROM ({domain}) d WHERE d.label = {x})"
        name = self._type(domain, True)
        return f"getvariable('{name}')[enum_code(TRY_CAST({x} AS {name})) + 1]"

    def member(self, domain: str, x: str) -> str:
        """True when ``x`` is a label of ``domain`` (a SELECT of label)."""
        if not self.ordered:
            return f"EXISTS (SELECT 1 FROM ({domain}) d WHERE d.label = {x})"
        name = self._type(domain, False)
        return f"(TRY_CAST({x} AS {name}) IS NOT NULL)"


REGISTER = "SELECT uscc AS label FROM enterprises"


def _limit(column: Column, schema_type: str) -> float:
    """The magnitude a number column's values stay below (a DECIMAL column's own width)."""
    if column.type != "integer" and schema_type.startswith("DECIMAL"):
        width, scale = (int(v) for v in schema_type[schema_type.index("(") + 1:-1].split(","))
        return 10.0 ** (width - scale)
    return LIMIT


def bounds(column: Column, schema_type: str) -> tuple[str, float, str, float]:
    """(operator, lower bound, operator, upper bound) a number column's values must meet."""
    limit = _limit(column, schema_type)
    low = (">=", float(column.min)) if column.min is not None and column.min > -limit else (">", -limit)
    high = ("<=", float(column.max)) if column.max is not None and column.max < limit else ("<", limit)
    return (*low, *high)


def _number(column: Column, scaled: str, schema_type: str, blank: str, slow: list[str]) -> tuple[str, str]:
    """(value, error) of a number column from its scaled number; ``blank`` is the SQL condition of
    an empty cell, ``slow`` the WHEN branches of cells that did not parse as a plain number."""
    limit = _limit(column, schema_type)
    if column.type == "integer":
        value = f"TRY_CAST(round({scaled}) AS BIGINT)"
    elif not schema_type.startswith("DECIMAL"):
        value = scaled
    else:
        # the text parsed as DOUBLE (15.9 significant digits) and cast to the column's own
        # DECIMAL rounds to exactly the typed value: exact to the yuan below 10^11 万元.
        # 128-bit DECIMAL parsing would be as exact and ten times slower. A value too large
        # for the column casts to NULL, and the error below says why.
        value = f"TRY_CAST({scaled} AS {schema_type})"
    # a value inside every bound ends the CASE at its first branch
    low_op, low, high_op, high = bounds(column, schema_type)
    inside = [f"{scaled} {low_op} {low!r}", f"{scaled} {high_op} {high!r}"]
    if column.type == "integer":
        inside.append(f"abs({scaled} - round({scaled})) <= 1e-9")
    checks = [f"WHEN {' AND '.join(inside)} THEN NULL",
              _required(column, blank).replace(f"{blank} IS NULL", blank), *slow,
              f"WHEN abs({scaled}) >= {limit!r} THEN '数值过大 value too large'"]
    if column.type == "integer":
        checks.append(f"WHEN abs({scaled} - round({scaled})) > 1e-9 THEN '应为整数 expected a whole number'")
    if column.min is not None:
        message = ("不能为负 must not be negative" if column.min == 0
                   else f"应不小于 {column.min} must be at least {column.min}")
        checks.append(f"WHEN {scaled} < {column.min!r} THEN {q(message)}")
    if column.max is not None:
        checks.append(f"WHEN {scaled} > {column.max!r} THEN {q(f'应不大于 {column.max} must be at most {column.max}')}")
    return value, "CASE " + " ".join(checks) + " END"


USCC_SHAPE = "[0-9A-HJ-NPQRTUW-Y]{18}"


def check_mismatch(u: str, check: str) -> str:
    """``condition THEN message`` of a USCC whose 18th character is not its check character."""
    return (f"{check} <> substr({u}, 18, 1) THEN '校验码应为' || {check} || ', 实为' || substr({u}, 18, 1) || "
            f"' check character is ' || substr({u}, 18, 1) || ', expected ' || {check}")



NOT_REGISTERED = "'企业不在名录中, 请先导入企业名录 not in the enterprise register: import enterprises first'"


@dataclass(frozen=True)
class Fast:
    """A column's cleaning for plain cells, exactly what :func:`column_sql` gives for them:
    ``simple`` is the SQL condition of a plain cell; ``stages`` as for :func:`stages`."""

    stages: list[dict[str, str]]
    simple: str
    value: str
    error: str
    number: str | None = None    # numbers: the parsed double (finite for a plain cell that is not empty)
    scaled: str | None = None    # ... and the value in the column's unit, for bounds()


def fast_sql(column: Column, raw: str, factor: float | None, schema_type: str) -> Fast | None:
    """The plain-cell cleaning of ``column`` (None where the column has none: its cleaning is the
    same for every cell). Numbers in plain notation, USCCs already upper case, four-digit years
    and 是/否 are plain; a row with any other cell is cleaned again by :func:`column_sql`.

    A USCC that must be in the register is kept as it is here, every one of them: the caller
    finds the codes that are not exactly one of the register's with one anti-join over the cleaned
    rows and cleans those with the full rules (``importer._unregistered``). (The register's codes
    are the cleaned, upper-case ones the full rules produce.)
    """
    cid = column.id
    t = column.type
    if t in ("decimal", "integer"):
        if isinstance(factor, str):
            return None                       # wide tables: a factor per row
        number = f'"t_{cid}"'
        scaled = number if factor in (None, 1.0) else f"({number} * {factor!r})"
        value, error = _number(column, scaled, schema_type, f"{raw} IS NULL", [])
        return Fast([{f"t_{cid}": f"TRY_CAST({raw} AS DOUBLE)"}], f"({raw} IS NULL OR isfinite({number}))",
                    value, error, number, scaled)
    if t == "uscc":
        if column.registered:
            return Fast([], "true", raw, "NULL")
        return Fast([], f"regexp_full_match({raw}, '{USCC_SHAPE}')", raw,
                    f"CASE WHEN {check_mismatch(raw, f'sh_uscc_check({raw})')} END")
    if t == "year":
        value = f"TRY_CAST({raw} AS INTEGER)"
        return Fast([], f"{raw} GLOB '[0-9][0-9][0-9][0-9]'", value,
                    f"CASE WHEN {value} NOT BETWEEN 1949 AND 2100 THEN '年份超出范围 year out of range (1949-2100)' END")
    if t == "bool" and column.default is None and not column.required:
        return Fast([], f"({raw} IS NULL OR {raw} IN ('是', '否'))", f"{raw} = '是'", "NULL")
    if t == "bool" and not column.required:
        return Fast([], f"({raw} IS NULL OR {raw} IN ('是', '否'))",
                    f"coalesce({raw} = '是', {column.default})", "NULL")
    return None


def column_sql(kind: Kind, column: Column, raw: str, factor: float | None, schema_type: str,
               lookups: Lookups) -> tuple[str, str]:
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
        u, check = f'"u_{cid}"', f'"k_{cid}"'
        value = u
        shape = (f"WHEN length({u}) <> 18 THEN '应为18位, 实为' || length({u}) || '位 a USCC has 18 characters, this has ' || length({u}) "
                 f"WHEN NOT regexp_full_match({u}, '{USCC_SHAPE}') THEN "
                 f"'含不允许的字符(I、O、Z、S、V 或其他) characters not allowed in a USCC' "
                 f"WHEN {check_mismatch(u, check)} ")
        if column.registered:
            # a code in the register was checked when the register was imported
            error = f'CASE {_required(column, x)} WHEN "r_{cid}" THEN NULL {shape} ELSE {NOT_REGISTERED} END'
        else:
            error = f"CASE {_required(column, x)} {shape} END"
        return value, error
    if t in ("decimal", "integer"):
        p, s = f'"p_{cid}"', f'"s_{cid}"'
        return _number(column, f'"x_{cid}"', schema_type, f"(NOT {s} AND {x} IS NULL)", [
            f"WHEN NOT {s} AND ({p}.num = '' OR TRY_CAST({p}.num AS DOUBLE) IS NULL) THEN '不是数字 not a number'",
            f"WHEN NOT {s} AND \"u_{cid}\" IS NULL THEN '单位「' || {p}.unit || '」不是{label}的单位 unknown unit ' || {p}.unit",
        ])
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
        codes = ", ".join(dict.fromkeys(column.values.values()))
        error = (f"CASE {_required(column, x) if column.default is None else 'WHEN false THEN NULL'} "
                 f"WHEN {x} IS NOT NULL AND ({value}) IS NULL THEN {q(f'取值应为 {allowed} expected one of these or {codes}')} END")
        return value, error
    if t == "region":
        conditions = ["TRUE"]
        if column.level and column.level != "any":
            conditions.append(f"r.level = {q(column.level)}")
        if column.mountain:
            conditions.append("r.mountain26")
        value = lookups.value(f"SELECT label, adcode AS value FROM _region_labels r WHERE {' AND '.join(conditions)}", x)
        level_name = {"county": "县(市、区)", "city": "设区市"}.get(column.level or "", "地区")
        mountain_note = ", 须为山区26县 must be one of the 26 mountain counties" if column.mountain else ""
        return _parsed(column, x, value,
                       f"'未知的{level_name}「' || {x} || '」 unknown {column.level or 'region'}: expected a Zhejiang "
                       f"{column.level or 'region'} name or 6-digit code{mountain_note}'")
    if t == "industry":
        code = f"regexp_extract({x}, '^[Cc]?([0-9]{{2,4}})(?:\\.0+)?', 1)"
        level = f" AND level = {q(column.level)}" if column.level else ""
        expected = "4-digit class" if column.level == "class" else "code"
        return _parsed(column, x, lookups.value(f"SELECT code AS label, code AS value FROM industries WHERE true{level}", code),
                       q(f"未知的行业代码 unknown industry code: expected a GB/T 4754-2017 {expected}"))
    if t == "zone":
        return _parsed(column, x, lookups.value("SELECT zone_id AS label, zone_id AS value FROM zones "
                                                "UNION ALL SELECT name, zone_id FROM zones", x),
                       q("未知的开发区, 请先导入开发区 unknown zone: import zones first"))
    if t == "segment":
        # a segment's code; its name where no other segment has the same name; the chain's
        # name and the stage (数字安防上游, 数字安防-上游)
        domain = ("SELECT segment_id AS label, segment_id AS value FROM chain_segments UNION ALL "
                  "SELECT name, min(segment_id) FROM chain_segments GROUP BY name HAVING count(*) = 1 UNION ALL "
                  "SELECT c.name || x.sep || CASE s.stage WHEN 'upstream' THEN '上游' WHEN 'midstream' THEN '中游' "
                  "WHEN 'downstream' THEN '下游' END, s.segment_id FROM chain_segments s JOIN chains c "
                  "ON c.chain_id = s.chain_id, (VALUES (''), ('-'), ('/'), ('·')) x(sep)")
        return _parsed(column, x, lookups.value(domain, x),
                       q("未知的产业链环节 unknown chain segment: expected a segment code (such as "
                         "digital_security.upstream) or a segment name"))
    if t == "chain":
        return _parsed(column, x, lookups.value("SELECT chain_id AS label, chain_id AS value FROM chains "
                                                "UNION ALL SELECT name, chain_id FROM chains", x),
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
