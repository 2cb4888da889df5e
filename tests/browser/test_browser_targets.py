"""The targets board in a real browser: the province user's /targets draws the composite-index
chart, lists red, amber and green targets with progress bars against 序时进度, and a click on an
indicator opens its drill-down, whose monthly chart with the forecast band draws; the county
user's board lists only 景宁 and its zone. No page raises a script error (the CSP forbids inline
scripts: a violation would show up here)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def _drawn(page, element_id: str) -> None:
    page.wait_for_selector(f"#{element_id}[data-rendered='1']", state="attached", timeout=60_000)


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def test_targets_board_and_drill_down(signed_in, server):
    page = signed_in("province")
    errors = _watch(page)
    page.goto(f"{server.url}/targets?group=mountain26")
    _drawn(page, "targets-index-chart")
    assert page.locator("#index-table tr[data-adcode]").count() == 26
    lights = {page.locator(f"#targets-table tr[data-light='{l}']").count() for l in ("red", "amber", "green")}
    assert 0 not in lights
    assert page.locator("#targets-table .tg-bar").count() > 0
    assert "83.33%" in page.locator("#calendar-progress").inner_text()
    with page.expect_navigation(url="**/targets/indicators/industrial_va**"):
        page.locator("#targets-matrix thead a[href^='/targets/indicators/industrial_va']").first.click()
    _drawn(page, "indicator-chart")
    chart = page.evaluate("""() => {
        const c = echarts.getInstanceByDom(document.getElementById('indicator-chart'));
        return c.getOption().series.map(s => s.name); }""")
    assert "年末预计" in chart and "预计区间" in chart
    assert page.locator("#forecast-methods tbody tr").count() == 2
    assert not errors, errors


def test_county_board_is_scoped(signed_in, server):
    page = signed_in("county")
    errors = _watch(page)
    page.goto(f"{server.url}/targets")
    _drawn(page, "targets-index-chart")
    entities = page.eval_on_selector_all("#targets-matrix tr[data-entity]", "rows => rows.map(r => r.dataset.entity)")
    assert entities and all(e == "331127" or e.startswith("zone:") for e in entities)
    assert page.locator("#index-table tr[data-adcode]").count() == 1
    page.goto(f"{server.url}/targets/indicators/mfg_investment")
    _drawn(page, "indicator-chart")
    assert not errors, errors
