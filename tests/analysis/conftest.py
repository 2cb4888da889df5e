"""Helpers of the per-mu evaluation tests (``test_mujun_*.py``): tiny hand-made stores.

A store is a copy of one template (schema + reference data, built once per session), with
firms inserted by hand. A firm is a dict: ``n`` (serial, makes the USCC), ``county`` (adcode,
default 黄岩区 331003), ``industry`` (4-digit class), ``status``, ``founded_on``, ``flags``
(flag names, or (flag, valid_from, valid_to) tuples), ``water_t`` (the year's water, written as
one ``electricity_monthly`` row) and any ``enterprise_years`` column (``above_scale``,
``tax_paid``, ``land_own_mu``, …); a column left out is NULL.

The helpers are reached through the session fixture ``mj`` (conftest modules are not imported
by name), e.g. ``store = mj.store(firms)``, ``res, bms = mj.evaluate(store, preset)``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from shanhai import policy
from shanhai.analysis import mujun
from shanhai.engine import connect
from shanhai.store import load_reference, open_store
from shanhai.uscc import check_char

HUANGYAN = "331003"
YEAR_COLUMNS = ("above_scale", "revenue", "main_revenue", "output_value", "value_added", "profit", "tax_paid",
                "headcount", "land_own_mu", "land_leased_mu", "land_leased_out_mu", "energy_tce", "emission_t",
                "rd_spending", "electricity_kwh")
DECIMALS = {"revenue", "main_revenue", "output_value", "value_added", "profit", "tax_paid", "land_own_mu",
            "land_leased_mu", "land_leased_out_mu", "rd_spending"}
_SERIAL = itertools.count(1)
FIRM_KEYS = {"n", "county", "industry", "status", "founded_on", "flags", "water_t", "name", *YEAR_COLUMNS}


def uscc(n: int, county: str = HUANGYAN) -> str:
    """A valid USCC (GB 32100 check character) for serial ``n`` in ``county``."""
    body = "91" + county + f"{n:08d}" + "X"
    return body + check_char(body)


def key(firm: dict) -> str:
    return uscc(firm["n"], firm.get("county", HUANGYAN))


def _dec(value):
    if value is None:
        return None
    return Decimal(str(value))


def insert(store, firms: list[dict], year: int = 2022, *, register: bool = True) -> None:
    """Insert the firms' register rows (once per USCC) and their ``year`` rows."""
    con = store.con
    for f in firms:
        unknown = set(f) - FIRM_KEYS
        assert not unknown, f"unknown firm keys {unknown}"
    if register:
        have = {r[0] for r in con.execute("SELECT uscc FROM enterprises").fetchall()}
        rows = []
        for f in firms:
            k = key(f)
            if k in have:
                continue
            have.add(k)
            rows.append((k, f.get("name", f"企业{f['n']}"), f.get("county", HUANGYAN), f.get("industry", "3484"),
                         f.get("founded_on"), f.get("status", "active")))
        if rows:
            con.executemany("INSERT INTO enterprises (uscc, name, county_adcode, industry_code, founded_on, status) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)
    cols = ", ".join(YEAR_COLUMNS)
    marks = ", ".join("?" for _ in YEAR_COLUMNS)
    con.executemany(
        f"INSERT INTO enterprise_years (uscc, year, {cols}) VALUES (?, ?, {marks})",
        [(key(f), year, *[(_dec(f.get(c)) if c in DECIMALS else f.get(c)) if c != "above_scale"
                          else f.get("above_scale", True) for c in YEAR_COLUMNS]) for f in firms])
    flag_rows = []
    for f in firms:
        for flag in f.get("flags", ()):
            if isinstance(flag, str):
                flag_rows.append((key(f), flag, dt.date(2000, 1, 1), None))
            else:
                flag_rows.append((key(f), *flag))
    if flag_rows:
        con.executemany("INSERT OR IGNORE INTO enterprise_flags (uscc, flag, valid_from, valid_to) VALUES (?, ?, ?, ?)",
                        flag_rows)
    water = [(key(f), dt.date(year, 1, 1), f["water_t"]) for f in firms if f.get("water_t") is not None]
    if water:
        con.executemany("INSERT INTO electricity_monthly (uscc, month, water_t) VALUES (?, ?, ?)", water)


def clear(store) -> None:
    """Remove every firm (between hypothesis examples that reuse one store)."""
    for table in ("enterprise_flags", "electricity_monthly", "enterprise_years", "enterprises"):
        store.con.execute(f"DELETE FROM {table}")


def evaluate(store, preset, year: int = 2022, region: str | None = None, *, benchmarks: str = "preset",
             previous=None) -> tuple[dict[str, dict], list[dict]]:
    """One evaluation as plain Python: results by USCC, and the benchmark rows. ``previous``: the
    name of a table (uscc, class, class_streak) in the store, for the streak."""
    con = connect(store)
    if isinstance(previous, str):
        previous = con.table(previous)
    with mujun.evaluate(con, preset, year, region, benchmarks=benchmarks, previous=previous) as ev:
        results = {r["uscc"]: r for r in ev.results.to_pyarrow().to_pylist()}
        bms = ev.benchmarks.to_pyarrow().to_pylist() if ev.benchmarks is not None else []
    return results, bms


def variant(base: str | policy.Preset, edit) -> policy.Preset:
    """A preset derived from a packaged one: ``edit`` changes its plain-dict form in place."""
    preset = policy.get(base) if isinstance(base, str) else base
    data = preset.model_dump(mode="json", by_alias=True, exclude_none=True)
    edit(data)
    return policy.parse(data, "test variant")


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (dt.date,)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None) + " }"
    raise TypeError(type(v))


