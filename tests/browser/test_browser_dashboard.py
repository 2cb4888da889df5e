"""The dashboard in a real browser: each role signs in, sees the province map with all 90 counties
drawn, drills down, downloads an export and a briefing PDF, and cannot reach another county's firm.
"""

from __future__ import annotations

import subprocess

import pytest

pytestmark = pytest.mark.browser

COUNTIES = 90


def _map_drawn(page) -> None:
    """The county choropleth finished rendering (ECharts' `finished` event sets data-rendered)."""
    page.wait_for_selector("#county-map[data-rendered='1']", state="attached", timeout=60_000)


@pytest.mark.parametrize("role", ["admin", "province", "city", "county", "viewer"])
def test_overview_map_draws_every_county(signed_in, server, role):
    page = signed_in(role)
    page.goto(f"{server.url}/")
    _map_drawn(page)
    drawn = page.eval_on_selector("#county-map", "el => el.dataset.counties")
    assert int(drawn) == COUNTIES
    # the chart really drew something: a canvas of non-zero size exists in the map container
    size = page.eval_on_selector("#county-map canvas", "c => [c.width, c.height]")
    assert size[0] > 100 and size[1] > 100
    # the colour legend is shown when more than one county has data: not on a county user's map
    legend = page.eval_on_selector("#county-map", "el => echarts.getInstanceByDom(el).getOption().visualMap[0].show")
    assert legend == (role not in ("county", "viewer"))
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.reload()
    _map_drawn(page)
    assert errors == []


def test_drill_down_province_to_enterprise(signed_in, server):
    page = signed_in("province")
    page.goto(f"{server.url}/")
    _map_drawn(page)
    # province → city → county → town → enterprise list, following the drill table's first link
    seen = [page.url]
    for _ in range(4):
        link = page.locator("#drill-table a").first
        if link.count() == 0:
            break
        link.click()
        page.wait_for_load_state("networkidle")
        seen.append(page.url)
    assert len(set(seen)) >= 4, seen
    assert page.locator("a[href*='/enterprises/']").count() > 0, "the drill-down ends at an enterprise list"
    page.locator("a[href*='/enterprises/']").first.click()
    page.wait_for_load_state("networkidle")
    assert "/enterprises/" in page.url
    assert page.locator("h1").first.inner_text().strip()


def test_county_user_downloads_export_and_briefing(signed_in, server, tmp_path):
    page = signed_in("county")
    page.goto(f"{server.url}/mujun/runs/{server.db.run_id}")
    with page.expect_download() as got:
        page.click("#export-county")
    xlsx = tmp_path / "export.xlsx"
    got.value.save_as(xlsx)
    assert xlsx.read_bytes()[:2] == b"PK"
    import fastexcel

    reader = fastexcel.read_excel(str(xlsx))
    text = " ".join(str(v) for name in reader.sheet_names
                    for col in reader.load_sheet_by_name(name, header_row=None).to_arrow().columns
                    for v in col.to_pylist() if v is not None)
    assert server.db.firm_far[0] not in text          # no firm of another county in the county's export

    page.select_option("#briefing-format", "pdf") if page.locator("#briefing-format").count() else None
    with page.expect_download(timeout=120_000) as got:
        page.click("#briefing")
    pdf = tmp_path / "briefing.pdf"
    got.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "page")],
                   check=True)
    from PIL import Image, ImageStat

    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    for png in pages:
        stat = ImageStat.Stat(Image.open(png).convert("L"))
        assert stat.stddev[0] > 5, f"{png.name} is blank"
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert server.db.firm_far[1] not in text


def test_county_user_cannot_reach_another_countys_firm(signed_in, server):
    page = signed_in("county")
    uscc, name, _ = server.db.firm_far
    response = page.goto(f"{server.url}/mujun/runs/{server.db.run_id}/enterprises/{uscc}")
    assert response.status in (403, 404)
    assert name not in page.content()
    # its own firm opens
    own = page.goto(f"{server.url}/mujun/runs/{server.db.run_id}/enterprises/{server.db.firm_in[0]}")
    assert own.status == 200
    assert server.db.firm_in[1] in page.content()
