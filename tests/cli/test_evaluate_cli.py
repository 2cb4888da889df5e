"""`shanhai policy`, `shanhai evaluate mujun`, `shanhai explain` as a user meets them."""

from __future__ import annotations

import json
import shutil

import pytest

from test_cli import assert_user_error, shanhai  # noqa: E402 (tests/cli is on sys.path)


@pytest.fixture(scope="module")
def evaluated(small_db, tmp_path_factory):
    """A copy of the small province with one zhejiang-2018 run of 2023 (via the CLI)."""
    path = tmp_path_factory.mktemp("eval") / "province.duckdb"
    shutil.copy(small_db, path)
    result = shanhai("evaluate", "mujun", "--year", "2023", "--db", str(path), "--json")
    assert result.returncode == 0, result.stderr
    return path, json.loads(result.stdout)


def test_policy_list_and_show():
    listed = json.loads(shanhai("policy", "list", "--json").stdout)
    names = {p["name"] for p in listed}
    assert {"zhejiang-2018", "huangyan-2021", "huangyan-2022", "linhai-2016", "wenling-2022"} <= names
    shown = json.loads(shanhai("policy", "show", "huangyan-2022", "--json").stdout)
    weights = {i["id"]: i["weight"] for i in shown["populations"][0]["indicators"]}
    assert weights == {"tax_per_mu": 30, "value_added_per_mu": 20, "value_added_per_energy": 20,
                       "value_added_per_emission": 10, "labour_productivity": 10, "rd_intensity": 10}
    text = shanhai("policy", "show", "zhejiang-2018")
    assert text.returncode == 0 and "亩均税收" in text.stdout and "注意" in text.stdout


def test_policy_diff_names_the_benchmarks_that_changed():
    rows = json.loads(shanhai("policy", "diff", "huangyan-2021", "huangyan-2022", "--json").stdout)
    fields = {r["field"]: (r["a"], r["b"]) for r in rows}
    assert fields["populations[above_scale].indicators[tax_per_mu].benchmark.value"] == (26.01, 24.097)
    assert fields["populations[below_scale].indicators[tax_per_kwh].benchmark.value"] == (0.236565, 0.2352)


def test_policy_validate_reports_file_and_field(tmp_path):
    bad = tmp_path / "my-county.toml"
    text = (shanhai("policy", "show", "huangyan-2022", "--json").stdout)
    assert text
    bad.write_text('name = "my-county"\ndisplay_name = "x"\nversion = "1"\nyears = [2023]\nregion = "331003"\n'
                   'source = "my notes"\nconfidence = "doc"\n[classes]\nmethod = "rank_shares"\n'
                   'shares = { A = 0.5, B = 0.3, C = 0.1, D = 0.05 }\n[[populations]]\nid = "all"\nlabel = "全部"\n'
                   '[[populations.indicators]]\nid = "tax_per_mu"\nweight = 100\nbenchmark = { kind = "sum_ratio" }\n',
                   "utf-8")
    result = shanhai("policy", "validate", str(bad))
    assert result.returncode == 2
    assert "my-county.toml" in result.stdout and "shares add up to 0.95" in result.stdout


def test_evaluate_stores_a_run_and_prints_counties(evaluated):
    path, summary = evaluated
    assert summary["policy"] == "zhejiang-2018" and summary["year"] == 2023
    assert sum(summary["classes"].values()) == summary["enterprises"]
    assert summary["evaluated"] == summary["enterprises"] - summary["classes"].get("T", 0)
    assert len(summary["counties"]) == 90
    assert [c["rank_tax"] for c in summary["counties"]][:3] == [1, 2, 3]
    assert any(t["target_id"] == "province-2025-tax" for t in summary["targets"])


def test_explain_tells_the_arithmetic(evaluated):
    path, summary = evaluated
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        uscc, total = con.execute(
            f"SELECT uscc, total_score FROM mujun_results WHERE run_id = '{summary['run_id']}' "
            "AND class = 'D' ORDER BY uscc LIMIT 1").fetchone()
    doc = json.loads(shanhai("explain", "--uscc", uscc, "--db", str(path), "--json").stdout)
    assert doc["class"] == "D" and doc["total_score"] == total
    assert abs(sum(i["score"] for i in doc["indicators"]) + doc["bonus"] - doc["penalty"] - total) < 1e-6
    text = shanhai("explain", "--uscc", uscc, "--run", summary["run_id"], "--db", str(path)).stdout
    assert "÷" in text and "倒逼整治类" in text and summary["run_id"] in text


def test_explain_refuses_a_firm_outside_the_users_region(evaluated):
    path, summary = evaluated
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        uscc, county = con.execute(
            f"SELECT uscc, county_adcode FROM mujun_results WHERE run_id = '{summary['run_id']}' LIMIT 1").fetchone()
    other = "330102" if county != "330102" else "330105"
    assert_user_error(shanhai("explain", "--uscc", uscc, "--region", other, "--db", str(path)), uscc)


def test_evaluate_errors_are_one_line(evaluated, tmp_path):
    path, _ = evaluated
    assert_user_error(shanhai("evaluate", "mujun", "--year", "1999", "--db", str(path)), "1999")
    assert_user_error(shanhai("evaluate", "mujun", "--year", "2023", "--policy", "nope", "--db", str(path)),
                      "unknown policy")
    assert_user_error(shanhai("evaluate", "mujun", "--year", "2023", "--region", "110000", "--db", str(path)),
                      "110000")
