"""The support-policy screens in a real browser: the 诸暨 county officer runs matching from /service
(a background job), opens the result, applies and confirms an award on behalf of the firm with the
highest amount of the 诸暨 digital-spend item, puts it on public notice, approves it after the
notice ends and pays it on the pay-out board; the ledger shows it paid. Another county's firm is a
403. No page raises a script error (the CSP forbids inline scripts). A server of its own runs over
a copy of the small province."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from shanhai.store import accounts, open_store

from browser_helpers import running_server, signed_in_page

pytestmark = pytest.mark.browser
PASSWORD = "browser-service-password-1"
COUNTY = "330681"
ITEM = "zhuji-digital-spend-2024"


@pytest.fixture(scope="module")
def service_server(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("browser_service") / "service.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        accounts.add_user(store, "bs-county", PASSWORD, "county", COUNTY, "诸暨经信局")
        far = store.con.execute("SELECT uscc FROM enterprises WHERE county_adcode LIKE '3301%' LIMIT 1").fetchone()[0]
    with running_server(path, "browser-service") as url:
        yield SimpleNamespace(url=url, far=far)


def test_an_officer_matches_confirms_and_pays(browser, service_server):
    url = service_server.url
    context, page, errors = signed_in_page(browser, url, "bs-county", PASSWORD, timeout_ms=60_000)
    try:

        page.goto(f"{url}/service")
        page.click("#service-run-match")
        page.wait_for_url("**/jobs/**")
        page.wait_for_selector("[data-job-link]:not([hidden])", state="visible", timeout=120_000)
        page.click("[data-job-link]")
        page.wait_for_url("**/service?run=**")
        assert page.locator(f"#service-summary-table tr[data-item='{ITEM}']").count() == 1
        page.click(f"#service-summary-table tr[data-item='{ITEM}'] a")
        page.wait_for_url(f"**/service/items/{ITEM}")
        row = page.locator("#service-results tbody tr").first
        uscc = row.get_attribute("data-uscc")
        assert uscc
        row.locator("button.sv-confirm").click()                  # 代申报 (on-application item)
        page.wait_for_url("**done=apply")
        page.goto(f"{url}/service/items/{ITEM}")
        page.locator(f"#service-results tr[data-uscc='{uscc}'] button.sv-confirm").click()   # 代确认
        page.wait_for_url("**done=confirm")

        panel = page.locator(f".sv-actions[data-item='{ITEM}']")
        panel.locator("form[action$='/notice'] input[name=on]").fill("2025-05-06")
        panel.locator("button.sv-notice").click()
        page.wait_for_url("**done=notice")
        panel = page.locator(f".sv-actions[data-item='{ITEM}']")
        panel.locator("form[action$='/approve'] input[name=on]").fill("2025-05-13")
        panel.locator("button.sv-approve").click()
        page.wait_for_url("**done=approve")
        panel = page.locator(f".sv-actions[data-item='{ITEM}']")
        panel.locator("form[action$='/pay'] input[name=on]").fill("2025-05-14")
        panel.locator("button.sv-pay").click()
        page.wait_for_url("**done=pay")
        ledger = page.locator(f"#service-ledger tr[data-uscc='{uscc}']")
        assert ledger.get_attribute("data-state") == "paid"
        assert "已兑现" in ledger.inner_text() and "2025-05-14" in ledger.inner_text()

        page.goto(f"{url}/service/firms/{uscc}")
        assert "已兑现" in page.locator(f"[data-item='{ITEM}']").inner_text()
        assert not errors, errors
        response = page.goto(f"{url}/service/firms/{service_server.far}")     # another county's firm
        assert response.status == 403
    finally:
        context.close()
