"""The service desk in a real browser (issue 12): a county officer issues a firm its portal link;
the firm (not signed in) submits a request through the portal form; the officer finds it in the
queue with its clock, accepts, assigns, answers and closes it through the forms, and the request
page shows the closed-on-time clock and the history; the portal shows the closed request. The
county officer cannot see another county's requests, lists or pipeline (pages, API, export). No
page raises a script error. A server of its own runs over a copy of the small province."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from types import SimpleNamespace

import pytest

from shanhai.jobs import service_lists as jl
from shanhai.jobs import service_pipeline as jp
from shanhai.jobs import service_requests as jr
from shanhai.store import accounts, open_store
from shanhai.store.scope import Scope

from browser_helpers import running_server, signed_in_page, watch

pytestmark = pytest.mark.browser
PASSWORD = "browser-desk-password-1"


@pytest.fixture(scope="module")
def desk_server(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("browser_desk") / "desk.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        for sql in ("DELETE FROM service_request_events", "DELETE FROM service_requests",
                    "DELETE FROM listing_milestones", "DELETE FROM listing_pipeline"):
            store.con.execute(sql)
        county = store.con.execute("SELECT county_adcode FROM enterprises GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                                   ).fetchone()[0]
        firm = store.con.execute(f"SELECT uscc, name FROM enterprises WHERE county_adcode = '{county}' "
                                 "AND status = 'active' ORDER BY uscc LIMIT 1").fetchone()
        other = store.con.execute(f"SELECT uscc, name FROM enterprises WHERE substr(county_adcode, 1, 4) <> "
                                  f"'{county[:4]}' AND status = 'active' ORDER BY uscc LIMIT 1").fetchone()
        p = Scope.province()
        other_req = jr.submit(store, p, uscc=other[0], title="外县诉求", user="tests")["request_id"]
        jl.build(store, "quzhou-2019", user="tests")
        jp.enrol(store, p, other[0])
        jp.run(store, user="tests")
        accounts.add_user(store, "bd-county", PASSWORD, "county", county, "服务县用户")
    with running_server(path, "browser-desk") as url:
        yield SimpleNamespace(url=url, county=county, firm=firm, other=other, other_req=other_req)


def test_a_request_from_portal_intake_to_closed(browser, desk_server):
    url, (uscc, name) = desk_server.url, desk_server.firm
    officer, page, errors = signed_in_page(browser, url, "bd-county", PASSWORD)
    firm_ctx = browser.new_context(locale="zh-CN")
    try:
        # the officer issues the firm its access link (QR code drawn server-side)
        page.goto(f"{url}/service/firm/{uscc}")
        page.click("#issue-link button[type=submit]")
        page.wait_for_selector("#new-link-url")
        assert page.locator(".sd-qr svg").count() == 1
        link = page.locator("#new-link-url").inner_text().strip()
        token = re.search(r"/e/([A-Za-z0-9_-]+)$", link).group(1)
        # the firm submits a request through the portal form, without signing in
        fp = firm_ctx.new_page()
        watch(fp, errors)
        fp.goto(f"{url}/e/{token}")
        assert name in fp.content()
        fp.fill("#portal-form input[name=title]", "浏览器门户诉求")
        fp.select_option("#portal-form select[name=category]", "finance")
        fp.click("#portal-form button[type=submit]")
        fp.wait_for_selector("#done")
        assert "浏览器门户诉求" in fp.content()
        # the officer's queue shows it with its clock
        page.goto(f"{url}/service/requests")
        row = page.locator("#requests-table tr", has_text="浏览器门户诉求")
        assert row.count() == 1 and row.locator("[data-clock]").count() == 1
        row.locator("a").first.click()
        page.wait_for_selector("#request-clock")
        for act in ("accept", "assign", "answer"):
            page.click(f"#act-{act} button[type=submit]")
            page.wait_for_selector("#done")
        page.select_option("#act-close select[name=solved]", "yes")
        page.click("#act-close button[type=submit]")
        page.wait_for_selector("#done")
        assert page.locator('#request-clock [data-clock="closed_on_time"]').count() == 1
        history = page.locator("#events-table").inner_text()
        for label in ("提交", "受理", "交办", "答复", "办结"):
            assert label in history
        fp.goto(f"{url}/e/{token}")
        assert fp.locator('#portal-requests-table [data-clock="closed_on_time"]').count() == 1
    finally:
        officer.close()
        firm_ctx.close()
    assert not errors, errors


def test_a_county_officer_cannot_see_another_county(browser, desk_server):
    url = desk_server.url
    ctx, page, _ = signed_in_page(browser, url, "bd-county", PASSWORD)
    try:
        other_uscc, other_name = desk_server.other
        for path in ("/service/requests?status=all", "/service/lists", "/service/lists?kind=struggling",
                     "/service/pipeline"):
            page.goto(url + path)
            text = page.content()
            assert other_uscc not in text and other_name not in text, path
        r = page.request.get(f"{url}/service/requests/{desk_server.other_req}")
        assert r.status == 403
        for api in ("/api/v1/service/requests?status=all", "/api/v1/service/lists", "/api/v1/service/pipeline"):
            body = page.request.get(url + api).text()
            assert other_uscc not in body, api
        for export in ("/service/requests/export.xlsx?status=all", "/service/pipeline/export.xlsx"):
            r = page.request.get(url + export)
            assert r.status == 200
            with zipfile.ZipFile(io.BytesIO(r.body())) as z:
                xml = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
            assert "sharedStrings" in " ".join(zipfile.ZipFile(io.BytesIO(r.body())).namelist())
            assert other_uscc not in xml and other_name not in xml, export
        assert page.request.get(f"{url}/service/firm/{other_uscc}").status == 403
    finally:
        ctx.close()
