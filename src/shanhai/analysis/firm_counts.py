"""Counts of firms as DuckDB SQL, each definition once: 小升规 entries (a firm above scale in a
year and not in the year before), flags held or newly granted, firms over a threshold, titles
granted in the year. Each builder returns a SELECT of ``uscc, year`` (and ``month`` for a grant
date) that the caller groups by region; the caller's ``where`` is a condition on the firm
(``enterprises e``), never on the year, so a firm's history stays whole.
"""

from __future__ import annotations

from shanhai.store.sql import literal


def above_scale_entries_sql(first_year: int, where: str = "true") -> str:
    """``uscc, adcode, year`` of every entry above scale (小升规): the firm is above scale in
    ``year`` and was not in ``year − 1`` (no row that year, or a row below scale). The store's
    first year (``first_year``) has no year before it and gives no entries. ``adcode`` is the
    firm's county (``enterprises.county_adcode``)."""
    return f"""
        WITH s AS (
            SELECT y.uscc, e.county_adcode AS adcode, y.year, y.above_scale,
                   lag(y.year) OVER w AS prev_year, lag(y.above_scale) OVER w AS prev_above
            FROM enterprise_years y JOIN enterprises e ON e.uscc = y.uscc
            WHERE {where}
            WINDOW w AS (PARTITION BY y.uscc ORDER BY y.year))
        SELECT uscc, adcode, year FROM s
        WHERE above_scale AND year > {int(first_year)} AND NOT coalesce(prev_year = year - 1 AND prev_above, false)"""


def _flag_in(flags: tuple[str, ...]) -> str:
    return "f.flag IN (" + ", ".join(literal(f) for f in flags) + ")"


def flag_held_sql(flags: tuple[str, ...], years: list[int]) -> str:
    """``uscc, year``: firms holding any of ``flags`` at some time in ``year`` (valid_from on or
    before 31 Dec, valid_to empty or on or after 1 Jan), one row per firm and year."""
    ys = ", ".join(str(int(y)) for y in years) or "NULL"
    return f"""
        SELECT DISTINCT f.uscc, yr.year
        FROM enterprise_flags f JOIN (SELECT unnest([{ys}]) AS year) yr
          ON f.valid_from <= make_date(yr.year, 12, 31)
         AND (f.valid_to IS NULL OR f.valid_to >= make_date(yr.year, 1, 1))
        WHERE {_flag_in(flags)}"""


def flag_granted_sql(flags: tuple[str, ...]) -> str:
    """``uscc, year, month``: firms newly granted any of ``flags`` — the first grant date
    (``valid_from``) of the year, counted only if the firm held none of them on 31 Dec of the year
    before (a renewal without a gap is not new). One row per firm and year."""
    return f"""
        SELECT g.uscc, year(g.first) AS year, month(g.first) AS month
        FROM (SELECT f.uscc, year(f.valid_from) AS y, min(f.valid_from) AS first
              FROM enterprise_flags f WHERE {_flag_in(flags)} GROUP BY 1, 2) g
        WHERE NOT EXISTS (
            SELECT 1 FROM enterprise_flags f
            WHERE f.uscc = g.uscc AND {_flag_in(flags)} AND f.valid_from <= make_date(g.y - 1, 12, 31)
              AND (f.valid_to IS NULL OR f.valid_to >= make_date(g.y - 1, 12, 31)))"""


def over_threshold_sql(column: str, threshold: float) -> str:
    """``uscc, year``: firms whose ``column`` (an ``enterprise_years`` figure, 万元) is at least
    ``threshold`` in the year, above scale or not."""
    return f"SELECT uscc, year FROM enterprise_years WHERE {column} >= {literal(float(threshold))}"


def facts_sql(conditions: tuple[str, ...]) -> str:
    """``uscc, year``: firms whose ``service_facts`` row of the year meets any of ``conditions``
    (SQL on its columns: a title granted that year, a 首台(套) recognised that year)."""
    return f"SELECT uscc, year FROM service_facts WHERE {' OR '.join(f'({c})' for c in conditions)}"
