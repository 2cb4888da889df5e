"""``shanhai carbon …``: factors and convert print the policy numbers, grade stores a run whose
--json agrees with the jobs layer, firm shows the badge and a what-if, industries and share are
region-limited, sync-energy is idempotent, the workbook is written, bad input is one clear line."""

from __future__ import annotations

import json
import shutil

import fastexcel
import pytest
from typer.testing import CliRunner

from shanhai.cli import app


def said(res, text: str) -> bool:
    return text in str(res.exception) or text in res.output


def run(db, *args):
    argv = ["carbon", *args] + (["--db", str(db)] if db is not None else [])
    return CliRunner().invoke(app, argv)


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("carbon_cli") / "carbon.duckdb"
    shutil.copy(small_db, path)
    return path


def test_factors_and_convert():
    res = run(None, "factors", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert any(g["t_per_kwh"] == 0.0005366 and g["year"] == 2022 for g in doc["grid"])
    res = run(None, "convert", "2000000", "kWh", "--year", "2022", "--json")
    c = json.loads(res.stdout)
    assert round(c["co2_t"], 1) == 1073.2 and round(c["tce_equivalent"], 1) == 245.8
    res = run(None, "convert", "200", "10k_kWh", "--year", "2022", "--json")
    assert json.loads(res.stdout)["co2_t"] == pytest.approx(c["co2_t"])
    res = run(None, "convert", "5", "kWh", "--carrier", "coal")
    assert res.exit_code == 1 and said(res, "does not fit")
    res = run(None, "convert", "5", "kWh", "--grid-series", "nope")
    assert res.exit_code == 1 and said(res, "nope")


def test_grade_firm_industries_share_export(db, tmp_path):
    res = run(db, "grade", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["run_id"].startswith("carbon-") and doc["firm_years"] > 1000
    res = run(db, "grade", "--list", "--json")
    assert doc["run_id"] in [r["run_id"] for r in json.loads(res.stdout)]
    res = run(db, "grade", "--year", "1990")
    assert res.exit_code == 1 and said(res, "no energy data for 1990")

    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    uscc, county = con.execute(f"SELECT uscc, county_adcode FROM carbon_grades WHERE run_id = '{doc['run_id']}' "
                               "AND grade IS NOT NULL ORDER BY uscc LIMIT 1").fetchone()
    other = con.execute(f"SELECT county_adcode FROM carbon_grades WHERE county_adcode <> '{county}' LIMIT 1").fetchone()[0]
    con.close()
    res = run(db, "firm", uscc, "--json")
    f = json.loads(res.stdout)
    assert f["current"]["badge"].endswith("级") and f["history"]
    res = run(db, "firm", uscc, "--grid-series", "mee_nbs_fossil")
    assert res.exit_code == 0 and "mee_nbs_fossil" in res.stdout and "碳效码" in res.stdout
    res = run(db, "firm", uscc, "--region", other)
    assert res.exit_code == 1

    res = run(db, "industries", "--region", county, "--json")
    ind = json.loads(res.stdout)
    assert ind["region"]["adcode"] == county and ind["industries"]
    res = run(db, "share", "--region", county, "--json")
    s = json.loads(res.stdout)
    assert {r["adcode"] for r in s["rows"]} == {county} and s["target"] == 0.55
    res = run(db, "share")
    assert res.exit_code == 0 and "浙江省" in res.stdout

    out = tmp_path / "carbon.xlsx"
    res = run(db, "export", "--xlsx", str(out), "--region", county)
    assert res.exit_code == 0, res.output
    sheets = fastexcel.read_excel(str(out)).sheet_names
    assert sheets[:4] == ["碳效码", "行业", "低碳占比", "因子"]


def test_sync_energy(db):
    res = run(db, "sync-energy", "--json")
    assert res.exit_code == 0, res.output
    first = json.loads(res.stdout)
    assert first["changed"] > 0 and first["basis"] == "equal"
    again = json.loads(run(db, "sync-energy", "--json").stdout)
    assert again["changed"] == 0
    res = run(db, "sync-energy", "--basis", "heat")
    assert res.exit_code == 1 and said(res, "basis")
