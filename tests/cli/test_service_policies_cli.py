"""``shanhai service``: items, item, match (stores a run), eligible (+ --xlsx), firm, and the pay-out
commands confirm → notice → approve → pay → list → export; --json agrees with the jobs layer; bad
input is one line, exit code 2."""

from __future__ import annotations

import json
import shutil

import fastexcel
import pytest
from typer.testing import CliRunner

from shanhai.cli.app import app
from shanhai.errors import ShanhaiError
from shanhai.jobs import service_policies as sp
from shanhai.store import open_store
from service_test_items import STAGES_30_70, install_items, item_toml, qualifying_firm

ITEM = "shengzhou-digital-titles-2023"


def run(db, *args):
    return CliRunner().invoke(app, ["service", *args, "--db", str(db)])


def refused(res, message: str) -> bool:
    """The entry point (cli.app.main) prints a ShanhaiError as one line with exit code 2."""
    return res.exit_code != 0 and isinstance(res.exception, ShanhaiError) and message in str(res.exception)


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("service_cli") / "s.duckdb"
    shutil.copy(small_db, path)
    return path


def test_items_and_item():
    res = CliRunner().invoke(app, ["service", "items", "--json"])
    assert res.exit_code == 0, res.output
    ids = {r["item_id"] for r in json.loads(res.stdout)}
    assert {"liandu-scale-up-2019", "huzhou-tech-renovation-2023", "zhuji-digital-spend-2024"} <= ids
    res = CliRunner().invoke(app, ["service", "item", "huzhou-tech-renovation-2023"])
    assert res.exit_code == 0 and "湖政办发〔2023〕23号" in res.stdout
    res = CliRunner().invoke(app, ["service", "item", "nope"])
    assert refused(res, "unknown policy item")


def test_match_eligible_firm_and_payout(db, tmp_path):
    res = run(db, "match", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    with open_store(db, read_only=True) as store:
        assert store.con.execute(f"SELECT kind FROM runs WHERE run_id = '{doc['run_id']}'").fetchone()[0] == \
            "service_match"
    res = run(db, "eligible", ITEM, "--outcome", "eligible", "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["rows"]
    assert rows and all(r["outcome"] == "eligible" for r in rows)
    uscc = rows[0]["uscc"]
    out = tmp_path / "m.xlsx"
    assert run(db, "eligible", ITEM, "--xlsx", str(out)).exit_code == 0 and out.exists()
    res = run(db, "firm", uscc, "--json")
    assert res.exit_code == 0 and any(x["item_id"] == ITEM and x["outcome"] == "eligible"
                                      for x in json.loads(res.stdout)["items"])
    assert run(db, "payout", "confirm", ITEM, uscc, "--on", "2025-02-01").exit_code == 0
    res = run(db, "payout", "confirm", ITEM, uscc)
    assert refused(res, "already confirmed")
    assert run(db, "payout", "notice", ITEM, "--on", "2025-02-02").exit_code == 0
    res = run(db, "payout", "approve", ITEM, "--on", "2025-02-03")
    assert refused(res, "public notice")
    assert run(db, "payout", "approve", ITEM, "--on", "2025-02-09").exit_code == 0
    assert run(db, "payout", "pay", ITEM, "--on", "2025-02-10").exit_code == 0
    res = run(db, "payout", "list", "--item", ITEM, "--json")
    ledger = json.loads(res.stdout)
    assert [(x["uscc"], x["state"]) for x in ledger] == [(uscc, "paid")]
    with open_store(db, read_only=True) as store:
        assert [x["uscc"] for x in sp.payments_list(store, sp.Scope.province(), item_id=ITEM)] == [uscc]
    xlsx = tmp_path / "pay.xlsx"
    assert run(db, "payout", "export", "--xlsx", str(xlsx), "--item", ITEM).exit_code == 0
    sheet = fastexcel.read_excel(xlsx.read_bytes()).load_sheet("兑现名单", header_row=1).to_arrow()
    assert sheet.column("统一社会信用代码").to_pylist()[0] == uscc


def test_bad_input_is_one_line(db):
    res = run(db, "match", "--items", "no-such-item")
    assert refused(res, "unknown policy item")
    res = run(db, "payout", "notice", ITEM, "--on", "yesterday")
    assert refused(res, "not a date")


STAGED = item_toml("test-cli-staged", "100.0001", "cap = 200\nlifetime_cap = 300\n" + STAGES_30_70,
                   display="测试分期事项")


def test_staged_item_is_paid_stage_by_stage_from_the_command_line(small_db, tmp_path, monkeypatch):
    install_items(tmp_path, monkeypatch, {"test-cli-staged": STAGED})
    db = tmp_path / "staged.duckdb"
    shutil.copy(small_db, db)
    res = CliRunner().invoke(app, ["service", "item", "test-cli-staged"])
    assert res.exit_code == 0, res.output
    assert "每次 200 万元；每家企业各年度累计封顶 300 万元" in res.stdout and "完工 30% / 验收 70%" in res.stdout
    res = CliRunner().invoke(app, ["service", "items", "--json"])
    doc = {r["item_id"]: r for r in json.loads(res.stdout)}["test-cli-staged"]
    assert (doc["cap"], doc["lifetime_cap"], doc["once_per_firm"], [s["label"] for s in doc["stages"]]) == \
        (200, 300, False, ["完工", "验收"])
    with open_store(db) as store:
        uscc = qualifying_firm(store, (sp.latest_year(store),))
    assert run(db, "match", "--region", "330681", "--items", "test-cli-staged").exit_code == 0
    for args in (["confirm", "test-cli-staged", uscc, "--on", "2025-06-01"],
                 ["notice", "test-cli-staged", "--uscc", uscc, "--on", "2025-06-01"],
                 ["approve", "test-cli-staged", "--uscc", uscc, "--on", "2025-06-01"]):
        res = run(db, "payout", *args)
        assert res.exit_code == 0, res.output
    res = run(db, "payout", "pay", "test-cli-staged", "--uscc", uscc, "--stage", "验收")
    assert refused(res, "下一期是第 1 期「完工」")
    # 100.0001 × 0.3 = 30.00003 → 30.0000; the rest 70.0001
    res = run(db, "payout", "pay", "test-cli-staged", "--uscc", uscc, "--stage", "完工", "--on", "2025-06-02")
    assert res.exit_code == 0, res.output
    assert "第 1/2 期「完工」30 万元，累计 30 / 100.0001 万元 · 分期兑现中" in res.stdout
    res = run(db, "payout", "list", "--item", "test-cli-staged", "--json")
    row = json.loads(res.stdout)[0]
    assert (row["state"], row["progress"], row["stages_paid"]) == ("paying", "1/2 期 · 已兑现 30%", 1)
    res = run(db, "payout", "pay", "test-cli-staged", "--uscc", uscc, "--on", "2025-09-01", "--json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)[0]
    assert (got["stage"], got["state"]) == ("验收", "paid")
    assert (float(got["stage_amount"]), float(got["paid_amount"])) == (70.0001, 100.0001)
    assert refused(run(db, "payout", "pay", "test-cli-staged", "--uscc", uscc), "已兑现完毕")
