"""The cultivation screens in a real browser: the province user's /cultivation lists the pools per
county, the region select narrows it to a county (autosubmit, no inline script), the candidate list
shows what each firm misses and leads to the firm's explanation; the county user sees only its own
county. No page raises a script error."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_pools_candidates_and_firm(signed_in, server):
    page = signed_in("province")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server.url}/cultivation")
    assert page.locator("#cultivation-counties tr[data-county]").count() > 20
    assert page.locator("#cultivation-totals tr[data-rule-set='scale-up-2011']").count() == 1
    with page.expect_navigation(url="**region=331100**"):
        page.select_option("select[name=region]", "331100")
    counties = page.locator("#cultivation-counties tr[data-county]")
    assert counties.count() >= 1 and all(c.startswith("3311") for c in
                                         counties.evaluate_all("rows => rows.map(r => r.dataset.county)"))
    page.locator("#cultivation-totals tr[data-rule-set='innovative-2022'] a").click()
    page.wait_for_selector("#cultivation-candidates tr[data-uscc]")
    first = page.locator("#cultivation-candidates tr[data-uscc]").first
    uscc = first.get_attribute("data-uscc")
    first.locator("a").first.click()
    page.wait_for_url(f"**/cultivation/firms/{uscc}")
    assert page.locator("[data-rule-set='scale-up-2011'] tbody tr").count() >= 3
    assert not errors, errors


def test_the_county_user_sees_its_own_county(signed_in, server):
    page = signed_in("county")
    page.goto(f"{server.url}/cultivation")
    rows = page.locator("#cultivation-counties tr[data-county]")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.county)") == ["331127"]