def write_preset(preset: policy.Preset, folder: Path, name: str | None = None) -> Path:
    """The preset as a TOML file ``<name>.toml`` (inline tables; no TOML writer is installed)."""
    data = preset.model_dump(mode="json", by_alias=True, exclude_none=True)
    if name is not None:
        data["name"] = name
    path = Path(folder) / f"{data['name']}.toml"
    path.write_text("\n".join(f"{k} = {_toml_value(v)}" for k, v in data.items() if v is not None) + "\n", "utf-8")
    return path


def compare_rows(a: dict, b: dict, ignore=()) -> list[str]:
    """Columns whose values differ between two result rows (floats to 1e-9)."""
    out = []
    for c in a:
        if c in ignore:
            continue
        x, y = a[c], b[c]
        if isinstance(x, float) and isinstance(y, float):
            if abs(x - y) > 1e-9 * max(1.0, abs(x)):
                out.append(c)
        elif x != y:
            out.append(c)
    return out


def rank_classes(n: int, shares: dict[str, float], order) -> list[str]:
    """The class of each rank 1 … n by the module's rule, with exact fractions: a firm with r − 1
    firms ahead of it is in the first class whose cumulative share s has (r − 1) < s × n."""
    out = []
    for r in range(1, n + 1):
        cumulative = Fraction(0)
        for code in order:
            cumulative += Fraction(str(shares[code]))
            if r - 1 < cumulative * n or code == order[-1]:
                out.append(code)
                break
    return out


def ranking_key(preset, row: dict) -> tuple:
    """The unit a result row is ranked in: unit × population (× industry group)."""
    return (row["unit_id"], row["population"]) + ((row["group_id"],) if "group" in preset.classes.within else ())


def raw_score(rule, value, benchmark):
    """value ÷ benchmark × weight (benchmark ÷ value for ``lower``), capped and floored, unrounded; None
    when the value or a usable benchmark is missing (the indicator's missing rule then applies)."""
    if value is None or benchmark is None or benchmark <= 0:
        return None
    if rule.direction == "higher":
        raw = value / benchmark * rule.weight
    elif value > 0:
        raw = benchmark / value * rule.weight
    else:
        return None
    if rule.cap is not None:
        raw = min(raw, rule.cap * rule.weight)
    if rule.floor is not None:
        raw = max(raw, rule.floor * rule.weight)
    return raw


class Kit:
    """What the tests reach through ``mj``."""

    HUANGYAN = HUANGYAN
    uscc = staticmethod(uscc)
    key = staticmethod(key)
    insert = staticmethod(insert)
    clear = staticmethod(clear)
    evaluate = staticmethod(evaluate)
    variant = staticmethod(variant)
    write_preset = staticmethod(write_preset)
    compare_rows = staticmethod(compare_rows)
    rank_classes = staticmethod(rank_classes)
    ranking_key = staticmethod(ranking_key)
    raw_score = staticmethod(raw_score)

    def __init__(self, template: Path, folder: Path) -> None:
        self.template = template
        self.folder = folder
        self.opened: list = []

    def child(self) -> "Kit":
        return Kit(self.template, self.folder)

    def store(self, firms: list[dict] | None = None, year: int = 2022):
        """A new store (schema + reference data) holding ``firms`` for ``year``."""
        path = self.folder / f"s{next(_SERIAL)}.duckdb"
        shutil.copyfile(self.template, path)
        store = open_store(path)
        self.opened.append(store)
        if firms:
            insert(store, firms, year)
        return store

    def close_all(self) -> None:
        while self.opened:
            self.opened.pop().close()


@pytest.fixture(scope="session")
def mujun_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mujun-template") / "template.duckdb"
    with open_store(path) as store:
        load_reference(store.con)
        store.con.execute("CHECKPOINT")
    return path


@pytest.fixture(scope="session")
def mj_session(mujun_template, tmp_path_factory):
    """The kit for module-scoped fixtures: its stores close at the end of the session."""
    kit = Kit(mujun_template, tmp_path_factory.mktemp("mujun-stores"))
    yield kit
    kit.close_all()


@pytest.fixture
def mj(mj_session):
    """The kit for one test: the stores it opens close when the test ends."""
    kit = mj_session.child()
    yield kit
    kit.close_all()
