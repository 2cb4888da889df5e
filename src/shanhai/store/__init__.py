"""The store: the DuckDB schema, its migrations, the connection owner, backups, the audit log.

Nothing above this layer opens DuckDB itself: it asks :func:`open_store` for a :class:`Store`.
"""

from shanhai.store.backup import backup, read_manifest, restore
from shanhai.store.connection import Store, default_db_path, open_store
from shanhai.store.migrator import current_version, latest_version, migrate
from shanhai.store.seed import load_reference, reference_loaded

__all__ = [
    "Store",
    "backup",
    "current_version",
    "default_db_path",
    "latest_version",
    "load_reference",
    "migrate",
    "open_store",
    "read_manifest",
    "reference_loaded",
    "restore",
]
