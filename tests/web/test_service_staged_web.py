"""The web pay-out of a staged item with a lifetime cap: the item page shows the stages and the
limit, the board's pay form pays the next stage (a stage out of order is refused), the ledger
shows paid so far and the stages paid, the JSON API takes ``stage``. A test-only item in a
temporary $SHANHAI_POLICY_DIR."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from shanhai.jobs import service_policies as sp
from shanhai.store import accounts, open_store
from shanhai.web.app import create_app
from service_test_items import STAGES_30_70, install_items, item_toml, qualifying_firm
from web_helpers import PASSWORD, csrf_of, make_client, sign_in

ITEM = "test-web-staged"
TOML = item_toml(ITEM, "100.0001", "lifetime_cap = 300\n" + STAGES_30_70, display="测试分期事项")


@pytest.fixture()
def web(small_db, tmp_path, monkeypatch):
    install_items(tmp_path, monkeypatch, {ITEM: TOML})
    path = tmp_path / "web.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        y = sp.latest_year(store)
        uscc = qualifying_firm(store, (y,))
        sp.run(store, region="330681", year=y, items=ITEM, user="tests")
        accounts.add_user(store, "st-county", PASSWORD, "county", "330681", "分期测试")
    app = create_app(path, secret_key="staged-web-tests")
    with TestClient(app):
        client = make_client(app, "10.48.0.1")
        assert sign_in(client, "st-county").status_code == 303
        client.csrf = csrf_of(client, "/jobs")
        yield client, uscc


def _post(c, action, **data):
    return c.post(f"/service/payouts/{ITEM}/{action}", data={"csrf_token": c.csrf, **data}, follow_redirects=False)


def test_the_board_pays_a_staged_award_one_stage_at_a_time(web):
    c, uscc = web
    page = c.get(f"/service/items/{ITEM}?lang=zh").text
    assert "每家企业各年度累计封顶 300 万元" in page and "完工 30.00% → 验收 70.00%" in page
    for action, data in (("confirm", {"uscc": uscc}), ("notice", {"on": "2025-04-01"}),
                         ("approve", {"on": "2025-04-01"})):
        assert _post(c, action, **data).status_code == 303, action
    board = c.get(f"/service/payouts?item={ITEM}&lang=zh").text
    assert "兑现下一期" in board and '<option value="验收">验收</option>' in board
    assert _post(c, "pay", on="2025-04-02", stage="验收").status_code == 400
    assert _post(c, "pay", on="2025-04-02").status_code == 303
    ledger = c.get(f"/api/v1/service/payouts?item={ITEM}").json()
    # 100.0001 × 0.3 = 30.00003 → 30.0000 paid of 100.0001
    assert [(x["state"], float(x["paid_amount"]), x["progress"]) for x in ledger] == \
        [("paying", 30.0, "1/2 期 · 已兑现 30%")]
    board = c.get(f"/service/payouts?item={ITEM}&lang=zh").text
    assert "分期兑现中" in board and "1/2 期 · 已兑现 30%" in board
    r = c.post(f"/api/v1/service/payouts/{ITEM}/pay", json={"on": "2025-09-01", "stage": "完工"},
               headers={"X-CSRF-Token": c.csrf})
    assert r.status_code == 400 and "下一期是第 2 期「验收」" in r.text
    r = c.post(f"/api/v1/service/payouts/{ITEM}/pay", json={"on": "2025-09-01", "stage": "验收"},
               headers={"X-CSRF-Token": c.csrf})
    assert r.status_code == 200, r.text
    assert r.json() == {"item_id": ITEM, "action": "pay", "firms": 1, "refused": []}
    ledger = c.get(f"/api/v1/service/payouts?item={ITEM}").json()
    # the last stage takes the rest: 100.0001 − 30.0000 = 70.0001; paid in full
    assert [(x["state"], float(x["paid_amount"]), x["progress"]) for x in ledger] == \
        [("paid", 100.0001, "2/2 期 · 已兑现 100%")]
