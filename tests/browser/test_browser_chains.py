"""The industrial-chain screens in a real browser: the mountain county's user opens the panorama of
a chain, the ECharts diagram draws (canvas, `finished`, one node per segment), a click on a node
loads that segment's firm list, and the attraction target list exports as a workbook that opens
and keeps firms outside the county masked."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

MASKED = "（范围外企业）"


def _diagram_drawn(page) -> None:
    page.wait_for_selector("#chain-diagram[data-rendered='1']", state="attached", timeout=60_000)


def _first_chain_with_firms(page, server) -> tuple[str, str]:
    """From the chain list: the first chain whose panorama has a segment with firms in the county."""
    response = page.request.get(f"{server.url}/api/v1/chains")
    assert response.ok
    chains = response.json()["chains"]
    chains.sort(key=lambda c: -c["firms"])
    assert chains[0]["firms"] > 0, "the county has no chain member firm"
    best = chains[0]
    pan = page.request.get(f"{server.url}/api/v1/chains/{best['chain_id']}").json()
    segment = max(pan["segments"], key=lambda s: s["firms"])
    return best["chain_id"], segment["segment_id"]


def test_mountain_county_panorama_draws_and_targets_export(signed_in, server, tmp_path):
    page = signed_in("county")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # the chain list: the county's chains with their statuses and health
    page.goto(f"{server.url}/chains")
    assert page.locator("#chains-table tr[data-chain]").count() >= 1
    chain_id, segment_id = _first_chain_with_firms(page, server)

    # the panorama draws its chain diagram
    page.goto(f"{server.url}/chains/{chain_id}")
    _diagram_drawn(page)
    size = page.eval_on_selector("#chain-diagram canvas", "c => [c.width, c.height]")
    assert size[0] > 100 and size[1] > 100
    nodes = int(page.eval_on_selector("#chain-diagram", "el => el.dataset.nodes"))
    segments = page.locator("#segments-table tr[data-segment]").count()
    assert nodes == segments > 0
    # every segment node is in the chart's series (the drawn graph, not only the page data)
    drawn = page.eval_on_selector(
        "#chain-diagram",
        "el => echarts.getInstanceByDom(el).getOption().series[0].data.filter(n => n.segment).length")
    assert drawn == segments

    # clicking the node of a segment with firms loads its firm list below the diagram (scrolled
    # into view first: a mouse click lands only inside the viewport)
    page.locator("#chain-diagram").scroll_into_view_if_needed()
    point = page.eval_on_selector(
        "#chain-diagram",
        """(el, id) => {
             const chart = echarts.getInstanceByDom(el);
             const data = chart.getOption().series[0].data;
             const node = data.find(n => n.segment === id);
             return chart.convertToPixel({seriesIndex: 0}, [node.x, node.y]);
           }""",
        segment_id)
    box = page.locator("#chain-diagram").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_selector(f"#segment-firms[data-loaded='{segment_id}']", state="attached", timeout=30_000)
    assert page.locator("#segment-firms-table tbody tr").count() >= 1
    assert page.eval_on_selector("#segment-firms-body", "el => el.dataset.segment") == segment_id

    # the targets for the weak and missing segments, exported as a workbook
    page.goto(f"{server.url}/chains/targets?chain={chain_id}")
    if page.locator("#targets-table").count() == 0:       # this chain has nothing to fill: every chain
        page.goto(f"{server.url}/chains/targets")
    assert page.locator("#targets-table tbody tr").count() >= 1
    with page.expect_download() as got:
        page.click("#targets-export")
    xlsx = tmp_path / "targets.xlsx"
    got.value.save_as(xlsx)
    assert xlsx.read_bytes()[:2] == b"PK"
    import fastexcel

    reader = fastexcel.read_excel(str(xlsx))
    assert reader.sheet_names == ["招商目标", "说明"]
    rows = reader.load_sheet_by_name("招商目标", header_row=1).to_arrow().to_pylist()
    targets = [r for r in rows if r.get("目标环节")]
    assert targets
    county_name = page.request.get(f"{server.url}/api/v1/chains/risk").json()["region"]["name"]
    for r in targets:
        if r["所在县(市、区)"] != county_name:
            assert r["企业名称"] == MASKED and not r["统一社会信用代码"]
    notes = reader.load_sheet_by_name("说明", header_row=0).to_arrow().to_pylist()
    basis = page.request.get(f"{server.url}/api/v1/chains/targets").json()["basis"]
    assert any(basis["data_fingerprint"] in str(n["内容"]) for n in notes)
    firm_far = server.db.firm_far
    text = " ".join(str(v) for r in rows for v in r.values() if v is not None)
    assert firm_far[0] not in text and firm_far[1] not in text
    assert errors == []


def test_county_opportunities_scatter_draws(signed_in, server):
    page = signed_in("county")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/opportunities")
    page.wait_for_selector("#opportunity-chart[data-rendered='1']", state="attached", timeout=60_000)
    assert int(page.eval_on_selector("#opportunity-chart", "el => el.dataset.points")) > 0
    assert page.locator("#develop-table tbody tr").count() >= 1
    assert errors == []
