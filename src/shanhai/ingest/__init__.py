"""Import real data: Excel and CSV in, every bad cell explained, nothing lost.

``import_file(store, kind, path)`` reads a workbook or CSV (UTF-8, GBK, GB18030), finds the
header row(s), maps the Chinese headers users write to the schema (``kinds/*.toml``), cleans and
validates every cell, and merges the valid rows in one transaction with a change history.
"""

# The kind files live in the subpackage ``shanhai.ingest.kinds``; import it before binding the
# function ``kinds`` below, or the first later import of the subpackage (importlib.resources does
# one) would replace the function with the module on this package.
import shanhai.ingest.kinds as _kind_files  # noqa: F401,E402
from shanhai.ingest.importer import ImportResult, Problem, import_file
from shanhai.ingest.spec import Kind, kind, kinds

__all__ = ["ImportResult", "Kind", "Problem", "import_file", "kind", "kinds"]
