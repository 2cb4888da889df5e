"""Import real data: Excel and CSV in, every bad cell explained, nothing lost.

``import_file(store, kind, path)`` reads a workbook or CSV (UTF-8, GBK, GB18030), finds the
header row(s), maps the Chinese headers users write to the schema (``kinds/*.toml``), cleans and
validates every cell, and merges the valid rows in one transaction with a change history.
"""

from shanhai.ingest.importer import ImportResult, Problem, import_file
from shanhai.ingest.spec import Kind, kind, kinds

__all__ = ["ImportResult", "Kind", "Problem", "import_file", "kind", "kinds"]
