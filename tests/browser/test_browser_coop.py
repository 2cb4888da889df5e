"""The 山海协作 screens in a real browser: the province user's /coop draws the map (the 26 coloured,
the rest grey) and the action plan's chart, a click on a mountain county on the map opens its
profile, whose target chart draws; the county user's enclaves page draws the returns chart. No
page raises a script error (the CSP forbids inline scripts: a violation would show up here)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def _drawn(page, element_id: str) -> None:
    page.wait_for_selector(f"#{element_id}[data-rendered='1']", state="attached", timeout=60_000)


def test_coop_map_chart_and_profile(signed_in, server):
    page = signed_in("province")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server.url}/coop")
    _drawn(page, "coop-progress-chart")
    _drawn(page, "county-map")
    assert page.locator("#counties-table tr[data-adcode]").count() == 26
    assert page.locator("#progress-table tr[data-target]").count() == 10
    # the metric switch redraws the map
    page.select_option("#metric-switch", "labour_productivity")
    _drawn(page, "county-map")
    # a click on 景宁, drawn by ECharts on a canvas: the chart's own click event, as a user's click fires it
    with page.expect_navigation(url="**/coop/counties/331127**"):
        page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('county-map'))
                                  .trigger('click', { name: '331127' })""")
    _drawn(page, "coop-targets-chart")
    assert "生态发展类（待核实）" in page.content()
    assert not errors, errors


def test_enclaves_chart_for_the_county_user(signed_in, server):
    page = signed_in("county")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/coop/enclaves")
    _drawn(page, "coop-returns-chart")
    assert page.locator("#enclaves-table tr[data-enclave]").count() == 10
    page.goto(f"{server.url}/coop/counties/331127")
    _drawn(page, "coop-targets-chart")
    # 万元/亩 and 万元/人 on one axis as shares of their own targets, the target the 100 % line
    option = page.evaluate("""() => { const o = echarts.getInstanceByDom(document.getElementById('coop-targets-chart'))
                                               .getOption(); return [o.yAxis[0].name, o.series.length,
                                               o.series[0].markLine.data[0].yAxis]; }""")
    assert option == ["占目标 %", 1, 100]
    assert page.locator("#chains tbody tr").count() >= 1
    assert not errors, errors
