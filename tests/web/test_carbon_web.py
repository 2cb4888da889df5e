"""``/carbon`` and ``/api/v1/carbon`` (web.routers.carbon): the page for every role with the map
and chart data limited to the caller's region; the firm badge page for its own region only (403
elsewhere, 404 unknown) with a what-if; the JSON API; the audited, scoped workbook; grading is
refused to narrow users."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

ROLES = ("admin", "province", "city", "county", "viewer")


@pytest.fixture(scope="module")
def store(app):
    from shanhai.store.connection import Store

    cur = app.state.store.con.cursor()
    yield Store(app.state.db_path, cur, False)
    cur.close()


@pytest.fixture(scope="module")
def carbon_run(app, web_db, clients):
    """A carbon run of the latest year made through the server's job runner."""
    from shanhai.jobs import carbon as jc

    made: dict = {}

    def job(progress):
        made["run"] = jc.run(progress.store, year=web_db.year, user="walk")

    done = app.state.jobs.wait(app.state.jobs.submit("carbon", "carbon", job, web_db.users["admin"]), 120)
    assert done.status == "done", done.error
    return made["run"]


def block(html: str, name: str) -> dict:
    m = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', html, re.S)
    assert m, f"no {name} on the page"
    return json.loads(m.group(1))


@pytest.mark.parametrize("role", ROLES)
def test_the_page_renders_for_every_role_inside_its_region(clients, carbon_run, web_db, store, role):
    r = clients[role].get(f"/carbon?run={carbon_run['run_id']}")
    assert r.status_code == 200, r.text[:400]
    assert 'id="carbon-basis"' in r.text and carbon_run["run_id"] in r.text
    counties = {c["adcode"] for c in block(r.text, "carbon-map-data")["counties"]}
    assert counties, "the map has no county"
    if role == "city":
        assert all(a.startswith(web_db.city[:4]) for a in counties)
    if role in ("county", "viewer"):
        assert counties == {web_db.county}
        # no firm of another county in the firm table
        firms = set(re.findall(r'/carbon/firms/([0-9A-Z]{18})', r.text))
        if firms:
            got = {u for (u,) in store.con.execute(
                f"SELECT uscc FROM enterprises WHERE county_adcode = '{web_db.county}'").fetchall()}
            assert firms <= got


def test_firm_page_badge_history_and_what_if(clients, carbon_run, store, web_db):
    uscc = store.con.execute(
        f"SELECT uscc FROM carbon_grades WHERE run_id = '{carbon_run['run_id']}' AND county_adcode = '{web_db.county}' "
        "AND grade IS NOT NULL ORDER BY uscc LIMIT 1").fetchone()[0]
    r = clients["county"].get(f"/carbon/firms/{uscc}?run={carbon_run['run_id']}")
    assert r.status_code == 200 and 'id="carbon-badge"' in r.text and "级" in r.text
    assert block(r.text, "carbon-history-data")["years"] == [web_db.year]
    w = clients["county"].get(f"/carbon/firms/{uscc}?run={carbon_run['run_id']}&grid_series=mee_nbs_fossil")
    assert w.status_code == 200 and 'id="carbon-whatif-table"' in w.text and "mee_nbs_fossil" in w.text
    api = clients["county"].get(f"/api/v1/carbon/firms/{uscc}/what-if?grid_series=mee_nbs_fossil").json()
    assert api["what_if"]["result"]["co2_t"] > api["base"]["result"]["co2_t"]


