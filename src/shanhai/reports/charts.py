"""Charts for the briefings, drawn with Pillow into PNG at print resolution (one renderer for the
PDF and the Word versions): the county choropleth, a class-share bar chart and a per-mu band
histogram. Text is set in Noto Sans CJK (found through fontconfig), so Chinese labels print.

Every function takes plain numbers and labels and returns PNG bytes; nothing here reads the
store, so a chart shows exactly the figures the caller put in its tables.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from functools import cache

from PIL import Image, ImageDraw, ImageFont

DPI = 300
WIDTH = 1800                      # 15.2 cm at 300 dpi: the text width of an A4 page with 2.5 cm margins
INK = (38, 38, 38)
GRID = (215, 215, 215)
MUTED = (120, 120, 120)
NO_DATA = (222, 222, 222)
BACKGROUND = (255, 255, 255)
HIGHLIGHT = (200, 40, 40)
# ColorBrewer YlGnBu (5 classes), light to dark
SEQUENTIAL = [(255, 255, 204), (161, 218, 180), (65, 182, 196), (44, 127, 184), (37, 52, 148)]
CLASS_COLOURS = {"A": (46, 139, 87), "B": (52, 120, 190), "C": (240, 160, 40), "D": (200, 50, 50),
                 "E": (128, 60, 150), "F": (90, 90, 90), "T": (170, 170, 170)}
SERIES = [(37, 52, 148), (170, 170, 170), (65, 182, 196), (240, 160, 40)]
FONT_FAMILY = "Noto Sans CJK SC"
_FALLBACK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")


# ---- fonts -----------------------------------------------------------------------------------

@cache
def font_file(bold: bool = False) -> tuple[str, int] | None:
    """(path, face index) of Noto Sans CJK SC from fontconfig, or None when it is not installed."""
    pattern = FONT_FAMILY + (":bold" if bold else "")
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(["fc-match", pattern, "--format=%{file}\t%{index}\t%{family}"],
                                 capture_output=True, text=True, timeout=10).stdout
            path, index, family = (out.split("\t") + ["", "", ""])[:3]
            if path and "CJK" in family:
                return path, int(index or 0)
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    for path in _FALLBACK_FONTS[1:] if bold else _FALLBACK_FONTS[:1]:
        try:
            ImageFont.truetype(path, 10, index=2)
            return path, 2
        except OSError:
            continue
    return None


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    found = font_file(bold) or font_file(False)
    if found is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(found[0], size, index=found[1])


def _text_size(draw: ImageDraw.ImageDraw, text: str, f) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=f)
    return right - left, bottom - top


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(DPI, DPI), optimize=False, compress_level=6)
    return buf.getvalue()


# ---- numbers on axes -------------------------------------------------------------------------

def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 and round steps up to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def _tick_label(v: float, percent: bool = False) -> str:
    if percent:
        return f"{v:.0f}%"
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.1f}"


def breaks(values: Iterable[float], k: int = 5) -> list[float]:
    """Up to ``k`` classes by quantiles, rounded to two significant figures: the inner break
    points (ascending, distinct)."""
    xs = sorted(v for v in values if v is not None and not math.isnan(v))
    if len(xs) < 2:
        return []
    out: list[float] = []
    for i in range(1, k):
        q = xs[min(len(xs) - 1, round(i * len(xs) / k))]
        if q == 0:
            r = 0.0
        else:
            digits = 1 - math.floor(math.log10(abs(q)))
            r = round(q, digits)
        if xs[0] < r <= xs[-1] and (not out or r > out[-1]):
            out.append(r)
    return out


def _bin(value: float, cuts: Sequence[float]) -> int:
    for i, c in enumerate(cuts):
        if value < c:
            return i
    return len(cuts)


# ---- the map ---------------------------------------------------------------------------------

def _rings(geometry: dict) -> list[list[tuple[float, float]]]:
    """Outer and inner rings of a Polygon or MultiPolygon as (lon, lat) lists."""
    kind, coords = geometry["type"], geometry["coordinates"]
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    return [[(float(p[0]), float(p[1])) for p in ring] for polygon in polygons for ring in polygon]


def _outer_rings(geometry: dict) -> list[list[tuple[float, float]]]:
    kind, coords = geometry["type"], geometry["coordinates"]
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    return [[(float(p[0]), float(p[1])) for p in polygon[0]] for polygon in polygons if polygon]


def _area_centroid(ring: list[tuple[float, float]]) -> tuple[float, float, float]:
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(a) < 1e-12:
        xs, ys = zip(*ring)
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return abs(a) / 2, cx / (3 * a), cy / (3 * a)


def label_point(geometry: dict) -> tuple[float, float]:
    """The centroid of a feature's largest outer ring (lon, lat)."""
    best = max((_area_centroid(r) for r in _outer_rings(geometry)), key=lambda t: t[0])
    return best[1], best[2]


