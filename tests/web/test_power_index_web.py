"""``/indices`` and ``/api/v1/indices…``: before any run the page says so (and offers writers the
button); a writer's run is computed in the background and audited; the page, the API and the
workbook then show only cells of regions inside the caller's scope. Own copy of the small
province, since these tests write."""

from __future__ import annotations

import io
import re
import shutil
from types import SimpleNamespace

import fastexcel
import pytest
from fastapi.testclient import TestClient

from shanhai.store import accounts, open_store
from shanhai.web.app import app_routes, create_app
from web_helpers import PASSWORD, csrf_of, make_client, sign_in

ROLES = {"admin": "330000", "province": "330000", "city": "331100", "county": "331127", "viewer": "331127"}
COUNTY, CITY = "331127", "331100"


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("indices_web") / "indices.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        for role, region in ROLES.items():
            accounts.add_user(store, f"pi-{role}", PASSWORD, role, region, f"指数{role}")
        names = dict(store.con.execute("SELECT adcode, name FROM regions WHERE level IN ('city', 'county')").fetchall())
    app = create_app(path, secret_key="indices-tests")
    with TestClient(app):
        clients = {}
        for i, role in enumerate(ROLES):
            client = make_client(app, f"10.52.0.{i + 1}")
            assert sign_in(client, f"pi-{role}").status_code == 303
            client.csrf = csrf_of(client, "/jobs")
            clients[role] = client
        yield SimpleNamespace(app=app, clients=clients, path=path, names=names)


def _con(world):
    """A cursor on the app's own connection (the app owns the database file)."""
    return world.app.state.store.con.cursor()


def _run(world, role: str, region: str) -> str:
    client = world.clients[role]
    res = client.post("/indices/run", data={"region": region, "month": "", "csrf_token": client.csrf},
                      follow_redirects=False)
    assert res.status_code == 303, res.text
    job_id = res.headers["location"].rsplit("/", 1)[1]
    world.app.state.jobs.wait(job_id)
    return job_id


def test_routes_and_nav(world):
    paths = {r.path for r in app_routes(world.app)}
    assert {"/indices", "/indices/run", "/indices/export.xlsx", "/api/v1/indices", "/api/v1/indices/series",
            "/api/v1/indices/runs"} <= paths
    assert (45, "/indices", "电力指数", "Power indices", None) in world.app.state.nav


def test_before_any_run_the_page_says_so(world):
    body = world.clients["county"].get("/indices").text
    assert 'id="indices-missing"' in body
    panel = body[body.index('id="indices-missing"'):].split("</div>")[0]
    assert "尚无覆盖该地区的电力指数计算批次" in panel and "no electricity index run" not in panel  # no English on the Chinese page
    assert "no electricity index run" in world.clients["county"].get("/indices?lang=en").text
    assert 'id="indices-run"' in body                         # a county writer may compute its own
    assert 'id="indices-run"' not in world.clients["viewer"].get("/indices").text
    assert world.clients["county"].get("/api/v1/indices").status_code == 404


def test_viewer_cannot_start_a_run_and_nobody_outside_their_region(world):
    viewer = world.clients["viewer"]
    res = viewer.post("/indices/run", data={"region": COUNTY, "csrf_token": viewer.csrf}, follow_redirects=False)
    assert res.status_code == 403
    county = world.clients["county"]
    res = county.post("/indices/run", data={"region": "330102", "csrf_token": county.csrf}, follow_redirects=False)
    assert res.status_code == 403


def test_run_then_every_role_sees_its_own_cells_only(world):
    _run(world, "province", "330000")
    audited = _con(world).execute("SELECT count(*) FROM audit_log WHERE action = 'run.power_index'").fetchone()[0]
    assert audited == 1
    for role, region in ROLES.items():
        client = world.clients[role]
        page = client.get("/indices")
        assert page.status_code == 200 and 'id="indices-chart"' in page.text and 'id="indices-groups"' in page.text
        for kind in ("production", "chain"):
            for by in ("group", "region"):
                doc = client.get("/api/v1/indices", params={"kind": kind, "by": by}).json()
                seen = {r["adcode"] for r in doc["rows"]} | ({doc["total"]["adcode"]} if doc["total"] else set())
                if region == "330000":
                    continue
                assert all(a[:4] == region[:4] for a in seen), (role, kind, by, seen)
                if role in ("county", "viewer"):
                    assert seen <= {COUNTY}
        if role in ("county", "viewer"):
            assert client.get("/api/v1/indices", params={"region": CITY}).status_code == 403
            assert client.get("/indices", params={"region": "330102"}).status_code == 403
            other_counties = [n for a, n in world.names.items() if a.startswith("3311") and a != COUNTY]
            text = page.text
            assert not any(f">{n}<" in text for n in other_counties)
            if role == "county":             # no lower level: a sentence, not an empty table marked 无数据
                assert 'id="indices-no-subregions"' in text


