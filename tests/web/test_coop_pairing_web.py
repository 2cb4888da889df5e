"""一企一县 pairing over the web (TestClient, one signed-in client per role from conftest.py): the
planner, planning as a background job (write roles only, options checked before the job is
queued), the plan page and its JSON (the caller's counties only, firms outside the caller's
region masked), the infeasible plan explained, the workbook (masked, audited)."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile

import pytest

from shanhai.jobs import pairing as jp
from shanhai.store.scope import Scope

ROLES = ("admin", "province", "city", "county", "viewer")
QUZHOU = "330800"            # a city of mountain counties only, outside 丽水


@pytest.fixture(scope="module")
def store(app):
    from shanhai.store.connection import Store

    cur = app.state.store.con.cursor()
    yield Store(app.state.db_path, cur, False)
    cur.close()


def _plan(app, client, **form) -> str:
    """Plan through the page's form; the plan id the finished job links to."""
    data = {"csrf_token": client.csrf, "per_county_min": 1, "per_county_max": 2, "max_counties": 2, **form}
    r = client.post("/coop/pairing", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    job_id = r.headers["location"].rsplit("/", 1)[-1]
    job = app.state.jobs.wait(job_id, timeout=120)
    assert job.status == "done", job.error
    assert job.url and job.url.startswith("/coop/pairing/pairing-")
    return job.url.rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def plans(app, clients, web_db):
    return {
        "province": _plan(app, clients["province"]),
        "quzhou": _plan(app, clients["province"], region=QUZHOU, distinct_industries="1", within_city="first"),
        "lishui": _plan(app, clients["city"], region=web_db.city, within_city="bonus"),
        "strict": _plan(app, clients["admin"], strict="1"),
        "jingning": _plan(app, clients["county"]),
    }


def outside(store, scope_code: str) -> tuple[set[str], set[str]]:
    """USCCs and names of the firms outside a county or a city."""
    col = "e.county_adcode" if scope_code[4:] != "00" else "r.city_adcode"
    rows = store.con.execute(f"SELECT e.uscc, e.name FROM enterprises e JOIN regions r ON r.adcode = e.county_adcode "
                             f"WHERE {col} <> '{scope_code}'").fetchall()
    inside = {n for (n,) in store.con.execute(
        f"SELECT e.name FROM enterprises e JOIN regions r ON r.adcode = e.county_adcode WHERE {col} = '{scope_code}'"
    ).fetchall()}
    return {u for u, _ in rows}, {n for _, n in rows if n not in inside}


def chart(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="pairing-chart-data">(.*?)</script>', html, re.S)
    assert m, "no chart data on the plan page"
    return json.loads(m.group(1))


@pytest.mark.parametrize("role", ROLES)
def test_the_planner_renders_for_every_role(clients, plans, role):
    r = clients[role].get("/coop/pairing")
    assert r.status_code == 200
    assert "一企一县结对规划" in r.text
    assert ('id="pairing-form"' in r.text) == (role != "viewer")
    if role in ("admin", "province"):
        assert all(plan_id in r.text for plan_id in plans.values())
    if role in ("county", "viewer"):
        assert plans["quzhou"] not in r.text and plans["province"] in r.text


def test_the_province_plan(clients, plans, store):
    r = clients["province"].get(f"/coop/pairing/{plans['province']}")
    assert r.status_code == 200
    assert 'data-status="optimal"' in r.text and "各县结对企业" in r.text
    doc = jp.plan_of(store, Scope.province(), plans["province"])
    assert f"{doc['objective']:,.2f}" in r.text
    data = chart(r.text)
    assert data["counties"] == [c["name"] for c in doc["counties"] if c["pairs"]]
    totals = [sum(s["data"][i] for s in data["series"]) for i in range(len(data["counties"]))]
    assert totals == pytest.approx([c["score"] for c in doc["counties"] if c["pairs"]], abs=0.1)
    for p in doc["pairs"][:5]:
        assert p["name"] in r.text and p["reasons"][0].split(" +")[0] in r.text
    en = clients["province"].get(f"/coop/pairing/{plans['province']}?lang=en")
    clients["province"].get("/coop/pairing?lang=zh")          # the switch is a cookie: back to Chinese
    assert "Firms per county" in en.text
    assert doc["pairs"][0]["reasons_en"][0].split(" +")[0] in html.unescape(en.text)


def test_the_city_sees_its_counties_with_outside_firms_masked(clients, plans, store, web_db):
    r = clients["city"].get(f"/coop/pairing/{plans['province']}")
    assert r.status_code == 200
    doc = jp.plan_of(store, Scope.province(), plans["province"])
    for c in doc["counties"]:
        assert (f'id="county-{c["adcode"]}"' in r.text) == c["adcode"].startswith("3311")
    usccs, names = outside(store, web_db.city)
    assert not any(u in r.text for u in usccs)
    assert not any(n in r.text for n in names)
    assert "（范围外企业）" in r.text
    api = clients["city"].get(f"/api/v1/coop/pairing/{plans['province']}").json()
    assert api["counties"] and all(c["adcode"].startswith("3311") for c in api["counties"])
    assert all(p["masked"] and p["uscc"] is None for c in api["counties"] for p in c["pairs"]
               if not p["firm_county_adcode"].startswith("3311"))
    assert api["objective"] == doc["objective"] and not api["complete"]


def test_the_county_sees_why_it_is_not_paired(clients, plans, web_db):
    r = clients["county"].get(f"/coop/pairing/{plans['province']}")
    assert r.status_code == 200
    assert f'id="county-{web_db.county}"' in r.text and r.text.count('id="county-') == 1
    assert "与现有产业链均不匹配" in r.text
    mine = clients["county"].get(f"/api/v1/coop/pairing/{plans['jingning']}").json()
    assert mine["status"] == "infeasible" and mine["problems"][0]["kind"] == "no_counties"


@pytest.mark.parametrize("role", ["city", "county", "viewer"])
def test_a_plan_outside_the_region_is_403_and_unknown_404(clients, plans, role):
    c = clients[role]
    for path in (f"/coop/pairing/{plans['quzhou']}", f"/coop/pairing/{plans['quzhou']}/export.xlsx",
                 f"/api/v1/coop/pairing/{plans['quzhou']}"):
        assert c.get(path).status_code == 403, path
    assert c.get("/coop/pairing/pairing-19990101T000000-000000").status_code == 404
    assert c.get("/api/v1/coop/pairing/pairing-19990101T000000-000000").status_code == 404
    listed = {p["run_id"] for p in c.get("/api/v1/coop/pairing").json()}
    assert plans["quzhou"] not in listed and plans["province"] in listed


def test_the_rules_of_a_plan_hold(clients, plans):
    doc = clients["province"].get(f"/api/v1/coop/pairing/{plans['quzhou']}").json()
    assert doc["status"] == "optimal" and doc["options"]["within_city_first"] == "first"
    assert doc["options"]["distinct_industries"] is True
    assert doc["summary"]["within_city_pairs"] == doc["summary"]["within_city_max"]
    use: dict[str, int] = {}
    for c in doc["counties"]:
        if c["included"]:
            assert 1 <= len(c["pairs"]) <= 2
            assert len({p["division"] for p in c["pairs"]}) == len(c["pairs"])
        for p in c["pairs"]:
            use[p["uscc"]] = use.get(p["uscc"], 0) + 1
            assert p["score"] == pytest.approx(sum(p["points"].values()), abs=1e-6)
    assert use and max(use.values()) <= 2
    bonus = clients["province"].get(f"/api/v1/coop/pairing/{plans['lishui']}").json()
    assert all(("within_city" in p["points"]) == p["same_city"] for c in bonus["counties"] for p in c["pairs"])


def test_an_infeasible_plan_is_explained(clients, plans):
    r = clients["province"].get(f"/coop/pairing/{plans['strict']}")
    assert r.status_code == 200
    assert 'id="pairing-problems"' in r.text and 'data-kind="no_candidates"' in r.text
    assert "景宁畲族自治县：没有任何可选企业" in r.text
    en = clients["province"].get(f"/coop/pairing/{plans['strict']}?lang=en")
    clients["province"].get("/coop/pairing?lang=zh")
    assert "The constraints cannot be met" in en.text and "no candidate firm at all" in en.text


def test_the_workbook_is_masked_and_audited(clients, plans, store, web_db):
    before = store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0]
    r = clients["city"].get(f"/coop/pairing/{plans['province']}/export.xlsx")
    assert r.status_code == 200 and r.content[:4] == b"PK\x03\x04"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        text = "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xml"))
    assert "结对方案" in text and "县域汇总" in text
    usccs, names = outside(store, web_db.city)
    assert not any(u in text for u in usccs) and not any(n in text for n in names)
    after = store.con.execute("SELECT count(*), max_by(detail, seq) FROM audit_log WHERE action = 'export'"
                              ).fetchone()
    assert after[0] == before + 1 and "pairing_plan" in after[1]


