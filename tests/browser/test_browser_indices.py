"""The electricity indices end to end in a real browser: before any run the county writer sees the
missing-run notice, computes a run with the button (a background job), comes back to a drawn
monthly chart and its tables, drills into an industry, and the monthly briefing's page then shows
the same composite index. No script errors (the CSP forbids inline scripts)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_compute_draw_drill_and_brief(signed_in, server):
    page = signed_in("county")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server.url}/indices")
    if page.locator("#indices-missing").count():
        with page.expect_navigation(url=re.compile(r".*/jobs/.*")):
            page.click("#indices-run button[type=submit]")
        page.wait_for_selector("#job[data-status='done']", state="attached", timeout=120_000)
        with page.expect_navigation(url=re.compile(r".*/indices\?.*run=power-.*")):
            page.click("[data-job-link]")
    page.wait_for_selector("#indices-chart[data-rendered='1']", state="attached", timeout=60_000)
    periods = int(page.eval_on_selector("#indices-chart", "el => el.dataset.points"))
    assert periods == 13
    drawn = page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('indices-chart'))
                                  .getOption().series.map(s => s.data.length)""")
    assert drawn == [13, 13, 13, 13]
    composite = page.locator("#indices-summary .sh-card .v").first.inner_text()
    assert re.fullmatch(r"\d+\.\d", composite), composite
    # drill into the first industry: the chart redraws for that division
    first = page.locator("#indices-groups tbody tr a").first
    name = first.inner_text()
    with page.expect_navigation(url=re.compile(r".*group=\d\d.*")):
        first.click()
    page.wait_for_selector("#indices-chart[data-rendered='1']", state="attached", timeout=60_000)
    assert name in page.locator("h2", has_text="月度走势").inner_text()
    # the monthly briefing states the same composite index for the county and its month
    page.goto(f"{server.url}/monthly")
    summary = page.locator("#monthly-summary").inner_text()
    assert "运行指数" in summary
    assert not errors, errors
