"""The zone ranking in a real browser: the county user's /zones draws the ranking chart, marks its
own zone and the bottom-N flags, the group picker narrows the page, and a click on its own zone
opens the zone's page, whose two charts draw and whose explanation adds up. No script errors (the
CSP forbids inline scripts: a violation would show up here)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.browser
COUNTY = "331127"


def _drawn(page, element_id: str) -> None:
    page.wait_for_selector(f"#{element_id}[data-rendered='1']", state="attached", timeout=60_000)


@pytest.fixture(scope="module")
def zone_runs(server):
    """zhejiang-2021 runs for the last two years, made through the server's own job runner."""
    from shanhai.jobs import zones as jz
    from shanhai.web.jobs import runner

    made: dict = {}

    def job(progress):
        made["runs"] = jz.evaluate_years(progress.store, "zhejiang-2021", [server.db.year - 1, server.db.year],
                                         user="browser-tests")

    done = runner().wait(runner().submit("zones", "zones", job, SimpleNamespace(user_id=0, username="tests")), 120)
    assert done.status == "done", done.error
    return made["runs"]


def test_the_ranking_and_a_zone(signed_in, server, zone_runs):
    page = signed_in("county")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server.url}/zones?method=zhejiang-2021")
    _drawn(page, "zones-chart")
    rows = page.locator("tr[data-zone]")
    assert rows.count() == zone_runs[-1]["zones"]
    assert page.locator("tr.zn-mine").count() == 1
    assert page.locator(f"tr.zn-mine[data-zone='Z{COUNTY}']").count() == 1
    assert page.locator(".zn-flag").count() == zone_runs[-1]["bottom"]
    assert page.locator(".zn-change").count() == zone_runs[-1]["zones"]
    # the chart drew one bar per zone (ECharts' own model, read in the page)
    bars = page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('zones-chart'))
                                  .getOption().series.reduce((n, s) => n + s.data.length, 0)""")
    assert bars == zone_runs[-1]["zones"]
    # the group picker submits itself and narrows the page
    with page.expect_navigation(url="**group=area%3Dsouthwest**"):
        page.select_option("select[name=group]", "area=southwest")
    _drawn(page, "zones-chart")
    assert page.locator("table.zones-table").count() == 1
    # the own zone links to its page; its charts draw and its points add up
    with page.expect_navigation(url=f"**/zones/Z{COUNTY}**"):
        page.click(f"tr[data-zone='Z{COUNTY}'] a")
    _drawn(page, "zone-groups-chart")
    _drawn(page, "zone-history-chart")
    assert page.locator("#zone-explanation tr[data-indicator]").count() == 13
    total = float(page.inner_text("#zone-total"))
    points = float(page.inner_text("#zone-points-total"))
    assert total == pytest.approx(points, abs=0.01)
    assert page.locator("#zone-history tbody tr").count() == 2
    assert not errors, errors
