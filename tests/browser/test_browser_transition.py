"""The ledger screen in a real browser: the province user's /transition draws the county balance
chart (allocated + available energy per county) with no script errors (the CSP forbids inline
scripts: a violation would show up here); the county user's page lists its own register only and
its allocation form refuses a project over the threshold with the reason."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_ledger_page(signed_in, server):
    page = signed_in("province")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server.url}/transition")
    page.wait_for_selector("#transition-chart[data-rendered='1']", state="attached", timeout=60_000)
    names = page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('transition-chart'))
                                   .getOption().yAxis[0].data""")
    assert names and len(names) == page.locator("#transition-balance tbody tr").count() - 1
    assert not errors, errors


@pytest.fixture(scope="module")
def county_project(server):
    """A project landing in the county user's county (written through the server's job runner)."""
    from types import SimpleNamespace

    from shanhai.web.jobs import runner

    def job(progress):
        progress.store.con.execute("INSERT INTO projects (project_id, name, landing_adcode, stage) "
                                   "VALUES ('TLBROWSER1', '腾笼换鸟浏览器测试项目', '331127', 'signed')")

    def undo(progress):
        progress.store.con.execute("DELETE FROM projects WHERE project_id = 'TLBROWSER1'")

    who = SimpleNamespace(user_id=0, username="tests")
    done = runner().wait(runner().submit("transition", "project", job, who), 60)
    assert done.status == "done", done.error
    yield "TLBROWSER1"
    runner().wait(runner().submit("transition", "project", undo, who), 60)


def test_a_county_allocation_refused(signed_in, server, county_project):
    page = signed_in("county")
    page.goto(f"{server.url}/transition")
    assert page.locator("#transition-allocate").count() == 1
    page.select_option("#transition-allocate select[name=project_id]", county_project)
    page.fill("#transition-allocate input[name=energy_tce]", "600")
    page.fill("#transition-allocate input[name=value_added]", "1000")
    page.fill("#transition-allocate input[name=on]", "2024-05-01")
    page.click("#transition-allocate button[type=submit]")
    page.wait_for_load_state()
    assert "0.52" in page.content()
