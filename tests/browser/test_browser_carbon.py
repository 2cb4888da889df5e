"""The carbon screens in a real browser: the county user's /carbon draws the county map (its own
county only coloured), the industry chart with the 0.6 line and the grade chart; a firm link
opens the badge page, whose history chart draws and whose what-if form answers. No script errors
(the CSP forbids inline scripts: a violation would show up here)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.browser
COUNTY = "331127"


def _drawn(page, element_id: str) -> None:
    page.wait_for_selector(f"#{element_id}[data-rendered='1']", state="attached", timeout=60_000)


@pytest.fixture(scope="module")
def carbon_run(server):
    from shanhai.jobs import carbon as jc
    from shanhai.web.jobs import runner

    made: dict = {}

    def job(progress):
        made["run"] = jc.run(progress.store, year=server.db.year, user="browser-tests")

    done = runner().wait(runner().submit("carbon", "carbon", job, SimpleNamespace(user_id=0, username="tests")), 120)
    assert done.status == "done", done.error
    return made["run"]


def test_the_carbon_page_and_a_firm(signed_in, server, carbon_run):
    page = signed_in("county")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server.url}/carbon?run={carbon_run['run_id']}")
    for chart in ("carbon-map", "carbon-industries", "carbon-grades"):
        _drawn(page, chart)
    coloured = page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('carbon-map'))
                                      .getOption().series[0].data.filter(d => !isNaN(d.value)).map(d => d.name)""")
    assert coloured == [COUNTY]
    line = page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('carbon-industries'))
                                  .getOption().series[0].markLine.data[0].xAxis""")
    assert line == 0.6
    page.select_option("#carbon-metric", "share")
    links = page.locator("#carbon-firms a")
    assert links.count() > 0
    with page.expect_navigation(url="**/carbon/firms/**"):
        links.first.click()
    _drawn(page, "carbon-history")
    assert page.locator("#carbon-badge").count() == 1
    page.select_option("select[name=grid_series]", "mee_nbs_fossil")
    with page.expect_navigation(url="**grid_series=mee_nbs_fossil**"):
        page.click("#carbon-whatif button[type=submit]")
    assert page.locator("#carbon-whatif-table tbody tr").count() == 2
    assert not errors, errors
