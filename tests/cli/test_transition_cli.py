"""``shanhai carbon ledger …`` (cli.carbon_ledger): the app registered on a local Typer app, as
``cli/app.py`` mounts it: seed, add, status, allocate (admitted and refused), balance, progress,
actions and export, with --json documents that agree with the jobs layer."""

from __future__ import annotations

import json
import shutil

import fastexcel
import pytest
import typer
from typer.testing import CliRunner

from shanhai.cli import carbon_ledger
from shanhai.store import open_store
from shanhai.store.sql import values

app = typer.Typer()
app.add_typer(carbon_ledger.app, name="ledger")
USCC = "91330602TLCLIFIRMC"


def run(db, *args):
    return CliRunner().invoke(app, ["ledger", *args, "--db", str(db)])


@pytest.fixture(scope="module")
def db(small_evaluated, tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger_cli") / "ledger.duckdb"
    shutil.copy(small_evaluated[0], path)
    with open_store(path) as store:
        store.con.execute("DELETE FROM quota_allocations")          # an empty ledger: the golden numbers
        store.con.execute("DELETE FROM remediation_actions")
        county = store.con.execute("SELECT county_adcode FROM enterprises GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        store.con.execute(f"INSERT INTO enterprises (uscc, name, county_adcode, industry_code) VALUES "
                          f"({values(USCC, '丙化纤', county, '2822')})")
        store.con.execute("INSERT INTO enterprise_years (uscc, year, above_scale, energy_tce, electricity_kwh, land_own_mu) "
                          f"VALUES ({values(USCC, 2022, True, 17973.0, 30_000_000.0, 80)})")
        for pid in ("CLP1", "CLP2"):
            store.con.execute(f"INSERT INTO projects (project_id, name, landing_adcode, stage) VALUES "
                              f"({values(pid, pid, county, 'signed')})")
    return path, county


def test_seed_add_status_allocate(db, tmp_path):
    path, county = db
    res = run(path, "seed", "--classes", "C,D", "--json")
    assert res.exit_code == 0, res.output
    seeded = json.loads(res.stdout)
    assert seeded["added"] > 0
    res = run(path, "actions", "--status", "planned", "--limit", "3", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["total"] == seeded["added"] and len(doc["actions"]) == 3 and len(doc["kinds"]) == 4
    aid = doc["actions"][0]["action_id"]
    res = run(path, "status", aid, "--to", "in_progress", "--on", "2024-02-01")
    assert res.exit_code == 0 and "实施中" in res.stdout, res.output
    res = run(path, "add", USCC, "--kind", "close", "--done-on", "2023-03-01", "--json")
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)
    assert (row["freed_energy_tce"], row["freed_co2_t"]) == (17973.0, 54104.0)
    res = run(path, "allocate", "CLP1", "--energy-tce", "8573.6", "--co2-t", "31154.4", "--value-added", "30000",
              "--on", "2024-05-01", "--json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["available_after"]["energy"] == pytest.approx(9399.4) and got["check"]["admitted"]
    res = run(path, "allocate", "CLP2", "--energy-tce", "5200", "--value-added", "10000", "--on", "2024-05-01",
              "--exclusive")
    assert res.exit_code != 0 and "0.52" in (res.output + str(res.exception))
    res = run(path, "allocate", "CLP2", "--energy-tce", "5200", "--value-added", "10000", "--on", "2024-05-01")
    assert res.exit_code == 0 and "准入" in res.stdout, res.output
    res = run(path, "balance", "--region", county, "--json")
    bal = json.loads(res.stdout)
    assert bal["balanced"] and bal["total"]["energy"]["available"] == pytest.approx(4199.4)
    res = run(path, "balance", "--xlsx", str(tmp_path / "b.xlsx"))
    assert res.exit_code == 0 and "合计" in res.stdout, res.output
    assert {"整治清单", "指标余额", "指标分配", "目标进度", "说明"} <= set(fastexcel.read_excel(str(tmp_path / "b.xlsx")).sheet_names)


def test_progress_and_export(db, tmp_path):
    path, county = db
    res = run(path, "progress")
    assert res.exit_code == 0 and "5,000" in res.stdout and "seed 001" in res.stdout, res.output
    res = run(path, "progress", "--region", "330600", "--json")
    assert {t["target_region"] for t in json.loads(res.stdout)["targets"]} == {"330000", "330600"}
    res = run(path, "export", "--xlsx", str(tmp_path / "l.xlsx"), "--region", county)
    assert res.exit_code == 0 and (tmp_path / "l.xlsx").exists(), res.output
    rows = fastexcel.read_excel(str(tmp_path / "l.xlsx")).load_sheet_by_name("整治清单", header_row=1).to_arrow().to_pylist()
    assert rows and {r["县(市、区)"] for r in rows} == {store_name(path, county)}
    assert run(path, "actions", "--kind", "burn").exit_code != 0


def store_name(path, county):
    with open_store(path, read_only=True) as store:
        return store.con.execute(f"SELECT name FROM regions WHERE adcode = '{county}'").fetchone()[0]
