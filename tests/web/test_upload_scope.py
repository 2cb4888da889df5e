"""Region scope holds for writes: a county user's upload at ``/data/import`` loads the rows of its
own county and rejects those of any other county — each with its row, column and region on the
summary page and in the rejects workbook — and nothing of them reaches the database.

The shared database must not change for the other tests: the one row written is an expired
record (2001) of a 景宁 firm, and the firms of other counties are only ever refused."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from shanhai.store.connection import Store


def xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/") and n.endswith(".xml"))


@pytest.fixture(scope="module")
def store(app):
    cur = app.state.store.con.cursor()
    yield Store(app.state.db_path, cur, False)
    cur.close()


def upload(app, client, kind: str, name: str, text: str):
    r = client.post("/data/import", data={"kind": kind, "csrf_token": client.csrf},
                    files={"file": (name, text.encode("utf-8"), "text/csv")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    job = app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=60)
    assert job.status == "done", job.error
    return job


def flags_of(store, uscc: str) -> list[tuple]:
    return store.con.execute(f"SELECT flag, valid_from FROM enterprise_flags WHERE uscc = '{uscc}' "
                             "AND valid_from = DATE '2001-01-01'").fetchall()


def test_a_county_users_upload_rejects_the_other_countys_rows(app, clients, web_db, store):
    c = clients["county"]                                   # 景宁 331127
    mine, near, far = web_db.firm_in[0], web_db.firm_near[0], web_db.firm_far[0]
    csv = ("统一社会信用代码,企业名称,资质或记录,起始日期,有效期至\n"
           f"{mine},{web_db.firm_in[1]},科技型中小企业,2001-01-01,2001-12-31\n"
           f"{near},{web_db.firm_near[1]},科技型中小企业,2001-01-01,2001-12-31\n"
           f"{far},{web_db.firm_far[1]},科技型中小企业,2001-01-01,2001-12-31\n")
    job = upload(app, c, "enterprise-flags", "资质混合.csv", csv)
    assert "其中 2 行不在您的数据范围内" in job.message
    page = c.get(job.url)
    assert page.status_code == 200 and 'id="scope-rejects"' in page.text
    assert "数据范围" in page.text and "331127 景宁畲族自治县" in page.text
    for row, firm, county in ((3, near, web_db.near_county), (4, far, web_db.far_county)):
        assert f"第{row}行 统一社会信用代码 {firm}: 该企业属于 {county}" in page.text
    assert f"第2行 统一社会信用代码 {mine}" not in page.text
    workbook = xlsx_text(c.get(job.url + "/rejects").content)
    assert "不在您的数据范围 331127 景宁畲族自治县内" in workbook and far in workbook and mine not in workbook
    # the county's own row loaded; the others are absent from the database
    assert flags_of(store, mine) == [("tech_sme", dt.date(2001, 1, 1))]
    assert flags_of(store, near) == [] and flags_of(store, far) == []


def test_a_county_user_cannot_rename_another_countys_firm(app, clients, web_db, store):
    c = clients["county"]
    far = web_db.firm_far[0]
    before = store.con.execute(f"SELECT * FROM enterprises WHERE uscc = '{far}'").fetchall()
    mine = store.con.execute("SELECT uscc, name, county_adcode, industry_code FROM enterprises "
                             f"WHERE uscc = '{web_db.firm_in[0]}'").fetchone()
    history = store.con.execute("SELECT count(*) FROM change_history").fetchone()[0]
    csv = ("统一社会信用代码,企业名称,县(市、区),行业代码\n"
           f"{','.join(mine)}\n"                                    # unchanged
           f"{far},被改名的企业,{web_db.county},{before[0][5]}\n")    # moved into 景宁 and renamed
    job = upload(app, c, "enterprises", "名录.csv", csv)
    page = c.get(job.url).text
    assert f"第3行 统一社会信用代码 {far}: 数据库中已有的记录: 该企业属于 {web_db.far_county}" in page
    assert store.con.execute(f"SELECT * FROM enterprises WHERE uscc = '{far}'").fetchall() == before
    assert store.con.execute("SELECT count(*) FROM change_history").fetchone()[0] == history
