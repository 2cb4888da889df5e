"""正式结果 (official runs): which stored per-mu run is a region's published result for a year.

A bureau evaluates a year several times — presets compared, what-ifs, a corrected import — and
publishes one of them (公示). What reads the classes of "the year" (the chain panoramas, the
enterprise-service lists, the overview) reads the published run, not whichever run happens to
be newest. A designation names a run for the run's own year and region (a county, a city or the
province); designations are append-only rows of ``mujun_official`` (migration 0026), each audited,
so who published what, and when, stays on record; the current one of a (year, region) is its
latest row, and a row without a run withdraws it.

:func:`official_for` answers for a place: its county's designation, else its city's, else the
province's. Where nothing is designated, readers keep their previous choice (the newest run, the
province's first) and say so.
"""

from __future__ import annotations

import datetime as dt

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.audit import cli_user
from shanhai.store.sql import literal, values

PROVINCE = "330000"

# the latest row of each (year, region); its run_id may be NULL (withdrawn), which arg_max would skip
CURRENT = """(SELECT year, region, run_id, set_by, set_at, note FROM mujun_official
              QUALIFY row_number() OVER (PARTITION BY year, region ORDER BY seq DESC) = 1)"""


def _run(store: Store, run_id: str) -> tuple[int, str]:
    row = store.con.execute(
        "SELECT CAST(json_extract_string(params, '$.year') AS INTEGER), json_extract_string(params, '$.region') "
        f"FROM runs WHERE run_id = {literal(str(run_id))} AND kind = 'mujun' AND status = 'done'").fetchone()
    if row is None:
        raise NotFoundError(f"评价批次 {run_id} 不存在 no finished per-mu run {run_id!r}")
    return int(row[0]), row[1] or PROVINCE


def designate(store: Store, run_id: str, *, user: str | None = None, note: str | None = None) -> dict:
    """Make ``run_id`` the published result of its year and region (audited). Designating the
    run already published changes nothing and writes nothing."""
    year, region = _run(store, run_id)
    current = official(store, year, region)
    if current == run_id:
        return {"year": year, "region": region, "run_id": run_id, "previous": run_id, "changed": False}
    _write(store, year, region, run_id, user, note, previous=current)
    return {"year": year, "region": region, "run_id": run_id, "previous": current, "changed": True}


def withdraw(store: Store, year: int, region: str, *, user: str | None = None, note: str | None = None) -> dict:
    """Withdraw the published result of (year, region) (audited); readers fall back to the newest run."""
    current = official(store, int(year), region)
    if current is None:
        raise ShanhaiError(f"{year} 年度 {region} 没有正式结果 no official per-mu run for {year} in {region}")
    _write(store, int(year), region, None, user, note, previous=current)
    return {"year": int(year), "region": region, "run_id": None, "previous": current, "changed": True}


def _write(store: Store, year: int, region: str, run_id: str | None, user: str | None, note: str | None,
           previous: str | None) -> None:
    con = store.con
    who = user or cli_user()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM mujun_official").fetchone()[0]
        con.execute(f"INSERT INTO mujun_official (seq, year, region, run_id, set_by, set_at, note) "
                    f"VALUES ({values(seq, year, region, run_id, who, now, note)})")
        audit_append(con, "mujun.official" if run_id else "mujun.official_withdrawn", username=who,
                     target=run_id or previous,
                     detail={"year": year, "region": region, "run_id": run_id, "previous": previous, "note": note})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def official(store: Store, year: int, region: str) -> str | None:
    """The run published for exactly (year, region), or None."""
    row = store.con.execute(f"SELECT run_id FROM {CURRENT} c WHERE year = {int(year)} "
                            f"AND region = {literal(region)}").fetchone()
    return row[0] if row else None


def official_for(store: Store, year: int, adcode: str | None) -> str | None:
    """The run that holds ``adcode``'s published classes for ``year``: the place's own designation,
    else its city's (for a county), else the province's."""
    chain = [PROVINCE]
    if adcode and adcode != PROVINCE:
        row = store.con.execute(f"SELECT level, city_adcode FROM regions WHERE adcode = {literal(adcode)}").fetchone()
        chain = [adcode] + ([row[1]] if row and row[0] == "county" and row[1] else []) + [PROVINCE]
    for region in chain:
        run = official(store, year, region)
        if run is not None:
            return run
    return None


def designations(store: Store, year: int | None = None) -> list[dict]:
    """The current designations (latest first), with the run's preset and the region's name."""
    where = f"WHERE c.year = {int(year)}" if year is not None else ""
    cur = store.con.execute(f"""
        SELECT c.year, c.region, g.name AS region_name, c.run_id, r.policy_name, r.policy_version,
               c.set_by, c.set_at, c.note
        FROM {CURRENT} c LEFT JOIN regions g ON g.adcode = c.region LEFT JOIN runs r ON r.run_id = c.run_id
        {where} {'AND' if where else 'WHERE'} c.run_id IS NOT NULL
        ORDER BY c.year DESC, c.region""")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def official_runs(store: Store) -> set[str]:
    """Every run currently published for some (year, region)."""
    return {r for (r,) in store.con.execute(f"SELECT run_id FROM {CURRENT} c WHERE run_id IS NOT NULL").fetchall()}