def test_series_and_periods(world):
    client = world.clients["city"]
    doc = client.get("/api/v1/indices/series", params={"region": CITY}).json()
    assert len(doc["rows"]) == 13 and doc["region"]["adcode"] == CITY
    periods = [r["period"] for r in doc["rows"]]
    assert periods == sorted(periods)
    runs = client.get("/api/v1/indices/runs").json()
    assert runs and runs[0]["region"] == "330000"
    first = doc["rows"][0]["period"][:7]
    page = client.get("/indices", params={"period": first, "kind": "chain"})
    assert page.status_code == 200 and first in page.text
    assert client.get("/indices", params={"period": "1999-01"}).status_code == 404


def test_export_is_scoped_and_audited(world):
    res = world.clients["county"].get("/indices/export.xlsx")
    assert res.status_code == 200
    reader = fastexcel.read_excel(io.BytesIO(res.content).getvalue())
    assert reader.sheet_names == ["行业", "地区", "产业链", "月度", "说明"]
    text = "\n".join(str(v) for name in reader.sheet_names
                     for col in reader.load_sheet(name, header_row=None, dtypes="string").to_arrow().columns
                     for v in col.to_pylist() if v)
    others = [n for a, n in world.names.items() if a.startswith("3311") and a != COUNTY]
    assert world.names[COUNTY] in text and not any(n in text for n in others)
    assert re.search(r"power-\d{6}-", text)                   # the run is named in 说明
    n = _con(world).execute("SELECT count(*) FROM audit_log WHERE action = 'export' "
                            f"AND target = 'indices:{COUNTY}'").fetchone()[0]
    assert n == 1


# ---- the monthly briefing (/monthly) ---------------------------------------------------------

def test_monthly_page_and_documents(world):
    for role in ROLES:
        page = world.clients[role].get("/monthly")
        assert page.status_code == 200 and 'id="monthly-summary"' in page.text, role
    res = world.clients["county"].get("/monthly/briefing", params={"fmt": "pdf"})
    assert res.status_code == 200 and res.content[:4] == b"%PDF"
    res = world.clients["city"].get("/monthly/briefing", params={"fmt": "docx", "lang": "en"})
    assert res.status_code == 200 and res.content[:2] == b"PK"
    n = _con(world).execute("SELECT count(*) FROM audit_log WHERE action = 'export' "
                            "AND target LIKE 'monthly:%'").fetchone()[0]
    assert n == 2
    assert world.clients["county"].get("/monthly", params={"region": CITY}).status_code == 403
    assert world.clients["county"].get("/monthly/briefing", params={"region": "330102"}).status_code == 403
    assert world.clients["county"].get("/monthly", params={"month": "1999-01"}).status_code == 404


def test_monthly_page_of_a_county_names_no_other_county(world):
    text = world.clients["county"].get("/monthly").text
    others = [n for a, n in world.names.items() if a.startswith("3311") and a != COUNTY]
    assert not any(n in text for n in others)


def test_monthly_api_is_the_page_in_json_and_scoped(world):
    doc = world.clients["county"].get("/api/v1/monthly").json()
    assert doc["facts"]["region"]["adcode"] == COUNTY and doc["sentences"]
    assert doc["facts"]["indices"]["total"]["adcode"] == COUNTY
    assert world.clients["county"].get("/api/v1/monthly", params={"region": CITY}).status_code == 403
    en = world.clients["city"].get("/api/v1/monthly", params={"lang": "en"}).json()
    assert en["facts"]["region"]["adcode"] == CITY and "composite index" in " ".join(en["sentences"])

