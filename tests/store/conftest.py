"""Shared fixtures for the store tests: fresh database files and a few hand-made rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from shanhai.store import open_store
from shanhai.store.connection import Store

# Valid USCCs (GB 32100 check characters verified in tests/test_uscc.py).
USCC_A = "91350100M000100Y43"
USCC_B = "91330100799655058B"
USCC_C = "914403001922038216"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's database file goes (not created)."""
    return tmp_path / "shanhai.duckdb"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A new database file at the latest schema version, closed after the test."""
    opened = open_store(db_path)
    try:
        yield opened
    finally:
        opened.close()


def _insert_v1_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Rows in tables that exist from schema version 1 on: regions, enterprises,
    enterprise_years, electricity_monthly. Exact DECIMALs, NULLs, Chinese text."""
    con.executemany(
        "INSERT INTO regions (adcode, name, level, parent_adcode, city_adcode, county_kind, "
        "mountain26, population, mfg_share) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ("330000", "浙江省", "province", None, None, None, False, 64567588, 0.3312),
            ("330100", "杭州市", "city", "330000", "330100", None, False, None, None),
            ("330127", "淳安县", "county", "330100", "330100", "county", True, 329000, None),
        ],
    )
    con.executemany(
        "INSERT INTO enterprises (uscc, name, county_adcode, town_name, industry_code, "
        "founded_on, status, dataset_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (USCC_A, "千岛湖精密机械有限公司", "330127", "千岛湖镇", "3484", "2008-03-15", "active", "t1"),
            (USCC_B, "淳安新材料股份有限公司", "330127", None, "2651", None, "closed", None),
            (USCC_C, "山海电子有限公司", "330127", "威坪镇", "3982", "1999-12-31", "active", "t1"),
        ],
    )
    con.executemany(
        "INSERT INTO enterprise_years (uscc, year, above_scale, revenue, main_revenue, tax_paid, "
        "value_added, headcount, land_own_mu, energy_tce, rd_spending, electricity_kwh, confirmed) "
        "VALUES (?, ?, ?, ?::DECIMAL(18,4), ?::DECIMAL(18,4), ?::DECIMAL(18,4), ?::DECIMAL(18,4), "
        "?, ?::DECIMAL(14,4), ?, ?::DECIMAL(18,4), ?, ?)",
        [
            (USCC_A, 2022, True, "1234.5678", "1200.0001", "56.7800", None, 120, "35.2500", 812.5, None, 1.5e6, True),
            (USCC_A, 2023, True, "98765432.1234", "98765000.0000", None, "0.0001", None, None, None, "3.1416", None, False),
            (USCC_B, 2023, False, "1999.9999", None, "0.0000", None, 8, "2.0000", 0.0, None, 12.25, False),
        ],
    )
    con.executemany(
        "INSERT INTO electricity_monthly VALUES (?, ?, ?, ?, ?, ?)",
        [
            (USCC_A, "2023-01-01", 125000.5, None, 3.25, "t1"),
            (USCC_A, "2023-02-01", 0.0, 10.0, None, "t1"),
            (USCC_C, "2023-01-01", None, None, None, None),
        ],
    )


def _insert_later_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Rows in tables of later versions: runs (JSON params, TIMESTAMP), run_results, users."""
    con.executemany(
        "INSERT INTO runs (run_id, kind, policy_name, params, created_by, created_at, note) "
        "VALUES (?, ?, ?, ?, ?, ?::TIMESTAMP, ?)",
        [
            ("run-1", "mujun", "浙江亩均 2023", json.dumps({"year": 2023, "权重": [0.4, 0.6]}, ensure_ascii=False),
             "cli:test", "2024-05-06 07:08:09.123456", None),
            ("run-2", "alerts", None, None, None, "2024-12-31 23:59:59", "无参数"),
        ],
    )
    con.execute(
        "INSERT INTO run_results VALUES ('run-1', 'enterprise', ?, ?)",
        [USCC_A, json.dumps({"score": 87.25, "class": "A"})],
    )
    con.execute(
        "INSERT INTO users (user_id, username, display_name, role, region_adcode, password_hash, disabled, created_at) VALUES (1, 'admin', '管理员', 'admin', '330000', 'pbkdf2$x', false, "
        "TIMESTAMP '2024-01-02 03:04:05')"
    )


def _checksums_over(store: Store, tables, columns: dict[str, list[str]] | None = None):
    """(rows, checksum) of each table over ``columns`` (default: the table's columns now), and the
    columns used. Later migrations may add columns to a table (0008: enterprises.business_scope)
    but never change its rows: compare an upgraded file over the columns of the old version."""
    if columns is None:
        columns = {t: [c for (c,) in store.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
            "ORDER BY ordinal_position", [t]).fetchall()] for t in tables}
    sums = {}
    for t in tables:
        fields = ", ".join(f'"{c}"' for c in columns[t])
        sums[t] = store.con.execute(
            f'SELECT count(*), coalesce(sum(hash(struct_pack({fields}))::HUGEINT), 0)::VARCHAR FROM "{t}"').fetchone()
    return sums, columns


@pytest.fixture(scope="session")
def checksums_over():
    return _checksums_over


@pytest.fixture(scope="session")
def insert_v1_rows() -> Callable[[duckdb.DuckDBPyConnection], None]:
    return _insert_v1_rows


@pytest.fixture(scope="session")
def insert_later_rows() -> Callable[[duckdb.DuckDBPyConnection], None]:
    return _insert_later_rows


@pytest.fixture
def clock(monkeypatch):
    """Move the accounts module's clock: ``clock.shift(minutes=…)``; ``clock.now()`` is its time."""
    from datetime import timedelta

    from shanhai.store import accounts

    real = accounts._now
    offset = [timedelta(0)]

    class Clock:
        def shift(self, **kw):
            offset[0] += timedelta(**kw)

        def now(self):
            return real() + offset[0]

    monkeypatch.setattr(accounts, "_now", lambda: real() + offset[0])
    return Clock()
