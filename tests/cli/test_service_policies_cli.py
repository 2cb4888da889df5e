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