def choropleth(features: Sequence[dict], values: dict[str, float | None], *, title: str, legend_title: str,
               draw_only: set[str] | None = None, highlight: set[str] | None = None,
               emphasis: set[str] | None = None, labels: bool | None = None, no_data: str = "无数据",
               width: int = WIDTH, supersample: int = 2) -> bytes:
    """A county map. ``features``: GeoJSON features with ``properties.adcode`` and ``name``;
    ``values``: adcode → figure (counties without one are drawn grey as no data);
    ``draw_only``: the counties drawn (default all); ``highlight``: counties filled in the
    accent colour with a heavy border (the map of a county briefing: the province, the county
    marked, no other county's figures); ``emphasis``: counties outlined more heavily (e.g. the
    region's city). Lon/lat are projected with cos(mean latitude) scaling."""
    feats = [f for f in features if draw_only is None or f["properties"]["adcode"] in draw_only]
    if not feats:
        raise ValueError("no county to draw")
    highlight = highlight or set()
    emphasis = emphasis or set()
    s = supersample
    W = width * s
    pts = [p for f in feats for ring in _rings(f["geometry"]) for p in ring]
    lon0, lon1 = min(p[0] for p in pts), max(p[0] for p in pts)
    lat0, lat1 = min(p[1] for p in pts), max(p[1] for p in pts)
    k = math.cos(math.radians((lat0 + lat1) / 2))
    title_h, pad = 110 * s, 40 * s
    legend_w = 430 * s
    map_w = W - legend_w - 2 * pad
    span_x, span_y = max((lon1 - lon0) * k, 1e-9), max(lat1 - lat0, 1e-9)
    scale = map_w / span_x
    map_h = span_y * scale
    max_h = 1500 * s
    if map_h > max_h:
        scale *= max_h / map_h
        map_h = max_h
    H = int(title_h + map_h + 2 * pad)
    img = Image.new("RGB", (W, max(H, 700 * s)), BACKGROUND)
    d = ImageDraw.Draw(img)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return pad + (lon - lon0) * k * scale, title_h + pad + (lat1 - lat) * scale

    known = [v for a, v in values.items() if v is not None and any(f["properties"]["adcode"] == a for f in feats)]
    cuts = breaks(known, len(SEQUENTIAL))
    colours = SEQUENTIAL[-(len(cuts) + 1):] if cuts else SEQUENTIAL[2:3]
    line = max(1, s)
    for f in feats:
        code = f["properties"]["adcode"]
        v = values.get(code)
        if code in highlight:
            fill = HIGHLIGHT
        elif values and v is not None:
            fill = colours[_bin(v, cuts)]
        else:
            fill = NO_DATA
        for ring in _outer_rings(f["geometry"]):
            d.polygon([xy(*p) for p in ring], fill=fill)
        for ring in _rings(f["geometry"]):
            poly = [xy(*p) for p in ring]
            d.line(poly + poly[:1], fill=(255, 255, 255), width=line * 2, joint="curve")
    for f in feats:                         # heavier borders on top
        code = f["properties"]["adcode"]
        if code in highlight or code in emphasis:
            for ring in _outer_rings(f["geometry"]):
                poly = [xy(*p) for p in ring]
                d.line(poly + poly[:1], fill=INK if code in highlight else MUTED, width=line * (4 if code in
                                                                                               highlight else 3),
                       joint="curve")
    show_labels = labels if labels is not None else (len(feats) <= 20 or bool(highlight))
    if show_labels:
        f_label = font(24 * s)
        for f in feats:
            code = f["properties"]["adcode"]
            if labels is None and highlight and code not in highlight:
                continue
            x, y = xy(*label_point(f["geometry"]))
            name = f["properties"].get("name", code)
            tw, th = _text_size(d, name, f_label)
            d.text((x - tw / 2, y - th / 2), name, font=f_label, fill=INK, stroke_width=3 * s,
                   stroke_fill=(255, 255, 255))
    # title
    d.text((pad, 30 * s), title, font=font(40 * s, bold=True), fill=INK)
    # legend
    lx, ly = W - legend_w + 10 * s, title_h + pad
    f_leg = font(26 * s)
    if values and not highlight:
        d.text((lx, ly), legend_title, font=font(28 * s, bold=True), fill=INK)
        ly += 60 * s
        bounds = [None, *cuts, None]
        entries = []
        for i, c in enumerate(colours):
            lo, hi = bounds[i], bounds[i + 1]
            if lo is None and hi is None:
                text = "全部" if no_data == "无数据" else "all"
            elif lo is None:
                text = f"< {_fmt_break(hi)}"
            elif hi is None:
                text = f"≥ {_fmt_break(lo)}"
            else:
                text = f"{_fmt_break(lo)} – {_fmt_break(hi)}"
            entries.append((c, text))
        entries.reverse()                       # highest first, as on the map's dark end
        if any(values.get(f["properties"]["adcode"]) is None for f in feats):
            entries.append((NO_DATA, no_data))
        for colour, text in entries:
            d.rectangle([lx, ly, lx + 50 * s, ly + 34 * s], fill=colour, outline=MUTED, width=s)
            d.text((lx + 66 * s, ly - 2 * s), text, font=f_leg, fill=INK)
            ly += 50 * s
    elif highlight:
        d.rectangle([lx, ly, lx + 50 * s, ly + 34 * s], fill=HIGHLIGHT, outline=INK, width=s)
        d.text((lx + 66 * s, ly - 2 * s), legend_title, font=f_leg, fill=INK)
    # scale bar: 50 km
    km = 50 if span_x * 111 > 120 else 10
    bar = km / (111.32 * k) * k * scale
    bx, by = lx, img.height - pad - 40 * s
    d.line([(bx, by), (bx + bar, by)], fill=INK, width=3 * s)
    for x in (bx, bx + bar):
        d.line([(x, by - 10 * s), (x, by)], fill=INK, width=3 * s)
    d.text((bx, by + 6 * s), f"{km} km", font=f_leg, fill=INK)
    # north arrow
    nx, ny = W - 60 * s, title_h + pad
    d.polygon([(nx, ny), (nx - 16 * s, ny + 50 * s), (nx + 16 * s, ny + 50 * s)], fill=INK)
    d.text((nx - 9 * s, ny + 54 * s), "N", font=f_leg, fill=INK)
    if s > 1:
        img = img.resize((img.width // s, img.height // s), Image.Resampling.LANCZOS)
    return _png(img)


def _fmt_break(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:,.1f}" if abs(v) >= 1 else f"{v:.2f}"


# ---- bar charts ------------------------------------------------------------------------------

def _frame(title: str, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", (WIDTH, height), BACKGROUND)
    d = ImageDraw.Draw(img)
    d.text((40, 28), title, font=font(40, bold=True), fill=INK)
    return img, d


def _y_axis(d, ticks, x0, x1, y0, y1, percent=False, unit: str = ""):
    top = ticks[-1] or 1
    f = font(24)
    for t in ticks:
        y = y1 - (t / top) * (y1 - y0)
        d.line([(x0, y), (x1, y)], fill=GRID, width=2)
        text = _tick_label(t, percent)
        tw, th = _text_size(d, text, f)
        d.text((x0 - tw - 14, y - th / 2 - 4), text, font=f, fill=MUTED)
    if unit:
        d.text((40, y0 - 52), unit, font=f, fill=MUTED)
    d.line([(x0, y1), (x1, y1)], fill=INK, width=3)


def _legend(d, items: Sequence[tuple[tuple[int, int, int], str]], x: int, y: int) -> None:
    f = font(26)
    for colour, text in items:
        d.rectangle([x, y + 4, x + 36, y + 34], fill=colour)
        d.text((x + 46, y), text, font=f, fill=INK)
        x += 46 + _text_size(d, text, f)[0] + 40


def class_share_chart(classes: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
                      title: str, class_labels: Sequence[str] | None = None, unit: str = "%") -> bytes:
    """Grouped bars: for each class, one bar per series (e.g. this run and the previous one), the
    height a share in percent (0–100), the value printed above each bar. One series is drawn in
    the class colours; several in one colour per series with a legend."""
    img, d = _frame(title, 900)
    x0, x1, y0, y1 = 170, WIDTH - 60, 190, 760
    values = [v for _, vs in series for v in vs if v is not None]
    ticks = nice_ticks(max(values + [1.0]) * 1.1)
    _y_axis(d, ticks, x0, x1, y0, y1, percent=True)
    top = ticks[-1]
    n, m = len(classes), max(len(series), 1)
    group = (x1 - x0) / max(n, 1)
    bar = min(140, group * 0.7 / m)
    f_val, f_cat = font(24), font(28)
    for i, code in enumerate(classes):
        gx = x0 + group * i + (group - bar * m) / 2
        for j, (_, vs) in enumerate(series):
            v = vs[i]
            # one series: each class in its colour; several: one colour per series, as the legend says
            colour = CLASS_COLOURS.get(code, SERIES[0]) if len(series) == 1 else SERIES[j % len(SERIES)]
            bx = gx + j * bar
            if v is None:
                continue
            by = y1 - (v / top) * (y1 - y0)
            d.rectangle([bx + 4, by, bx + bar - 4, y1], fill=colour)
            text = f"{v:.1f}{unit}"
            tw, _ = _text_size(d, text, f_val)
            d.text((bx + bar / 2 - tw / 2, by - 34), text, font=f_val, fill=INK)
        label = class_labels[i] if class_labels else code
        tw, _ = _text_size(d, label, f_cat)
        d.text((x0 + group * i + group / 2 - tw / 2, y1 + 16), label, font=f_cat, fill=INK)
    if len(series) > 1:
        _legend(d, [(SERIES[j % len(SERIES)], name) for j, (name, _) in enumerate(series)], 40, 100)
    return _png(img)


def band_histogram(bands: Sequence[str], stacks: Sequence[tuple[str, Sequence[int]]], *, title: str,
                   x_title: str, y_title: str) -> bytes:
    """A histogram of firms by per-mu band, each bar stacked by class (``stacks``: (class, firms
    per band)), the band's total above the bar."""
    img, d = _frame(title, 960)
    x0, x1, y0, y1 = 170, WIDTH - 60, 200, 770
    totals = [sum(s[1][i] for s in stacks) for i in range(len(bands))]
    ticks = nice_ticks(max(totals + [1]) * 1.08)
    _y_axis(d, ticks, x0, x1, y0, y1)
    top = ticks[-1]
    group = (x1 - x0) / max(len(bands), 1)
    bar = group * 0.78
    f_val, f_cat = font(24), font(24)
    for i, band in enumerate(bands):
        bx = x0 + group * i + (group - bar) / 2
        base = y1
        for code, counts in stacks:
            n = counts[i]
            if not n:
                continue
            h = n / top * (y1 - y0)
            d.rectangle([bx, base - h, bx + bar, base], fill=CLASS_COLOURS.get(code, SERIES[0]))
            base -= h
        text = f"{totals[i]:,}"
        tw, _ = _text_size(d, text, f_val)
        d.text((bx + bar / 2 - tw / 2, base - 34), text, font=f_val, fill=INK)
        tw, _ = _text_size(d, band, f_cat)
        d.text((bx + bar / 2 - tw / 2, y1 + 14), band, font=f_cat, fill=INK)
    f = font(26)
    tw, _ = _text_size(d, x_title, f)
    d.text(((x0 + x1) / 2 - tw / 2, y1 + 62), x_title, font=f, fill=MUTED)
    d.text((40, 150), y_title, font=f, fill=MUTED)
    _legend(d, [(CLASS_COLOURS.get(c, SERIES[0]), c) for c, _ in stacks], x0 + 300, 100)
    return _png(img)


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size
