"""The per-mu briefing (``shanhai.reports.briefing``): the PDF's pages print (non-blank, Noto CJK
embedded, numbered), the Word and Excel versions hold the same sections and numbers, every
figure equals the stored run's, a county's briefing names none of another county's firms, and
the summary is written from the numbers: it changes when the data does."""

from __future__ import annotations

import copy
import io
import re
import shutil
import subprocess
from types import SimpleNamespace

import docx
import fastexcel
import pytest
from PIL import Image, ImageStat

from shanhai.errors import ShanhaiError
from shanhai.jobs import mujun
from shanhai.jobs import mujun_review as rv
from shanhai.reports import briefing
from shanhai.store import open_store

USCC = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")


@pytest.fixture(scope="module")
def env(small_db, tmp_path_factory):
    """The small province with zhejiang-2018 runs of 2022 and 2023; the county with most C/D firms,
    its city and another county of another city."""
    path = tmp_path_factory.mktemp("briefing") / "briefing.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        a = mujun.run(store, "zhejiang-2018", 2022).run_id
        b = mujun.run(store, "zhejiang-2018", 2023).run_id
        county, city = store.con.execute(
            f"SELECT county_adcode, city_adcode FROM mujun_results WHERE run_id = '{b}' "
            "AND \"class\" IN ('C', 'D') GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
        other = store.con.execute(
            f"SELECT county_adcode FROM mujun_results WHERE run_id = '{b}' AND city_adcode <> '{city}' "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]
        name = store.con.execute(f"SELECT name FROM regions WHERE adcode = '{county}'").fetchone()[0]
    return SimpleNamespace(path=path, a=a, b=b, county=county, city=city, other=other, name=name)


@pytest.fixture
def store(env):
    with open_store(env.path, read_only=True) as s:
        yield s


@pytest.fixture(scope="module")
def county_docs(env, tmp_path_factory):
    """The county's briefing in all three formats (rendered once for the module)."""
    folder = tmp_path_factory.mktemp("docs")
    out = {}
    with open_store(env.path, read_only=True) as store:
        for fmt in ("pdf", "docx", "xlsx"):
            data, name, media = briefing.render(store, env.b, env.county, fmt)
            path = folder / name
            path.write_bytes(data)
            out[fmt] = SimpleNamespace(path=path, data=data, name=name, media=media)
        out["briefing"] = briefing.build(store, env.b, env.county, charts=False)
    return out


def scalar(store, sql):
    return store.con.execute(sql).fetchone()[0]


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def docx_text(data: bytes) -> str:
    d = docx.Document(io.BytesIO(data))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts.extend(c.text for c in row.cells)
    for section in d.sections:
        parts.extend(p.text for p in section.header.paragraphs)
        parts.extend(p.text for p in section.footer.paragraphs)
    return "\n".join(parts)


def xlsx_text(path) -> str:
    reader = fastexcel.read_excel(str(path))
    parts = []
    for sheet in reader.sheet_names:
        for row in reader.load_sheet(sheet, header_row=None).to_arrow().to_pylist():
            parts.extend(str(v) for v in row.values() if v is not None)
    return "\n".join(parts)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def class_counts(store, run_id, county) -> dict[str, int]:
    return dict(store.con.execute(
        f"SELECT \"class\", count(*) FROM mujun_results WHERE run_id = '{run_id}' AND county_adcode = '{county}' "
        "GROUP BY 1").fetchall())


# ---- PDF -------------------------------------------------------------------------------------

def test_pdf_pages_print(county_docs, tmp_path):
    pdf = county_docs["pdf"]
    assert pdf.media == "application/pdf" and pdf.data[:5] == b"%PDF-"
    assert pdf.name.endswith(".pdf")
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf.path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) > 1
    for page in pages:
        with Image.open(page) as im:
            stat = ImageStat.Stat(im.convert("L"))
            assert stat.var[0] > 50, f"{page.name} looks blank (variance {stat.var[0]:.1f})"
            assert stat.mean[0] < 254
    text = pdf_text(pdf.path)
    numbers = re.findall(r"第\s*(\d+)\s*页\s*共\s*(\d+)\s*页", text)
    assert [int(n) for n, _ in numbers] == list(range(1, len(pages) + 1))
    assert {int(m) for _, m in numbers} == {len(pages)}


