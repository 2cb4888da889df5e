"""The early-warning screens in a real browser: the county user opens /alerts, sees its open alerts
with their sparklines, opens the alert with the highest-priority visit task, whose chart draws, and
moves the task open → pushed → visited → closed through the forms; the history lists the four
states and the alert shows as closed. No page raises a script error (the CSP forbids inline
scripts). A server of its own runs over a scanned copy of the small province (the session's
browser server has no scan and its store cannot be written from outside)."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from shanhai.jobs import alerts as ja
from shanhai.store import accounts, open_store

from browser_helpers import running_server, signed_in_page

pytestmark = pytest.mark.browser
PASSWORD = "browser-alerts-password-1"


@pytest.fixture(scope="module")
def alerts_server(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("browser_alerts") / "alerts.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        ja.scan(store, user="tests")
        county, alert_id, task_id = store.con.execute(
            "SELECT county_adcode, alert_id, task_id FROM visit_tasks ORDER BY priority DESC LIMIT 1").fetchone()
        accounts.add_user(store, "ba-county", PASSWORD, "county", county, "预警县用户")
    with running_server(path, "browser-alerts") as url:
        yield SimpleNamespace(url=url, alert_id=alert_id, task_id=task_id, county=county)


def test_a_visit_task_from_open_to_closed(browser, alerts_server):
    url = alerts_server.url
    context, page, errors = signed_in_page(browser, url, "ba-county", PASSWORD, timeout_ms=30_000)
    try:

        page.goto(f"{url}/alerts")
        row = page.locator(f"#alerts-table tr[data-alert='{alerts_server.alert_id}']")
        assert row.count() == 1 and row.locator("svg.al-spark polyline").count() == 1
        row.locator("a").first.click()
        page.wait_for_url(f"**/alerts/{alerts_server.alert_id}")
        page.wait_for_selector("#alert-chart[data-rendered='1']", state="attached", timeout=60_000)

        page.fill("#task-push input[name=note]", "电话核实未接通")
        page.click("#task-push button[type=submit]")
        page.wait_for_url("**done=push")
        page.select_option("#task-visit select[name=result]", "stopped")
        page.fill("#task-visit input[name=note]", "现场已停产")
        page.click("#task-visit button[type=submit]")
        page.wait_for_url("**done=visit")
        assert page.locator("#task-result").inner_text() == "确认停产"
        page.click("#task-close button[type=submit]")
        page.wait_for_url("**done=close")
        assert page.locator("#task-events tbody tr").count() == 4
        assert "已办结" in page.locator("#alert-task").inner_text()
        assert page.locator("#task-push, #task-visit, #task-close").count() == 0
        assert "已关闭" in page.content()

        page.goto(f"{url}/alerts/tasks?state=closed")
        assert page.locator(f"#tasks-table tr[data-task='{alerts_server.task_id}']").count() == 1
        assert "100.0%" in page.locator("#tasks-precision").inner_text()
        assert not errors, errors
    finally:
        context.close()