def test_run_settings_read_as_words(clients, carbon_run, store, web_db):
    """The run's settings (grid factor series and geography, industry average, zero-carbon deduction) are named
    in words on the page, the firm page and its what-if table — not mee_nbs_average/national, ratio_of_sums, True."""
    from typing import get_args

    from shanhai.policy._carbon import GEOGRAPHIES, Industry
    from shanhai.web.routers import carbon as rc
    from test_words_not_codes import visible_texts

    assert set(rc.GRID_SERIES_LABELS) == set(rc._series()) and set(rc.GRID_GEOGRAPHY_LABELS) == set(GEOGRAPHIES)
    assert set(rc.AGGREGATION_LABELS) == set(get_args(Industry.model_fields["aggregation"].annotation))
    c = clients["county"]
    uscc = store.con.execute(
        f"SELECT uscc FROM carbon_grades WHERE run_id = '{carbon_run['run_id']}' AND county_adcode = '{web_db.county}' "
        "AND grade IS NOT NULL ORDER BY uscc LIMIT 1").fetchone()[0]
    for url in (f"/carbon?run={carbon_run['run_id']}", f"/carbon/firms/{uscc}?run={carbon_run['run_id']}",
                f"/carbon/firms/{uscc}?run={carbon_run['run_id']}&grid_series=mee_nbs_fossil&aggregation=mean_of_ratios"):
        text = "\n".join(visible_texts(c.get(url).text))
        for code in ("mee_nbs_", "ratio_of_sums", "mean_of_ratios", "national", "True", "False"):
            assert code not in text, (url, code)
        assert "零碳电力扣减" in text and ("总量比" in text or "企业强度平均" in text), url


def test_firm_outside_the_region_is_refused(clients, carbon_run, store, web_db):
    other = store.con.execute(
        f"SELECT uscc FROM carbon_grades WHERE run_id = '{carbon_run['run_id']}' AND county_adcode <> '{web_db.county}' "
        "LIMIT 1").fetchone()[0]
    assert clients["county"].get(f"/carbon/firms/{other}").status_code == 403
    assert clients["county"].get(f"/api/v1/carbon/firms/{other}").status_code == 403
    assert clients["province"].get("/carbon/firms/91330000MA00000000").status_code == 404


def test_api_grades_and_share_are_scoped(clients, carbon_run, web_db):
    g = clients["county"].get(f"/api/v1/carbon/grades?run={carbon_run['run_id']}&limit=100000").json()
    assert g["firms"] and {f["county_adcode"] for f in g["firms"]} == {web_db.county}
    s = clients["county"].get(f"/api/v1/carbon/share?run={carbon_run['run_id']}").json()
    assert {r["adcode"] for r in s["rows"]} == {web_db.county} and s["target"] == 0.55
    p = clients["province"].get(f"/api/v1/carbon/share?run={carbon_run['run_id']}").json()
    assert "330000" in {r["adcode"] for r in p["rows"]}


def test_the_workbook_is_scoped_and_audited(clients, carbon_run, store, web_db):
    before = store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0]
    r = clients["county"].get(f"/carbon/export.xlsx?run={carbon_run['run_id']}")
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        text = "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xml"))
    others = [u for (u,) in store.con.execute(
        f"SELECT uscc FROM carbon_grades WHERE run_id = '{carbon_run['run_id']}' AND county_adcode <> '{web_db.county}'").fetchall()]
    assert not any(u in text for u in others[:500])
    after = store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0]
    assert after == before + 1


def test_grading_is_for_province_users_only(clients, carbon_run):
    r = clients["city"].post("/carbon/grade", data={"csrf_token": clients["city"].csrf, "year": ""})
    assert r.status_code == 403


def test_the_per_mu_enterprise_page_carries_the_carbon_badge(clients, carbon_run, web_db, store):
    """The firm's 碳效码 sits beside its per-mu class and links to its carbon page."""
    uscc, grade, level = store.con.execute(
        f"SELECT g.uscc, g.grade, g.level FROM carbon_grades g JOIN mujun_scores s ON s.uscc = g.uscc "
        f"AND s.run_id = '{web_db.province_run}' WHERE g.run_id = '{carbon_run['run_id']}' AND g.year = {web_db.year} "
        f"AND g.county_adcode = '{web_db.county}' AND g.grade IS NOT NULL ORDER BY g.uscc LIMIT 1").fetchone()
    page = clients["county"].get(f"/mujun/runs/{web_db.province_run}/enterprises/{uscc}").text
    assert 'id="carbon-badge"' in page and f'href="/carbon/firms/{uscc}"' in page
    assert f"{grade}级" in page