def test_planning_needs_a_write_role_and_valid_options(app, clients, web_db):
    viewer = clients["viewer"]
    r = viewer.post("/coop/pairing", data={"csrf_token": viewer.csrf}, follow_redirects=False)
    assert r.status_code == 403
    city = clients["city"]
    for form, status in (({"per_county_min": 3, "per_county_max": 2}, 400),
                         ({"max_counties": 0}, 400),
                         ({"within_city": "sometimes"}, 400),
                         ({"rules": "nosuch"}, 400),
                         ({"region": QUZHOU}, 403),
                         ({"year": "1999"}, 400)):
        r = city.post("/coop/pairing", data={"csrf_token": city.csrf, **form}, follow_redirects=False)
        assert r.status_code == status, (form, r.status_code)
    province = clients["province"]
    r = province.post("/coop/pairing", data={"csrf_token": province.csrf, "region": "330200"},
                      follow_redirects=False)                           # 宁波: no mountain county
    assert r.status_code == 400
    r = province.post("/api/v1/coop/pairing", data={"region": web_db.county}, headers={"X-CSRF-Token": province.csrf})
    assert r.status_code == 202 and r.json()["url"].startswith("/jobs/")
    job = app.state.jobs.wait(r.json()["job_id"], timeout=120)
    assert job.status == "done" and job.url.startswith("/coop/pairing/")
    r = province.post("/api/v1/coop/pairing", data={"per_county_min": 5, "per_county_max": 1},
                      headers={"X-CSRF-Token": province.csrf})
    assert r.status_code == 400 and "detail_zh" in r.json()
