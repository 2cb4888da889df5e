"""The briefing's charts (``shanhai.reports.charts``): PNG at print resolution, Chinese set in
Noto Sans CJK, the map drawn from the county GeoJSON with its legend, the highlighted county in
the accent colour."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageStat

from shanhai import reference
from shanhai.reports import charts


def image(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    im = Image.open(io.BytesIO(data))
    im.load()
    return im.convert("RGB")


def colours(im: Image.Image, share: float = 0.001) -> set[tuple[int, int, int]]:
    """The colours covering at least ``share`` of the image (anti-aliased edges left out)."""
    least = im.width * im.height * share
    return {c for n, c in im.getcolors(maxcolors=1 << 22) if n >= least}


def test_the_cjk_font_is_found():
    found = charts.font_file()
    if found is None:
        pytest.skip("fonts-noto-cjk is not installed")
    path, index = found
    assert "CJK" in path and index >= 0
    f = charts.font(30)
    assert "CJK" in " ".join(f.getname())
    # a Chinese glyph is drawn, not a missing-glyph box: two different characters differ
    a = Image.new("L", (60, 60), 255)
    b = Image.new("L", (60, 60), 255)
    from PIL import ImageDraw
    ImageDraw.Draw(a).text((5, 5), "亩", font=f, fill=0)
    ImageDraw.Draw(b).text((5, 5), "税", font=f, fill=0)
    assert a.tobytes() != b.tobytes()


def test_ticks_and_breaks():
    assert charts.nice_ticks(87) == [0, 20, 40, 60, 80, 100]
    assert charts.nice_ticks(0) == [0.0, 1.0]
    cuts = charts.breaks([float(x) for x in range(1, 101)], 5)
    assert cuts == sorted(set(cuts)) and len(cuts) == 4 and 1 < cuts[0] < cuts[-1] < 100
    assert charts.breaks([5.0]) == []
    assert charts.breaks([3.0, 3.0, 3.0]) == []                 # one value: one class


def test_province_choropleth():
    feats = reference.geojson()["features"]
    values = {f["properties"]["adcode"]: float(i) for i, f in enumerate(feats)}
    values[feats[0]["properties"]["adcode"]] = None
    im = image(charts.choropleth(feats, values, title="浙江省 亩均税收", legend_title="万元/亩"))
    assert im.width == charts.WIDTH and im.height > 800
    got = colours(im, 0.0002)
    for c in charts.SEQUENTIAL:                                 # all five classes and the no-data grey
        assert c in got
    assert charts.NO_DATA in got
    assert ImageStat.Stat(im.convert("L")).var[0] > 100
    assert Image.open(io.BytesIO(charts.choropleth(feats, values, title="t", legend_title="l"))).info["dpi"][0] == \
        pytest.approx(charts.DPI, abs=1)


def test_county_map_highlights_one_county_and_shows_no_figures():
    feats = reference.geojson()["features"]
    im = image(charts.choropleth(feats, {}, title="某县的位置", legend_title="某县", highlight={"330109"},
                                 emphasis={"330102", "330109"}))
    got = colours(im)
    assert charts.HIGHLIGHT in got
    assert not any(c in got for c in charts.SEQUENTIAL)         # no other county is coloured by a figure


def test_city_map_draws_only_its_counties():
    feats = reference.geojson()["features"]
    city = {f["properties"]["adcode"] for f in feats if f["properties"]["city_adcode"] == "330200"}
    whole = image(charts.choropleth(feats, dict.fromkeys(city, 10.0), title="t", legend_title="l"))
    only = image(charts.choropleth(feats, dict.fromkeys(city, 10.0), title="t", legend_title="l", draw_only=city))
    assert charts.NO_DATA in colours(whole) and charts.NO_DATA not in colours(only)
    with pytest.raises(ValueError):
        charts.choropleth(feats, {}, title="t", legend_title="l", draw_only={"000000"})


def test_label_point_is_inside_the_county_bounds():
    feats = {f["properties"]["adcode"]: f for f in reference.geojson()["features"]}
    geometry = feats["330109"]["geometry"]
    lon, lat = charts.label_point(geometry)
    ring = charts._outer_rings(geometry)[0]
    assert min(p[0] for p in ring) < lon < max(p[0] for p in ring)
    assert min(p[1] for p in ring) < lat < max(p[1] for p in ring)


def test_bar_charts():
    im = image(charts.class_share_chart(list("ABCD"), [("2023年", [20, 60, 15, 5]), ("2022年", [18, 62, None, 5])],
                                        title="各类企业占比", class_labels=["A 优先", "B 提升", "C 调控", "D 倒逼"]))
    assert im.width == charts.WIDTH
    got = colours(im)
    assert charts.SERIES[0] in got and charts.SERIES[1] in got            # one colour per series, as the legend
    one = colours(image(charts.class_share_chart(list("ABCD"), [("2023年", [20, 60, 15, 5])], title="占比")))
    assert all(charts.CLASS_COLOURS[c] in one for c in "ABCD")             # one series: the class colours
    hist = image(charts.band_histogram(["<5", "5–10", "≥10"], [("A", [0, 1, 5]), ("D", [4, 0, 0])], title="分档",
                                       x_title="万元/亩", y_title="家"))
    got = colours(hist)
    assert charts.CLASS_COLOURS["A"] in got and charts.CLASS_COLOURS["D"] in got
    empty = image(charts.band_histogram(["<5"], [("A", [0])], title="空", x_title="x", y_title="y"))
    assert empty.width == charts.WIDTH
