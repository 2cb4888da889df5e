"""Reading stored runs back by region: the runs of one kind whose region (in ``runs.params``)
contains the caller's scope or lies inside it, newest first — shared by the jobs whose runs are
per region (electricity indices, carbon grades)."""

from __future__ import annotations

import json

from shanhai.store import Store
from shanhai.store.scope import Scope
from shanhai.store.sql import literal


def overlapping(store: Store, scope: Scope, kind: str, columns: str, params: tuple[str, ...],
                limit: int = 50) -> list[dict]:
    """Rows of ``runs`` of ``kind`` (``columns``: the SELECT list, which must not name ``params``)
    whose region overlaps ``scope``, each with the ``params`` keys lifted out of its JSON and
    ``created_at`` as text to the second."""
    cur = store.con.execute(f"SELECT {columns}, params::VARCHAR AS params FROM runs WHERE kind = {literal(kind)} "
                            "ORDER BY created_at DESC, run_id DESC")
    names = [d[0] for d in cur.description]
    out = []
    for values in cur.fetchall():
        row = dict(zip(names, values))
        doc = json.loads(row.pop("params"))
        region = Scope.of(store, doc["region"])
        if region.contains(scope) or scope.contains(region):
            out.append({**row, **{k: doc.get(k) for k in params}, "created_at": str(row["created_at"])[:19]})
        if len(out) >= limit:
            break
    return out