def test_pdf_embeds_the_cjk_fonts(county_docs):
    listing = subprocess.run(["pdffonts", str(county_docs["pdf"].path)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    cjk = [line for line in listing if "Noto" in line and "CJK" in line]
    assert cjk, listing
    for line in cjk:
        emb = line.split()[-5]
        assert emb == "yes", line                              # every Noto CJK face is embedded


def test_pdf_figures_are_the_stored_runs(county_docs, env, store):
    text = squeeze(pdf_text(county_docs["pdf"].path))
    assert env.name in text
    assert f"{env.name}2023年度工业企业亩均效益综合评价专报" in text
    counts = class_counts(store, env.b, env.county)
    evaluated = sum(n for c, n in counts.items() if c != "T")
    assert f"参评{evaluated:,}家" in text
    for c in "ABCD":
        assert f"{c}类（" in text and f"{counts.get(c, 0):,}家" in text
    tax, va, land = store.con.execute(
        f"SELECT tax_per_mu, value_added_per_mu, land_used_mu FROM mujun_rollups WHERE run_id = '{env.b}' "
        f"AND level = 'county' AND scope = 'all' AND key = '{env.county}'").fetchone()
    assert f"亩均税收{tax:,.2f}万元/亩" in text
    assert f"亩均增加值{va:,.2f}万元/亩" in text
    assert f"{land:,.2f}" in text
    fingerprint = scalar(store, f"SELECT inputs_fingerprint FROM runs WHERE run_id = '{env.b}'")
    assert env.b in text and fingerprint in text and "zhejiang-2018" in text and "2018.1" in text
    # the towns table: every town of the county with its stored 亩均税收
    towns = store.con.execute(
        f"SELECT label, tax_per_mu FROM mujun_rollups WHERE run_id = '{env.b}' AND level = 'town' AND scope = 'all' "
        f"AND key IN (SELECT adcode FROM regions WHERE parent_adcode = '{env.county}')").fetchall()
    assert towns
    for label, value in towns:
        assert label in text
        if value is not None:
            assert f"{value:,.2f}" in text


# ---- Word ------------------------------------------------------------------------------------

def test_docx_has_the_sections_tables_images_and_page_fields(county_docs, env, store):
    d = docx.Document(io.BytesIO(county_docs["docx"].data))
    assert county_docs["docx"].media.endswith("wordprocessingml.document")
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    for title in ("一、总体情况", "二、分类评价结果", "三、分地区情况", "四、分行业情况", "五、重点企业", "说明：方法与数据来源"):
        assert title in headings
    assert any(p.style.name == "Title" and env.name in p.text for p in d.paragraphs)
    assert len(d.inline_shapes) == 3                           # the class chart, the histogram, the map
    assert len(d.tables) >= 8
    footer = d.sections[0].footer._element.xml
    assert "PAGE" in footer and "NUMPAGES" in footer and "第 " in d.sections[0].footer.paragraphs[0].text
    b = county_docs["briefing"]
    paragraphs = [p.text for p in d.paragraphs]
    for sentence in b.summary:
        assert sentence in paragraphs
    # the class table: counts as stored
    counts = class_counts(store, env.b, env.county)
    table = next(t for t in d.tables if t.rows[0].cells[0].text == "类别")
    got = {row.cells[0].text: int(row.cells[2].text.replace(",", "")) for row in table.rows[1:-1]}
    assert got == {c: counts.get(c, 0) for c in "ABCD"}
    assert int(table.rows[-1].cells[2].text.replace(",", "")) == sum(n for c, n in counts.items() if c != "T")


def test_docx_in_english(env, store):
    data, name, _ = briefing.render(store, env.b, env.county, "docx", lang="en")
    text = docx_text(data)
    assert name == f"mujun-briefing-{env.county}-2023-en.docx"
    assert "1. Summary" in text and "Notes: method and sources" in text and "Page " in text
    assert "evaluated" in text and env.b in text
    assert "总体情况" not in text


# ---- Excel -----------------------------------------------------------------------------------

def test_xlsx_summary_and_tables(county_docs, env, store):
    reader = fastexcel.read_excel(str(county_docs["xlsx"].path))
    names = reader.sheet_names
    assert names[0] == "专报摘要" and "方法与来源" in names
    assert {"汇总", "企业明细", "基准值", "整改名单", "低效用地", "说明"} <= set(names)   # the county workbook's sheets
    rows = reader.load_sheet("专报摘要", header_row=None).to_arrow().to_pylist()
    cells = [v for row in rows for v in row.values() if v]
    b = county_docs["briefing"]
    assert cells[1] == b.title
    assert all(s in cells for s in b.summary)
    sheet = next(n for n in names if n.startswith("各类企业数量"))
    data = reader.load_sheet(sheet, header_row=1).to_arrow().to_pylist()
    counts = class_counts(store, env.b, env.county)
    assert {r["类别"]: int(r["企业数"]) for r in data if r["类别"] in tuple("ABCD")} == {c: counts.get(c, 0) for c in "ABCD"}
    full = next(n for n in names if "企业与B类的差距" in n)
    listed = [r for r in reader.load_sheet(full, header_row=1).to_arrow().to_pylist() if r.get("统一社会信用代码")]
    assert len(listed) == counts.get("C", 0) + counts.get("D", 0)       # every C/D firm, not just the printed 30


# ---- scope -----------------------------------------------------------------------------------

def test_a_county_briefing_names_only_its_own_firms(county_docs, env, store):
    texts = {"pdf": pdf_text(county_docs["pdf"].path), "docx": docx_text(county_docs["docx"].data),
             "xlsx": xlsx_text(county_docs["xlsx"].path)}
    # the county's firms: evaluated in the run, or holding one of its parcels in an inefficient status
    # (the workbook's 低效用地 sheet lists every such parcel of the county with its holder)
    own = {u: n for u, n in store.con.execute(
        f"SELECT uscc, name FROM mujun_results WHERE run_id = '{env.b}' AND county_adcode = '{env.county}' "
        f"UNION SELECT e.uscc, e.name FROM land_parcels p JOIN enterprises e ON e.uscc = p.holder_uscc "
        f"WHERE p.county_adcode = '{env.county}' AND e.county_adcode = '{env.county}'").fetchall()}
    others = store.con.execute(
        f"SELECT DISTINCT uscc, name FROM mujun_results WHERE run_id IN ('{env.a}', '{env.b}') "
        f"AND county_adcode <> '{env.county}'").fetchall()
    foreign_names = {n for _, n in others if n and not any(n in mine for mine in own.values())}
    for fmt, text in texts.items():
        found = set(USCC.findall(text))
        assert found, fmt                                       # firms are listed …
        assert found <= set(own), (fmt, sorted(found - set(own))[:5])   # … and only the county's
        flat = squeeze(text)
        leaked = [n for n in foreign_names if n in text or squeeze(n) in flat]
        assert not leaked, (fmt, leaked[:5])


def test_industry_figures_are_the_regions_roll_up(env, store):
    """The briefing's one-statement industry roll-up equals the analysis layer's, recomputed over
    the county's firms."""
    f = briefing.gather(store, env.b, env.county)
    reference = {r["key"]: r for r in rv.rollup(store, env.b, level="industry", scope="all", region=env.county).rows}
    assert {x["key"] for x in f["industries"]} == set(reference)
    for x in f["industries"]:
        r = reference[x["key"]]
        assert x["firms"] == r["firms"]
        assert x["tax_per_mu"] == pytest.approx(r["tax_per_mu"], rel=1e-9, abs=1e-9)
        assert x["va_per_mu"] == pytest.approx(r["value_added_per_mu"], rel=1e-9, abs=1e-9)
        assert {c: n for c, n in x["classes"].items() if n} == {c: n for c, n in r["classes"].items() if n}


def test_a_city_briefing_stays_in_the_city(env, store):
    f = briefing.gather(store, env.b, env.city)
    assert f["region"]["level"] == "city" and f["sub_level"] == "county"
    counties = {r[0] for r in store.con.execute(
        f"SELECT adcode FROM regions WHERE level = 'county' AND city_adcode = '{env.city}'").fetchall()}
    assert {x["key"] for x in f["subs"]} <= counties
    assert set(f["map_values"]) <= counties
    assert {x["uscc"] for x in f["remediation_rows"] + f["top_firms"] + f["bottom_firms"]} <= {
        u for (u,) in store.con.execute(f"SELECT uscc FROM mujun_results WHERE run_id = '{env.b}' "
                                        f"AND city_adcode = '{env.city}'").fetchall()}
    total = scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{env.b}' AND city_adcode = '{env.city}'")
    assert f["firms"] == total


# ---- the summary is written from the numbers -------------------------------------------------

def test_summary_states_the_stored_figures(env, store):
    f = briefing.gather(store, env.b, env.county)
    text = "".join(briefing.sentences(f))
    prev_counts = class_counts(store, env.a, env.county)
    counts = class_counts(store, env.b, env.county)
    assert f["previous"]["run_id"] == env.a
    for c in "ABCD":
        before, now = prev_counts.get(c, 0), counts.get(c, 0)
        if now > before:
            assert f"{c}类增加{now - before}家（{before}→{now}）" in text
        elif now < before:
            assert f"{c}类减少{before - now}家（{before}→{now}）" in text
        else:
            assert f"{c}类持平（{now}家）" in text
    cmp = rv.compare(store, env.a, env.b, env.county)
    order = "ABCD"
    up = sum(n for a, row in cmp.matrix.items() for b, n in row.items()
             if a in order and b in order and order.index(b) < order.index(a))
    down = sum(n for a, row in cmp.matrix.items() for b, n in row.items()
               if a in order and b in order and order.index(b) > order.index(a))
    assert f"{up}家类别上升、{down}家下降" in text
    land_d = scalar(store, f"SELECT sum(land_used_mu) FROM mujun_results WHERE run_id = '{env.b}' "
                           f"AND county_adcode = '{env.county}' AND \"class\" = 'D'")
    if land_d:
        assert f"占用土地{land_d:,.2f}亩" in text
    tax, prev = store.con.execute(
        f"SELECT tax_per_mu, prev_tax_per_mu FROM mujun_rollups WHERE run_id = '{env.b}' AND level = 'county' "
        f"AND scope = 'all' AND key = '{env.county}'").fetchone()
    word = "提高" if tax > prev else "下降"
    assert f"亩均税收比上年{word}{abs(tax / prev - 1) * 100:.1f}%（上年{prev:,.2f}万元/亩）" in text


def test_summary_differs_between_regions_and_years(env, store):
    here = briefing.sentences(briefing.gather(store, env.b, env.county))
    there = briefing.sentences(briefing.gather(store, env.b, env.other))
    before = briefing.sentences(briefing.gather(store, env.a, env.county))
    assert here != there and here != before
    assert not set(here) & set(there)                           # not one sentence shared


def test_summary_follows_the_facts():
    """Sentences appear, disappear and turn with the facts they state."""
    base = {
        "run": {"year": 2023, "policy_name": "P", "policy_name_en": "P"}, "region": {"name": "甲县", "level": "county"},
        "sub_level": "town", "order": list("ABCD"), "firms": 10, "evaluated": 10, "excluded": 0,
        "class_labels": dict(zip("ABCDT", ["优", "提", "调", "倒", "不参评"])),
        "class_labels_en": dict(zip("ABCDT", "abcdt")),
        "classes": [{"code": c, "firms": n, "share": n / 10, "change": None, "prev_firms": None}
                    for c, n in zip("ABCD", (2, 6, 1, 1))],
        "headline": {"all": {"land_mu": 100.0, "tax_wan": 1000.0, "tax_per_mu": 10.0, "va_per_mu": 50.0,
                             "tax_growth": 0.1, "prev_tax_per_mu": 9.09}, "above_scale": None},
        "sub_movement": None, "county_movement": None, "previous": None,
        "worst": {"code": "D", "firms": 1, "land_mu": 20.0, "land_share": 0.2, "tax_share": 0.05,
                  "tax_per_mu": 2.5, "tax_per_mu_all": 10.0},
        "industry_top": None, "industry_bottom": None, "industry_largest": None, "targets": [],
        "remediation": {"classes": ["C", "D"], "target": "B", "firms": 2, "mean_gap": 5.0, "extra_tax_wan": 30.0,
                        "extra_firms": 2},
        "surcharge": {"firms": 0, "yuan": 0.0},
    }
    zh = briefing.sentences(base)
    text = "".join(zh)
    assert "亩均税收比上年提高10.0%" in text
    assert "没有甲县2022年度同一评价办法的评价批次" in text
    assert "占用土地20.00亩" in text and "为参评企业整体水平（10.00万元/亩）的25.0%" in text
    assert "目标对照" not in text and "无差别化电价加收" in text
    worse = copy.deepcopy(base)
    worse["headline"]["all"]["tax_growth"] = -0.031
    worse["worst"]["firms"] = 0
    worse["surcharge"] = {"firms": 3, "yuan": 123_400.0}
    worse["targets"] = [{"target_id": "t", "label": "亩均税收 25", "name": "甲县", "indicator": "tax_per_mu",
                         "key": "1", "actual": 20.0, "target": 25.0, "gap": 5.0, "achieved": 0.8}]
    zh2 = briefing.sentences(worse)
    text2 = "".join(zh2)
    assert "亩均税收比上年下降3.1%" in zh2[1] and "提高" not in zh2[1]
    assert "本年度甲县无D类企业" in text2 and "占用土地" not in text2
    assert "预计加收电费12.34万元，涉及3家企业" in text2
    assert "距“亩均税收 25”尚差5.00万元/亩（完成80.0%）" in text2
    en = "".join(briefing.sentences(worse, "en"))
    assert "down 3.1% on a year earlier" in en and "5.00 short of" in en


def test_summary_changes_when_the_data_changes(env, tmp_path):
    """Cut the county's 2023 tax to a quarter and evaluate the county again: the briefing of the
    new run reports a fall. (The county-only run also shows a run's scope is enforced.)"""
    path = tmp_path / "changed.duckdb"
    shutil.copy(env.path, path)
    with open_store(path) as store:
        before = briefing.sentences(briefing.gather(store, env.b, env.county))
        store.con.execute(f"UPDATE enterprise_years SET tax_paid = tax_paid / 4 WHERE year = 2023 AND uscc IN "
                          f"(SELECT uscc FROM enterprises WHERE county_adcode = '{env.county}')")
        run = mujun.run(store, "zhejiang-2018", 2023, region=env.county).run_id
        f = briefing.gather(store, run, env.county)
        after = briefing.sentences(f)
        # a run of one county: another county is outside it; no region means the run's own county
        with pytest.raises(ShanhaiError, match="outside"):
            briefing.gather(store, run, env.other)
        assert briefing.gather(store, run, None)["region"]["adcode"] == env.county
        with pytest.raises(ShanhaiError, match="--format"):
            briefing.render(store, run, env.county, "odt")
        with pytest.raises(ShanhaiError, match="--lang"):
            briefing.render(store, run, env.county, "docx", lang="fr")
    assert f["previous"]["run_id"] == env.a                  # the province's 2022 run covers the county
    assert before != after
    assert "亩均税收比上年提高" in before[1] or "亩均税收比上年下降" in before[1]
    assert "亩均税收比上年下降" in after[1]
    assert f["headline"]["all"]["tax_growth"] < 0
