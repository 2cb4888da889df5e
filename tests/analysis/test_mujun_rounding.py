"""The score rounding (``shanhai.analysis.mujun._round``) takes DECIMAL(18, 9) below 10^8 and
DECIMAL(38, 9) beyond: the narrow path must give the very same double wherever it is taken, at
the half-way points of the 4th and 2nd decimal above all, and the guard must send every value
the narrow decimal cannot hold (|x| ≥ 10^9), NULL, NaN and infinities down the wide path."""

from __future__ import annotations

import duckdb
import ibis
import pytest

from shanhai.analysis import mujun


def _paths(digits: int) -> str:
    return (f"CAST(ROUND(CAST(x AS DECIMAL(18, 9)), {digits}) AS DOUBLE) AS fast, "
            f"CAST(ROUND(CAST(x AS DECIMAL(38, 9)), {digits}) AS DOUBLE) AS slow")


@pytest.mark.parametrize("digits", [2, 4])
def test_the_narrow_decimal_rounds_like_the_wide_one(digits):
    con = duckdb.connect()
    con.execute("SELECT setseed(0.5)")
    # half-way points (k + 0.5) / 10^digits and their neighbours one ulp away, at every magnitude
    # up to the guard, both signs; plus random doubles spread over 12 orders of magnitude
    con.execute(f"""CREATE TABLE v AS
        SELECT s * (k + 0.5) / 10^{digits} * 10^e AS x
        FROM range(0, 2000) a(k), range(0, 8) b(e), (VALUES (1), (-1)) c(s)
        UNION ALL SELECT nextafter(s * (k + 0.5) / 10^{digits}, 0) FROM range(0, 2000) a(k), (VALUES (1), (-1)) c(s)
        UNION ALL SELECT nextafter(s * (k + 0.5) / 10^{digits}, 1e300 * s) FROM range(0, 2000) a(k),
                         (VALUES (1), (-1)) c(s)
        UNION ALL SELECT (random() - 0.5) * 10^(random() * 12 - 4) FROM range(200000)""")
    differ = con.execute(f"SELECT count(*), any_value(x) FROM (SELECT x, {_paths(digits)} FROM v "
                         f"WHERE abs(x) < {mujun.FAST_DECIMAL_BELOW}) WHERE fast IS DISTINCT FROM slow").fetchone()
    assert differ[0] == 0, differ


def test_the_guard_takes_the_wide_path_where_the_narrow_cannot_hold_the_value():
    con = duckdb.connect()
    values = [1.23456789e8, -9.99999999e8, 5e9, 1e15, None, float("nan"), 123.45675, -0.00005]
    t = ibis.memtable({"x": values}, schema={"x": "float64"})
    expr = t.select(r=mujun._round(t.x, 4))
    backend = ibis.duckdb.from_connection(con)
    got = backend.execute(expr)["r"].tolist()
    want = [round_half_away(v) for v in values]
    assert [None if g != g else g for g in got[:5]] == want[:5]     # pandas shows NULL as NaN
    assert got[6:] == want[6:]
    assert mujun.FAST_DECIMAL_BELOW < 1e9                        # DECIMAL(18, 9) holds |x| < 10^9


def round_half_away(v):
    from decimal import ROUND_HALF_UP, Decimal

    if v is None or v != v:
        return None
    return float(Decimal(repr(v)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
